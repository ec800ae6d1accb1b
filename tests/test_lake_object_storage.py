"""DSASSETS_DATA_DIR=s3://bucket/prefix, against a real S3-compatible server (moto) on loopback.

The same backfill as a local one gives the same alerts; raw and mart objects land in the bucket;
``dsassets query`` reads the warehouse views over them; an upload that fails or is killed leaves
the previous object and nothing half-written; a bad URL is refused naming the setting; and the
secret key never reaches run storage, the warehouse file or an error message.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsassets import cli
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import RAW_SCHEMAS
from dsassets.lib.config.settings import ConfigError
from dsassets.lib.lake.storage import StorageError

from support.s3_server import FaultyLink, MotoServer
from support.standard_lake import END, EVENTS_PER_DAY, SEED, START

BUCKET = "dsassets-test"
# Never printed, stored or raised anywhere: asserted below.
SECRET = "wJalrXUtnFEMI-K7MDENG-s3-test-secret-9f2c"
KEY_ID = "AKIADSASSETSTEST0001"
DAY = date(2026, 3, 1)
DATASET = "raw_docusign_audit_events"

CREDENTIAL_VARS = ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
                   "DOCUSIGN_ORGANIZATION_ID", "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET")


@pytest.fixture(scope="module")
def s3():
    with MotoServer() as server:
        boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                     aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET).create_bucket(Bucket=BUCKET)
        yield server


def aws_env(patch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ENDPOINT_URL", endpoint)
    patch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    patch.setenv("AWS_REGION", "us-east-1")
    # Fail fast through the faulty link instead of botocore's default retries with backoff.
    patch.setenv("AWS_MAX_ATTEMPTS", "2")


@pytest.fixture
def env(s3, monkeypatch):
    aws_env(monkeypatch, s3.endpoint)
    return s3


def table(ids: list[str]) -> pa.Table:
    return pa.table({"eventId": pa.array(ids, pa.string())})


def parquet_file(path: Path, rows: int) -> Path:
    # Random-looking strings so the file is about as big as asked (compression cannot shrink it).
    pq.write_table(table([os.urandom(24).hex() for _ in range(rows)]), path, compression="none")
    return path


# ---------------------------------------------------------------------------------------------
# One interface, two backends


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_both_backends_publish_list_read_and_serve_duckdb_alike(backend, env, tmp_path):
    root = str(tmp_path / "lake") if backend == "local" else f"s3://{BUCKET}/backends"
    lake = Lake.at(root, None if backend == "local" else tmp_path / "local")
    lake.write_partition(table(["a", "b"]), DATASET, DAY)
    lake.write_partition(table(["c"]), DATASET, DAY + timedelta(days=1))
    # An incremental part file beside data.parquet is part of the day for every reader.
    with lake.temp_path() as tmp:
        pq.write_table(table(["d"]), tmp)
        lake.publish(tmp, DATASET, DAY, name="part-0001.parquet")
    lake.write_bytes("state/cursor.txt", b"cursor=42")

    assert lake.partitions(DATASET) == [DAY, DAY + timedelta(days=1)]
    assert lake.list_files(DATASET, DAY) == ["data.parquet", "part-0001.parquet"]
    assert lake.read_bytes("state/cursor.txt") == b"cursor=42"
    with pytest.raises(FileNotFoundError):
        lake.read_bytes("state/missing.txt")
    with lake.register(duckdb.connect()) as con:
        rows = con.execute(
            f"select dt::varchar, list_sort(list(eventId)) from read_parquet('{lake.glob(DATASET)}', "
            "hive_partitioning = true) group by all order by 1"
        ).fetchall()
    assert rows == [("2026-03-01", ["a", "b", "d"]), ("2026-03-02", ["c"])]
    lake.remove(lake.partition_path(DATASET, DAY, "part-0001.parquet"))
    assert lake.list_files(DATASET, DAY) == ["data.parquet"]
    assert not any(lake.tmp_dir.iterdir())  # scratch files are consumed or removed


def test_s3_lake_keeps_its_objects_in_the_bucket_and_local_state_out_of_it(env, tmp_path):
    lake = Lake.at(f"s3://{BUCKET}/placement", tmp_path / "local")
    lake.write_partition(table(["a"]), DATASET, DAY)
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=env.endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix="placement/")["Contents"]]
    assert keys == ["placement/raw/docusign/audit_events/dt=2026-03-01/data.parquet"]
    assert lake.partition_file(DATASET, DAY) == f"s3://{BUCKET}/{keys[0]}"
    assert lake.tmp_dir.parent == (tmp_path / "local").resolve()


def _write_in_child(root: str, local: str, queue) -> None:
    lake = Lake.at(root, local)
    lake.write_partition(table(["child"]), DATASET, DAY + timedelta(days=1))
    queue.put(lake.partitions(DATASET))


def test_a_forked_process_can_use_the_lake_its_parent_opened(env, tmp_path):
    # Executors fork step processes after the parent has used the lake (and its s3fs event loop).
    root = f"s3://{BUCKET}/forked"
    Lake.at(root, tmp_path).write_partition(table(["parent"]), DATASET, DAY)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_write_in_child, args=(root, str(tmp_path), queue))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == [DAY, DAY + timedelta(days=1)]


# ---------------------------------------------------------------------------------------------
# Failures leave the previous object and nothing half-written


def test_an_upload_cut_off_mid_transfer_keeps_the_previous_object(env, tmp_path, monkeypatch):
    lake = Lake.at(f"s3://{BUCKET}/cut", tmp_path / "local")
    lake.write_partition(table(["old"]), DATASET, DAY)
    before = lake.read_bytes(lake.partition_path(DATASET, DAY))
    big = parquet_file(tmp_path / "new.parquet", 20_000)
    with FaultyLink(env.port, cut_after=200_000, mode="drop") as link:
        monkeypatch.setenv("AWS_ENDPOINT_URL", link.endpoint)
        through_link = Lake.at(f"s3://{BUCKET}/cut", tmp_path / "local")
        with pytest.raises(StorageError) as failure:
            through_link.publish(big, DATASET, DAY)
        assert link.tripped.is_set()
    message = str(failure.value)
    assert f"s3://{BUCKET}/cut/raw/docusign/audit_events/dt=2026-03-01/data.parquet" in message
    assert "DSASSETS_DATA_DIR" in message
    assert SECRET not in message and SECRET not in repr(failure.value.__cause__)
    assert lake.read_bytes(lake.partition_path(DATASET, DAY)) == before
    assert lake.list_files(DATASET, DAY) == ["data.parquet"]
    assert big.exists()  # not consumed: the caller's scratch cleanup removes it


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path
    from dsassets.lib.lake.lake import Lake

    lake = Lake.at(sys.argv[1], sys.argv[2])
    lake.publish(Path(sys.argv[3]), "raw_docusign_audit_events", date(2026, 3, 1))
    """
)


def test_a_writer_killed_mid_upload_leaves_the_previous_object_and_no_partial_one(env, tmp_path):
    root = f"s3://{BUCKET}/killed"
    lake = Lake.at(root, tmp_path / "local")
    lake.write_partition(table(["old"]), DATASET, DAY)
    before = lake.read_bytes(lake.partition_path(DATASET, DAY))
    big = parquet_file(tmp_path / "new.parquet", 20_000)
    with FaultyLink(env.port, cut_after=200_000, mode="stall") as link:
        child_env = {**os.environ, "AWS_ENDPOINT_URL": link.endpoint}
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, root, str(tmp_path / "local"), str(big)],
                                env=child_env)
        try:
            assert link.tripped.wait(60), "the writer never got to upload"
            time.sleep(0.2)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    client = boto3.client("s3", endpoint_url=env.endpoint)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="killed/")["Contents"]]
    assert keys == ["killed/raw/docusign/audit_events/dt=2026-03-01/data.parquet"]
    assert lake.read_bytes(lake.partition_path(DATASET, DAY)) == before


def test_a_missing_bucket_is_an_error_naming_the_url_and_the_setting(env, tmp_path):
    lake = Lake.at("s3://no-such-bucket-here/lake", tmp_path / "local")
    with pytest.raises(StorageError, match=r"s3://no-such-bucket-here/lake/raw/.*DSASSETS_DATA_DIR"):
        lake.write_partition(table(["a"]), DATASET, DAY)


# ---------------------------------------------------------------------------------------------
# Settings


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("gs://bucket/lake", "only s3:// URLs or local paths"),
        ("s3://Bad_Bucket/lake", "not a valid bucket name"),
        ("s3:///lake", "not a valid bucket name"),
        ("s3://bucket/lake?versionId=1", "no query or fragment"),
        ("s3://AKIA:hunter2@bucket/lake", "without credentials"),
        ("gs://AKIA:hunter2@bucket/lake", "only s3:// URLs"),
        ("s3://bucket/a/../b", "'..' segment"),
    ],
)
def test_a_bad_data_dir_url_is_refused_naming_the_setting(value, says, monkeypatch, capsys):
    monkeypatch.setenv("DSASSETS_DATA_DIR", value)
    assert cli.main(["query", "select 1"]) == 2
    err = capsys.readouterr().err
    assert "DSASSETS_DATA_DIR" in err and says in err
    assert "hunter2" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AWS_ENDPOINT_URL", "http://s3.example.com:9000", "plain http is only allowed for loopback"),
        ("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:9000", "not an http(s) URL"),
        ("AWS_ENDPOINT_URL", "https://AKIA:hunter2@s3.example.com", "must not carry credentials"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_it(name, value, says, monkeypatch, tmp_path):
    for other in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as refused:
        Lake.at(f"s3://{BUCKET}/lake", tmp_path)
    assert says in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_a_local_dir_beside_a_local_data_dir_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="DSASSETS_LOCAL_DIR.*only used when DSASSETS_DATA_DIR is an s3://"):
        Lake.at(tmp_path / "data", tmp_path / "elsewhere")


# ---------------------------------------------------------------------------------------------
# The documented backfill on S3, against the same one on local disk (the session's standard lake)


def _backfill(data_dir: str, local_dir: Path, s3_endpoint: str) -> None:
    """``dsassets backfill`` of the standard days into ``data_dir`` (an s3:// URL), state in ``local_dir``."""
    patch = pytest.MonkeyPatch()
    for name in CREDENTIAL_VARS:
        patch.delenv(name, raising=False)
    aws_env(patch, s3_endpoint)
    patch.setenv("DSASSETS_LOCAL_DIR", str(local_dir))
    patch.setenv("DSASSETS_DATA_DIR", data_dir)
    patch.setenv("DAGSTER_HOME", str(local_dir / "dagster"))
    patch.setenv("DSASSETS_SIMULATOR_SEED", str(SEED))
    patch.setenv("DSASSETS_SIMULATOR_EVENTS_PER_DAY", str(EVENTS_PER_DAY))
    try:
        assert cli.main(["backfill", START.isoformat(), END.isoformat()]) == 0
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def backfills(s3, standard_lake, tmp_path_factory):
    """The session's local ``dsassets backfill`` and the same backfill into the bucket."""
    state = tmp_path_factory.mktemp("s3-local-dir")
    started = time.monotonic()
    _backfill(f"s3://{BUCKET}/e2e", state, s3.endpoint)
    print(f"\nbackfill wall time: S3 (moto) {time.monotonic() - started:.0f}s")
    return {"local": standard_lake, "state": state, "s3": s3}


def _alerts(con) -> list[tuple]:
    return con.execute("select * from alerts order by alert_id").fetchall()


def test_s3_backfill_gives_the_same_alerts_as_the_local_one(backfills, monkeypatch):
    aws_env(monkeypatch, backfills["s3"].endpoint)
    lake = Lake.at(f"s3://{BUCKET}/e2e", backfills["state"])
    with duckdb.connect(str(backfills["local"] / "warehouse.duckdb"), read_only=True) as con:
        local = _alerts(con)
    with lake.register(duckdb.connect(str(backfills["state"] / "warehouse.duckdb"), read_only=True)) as con:
        remote = _alerts(con)
    assert local, "the simulator's week should raise some alerts"
    assert remote == local


def test_s3_backfill_puts_raw_and_mart_objects_in_the_bucket(backfills):
    client = boto3.client("s3", endpoint_url=backfills["s3"].endpoint, region_name="us-east-1",
                          aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
    keys = {o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="e2e/")
            for o in page.get("Contents", [])}
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    for dataset in RAW_SCHEMAS:
        for day in days:
            assert f"e2e/{Lake.dataset_path(dataset)}/dt={day}/data.parquet" in keys, dataset
    for mart in ("activities", "users", "alerts", "posture_findings"):
        for day in days:
            assert f"e2e/warehouse/{mart}/dt={day}/data.parquet" in keys, mart
    assert "e2e/governance/governance_actions.parquet" in keys
    # What cannot live on S3 is in the local directory, not in the bucket.
    assert not any(k.endswith(".duckdb") or "/dagster/" in k or "/.tmp/" in k for k in keys)
    assert (backfills["state"] / "warehouse.duckdb").is_file()
    assert (backfills["state"] / "dagster").is_dir()


def test_dsassets_query_reads_the_s3_warehouse(backfills, monkeypatch, capsys):
    aws_env(monkeypatch, backfills["s3"].endpoint)
    monkeypatch.setenv("DSASSETS_DATA_DIR", f"s3://{BUCKET}/e2e")
    monkeypatch.setenv("DSASSETS_LOCAL_DIR", str(backfills["state"]))
    with duckdb.connect(str(backfills["local"] / "warehouse.duckdb"), read_only=True) as con:
        events = con.execute("select count(*) from activities").fetchall()[0][0]
    capsys.readouterr()
    assert cli.main(["query", "select count(*) as n_events from activities"]) == 0
    assert str(events) in capsys.readouterr().out
    assert cli.main(["query", "select count(*) from user_timeline('nobody@example.com', "
                              f"date '{START}', date '{END}')"]) == 0


def test_the_secret_key_reaches_neither_run_storage_nor_the_warehouse_file(backfills):
    written = [p for p in backfills["state"].rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in written)
    assert any(p.suffix == ".db" for p in written)  # the instance's event log
    leaked = [p for p in written if SECRET.encode() in p.read_bytes()]
    assert not leaked


def test_an_intraday_refresh_on_s3_appends_parts_resumes_from_the_live_cursor_and_completes_the_day(env, tmp_path):
    from datetime import UTC, datetime

    from dsassets.lib.clients.docusign import DocuSignClient
    from dsassets.lib.lake.live_stream import advance_stream, load_position
    from dsassets.lib.lake.raw_events import read_state
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    day = date(2026, 10, 20)
    start = datetime(2026, 10, 20, tzinfo=UTC)
    now = [start]
    sim = DocuSignSimulator(SimulatorConfig(seed=7, events_per_day=500), now=lambda: now[0])
    lake = Lake.at(f"s3://{BUCKET}/refresh", tmp_path / "local")
    for hours, files in ((8, ["part"]), (16, ["part", "part"]), (24.4, ["data.parquet"])):
        now[0] = start + timedelta(hours=hours)
        with DocuSignClient(sim.docusign_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
            advance_stream(lake, lambda cursor: client.audit_events(start, None, cursor=cursor),
                        day=day, source="simulator", extracted_at=now[0],
                        complete_at=start + timedelta(days=1, minutes=15))
        assert [n if n == "data.parquet" else n[:4] for n in lake.list_files(DATASET, day)] == files
    assert read_state(lake, day).complete and load_position(lake).cursor
    with lake.register(duckdb.connect()) as con:
        ids = con.execute(f"select eventId from read_parquet('{lake.partition_file(DATASET, day, '*.parquet')}')").fetchall()
    assert sorted(i for (i,) in ids) == sorted(e["eventId"] for e in sim.events(day))
