"""Late-arriving audit events: stored once in their own day, counted, and their day re-checked.

The simulator's late ingestion is switched on (a share of events ingested 1.5-4.5 hours
late, and one planted brute force ingested only after its day's run); the pipeline reads
the stream day by day as the 00:20 schedule does, and every 15 minutes as the refresh does.
"""

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow.parquet as pq
import pytest

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.live_stream import advance_stream, day_lateness, load_position
from dsassets.lib.lake.raw_events import DATASET
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.simulator.ids import to_ticks

FIRST = date(2026, 10, 20)
LAG = timedelta(minutes=15)
LATE = SimulatorConfig(seed=5, events_per_day=300, late_share=0.02, late_policies=("multiple_failed_logins",))


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def read(lake: Lake, sim: DocuSignSimulator, day: date):
    """One live read for ``day``'s partition at the simulator's present, as the asset does it."""
    with DocuSignClient(sim.docusign_settings(monitor_page_limit=250), transport=sim.transport(),
                        sleep=lambda s: None) as client:
        return advance_stream(lake, lambda cursor: client.audit_events(start_of(day), None, cursor=cursor),
                              day=day, source="simulator", extracted_at=sim.now(),
                              complete_at=start_of(day + timedelta(days=1)) + LAG)


def stored(lake: Lake, day: date) -> list[str]:
    names = lake.list_files(DATASET, day)
    if not names:
        return []
    table = pq.read_table([lake.partition_file(DATASET, day, n) for n in names], columns=["eventId", "_event_time"])
    times = table.column("_event_time").to_pylist()
    assert all(start_of(day) <= t < start_of(day + timedelta(days=1)) for t in times), "an event in another day"
    return table.column("eventId").to_pylist()


def late_truth(sim: DocuSignSimulator, day: date, closed_at: datetime) -> int:
    """Events of ``day`` Monitor ingested after ``closed_at`` (when the day's run read the stream)."""
    batch = sim.store.day(day.toordinal())
    return int(((batch.cols["ts"] + batch.cols["lag"]) > to_ticks(closed_at)).sum())


def test_day_by_day_runs_store_every_event_once_in_its_day_and_count_the_late_ones(tmp_path):
    clock = Clock(start_of(FIRST))
    sim = DocuSignSimulator(LATE, now=clock)
    lake = Lake.at(tmp_path / "lake")
    days = [FIRST + timedelta(days=i) for i in range(5)]
    late_seen: dict[date, int] = {}
    for day in days:
        clock.at = start_of(day + timedelta(days=1)) + timedelta(minutes=20)  # the 00:20 schedule
        done = read(lake, sim, day)
        assert done.complete and done.published == "data.parquet"
        for late_day, added in done.late_days.items():
            late_seen[late_day] = late_seen.get(late_day, 0) + added.added
            assert added.max_delay_s > 0
    # One more read a day later brings the last day's late events in.
    clock.at += timedelta(days=1)
    done = read(lake, sim, days[-1] + timedelta(days=1))
    for late_day, added in done.late_days.items():
        late_seen[late_day] = late_seen.get(late_day, 0) + added.added
    for day in days:
        ids = stored(lake, day)
        assert len(ids) == len(set(ids)), f"{day}: an event stored twice"
        assert sorted(ids) == sorted(e["eventId"] for e in sim.events(day)), f"{day}: events missing"
        closed = start_of(day + timedelta(days=1)) + timedelta(minutes=20)
        assert late_seen.get(day, 0) == late_truth(sim, day, closed) == day_lateness(lake, day).late_events
    assert sum(late_seen.values()) > 0
    # The planted brute force ended in its day's evening and was ingested after the day's run: late.
    truth = next(t for t in sim.ground_truth(days[0], days[-1]) if t["policy"] == "multiple_failed_logins"
                 and not t["is_decoy"])
    lateness = day_lateness(lake, truth["ended_at"].date())
    assert lateness.late_events >= len(truth["event_ids"])
    # The measured delay is a lower bound from stream order: never above the true one, and
    # within an hour of it even on this small organisation's quiet night-time stream.
    batch = sim.store.day(truth["ended_at"].date().toordinal())
    true_max = float(batch.cols["lag"].max()) / 10**7
    assert true_max - 3600 <= lateness.max_delay_s <= true_max


def test_refreshes_every_15_minutes_store_every_event_once_and_late_ones_reach_their_closed_day(tmp_path):
    clock = Clock(start_of(FIRST))
    sim = DocuSignSimulator(LATE, now=clock)
    lake = Lake.at(tmp_path / "lake")
    next_day = FIRST + timedelta(days=1)
    at, end = start_of(FIRST) + timedelta(hours=20), start_of(next_day) + timedelta(hours=5)
    late = 0
    while at <= end:
        clock.at = at
        done = read(lake, sim, at.date())
        if at == start_of(next_day) + timedelta(minutes=15):
            # Yesterday's 00:20 run closes it after the new day's first refresh.
            clock.at = at + timedelta(minutes=5)
            assert read(lake, sim, FIRST).complete
        late += sum(a.added for a in done.late_days.values())
        at += timedelta(minutes=15)
    ids = stored(lake, FIRST)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(e["eventId"] for e in sim.events(FIRST))
    closed = start_of(next_day) + timedelta(minutes=20)
    assert late == late_truth(sim, FIRST, closed) == day_lateness(lake, FIRST).late_events > 0
    # The new day so far: what Monitor had ingested by then, each once.
    ingested = sim.store.day(next_day.toordinal())
    so_far = int(((ingested.cols["ts"] + ingested.cols["lag"]) <= to_ticks(end)).sum())
    assert len(set(stored(lake, next_day))) == len(stored(lake, next_day)) == so_far
    assert load_position(lake).cursor


def test_without_late_ingestion_the_simulator_is_unchanged():
    plain = DocuSignSimulator(SimulatorConfig(seed=5, events_per_day=300))
    late = DocuSignSimulator(LATE)
    assert [e["eventId"] for e in plain.events(FIRST)] == [e["eventId"] for e in late.events(FIRST)]
    lags = plain.store.day(FIRST.toordinal()).cols["lag"]
    assert np.all(lags < 300 * 10**7)
    late_lags = late.store.day(FIRST.toordinal()).cols["lag"]
    assert np.count_nonzero(late_lags != lags) > 0


def test_a_backfill_of_a_day_keeps_its_late_arrivals_and_leaves_the_live_cursor(tmp_path):
    from dsassets.lib.lake.raw_events import write_event_partitions

    clock = Clock(start_of(FIRST + timedelta(days=1)) + timedelta(minutes=20))
    sim = DocuSignSimulator(LATE, now=clock)
    lake = Lake.at(tmp_path / "lake")
    read(lake, sim, FIRST)
    clock.at += timedelta(days=1)
    read(lake, sim, FIRST + timedelta(days=1))  # brings FIRST's late events
    assert any(n.startswith("late-") for n in lake.list_files(DATASET, FIRST))
    live = load_position(lake)
    # A whole read stops a page past the day's end plus the lag: the late events are not in it.
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
        end = start_of(FIRST + timedelta(days=1))
        write_event_partitions(lake, client.audit_events(start_of(FIRST), end), start=start_of(FIRST), end=end,
                               source="simulator", extracted_at=sim.now())
    assert lake.list_files(DATASET, FIRST) == ["data.parquet"]
    ids = stored(lake, FIRST)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(e["eventId"] for e in sim.events(FIRST))
    assert load_position(lake) == live


def test_the_sensor_asks_for_the_late_day_and_the_later_days_whose_lookback_read_it():
    import dagster as dg

    from dsassets.definitions import defs

    repo = defs().get_repository_def()
    late_day, next_day, far_day = "2026-10-20", "2026-10-21", "2026-11-25"
    keys = ["stg_docusign__audit_events", "activities", "det_baseline_signin_sessions", "det_multiple_failed_logins",
            "pol_failed_signin_burst"]
    with dg.instance_for_test() as instance:
        def materialize(key: str, partition: str, **metadata) -> None:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition, metadata=metadata))

        # Both days ran; then late events reached the first; then the second day's staging ran again.
        for day in (late_day, next_day, far_day):
            for key in keys:
                materialize(key, day)
        materialize(DATASET, late_day, late=True)
        materialize("stg_docusign__audit_events", next_day)

        def tick(cursor=None):
            with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor) as context:
                return repo.get_sensor_def("late_events_sensor").evaluate_tick(context)

        first = tick()
        requested = {r.partition_key: {k.to_user_string() for k in r.asset_selection} for r in first.run_requests}
        assert set(keys) <= requested[late_day]
        assert not any(name.startswith("raw_") for names in requested.values() for name in names)
        # The next day: what reads the late day through its lookback (the brute-force baseline)
        # and ran before the late events; not its own staging (same day only, and re-run since).
        assert "det_multiple_failed_logins" in requested[next_day]
        assert "stg_docusign__audit_events" not in requested[next_day]
        # The late day's own baseline (what every later day's detections read of it), not the next day's.
        assert "det_baseline_signin_sessions" in requested[late_day]
        assert "det_baseline_signin_sessions" not in requested[next_day]
        # A day after the lookback: the detection still, as its learning period reads every earlier
        # day (first seen); the day's own staging and marts not.
        assert requested[far_day] == {"det_multiple_failed_logins", "pol_failed_signin_burst"}
        # Every run says which late day it re-checks, the later days' runs too.
        assert {r.partition_key: r.tags["dsassets/late_days"] for r in first.run_requests} == {
            day: late_day for day in requested}
        # Each late materialization is handled once.
        assert not tick(first.cursor).run_requests


def test_the_late_bound_is_a_setting_and_a_bad_one_is_named():
    from dsassets.lib.config.settings import ConfigError, late_event_hours

    assert late_event_hours({}) == 6.0
    assert late_event_hours({"DSASSETS_LATE_EVENT_HOURS": "1.5"}) == 1.5
    for bad in ("soon", "0"):
        with pytest.raises(ConfigError, match=f"DSASSETS_LATE_EVENT_HOURS={bad!r}"):
            late_event_hours({"DSASSETS_LATE_EVENT_HOURS": bad})
