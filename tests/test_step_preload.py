"""A multiprocess run's steps start with Dagster's step modules and pandas imported and the code
location built once in the fork server, and build it again themselves when dsassets.yaml changed since."""

import os
import subprocess
import sys
from pathlib import Path

POLICY = "  - id: {id}\n    title: T\n    severity: low\n    filters: {{action: Deleted}}\n"

# As Dagster's multiprocess executor starts its steps: a forkserver context with the executor's
# preload list, a process per step.
SCRIPT = """
import multiprocessing, os, time
from pathlib import Path
from dsassets.defs.executor import PRELOAD
from support import fork_probe

def step(probe=fork_probe.load_code_location):
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    results = ctx.Queue()
    process = ctx.Process(target=probe, args=(results,))
    process.start()
    found = results.get(timeout=120)
    process.join()
    return found

print(step())
print(step(fork_probe.set_up_sql))
config = Path(os.environ["DSASSETS_CONFIG"])
config.write_text(config.read_text().replace("first.yaml", "*.yaml"))
os.utime(config, ns=(time.time_ns() + 10**9,) * 2)  # a new stamp, however coarse the clock
print(step())
"""


def test_steps_reuse_the_fork_servers_code_location_until_the_config_changes(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "first.yaml").write_text("policies:\n" + POLICY.format(id="first"))
    (tmp_path / "policies" / "second.yaml").write_text("policies:\n" + POLICY.format(id="second"))
    (tmp_path / "dsassets.yaml").write_text("activity_policies:\n  files: ['policies/first.yaml']\n")
    tests = str(Path(__file__).parent)
    env = {**os.environ, "DSASSETS_CONFIG": str(tmp_path / "dsassets.yaml"), "DSASSETS_DATA_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([tests, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, sql_imports, changed = done.stdout.strip().splitlines()
    # The step found Dagster's modules imported and the code location built, with the configured policy.
    assert first == "(True, True, ['pol_first'])"
    # pyarrow imports pandas on its first table, to see whether it was given a pandas frame: nearly
    # every step's SQL set-up does, and the fork server has done it for them.
    assert "'pandas'" not in sql_imports and "'numpy'" not in sql_imports, sql_imports
    # Once dsassets.yaml changed, the step built its own, with the policies the file now names.
    assert changed == "(True, False, ['pol_first', 'pol_second'])"
