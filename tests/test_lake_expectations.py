"""Great Expectations suites on raw events fail on bad data and pass on good data."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from dsassets.lib.lake.expectations import REQUIRED_EVENT_COLUMNS, validate_event_ips, validate_raw_events

UTC = timezone.utc
START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)


def frame(rows: list[dict]) -> pl.DataFrame:
    base = {c: "x" for c in REQUIRED_EVENT_COLUMNS if c not in ("eventId", "_event_time")}
    return pl.DataFrame([{**base, **r, "dt": "2026-03-01"} for r in rows]).with_columns(
        pl.col("_event_time").cast(pl.Datetime("us", "UTC"))
    )


def good(event_id: str, hour: int = 10) -> dict:
    return {"eventId": event_id, "_event_time": datetime(2026, 3, 1, hour, tzinfo=UTC)}


def test_clean_events_pass():
    outcome = validate_raw_events(frame([good("a"), good("b")]), START, END)
    assert outcome.success, outcome.failed


def test_duplicate_event_id_fails_and_names_the_id():
    outcome = validate_raw_events(frame([good("a"), good("a", 11)]), START, END)
    assert not outcome.success
    failure = next(f for f in outcome.failed if f["expectation"] == "expect_column_values_to_be_unique")
    assert failure["column"] == "eventId" and "a" in failure["examples"]


def test_ids_whose_hashes_collide_are_not_duplicates(monkeypatch):
    # Uniqueness is tested on a hash of each id; a repeated hash sends the ids themselves to GX.
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.zeros(len(self), pl.UInt64, eager=True))
    assert validate_raw_events(frame([good("a"), good("b"), good("c", 11)]), START, END).success
    outcome = validate_raw_events(frame([good("a"), good("b"), good("b", 11)]), START, END)
    assert [(f["column"], f["unexpected_count"], f["examples"]) for f in outcome.failed] == [("eventId", 2, ["b", "b"])]


def test_missing_event_id_fails():
    outcome = validate_raw_events(frame([good("a"), {**good("b"), "eventId": None}]), START, END)
    assert not outcome.success
    assert any(f["expectation"] == "expect_column_values_to_not_be_null" for f in outcome.failed)


def test_event_outside_its_partition_fails():
    outside = {"eventId": "z", "_event_time": datetime(2026, 3, 2, 0, 30, tzinfo=UTC)}
    outcome = validate_raw_events(frame([good("a"), outside]), START, END)
    assert not outcome.success
    assert any(f["column"] == "_in_partition" for f in outcome.failed)


def test_missing_required_column_fails_and_names_it():
    outcome = validate_raw_events(frame([good("a")]).drop("ipAddress"), START, END)
    assert not outcome.success
    assert any(f["expectation"] == "expect_column_to_exist" for f in outcome.failed)


def test_ip_parse_check_accepts_ipv6_and_flags_garbage():
    ok = pl.DataFrame({"ipAddress": ["203.0.113.9", "2001:db8::1", "::ffff:198.51.100.1"]})
    assert validate_event_ips(ok, mostly=1.0).success
    bad = pl.DataFrame({"ipAddress": ["203.0.113.9", "999.1.1.1", None, "2001:db8::1"]})
    outcome = validate_event_ips(bad, mostly=0.9)
    assert not outcome.success
    assert "'999.1.1.1'" in outcome.failed[0]["examples"]


def test_ip_parse_check_counts_events_not_addresses_and_names_the_most_frequent_bad_ones():
    # 200 events from 3 addresses: one valid address on 196 of them, a zero-padded IPv4 (which
    # Python's ipaddress refuses) on 3, garbage on 1. The share is the events' (98%), not the
    # addresses' (33%).
    ips = ["198.51.100.7"] * 196 + ["010.0.0.1"] * 3 + ["not-an-ip"]
    events = pl.DataFrame({"ipAddress": ips})
    assert validate_event_ips(events, mostly=0.98).success
    outcome = validate_event_ips(events, mostly=0.99)
    assert not outcome.success
    assert outcome.failed[0]["unexpected_count"] == 4
    assert outcome.failed[0]["examples"] == ["'010.0.0.1'", "'not-an-ip'"]
