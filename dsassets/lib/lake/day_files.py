"""A whole read's days written straight into their final Parquet files while the pages arrive.

A backfill used to stage every page in a scratch file and, once the read was over, copy each
day out of it with DuckDB: at a million events a day that copy (recompressing every ``_raw``)
was a third of the extraction, and nothing overlapped it. Here the writer thread files each
page's rows under their day as they come, in stream order (the order the copy kept), in the
lake's format (zstd, row groups of up to :data:`ROW_GROUP` rows); the footer's read state is
added when the read is over. Rows outside the window are not written: they belong to another
partition's run.

Nothing is published here: :meth:`DayFiles.close` hands back finished temporary files, and
:meth:`DayFiles.discard` removes whatever a failed read left.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsassets.lib.lake.schemas import AUDIT_EVENTS

ROW_GROUP = 65536  # as the staging copy wrote them
_DAY_TYPE = pa.date32()


class DayFiles:
    """One temporary Parquet file per day of the window, filled in stream order."""

    def __init__(self, tmp_dir: Path, stem: str, days: list[date]) -> None:
        self.paths = {day: tmp_dir / f"{stem}.{day.isoformat()}.parquet" for day in days}
        self._writers: dict[date, pq.ParquetWriter] = {}
        self._pending: dict[date, list[pa.Table]] = {day: [] for day in days}
        self._rows = dict.fromkeys(days, 0)
        self._buffered = 0
        for day in days:
            self._writers[day] = pq.ParquetWriter(self.paths[day], AUDIT_EVENTS, compression="zstd")

    def add(self, table: pa.Table) -> None:
        """File ``table``'s rows (:data:`AUDIT_EVENTS`) under their UTC day; other days' rows are dropped."""
        days = pc.cast(table["_event_time"], _DAY_TYPE)
        distinct = pc.unique(days).to_pylist()
        for day in distinct:
            if day in self._pending:
                # A page within one day (nearly all) is kept whole: filtering copies every column,
                # the raw JSON too (a tenth of the extraction's time at a million events a day).
                rows = table if len(distinct) == 1 else table.filter(pc.equal(days, pa.scalar(day, _DAY_TYPE)))
                self._pending[day].append(rows)
                self._rows[day] += rows.num_rows
                self._buffered += rows.num_rows
        # Buffered rows are bounded by one row group whatever the window's length: a day that
        # stops receiving rows (the stream moved on) is flushed with the others.
        if self._buffered >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        for day, parts in self._pending.items():
            if parts:
                self._writers[day].write_table(pa.concat_tables(parts), row_group_size=ROW_GROUP)
                parts.clear()
        self._buffered = 0

    def close(self, footer: dict[str, str]) -> dict[date, tuple[Path, int]]:
        """Finish every file with ``footer`` in its key-value metadata; each day's (file, rows)."""
        self._flush()
        for writer in self._writers.values():
            writer.add_key_value_metadata(footer)
            writer.close()
        self._writers.clear()
        return {day: (path, self._rows[day]) for day, path in self.paths.items()}

    def discard(self) -> None:
        """Close (if still open) and remove every file: for a read that failed, and after publishing."""
        for writer in self._writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the read's own error is the one to raise
                pass
        self._writers.clear()
        for path in self.paths.values():
            path.unlink(missing_ok=True)
