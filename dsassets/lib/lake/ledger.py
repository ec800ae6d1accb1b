"""Small append-only Parquet ledgers in the lake: governance actions, notifications, alert triage.

A ledger is one Parquet file (``<data_dir>/<folder>/<file>.parquet``), read whole, appended to in
memory and rewritten whole, published atomically (``Lake.write_bytes``), so a crash loses at most
the row in flight and never leaves half a file. Writers hold an exclusive ``flock`` on
``<local_dir>/<folder>/.lock`` from load to save, so two runs (or a run and the CLI) never
interleave. S3 has no lock to share, so with the lake on S3 that holds for one machine.
Parquet rather than a database of its own: the warehouse reads each ledger as a plain view.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.lake.lake import Lake


class ParquetLedger:
    """Rows of ``schema`` in ``<folder>/<file>``; ``key`` names the column whose latest row wins."""

    def __init__(self, lake: Lake, folder: str, file: str, schema: pa.Schema, key: str) -> None:
        self.lake = lake
        self.folder = folder
        self.path = f"{folder}/{file}"
        self.schema = schema
        self.key = key
        self.url = lake.url(self.path)
        self.rows: list[dict] = []

    def load(self):
        try:
            data = self.lake.read_bytes(self.path)
        except FileNotFoundError:
            self.rows = []
        else:
            self.rows = pq.read_table(pa.BufferReader(data)).to_pylist()
        return self

    def latest(self) -> dict[str, dict]:
        """The newest row per key (rows are in the order they were recorded)."""
        out: dict[str, dict] = {}
        for row in self.rows:
            out[row[self.key]] = row
        return out

    def append(self, row: dict) -> None:
        self.rows.append(row)

    def save(self) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(self.rows, schema=self.schema), sink, compression="zstd")
        self.lake.write_bytes(self.path, sink.getvalue().to_pybytes())

    def ensure_exists(self) -> None:
        """Write an empty ledger when there is none, so a view over it always has a file to read."""
        with self.locked():
            if not self.lake.exists(self.path):
                self.save()

    @contextmanager
    def locked(self) -> Iterator:
        """Exclusive for the whole run: load, act, save."""
        lock_dir = self.lake.local_dir / self.folder
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self.load()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class OutcomeReport:
    """What one run of a ledger-backed sender did: one outcome (with a ``status``) per item.

    Subclasses name their ``STATUSES`` (plus ``done``: already completed by an earlier run).
    """

    STATUSES: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.outcomes: list = []

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in (*self.STATUSES, "done")}
        for o in self.outcomes:
            out[o.status] += 1
        return out
