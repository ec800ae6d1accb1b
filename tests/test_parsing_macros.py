"""The staging parsers in ``sql/macros/parsing.sql``: a source's padding is stripped the way Python's
``str.strip()`` strips it, whatever whitespace a real directory or export pads a value with (a tab,
a line break, a no-break or ideographic space)."""

import sys

import duckdb
import pytest

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.transform import sql

WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    sql.install_support(con, ProjectConfig())
    return con


def test_whitespace_chars_is_pythons_whitespace(con):
    assert sorted(con.execute("select whitespace_chars()").fetchone()[0]) == WHITESPACE


def test_trimmed_strips_what_python_strips_for_every_code_point(con):
    # trimmed() skips trim(s, chars) when both ends are printable ASCII, the value is empty, or
    # neither end is whitespace; every character, alone, at either end and around a value, must come
    # out as str.strip() makes it.
    differ, stripped = con.execute(
        """
        with chars as (
            select chr(range::integer) as c
            from range(1, 1114112)
            where range not between 55296 and 57343
        ),
        samples as (
            select c, sample.s, sample.stripped
            from chars, unnest([
                {'s': c, 'stripped': ''},
                {'s': c || 'x', 'stripped': 'x'},
                {'s': 'x' || c, 'stripped': 'x'},
                {'s': c || 'x' || c, 'stripped': 'x'},
                {'s': c || c || 'a b' || c, 'stripped': 'a b'}
            ]) as t(sample)
        )
        select
            count(*) filter (where trimmed(s) is distinct from
                             case when list_contains($ws, c) then stripped else s end),
            count(distinct c) filter (where trimmed(s) <> s)
        from samples
        """,
        {"ws": WHITESPACE},
    ).fetchone()
    assert differ == 0
    assert stripped == len(WHITESPACE)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("u-1", "u-1"),
        ("\u00a0u-1\u3000", "u-1"),
        ("  u-1 ", "u-1"),
        ("\u2007", None),
        ("", None),
        (None, None),
        ("\tu-1", "u-1"),
        ("u-1\r\n", "u-1"),
        ("\x85\u00a0u 1\u2028\t", "u 1"),
        ("\t", None),
        ("\r\n\u3000\x1f", None),
        ("é", "é"),
    ],
)
def test_blank_to_null_strips_whitespace_padding(con, raw, value):
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


@pytest.mark.parametrize(("raw", "value"), [("True\r\n", True), ("\tfalse", False), ("\u00a0yes", True), ("maybe\t", None)])
def test_ds_bool_reads_padded_booleans(con, raw, value):
    assert con.execute("select ds_bool($s)", {"s": raw}).fetchone()[0] is value


def test_ds_timestamp_keeps_the_offset_of_a_timestamp_padded_with_a_line_break(con):
    # Unstripped, the offset was not seen at the end, and the cast as a local time dropped it.
    got = con.execute("select strftime(ds_timestamp($s), '%Y-%m-%d %H:%M')", {"s": "2026-11-20T12:15:00+02:00\r\n"})
    assert got.fetchone()[0] == "2026-11-20 10:15"


@pytest.mark.parametrize("raw", ["ActivationSent\t", "\u00a0activation_sent\r\n"])
def test_ds_status_reads_padded_statuses(con, raw):
    assert con.execute("select ds_status($s)", {"s": raw}).fetchone()[0] == "activation_sent"
