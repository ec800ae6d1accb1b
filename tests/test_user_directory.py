"""User e-mails on events: resolved from the directory change log as from every snapshot.

``activities`` takes an event's user e-mail from the latest directory snapshot on or before the
event's day that lists the user (organization users, else memberships, else account users),
else from the first one listing the user. It reads that from ``int_user_directory_changes`` (the
days an address changed) instead of every snapshot. The hand-built directory below does what the
simulator's never does: addresses change and change back, users drop out of the snapshots and
come back, a day has no snapshot at all, sources disagree, and a source lists one user twice.
The expected e-mails are computed here from the raw listings, by that rule.
"""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform import sql
from support.warehouse_lake import ACCOUNT_A, ACCOUNT_B, LakeBuilder, ts

DAYS = [date(2026, 11, 2) + timedelta(days=i) for i in range(6)]
D1, D2, D3, D4, D5, D6 = DAYS
SNAPSHOT_DAYS = [D1, D2, D3, D5, D6]  # D4: every snapshot failed
SELECTION = ["int_ip_addresses", "int_user_directory_changes", "activities"]
PRIORITY = {"org": 1, "membership": 2, "account_user": 3}

# (user, day) -> [(source, address as DocuSign sent it)]
LISTINGS: dict[tuple[str, date], list[tuple[str, str]]] = {}


def listed(user: str, days, source: str, email: str) -> None:
    for day in days:
        LISTINGS.setdefault((user, day), []).append((source, email))


listed("u-amy", [D1, D2], "org", "amy@old.example")  # a new address from D3 on
listed("u-amy", [D3, D5, D6], "org", "amy@new.example")
listed("u-gus", [D1, D3, D5], "org", "gus@a.example")  # changes on D2, back on D3
listed("u-gus", [D2], "org", "gus@b.example")
listed("u-ben", [D1, D2, D5, D6], "org", "ben@x.example")  # gone on D3, back on D5
listed("u-cal", [D5, D6], "org", "cal@late.example")  # first listed after its event
listed("u-dee", [D1, D3], "org", "dee@org.example")  # only a membership on D2
listed("u-dee", [D1, D2, D3], "membership", "Dee@Member.example")
listed("u-eve", SNAPSHOT_DAYS, "account_user", "eve@b.example")  # two accounts, two addresses
listed("u-eve", SNAPSHOT_DAYS, "account_user", "eve@a.example")
listed("u-fay", [D1], "org", "fay@gone.example")  # only ever an affected user, long gone

# (day, actor, affected user)
EVENTS = [
    (D2, "u-amy", None), (D3, "u-amy", None), (D4, "u-amy", None), (D6, "u-amy", "u-fay"),
    (D1, "u-gus", None), (D2, "u-gus", None), (D3, "u-gus", None), (D4, "u-gus", "u-ben"),
    (D3, "u-ben", None), (D4, "u-ben", None), (D6, "u-ben", "u-cal"),
    (D2, "u-cal", None),
    (D1, "u-dee", None), (D2, "u-dee", None), (D3, "u-dee", "u-amy"),
    (D2, "u-eve", None),
    (D5, "u-ghost", "u-ghost"),  # never listed
]


def expected_email(user: str | None, day: date) -> str | None:
    """The rule, from the listings: latest listing day on or before ``day``, else the first; by source."""
    days = sorted(d for (u, d) in LISTINGS if u == user)
    before = [d for d in days if d <= day]
    chosen = before[-1] if before else (days[0] if days else None)
    if chosen is None:
        return None
    return min((PRIORITY[source], email.lower()) for source, email in LISTINGS[(user, chosen)])[1]


def build(root) -> dict[str, tuple[date, str, str | None]]:
    b = LakeBuilder(root)
    for (user, day), entries in LISTINGS.items():
        for i, (source, email) in enumerate(entries):
            if source == "org":
                b.org_user(day, user, email)
            elif source == "membership":
                b.membership(day, user, ACCOUNT_A, email)
            else:
                b.account_user(day, user, (ACCOUNT_A, ACCOUNT_B)[i % 2], email)
    events = {}
    for i, (day, actor, affected) in enumerate(EVENTS):
        event_id = b.event(ts(day, 9, i), user_id=actor, affected_user_id=affected or "")
        events[event_id] = (day, actor, affected)
    b.write()
    return events


def emails(root) -> dict[str, tuple[str | None, str | None]]:
    with duckdb.connect() as con:
        rows = con.execute(
            f"select event_id, user_email, affected_user_email "
            f"from {sql.scan_output(Lake.at(root), 'activities')}"
        ).fetchall()
    return {event_id: (user, affected) for event_id, user, affected in rows}


@pytest.fixture(scope="module")
def range_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("directory")
    events = build(root)
    result = dg.materialize(
        model_assets, selection=SELECTION, resources={"lake": LakeResource(data_dir=str(root))},
        tags=range_tags(D1, D6),
    )
    assert result.success
    return root, events


def test_every_event_gets_the_address_of_the_latest_snapshot_listing_its_user(range_run):
    root, events = range_run
    found = emails(root)
    expected = {event_id: (expected_email(actor, day), expected_email(affected, day) if affected else None)
                for event_id, (day, actor, affected) in events.items()}
    assert found == expected
    # the cases are all there: a changed and a changed-back address, a gap, the first-listing
    # fallback, an organization user over a membership, the tie, a long-gone affected user
    assert {found[e][0] for e in found} >= {"amy@old.example", "amy@new.example", "gus@b.example",
                                            "ben@x.example", "cal@late.example", "dee@member.example",
                                            "dee@org.example", "eve@a.example"}
    assert ("amy@new.example", "fay@gone.example") in found.values()


def test_the_change_log_holds_only_the_days_an_address_changed(range_run):
    root, _ = range_run
    with duckdb.connect() as con:
        rows = set(con.execute(
            f"select user_id, dt, email from {sql.scan_output(Lake.at(root), 'int_user_directory_changes')}"
        ).fetchall())
    assert ("u-amy", D2, "amy@old.example") not in rows  # unchanged since D1
    assert ("u-amy", D3, "amy@new.example") in rows
    assert ("u-gus", D3, "gus@a.example") in rows  # changed back
    assert ("u-ben", D5, "ben@x.example") in rows  # listed again (and D4 had no snapshot)
    assert ("u-eve", D2, "eve@a.example") not in rows  # the tie resolves alike every day
    assert len(rows) < sum(1 for (_, day) in LISTINGS if day <= D6)


def test_one_day_runs_in_any_order_give_the_range_runs_emails(range_run, tmp_path):
    """As a parallel backfill runs them: each day's change log, then each day's activities."""
    root, _ = range_run
    other = tmp_path / "daily"
    build(other)
    resources = {"lake": LakeResource(data_dir=str(other))}
    for day in (D4, D6, D1, D3, D5, D2):
        assert dg.materialize(model_assets, selection=SELECTION[1:2], resources=resources,
                              partition_key=day.isoformat()).success
    for day in (D5, D2, D6, D1, D4, D3):
        assert dg.materialize(model_assets, selection=SELECTION, resources=resources,
                              partition_key=day.isoformat()).success
    assert emails(other) == emails(root)


def test_activities_refuses_a_change_log_with_holes(tmp_path):
    build(tmp_path)
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    # a lake made before the change log existed: the snapshots of D1..D5 have none
    assert dg.materialize(model_assets, selection=SELECTION[:2], resources=resources,
                          partition_key=D6.isoformat()).success
    with pytest.raises(Exception, match=r"int_user_directory_changes, which is missing for 4 day\(s\) "
                                        r"with directory snapshots \(2026-11-02 \.\. 2026-11-06\)"):
        dg.materialize(model_assets, selection=["activities"], resources=resources,
                       partition_key=D6.isoformat())
