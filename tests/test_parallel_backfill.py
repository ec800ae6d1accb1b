"""A parallel backfill on a PostgreSQL-backed instance with its lake in S3 gives the serial run's results.

The serial backfill is the documented one (one in-process run, SQLite instance, local lake).
The parallel one is the production shape: ``dsassets backfill --parallel 2``, a Dagster asset
backfill in runs of two days, launched by Dagster's daemons at most two at a time, against a
real PostgreSQL server (the ``pgserver`` wheel), with ``DSASSETS_DATA_DIR`` an ``s3://`` prefix
on a real S3-compatible server (moto on loopback). Detections read a 30-day lookback and users
read every earlier snapshot, so results only match if Dagster ran the days in lookback order.

It is also the suite's one backfill into a bucket (each costs minutes against moto): the objects
it leaves there, ``dsassets query`` over them, and the secret key in no file of either run.
"""

from datetime import date

import boto3
import dagster as dg
import duckdb
import pgserver  # the dev extra's PostgreSQL binaries: a missing install fails here, never skips
import pytest

from dsassets import cli
from dsassets.lib.detections.config import POLICIES
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import RAW_SCHEMAS

from support.s3_server import MotoServer, point_at

pytestmark = pytest.mark.slow

# Not the session's standard lake (support.standard_lake, 8-10 November): these four days hold
# suspicious-IP alerts, which read the lookback's widely used addresses; those three do not.
START, END = date(2026, 11, 6), date(2026, 11, 9)
SEED, EVENTS_PER_DAY = 5, 300
SECRET_ENV = ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
              "DOCUSIGN_ORGANIZATION_ID", "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET",
              "DSASSETS_CONFIG", "DSASSETS_IDP_EXPORT_FILE", "DSASSETS_BACKFILL_DAYS_PER_RUN",
              "DSASSETS_LOCAL_DIR")
LAKE = "s3://dsassets-parallel/lake"
# Never printed, stored or raised anywhere: asserted below.
SECRET = "parallel-test-secret-5e1d"


def _backfill(data, home, *extra: str, lake: str | None = None) -> None:
    patch = pytest.MonkeyPatch()
    for name in SECRET_ENV:
        patch.delenv(name, raising=False)
    patch.setenv("DSASSETS_DATA_DIR", lake or str(data))
    if lake:
        patch.setenv("DSASSETS_LOCAL_DIR", str(data))
    patch.setenv("DAGSTER_HOME", str(home))
    patch.setenv("DSASSETS_SIMULATOR_SEED", str(SEED))
    patch.setenv("DSASSETS_SIMULATOR_EVENTS_PER_DAY", str(EVENTS_PER_DAY))
    try:
        assert cli.main(["backfill", START.isoformat(), END.isoformat(), *extra]) == 0
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    data = tmp_path_factory.mktemp("postgres") / "pgdata"
    server = pgserver.get_server(data, cleanup_mode="stop")
    server.psql("create database dagster;")
    try:
        yield server.get_uri("dagster"), data
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def s3():
    with MotoServer() as server:
        patch = pytest.MonkeyPatch()
        point_at(patch, server.endpoint, "AKIAPARALLELTEST0001", SECRET)
        try:
            boto3.client("s3").create_bucket(Bucket="dsassets-parallel")
            yield server
        finally:
            patch.undo()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, postgres, s3):
    postgres_url, _ = postgres
    serial = tmp_path_factory.mktemp("serial")
    _backfill(serial, serial / "dagster")
    parallel = tmp_path_factory.mktemp("parallel")
    home = parallel / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: {postgres_url!r}\n")
    _backfill(parallel, home, "--parallel", "2", lake=LAKE)
    return serial, parallel, home


def _days() -> list[date]:
    return [date.fromordinal(d) for d in range(START.toordinal(), END.toordinal() + 1)]


def _rows(data, relation: str, order: str) -> list[tuple]:
    """From the warehouse file in ``data``: the serial run's views name local files, the parallel one's S3."""
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        Lake.at(LAKE, data).register(con)
        return con.execute(f"select * from {relation} order by {order}").fetchall()


def test_parallel_alerts_equal_the_serial_runs_row_for_row(runs):
    serial, parallel, _ = runs
    alerts = _rows(serial, "alerts", "alert_id")
    # The sample holds alerts that read earlier days (de-duplication and widely used addresses
    # over the lookback).
    assert {"anonymous_ip", "suspicious_ip"} <= {row[1] for row in alerts}
    assert _rows(parallel, "alerts", "alert_id") == alerts
    # The parallel run's lake really is the bucket: nothing of it on local disk.
    assert Lake.at(LAKE, parallel).partitions("raw_docusign_audit_events") == _days()
    assert not (parallel / "raw").exists() and not (parallel / "warehouse").exists()


def test_parallel_marts_with_lookbacks_equal_the_serial_runs(runs):
    serial, parallel, _ = runs
    # activities carries extracted_at, the wall-clock time of extraction, which no two runs share.
    for relation, order in (("users_history", "dt, user_id"), ("user_accounts_history", "all"),
                            ("(select * exclude (extracted_at) from activities)", "event_id"),
                            ("posture_changes", "all")):
        rows = _rows(serial, relation, order)
        assert rows, relation
        assert _rows(parallel, relation, order) == rows, relation


def _materialized_at(instance, key: str) -> dict[str, float]:
    records = instance.fetch_materializations(dg.AssetKey(key), limit=1000).records
    return {r.partition_key: r.timestamp for r in records}


def test_postgres_instance_records_a_backfill_of_overlapping_runs_in_lookback_order(runs):
    _, _, home = runs
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        [backfill] = instance.get_backfills()
        assert backfill.status.value == "COMPLETED_SUCCESS"
        backfill_runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill.backfill_id))
        stats = [instance.get_run_stats(r.run_id) for r in backfill_runs]
        # Two-day runs, two at a time: some runs really ran side by side.
        spans = sorted((s.start_time, s.end_time) for s in stats)
        assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))
        activities = _materialized_at(instance, "activities")
        assert len(activities) == (END - START).days + 1
        for policy in POLICIES:
            for day, at in _materialized_at(instance, f"det_{policy}").items():
                earlier = [ts for d, ts in activities.items() if d <= day]
                assert earlier and max(earlier) < at, (policy, day)


def test_governance_ledger_had_one_writer_at_a_time_and_records_what_the_serial_run_did(runs):
    serial, parallel, home = runs
    with dg.DagsterInstance.from_config(str(home)) as instance:
        steps = sorted((s.start_time, s.end_time) for run in instance.get_runs()
                       for s in instance.get_run_step_stats(run.run_id, step_keys=["governance_actions"]))
        acted_on = _materialized_at(instance, "governance_actions")
    # How Dagster groups the days into runs depends on when each parent finished (a run of two
    # days, or of one when only one day's alerts were ready at that tick): at least the two runs'
    # worth of steps, every day acted on, and never two steps writing the ledger at once.
    assert len(steps) >= 2
    assert sorted(acted_on) == [d.isoformat() for d in _days()]
    assert all(earlier[1] <= later[0] for earlier, later in zip(steps, steps[1:])), steps
    ledger = "(select alert_id, action, mode, status, reason from governance_actions)"
    assert _rows(parallel, ledger, "all") == _rows(serial, ledger, "all")
    assert _rows(serial, ledger, "all")


def test_the_bucket_holds_every_raw_and_mart_day_and_nothing_that_must_stay_local(runs):
    _, parallel, _ = runs
    bucket, prefix = LAKE.removeprefix("s3://").split("/", 1)
    keys = {o["Key"] for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/") for o in page.get("Contents", [])}
    for dataset in RAW_SCHEMAS:
        for day in _days():
            assert f"{prefix}/{Lake.dataset_path(dataset)}/dt={day}/data.parquet" in keys, dataset
    for mart in ("activities", "users", "alerts", "posture_findings"):
        for day in _days():
            assert f"{prefix}/warehouse/{mart}/dt={day}/data.parquet" in keys, mart
    assert f"{prefix}/governance/governance_actions.parquet" in keys
    # What cannot live on S3 is in the local directory, not in the bucket.
    assert not any(k.endswith(".duckdb") or "/dagster/" in k or "/.tmp/" in k for k in keys)
    assert (parallel / "warehouse.duckdb").is_file()


def test_dsassets_query_reads_the_warehouse_over_the_bucket(runs, monkeypatch, capsys):
    serial, parallel, _ = runs
    monkeypatch.setenv("DSASSETS_DATA_DIR", LAKE)
    monkeypatch.setenv("DSASSETS_LOCAL_DIR", str(parallel))
    [(events,)] = _rows(serial, "(select count(*) from activities)", "all")
    capsys.readouterr()
    assert cli.main(["query", "select count(*) as n_events from activities"]) == 0
    assert str(events) in capsys.readouterr().out
    assert cli.main(["query", "select count(*) from user_timeline('nobody@example.com', "
                              f"date '{START}', date '{END}')"]) == 0


def test_the_secret_key_reaches_no_file_of_either_run(runs, postgres):
    """Run storage (SQLite for the serial run, PostgreSQL's files for the parallel one), the
    warehouse files, logs and scratch: the key was in both runs' environment."""
    serial, parallel, _ = runs
    _, pgdata = postgres
    written = [p for root in (serial, parallel, pgdata) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in written)
    assert any(p.suffix == ".db" for p in written)  # the serial run's event log
    assert not [p for p in written if SECRET.encode() in p.read_bytes()]
