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
from dsassets.lib.transform.history import bind as bind_history
from dsassets.lib.transform.models import BY_NAME, MODELS, Model

# Intermediate models that a mart reads for every snapshot day before its window's end, in
# place of the snapshots themselves, with the raw snapshots behind the staging views they read.
HISTORY_MODELS = {
    "activities": ("int_user_directory_changes", ("raw_docusign_organization_users", "raw_docusign_memberships",
                                                  "raw_docusign_account_users")),
    "user_accounts": ("int_membership_listings", ("raw_docusign_memberships", "raw_docusign_account_users")),
}


def model_run(model: Model) -> runner.SqlAsset:
    """The run of one model: its select over the bound models, written per day (or counted, for a view)."""
    return runner.SqlAsset(
        name=model.name,
        sql_file=model.path,
        query=lambda run: sql.model_query(model),
        requires=tuple(d for d in model.deps if d in BY_NAME),
        reads=model.deps,
        transform=_locate_ips if model.name == "int_ip_addresses" else None,
        setup=_setup(model),
        writes=not model.is_view,
        report=lambda run, counts: {"materialization": "view" if model.is_view else "parquet"},
        location=str(model.path) if model.is_view else None,
        one_pass=model.one_pass,
        grows=model.grows,
    )


def _setup(model: Model):
    """Refuse a history model with holes (:func:`_require_history`); the parts, then the history parts
    (which may read them)."""
    require = _require_history(model.name, *HISTORY_MODELS[model.name]) if model.name in HISTORY_MODELS else None
    if require is None and not model.parts and not model.history:
        return None

    def setup(run: runner.Run) -> None:
        if require is not None:
            require(run)
        sql.install_parts(run.con, model)
        if model.history:
            bind_history(run.con, run.lake, run.config, model, run.start, run.end)

    return setup


def _require_history(mart: str, history: str, snapshots: tuple[str, ...]):
    """Refuse to run ``mart`` over a ``history`` model with holes up to the window's end.

    ``history`` stands in for the snapshots of every earlier day (``activities`` resolves
    e-mails from the days an address changed; ``user_accounts`` reads which source listed
    each membership). A snapshot day without it would silently lose rows (an e-mail, a
    membership's listing), so say which days to materialize instead: a lake made before the
    model existed lacks every earlier day. For ``activities``, later days only serve the
    fallback for users not yet listed, as far as the lake knows them when the day runs: a
    later day's change log makes this day's activities stale in Dagster.
    """

    def setup(run: runner.Run) -> None:
        snapshot_days = {day for dataset in snapshots for day in run.lake.partitions(dataset) if day < run.end}
        missing = sorted(snapshot_days - set(run.lake.days(sql.model_path(history))))
        if missing:
            raise RuntimeError(
                f"{mart} reads {history}, which is missing for {len(missing)} day(s) with directory "
                f"snapshots ({missing[0]} .. {missing[-1]}): materialize {history} for those days "
                f"first (a day of it reads that day's snapshots, and the day before's at most)"
            )

    return setup


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
