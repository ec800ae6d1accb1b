"""Which object/action/result/source values a DocuSign organization really sends, and what our mapping makes of them.

DocuSign does not publish the Monitor vocabulary (DOCUSIGN_API.md §1.5), so the sign-in and
event-type rules in ``dsassets.yaml`` are a guess until someone has looked at their own
organization's events. This module lists every distinct combination seen, with counts and
its classification under the current rules (sign-in class, event type, or unmatched), and
the per-day figures the vocabulary checks warn on. It reads the raw events through the
staging model, so it works as soon as events are extracted, before any mart is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import sql

# Warning thresholds of the vocabulary checks.
FAILURE_FREE_DAYS = 7  # a week of sign-ins without a single classified failure is suspicious
UNRECOGNIZED_COUNTRY_SHARE = 0.01


def install(con: duckdb.DuckDBPyConnection, lake: Lake, config: ProjectConfig) -> None:
    """Macros, the raw audit events and ``stg_docusign__audit_events`` on ``con``."""
    sql.prepare(con, lake, config, ["stg_docusign__audit_events"])


def classification(outcome: str | None, interactive: bool | None, event_type: str | None) -> str:
    if outcome is not None:
        return f"sign-in: {'interactive' if interactive else 'non_interactive'}_{outcome}"
    if event_type is not None:
        return f"event type: {event_type}"
    return "unmatched"


def vocabulary(
    con: duckdb.DuckDBPyConnection, start: date, end: date
) -> tuple[list[dict], list[tuple[str | None, int]]]:
    """Every distinct (object, action, result, source) in ``[start, end)``, most frequent first, and
    every distinct ``proxy_type`` with its events.

    One scan of the staged events for both (grouping sets): staging parses each event's location
    JSON to join its country, even for a count, and at a million events a day a second scan was
    0.4 s of every refresh.
    """
    rows = con.execute(
        """
        select grouping(proxy_type) = 0 as is_proxy_type, object, action, result, source, proxy_type,
               count(*) as events, count(distinct dt) as days,
               any_value(signin_outcome), any_value(is_interactive_signin), any_value(event_type)
        from stg_docusign__audit_events
        where dt >= $start and dt < $end
        group by grouping sets ((object, action, result, source), (proxy_type))
        order by is_proxy_type, events desc, object, action, result, source, proxy_type
        """,
        {"start": start, "end": end},
    ).fetchall()
    combinations, proxy_types = [], []
    for is_proxy_type, o, a, r, s, proxy_type, n, d, outcome, interactive, event_type in rows:
        if is_proxy_type:
            proxy_types.append((proxy_type, n))
        else:
            combinations.append({"object": o, "action": a, "result": r, "source": s, "events": n, "days": d,
                                 "classified_as": classification(outcome, interactive, event_type)})
    return combinations, proxy_types


@dataclass(frozen=True)
class DayFigures:
    day: date
    events: int
    signins: int
    failures: int
    located: int  # events with a country from DocuSign
    unrecognized: int  # of those, countries the normaliser does not know


def day_figures(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[DayFigures]:
    rows = con.execute(
        """
        select dt, count(*), count(signin_outcome),
               count(*) filter (where signin_outcome = 'failure'),
               count(*) filter (where docusign_country_status <> 'missing'),
               count(*) filter (where docusign_country_status = 'unrecognized')
        from stg_docusign__audit_events
        where dt >= $start and dt < $end
        group by dt order by dt
        """,
        {"start": start, "end": end},
    ).fetchall()
    return [DayFigures(*row) for row in rows]


def days_without_signins(figures: list[DayFigures]) -> list[date]:
    """Days with events but not one classified sign-in: the sign-in rules match nothing."""
    return [f.day for f in figures if f.events and not f.signins]


def failure_free_week(figures: list[DayFigures]) -> bool:
    """A week (or longer) with sign-ins and not one classified failure: the failure rule matches nothing."""
    signins = sum(f.signins for f in figures)
    return len(figures) >= FAILURE_FREE_DAYS and signins > 0 and not sum(f.failures for f in figures)


def unrecognized_share(figures: list[DayFigures]) -> float:
    located = sum(f.located for f in figures)
    return sum(f.unrecognized for f in figures) / located if located else 0.0


def markdown(rows: list[dict], limit: int | None = None) -> str:
    """The combinations as a markdown table (unmatched ones are what to review)."""
    shown = rows if limit is None else rows[:limit]
    lines = ["| object | action | result | source | events | days | classified as |",
             "|---|---|---|---|---|---|---|"]
    for r in shown:
        cells = [r["object"], r["action"], r["result"], r["source"], r["events"], r["days"], r["classified_as"]]
        lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    if limit is not None and len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more | | | | | | |")
    return "\n".join(lines)
