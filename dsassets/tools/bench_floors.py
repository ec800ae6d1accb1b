"""The floors ``dsassets bench`` prints beside each stage, measured in the same run on the same data.

- extraction: decoding the same Monitor pages with ``pyarrow.json`` (no HTTP, no dedup, no
  Parquet): what turning the stream's JSON into columns costs at best;
- models: one bare DuckDB pass over every column of the day's raw audit events;
- detections: one bare DuckDB pass over the activities columns the detections read.

Each floor runs in its own child process (like the stages), so its peak RSS is its own.
"""

from __future__ import annotations

import io
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone

# The detections' activities columns (no lookback, no joins).
DETECTION_COLUMNS = ("event_id", "event_at", "dt", "account_id", "user_id", "user_email", "signin_class",
                     "ip_address", "ip_hex", "country_code", "latitude", "longitude", "proxy_type")
PAGE_LIMIT = 2000
LAG = timedelta(minutes=15)  # DocuSignSettings.monitor_lag_minutes: the extractor reads this far past the end


def monitor_pages(start: date, end: date, events_per_day: int, seed: int) -> list[bytes]:
    """The Monitor pages the extractor reads for ``[start, end]``, each as NDJSON (events only)."""
    import orjson

    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    stop = datetime.combine(end + timedelta(days=1), clock_time.min, timezone.utc) + LAG
    now = stop + timedelta(days=1)
    sim = DocuSignSimulator(SimulatorConfig(seed=seed, events_per_day=events_per_day), now=lambda: now)
    cursor = datetime.combine(start, clock_time.min, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = []
    while True:
        end_cursor, events = sim.store.page(cursor, PAGE_LIMIT, sim.now_ticks())
        if events:
            pages.append("\n".join(events).encode())
            last = orjson.loads(events[-1])["timestamp"][:19]
            if datetime.fromisoformat(last).replace(tzinfo=timezone.utc) >= stop:
                return pages
        if end_cursor == cursor or not events:
            return pages
        cursor = end_cursor


def decode_floor(start: date, end: date, events_per_day: int, seed: int) -> tuple[float, int]:
    """(seconds, events) to decode the window's pages with ``pyarrow.json``; page making is not timed."""
    import pyarrow.json as pajson

    pages = monitor_pages(start, end, events_per_day, seed)
    began = time.perf_counter()
    events = 0
    # Pages in blocks of ~64 MiB: one read per page would time pyarrow's per-call set-up, not decoding.
    block: list[bytes] = []
    size = 0
    for page in [*pages, None]:
        if page is not None:
            block.append(page)
            size += len(page)
        if block and (page is None or size >= 64 << 20):
            events += pajson.read_json(io.BytesIO(b"\n".join(block))).num_rows
            block, size = [], 0
    return time.perf_counter() - began, events


def scan_floor(stage: str, start: date, end: date) -> float:
    """Seconds for one bare DuckDB pass over what ``stage`` reads (``models`` or ``detections``)."""
    import duckdb

    from dsassets.lib.config.settings import DATA_DIR
    from dsassets.lib.transform import sql

    data_dir = DATA_DIR.get()
    if stage == "models":
        glob, select = f"{data_dir}/raw/docusign/audit_events/dt=*/*.parquet", "sum(hash(columns(*)))"
    else:
        glob = f"{data_dir}/warehouse/activities/dt=*/*.parquet"
        select = ", ".join(f"count(distinct {c})" if c in ("user_id", "ip_hex") else f"count({c})"
                           for c in DETECTION_COLUMNS)
    began = time.perf_counter()
    with duckdb.connect() as con:
        sql.configure(con)
        con.execute(f"select {select} from {sql.parquet_scan(glob)} where dt between ? and ?", [start, end]).fetchall()
    return time.perf_counter() - began
