"""The raw Parquet lake: hive-style daily partitions, written atomically.

Layout: ``<data_dir>/raw/<system>/<dataset>/dt=YYYY-MM-DD/data.parquet``, plus, for the
audit events of a day refreshed during the day, one ``part-*.parquet`` per refresh beside it
(readers always glob ``dt=*/*.parquet``).

A partition is always written to a temporary file under ``<data_dir>/.tmp`` and
moved into place with ``os.replace``, which is atomic on one filesystem. A run
killed mid-write leaves at most an orphaned temporary file that no reader ever
globs, and the previous version of the partition (if any) stays intact. A
re-run replaces exactly that partition's file.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_OPTIONS = {"compression": "zstd"}


@dataclass(frozen=True)
class Lake:
    """Paths and atomic writes under one data directory."""

    root: Path

    @classmethod
    def at(cls, data_dir: str | os.PathLike[str]) -> "Lake":
        return cls(Path(data_dir).expanduser().resolve())

    @property
    def tmp_dir(self) -> Path:
        return self.root / ".tmp"

    def dataset_dir(self, dataset: str) -> Path:
        """``raw_docusign_audit_events`` -> ``<root>/raw/docusign/audit_events``."""
        if not dataset.startswith("raw_"):
            raise ValueError(f"not a raw dataset name: {dataset!r}")
        system, _, name = dataset.removeprefix("raw_").partition("_")
        return self.root / "raw" / system / name

    def partition_dir(self, dataset: str, day: date) -> Path:
        return self.dataset_dir(dataset) / f"dt={day.isoformat()}"

    def partition_file(self, dataset: str, day: date, name: str = "data.parquet") -> Path:
        return self.partition_dir(dataset, day) / name

    def partition_files(self, dataset: str, day: date) -> list[Path]:
        """Every Parquet file of one partition, by name (``data.parquet`` before ``part-*``)."""
        folder = self.partition_dir(dataset, day)
        return sorted(folder.glob("*.parquet")) if folder.exists() else []

    def glob(self, dataset: str) -> str:
        """A glob over every partition of ``dataset`` for ``read_parquet(..., hive_partitioning=true)``."""
        return str(self.dataset_dir(dataset) / "dt=*" / "*.parquet")

    def partitions(self, dataset: str) -> list[date]:
        base = self.dataset_dir(dataset)
        if not base.exists():
            return []
        return sorted(
            {date.fromisoformat(p.parent.name.removeprefix("dt=")) for p in base.glob("dt=*/*.parquet")}
        )

    @contextmanager
    def temp_path(self, suffix: str = ".parquet") -> Iterator[Path]:
        """A scratch file path removed on exit whatever happens."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        path = self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def publish(self, tmp_file: Path, dataset: str, day: date, name: str = "data.parquet") -> Path:
        """Atomically move a finished temporary file into the partition ``day`` of ``dataset``.

        Publishing ``data.parquet`` makes it the whole partition: the refresh parts of an
        earlier intra-day run are removed after it is in place. A crash between the two steps
        leaves rows twice, which the blocking ``eventId``-unique check reports and a re-run
        repairs; never a partition with rows missing.
        """
        target = self.partition_file(dataset, day, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_file, target)
        if name == "data.parquet":
            for stale in target.parent.glob("part-*.parquet"):
                stale.unlink(missing_ok=True)
        return target

    def write_partition(self, table: pa.Table, dataset: str, day: date) -> Path:
        """Write ``table`` as the whole partition ``day`` of ``dataset`` (replacing any previous one)."""
        with self.temp_path() as tmp:
            pq.write_table(table, tmp, **PARQUET_OPTIONS)
            return self.publish(tmp, dataset, day)
