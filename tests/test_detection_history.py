"""The terminated-user policy reads the identity provider's history as monthly rollups.

Every snapshot before the day decides a termination: the first one listing an address (the date of
an undated status), the last one listing it (a deleted user purged from the recycle bin), and the
latest one (who is listed now). ``Detection.history`` gives the policy those as history parts
(``sql/detections/terminated_user_activity/``), each ended month rolled up once. These runs bind
them over a lake holding the snapshots, as the asset does, and must give the alerts that reading
every snapshot gives (``Case.run``, a connection without a lake).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import groupby

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.defs.detections.assets import detection_asset
from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections import engine as detections
from dsassets.lib.detections.registry import BY_ID
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import IDP_USERS
from dsassets.lib.transform import history, sql
from dsassets.lib.transform.runner import Run
from test_detections import D, NEXT, at
from test_realorg_detections import RawIdpCase

POLICY = "terminated_user_activity"
FIRST = date(2026, 2, 1)  # the snapshots start in the month before D's
PARTS = tuple(detections.history_parts(POLICY))


def snapshots(c: RawIdpCase, listed: dict[str, tuple[str, date, date, object]], last: date) -> None:
    """A snapshot every day from FIRST to ``last`` listing each user (status, first day, last day, status date)."""
    day = FIRST
    while day <= last:
        for user, (status, first, until, changed) in listed.items():
            if first <= day <= until:
                c.graph_user(day, object_id=f"id-{user}", upn=f"{user}@acme.example", status=status,
                             changed=changed, source="directory_audit" if changed else None)
        day += timedelta(days=1)


def terminations(last: date = D) -> RawIdpCase:
    """Snapshots up to ``last``: D, or the day before when D's read of the identity provider failed (the
    latest snapshot is then one of the history's)."""
    c = RawIdpCase()
    snapshots(c, {
        # deleted in February, listed for the 30 days of the recycle bin, then purged: still terminated
        "kim": ("deleted", date(2026, 2, 5), date(2026, 3, 6), at(date(2026, 2, 5), 8)),
        # disabled without a date: dated by the first snapshot listing it, in February
        "max": ("disabled", date(2026, 2, 12), D, None),
        # disabled in February and listed since: keeps every day's snapshot non-empty
        "lee": ("disabled", FIRST, D, at(FIRST, 9)),
        # disabled, then no longer listed and never deleted: re-enabled, not terminated
        "ned": ("disabled", date(2026, 2, 3), date(2026, 2, 20), at(date(2026, 2, 3), 7)),
        # disabled without a date two days before D: a range run knows it from the days it went through
        "pia": ("disabled", D - timedelta(days=2), D, None),
        # disabled for March 18 alone and active then: that day's alert, whatever the days after it list
        "quinn": ("disabled", D - timedelta(days=2), D - timedelta(days=2), at(D - timedelta(days=2), 8)),
    }, last)
    for user in ("kim", "max", "ned", "pia"):
        c.login(at(D, 10), user)
    c.login(at(D - timedelta(days=2), 10), "quinn")
    return c


def write_snapshots(c: RawIdpCase, root) -> Lake:
    """The case's raw snapshots as the lake's ``raw/idp/users`` partitions, one file a day."""
    for day, rows in groupby(zip(c._days, c.raw_idp), key=lambda pair: pair[0]):
        folder = root / Lake.day_folder("raw_idp_users", day)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([row for _, row in rows], schema=IDP_USERS), folder / "part-0.parquet")
    return Lake.at(str(root), None)


def run_on_lake(c: RawIdpCase, lake: Lake) -> tuple[list[dict], dict[str, list[str]]]:
    """D's alerts with the history parts bound over the lake's snapshots; the spans each part rolled up."""
    config = ProjectConfig()
    con = c.prepared(POLICY, D, D, config)
    con.execute("drop table stg_idp__users")  # read from the lake, through the staging view, instead
    sql.prepare(con, lake, config, ["stg_idp__users"])
    spans = history.bind_parts(con, lake, config, detections.history_parts(POLICY), D, NEXT)
    return c.alerts(con, POLICY, D, D), spans


def ordered(alerts: list[dict]) -> list[dict]:
    return sorted(alerts, key=lambda a: a["alert_id"])


def by_user(alerts: list[dict]) -> dict[str, dict]:
    return {a["user_email"].split("@")[0]: a for a in alerts}


def test_a_termination_read_from_monthly_rollups_alerts_as_every_snapshot_read_again(tmp_path):
    c = terminations(last=D - timedelta(days=1))
    expected = c.run(POLICY, D)
    alerts, spans = run_on_lake(c, write_snapshots(c, tmp_path))
    assert ordered(alerts) == ordered(expected)
    # February ended before D's month: rolled up; March 1-19, the latest snapshot among them, as the month to date
    assert spans == {part: ["2026-02", history.MONTH_TO_DATE] for part in PARTS}
    found = by_user(alerts)
    assert sorted(found) == ["kim", "max", "pia"]
    assert found["kim"]["evidence"]["purged_from_recycle_bin"] is True
    assert found["kim"]["evidence"]["terminated_at"].startswith("2026-02-05 08:00")
    assert found["max"]["evidence"]["terminated_at_source"] == "first_snapshot_listing_the_user"
    assert found["max"]["evidence"]["terminated_at"].startswith("2026-02-12 23:59")


def test_a_retaken_snapshot_rolls_its_month_up_again(tmp_path):
    c = terminations()
    lake = write_snapshots(c, tmp_path)
    run_on_lake(c, lake)
    # February 12's snapshot taken again without max: the first listing is now February 13's
    retaken = terminations()
    kept = [(day, row) for day, row in zip(retaken._days, retaken.raw_idp)
            if not (day == date(2026, 2, 12) and row["idp_user_id"] == "id-max")]
    retaken._days, retaken.raw_idp = [day for day, _ in kept], [row for _, row in kept]
    pq.write_table(pa.Table.from_pylist([row for day, row in kept if day == date(2026, 2, 12)], schema=IDP_USERS),
                   tmp_path / Lake.day_folder("raw_idp_users", date(2026, 2, 12)) / "part-0.parquet")
    alerts, _ = run_on_lake(retaken, lake)
    assert ordered(alerts) == ordered(retaken.run(POLICY, D))
    assert by_user(alerts)["max"]["evidence"]["terminated_at"].startswith("2026-02-13 23:59")


def run_range_on_lake(c: RawIdpCase, lake: Lake, days: list[date]) -> tuple[list[dict], duckdb.DuckDBPyConnection]:
    """The alerts of ``days``, one at a time in that order, as a range run of the asset computes them: its
    history parts bound day by day and brought up to each day before it is computed; the connection."""
    config = ProjectConfig()
    first, last = min(days), max(days)
    con = c.prepared(POLICY, first, last, config)
    con.execute("drop table stg_idp__users")
    sql.prepare(con, lake, config, ["stg_idp__users"])
    history.bind_parts(con, lake, config, detections.history_parts(POLICY), first, last + timedelta(days=1),
                       day_by_day=True)
    run = Run(con, lake, config, first, last + timedelta(days=1), log=None)
    each_day = detection_asset(BY_ID[POLICY]).each_day  # the asset's own: the history, then the day's tables
    query, found = detections.alert_query(POLICY), []
    for day in days:
        sql.set_window(con, day, day + timedelta(days=1))
        each_day(run)
        cursor = con.execute(query)
        names = [d[0] for d in cursor.description]
        found += [dict(zip(names, row)) for row in cursor.fetchall()]
    for alert in found:
        alert["evidence"] = json.loads(alert["evidence"])
    return found, con


def test_a_range_run_adds_each_day_to_its_history_as_it_goes_in_any_order(tmp_path):
    c = terminations()
    lake = write_snapshots(c, tmp_path)
    days = [D - timedelta(days=2), D - timedelta(days=1), D]
    expected = ordered(c.run(POLICY, days[0], D))
    alerts, con = run_range_on_lake(c, lake, days)
    assert ordered(alerts) == expected
    # each day went in once: the latest snapshot of March 1-17 (max, lee), then March 18's (and pia, quinn)
    # and 19's (max, lee, pia); D's is the window's own
    assert con.execute("select dt, count(*) from terminated_idp_latest_before__days group by dt order by dt").fetchall() \
        == [(date(2026, 3, 17), 2), (days[0], 4), (days[1], 3)]
    # and each span once: first listings of March 1-17 (kim, max, lee), March 18 (max, lee, pia, quinn), 19
    assert con.execute("select count(*) from terminated_idp_first_listed_before__days").fetchone()[0] == 3 + 4 + 3
    # days out of order (a retried day) start the days' history again from the month's first day
    assert ordered(run_range_on_lake(c, lake, [D, days[0], days[1]])[0]) == expected
    # pia's first listing (March 18) reached D's run through the days the range went through
    assert by_user(expected)["pia"]["evidence"]["terminated_at"].startswith("2026-03-18 23:59")
    assert by_user(expected)["quinn"]["dt"] == days[0]
