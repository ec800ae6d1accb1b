"""deploy/: the Kubernetes instance config loads under Dagster's own schemas, and the code location
declares the pools it configures."""

from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._serdes.config_class import class_from_code_pointer

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ENV = {"DAGSTER_PG_HOST": "postgres.dagster.svc", "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_USER": "dagster",
       "DAGSTER_PG_PASSWORD": "not-a-real-password", "DAGSTER_K8S_JOB_NAMESPACE": "dsassets"}


@pytest.fixture
def instance_ref(monkeypatch) -> InstanceRef:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return InstanceRef.from_dir(str(DEPLOY))


def _validated(data) -> dict:
    """The class's config after Dagster's own processing (env vars resolved, defaults filled)."""
    klass = class_from_code_pointer(data.module_name, data.class_name)
    result = process_config(klass.config_type(), yaml.safe_load(data.config_yaml))
    assert result.success, [e.message for e in result.errors]
    return result.value


def test_instance_config_passes_dagsters_schema_and_names_postgres_k8s_and_the_queue(instance_ref):
    config, _ = dagster_instance_config(str(DEPLOY))  # raises on any unknown or mistyped key
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] > 1
    assert instance_ref.run_storage_data.class_name == "PostgresRunStorage"
    assert instance_ref.event_storage_data.class_name == "PostgresEventLogStorage"
    assert (instance_ref.run_launcher_data.module_name, instance_ref.run_launcher_data.class_name) == (
        "dagster_k8s", "K8sRunLauncher")
    assert instance_ref.run_coordinator_data.class_name == "QueuedRunCoordinator"


def test_each_configured_class_accepts_its_config(instance_ref):
    launcher = _validated(instance_ref.run_launcher_data)
    assert launcher["job_namespace"] == "dsassets"
    assert {m["mountPath"] for m in launcher["volume_mounts"]} == {"/lake", "/var/run/secrets/docusign"}
    storage = _validated(instance_ref.storage_data)
    assert storage["postgres_db"]["password"] == ENV["DAGSTER_PG_PASSWORD"]
    _validated(instance_ref.run_coordinator_data)
    _validated(instance_ref.compute_logs_data)


def test_the_lake_mount_is_where_the_image_points_dsassets_data_dir():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    mounts = {m["name"]: m["mountPath"] for m in config["run_launcher"]["config"]["volume_mounts"]}
    assert f"DSASSETS_DATA_DIR={mounts['lake']}" in dockerfile


def test_single_writers_are_in_pools():
    from dsassets.definitions import defs

    graph = defs().resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).pools for key in graph.get_all_asset_keys()}
    assert pools["warehouse"] == {"warehouse_file"}
    assert pools["governance_actions"] == {"governance_ledger"}
    assert pools["raw_docusign_audit_events"] == {"monitor_stream"}
    assert pools["notifications"] == {"notify_ledger"}
    assert {name for name, p in pools.items() if p} == {"warehouse", "governance_actions",
                                                         "raw_docusign_audit_events", "notifications"}
