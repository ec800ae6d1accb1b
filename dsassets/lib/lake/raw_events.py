"""Decoded Monitor pages to daily Parquet partitions.

Pages arrive already in columns (:mod:`dsassets.lib.clients.monitor_page`); here each gets its
read's lineage columns and is written while the next pages are read and decoded on another
thread (a bounded queue, so memory stays a few pages).

Two ways to fill a day:

- **Whole** (:func:`write_event_partitions`, backfills): read the window and publish each
  day as ``data.parquet``, replacing whatever the day held. Rows go straight into their day's
  file as they arrive (``day_files``), also when windows of the range are read at once (each
  window fills its own days), unless the read needs a set-based step in DuckDB: a day with
  late files to keep. Then, as for the live stream, pages go to a scratch Parquet file and
  DuckDB splits, de-duplicates and orders it, with memory bounded by its own limit whatever
  the day's volume.
- **Live** (:func:`dsassets.lib.lake.live_stream.advance_stream`, the daily run and the
  intra-day refresh): read the stream from the one stored cursor to its end and append each
  day's new events as one more file; see that module.

Every file's Parquet footer holds where reading stopped (``dsassets.resume_cursor``) and
whether the day was complete (``dsassets.complete``), published atomically with the rows.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsassets.lib.clients.monitor_page import DECODED, MonitorPage, count_drift
from dsassets.lib.lake.coerce import Drift
from dsassets.lib.lake.day_files import ROW_GROUP as DAY_ROW_GROUP, DayFiles
from dsassets.lib.lake.lake import Lake
from dsassets.lib.clients.prefetch import prefetched
from dsassets.lib.lake.schemas import AUDIT_EVENTS
from dsassets.lib.lake.window_reads import WindowReads, merge_windows, stage_windows
from dsassets.lib.transform.sql import sql_literal

DATASET = "raw_docusign_audit_events"
CURSOR_KEY = "dsassets.resume_cursor"
COMPLETE_KEY = "dsassets.complete"
# The scratch file is read once, by the staging query. Writing it the lake's way (zstd, a
# dictionary and statistics for every column) was a third of the writer's time: lz4, no
# dictionary for the columns unique per event, statistics only where the staging filters.
_UNIQUE = {"eventId", "timestamp", "_event_time", "_raw", "data"}
_SCRATCH_OPTIONS = {"compression": "lz4", "use_dictionary": [n for n in AUDIT_EVENTS.names if n not in _UNIQUE],
                    "write_statistics": ["_event_time"]}
# Pages read ahead of the one being written: enough to keep the network busy while a page is
# written, few enough that memory stays a few pages whatever the read's size.
READ_AHEAD = 4


def events_to_batch(
    page: MonitorPage, *, source: str, extracted_at: datetime, drift: Drift | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> pa.Table:
    """One decoded Monitor page as a table of :data:`AUDIT_EVENTS`.

    Drifted values were coerced or nulled at decoding; here they are counted in ``drift``:
    only for events inside ``window`` when given, so the counts match what the window's
    partitions store.
    """
    events = page.events
    n = events.num_rows
    if drift is not None:
        keep = None
        if window is not None:
            times = events["_event_time"]
            keep = pc.and_(pc.greater_equal(times, pa.scalar(window[0], times.type)),
                           pc.less(times, pa.scalar(window[1], times.type)))
        coerced, nulled = count_drift(events, keep)
        drift.add(Drift(coerced, nulled))
    columns = {name: events[name] for name in DECODED.names if name in AUDIT_EVENTS.names}
    # The read's constants, repeated in Arrow: a Python list of them per page was a tenth of the
    # writer thread's time at a million events.
    columns["_page_cursor"] = pa.repeat(pa.scalar(page.cursor, pa.string()), n)
    columns["_source"] = pa.repeat(pa.scalar(source, pa.string()), n)
    columns["_extracted_at"] = pa.repeat(pa.scalar(extracted_at, AUDIT_EVENTS.field("_extracted_at").type), n)
    return pa.table([columns[f] for f in AUDIT_EVENTS.names], schema=AUDIT_EVENTS)


def days_in(start: datetime, end: datetime) -> list[date]:
    days, day = [], start.date()
    while datetime.combine(day, datetime.min.time(), start.tzinfo) < end:
        days.append(day)
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class ReadState:
    """Where the last read of a day stopped, from the footer of the day's newest file."""

    cursor: str | None
    complete: bool
    files: list[str]  # locations (paths or s3:// URLs), oldest first


def read_state(lake: Lake, day: date) -> ReadState:
    # data.parquet sorts before part-<time>, and part names sort by time: the last is the newest.
    files = [lake.partition_file(DATASET, day, name) for name in sorted(lake.list_files(DATASET, day))]
    if not files:
        return ReadState(None, False, [])
    with duckdb.connect() as con:
        lake.register(con)  # only the footer is read, also on S3
        meta = dict(con.execute(
            "select decode(key), decode(value) from parquet_kv_metadata(?)", [files[-1]]).fetchall())
    return ReadState(meta.get(CURSOR_KEY), meta.get(COMPLETE_KEY) == "true", files)


@dataclass
class _Read:
    """What reading a page stream left behind: the last cursor, whether the window was passed, pages read."""

    cursor: str | None = None
    past_window: bool = False
    pages: int = 0
    drift: Drift = field(default_factory=Drift)

    @classmethod
    def of_windows(cls, reads: list[_Read]) -> _Read:
        """The windows' reads as one: stopped where the last window stopped, past the window once all are."""
        read = cls(cursor=reads[-1].cursor, past_window=all(r.past_window for r in reads),
                   pages=sum(r.pages for r in reads))
        for r in reads:  # an event of two windows' overlap is counted in both (a few, at each seam)
            read.drift.add(r.drift)
        return read


def _consume(pages: Iterable[MonitorPage], write: Callable[[pa.Table], None], source: str, extracted_at: datetime,
             window: tuple[datetime, datetime] | None) -> _Read:
    """Hand every page's rows to ``write`` while the next pages are read and decoded on another thread."""
    read = _Read()
    with prefetched(pages, READ_AHEAD) as ahead:
        for page in ahead:
            read.pages += 1
            read.cursor = page.end_cursor
            read.past_window = read.past_window or page.past_window
            if len(page):
                write(events_to_batch(page, source=source, extracted_at=extracted_at, drift=read.drift, window=window))
    return read


def _stage_pages(scratch: Path, pages: Iterable[MonitorPage], source: str, extracted_at: datetime,
                 window: tuple[datetime, datetime] | None = None) -> _Read:
    with pq.ParquetWriter(scratch, AUDIT_EVENTS, **_SCRATCH_OPTIONS) as writer:
        return _consume(pages, writer.write_table, source, extracted_at, window)


def _stage_read(lake: Lake, scratch: Path, pages: Iterable[MonitorPage] | WindowReads, source: str,
                extracted_at: datetime, window: tuple[datetime, datetime], memory_limit: str) -> _Read:
    """Stage a read into ``scratch``: one pass, or windows read at once and merged in window order."""
    if isinstance(pages, WindowReads) and len(pages.streams) == 1:
        pages = pages.streams[0]
    if not isinstance(pages, WindowReads):
        return _stage_pages(scratch, pages, source, extracted_at, window)
    parts = [lake.tmp_dir / f"{scratch.stem}.window{k}.parquet" for k in range(len(pages.streams))]
    try:
        reads = stage_windows(pages, lambda k, stream: _stage_pages(parts[k], stream, source, extracted_at, window))
        with _duckdb(lake, scratch, memory_limit) as con:
            merge_windows(con, parts, scratch)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    return _Read.of_windows(reads)


def write_event_partitions(
    lake: Lake,
    pages: Iterable[MonitorPage] | WindowReads,
    *,
    start: datetime,
    end: datetime,
    source: str,
    extracted_at: datetime,
    memory_limit: str = "2GB",
    drift: Drift | None = None,
) -> dict[date, int]:
    """Write the events of ``[start, end)`` as one whole partition per UTC day; return rows per day.

    ``pages`` yields Monitor pages with duplicates already dropped, as
    :meth:`DocuSignClient.audit_events` does; or is a :class:`WindowReads`, the range's
    windows read at once (``window_reads``). Nothing is published until every
    page has been read and converted, so a failed page or a malformed event
    leaves every existing partition untouched. Events outside the window (the
    ingestion-lag overlap read past midnight, or the previous day's late
    arrivals) are left for their own partition's run.
    """
    if isinstance(pages, WindowReads) and len(pages.streams) == 1:
        pages = pages.streams[0]
    days = days_in(start, end)
    # Late arrivals the live stream stored for a day may have been ingested after this read's
    # end: the whole day keeps them (they never come again), which takes the staging query.
    late = {day: [lake.partition_file(DATASET, day, n) for n in lake.list_files(DATASET, day)
                  if n.startswith("late-")] for day in days}
    if any(late.values()):
        return _write_via_scratch(lake, pages, late, start=start, end=end, source=source,
                                  extracted_at=extracted_at, memory_limit=memory_limit, drift=drift)
    with lake.temp_path(".days") as stem:
        windowed = isinstance(pages, WindowReads)
        files = ([DayFiles(lake.tmp_dir, f"{stem.name}.w{k}", days_in(a, b)) for k, (a, b) in enumerate(pages.bounds)]
                 if windowed else [DayFiles(lake.tmp_dir, stem.name, days)])
        try:
            if windowed:
                staged = _write_windows(lake, pages, files, stem, start=start, end=end, source=source,
                                        extracted_at=extracted_at, drift=drift)
            else:
                read = _consume(pages, files[0].add, source, extracted_at, (start, end))
                staged = files[0].close(_footer(read, drift))
            # Publish only once every day is written: a failure above leaves the lake as it was.
            for day, (tmp, _) in staged.items():
                lake.publish(tmp, DATASET, day)
        finally:
            for day_files in files:
                day_files.discard()
            for tmp in lake.tmp_dir.glob(f"{stem.name}.rewritten.*"):
                tmp.unlink(missing_ok=True)
    return {day: n for day, (_, n) in staged.items()}


def _write_windows(lake: Lake, reads: WindowReads, files: list[DayFiles], stem: Path, *, start: datetime,
                   end: datetime, source: str, extracted_at: datetime,
                   drift: Drift | None) -> dict[date, tuple[Path, int]]:
    """Windows read at once, each on its own thread writing its own days straight into their files.

    A window's own days hold exactly what a single pass holds, in its order: every event of a
    day is ingested after the day starts, where the day's window starts reading. What a window
    reads of other days (the seam's overlap, read by both windows; an event ingested after the
    window stopped, or stamped before its ingestion) is set aside, and joins its day only when
    the day's own window lacks it: before the day's rows when an earlier window read it, after
    them when a later one did, which is where a single pass would have it."""
    aside: list[list[pa.Table]] = [[] for _ in reads.streams]

    def stage(k: int, pages: Iterable[MonitorPage]) -> _Read:
        own_start, own_end = reads.bounds[k]

        def write(batch: pa.Table) -> None:
            files[k].add(batch)  # keeps the rows of the window's own days only
            times = batch["_event_time"]
            bounds = pc.min_max(times)
            if bounds["min"].as_py() >= own_start and bounds["max"].as_py() < own_end:
                return
            other = pc.or_(pc.less(times, pa.scalar(own_start, times.type)),
                           pc.greater_equal(times, pa.scalar(own_end, times.type)))
            inside = pc.and_(pc.greater_equal(times, pa.scalar(start, times.type)),
                             pc.less(times, pa.scalar(end, times.type)))
            rows = batch.filter(pc.and_(other, inside))
            if rows.num_rows:
                aside[k].append(rows)

        return _consume(pages, write, source, extracted_at, (start, end))

    footer = _footer(_Read.of_windows(stage_windows(reads, stage)), drift)
    staged: dict[date, tuple[Path, int]] = {}
    owner: dict[date, int] = {}
    for k, day_files in enumerate(files):
        for day, made in day_files.close(footer).items():
            staged[day], owner[day] = made, k
    for day, (before, after) in _missing_from_own_window(aside, owner, staged).items():
        path, _ = staged[day]
        rewritten = lake.tmp_dir / f"{stem.name}.rewritten.{day.isoformat()}.parquet"
        whole = pa.concat_tables([t for t in (before, pq.read_table(path, schema=AUDIT_EVENTS), after) if t is not None])
        with pq.ParquetWriter(rewritten, AUDIT_EVENTS, compression="zstd") as writer:
            writer.write_table(whole, row_group_size=DAY_ROW_GROUP)
            writer.add_key_value_metadata(footer)
        staged[day] = (rewritten, whole.num_rows)
    return staged


def _missing_from_own_window(aside: list[list[pa.Table]], owner: dict[date, int],
                             staged: dict[date, tuple[Path, int]]) -> dict[date, tuple[pa.Table | None, pa.Table | None]]:
    """Per day, the rows set aside that its own window did not read, each ``eventId`` once (its
    earliest window's reading): (from earlier windows, from later ones), each in window then
    stream order; days that lack none are left out."""
    tables = [(k, t) for k, parts in enumerate(aside) for t in parts]
    if not tables:
        return {}
    rows = pa.concat_tables([t for _, t in tables])
    window = pa.concat_arrays([pa.repeat(pa.scalar(k, pa.int32()), t.num_rows) for k, t in tables])
    days = pc.cast(rows["_event_time"], pa.date32())
    missing = {}
    for day in pc.unique(days).to_pylist():
        of_day = pc.equal(days, pa.scalar(day, pa.date32()))
        candidates, from_window = rows.filter(of_day), window.filter(of_day)
        own_ids = pq.read_table(staged[day][0], columns=["eventId"])["eventId"]
        new = pc.invert(pc.is_in(candidates["eventId"], value_set=own_ids.combine_chunks()))
        candidates, from_window = candidates.filter(new), from_window.filter(new)
        if not candidates.num_rows:
            continue
        # the first reading of each id: rows are in window then stream order already
        first = (pa.table({"id": candidates["eventId"], "i": np.arange(candidates.num_rows)})
                 .group_by("id", use_threads=False).aggregate([("i", "min")])["i_min"])
        keep = pc.sort_indices(first)
        candidates, from_window = candidates.take(pc.take(first, keep)), from_window.take(pc.take(first, keep))
        earlier = pc.less(from_window, pa.scalar(owner[day], pa.int32()))
        before, after = candidates.filter(earlier), candidates.filter(pc.invert(earlier))
        missing[day] = (before if before.num_rows else None, after if after.num_rows else None)
    return missing


def _footer(read: _Read, drift: Drift | None) -> dict[str, str]:
    """The read state every file of the read keeps in its footer; the read's drift added to ``drift``."""
    if drift is not None:
        drift.add(read.drift)
    state = {COMPLETE_KEY: "true" if read.past_window else "false"}
    if read.cursor:
        state[CURSOR_KEY] = read.cursor
    return state


def _write_via_scratch(lake: Lake, pages: Iterable[MonitorPage] | WindowReads, late: dict[date, list[str]], *,
                       start: datetime, end: datetime, source: str, extracted_at: datetime, memory_limit: str,
                       drift: Drift | None) -> dict[date, int]:
    """The read staged in a scratch file, then each day copied out of it by DuckDB (with its late files)."""
    with lake.temp_path(".pages.parquet") as scratch:
        read = _stage_read(lake, scratch, pages, source, extracted_at, (start, end), memory_limit)
        state = _footer(read, drift)
        with _duckdb(lake, scratch, memory_limit) as con:
            staged = []
            try:
                for day, keep in late.items():
                    staged.append((_stage_day(con, lake, scratch, day, [], state, keep=keep), day))
                for (tmp, _), day in staged:
                    lake.publish(tmp, DATASET, day)
            finally:
                for (tmp, _), _day in staged:
                    tmp.unlink(missing_ok=True)
    return {day: n for (_, n), day in staged}


@contextmanager
def _duckdb(lake: Lake, scratch: Path, memory_limit: str) -> Iterator[duckdb.DuckDBPyConnection]:
    # An in-memory database only spills to disk when given a temp directory: with one, a day
    # bigger than the memory limit slows down instead of failing.
    spill = lake.tmp_dir / f"{scratch.stem}.spill"
    config = {"memory_limit": memory_limit, "temp_directory": str(spill), "preserve_insertion_order": True}
    try:
        with duckdb.connect(config=config) as con:
            con.execute("set timezone = 'UTC'")
            lake.register(con)  # earlier files of the day may be on S3
            yield con
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _copy_options(state: dict[str, str]) -> str:
    # KV_METADATA takes literals only; the cursor is the API's opaque text, so it is quoted.
    kv = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in state.items())
    return f"format parquet, compression zstd, row_group_size 65536, kv_metadata {{{kv}}}"


def _stage_day(con, lake: Lake, scratch: Path, day: date, existing: list[str], state: dict[str, str],
               keep: list[str] | None = None):
    """The scratch file's events of ``day`` not in ``existing``, as a staged file; and how many.

    ``keep``: files whose events not in the scratch file are added too (a whole day keeps the
    late arrivals a live read stored)."""
    tmp = lake.tmp_dir / f"{scratch.stem}.{day.isoformat()}.parquet"
    # A streaming filter: rows keep the stream's (ingestion) order, within minutes of event
    # order and the same on every re-run. Duplicates within a read were dropped by the client
    # (DocuSignClient.audit_events); the anti-join drops what earlier refreshes kept, and the
    # blocking GX check verifies the day as a whole.
    known = (
        "and eventId not in (select eventId from read_parquet($existing))" if existing else ""
    )
    params = {"scratch": str(scratch), "day": day.isoformat()}
    if existing:
        params["existing"] = existing
    kept = ""
    if keep:
        params["keep"] = keep
        kept = """
                union all
                select * from read_parquet($keep, union_by_name = true, hive_partitioning = false)
                where eventId not in (select eventId from read_parquet($scratch))"""
    try:
        con.execute(
            f"""
            copy (
                select * from read_parquet($scratch)
                where _event_time >= $day::timestamptz
                  and _event_time < ($day::date + 1)::timestamptz
                  {known}{kept}
            ) to '{_sql_path(tmp)}' ({_copy_options(state)})
            """,
            params,
        )
        return tmp, pq.ParquetFile(tmp).metadata.num_rows
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sql_path(path: Path) -> str:
    # COPY ... TO does not take a prepared parameter; paths are ours (uuid names), quote defensively.
    return str(path).replace("'", "''")
