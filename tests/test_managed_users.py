"""Managed (claimed-domain) versus external users: ``activities.is_managed_user``, ``users.is_managed``.

A hand-built lake unlike the simulator's: events that lack ``isUserMemberOfDomain`` (null), a
domain written in capitals with a trailing dot and padded with a tab and a line break (its status
too), a domain still pending validation, and an event
whose own flag contradicts the domain list (the flag wins: DocuSign knows the membership).
"""

from datetime import date

import dagster as dg
import duckdb
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform import sql
from support.warehouse_lake import ACCOUNT_A, LakeBuilder, ts

D1, D2 = date(2026, 10, 5), date(2026, 10, 6)
RANGE = range_tags(D1, D2)
PEOPLE = {
    "u-kim": "kim@Contoso.TEST",        # claimed domain (active), mixed case
    "u-lee": "lee@partner.example",     # not claimed: external
    "u-max": "max@pending.test",        # domain claimed but still pending: external
    "u-ned": "ned@sub.contoso.test",    # a subdomain is not the claimed host itself
}


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("managed")
    b = LakeBuilder(root)
    for day in (D1, D2):
        b.reserved_domain(day, "\tCONTOSO.test.\r\n", status="Active\u00a0\t")
        b.reserved_domain(day, "pending.test", status="pending")
        for uid, email in PEOPLE.items():
            b.org_user(day, uid, email)
            b.membership(day, uid, ACCOUNT_A, email)
    # No flag on these: the domain decides.
    for i, uid in enumerate(PEOPLE):
        b.signin(ts(D1, 9 + i), uid, isUserMemberOfDomain=None, event_id=f"e-{uid}")
    # The flag says external although the domain is claimed: the flag wins.
    b.signin(ts(D2, 9), "u-kim", isUserMemberOfDomain=False, event_id="e-kim-flag-false")
    # An admin grant to an external user, flagged on the affected user.
    b.event(ts(D2, 10), user_id="u-kim", account_id="", object="Organization", action="AdminAdded",
            affected_user_id="u-lee", affectedUserIsMemberOfDomain=False, event_id="e-grant")
    b.write()
    result = dg.materialize(model_assets, resources={"lake": LakeResource(data_dir=str(root))}, tags=RANGE)
    assert result.success
    return root


def _read(root, model: str) -> list[dict]:
    con = duckdb.connect()
    rel = con.sql(f"select * from {sql.parquet_scan(sql.model_glob(Lake.at(root), model))}")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_activity_managed_from_flag_else_claimed_domain(lake_root):
    rows = {r["event_id"]: r for r in _read(lake_root, "activities")}
    assert rows["e-u-kim"]["is_managed_user"] is True
    assert rows["e-u-kim"]["user_domain"] == "contoso.test"
    assert rows["e-u-lee"]["is_managed_user"] is False
    assert rows["e-u-max"]["is_managed_user"] is False  # pending is not claimed
    assert rows["e-u-ned"]["is_managed_user"] is False
    assert rows["e-kim-flag-false"]["is_managed_user"] is False
    grant = rows["e-grant"]
    assert grant["is_managed_user"] is True and grant["is_affected_user_managed"] is False
    assert rows["e-u-lee"]["is_affected_user_managed"] is None  # no affected user


def test_users_domain_and_managed(lake_root):
    users = {(r["dt"], r["user_id"]): r for r in _read(lake_root, "users")}
    for day in (D1, D2):
        assert users[(day, "u-kim")]["domain"] == "contoso.test"
        assert users[(day, "u-kim")]["is_managed"] is True
        assert users[(day, "u-lee")]["is_managed"] is False
        assert users[(day, "u-max")]["is_managed"] is False
