"""Organization users and memberships in bulk: one Admin API export instead of a call per user.

Above ``DSASSETS_BULK_EXPORT_MIN_USERS`` listed memberships the snapshot asks DocuSign for a
user-list export; if that export fails, times out or is unreadable, the snapshot falls back to
the per-user path and says so in the materialization metadata (``how_taken``).
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pyarrow as pa

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.docusign_data import DocuSignDataError
from dsassets.lib.clients.docusign_export import export_memberships, membership_count
from dsassets.lib.clients.http import ApiError
from dsassets.lib.config.settings import bulk_export_min_users
from dsassets.lib.lake.snapshots import MalformedRecordError
from dsassets.lib.lake.user_export import export_tables, read_export_csv


def take_users_in_bulk(
    client: DocuSignClient, org_id: str, accounts: list[dict], *, source: str, taken_at: datetime
) -> tuple[dict[str, pa.Table] | None, dict]:
    """``(tables, how)``: the users and memberships tables from a bulk export, or ``None`` when the
    organization is below the threshold or the export did not work (the caller then asks per user)."""
    threshold = bulk_export_min_users()
    account_ids = [a["id"] for a in accounts]
    listed = membership_count(client, account_ids) if threshold > 0 else None
    how: dict = {"users_via": "per_user", "memberships_listed": listed, "bulk_export_min_users": threshold}
    if listed is not None and listed < threshold:
        return None, how
    try:
        export = export_memberships(client)
        csv = read_export_csv(export.csv_parts, export.export_id)
        if export.number_rows is not None and export.number_rows != csv.num_rows:
            raise DocuSignDataError(
                f"user list export {export.export_id}: DocuSign reports {export.number_rows} rows, "
                f"the CSV holds {csv.num_rows}"
            )
        tables = export_tables(
            csv, organization_id=org_id, account_ids=account_ids, export_id=export.export_id,
            source=source, taken_at=taken_at,
        )
    except (DocuSignDataError, ApiError, MalformedRecordError) as exc:
        dg.get_dagster_logger().warning(f"bulk user export unusable, taking users one by one instead: {exc}")
        return None, {**how, "bulk_export_error": str(exc)}
    return tables, {**how, "users_via": "bulk_export", "export_id": export.export_id, "export_rows": csv.num_rows}
