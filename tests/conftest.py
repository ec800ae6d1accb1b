"""What several test modules share: the simulator's environment for a module, one backfilled lake per session.

Helpers that are not fixtures (hand-built lakes, the OpenAPI checker, the loopback S3 server,
the loopback webhook and SMTP receivers) are in ``tests/support/``.
"""

import gc

import pytest

from support import standard_lake as standard
from support.simulated_env import use_simulator


@pytest.fixture(scope="module")
def simulator_env(request, tmp_path_factory):
    """A scratch data directory and the simulator's environment for the whole module.

    The module sets ``SEED`` and ``EVENTS_PER_DAY``. Yields ``(data_dir, patch)``; ``patch`` (a
    ``MonkeyPatch`` undone after the module) may change more of the environment, e.g. move the
    simulator's clock.
    """
    data = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    patch = pytest.MonkeyPatch()
    use_simulator(patch, data, seed=request.module.SEED, events_per_day=request.module.EVENTS_PER_DAY)
    try:
        yield data, patch
    finally:
        patch.undo()
        # A refresh run here froze what this process held (dsassets.lib.long_lived): the next
        # module's garbage is collected as in a process of its own.
        gc.unfreeze()


@pytest.fixture(scope="session")
def standard_lake(tmp_path_factory):
    """The data directory of ``dsassets backfill`` over the standard three days (support.standard_lake).

    One per session: a backfill costs minutes on the 2-core CI machine. Read it, never change it
    (other modules compare against it, and its instance must hold only the backfill's runs).
    """
    return standard.build(tmp_path_factory.mktemp("standard-lake"))


# The modules that take minutes, in the order a worker should start them when the suite runs on
# several (the README's and CI's ``pytest -n 2``, whole modules per worker: ``--dist loadfile``).
# The run ends when its last worker does: started last, one of these would run alone at the end.
LONGEST_FIRST = ("test_parallel_backfill", "test_detections_pipeline", "test_realorg_standin",
                 "test_end_to_end", "test_late_events", "test_console", "test_analyst_loop",
                 "test_detections", "test_simulator_detections", "test_lake_object_storage",
                 "test_late_events_pipeline", "test_refresh_pipeline")


def pytest_collection_modifyitems(config, items):
    """On xdist workers, queue the longest modules first (every worker sorts alike, as xdist needs)."""
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))
