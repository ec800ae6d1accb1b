"""The standard simulated lake: ``dsassets backfill`` of three days on the embedded simulator.

Built once per test session (the ``standard_lake`` fixture in ``tests/conftest.py``) and shared by
every module that only reads a lake backfilled the documented way: the end-to-end checks and
the local side of the object-storage comparison. A module that needs
other days, seeds or settings, or changes what it reads, builds its own.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from support.simulated_env import use_simulator

START, END = date(2026, 11, 8), date(2026, 11, 10)
SEED, EVENTS_PER_DAY = 5, 300


def standard_env(patch: pytest.MonkeyPatch, data: Path, home: Path) -> None:
    """The standard lake's environment on ``patch``: the simulator's settings for ``data``, the
    Dagster instance in ``home``, and whatever the calling module set put aside."""
    for name in list(os.environ):
        if name.startswith(("DSASSETS_", "DOCUSIGN_", "ENTRA_")) or name == "DAGSTER_HOME":
            patch.delenv(name)
    use_simulator(patch, data, seed=SEED, events_per_day=EVENTS_PER_DAY)
    patch.setenv("DAGSTER_HOME", str(home))


def build(data: Path) -> Path:
    """Backfill START..END into ``data`` with ``dsassets backfill``, its instance under ``data/dagster``.

    The lake must be the same whichever test asks for it first (:func:`standard_env`).
    """
    from dsassets import cli

    with pytest.MonkeyPatch.context() as patch:
        standard_env(patch, data, data / "dagster")
        assert cli.main(["backfill", START.isoformat(), END.isoformat()]) == 0
    return data

