"""The month benchmark's loopback DocuSign serves what the embedded simulator serves, over real TCP.

``dsassets bench --backfills --stand-in`` times a backfill against it; if the pages it rendered
were not the ones the backfill's windows read, or the simulator behind it were another
organization, the benchmark would time a different pipeline run (or fail on a 404).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone

import pyarrow.parquet as pq

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.config.settings import docusign_settings_from_env, graph_settings_from_env
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions
from dsassets.lib.lake.window_reads import read_windows
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.simulator.server import stop_process
from dsassets.tools.bench_backfill import stand_in
from dsassets.tools.page_server import INDEX

FIRST, LAST = date(2026, 3, 2), date(2026, 3, 4)
START = datetime.combine(FIRST, time.min, timezone.utc)
END = datetime.combine(LAST + timedelta(days=1), time.min, timezone.utc)
SEED, PER_DAY = 11, 300


def _rows(lake: Lake, counts) -> dict[date, list[dict]]:
    return {day: pq.read_table(lake.partition_file(DATASET, day)).drop_columns(["_page_cursor", "_source"]).to_pylist()
            for day in counts}


def test_stand_in_serves_each_window_of_the_read_and_the_simulators_organization(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCUSIGN_", "ENTRA_"))}
    env["DOCUSIGN_MONITOR_READERS"] = "2"  # two windows, the second starting at its own ISO cursor
    sim = DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=PER_DAY), now=lambda: END + timedelta(days=1))
    with DocuSignClient(sim.docusign_settings(), transport=sim.transport()) as client:
        embedded = Lake.at(tmp_path / "embedded")
        expected = _rows(embedded, write_event_partitions(
            embedded, client.audit_events(START, END), start=START, end=END, source="simulator", extracted_at=END))

    with stand_in(FIRST, LAST, tmp_path, env, PER_DAY, SEED) as api:
        settings = docusign_settings_from_env({**env, **api})
        assert settings is not None and settings.monitor_url != settings.admin_url  # pages, and the simulator
        lake = Lake.at(tmp_path / "stand-in")
        with DocuSignClient(settings) as client:  # real transport: TCP to 127.0.0.1
            got = _rows(lake, write_event_partitions(
                lake, read_windows(client.audit_events, START, END, 2), start=START, end=END, source="docusign",
                extracted_at=END))
            org_users = {u["id"] for account in client.organization_accounts()
                         for u in client.organization_users(account["id"])}
        graph = graph_settings_from_env({**env, **api})
        with GraphClient(graph) as entra:
            disabled = list(entra.disabled_users())

    assert sorted(got) == [FIRST, FIRST + timedelta(days=1), LAST]
    for day in expected:  # every event, every column, in the same order
        assert got[day] == expected[day], day
    # the directory is the same organization's: the events' users are its users
    actors = {r["userId"] for rows in got.values() for r in rows if r.get("userId")}
    assert actors and actors <= org_users
    assert disabled  # Graph answers from the same world


def test_the_page_server_stops_on_sigterm_even_when_its_parent_ignores_it(tmp_path):
    # A test worker started in the background ignores SIGINT, and once Dagster has run in it,
    # SIGTERM too (Dagster maps SIGTERM to SIGINT's handler); its children inherit that. The
    # stand-in's page server once outlived terminate() there and its caller waited for ever.
    (tmp_path / INDEX).write_text("{}")
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "dsassets.tools.page_server", str(tmp_path)],
                                stdout=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert proc.stdout is not None and proc.stdout.readline().startswith("http://127.0.0.1:")
    stop_process(proc, timeout=20)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGTERM  # ended by SIGTERM, not by stop_process's kill
