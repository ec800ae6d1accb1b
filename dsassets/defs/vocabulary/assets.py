"""The Monitor vocabulary an organization really sends, and warnings when the sign-in mapping misses it."""

from collections.abc import Callable
from dataclasses import astuple
from datetime import date, timedelta

import dagster as dg

from dsassets.defs.daily_checks import DayResults, daily_checks, run_days
from dsassets.defs.owners import OWNERS
from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import load_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, window_dates
from dsassets.lib.lake.raw_events import DATASET as AUDIT_EVENTS
from dsassets.lib.transform import sql, unchanged
from dsassets.lib.vocabulary import profile

ASSET = "docusign_vocabulary"
REVIEW = "run `dsassets profile` and review the signin/event_types rules in dsassets.yaml"


def _figures(context: dg.AssetCheckExecutionContext, lake: LakeResource, start: date, end: date
             ) -> list[profile.DayFigures]:
    """The figures of each day with events from ``start`` to ``end``. Every run recalls those of the
    days before its own whose events did not change since a run computed them, and a refresh its
    own day's too (unchanged.per_day): with a week of 1.2M-event days, reading all their staged
    events again took 2.3-2.8 s of every daily run and every refresh interval."""

    def compute(first: date, stop: date) -> dict[date, list[int]]:
        with sql.session(lake.lake) as con:
            profile.install(con, lake.lake, load_config())
            return {f.day: list(astuple(f))[1:] for f in profile.day_figures(con, first, stop)}

    days = [start + timedelta(days=n) for n in range((end - start).days)]
    found = unchanged.per_day(context, lake.lake, "vocabulary_day_figures", days,
                              lambda day: Lake.day_folder(AUDIT_EVENTS, day), compute)
    return [profile.DayFigures(day, *counts) for day, counts in sorted(found.items()) if counts is not None]


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

    def compute() -> dict:
        with sql.session(lake.lake) as con:
            profile.install(con, lake.lake, load_config())
            rows, proxies = profile.vocabulary(con, start, end)
        unmatched = [r for r in rows if r["classified_as"] == "unmatched"]
        return {
            "combinations": dg.MetadataValue.int(len(rows)),
            "unmatched_combinations": dg.MetadataValue.int(len(unmatched)),
            "unmatched_events": dg.MetadataValue.int(sum(r["events"] for r in unmatched)),
            "vocabulary": dg.MetadataValue.md(profile.markdown(rows, limit=60)),
            "proxy_types": dg.MetadataValue.json({str(v): n for v, n in proxies}),
        }

    # In the intra-day refresh, a day whose events did not change repeats its last profile.
    metadata, since = unchanged.run_or_recall(context, lake.lake, ASSET, compute, keys=[context.asset_key])
    return dg.MaterializeResult(metadata={**metadata, **unchanged.note(since, "its profile is repeated")})


def _warning(ok: bool, problem: str, metadata: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=ok, severity=dg.AssetCheckSeverity.WARN,
                               description=None if ok else problem, metadata=metadata)


def _signins(day: date, figures: list[profile.DayFigures]) -> dg.AssetCheckResult:
    return _warning(
        not profile.days_without_signins(figures),
        f"events but no classified sign-in on {day}: the sign-in rules match none of this "
        f"organization's events; {REVIEW}",
        {"events": sum(f.events for f in figures), "signins": sum(f.signins for f in figures)},
    )


def _failures(day: date, figures: list[profile.DayFigures]) -> dg.AssetCheckResult:
    week = profile.FAILURE_FREE_DAYS - 1
    return _warning(
        not profile.failure_free_week(figures),
        f"{sum(f.signins for f in figures)} sign-ins from {day - timedelta(days=week)} to {day} and not one "
        f"classified failure: the failure rule probably misses this organization's result value; {REVIEW}",
        {"signins": sum(f.signins for f in figures), "failures": sum(f.failures for f in figures)},
    )


def _countries(day: date, figures: list[profile.DayFigures]) -> dg.AssetCheckResult:
    share = profile.unrecognized_share(figures)
    return _warning(
        share <= profile.UNRECOGNIZED_COUNTRY_SHARE,
        f"{share:.1%} of located events have an unrecognised country: add aliases under "
        "geo.country_aliases in dsassets.yaml",
        {"unrecognized_share": dg.MetadataValue.float(round(share, 4))},
    )


# name: (what it warns about, its verdict for a day from the figures of that day and the days
# before it, how many days before)
CHECKS: dict[str, tuple[str, Callable[[date, list[profile.DayFigures]], dg.AssetCheckResult], int]] = {
    "signins_classified_every_day": (
        "Warn when a day has events but not one of them is classified as a sign-in.", _signins, 0),
    "signin_failures_classified": (
        "Warn when the week ending with a day has sign-ins but not one classified failure.", _failures,
        profile.FAILURE_FREE_DAYS - 1),
    "countries_recognized": (
        "Warn when more than 1% of a day's located events have a country the normaliser does not recognise.",
        _countries, 0),
}


@daily_checks(asset=ASSET, checks={name: text for name, (text, _, _) in CHECKS.items()})
def vocabulary_checks(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dict[str, DayResults]:
    """The vocabulary's warnings, from the day figures of the run and the week before it (a day
    before the run's is read again only when its events changed; a refresh's own day too)."""
    start, end = window_dates(context)
    figures = _figures(context, lake, start - timedelta(days=max(back for _, _, back in CHECKS.values())), end)
    return {
        name: {day: verdict(day, [f for f in figures if day - timedelta(days=back) <= f.day <= day])
               for day in run_days(context)}
        for name, (_, verdict, back) in CHECKS.items()
    }
