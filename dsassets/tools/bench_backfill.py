"""``dsassets bench --backfills``: the same days backfilled serially and in parallel, side by side.

Each backfill is the real command (``dsassets backfill A B`` and ``... --parallel N``) in a child
process with its own data directory and Dagster instance. Printed per backfill: wall time, events
per second and the peak RSS of the whole process tree (a parallel backfill's daemons, code
server, run workers and step processes together, sampled every 0.2 s); then per stage (asset
group) the wall time from its first step's start to its last step's end, read from the instance.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from dsassets.lib.config.settings import DATA_DIR
from dsassets.tools.measure import count_events

STAGE_ORDER = ("raw", "staging", "intermediate", "marts", "baselines", "posture", "detections", "policies",
               "governance", "warehouse")


def peak_tree_rss(pid: int, stop: threading.Event, out: list[int], every: float = 0.2) -> None:
    """Largest sum of RSS over ``pid`` and its descendants seen until ``stop`` is set."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            return
        out[0] = max(out[0], total)
        stop.wait(every)


def stage_spans(home: Path) -> dict[str, float]:
    """Seconds from the first step start to the last step end of each asset group, over every run."""
    import dagster as dg

    from dsassets.definitions import defs

    graph = defs().resolve_asset_graph()
    group_of = {key.to_python_identifier(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    spans: dict[str, list[float]] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            for step in instance.get_run_step_stats(run.run_id):
                group = group_of.get(step.step_key)
                if group is None and step.step_key.startswith("raw_"):
                    group = "raw"  # the snapshot multi-assets' ops are named for their datasets
                if group is None or step.start_time is None or step.end_time is None:
                    continue  # asset checks run beside their asset
                first_last = spans.setdefault(group, [step.start_time, step.end_time])
                first_last[0] = min(first_last[0], step.start_time)
                first_last[1] = max(first_last[1], step.end_time)
    return {group: end - start for group, (start, end) in spans.items()}


def run_backfill(start: date, end: date, data_dir: Path, env: dict[str, str], parallel: int) -> tuple[float, int]:
    """Wall seconds and peak tree RSS (bytes) of one ``dsassets backfill``; raises if it fails."""
    args = [sys.executable, "-m", "dsassets.cli", "backfill", start.isoformat(), end.isoformat()]
    if parallel:
        args += ["--parallel", str(parallel)]
    env = {**env, DATA_DIR.name: str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster")}
    log = data_dir / "backfill.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with open(log, "wb") as sink:
        child = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        peak, stop = [0], threading.Event()
        sampler = threading.Thread(target=peak_tree_rss, args=(child.pid, stop, peak), daemon=True)
        sampler.start()
        status = child.wait()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - began
    if status != 0:
        raise RuntimeError(f"backfill (parallel={parallel}) failed with status {status}; see {log}")
    return wall, peak[0]


def compare(start: date, end: date, data_dir: Path, env: dict[str, str], parallel: int) -> int:
    """Time the serial backfill, then (``parallel`` > 0) the parallel one; print both side by side."""
    results = {}
    modes = [("serial", 0)] + ([(f"parallel {parallel}", parallel)] if parallel else [])
    for label, workers in modes:
        target = data_dir / label.replace(" ", "-")
        wall, peak = run_backfill(start, end, target, env, workers)
        results[label] = (wall, peak, count_events(str(target)), stage_spans(target / "dagster"))
    print(f"{'backfill':<14}{'wall s':>10}{'peak RSS MiB':>15}{'events/s':>12}")
    for label, (wall, peak, events, _) in results.items():
        print(f"{label:<14}{wall:>10.1f}{peak / 2**20:>15.0f}{events / wall:>12,.0f}")
    print(f"\n{'stage (wall s)':<16}" + "".join(f"{label:>14}" for label in results))
    for stage in STAGE_ORDER:
        cells = [results[label][3].get(stage) for label in results]
        if any(c is not None for c in cells):
            print(f"{stage:<16}" + "".join(f"{c:>14.1f}" if c is not None else f"{'-':>14}" for c in cells))
    events = {label: r[2] for label, r in results.items()}
    print(f"\nevents extracted: {events}  (cores: {os.cpu_count()})")
    return 0 if len(set(events.values())) == 1 else 1
