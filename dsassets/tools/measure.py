"""What the benchmarks measure: a child process's wall time and peak memory, and the events in the lake."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date


def count_events(data_dir: str, day: date | None = None) -> int:
    """Audit events in the lake, or in one day of it."""
    import duckdb

    partition = f"dt={day.isoformat()}" if day else "*"
    with duckdb.connect() as con:
        return con.sql(
            f"select count(*) from read_parquet('{data_dir}/raw/docusign/audit_events/{partition}/*.parquet')"
        ).fetchall()[0][0]


def run_child(args: list[str], env: dict, module: str = "dsassets.tools.bench") -> tuple[float, float] | None:
    """Run ``python -m module args`` in a child process: (wall seconds, its own peak RSS in MiB).

    None when it failed, after printing the end of its stderr.
    """
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", module, *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        print(stderr.decode(errors="replace")[-4000:], file=sys.stderr)
        return None
    return wall, usage.ru_maxrss / 1024
