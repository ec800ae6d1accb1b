"""The ``sql/`` folder: where it is and how its files are read.

A model, detection or policy file holds exactly one ``select`` (its jaffle-style header is
``--`` comments); macro and forensic files hold several statements.
"""

from __future__ import annotations

import re
from pathlib import Path

# The repository root holds ``sql/`` next to the package.
SQL_DIR = Path(__file__).resolve().parents[3] / "sql"


def statements(text: str) -> list[str]:
    """Drop ``--`` comments, then split on ``;`` at line ends (the files keep both out of literals)."""
    code = re.sub(r"--[^\n]*", "", text)
    return [p.strip() for p in re.split(r";\s*(?:\n|$)", code) if p.strip()]


def file_statements(path: Path) -> list[str]:
    return statements(path.read_text())


def select_file(path: Path) -> str:
    """The single ``select`` of ``path``, trailing ``;`` removed; an error names the file otherwise."""
    stmts = file_statements(path)
    if len(stmts) != 1:
        shown = path.relative_to(SQL_DIR.parent) if path.is_relative_to(SQL_DIR.parent) else path
        raise ValueError(f"{shown}: a model, detection or policy file holds exactly one select statement")
    return stmts[0]
