"""One Dagster asset per SQL model in ``sql/``, built from the explicit table ``MODELS``.

Asset key = file stem = DuckDB relation name. Staging models are views: their
asset records the window's row counts per day (what reconciliation compares).
Intermediate models and marts write one Parquet file per day under
``<data_dir>/warehouse/<model>/dt=YYYY-MM-DD/``. A range run (single-run
backfill policy) computes the whole window in one connection.
"""


from datetime import date

import dagster as dg
import pyarrow as pa

from dsassets.defs.resources import LakeResource
from dsassets.lib.transform import sql
from dsassets.lib.config.project import load_config
from dsassets.lib.intel.geo import IpLocator, enrich_ips
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, EVERY_DAY, EVERY_EARLIER_DAY, deps
from dsassets.lib.transform.sql import Model

M = Model
MODELS: tuple[Model, ...] = (
    # ---------- staging: 1:1 with a raw dataset, renames/casts/normalization, views
    M("staging", "stg_docusign__audit_events", ("raw_docusign_audit_events",),
      "One row per Monitor audit event: UTC timestamps, ISO country codes, sign-in class and "
      "event type from dsassets.yaml. View over the raw Parquet."),
    M("staging", "stg_docusign__accounts", ("raw_docusign_accounts",),
      "One row per account per snapshot day (Admin API). View over the raw Parquet."),
    M("staging", "stg_docusign__organization_users", ("raw_docusign_organization_users",),
      "One row per organization user per snapshot day (Admin API). View over the raw Parquet."),
    M("staging", "stg_docusign__memberships", ("raw_docusign_memberships",),
      "One row per user-account membership per snapshot day (Admin API). View over the raw Parquet."),
    M("staging", "stg_docusign__account_users", ("raw_docusign_account_users",),
      "One row per account user per snapshot day (eSignature API, strings cast). View."),
    M("staging", "stg_docusign__account_settings", ("raw_docusign_account_settings",),
      "Security-relevant account settings per account per snapshot day. View."),
    M("staging", "stg_docusign__password_rules", ("raw_docusign_password_rules",),
      "Password rules per account per snapshot day. View."),
    M("staging", "stg_docusign__reserved_domains", ("raw_docusign_reserved_domains",),
      "One row per reserved (claimed) domain per snapshot day (Admin API). View over the raw Parquet."),
    M("staging", "stg_idp__users", ("raw_idp_users",),
      "Users the identity provider reports deleted or disabled, per snapshot day. View."),
    M("staging", "stg_idp__group_members", ("raw_idp_group_members",),
      "Members of the identity-provider groups policy scopes name, per snapshot day. View."),
    # ---------- intermediate: derived state, Parquet
    M("intermediate", "int_ip_addresses", ("stg_docusign__audit_events",),
      "One row per distinct IP address per day: parsed (v4/v6, valid, global) and, where DocuSign "
      "sent no usable location, located with the offline DB-IP City Lite database."),
    M("intermediate", "int_user_lifecycle_events", ("stg_docusign__audit_events",),
      "One row per successful user-lifecycle event (membership opened/closed, profile and "
      "organization admin changes) with the affected user."),
    M("intermediate", "int_user_activity_daily", ("stg_docusign__audit_events",),
      "One row per acting user per day: event and sign-in counts, first/last event."),
    # ---------- marts: what users query
    M("marts", "activities",
      ("stg_docusign__audit_events", "int_ip_addresses", "stg_docusign__organization_users",
       "stg_docusign__memberships", "stg_docusign__account_users", "stg_docusign__reserved_domains"),
      "One row per audit event, normalized: scope (account/organization), user email, managed "
      "(in a claimed domain) or external, location "
      "and its source, sign-in class, raw event for forensics."),
    M("marts", "user_accounts",
      ("stg_docusign__memberships", "stg_docusign__account_users", "int_user_lifecycle_events"),
      "One row per user-account membership per day: status, admin flag, permission profile, "
      "when it was opened/closed, from daily snapshots and lifecycle events.",
      latest_view=True),
    M("marts", "users",
      ("stg_docusign__organization_users", "int_user_lifecycle_events", "user_accounts",
       "int_user_activity_daily", "stg_idp__users", "stg_docusign__reserved_domains"),
      "One row per organization user per day: active / partially_active / deleted across "
      "accounts, admin or not, managed (claimed domain) or external, first and last activity, "
      "identity-provider status.",
      latest_view=True),
    M("marts", "account_daily_activity", ("activities",),
      "Daily activity summary per account: events, users, sign-ins by class, envelopes, "
      "setting and lifecycle changes, countries."),
    M("marts", "organization_daily_activity", ("activities",),
      "Daily activity summary per organization, account and organization scope together."),
)
BY_NAME = {m.name: m for m in MODELS}
# Inputs a model reads on other days than its own (the "lookbacks" in each SQL file's header);
# every other input is the same day. Dagster orders parallel backfills by these.
LOOKBACKS: dict[str, dict[str, dg.PartitionMapping]] = {
    "activities": {
        "stg_docusign__organization_users": EVERY_DAY,
        "stg_docusign__memberships": EVERY_DAY,
        "stg_docusign__account_users": EVERY_DAY,
        "stg_docusign__reserved_domains": EVERY_DAY,
    },
    "user_accounts": {
        "stg_docusign__memberships": EVERY_EARLIER_DAY,
        "stg_docusign__account_users": EVERY_EARLIER_DAY,
        "int_user_lifecycle_events": EVERY_EARLIER_DAY,
    },
    "users": {
        "stg_docusign__organization_users": EVERY_EARLIER_DAY,
        "int_user_lifecycle_events": EVERY_EARLIER_DAY,
        "int_user_activity_daily": EVERY_EARLIER_DAY,
        "stg_idp__users": EVERY_EARLIER_DAY,
        "stg_docusign__reserved_domains": EVERY_EARLIER_DAY,
    },
}
GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


def window_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def _materialize(context: dg.AssetExecutionContext, lake_resource: LakeResource, model: Model):
    lake = lake_resource.lake
    start, end = window_dates(context)
    config = load_config()
    with sql.session(lake) as con:
        bound = sql.prepare(con, lake, config, MODELS)
        missing = [d for d in model.deps if d in BY_NAME and d not in bound]
        if missing:
            raise RuntimeError(
                f"{model.name} needs {', '.join(missing)}: materialize "
                f"{'it' if len(missing) == 1 else 'them'} for this window first"
            )
        sql.set_window(con, start, end)
        if model.is_view:
            counts = dict(
                con.execute(
                    f"select dt, count(*) from {model.name} "
                    "where dt >= getvariable('window_start') and dt < getvariable('window_end') "
                    "group by dt"
                ).fetchall()
            )
            counts = {day: counts.get(day, 0) for day in sql.days_in(start, end)}
            kind = "view"
        else:
            result = f"{model.name}__result"
            con.execute(f"create temp view {result} as {sql.model_query(model)}")
            if model.name == "int_ip_addresses":
                result = _locate_ips(context, con, result, config.geo.ip_lookup)
            counts = sql.write_partitions(con, lake, model.name, result, start, end)
            kind = "parquet"
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "rows_per_day": dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
            "materialization": kind,
            "location": dg.MetadataValue.path(
                str(model.path) if model.is_view else str(sql.model_dir(lake, model.name))
            ),
        }
    )


def _locate_ips(context: dg.AssetExecutionContext, con, relation: str, lookup: bool) -> str:
    """Parse the window's distinct addresses, and locate those DocuSign left without a country."""
    listed = con.sql(
        f"select dt, ip_address_raw, event_count, needs_location from {relation}"
    ).to_arrow_table()
    locator = IpLocator() if lookup else None
    try:
        enriched = enrich_ips(
            zip(listed["ip_address_raw"].to_pylist(), listed["needs_location"].to_pylist()), locator
        )
    finally:
        if locator is not None:
            locator.close()
    columns = {name: [row[name] for row in enriched] for name in enriched[0]} if enriched else {}
    table = pa.table(
        {
            "dt": listed["dt"],
            "ip_address_raw": listed["ip_address_raw"],
            "event_count": listed["event_count"],
            "needs_location": listed["needs_location"],
            "ip_address": pa.array(columns.get("ip_address", []), pa.string()),
            "ip_version": pa.array(columns.get("ip_version", []), pa.int8()),
            "is_valid_ip": pa.array(columns.get("is_valid_ip", []), pa.bool_()),
            "is_global_ip": pa.array(columns.get("is_global_ip", []), pa.bool_()),
            "ip_hex": pa.array(columns.get("ip_hex", []), pa.string()),
            "lookup_country_code": pa.array(columns.get("lookup_country_code", []), pa.string()),
            "lookup_latitude": pa.array(columns.get("lookup_latitude", []), pa.float64()),
            "lookup_longitude": pa.array(columns.get("lookup_longitude", []), pa.float64()),
            "lookup_region": pa.array(columns.get("lookup_region", []), pa.string()),
            "lookup_city": pa.array(columns.get("lookup_city", []), pa.string()),
            "lookup_database": pa.array(columns.get("lookup_database", []), pa.string()),
        }
    )
    located = sum(1 for v in columns.get("lookup_country_code", []) if v)
    context.log.info(
        f"int_ip_addresses: {table.num_rows} distinct addresses, "
        f"{sum(listed['needs_location'].to_pylist())} without a DocuSign country, {located} located"
    )
    con.register("int_ip_addresses__arrow", table)
    return "int_ip_addresses__arrow"


def build_model_asset(model: Model) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        group_name=GROUPS[model.layer],
        kinds={"duckdb", "sql"},
        description=model.description,
        deps=deps(model.deps, LOOKBACKS.get(model.name)),
        partitions_def=DAILY if model.partitioned else None,
        backfill_policy=BACKFILL_POLICY if model.partitioned else None,
        metadata={"layer": model.layer, "sql": dg.MetadataValue.path(str(model.path))},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _materialize(context, lake, model)

    return _asset


model_assets = [build_model_asset(m) for m in MODELS]
