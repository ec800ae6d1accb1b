"""Country normalization, IP parsing (v4/v6), the SQL IP macros and the offline IP database."""

import ipaddress
from random import Random

import duckdb
import pyarrow as pa
import pytest

from dsassets.lib.transform import sql
from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.intel import geo
from dsassets.lib.intel.address_table import address_rows, ipv4_global_intervals
from dsassets.lib.intel.geo import (
    IP_ROW_FIELDS, IpLocator, country_key, country_rows, enrich_ips, normalize_country, parse_ip,
)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("united states", "US"),
        ("United States", "US"),
        ("india", "IN"),
        ("GB", "GB"),
        ("gb", "GB"),
        (" gb ", "GB"),
        ("GBR", "GB"),
        ("uk", "GB"),
        ("russia", "RU"),
        ("russian federation", "RU"),
        ("south korea", "KR"),
        ("viet nam", "VN"),
        ("vietnam", "VN"),
        ("côte d’ivoire", "CI"),
        ("cote d'ivoire", "CI"),
        ("", None),
        ("   ", None),
        (None, None),
        ("atlantis", None),
        ("zz", None),
    ],
)
def test_country_names_and_codes_to_alpha2(raw, code):
    assert normalize_country(raw) == code


def test_config_aliases_extend_and_override():
    assert normalize_country("atlantis", {"atlantis": "GR"}) == "GR"
    assert normalize_country("russia", {"russia": "UA"}) == "UA"


# Spellings a geolocation source may send: curly quotes either way round, and whitespace of many
# kinds (ASCII controls, no-break and thin spaces), alone and in runs, inside and at either end.
SPELLINGS = [
    "united states", "GB", "gb", "russia", "south korea", "Côte d’Ivoire", "côte d‘ivoire", "", "garbage",
    "United  States", " Viet   Nam ", "united\tstates", "United\nKingdom", "south\fkorea", "South\rKorea",
    "new\r\nzealand", "czech \t republic", "Germany\t", "\nFrance", "Spain\r\n", "United\u00a0States",
    "united\vstates", "Viet\u2009Nam", "\u00a0\u00a0Italy\u3000", "United \u00a0 Kingdom",
]


@pytest.fixture(scope="module")
def support():
    con = duckdb.connect()
    sql.install_support(con, ProjectConfig())
    return con


def sql_lookup(con, spelling: str) -> tuple[str, str | None]:
    """SQL's key for ``spelling`` and the country the lookup table gives for it."""
    return con.execute(
        "select country_key($s), (select any_value(country_code) from country_codes "
        "where country_key = country_key($s))",
        {"s": spelling},
    ).fetchone()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sql_lookup_matches_python(support, spelling):
    key, code = sql_lookup(support, spelling)
    assert key == country_key(spelling)
    assert code == normalize_country(spelling)
    if spelling.strip() not in ("", "garbage"):
        assert code is not None


def test_sql_key_squeezes_every_whitespace_python_knows(support):
    # Every code point Python calls whitespace, and every other one, at either end of a spelling,
    # doubled inside it and beside a space: the SQL key is Python's wherever the character is
    # whitespace, and keeps the character wherever it is not (whatever else the key does to it).
    whitespace = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    shapes = support.execute(
        """
        with chars as (
            select chr(range::integer) as c
            from range(1, 1114112)
            where range not between 55296 and 57343
        )
        select
            list(c) filter (where squeeze_whitespace(c || 'ab' || c || c || 'cd ' || c) = 'ab cd')
                as squeezed,
            count(*) filter (where squeeze_whitespace(c || 'ab' || c || c || 'cd ' || c)
                             <> c || 'ab' || c || c || 'cd ' || c) as changed
        from chars
        """
    ).fetchone()
    assert sorted(shapes[0]) == whitespace
    assert shapes[1] == len(whitespace)
    for w in whitespace:
        for spelling in (f"{w}Germany{w}", f"United{w}{w}States", f"Viet {w}Nam"):
            key, code = sql_lookup(support, spelling)
            assert (key, code) == (country_key(spelling), normalize_country(spelling)), repr(spelling)
            assert code is not None, repr(spelling)


def test_every_lookup_row_is_alpha2():
    assert all(len(code) == 2 and code.isupper() for _, code, _ in country_rows())


@pytest.mark.parametrize(
    ("raw", "canonical", "version", "is_global"),
    [
        ("203.0.113.10", "203.0.113.10", 4, False),
        ("8.8.8.8", "8.8.8.8", 4, True),
        (" 8.8.8.8 ", "8.8.8.8", 4, True),
        ("8.8.8.8:443", "8.8.8.8", 4, True),
        ("2001:4860:4860:0000:0000:0000:0000:8888", "2001:4860:4860::8888", 6, True),
        ("2001:4860:4860::8888", "2001:4860:4860::8888", 6, True),
        ("[2001:4860:4860::8888]:443", "2001:4860:4860::8888", 6, True),
        ("2001:DB8::1", "2001:db8::1", 6, False),
        ("::ffff:8.8.8.8", "8.8.8.8", 4, True),
        ("fe80::1%eth0", "fe80::1", 6, False),
        ("::1", "::1", 6, False),
    ],
)
def test_ip_parsing_v4_and_v6(raw, canonical, version, is_global):
    parsed = parse_ip(raw)
    assert parsed.is_valid_ip
    assert (parsed.ip_address, parsed.ip_version, parsed.is_global_ip) == (canonical, version, is_global)
    assert parsed.ip_address_raw == raw
    assert len(parsed.ip_hex) == 32


@pytest.mark.parametrize("raw", ["999.1.1.1", "not-an-ip", "1::2::3", "12345::", ""])
def test_invalid_ips_are_flagged_not_dropped(raw):
    parsed = parse_ip(raw)
    assert not parsed.is_valid_ip
    assert parsed.ip_address_raw == raw
    assert parsed.ip_address is None and parsed.ip_hex is None


@pytest.fixture(scope="module")
def macro_con():
    con = duckdb.connect()
    sql.install_support(con, ProjectConfig(), analyst_macros=True)
    return con


@pytest.mark.parametrize(
    "raw",
    ["1.2.3.4", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::", "2001:DB8:0:0:1::1",
     "::ffff:1.2.3.4", "fe80::1%eth0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "1::2::3", "256.1.1.1", "bogus", "2001:db8::g",
     # padded as a pasted or exported address is: Python strips what str.strip() strips
     "1.2.3.4\t", "\u00a0::1\r\n", "\x852001:db8::\u2028", "\u30001.2.3.4\x1f"],
)
def test_sql_ip_hex_agrees_with_python(macro_con, raw):
    assert macro_con.execute("select ip_hex(?)", [raw]).fetchone()[0] == parse_ip(raw).ip_hex


@pytest.mark.parametrize(
    ("ip", "cidr", "inside"),
    [
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.0.0.0", "10.0.0.0/8", False),
        ("192.168.1.255", "192.168.1.77/24", True),
        ("192.168.2.0", "192.168.1.77/24", False),
        ("203.0.113.7", "203.0.113.7", True),
        ("2001:db8:ffff::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("2001:db8::1", "0.0.0.0/0", False),  # IPv4 ranges never match IPv6 addresses
        ("8.8.8.8", "::/0", True),
        ("8.8.8.8", "8.8.8.8/33", None),  # invalid prefix -> null, matches nothing
    ],
)
def test_cidr_matching(macro_con, ip, cidr, inside):
    got = macro_con.execute("select ip_in_cidr(ip_hex(?), ?)", [ip, cidr]).fetchone()[0]
    assert got is inside


def test_offline_lookup_finds_coordinates_for_v4_and_v6():
    locator = IpLocator()
    try:
        v4 = locator.lookup("8.8.8.8")
        v6 = locator.lookup("2001:4860:4860::8888")
        private = locator.lookup("10.0.0.1")
    finally:
        locator.close()
    assert v4 is not None and v4.country_code == "US" and v4.latitude is not None
    assert v6 is not None and len(v6.country_code) == 2 and v6.longitude is not None
    assert private is None
    assert "DBIP-City-Lite" in locator.database


def _one_by_one(raws: list[str], needs: list[bool], locator) -> list[dict]:
    return [
        {"ip_address_raw": raw, "needs_location": need, **{k: row[k] for k in IP_ROW_FIELDS}}
        for raw, need, row in zip(raws, needs, enrich_ips(zip(raws, needs), locator))
    ]


def test_bulk_parsing_agrees_with_ipaddress_around_every_boundary():
    """The SQL path for dotted quads gives what ``parse_ip`` gives, row for row: each side of every
    boundary where ``is_global`` changes, odd spellings that must fall back to Python, and IPv6."""
    edges = [start + delta for start, _ in ipv4_global_intervals() for delta in (-1, 0, 1)]
    quads = [str(ipaddress.IPv4Address(v)) for v in edges if 0 <= v < 2**32]
    random = Random(7)
    quads += [str(ipaddress.IPv4Address(random.getrandbits(32))) for _ in range(2000)]
    odd = ["01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", " 8.8.8.8", "8.8.8.8:443",
           "::ffff:8.8.8.8", "2001:4860:4860::8888", "fe80::1%eth0", "[::1]:80", "not-an-ip", "",
           "0.0.0.0", "255.255.255.255", "१.२.३.४"]
    raws = quads + odd
    needs = [i % 3 != 0 for i in range(len(raws))]
    con = duckdb.connect()
    con.register("listed", pa.table({"ip_address_raw": raws, "needs_location": needs}))
    locator, reference, plain = IpLocator(), IpLocator(), IpLocator()
    reference._find = None  # one address at a time through the reader's own get()
    plain._find = None  # as with maxminddb's C extension: no tree of ours to walk
    try:
        bulk = address_rows(con, "listed", locator).to_pylist()
        bulk_plain = address_rows(con, "listed", plain).to_pylist()
        expected = _one_by_one(raws, needs, reference)
    finally:
        for each in (locator, reference, plain):
            each.close()

    def key(row):
        return row["ip_address_raw"], row["needs_location"]

    assert sorted(bulk, key=key) == sorted(expected, key=key)
    assert sorted(bulk_plain, key=key) == sorted(expected, key=key)
    assert sum(row["is_global_ip"] is False for row in bulk) > 50  # both sides of the boundaries ran
    assert sum(row["lookup_country_code"] is not None for row in bulk) > 1000  # and were located


def _random_search_tree(random: Random, record_size: int) -> tuple[bytes, int]:
    """A MaxMind DB search tree over 32 bits (bytes, node count): random branches, each ending in
    an empty record or a data pointer (node count + 16 + an offset, as the format has it)."""
    children: list[list] = []  # per node, numbered breadth first: ("node", n) or ("leaf", offset or None)
    depths, made = [0], 1
    while len(children) < made:
        depth, pair = depths[len(children)], []
        for _ in range(2):
            if depth < 4 or (depth < 31 and made < 300 and random.random() < 0.7):
                pair.append(("node", made))
                depths.append(depth + 1)
                made += 1
            else:
                pair.append(("leaf", random.choice([None, random.randrange(1 << 20)])))
        children.append(pair)
    count = len(children)

    def record(kind, value):
        return value if kind == "node" else count if value is None else count + 16 + value

    out = bytearray()
    for (left_kind, left_value), (right_kind, right_value) in children:
        left, right = record(left_kind, left_value), record(right_kind, right_value)
        if record_size == 24:
            out += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:  # the middle byte: the left record's high nibble, then the right's
            out += left.to_bytes(4, "big")[1:] + bytes([(left >> 24) << 4 | right >> 24]) + right.to_bytes(4, "big")[1:]
        else:
            out += left.to_bytes(4, "big") + right.to_bytes(4, "big")
    return bytes(out), count


@pytest.mark.parametrize("record_size", [24, 28, 32])
def test_walking_every_address_at_once_ends_where_the_readers_walk_ends(record_size):
    """The numpy walk gives, for every record size of the format, the pointer (or empty record)
    that maxminddb's own reader finds one address at a time in the same tree."""
    import maxminddb.reader
    import numpy as np

    random = Random(record_size)
    tree, count = _random_search_tree(random, record_size)
    reader = maxminddb.reader.Reader.__new__(maxminddb.reader.Reader)
    reader._buffer, reader._metadata = tree, maxminddb.reader.Metadata(
        node_count=count, record_size=record_size, ip_version=4, database_type="test", languages=[],
        binary_format_major_version=2, binary_format_minor_version=0, build_epoch=0, description={})
    addresses = [random.getrandbits(32) for _ in range(3000)] + [0, 2**32 - 1]
    packed = np.array([list(a.to_bytes(4, "big")) for a in addresses], dtype=np.uint8)
    walked = geo.walk_search_tree(np.frombuffer(tree, dtype=np.uint8), count, record_size, 0, packed)
    expected = [reader._find_address_in_tree(bytearray(a.to_bytes(4, "big")))[0] for a in addresses]
    assert walked.tolist() == expected
    assert 0 in expected and len(set(expected)) > 20  # empty records and many pointers were reached


def test_locator_decodes_each_record_once_and_answers_the_same():
    addresses = ["8.8.8.8", "8.8.4.4", "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "10.0.0.1", "bogus"]
    cached, plain = IpLocator(), IpLocator()
    plain._find = None  # the reader's own get(), as with maxminddb's C extension
    try:
        assert [cached.lookup(a) for a in addresses] == [plain.lookup(a) for a in addresses]
    finally:
        cached.close()
        plain.close()
    assert 0 < len(cached._by_record) < len(addresses)


def test_a_backfill_looks_each_address_up_once_whatever_the_days_and_spellings_it_came_in(monkeypatch):
    """A range run lists an address once per day it was used on, and a spelling the SQL path does
    not parse (a port, a space, IPv6) reaches the locator as the canonical text: each such text is
    parsed once, each address walks the database's tree once (a quad with the others, in one
    numpy pass; the rest one by one), and every day and spelling of it gets the same location."""
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    spellings = {"8.8.8.8": ["8.8.8.8", " 8.8.8.8"], "1.1.1.1": ["1.1.1.1"],
                 "2001:4860:4860::8888": ["2001:4860:4860::8888", "[2001:4860:4860::8888]:443"]}
    raws = [raw for forms in spellings.values() for raw in forms]
    con = duckdb.connect()
    con.register("listed", pa.table({
        "dt": [day for day in days for _ in raws],
        "ip_address_raw": raws * len(days),
        "needs_location": [True] * (len(days) * len(raws)),
    }))
    locator, walked, parsed = IpLocator(), [], []
    walk, walk_together = locator._find, geo.walk_search_tree
    locator._find = lambda packed: walked.append(bytes(packed)) or walk(packed)
    monkeypatch.setattr(geo, "walk_search_tree", lambda tree, nodes, size, start, packed: walked.extend(
        bytes(row) for row in packed) or walk_together(tree, nodes, size, start, packed))
    monkeypatch.setattr(geo, "parse_ip", lambda raw: parsed.append(raw) or parse_ip(raw))
    try:
        rows = address_rows(con, "listed", locator).to_pylist()
    finally:
        locator.close()
    assert sorted(parsed) == sorted([" 8.8.8.8", "2001:4860:4860::8888", "[2001:4860:4860::8888]:443"])
    assert sorted(walked) == sorted(ipaddress.ip_address(a).packed for a in spellings)
    lookup_columns = [f for f in IP_ROW_FIELDS if f.startswith("lookup_")]
    located = {}
    for row in rows:
        located.setdefault(row["ip_address"], set()).add(tuple(row[f] for f in lookup_columns))
    assert sorted(located) == sorted(spellings)
    for address, found in located.items():
        assert len(found) == 1, f"{address} got different locations on different days or spellings"
        fresh = IpLocator()  # nothing looked up before: its answer cannot come from another address
        fresh._find = None  # the reader's own get()
        try:
            expected = fresh.lookup(address)
        finally:
            fresh.close()
        assert expected is not None
        assert next(iter(found))[:5] == (expected.country_code, expected.latitude, expected.longitude,
                                         expected.region, expected.city)
    assert len(rows) == len(days) * len(raws)
