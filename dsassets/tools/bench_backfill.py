"""``dsassets bench --backfills``: the same days backfilled serially and in parallel, side by side.

Each backfill is the real command (``dsassets backfill A B`` and ``... --parallel N``) in a child
process with its own data directory and Dagster instance. Printed per backfill: wall time, events
per second and the peak RSS of the whole process tree (a parallel backfill's daemons, code
server, run workers and step processes together, sampled every 0.2 s); then per stage (asset
group) the wall time from its first step's start to its last step's end, read from the instance,
and the peak tree RSS sampled while the stage ran; then the steps during which the tree was
largest, so a memory peak points at the step that made it. The samples are kept in each
backfill's data directory (``tree_rss.csv``).

With ``stand_in`` the serial backfill reads a loopback stand-in DocuSign instead of the embedded
simulator, so it pays what a backfill against DocuSign pays and nothing of the simulator's work:
the Monitor pages of its read are rendered to disk beforehand (``page_server``, not timed) and
served from there; the Admin, eSignature and Graph APIs are the simulator's, served over TCP
(``python -m dsassets.simulator``) with its clock fixed after the range. Pointed at real APIs
the pipeline takes one directory snapshot for the range, as it does against DocuSign, where the
embedded simulator serves every past day its own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path
from typing import Iterator

from dsassets.lib.config.settings import DATA_DIR, monitor_readers
from dsassets.tools.bench_targets import TARGETS
from dsassets.tools.measure import count_events

STAGE_ORDER = ("raw", "staging", "intermediate", "marts", "baselines", "posture", "detections", "policies",
               "governance", "warehouse")


def sample_tree_rss(pid: int, stop: threading.Event, out: list[tuple[float, int]], every: float = 0.2) -> None:
    """Append (epoch seconds, sum of RSS over ``pid`` and its descendants) until ``stop`` is set."""
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
        out.append((time.time(), total))
        stop.wait(every)


def step_spans(home: Path, since: float) -> list[tuple[str | None, str, float, float]]:
    """(group, step key, start, end) of every step of the runs created after epoch ``since`` in
    the instance at ``home``: a data directory reused by a second backfill keeps the first one's runs,
    which are not this backfill's. The group is None for an asset check's own step, which counts for
    the memory peaks and not for a stage."""
    import dagster as dg

    from dsassets.definitions import defs

    graph = defs().resolve_asset_graph()
    group_of = {key.to_python_identifier(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    spans = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        created = datetime.fromtimestamp(since, timezone.utc)
        for run in instance.get_runs(filters=dg.RunsFilter(created_after=created)):
            for step in instance.get_run_step_stats(run.run_id):
                group = group_of.get(step.step_key)
                if group is None and step.step_key.startswith("raw_"):
                    group = "raw"  # the snapshot multi-assets' ops are named for their datasets
                if step.start_time is None or step.end_time is None:
                    continue
                spans.append((group, step.step_key, step.start_time, step.end_time))
    return spans


def stage_spans(steps: list[tuple[str | None, str, float, float]]) -> dict[str, tuple[float, float]]:
    """Each asset group's (first step start, last step end)."""
    spans: dict[str, tuple[float, float]] = {}
    for group, _, start, end in steps:
        if group is None:
            continue
        first, last = spans.get(group, (start, end))
        spans[group] = (min(first, start), max(last, end))
    return spans


def peak_between(samples: list[tuple[float, int]], start: float, end: float) -> int | None:
    """Largest sample taken from ``start`` to ``end``; None when no sample fell inside."""
    inside = [rss for at, rss in samples if start <= at <= end]
    return max(inside) if inside else None


@contextlib.contextmanager
def stand_in(start: date, end: date, data_dir: Path, env: dict[str, str], events_per_day: int,
             seed: int) -> Iterator[dict[str, str]]:
    """The ``DOCUSIGN_*`` and ``ENTRA_*`` variables of a loopback DocuSign serving ``[start, end]``.

    Monitor: the pages the backfill's read gets (its ``DOCUSIGN_MONITOR_READERS`` windows),
    rendered once into ``data_dir/stand-in-pages-<range, volume, seed, windows>`` and served by
    ``page_server``, which answers any other cursor with 404. Everything else: the simulator over
    TCP, its clock an hour past the range's end and the ingestion lag, as DocuSign answers a
    backfill run after its days."""
    from dsassets.simulator.server import serving_process, stop_process
    from dsassets.tools.bench_extract import LAG
    from dsassets.tools.measure import run_child
    from dsassets.tools.page_server import INDEX

    readers = monitor_readers(env)
    pages = data_dir / f"stand-in-pages-{start}-{end}-{events_per_day}-{seed}-{readers}"
    began = time.perf_counter()
    if not (pages / INDEX).is_file():  # reused: the same range, volume, seed and windows give the same bytes
        # in a child, which then gives its memory back (30M events rendered here held 830 MB)
        if run_child(["render", str(pages), start.isoformat(), end.isoformat(), str(events_per_day), str(seed),
                      str(readers)], env, "dsassets.tools.bench_extract") is None:
            raise RuntimeError(f"rendering the stand-in's pages into {pages} failed (its error is above)")
    size = sum(p.stat().st_size for p in pages.glob("0*.json")) / 2**30
    print(f"stand-in: Monitor pages of {readers} window(s) in {pages} ({size:.1f} GiB; "
          f"{time.perf_counter() - began:.0f} s to render or find, not timed)")
    now = datetime.combine(end + timedelta(days=1), clock_time.min, timezone.utc) + LAG + timedelta(hours=1)
    data_dir.mkdir(parents=True, exist_ok=True)
    pages_server = subprocess.Popen([sys.executable, "-m", "dsassets.tools.page_server", str(pages)], env=env,
                                    stdout=subprocess.PIPE, text=True)
    try:
        monitor_url = pages_server.stdout.readline().strip() if pages_server.stdout else ""
        if not monitor_url:
            raise RuntimeError("the stand-in's page server did not start; see its output above")
        with serving_process(data_dir / "stand-in-key.pem", seed=seed, events_per_day=events_per_day,
                             extra_args=("--now", now.isoformat()), env=env) as exports:
            yield {**exports, "DOCUSIGN_MONITOR_URL": monitor_url}
    finally:
        stop_process(pages_server)


def run_backfill(start: date, end: date, data_dir: Path, env: dict[str, str],
                 parallel: int) -> tuple[float, float, list[tuple[float, int]], int]:
    """The epoch it started at, wall seconds, the tree RSS samples (epoch, bytes) and the exit status of
    one ``dsassets backfill``."""
    args = [sys.executable, "-m", "dsassets.cli", "backfill", start.isoformat(), end.isoformat()]
    if parallel:
        args += ["--parallel", str(parallel)]
    env = {**env, DATA_DIR.name: str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster")}
    log = data_dir / "backfill.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    started, began = time.time(), time.perf_counter()
    with open(log, "wb") as sink:
        child = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_tree_rss, args=(child.pid, stop, samples), daemon=True)
        sampler.start()
        status = child.wait()
        stop.set()
        sampler.join()
    return started, time.perf_counter() - began, samples, status


def compare(start: date, end: date, data_dir: Path, env: dict[str, str], parallel: int,
            stand_in_seed: int | None = None, events_per_day: int = 0) -> int:
    """Time the serial backfill, then (``parallel`` > 0) the parallel one; print both side by side.

    With ``stand_in_seed`` (serial only) the backfill reads the loopback stand-in (:func:`stand_in`)."""
    results, failed = {}, {}
    modes = [("serial", 0)] + ([(f"parallel {parallel}", parallel)] if parallel else [])
    for label, workers in modes:
        target = data_dir / label.replace(" ", "-")
        if stand_in_seed is None:
            started, wall, samples, status = run_backfill(start, end, target, env, workers)
        else:
            with stand_in(start, end, data_dir, env, events_per_day, stand_in_seed) as api:
                started, wall, samples, status = run_backfill(start, end, target, {**env, **api}, workers)
        # Kept beside the run's lake, to line the memory up with its Dagster log afterwards.
        (target / "tree_rss.csv").write_text("epoch,rss_bytes\n" + "".join(f"{t:.1f},{rss}\n" for t, rss in samples))
        if status != 0:
            # What it measured is printed all the same: a run can fail after its last step (at exit).
            failed[label] = f"exited with status {status}; see {target / 'backfill.log'}"
        results[label] = (wall, samples, count_events(str(target)), step_spans(target / "dagster", started))
    print(f"{'backfill':<14}{'wall s':>10}{'peak RSS MiB':>15}{'events/s':>12}")
    for label, (wall, samples, events, _) in results.items():
        peak = max((rss for _, rss in samples), default=0)
        print(f"{label:<14}{wall:>10.1f}{peak / 2**20:>15.0f}{events / wall:>12,.0f}")
        print(TARGETS["backfill"].line(events_per_day=events_per_day, days=(end - start).days + 1, seconds=wall,
                                       mib=peak / 2**20))
    print(f"\n{'stage':<16}" + "".join(f"{label + ' s':>16}{'peak MiB':>10}" for label in results))
    spans = {label: stage_spans(r[3]) for label, r in results.items()}
    for stage in STAGE_ORDER:
        if not any(stage in spans[label] for label in results):
            continue
        line = f"{stage:<16}"
        for label, (_, samples, _, _) in results.items():
            if stage not in spans[label]:
                line += f"{'-':>16}{'-':>10}"
                continue
            first, last = spans[label][stage]
            peak = peak_between(samples, first, last)
            line += f"{last - first:>16.1f}" + (f"{peak / 2**20:>10.0f}" if peak is not None else f"{'-':>10}")
        print(line)
    for label, (_, samples, _, steps) in results.items():
        peaks = sorted(((peak_between(samples, s, e) or 0, key, e - s) for _, key, s, e in steps), reverse=True)
        print(f"\n{label}: the steps with the largest tree RSS")
        for peak, key, seconds in peaks[:8]:
            print(f"  {key:<44}{peak / 2**20:>8.0f} MiB{seconds:>9.1f} s")
    events = {label: r[2] for label, r in results.items()}
    print(f"\nevents extracted: {events}  (cores: {os.cpu_count()})")
    for label, reason in failed.items():
        print(f"{label} backfill FAILED: {reason}")
    return 0 if len(set(events.values())) == 1 and not failed else 1
