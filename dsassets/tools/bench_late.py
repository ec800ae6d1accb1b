"""Late events, measured: day-by-day runs on the simulator with late ingestion switched on.

``python -m dsassets.tools.bench_late --days 14 --events-per-day 300`` runs, in one process
against a scratch lake and a scratch Dagster instance, what the daemon would run: the
00:20 ``daily_pipeline`` schedule for each day (the simulator's clock at that moment), then
the ``late_events_sensor`` and the re-check runs it asks for. The simulator ingests
``--late-share`` of events 1.5-4.5 hours late and holds every true brute force until 1-3
hours into the next day. It prints three tables:

- events served (distinct ids the simulator holds for the days) vs stored, duplicates,
  missing, stored in another day, late events, the days with late events and those re-checked;
- every re-check run the sensor asked for: at which tick, for which day, and why (the late
  days whose events it re-checks);
- per late planted brute force: when Monitor ingested its last event, the alerts holding its
  events (policy, day, ``late``), the run that first stored one (in simulated time) and the
  latency from the arrival to that run.

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

POLICY = "multiple_failed_logins"  # the planted incidents the simulator holds past their day


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

    from dsassets.defs.late_events.sensor import LATE_DAYS_TAG
    from dsassets.definitions import defs
    from dsassets.tools.schedule_tick import run_schedule_tick
    from dsassets.lib.lake.lake import Lake
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig
    from dsassets.tools.late_measure import Stored, arrival, raised_by, table
    sim = DocuSignSimulator(SimulatorConfig(seed=args.seed, events_per_day=args.events_per_day,
                                            late_share=args.late_share, late_policies=(POLICY,)))
    days = [args.first_day + timedelta(days=i) for i in range(args.days)]
    truths = [t for t in sim.ground_truth(days[0], days[-1] + timedelta(days=1))
              if t["policy"] == POLICY and not t["is_decoy"]]
    definitions = defs()
    repo = definitions.get_repository_def()
    job = definitions.resolve_job_def("daily_pipeline")
    lake = Lake.at(data)
    first_alert: dict[str, tuple[datetime, str]] = {}  # incident -> the run that first stored its alert
    rechecks: list[tuple] = []  # (tick, re-checked day, late days behind it, assets)
    runs = 0

    def note_alerts(now: datetime, run: str) -> None:
        for t in truths:
            if t["incident_id"] not in first_alert and raised_by(lake, t["event_ids"]):
                first_alert[t["incident_id"]] = (now, run)

    # A local instance with a reference on disk: schedule contexts open it as the daemon does.
    with dg.DagsterInstance.local_temp(tempfile.mkdtemp(prefix="dsassets-late-instance-")) as instance:
        cursor = None
        moments = [(_at(day), "daily_pipeline_schedule") for day in [*days, days[-1] + timedelta(days=1)]]
        if args.refresh_latency:
            # The first late incident only: its day's 00:20 run, then the first refresh after it arrived.
            truths, arrived = truths[:1], arrival(sim, truths[0])
            days = [truths[0]["ended_at"].date()]
            tick_at = arrived.replace(minute=arrived.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=15)
            moments = [(_at(days[0]), "daily_pipeline_schedule"), (tick_at, "intraday_refresh_schedule")]
        for now, schedule in moments:
            os.environ["DSASSETS_SIMULATOR_NOW"] = now.isoformat()
            request, _ = run_schedule_tick(definitions, instance, schedule, now)
            runs += 1
            note_alerts(now, f"{schedule} {request.partition_key}")
            # The sensor as the daemon evaluates it, on the same instance, right after the run.
            with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor) as context:
                tick = repo.get_sensor_def("late_events_sensor").evaluate_tick(context)
            cursor = tick.cursor or cursor
            for rerun in tick.run_requests:
                rechecks.append((now, rerun.partition_key, rerun.tags[LATE_DAYS_TAG], len(rerun.asset_selection)))
                job.execute_in_process(instance=instance, partition_key=rerun.partition_key,
                                       asset_selection=rerun.asset_selection, tags=rerun.tags)
                runs += 1
                note_alerts(now, f"re-check {rerun.partition_key}")
            # Progress over the days that can gain no more events (ran, and the next day too).
            done = Stored()
            for day in [d for d in days if d <= now.date() - timedelta(days=2)]:
                done.add_day(lake, sim, day)
            print(f"# {now}: {schedule}, {len(tick.run_requests)} re-check run(s); settled days: "
                  f"{done.served} served, {done.stored} stored, {done.duplicates} duplicated, {done.missing} missing, "
                  f"{done.wrong_day} in another day, {done.late} late; re-checked {sorted({r[1] for r in rechecks})}; "
                  f"first alerts {sorted(first_alert.values())}", file=sys.stderr, flush=True)

    # With --refresh-latency the incident's day is still receiving late events: nothing to count.
    if not args.refresh_latency:
        stored, late_days = Stored(), set()
        for day in days:
            before = stored.late
            stored.add_day(lake, sim, day)
            if stored.late > before:
                late_days.add(day.isoformat())
        rechecked = {r[1] for r in rechecks}
        print(table(["measure", "value"], [
            ("days run (00:20 schedule)", f"{len(days)} (+1 to bring the last day's late events)"),
            *stored.rows(),
            ("runs (schedule + re-check)", f"{runs} ({len(rechecks)} re-check)"),
            ("days with late events", len(late_days)),
            ("days re-checked", len(rechecked)),
            ("late days not re-checked", len(late_days - rechecked)),
        ]))
        print()
    print(table(["sensor tick (simulated)", "re-checked day", "because late events reached", "assets"],
                [(f"{t:%Y-%m-%d %H:%M}", d, why, n) for t, d, why, n in rechecks]))
    print()
    incidents = []
    for t in truths:
        arrived = arrival(sim, t)
        alerts = raised_by(lake, t["event_ids"])
        at, run = first_alert.get(t["incident_id"], (None, "never"))
        incidents.append((
            f"{t['ended_at']:%Y-%m-%d %H:%M}", f"{arrived:%Y-%m-%d %H:%M}",
            ", ".join(f"{a.policy}@{a.day}{' late' if a.late else ''}" for a in alerts) or "none",
            run, f"{(at - arrived).total_seconds() / 3600:.1f} h" if at else "-",
        ))
    print(table(["late incident ended", "last event ingested", "alerts (policy@day)", "first alerted by",
                 "latency"], incidents))
    return 0


def stream_only(args) -> int:
    """The live reads alone, as the 00:20 runs and as 15-minute refreshes: served vs stored."""
    from dsassets.lib.clients.docusign import DocuSignClient
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.live_stream import advance_stream
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig
    from dsassets.tools.late_measure import Stored, table

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
        stored = Stored()
        for day in days:
            stored.add_day(lake, sim, day)
        print(table(["measure", "value"], [(f"{mode} reads", reads), *stored.rows(f"{mode}: ")]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
