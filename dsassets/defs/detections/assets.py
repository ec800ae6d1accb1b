"""The six MDCA anomaly policies for DocuSign as daily assets, and the ``alerts`` mart over them.

``det_<policy>`` runs ``sql/detections/<file>.sql`` over the Parquet marts (the day plus
the policy's lookback) and writes its alerts to
``<data_dir>/warehouse/det_<policy>/dt=YYYY-MM-DD/data.parquet``; ``alerts`` unions the six for
the same days into ``<data_dir>/warehouse/alerts/``. Thresholds, windows, IP lists and ranges
come from ``dsassets.yaml`` (``ip_ranges``, ``detections``). A day's alerts depend only on that
day, its lookback and the config, so backfills in any order (and threshold changes tried on
old history) give the same alerts.
"""

from datetime import timedelta

import dagster as dg

from dsassets.defs.resources import LakeResource
from dsassets.defs.models.assets import BY_NAME, MODELS, window_dates
from dsassets.lib.detections import engine as detections
from dsassets.lib.transform import sql
from dsassets.lib.config.project import ConfigError, load_config
from dsassets.lib.detections.config import POLICIES
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, EVERY_EARLIER_DAY, deps, last_days
from dsassets.lib.policies.compile import POLICY_ALERTS, policy_alerts_part
from dsassets.lib.triage import suppressions

GROUP = "detections"
ALERTS = "alerts"
DESCRIPTIONS = {
    "anonymous_ip": "Activity from anonymous IP addresses (Tor exits, anonymizers, DocuSign proxyType).",
    "infrequent_country": "Activity from a country the user has not used in the baseline window.",
    "suspicious_ip": "Successful sign-ins from threat-intelligence IPs or the organization's Risky ranges.",
    "impossible_travel": "Two activities of a user too far apart for the time between them (country level).",
    "terminated_user_activity": "DocuSign activity after the identity provider deleted or disabled the user.",
    "multiple_failed_logins": "More failed sign-ins in a session than the user's baseline and the floor allow.",
}


def _read_alerts(con, lake: Lake, name: str, start, end) -> list[dict]:
    glob = sql.model_glob(lake, sql.Model("marts", name, (), "", True))
    cur = con.execute(
        f"select * from {sql.parquet_scan(glob)} where dt >= ? and dt < ?", [start, end]
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _result(con, lake: Lake, name: str, start, end, counts, extra: dict) -> dg.MaterializeResult:
    rows = _read_alerts(con, lake, name, start, end)
    by_policy: dict[str, int] = {}
    for r in rows:
        by_policy[r["policy"]] = by_policy.get(r["policy"], 0) + 1
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "alert_count": dg.MetadataValue.int(sum(counts.values())),
            "alerts_per_day": dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
            "alerts_per_policy": dg.MetadataValue.json(by_policy),
            "newest_alerts": dg.MetadataValue.md(detections.newest_alerts_markdown(rows)),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
            "location": dg.MetadataValue.path(str(sql.model_dir(lake, name))),
            **extra,
        }
    )


def materialize_detection(context: dg.AssetExecutionContext, lake: Lake, policy: str) -> dg.MaterializeResult:
    start, end = window_dates(context)
    config = load_config()
    name = detections.asset_name(policy)
    lookback = detections.lookback_days(config, policy)
    with sql.session(lake) as con:
        bound = sql.prepare(con, lake, config, MODELS)
        missing = [d for d in detections.inputs(policy) if d in BY_NAME and d not in bound]
        if missing:
            raise RuntimeError(
                f"{name} needs {', '.join(missing)}: materialize the marts for this window first"
            )
        sql.set_window(con, start, end)
        files = detections.install(con, config, policy)
        gaps = detections.missing_days(con, "activities", start - timedelta(days=lookback), end)
        if gaps:
            context.log.warning(
                f"{name}: no activities for {len(gaps)} day(s) of the window and its {lookback}-day "
                f"lookback ({gaps[0]} .. {gaps[-1]}); baselines there are incomplete. Backfill them "
                "and re-run these partitions to get the alerts a complete history gives."
            )
        counts = detections.write_alerts(con, lake, policy, start, end)
        extra = {
            "policy": policy,
            "enabled": config.detections.policy(policy).enabled,
            "lookback_days": lookback,
            "days_without_activity_in_lookback": dg.MetadataValue.json([d.isoformat() for d in gaps]),
        }
        if policy in ("anonymous_ip", "suspicious_ip"):
            extra["ip_lists"] = dg.MetadataValue.json(
                [{"name": f.name, "entries": len(f.entries), "as_of": f.as_of, "path": f.path}
                 for f in files if f.policy == policy]
            )
        return _result(con, lake, name, start, end, counts, extra)


def _lookbacks(policy: str) -> dict[str, dg.PartitionMapping]:
    """What the policy reads besides its day: ``activities`` over its lookback, and the full
    history of the rest (learning periods, identity-provider and lifecycle history)."""
    try:
        activities = last_days(detections.lookback_days(load_config(), policy))
    except ConfigError:
        # The assets fail with the config error when they run; until then assume all history,
        # which orders a backfill safely whatever the lookback turns out to be.
        activities = EVERY_EARLIER_DAY
    others = {name: EVERY_EARLIER_DAY for name in detections.inputs(policy) if name != "activities"}
    return {"activities": activities, **others}


def build_detection_asset(policy: str) -> dg.AssetsDefinition:

    @dg.asset(
        name=detections.asset_name(policy),
        group_name=GROUP,
        kinds={"duckdb", "sql"},
        description=f"{DESCRIPTIONS[policy]} Policy id `{policy}`; one row per alert (incident).",
        deps=deps(detections.inputs(policy), _lookbacks(policy)),
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
        metadata={"policy": policy,
                  "sql": dg.MetadataValue.path(str(detections.DETECTIONS_DIR / f"{detections.SQL_FILE[policy]}.sql"))},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return materialize_detection(context, lake.lake, policy)

    return _asset


detection_assets = [build_detection_asset(p) for p in POLICIES]


@dg.asset(
    name=ALERTS,
    group_name=GROUP,
    kinds={"duckdb", "sql"},
    description=(
        "One row per alert of the six anomaly policies (the union of det_*) and of the activity "
        "policies (policy_alerts), partitioned by the "
        "day the incident alerted: alert_id, policy, severity, title, description, user, account, "
        "started/ended, event ids, IPs, countries, evidence (JSON). Alerts matching an analyst's "
        "suppression rule are left out and written to suppressed_alerts with the rule."
    ),
    deps=[dg.AssetKey(detections.asset_name(p)) for p in POLICIES] + [dg.AssetKey(POLICY_ALERTS)],
    partitions_def=DAILY,
    backfill_policy=BACKFILL_POLICY,
)
def alerts(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    lake_ = lake.lake
    start, end = window_dates(context)
    with sql.session(lake_) as con:
        parts = []
        for policy in POLICIES:
            name = detections.asset_name(policy)
            model = sql.Model("marts", name, (), "", True)
            if not sql.has_output(lake_, model):
                raise RuntimeError(f"alerts needs {name}: materialize it for this window first")
            parts.append(
                f"select * from {sql.parquet_scan(sql.model_glob(lake_, model))} "
                "where dt >= getvariable('window_start') and dt < getvariable('window_end')"
            )
        # User-defined activity policies (dsassets/lib/policies) alert into the same table.
        if sql.has_output(lake_, sql.Model("marts", POLICY_ALERTS, (), "", True)):
            parts.append(policy_alerts_part(lake_))
        sql.set_window(con, start, end)
        con.execute(f"create temp view alerts__all as {' union all by name '.join(parts)}")
        # Analysts' suppression rules (dsassets alerts dismiss --suppress) hold back matching
        # alerts here, for every policy at once; what they hid goes to suppressed_alerts.
        suppressions.install(con, lake_)
        kept, hidden = suppressions.split_sql("alerts__all")
        con.execute(f"create temp view alerts__result as {kept}")
        con.execute(f"create temp view alerts__suppressed as {hidden}")
        counts = sql.write_partitions(con, lake_, ALERTS, "alerts__result", start, end)
        held = sql.write_partitions(con, lake_, suppressions.SUPPRESSED_ALERTS, "alerts__suppressed", start, end)
        listed = con.execute(
            "select alert_id, policy, user_email, suppression_id, suppression_kind, suppressed_by, "
            "suppression_expires_at from alerts__suppressed order by started_at"
        ).fetchall()
        extra = {
            "suppressed": dg.MetadataValue.int(sum(held.values())),
            "suppressed_alerts": dg.MetadataValue.json(
                [dict(zip(("alert_id", "policy", "user", "suppression_id", "kind", "by", "expires_at"),
                          (*row[:-1], row[-1].isoformat()))) for row in listed[:50]]
            ),
        }
        return _result(con, lake_, ALERTS, start, end, counts, extra)
