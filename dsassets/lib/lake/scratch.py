"""Scratch files that a killed run left behind, removed once no live run can still be writing them."""

from __future__ import annotations

import time
from pathlib import Path


def remove_stale_scratch(folder: Path, older_than_seconds: float) -> None:
    """Remove ``folder``'s scratch files (``.*.tmp``) last written ``older_than_seconds`` ago or more."""
    remove_untouched(folder, ".*.tmp", older_than_seconds)


def remove_untouched(folder: Path, pattern: str, older_than_seconds: float) -> None:
    """Remove ``folder``'s files matching ``pattern`` not modified (or touched) for ``older_than_seconds``."""
    cutoff = time.time() - older_than_seconds
    for path in folder.glob(pattern):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # its run finished, or another run removed it
