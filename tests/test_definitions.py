"""The code location as Dagster loads it: every asset is in the catalog, and each is wired from its record."""

import dagster as dg
import pytest

from dsassets.defs.jobs import DAILY_GROUPS, daily_job
from dsassets.definitions import defs
from dsassets.defs.owners import OWNERS
from dsassets.lib.detections.registry import DETECTIONS
from dsassets.lib.transform.models import BY_NAME


@pytest.fixture(scope="module")
def graph():
    return defs().resolve_asset_graph()


def test_every_asset_has_a_group_kinds_description_and_owners(graph):
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
    assert len(nodes) > 40
    for node in nodes:
        name = node.key.to_user_string()
        assert node.group_name in (*DAILY_GROUPS, "warehouse"), name
        assert node.kinds, name
        assert node.description and len(node.description) > 20, name
        assert list(node.owners) == OWNERS, name


def test_daily_assets_run_as_one_range_in_the_daily_job(graph):
    in_job = daily_job.selection.resolve(graph)
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name == "warehouse":
            assert node.partitions_def is None and key not in in_job
            continue
        assert key in in_job, key
        assert node.partitions_def is not None, key
        assert node.backfill_policy is not None and node.backfill_policy.max_partitions_per_run is None, key


def test_models_are_wired_from_their_records(graph):
    for name, model in BY_NAME.items():
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == model.layer, name
        assert node.kinds >= {"duckdb", "sql"}, name
        assert node.description == model.description, name
        assert {k.path[-1] for k in node.parent_keys} == set(model.deps), name


def test_detections_are_wired_from_the_registry(graph):
    alerts = graph.get(dg.AssetKey("alerts"))
    for detection in DETECTIONS:
        node = graph.get(dg.AssetKey(detection.asset_name))
        assert node.group_name == "detections"
        assert node.description.startswith(detection.description)
        assert {k.path[-1] for k in node.parent_keys} == set(detection.inputs)
        assert node.key in alerts.parent_keys
        assert node.metadata["sql"].path.endswith(f"/{detection.sql_file}.sql")
