"""The raw assets materialized in process against the simulator, through the real client."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import dagster as dg
import pyarrow.parquet as pq
import pytest

from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.extract.checks import raw_audit_event_ips_parse, raw_audit_events_valid
from dsassets.defs.extract.groups import raw_idp_group_members
from dsassets.defs.extract.identity import raw_idp_users
from dsassets.defs.extract.snapshots import raw_docusign_esignature, raw_docusign_organization
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource, _simulator
from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.lake.schemas import RAW_SCHEMAS

DAY = "2026-11-10"
RAW_ASSETS = [raw_docusign_audit_events, raw_docusign_organization, raw_docusign_esignature, raw_idp_users,
              raw_idp_group_members]
CHECKS = [raw_audit_events_valid, raw_audit_event_ips_parse]
SEED, EVENTS_PER_DAY = 11, 400


@pytest.fixture(autouse=True)
def no_real_credentials(monkeypatch):
    for name in ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
                 "DOCUSIGN_ORGANIZATION_ID", "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET",
                 "DSASSETS_IDP_EXPORT_FILE"):
        monkeypatch.delenv(name, raising=False)


def resources(data_dir, docusign: DocuSignResource | None = None) -> dict:
    return {
        "lake": LakeResource(data_dir=str(data_dir)),
        "docusign": docusign or DocuSignResource(simulator_seed=SEED, simulator_events_per_day=EVENTS_PER_DAY),
        "identity_provider": IdentityProviderResource(),
    }


def event_ids(lake: Lake, day: str) -> list[str]:
    return pq.read_table(lake.partition_file("raw_docusign_audit_events", date.fromisoformat(day))).column(
        "eventId"
    ).to_pylist()


def without(table, *columns):
    return table.drop_columns([c for c in columns if c in table.column_names])


def test_every_raw_asset_materializes_one_partition_with_passing_checks(tmp_path):
    result = dg.materialize([*RAW_ASSETS, *CHECKS], resources=resources(tmp_path), partition_key=DAY)
    assert result.success
    lake = Lake.at(tmp_path)
    for dataset, schema in RAW_SCHEMAS.items():
        table = pq.read_table(lake.partition_file(dataset, date.fromisoformat(DAY)))
        assert table.schema.names == schema.names, dataset
        if dataset not in ("raw_idp_users", "raw_idp_group_members") or table.num_rows:
            assert set(table.column("_source").to_pylist()) == {"simulator"}, dataset
    assert len(event_ids(lake, DAY)) > 100
    evaluations = result.get_asset_check_evaluations()
    # A whole read of a past day measures no lateness: the late-event check passes saying so.
    assert {e.check_name for e in evaluations} == {
        "raw_audit_events_valid", "raw_audit_event_ips_parse", "events_within_late_bound"}
    assert all(e.passed for e in evaluations)
    assert all(e.passed for e in evaluations)
    materialization = result.asset_materializations_for_node("raw_docusign_audit_events")[0]
    assert materialization.metadata["simulated"].value is True


def test_rerun_replaces_partitions_with_identical_content(tmp_path):
    dg.materialize(RAW_ASSETS, resources=resources(tmp_path), partition_key=DAY)
    lake = Lake.at(tmp_path)
    snapshot = {d: pq.read_table(lake.partition_file(d, date.fromisoformat(DAY))) for d in RAW_SCHEMAS}
    assert dg.materialize(RAW_ASSETS, resources=resources(tmp_path), partition_key=DAY).success
    for dataset, before in snapshot.items():
        files = lake.list_files(dataset, date.fromisoformat(DAY))
        assert files == ["data.parquet"], f"{dataset}: re-run appended instead of replacing"
        after = pq.read_table(lake.partition_file(dataset, date.fromisoformat(DAY)))
        assert without(after, "_extracted_at").equals(without(before, "_extracted_at")), dataset


def test_range_run_reads_once_and_splits_days_like_single_day_runs(tmp_path):
    ranged, single = tmp_path / "ranged", tmp_path / "single"
    result = dg.materialize(
        [raw_docusign_audit_events],
        resources=resources(ranged),
        tags=range_tags(date(2026, 11, 9), date(2026, 11, 11)),
    )
    assert result.success
    assert dg.materialize([raw_docusign_audit_events], resources=resources(single), partition_key=DAY).success
    ranged_lake = Lake.at(ranged)
    assert ranged_lake.partitions("raw_docusign_audit_events") == [
        date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 11)
    ]
    # The middle day's events are the same whichever way it was extracted: nothing lost at midnight.
    assert event_ids(ranged_lake, DAY) == event_ids(Lake.at(single), DAY)


class FlakyDocuSign(DocuSignResource):
    """The simulator behind a transport that fails the way DocuSign does under load."""

    @contextlib.contextmanager
    def client(self, as_of=None):
        from dsassets.simulator import Fault

        sim, clock = _simulator(self.simulator_seed, self.simulator_events_per_day)
        clock.pinned = as_of
        faults = [
            Fault(path_contains="/stream", status=429, times=2, retry_after="0"),
            Fault(path_contains="/users", status=503, times=1),
            Fault(path_contains="/settings", status=500, times=1),
        ]
        try:
            with DocuSignClient(sim.docusign_settings(), transport=sim.transport(faults=faults), sleep=lambda s: None) as c:
                yield c
        finally:
            clock.pinned = None


class SettingsRefusedFor(DocuSignResource):
    """The simulator, refusing the account settings (HTTP 400, not retried) of one day's snapshot."""

    refused_day: str = ""

    @contextlib.contextmanager
    def client(self, as_of=None):
        from dsassets.simulator import Fault

        sim, clock = _simulator(self.simulator_seed, self.simulator_events_per_day)
        clock.pinned = as_of
        # A day's snapshot is taken as of its end: the next day's first instant.
        refused = as_of is not None and as_of.date() == date.fromisoformat(self.refused_day) + timedelta(days=1)
        faults = [Fault(path_contains="/settings", status=400, times=None)] if refused else []
        try:
            with DocuSignClient(sim.docusign_settings(), transport=sim.transport(faults=faults)) as c:
                yield c
        finally:
            clock.pinned = None


ESIGNATURE_DATASETS = ("raw_docusign_account_users", "raw_docusign_account_settings", "raw_docusign_password_rules")


def test_a_range_whose_last_snapshot_fails_publishes_no_day_and_leaves_no_scratch(tmp_path):
    days = range_tags(date(2026, 11, 9), date(2026, 11, 11))
    refused = SettingsRefusedFor(simulator_seed=SEED, simulator_events_per_day=EVENTS_PER_DAY, refused_day="2026-11-11")
    failed = dg.materialize([raw_docusign_esignature], resources=resources(tmp_path, refused), tags=days,
                            raise_on_error=False)
    assert not failed.success
    lake = Lake.at(tmp_path)
    # The first two days were taken (and staged) before the third failed: none is published.
    assert all(lake.partitions(dataset) == [] for dataset in ESIGNATURE_DATASETS)
    assert not list(lake.tmp_dir.glob("*.parquet"))
    assert dg.materialize([raw_docusign_esignature], resources=resources(tmp_path), tags=days).success
    single = tmp_path / "single"
    assert dg.materialize([raw_docusign_esignature], resources=resources(single), partition_key=DAY).success
    for dataset in ESIGNATURE_DATASETS:
        assert lake.partitions(dataset) == [date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 11)]
        # each day of the range holds its own snapshot, as a single day's run takes it
        ranged = pq.read_table(lake.partition_file(dataset, date.fromisoformat(DAY)))
        alone = pq.read_table(Lake.at(single).partition_file(dataset, date.fromisoformat(DAY)))
        assert ranged.sort_by("_raw").equals(alone.sort_by("_raw")), dataset


def test_rate_limits_and_server_errors_are_retried_to_the_same_result(tmp_path):
    flaky, clean = tmp_path / "flaky", tmp_path / "clean"
    docusign = FlakyDocuSign(simulator_seed=SEED, simulator_events_per_day=EVENTS_PER_DAY)
    assert dg.materialize(RAW_ASSETS[:3], resources=resources(flaky, docusign), partition_key=DAY).success
    assert dg.materialize(RAW_ASSETS[:3], resources=resources(clean), partition_key=DAY).success
    assert event_ids(Lake.at(flaky), DAY) == event_ids(Lake.at(clean), DAY)


def test_blocking_check_fails_on_a_tampered_partition(tmp_path):
    assert dg.materialize([raw_docusign_audit_events], resources=resources(tmp_path), partition_key=DAY).success
    lake = Lake.at(tmp_path)
    path = lake.partition_file("raw_docusign_audit_events", date.fromisoformat(DAY))
    table = pq.read_table(path)
    # Someone copies a partition twice into place: every eventId is now duplicated.
    pq.write_table(table.slice(0, 5), lake.partition_file("raw_docusign_audit_events", date.fromisoformat(DAY), "copy.parquet"))
    # Run the check alone, as the UI's "Execute check" does, without re-materializing the asset.
    check_job = dg.define_asset_job("check_only", selection=dg.AssetSelection.checks(raw_audit_events_valid))
    defs = dg.Definitions(
        assets=[raw_docusign_audit_events], asset_checks=[raw_audit_events_valid], jobs=[check_job],
        resources=resources(tmp_path),
    )
    result = defs.resolve_job_def("check_only").execute_in_process(
        tags={"dagster/partition": DAY}, raise_on_error=False
    )
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    assert any(f["expectation"] == "expect_column_values_to_be_unique" for f in failed)


def test_range_check_judges_each_day_on_its_own_events(tmp_path):
    """A check over a backfill's range reads each day alone: the tampered day fails, its neighbours
    pass, and each day reports its own rows (the file copied into the middle day counts there only)."""
    days = ["2026-11-09", "2026-11-10", "2026-11-11"]
    window = range_tags(date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
    assert dg.materialize([raw_docusign_audit_events], resources=resources(tmp_path), tags=window).success
    lake = Lake.at(tmp_path)
    stored = {day: len(event_ids(lake, day)) for day in days}
    middle = date.fromisoformat(days[1])
    table = pq.read_table(lake.partition_file("raw_docusign_audit_events", middle))
    pq.write_table(table.slice(0, 5), lake.partition_file("raw_docusign_audit_events", middle, "copy.parquet"))
    check_job = dg.define_asset_job("check_range", selection=dg.AssetSelection.checks(raw_audit_events_valid))
    defs = dg.Definitions(
        assets=[raw_docusign_audit_events], asset_checks=[raw_audit_events_valid], jobs=[check_job],
        resources=resources(tmp_path),
    )
    result = defs.resolve_job_def("check_range").execute_in_process(tags=window, raise_on_error=False)
    by_day = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert set(by_day) == set(days)
    assert [by_day[d].passed for d in days] == [True, False, True]
    assert {d: by_day[d].metadata["rows"].value for d in days} == {**stored, days[1]: stored[days[1]] + 5}
