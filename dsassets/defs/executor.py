"""How a launched run executes its steps: Dagster's multiprocess executor, forking from a server
that has already imported the code location.

Only runs launched through the instance (backfill runs, schedules, the UI, Kubernetes run pods)
use it; ``execute_in_process`` (``dsassets backfill`` without ``--parallel``) stays in one process.
The default ``spawn`` would re-import Dagster and every asset module in each step's process
(about 9 s of the 2-core test machine per step, more than most steps take).
"""

import dagster as dg

executor = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["dsassets.definitions"]}}},
    name="dsassets_multiprocess",
)


@dg.definitions
def run_executor() -> dg.Definitions:
    return dg.Definitions(executor=executor)
