"""Alert triage: the ``alert_status`` ledger (status, verdict, assignee; the latest row per alert wins).

Every change is a new row of ``<data_dir>/triage/alert_status.parquet`` carrying the alert's whole
state after it (so the latest row alone answers "where is this alert"), who made it (``--by`` or
``$USER``) and when. Nothing is ever rewritten or deleted: the history is the audit trail. An
alert without a row is ``open``. The warehouse's ``alerts`` view joins the latest row
(``alerts_view_sql``), so a change shows there at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.ledger import ParquetLedger
from dsassets.lib.lake.schemas import schema

FOLDER = "triage"
STATUS_FILE = "alert_status.parquet"
STATUS_PATH = f"{FOLDER}/{STATUS_FILE}"
STATUSES = ("open", "in_progress", "resolved", "dismissed")
VERDICTS = ("true_positive", "benign_true_positive", "false_positive")

SCHEMA = schema("""
    recorded_at:ts alert_id status verdict assignee comment changed_by suppression_id
""")


class TriageError(ValueError):
    """A triage request that cannot be recorded; the message is one line naming what is wrong."""


class StatusLedger(ParquetLedger):
    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, FOLDER, STATUS_FILE, SCHEMA, "alert_id")


@dataclass(frozen=True)
class Change:
    status: str | None = None
    verdict: str | None = None
    assignee: str | None = None
    comment: str | None = None
    suppression_id: str | None = None


def apply(ledger: StatusLedger, alert_id: str, change: Change, *, by: str, now: datetime) -> dict:
    """Append the alert's new state (the previous one with ``change`` applied); returns the row.

    ``ledger`` must be loaded and held locked by the caller.
    """
    if change.status is not None and change.status not in STATUSES:
        raise TriageError(f"status {change.status!r}: must be one of {', '.join(STATUSES)}")
    if change.verdict is not None and change.verdict not in VERDICTS:
        raise TriageError(f"verdict {change.verdict!r}: must be one of {', '.join(VERDICTS)}")
    if not by.strip():
        raise TriageError("who made the change is unknown: pass --by NAME (or set $USER)")
    prev = ledger.latest().get(alert_id) or {"status": "open", "verdict": None, "assignee": None}
    row = {
        "recorded_at": now,
        "alert_id": alert_id,
        "status": change.status or prev["status"],
        "verdict": change.verdict if change.verdict is not None else prev["verdict"],
        "assignee": change.assignee if change.assignee is not None else prev["assignee"],
        "comment": change.comment,
        "changed_by": by.strip(),
        "suppression_id": change.suppression_id,
    }
    ledger.append(row)
    ledger.save()
    return row


def latest_status_sql(ledger_url_literal: str) -> str:
    """One row per alert: its latest status, verdict and assignee."""
    return (
        f"select alert_id, status, verdict, assignee, changed_by as status_changed_by, "
        f"recorded_at as status_changed_at from read_parquet({ledger_url_literal}, file_row_number = true) "
        # Row order is record order (the ledger is append-only), so the last row wins even on equal times.
        "qualify row_number() over (partition by alert_id order by file_row_number desc) = 1"
    )


def alerts_view_sql(scan: str, ledger_url_literal: str) -> str:
    """The warehouse ``alerts`` view: the mart plus status (``open`` when never triaged), verdict, assignee."""
    return (
        "select a.*, coalesce(s.status, 'open') as status, s.verdict, s.assignee, "
        "s.status_changed_by, s.status_changed_at "
        f"from {scan} as a left join ({latest_status_sql(ledger_url_literal)}) as s using (alert_id)"
    )
