"""Members of the identity-provider groups that policy scopes name: daily snapshots for ``scope``."""

from datetime import date, timedelta

import dagster as dg
import pyarrow as pa

from dsassets.defs.extract.raw import daily_raw_asset
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.config.project import load_config
from dsassets.lib.lake import schemas
from dsassets.lib.lake.raw_events import days_in
from dsassets.lib.lake.snapshots import snapshot_table, write_snapshots
from dsassets.lib.scope.model import group_ids

DATASET = "raw_idp_group_members"


@daily_raw_asset(DATASET)
def raw_idp_group_members(
    context: dg.AssetExecutionContext,
    docusign: DocuSignResource,
    identity_provider: IdentityProviderResource,
    lake: LakeResource,
) -> dg.MaterializeResult:
    """Users of every Entra group a policy scope in ``dsassets.yaml`` names, nested groups included.

    Grain: one row per (group, member) per snapshot; a group without members, or one Microsoft
    Graph does not know (``found`` false: the scope naming it fails with that error), is one row
    without a member. Source: Graph ``GET /groups/{id}/transitiveMembers``, or the simulator's
    tenant. Without Graph (a CSV export or no identity provider) no group can be read.
    """
    groups = group_ids(load_config().scope)
    kind = identity_provider.kind(docusign.source)
    start, end = context.partition_time_window
    tables: dict[date, pa.Table] = {}
    unknown: set[str] = set()
    if groups and kind not in ("entra", "simulator"):
        context.log.warning(f"scope names groups {', '.join(groups)} but no Graph identity provider is configured")
    for day, taken_at, fresh in docusign.snapshot_days(days_in(start, end)):
        if not fresh:
            tables[day] = tables[day - timedelta(days=1)]  # the range's one read serves every day
            continue
        records: list[tuple[dict, dict]] = []
        if groups and kind in ("entra", "simulator"):
            with docusign.client(as_of=taken_at):  # pins the simulator's clock for this day
                with identity_provider.graph_client(docusign) as graph:
                    records = read_groups(graph, groups)
        unknown |= {r["group_id"] for r, _ in records if not r["found"]}
        tables[day] = snapshot_table(DATASET, schemas.IDP_GROUP_MEMBERS, records, source=kind, taken_at=taken_at)
    unchanged = write_snapshots(lake.lake, DATASET, tables)
    for group in sorted(unknown):
        context.log.warning(f"group {group} (named in dsassets.yaml scope) does not exist in the identity provider")
    return dg.MaterializeResult(
        metadata={
            "groups": dg.MetadataValue.json(groups),
            "unknown_groups": dg.MetadataValue.json(sorted(unknown)),
            "rows_per_day": dg.MetadataValue.json({d.isoformat(): t.num_rows for d, t in tables.items()}),
            # Days whose stored snapshot already held these rows (kept, as raw_idp_users does).
            "unchanged_days": dg.MetadataValue.json([d.isoformat() for d in unchanged]),
            "path": dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET))),
        }
    )


def read_groups(graph: GraphClient, groups: list[str]) -> list[tuple[dict, dict]]:
    """Member rows of each group; an unknown group (HTTP 404) becomes one ``found: false`` row."""
    records: list[tuple[dict, dict]] = []
    for group in groups:
        try:
            members = list(graph.group_members(group))
        except ApiError as exc:
            if exc.status != 404:
                raise
            records.append(({"group_id": group, "found": False}, {"group_id": group, "status": 404}))
            continue
        if not members:
            records.append(({"group_id": group, "found": True}, {"group_id": group, "value": []}))
        for m in members:
            row = {
                "group_id": group,
                "found": True,
                "member_id": m.get("id"),
                "user_principal_name": (m.get("userPrincipalName") or "").lower() or None,
                "mail": (m.get("mail") or "").lower() or None,
            }
            records.append((row, m))
    return records
