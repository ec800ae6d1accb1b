"""``dsassets``: the demo, backfills and the loopback simulator, over Dagster's own APIs.

Runs are recorded in the Dagster instance under ``<local_dir>/dagster`` (the data
directory, unless that is an ``s3://`` URL) so they show in the UI afterwards (``dsassets ui``).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path


def _lake():
    """The lake the Dagster definitions will use (raises ConfigError naming a bad setting)."""
    from dsassets.lib.config.settings import DATA_DIR, LOCAL_DIR
    from dsassets.lib.lake.lake import Lake

    return Lake.at(DATA_DIR.get(), LOCAL_DIR.value())


def _use_instance_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(_lake().local_dir / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    return home


def backfill(start: date, end: date, parallel: int = 0, days_per_run: int | None = None) -> bool:
    """Materialize every daily asset for ``start..end`` (inclusive), then the warehouse.

    Serial (``parallel`` 0): one in-process run over the range. Parallel: a Dagster asset
    backfill of at most ``parallel`` concurrent runs of ``days_per_run`` days (see dsassets.tools.parallel_backfill).
    """
    home = _use_instance_home()
    if parallel:
        from dsassets.tools import parallel_backfill
        from dsassets.lib.lake.partitions import DAYS_PER_RUN_ENV

        # Read by the code server the daemons start, which builds the assets' backfill policy.
        days = days_per_run or parallel_backfill.days_per_run(start, end, parallel)
        before = os.environ.get(DAYS_PER_RUN_ENV)
        os.environ[DAYS_PER_RUN_ENV] = str(days)
        try:
            succeeded = parallel_backfill.run(start, end, parallel, home)
        finally:
            if before is None:
                del os.environ[DAYS_PER_RUN_ENV]
            else:
                os.environ[DAYS_PER_RUN_ENV] = before
        if not succeeded:
            print(f"backfill of {start}..{end} failed: see the backfill's runs in the UI", file=sys.stderr)
            return False
    import dagster as dg

    from dsassets.definitions import defs

    definitions = defs()
    instance = dg.DagsterInstance.get()
    if not parallel:
        daily = definitions.resolve_job_def("daily_pipeline")
        result = daily.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
            },
            raise_on_error=False,
        )
        if not result.success:
            print(f"daily_pipeline failed for {start}..{end}: see run {result.run_id} in the UI", file=sys.stderr)
            return False
    warehouse = definitions.resolve_job_def("warehouse_refresh")
    if warehouse.nodes_in_topological_order:
        result = warehouse.execute_in_process(instance=instance, raise_on_error=False)
        if not result.success:
            print(f"warehouse_refresh failed: see run {result.run_id} in the UI", file=sys.stderr)
            return False
    return True


def _query(sql: str) -> int:
    """Print a query's result from warehouse.duckdb, for machines without the DuckDB CLI."""
    import duckdb

    lake = _lake()
    path = lake.local_dir / "warehouse.duckdb"
    if not path.exists():
        print(f"{path} does not exist yet: run `dsassets demo` or `dsassets backfill` first", file=sys.stderr)
        return 1
    with duckdb.connect(str(path), read_only=True) as con:
        # The views name the lake's files; on S3 the connection needs the filesystem to read them.
        lake.register(con)
        try:
            con.sql(sql).show(max_rows=200, max_width=200)
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return 1
    return 0


def _report(start: date, end: date, out: Path | None) -> int:
    """Write the HTML report of ``start..end`` (inclusive) and print where it is."""
    from dsassets.lib.report.data import ReportError
    from dsassets.lib.report.page import write_report

    lake = _lake()
    try:
        path = write_report(lake, start, end + timedelta(days=1), out or lake.local_dir / "report.html")
    except ReportError as exc:
        print(f"dsassets report: {exc}", file=sys.stderr)
        return 1
    print(f"Report: {path}")
    return 0


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dsassets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="backfill the last N complete days (simulator unless DOCUSIGN_* is set)")
    demo.add_argument("--days", type=int, default=7)

    fill = sub.add_parser("backfill", help="materialize every asset for a date range, inclusive")
    fill.add_argument("start", type=_parse_day)
    fill.add_argument("end", type=_parse_day)
    fill.add_argument("--parallel", type=_positive, default=0, metavar="N",
                      help="run a Dagster asset backfill of at most N concurrent runs (default: one in-process run)")
    fill.add_argument("--days-per-run", type=_positive, default=None, metavar="K",
                      help="with --parallel: days per run (default: the range split evenly over N)")

    sub.add_parser("ui", help="open the Dagster UI on the same instance the CLI records runs in")
    query = sub.add_parser("query", help="run SQL against the warehouse (read-only), e.g. a forensic macro")
    query.add_argument("sql")
    sub.add_parser("bench", help="time and peak memory per stage at a chosen scale (see --help)", add_help=False)
    quality = sub.add_parser(
        "quality", help="precision/recall of the detections against the simulator's planted incidents")
    quality.add_argument("--start", type=_parse_day, required=True, help="first day evaluated")
    quality.add_argument("--end", type=_parse_day, required=True, help="last day evaluated (inclusive)")
    quality.add_argument("--backfill", action="store_true",
                         help="backfill the period and --history-days before it first")
    quality.add_argument("--history-days", type=int, default=37,
                         help="history before --start for baselines (default 37: 30-day baseline + 7 learning)")

    report = sub.add_parser("report", help="write a self-contained HTML report (charts, tables) of a period")
    report.add_argument("--start", type=_parse_day, required=True, help="first day (UTC)")
    report.add_argument("--end", type=_parse_day, required=True, help="last day, inclusive")
    report.add_argument("--out", type=Path, default=None, help="HTML file (default: <local data dir>/report.html)")
    from dsassets.lib.triage import commands as triage

    triage.add_parser(sub)

    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["bench"]:
        from dsassets.tools import bench

        return bench.main(argv[1:])
    args = parser.parse_args(argv)
    from dsassets.lib.config.settings import ConfigError

    try:
        _lake()  # a bad DSASSETS_DATA_DIR / AWS_ENDPOINT_URL is one line naming it, not a traceback
    except ConfigError as exc:
        print(f"dsassets: {exc}", file=sys.stderr)
        return 2
    if args.command == "ui":
        home = _use_instance_home()
        print(f"Dagster instance: {home}")
        os.execvp("dagster", ["dagster", "dev", "-w", str(Path(__file__).resolve().parent.parent / "workspace.yaml")])
    if args.command == "query":
        return _query(args.sql)
    if args.command == "alerts":
        try:
            return triage.run(args, _lake())
        except triage.TriageError as exc:
            print(f"dsassets alerts: {exc}", file=sys.stderr)
            return 2
    if args.command == "report":
        return _report(args.start, args.end, args.out)
    if args.command == "quality":
        from dsassets.tools.quality import quality_command

        return quality_command(args, _lake(), backfill)
    if args.command == "demo":
        yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
        start, end = yesterday - timedelta(days=args.days - 1), yesterday
    else:
        start, end = args.start, args.end
        if end < start:
            parser.error(f"end {end} is before start {start}")
    from dsassets.lib.config.settings import DOCUSIGN_INTEGRATION_KEY

    source = "DocuSign" if DOCUSIGN_INTEGRATION_KEY.value() else "the embedded simulator"
    lake = _lake()
    print(f"Backfilling {start}..{end} from {source} into {lake.root}")
    if not backfill(start, end, getattr(args, "parallel", 0), getattr(args, "days_per_run", None)):
        return 1
    if args.command == "demo" and _report(start, end, None):
        return 1
    print(
        "\nDone.\n"
        f"  Raw Parquet lake:  {lake.url('raw')}\n"
        f"  Warehouse:         {lake.local_dir / 'warehouse.duckdb'}  (try: .venv/bin/dsassets query \"show tables\")\n"
        f"  Dagster UI:        .venv/bin/dsassets ui   then open http://127.0.0.1:3000 (runs are listed there)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
