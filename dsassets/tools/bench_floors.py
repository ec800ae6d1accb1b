"""The floors ``dsassets bench`` prints beside each stage, measured in the same run on the same data.

- extraction: decoding the same Monitor pages with ``pyarrow.json``, in
  :mod:`dsassets.tools.bench_extract` beside the extraction it is the floor of;
- models: one bare DuckDB pass over every column of the day's raw audit events;
- detections: one bare DuckDB pass over the activities columns the detections read.

Each floor runs in its own child process (like the stages), so its peak RSS is its own.
"""

from __future__ import annotations

import time
from datetime import date

# The detections' activities columns (no lookback, no joins).
DETECTION_COLUMNS = ("event_id", "event_at", "dt", "account_id", "user_id", "user_email", "signin_class",
                     "ip_address", "ip_hex", "country_code", "latitude", "longitude", "proxy_type")


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
