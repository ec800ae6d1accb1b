"""The governance ledger: every planned, executed, skipped and failed action, one Parquet file.

``<data_dir>/governance/governance_actions.parquet`` (in the lake, so on S3 when the lake is),
append-only by content, rewritten whole and published atomically (``Lake.write_bytes``) after
every Graph call; runs hold an exclusive ``flock`` on ``<local_dir>/governance/.lock`` (the shared
:class:`~dsassets.lib.lake.ledger.ParquetLedger`, as notifications and triage use). Keyed by
(``alert_id``, ``action``): once a row says ``executed`` the pair is never run again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime

from dsassets.lib.detections.late import raised_at
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.ledger import ParquetLedger
from dsassets.lib.lake.schemas import schema

LEDGER_DIR = "governance"
LEDGER_FILE = "governance_actions.parquet"
# Dagster concurrency pool of the ledger's writer (limit 1 in dagster.yaml).
LEDGER_POOL = "governance_ledger"
STATUSES = ("planned", "executed", "skipped", "failed")

LEDGER_SCHEMA = schema("""
    recorded_at:ts run_id action_key alert_id policy severity alert_title alert_started_at:ts
    alert_ended_at:ts alert_partition_date:date action mode status reason target_user_id target_email
    entra_user_id attempt:int32 http_status:int32 requested_by reverts_action_key
""")  # requested_by, reverts_action_key: a revert (dsassets.lib.governance.revert)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    policy: str
    severity: str
    title: str
    description: str
    user_id: str | None
    user_email: str | None
    started_at: datetime
    ended_at: datetime
    partition_date: date
    # When the alert could first be raised: later than ended_at when its events arrived late.
    raised_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict) -> Alert:
        fields = [k for k in cls.__dataclass_fields__ if k != "raised_at"]
        alert = cls(*(row.get(k) for k in fields))  # type: ignore[arg-type]
        if row.get("evidence") and alert.ended_at is not None:
            return replace(alert, raised_at=raised_at(row["evidence"], alert.ended_at))
        return alert


def action_key(alert_id: str, action: str) -> str:
    return hashlib.sha256(f"{alert_id}|{action}".encode()).hexdigest()[:32]


LEDGER_PATH = f"{LEDGER_DIR}/{LEDGER_FILE}"


class Ledger(ParquetLedger):
    """The persistent record of every governance action, read whole and rewritten atomically."""

    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, LEDGER_DIR, LEDGER_FILE, LEDGER_SCHEMA, "action_key")

    def attempts(self, key: str) -> int:
        return sum(1 for r in self.rows if r["action_key"] == key and r["status"] in ("executed", "failed"))
