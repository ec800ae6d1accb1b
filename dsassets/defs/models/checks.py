"""Asset checks on the marts, one result per day of the run that triggers them.

Each check opens its own in-memory DuckDB over the Parquet (never warehouse.duckdb) once, then
narrows the window to each day in turn, and reports that day's first 20 offending keys.
"""

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

import dagster as dg

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import project_config
from dsassets.lib.transform import sql

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
def _connection(lake_resource: LakeResource, reads: Sequence[str]):
    """An in-memory session over the Parquet with ``reads`` bound (the window is set per day)."""
    lake = lake_resource.lake
    with sql.session(lake) as con:
        sql.prepare(con, lake, project_config(), reads)
        yield con


def each_day(
    context: dg.AssetCheckExecutionContext,
    lake: LakeResource,
    reads: Sequence[str],
    result: Callable[..., dg.AssetCheckResult],
) -> DayResults:
    """``result(con)`` of every day of the run (``reads`` bound), the window narrowed to that day."""
    results = {}
    with _connection(lake, reads) as con:
        for day in run_days(context):
            sql.set_window(con, day, day + timedelta(days=1))
            results[day] = result(con)
    return results


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
    def day(con) -> dg.AssetCheckResult:
        problems = key_problems(con, mart, keys)
        return dg.AssetCheckResult(
            passed=not problems["null_keys"] and not problems["duplicate_keys"],
            metadata={
                "primary_key": ", ".join(("dt", *keys)),
                "null_keys (first 20)": dg.MetadataValue.json(problems["null_keys"]),
                "duplicate_keys (first 20)": dg.MetadataValue.json(problems["duplicate_keys"]),
            },
        )

    @daily_check(
        asset=dg.AssetKey(mart),
        name=f"{mart}_primary_key_unique_and_not_null",
        description=f"({', '.join(('dt', *keys))}) is never null and never repeats.",
        blocking=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
        return each_day(context, lake, (mart,), day)

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


def _user_match_result(con) -> dg.AssetCheckResult:
    bad = user_match_problems(con)
    counts = dict(
        con.execute(f"select user_match, count(*) from activities where {_IN_WINDOW} group by all").fetchall()
    )
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "offending_events (first 20)": dg.MetadataValue.json(bad),
            "events_by_user_match": dg.MetadataValue.json({str(k): v for k, v in counts.items()}),
        },
    )


@daily_check(
    asset=dg.AssetKey("activities"),
    description="Every activity's user is known (has an email from the directory), "
    "or marked 'unknown' (id not in any snapshot), or 'none' (event without a user).",
)
def activities_user_known_or_marked_unknown(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    return each_day(context, lake, ("activities",), _user_match_result)


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


@daily_check(
    asset=dg.AssetKey("activities"),
    description="For each day: raw events = staging rows = activities rows (nothing dropped, "
    "nothing duplicated).",
    additional_deps=[dg.AssetKey("raw_docusign_audit_events"),
                     dg.AssetKey("stg_docusign__audit_events")],
)
def activities_reconciled_with_raw_and_staging(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> DayResults:
    # One query over the run's days; each day's counts go to its own result.
    with _connection(lake, ("stg_docusign__audit_events", "activities")) as con:
        days = run_days(context)
        sql.set_window(con, days[0], days[-1] + timedelta(days=1))
        counts = {date.fromisoformat(d["dt"]): d for d in reconciliation(con)}
    return {
        day: dg.AssetCheckResult(
            passed=counts[day]["raw"] == counts[day]["staging"] == counts[day]["activities"],
            metadata={name: counts[day][name] for name in ("raw", "staging", "activities", "activities_event_ids")},
        )
        for day in days
    }
