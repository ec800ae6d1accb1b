"""The intra-day refresh adds the events of a new part file to ``activities`` instead of recomputing the day.

Late in the day a refresh's new events are a few thousand of a million, and recomputing the day's
``activities`` rewrote them all (15 s). When the only change since the last refresh is new part
files of the raw audit events, their rows are added as a file of their own; when anything else
changed, or a file read before was rewritten (the day compacted), the day is recomputed. Either
way it holds exactly the rows a recompute gives. The events are shaped as the simulator's never
are: an address first sent with DocuSign's country and later without it (``int_ip_addresses``
locates it only then), one DocuSign never located, an actor the directory does not know, an
affected user, an IPv6 address and one that does not parse.
"""

from datetime import date

import dagster as dg
import duckdb
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import sql, unchanged
from support.warehouse_lake import ACCOUNT_A, LakeBuilder, ts

DAY = date(2026, 10, 20)
SELECTION = dg.AssetSelection.assets("activities").upstream()
APPENDED = "dsassets/appended"
SEATTLE = {"latitude": 47.6, "longitude": -122.33, "country": "united states", "city": "seattle"}


def refresh(root, *, skip: bool = True) -> dict:
    """``activities`` and what it reads for the day, as the refresh runs them; its metadata."""
    result = dg.materialize(model_assets, selection=SELECTION, partition_key=DAY.isoformat(),
                            resources={"lake": LakeResource(data_dir=str(root))},
                            tags={unchanged.SKIP_TAG: "true"} if skip else {})
    assert result.success
    (materialization,) = [m for m in result.asset_materializations_for_node("activities")]
    return materialization.metadata


def rows(root) -> list[tuple]:
    """Every row of the day's activities, as text, sorted: a multiset, so a repeated row counts."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rel = con.sql(f"select * from {sql.parquet_scan(sql.model_glob(Lake.at(root), 'activities'))}")
    return sorted(tuple(str(v) for v in row) for row in rel.fetchall())


def day_files(root) -> list[str]:
    return sorted(p.name for p in (root / "warehouse" / "activities" / f"dt={DAY}").glob("*.parquet"))


def morning(b: LakeBuilder) -> None:
    for user, email in (("u-ann", "ann@acme.example"), ("u-bob", "bob@partner.example")):
        b.org_user(DAY, user, email, hour=1)
        b.membership(DAY, user, ACCOUNT_A, email, hour=1)
    b.reserved_domain(DAY, "acme.example")
    b.signin(ts(DAY, 8), "u-ann", ip="81.2.69.160", location=SEATTLE)
    b.signin(ts(DAY, 9), "u-bob", ip="8.8.8.8", location=None)
    b.event(ts(DAY, 10), user_id="u-ghost", ip="2001:db8::1", location=None)


def evening(b: LakeBuilder) -> None:
    b.signin(ts(DAY, 18), "u-ann", ip="81.2.69.160", location=None)  # the same address, no country now
    b.event(ts(DAY, 19), user_id="u-ann", object="Account", action="UserClosed", ip="1.1.1.1", location=None,
            data={"AffectedUserId": "u-bob"})
    b.signin(ts(DAY, 20), "u-bob", ok=False, ip="not-an-ip", location=None)


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A refresh of the morning's events, one of the evening's part file added: (root, both metadata)."""
    root = tmp_path_factory.mktemp("grown")
    b = LakeBuilder(root)
    morning(b)
    b.write(part="part-20261020T120000000000.parquet")
    first = refresh(root)
    evening(b)
    b.write(part="part-20261020T210000000000.parquet")
    return root, first, refresh(root)


def test_the_address_sent_without_a_country_later_is_located_for_those_events_only(grown):
    """int_ip_addresses locates the address once an event of it lacks DocuSign's country: the
    morning's row, kept as the first refresh wrote it, still has DocuSign's location."""
    root = grown[0]
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    located = con.execute(
        f"select hour(event_at), location_source, country_code from {sql.scan_output(Lake.at(root), 'activities')} "
        "where ip_address_raw = '81.2.69.160' order by event_at").fetchall()
    assert located == [(8, "docusign", "US"), (18, "ip_lookup", "GB")]


def test_new_part_files_are_added_and_the_day_is_what_a_recompute_gives(grown):
    root, first, second = grown
    assert APPENDED not in first
    assert "3 row(s) added from 1 new file(s) of raw_docusign_audit_events" in second[APPENDED].value
    assert second["rows_per_day"].value == {DAY.isoformat(): 6}
    # The morning's rows are the file the first refresh wrote; the evening's sit beside it.
    assert day_files(root) == ["data.parquet", "part-20261020T210000000000.parquet"]
    added = rows(root)
    assert len(added) == 6
    recomputed = refresh(root, skip=False)  # a backfill's run: the day from scratch, one file
    assert APPENDED not in recomputed
    assert day_files(root) == ["data.parquet"]
    assert rows(root) == added


def test_anything_else_changed_or_a_file_rewritten_recomputes_the_day(tmp_path):
    b = LakeBuilder(tmp_path)
    morning(b)
    b.write(part="part-20261020T120000000000.parquet")
    refresh(tmp_path)
    # A new part file, and the directory re-taken: the morning's e-mails may differ now.
    evening(b)
    b.write(part="part-20261020T210000000000.parquet")
    b.org_user(DAY, "u-ghost", "ghost@acme.example", hour=22)
    b.write(part="part-20261020T220000000000.parquet")
    assert APPENDED not in refresh(tmp_path)
    assert day_files(tmp_path) == ["data.parquet"]
    emails = duckdb.connect().execute(
        f"select distinct user_email from {sql.scan_output(Lake.at(tmp_path), 'activities')} where user_id = 'u-ghost'")
    assert emails.fetchall() == [("ghost@acme.example",)]  # the morning's event too
    # The day compacted: its part files become one data.parquet, which no earlier refresh read.
    lake = Lake.at(tmp_path)
    dataset = "raw_docusign_audit_events"
    whole = duckdb.connect().sql(
        f"select * exclude (dt) from {sql.parquet_scan(lake.glob(dataset))}").to_arrow_table()
    lake.write_partition(whole, dataset, DAY)
    assert lake.list_files(dataset, DAY) == ["data.parquet"]
    before = rows(tmp_path)
    assert APPENDED not in refresh(tmp_path)
    assert rows(tmp_path) == before
