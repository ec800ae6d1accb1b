"""A refresh with nothing new keeps what the last one wrote; any input that changed recomputes what reads it.

The intra-day refresh is run as its schedule asks, in process, against one lake and instance. Between
ticks the test changes one input at a time, each of a kind the simulator never changes mid-day: the
identity provider's export file (lineage decides what recomputes), an analyst's suppression rule (a
file no asset writes), a setting, and a step's own output removed by hand.
"""

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from dsassets import cli
from dsassets.definitions import defs
from dsassets.tools.schedule_tick import run_schedule_tick

SEED, EVENTS_PER_DAY = 11, 300
DAY = date(2026, 10, 20)
LATE = datetime(2026, 10, 20, 23, 45, tzinfo=UTC)
UNCHANGED = "dsassets/unchanged"
# Built on the audit events only: the identity provider's export is nowhere upstream of them. (The
# detections are not among them: they read `users` for their scope.)
EVENT_ONLY = {"int_ip_addresses", "int_user_activity_daily", "activities", "account_daily_activity",
              "det_baseline_user_countries", "det_baseline_ip_users"}
# What reads the identity provider's users, directly or through users.
IDP_READERS = {"users", "det_terminated_user_activity", "posture_findings", "alerts"}


def write_export(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "status", "status_changed_at"])
        out.writerows(rows)


@pytest.fixture(scope="module")
def env(simulator_env):
    data, patch = simulator_env
    export = data.parent / f"{data.name}-idp.csv"
    write_export(export, [("someone.gone@elsewhere.example.org", "deleted", "2026-10-01T09:00:00Z")])
    patch.setenv("DSASSETS_IDP_EXPORT_FILE", str(export))
    patch.setenv("DSASSETS_SIMULATOR_NOW", LATE.isoformat())
    with dg.instance_for_test() as instance:
        yield data, defs(), instance, patch, export


def tick(env) -> str:
    """The refresh schedule's run at 23:45 of the day, in process; its run id."""
    _, definitions, instance, _, _ = env
    _, result = run_schedule_tick(definitions, instance, "intraday_refresh_schedule", LATE)
    assert result.success
    return result.run_id


def reported(env, run_id: str) -> tuple[dict[str, bool], dict[str, bool]]:
    """Per asset and per check of the run: whether it repeated an earlier run's result."""
    instance = env[2]
    assets, checks = {}, {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.event_specific_data.materialization
        if materialization.partition == DAY.isoformat():
            assets[materialization.asset_key.to_user_string()] = UNCHANGED in materialization.metadata
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        checks[evaluation.check_name] = UNCHANGED in evaluation.metadata
    return assets, checks


def files(data: Path) -> dict[str, int]:
    """Every Parquet file the pipeline wrote, with its modification time."""
    return {str(p.relative_to(data)): p.stat().st_mtime_ns
            for p in sorted(data.glob("**/*.parquet")) if p.parts[len(data.parts)] in ("raw", "warehouse")}


def alert_ids(data: Path, name: str = "alerts") -> list[str]:
    table = pq.read_table(data / "warehouse" / name / f"dt={DAY}" / "data.parquet")
    return sorted(table.column("alert_id").to_pylist())


@pytest.fixture(scope="module")
def first(env):
    """The day's first refresh, then the same refresh again with nothing new."""
    data = env[0]
    first_run = tick(env)
    before = files(data)
    alerts = alert_ids(data)
    again = tick(env)
    return before, alerts, reported(env, first_run), reported(env, again)


def test_a_refresh_with_nothing_new_keeps_every_file_and_repeats_what_the_last_one_reported(env, first):
    data = env[0]
    before, alerts, (first_assets, _), (assets, checks) = first
    assert alerts, "the day should have alerts for this test to mean anything"
    # The first refresh computed everything; the second recomputed nothing.
    assert not any(first_assets.values())
    computed = {name for name, same in assets.items() if not same and not name.startswith("raw_")}
    # Governance and notification act on the time as well (retries, deliveries due): they always run.
    assert computed == {"governance_actions", "notifications"}, computed
    assert {"activities", "alerts", "users", "posture_findings", "docusign_vocabulary"} <= set(assets)
    # Not one file was rewritten: not the identity provider's unchanged snapshot, not a model.
    assert files(data) == before
    assert alert_ids(data) == alerts
    # Checks on unchanged data repeat their result; freshness depends on the time and is evaluated.
    assert checks["raw_audit_events_valid"] and checks["activities_reconciled_with_raw_and_staging"]
    assert checks["raw_audit_events_fresh"] is False


def test_the_vocabulary_checks_record_each_day_of_the_week_they_read(env, first):
    """Their warnings read the figures of the day and the six before it; the refresh records each
    day's, to read again only the days whose events changed (tests/test_unchanged_per_day.py)."""
    records = env[0] / ".unchanged" / "vocabulary_day_figures"
    week = [(DAY - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    assert sorted(p.stem for p in records.glob("*.json")) == week
    events = pq.read_table(env[0] / "raw" / "docusign" / "audit_events" / f"dt={DAY}").num_rows
    assert json.loads((records / f"{DAY}.json").read_text())["value"][0] == events > 0


def test_a_changed_identity_provider_export_recomputes_only_what_reads_it(env, first):
    data, _, _, _, export = env
    before = files(data)
    write_export(export, [("someone.gone@elsewhere.example.org", "deleted", "2026-10-01T09:00:00Z"),
                          ("another.leaver@elsewhere.example.org", "disabled", "2026-10-19T17:30:00Z")])
    assets, _ = reported(env, tick(env))
    recomputed = {name for name, same in assets.items() if not same}
    assert IDP_READERS <= recomputed
    assert not EVENT_ONLY & recomputed, EVENT_ONLY & recomputed
    changed = {name for name, mtime in files(data).items() if before.get(name) != mtime}
    assert f"raw/idp/users/dt={DAY}/data.parquet" in changed
    assert not any(name.startswith(f"warehouse/{model}/") for model in EVENT_ONLY for name in changed)


def test_a_suppression_rule_applies_at_the_next_refresh_although_no_asset_wrote_it(env, first, capsys):
    data = env[0]
    alerts = alert_ids(data)
    assert cli.main(["alerts", "dismiss", alerts[0], "--suppress", "user+ip", "--expires", "2099-01-01",
                     "--by", "analyst"]) == 0
    assets, _ = reported(env, tick(env))
    assert assets["alerts"] is False
    assert alerts[0] not in alert_ids(data)
    assert alerts[0] in alert_ids(data, "suppressed_alerts")
    # The rule is read where the detections' outputs are united, not by the detections.
    assert all(same for name, same in assets.items() if name.startswith(("det_", "pol_", "int_")))


def test_resolving_or_assigning_an_alert_recomputes_nothing(env, first, capsys):
    """Analysts change alert statuses all day: the status ledger feeds no daily asset."""
    data = env[0]
    alert = alert_ids(data)[0]
    assert cli.main(["alerts", "assign", alert, "dana.analyst", "--by", "analyst"]) == 0
    assert cli.main(["alerts", "resolve", alert, "--verdict", "true_positive", "--by", "analyst"]) == 0
    before = files(data)
    assets, _ = reported(env, tick(env))
    computed = {name for name, same in assets.items() if not same and not name.startswith("raw_")}
    assert computed == {"governance_actions", "notifications"}, computed
    assert files(data) == before


def test_every_reader_of_the_triage_files_is_declared():
    """SIDE_INPUTS names who reads the analyst's files; a new reader must be added there (or the
    refresh would keep its output when an analyst changes them)."""
    from dsassets.lib.transform import unchanged

    package = Path(unchanged.__file__).resolve().parents[2]
    readers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if "dsassets.lib.triage" in p.read_text() and "lib/triage/" not in p.as_posix())
    # The CLI and the warehouse views are not daily assets; governance and the alerts union are the
    # declared readers of the suppression rules.
    assert readers == ["cli.py", "defs/detections/assets.py", "defs/governance/assets.py",
                       "defs/warehouse/warehouse.py"]
    assert unchanged.SIDE_INPUTS["triage/suppressions.parquet"] == {"alerts", "governance_actions"}


def test_a_changed_setting_or_a_removed_output_recomputes(env, first):
    data, _, _, patch, _ = env
    tick(env)  # settle: everything recorded as it now is
    (data / "warehouse" / "int_user_activity_daily" / f"dt={DAY}" / "data.parquet").unlink()
    assets, _ = reported(env, tick(env))
    assert assets["int_user_activity_daily"] is False
    assert (data / "warehouse" / "int_user_activity_daily" / f"dt={DAY}" / "data.parquet").exists()
    assert assets["activities"] is True
    patch.setenv("DSASSETS_LATE_EVENT_HOURS", "7")
    assets, _ = reported(env, tick(env))
    assert not any(same for name, same in assets.items())


def test_a_backfill_always_recomputes(env, first):
    """Only the refresh asks to skip: a backfill of the same day rewrites its files."""
    data, definitions, instance, _, _ = env
    before = files(data)
    result = definitions.resolve_job_def("daily_pipeline").execute_in_process(
        instance=instance, partition_key=DAY.isoformat(),
        asset_selection=[dg.AssetKey("activities"), dg.AssetKey("int_user_activity_daily")])
    assert result.success
    after = files(data)
    assert after[f"warehouse/activities/dt={DAY}/data.parquet"] != before[f"warehouse/activities/dt={DAY}/data.parquet"]


def test_records_are_kept_for_the_days_a_refresh_can_still_reach(tmp_path):
    """One record per step and day; writing one drops those more than two days older."""

    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.transform import unchanged

    lake = Lake.at(tmp_path)
    for back in range(5, -1, -1):
        unchanged.remember(lake, "activities", DAY - timedelta(days=back), unchanged.Record("in", {}, "{}", "run"))
    kept = sorted(p.stem for p in (tmp_path / ".unchanged" / "activities").iterdir())
    assert kept == [(DAY - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert unchanged.recall(lake, "activities", DAY) == unchanged.Record("in", {}, "{}", "run")
    unchanged.forget(lake, "activities", DAY)
    assert unchanged.recall(lake, "activities", DAY) is None


@pytest.mark.parametrize("spelling", ["absolute", "home"])
def test_the_code_fingerprint_follows_policy_files_named_by_absolute_or_home_patterns(tmp_path, monkeypatch, spelling):
    """A refresh fingerprints the policy files the config names, however it names them: an edited
    policy recomputes, and a pattern outside the config's folder is no error."""
    from dsassets.lib.config.project import load_config
    from dsassets.lib.transform.unchanged import code_digest

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "policies").mkdir()
    policy = tmp_path / "policies" / "mine.yaml"
    policy.write_text("policies: []\n")
    pattern = str(tmp_path / "policies" / "*.yaml") if spelling == "absolute" else "~/policies/*.yaml"
    config_dir = tmp_path / "elsewhere"
    config_dir.mkdir()
    (config_dir / "dsassets.yaml").write_text(f"activity_policies:\n  files: ['{pattern}']\n")
    monkeypatch.setenv("DSASSETS_CONFIG", str(config_dir / "dsassets.yaml"))
    config = load_config(config_dir / "dsassets.yaml")
    before = code_digest(config)
    assert code_digest(config) == before
    policy.write_text("policies: []\n# edited\n")
    assert code_digest(config) != before
