"""Test helpers imported by the test modules: hand-built lakes, the OpenAPI checker, a loopback S3
server and the simulator environment. ``tests/`` is on the import path (``pythonpath`` in
pyproject.toml), so they are ``support.<module>``."""
