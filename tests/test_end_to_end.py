"""The documented backfill command end to end on the simulator: lake, warehouse, runs in the instance."""

import shutil
from datetime import datetime, time, timedelta, timezone

import dagster as dg
import duckdb
import pytest

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.lake.schemas import RAW_SCHEMAS
from dsassets.simulator import DocuSignSimulator, SimulatorConfig

from support.standard_lake import END, EVENTS_PER_DAY, SEED, START, standard_env


@pytest.fixture(scope="module")
def backfilled(standard_lake):
    """The session's ``dsassets backfill`` of START..END (only read here)."""
    return standard_lake


def test_every_raw_dataset_has_every_day(backfilled):
    lake = Lake.at(backfilled)
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    for dataset in RAW_SCHEMAS:
        assert lake.partitions(dataset) == days, dataset


def test_runs_are_recorded_in_the_instance_under_the_data_dir(backfilled):
    with dg.DagsterInstance.from_config(str(backfilled / "dagster")) as instance:
        runs = instance.get_runs()
    assert {r.job_name for r in runs} == {"daily_pipeline", "warehouse_refresh"}
    assert all(r.is_success for r in runs)


def test_user_states_match_the_simulators_ground_truth(backfilled):
    sim = DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=EVENTS_PER_DAY))
    end_of_range = datetime.combine(END + timedelta(days=1), time.min, timezone.utc)
    expected = {u["user_id"]: (u["state"], u["is_admin"]) for u in sim.expected_user_states(end_of_range)}
    with duckdb.connect(str(backfilled / "warehouse.duckdb"), read_only=True) as con:
        rows = con.sql(
            "select user_id, state, admin_in_any_membership, organization_user_status from users"
        ).fetchall()
    # The simulator counts admin rights on closed memberships too (a deleted former admin).
    got = {user_id: (state, admin) for user_id, state, admin, _ in rows}
    assert {state for state, _ in expected.values()} == {"active", "partially_active", "deleted"}
    assert any(admin for _, admin in expected.values())
    mismatches = {u: (want, got.get(u)) for u, want in expected.items() if got.get(u) != want}
    assert not mismatches
    # Users who left the organization during the range stay visible, as deleted.
    for user_id, state, _, org_status in rows:
        if user_id not in expected:
            assert (state, org_status) == ("deleted", "removed")


def test_one_documented_query_answers_what_a_user_did_from_where_in_which_account(backfilled):
    with duckdb.connect(str(backfilled / "warehouse.duckdb"), read_only=True) as con:
        email = con.sql(
            "select user_email from activities where user_email is not null "
            "group by 1 order by count(*) desc, 1 limit 1"
        ).fetchall()[0][0]
        rows = con.sql(
            "select * from user_timeline($email, $start::date, $end::date)",
            params={"email": email, "start": START.isoformat(), "end": (END + timedelta(days=1)).isoformat()},
        ).fetchall()
        columns = [c[0] for c in con.sql("describe select * from user_timeline('x', date '2026-01-01', date '2026-01-02')").fetchall()]
    assert rows
    for needed in ("account_id", "ip_address", "country_code"):
        assert needed in columns


def test_the_findings_summary_matches_the_warehouse_and_its_queries_return_rows(backfilled):
    from dsassets.console.summary import MAX_ALERT_LINES, SEVERITY_ORDER, summary_lines

    lines = summary_lines(Lake.at(backfilled), START, END, "dsassets")
    with duckdb.connect(str(backfilled / "warehouse.duckdb"), read_only=True) as con:
        # The summary lists the most severe first and at most MAX_ALERT_LINES of them.
        alerts = con.sql(f"select severity, title from alerts order by {SEVERITY_ORDER}, partition_date, title"
                         ).fetchall()
        accounts = [r[0] for r in con.sql(
            "select scope_name from posture_scores where scope = 'account' and dt = ?", params=[END]).fetchall()]
        assert lines[1].startswith(f"Alerts: {len(alerts)}")
        for severity, title in alerts[:MAX_ALERT_LINES]:
            assert any(line.split()[:1] == [severity] and title[:40] in line for line in lines)
        posture = next(line for line in lines if line.startswith(f"Posture on {END}"))
        assert accounts and all(name in posture for name in accounts)
        queries = [line.split(" query ", 1)[1].strip('"') for line in lines if line.startswith("  dsassets query ")]
        assert len(queries) == 2
        for sql in queries:
            assert con.sql(sql).fetchall(), sql
    assert any(line.startswith("Governance: ") for line in lines)


def test_marts_alerts_and_posture_materializations_carry_their_column_schema(backfilled):
    with dg.DagsterInstance.from_config(str(backfilled / "dagster")) as instance:
        for name, column in (("users", "state"), ("alerts", "alert_id"), ("posture_scores", "score_pct"),
                             ("stg_docusign__audit_events", "event_id")):
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            schema = event.asset_materialization.metadata["dagster/column_schema"].schema
            assert column in {c.name for c in schema.columns}, name
        users = instance.get_latest_materialization_event(dg.AssetKey("users"))
        state = next(c for c in users.asset_materialization.metadata["dagster/column_schema"].schema.columns
                     if c.name == "state")
        assert "partially_active" in state.description


def test_the_cli_prepares_the_instance_and_keeps_dagsters_log_in_a_file(backfilled):
    home = backfilled / "dagster"
    assert "enabled: false" in (home / "dagster.yaml").read_text()  # no telemetry banner
    # The UI started later on this instance lists the backfilled days, not every day since 2025.
    assert f"DSASSETS_START_DATE={START.isoformat()}" in (home / "dsassets.env").read_text()
    log = (backfilled / "logs" / "dsassets.log").read_text()
    assert "STEP_SUCCESS" in log and "RUN_SUCCESS" in log


# 1/32 of the default (2GB). At 32MB `activities` stops with DuckDB's Out of Memory error even on
# these few hundred events a day (its scans' and joins' own buffers), so this is near the floor.
LOW_MEMORY_LIMIT = "64MB"


def test_models_baselines_and_detections_under_a_low_memory_limit_give_the_same_tables(backfilled, tmp_path):
    """``DSASSETS_DUCKDB_MEMORY_LIMIT`` caps every step's DuckDB session; under a low cap the SQL
    assets still run and write exactly what the default wrote (this lake is too small to make
    them spill: ``dsassets bench`` measures memory at volume)."""
    from dsassets.defs.jobs import DAILY_GROUPS
    from dsassets.definitions import defs
    from dsassets.lib.transform import sql
    from dsassets.tools.compare_outputs import snapshot

    data = tmp_path / "lake"
    shutil.copytree(backfilled / "raw", data / "raw")  # the SQL assets' input, nothing they wrote
    (tmp_path / "dagster").mkdir()
    graph = defs().resolve_asset_graph()
    sql_groups = [g for g in DAILY_GROUPS if g not in ("raw", "governance", "notify")]
    with pytest.MonkeyPatch.context() as patch:
        standard_env(patch, data, tmp_path / "dagster")
        patch.setenv("DSASSETS_DUCKDB_MEMORY_LIMIT", LOW_MEMORY_LIMIT)
        with sql.session(Lake.at(data)) as con, duckdb.connect() as capped:
            capped.execute(f"set memory_limit = '{LOW_MEMORY_LIMIT}'")
            setting = "select current_setting('memory_limit')"
            assert con.execute(setting).fetchone() == capped.execute(setting).fetchone()
        with dg.DagsterInstance.get() as instance:
            result = defs().resolve_job_def("daily_pipeline").execute_in_process(
                instance=instance,
                asset_selection=list(dg.AssetSelection.groups(*sql_groups).resolve(graph)),
                tags=range_tags(START, END),
            )
        assert result.success
    written = {name: table for name, table in snapshot(backfilled).items() if name.startswith("warehouse/")}
    assert written and {name: table for name, table in snapshot(data).items() if name.startswith("warehouse/")} == written
