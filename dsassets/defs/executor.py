"""How a launched run executes its steps: Dagster's multiprocess executor, forking from a server
that has already imported the code location.

Only runs launched through the instance (backfill runs, schedules, the UI, Kubernetes run pods)
use it; ``execute_in_process`` (``dsassets backfill`` without ``--parallel``) stays in one process.
The default ``spawn`` would re-import Dagster and every asset module in each step's process
(10-25 s per step on the 2-core test machine, more than most steps take).

Why a process per step at all, on 2 cores: the raw layer's steps (the Monitor stream, the
DocuSign snapshots, the identity provider) overlap. A whole day at a million events, from an
empty lake through the embedded simulator, took 76.4 and 76.7 s with this executor against 83.4
and 82.6 s in one process. Downstream of the raw layer alone, one process wins (33.1-33.8 s
against 42.5-47.7 s: DuckDB already keeps both cores busy, and each step's process costs more than
the overlap gains), which is why the intra-day refresh, whose raw steps read only what is new,
runs in one (``defs/jobs.py``).
"""

import pkgutil

import dagster as dg

import dsassets.defs

# Every asset module, so the fork server imports them once per run and each step's process starts
# from a copy; then dsassets.step_preload builds the code location from them, which each step would
# otherwise do again. Dagster's own: what a step imports to load its job and open the instance's
# storage (SQLAlchemy, Alembic, universal-pathlib), 1.0 s a step. A name a later release drops is
# skipped (the fork server ignores an ImportError): the steps then import what they need themselves.
DAGSTER_STEP_MODULES = ["dagster._utils.test.definitions", "dagster._core.storage.event_log", "upath.core"]
# What nearly every step imports on its first pyarrow call: pyarrow checks whether its input is a
# pandas frame, importing pandas to know. 0.4-0.5 s a step: 34 s of the 100 s of Python that the 64
# steps of a two-day parallel backfill ran (sampled with py-spy). Great Expectations is left out:
# only two checks import it, and every run's fork server would pay its 3.5 s.
STEP_LIBRARIES = ["pandas", "pyarrow.pandas_compat"]
PRELOAD = ["dsassets.definitions", *(m.name for m in pkgutil.walk_packages(dsassets.defs.__path__, "dsassets.defs.")),
           *DAGSTER_STEP_MODULES, *STEP_LIBRARIES, "dsassets.step_preload"]

executor = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": PRELOAD}}},
    name="dsassets_multiprocess",
)


@dg.definitions
def run_executor() -> dg.Definitions:
    return dg.Definitions(executor=executor)
