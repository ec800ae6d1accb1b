"""The Dagster code location: every module under ``dsassets/defs`` is loaded automatically, and
every asset gets its owners, tags and freshness policy (``defs/catalog/specs.py``)."""

from pathlib import Path

import dagster as dg

from dsassets.defs.catalog.specs import annotate


@dg.definitions
def defs() -> dg.Definitions:
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
