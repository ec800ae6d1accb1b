"""The Monitor vocabulary an organization really sends, and warnings when the sign-in mapping misses it."""

from datetime import date, timedelta

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import load_config
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, window_dates
from dsassets.lib.lake.raw_events import DATASET as AUDIT_EVENTS
from dsassets.lib.transform import sql
from dsassets.lib.vocabulary import profile

ASSET = "docusign_vocabulary"
REVIEW = "run `dsassets profile` and review the signin/event_types rules in dsassets.yaml"


def _figures(lake: LakeResource, start: date, end: date) -> list[profile.DayFigures]:
    with sql.session(lake.lake) as con:
        profile.install(con, lake.lake, load_config())
        return profile.day_figures(con, start, end)


@dg.asset(
    name=ASSET,
    group_name="staging",
    kinds={"duckdb"},
    owners=OWNERS,
    deps=[AUDIT_EVENTS],
    partitions_def=DAILY,
    backfill_policy=BACKFILL_POLICY,
)
def docusign_vocabulary(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Every distinct object/action/result/source (and proxyType) in the window, with counts and
    how the current mapping classifies each: sign-in class, event type, or unmatched.

    Grain: one row per combination in the metadata table. Source: the raw audit events
    through `stg_docusign__audit_events` and the `signin`/`event_types` rules of dsassets.yaml.
    """
    start, end = window_dates(context)
    with sql.session(lake.lake) as con:
        profile.install(con, lake.lake, load_config())
        rows = profile.combinations(con, start, end)
        proxies = profile.values(con, "proxy_type", start, end)
    unmatched = [r for r in rows if r["classified_as"] == "unmatched"]
    return dg.MaterializeResult(
        metadata={
            "combinations": dg.MetadataValue.int(len(rows)),
            "unmatched_combinations": dg.MetadataValue.int(len(unmatched)),
            "unmatched_events": dg.MetadataValue.int(sum(r["events"] for r in unmatched)),
            "vocabulary": dg.MetadataValue.md(profile.markdown(rows, limit=60)),
            "proxy_types": dg.MetadataValue.json({str(v): n for v, n in proxies}),
        }
    )


@dg.asset_check(asset=ASSET, blocking=False, partitions_def=DAILY)
def signins_classified_every_day(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Warn when a day has events but not one of them is classified as a sign-in."""
    start, end = window_dates(context)
    days = profile.days_without_signins(_figures(lake, start, end))
    return dg.AssetCheckResult(
        passed=not days,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"events but no classified sign-in on {', '.join(map(str, days))}: the sign-in rules "
                     f"match none of this organization's events; {REVIEW}") if days else None,
        metadata={"days_without_signins": dg.MetadataValue.json([d.isoformat() for d in days])},
    )


@dg.asset_check(asset=ASSET, blocking=False, partitions_def=DAILY)
def signin_failures_classified(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Warn when a week ending with the window has sign-ins but not one classified failure."""
    start, end = window_dates(context)
    week_start = min(start, end - timedelta(days=profile.FAILURE_FREE_DAYS))
    figures = _figures(lake, week_start, end)
    quiet = profile.failure_free_week(figures)
    return dg.AssetCheckResult(
        passed=not quiet,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{sum(f.signins for f in figures)} sign-ins since {week_start} and not one classified "
                     f"failure: the failure rule probably misses this organization's result value; {REVIEW}")
        if quiet else None,
        metadata={"signins": sum(f.signins for f in figures), "failures": sum(f.failures for f in figures)},
    )


@dg.asset_check(asset=ASSET, blocking=False, partitions_def=DAILY)
def countries_recognized(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Warn when more than 1% of located events have a country the normaliser does not recognise."""
    start, end = window_dates(context)
    share = profile.unrecognized_share(_figures(lake, start, end))
    bad = share > profile.UNRECOGNIZED_COUNTRY_SHARE
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{share:.1%} of located events have an unrecognised country: add aliases under "
                     "geo.country_aliases in dsassets.yaml") if bad else None,
        metadata={"unrecognized_share": dg.MetadataValue.float(round(share, 4))},
    )
