"""Per-day values a run recalls: the figures of the days before its own (every run), and of its own day
(the refresh, which reads it again every interval).

`unchanged.per_day` keeps a value per day with the fingerprint of what it was computed from (the
code, the settings, the files of the day's folder). These tests count the computations it asks for.
"""

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import unchanged

DAY = date(2026, 10, 20)
WEEK = [DAY - timedelta(days=n) for n in range(6, -1, -1)]


def context(refresh: bool, days: list[date] = (DAY,)) -> SimpleNamespace:
    tags = {unchanged.SKIP_TAG: "true"} if refresh else {}
    return SimpleNamespace(run=SimpleNamespace(tags=tags), partition_keys=[day.isoformat() for day in days])


def folder(day: date) -> str:
    return f"raw/docusign/audit_events/dt={day.isoformat()}"


class Counting:
    """A compute that reads how many files each day's folder holds, and records the ranges asked."""

    def __init__(self, root: Path):
        self.root, self.asked = root, []

    def __call__(self, first: date, end: date) -> dict[date, list[int]]:
        self.asked.append((first, end))
        values = {}
        day = first
        while day < end:
            files = list((self.root / folder(day)).glob("*.parquet"))
            if files:  # a day without files has no value, as a day without events has no figures
                values[day] = [len(files)]
            day += timedelta(days=1)
        return values


@pytest.fixture
def lake(tmp_path):
    for n, day in enumerate(WEEK[1:]):  # the week's first day has no files
        (tmp_path / folder(day)).mkdir(parents=True)
        (tmp_path / folder(day) / "part-1.parquet").write_bytes(b"x" * (n + 1))
    return Lake.at(str(tmp_path), None)


def per_day(lake: Lake, compute: Counting, refresh: bool = True, days=WEEK, run_days=(DAY,)) -> dict:
    return unchanged.per_day(context(refresh, run_days), lake, "figures", days, folder, compute)


def expected(lake: Lake) -> dict:
    return {day: ([len(list((lake.local_dir / folder(day)).glob("*.parquet")))] if day != WEEK[0] else None)
            for day in WEEK}


def test_a_run_that_is_not_a_refresh_computes_its_own_day_and_recalls_the_days_before_it(lake):
    compute = Counting(lake.local_dir)
    # The first run has nothing recorded: the week in one call.
    assert per_day(lake, compute, refresh=False) == expected(lake)
    assert compute.asked == [(WEEK[0], DAY + timedelta(days=1))]
    # The same day's run again: its own day is computed again, unchanged as it is; the days before recalled.
    assert per_day(lake, compute, refresh=False) == expected(lake)
    assert compute.asked[1:] == [(DAY, DAY + timedelta(days=1))]
    # The next day's scheduled run: the six days before it that the runs before computed are recalled.
    following = DAY + timedelta(days=1)
    (lake.local_dir / folder(following)).mkdir(parents=True)
    (lake.local_dir / folder(following) / "part-1.parquet").write_bytes(b"next")
    week = [d + timedelta(days=1) for d in WEEK]
    found = per_day(lake, compute, refresh=False, days=week, run_days=(following,))
    assert found == {**{d: v for d, v in expected(lake).items() if d in week}, following: [1]}
    assert compute.asked[2:] == [(following, following + timedelta(days=1))]


def test_a_backfill_computes_every_day_it_is_run_for_and_recalls_only_the_days_before(lake):
    compute = Counting(lake.local_dir)
    per_day(lake, compute, refresh=False)
    # A range run of the week's last three days: those three, in one call, though their records match.
    assert per_day(lake, compute, refresh=False, run_days=WEEK[4:]) == expected(lake)
    assert compute.asked[1:] == [(WEEK[4], DAY + timedelta(days=1))]
    # A day before the range whose files changed since (late events) is computed again too.
    (lake.local_dir / folder(WEEK[2]) / "part-2.parquet").write_bytes(b"late")
    assert per_day(lake, compute, refresh=False, run_days=WEEK[4:]) == expected(lake)
    assert compute.asked[2:] == [(WEEK[2], WEEK[3]), (WEEK[4], DAY + timedelta(days=1))]


def test_a_refresh_recalls_the_days_whose_files_did_not_change_and_reads_the_others_again(lake):
    compute = Counting(lake.local_dir)
    assert per_day(lake, compute) == expected(lake)
    assert compute.asked == [(WEEK[0], DAY + timedelta(days=1))]
    # Nothing changed: every day recalled, the day without files (None) too.
    assert per_day(lake, compute) == expected(lake)
    assert len(compute.asked) == 1
    # A file added to one day (late events) and one rewritten in another: those two days, each alone.
    (lake.local_dir / folder(WEEK[2]) / "part-2.parquet").write_bytes(b"late")
    (lake.local_dir / folder(DAY) / "part-1.parquet").write_bytes(b"rewritten, longer")
    assert per_day(lake, compute) == expected(lake)
    assert compute.asked[1:] == [(WEEK[2], WEEK[3]), (DAY, DAY + timedelta(days=1))]


def test_a_changed_setting_reads_every_day_again(lake, monkeypatch):
    compute = Counting(lake.local_dir)
    per_day(lake, compute)
    monkeypatch.setenv("DSASSETS_SOME_SETTING", "changed")
    assert per_day(lake, compute) == expected(lake)
    assert compute.asked[1:] == [(WEEK[0], DAY + timedelta(days=1))]


def test_an_unreadable_record_is_computed_again_and_records_before_the_days_asked_go(lake):
    compute = Counting(lake.local_dir)
    per_day(lake, compute)
    records = lake.local_dir / ".unchanged" / "figures"
    assert sorted(p.stem for p in records.glob("*.json")) == [d.isoformat() for d in WEEK]
    (records / f"{WEEK[4].isoformat()}.json").write_text("{half a rec")
    assert per_day(lake, compute) == expected(lake)
    assert compute.asked[1:] == [(WEEK[4], WEEK[5])]
    # The next day's refresh: the week moves on by a day, and the record of the day it left goes.
    per_day(lake, compute, days=[d + timedelta(days=1) for d in WEEK])
    assert sorted(p.stem for p in records.glob("*.json"))[0] == WEEK[1].isoformat()
    assert compute.asked[2:] == [(DAY + timedelta(days=1), DAY + timedelta(days=2))]
