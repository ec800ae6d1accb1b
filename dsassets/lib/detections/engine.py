"""Running the anomaly policies of the registry: config as DuckDB variables, IP tables, the alert schema.

Each policy is one ``select`` in ``sql/detections/<file>.sql`` over shared views:
``detection_activity`` (the day's events plus the raw events of the policy's ``raw_lookback``,
with IP ranges and list matches), ``detection_first_seen`` (learning period), and the
per-user daily baselines of its lookback (``sql/baselines/``, bound by the asset). The
policy's thresholds are DuckDB variables named ``det_<key>`` (``getvariable('det_min_failures')``),
set from ``dsassets.yaml``; the window is ``window_start``/``window_end`` as for every model.

Determinism: a day's alerts depend only on that day, its lookback and the config.
``sql.write_partitions`` narrows the window to one day at a time, :func:`prepare_day` rebuilds
the day's shared tables (the runner's ``each_day``) and the views re-evaluate,
so a range run gives exactly the alerts of single-day runs in any order. An incident belongs
to the day of the event that makes it alert (the opening sign-in, the failure that crosses
the threshold, the first activity after termination); its ``alert_id`` hashes the policy,
the user and that event's id, and later days see it in their lookback and stay quiet.
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from typing import Any

import duckdb

from dsassets.lib.intel import ip_intel
from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections import first_seen
from dsassets.lib.detections.registry import BY_ID
from dsassets.lib.transform import history, sql
from dsassets.lib.transform.files import SQL_DIR, file_statements, select_file

DETECTIONS_DIR = SQL_DIR / "detections"
# Macros the shared views and the policies use (window, alert id, IP classes).
MACROS_FILE = DETECTIONS_DIR / "macros.sql"
# The window macros (in_history, for the history parts of a connection without a lake).
WINDOW_MACROS_FILE = SQL_DIR / "macros" / "window.sql"
# Macros of the failed-login sessions, which their baseline's connection installs too.
SESSION_MACROS_FILE = DETECTIONS_DIR / "session_macros.sql"
# Shared relations, in dependency order, each either a plain view or a table materialized
# once per run or once per day. `detection_events` (activities with their IP classes) is what
# the day's events and its raw lookback both select from; `detection_activity` is what the
# policies read (the day's events plus the raw lookback's); `detection_located` is its
# located, evaluated events, the input of the two location policies.
SHARED: tuple[tuple[str, str], ...] = (
    ("detection_ip_classes", "run"),
    ("detection_events", "view"),
    # a view too: in a range run, one table per day of the lookback (or the whole lookback,
    # rolled forward) cost more to fill each day than each policy's filtered reads of the days'
    # Parquet (7 days of anonymous_ip at 1M events a day: 13.5 s -> 6.3 s)
    ("detection_raw_lookback", "view"),
    # a view in every run, so each policy's filters and columns reach the day's Parquet scan: as a
    # table, once per day and policy, it held every column of a million events for the few a policy
    # keeps (a 10-day range of the six policies at 1M events a day: 94 s -> 69 s, 2.2 -> 1.9 GB)
    ("detection_day_events", "view"),
    ("detection_first_seen", "day"),
    # the location policies' rows of det_baseline_user_countries, and infrequent_country's last
    # use of each (user, country) in its lookback
    ("detection_country_uses", "view"),
    ("detection_country_last_use", "day"),
    ("detection_activity", "view"),
    ("detection_located", "view"),
)
# How a day table of a range run's next day comes from the day before's (roll/<name>.sql), where
# computing it from the view would read every day of its history or lookback again.
ROLL_DIR = DETECTIONS_DIR / "roll"
RUN_TABLES = tuple(name for name, kind in SHARED if kind == "run")
# What a policy reads of an address's classes: the columns detection_events joins from
# detection_ip_classes, and is_listed_ip, which detection_located derives from the list matches.
# A policy whose SQL names none of them reads the classes' empty stand-in (see prepare_run).
# Only the policy's own SQL is searched: the shared views pass these columns through and
# must not filter on them, or a policy that never names one would depend on them too
# (test_a_policy_skips_the_address_classes_only_when_duckdb_reads_none_of_them checks the plans).
IP_CLASS_COLUMNS = ("org_range", "org_category", "org_tags", "is_trusted_ip", "anonymous_matches",
                    "suspicious_matches", "is_listed_ip")
DAY_TABLES = tuple(name for name, kind in SHARED if kind == "day")
ALERT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("alert_id", "varchar"),
    ("policy", "varchar"),
    ("severity", "varchar"),
    ("title", "varchar"),
    ("description", "varchar"),
    ("user_id", "varchar"),
    ("user_email", "varchar"),
    ("account_id", "varchar"),
    ("started_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("event_ids", "varchar[]"),
    ("ip_addresses", "varchar[]"),
    ("countries", "varchar[]"),
    ("evidence", "varchar"),
    ("partition_date", "date"),
)


def asset_name(policy: str) -> str:
    return BY_ID[policy].asset_name


def inputs(policy: str) -> tuple[str, ...]:
    return BY_ID[policy].inputs


def lookback_days(config: ProjectConfig, policy: str) -> int:
    """How many days before the window the policy reads (baselines, de-duplication)."""
    return BY_ID[policy].lookback(config.detections.policy(policy))


def raw_lookback_days(config: ProjectConfig, policy: str) -> int:
    """How many days before the window the policy reads raw events of (not baselines)."""
    return BY_ID[policy].raw_lookback(config.detections.policy(policy))


def policy_variables(config: ProjectConfig, policy: str) -> dict[str, Any]:
    """``det_*`` variables: the policy's own settings plus the shared ones."""
    d = config.detections
    p = d.policy(policy)
    values: dict[str, Any] = {
        "policy": policy,
        "lookback_days": lookback_days(config, policy),
        "raw_lookback_days": raw_lookback_days(config, policy),
        # The raw lookback needs sign-ins only, unless evaluate='activities'.
        "lookback_all_events": getattr(p, "evaluate", "signins") == "activities",
        "learning_user_days": d.learning_period.user_days,
        "learning_organization_days": d.learning_period.organization_days,
    }
    for key, value in p.model_dump().items():
        values[key] = value
    return values


def set_variables(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """The policy's settings as ``det_<key>`` variables; list values compare lowercased."""
    sql.set_variables(con, {
        f"det_{key}": [str(v).lower() for v in value] if isinstance(value, list) else value
        for key, value in values.items()
    })


def _query(name: str) -> str:
    return select_file(DETECTIONS_DIR / f"{name}.sql")


def install_history(con: duckdb.DuckDBPyConnection, policy: str) -> None:
    """The policy's history parts read from every day before the window (connections without a
    lake); the asset's setup binds them over the monthly rollups (``history.bind_parts``)."""
    parts = history_parts(policy)
    if not parts:
        return
    for stmt in file_statements(WINDOW_MACROS_FILE):  # in_history, which sql.prepare installs on a lake
        con.execute(stmt)
    con.execute(f"set variable {history.FROM_VARIABLE} = date '0001-01-01'")
    for part, (query, _) in parts.items():
        con.execute(f"create or replace temp view {part} as {query}")


@functools.cache
def history_parts(policy: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The policy's history parts (``Detection.history``): each one's query and what it reads
    (read once: a range run asks for them every day)."""
    detection = BY_ID[policy]
    return {part: (select_file(DETECTIONS_DIR / detection.sql_file / f"{part}.sql"), reads)
            for part, reads in detection.history.items()}


def install_session_macros(con: duckdb.DuckDBPyConnection) -> None:
    for stmt in file_statements(SESSION_MACROS_FILE):
        con.execute(stmt)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    install_session_macros(con)
    for stmt in file_statements(MACROS_FILE):
        con.execute(stmt)


def install(con: duckdb.DuckDBPyConnection, config: ProjectConfig, policy: str) -> list[ip_intel.ListFile]:
    """Variables, IP tables and the shared views, on a connection that already has the inputs.

    The shared views are defined as ``<name>__view``; :func:`prepare_day` materializes them
    as ``<name>`` for the current window, because a policy reads them several times.
    """
    set_variables(con, policy_variables(config, policy))
    files = ip_intel.register_tables(con, config)
    install_macros(con)
    first_seen.install_empty(con)  # every day read as it is, until first_seen.bind rolls up the months
    install_history(con, policy)  # the same, until history.bind_parts rolls up the months
    read = shared_reads(policy)
    for name, kind in SHARED:
        if name not in read:
            # never made for this policy (it may read relations this policy has not bound): a read
            # shared_reads missed fails, not reads nothing
            continue
        if kind == "view":
            con.execute(f"create or replace temp view {name} as {_query(name)}")
            continue
        con.execute(f"create or replace temp view {name}__view as {_query(name)}")
        # an empty stand-in so the next view binds; prepare_run/prepare_day fill it
        con.execute(f"create or replace temp table {name} as select * from {name}__view where false")
    return files


def prepare_run(con: duckdb.DuckDBPyConnection, policy: str) -> None:
    """Materialize the run's IP classes (window set to the whole run) once, if the policy reads them.

    Every event joins its address's classes, but three of the six policies never read a class
    (terminated users, failed sign-ins, infrequent countries): for those the empty stand-in
    :func:`install` made stays, and their run skips the distinct addresses of the day and its
    lookback and the range joins (0.2-0.3 s a policy and day at a million events a day).
    """
    if not reads_ip_classes(policy):
        return
    for view in RUN_TABLES:
        con.execute(f"create or replace temp table {view} as select * from {view}__view")


@functools.cache
def reads_ip_classes(policy: str) -> bool:
    """Whether the policy's SQL names a class column (IP_CLASS_COLUMNS) of an event's address."""
    text = _query(BY_ID[policy].sql_file)  # comments dropped
    return any(re.search(rf"\b{name}\b", text) for name in IP_CLASS_COLUMNS)


@functools.cache
def shared_reads(policy: str) -> tuple[str, ...]:
    """The shared relations the policy reads, itself or through the shared relations it reads."""
    text = _query(BY_ID[policy].sql_file)
    read = set()
    # SHARED is in dependency order: walking it backwards, a relation's readers come before it
    for name, _ in reversed(SHARED):
        if re.search(rf"\b{name}\b", text):
            read.add(name)
            text += _query(name)
    return tuple(name for name, _ in SHARED if name in read)


def day_tables(policy: str) -> tuple[str, ...]:
    """The day tables the policy reads, itself or through the shared views it reads."""
    return tuple(name for name in DAY_TABLES if name in shared_reads(policy))


@functools.cache
def roll_query(name: str) -> str | None:
    """How the day table ``name`` of a range run's next day comes from the day before's, if it can."""
    path = ROLL_DIR / f"{name}.sql"
    return select_file(path) if path.exists() else None


def prepare_day(con: duckdb.DuckDBPyConnection, policy: str, *, only_day: bool = False) -> None:
    """Materialize the shared tables the policy reads for the window now set (one day at a time).

    Days in order (a range run) roll them forward instead of reading their days again
    (``roll/<name>.sql``): the first-seen days take the day's users into the day before's, the
    last use of each country takes the day before and drops the day that left the lookback. The
    rows are the ones the views give, so a day's alerts do not depend on the order.
    A run of ``only_day`` reads each of them through a view: each policy's filters and columns
    then reach the Parquet scan, where a table would hold every column of every event of the day
    and of the lookback (a million a day) for the few a policy keeps.
    """
    day, prepared = con.execute("select getvariable('window_start'), getvariable('det_prepared_day')").fetchone()
    for view in day_tables(policy):
        if only_day:
            con.execute(f"drop table if exists {view}")
            con.execute(f"create or replace temp view {view} as select * from {view}__view")
        elif prepared is not None and prepared == day - timedelta(days=1) and roll_query(view) is not None:
            con.execute(f"create or replace temp table {view} as {roll_query(view)}")
        else:
            con.execute(f"create or replace temp table {view} as select * from {view}__view")
    con.execute(f"set variable det_prepared_day = date '{day.isoformat()}'")


# Alert columns every policy fills the same way, so a policy file returns its incident (with
# the id of the event that opened it) and not these.
COMMON_COLUMNS = {
    "alert_id": "detection_alert_id(user_id, opening_event_id)",
    "policy": "getvariable('det_policy')",
    "partition_date": "dt",
}


def alert_query(policy: str) -> str:
    """The policy's alerts with the common columns and types; nothing when the policy is disabled."""
    cols = ",\n    ".join(f"({COMMON_COLUMNS.get(name, name)})::{kind} as {name}" for name, kind in ALERT_COLUMNS)
    return (
        f"select\n    dt::date as dt,\n    {cols}\nfrom (\n{_query(BY_ID[policy].sql_file)}\n) as alerts\n"
        "where getvariable('det_enabled')"
    )


def empty_alerts_query() -> str:
    cols = ", ".join(f"null::{kind} as {name}" for name, kind in ALERT_COLUMNS)
    return f"select null::date as dt, {cols} where false"


def missing_days(con: duckdb.DuckDBPyConnection, relation: str, start: date, end: date) -> list[date]:
    """Days in ``[start, end)`` without a single row in ``relation`` (unmaterialized lookback)."""
    present = {
        row[0]
        for row in con.execute(
            f"select distinct dt from {relation} where dt >= ? and dt < ?", [start, end]
        ).fetchall()
    }
    return [start + timedelta(days=i) for i in range((end - start).days) if start + timedelta(days=i) not in present]
