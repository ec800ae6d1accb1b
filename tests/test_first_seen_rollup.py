"""The learning period's first-seen days read ended months from rollups, and give what every day gives.

``detection_first_seen`` decides who is still learning (no alert) for the two location policies and
multiple failed sign-ins. If a rollup held a day after the window, a user first seen tomorrow would
count as known today; if a late or re-materialized day did not reach its month's rollup, a user
would stay "new" (or "known") against the lake. The lake here is shaped unlike the simulator's:
three months with gaps, null users, a day of two files, and days after the window.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest

from dsassets.lib.detections import engine, first_seen
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import history, rollups, sql
from dsassets.lib.transform.unchanged import NOT_LAKE_INPUTS

MODEL = sql.model_path(first_seen.MODEL)
FIRST, LAST = date(2026, 9, 3), date(2026, 11, 20)


def _write(lake: Lake, day: date, users: list[str | None], name: str = "data.parquet") -> None:
    table = pa.table({"user_id": pa.array(users, pa.string()), "event_count": pa.array([1] * len(users), pa.int64())})
    tmp = lake.stage_table(table)
    lake.publish_file(tmp, f"{MODEL}/dt={day.isoformat()}/{name}")


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake.at(tmp_path)
    day = FIRST
    while day <= LAST:
        n = (day - FIRST).days
        if n % 9 != 4:  # days without activity, as a lake has
            # user k first acts on day 3k; a few act every day; one row without a user
            _write(lake, day, [f"u{k}" for k in range(0, n // 3 + 1, 2)] + ["everyday", None])
        day += timedelta(days=1)
    _write(lake, date(2026, 10, 7), ["second-file-user"], "part-1.parquet")
    return lake


def _first_seen(lake: Lake, start: date, *, rolled: bool) -> set[tuple]:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create temp view {first_seen.MODEL} as select * from "
                    f"{sql.scan_output(lake, first_seen.MODEL)}")
        sql.set_window(con, start, start + timedelta(days=1))
        if rolled:
            first_seen.bind(con, lake, start)
        else:
            first_seen.install_empty(con)
        return set(con.execute(engine._query("detection_first_seen")).fetchall())


def _rollups(lake: Lake) -> dict[str, list[str]]:
    root = lake.local_dir / first_seen.FOLDER
    return {m.name: sorted(p.name for p in m.glob("*.parquet")) for m in sorted(root.iterdir())} if root.exists() else {}


@pytest.mark.parametrize("start", [date(2026, 9, 10), date(2026, 10, 1), date(2026, 10, 19), date(2026, 11, 14)])
def test_rolled_up_months_give_the_first_days_every_day_gives(lake, start):
    rows = _first_seen(lake, start, rolled=True)
    assert rows == _first_seen(lake, start, rolled=False)
    # nobody first seen after the window: the days after it are in the lake, and in its month
    assert max(r[1] for r in rows) <= start and {r[2] for r in rows} == {FIRST}
    months_before = {d.strftime("%Y-%m") for d in (date(2026, 9, 1), date(2026, 10, 1)) if d < start.replace(day=1)}
    assert set(_rollups(lake)) == months_before


def test_a_month_is_rolled_up_once_while_its_days_stay_the_same(lake):
    start = date(2026, 11, 14)
    _first_seen(lake, start, rolled=True)
    # a rewrite publishes a new file (os.replace); a run that reuses one only touches it
    made = {p: p.stat().st_ino for p in (lake.local_dir / first_seen.FOLDER).rglob("*.parquet")}
    assert len(made) == 2
    _first_seen(lake, start + timedelta(days=1), rolled=True)
    assert {p: p.stat().st_ino for p in (lake.local_dir / first_seen.FOLDER).rglob("*.parquet")} == made


def test_a_late_day_in_a_rolled_up_month_reaches_the_next_run_and_the_replaced_rollup_goes_later(lake):
    start = date(2026, 11, 14)
    before = _first_seen(lake, start, rolled=True)
    old, october = _rollups(lake)["2026-09"], _rollups(lake)["2026-10"]
    # a September day re-materialized in place (same file name) with late events: a new user, and
    # one first seen in October acting earlier
    _write(lake, date(2026, 9, 20), ["u0", "u2", "u4", "everyday", None, "late-user", "u20"])
    after = _first_seen(lake, start, rolled=True)
    assert after == _first_seen(lake, start, rolled=False) != before
    assert ("late-user", date(2026, 9, 20), FIRST) in after
    assert [r[1] for r in after if r[0] == "u20"] == [date(2026, 9, 20)]
    assert _rollups(lake)["2026-10"] == october  # its days did not change
    current = [p for p in _rollups(lake)["2026-09"] if p not in old]
    assert len(current) == 1 and set(_rollups(lake)["2026-09"]) == {*old, *current}  # a run may still read the old one
    # an hour after its last use, the old rollup is removed, and so is a killed run's scratch file;
    # the current one, as old, stays: the run uses it
    folder = lake.local_dir / first_seen.FOLDER / "2026-09"
    killed, running = folder / ".abc.1.2.tmp", folder / ".abc.3.4.tmp"
    killed.write_bytes(b"half a rollup")
    running.write_bytes(b"a rollup being written")
    aged = time.time() - rollups.KEEP_UNUSED_SECONDS - 60
    for path in (*(folder / name for name in old), folder / current[0], killed):
        os.utime(path, (aged, aged))
    assert _first_seen(lake, start, rolled=True) == after
    assert sorted(p.name for p in folder.iterdir()) == sorted([*current, running.name])


def test_two_runs_rolling_up_the_same_months_at_once_leave_one_rollup_each(lake):
    start = date(2026, 11, 14)
    results, errors = [], []

    def run():
        try:
            results.append(_first_seen(lake, start, rolled=True))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results[0] == results[1] == results[2] == _first_seen(lake, start, rolled=False)
    root = lake.local_dir / first_seen.FOLDER
    assert {m.name: len(list(m.iterdir())) for m in root.iterdir()} == {"2026-09": 1, "2026-10": 1}  # no scratch left


def test_the_rollups_are_not_an_input_the_refresh_fingerprints():
    # the users marts' history rollups (dsassets.lib.transform.history) neither
    assert {first_seen.FOLDER, history.FOLDER} <= NOT_LAKE_INPUTS
