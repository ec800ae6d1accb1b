"""``dsassets bench --refresh --history-days N``: the refresh benchmark's lake gets N days of
directory history (the day's snapshots copied, their history models built), so the marts that
read every earlier day's snapshots are timed at the cost they have on a lake that has run."""

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from dsassets.tools import bench, bench_refresh
from support.standard_lake import END, START, standard_env

DAYS = 4  # two days the standard lake has (replaced) and two before it (new)


def _rows(data, sub, day):
    return bench._count_rows(str(data), sub, day)


@pytest.fixture(scope="module")
def history(standard_lake, tmp_path_factory):
    data = tmp_path_factory.mktemp("history") / "lake"
    shutil.copytree(standard_lake, data)
    events_before = {day: _rows(data, "raw/docusign/audit_events", day) for day in (START, END)}
    copied = bench_refresh.copy_history(str(data), END, DAYS)
    with pytest.MonkeyPatch.context() as patch:
        standard_env(patch, data, data / "dagster")
        bench_refresh.materialize_history(END - timedelta(days=DAYS), END - timedelta(days=1))
    return data, copied, events_before


def test_every_snapshot_dataset_but_the_events_is_copied_into_the_days_before(history):
    data, copied, events_before = history
    assert "docusign/memberships" in copied and "docusign/organization_users" in copied
    assert "idp/users" in copied and "docusign/audit_events" not in copied
    for dataset in copied:
        rows = _rows(data, f"raw/{dataset}", END)
        for k in range(1, DAYS + 1):
            assert _rows(data, f"raw/{dataset}", END - timedelta(days=k)) == rows, (dataset, k)
    # The events stay as extracted: the history is of the directory only.
    assert {day: _rows(data, "raw/docusign/audit_events", day) for day in (START, END)} == events_before
    assert not (data / "raw/docusign/audit_events" / f"dt={(END - timedelta(days=DAYS)).isoformat()}").exists()


def test_the_history_models_cover_every_copied_day(history):
    data, _, _ = history
    listed = _rows(data, "warehouse/int_membership_listings", END)
    assert listed > 0
    for k in range(1, DAYS + 1):
        day = END - timedelta(days=k)
        assert _rows(data, "warehouse/int_membership_listings", day) == listed
        # Each copied day lists who the day before listed: no one is new after the first copy.
        changes = _rows(data, "warehouse/int_user_directory_changes", day)
        assert changes == 0 if k < DAYS else changes > 0


def test_history_days_is_refused_without_the_refresh_benchmark(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--history-days", "3"])
    assert "--refresh" in capsys.readouterr().err


@pytest.mark.parametrize(("history_days", "found_at"), [(0, 3), (30, 3), (30, 1)])
def test_the_history_is_added_once_right_after_the_first_refresh(monkeypatch, history_days, found_at):

    calls = []
    incident = {"started_at": datetime(2026, 11, 20, 12, 13, tzinfo=UTC),
                "ended_at": datetime(2026, 11, 20, 12, 20, tzinfo=UTC),
                "incident_id": "i", "policy": "suspicious_ip"}
    monkeypatch.setattr(bench_refresh, "incident", lambda day, events: incident)

    def tick(data_dir, env, day, truth, at, counted, label, events_per_day, target=None):
        calls.append(("tick", at.strftime("%H:%M")))
        # the alert row appears at refresh number found_at, and stays
        found = len([c for c in calls if c[0] == "tick"]) >= found_at
        return 10.0, counted, (incident["ended_at"] if found else None)

    monkeypatch.setattr(bench_refresh, "_tick", tick)
    monkeypatch.setattr(bench_refresh, "add_history",
                        lambda data_dir, env, day, days: calls.append(("history", days)) or True)
    assert bench_refresh.main("lake", {}, END, 1000, 15, history_days) == 0
    ticks = [("tick", t) for t in ("12:00", "12:15", "12:30")[:found_at] + ("23:30", "23:45", "23:45")]
    assert calls == ([ticks[0], ("history", 30), *ticks[1:]] if history_days else ticks)
