"""Users the identity provider has deleted or disabled, with when: input to the terminated-user detection."""


import csv
import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import dagster as dg
import pyarrow as pa

from dsassets.defs.extract.raw import daily_raw_asset
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.lake import schemas
from dsassets.lib.clients.docusign_data import parse_docusign_timestamp
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.lake.raw_events import days_in
from dsassets.lib.config.settings import ConfigError
from dsassets.lib.lake.snapshots import snapshot_table

DATASET = "raw_idp_users"
# How far back directory audits are read to date disable/enable/delete/restore events.
AUDIT_LOOKBACK = timedelta(days=90)
EXPORT_COLUMNS = ("email", "status", "status_changed_at")
STATUSES = ("deleted", "disabled")


@daily_raw_asset(DATASET)
def raw_idp_users(
    context: dg.AssetExecutionContext,
    docusign: DocuSignResource,
    identity_provider: IdentityProviderResource,
    lake: LakeResource,
) -> dg.MaterializeResult:
    """Identity-provider users who are deleted or disabled, when that happened, and their lifecycle.

    Grain: one row per IdP user per snapshot. Source: Microsoft Entra ID through
    Microsoft Graph (deleted items, disabled users, directory audits), or a CSV
    export named by `DSASSETS_IDP_EXPORT_FILE`, or the simulator's tenant.
    """
    start, end = context.partition_time_window
    kind = identity_provider.kind(docusign.source)
    rows_per_day: dict[str, int] = {}
    tables: dict[date, pa.Table] = {}
    for day in days_in(start, end):
        taken_at = docusign.snapshot_time(datetime.combine(day + timedelta(days=1), time.min, timezone.utc))
        if kind == "file":
            records = read_export(identity_provider.export_path())
        elif kind == "none":
            context.log.warning(
                "no identity provider configured (ENTRA_* or DSASSETS_IDP_EXPORT_FILE): "
                "terminated-user detection has no input"
            )
            records = []
        else:
            with docusign.client(as_of=taken_at):  # pins the simulator's clock for this day
                with identity_provider.graph_client(docusign) as graph:
                    records = read_graph(graph, since=taken_at - AUDIT_LOOKBACK, until=taken_at)
        tables[day] = snapshot_table(
            DATASET, schemas.IDP_USERS, records, source=kind, taken_at=taken_at
        )
        rows_per_day[day.isoformat()] = tables[day].num_rows
    for day, table in tables.items():
        lake.lake.write_partition(table, DATASET, day)
    return dg.MaterializeResult(
        metadata={
            "source": kind,
            "simulated": kind == "simulator",
            "row_count": dg.MetadataValue.int(sum(rows_per_day.values())),
            "rows_per_day": dg.MetadataValue.json(rows_per_day),
            "path": dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET))),
        }
    )


def read_graph(graph: GraphClient, *, since: datetime, until: datetime) -> list[tuple[dict, dict]]:
    """Deleted and disabled Entra users, dated from deletedDateTime or the directory audit log."""
    lifecycle: dict[str, list[dict]] = {}
    for audit in graph.directory_audits(since):
        at = audit.get("activityDateTime")
        if at and parse_docusign_timestamp(at) > until:
            continue
        for target in audit.get("targetResources") or []:
            if target.get("id"):
                lifecycle.setdefault(target["id"], []).append(
                    {"at": at, "activity": audit.get("activityDisplayName")}
                )
    for events in lifecycle.values():
        events.sort(key=lambda e: e["at"] or "")

    def last(user_id: str, activity: str) -> str | None:
        matches = [e["at"] for e in lifecycle.get(user_id, []) if e["activity"] == activity]
        return matches[-1] if matches else None

    records = []
    for user in graph.deleted_users():
        changed = user.get("deletedDateTime") or last(user["id"], "Delete user")
        records.append((_row(user, "deleted", changed, lifecycle), user))
    for user in graph.disabled_users():
        records.append((_row(user, "disabled", last(user["id"], "Disable account"), lifecycle), user))
    return records


def _row(user: dict, status: str, changed: str | None, lifecycle: dict[str, list[dict]]) -> dict:
    return {
        "idp_user_id": user.get("id"),
        "user_principal_name": user.get("userPrincipalName"),
        "email": (user.get("mail") or user.get("userPrincipalName") or "").lower() or None,
        "status": status,
        "status_changed_at": parse_docusign_timestamp(changed) if changed else None,
        "lifecycle": json.dumps(lifecycle.get(user.get("id"), [])),
    }


def read_export(path: Path) -> list[tuple[dict, dict]]:
    """Read a terminated-users CSV export: columns email, status (deleted|disabled), status_changed_at (ISO)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"DSASSETS_IDP_EXPORT_FILE={path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in EXPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(EXPORT_COLUMNS)}")
        records = []
        for line, raw in enumerate(reader, start=2):
            status = (raw["status"] or "").strip().lower()
            if status not in STATUSES:
                raise ConfigError(f"{path}:{line}: status {raw['status']!r} is not one of {', '.join(STATUSES)}")
            email = (raw["email"] or "").strip().lower()
            if "@" not in email:
                raise ConfigError(f"{path}:{line}: email {raw['email']!r} is not an email address")
            changed_raw = (raw["status_changed_at"] or "").strip()
            try:
                changed = parse_docusign_timestamp(changed_raw) if changed_raw else None
            except ValueError:
                raise ConfigError(f"{path}:{line}: status_changed_at {changed_raw!r} is not an ISO-8601 time") from None
            row = {
                "idp_user_id": raw.get("id") or None,
                "user_principal_name": raw.get("user_principal_name") or email,
                "email": email,
                "status": status,
                "status_changed_at": changed,
                "lifecycle": json.dumps([]),
            }
            records.append((row, dict(raw)))
    return records
