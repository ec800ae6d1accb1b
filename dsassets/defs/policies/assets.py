"""Custom activity policies as daily assets: ``pol_<id>`` per policy and ``policy_alerts`` (their union).

Policies are read from the files ``activity_policies.files`` of ``dsassets.yaml`` names
(``policies/*.yaml``) when the code location loads. A malformed policy is left out with a
warning naming the file, the policy and the field; the valid ones still become assets, and
every load error is listed in ``policy_alerts``' metadata. Each ``pol_<id>`` compiles its
filters to DuckDB SQL with prepared parameters (``dsassets/lib/policies/compile.py``) over
the ``activities`` and ``users`` marts and writes its alerts, in the ``alerts`` columns,
to ``<data_dir>/warehouse/pol_<id>/dt=YYYY-MM-DD/``.
"""

import logging

import dagster as dg

from dsassets.defs.resources import LakeResource
from dsassets.defs.models.assets import BY_NAME, MODELS, window_dates
from dsassets.lib.detections import engine as detections
from dsassets.lib.transform import sql
from dsassets.lib.config.project import ConfigError, config_path, load_config
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, deps, last_days
from dsassets.lib.policies import compile as policy_sql
from dsassets.lib.policies.model import LoadError, Loaded, Policy, load_policies
from dsassets.lib.scope import apply as scoping

GROUP = "policies"
POLICY_ALERTS = policy_sql.POLICY_ALERTS
INPUTS = ("activities", "users")
log = logging.getLogger("dsassets.policies")


def load() -> Loaded:
    """The configured policy files; a config error becomes a load error, never a failed location."""
    try:
        config = load_config()
    except ConfigError as exc:
        loaded = Loaded()
        loaded.errors.append(LoadError(str(config_path()), None, f"activity policies not loaded: {exc}"))
        return loaded
    return load_policies(list(config.activity_policies.files), config_path().parent)


def _mart(name: str) -> sql.Model:
    return sql.Model("marts", name, (), "", True)


def _rows(con, lake, name: str, start, end) -> list[dict]:
    cur = con.execute(
        f"select * from {sql.parquet_scan(sql.model_glob(lake, _mart(name)))} where dt >= ? and dt < ?",
        [start, end],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def materialize_policy(context: dg.AssetExecutionContext, lake_resource: LakeResource, policy: Policy):
    lake = lake_resource.lake
    start, end = window_dates(context)
    config = load_config()
    name = policy.asset_name
    with sql.session(lake) as con:
        bound = sql.prepare(con, lake, config, MODELS)
        missing = [d for d in INPUTS if d in BY_NAME and d not in bound]
        if missing:
            raise RuntimeError(f"{name} needs {', '.join(missing)}: materialize the marts for this window first")
        sql.set_window(con, start, end)
        policy_sql.install(con, config)
        cap = policy.daily_match_cap or config.activity_policies.daily_match_cap
        matched = policy_sql.evaluate(con, policy, f"{name}__result", cap)
        flooded = policy_sql.flooded_days(con, f"{name}__result")
        relation, out_of_scope = scoping.apply(con, policy.id, config.scope.get(policy.id), f"{name}__result")
        counts = sql.write_partitions(con, lake, name, relation, start, end)
        rows = _rows(con, lake, name, start, end)
    for day, matches in flooded.items():
        context.log.warning(f"{name}: {matches} matches on {day}, past its daily cap of {cap}: one "
                            "'policy flooded' alert, no further alerts that day")
    condition, params = policy_sql.where_clause(policy)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "alert_count": dg.MetadataValue.int(sum(counts.values())),
            "matching_events": dg.MetadataValue.int(matched),
            "out_of_scope_alerts": dg.MetadataValue.int(out_of_scope),
            "daily_match_cap": dg.MetadataValue.int(cap),
            # Days past the cap: {day: matches}; each got one "policy flooded" alert and no more.
            "flooded_days": dg.MetadataValue.json(flooded),
            "alerts_per_day": dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
            "newest_alerts": dg.MetadataValue.md(detections.newest_alerts_markdown(rows)),
            "where": dg.MetadataValue.md(f"```sql\n{condition}\n```"),
            "parameters": dg.MetadataValue.json({k: str(v) for k, v in params.items()}),
            "lookback_days": policy_sql.lookback_days(policy),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
            "location": dg.MetadataValue.path(str(sql.model_dir(lake, name))),
        }
    )


def build_policy_asset(policy: Policy, source: str) -> dg.AssetsDefinition:
    match = (f"{policy.threshold.count}+ matching events within {policy.threshold.minutes} minutes "
             f"({'same user' if policy.threshold.same_user else 'across users'})"
             if policy.threshold else "every matching event")

    @dg.asset(
        name=policy.asset_name,
        group_name=GROUP,
        kinds={"duckdb", "sql"},
        description=(f"Activity policy `{policy.id}` ({source}): {policy.title}. Alerts on {match}; "
                     "one row per alert."),
        # A repeated-activity policy reads its lookback of both marts (bursts across midnight).
        deps=deps((*INPUTS, "stg_idp__group_members"),
                  {name: last_days(policy_sql.lookback_days(policy)) for name in INPUTS}),
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
        metadata={
            "policy": policy.id,
            "severity": policy.severity,
            "file": dg.MetadataValue.path(source),
            "definition": dg.MetadataValue.json(policy.model_dump(mode="json")),
        },
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return materialize_policy(context, lake, policy)

    return _asset


LOADED = load()
for _error in LOADED.errors:
    log.warning("activity policy rejected: %s", _error)
policy_assets = [build_policy_asset(p, LOADED.sources.get(p.id, "")) for p in LOADED.policies]


@dg.asset(
    name=POLICY_ALERTS,
    group_name=GROUP,
    kinds={"duckdb", "sql"},
    description=(
        "One row per alert of the custom activity policies (the union of pol_*), in the columns of "
        "`alerts`, with policy = the policy's id. Its metadata lists policies rejected at load."
    ),
    deps=[dg.AssetKey(p.asset_name) for p in LOADED.policies],
    partitions_def=DAILY,
    backfill_policy=BACKFILL_POLICY,
)
def policy_alerts(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    lake_ = lake.lake
    start, end = window_dates(context)
    for error in LOADED.errors:
        context.log.warning(f"activity policy rejected: {error}")
    with sql.session(lake_) as con:
        parts = []
        for policy in LOADED.policies:
            if not sql.has_output(lake_, _mart(policy.asset_name)):
                raise RuntimeError(f"{POLICY_ALERTS} needs {policy.asset_name}: materialize it for this window first")
            parts.append(
                f"select * from {sql.parquet_scan(sql.model_glob(lake_, _mart(policy.asset_name)))} "
                "where dt >= getvariable('window_start') and dt < getvariable('window_end')"
            )
        sql.set_window(con, start, end)
        query = " union all by name ".join(parts) if parts else detections.empty_alerts_query()
        con.execute(f"create temp view {POLICY_ALERTS}__result as {query}")
        counts = sql.write_partitions(con, lake_, POLICY_ALERTS, f"{POLICY_ALERTS}__result", start, end)
        rows = _rows(con, lake_, POLICY_ALERTS, start, end)
    by_policy: dict[str, int] = {p.id: 0 for p in LOADED.policies}
    for r in rows:
        by_policy[r["policy"]] = by_policy.get(r["policy"], 0) + 1
    errors = [str(e) for e in LOADED.errors]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "alert_count": dg.MetadataValue.int(sum(counts.values())),
            "alerts_per_policy": dg.MetadataValue.json(by_policy),
            "alerts_per_day": dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
            "newest_alerts": dg.MetadataValue.md(detections.newest_alerts_markdown(rows)),
            "policy_files": dg.MetadataValue.json(LOADED.files),
            "policy_load_errors": dg.MetadataValue.md(
                "\n".join(f"- {e}" for e in errors) if errors else "_none: every policy loaded_"),
            "policy_load_error_count": dg.MetadataValue.int(len(errors)),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
            "location": dg.MetadataValue.path(str(sql.model_dir(lake_, POLICY_ALERTS))),
        }
    )
