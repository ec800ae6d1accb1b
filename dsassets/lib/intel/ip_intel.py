"""IP intelligence for the detections: list files, organization ranges and country borders as tables.

Addresses are compared in DuckDB as 32-hex-digit strings of the 128-bit value, IPv4 as
``::ffff:a.b.c.d``: the ``ip_hex`` form of ``activities`` (``sql/macros/ip.sql``), so a CIDR
match is a range join ``ip_hex between start_hex and end_hex``.

List files (``dsassets/data/ip_lists/*.txt`` ship as a dated snapshot; ``detections.ip_lists``
may name fresher ones): one address or CIDR per line, an optional tag after whitespace, ``#``
comments. Header comments ``# as_of: YYYY-MM-DD`` and ``# source: ...`` are recorded on every
match, so an alert says which list (and how old) flagged it. A plain Tor bulk exit list works
as is.
"""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from dsassets.lib.config.project import ConfigError, ProjectConfig, config_path
from dsassets.lib.detections.thresholds import IpList, parse_network
from dsassets.lib.transform.sql import register_table

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
LIST_DIR = DATA_DIR / "ip_lists"
BORDERS_FILE = DATA_DIR / "country_borders.csv"
BUILTIN = "builtin:"
_V4_MAPPED = 0xFFFF << 32


def to_hex(value: int) -> str:
    return f"{value:032x}"


def network_hex(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[str, str]:
    """First and last address of a network as ``ip_hex`` strings (IPv4 mapped into ::ffff:0:0/96)."""
    base = _V4_MAPPED if net.version == 4 else 0
    return to_hex(base + int(net.network_address)), to_hex(base + int(net.broadcast_address))


def address_hex(text: str) -> str:
    """``ip_hex`` of one address (tests and ad-hoc use; the pipeline's comes from int_ip_addresses)."""
    addr = ipaddress.ip_address(text)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return network_hex(ipaddress.ip_network(addr))[0]


@dataclass(frozen=True)
class ListFile:
    name: str
    policy: str
    tag: str
    path: str
    as_of: str | None
    source: str | None
    entries: list[tuple[str, str]]  # (cidr, tag)


def resolve_list_path(path: str) -> Path:
    """``builtin:<file>`` is a shipped list; other relative paths are relative to the config file."""
    if path.startswith(BUILTIN):
        return LIST_DIR / path[len(BUILTIN):]
    p = Path(path).expanduser()
    return p if p.is_absolute() else config_path().parent / p


def read_list(entry: IpList, key: str) -> ListFile:
    file = resolve_list_path(entry.path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{key}.path: cannot read {file} ({exc.strerror})") from None
    header: dict[str, str] = {}
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if ":" in body:
                k, v = body.split(":", 1)
                if k.strip() in ("as_of", "source") and k.strip() not in header:
                    header[k.strip()] = v.strip()
            continue
        stripped = stripped.split(" #", 1)[0].strip()
        if not stripped:
            continue
        parts = stripped.split(None, 1)
        try:
            net = parse_network(parts[0])
        except ValueError as exc:
            raise ConfigError(f"{file}:{number}: {exc} (list {key})") from None
        entries.append((str(net), parts[1].strip() if len(parts) > 1 else entry.tag))
    return ListFile(entry.name, entry.policy, entry.tag, str(file), header.get("as_of"),
                    header.get("source"), entries)


def ip_list_table(config: ProjectConfig) -> tuple[pa.Table, list[ListFile]]:
    """One row per list entry: ``list_name, policy, tag, cidr, start_hex, end_hex, as_of``."""
    files = [read_list(e, f"detections.ip_lists[{i}]") for i, e in enumerate(config.detections.ip_lists)]
    rows = []
    for f in files:
        for cidr, tag in f.entries:
            start, end = network_hex(ipaddress.ip_network(cidr))
            rows.append({"list_name": f.name, "policy": f.policy, "tag": tag, "cidr": cidr,
                         "start_hex": start, "end_hex": end, "as_of": f.as_of})
    schema = pa.schema([("list_name", pa.string()), ("policy", pa.string()), ("tag", pa.string()),
                        ("cidr", pa.string()), ("start_hex", pa.string()), ("end_hex", pa.string()),
                        ("as_of", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema), files


def org_range_table(config: ProjectConfig) -> pa.Table:
    """One row per CIDR of ``ip_ranges``: ``range_name, category, tags, cidr, start_hex, end_hex``."""
    rows = []
    for r in config.ip_ranges:
        for cidr in r.cidrs:
            start, end = network_hex(parse_network(cidr))
            rows.append({"range_name": r.name, "category": r.category, "tags": list(r.tags),
                         "cidr": cidr, "start_hex": start, "end_hex": end})
    schema = pa.schema([("range_name", pa.string()), ("category", pa.string()),
                        ("tags", pa.list_(pa.string())), ("cidr", pa.string()),
                        ("start_hex", pa.string()), ("end_hex", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def country_borders() -> pa.Table:
    """Both directions of every land border: ``country_a, country_b``."""
    with BORDERS_FILE.open(encoding="utf-8") as handle:
        rows = [r for r in csv.reader(line for line in handle if not line.startswith("#"))][1:]
    a = [r[0] for r in rows] + [r[1] for r in rows]
    b = [r[1] for r in rows] + [r[0] for r in rows]
    return pa.table({"country_a": a, "country_b": b})


def register_tables(con, config: ProjectConfig) -> list[ListFile]:
    """``org_ip_ranges``, ``ip_list_entries`` and ``country_borders`` as temp tables; the list files read."""
    lists, files = ip_list_table(config)
    register_table(con, "org_ip_ranges", org_range_table(config))
    register_table(con, "ip_list_entries", lists)
    register_table(con, "country_borders", country_borders())
    return files
