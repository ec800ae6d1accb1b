"""Entra directory audits read incrementally during the day: the same users and lifecycles as a full read.

A hand-built Graph tenant stands in for Entra, shaped unlike the simulator's: GUID ids, seven-digit
and whole-second times side by side, two audits at the same instant, an audit with two targets, a
target without an id, an audit without an id, newest first in pages of two, and audits published
after their time (Graph's publishing delay), one of them later than the overlap.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dsassets.defs.extract.identity import read_graph
from dsassets.lib.clients.directory_audits import AuditCache, read_audits
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.config.settings import ConfigError, GraphSettings, graph_audit_overlap

GRAPH = "https://graph.microsoft.com"
TENANT = "fabrikam.onmicrosoft.com"
LOOKBACK = timedelta(days=90)
OVERLAP = timedelta(minutes=60)
DAY = datetime(2026, 3, 10, tzinfo=UTC)


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def stamp(when: datetime, fraction: bool = True) -> str:
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{when.microsecond:06d}0Z" if fraction else f"{text}Z"


class Tenant:
    """An append-only audit log whose records become visible at their ``published`` time."""

    def __init__(self) -> None:
        self.now = at(0)
        self.audits: list[tuple[datetime, dict]] = []  # (published, record)
        self.asked: list[datetime] = []  # the ``ge`` time of each first page asked for
        self.fail_page: int | None = None  # the page number (0-based) of the next read that answers 400
        self.retention: timedelta | None = None  # Entra keeps audits 7 days (free) or 30 (P1/P2)
        self.disabled = [{"id": "7f1c2a9e-0001", "userPrincipalName": "Olu.Adebayo@fabrikam.example",
                          "mail": None, "accountEnabled": False},
                         {"id": "7f1c2a9e-0002", "userPrincipalName": "kai@fabrikam.example", "mail": "Kai@Fabrikam.example"}]
        self.deleted = [{"id": "7f1c2a9e-0003", "userPrincipalName": "3a9d_rin@fabrikam.example",
                         "deletedDateTime": None}]

    def add(self, user: str, activity: str, when: datetime, *, published: datetime | None = None,
            audit_id: str | None = "auto", targets: list | None = None, fraction: bool = True) -> None:
        record = {
            "activityDateTime": stamp(when, fraction),
            "activityDisplayName": activity,
            "category": "UserManagement",
            "initiatedBy": {"user": {"userPrincipalName": "admin@fabrikam.example"}},
            "targetResources": targets if targets is not None else [{"id": user, "type": "User"}],
        }
        if audit_id == "auto":
            record["id"] = f"Directory_{len(self.audits):04d}-b7e2-4c1d"
        elif audit_id is not None:
            record["id"] = audit_id
        self.audits.append((published or when, record))

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"})
        path = request.url.path
        if path == "/v1.0/users":
            return httpx.Response(200, json={"value": self.disabled})
        if path.startswith("/v1.0/directory/deletedItems"):
            return httpx.Response(200, json={"value": self.deleted})
        assert path == "/v1.0/auditLogs/directoryAudits", path
        query = parse_qs(urlsplit(str(request.url)).query)
        page = int(query.get("page", ["0"])[0])
        since = datetime.fromisoformat(query["$filter"][0].split("ge ")[1].split(" ")[0].replace("Z", "+00:00"))
        if page == 0:
            self.asked.append(since)
        if self.fail_page == page:
            self.fail_page = None
            return httpx.Response(400, json={"error": {"code": "BadRequest", "message": "page refused"}})
        oldest = max(since, self.now - self.retention) if self.retention else since
        visible = [r for published, r in self.audits
                   if published <= self.now and datetime.fromisoformat(r["activityDateTime"][:19] + "+00:00") >= oldest]
        visible.sort(key=lambda r: r["activityDateTime"], reverse=True)  # Graph: newest first
        body = {"value": visible[page * 2: page * 2 + 2]}
        if page * 2 + 2 < len(visible):
            body["@odata.nextLink"] = f"{GRAPH}{path}?$filter={query['$filter'][0]}&page={page + 1}"
        return httpx.Response(200, json=body)

    def client(self) -> GraphClient:
        settings = GraphSettings(tenant_id=TENANT, client_id="app-1", client_secret="s3cret", max_attempts=1)
        return GraphClient(settings, transport=httpx.MockTransport(self.handler), sleep=lambda s: None)


@pytest.fixture
def tenant() -> Tenant:
    t = Tenant()
    t.add("7f1c2a9e-0001", "Add user", at(-40 * 24))
    t.add("7f1c2a9e-0001", "Disable account", at(-3 * 24), fraction=False)
    t.add("7f1c2a9e-0002", "Disable account", at(-2 * 24 + 1))
    t.add("7f1c2a9e-0002", "Enable account", at(-2 * 24 + 1))  # the same instant as the disable
    t.add("7f1c2a9e-0002", "Disable account", at(-1 * 24 + 5),
          targets=[{"id": "7f1c2a9e-0002"}, {"displayName": "no id"}, "not an object"])
    t.add("7f1c2a9e-0003", "Delete user", at(-100 * 24))  # before the lookback
    t.add("7f1c2a9e-0003", "Restore user", at(-10 * 24), audit_id=None)
    t.add("7f1c2a9e-0003", "Delete user", at(-9 * 24), targets=[{"id": "7f1c2a9e-0003"}, {"id": "7f1c2a9e-0009"}])
    return t


def cache_in(tmp_path, tenant_id: str = TENANT, overlap: timedelta = OVERLAP, partition: str = "2026-03-10") -> AuditCache:
    return AuditCache(tmp_path / ".graph-audits", json.dumps([GRAPH, tenant_id, "app-1"]), overlap, partition)


def read(tenant: Tenant, cache: AuditCache | None) -> tuple[list[dict], list[datetime]]:
    asked: list[datetime] = []
    with tenant.client() as graph:
        rows = read_graph(graph, since=tenant.now - LOOKBACK, until=tenant.now, warnings=[],
                          audit_cache=cache, audits_asked_from=asked)
    return [row for row, _ in rows], asked


def full(tenant: Tenant) -> list[dict]:
    rows, asked = read(tenant, None)
    assert asked == [tenant.now - LOOKBACK]
    return rows


def test_a_later_read_of_the_day_asks_only_since_the_previous_read_and_gives_what_a_full_read_gives(tmp_path, tenant):
    cache = cache_in(tmp_path)
    # Inside the overlap, so in both reads: each must count once (one has no id to tell it by).
    tenant.add("7f1c2a9e-0001", "Disable account", at(9.5))
    tenant.add("7f1c2a9e-0001", "Disable account", at(9.75), audit_id=None, targets=[{"id": "7f1c2a9e-0001"}])
    tenant.now = at(10)
    first, asked = read(tenant, cache)
    assert asked == [at(10) - LOOKBACK] and first == full(tenant)
    # Between the reads: a disable and a re-enable, and an 09:20 audit published at 10:10 (inside the overlap).
    tenant.add("7f1c2a9e-0001", "Enable account", at(10.1))
    tenant.add("7f1c2a9e-0002", "Enable account", at(9 + 1 / 3), published=at(10 + 1 / 6))
    tenant.add("7f1c2a9e-0002", "Disable account", at(10.2), audit_id=None)
    tenant.now = at(10.25)
    tenant.asked.clear()
    second, asked = read(tenant, cache)
    assert asked == [at(9)] and tenant.asked == [at(9)]
    assert second == full(tenant)
    olu = next(r for r in second if r["idp_user_id"] == "7f1c2a9e-0001")
    assert [e["activity"] for e in json.loads(olu["lifecycle"])] == [
        "Add user", "Disable account", "Disable account", "Disable account", "Enable account"]
    kai = next(r for r in second if r["idp_user_id"] == "7f1c2a9e-0002")
    assert kai["status_changed_at"] == at(10.2)
    # Each audit once, oldest first, whether it came from the kept read or the new one.
    activities = [e["activity"] for e in json.loads(kai["lifecycle"])]
    assert activities == ["Disable account", "Enable account", "Disable account", "Enable account", "Disable account"]
    # The user restored then deleted again, dated by the audit; an audit before the lookback is not read.
    rin = next(r for r in second if r["idp_user_id"] == "7f1c2a9e-0003")
    assert [e["activity"] for e in json.loads(rin["lifecycle"])] == ["Restore user", "Delete user"]
    assert rin["status_changed_at"] == at(-9 * 24)


def test_the_first_read_of_a_utc_day_reads_the_whole_lookback_and_finds_what_the_overlap_missed(tmp_path, tenant):
    cache = cache_in(tmp_path)
    tenant.now = at(23.5)
    read(tenant, cache)
    # Dated 20:00 but published after midnight: later than the overlap reaches.
    tenant.add("7f1c2a9e-0001", "Enable account", at(20), published=at(24.05))
    tenant.now = at(23.9)
    _, asked = read(tenant, cache)
    assert asked == [at(22.5)]
    tenant.now = at(24.1)
    rows, asked = read(tenant, cache)
    assert asked == [at(24.1) - LOOKBACK]
    olu = next(r for r in rows if r["idp_user_id"] == "7f1c2a9e-0001")
    assert json.loads(olu["lifecycle"])[-1]["activity"] == "Enable account"
    assert rows == full(tenant)


def test_an_audit_entra_expires_during_the_day_stays_until_the_next_days_first_read(tmp_path, tenant):
    cache = cache_in(tmp_path)
    tenant.retention = timedelta(days=30)
    tenant.add("7f1c2a9e-0002", "Disable account", at(-30 * 24 + 11))  # expires at 11:00
    tenant.now = at(10)
    first, _ = read(tenant, cache)
    tenant.now = at(12)
    later, _ = read(tenant, cache)
    assert later == first != full(tenant)
    tenant.now = at(24.5)
    assert read(tenant, cache)[0] == full(tenant)


def test_an_earlier_read_another_partition_or_tenant_no_overlap_or_an_unreadable_file_reads_everything(
        tmp_path, tenant):
    cache = cache_in(tmp_path)
    tenant.now = at(12)
    read(tenant, cache)
    for other, now in [(cache_in(tmp_path, partition="2026-03-09"), at(12.5)),
                       (cache, at(12.75)),
                       (cache_in(tmp_path, "contoso.onmicrosoft.com"), at(13)),
                       (cache_in(tmp_path, overlap=timedelta(0)), at(13)),
                       (cache, at(11))]:
        tenant.now = now
        rows, asked = read(tenant, other)
        assert asked == [now - LOOKBACK] and rows == full(tenant)
    assert len(list((tmp_path / ".graph-audits").glob("*.json"))) == 2  # one file per tenant
    tenant.now = at(14)
    kept = json.loads(cache.path.read_text())
    for damaged in ('{"format": 1, "audits": [', json.dumps({**kept, "audits": ["not an audit"]})):
        cache.path.write_text(damaged)
        rows, asked = read(tenant, cache)
        assert asked == [at(14) - LOOKBACK] and rows == full(tenant)


def test_a_failed_page_leaves_the_kept_audits_as_they_were(tmp_path, tenant):
    cache = cache_in(tmp_path)
    tenant.now = at(8)
    read(tenant, cache)
    kept = cache.path.read_bytes()
    for n in range(4):
        tenant.add("7f1c2a9e-0001", "Enable account", at(8.1 + n / 100))
    tenant.now = at(8.5)
    tenant.fail_page = 1
    with pytest.raises(ApiError, match="Graph directory audits"):
        read(tenant, cache)
    assert cache.path.read_bytes() == kept
    assert [p.name for p in cache.folder.iterdir()] == [cache.path.name]  # no scratch file left
    rows, asked = read(tenant, cache)
    assert asked == [at(7)] and rows == full(tenant)


def test_read_audits_keeps_only_what_dating_reads_and_drops_audits_before_the_window(tmp_path):
    cache = cache_in(tmp_path)
    batches = {at(-LOOKBACK.days * 24 + 1): [
        {"id": "a", "activityDateTime": stamp(at(-LOOKBACK.days * 24 + 2)), "activityDisplayName": "Delete user",
         "targetResources": [{"id": "u", "userPrincipalName": "u@x.example", "modifiedProperties": [1, 2]}],
         "additionalDetails": [{"key": "UserType", "value": "Member"}]},
        {"id": "b", "activityDateTime": "not a time", "activityDisplayName": "Add user", "targetResources": None},
    ]}
    first, _ = read_audits(lambda since: batches.get(since, []), since=at(-LOOKBACK.days * 24 + 1),
                           until=at(1), cache=cache)
    assert first[0] == {"id": "a", "activityDateTime": stamp(at(-LOOKBACK.days * 24 + 2)),
                        "activityDisplayName": "Delete user", "targetResources": [{"id": "u"}]}
    assert first[1]["targetResources"] == []
    # Three hours on, the window starts after audit "a": it is dropped; the unreadable time is kept.
    later, asked = read_audits(lambda since: [], since=at(-LOOKBACK.days * 24 + 4), until=at(4), cache=cache)
    assert asked == at(0) and [a["id"] for a in later] == ["b"]
    # A window reaching further back than the kept read is read whole.
    _, asked = read_audits(lambda since: [], since=at(-LOOKBACK.days * 24), until=at(5), cache=cache)
    assert asked == at(-LOOKBACK.days * 24)


def test_the_kept_file_is_replaced_whole_and_scratch_files_do_not_pile_up(tmp_path, monkeypatch):
    cache = cache_in(tmp_path)
    read_audits(lambda since: [], since=at(-1), until=at(1), cache=cache)
    kept = cache.path.read_bytes()
    stale, fresh = cache.folder / ".killed.1.a.tmp", cache.folder / ".running.2.b.tmp"
    for path in (stale, fresh):
        path.write_text("{")
    os.utime(stale, (time.time() - 2 * 3600,) * 2)

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", refuse)
        with pytest.raises(OSError, match="No space"):
            read_audits(lambda since: [{"id": "x", "activityDateTime": stamp(at(2))}], since=at(-1), until=at(2),
                        cache=cache)
    assert cache.path.read_bytes() == kept
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([cache.path.name, stale.name, fresh.name])
    read_audits(lambda since: [], since=at(-1), until=at(3), cache=cache)
    # A killed run's scratch file goes an hour on; one a run may still be writing stays.
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([cache.path.name, fresh.name])


def test_the_overlap_is_a_setting_and_a_bad_one_is_named():
    assert graph_audit_overlap({}) == timedelta(minutes=60)
    assert graph_audit_overlap({"DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES": "0"}) == timedelta(0)
    for bad in ("-5", "an hour"):
        with pytest.raises(ConfigError, match="DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES"):
            graph_audit_overlap({"DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES": bad})
