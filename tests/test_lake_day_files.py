"""Days written straight into their files while pages arrive: stream order kept, memory bounded."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.lake import day_files
from dsassets.lib.lake.day_files import DayFiles
from dsassets.lib.lake.schemas import AUDIT_EVENTS

DAY = date(2026, 3, 1)


def rows(ids_and_days: list[tuple[str, int]]) -> pa.Table:
    start = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    columns = {name: pa.nulls(len(ids_and_days), field.type) for name, field in zip(AUDIT_EVENTS.names, AUDIT_EVENTS)}
    columns["eventId"] = pa.array([i for i, _ in ids_and_days], pa.string())
    columns["_event_time"] = pa.array([start + timedelta(days=d) for _, d in ids_and_days],
                                      AUDIT_EVENTS.field("_event_time").type)
    return pa.table(columns, schema=AUDIT_EVENTS)


def test_rows_go_to_their_day_in_stream_order_across_flushes(tmp_path, monkeypatch):
    monkeypatch.setattr(day_files, "ROW_GROUP", 3)  # flush every few rows
    files = DayFiles(tmp_path, "read", [DAY, DAY + timedelta(days=1)])
    files.add(rows([("a1", 0), ("b1", 1), ("x", 5)]))  # a day outside the window is dropped
    files.add(rows([("a2", 0), ("a3", 0)]))  # a page within one day is kept whole
    files.add(rows([("y1", 6), ("y2", 6)]))  # and one wholly outside the window is dropped whole
    files.add(rows([("b2", 1), ("a4", 0), ("b3", -1)]))
    done = files.close({"dsassets.complete": "true"})
    assert {day: n for day, (_, n) in done.items()} == {DAY: 4, DAY + timedelta(days=1): 2}
    first = pq.ParquetFile(done[DAY][0])
    assert first.read().column("eventId").to_pylist() == ["a1", "a2", "a3", "a4"]
    assert first.num_row_groups > 1  # flushed as it went, not held to the end
    assert first.metadata.metadata[b"dsassets.complete"] == b"true"
    assert pq.read_table(done[DAY + timedelta(days=1)][0]).column("eventId").to_pylist() == ["b1", "b2"]
    files.discard()
    assert not list(tmp_path.iterdir())


def test_an_empty_day_is_a_file_with_the_schema_and_a_failed_read_leaves_nothing(tmp_path):
    files = DayFiles(tmp_path, "read", [DAY])
    (path, n), = files.close({}).values()
    assert n == 0 and pq.read_schema(path).names == AUDIT_EVENTS.names
    failed = DayFiles(tmp_path, "failed", [DAY])
    failed.add(rows([("a", 0)]))
    failed.discard()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
