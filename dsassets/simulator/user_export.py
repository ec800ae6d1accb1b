"""The Admin API's bulk user-list export, shaped per the Admin spec (``UserExport`` operations).

``POST .../exports/user_list`` freezes the directory at that moment; the export then reads
``queued``, ``in_process`` on the first status read and ``completed`` after, with one
CSV result. The CSV's columns are not in the spec: they carry the ``dsprofile`` fields under
the Admin API's own names, one row per membership, so both paths describe the same people.
"""

from __future__ import annotations

import csv
import io
import uuid

import numpy as np

from dsassets.simulator.docusign_api import DocuSignAPI
from dsassets.simulator.ids import iso_esign
from dsassets.simulator.serving import Reply, error

EXPORT_TYPES = ("organization_memberships_export", "organization_domain_users_export",
                "organization_external_memberships_export")
CSV_HEADER = [
    "id", "user_name", "first_name", "last_name", "user_status", "default_account_id", "is_organization_admin",
    "federated_status", "require_two_step_verification", "device_verification_enabled", "created_on",
    "membership_id", "account_id", "account_name", "email", "membership_status", "is_admin",
    "permission_profile_id", "permission_profile_name", "membership_created_on", "membership_closed_on",
]


class UserExportAPI:
    def __init__(self, docusign: DocuSignAPI):
        self.docusign = docusign
        self.sim = docusign.sim
        self.exports: dict[str, dict] = {}
        self.csv: dict[str, str] = {}

    def create(self, org: str, body: object, base: str) -> Reply:
        w = self.sim.world
        if org.lower() != w.organization_id.lower():
            return error(404, "ORGANIZATION_NOT_FOUND", f"organization {org} not found")
        kind = body.get("type") if isinstance(body, dict) else None
        if kind not in EXPORT_TYPES:
            return error(400, "INVALID_REQUEST_PARAMETER", f"type must be one of {', '.join(EXPORT_TYPES)}")
        if kind != "organization_memberships_export":
            return error(400, "NOT_SUPPORTED", f"the simulator serves only organization_memberships_export, not {kind}")
        export_id = str(uuid.uuid5(uuid.UUID(w.organization_id), f"user_list/{len(self.exports)}"))
        text = self._render()
        now = iso_esign(self.sim.now_ticks())
        self.csv[export_id] = text
        self.exports[export_id] = {
            "id": export_id,
            "type": kind,
            "requestor": {"name": "dsassets", "id": self.sim.service_user_id, "type": "user"},
            "created": now,
            "last_modified": now,
            "status": "queued",
            "metadata_url": f"{base}/{export_id}",
            "percent_completed": 0,
            "_reads": 0,
            "_rows": text.count("\n") - 1,
            "_base": base,
        }
        return Reply(200, self._public(export_id))

    def status(self, org: str, export_id: str) -> Reply:
        found = self.exports.get(export_id.lower())
        if org.lower() != self.sim.world.organization_id.lower() or found is None:
            return error(404, "EXPORT_NOT_FOUND", f"export {export_id} not found")
        found["_reads"] += 1
        if found["_reads"] == 1:
            found.update(status="in_process", percent_completed=50)
        else:
            size = len(self.csv[found["id"]].encode("utf-8"))
            found.update(
                status="completed",
                percent_completed=100,
                completed=found["created"],
                success=True,
                number_rows=found["_rows"],
                size_bytes=size,
                results=[
                    {
                        "id": found["id"],
                        "site_id": 1,
                        "url": f"{found['_base']}/{found['id']}/results/{found['id']}",
                        "number_rows": found["_rows"],
                        "size_bytes": size,
                    }
                ],
            )
        return Reply(200, self._public(found["id"]))

    def download(self, org: str, export_id: str) -> Reply:
        text = self.csv.get(export_id.lower())
        found = self.exports.get(export_id.lower())
        if org.lower() != self.sim.world.organization_id.lower() or text is None or found["status"] != "completed":
            return error(404, "EXPORT_NOT_FOUND", f"no completed export {export_id}")
        return Reply(200, text, {"Content-Type": "text/csv; charset=utf-8"})

    def _public(self, export_id: str) -> dict:
        return {k: v for k, v in self.exports[export_id].items() if not k.startswith("_")}

    def _render(self) -> str:
        snap = self.sim.snapshot()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        members = snap.life["members"]
        rows = snap.ds_rows[members[snap.ds_rows] != 0]  # no membership, no row (as the per-user path)
        snap.names  # noqa: B018 -- name everyone at once rather than row by row
        # Every membership id in one vectorized call, not one call per row.
        accounts = np.arange(len(self.sim.world.accounts))
        pairs = [(r, a) for r in rows.tolist() for a in accounts.tolist() if (int(members[r]) >> a) & 1]
        pr = np.array([r for r, _ in pairs], dtype=np.int64)
        ids = self.sim.world.membership_ids(snap.life["slot"][pr], snap.life["ten"][pr], [a for _, a in pairs])
        membership_ids = dict(zip(pairs, ids))
        for r in rows.tolist():
            p = self.docusign._profile(snap, r, membership_ids)
            user = [p["id"], p["user_name"], p["first_name"], p["last_name"], p["user_status"],
                    p["default_account_id"], _bool(p["is_organization_admin"]), p["federated_status"],
                    _bool(p["require_two_step_verification"]), _bool(p["device_verification_enabled"]), p["created_on"]]
            for m in p["memberships"]:
                profile = m["permission_profile"]
                writer.writerow(user + [
                    m["id"], m["account_id"], m["account_name"], m["email"], m["status"], _bool(m["is_admin"]),
                    profile["id"], profile["name"], m["created_on"], m.get("closed_on", ""),
                ])
        return out.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"
