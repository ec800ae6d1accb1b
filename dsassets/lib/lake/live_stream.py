"""The live Monitor stream: one cursor for every run that reads it, events filed under their own day.

The stream is ordered by ingestion time, not event time: after an outage on DocuSign's side
an event can arrive hours after its day was processed. So the daily run and the intra-day
refresh do not read a window per day; they read the stream from the one stored cursor to its
present end, and every event goes to the partition of its timestamp:

- events of the run's own day (and of any other day not yet complete) are appended as one
  ``part-<time>.parquet`` per day, as before;
- events of a day that was already complete (its daily run has been) are *late*: they are
  appended as ``late-<time>.parquet``, de-duplicated on ``eventId`` against the day's files,
  and reported so the day's models and detections can be re-checked.

Where the cursor lives: ``_stream_cursor.json`` beside the ``dt=`` partitions of the raw dataset
(readers glob ``dt=*/*.parquet`` and never see it). One small file is found with one read,
whereas a cursor in the footers would need the newest file of every partition searched, and
a late event written to an old day would make that day's footer the newest. The file is
written atomically *after* the day files are published: a crash in between re-reads a few
pages next time, whose events the ``eventId`` anti-join drops, so every event is stored once.
Backfills read their range from its start and never write the file, so they cannot move the
live cursor backwards.

The file also keeps the *watermark*: the newest event time read so far. As the stream is in
ingestion order, no event read after it was ingested before the watermark, so
``watermark - event time`` is a lower bound of an event's ingestion delay (Monitor gives no
ingestion time). Each file's footer keeps the largest such delay among its rows
(``dsassets.max_ingestion_delay_s``) and whether its rows are late (``dsassets.late``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Iterable

import duckdb
import orjson

from dsassets.lib.clients.monitor_page import MonitorPage
from dsassets.lib.lake.coerce import Drift
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import (
    COMPLETE_KEY,
    CURSOR_KEY,
    DATASET,
    _copy_options,
    _duckdb,
    _sql_path,
    _stage_day,
    _stage_pages,
    read_state,
)

CURSOR_FILE = "_stream_cursor.json"
LATE_KEY = "dsassets.late"
DELAY_KEY = "dsassets.max_ingestion_delay_s"


@dataclass(frozen=True)
class StreamPosition:
    """Where the live stream was last read to, and the newest event time seen by then."""

    cursor: str | None = None
    watermark: datetime | None = None


def cursor_path(lake: Lake) -> str:
    return f"{lake.dataset_path(DATASET)}/{CURSOR_FILE}"


def load_position(lake: Lake) -> StreamPosition:
    rel = cursor_path(lake)
    if not lake.exists(rel):
        return StreamPosition()
    try:
        state = orjson.loads(lake.read_bytes(rel))
        watermark = state.get("watermark")
        return StreamPosition(state["cursor"], datetime.fromisoformat(watermark) if watermark else None)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(
            f"{lake.url(rel)}: not a stream cursor file (expected JSON with 'cursor' and 'watermark'); "
            "delete it to resume from the newest partition's cursor"
        ) from None


def save_position(lake: Lake, position: StreamPosition, *, saved_at: datetime) -> None:
    lake.write_bytes(cursor_path(lake), orjson.dumps({
        "cursor": position.cursor,
        "watermark": position.watermark.isoformat() if position.watermark else None,
        "saved_at": saved_at.isoformat(),
    }))


@dataclass(frozen=True)
class DayAdded:
    """Events one read added to one day."""

    added: int
    late: bool  # the day was complete before this read: its models ran without these events
    max_delay_s: float  # the largest ingestion delay (lower bound) among them
    file: str | None


@dataclass(frozen=True)
class Advance:
    """One read of the live stream: what each day gained, and the run's own day's state."""

    day: date
    added: int  # events added to the run's own day
    complete: bool
    pages: int
    resumed_from: str | None
    published: str | None  # the file written for the run's own day
    days: dict[date, DayAdded] = field(default_factory=dict)
    drift: Drift = field(default_factory=Drift)  # drifted values among the events read

    @property
    def late_days(self) -> dict[date, DayAdded]:
        return {d: a for d, a in self.days.items() if a.late and a.added}


def advance_stream(
    lake: Lake,
    read_pages: Callable[[str | None], Iterable[MonitorPage]],
    *,
    day: date,
    source: str,
    extracted_at: datetime,
    complete_at: datetime,
    memory_limit: str = "2GB",
) -> Advance:
    """Read the live stream from the stored cursor to its end; file every new event under its day.

    ``read_pages(cursor)`` reads the stream from ``cursor`` to its present end (None: from
    ``day``'s start, for a lake that has never read the live stream). ``day`` is the run's
    partition: once ``extracted_at`` is at or after ``complete_at`` (its end plus the
    ingestion lag) it is complete and compacted into ``data.parquet``. Nothing is published
    unless the whole read succeeded; the cursor moves only after every day's file is in place.
    """
    position = load_position(lake)
    own = read_state(lake, day)
    # A lake from before the live cursor resumes from its day's footer, so nothing is read twice.
    resumed_from = position.cursor or own.cursor
    with lake.temp_path(".pages.parquet") as scratch:
        read = _stage_pages(scratch, read_pages(resumed_from), source, extracted_at)
        cursor = read.cursor or resumed_from
        complete_now = extracted_at >= complete_at
        with _duckdb(lake, scratch, memory_limit) as con:
            watermark = _stage_delays(con, str(scratch), position.watermark, extracted_at)
            touched = sorted({r[0] for r in con.execute("select distinct dt from delays").fetchall()} | {day})
            staged: list[tuple[date, object, int, bool, float]] = []
            try:
                for d in touched:
                    state_d = own if d == day else read_state(lake, d)
                    late = state_d.complete
                    complete = late or (d == day and complete_now)
                    meta = {COMPLETE_KEY: "true" if complete else "false"}
                    if cursor:
                        meta[CURSOR_KEY] = cursor
                    if late:
                        meta[LATE_KEY] = "true"
                    delay = _day_delay(con, d)
                    meta[DELAY_KEY] = f"{delay:.0f}"
                    tmp, added = _stage_day(con, lake, scratch, d, state_d.files, meta)
                    staged.append((d, tmp, added, late, delay))
                days: dict[date, DayAdded] = {}
                published = None
                for d, tmp, added, late, delay in staged:
                    name = None
                    if d == day and complete_now and not late:
                        name = _compact(con, lake, scratch, day, own.files, tmp, cursor)
                    elif added or (d == day and cursor != own.cursor):
                        prefix = "late" if late else "part"
                        name = f"{prefix}-{extracted_at:%Y%m%dT%H%M%S%f}.parquet"
                        lake.publish(tmp, DATASET, d, name)
                    days[d] = DayAdded(added, late, delay if added else 0.0, name)
                    if d == day:
                        published = name
            finally:
                for _, tmp, *_rest in staged:
                    tmp.unlink(missing_ok=True)
    if cursor:
        save_position(lake, StreamPosition(cursor, watermark), saved_at=extracted_at)
    mine = days[day]
    return Advance(day, mine.added, own.complete or complete_now, read.pages, resumed_from, published, days, read.drift)


def _stage_delays(con: duckdb.DuckDBPyConnection, scratch: str, carried: datetime | None,
                  now: datetime) -> datetime | None:
    """Per event of the read: its day and its ingestion delay's lower bound; the new watermark."""
    # The running maximum of event times in stream order; clamped to the read's time, so one
    # event stamped in the future cannot make every later one look late.
    con.execute(
        """
        create or replace temp table delays as
        with ordered as (
            select eventId, _event_time, _event_time::date as dt,
                least(greatest(
                    max(_event_time) over (order by file_row_number rows unbounded preceding),
                    coalesce($carried::timestamptz, _event_time)), $now::timestamptz) as watermark
            from read_parquet($scratch, file_row_number = true)
        )
        select eventId, dt, greatest(epoch(watermark) - epoch(_event_time), 0) as delay_s, watermark
        from ordered
        """,
        {"scratch": scratch, "carried": carried, "now": now},
    )
    newest = con.execute("select max(watermark) from delays").fetchone()[0]
    if newest is None:
        return carried
    newest = newest.astimezone(timezone.utc)
    return max(newest, carried) if carried else newest


def _day_delay(con: duckdb.DuckDBPyConnection, day: date) -> float:
    found = con.execute("select max(delay_s) from delays where dt = ?", [day]).fetchone()[0]
    return float(found or 0.0)


def _compact(con, lake: Lake, scratch, day: date, files: list[str], tmp, cursor: str | None) -> str:
    """The day's files and this read's rows as one ``data.parquet``, marked complete."""
    meta = {COMPLETE_KEY: "true"}
    if cursor:
        meta[CURSOR_KEY] = cursor
    footers = day_footers(lake, files)
    delays = [float(f.get(DELAY_KEY) or 0) for f in footers.values()]
    delays.append(float(con.execute("select max(delay_s) from delays where dt = ?", [day]).fetchone()[0] or 0))
    meta[DELAY_KEY] = f"{max(delays):.0f}"
    whole = lake.tmp_dir / f"{scratch.stem}.whole.parquet"
    try:
        con.execute(
            f"copy (select * from read_parquet($files, union_by_name = true, hive_partitioning = false)) "
            f"to '{_sql_path(whole)}' ({_copy_options(meta)})",
            {"files": [*files, str(tmp)]},
        )
        lake.publish(whole, DATASET, day)
    finally:
        whole.unlink(missing_ok=True)
    return "data.parquet"


def day_footers(lake: Lake, files: list[str]) -> dict[str, dict[str, str]]:
    """Each file's dsassets footer keys and its row count (``rows``), by location."""
    if not files:
        return {}
    with duckdb.connect() as con:
        lake.register(con)
        kv = con.execute(
            "select file_name, decode(key), decode(value) from parquet_kv_metadata($files)", {"files": files}
        ).fetchall()
        rows = con.execute(
            "select file_name, sum(num_rows) from parquet_file_metadata($files) group by all", {"files": files}
        ).fetchall()
    out: dict[str, dict[str, str]] = {f: {} for f in files}
    for name, key, value in kv:
        out.setdefault(name, {})[key] = value
    for name, n in rows:
        out.setdefault(name, {})["rows"] = str(n)
    return out


@dataclass(frozen=True)
class Lateness:
    """How late a day's events came: events that arrived after the day was complete, largest delay."""

    late_events: int
    max_delay_s: float


def day_lateness(lake: Lake, day: date) -> Lateness:
    files = [lake.partition_file(DATASET, day, n) for n in sorted(lake.list_files(DATASET, day))]
    footers = day_footers(lake, files)
    late = sum(int(f.get("rows", 0)) for f in footers.values() if f.get(LATE_KEY) == "true")
    delay = max((float(f.get(DELAY_KEY) or 0) for f in footers.values()), default=0.0)
    return Lateness(late, delay)
