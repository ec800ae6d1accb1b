"""What several test modules share: the simulator's environment for a module, one backfilled lake per session.

Helpers that are not fixtures (hand-built lakes, the OpenAPI checker, the loopback S3 server,
the loopback webhook and SMTP receivers) are in ``tests/support/``.
"""

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


@pytest.fixture(scope="session")
def standard_lake(tmp_path_factory):
    """The data directory of ``dsassets backfill`` over the standard three days (support.standard_lake).

    One per session: a backfill costs minutes on the 2-core CI machine. Read it, never change it
    (other modules compare against it, and its instance must hold only the backfill's runs).
    """
    return standard.build(tmp_path_factory.mktemp("standard-lake"))

