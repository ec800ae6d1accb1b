"""The Dagster code location: every module under ``dsassets/defs`` is loaded automatically, and
every asset gets its owners, tags and freshness policy (``defs/catalog/specs.py``)."""

from pathlib import Path

import dagster as dg

from dsassets.defs.catalog.specs import annotate
from dsassets.lib.config.project import ProjectConfig, project_config

# (the configuration it was built from, the code location) once prebuild() ran in this process.
_prebuilt: tuple[ProjectConfig, dg.Definitions] | None = None


def _build() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # A module that imports another's asset (to check it, say) makes the loader list it twice;
    # mapping would turn the two references into two different assets with one key.
    unique = list({id(asset): asset for asset in loaded.assets or []}.values())
    return dg.Definitions.merge(
        dg.Definitions(assets=dg.map_asset_specs(annotate, unique)),
        dg.Definitions(
            asset_checks=loaded.asset_checks, jobs=loaded.jobs, schedules=loaded.schedules,
            sensors=loaded.sensors, resources=loaded.resources, executor=loaded.executor,
            loggers=loaded.loggers,
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: the one prebuild() kept, while the configuration is the one it was built from."""
    if _prebuilt is not None and _prebuilt[0] is project_config():
        return _prebuilt[1]
    return _build()


def prebuild() -> None:
    """Build the code location now, and give it to every later load in this process (and in the
    processes forked from it) while ``dsassets.yaml`` is the file it was built from.

    Only the multiprocess executor's fork server calls it (``dsassets/step_preload.py``): each step's
    process is forked from that server and loads the code location to find its step: 0.5-0.6 s a
    step on the 2-core test machine (with Dagster's modules preloaded too, ``defs/executor.py``;
    1.5-1.8 s with neither), for the 64 steps of a daily run."""
    global _prebuilt
    try:
        config = project_config()
        built = _build()
        # Resolved here once, with every job (Dagster caches both on the objects), or each step
        # resolves its own job again (0.1-0.2 s).
        built.get_repository_def().get_all_jobs()
    except Exception:  # noqa: BLE001
        # The fork server must not die on it: each step then builds the code location itself and
        # fails with the error where Dagster reports it, as without the prebuild.
        return
    _prebuilt = (config, built)
