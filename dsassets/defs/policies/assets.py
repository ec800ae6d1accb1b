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

from dsassets.defs.sql_asset import daily_sql_asset
from dsassets.lib.config.project import ConfigError, ProjectConfig, config_path, project_config
from dsassets.lib.detections import late as late_events
from dsassets.lib.detections.engine import empty_alerts_query
from dsassets.lib.detections.report import alert_report
from dsassets.lib.lake.partitions import deps, last_days
from dsassets.lib.policies import compile as policy_sql
from dsassets.lib.policies.model import LoadError, Loaded, Policy, load_policies
from dsassets.lib.transform import runner, sql
from dsassets.lib.scope import apply as scoping

GROUP = "policies"
POLICY_ALERTS = policy_sql.POLICY_ALERTS
INPUTS = ("activities", "users")
# What a policy's SQL reads: the marts, and the group snapshots its scope may name.
READS = (*INPUTS, "stg_idp__group_members")
log = logging.getLogger("dsassets.policies")
_LOADED: dict[int, tuple[ProjectConfig, Loaded]] = {}


def load() -> Loaded:
    """The configured policy files; a config error becomes a load error, never a failed location."""
    try:
        config = project_config()
    except ConfigError as exc:
        loaded = Loaded()
        loaded.errors.append(LoadError(str(config_path()), None, f"activity policies not loaded: {exc}"))
        return loaded
    return load_policies(list(config.activity_policies.files), config_path().parent)


def loaded_policies() -> Loaded:
    """The policies of the current configuration, read once per configuration and process."""
    try:
        config = project_config()
    except ConfigError:
        return load()
    if id(config) not in _LOADED:
        _LOADED[id(config)] = (config, load())
    return _LOADED[id(config)][1]


def _evaluate(policy: Policy, run: runner.Run) -> dict:
    """The matching events and the alerts, as a temp table (prepared parameters need one statement)."""
    policy_sql.install(run.con, run.config)
    name = policy.asset_name
    cap = policy.daily_match_cap or run.config.activity_policies.daily_match_cap
    matched = policy_sql.evaluate(run.con, policy, f"{name}__capped", cap)
    flooded = policy_sql.flooded_days(run.con, f"{name}__capped")
    if late_events.bind_late_arrivals(run.con, run.lake):
        late_events.mark_late(run.con, run.lake, f"{name}__capped", name)
    for day, matches in flooded.items():
        run.log.warning(f"{name}: {matches} matches on {day}, past its daily cap of {cap}: one "
                        "'policy flooded' alert, no further alerts that day")
    # Out-of-scope alerts are dropped before writing (dsassets/lib/scope).
    scoped, out_of_scope = scoping.apply(run.con, policy.id, run.config.scope.get(policy.id), f"{name}__capped")
    run.con.execute(f"create or replace temp view {name}__alerts as select * from {scoped}")
    condition, params = policy_sql.where_clause(policy)
    return {
        "matching_events": dg.MetadataValue.int(matched),
        "out_of_scope_alerts": dg.MetadataValue.int(out_of_scope),
        "daily_match_cap": dg.MetadataValue.int(cap),
        # Days past the cap: {day: matches}; each got one "policy flooded" alert and no more.
        "flooded_days": dg.MetadataValue.json(flooded),
        "where": dg.MetadataValue.md(f"```sql\n{condition}\n```"),
        "parameters": dg.MetadataValue.json({k: str(v) for k, v in params.items()}),
        "lookback_days": policy_sql.lookback_days(policy),
    }


def policy_asset(policy: Policy) -> runner.SqlAsset:
    return runner.SqlAsset(
        name=policy.asset_name,
        setup=lambda run: _evaluate(policy, run),
        query=lambda run: f"select * from {policy.asset_name}__alerts",
        requires=INPUTS,
        reads=READS,
        day_report=lambda run, day, count: alert_report(run, policy.asset_name, day, count),
        per_day_key="alerts_per_day",
    )


def build_policy_asset(policy: Policy, source: str) -> dg.AssetsDefinition:
    match = (f"{policy.threshold.count}+ matching events within {policy.threshold.minutes} minutes "
             f"({'same user' if policy.threshold.same_user else 'across users'})"
             if policy.threshold else "every matching event")
    return daily_sql_asset(
        policy_asset(policy),
        group=GROUP,
        description=(f"Activity policy `{policy.id}` ({source}): {policy.title}. Alerts on {match}; "
                     "one row per alert."),
        # A repeated-activity policy reads its lookback of both marts (bursts across midnight).
        deps=deps(READS, {name: last_days(policy_sql.lookback_days(policy)) for name in INPUTS}),
        metadata={
            "policy": policy.id,
            "severity": policy.severity,
            "file": dg.MetadataValue.path(source),
            "definition": dg.MetadataValue.json(policy.model_dump(mode="json")),
        },
    )


def policy_alerts_asset(loaded: Loaded) -> runner.SqlAsset:
    names = [p.asset_name for p in loaded.policies]
    errors = [str(e) for e in loaded.errors]

    def union(run: runner.Run) -> str:
        for error in errors:
            run.log.warning(f"activity policy rejected: {error}")
        parts = [sql.window_select(run.lake, name) for name in names]
        return " union all by name ".join(parts) if parts else empty_alerts_query()

    return runner.SqlAsset(
        name=POLICY_ALERTS,
        query=union,
        requires=tuple(names),
        day_report=lambda run, day, count: alert_report(
            run, POLICY_ALERTS, day, count, {p.id: 0 for p in loaded.policies}),
        report=lambda run, counts: {
            "policy_files": dg.MetadataValue.json(loaded.files),
            "policy_load_errors": dg.MetadataValue.md(
                "\n".join(f"- {e}" for e in errors) if errors else "_none: every policy loaded_"),
            "policy_load_error_count": dg.MetadataValue.int(len(errors)),
        },
        per_day_key="alerts_per_day",
    )


@dg.definitions
def definitions() -> dg.Definitions:
    """Built when the code location loads (the policy files come from dsassets.yaml), never at import."""
    loaded = loaded_policies()
    for error in loaded.errors:
        log.warning("activity policy rejected: %s", error)
    policy_alerts = daily_sql_asset(
        policy_alerts_asset(loaded),
        group=GROUP,
        description=(
            "One row per alert of the custom activity policies (the union of pol_*), in the columns of "
            "`alerts`, with policy = the policy's id. Its metadata lists policies rejected at load."
        ),
        deps=[dg.AssetKey(p.asset_name) for p in loaded.policies],
    )

    policy_assets = [build_policy_asset(p, loaded.sources.get(p.id, "")) for p in loaded.policies]
    return dg.Definitions(assets=[*policy_assets, policy_alerts])
