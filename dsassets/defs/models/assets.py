"""One Dagster asset per SQL model in ``sql/``, built from the records of ``dsassets.lib.transform.models``.

Asset key = file stem = DuckDB relation name. Staging models are views: their
asset records the window's row counts per day (what reconciliation compares).
Intermediate models and marts write one Parquet file per day under
``<data_dir>/warehouse/<model>/dt=YYYY-MM-DD/``. A range run (single-run
backfill policy) computes the whole window in one connection.
"""


import pyarrow.compute as pc

from dsassets.defs import sql_asset
from dsassets.lib.intel.address_table import address_rows
from dsassets.lib.intel.geo import IpLocator
from dsassets.lib.transform import runner, sql
from dsassets.lib.transform.models import BY_NAME, MODELS, Model

DIRECTORY_CHANGES = "int_user_directory_changes"
# The raw snapshots behind the staging views int_user_directory_changes reads.
DIRECTORY_SNAPSHOTS = ("raw_docusign_organization_users", "raw_docusign_memberships", "raw_docusign_account_users")


def model_run(model: Model) -> runner.SqlAsset:
    """The run of one model: its select over the bound models, written per day (or counted, for a view)."""
    return runner.SqlAsset(
        name=model.name,
        sql_file=model.path,
        query=lambda run: sql.model_query(model),
        requires=tuple(d for d in model.deps if d in BY_NAME),
        reads=model.deps,
        transform=_locate_ips if model.name == "int_ip_addresses" else None,
        setup=_require_directory_changes if model.name == "activities" else None,
        writes=not model.is_view,
        report=lambda run, counts: {"materialization": "view" if model.is_view else "parquet"},
        location=str(model.path) if model.is_view else None,
        one_pass=model.one_pass,
    )


def _require_directory_changes(run: runner.Run) -> None:
    """Refuse to resolve e-mails from a change log with holes up to the window's end.

    A user whose address has not changed since a day without ``int_user_directory_changes``
    has no row at all, so the events would lose their e-mail: say which days to materialize
    instead (a lake made before this model existed lacks every earlier day). Later days only
    serve the fallback for users not yet listed, as far as the lake knows them when the day
    runs, as before: a later day's change log makes this day's activities stale in Dagster.
    """
    snapshot_days = {day for dataset in DIRECTORY_SNAPSHOTS for day in run.lake.partitions(dataset)
                     if day < run.end}
    missing = sorted(snapshot_days - set(run.lake.days(sql.model_path(DIRECTORY_CHANGES))))
    if missing:
        raise RuntimeError(
            f"activities resolves user e-mails from {DIRECTORY_CHANGES}, which is missing for "
            f"{len(missing)} day(s) with directory snapshots ({missing[0]} .. {missing[-1]}): "
            f"materialize {DIRECTORY_CHANGES} for those days first (it reads only each day's and "
            f"the day before's snapshots)"
        )


def _locate_ips(run: runner.Run, relation: str) -> str:
    """Parse the window's distinct addresses, and locate those DocuSign left without a country."""
    locator = IpLocator() if run.config.geo.ip_lookup else None
    try:
        table = address_rows(run.con, relation, locator)
    finally:
        if locator is not None:
            locator.close()
    needing = pc.sum(table["needs_location"]).as_py() or 0
    located = pc.count(table["lookup_country_code"]).as_py()
    run.log.info(
        f"int_ip_addresses: {table.num_rows} distinct addresses, "
        f"{needing} without a DocuSign country, {located} located"
    )
    run.con.register("int_ip_addresses__arrow", table)
    return "int_ip_addresses__arrow"


model_assets = [sql_asset.model_asset(m, model_run(m)) for m in MODELS]
