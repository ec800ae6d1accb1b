"""A backfill's range read as several time windows of the Monitor stream at once.

The stream is in ingestion order and an ISO cursor starts it at a moment, so a range can be
read as consecutive windows, each from its own start until its page past its end plus the
ingestion lag. Together the windows read every event a single pass reads: a window reads on
past its end (ingestion lags event time), so it overlaps the next one's start; the events of
that overlap are read twice and kept once, where the single pass has them. Each window runs on
its own thread. Usually each writes its own days straight into their files
(``raw_events._write_windows``); when a day has late files to keep, each is staged to its own
scratch file and the files, merged in window order (:func:`merge_windows`), are the single
pass's scratch file.

Only backfills read in windows: the live stream has one cursor, which never moves backwards
(``live_stream``), and these reads never write it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import duckdb

from dsassets.lib.clients.monitor_page import MonitorPage

T = TypeVar("T")


@dataclass(frozen=True)
class WindowReads:
    """Page streams of consecutive windows of one range, in time order, and how many run at once."""

    streams: list[Iterable[MonitorPage]]
    readers: int
    bounds: list[tuple[datetime, datetime]]  # each stream's window, [start, end)


def split_windows(start: datetime, end: datetime, readers: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` as up to ``readers`` consecutive windows of whole days (one when a day or less)."""
    days = max(1, round((end - start) / timedelta(days=1)))
    count = max(1, min(readers, days))
    bounds = [start + timedelta(days=days * k // count) for k in range(count)] + [end]
    return list(zip(bounds, bounds[1:]))


def read_windows(read: Callable[[datetime, datetime], Iterable[MonitorPage]], start: datetime, end: datetime,
                 readers: int) -> WindowReads:
    """The windows' page streams (``read(window_start, window_end)`` each), read ``readers`` at once."""
    windows = split_windows(start, end, readers)
    return WindowReads([read(a, b) for a, b in windows], readers, windows)


def stage_windows(windows: WindowReads, stage: Callable[[int, Iterable[MonitorPage]], T]) -> list[T]:
    """Run ``stage(k, pages)`` for each window on its own thread; the results in window order.

    A failure in any window is raised here once every window has stopped."""
    with ThreadPoolExecutor(max_workers=windows.readers, thread_name_prefix="monitor-window") as pool:
        futures = [pool.submit(stage, k, pages) for k, pages in enumerate(windows.streams)]
        return [f.result() for f in futures]


def merge_windows(con: duckdb.DuckDBPyConnection, files: list[Path], into: Path) -> None:
    """The windows' scratch files as one, in window then stream order, each ``eventId`` once (its
    first reading: the overlap of two windows is kept in the earlier one, as a single pass has it)."""
    con.execute(
        f"""
        copy (
            with rows as (
                select * exclude (filename, file_row_number),
                    list_position($files, filename) as _window, file_row_number as _row
                from read_parquet($files, file_row_number = true, filename = true)
            ),
            repeated as (
                select eventId, min(_window) as first_window from rows group by eventId having count(*) > 1
            )
            select rows.* exclude (_window, _row)
            from rows left join repeated using (eventId)
            where repeated.first_window is null or rows._window = repeated.first_window
            order by rows._window, rows._row
        ) to '{str(into).replace("'", "''")}' (format parquet, compression lz4)
        """,
        {"files": [str(f) for f in files]},
    )
