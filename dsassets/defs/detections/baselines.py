"""The detections' per-user daily baselines (``dsassets.lib.detections.baselines``) as daily assets.

``det_baseline_<what>`` runs ``sql/baselines/<name>.sql`` over the same day's ``activities`` and
writes ``<data_dir>/warehouse/<name>/dt=YYYY-MM-DD/data.parquet``. A day's detections read the
baselines of their lookback through ``last_days(lookback)`` mappings, so Dagster runs a
backfill's baselines before the detections of the days after them.

A late-arriving day: events stored late for day L re-materialize ``activities`` for L, then
these baselines for L (same day), and, through the detections' ``last_days`` mappings on the
baselines (and on ``activities`` for their raw lookback), the detections of L and of every later
day whose lookback includes L. ``late_events_sensor`` (dsassets/defs/late_events) follows exactly
those mappings and re-checks every daily group but ``raw``, so group ``baselines`` is in it:
nothing a later day read stays computed without the late events.
"""

import dagster as dg

from dsassets.defs.sql_asset import daily_sql_asset
from dsassets.lib.detections import engine as detections
from dsassets.lib.detections.baselines import BASELINES, Baseline, variables
from dsassets.lib.lake.partitions import deps
from dsassets.lib.transform import runner, sql

GROUP = "baselines"


def _setup(run: runner.Run) -> dict:
    """The session settings the fragments are made with (also written on every row), and the
    sessions' macros (which sign-ins make a session)."""
    values = variables(run.config)
    sql.set_variables(run.con, values)
    detections.install_session_macros(run.con)
    return {name.removeprefix("det_"): value for name, value in values.items()}


def baseline_asset(baseline: Baseline) -> dg.AssetsDefinition:
    """One baseline: a day's rows come from that day's activities only."""
    spec = runner.SqlAsset(
        name=baseline.name,
        sql_file=baseline.path,
        query=lambda run: baseline.query(),
        requires=("activities",),
        reads=("activities",),
        setup=_setup,
    )
    return daily_sql_asset(
        spec,
        group=GROUP,
        description=baseline.description,
        deps=deps(("activities",)),
        metadata={"sql": dg.MetadataValue.path(str(baseline.path))},
    )


@dg.definitions
def definitions() -> dg.Definitions:
    """Built when the code location loads, like the detections that read them."""
    return dg.Definitions(assets=[baseline_asset(b) for b in BASELINES])
