"""Scratch files that a killed run left behind, removed once no live run can still be writing them."""

from __future__ import annotations

import time
from pathlib import Path


def remove_stale_scratch(folder: Path, older_than_seconds: float) -> None:
    """Remove ``folder``'s scratch files (``.*.tmp``) last written ``older_than_seconds`` ago or more."""
    cutoff = time.time() - older_than_seconds
    for scratch in folder.glob(".*.tmp"):
        try:
            if scratch.stat().st_mtime < cutoff:
                scratch.unlink()
        except FileNotFoundError:
            pass  # its run finished, or another run removed it
