"""A backfill's range read as several time windows of the Monitor stream at once.

The stream is in ingestion order and an ISO cursor starts it at a moment, so a range can be
read as consecutive windows, each from its own start until its page past its end plus the
ingestion lag. Together the windows read every event a single pass reads: a window reads on
past its end (ingestion lags event time), so it overlaps the next one's start; the events of
that overlap are read twice and kept once, where the single pass has them (the earlier
window). Each window is staged to its own scratch file on its own thread; the files, in
window order, are then the single pass's scratch file.

Only backfills read in windows: the live stream has one cursor, which never moves backwards
(``live_stream``), and these reads never write it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from dsassets.lib.clients.monitor_page import MonitorPage


@dataclass(frozen=True)
class WindowReads:
    """Page streams of consecutive windows of one range, in time order, and how many run at once."""

    streams: list[Iterable[MonitorPage]]
    readers: int


def split_windows(start: datetime, end: datetime, readers: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` as up to ``readers`` consecutive windows of whole days (one when a day or less)."""
    days = max(1, round((end - start) / timedelta(days=1)))
    count = max(1, min(readers, days))
    bounds = [start + timedelta(days=days * k // count) for k in range(count)] + [end]
    return list(zip(bounds, bounds[1:]))


def read_windows(read: Callable[[datetime, datetime], Iterable[MonitorPage]], start: datetime, end: datetime,
                 readers: int) -> WindowReads:
    """The windows' page streams (``read(window_start, window_end)`` each), read ``readers`` at once."""
    return WindowReads([read(a, b) for a, b in split_windows(start, end, readers)], readers)


def stage_windows(windows: WindowReads, scratch_for: Callable[[int], Path],
                  stage: Callable[[Path, Iterable[MonitorPage]], object]) -> list:
    """Stage each window (``stage(scratch, pages)``) on its own thread; the results in window order.

    A failure in any window is raised here once every window has stopped."""
    with ThreadPoolExecutor(max_workers=windows.readers, thread_name_prefix="monitor-window") as pool:
        futures = [pool.submit(stage, scratch_for(k), pages) for k, pages in enumerate(windows.streams)]
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
