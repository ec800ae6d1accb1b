"""What a person at the terminal gets: `dsassets ui`, the CLI's help, query formats, progress lines,
the instance folder the CLI prepares."""

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

from dsassets import cli
from dsassets.console import instance, progress, ui
from dsassets.console.query import run as run_query
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_serves_the_dagster_ui_without_an_activated_venv(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "VIRTUAL_ENV", "DSASSETS_START_DATE")}
    # No virtual environment on PATH: `dg` must be found beside the interpreter.
    env["PATH"] = "/usr/bin:/bin"
    env["DSASSETS_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dsassets.cli", "ui", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline, healthy = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2)
                if healthy.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
        assert healthy is not None and healthy.status_code == 200
        assert "dagster_webserver_version" in healthy.json()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    home = tmp_path / "data" / "dagster"
    assert "enabled: false" in (home / "dagster.yaml").read_text()


def test_ui_runs_dg_from_beside_the_interpreter_with_the_remembered_start(tmp_path, monkeypatch):
    monkeypatch.delenv("DSASSETS_START_DATE", raising=False)
    home = instance.prepare_home(tmp_path / "dagster")
    with instance.partitions_start(home, date(2026, 11, 23)) as chosen:
        assert chosen == os.environ["DSASSETS_START_DATE"] == "2026-11-23"
    assert "DSASSETS_START_DATE" not in os.environ  # the block restores the environment
    argv = ui.command(home, "0.0.0.0", 3001)
    assert argv[0] == str(Path(sys.executable).parent / "dg") and argv[1] == "dev"
    assert argv[-4:] == ["--host", "0.0.0.0", "--port", "3001"]
    env = ui.environment(home, {"PATH": "/bin"})
    assert env["DSASSETS_START_DATE"] == "2026-11-23" and env["DAGSTER_HOME"] == str(home)
    # A later backfill of earlier days moves the start back; the environment always wins.
    with instance.partitions_start(home, date(2026, 10, 1)):
        pass
    assert instance.remembered_start(home) == date(2026, 10, 1)
    assert ui.environment(home, {"DSASSETS_START_DATE": "2025-06-01"})["DSASSETS_START_DATE"] == "2025-06-01"


def test_every_argument_has_help_and_dates_say_their_format():
    parser = cli._parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        if name == "bench":
            continue  # bench has its own parser
        text = sub.format_help()
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, f"{name} {action.dest} has no help"
            if action.default not in (None, False, argparse_suppress()):
                assert f"(default: {action.default})" in " ".join(text.split()), (name, action.dest)
            if action.type is cli._parse_day:
                assert "YYYY-MM-DD" in action.help, (name, action.dest)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def test_bad_arguments_name_the_value(capsys):
    with pytest.raises(SystemExit):
        cli.main(["backfill", "2026-11-31", "2026-12-01"])
    assert "'2026-11-31' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["ui", "--port", "70000"])
    assert "not a TCP port" in capsys.readouterr().err


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("DSASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DSASSETS_LOCAL_DIR", raising=False)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(
            "create table alerts as select * from (values "
            "('a1', date '2026-11-23', ['1.2.3.4', '5.6.7.8'], {'n': 3}, 'x, \"quoted\"', " + "'" + "w" * 80 + "'), "
            "('a2', date '2026-11-24', [], null, null, 'short')) "
            "t(alert_id, partition_date, ip_addresses, evidence, note, a_very_long_column_name_number_six)"
        )
    return Lake.at(tmp_path)


def test_query_csv_has_a_header_and_every_value(warehouse, capsys):
    assert run_query(warehouse, "select * from alerts order by alert_id", "csv") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["alert_id", "partition_date", "ip_addresses", "evidence", "note",
                       "a_very_long_column_name_number_six"]
    assert rows[1] == ["a1", "2026-11-23", '["1.2.3.4", "5.6.7.8"]', '{"n": 3}', 'x, "quoted"', "w" * 80]
    assert rows[2][:5] == ["a2", "2026-11-24", "[]", "", ""]


def test_query_json_is_an_array_of_objects(warehouse, capsys):
    assert cli.main(["query", "--format", "json", "select * from alerts order by alert_id"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["ip_addresses"] == ["1.2.3.4", "5.6.7.8"] and data[0]["partition_date"] == "2026-11-23"
    assert data[1]["evidence"] is None and len(data) == 2


def test_query_table_shows_every_column(warehouse, capsys):
    assert cli.main(["query", "select * from alerts"]) == 0
    out = capsys.readouterr().out
    assert "a_very_long_column_name_number_six" in out and "ip_addresses" in out
    assert cli.main(["query", "select * from no_such_table"]) == 1
    assert "query failed" in capsys.readouterr().err


def test_progress_prints_one_line_per_stage_and_logs_everything(tmp_path):
    partitions = dg.DailyPartitionsDefinition("2026-11-01", end_offset=1)
    # A range run: each partition's materialization carries the range's numbers, counted once.
    single = dg.BackfillPolicy.single_run()

    @dg.asset(group_name="raw", partitions_def=partitions, backfill_policy=single)
    def events(context):
        context.log.warning("a warning for the log file only")
        return dg.MaterializeResult(metadata={"row_count": 40})

    @dg.asset(group_name="raw", partitions_def=partitions, deps=[events], backfill_policy=single)
    def users():
        return dg.MaterializeResult(metadata={"dagster/row_count": 2})

    @dg.asset(group_name="detections", partitions_def=partitions, deps=[users], backfill_policy=single)
    def alerts():
        return dg.MaterializeResult(metadata={"alert_count": 3, "dagster/row_count": 3})

    job = dg.Definitions(assets=[events, users, alerts], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    log = tmp_path / "logs" / "dsassets.log"
    out = io.StringIO()
    with dg.instance_for_test() as inst:
        result, warnings = progress.execute(job, inst, log, out, tags=range_tags(date(2026, 11, 2), date(2026, 11, 4)))
    assert result.success
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:5] == ["raw", "2", "assets", "42", "rows"]
    assert lines[1].split()[:5] == ["detections", "1", "asset", "3", "alerts"]
    # The warning is counted for the closing line, and only the log file has its text.
    assert warnings == 1 and len(lines) == 2
    text = log.read_text()
    assert "a warning for the log file only" in text and "STEP_SUCCESS" in text


def test_checks_count_once_over_a_range_and_share_a_warning_line(tmp_path):
    """Three days, two checks warning for the same reason on one day, one passing: the stage waits
    for its checks, counts checks (not their nine day evaluations) and names both on one line."""
    from dsassets.defs.daily_checks import daily_check, run_days
    from dsassets.lib.lake.partitions import DAILY

    single = dg.BackfillPolicy.single_run()

    @dg.asset(group_name="detections", partitions_def=DAILY, backfill_policy=single)
    def det_a():
        return dg.MaterializeResult(metadata={"alert_count": 1})

    @dg.asset(group_name="detections", partitions_def=DAILY, backfill_policy=single)
    def det_b():
        return dg.MaterializeResult(metadata={"alert_count": 2})

    def warns_on_the_last_day(context):
        last = run_days(context)[-1]
        return {day: dg.AssetCheckResult(passed=day != last, severity=dg.AssetCheckSeverity.WARN,
                                         description=None if day != last else "the feed is a placeholder; more")
                for day in run_days(context)}

    checks = [daily_check(asset=a, name=f"{a.key.path[0]}_feed_current")(warns_on_the_last_day) for a in (det_a, det_b)]
    checks.append(daily_check(asset=det_a, name="det_a_fine")(
        lambda context: {day: dg.AssetCheckResult(passed=True) for day in run_days(context)}))
    job = dg.Definitions(assets=[det_a, det_b], asset_checks=checks,
                         jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    out = io.StringIO()
    with dg.instance_for_test() as inst:
        result, _ = progress.execute(job, inst, tmp_path / "dsassets.log", out, tags=range_tags(date(2026, 11, 2), date(2026, 11, 4)))
    assert result.success
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:5] == ["detections", "2", "assets", "0", "alerts"]
    assert lines[0].endswith("checks 1/3 passed (2 warnings)"), lines
    assert lines[1] == "  warning det_a_feed_current, det_b_feed_current (1 of 3 days): the feed is a placeholder"
    assert len(lines) == 2


def test_a_failing_step_is_named_on_the_terminal(tmp_path):
    @dg.asset(group_name="raw")
    def broken():
        raise ValueError("the lake is read-only")

    job = dg.Definitions(assets=[broken], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    out = io.StringIO()
    with dg.instance_for_test() as inst:
        result, _ = progress.execute(job, inst, tmp_path / "dsassets.log", out)
    assert not result.success
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("  FAILED broken: ") and "the lake is read-only" in lines[0], lines
