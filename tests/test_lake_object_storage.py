"""DSASSETS_DATA_DIR=s3://bucket/prefix, against a real S3-compatible server (moto) on loopback.

An upload that fails or is killed leaves the previous object and nothing half-written; an
intraday refresh appends and resumes on S3; a bad URL is refused naming the setting; and the
secret key never reaches an error message. A whole backfill into a bucket (the same alerts as on
local disk, raw and mart objects in the bucket, ``dsassets query`` over them, the secret in no
file) is ``test_parallel_backfill``'s: one backfill on S3 per suite, the parallel one.
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
from dsassets.lib.config.settings import ConfigError
from dsassets.lib.lake.storage import StorageError

from support.s3_server import FaultyLink, MotoServer, point_at

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
    point_at(patch, endpoint, KEY_ID, SECRET)
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
    # What a refresh step fingerprints (lib/transform/unchanged): every file but the skipped
    # folders, each with a stamp that a rewrite changes and nothing else does.
    day_dir = f"{lake.dataset_path(DATASET)}/dt={DAY}"
    next_file = lake.partition_path(DATASET, DAY + timedelta(days=1))
    stamps = lake.stamps("", lambda rel: rel == "state")
    assert sorted(stamps) == [f"{day_dir}/data.parquet", f"{day_dir}/part-0001.parquet", next_file]
    assert "state/cursor.txt" in lake.stamps("", lambda rel: False)
    assert lake.stamps("", lambda rel: rel == "state") == stamps
    lake.write_partition(table(["c", "e"]), DATASET, DAY + timedelta(days=1))
    again = lake.stamps("", lambda rel: rel == "state")
    assert {rel for rel in stamps if again[rel] != stamps[rel]} == {next_file}
    lake.remove(lake.partition_path(DATASET, DAY, "part-0001.parquet"))
    assert lake.list_files(DATASET, DAY) == ["data.parquet"]
    assert not any(lake.tmp_dir.iterdir())  # scratch files are consumed or removed


def test_duckdb_on_s3_sees_another_writer_at_its_next_query_without_a_head_per_file(env, tmp_path, monkeypatch):
    # DuckDB takes a file's size and date from the listing its glob made (lib/lake/storage.py,
    # ListedInfo), not from a HEAD per open. Another process that rewrites, deletes or adds a file
    # between two queries must still be seen by the second one, globbed or named.
    lake = Lake.at(f"s3://{BUCKET}/listed", tmp_path / "local")
    lake.write_partition(table(["a", "b"]), DATASET, DAY)
    lake.write_partition(table(["c"]), DATASET, DAY + timedelta(days=1))
    sent: list[str] = []
    reader = lake.store.reader
    real_call = reader._call_s3

    async def counted(method, *args, **kwargs):
        sent.append(method)
        return await real_call(method, *args, **kwargs)

    monkeypatch.setattr(reader, "_call_s3", counted)
    with lake.register(duckdb.connect()) as con:
        def by_day():
            return con.execute(
                f"select dt::varchar, list_sort(list(eventId)) from read_parquet('{lake.glob(DATASET)}', "
                "hive_partitioning = true) group by all order by 1"
            ).fetchall()

        def first_day():
            return con.execute(
                f"select list_sort(list(eventId)) from read_parquet('{lake.partition_file(DATASET, DAY)}')"
            ).fetchone()[0]

        assert by_day() == [("2026-03-01", ["a", "b"]), ("2026-03-02", ["c"])]
        assert "head_object" not in sent and "list_objects_v2" in sent
        assert first_day() == ["a", "b"]

        other = boto3.client("s3", endpoint_url=env.endpoint)
        key = lake.partition_path(DATASET, DAY)
        bigger = parquet_file(tmp_path / "bigger.parquet", 500)
        other.put_object(Bucket=BUCKET, Key=f"listed/{key}", Body=bigger.read_bytes())
        other.delete_object(Bucket=BUCKET, Key=f"listed/{lake.partition_path(DATASET, DAY + timedelta(days=1))}")
        added = parquet_file(tmp_path / "added.parquet", 3)
        other.put_object(Bucket=BUCKET, Key=f"listed/{lake.partition_path(DATASET, DAY + timedelta(days=2))}",
                         Body=added.read_bytes())

        assert con.execute(f"select count(*) from read_parquet('{lake.glob(DATASET)}')").fetchone()[0] == 503
        assert len(first_day()) == 500
        assert [d for d, _ in by_day()] == ["2026-03-01", "2026-03-03"]


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
