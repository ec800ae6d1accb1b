"""A one-pass mart (``user_accounts``, ``users``) computes a range in passes of a week, not a query
per day, and must give every day exactly the rows a run of that day alone gives, in any order.

The lake is shaped the way a real organization's history is and the simulator's is not: a
permission profile renamed mid-range, a past day's snapshot re-taken later (a backfill against
DocuSign records the time it really ran), a day with no snapshot at all, a membership that leaves
the snapshots, one known only to the eSignature API, lifecycle events after the snapshot of
their day, reserved domains first listed mid-range and once with none active, and a user the
identity provider deletes, a membership both APIs list. Nine days, so the range takes two passes,
across the end of a month, so the days after it read the month before as rollups
(dsassets.lib.transform.history) where the range reads its days.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform import history, runner, sql
from dsassets.lib.transform.models import BY_NAME
from support.warehouse_lake import ACCOUNT_A, ACCOUNT_B, LakeBuilder, ts

D0 = date(2026, 9, 28)  # days 0..2 in September: October's days read them rolled up
DAYS = [D0 + timedelta(days=i) for i in range(9)]
GAP = DAYS[7]  # no snapshot was taken that day
MARTS = ("user_accounts", "users")
UPSTREAM = dg.AssetSelection.assets(*MARTS).upstream() - dg.AssetSelection.assets(*MARTS)
PARTS = sorted(part for mart in MARTS for part in BY_NAME[mart].history)


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
    # identity-provider snapshots on four days, two in September: a day reads only the latest on or
    # before it, which may no longer list a user an earlier one did
    for day in DAYS[1:3]:
        b.idp_user(day, "keep@acme.example", "disabled", ts(DAYS[1], 8))
    b.idp_user(DAYS[3], "left@acme.example", "deleted", ts(DAYS[3], 8))
    b.idp_user(DAYS[5], "left@acme.example", "deleted", ts(DAYS[3], 8))
    b.idp_user(DAYS[5], "keep@acme.example", "deleted", ts(DAYS[5], 8))
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
    # the range starts in September: it read its days; October's days read September rolled up,
    # and their month's days before them too
    assert _rolled_up(roots[0]) == {}
    assert _rolled_up(roots[1]) == {part: ["2026-09", history.MONTH_TO_DATE] for part in PARTS}
    return roots


def _rolled_up(root) -> dict[str, list[str]]:
    """The months each history part holds as rollups."""
    folder = Lake.at(root).local_dir / history.FOLDER
    return {p.name: sorted(m.name for m in p.iterdir()) for p in sorted(folder.iterdir())} if folder.exists() else {}


def _rollup_files(root) -> dict[str, int]:
    """Each rollup with its inode: a rewrite publishes a new file; a run that reuses one touches it."""
    return {str(p): p.stat().st_ino for p in (Lake.at(root).local_dir / history.FOLDER).rglob("*.parquet")}


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
    assert [left[d]["idp_status"] for d in DAYS[:4]] == [None, "not_reported", "not_reported", "deleted"]
    assert [keep[d]["idp_status"] for d in DAYS] == [None, "disabled", "disabled", "not_reported", "not_reported",
                                                      "deleted", "deleted", "deleted", "deleted"]
    assert [left[d]["state"] for d in DAYS[4:6]] == ["active", "deleted"]
    # the day without a snapshot falls back on the latest before it (a day of history for the
    # range's second pass), which no longer lists the user
    for root in lakes:
        assert _state(root, "u-left", "users")[GAP]["organization_user_status"] == "removed"


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
                                        r"snapshots \(2026-09-28 \.\. 2026-10-04\)"):
        dg.materialize(model_assets, selection=["user_accounts"], resources=resources,
                       partition_key=DAYS[-1].isoformat())


def test_a_month_is_rolled_up_once_and_again_when_one_of_its_days_changes(tmp_path):
    """October's runs read September's rollups, made once; a September snapshot re-taken afterwards
    reaches the next run, which gives what a lake never rolled up gives."""
    _build(tmp_path)
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    assert dg.materialize(model_assets, selection=UPSTREAM, resources=resources,
                          tags=range_tags(DAYS[0], DAYS[-1])).success

    def run_marts(day: date) -> None:
        assert dg.materialize(model_assets, selection=MARTS, resources=resources, partition_key=day.isoformat()).success

    run_marts(DAYS[-1])
    made = _rollup_files(tmp_path)
    assert sorted(Path(path).parent.name for path in made) == sorted(["2026-09", history.MONTH_TO_DATE] * len(PARTS))
    # the same day again, as the refresh runs it, with the identity provider's snapshot of the day
    # taken again: the same rollups
    today = LakeBuilder(tmp_path)
    today.idp_user(DAYS[-1], "new@acme.example", "disabled", ts(DAYS[-1], 9))
    today.write()
    run_marts(DAYS[-1])
    assert _rollup_files(tmp_path) == made
    run_marts(DAYS[-2])  # another October day: September's again, and its own days to date

    def september(files: dict[str, int]) -> dict[str, int]:
        return {path: stamp for path, stamp in files.items() if Path(path).parent.name == "2026-09"}

    assert september(_rollup_files(tmp_path)) == september(made)
    assert set(made) < set(_rollup_files(tmp_path))  # each day's month to date stays an hour after its last use
    run_marts(DAYS[-1])
    assert _state(tmp_path, "u-moved")[DAYS[-1]]["permission_profile_name"] == "Approvers v2"
    # day 1's listing of profile 7 re-taken after every other, under another name; day 1's listings
    # materialized again, as a backfill of that day does
    lake = Lake.at(tmp_path)
    listed = pq.read_table(lake.partition_file("raw_docusign_memberships", DAYS[1]))
    rows = listed.to_pylist()
    retaken = next(r for r in rows if r["user_id"] == "u-approver")
    retaken.update(permission_profile_name="Approvers (late)", _snapshot_taken_at=ts(DAYS[8], 12))
    lake.write_partition(pa.Table.from_pylist(rows, schema=listed.schema), "raw_docusign_memberships", DAYS[1])
    assert dg.materialize(model_assets, selection=["int_membership_listings"], resources=resources,
                          partition_key=DAYS[1].isoformat()).success
    run_marts(DAYS[-1])
    assert _state(tmp_path, "u-moved")[DAYS[-1]]["permission_profile_name"] == "Approvers (late)"
    rolled = {mart: _rows(tmp_path, mart) for mart in MARTS}
    # the same day on the same lake without any rollup: read day by day, then rolled up afresh
    shutil.rmtree(Lake.at(tmp_path).local_dir / history.FOLDER)
    run_marts(DAYS[-1])
    assert {mart: _rows(tmp_path, mart) for mart in MARTS} == rolled
