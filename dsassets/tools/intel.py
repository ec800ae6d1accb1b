"""``dsassets intel update``: refresh the dated threat-intelligence lists (``lib/intel/update.py``)."""

from __future__ import annotations

import sys

from dsassets.lib.config.project import load_config
from dsassets.lib.intel import update


def intel_command(args) -> int:
    config = load_config()
    done, errors = update.update(config)
    for item in done:
        print(f"{item.name}: {item.entries} entries -> {item.path}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if done:
        print(f"Use them with `path: intel:<name>` in detections.ip_lists ({update.intel_dir(config)}).")
    return 1 if errors else 0
