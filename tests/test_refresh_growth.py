"""The intra-day refresh adds the events of a new part file to ``activities`` instead of recomputing the day.

Late in the day a refresh's new events are a few thousand of a million, and recomputing the day's
``activities`` rewrote them all (15 s). When the only change since the last refresh is new part
files of the raw audit events, their rows are added as a file of their own; when anything else
changed, or a file read before was rewritten (the day compacted), the day is recomputed. Either
way it holds exactly the rows a recompute gives. The events are shaped as the simulator's never
are: an address first sent with DocuSign's country and later without it (``int_ip_addresses``
locates it only then), one DocuSign never located, an actor the directory does not know, an
affected user, an IPv6 address and one that does not parse. On a local lake and in an S3 bucket
(a real S3-compatible server on loopback), whose files are stamped with ETags, not times.
"""

from datetime import date

import boto3
import dagster as dg
import duckdb
import pytest

from dsassets.defs.models.assets import model_assets
from dsassets.defs.resources import LakeResource
from dsassets.lib.transform import sql, unchanged
from support.s3_server import MotoServer, point_at
from support.warehouse_lake import ACCOUNT_A, LakeBuilder, ts

DAY = date(2026, 10, 20)
SELECTION = dg.AssetSelection.assets("activities").upstream()
APPENDED = "dsassets/appended"
SEATTLE = {"latitude": 47.6, "longitude": -122.33, "country": "united states", "city": "seattle"}


@pytest.fixture(scope="module", params=["local", "s3"])
def where(request, tmp_path_factory):
    """Where a test's lakes go: ``make(name)`` gives an empty one's ``LakeResource``."""
    scratch = tmp_path_factory.mktemp(request.param)
    if request.param == "local":
        yield lambda name: LakeResource(data_dir=str(scratch / name))
        return
    with MotoServer() as server, pytest.MonkeyPatch.context() as patch:
        point_at(patch, server.endpoint, "AKIAGROWTHTEST000001", "growth-test-secret")
        boto3.client("s3").create_bucket(Bucket="dsassets-growth")
        yield lambda name: LakeResource(data_dir=f"s3://dsassets-growth/{name}", local_dir=str(scratch / name))


def builder(resource: LakeResource) -> LakeBuilder:
    return LakeBuilder(resource.data_dir, resource.local_dir or None)


def refresh(resource: LakeResource, *, skip: bool = True) -> dict:
    """``activities`` and what it reads for the day, as the refresh runs them; its metadata."""
    result = dg.materialize(model_assets, selection=SELECTION, partition_key=DAY.isoformat(),
                            resources={"lake": resource}, tags={unchanged.SKIP_TAG: "true"} if skip else {})
    assert result.success
    (materialization,) = [m for m in result.asset_materializations_for_node("activities")]
    return materialization.metadata


def query(resource: LakeResource, select: str) -> list[tuple]:
    """``select`` with ``{activities}`` read from the lake."""
    lake = resource.lake
    with lake.register(duckdb.connect()) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(select.format(activities=sql.scan_output(lake, "activities"))).fetchall()


def rows(resource: LakeResource) -> list[tuple]:
    """Every row of the day's activities, as text, sorted: a multiset, so a repeated row counts."""
    return sorted(tuple(str(v) for v in row) for row in query(resource, "select * from {activities}"))


def day_files(resource: LakeResource) -> list[str]:
    return sorted(f.rsplit("/", 1)[1] for f in resource.lake.files(f"warehouse/activities/dt={DAY}/*.parquet"))


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
def grown(where):
    """A refresh of the morning's events, one of the evening's part file added: (lake, both metadata)."""
    resource = where("grown")
    b = builder(resource)
    morning(b)
    b.write(part="part-20261020T120000000000.parquet")
    first = refresh(resource)
    evening(b)
    b.write(part="part-20261020T210000000000.parquet")
    return resource, first, refresh(resource)


def test_the_address_sent_without_a_country_later_is_located_for_those_events_only(grown):
    """int_ip_addresses locates the address once an event of it lacks DocuSign's country: the
    morning's row, kept as the first refresh wrote it, still has DocuSign's location."""
    located = query(grown[0], "select hour(event_at), location_source, country_code from {activities} "
                              "where ip_address_raw = '81.2.69.160' order by event_at")
    assert located == [(8, "docusign", "US"), (18, "ip_lookup", "GB")]


def test_new_part_files_are_added_and_the_day_is_what_a_recompute_gives(grown):
    resource, first, second = grown
    assert APPENDED not in first
    assert "3 row(s) added from 1 new file(s) of raw_docusign_audit_events" in second[APPENDED].value
    assert second["rows_per_day"].value == {DAY.isoformat(): 6}
    # The morning's rows are the file the first refresh wrote; the evening's sit beside it.
    assert day_files(resource) == ["data.parquet", "part-20261020T210000000000.parquet"]
    added = rows(resource)
    assert len(added) == 6
    recomputed = refresh(resource, skip=False)  # a backfill's run: the day from scratch, one file
    assert APPENDED not in recomputed
    assert day_files(resource) == ["data.parquet"]
    assert rows(resource) == added


def test_anything_else_changed_or_a_file_rewritten_recomputes_the_day(where):
    resource = where("recomputed")
    b = builder(resource)
    morning(b)
    b.write(part="part-20261020T120000000000.parquet")
    refresh(resource)
    # A new part file, and the directory re-taken: the morning's e-mails may differ now.
    evening(b)
    b.write(part="part-20261020T210000000000.parquet")
    b.org_user(DAY, "u-ghost", "ghost@acme.example", hour=22)
    b.write(part="part-20261020T220000000000.parquet")
    assert APPENDED not in refresh(resource)
    assert day_files(resource) == ["data.parquet"]
    # the morning's event too
    assert query(resource, "select distinct user_email from {activities} where user_id = 'u-ghost'") \
        == [("ghost@acme.example",)]
    # The day compacted: its part files become one data.parquet, which no earlier refresh read.
    lake, dataset = resource.lake, "raw_docusign_audit_events"
    with lake.register(duckdb.connect()) as con:
        whole = con.sql(f"select * exclude (dt) from {sql.parquet_scan(lake.glob(dataset))}").to_arrow_table()
    lake.write_partition(whole, dataset, DAY)
    assert lake.list_files(dataset, DAY) == ["data.parquet"]
    before = rows(resource)
    assert APPENDED not in refresh(resource)
    assert rows(resource) == before
