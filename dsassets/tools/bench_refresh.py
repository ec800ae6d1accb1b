"""Benchmark of the intra-day refresh: the cost of one refresh late in a day, and alert latency.

``dsassets bench --refresh`` picks the last planted incident of the day that alerts without
a baseline (anonymous or suspicious IP, terminated user, the example activity policies),
then, with the simulator's clock moved by ``DSASSETS_SIMULATOR_NOW``, runs what the
schedules would run:

1. the day's first refresh at the quarter hour before the incident's first event
   (snapshots and every event of the day so far);
2. the following refreshes, one interval apart, until one writes the incident's alert row;
3. a catch-up refresh to the day's second-to-last interval, then the last one before
   midnight: the cost of one refresh late in a day, with the whole day in its models;
4. that last refresh once more, with nothing new in the stream: the refresh's fixed cost (its
   steps find their inputs unchanged and keep their files).

``--history-days N`` gives the lake a history first: after the first refresh it copies the day's
directory and settings snapshots (every raw dataset but the audit events) into the N days before
it and materializes, for those days, the models the marts read in place of every earlier day's
snapshots (``HISTORY_MODELS``). The marts over every earlier day's snapshots (``users``,
``user_accounts``) then cost what they cost on a lake that has run for N days; without it the
lake has the one day, and the refresh figures miss what grows with history. The copies keep the
day's rows and times; the audit events are not copied.

Each refresh runs in its own process (peak RSS is its own). ``simulator s`` is the part of its
wall time spent inside the in-process simulator answering the API calls (rendering the stream
and the directory), which a real DocuSign and Graph spend on their side; ``own s`` is the rest,
what #14's refresh targets judge (the simulator must not be what the benchmark measures). A real
API adds its network round trips, which neither column holds. Latency is measured from the
newest event the alert row holds when it first appears (the event that made it alert, or one
after it) to the moment the refresh that wrote that row finished, on the simulated clock plus
the refresh's real wall time.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dsassets.lib.config.settings import DATA_DIR, SIMULATOR_NOW
from dsassets.tools.bench_targets import TARGETS
from dsassets.tools.measure import count_events, run_child

# Where a refresh's child process leaves the seconds the in-process simulator spent answering it.
SERVING_FILE = ".bench-simulator-seconds"
FAST_POLICIES = {"anonymous_ip": "alerts", "suspicious_ip": "alerts", "terminated_user_activity": "alerts",
                 "mass_envelope_deletion": "policy_alerts", "mass_download": "policy_alerts",
                 "admin_added": "policy_alerts"}


def run_tick(at: datetime) -> None:
    """Child process: evaluate the refresh schedule at ``at`` and run its request in process."""
    import dagster as dg

    from dsassets.definitions import defs
    from dsassets.tools.schedule_tick import run_schedule_tick

    os.environ[SIMULATOR_NOW.name] = at.isoformat()
    with dg.DagsterInstance.get() as instance:
        _, result = run_schedule_tick(defs(), instance, "intraday_refresh_schedule", at)
        assert result.success
    from dsassets.simulator.transport import SimulatorTransport

    Path(os.environ[DATA_DIR.name], SERVING_FILE).write_text(str(SimulatorTransport.serving_seconds))


def copy_history(data_dir: str, day: date, days: int) -> list[str]:
    """Copy ``day``'s partition of every raw dataset but the audit events into the ``days`` days
    before it (replacing what those days held); the datasets copied."""
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.raw_events import DATASET as AUDIT_EVENTS
    from dsassets.lib.lake.schemas import RAW_SCHEMAS

    copied = []
    for dataset in sorted(RAW_SCHEMAS.keys() - {AUDIT_EVENTS}):
        source = Path(data_dir, Lake.day_folder(dataset, day))
        if not source.is_dir():
            continue
        for k in range(1, days + 1):
            target = Path(data_dir, Lake.day_folder(dataset, day - timedelta(days=k)))
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
        copied.append(Lake.dataset_path(dataset).removeprefix("raw/"))
    return copied


def materialize_history(start: date, end: date) -> None:
    """Child process: the models the marts read in place of every earlier day's snapshots, for
    ``[start, end]``, in one run (they read one day's snapshots each, and the day before's)."""
    import dagster as dg

    from dsassets.defs.models.assets import HISTORY_MODELS
    from dsassets.definitions import defs
    from dsassets.lib.lake.partitions import range_tags

    keys = sorted({dg.AssetKey(model) for model, _ in HISTORY_MODELS.values()})
    with dg.DagsterInstance.get() as instance:
        result = defs().resolve_job_def("daily_pipeline").execute_in_process(
            instance=instance, asset_selection=keys,
            tags=range_tags(start, end))
        assert result.success


def add_history(data_dir: str, env: dict, day: date, days: int) -> bool:
    """``--history-days``: copy the day's snapshots into the ``days`` before it and materialize
    the history models for them; prints what it made. False when the materialization failed."""
    copied = copy_history(data_dir, day, days)
    first, last = day - timedelta(days=days), day - timedelta(days=1)
    measured = run_child(["history", first.isoformat(), last.isoformat()], env, module="dsassets.tools.bench_refresh")
    if measured is None:
        print("materializing the history models failed", file=sys.stderr)
        return False
    print(f"(history) {first} .. {last}: the day's {', '.join(copied)} copied, their history models "
          f"materialized in {measured[0]:.1f} s")
    return True


def incident(day: date, events_per_day: int) -> dict:
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    sim = DocuSignSimulator(SimulatorConfig(events_per_day=events_per_day))
    truth = [t for t in sim.ground_truth(day, day + timedelta(days=1))
             if not t["is_decoy"] and t["policy"] in FAST_POLICIES and t["ended_at"].date() == day
             and t["ended_at"].hour < 23]
    return max(truth, key=lambda t: t["ended_at"])


def found(data_dir: str, day: date, truth: dict) -> datetime | None:
    """The newest event time in the alert row that holds the incident; ``None`` while there is none."""
    import duckdb

    glob = f"{data_dir}/warehouse/{FAST_POLICIES[truth['policy']]}/dt={day.isoformat()}/*.parquet"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        try:
            rows = con.execute(f"select event_ids from read_parquet('{glob}') where policy = ?",
                               [truth["policy"]]).fetchall()
        except duckdb.IOException:
            return None  # no alert file yet
        ids = set(truth["event_ids"])
        held = [r[0] for r in rows if ids & set(r[0] or [])]
        if not held:
            return None
        activities = f"{data_dir}/warehouse/activities/dt={day.isoformat()}/*.parquet"
        return con.execute(f"select max(event_at) from read_parquet('{activities}') "
                           "where list_contains(?, event_id)", [held[0]]).fetchone()[0]


def main(data_dir: str, env: dict, day: date, events_per_day: int, interval: int, history_days: int = 0) -> int:
    truth = incident(day, events_per_day)
    first = truth["started_at"]
    tick = first.replace(minute=first.minute // interval * interval, second=0, microsecond=0)
    print(f"incident {truth['incident_id']} ({truth['policy']}): events {first:%H:%M:%S} .. "
          f"{truth['ended_at']:%H:%M:%S} UTC")
    print(f"{'refresh at (sim)':<22}{'wall s':>10}{'simulator s':>13}{'own s':>8}{'peak RSS MiB':>15}"
          f"{'events added':>15}  alert")
    counted, latency = 0, None
    for n in range(6):
        wall, counted, hit = _tick(data_dir, env, day, truth, tick, counted, "(first)" if n == 0 else "", events_per_day)
        if wall is None:
            return 1
        if n == 0 and history_days and not add_history(data_dir, env, day, history_days):
            return 1
        if hit is not None:
            latency = (tick - hit).total_seconds() + wall
            break
        tick += timedelta(minutes=interval)
    if latency is None:
        print("the incident was not found within six refreshes", file=sys.stderr)
        return 1
    # Late in the day: catch up to the last interval before midnight, then time that one refresh.
    late = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1, minutes=-interval)
    # The same tick again: the stream has nothing new, so this is the refresh's fixed cost.
    for at, label, target in ((late - timedelta(minutes=interval), "(catch-up)", None),
                              (late, "(late in the day)", "refresh_late"), (late, "(nothing new)", "refresh_nothing_new")):
        wall, counted, _ = _tick(data_dir, env, day, truth, at, counted, label, events_per_day, target)
        if wall is None:
            return 1
    print(f"latency from the newest event in the alert to its alert row: {latency / 60:.1f} min "
          f"(interval {interval} min; Monitor ingestion lag up to 5 min)")
    return 0


def _tick(data_dir: str, env: dict, day: date, truth: dict, at: datetime, counted: int, label: str,
          events_per_day: int, target: str | None = None):
    """One refresh in a child process; prints its line (and under it ``target``'s verdict on the
    refresh's own seconds) and returns (wall, events so far, the newest event time in the alert,
    once its row is written)."""
    measured = run_child([at.isoformat()], env, module="dsassets.tools.bench_refresh")
    if measured is None:
        return None, counted, None
    wall, peak_mib = measured
    serving = float(Path(data_dir, SERVING_FILE).read_text())
    total = count_events(data_dir, day)
    hit = found(data_dir, day, truth)
    print(f"{at:%H:%M} {label:<16}{wall:>10.1f}{serving:>13.1f}{wall - serving:>8.1f}{peak_mib:>15.0f}"
          f"{total - counted:>15,}  {'found' if hit is not None else '-'}")
    if target:
        print(TARGETS[target].line(events_per_day=events_per_day, days=1, seconds=wall - serving))
    return wall, total, hit


if __name__ == "__main__":
    if sys.argv[1] == "history":
        materialize_history(date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
    else:
        run_tick(datetime.fromisoformat(sys.argv[1]).astimezone(UTC))
