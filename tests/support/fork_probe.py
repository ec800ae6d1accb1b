"""Run in a process forked from the multiprocess executor's fork server (tests/test_step_preload.py)."""

import sys


def load_code_location(results) -> None:
    """Put on ``results``: whether Dagster's step modules were imported before the step began, whether
    loading the code location gave the fork server's prebuilt one, and its activity policies' assets."""
    from dsassets.defs.executor import DAGSTER_STEP_MODULES

    imported = all(name in sys.modules for name in DAGSTER_STEP_MODULES)
    from dsassets import definitions

    built = definitions.defs()
    reused = definitions._prebuilt is not None and built is definitions._prebuilt[1]
    keys = {k.to_user_string() for k in built.resolve_asset_graph().get_all_asset_keys()}
    results.put((imported, reused, sorted(k for k in keys if k.startswith("pol_"))))


def set_up_sql(results) -> None:
    """Put on ``results`` the packages that a SQL step's set-up (its macros and lookup tables, the
    first pyarrow tables it builds) imports, which the fork server had not."""
    import duckdb

    from dsassets.definitions import project_config
    from dsassets.lib.transform.sql import install_support

    before = set(sys.modules)
    with duckdb.connect() as con:
        install_support(con, project_config())
    results.put(sorted({name.split(".")[0] for name in set(sys.modules) - before}))
