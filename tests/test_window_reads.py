"""A backfill read as several windows of the stream at once stores what a single pass stores."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.config.settings import ConfigError, monitor_readers
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions
from dsassets.lib.lake.window_reads import WindowReads, read_windows, split_windows
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from support.monitor_pages import monitor_page

UTC = timezone.utc
START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=4)


def test_windows_are_whole_consecutive_days():
    assert split_windows(START, END, 2) == [(START, START + timedelta(days=2)), (START + timedelta(days=2), END)]
    assert split_windows(START, END, 3)[0] == (START, START + timedelta(days=1))
    assert split_windows(START, START + timedelta(days=1), 4) == [(START, START + timedelta(days=1))]
    assert len(split_windows(START, END, 8)) == 4


def test_readers_setting_is_bounded_and_named():
    assert monitor_readers({}) == 1
    assert monitor_readers({"DOCUSIGN_MONITOR_READERS": "4"}) == 4
    with pytest.raises(ConfigError, match="DOCUSIGN_MONITOR_READERS=0"):
        monitor_readers({"DOCUSIGN_MONITOR_READERS": "0"})


def _extract(tmp_path, readers: int, late_share: float = 0.0) -> dict[date, list[dict]]:
    sim = DocuSignSimulator(SimulatorConfig(seed=5, events_per_day=400, late_share=late_share),
                            now=lambda: END + timedelta(days=1))
    lake = Lake.at(tmp_path / f"readers{readers}-{late_share}")
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport()) as client:
        counts = write_event_partitions(lake, read_windows(client.audit_events, START, END, readers), start=START,
                                        end=END, source="simulator", extracted_at=END)
    assert not any(lake.tmp_dir.iterdir())  # the windows' scratch files are gone
    return {day: pq.read_table(lake.partition_file(DATASET, day)).drop_columns(["_page_cursor"]).to_pylist()
            for day in counts}


@pytest.mark.parametrize("late_share", [0.0, 0.05])
def test_windows_read_at_once_store_the_single_pass_rows_in_its_order(tmp_path, late_share):
    """With late ingestion (hours after midnight, past a window's stop), a day's late events are
    read only by the next window: they must still land in their day, where a single pass has them."""
    single, windows = _extract(tmp_path, 1, late_share), _extract(tmp_path, 3, late_share)
    assert sorted(single) == sorted(windows) and sum(map(len, single.values())) > 1000
    *seamed, last = sorted(single)
    for day in seamed:  # every row, in the same order; only the page lineage differs
        assert windows[day] == single[day], day
    # The read's end stops at a page past it, and the last window's pages are not the single
    # pass's: either may also hold an event ingested late after that, the windows here one.
    assert [row for row in windows[last] if row in single[last]] == single[last]


def _at(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-03-0{day}T{hour:02d}:{minute:02d}:00Z"


def test_a_seam_keeps_events_only_the_other_window_read_in_single_pass_order(tmp_path):
    """Hand-made stream over days 2 and 3, read as two windows. Window 1 reads day 2's events,
    then past midnight: a day-3 event (also window 2's), and a day-3 event stamped before it
    was ingested (a skewed clock) that window 2, starting at midnight, never reads. Window 2
    reads a day-2 event ingested hours late, after window 1 stopped."""
    ev = lambda i, at: {"eventId": i, "timestamp": at, "object": "Envelope", "action": "Sent"}  # noqa: E731
    skewed = ev("skewed", _at(3, 0, 5))  # ingested at 23:59 on day 2, stamped 00:05 on day 3
    first = [[ev("a", _at(2, 9)), ev("b", _at(2, 23, 50)), skewed], [ev("c", _at(3, 0, 1)), ev("d", _at(3, 0, 40))]]
    second = [[ev("c", _at(3, 0, 1)), ev("d", _at(3, 0, 40)), ev("late", _at(2, 22))], [ev("e", _at(3, 12))]]
    start, end = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    streams = [[monitor_page(page, f"w{w}p{i}", f"w{w}p{i + 1}") for i, page in enumerate(pages)]
               for w, pages in enumerate((first, second))]
    windows = WindowReads(streams, 2, split_windows(start, end, 2))
    single = [monitor_page(page, f"s{i}", f"s{i + 1}") for i, page in
              enumerate([first[0], first[1][:1], [first[1][1], second[0][2]], second[1]])]

    def ids(pages, name):
        lake = Lake.at(tmp_path / name)
        counts = write_event_partitions(lake, pages, start=start, end=end, source="docusign", extracted_at=end)
        assert not any(lake.tmp_dir.iterdir())
        return {day: pq.read_table(lake.partition_file(DATASET, day))["eventId"].to_pylist() for day in counts}

    got = ids(windows, "windows")
    assert got == {date(2026, 3, 2): ["a", "b", "late"], date(2026, 3, 3): ["skewed", "c", "d", "e"]}
    assert got == ids(single, "single")


def test_a_failed_window_publishes_nothing_and_leaves_no_scratch(tmp_path):
    """One window's page fails after the other window wrote its days: the lake stays as it was."""
    ev = lambda i, at: {"eventId": i, "timestamp": at, "object": "Envelope", "action": "Sent"}  # noqa: E731

    def failing():
        yield monitor_page([ev("c", _at(3, 1))], "w1p0", "w1p1")
        raise RuntimeError("page 2 of window 2 failed")

    start, end = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    windows = WindowReads([[monitor_page([ev("a", _at(2, 9))], "w0p0", "w0p1")], failing()], 2,
                          split_windows(start, end, 2))
    lake = Lake.at(tmp_path)
    with pytest.raises(RuntimeError, match="window 2 failed"):
        write_event_partitions(lake, windows, start=start, end=end, source="docusign", extracted_at=end)
    assert lake.list_files(DATASET, date(2026, 3, 2)) == [] and not any(lake.tmp_dir.iterdir())
