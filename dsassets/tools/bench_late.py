"""Late events, measured: day-by-day runs on the simulator with late ingestion switched on.

``python -m dsassets.tools.bench_late --days 14 --events-per-day 300`` runs, in one process
against a scratch lake and a scratch Dagster instance, what the daemon would run: the
00:20 ``daily_pipeline`` schedule for each day (the simulator's clock at that moment), then
the ``late_events_sensor`` and the re-check runs it asks for. The simulator ingests
``--late-share`` of events 1.5-4.5 hours late and holds every true brute force until 1-3
hours into the next day. It prints, as ``name value`` lines:

- events served (unique ids the simulator holds for the days) vs stored, duplicates, missing;
- late events (stored in a day after its run) and the days re-checked by the sensor;
- per late planted brute force: when Monitor ingested its last event, when its alert row
  first existed (the simulated time of the run that wrote it), and the latency between.

``--stream-only`` measures the live reads alone (no Dagster; fast enough for weeks of days),
as 00:20 runs (``--modes daily``) or 15-minute refreshes (``--modes refresh``).
``--refresh-latency`` runs the first day's 00:20 run, then one intra-day refresh at the first
interval after the late incident's last event arrived, the sensor and its re-check.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta

POLICY = "multiple_failed_logins"
ALERTS = "pol_failed_signin_burst"


def _at(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 20), UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsassets.tools.bench_late", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--events-per-day", type=int, default=300)
    parser.add_argument("--late-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2026, 10, 14))
    parser.add_argument("--stream-only", action="store_true",
                        help="only the live reads (no Dagster): day by day at 00:20 and every 15 minutes")
    parser.add_argument("--refresh-latency", action="store_true",
                        help="instead of daily runs only: the first day's 00:20 run, then the intra-day refresh "
                        "at the first interval after the late incident's last event arrived, the sensor and its re-check")
    parser.add_argument("--modes", default="daily,refresh", help="with --stream-only: daily, refresh or both")
    args = parser.parse_args(argv)
    if args.stream_only:
        return stream_only(args)
    data = tempfile.mkdtemp(prefix="dsassets-late-")
    os.environ.update({
        "DSASSETS_DATA_DIR": data, "DSASSETS_SIMULATOR_SEED": str(args.seed),
        "DSASSETS_SIMULATOR_EVENTS_PER_DAY": str(args.events_per_day),
        "DSASSETS_SIMULATOR_LATE_SHARE": str(args.late_share), "DSASSETS_SIMULATOR_LATE_POLICIES": POLICY,
    })
    for name in [n for n in os.environ if n.startswith(("DOCUSIGN_", "ENTRA_"))]:
        del os.environ[name]

    import dagster as dg
    import duckdb

    from dsassets.definitions import defs
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.raw_events import DATASET
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig
    sim = DocuSignSimulator(SimulatorConfig(seed=args.seed, events_per_day=args.events_per_day,
                                            late_share=args.late_share, late_policies=(POLICY,)))
    days = [args.first_day + timedelta(days=i) for i in range(args.days)]
    truths = [t for t in sim.ground_truth(days[0], days[-1] + timedelta(days=1))
              if t["policy"] == POLICY and not t["is_decoy"]]
    definitions = defs()
    repo = definitions.get_repository_def()
    job = definitions.resolve_job_def("daily_pipeline")
    lake = Lake.at(data)
    alerted_at: dict[str, datetime] = {}
    rechecked: set[str] = set()
    recheck_runs = 0

    def note_alerts(now: datetime) -> None:
        glob = f"{data}/warehouse/{ALERTS}/dt=*/*.parquet"
        if not lake.files(f"warehouse/{ALERTS}/dt=*/*.parquet"):
            return
        ids = {e for (row,) in duckdb.sql(f"select event_ids from read_parquet('{glob}')").fetchall() for e in row}
        for t in truths:
            if t["incident_id"] not in alerted_at and ids & set(t["event_ids"]):
                alerted_at[t["incident_id"]] = now

    # A local instance with a reference on disk: schedule contexts open it as the daemon does.
    with dg.DagsterInstance.local_temp(tempfile.mkdtemp(prefix="dsassets-late-instance-")) as instance:
        cursor = None
        moments = [(_at(day), "daily_pipeline_schedule") for day in [*days, days[-1] + timedelta(days=1)]]
        if args.refresh_latency:
            arrived = _arrival(sim, truths[0])
            tick_at = arrived.replace(minute=arrived.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=15)
            moments = [(_at(days[0]), "daily_pipeline_schedule"), (tick_at, "intraday_refresh_schedule")]
        for now, schedule in moments:
            day = now.date()
            os.environ["DSASSETS_SIMULATOR_NOW"] = now.isoformat()
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=now,
                                           repository_def=repo) as context:
                request = repo.get_schedule_def(schedule).evaluate_tick(context).run_requests[0]
            definitions.resolve_job_def(repo.get_schedule_def(schedule).job_name).execute_in_process(
                instance=instance, partition_key=request.partition_key, run_config=request.run_config,
                asset_selection=request.asset_selection, tags=request.tags)
            note_alerts(now)
            with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor) as context:
                tick = repo.get_sensor_def("late_events_sensor").evaluate_tick(context)
            cursor = tick.cursor or cursor
            for rerun in tick.run_requests:
                rechecked.add(rerun.partition_key)
                recheck_runs += 1
                job.execute_in_process(instance=instance, partition_key=rerun.partition_key,
                                       asset_selection=rerun.asset_selection, tags=rerun.tags)
            note_alerts(now)
            print(f"# {now}: {schedule}, {len(tick.run_requests)} re-check run(s)", file=sys.stderr, flush=True)

        served = stored = duplicates = missing = late = 0
        from dsassets.lib.lake.live_stream import day_lateness
        for day in days:
            want = {e["eventId"] for e in sim.events(day)}
            files = [lake.partition_file(DATASET, day, n) for n in lake.list_files(DATASET, day)]
            have = [r[0] for r in duckdb.sql(f"select eventId from read_parquet({files!r})").fetchall()] if files else []
            served += len(want)
            stored += len(have)
            duplicates += len(have) - len(set(have))
            missing += len(want - set(have))
            late += day_lateness(lake, day).late_events
        print(f"days {len(days)}")
        print(f"events_served {served}")
        print(f"events_stored {stored}")
        print(f"events_duplicated {duplicates}")
        print(f"events_missing {missing}")
        print(f"late_events {late}")
        print(f"days_rechecked {len(rechecked)} ({recheck_runs} runs)")
        for t in truths:
            arrived = _arrival(sim, t)
            got = alerted_at.get(t["incident_id"])
            latency = f"{(got - arrived).total_seconds() / 3600:.1f}h" if got else "not alerted"
            print(f"late_incident {t['ended_at']:%Y-%m-%d %H:%M} arrived {arrived:%Y-%m-%d %H:%M} "
                  f"alerted {got:%Y-%m-%d %H:%M} latency {latency}" if got else
                  f"late_incident {t['ended_at']:%Y-%m-%d %H:%M} arrived {arrived:%Y-%m-%d %H:%M} not alerted")
    return 0


def stream_only(args) -> int:
    """The live reads alone, as the 00:20 runs and as 15-minute refreshes: served vs stored."""
    import duckdb

    from dsassets.lib.clients.docusign import DocuSignClient
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.live_stream import advance_stream, day_lateness
    from dsassets.lib.lake.raw_events import DATASET
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    clock = [datetime.combine(args.first_day, time(), UTC)]
    sim = DocuSignSimulator(SimulatorConfig(seed=args.seed, events_per_day=args.events_per_day,
                                            late_share=args.late_share, late_policies=(POLICY,)),
                            now=lambda: clock[0])
    days = [args.first_day + timedelta(days=i) for i in range(args.days)]

    def read(lake, day):
        start = datetime.combine(day, time(), UTC)
        with DocuSignClient(sim.docusign_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
            return advance_stream(lake, lambda cursor: client.audit_events(start, None, cursor=cursor), day=day,
                                  source="simulator", extracted_at=clock[0],
                                  complete_at=start + timedelta(days=1, minutes=15))

    for mode in args.modes.split(","):
        lake = Lake.at(tempfile.mkdtemp(prefix=f"dsassets-late-{mode}-"))
        reads = 0
        if mode == "daily":
            for day in [*days, days[-1] + timedelta(days=1)]:
                clock[0] = _at(day)
                read(lake, day)
                reads += 1
        else:
            clock[0] = datetime.combine(days[0], time(0, 15), UTC)
            while clock[0] <= _at(days[-1] + timedelta(days=1)):
                read(lake, clock[0].date())
                reads += 1
                if clock[0].time() == time(0, 15) and clock[0].date() > days[0]:
                    clock[0] += timedelta(minutes=5)
                    read(lake, clock[0].date() - timedelta(days=1))  # the 00:20 run
                    reads += 1
                    clock[0] -= timedelta(minutes=5)
                clock[0] += timedelta(minutes=15)
        served = stored = duplicates = missing = late = late_days = 0
        worst = 0.0
        for day in days:
            want = {e["eventId"] for e in sim.events(day)}
            files = [lake.partition_file(DATASET, day, n) for n in lake.list_files(DATASET, day)]
            have = [r[0] for r in duckdb.sql(f"select eventId from read_parquet({files!r})").fetchall()]
            served, stored = served + len(want), stored + len(have)
            duplicates += len(have) - len(set(have))
            missing += len(want - set(have))
            lateness = day_lateness(lake, day)
            late += lateness.late_events
            late_days += lateness.late_events > 0
            worst = max(worst, lateness.max_delay_s)
        print(f"{mode}_reads {reads}")
        print(f"{mode}_events_served {served}")
        print(f"{mode}_events_stored {stored}")
        print(f"{mode}_events_duplicated {duplicates}")
        print(f"{mode}_events_missing {missing}")
        print(f"{mode}_late_events {late} on {late_days} of {len(days)} days")
        print(f"{mode}_max_ingestion_delay_hours {worst / 3600:.2f}", flush=True)
    return 0


def _arrival(sim, truth: dict) -> datetime:
    """When Monitor ingested the incident's last event."""
    from dsassets.simulator.ids import to_datetime

    batch = sim.store.day(truth["ended_at"].date().toordinal())
    return max(to_datetime(int(x)) for x in (batch.cols["ts"] + batch.cols["lag"])[
        _rows(batch, truth["event_ids"], sim)])


def _rows(batch, event_ids: list[str], sim) -> list[int]:
    from dsassets.simulator.events import event_ids as ids_of
    import numpy as np

    ids = ids_of(sim.world.seed, np.full(len(batch), batch.day), batch.cols["idkey"])
    wanted = set(event_ids)
    return [i for i, e in enumerate(ids) if e in wanted]


if __name__ == "__main__":
    raise SystemExit(main())
