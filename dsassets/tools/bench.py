"""Benchmark: wall time, events per second and peak memory per pipeline stage.

``dsassets bench --events-per-day 1000000 --days 1`` extracts the audit events through the
real client from pre-rendered pages on a loopback server (``dsassets.tools.bench_extract``:
the simulator renders them beforehand, so its work is not measured), takes the snapshots
from the embedded simulator and runs the models over it all. Each stage runs in its own
process so its peak RSS is its own, and beside each its floor, measured in the same run on
the same data: decoding the same Monitor pages with pyarrow.json for the extraction, a bare
DuckDB scan for the models and the detections (``dsassets.tools.bench_floors``). After the models:
the detections' per-user baselines (their own stage, over every day), one day's detections
with the history before it, and the detections over every day (a backfill).
``--backfills --days 30`` instead times the whole serial and parallel backfill
(``dsassets.tools.bench_backfill``). Numbers are printed, never asserted: targets belong here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from dsassets.console.instance import prepare_home
from dsassets.lib.config.settings import (DATA_DIR, DOCUSIGN_MONITOR_READERS, SIMULATOR_EVENTS_PER_DAY,
                                          SIMULATOR_SEED)
from dsassets.tools.bench_targets import TARGETS
from dsassets.tools.measure import count_events, run_child

STAGES = ("extract_events", "extract_snapshots", "models", "baselines", "detections_day", "detections")
FLOORS = {"models": "models_floor", "baselines": "detections_floor", "detections_day": "detections_day_floor",
          "detections": "detections_floor"}
# Stages over the last day only (its history is what the stages before them left).
ONE_DAY = ("detections_day", "detections_day_floor")


def run_floor(floor: str, start: date, end: date, events_per_day: int) -> None:
    """Measure one floor and leave ``{seconds}`` for the parent in the data directory."""
    from dsassets.tools import bench_floors

    scanned = "models" if floor == "models_floor" else "detections"  # baselines read what detections do
    seconds = bench_floors.scan_floor(scanned, start, end)
    with open(_result_file(floor), "w") as out:
        json.dump({"seconds": seconds}, out)


def _result_file(name: str, data_dir: str | None = None) -> str:
    """Where a child leaves what it measured (a floor) or saw (how snapshots were taken) for the parent."""
    return os.path.join(data_dir or DATA_DIR.get(), f"bench-{name}.json")


def run_stage(stage: str, start: date, end: date) -> None:
    """Materialize one stage's assets in this process (called in a child by :func:`main`)."""
    import dagster as dg

    from dsassets.definitions import defs
    from dsassets.lib.lake.partitions import range_tags

    groups = {
        "extract_events": dg.AssetSelection.assets("raw_docusign_audit_events"),
        "extract_snapshots": dg.AssetSelection.groups("raw") - dg.AssetSelection.assets("raw_docusign_audit_events"),
        "models": dg.AssetSelection.groups("staging", "intermediate", "marts"),
        "baselines": dg.AssetSelection.groups("baselines"),
        "detections_day": dg.AssetSelection.groups("detections"),
        "detections": dg.AssetSelection.groups("detections"),
    }
    definitions = defs()
    if not groups[stage].resolve(definitions.resolve_asset_graph()):
        return  # a lake without that stage's assets (an older checkout): nothing to time
    job = dg.define_asset_job(f"bench_{stage}", selection=groups[stage])
    definitions = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    result = definitions.resolve_job_def(f"bench_{stage}").execute_in_process(
        tags=range_tags(start, end),
        raise_on_error=True,
    )
    assert result.success
    if stage == "extract_snapshots":  # how the users were taken (bulk export or per user), for the parent
        how = {}
        for event in result.get_asset_materialization_events():
            found = event.materialization.metadata.get("how_taken")
            if found is not None:
                how.update(found.value)
        with open(_result_file(stage), "w") as out:
            json.dump(how, out)


# What the detections read, replicated by --replicate-days: (lake sub-directory, id column).
REPLICATED = (("warehouse/activities", "event_id"), ("warehouse/int_user_activity_daily", None),
              ("warehouse/int_user_lifecycle_events", "event_id"), ("raw/idp/users", None))


def replicate(data_dir: str, day: date, days: int) -> None:
    """Copy ``day``'s detection inputs to the ``days - 1`` days before it: times shifted, ids suffixed.

    Gives the detections a long history at full daily volume without extracting it (the
    per-user behaviour repeats, the row counts and Parquet sizes are the real ones).
    """
    import duckdb

    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for sub, id_col in REPLICATED:
            source = f"{data_dir}/{sub}/dt={day.isoformat()}/data.parquet"
            cols = con.execute(f"describe select * from read_parquet('{source}')").fetchall()
            for k in range(1, days):
                exprs = []
                for name, kind, *_ in cols:
                    if kind.startswith("TIMESTAMP"):
                        exprs.append(f'"{name}" - interval {k} day as "{name}"')
                    elif name == id_col:
                        exprs.append(f"\"{name}\" || '~{k}' as \"{name}\"")
                    else:
                        exprs.append(f'"{name}"')
                target = f"{data_dir}/{sub}/dt={(day - timedelta(days=k)).isoformat()}"
                os.makedirs(target, exist_ok=True)
                con.execute(f"copy (select {', '.join(exprs)} from read_parquet('{source}')) "
                            f"to '{target}/data.parquet' (format parquet, compression zstd)")


def _count_rows(data_dir: str, sub: str, day: date | None = None) -> int:
    import duckdb

    partition = f"dt={day.isoformat()}" if day else "*"
    with duckdb.connect() as con:
        return con.sql(f"select count(*) from read_parquet('{data_dir}/{sub}/{partition}/*.parquet')").fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dsassets bench", description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=None,
                        help="days extracted (default 1; with --backfills 30, the issue's month)")
    parser.add_argument("--end", type=date.fromisoformat, default=date.today() - timedelta(days=2))
    parser.add_argument("--stage", choices=[*STAGES, *FLOORS.values()], help=argparse.SUPPRESS)
    parser.add_argument("--replicate-into", help=argparse.SUPPRESS)  # child: replicate(...) into this data dir
    parser.add_argument("--data-dir", help="scratch data directory (default: a temporary one)")
    parser.add_argument("--backfills", action="store_true",
                        help="instead of the stages: time `dsassets backfill` serially and with --parallel")
    parser.add_argument("--parallel", type=int, default=2,
                        help="with --backfills: concurrent runs of the parallel backfill (default 2; 0: "
                             "the serial backfill alone, e.g. for the 30 x 1M end-to-end figure)")
    parser.add_argument("--stand-in", action="store_true",
                        help="with --backfills --parallel 0: read a loopback stand-in DocuSign (pages rendered "
                             "beforehand, the simulator's other APIs over TCP) instead of the embedded "
                             "simulator, so the figure is the pipeline's and not the simulator's")
    parser.add_argument("--replicate-days", type=int, default=0,
                        help="time the baselines and detections over N days made by copying the extracted "
                             "last day (times shifted, ids suffixed) instead of extracting N days; "
                             "detections_day is the last day alone, with the N - 1 before it as history")
    parser.add_argument("--from-stage", choices=STAGES,
                        help="skip the stages before this one (--data-dir holds what they made)")
    parser.add_argument("--extract-only", action="store_true",
                        help="only the audit-event extraction and its decode floor (no snapshots, models, detections)")
    parser.add_argument("--page-latency-ms", type=int, default=0,
                        help="the extraction's page server answers each page this late, as DocuSign's "
                             "network would (default 0: loopback)")
    parser.add_argument("--refresh", action="store_true",
                        help="instead of the stages: the intra-day refresh's cost late in day --end and "
                             "the latency from a planted incident to its alert row")
    parser.add_argument("--history-days", type=int, default=0,
                        help="with --refresh: after the first refresh, copy the day's directory snapshots into "
                             "the N days before it (and build their history models), so the later refreshes "
                             "run on a lake with N days of history")
    args = parser.parse_args(argv)
    if args.history_days and not args.refresh:
        parser.error("--history-days gives the refresh benchmark a history: add --refresh")
    args.days = args.days or (30 if args.backfills else 1)
    start = args.end - timedelta(days=args.days - 1)

    if args.stage in FLOORS.values():  # child process
        run_floor(args.stage, start, args.end, args.events_per_day)
        return 0
    if args.stage:  # child process
        run_stage(args.stage, start, args.end)
        return 0
    if args.replicate_into:  # child process
        replicate(args.replicate_into, args.end, args.replicate_days)
        return 0

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="dsassets-bench-")
    env = {
        **os.environ,
        DATA_DIR.name: data_dir,
        "DAGSTER_HOME": os.path.join(data_dir, "dagster"),
        SIMULATOR_EVENTS_PER_DAY.name: str(args.events_per_day),
    }
    # the instance the CLI makes (dsassets.console.instance): users' runs log no telemetry, nor do these
    prepare_home(Path(env["DAGSTER_HOME"]))
    for name in list(env):
        # the benchmark always measures the simulator (or --stand-in); how many windows a
        # backfill reads at once is a setting of the run, not of the source, and is kept
        if name.startswith(("DOCUSIGN_", "ENTRA_")) and name != DOCUSIGN_MONITOR_READERS.name:
            del env[name]
    if args.refresh:
        from dsassets.tools import bench_refresh
        from dsassets.defs.jobs import refresh_minutes

        print(f"dsassets bench --refresh: {args.end}, {args.events_per_day:,} events/day, data in {data_dir}")
        return bench_refresh.main(data_dir, env, args.end, args.events_per_day, refresh_minutes(), args.history_days)
    print(f"dsassets bench: {args.days} day(s) x {args.events_per_day:,} events/day, data in {data_dir}")
    if args.backfills:
        from dsassets.tools import bench_backfill

        if args.stand_in and args.parallel:
            parser.error("--stand-in renders the serial backfill's read only: add --parallel 0")
        return bench_backfill.compare(start, args.end, Path(data_dir), env, args.parallel,
                                      SIMULATOR_SEED.integer(env) if args.stand_in else None, args.events_per_day)
    print(f"{'stage':<20}{'wall s':>9}{'peak MiB':>10}{'events/s':>11}   "
          f"{'floor':<18}{'wall s':>8}{'peak MiB':>10}{'events/s':>11}{'x floor':>9}")
    events = extracted = None
    for stage in STAGES:
        if args.from_stage and STAGES.index(stage) < STAGES.index(args.from_stage):
            continue
        days = args.replicate_days if args.replicate_days and stage in ("baselines", "detections") else args.days
        if args.replicate_days and stage == "baselines":
            # In a child: a child's peak RSS starts from its parent's size at the fork, so every
            # stage measured after a replication done here would report at least its memory.
            made = run_child(["--replicate-into", data_dir, "--replicate-days", str(days),
                              "--end", args.end.isoformat()], env)
            if made is None:
                print("replicating the history failed", file=sys.stderr)
                return 1
            events = _count_rows(data_dir, "warehouse/activities")
            print(f"{'(replicated ' + str(days) + ' days)':<20}{made[0]:>9.1f}  {events:,} activities")
        if stage in ONE_DAY:
            days = 1
        child_args = ["--days", str(days), "--end", args.end.isoformat(), "--events-per-day", str(args.events_per_day)]
        if stage == "extract_events":
            from dsassets.tools import bench_extract

            extracted = bench_extract.measure(Path(data_dir), env, start, args.end, args.events_per_day,
                                              SIMULATOR_SEED.integer(), args.page_latency_ms)
            if extracted is None:
                print(f"stage {stage} failed", file=sys.stderr)
                return 1
            events = count_events(data_dir)
            if args.extract_only:
                return 0
            continue
        measured = run_child(["--stage", stage, *child_args], env)
        if measured is None:
            print(f"stage {stage} failed", file=sys.stderr)
            return 1
        wall, peak_mib = measured
        if events is None:
            events = count_events(data_dir)
            extracted = events if stage == STAGES[0] else None
        if stage == "extract_snapshots":
            users = _count_rows(data_dir, "raw/docusign/organization_users")
            with open(_result_file(stage, data_dir)) as found:
                via = sorted({how.get("users_via", "?") for how in json.load(found).values()})
            print(f"{stage:<20}{wall:>9.1f}{peak_mib:>10.0f}{'-':>11}   "
                  f"{users:,} user rows, {users / wall:,.0f}/s (users via {', '.join(via)})")
            print(TARGETS[stage].line(events_per_day=args.events_per_day, days=days, seconds=wall))
            continue
        stage_events = _count_rows(data_dir, "warehouse/activities", args.end) if stage in ONE_DAY else events
        line = f"{stage:<20}{wall:>9.1f}{peak_mib:>10.0f}{stage_events / wall:>11,.0f}   "
        floor = FLOORS[stage]
        floor_measured = run_child(["--stage", floor, *child_args], env)
        if floor_measured is None:
            print(f"floor {floor} failed", file=sys.stderr)
            return 1
        with open(_result_file(floor, data_dir)) as found:
            result = json.load(found)
        print(line + f"{floor:<18}{result['seconds']:>8.2f}{floor_measured[1]:>10.0f}"
              f"{stage_events / result['seconds']:>11,.0f}{wall / result['seconds']:>9.1f}")
        if stage in TARGETS:
            # detections_day is judged with the history it read: the replicated days, the day among them
            spanned = (args.replicate_days or args.days) if stage in ONE_DAY else days
            print(TARGETS[stage].line(events_per_day=args.events_per_day, days=spanned, seconds=wall,
                                      mib=peak_mib, x_floor=wall / result["seconds"]))
    if extracted is not None:
        print(f"events extracted: {extracted:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
