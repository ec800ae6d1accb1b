"""``dsassets backfill A B --parallel N``: a Dagster asset backfill, run by Dagster's own daemons.

The backfill is the kind the UI launches ("materialize selected partitions"): the daily assets
for the range, split into runs of ``--days-per-run`` days (``DSASSETS_BACKFILL_DAYS_PER_RUN``).
Dagster's backfill daemon launches a run once the lookback partitions it reads are materialized
(the partition mappings in ``dsassets.lib.lake.partitions``), its run queue keeps at most N runs
going, each run executes its steps with the multiprocess executor, and the concurrency pools
keep one writer on the governance ledger. This process hosts those daemons (and the code
server they start) only until the backfill ends; on Kubernetes the deployment's daemon does.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Mapping

# Daemons the backfill needs: the backfill daemon submits runs, the queue launches them within
# the limit, monitoring frees pool slots of runs that die. Schedules and sensors stay off here:
# a backfill command must not start the nightly jobs of whoever turned them on in the UI.
DAEMONS = ("BACKFILL", "QUEUED_RUN_COORDINATOR", "MONITORING")
POLL_SECONDS = 2.0
# How often the backfill daemon hosted here looks for days whose inputs are ready. Dagster's
# default, 30 s, suits a deployment's daemon serving many backfills; this one serves one, and each
# wave of runs (extraction, models, detections, ...) waited up to 30 s for the next tick: half the
# wall time of a two-day backfill. An iteration of a 30-day backfill took 0.02-0.21 s.
BACKFILL_TICK_SECONDS = 2.0
# How often the run queue hosted here launches queued runs. Dagster's default, 5 s, again suits a
# deployment: here each wave's runs, submitted at a backfill tick, waited for the queue's next tick
# (a four-day backfill of two-day runs has about eight waves one after another).
DEQUEUE_SECONDS = 1


def instance_overrides(config: Mapping[str, Any], workers: int) -> dict[str, Any]:
    """What this command changes in the instance's ``dagster.yaml`` (``config``) for its daemons.

    At most ``workers`` runs at once, unless the file fixes the limit in its run coordinator
    (then the file wins). Pools without a configured limit get 1: an unlimited pool would let two
    runs write the ledger at the same time. The queue launches runs every DEQUEUE_SECONDS unless the
    file sets its interval or its own run coordinator.
    """
    overrides: dict[str, Any] = {}
    queue = dict(config.get("run_queue") or {})
    if "run_coordinator" not in config and "dequeue_interval_seconds" not in queue:
        # Dagster merges the overrides into the file's keys shallowly: keep the file's other settings
        overrides["run_queue"] = {**queue, "dequeue_interval_seconds": DEQUEUE_SECONDS}
    concurrency = {key: value for key, value in (config.get("concurrency") or {}).items()}
    pools = dict(concurrency.get("pools") or {})
    has_pool_limit = pools.get("default_limit") is not None or "default_op_concurrency_limit" in concurrency
    coordinator = (config.get("run_coordinator") or {}).get("config") or {}
    if "max_concurrent_runs" in coordinator or "max_concurrent_runs" in queue:
        # Dagster refuses `concurrency: runs/pools` beside a run coordinator's own limit; the
        # older key for the pools' default is allowed there.
        if not has_pool_limit:
            concurrency["default_op_concurrency_limit"] = 1
        return {**overrides, "concurrency": concurrency}
    concurrency["runs"] = {**(concurrency.get("runs") or {}), "max_concurrent_runs": workers}
    if not has_pool_limit:
        pools["default_limit"] = 1
    concurrency["pools"] = pools
    return {**overrides, "concurrency": concurrency}


def days_per_run(start: date, end: date, workers: int) -> int:
    """Runs of this many days give each of the ``workers`` slots one run per wave of the backfill."""
    return max(1, math.ceil(((end - start).days + 1) / workers))


def run(start: date, end: date, workers: int, home: Path) -> bool:
    """Backfill the daily assets for ``start..end`` (inclusive); True when every run succeeded."""
    import dagster as dg
    from dagster._core.definitions.selector import (
        PartitionRangeSelector,
        PartitionsByAssetSelector,
        PartitionsSelector,
    )
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.controller import create_daemon_of_type, daemon_controller_from_instance

    from dsassets.defs.jobs import DAILY_GROUPS
    from dsassets.definitions import defs

    config, _ = dagster_instance_config(str(home))
    ref = InstanceRef.from_dir(str(home), overrides=instance_overrides(config, workers))
    graph = defs().resolve_asset_graph()
    keys = sorted(dg.AssetSelection.groups(*DAILY_GROUPS).resolve(graph))
    with dg.DagsterInstance.from_ref(ref) as instance:
        # Exactly these days of every asset. Selecting partition names instead would also target
        # every later day whose lookback reaches into the range (Dagster follows the mappings
        # downstream): right after changing old data, far too much for a backfill.
        days = PartitionsSelector(ranges=[PartitionRangeSelector(start=start.isoformat(), end=end.isoformat())])
        backfill = PartitionBackfill.from_partitions_by_assets(
            backfill_id=uuid.uuid4().hex[:8],
            asset_graph=graph,
            partitions_by_assets=[PartitionsByAssetSelector(asset_key=key, partitions=days) for key in keys],
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            title=f"dsassets backfill {start}..{end} --parallel {workers}",
            description=None,
            run_config=None,
        )
        instance.add_backfill(backfill)
        print(f"Backfill {backfill.backfill_id}: {len(keys)} assets x {(end - start).days + 1} days, "
              f"at most {instance.get_concurrency_config().run_queue_config.max_concurrent_runs} runs at once")
        target = ModuleTarget(module_name="dsassets.definitions", attribute=None,
                              working_directory=str(Path.cwd()), location_name="dsassets")
        with _backfill_tick(BACKFILL_TICK_SECONDS), daemon_controller_from_instance(
            instance,
            workspace_load_target=target,
            gen_daemons=lambda inst: [create_daemon_of_type(t, inst) for t in DAEMONS],
            log_level="warning",
        ):
            status = _wait(instance, backfill.backfill_id)
        runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill.backfill_id))
        failed = [r.run_id for r in runs if not r.is_success]
        print(f"Backfill {backfill.backfill_id}: {status.value}, {len(runs)} runs, {len(failed)} failed")
        for run_id in failed:
            print(f"  failed run {run_id}: see it in the UI", file=sys.stderr)
        return status == BulkActionStatus.COMPLETED_SUCCESS and not failed


@contextlib.contextmanager
def _backfill_tick(seconds: float) -> Iterator[None]:
    """The backfill daemon's interval while this process hosts it. Dagster reads it from a module
    constant when the daemon's loop starts (``execute_backfill_iteration_loop``); it has no setting."""
    from dagster._daemon import controller

    before = controller.DEFAULT_DAEMON_INTERVAL_SECONDS
    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = seconds
    try:
        yield
    finally:
        controller.DEFAULT_DAEMON_INTERVAL_SECONDS = before


def _wait(instance, backfill_id: str):
    from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES

    while True:
        backfill = instance.get_backfill(backfill_id)
        if backfill.status in BULK_ACTION_TERMINAL_STATUSES:
            return backfill.status
        time.sleep(POLL_SECONDS)
