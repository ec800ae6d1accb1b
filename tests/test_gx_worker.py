"""A refresh's raw-event checks validate in a worker process that imported GX while the run read.

The outcome must be what validating in the run's own process gives, on a day shaped unlike the
simulator's (two files, one without ``organizationId``, a repeated id, an event of the next day,
IPv6, a bad dotted quad, an empty address); the worker must see the run's environment as it is
now; a worker that dies must not fail the check; and a validation handed over ahead of its check
is collected once, and only by the run that handed it over.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import wait as ended
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsassets.lib.lake.event_validations import IP_PARSE_MOSTLY, ips_parse_unless_empty, read_day
from dsassets.lib.lake import gx_worker
from dsassets.lib.lake.expectations import REQUIRED_EVENT_COLUMNS, validate_raw_events
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET

DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, tzinfo=UTC)


def event(event_id: str, ip: str, at: datetime) -> dict:
    return {"eventId": event_id, "timestamp": at.isoformat(), "_event_time": at, "accountId": "acct-9",
            "organizationId": "org-3", "userId": "u-1", "object": "Envelope", "action": "Sent",
            "result": "Success", "ipAddress": ip}


@pytest.fixture(scope="module")
def day_reader(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    lake = Lake.at(root)
    folder = root / lake.dataset_path(DATASET) / f"dt={DAY}"
    folder.mkdir(parents=True)
    first = [event("e-1", "2001:db8::7", START + timedelta(hours=1)),
             event("e-2", "10.0.0.300", START + timedelta(hours=2)),
             event("e-3", "", START + timedelta(hours=3))]
    second = [event("e-3", "198.51.100.4", START + timedelta(hours=4)),
              event("e-4", "198.51.100.5", START + timedelta(days=1, minutes=5))]
    pq.write_table(pa.Table.from_pylist(first), folder / "data.parquet")
    pq.write_table(pa.Table.from_pylist(second).drop(["organizationId"]), folder / "part-late.parquet")
    columns = [*REQUIRED_EVENT_COLUMNS]
    return partial(read_day, str(root), None, columns, DAY)


@pytest.fixture
def worker():
    gx_worker.start()
    yield
    gx_worker.stop()


def pid_and_rows(frame) -> tuple[int, int]:
    return os.getpid(), len(frame)


def probe(frame, name: str) -> str | None:
    return os.environ.get(name)


def log_pid(frame, log: str) -> int:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    return os.getpid()


def logged(log) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def die_in_a_worker(frame) -> str:
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return "validated here"


def test_the_worker_gives_the_outcome_validating_in_process_gives(day_reader, worker):
    assert gx_worker.validate(pid_and_rows, day_reader)[1][0] != os.getpid()  # it ran elsewhere
    window = (START, START + timedelta(days=1))
    rows, structural = gx_worker.validate(validate_raw_events, day_reader, *window)
    assert rows == 5 and not structural.success
    assert {f["column"] for f in structural.failed} == {"eventId", "_in_partition"}
    assert (rows, structural) == gx_worker._run(validate_raw_events, day_reader, *window)
    rows, ips = gx_worker.validate(ips_parse_unless_empty, day_reader, IP_PARSE_MOSTLY)
    assert not ips.success and ips.failed[0]["examples"] == ["''", "'10.0.0.300'"]
    assert (rows, ips) == gx_worker._run(ips_parse_unless_empty, day_reader, IP_PARSE_MOSTLY)


def test_the_worker_reads_the_environment_as_it_is_when_it_validates(day_reader, worker, monkeypatch):
    gx_worker.validate(pid_and_rows, day_reader)  # started, under the old environment
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    assert gx_worker.validate(probe, day_reader, "AWS_ENDPOINT_URL_S3") == (5, "http://127.0.0.1:9000")


def test_a_dead_worker_or_none_started_validates_in_the_runs_process(day_reader, worker):
    assert gx_worker.validate(die_in_a_worker, day_reader) == (5, "validated here")
    assert gx_worker.validate(pid_and_rows, day_reader)[1][0] == os.getpid()
    # A refresh with nothing new ends the worker in the middle of its import, not 4 s later.
    gx_worker.start()
    importing = [process.sentinel for process in gx_worker._pool._processes.values()]
    gx_worker.stop()
    # Ended within 1.5 s: left to finish, the import alone takes over 3 s. (The sentinel, not
    # is_alive(): the pool's own thread may be the one that reaps the process.)
    assert importing and len(ended(importing, timeout=1.5)) == len(importing)
    assert gx_worker.validate(pid_and_rows, day_reader)[1][0] == os.getpid()


def test_a_validation_handed_over_ahead_runs_at_once_and_its_check_collects_it_once(day_reader, worker, tmp_path):
    log = tmp_path / "validated"
    gx_worker.submit(("run-1", "ips", DAY), log_pid, day_reader, str(log))
    for _ in range(200):  # it runs with no one asking for it yet
        if logged(log):
            break
        time.sleep(0.05)
    [worker_pid] = logged(log)
    assert worker_pid != os.getpid()
    assert gx_worker.validate(log_pid, day_reader, str(log), key=("run-1", "ips", DAY)) == (5, worker_pid)
    assert logged(log) == [worker_pid]  # collected, not validated again
    # Collected once: the same key again validates anew.
    gx_worker.validate(log_pid, day_reader, str(log), key=("run-1", "ips", DAY))
    assert len(logged(log)) == 2


def test_what_another_run_or_a_stopped_worker_handed_over_is_not_collected(day_reader, worker, tmp_path):
    log = tmp_path / "validated"
    gx_worker.submit(("run-1", "ips", DAY), pid_and_rows, day_reader)
    gx_worker.submit(("run-2", "ips", DAY), pid_and_rows, day_reader)  # a later run: run-1's is dropped
    gx_worker.validate(log_pid, day_reader, str(log), key=("run-1", "ips", DAY))
    assert len(logged(log)) == 1  # validated for this call, not run-1's leftover collected
    gx_worker.stop()
    gx_worker.submit(("run-3", "ips", DAY), pid_and_rows, day_reader)  # no worker: nothing handed over
    assert gx_worker.validate(log_pid, day_reader, str(log), key=("run-2", "ips", DAY)) == (5, os.getpid())
    assert gx_worker.validate(log_pid, day_reader, str(log), key=("run-3", "ips", DAY)) == (5, os.getpid())
