"""A backfill read as several windows of the stream at once stores what a single pass stores."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.config.settings import ConfigError, monitor_readers
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions
from dsassets.lib.lake.window_reads import read_windows, split_windows
from dsassets.simulator import DocuSignSimulator, SimulatorConfig

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


def _extract(tmp_path, readers: int) -> dict[date, list[dict]]:
    sim = DocuSignSimulator(SimulatorConfig(seed=5, events_per_day=400), now=lambda: END + timedelta(days=1))
    lake = Lake.at(tmp_path / f"readers{readers}")
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport()) as client:
        counts = write_event_partitions(lake, read_windows(client.audit_events, START, END, readers), start=START,
                                        end=END, source="simulator", extracted_at=END)
    assert not any(lake.tmp_dir.iterdir())  # the windows' scratch files are gone
    return {day: pq.read_table(lake.partition_file(DATASET, day)).drop_columns(["_page_cursor"]).to_pylist()
            for day in counts}


def test_windows_read_at_once_store_the_single_pass_rows_in_its_order(tmp_path):
    single, windows = _extract(tmp_path, 1), _extract(tmp_path, 3)
    assert sorted(single) == sorted(windows) and sum(map(len, single.values())) > 1000
    for day in single:  # every row, in the same order; only the page lineage differs
        assert windows[day] == single[day], day
