"""What the two ledger-writing assets (``governance_actions``, ``notifications``) share.

Both act once per alert on the window's alerts and record every outcome in a Parquet ledger
under the data directory; both must be the only writer of that ledger at a time (``pool``), and
both show the run's outcomes as a table and where the ledger is.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, Iterable, Mapping, Sequence

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.lib.catalog.tables import metadata_table
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY


def ledger_asset(*, name: str, group: str, description: str, deps: Sequence[str], pool: str):
    """The ``@dg.asset`` decorator of a daily asset that writes a ledger after ``deps``.

    ``pool`` keeps one writer of the ledger at a time across runs: the file lock only guards one
    machine's lake, and parallel backfill runs would otherwise queue on it holding their run slot.
    """
    return dg.asset(
        owners=OWNERS,
        name=name,
        group_name=group,
        kinds={"python", "parquet"},
        description=description,
        deps=[dg.AssetKey(d) for d in deps],
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
        pool=pool,
    )


def outcome_detail(outcome) -> str:
    """Why an outcome is what it is, with the HTTP status when a call answered."""
    return outcome.reason + (f" (HTTP {outcome.http_status})" if outcome.http_status else "")


def outcomes_table(
    outcomes: Iterable,
    row: Callable[[object], Mapping[str, object]],
    columns: Mapping[str, str],
    limit: int = 50,
) -> dg.TableMetadataValue:
    """``outcomes`` (already in display order) as a table: ``row`` gives each one's cells."""
    rows = [{**row(o), "mode": o.mode, "status": o.status, "detail": outcome_detail(o)} for o in outcomes]
    return metadata_table(rows, {**columns, "mode": "mode", "status": "status", "detail": "detail"}, limit=limit)


def warn_failures(context: dg.AssetExecutionContext, report, describe: Callable[[object], str]) -> None:
    """One warning per failed outcome (``describe`` names it), so a failure shows in the run's log."""
    for o in report.outcomes:
        if o.status == "failed":
            context.log.warning(f"{describe(o)} failed: {o.reason}")


def ledger_metadata(
    report, alerts: int, done_label: str, ledger, rows: int, start: date, end: date
) -> dict[str, dg.RawMetadataValue]:
    """The run's outcomes counted by status (``done``, done by an earlier run, as ``done_label``),
    where the ledger is, how many rows it holds, and the window the run acted on."""
    counts = report.counts()
    return {
        "dagster/row_count": sum(1 for o in report.outcomes if o.recorded),
        "alerts": dg.MetadataValue.int(alerts),
        **{status: dg.MetadataValue.int(counts[status]) for status in report.STATUSES},
        done_label: dg.MetadataValue.int(counts["done"]),
        "ledger": dg.MetadataValue.path(ledger.url),
        "ledger_rows": dg.MetadataValue.int(rows),
        "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
    }
