"""The staging parsers in ``sql/macros/parsing.sql``: a source's padding is stripped the way DuckDB's
``trim`` strips it, whatever space character a real directory or export pads a value with."""

import duckdb
import pytest

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.transform import sql


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    sql.install_support(con, ProjectConfig())
    return con


def test_trimmed_strips_what_trim_strips_for_every_code_point(con):
    # trimmed() skips trim() when both ends are printable ASCII; every other character at either
    # end, alone or around a value, must come out as trim() makes it.
    differ, stripped = con.execute(
        """
        with chars as (
            select chr(range::integer) as c
            from range(1, 1114112)
            where range not between 55296 and 57343
        ),
        samples as (
            select c, s
            from chars, unnest([c, c || 'x', 'x' || c, c || 'x' || c, c || c || 'a b' || c]) as t(s)
        )
        select
            count(*) filter (where trimmed(s) is distinct from trim(s)),
            count(distinct c) filter (where trim(s) <> s)
        from samples
        """
    ).fetchone()
    assert differ == 0
    # The comparison reached the slow path: trim strips more than the ASCII space.
    assert stripped > 1


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("u-1", "u-1"),
        ("\u00a0u-1\u3000", "u-1"),
        ("  u-1 ", "u-1"),
        ("\u2007", None),
        ("", None),
        (None, None),
        ("\tu-1", "\tu-1"),
    ],
)
def test_blank_to_null_strips_unicode_space_padding(con, raw, value):
    assert con.execute("select blank_to_null($s)", {"s": raw}).fetchone()[0] == value


@pytest.mark.parametrize(
    "raw",
    ["2026-11-20T10:15:00Z", "\u00a02026-11-20T10:15:00Z\u00a0", " 2026-11-20T10:15:00 ", "11/20/2026 10:15:00 AM\u3000"],
)
def test_ds_timestamp_reads_padded_timestamps(con, raw):
    got = con.execute("select strftime(ds_timestamp($s), '%Y-%m-%d %H:%M')", {"s": raw}).fetchone()[0]
    assert got == "2026-11-20 10:15"


@pytest.mark.parametrize("raw", ["0001-01-01T00:00:00", " 0001-01-01T00:00:00", "\u00a00001-01-01T00:00:00Z", "  "])
def test_ds_timestamp_reads_unset_timestamps_as_null(con, raw):
    # eSignature's "unset" is the year 1, padded or not.
    assert con.execute("select ds_timestamp($s)", {"s": raw}).fetchone()[0] is None
