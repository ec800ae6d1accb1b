"""``dsassets``: the demo, backfills and the loopback simulator, over Dagster's own APIs.

Runs are recorded in the Dagster instance under ``<local_dir>/dagster`` (the data
directory, unless that is an ``s3://`` URL) so they show in the UI afterwards (``dsassets ui``).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path


def _lake():
    """The lake the Dagster definitions will use (raises ConfigError naming a bad setting)."""
    from dsassets.lib.config.settings import DATA_DIR, LOCAL_DIR
    from dsassets.lib.lake.lake import Lake

    return Lake.at(DATA_DIR.get(), LOCAL_DIR.value())


def _use_instance_home() -> Path:
    from dsassets.console.instance import prepare_home

    return prepare_home(Path(os.environ.setdefault("DAGSTER_HOME", str(_lake().local_dir / "dagster"))))


def backfill(start: date, end: date, parallel: int = 0, days_per_run: int | None = None) -> bool:
    """Materialize every daily asset for ``start..end`` (inclusive), then the warehouse.

    Serial (``parallel`` 0): one in-process run over the range. Parallel: a Dagster asset
    backfill of at most ``parallel`` concurrent runs of ``days_per_run`` days (see dsassets.tools.parallel_backfill).
    Ends with one line: the time taken and Dagster's log, with the warnings that went only there.
    """
    import time

    began = time.monotonic()
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

    from dsassets.console import progress
    from dsassets.definitions import defs
    from dsassets.lib.lake.partitions import range_tags

    definitions = defs()
    instance = dg.DagsterInstance.get()
    log_file = progress.log_path(_lake().local_dir)
    warnings = 0
    if not parallel:
        daily = definitions.resolve_job_def("daily_pipeline")
        result, warnings = progress.execute(
            daily,
            instance,
            log_file,
            tags=range_tags(start, end),
        )
        if not result.success:
            print(f"daily_pipeline failed for {start}..{end}: see run {result.run_id} in the UI "
                  f"and {log_file}", file=sys.stderr)
            return False
    warehouse = definitions.resolve_job_def("warehouse_refresh")
    if warehouse.nodes_in_topological_order:
        result, more = progress.execute(warehouse, instance, log_file)
        if not result.success:
            print(f"warehouse_refresh failed: see run {result.run_id} in the UI and {log_file}", file=sys.stderr)
            return False
        warnings += more
    from dsassets.console.summary import plural

    logged = f" ({plural(warnings, 'warning')})" if warnings else ""
    print(f"Done in {time.monotonic() - began:.0f}s. Dagster's log{logged}: {log_file}\n", flush=True)
    return True


def _report(lake, start: date, end: date, out: Path | None) -> int:
    """Write the HTML report of ``start..end`` (inclusive) and print where it is."""
    from dsassets.lib.report.data import ReportError
    from dsassets.lib.report.page import write_report

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


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (1-65535)")
    return int(value)


def _command_name() -> str:
    """How the user ran us (``.venv/bin/dsassets``), for commands printed to paste."""
    ran = Path(sys.argv[0])
    if ran.name != "dsassets":
        return "dsassets"
    try:
        return str(ran.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(ran)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsassets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    defaults = argparse.ArgumentDefaultsHelpFormatter

    demo = sub.add_parser("demo", formatter_class=defaults,
                          help="backfill the last N complete UTC days (simulator unless DOCUSIGN_* is set)")
    demo.add_argument("--days", type=_positive, default=7, metavar="N",
                      help="how many complete days, ending yesterday (UTC)")

    fill = sub.add_parser("backfill", formatter_class=defaults,
                          help="materialize every asset for a date range, inclusive")
    fill.add_argument("start", type=_parse_day, help="first day, YYYY-MM-DD (UTC)")
    fill.add_argument("end", type=_parse_day, help="last day, YYYY-MM-DD (UTC), inclusive")
    fill.add_argument("--parallel", type=_positive, default=0, metavar="N",
                      help="run a Dagster asset backfill of at most N concurrent runs (0: one in-process run)")
    fill.add_argument("--days-per-run", type=_positive, default=None, metavar="K",
                      help="with --parallel: days per run (default: the range split evenly over N)")

    ui = sub.add_parser("ui", formatter_class=defaults,
                        help="the Dagster UI (dg dev) on the instance the CLI records runs in")
    ui.add_argument("--host", default="127.0.0.1", help="address the webserver listens on")
    ui.add_argument("--port", type=_port, default=3000, help="TCP port of the webserver")

    query = sub.add_parser("query", formatter_class=defaults,
                           help="run SQL against the warehouse (read-only), e.g. a forensic macro")
    query.add_argument("sql", help="one DuckDB SQL statement, e.g. \"select * from alerts\"")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table",
                       help="table: every column, long cells cut; csv: header + rows; json: an array of objects")
    sub.add_parser("bench", help="time and peak memory per stage at a chosen scale (see bench --help)", add_help=False)
    quality = sub.add_parser(
        "quality", formatter_class=defaults,
        help="precision/recall of the detections against the simulator's planted incidents")
    quality.add_argument("--start", type=_parse_day, required=True, help="first day evaluated, YYYY-MM-DD")
    quality.add_argument("--end", type=_parse_day, required=True, help="last day evaluated, YYYY-MM-DD, inclusive")
    quality.add_argument("--backfill", action="store_true",
                         help="backfill the period and --history-days before it first")
    quality.add_argument("--history-days", type=int, default=37, metavar="N",
                         help="days of history before --start for baselines (30-day baseline + 7 learning)")
    from dsassets.tools import governance_cli

    governance_cli.add_parser(sub)

    vocabulary = sub.add_parser(
        "profile", help="every object/action/result/source seen and how dsassets.yaml classifies it")
    vocabulary.add_argument("--start", type=_parse_day, required=True, help="first day, YYYY-MM-DD (UTC)")
    vocabulary.add_argument("--end", type=_parse_day, required=True, help="last day, YYYY-MM-DD (UTC), inclusive")

    intel = sub.add_parser("intel", help="threat-intelligence lists (see README)")
    intel.add_argument("action", choices=["update"], help="download the lists of detections.intel.sources")


    report = sub.add_parser("report", help="write a self-contained HTML report (charts, tables) of a period")
    report.add_argument("--start", type=_parse_day, required=True, help="first day, YYYY-MM-DD (UTC)")
    report.add_argument("--end", type=_parse_day, required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
    report.add_argument("--out", type=Path, default=None, help="HTML file (default: <local data dir>/report.html)")
    from dsassets.lib.triage import commands as triage

    triage.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices about APIs this project chose are for its developers (the
    # tests keep them visible through pytest's own filters), not for someone running the demo.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    parser = _parser()
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["bench"]:
        from dsassets.tools import bench

        return bench.main(argv[1:])
    args = parser.parse_args(argv)
    from dsassets.lib.config.settings import ConfigError

    try:
        lake = _lake()  # a bad DSASSETS_DATA_DIR / AWS_ENDPOINT_URL is one line naming it, not a traceback
    except ConfigError as exc:
        print(f"dsassets: {exc}", file=sys.stderr)
        return 2
    if args.command == "ui":
        from dsassets.console import ui

        ui.run(_use_instance_home(), args.host, args.port)
    if args.command == "query":
        from dsassets.console import query

        return query.run(lake, args.sql, args.format)
    if args.command == "governance":
        from dsassets.tools import governance_cli

        return governance_cli.main(args, _lake())
    if args.command == "intel":
        from dsassets.tools.intel import intel_command

        return intel_command(args)
    if args.command == "profile":
        from dsassets.tools.profile import profile_command

        return profile_command(args, lake)
    if args.command == "alerts":
        from dsassets.lib.triage import commands as triage

        try:
            return triage.run(args, lake)
        except triage.TriageError as exc:
            print(f"dsassets alerts: {exc}", file=sys.stderr)
            return 2
    if args.command == "report":
        return _report(lake, args.start, args.end, args.out)
    if args.command == "quality":
        from dsassets.tools.quality import quality_command

        return quality_command(args, lake, backfill)
    if args.command == "demo":
        yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
        start, end = yesterday - timedelta(days=args.days - 1), yesterday
    else:
        start, end = args.start, args.end
        if end < start:
            parser.error(f"end {end} is before start {start}")
    status = _fill(lake, start, end, getattr(args, "parallel", 0), getattr(args, "days_per_run", None))
    if status == 0 and args.command == "demo":
        return _report(lake, start, end, None)
    return status


def _fill(lake, start: date, end: date, parallel: int, days_per_run: int | None) -> int:
    """The demo and ``backfill``: progress per stage, then what the run found."""
    from dsassets.console.instance import partitions_start
    from dsassets.console.summary import summary_lines

    from dsassets.lib.config.settings import DOCUSIGN_INTEGRATION_KEY

    source = "DocuSign" if DOCUSIGN_INTEGRATION_KEY.value() else "the embedded simulator"
    with partitions_start(_use_instance_home(), start):
        print(f"Backfilling {start}..{end} from {source} into {lake.root}", flush=True)
        if not backfill(start, end, parallel, days_per_run):
            return 1
    command = _command_name()
    print("\n".join(summary_lines(lake, start, end, command)))
    print(
        f"\nWarehouse: {lake.local_dir / 'warehouse.duckdb'}   Raw lake: {lake.url('raw')}\n"
        f"Dagster UI: {command} ui   then open http://127.0.0.1:3000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
