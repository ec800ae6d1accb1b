"""Imported last by the multiprocess executor's fork server (``dsassets/defs/executor.py``): builds
the code location there once, so the process of each step, forked from the server, starts with it
built instead of building it again (``dsassets.definitions.prebuild``).

A fork server serves one run: Dagster's run launchers start each run in a process of its own, and
a step inherits the server's environment, the one the code location was built in.
"""

from dsassets.definitions import prebuild

prebuild()
