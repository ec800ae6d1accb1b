"""Rollups shared by runs of different days: one run's prune never removes what another is using.

The users marts' month-to-date rollups differ by day, so a backfill of an earlier day and the
intra-day refresh of today each use their own rollup of the same folder at the same time.
"""

import os
import time

import duckdb
import pyarrow.parquet as pq

from dsassets.lib.transform import rollups


def _write(value: int):
    return lambda target: f"copy (select {value} as x) to {target} (format parquet)"


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_rollup_in_use_survives_the_prune_of_a_run_whose_own_rollup_is_old(tmp_path):
    con = duckdb.connect()
    today = rollups.rollup(con, tmp_path, "today", _write(20))
    _age(today, rollups.KEEP_UNUSED_SECONDS + 600)  # the refresh has used the same rollup all day
    backfill = rollups.rollup(con, tmp_path, "day-5", _write(5))  # written just now by a backfill
    assert rollups.rollup(con, tmp_path, "today", _write(20)) == today  # the next refresh tick
    assert pq.read_table(backfill).column("x").to_pylist() == [5]
    # an old rollup that a run has just used again stays too
    _age(backfill, rollups.KEEP_UNUSED_SECONDS + 600)
    assert rollups.rollup(con, tmp_path, "day-5", _write(5)) == backfill
    rollups.rollup(con, tmp_path, "today", _write(20))
    assert backfill.exists()


def test_a_rollup_unused_for_an_hour_goes_at_the_next_run_and_a_younger_one_stays(tmp_path):
    con = duckdb.connect()
    gone = rollups.rollup(con, tmp_path, "replaced", _write(1))
    recent = rollups.rollup(con, tmp_path, "other-day", _write(2))
    _age(gone, rollups.KEEP_UNUSED_SECONDS + 60)
    _age(recent, rollups.KEEP_UNUSED_SECONDS - 600)
    kept = rollups.rollup(con, tmp_path, "current", _write(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.name, recent.name])
