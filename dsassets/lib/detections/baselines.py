"""The detections' per-user daily baselines: what a day contributes to the baselines of the days after it.

Each baseline is one ``select`` in ``sql/baselines/<name>.sql`` over ``activities`` that reads
only its own day, so its days can be computed in any order, once, and every later day's
detections read a few small rows per user and day instead of 30 days of events:

- ``det_baseline_user_countries``: countries (with their source and kind of event) each user
  used per day, the last use and every use's time (infrequent_country, impossible_travel);
- ``det_baseline_ip_users``: the addresses each directory user signed in from successfully and
  interactively per day (the widely-used-IP suppression of anonymous_ip and suspicious_ip);
- ``det_baseline_signin_sessions``: each user's sign-in session fragments per day with their
  failures (multiple_failed_logins).

``det_baseline_signin_sessions`` depends on two settings of ``detections.multiple_failed_logins``
(``session_gap_minutes``, ``include_non_interactive``); its rows carry them, and the detection
refuses to read rows made with other values (:func:`stale_session_days`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections.registry import IP_USERS, SIGNIN_SESSIONS, USER_COUNTRIES
from dsassets.lib.transform.files import SQL_DIR, select_file

BASELINES_DIR = SQL_DIR / "baselines"


@dataclass(frozen=True)
class Baseline:
    """One baseline asset: its name (= its SQL file's stem and its output) and what it holds."""

    name: str
    description: str

    @property
    def path(self) -> Path:
        return BASELINES_DIR / f"{self.name}.sql"

    def query(self) -> str:
        return select_file(self.path)


BASELINES: tuple[Baseline, ...] = (
    Baseline(USER_COUNTRIES,
             "One row per user, day, country, location source and kind of evaluated event (successful "
             "interactive sign-in or other activity): how many, the last and every event time. The "
             "baseline of infrequent_country and impossible_travel."),
    Baseline(IP_USERS,
             "One row per address and directory user with a successful interactive sign-in from it that "
             "day. The widely-used-IP baseline of anonymous_ip and suspicious_ip."),
    Baseline(SIGNIN_SESSIONS,
             "One row per sign-in session fragment (a user's attempts of one day without a longer gap "
             "than the session gap): failures, successes and, where an alert may need them, its events. "
             "The failures-per-session baseline of multiple_failed_logins."),
)


def variables(config: ProjectConfig) -> dict[str, Any]:
    """The settings the baselines are made with, as the ``det_*`` variables their SQL reads."""
    failed = config.detections.multiple_failed_logins
    return {
        "det_session_gap_minutes": failed.session_gap_minutes,
        "det_include_non_interactive": failed.include_non_interactive,
    }


def stale_session_days(con: duckdb.DuckDBPyConnection, relation: str, config: ProjectConfig,
                       start: date, end: date) -> list[date]:
    """Days in ``[start, end)`` whose session fragments were made with other session settings."""
    want = variables(config)
    rows = con.execute(
        f"select distinct dt from {relation} where dt >= ? and dt < ? "
        "and (session_gap_minutes <> ? or include_non_interactive <> ?) order by dt",
        [start, end, want["det_session_gap_minutes"], want["det_include_non_interactive"]],
    ).fetchall()
    return [row[0] for row in rows]
