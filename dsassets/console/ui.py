"""``dsassets ui``: the Dagster UI and daemon (``dg dev``) on the instance the CLI records runs in.

Dagster 1.13 marks ``dagster dev`` superseded by ``dg dev``. The executable is the one installed
beside the running interpreter (``.venv/bin/dg``), found by absolute path, so the command works
without an activated virtual environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Mapping

from dsassets.console import instance

# The checkout's workspace file (one code location named `dsassets`); an installed package
# without it gets the same file written into the instance folder.
CHECKOUT_WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"
WORKSPACE = """\
load_from:
  - python_module:
      module_name: dsassets.definitions
      location_name: dsassets
"""


def dg_executable() -> str:
    """``dg`` of this interpreter's environment; on PATH only when it is not installed beside it."""
    beside = Path(sys.executable).parent / "dg"
    if beside.exists():
        return str(beside)
    found = shutil.which("dg")
    if found:
        return found
    raise FileNotFoundError(
        f"no `dg` executable beside {sys.executable} or on PATH: install dagster-dg-cli "
        "(pip install -r requirements.lock) into this environment"
    )


def workspace_file(home: Path) -> Path:
    if CHECKOUT_WORKSPACE.exists():
        return CHECKOUT_WORKSPACE
    path = home / "workspace.yaml"
    path.write_text(WORKSPACE)
    return path


def command(home: Path, host: str, port: int) -> list[str]:
    return [dg_executable(), "dev", "--workspace", str(workspace_file(home)), "--host", host, "--port", str(port)]


def environment(home: Path, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The UI's environment: the instance folder and the settings the demo chose for it."""
    return {**instance.remembered_env(home, env), "DAGSTER_HOME": str(home)}


def run(home: Path, host: str, port: int) -> None:
    """Replace this process with ``dg dev`` (Ctrl-C stops the webserver and daemon)."""
    argv = command(home, host, port)
    env = environment(home)
    print(f"Dagster instance: {home}\nDagster UI: http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    os.execve(argv[0], argv, env)
