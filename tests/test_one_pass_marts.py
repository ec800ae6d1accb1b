"""A one-pass mart (``user_accounts``, ``users``) computes a range in passes of a week, not a query
per day, and must give every day exactly the rows a run of that day alone gives, in any order.

The lake is shaped the way a real organization's history is and the simulator's is not: a
permission profile renamed mid-range, a past day's snapshot re-taken later (a backfill against
DocuSign records the time it really ran), a day with no snapshot at all, a membership that leaves
the snapshots, one known only to the eSignature API, lifecycle events after the snapshot of
their day, reserved domains first listed mid-range and once with none active, and a user the
identity provider deletes, a membership both APIs list. Nine days, so the range takes two passes.
"""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform import runner, sql
from support.warehouse_lake import ACCOUNT_A, ACCOUNT_B, LakeBuilder, ts

D0 = date(2026, 9, 7)
DAYS = [D0 + timedelta(days=i) for i in range(9)]
GAP = DAYS[7]  # no snapshot was taken that day
MARTS = ("user_accounts", "users")
UPSTREAM = dg.AssetSelection.assets(*MARTS).upstream() - dg.AssetSelection.assets(*MARTS)


def _build(root) -> None:
    b = LakeBuilder(root)
    for i, day in enumerate(DAYS):
        if day == GAP:
            continue
        # snapshots taken at 01:00, so the day's lifecycle events come after them
        b.membership(day, "u-keep", ACCOUNT_A, "keep@acme.example", hour=1)
        if i <= 3:  # listed until day 3, then gone from the Admin API's snapshots
            b.membership(day, "u-moved", ACCOUNT_A, "moved@acme.example", hour=1)
        b.membership(day, "u-stay", ACCOUNT_B, "stay@acme.example", hour=1)
        if i <= 4:  # gone from account B's snapshots after day 4, which still lists u-stay
            b.membership(day, "u-left", ACCOUNT_B, "left@acme.example", hour=1)
        # the profile u-moved is moved to on day 4 is named by u-approver's listing: renamed on day 6
        name = "Approvers" if i < 6 else "Approvers v2"
        b.membership(day, "u-approver", ACCOUNT_A, "approver@acme.example", profile=name, profile_id="7",
                     is_admin=i >= 6, hour=1)
        b.account_user(day, "u-esign", ACCOUNT_B, "esign@acme.example", hour=1)
        # also listed by the Admin API, which wins: this later listing's profile name and admin flag
        # must not become profile 7's
        b.account_user(day, "u-approver", ACCOUNT_A, "approver@acme.example", profile="Approvers (eSignature)",
                       profile_id="7", hour=2)
        for user in ("keep", "moved", "approver", "stay", *(("left",) if i <= 4 else ())):
            b.org_user(day, f"u-{user}", f"{user}@acme.example", hour=1)
        if i >= 2:  # none before day 2; on day 5 the domain is listed inactive
            b.reserved_domain(day, "acme.example", status="inactive" if i == 5 else "active")
    b.idp_user(DAYS[3], "left@acme.example", "deleted", ts(DAYS[3], 8))
    for i in (1, 4, 8):
        b.signin(ts(DAYS[i], 14), "u-keep")
    # day 2's listing of the profile was re-taken at noon on day 5, under another name: the latest
    # taken of days 2..5 (their own at 01:00 are earlier), not of days 6.. (01:00 of day 6 is later)
    retaken = next(r for r in b.rows["raw_docusign_memberships"][DAYS[2]] if r["user_id"] == "u-approver")
    retaken.update(permission_profile_name="Approvers (re-taken)", _snapshot_taken_at=ts(DAYS[5], 12))
    b.event(ts(DAYS[4], 10), user_id="u-admin", object="Account", action="PermissionProfileChanged",
            data={"AffectedUserId": "u-moved", "PermissionProfileId": "7"})
    b.event(ts(DAYS[3], 9), user_id="u-admin", object="Account", action="UserClosed",
            data={"AffectedUserId": "u-keep"})
    b.event(ts(DAYS[5], 9), user_id="u-admin", object="Account", action="UserReactivated",
            data={"AffectedUserId": "u-keep"})
    b.write()


def _rows(root, mart: str) -> list[tuple]:
    """Every row of the mart, as text, sorted: a multiset, so a repeated row counts."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rel = con.sql(f"select * from {sql.parquet_scan(sql.model_glob(Lake.at(root), mart))}")
    return sorted(tuple(str(v) for v in row) for row in rel.fetchall())


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """The same lake twice: the mart written by one range run, and by a run per day in reverse order."""
    roots = [tmp_path_factory.mktemp("range"), tmp_path_factory.mktemp("days")]
    for root in roots:
        _build(root)
        resources = {"lake": LakeResource(data_dir=str(root))}
        assert dg.materialize(model_assets, selection=UPSTREAM, resources=resources,
                              tags=range_tags(DAYS[0], DAYS[-1])).success
    ranged, daily = ({"lake": LakeResource(data_dir=str(root))} for root in roots)
    assert (DAYS[-1] - DAYS[0]).days + 1 > runner.ONE_PASS_DAYS  # more than one pass
    assert dg.materialize(model_assets, selection=MARTS, resources=ranged,
                          tags=range_tags(DAYS[0], DAYS[-1])).success
    for day in reversed(DAYS):
        assert dg.materialize(model_assets, selection=MARTS, resources=daily, partition_key=day.isoformat()).success
    return roots


@pytest.mark.parametrize("mart", MARTS)
def test_a_range_gives_every_day_the_rows_of_that_day_alone(lakes, mart):
    ranged, daily = (_rows(root, mart) for root in lakes)
    assert len(ranged) > 40
    assert ranged == daily


def _state(root, user: str, mart: str = "user_accounts") -> dict[date, dict]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rel = con.sql(f"select * from {sql.parquet_scan(sql.model_glob(Lake.at(root), mart))} where user_id = '{user}'")
    return {row[rel.columns.index("dt")]: dict(zip(rel.columns, row)) for row in rel.fetchall()}


def test_a_profile_name_is_the_one_listed_last_by_each_day(lakes):
    moved = _state(lakes[0], "u-moved")
    # before the move: its own snapshot's profile; after: profile 7 as named by then
    assert moved[DAYS[3]]["permission_profile_name"] == "Sender"
    assert [moved[d]["permission_profile_name"] for d in DAYS[4:]] == \
        ["Approvers (re-taken)", "Approvers (re-taken)", "Approvers v2", "Approvers v2", "Approvers v2"]
    assert [moved[d]["is_admin"] for d in DAYS[4:]] == [False, False, True, True, True]
    assert {moved[d]["status"] for d in DAYS[4:]} == {"removed"}


def test_lifecycle_events_gaps_and_sources_by_day(lakes):
    keep, left, esign = (_state(lakes[0], u) for u in ("u-keep", "u-left", "u-esign"))
    assert [keep[d]["status"] for d in DAYS[2:6]] == ["active", "closed", "active", "active"]
    assert keep[DAYS[3]]["status_source"] == "lifecycle_event"
    # the day without a snapshot carries the day before's
    assert keep[GAP]["snapshot_dt"] == DAYS[6] and keep[GAP]["status"] == "active"
    assert [left[d]["status"] for d in DAYS[4:6]] == ["active", "removed"]
    assert esign[DAYS[8]]["snapshot_source"] == "esignature_api"


def test_users_domains_identity_provider_and_activity_by_day(lakes):
    keep, left = (_state(lakes[0], u, "users") for u in ("u-keep", "u-left"))
    # no domain snapshot before day 2; day 5's lists none active: the earliest that had one
    assert [keep[d]["is_managed"] for d in DAYS[:3]] == [None, None, True]
    assert keep[DAYS[5]]["is_managed"] is True
    assert [keep[d]["last_activity_at"] for d in (DAYS[3], DAYS[4], GAP, DAYS[8])] == \
        [ts(DAYS[1], 14), ts(DAYS[4], 14), ts(DAYS[4], 14), ts(DAYS[8], 14)]
    assert [left[d]["idp_status"] for d in DAYS[2:4]] == [None, "deleted"]
    assert [left[d]["state"] for d in DAYS[4:6]] == ["active", "deleted"]


def test_user_accounts_refuses_membership_listings_with_holes(tmp_path):
    """A lake made before ``int_membership_listings`` existed lacks it for every earlier snapshot
    day: ``user_accounts`` would lose those days' listings, so it names the days to materialize."""
    _build(tmp_path)
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    assert dg.materialize(model_assets, selection=UPSTREAM - dg.AssetSelection.assets("int_membership_listings"),
                          resources=resources, tags=range_tags(DAYS[0], DAYS[-1])).success
    assert dg.materialize(model_assets, selection=["int_membership_listings"], resources=resources,
                          partition_key=DAYS[-1].isoformat()).success
    # the day without a snapshot (GAP) is no hole
    with pytest.raises(Exception, match=r"int_membership_listings, which is missing for 7 day\(s\) with directory "
                                        r"snapshots \(2026-09-07 \.\. 2026-09-13\)"):
        dg.materialize(model_assets, selection=["user_accounts"], resources=resources,
                       partition_key=DAYS[-1].isoformat())
