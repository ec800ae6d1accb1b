"""Suppression rules from dismissed alerts, honoured by the ``alerts`` union (and so by backtests).

``dsassets alerts dismiss ID --suppress user+ip|user+country|ip --expires 30d|YYYY-MM-DD`` turns
the dismissed alert into a rule of its policy: the same user from the same IP addresses, the same
user from the same countries, or the same IP addresses whoever uses them. An alert of that policy
that started before the rule expires and whose every IP (or country) is among the rule's is left
out of ``alerts`` and written to ``suppressed_alerts`` instead, with the rule that matched, so
what a suppression hid can always be audited. Rules act where the detections' outputs are
united, not inside each detection's SQL, so one mechanism serves every built-in detection and
activity policy, and re-running any past day (a backtest) applies the rules in force.

Rules live in ``<data_dir>/triage/suppressions.parquet`` (append-only; a rule never changes).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta, timezone

import dagster as dg

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.ledger import ParquetLedger
from dsassets.lib.lake.schemas import schema
from dsassets.lib.transform import sql
from dsassets.lib.transform.runner import Run
from dsassets.lib.triage.status import FOLDER, TriageError

SUPPRESSIONS_FILE = "suppressions.parquet"
SUPPRESSIONS_PATH = f"{FOLDER}/{SUPPRESSIONS_FILE}"
KINDS = ("user+ip", "user+country", "ip")
SUPPRESSED_ALERTS = "suppressed_alerts"

SCHEMA = schema("""
    suppression_id created_at:ts created_by alert_id policy kind user_id ip_addresses:strings
    countries:strings expires_at:ts comment
""")


class SuppressionLedger(ParquetLedger):
    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, FOLDER, SUPPRESSIONS_FILE, SCHEMA, "suppression_id")


def parse_expiry(text: str, now: datetime) -> datetime:
    """``30d`` (from now) or ``YYYY-MM-DD`` (the end of that UTC day); anything else is a one-line error."""
    value = (text or "").strip()
    match = re.fullmatch(r"(\d{1,4})d", value)
    if match and int(match.group(1)) > 0:
        return now + timedelta(days=int(match.group(1)))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise TriageError(f"--expires {text!r}: use a number of days such as 30d, or a date YYYY-MM-DD") from None
    expires = datetime.combine(day + timedelta(days=1), time.min, timezone.utc)
    if expires <= now:
        raise TriageError(f"--expires {text!r}: that day is already over")
    return expires


def make_rule(alert: dict, kind: str, expires_at: datetime, *, by: str, now: datetime, comment: str | None) -> dict:
    """The rule ``kind`` drawn from ``alert`` (a row of the ``alerts`` mart)."""
    if kind not in KINDS:
        raise TriageError(f"--suppress {kind!r}: must be one of {', '.join(KINDS)}")
    ips = sorted(set(alert.get("ip_addresses") or []))
    countries = sorted(set(alert.get("countries") or []))
    if kind != "ip" and not alert.get("user_id"):
        raise TriageError(f"--suppress {kind}: alert {alert['alert_id']} has no single user")
    if kind in ("user+ip", "ip") and not ips:
        raise TriageError(f"--suppress {kind}: alert {alert['alert_id']} has no IP address")
    if kind == "user+country" and not countries:
        raise TriageError(f"--suppress {kind}: alert {alert['alert_id']} has no country")
    key = f"{alert['alert_id']}|{kind}|{now.isoformat()}"
    return {
        "suppression_id": hashlib.sha256(key.encode()).hexdigest()[:16],
        "created_at": now, "created_by": by, "alert_id": alert["alert_id"], "policy": alert["policy"],
        "kind": kind, "user_id": alert.get("user_id") if kind != "ip" else None,
        "ip_addresses": ips if kind != "user+country" else [],
        "countries": countries if kind == "user+country" else [],
        "expires_at": expires_at, "comment": comment,
    }


def install(con, lake: Lake) -> None:
    """Temp table ``alert_suppressions`` with every rule (empty when there are none)."""
    if lake.exists(SUPPRESSIONS_PATH):
        source = f"select * from read_parquet({sql.sql_literal(lake.url(SUPPRESSIONS_PATH))})"
    else:
        source = ("select null::varchar as suppression_id, null::timestamptz as created_at, "
                  "null::varchar as created_by, null::varchar as alert_id, null::varchar as policy, "
                  "null::varchar as kind, null::varchar as user_id, null::varchar[] as ip_addresses, "
                  "null::varchar[] as countries, null::timestamptz as expires_at, null::varchar as comment where false")
    con.execute(f"create or replace temp table alert_suppressions as {source}")


def split_sql(relation: str) -> tuple[str, str]:
    """``(kept, suppressed)`` queries over the alert relation ``relation`` and ``alert_suppressions``.

    An alert matches a rule of its policy when it started before the rule expires, is the rule's
    user (``user+...``), and every one of its IPs (``ip``, ``user+ip``) or countries
    (``user+country``) is the rule's. The earliest matching rule is the one recorded.
    """
    matches = f"""
        select a.alert_id, s.suppression_id, s.kind as suppression_kind, s.created_by as suppressed_by,
               s.alert_id as suppression_alert_id, s.expires_at as suppression_expires_at,
               s.comment as suppression_comment
        from {relation} as a
        join alert_suppressions as s
          on a.policy = s.policy
         and a.started_at < s.expires_at
         and (s.kind = 'ip' or a.user_id = s.user_id)
         and case when s.kind = 'user+country'
                  then len(coalesce(a.countries, [])) > 0 and list_has_all(s.countries, a.countries)
                  else len(coalesce(a.ip_addresses, [])) > 0 and list_has_all(s.ip_addresses, a.ip_addresses)
             end
        qualify row_number() over (partition by a.alert_id order by s.created_at, s.suppression_id) = 1
    """
    kept = f"select * from {relation} where alert_id not in (select alert_id from ({matches}))"
    suppressed = f"select a.*, m.* exclude (alert_id) from {relation} as a join ({matches}) as m using (alert_id)"
    return kept, suppressed


def hold_back(run: Run, relation: str) -> str:
    """The ``alerts`` runner's transform: the alerts of ``relation`` no rule matches; the rest are
    written to ``suppressed_alerts`` (one file per day of the window, so a re-run replaces them)."""
    install(run.con, run.lake)
    kept, hidden = split_sql(relation)
    run.con.execute(f"create temp view {relation}__kept as {kept}")
    run.con.execute(f"create temp view {relation}__suppressed as {hidden}")
    sql.write_partitions(run.con, run.lake, SUPPRESSED_ALERTS, f"{relation}__suppressed", run.start, run.end)
    return f"{relation}__kept"


def suppressed_report(run: Run, day_from: date, day_to: date) -> dict:
    """``suppressed`` (how many) and ``suppressed_alerts`` (the first 50, with their rule) of ``[day_from, day_to)``."""
    rows = sql.read_rows(run.con, run.lake, SUPPRESSED_ALERTS, day_from, day_to)
    rows.sort(key=lambda r: (r["started_at"], r["alert_id"]))
    return {
        "suppressed": dg.MetadataValue.int(len(rows)),
        "suppressed_alerts": dg.MetadataValue.json([
            {"alert_id": r["alert_id"], "policy": r["policy"], "user": r["user_email"],
             "suppression_id": r["suppression_id"], "kind": r["suppression_kind"], "by": r["suppressed_by"],
             "expires_at": r["suppression_expires_at"].isoformat()}
            for r in rows[:50]
        ]),
    }
