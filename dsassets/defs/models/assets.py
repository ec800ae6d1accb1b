"""One Dagster asset per SQL model in ``sql/``, built from the records of ``dsassets.lib.transform.models``.

Asset key = file stem = DuckDB relation name. Staging models are views: their
asset records the window's row counts per day (what reconciliation compares).
Intermediate models and marts write one Parquet file per day under
``<data_dir>/warehouse/<model>/dt=YYYY-MM-DD/``. A range run (single-run
backfill policy) computes the whole window in one connection.
"""


import pyarrow as pa

from dsassets.defs import sql_asset
from dsassets.lib.intel.geo import IpLocator, enrich_ips
from dsassets.lib.transform import runner, sql
from dsassets.lib.transform.models import BY_NAME, MODELS, Model

def model_run(model: Model) -> runner.SqlAsset:
    """The run of one model: its select over the bound models, written per day (or counted, for a view)."""
    return runner.SqlAsset(
        name=model.name,
        sql_file=model.path,
        query=lambda run: sql.model_query(model),
        requires=tuple(d for d in model.deps if d in BY_NAME),
        reads=model.deps,
        transform=_locate_ips if model.name == "int_ip_addresses" else None,
        writes=not model.is_view,
        report=lambda run, counts: {"materialization": "view" if model.is_view else "parquet"},
        location=str(model.path) if model.is_view else None,
    )


def _locate_ips(run: runner.Run, relation: str) -> str:
    """Parse the window's distinct addresses, and locate those DocuSign left without a country."""
    con = run.con
    listed = con.sql(
        f"select dt, ip_address_raw, event_count, needs_location from {relation}"
    ).to_arrow_table()
    locator = IpLocator() if run.config.geo.ip_lookup else None
    try:
        enriched = enrich_ips(
            zip(listed["ip_address_raw"].to_pylist(), listed["needs_location"].to_pylist()), locator
        )
    finally:
        if locator is not None:
            locator.close()
    columns = {name: [row[name] for row in enriched] for name in enriched[0]} if enriched else {}
    table = pa.table(
        {
            "dt": listed["dt"],
            "ip_address_raw": listed["ip_address_raw"],
            "event_count": listed["event_count"],
            "needs_location": listed["needs_location"],
            "ip_address": pa.array(columns.get("ip_address", []), pa.string()),
            "ip_version": pa.array(columns.get("ip_version", []), pa.int8()),
            "is_valid_ip": pa.array(columns.get("is_valid_ip", []), pa.bool_()),
            "is_global_ip": pa.array(columns.get("is_global_ip", []), pa.bool_()),
            "ip_hex": pa.array(columns.get("ip_hex", []), pa.string()),
            "lookup_country_code": pa.array(columns.get("lookup_country_code", []), pa.string()),
            "lookup_latitude": pa.array(columns.get("lookup_latitude", []), pa.float64()),
            "lookup_longitude": pa.array(columns.get("lookup_longitude", []), pa.float64()),
            "lookup_region": pa.array(columns.get("lookup_region", []), pa.string()),
            "lookup_city": pa.array(columns.get("lookup_city", []), pa.string()),
            "lookup_database": pa.array(columns.get("lookup_database", []), pa.string()),
        }
    )
    located = sum(1 for v in columns.get("lookup_country_code", []) if v)
    run.log.info(
        f"int_ip_addresses: {table.num_rows} distinct addresses, "
        f"{sum(listed['needs_location'].to_pylist())} without a DocuSign country, {located} located"
    )
    con.register("int_ip_addresses__arrow", table)
    return "int_ip_addresses__arrow"


model_assets = [sql_asset.model_asset(m, model_run(m)) for m in MODELS]
