"""The Parquet lake: hive-style daily partitions, written atomically, locally or on S3.

Layout under the lake root (``DSASSETS_DATA_DIR``, a directory or ``s3://bucket/prefix``):
``raw/<system>/<dataset>/dt=YYYY-MM-DD/*.parquet`` (``data.parquet``, plus for the audit
events of a day refreshed during the day one ``part-<time>.parquet`` per refresh beside it),
``warehouse/<model>/dt=.../data.parquet``, ``governance/``.

Every file is first written whole to a scratch file under the local directory and then
published in one step (``os.replace`` locally, one completed upload on S3; see
:mod:`dsassets.lib.lake.storage`). A run killed mid-write leaves at most an orphaned scratch file
that no reader ever globs, and the previous version (if any) stays intact. A re-run replaces
exactly that partition's file.

What cannot live on S3 stays in :attr:`Lake.local_dir`: scratch files and DuckDB spill, the
``warehouse.duckdb`` file of views, the Dagster instance and the governance run lock. For a
local lake that is the data directory itself (so ``os.replace`` never crosses filesystems);
for S3 it is ``DSASSETS_LOCAL_DIR`` (default ``./data``).
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, Mapping

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.config.settings import LOCAL_DIR, ConfigError
from dsassets.lib.lake.storage import DATA_DIR_ENV, Store, open_store

PARQUET_OPTIONS = {"compression": "zstd"}
LOCAL_DIR_ENV = LOCAL_DIR.name
DEFAULT_LOCAL_DIR = LOCAL_DIR.default
DATA_FILE = "data.parquet"


@dataclass(frozen=True)
class Lake:
    """Paths, listings and atomic writes under one lake root, local or on S3."""

    store: Store = field(repr=False, compare=False)
    # Where the files are, as DuckDB and people see it: an absolute path or an s3:// URL.
    root: str
    # Scratch files, DuckDB spill, warehouse.duckdb, the Dagster instance, locks: always on this machine.
    local_dir: Path

    @classmethod
    def at(
        cls,
        data_dir: str | os.PathLike[str],
        local_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "Lake":
        """The lake at ``data_dir`` (a path or ``s3://bucket/prefix``); ``local_dir`` only for S3."""
        env = os.environ if env is None else env
        store = open_store(os.fspath(data_dir), env)
        if store.is_local:
            if local_dir is not None and Path(local_dir).expanduser().resolve() != Path(store.root_url):
                raise ConfigError(
                    f"{LOCAL_DIR_ENV}={os.fspath(local_dir)!r} is only used when {DATA_DIR_ENV} is an "
                    f"s3:// URL; with a local {DATA_DIR_ENV} everything stays there: unset {LOCAL_DIR_ENV}"
                )
            local = Path(store.root_url)
        else:
            local = Path(local_dir if local_dir is not None else DEFAULT_LOCAL_DIR).expanduser().resolve()
        return cls(store, store.root_url, local)

    @property
    def tmp_dir(self) -> Path:
        return self.local_dir / ".tmp"

    # -----------------------------------------------------------------------------------------
    # Names

    def url(self, rel: str = "") -> str:
        """The full location of ``rel`` (relative to the root), for DuckDB, logs and metadata."""
        return self.store.url(rel)

    @staticmethod
    def dataset_path(dataset: str) -> str:
        """``raw_docusign_audit_events`` -> ``raw/docusign/audit_events``."""
        if not dataset.startswith("raw_"):
            raise ValueError(f"not a raw dataset name: {dataset!r}")
        system, _, name = dataset.removeprefix("raw_").partition("_")
        return f"raw/{system}/{name}"

    @staticmethod
    def day_folder(dataset: str, day: date) -> str:
        """``raw_docusign_audit_events``, 2026-11-20 -> ``raw/docusign/audit_events/dt=2026-11-20``."""
        return f"{Lake.dataset_path(dataset)}/dt={day.isoformat()}"

    def partition_path(self, dataset: str, day: date, name: str = DATA_FILE) -> str:
        return f"{self.day_folder(dataset, day)}/{name}"

    def dataset_dir(self, dataset: str) -> str:
        return self.url(self.dataset_path(dataset))

    def partition_file(self, dataset: str, day: date, name: str = DATA_FILE) -> str:
        return self.url(self.partition_path(dataset, day, name))

    def glob(self, dataset: str) -> str:
        """A glob over every partition of ``dataset`` for ``read_parquet(..., hive_partitioning=true)``."""
        return self.url(f"{self.dataset_path(dataset)}/dt=*/*.parquet")

    # -----------------------------------------------------------------------------------------
    # Listing and reading

    def days(self, path: str) -> list[date]:
        """Days ``dt=YYYY-MM-DD`` under ``path`` (relative to the root) with at least one Parquet file."""
        found = self.store.glob(f"{path}/dt=*/*.parquet")
        return sorted({date.fromisoformat(rel.split("/")[-2].removeprefix("dt=")) for rel in found})

    def partitions(self, dataset: str) -> list[date]:
        """Days of ``dataset`` that have at least one Parquet file."""
        return self.days(self.dataset_path(dataset))

    def list_files(self, dataset: str, day: date) -> list[str]:
        """File names in the partition ``day`` of ``dataset`` (``data.parquet`` and any part files)."""
        base = f"{self.day_folder(dataset, day)}/"
        return [rel.removeprefix(base) for rel in self.store.glob(base + "*.parquet")]

    def files(self, pattern: str) -> list[str]:
        """Paths relative to the root matching ``pattern`` (``*`` stays within one path segment)."""
        return self.store.glob(pattern)

    def stamps(self, prefix: str, skip: Callable[[str], bool]) -> dict[str, str]:
        """Size and modification time (ETag on S3) of every file under ``prefix``, except under the
        paths ``skip`` accepts: what a change of any of them shows in."""
        return self.store.stamps(prefix, skip)

    def exists(self, rel: str) -> bool:
        return self.store.exists(rel)

    def read_bytes(self, rel: str) -> bytes:
        return self.store.read_bytes(rel)

    def register(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Let ``con`` read this lake's URLs (nothing to do locally; s3fs for S3)."""
        self.store.register(con)
        return con

    # -----------------------------------------------------------------------------------------
    # Writing

    def _scratch_path(self, suffix: str) -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    @contextmanager
    def temp_path(self, suffix: str = ".parquet") -> Iterator[Path]:
        """A local scratch file path removed on exit whatever happens."""
        path = self._scratch_path(suffix)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def publish_file(self, tmp_file: Path, rel: str) -> str:
        """Atomically make the finished scratch file ``tmp_file`` the file ``rel`` (consuming it)."""
        self.store.publish(tmp_file, rel)
        return self.url(rel)

    def publish(self, tmp_file: Path, dataset: str, day: date, name: str = DATA_FILE) -> str:
        """Atomically move a finished scratch file into the partition ``day`` of ``dataset``.

        Publishing ``data.parquet`` makes it the whole partition: the ``part-*`` files of an
        earlier intra-day refresh (and ``late-*`` files of late arrivals) are removed after it is in place. A crash between the two
        steps leaves rows twice, which the blocking ``eventId``-unique check reports and a
        re-run repairs; never a partition with rows missing.
        """
        url = self.publish_file(tmp_file, self.partition_path(dataset, day, name))
        if name == DATA_FILE:
            for stale in self.list_files(dataset, day):
                if stale.startswith(("part-", "late-")):
                    self.remove(self.partition_path(dataset, day, stale))
        return url

    def stage_table(self, table: pa.Table) -> Path:
        """``table`` written as a finished scratch file in the lake's format, for :meth:`publish`
        later (the caller removes it if it never is)."""
        path = self._scratch_path(".parquet")
        try:
            pq.write_table(table, path, **PARQUET_OPTIONS)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def write_partition(self, table: pa.Table, dataset: str, day: date) -> str:
        """Write ``table`` as the whole partition ``day`` of ``dataset`` (replacing any previous one)."""
        tmp = self.stage_table(table)
        try:
            return self.publish(tmp, dataset, day)
        finally:
            tmp.unlink(missing_ok=True)

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Replace the file ``rel`` with ``data`` atomically (small state files, the governance ledger)."""
        with self.temp_path(".part") as tmp:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            return self.publish_file(tmp, rel)

    def remove(self, rel: str) -> None:
        self.store.remove(rel)
