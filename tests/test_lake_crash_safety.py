"""A run killed mid-write leaves no partial partition and keeps the previous one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone

import pyarrow.parquet as pq

from dsassets.lib.lake.lake import Lake
from support.monitor_pages import monitor_page
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 2, tzinfo=timezone.utc)

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from dsassets.lib.lake.lake import Lake
    import orjson
    from dsassets.lib.clients.monitor_page import MonitorPage
    from dsassets.lib.lake.raw_events import write_event_partitions

    root, ready = Path(sys.argv[1]), Path(sys.argv[2])

    def stream():
        for page in range(10_000):
            events = [
                {"eventId": f"new-{page}-{i}", "timestamp": "2026-03-01T10:00:00Z", "userId": "u"}
                for i in range(500)
            ]
            yield MonitorPage.decode([orjson.dumps(e) for e in events], f"c{page}", f"c{page + 1}")
            if page == 3:
                ready.touch()  # several pages are in the scratch file now
            time.sleep(0.01)

    write_event_partitions(
        Lake.at(root), stream(),
        start=datetime(2026, 3, 1, tzinfo=timezone.utc), end=datetime(2026, 3, 2, tzinfo=timezone.utc),
        source="docusign", extracted_at=datetime(2026, 3, 2, tzinfo=timezone.utc),
    )
    """
)


def test_sigkill_mid_extraction_leaves_previous_partition_intact(tmp_path):
    lake = Lake.at(tmp_path / "data")
    write_event_partitions(
        lake,
        [monitor_page([{"eventId": "old", "timestamp": "2026-03-01T09:00:00Z"}], "c", "c1")],
        start=START,
        end=END,
        source="docusign",
        extracted_at=START,
    )
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(lake.root), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "writer exited before it was killed"
            assert time.monotonic() < deadline, "writer never got going"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Only the old, complete partition is visible to readers; scratch files are not in the hive tree.
    assert lake.files(f"{lake.dataset_path(DATASET)}/**/*") == [lake.partition_path(DATASET, date(2026, 3, 1))]
    assert pq.read_table(lake.partition_file(DATASET, date(2026, 3, 1))).column("eventId").to_pylist() == ["old"]
