"""How a launched run executes its steps: Dagster's multiprocess executor, forking from a server
that has already imported the code location.

Only runs launched through the instance (backfill runs, schedules, the UI, Kubernetes run pods)
use it; ``execute_in_process`` (``dsassets backfill`` without ``--parallel``) stays in one process.
The default ``spawn`` would re-import Dagster and every asset module in each step's process
(10-25 s per step on the 2-core test machine, more than most steps take).
"""

import pkgutil

import dagster as dg

import dsassets.defs

# Every asset module, so the fork server imports them (Great Expectations alone takes seconds)
# once per run, and each step's process starts from a copy.
PRELOAD = ["dsassets.definitions", *(m.name for m in pkgutil.walk_packages(dsassets.defs.__path__, "dsassets.defs."))]

executor = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": PRELOAD}}},
    name="dsassets_multiprocess",
)


@dg.definitions
def run_executor() -> dg.Definitions:
    return dg.Definitions(executor=executor)
