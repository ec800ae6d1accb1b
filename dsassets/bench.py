"""Benchmark: wall time, events per second and peak memory per pipeline stage.

``dsassets bench --events-per-day 1000000 --days 1`` extracts from the embedded
simulator (through the real client, in process) into a scratch data directory and
runs the models over it. Each stage runs in its own process so its peak RSS is
its own. Numbers are printed, never asserted: targets belong here, not in tests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

STAGES = ("extract_events", "extract_snapshots", "models")


def run_stage(stage: str, start: date, end: date) -> None:
    """Materialize one stage's assets in this process (called in a child by :func:`main`)."""
    import dagster as dg

    from dsassets.definitions import defs

    groups = {
        "extract_events": dg.AssetSelection.assets("raw_docusign_audit_events"),
        "extract_snapshots": dg.AssetSelection.groups("raw") - dg.AssetSelection.assets("raw_docusign_audit_events"),
        "models": dg.AssetSelection.groups("staging", "intermediate", "marts"),
    }
    definitions = defs()
    job = dg.define_asset_job(f"bench_{stage}", selection=groups[stage])
    definitions = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    result = definitions.resolve_job_def(f"bench_{stage}").execute_in_process(
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        raise_on_error=True,
    )
    assert result.success


def _count_events(data_dir: str) -> int:
    import duckdb

    with duckdb.connect() as con:
        return con.sql(
            f"select count(*) from read_parquet('{data_dir}/raw/docusign/audit_events/*/*.parquet')"
        ).fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dsassets bench", description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--end", type=date.fromisoformat, default=date.today() - timedelta(days=2))
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help="scratch data directory (default: a temporary one)")
    args = parser.parse_args(argv)
    start = args.end - timedelta(days=args.days - 1)

    if args.stage:  # child process
        run_stage(args.stage, start, args.end)
        return 0

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="dsassets-bench-")
    env = {
        **os.environ,
        "DSASSETS_DATA_DIR": data_dir,
        "DAGSTER_HOME": os.path.join(data_dir, "dagster"),
        "DSASSETS_SIMULATOR_EVENTS_PER_DAY": str(args.events_per_day),
    }
    os.makedirs(env["DAGSTER_HOME"], exist_ok=True)
    for name in list(env):
        if name.startswith(("DOCUSIGN_", "ENTRA_")):
            del env[name]  # the benchmark always measures the simulator
    print(f"dsassets bench: {args.days} day(s) x {args.events_per_day:,} events/day, data in {data_dir}")
    print(f"{'stage':<20}{'wall s':>10}{'peak RSS MiB':>15}{'events/s':>12}")
    events = None
    for stage in STAGES:
        began = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "dsassets.bench", "--stage", stage, "--days", str(args.days),
             "--end", args.end.isoformat(), "--events-per-day", str(args.events_per_day)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        stderr = child.stderr.read() if child.stderr else b""
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        if os.waitstatus_to_exitcode(status) != 0:
            print(stderr.decode(errors="replace")[-4000:], file=sys.stderr)
            print(f"stage {stage} failed", file=sys.stderr)
            return 1
        if events is None:
            events = _count_events(data_dir)
        rate = f"{events / wall:,.0f}" if stage != "extract_snapshots" else "-"
        print(f"{stage:<20}{wall:>10.1f}{usage.ru_maxrss / 1024:>15.0f}{rate:>12}")
    print(f"events extracted: {events:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
