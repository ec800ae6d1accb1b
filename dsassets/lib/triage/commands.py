"""``dsassets alerts list|show|resolve|dismiss|assign``: triage from the command line.

Reads the ``alerts`` mart and the ``activities`` mart straight from the lake (no warehouse file
needed, nothing locked) and records changes in the triage ledgers (``status``, ``suppressions``).
An alert id may be shortened to a unique prefix of at least 8 characters, as ``list`` shows it.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, timezone

from dsassets.lib.config import settings
from dsassets.lib.lake.lake import Lake
from dsassets.lib.notify.config import SEVERITIES
from dsassets.lib.transform import sql
from dsassets.lib.triage import status, suppressions
from dsassets.lib.triage.status import Change, TriageError

ALERTS = "alerts"
ACTIVITIES = "activities"


def add_parser(sub) -> None:
    """Register ``alerts`` and its subcommands on the CLI's subparsers."""
    alerts = sub.add_parser("alerts", help="list, inspect and triage alerts (status, verdict, suppression)")
    cmds = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION",
                                 help="list, show, resolve, dismiss or assign")
    ls = cmds.add_parser("list", help="alerts with their status, newest first")
    ls.add_argument("--status", choices=status.STATUSES, help="only alerts in this status (default: all)")
    ls.add_argument("--policy", help="only this policy id, e.g. impossible_travel (default: all)")
    ls.add_argument("--severity", choices=SEVERITIES, help="this severity or higher")
    ls.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="alerts started on or after")
    ls.add_argument("--limit", type=int, default=100, help="at most this many, newest first (default 100)")
    show = cmds.add_parser("show", help="one alert: its evidence, status history and events")
    show.add_argument("alert_id", help="the alert_id, or its first 8 or more characters")
    for name, text in (("resolve", "mark resolved"), ("dismiss", "mark dismissed (optionally suppress what it matched)"),
                       ("assign", "assign to someone (an open alert becomes in_progress)")):
        cmd = cmds.add_parser(name, help=text)
        cmd.add_argument("alert_id", help="the alert_id, or its first 8 or more characters")
        if name == "assign":
            cmd.add_argument("assignee", help="who handles it (a name or e-mail)")
        cmd.add_argument("--verdict", choices=status.VERDICTS, help="true or false positive (default: none)")
        cmd.add_argument("--comment", help="free text kept in the status ledger")
        cmd.add_argument("--by", help="who is making the change (default: $USER)")
        if name == "dismiss":
            cmd.add_argument("--suppress", choices=suppressions.KINDS,
                             help="also suppress future alerts of this policy for the same user+ip, user+country or ip")
            cmd.add_argument("--expires", help="with --suppress: 30d (days from now) or YYYY-MM-DD")


def run(args: argparse.Namespace, lake: Lake, now: datetime | None = None) -> int:
    """Execute one ``alerts`` subcommand; ``TriageError`` messages are printed by the caller."""
    now = now or datetime.now(timezone.utc)
    if not sql.has_output(lake, ALERTS):
        raise TriageError("no alerts yet: run `dsassets demo` or `dsassets backfill` first")
    with sql.session(lake) as con:
        con.execute(f"create temp view alerts_with_status as {_alerts_sql(lake)}")
        if args.alerts_command == "list":
            return _list(con, args)
        alert = _find(con, args.alert_id)
        if args.alerts_command == "show":
            return _show(con, lake, alert)
    return _change(args, lake, alert, now)


def _alerts_sql(lake: Lake) -> str:
    scan = sql.scan_output(lake, ALERTS)
    if lake.exists(status.STATUS_PATH):
        return status.alerts_view_sql(scan, sql.sql_literal(lake.url(status.STATUS_PATH)))
    return (f"select *, 'open' as status, null::varchar as verdict, null::varchar as assignee, "
            f"null::varchar as status_changed_by, null::timestamptz as status_changed_at from {scan}")


def _list(con, args) -> int:
    where, params = ["true"], []
    if args.status:
        where.append("status = ?")
        params.append(args.status)
    if args.policy:
        where.append("policy = ?")
        params.append(args.policy)
    if args.severity:
        where.append("list_contains(?, severity)")
        params.append(list(SEVERITIES[SEVERITIES.index(args.severity):]))
    if args.since:
        where.append("started_at >= ?::date")
        params.append(args.since)
    rows = con.execute(
        "select left(alert_id, 12) as alert_id, strftime(started_at at time zone 'UTC', '%Y-%m-%d %H:%M') as started_utc, "
        "policy, severity, status, coalesce(user_email, user_id) as user, array_to_string(countries, ',') as countries, "
        "verdict, assignee from alerts_with_status "
        f"where {' and '.join(where)} order by started_at desc, alert_id limit {int(args.limit)}",
        params,
    )
    cols = [d[0] for d in rows.description]
    data = rows.fetchall()
    _table(cols, data)
    print(f"{len(data)} alert(s)")
    return 0


def _table(cols, rows) -> None:
    texts = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in texts]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in texts:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def _find(con, alert_id: str) -> dict:
    key = alert_id.strip()
    if len(key) < 8:
        raise TriageError(f"alert id {alert_id!r}: give at least 8 characters (dsassets alerts list shows them)")
    cur = con.execute("select * from alerts_with_status where starts_with(alert_id, ?) order by alert_id", [key])
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    if not rows:
        raise TriageError(f"no alert with id {alert_id!r} (dsassets alerts list shows them)")
    if len({r["alert_id"] for r in rows}) > 1:
        raise TriageError(f"alert id {alert_id!r} is ambiguous: {len(rows)} alerts start with it; give more characters")
    return rows[0]


def _show(con, lake: Lake, alert: dict) -> int:
    for name in ("alert_id", "policy", "severity", "title", "description", "status", "verdict", "assignee",
                 "user_email", "user_id", "account_id", "started_at", "ended_at", "ip_addresses", "countries"):
        print(f"{name + ':':<14}{alert.get(name) if alert.get(name) is not None else ''}")
    try:
        evidence = json.dumps(json.loads(alert.get("evidence") or "null"), indent=2, sort_keys=True, default=str)
    except ValueError:
        evidence = str(alert.get("evidence"))
    print("evidence:\n" + "\n".join("  " + line for line in evidence.splitlines()))
    if lake.exists(status.STATUS_PATH):
        history = con.execute(
            f"select recorded_at, status, verdict, assignee, changed_by, comment from read_parquet("
            f"{sql.sql_literal(lake.url(status.STATUS_PATH))}) where alert_id = ?", [alert["alert_id"]]).fetchall()
        if history:
            print("status history:")
            _table(["recorded_at", "status", "verdict", "assignee", "by", "comment"], history)
    if sql.has_output(lake, ACTIVITIES) and alert.get("event_ids"):
        events = con.execute(
            "select strftime(event_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S') as time_utc, object, action, result, "
            "ip_address, city, country_code as country "
            f"from {sql.scan_output(lake, ACTIVITIES)} "
            "where dt between ?::date - 1 and ?::date + 1 and list_contains(?, event_id) order by event_at",
            [alert["started_at"].date(), alert["ended_at"].date(), list(alert["event_ids"])],
        )
        print(f"events ({len(alert['event_ids'])}):")
        _table([d[0] for d in events.description], events.fetchall())
    return 0


def _change(args, lake: Lake, alert: dict, now: datetime) -> int:
    by = (args.by or settings.USER.value() or "").strip()
    if not by:
        raise TriageError("who made the change is unknown: pass --by NAME (or set $USER)")
    command = args.alerts_command
    suppression_id = None
    if command == "dismiss" and args.suppress:
        if not args.expires:
            raise TriageError("--suppress needs --expires (30d or YYYY-MM-DD): a suppression never lasts forever")
        rule = suppressions.make_rule(alert, args.suppress, suppressions.parse_expiry(args.expires, now),
                                      by=by, now=now, comment=args.comment)
        rules = suppressions.SuppressionLedger(lake)
        with rules.locked():
            rules.append(rule)
            rules.save()
        suppression_id = rule["suppression_id"]
    elif command == "dismiss" and args.expires:
        raise TriageError("--expires is only meaningful with --suppress")
    new_status = {"resolve": "resolved", "dismiss": "dismissed"}.get(command)
    if command == "assign" and alert["status"] == "open":
        new_status = "in_progress"
    change = Change(status=new_status, verdict=args.verdict, assignee=getattr(args, "assignee", None),
                    comment=args.comment, suppression_id=suppression_id)
    ledger = status.StatusLedger(lake)
    with ledger.locked():
        row = status.apply(ledger, alert["alert_id"], change, by=by, now=now)
    print(f"{alert['alert_id']}: {row['status']}" + (f", verdict {row['verdict']}" if row["verdict"] else "")
          + (f", assigned to {row['assignee']}" if row["assignee"] else "") + f" (by {row['changed_by']})")
    if suppression_id:
        print(f"suppression {suppression_id}: {args.suppress} for {alert['policy']} until "
              f"{rule['expires_at']:%Y-%m-%d %H:%M} UTC; re-run the days to apply it to history "
              "(matching alerts move to suppressed_alerts)")
    return 0
