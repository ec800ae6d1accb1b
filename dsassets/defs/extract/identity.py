"""Users the identity provider has deleted or disabled, with when: input to the terminated-user detection."""


import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa

from dsassets.defs.extract.raw import daily_raw_asset
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.lake import schemas
from dsassets.lib.clients.directory_audits import FOLDER as AUDIT_FOLDER, AuditCache, read_audits
from dsassets.lib.clients.docusign_data import parse_docusign_timestamp, timestamp_or_none
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.lake.raw_events import days_in
from dsassets.lib.config.settings import ConfigError, graph_audit_overlap
from dsassets.lib.lake.coerce import Drift
from dsassets.lib.lake.snapshots import snapshot_table, table_drift, write_snapshots
from dsassets.defs.extract.drift import drift_metadata

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
    warnings: list[str] = []
    if kind == "none":
        context.log.warning(
            "no identity provider configured (ENTRA_* or DSASSETS_IDP_EXPORT_FILE): "
            "terminated-user detection has no input"
        )
    read: list[pa.Table] = []  # each table read, once however many days share it
    audits_asked_from: list[datetime] = []
    for day, taken_at, fresh in docusign.snapshot_days(days_in(start, end)):
        if fresh:
            if kind == "file":
                records = read_export(identity_provider.export_path())
            elif kind == "none":
                records = []
            else:
                with docusign.client(as_of=taken_at):  # pins the simulator's clock for this day
                    with identity_provider.graph_client(docusign) as graph:
                        records = read_graph(graph, since=taken_at - AUDIT_LOOKBACK, until=taken_at,
                                             warnings=warnings, audits_asked_from=audits_asked_from,
                                             audit_cache=_audit_cache(lake, docusign, graph, kind, day))
            read.append(snapshot_table(DATASET, schemas.IDP_USERS, records, source=kind, taken_at=taken_at))
        tables[day] = read[-1]
        rows_per_day[day.isoformat()] = read[-1].num_rows
    unchanged = write_snapshots(lake.lake, DATASET, tables)
    warnings = list(dict.fromkeys(warnings))  # once per run, not once per day
    for warning in warnings:
        context.log.warning(warning)
    drift = Drift()
    for table in read:
        drift.add(table_drift(table))
    return dg.MaterializeResult(
        metadata={
            "warnings": dg.MetadataValue.json(warnings),
            **drift_metadata(context, DATASET, drift),
            "source": kind,
            "simulated": kind == "simulator",
            "row_count": dg.MetadataValue.int(sum(rows_per_day.values())),
            # Days whose stored snapshot already held these rows: their file (and when it was
            # taken) was kept, so what reads it is not recomputed by the next refresh.
            "unchanged_days": dg.MetadataValue.json([d.isoformat() for d in unchanged]),
            "rows_per_day": dg.MetadataValue.json(rows_per_day),
            # From when each Graph read asked for directory audits: the lookback's start on a day's
            # first read, shortly before the previous read on a later one.
            "directory_audits_asked_from": dg.MetadataValue.json([t.isoformat() for t in audits_asked_from]),
            "path": dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET))),
        }
    )


def _audit_cache(
    lake: LakeResource, docusign: DocuSignResource, graph: GraphClient, kind: str, day: date
) -> AuditCache:
    """Where this tenant's directory audits are kept between reads of ``day``'s partition: named by
    the Graph URL, tenant and application, and for the simulator by everything that shapes its tenant."""
    s = graph.settings
    source = [s.graph_url, s.tenant_id, s.client_id]
    if kind == "simulator":
        source += [docusign.simulator_seed, docusign.simulator_events_per_day, docusign.simulator_late_share,
                   docusign.simulator_late_policies]
    return AuditCache(lake.lake.local_dir / AUDIT_FOLDER, json.dumps(source), graph_audit_overlap(), day.isoformat())


# What directory audits need, for the warning when Graph refuses them (403) or lacks them (404).
AUDIT_PERMISSION = "AuditLog.Read.All"


def read_graph(
    graph: GraphClient, *, since: datetime, until: datetime, warnings: list[str] | None = None,
    audit_cache: AuditCache | None = None, audits_asked_from: list[datetime] | None = None,
) -> list[tuple[dict, dict]]:
    """Deleted and disabled Entra users, dated from deletedDateTime or the directory audit log.

    The audit log only dates and explains: when Graph answers 403 (``AuditLog.Read.All`` not
    granted) or 404, a warning is added to ``warnings`` and the users are still listed, deleted
    ones dated by ``deletedDateTime`` and disabled ones left undated (the detection then dates
    them from the first snapshot that listed them, and says so in its evidence). With an
    ``audit_cache``, a later read of the day asks Graph only for the latest audits (see
    :mod:`dsassets.lib.clients.directory_audits`); when Graph was asked from is appended to
    ``audits_asked_from``.
    """
    lifecycle: dict[str, list[dict]] = {}
    try:
        audits, asked_from = read_audits(graph.directory_audits, since=since, until=until, cache=audit_cache)
        if audits_asked_from is not None:
            audits_asked_from.append(asked_from)
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        audits = []
        if warnings is not None:
            warnings.append(
                f"Graph directory audits answered HTTP {exc.status}: grant the application permission "
                f"{AUDIT_PERMISSION} (with admin consent) to date disable/enable/delete/restore events. "
                "Until then deleted users are dated by their deletion time and disabled users by the "
                "first snapshot that saw them disabled; re-enabled and restored users cannot be told apart."
            )
    for audit in audits:
        at = audit["activityDateTime"]
        when = timestamp_or_none(at)  # None for a missing or malformed time
        if when and when > until:
            continue
        for target in audit["targetResources"]:
            if target["id"]:
                lifecycle.setdefault(target["id"], []).append(
                    {"at": at, "activity": audit["activityDisplayName"]}
                )  # read_audits gives the audits oldest first, so each user's lifecycle is in order

    def last(user_id: str, activity: str) -> str | None:
        matches = [e["at"] for e in lifecycle.get(user_id, []) if e["activity"] == activity]
        return matches[-1] if matches else None

    records = []
    for user in graph.deleted_users():
        if user.get("deletedDateTime"):
            dated = (user.get("deletedDateTime"), "deleted_date_time")
        else:
            dated = (last(user["id"], "Delete user"), "directory_audit")
        records.append((_row(user, "deleted", dated, lifecycle), user))
    for user in graph.disabled_users():
        records.append((_row(user, "disabled", (last(user["id"], "Disable account"), "directory_audit"), lifecycle),
                        user))
    return records


def _addresses(value) -> list[str]:
    # otherMails / proxyAddresses are string lists; anything else is drift we do not guess at.
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _row(user: dict, status: str, dated: tuple[str | None, str], lifecycle: dict[str, list[dict]]) -> dict:
    changed, source = dated
    at = timestamp_or_none(changed) if changed else None
    mail, upn = user.get("mail"), user.get("userPrincipalName")
    row = {
        "idp_user_id": user.get("id"),
        "user_principal_name": upn,
        "email": ((mail if isinstance(mail, str) else None) or (upn if isinstance(upn, str) else "")).lower() or None,
        "status": status,
        "status_changed_at": at,
        "status_changed_at_source": source if at else None,
        "other_emails": _addresses(user.get("otherMails")) + _addresses(user.get("proxyAddresses")),
        "lifecycle": json.dumps(lifecycle.get(user.get("id"), [])),
    }
    if changed and at is None:  # a date we cannot read: null, named, never an abort
        row["_invalid_fields"] = {"status_changed_at": changed}
    return row


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
                "status_changed_at_source": "export" if changed else None,
                "lifecycle": json.dumps([]),
            }
            records.append((row, dict(raw)))
    return records
