"""The findings summary the demo and backfills end with: what the run found, read back from the
warehouse (``alerts``, ``posture_scores``, ``posture_findings``) and the governance ledger, and
two queries to paste that return rows on this data.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb

from dsassets.lib.governance.actions import Ledger
from dsassets.lib.lake.lake import Lake

SEVERITY_ORDER = "case severity when 'high' then 0 when 'medium' then 1 when 'low' then 2 else 3 end"
MAX_ALERT_LINES = 10
REPORT_FILE = "report.html"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 alert``, ``2 alerts`` (``many`` for irregular plurals)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def alert_lines(con, start: date, end: date) -> list[str]:
    alerts = _rows(
        con,
        f"select severity, partition_date, title, coalesce(user_email, user_id, '-') as who from alerts "
        f"where partition_date between ? and ? order by {SEVERITY_ORDER}, partition_date, title",
        [start, end],
    )
    # Rows come most severe first, and Counter keeps first-seen order.
    counts = ", ".join(f"{n} {s}" for s, n in Counter(a["severity"] for a in alerts).items())
    lines = [f"Alerts: {len(alerts)}" + (f" ({counts})" if counts else "")]
    for a in alerts[:MAX_ALERT_LINES]:
        title = a["title"] if len(a["title"]) <= 48 else a["title"][:47] + "…"
        lines.append(f"  {a['severity']:<7}{a['partition_date']}  {title:<48}  {a['who']}")
    if len(alerts) > MAX_ALERT_LINES:
        lines.append(f"  ... and {len(alerts) - MAX_ALERT_LINES} more: dsassets query \"select * from alerts\"")
    return lines


def posture_lines(con, end: date) -> list[str]:
    day = con.execute("select max(dt) from posture_scores where dt <= ?", [end]).fetchall()[0][0]
    if day is None:
        return []
    scores = _rows(
        con,
        "select scope, scope_name, score_pct from posture_scores where dt = ? "
        "order by scope = 'organization' desc, score_pct, scope_name",
        [day],
    )
    shown = ", ".join(
        f"{'organization ' if s['scope'] == 'organization' else ''}{s['scope_name']} "
        f"{'n/a' if s['score_pct'] is None else format(s['score_pct'], '.0f') + '%'}"
        for s in scores
    )
    worst = _rows(
        con,
        f"select coalesce(account_name, account_id) as account, title, severity, observed, expected "
        f"from posture_findings where dt = ? and status = 'fail' "
        f"order by {SEVERITY_ORDER}, points_possible desc, control_order, account limit 3",
        [day],
    )
    lines = [f"Posture on {day}: {shown}"]
    if worst:
        lines.append("  worst failing controls:")
        lines += [f"  {w['severity']:<7}{w['account']}: {w['title']} (is {w['observed']}, expected {w['expected']})"
                  for w in worst]
    return lines


def governance_line(lake: Lake, start: date, end: date) -> str | None:
    latest = Ledger(lake).load().latest().values()
    recent = [r for r in latest if r["alert_partition_date"] and start <= r["alert_partition_date"] <= end]
    if not recent:
        return "Governance: no actions for these alerts"
    by_status = Counter(r["status"] for r in recent)
    by_action = Counter(r["action"] for r in recent)
    actions = ", ".join(f"{n} {a}" for a, n in sorted(by_action.items()))
    dry = " (dry run: switch action types on under activity_policies.governance.execute)" \
        if set(by_status) == {"planned"} else ""
    return f"Governance: {plural(len(recent), 'action')} ({actions}); " + \
        ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + dry


def example_queries(con, start: date, end: date) -> list[str]:
    """Two queries over a real user and IP of this data that return rows, as SQL."""
    found = _rows(
        con,
        f"select user_email, ip_addresses, partition_date from alerts "
        f"where partition_date between ? and ? and user_email is not null "
        f"order by {SEVERITY_ORDER}, partition_date limit 1",
        [start, end],
    )
    if not found:
        found = _rows(
            con,
            "select user_email, [ip_address] as ip_addresses, dt as partition_date from activities "
            "where dt between ? and ? and user_email is not null and ip_address is not null "
            "group by all order by count(*) desc limit 1",
            [start, end],
        )
    if not found:
        return []
    email, ips = found[0]["user_email"], found[0]["ip_addresses"] or []
    window = f"date '{start}', date '{end}'"
    queries = [f"select * from user_timeline('{email}', {window})"]
    if ips:
        queries.append(f"select * from ip_activity('{ips[0]}', {window})")
    return [q for q in queries if con.execute(f"select count(*) from ({q})").fetchall()[0][0]]


def summary_lines(lake: Lake, start: date, end: date, command: str = "dsassets") -> list[str]:
    """What ``start..end`` (inclusive) found, for the terminal."""
    path = lake.local_dir / "warehouse.duckdb"
    if not path.exists():
        return [f"No warehouse at {path}: the run did not reach the warehouse_refresh job."]
    lines = [f"Findings {start} .. {end}"]
    with duckdb.connect(str(path), read_only=True) as con:
        lake.register(con)
        con.execute("set TimeZone = 'UTC'")
        lines += alert_lines(con, start, end)
        lines += posture_lines(con, end)
        queries = example_queries(con, start, end)
    governance = governance_line(lake, start, end)
    if governance:
        lines.append(governance)
    report = lake.local_dir / REPORT_FILE
    if report.exists():
        lines.append(f"Report: {report}")
    if queries:
        lines.append("Try:")
        # The SQL quotes with single quotes only, so double quotes paste into any POSIX shell.
        lines += [f'  {command} query "{q}"' for q in queries]
    return lines
