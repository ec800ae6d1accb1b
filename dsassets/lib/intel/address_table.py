"""A window's distinct IP addresses parsed and located in bulk: the rows of ``int_ip_addresses``.

At a million events a day there are ~150k distinct addresses. Parsing each with ``ipaddress``
(``geo.parse_ip``) cost ~3 s of a day's models; plain dotted quads, nearly all of them, are
parsed here by DuckDB instead:

- a quad matches only when every octet is 0-255 without a leading zero, which is exactly what
  ``ipaddress`` accepts, so the canonical text is the input itself;
- ``is_global`` is looked up in :func:`ipv4_global_intervals`: the IPv4 space cut at every
  boundary of the networks ``ipaddress`` itself classifies with, each interval labelled by
  ``ipaddress`` at its first address. The answer is therefore the running Python's, version
  for version (``tests/test_intel_geo.py`` compares the two around every boundary).

Everything else (IPv6, ports, brackets, spaces, garbage) still goes through ``geo.parse_ip``.
Locations are looked up only for addresses that need one (see ``IpLocator``).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dsassets.lib.intel.geo import IP_ROW_FIELDS, V4_MAPPED_BASE, IpLocator, enrich_ips, lookup_fields

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
STRICT_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"

# Column types of the parsed part (int_ip_addresses' schema after the listing's own columns).
ADDRESS_TYPES = {
    "ip_address": pa.string(),
    "ip_version": pa.int8(),
    "is_valid_ip": pa.bool_(),
    "is_global_ip": pa.bool_(),
    "ip_hex": pa.string(),
    "lookup_country_code": pa.string(),
    "lookup_latitude": pa.float64(),
    "lookup_longitude": pa.float64(),
    "lookup_region": pa.string(),
    "lookup_city": pa.string(),
    "lookup_database": pa.string(),
}
assert tuple(ADDRESS_TYPES) == IP_ROW_FIELDS


def _ipv4_networks() -> list[ipaddress.IPv4Network]:
    """Every network (or single address) ``ipaddress`` keeps to classify IPv4 addresses."""
    found: list[ipaddress.IPv4Network] = []
    for value in vars(ipaddress._IPv4Constants).values():  # noqa: SLF001: the classifier's own data
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, ipaddress.IPv4Network):
                found.append(item)
            elif isinstance(item, ipaddress.IPv4Address):
                found.append(ipaddress.IPv4Network(item))
    return found


@lru_cache(maxsize=1)
def ipv4_global_intervals() -> tuple[tuple[int, bool], ...]:
    """``(first address, is_global)`` of each interval of IPv4 on which ``is_global`` is constant."""
    cuts = {0}
    for network in _ipv4_networks():
        cuts.add(int(network.network_address))
        if int(network.broadcast_address) < 2**32 - 1:
            cuts.add(int(network.broadcast_address) + 1)
    intervals: list[tuple[int, bool]] = []
    for start in sorted(cuts):
        is_global = ipaddress.IPv4Address(start).is_global
        if not intervals or intervals[-1][1] != is_global:
            intervals.append((start, is_global))
    return tuple(intervals)


def _register_intervals(con: duckdb.DuckDBPyConnection) -> str:
    starts, flags = zip(*ipv4_global_intervals())
    table = pa.table({"start": pa.array(starts, pa.uint64()), "is_global": pa.array(flags, pa.bool_())})
    con.register("ip__v4_global", table)
    return "ip__v4_global"


def _quads(con: duckdb.DuckDBPyConnection, listed: str, intervals: str) -> pa.Table:
    """The listing's plain dotted quads, parsed; ``lookup_*`` columns empty."""
    return con.sql(
        f"""
        with quads as (
            select
                *,
                list_reduce(
                    list_transform(string_split(ip_address_raw, '.'), lambda x: x::ubigint),
                    lambda acc, x: acc * 256 + x
                ) as ip__value
            from {listed}
            where ip__is_quad
        )
        select
            quads.* exclude (ip__value, ip__is_quad),
            ip_address_raw as ip_address,
            4::tinyint as ip_version,
            true as is_valid_ip,
            {intervals}.is_global as is_global_ip,
            lpad(lower(hex(ip__value + {V4_MAPPED_BASE}::ubigint)), 32, '0') as ip_hex,
            null::varchar as lookup_country_code,
            null::double as lookup_latitude,
            null::double as lookup_longitude,
            null::varchar as lookup_region,
            null::varchar as lookup_city,
            null::varchar as lookup_database
        from quads
        asof left join {intervals} on quads.ip__value >= {intervals}.start
        """
    ).to_arrow_table()


def _locate(table: pa.Table, locator: IpLocator) -> pa.Table:
    """Fill ``lookup_*`` for the rows that need a location and have a global address.

    The rows are picked and filled with Arrow kernels, and the picked addresses walk the
    database's tree together (``IpLocator.ipv4_pointers``): only the records they end at, a few
    thousand, are decoded in Python (a range run lists a month at a million events a day in 3.8M
    rows, of which 0.4M need a location, at 232k addresses).
    """
    wanted = pc.fill_null(pc.and_(table["needs_location"], table["is_global_ip"]), False).combine_chunks()
    addresses = table["ip_address"].filter(wanted)
    if not len(addresses):
        return table
    # a quad here is strict (four octets of 0-255, no leading zero): each part casts as it reads
    octets = pc.cast(pc.list_flatten(pc.split_pattern(addresses, ".")), pa.uint8())
    # each address walks once: a range run lists it once per day it was used on
    addresses_distinct, first, per_row = np.unique(
        octets.to_numpy(zero_copy_only=False).reshape(-1, 4).view(">u4").ravel(), return_index=True,
        return_inverse=True)
    texts = addresses.take(pa.array(first)).to_pylist()
    pointers = locator.ipv4_pointers(addresses_distinct.view(np.uint8).reshape(-1, 4))
    if pointers is None:  # a reader without the tree walk: one address at a time, as it is fast at that
        distinct, index = [locator.lookup(text) for text in texts], pa.array(per_row)
    else:
        records, per_address = np.unique(pointers, return_inverse=True)
        distinct, index = [locator.location_at(int(r)) for r in records], pa.array(per_address[per_row])
        # an odd spelling of one of these addresses (a port, a space) is looked up by its text later
        locator.remember(texts, [distinct[i] for i in per_address])
    columns = [lookup_fields(place, locator) for place in distinct]
    for name, kind in ADDRESS_TYPES.items():
        if name.startswith("lookup_"):
            values = pa.array([row[name] for row in columns], kind).take(index)
            filled = pc.replace_with_mask(table[name].combine_chunks(), wanted, values)
            table = table.set_column(table.schema.get_field_index(name), name, filled)
    return table


def _the_rest(con: duckdb.DuckDBPyConnection, listed: str, locator: IpLocator | None) -> pa.Table:
    """Everything that is not a plain dotted quad, through ``geo.parse_ip`` one by one."""
    rest = con.sql(f"select * exclude (ip__is_quad) from {listed} where not ip__is_quad").to_arrow_table()
    enriched = enrich_ips(
        zip(rest["ip_address_raw"].to_pylist(), rest["needs_location"].to_pylist()), locator
    )
    for name, kind in ADDRESS_TYPES.items():
        rest = rest.append_column(name, pa.array([row[name] for row in enriched], kind))
    return rest


def address_rows(
    con: duckdb.DuckDBPyConnection, listed: str, locator: IpLocator | None
) -> pa.Table:
    """The relation ``listed`` (``ip_address_raw``, never null, ``needs_location`` and any other
    columns) with the parsed and located columns of :data:`ADDRESS_TYPES` appended, one row per
    input row."""
    # listed once, each address matched once: both parts read it, and it may be a query over a
    # day's events
    con.register("ip__listed", con.sql(
        f"select *, regexp_full_match(ip_address_raw, '{STRICT_IPV4}') as ip__is_quad from {listed}"
    ).to_arrow_table())
    quads = _quads(con, "ip__listed", _register_intervals(con))
    if locator is not None:
        quads = _locate(quads, locator)
    rest = _the_rest(con, "ip__listed", locator)
    return pa.concat_tables([quads, rest.cast(quads.schema)])
