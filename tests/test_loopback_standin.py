"""Pointing DOCUSIGN_* / ENTRA_* at a stand-in server on 127.0.0.1 extracts the same data, no code change."""

import os
from datetime import date

import dagster as dg
import pyarrow.parquet as pq
import pytest

from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.extract.identity import raw_idp_users
from dsassets.defs.extract.snapshots import raw_docusign_esignature, raw_docusign_organization
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.simulator.server import serving_process

DAY = "2026-11-12"
SEED, EVENTS_PER_DAY = 21, 300
ASSETS = [raw_docusign_audit_events, raw_docusign_organization, raw_docusign_esignature, raw_idp_users]
CREDENTIAL_VARS = ("DOCUSIGN_", "ENTRA_")


@pytest.fixture
def standin(tmp_path):
    """The simulator as a separate process serving HTTP on loopback; yields the env it prints."""
    with serving_process(tmp_path / "standin.pem", seed=SEED, events_per_day=EVENTS_PER_DAY) as env:
        yield env


def run(data_dir, monkeypatch, env: dict):
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_VARS):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    resources = {
        "lake": LakeResource(data_dir=str(data_dir)),
        "docusign": DocuSignResource(simulator_seed=SEED, simulator_events_per_day=EVENTS_PER_DAY),
        "identity_provider": IdentityProviderResource(),
    }
    result = dg.materialize(ASSETS, resources=resources, partition_key=DAY)
    assert result.success
    return result


def table(data_dir, dataset):
    return pq.read_table(Lake.at(data_dir).partition_file(dataset, date.fromisoformat(DAY)))


def test_standin_server_on_loopback_gives_the_same_events_as_the_embedded_simulator(standin, tmp_path, monkeypatch):
    assert standin["DOCUSIGN_MONITOR_URL"].startswith("http://127.0.0.1:")
    over_http = run(tmp_path / "http", monkeypatch, standin)
    embedded = run(tmp_path / "embedded", monkeypatch, {})
    # The stand-in is configured like real DocuSign, so its rows say so; the data is the same.
    assert over_http.asset_materializations_for_node("raw_docusign_audit_events")[0].metadata["source"].value == "docusign"
    assert embedded.asset_materializations_for_node("raw_docusign_audit_events")[0].metadata["source"].value == "simulator"
    http_events = table(tmp_path / "http", "raw_docusign_audit_events")
    embedded_events = table(tmp_path / "embedded", "raw_docusign_audit_events")
    assert http_events.num_rows > 100
    assert http_events.column("eventId").to_pylist() == embedded_events.column("eventId").to_pylist()
    assert http_events.column("_raw").to_pylist() == embedded_events.column("_raw").to_pylist()
    for dataset in ("raw_docusign_accounts", "raw_docusign_password_rules", "raw_docusign_memberships"):
        assert table(tmp_path / "http", dataset).num_rows > 0, dataset
    assert table(tmp_path / "http", "raw_idp_users").num_rows > 0


def test_a_range_against_real_sources_takes_one_snapshot_for_all_its_days(standin, tmp_path, monkeypatch):
    """DocuSign and Entra ID serve only the present: a 3-day range asks each once, and every day
    holds that one snapshot with its true time."""
    from dsassets.lib.clients.docusign import DocuSignClient
    from dsassets.lib.clients.graph import GraphClient

    reads = []
    for cls, method in ((GraphClient, "deleted_users"), (DocuSignClient, "organization_accounts")):
        original = getattr(cls, method)
        monkeypatch.setattr(cls, method, lambda self, _o=original, _m=method: (reads.append(_m), _o(self))[1])
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_VARS):
            monkeypatch.delenv(name)
    for name, value in standin.items():
        monkeypatch.setenv(name, value)
    result = dg.materialize(
        [raw_idp_users, raw_docusign_organization],
        resources={"lake": LakeResource(data_dir=str(tmp_path)), "docusign": DocuSignResource(),
                   "identity_provider": IdentityProviderResource()},
        tags=range_tags(date(2026, 11, 10), date(2026, 11, 12)),
    )
    assert result.success and sorted(reads) == ["deleted_users", "organization_accounts"]
    for dataset in ("raw_idp_users", "raw_docusign_memberships"):
        days = [pq.read_table(Lake.at(tmp_path).partition_file(dataset, date(2026, 11, d))) for d in (10, 11, 12)]
        assert days[0].num_rows > 0, dataset
        assert all(t.equals(days[0]) for t in days), dataset  # the same rows and the same _snapshot_taken_at
