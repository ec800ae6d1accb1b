"""The raw lake: events to partitions, atomic publication, replacement on re-run."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow.parquet as pq
import pytest

from dsassets.lib.lake.lake import Lake
from dsassets.lib.clients.monitor_page import MalformedEventError
from dsassets.lib.lake.raw_events import DATASET, events_to_batch, write_event_partitions
from support.monitor_pages import monitor_page

UTC = timezone.utc
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 3, tzinfo=UTC)


def event(event_id: str, ts: str, **extra) -> dict:
    return {
        "eventId": event_id,
        "timestamp": ts,
        "accountId": "acct-1",
        "organizationId": "org-1",
        "userId": "user-1",
        "object": "User",
        "action": "Login",
        "result": "Success",
        "ipAddress": "203.0.113.7",
        "ipAddressLocation": {"latitude": 1.5, "longitude": 2.5, "country": "india", "city": "pune"},
        "data": {"Count": "3"},
        **extra,
    }


def pages(*page_lists):
    """The pages, decoded one by one as they are read (a bad page fails mid-stream, as from the client)."""
    for i, events in enumerate(page_lists):
        yield monitor_page(events, f"cursor-{i}", f"cursor-{i + 1}")


def read(lake: Lake, day: date) -> list[dict]:
    return pq.read_table(lake.partition_file(DATASET, day)).to_pylist()


def test_events_land_in_their_utc_day_with_seven_digit_timestamps(tmp_path):
    lake = Lake.at(tmp_path)
    counts = write_event_partitions(
        lake,
        pages(
            [event("a", "2026-03-01T00:00:00.0000001Z"), event("b", "2026-03-02T23:59:59.9999999Z")],
            # ingestion order is not event order, and the overlap past the window is read but not stored
            [event("c", "2026-03-01T12:00:00.5Z"), event("late", "2026-03-03T00:04:00Z")],
            [event("before", "2026-02-28T23:59:00Z")],
        ),
        start=START,
        end=END,
        source="simulator",
        extracted_at=START,
    )
    assert counts == {date(2026, 3, 1): 2, date(2026, 3, 2): 1}
    day1 = read(lake, date(2026, 3, 1))
    assert [r["eventId"] for r in day1] == ["a", "c"]  # in stream order
    assert day1[0]["_event_time"] == datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)  # 7th digit truncated
    assert day1[0]["timestamp"] == "2026-03-01T00:00:00.0000001Z"  # kept as sent
    assert day1[0]["_source"] == "simulator"
    assert '"country":"india"' in day1[0]["ipAddressLocation"]
    assert read(lake, date(2026, 3, 2))[0]["eventId"] == "b"


def test_unknown_keys_are_kept_in_raw(tmp_path):
    batch = events_to_batch(
        monitor_page([event("x", "2026-03-01T10:00:00Z", traceToken="abc")], "c", "c1"), source="docusign",
        extracted_at=START,
    )
    assert '"traceToken":"abc"' in batch.column("_raw")[0].as_py()


def test_empty_day_still_gets_a_partition(tmp_path):
    lake = Lake.at(tmp_path)
    counts = write_event_partitions(lake, pages([]), start=START, end=END, source="docusign", extracted_at=START)
    assert counts == {date(2026, 3, 1): 0, date(2026, 3, 2): 0}
    assert pq.read_table(lake.partition_file(DATASET, date(2026, 3, 1))).num_rows == 0


def test_rerun_replaces_the_partition_instead_of_appending(tmp_path):
    lake = Lake.at(tmp_path)
    kw = dict(start=START, end=END, source="docusign", extracted_at=START)
    write_event_partitions(lake, pages([event("a", "2026-03-01T10:00:00Z"), event("b", "2026-03-01T11:00:00Z")]), **kw)
    write_event_partitions(lake, pages([event("a", "2026-03-01T10:00:00Z")]), **kw)
    assert [r["eventId"] for r in read(lake, date(2026, 3, 1))] == ["a"]
    assert lake.list_files(DATASET, date(2026, 3, 1)) == ["data.parquet"]


@pytest.mark.parametrize(("bad", "field"), [({"timestamp": "yesterday"}, "timestamp")])
def test_malformed_event_names_event_and_field_and_leaves_lake_untouched(tmp_path, bad, field):
    lake = Lake.at(tmp_path)
    kw = dict(start=START, end=END, source="docusign", extracted_at=START)
    write_event_partitions(lake, pages([event("good", "2026-03-01T10:00:00Z")]), **kw)
    before = lake.read_bytes(lake.partition_path(DATASET, date(2026, 3, 1)))
    with pytest.raises(MalformedEventError, match=rf"event 'evil'.*'{field}'"):
        write_event_partitions(
            lake,
            pages([event("new", "2026-03-01T09:00:00Z")], [event("evil", "2026-03-01T10:00:00Z", **bad)]),
            **kw,
        )
    assert lake.read_bytes(lake.partition_path(DATASET, date(2026, 3, 1))) == before
    assert not any(lake.tmp_dir.iterdir())


def test_failing_page_stream_publishes_nothing(tmp_path):
    lake = Lake.at(tmp_path)

    def stream():
        yield monitor_page([event("a", "2026-03-01T10:00:00Z")], "c0", "c1")
        raise RuntimeError("page 2 failed")

    with pytest.raises(RuntimeError, match="page 2"):
        write_event_partitions(lake, stream(), start=START, end=END, source="docusign", extracted_at=START)
    assert lake.partitions(DATASET) == []
