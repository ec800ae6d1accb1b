"""What the Dagster catalog shows for every asset: owners, tags, freshness, column schemas."""

from pathlib import Path

import dagster as dg

from dsassets.lib.catalog.tables import column_schema, header_descriptions
from dsassets.definitions import defs
from dsassets.lib.lake.schemas import RAW_SCHEMAS

SQL = Path(__file__).resolve().parent.parent / "sql"


def test_every_asset_has_owners_and_tags_and_every_daily_asset_a_freshness_policy():
    graph = defs().resolve_asset_graph()
    keys = list(graph.get_all_asset_keys())
    assert len(keys) > 30
    for key in keys:
        node = graph.get(key)
        assert node.owners, key
        assert node.tags.get("domain") == "security" and node.tags.get("layer") == node.group_name, key
        if node.partitions_def is not None:
            assert isinstance(node.freshness_policy, dg.FreshnessPolicy), key
    assert graph.get(dg.AssetKey("alerts")).freshness_policy is not None


def test_raw_datasets_declare_their_columns():
    graph = defs().resolve_asset_graph()
    for name, schema in RAW_SCHEMAS.items():
        value = graph.get(dg.AssetKey(name)).metadata["dagster/column_schema"]
        columns = getattr(value, "schema", value).columns
        assert [c.name for c in columns] == schema.names


def test_column_descriptions_come_from_the_sql_header():
    described = header_descriptions(str(SQL / "marts" / "users.sql"))
    assert described["state"].startswith("'deleted'") and "partially_active" in described["state"]
    assert "grain" in described  # header keys that are not columns are simply never used
    schema = column_schema([("state", "VARCHAR"), ("user_id", "VARCHAR")], SQL / "marts" / "users.sql")
    assert schema.columns[0].description == described["state"] and schema.columns[1].description is None
    assert schema.columns[0].type == "varchar"
