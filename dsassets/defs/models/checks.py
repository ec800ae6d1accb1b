"""Asset checks on the marts, scoped to the partitions of the run that triggers them.

Each check opens its own in-memory DuckDB over the Parquet (never warehouse.duckdb)
and reports the first 20 offending keys in its metadata.
"""

from collections.abc import Sequence
from contextlib import contextmanager

import dagster as dg

from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import project_config
from dsassets.lib.lake.partitions import DAILY, window_dates
from dsassets.lib.transform import sql
from dsassets.lib.transform.models import MODELS

SAMPLE = 20

# Primary keys of the marts, besides dt (each partition file is one day).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "activities": ("event_id",),
    "user_accounts": ("user_id", "account_id"),
    "users": ("user_id",),
    "account_daily_activity": ("account_id",),
    "organization_daily_activity": ("organization_id",),
}


@contextmanager
def _connection(lake_resource: LakeResource, context: dg.AssetCheckExecutionContext):
    """An in-memory session over the Parquet with the check's partition window set."""
    lake = lake_resource.lake
    with sql.session(lake) as con:
        sql.prepare(con, lake, project_config(), MODELS)
        start, end = window_dates(context)
        sql.set_window(con, start, end)
        yield con


_IN_WINDOW = "dt >= getvariable('window_start') and dt < getvariable('window_end')"


def key_problems(con, relation: str, keys: Sequence[str]) -> dict[str, list]:
    """Rows whose key has a null, and keys that occur more than once, within the window."""
    cols = ", ".join(("dt", *keys))
    null_rows = con.execute(
        f"select {cols} from {relation} where {_IN_WINDOW} and "
        f"({' or '.join(f'{k} is null' for k in keys)}) limit {SAMPLE}"
    ).fetchall()
    duplicates = con.execute(
        f"select {cols}, count(*) as n from {relation} where {_IN_WINDOW} "
        f"group by all having count(*) > 1 order by n desc limit {SAMPLE}"
    ).fetchall()
    return {
        "null_keys": [[str(v) for v in row] for row in null_rows],
        "duplicate_keys": [[str(v) for v in row] for row in duplicates],
    }


def build_key_check(mart: str, keys: tuple[str, ...]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(mart),
        name=f"{mart}_primary_key_unique_and_not_null",
        description=f"({', '.join(('dt', *keys))}) is never null and never repeats.",
        partitions_def=DAILY,
        blocking=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        with _connection(lake, context) as con:
            problems = key_problems(con, mart, keys)
        return dg.AssetCheckResult(
            passed=not problems["null_keys"] and not problems["duplicate_keys"],
            metadata={
                "primary_key": ", ".join(("dt", *keys)),
                "null_keys (first 20)": dg.MetadataValue.json(problems["null_keys"]),
                "duplicate_keys (first 20)": dg.MetadataValue.json(problems["duplicate_keys"]),
            },
        )

    return _check


key_checks = [build_key_check(mart, keys) for mart, keys in PRIMARY_KEYS.items()]


def user_match_problems(con) -> list[list[str]]:
    """Events whose user is neither matched to the directory nor explicitly marked unknown/none."""
    rows = con.execute(
        f"""
        select dt, event_id, user_id, user_email, user_match
        from activities
        where {_IN_WINDOW}
            and not coalesce(
                (user_match = 'known' and user_id is not null and user_email is not null)
                or (user_match = 'unknown' and user_id is not null and user_email is null)
                or (user_match = 'none' and user_id is null),
                false
            )
        limit {SAMPLE}
        """
    ).fetchall()
    return [[str(v) for v in row] for row in rows]


@dg.asset_check(
    asset=dg.AssetKey("activities"),
    description="Every activity's user is known (has an email from the directory), "
    "or marked 'unknown' (id not in any snapshot), or 'none' (event without a user).",
    partitions_def=DAILY,
)
def activities_user_known_or_marked_unknown(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    with _connection(lake, context) as con:
        bad = user_match_problems(con)
        counts = dict(
            con.execute(
                f"select user_match, count(*) from activities where {_IN_WINDOW} group by all"
            ).fetchall()
        )
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "offending_events (first 20)": dg.MetadataValue.json(bad),
            "events_by_user_match": dg.MetadataValue.json({str(k): v for k, v in counts.items()}),
        },
    )


def reconciliation(con) -> list[dict]:
    """Per day of the window: raw, staging and activities row counts (plus distinct event ids)."""
    rows = con.execute(
        f"""
        with
        days as (
            select unnest(generate_series(getvariable('window_start'),
                getvariable('window_end') - 1, interval 1 day))::date as dt
        ),
        raw as (
            select dt, count(*) as n from raw_docusign_audit_events
            where {_IN_WINDOW} group by all
        ),
        staged as (
            select dt, count(*) as n from stg_docusign__audit_events
            where {_IN_WINDOW} group by all
        ),
        marts as (
            select dt, count(*) as n, count(distinct event_id) as ids from activities
            where {_IN_WINDOW} group by all
        )
        select days.dt, coalesce(raw.n, 0), coalesce(staged.n, 0),
            coalesce(marts.n, 0), coalesce(marts.ids, 0)
        from days
        left join raw using (dt)
        left join staged using (dt)
        left join marts using (dt)
        order by days.dt
        """
    ).fetchall()
    return [
        {"dt": str(dt), "raw": r, "staging": s, "activities": a, "activities_event_ids": i}
        for dt, r, s, a, i in rows
    ]


@dg.asset_check(
    asset=dg.AssetKey("activities"),
    description="For each day: raw events = staging rows = activities rows (nothing dropped, "
    "nothing duplicated).",
    partitions_def=DAILY,
    additional_deps=[dg.AssetKey("raw_docusign_audit_events"),
                     dg.AssetKey("stg_docusign__audit_events")],
)
def activities_reconciled_with_raw_and_staging(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    with _connection(lake, context) as con:
        days = reconciliation(con)
    mismatched = [d for d in days if not d["raw"] == d["staging"] == d["activities"]]
    return dg.AssetCheckResult(
        passed=not mismatched,
        metadata={
            "days": dg.MetadataValue.json(days),
            "mismatched_days (first 20)": dg.MetadataValue.json(mismatched[:SAMPLE]),
        },
    )
