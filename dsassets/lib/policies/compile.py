"""A policy as DuckDB SQL: its filters become a ``where`` clause with every value a prepared parameter.

The SQL text contains only the column expressions and operators of ``COLUMNS``/``_OPS``
(fixed here, chosen by validated field and operator names) and ``$p<n>`` placeholders; the
values of the policy file are passed as parameters, so a value such as ``x' or 1=1 --`` is
matched literally. DuckDB takes ``$params`` only in the last statement of a string and
not in views, so the matching events are materialized with ``create temp table ... as``
(one statement, parameters allowed), and the alert query, a static file in
``sql/policies/``, reads that table and the ``pol_*`` variables.

Text comparisons ignore case and surrounding spaces. As in MDCA, ``ne``/``not_in``/
``not_contains`` do not exclude events that lack the attribute (no IP category, no user
agent); add ``is_set: true`` to require it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections.engine import install_macros
from dsassets.lib.intel import ip_intel
from dsassets.lib.policies.model import FIELDS, Policy
from dsassets.lib.policies.settings import DEFAULT_DAILY_MATCH_CAP
from dsassets.lib.transform.files import SQL_DIR, select_file

POLICIES_SQL = "policies"  # sql/policies/
EVENTS_VIEW = "policy_events"
ACTIVITY_VIEW = "policy_activity"
MATCHES = "policy_matches"
# Fields that only policy_activity has: its joins to the address's IP classes and to the actor's
# admin state. A policy that names none matches policy_events and skips both (the distinct
# addresses and range joins alone take ~0.2 s a policy at a million events a day).
ENRICHED_FIELDS = frozenset({"ip_category", "ip_tag", "is_admin"})
# The columns of policy_matches: what the alert files (single_activity, repeated_activity,
# daily_cap) read, and no more, as a burst policy can match a fifth of a day's events.
MATCH_COLUMNS = (
    "event_id", "event_at", "dt", "account_id", "user_id", "user_email", "affected_user_id",
    "affected_user_email", "object", "action", "result", "property", "old_value", "new_value",
    "ip_address", "country_code", "city",
)
UNCAPPED = "policy_alerts_uncapped"

# field -> SQL expression over policy_events, or policy_activity for ENRICHED_FIELDS (lowercased text).
# object, action, result, property and source come trimmed from staging (blank_to_null); the values
# are JSON as Monitor sent them, so their text is trimmed here.
COLUMNS: dict[str, str] = {
    "object": "lower(object)",
    "action": "lower(action)",
    "result": "lower(result)",
    "scope": "lower(scope)",
    "account": "lower(account_id)",
    "ip_address": "lower(ip_address)",
    "ip_category": "ip_category",
    "country": "lower(country_code)",
    "user_agent": "lower(user_agent)",
    "is_admin": "is_admin",
    "ip_tag": "ip_tags",
    "time_of_day": "(event_at at time zone 'UTC')::time",
    "property": "lower(property)",
    "signin_class": "lower(signin_class)",
    "source": "lower(source)",
    "managed_user": "is_managed_user",
    "affected_user_managed": "is_affected_user_managed",
    # JSON text of the value without quotes: "45" and 45 both read 45.
    "old_value": "lower(trimmed(json_extract_string(old_value, '$')))",
    "new_value": "lower(trimmed(json_extract_string(new_value, '$')))",
}
USER_COLUMNS = {
    "user": ("lower(user_email)", "lower(user_id)"),
    "affected_user": ("lower(affected_user_email)", "lower(affected_user_id)"),
}
_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, cast: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}::{cast}"


# Text operators: the condition with ``{e}`` for the column and ``{v}`` for the parameter, and
# the parameter's type. Negations keep events that lack the attribute (MDCA's behaviour).
TEXT_OPS: dict[str, tuple[str, str]] = {
    "eq": ("{e} = {v}", "varchar"),
    "ne": ("({e} is null or {e} <> {v})", "varchar"),
    "in": ("list_contains({v}, {e})", "varchar[]"),
    "not_in": ("({e} is null or not list_contains({v}, {e}))", "varchar[]"),
    "contains": ("contains({e}, {v})", "varchar"),
    "not_contains": ("({e} is null or not contains({e}, {v}))", "varchar"),
    "starts_with": ("starts_with({e}, {v})", "varchar"),
}


def _text(expr: str, op: str, value: Any, p: _Params) -> str:
    if op == "is_set":
        return f"({expr} is not null and {expr} <> '')" if value else f"({expr} is null or {expr} = '')"
    template, cast = TEXT_OPS[op]  # the model validated the operator
    return template.replace("{v}", p.add(value, cast)).replace("{e}", expr)


def _condition(name: str, op: str, value: Any, p: _Params) -> str:
    spec = FIELDS[name]
    if name in USER_COLUMNS:
        email, uid = USER_COLUMNS[name]
        if op in ("eq", "in"):
            return f"({_text(email, op, value, p)} or {_text(uid, op, value, p)})"
        positive = "eq" if op == "ne" else "in"
        return f"not coalesce({_text(email, positive, value, p)} or {_text(uid, positive, value, p)}, false)"
    expr = COLUMNS[name]
    if op in _COMPARE:
        return f"try_cast({expr} as double) {_COMPARE[op]} {p.add(value, 'double')}"
    if spec.kind == "bool":
        return f"{expr} = {p.add(value, 'boolean')}"
    if spec.kind == "tags":
        if op == "is_set":
            return f"len({expr}) > 0" if value else f"len({expr}) = 0"
        found = f"list_has_any({expr}, {p.add(value, 'varchar[]')})"
        return found if op == "in" else f"not {found}"
    if spec.kind == "time":
        start, end = p.add(value[0], "time"), p.add(value[1], "time")
        inside = (
            f"(case when {start} < {end} then {expr} >= {start} and {expr} < {end} "
            f"else {expr} >= {start} or {expr} < {end} end)"
        )
        return inside if op == "between" else f"not {inside}"
    return _text(expr, op, value, p)


def where_clause(policy: Policy) -> tuple[str, dict[str, Any]]:
    """The policy's filters as one SQL condition and its parameters."""
    p = _Params()
    parts = [_condition(name, op, value, p) for name, ops in policy.filters.items() for op, value in ops.items()]
    return " and ".join(f"({part})" for part in parts) or "true", p.values


def lookback_days(policy: Policy) -> int:
    """Days before the window a burst's start needs (2 x the threshold window); 0 without one."""
    if policy.threshold is None:
        return 0
    return math.ceil(2 * policy.threshold.minutes / 1440)


def _set_variables(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    t = policy.threshold
    con.execute("set variable pol_id = $v", {"v": policy.id})
    con.execute(f"set variable pol_lookback_days = {int(lookback_days(policy))}")
    con.execute(f"set variable pol_count = {int(t.count) if t else 1}")
    con.execute(f"set variable pol_minutes = {int(t.minutes) if t else 0}")
    con.execute(f"set variable pol_same_user = {'true' if (t is None or t.same_user) else 'false'}")


def reads_enrichment(policy: Policy) -> bool:
    """Whether a filter names an IP class or ``is_admin``, which only ``policy_activity`` has."""
    return not ENRICHED_FIELDS.isdisjoint(policy.filters)


def build_matches(con: duckdb.DuckDBPyConnection, policy: Policy) -> int:
    """``policy_matches``: the events the filters select (window + lookback), ``MATCH_COLUMNS`` only."""
    _set_variables(con, policy)
    condition, params = where_clause(policy)
    same_user = policy.threshold is None or policy.threshold.same_user
    key = "coalesce(user_id, '')" if same_user else "''"
    source = ACTIVITY_VIEW if reads_enrichment(policy) else EVENTS_VIEW
    con.execute(
        f"create or replace temp table {MATCHES} as "
        f"select {', '.join(MATCH_COLUMNS)}, {key} as burst_key from {source} where {condition}",
        params,
    )
    return con.execute(f"select count(*) from {MATCHES}").fetchone()[0]


def _alert_sql(policy: Policy, query: str) -> str:
    return f"""
        select
            dt::date as dt,
            alert_id::varchar as alert_id,
            $policy::varchar as policy,
            $severity::varchar as severity,
            $title::varchar as title,
            (case when $description <> '' then $description || ' ' else '' end
             || coalesce(nullif(array_to_string(users, ', '), ''), 'no user') || ': '
             -- One event has a moment, not a span: no "from X to X".
             || case when event_count = 1
                     then printf('%s at %s UTC', activity,
                                 strftime(started_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S'))
                     else printf('%d x %s from %s to %s UTC', event_count, activity,
                                 strftime(started_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S'),
                                 strftime(ended_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S'))
                end
             || ', IP ' || coalesce(nullif(array_to_string(ip_addresses, ', '), ''), 'unknown')
             || coalesce(' (' || nullif(array_to_string(places, '; '), '') || ')', '')
             || coalesce('; ' || nullif(detail, ''), '')
             || $threshold_text || '.')::varchar as description,
            user_id::varchar as user_id,
            user_email::varchar as user_email,
            account_id::varchar as account_id,
            started_at::timestamptz as started_at,
            ended_at::timestamptz as ended_at,
            event_ids::varchar[] as event_ids,
            ip_addresses::varchar[] as ip_addresses,
            countries::varchar[] as countries,
            to_json({{
                'policy_type': 'activity_policy',
                'match': $match,
                'event_count': event_count,
                'users': users,
                'activity': activity,
                'detail': detail,
                'places': places,
                'threshold': $threshold::json,
                'filters': $filters::json,
                'actions': $actions::varchar[]
            }})::varchar as evidence,
            partition_date::date as partition_date
        from ({query}) as alerts
        where $enabled
    """


def alert_params(policy: Policy) -> dict[str, Any]:
    t = policy.threshold
    return {
        "policy": policy.id,
        "severity": policy.severity,
        "title": policy.title,
        "description": policy.description.strip(),
        "threshold_text": (f"; {t.count}+ within {t.minutes} min, {'same user' if t.same_user else 'all users'}"
                           if t else ""),
        "match": "repeated_activity" if t else "single_activity",
        "threshold": json.dumps(t.model_dump() if t else None),
        "filters": json.dumps(policy.filters, default=str),
        "actions": list(policy.actions),
        "enabled": policy.enabled,
    }


def build_alerts(con: duckdb.DuckDBPyConnection, policy: Policy, query: str, relation: str) -> None:
    """``relation`` (temp table): the alerts columns plus ``dt``, from the static alert ``query``."""
    con.execute(f"create or replace temp table {relation} as {_alert_sql(policy, query)}", alert_params(policy))


def query_file(name: str) -> str:
    return select_file(SQL_DIR / POLICIES_SQL / f"{name}.sql")


def install(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> None:
    """IP tables and the views ``policy_events`` and ``policy_activity``; the window must be set."""
    ip_intel.register_tables(con, config)
    install_macros(con)  # the detections' ip_classes and in_lookback_window
    con.execute("set variable pol_lookback_days = 0")  # the views bind it now; build_matches sets it
    for view in (EVENTS_VIEW, ACTIVITY_VIEW):  # policy_activity reads policy_events
        con.execute(f"create or replace temp view {view} as {query_file(view)}")


def evaluate(
    con: duckdb.DuckDBPyConnection, policy: Policy, relation: str, cap: int = DEFAULT_DAILY_MATCH_CAP
) -> int:
    """Alerts of ``policy`` for the window variables into temp table ``relation``; returns matches.

    Needs ``install`` first and ``window_start``/``window_end`` set to the whole window: the
    matches cover it plus the lookback, and the alerts carry ``dt`` so any day can be picked.
    A day with more than the policy's ``daily_match_cap`` (else ``cap``) matches keeps the alerts
    of its first ``cap`` matches and one "policy flooded" alert (``sql/policies/daily_cap.sql``).
    """
    matched = build_matches(con, policy)
    query = query_file("repeated_activity" if policy.threshold else "single_activity")
    build_alerts(con, policy, query, UNCAPPED)
    con.execute(f"set variable pol_cap = {int(policy.daily_match_cap or cap)}")
    con.execute("set variable pol_enabled = $v", {"v": policy.enabled})
    con.execute("set variable pol_severity = $v", {"v": policy.severity})
    con.execute("set variable pol_title = $v", {"v": policy.title})
    con.execute(f"create or replace temp table {relation} as {query_file('daily_cap')}")
    return matched


def flooded_days(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, int]:
    """``{day: matches}`` of the days in ``relation`` that went past the cap."""
    rows = con.execute(
        f"select strftime(dt, '%Y-%m-%d'), json_extract(evidence, '$.day_matches')::bigint from {relation} "
        "where json_extract_string(evidence, '$.match') = 'flooded' order by dt"
    ).fetchall()
    return dict(rows)


POLICY_ALERTS = "policy_alerts"
