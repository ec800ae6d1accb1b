"""Intra-day refresh of the audit events: resume from the stored cursor, append, dedupe, complete the day.

The simulator's clock is moved through a day; each refresh reads the Monitor stream only
from where the previous one stopped, and the day's files always equal what one whole
extraction of the same moment would hold.
"""

from datetime import UTC, date, datetime, time, timedelta

import httpx
import pyarrow.parquet as pq
import pytest

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.live_stream import advance_stream, load_position
from dsassets.lib.lake.raw_events import DATASET, read_state, write_event_partitions
from dsassets.simulator import DocuSignSimulator, SimulatorConfig

DAY = date(2026, 10, 20)
START = datetime.combine(DAY, time(), UTC)
END = START + timedelta(days=1)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Recording(httpx.BaseTransport):
    """The simulator's transport, remembering the Monitor cursors asked for."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner, self.cursors = inner, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "stream" in request.url.path:
            self.cursors.append(request.url.params.get("cursor"))
        return self.inner.handle_request(request)


@pytest.fixture
def world():
    clock = Clock(START)
    sim = DocuSignSimulator(SimulatorConfig(seed=7, events_per_day=2000), now=clock)
    return sim, clock


def refresh(lake, sim, transport, *, fail_after_pages=None):
    def read_pages(cursor):
        with DocuSignClient(sim.docusign_settings(monitor_page_limit=200), transport=transport,
                            sleep=lambda s: None) as client:
            for n, page in enumerate(client.audit_events(START, None, cursor=cursor)):
                if fail_after_pages is not None and n == fail_after_pages:
                    raise RuntimeError("connection lost mid-refresh")
                yield page

    return advance_stream(lake, read_pages, day=DAY, source="simulator", extracted_at=sim.now(),
                       complete_at=END + timedelta(minutes=15))


def rows(lake: Lake) -> dict[str, str]:
    table = pq.read_table([lake.partition_file(DATASET, DAY, n) for n in lake.list_files(DATASET, DAY)],
                          columns=["eventId", "_raw"])
    ids = table.column("eventId").to_pylist()
    assert len(ids) == len(set(ids)), "an event stored twice"
    return dict(zip(ids, table.column("_raw").to_pylist()))


def whole(tmp_path, sim) -> dict[str, str]:
    lake = Lake.at(tmp_path / "whole")
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
        write_event_partitions(lake, client.audit_events(START, END), start=START, end=END,
                               source="simulator", extracted_at=sim.now())
    return rows(lake)


def test_refreshes_through_the_day_resume_where_the_last_stopped_and_end_with_the_whole_day(tmp_path, world):
    sim, clock = world
    lake = Lake.at(tmp_path / "lake")
    transport = Recording(sim.transport())
    last_cursor = None
    for hour in (1, 4, 9, 10, 17, 23):
        clock.at = START + timedelta(hours=hour, minutes=15)
        transport.cursors.clear()
        done = refresh(lake, sim, transport)
        assert not done.complete
        # Resumed from the stored cursor: no page of the day is read twice.
        assert transport.cursors[0] == (last_cursor or "2026-10-20T00:00:00Z")
        assert done.resumed_from == last_cursor
        last_cursor = read_state(lake, DAY).cursor
        assert rows(lake) == whole(tmp_path / f"h{hour}", sim)  # what a whole read now would hold
    assert len(lake.list_files(DATASET, DAY)) == 6  # one part per refresh
    # After midnight plus the ingestion lag the day completes: compacted into one file.
    clock.at = END + timedelta(minutes=20)
    done = refresh(lake, sim, transport)
    assert done.complete and done.published == "data.parquet"
    assert lake.list_files(DATASET, DAY) == ["data.parquet"]
    final = rows(lake)
    assert final == whole(tmp_path / "final", sim)
    assert len(final) == len([e for e in sim.events(DAY)])
    # A complete day gains nothing more from a stream that holds nothing more of it.
    again = refresh(lake, sim, transport)
    assert again.added == 0 and lake.list_files(DATASET, DAY) == ["data.parquet"]


def test_a_failed_refresh_leaves_the_day_as_it_was_and_the_next_catches_up(tmp_path, world):
    sim, clock = world
    lake = Lake.at(tmp_path / "lake")
    transport = Recording(sim.transport())
    clock.at = START + timedelta(hours=8)
    refresh(lake, sim, transport)
    before = {n: lake.read_bytes(lake.partition_path(DATASET, DAY, n)) for n in lake.list_files(DATASET, DAY)}
    clock.at = START + timedelta(hours=12)
    with pytest.raises(RuntimeError, match="mid-refresh"):
        refresh(lake, sim, transport, fail_after_pages=3)
    assert {n: lake.read_bytes(lake.partition_path(DATASET, DAY, n)) for n in lake.list_files(DATASET, DAY)} == before
    assert not any(lake.tmp_dir.glob("*.parquet"))
    done = refresh(lake, sim, transport)
    assert done.added > 0
    assert rows(lake) == whole(tmp_path / "noon", sim)


def test_a_whole_extraction_replaces_the_refresh_parts_and_refreshes_resume_after_it(tmp_path, world):
    sim, clock = world
    lake = Lake.at(tmp_path / "lake")
    transport = Recording(sim.transport())
    for hour in (6, 9):
        clock.at = START + timedelta(hours=hour)
        refresh(lake, sim, transport)
    clock.at = START + timedelta(hours=11)
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
        write_event_partitions(lake, client.audit_events(START, END), start=START, end=END,
                               source="simulator", extracted_at=sim.now())
    assert lake.list_files(DATASET, DAY) == ["data.parquet"]
    stored = read_state(lake, DAY)
    assert stored.cursor and not stored.complete
    # The whole read did not move the live cursor: the next refresh resumes where the last refresh stopped.
    live = load_position(lake).cursor
    assert live and live != stored.cursor
    clock.at = START + timedelta(hours=14)
    transport.cursors.clear()
    refresh(lake, sim, transport)
    assert transport.cursors[0] == live
    assert rows(lake) == whole(tmp_path / "later", sim)
