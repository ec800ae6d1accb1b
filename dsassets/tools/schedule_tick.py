"""One schedule tick as the daemon makes it, run in this process (benchmarks and tests replay the day).

The caller sets the simulator's clock (``DSASSETS_SIMULATOR_NOW``) to ``at`` first, as its own
way of changing the environment allows.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg


def run_schedule_tick(
    definitions: dg.Definitions, instance: dg.DagsterInstance, schedule: str, at: datetime
) -> tuple[dg.RunRequest, dg.ExecuteInProcessResult]:
    """Evaluate ``schedule`` at ``at`` and execute its (first) run request in process."""
    repo = definitions.get_repository_def()
    schedule_def = repo.get_schedule_def(schedule)
    # Entered, as the daemon does: the context opens an instance of its own and must close it,
    # or Dagster's current definitions-state storage is left pointing at a collected instance.
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=at, repository_def=repo) as context:
        request = schedule_def.evaluate_tick(context).run_requests[0]
    result = definitions.resolve_job_def(schedule_def.job_name).execute_in_process(
        instance=instance, partition_key=request.partition_key, run_config=request.run_config,
        asset_selection=request.asset_selection, tags=request.tags,
    )
    return request, result
