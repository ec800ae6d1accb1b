"""Dropping out-of-scope alerts: the one step every detection and activity policy runs before writing.

``apply`` takes a temp relation of alerts (the ``alerts`` columns plus ``dt``) on a connection
that has the ``users`` mart and ``stg_idp__group_members`` bound, checks the policy's scope
against them (a user or group that does not exist is a ``ScopeError`` naming the policy and the
field), and returns the relation holding only the alerts in scope (``sql/scope/in_scope.sql``).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from dsassets.lib.config.settings import ConfigError
from dsassets.lib.scope.model import PolicyScope
from dsassets.lib.transform.files import SQL_DIR, select_file

QUERY = SQL_DIR / "scope" / "in_scope.sql"


class ScopeError(ConfigError):
    """A scope names a user or group that does not exist; names the policy and the field."""


def _rules(scope: PolicyScope) -> pa.Table:
    rows = [(side, kind, value) for side, s in scope.selectors()
            for kind, values in (("user", s.users), ("group", s.groups)) for value in values]
    return pa.table({
        "side": pa.array([r[0] for r in rows], pa.string()),
        "kind": pa.array([r[1] for r in rows], pa.string()),
        "value": pa.array([r[2] for r in rows], pa.string()),
    })


def _variables(con: duckdb.DuckDBPyConnection, scope: PolicyScope) -> None:
    for side in ("include", "exclude"):
        s = getattr(scope, side)
        con.execute(f"set variable scope_{side}_given = {'true' if s else 'false'}")
        con.execute(f"set variable scope_{side}_lists = {'true' if s and (s.users or s.groups) else 'false'}")
        for attr in ("managed", "admin"):
            value = getattr(s, attr) if s else None
            literal = "null" if value is None else str(value).lower()
            con.execute(f"set variable scope_{side}_{attr} = {literal}::boolean")


def check(con: duckdb.DuckDBPyConnection, policy: str, scope: PolicyScope) -> None:
    """Every user the scope lists is in the ``users`` mart, every group in the group snapshots."""
    for side, s in scope.selectors():
        where = f"scope.{policy}.{side}"
        if s.users:
            known = {r[0] for r in con.execute(
                "select distinct unnest([lower(user_id), lower(email)]) from users "
                "where dt < getvariable('window_end')").fetchall()}
            missing = [u for u in s.users if u not in known]
            if missing:
                raise ScopeError(f"{where}.users: no DocuSign user {', '.join(map(repr, missing))} "
                                 "(neither an e-mail nor a user id in the users mart)")
        for group in s.groups:
            latest = con.execute(
                "select arg_max(group_found, dt) from stg_idp__group_members "
                "where group_id = ? and dt < getvariable('window_end')", [group]).fetchall()[0][0]
            if latest is None:
                raise ScopeError(f"{where}.groups: no member snapshot of group {group}: materialize "
                                 "raw_idp_group_members (Microsoft Graph) for this window")
            if not latest:
                raise ScopeError(f"{where}.groups: group {group} does not exist in the identity provider")


def apply(
    con: duckdb.DuckDBPyConnection, policy: str, scope: PolicyScope | None, relation: str, *, lazy: bool = False
) -> tuple[str, int | None]:
    """``(relation of the alerts in scope, number dropped)``; ``relation`` itself without a scope.

    ``lazy``: the result is a view, evaluated when each day is written (the relation is a view
    whose day tables are rebuilt per day); the number dropped is then not counted (``None``).
    """
    if scope is None:
        return relation, 0
    bound = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    missing = [name for name in ("users", "stg_idp__group_members") if name not in bound]
    if missing:
        raise ScopeError(f"scope.{policy}: needs {', '.join(missing)}: materialize the users mart "
                         "for this window first")
    check(con, policy, scope)
    con.register("scope_rules__arrow", _rules(scope))
    con.execute("create or replace temp table scope_rules as select * from scope_rules__arrow")
    con.unregister("scope_rules__arrow")
    _variables(con, scope)
    query = select_file(QUERY)
    con.execute(f"create or replace temp view scope_input as select * from {relation}")
    scoped = f"{relation}__in_scope"
    if lazy:
        con.execute(f"create or replace temp view {scoped} as {query}")
        return scoped, None
    con.execute(f"create or replace temp table {scoped} as {query}")
    before = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    after = con.execute(f"select count(*) from {scoped}").fetchall()[0][0]
    return scoped, before - after
