"""The Dagster instance the CLI records runs in (``<local_dir>/dagster``) and what it remembers.

``dagster.yaml`` is written once with telemetry off (an empty instance config otherwise: local
SQLite storage under the same folder). ``dsassets.env`` holds the settings the CLI chose for this
data directory, today only ``DSASSETS_START_DATE`` (the demo's first day), so ``dsassets ui`` and
later backfills show the same partitions as the runs that wrote the lake. A variable set in the
environment always wins over the file.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Mapping, MutableMapping

from dsassets.lib.config import settings

INSTANCE_YAML = "dagster.yaml"
ENV_FILE = "dsassets.env"
START_DATE = settings.START_DATE.name


def prepare_home(home: Path) -> Path:
    """Create ``home`` with a ``dagster.yaml`` that turns telemetry off (kept if the user wrote one)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / INSTANCE_YAML
    if not config.exists():
        config.write_text(
            "# Written by dsassets: local storage in this folder (Dagster's defaults), no telemetry.\n"
            "telemetry:\n  enabled: false\n"
        )
    return home


def read_env_file(home: Path) -> dict[str, str]:
    path = home / ENV_FILE
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def write_env_file(home: Path, values: dict[str, str]) -> None:
    lines = ["# Settings dsassets chose for this data directory; the environment overrides them."]
    lines += [f"{name}={value}" for name, value in sorted(values.items())]
    (home / ENV_FILE).write_text("\n".join(lines) + "\n")


def remembered_start(home: Path) -> date | None:
    raw = read_env_file(home).get(START_DATE)
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@contextmanager
def partitions_start(home: Path, first_day: date, env: MutableMapping[str, str] = os.environ) -> Iterator[str]:
    """``DSASSETS_START_DATE`` for the runs inside the block (restored after it) and for later ones.

    An explicit variable wins. Otherwise the remembered start, moved back to ``first_day`` when a
    run needs earlier days and written to ``dsassets.env``: after the demo the UI lists its week,
    not hundreds of missing partitions since Dagster's default start. Must be entered before the
    definitions are imported (the partitions definition reads the variable once).
    """
    before = settings.START_DATE.value(env)
    if before:
        yield before
        return
    remembered = remembered_start(home)
    start = min(remembered, first_day) if remembered else first_day
    if start != remembered:
        values = read_env_file(home)
        values[START_DATE] = start.isoformat()
        write_env_file(home, values)
    env[START_DATE] = start.isoformat()
    try:
        yield env[START_DATE]
    finally:
        env.pop(START_DATE, None)


def remembered_env(home: Path, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``env`` plus what ``dsassets.env`` remembers (the environment wins): for ``dsassets ui``."""
    return {**read_env_file(home), **env}
