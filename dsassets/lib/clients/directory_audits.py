"""Entra directory audits kept from one read to the next, so a refresh asks Graph only for the latest.

``raw_idp_users`` dates disable/enable/delete/restore events from the last 90 days of the directory
audit log. An intra-day refresh every 15 minutes read all 90 days every time: 37 of the 61 Graph
requests of a refresh at 66k users, and against real Graph, network time and a throttling risk. Now
the audits a read returned are kept in ``<local_dir>/.graph-audits/<key>.json``, and a later read
for the same partition, on the same UTC day, asks Graph only for audits since the kept read's time
less an overlap, ``DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES`` (default 60; 0 reads everything every
time). Microsoft gave the audit log's latency as 2 minutes at the 95th percentile and 5 at the
99th; third parties report 5-15 minutes. The first read of each UTC day reads the whole lookback
again, so an audit published later than the overlap is still picked up within a day. Reads for
another partition (a backfill, the day's 00:20 run) read it whole too, so a partition's snapshot
never depends on which other partition was read before it.

Either way the audits come back alike: trimmed to what dating needs, one per audit id, oldest
first, and what a full read would return, with one exception: an audit Entra expires during the
day (it keeps 7 days of audits, 30 with P1 or P2) stays until the next day's first read. The file
is a cache, not an output: deleting it costs one full read. Its name hashes the source (Graph URL,
tenant, application, and the simulator's configuration), so tenants never mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

from dsassets.lib.clients.docusign_data import timestamp_or_none
from dsassets.lib.clients.graph import GraphDataError
from dsassets.lib.lake.scratch import remove_stale_scratch

# Under Lake.local_dir, beside the other caches (dsassets.lib.transform.unchanged skips it).
FOLDER = ".graph-audits"
FORMAT = 1
# A killed run's scratch file is removed this long after it was written.
KEEP_SCRATCH_SECONDS = 3600


@dataclass(frozen=True)
class AuditCache:
    """Where one source's audits are kept, and how far back a later read asks again."""

    folder: Path
    source: str  # what identifies the tenant; hashed, never written out
    overlap: timedelta
    partition: str  # the partition the read is for: only a read for the same one starts from the kept

    @property
    def path(self) -> Path:
        return self.folder / f"{self.key}.json"

    @property
    def key(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:32]


def read_audits(
    fetch: Callable[[datetime], Iterable[dict]], *, since: datetime, until: datetime, cache: AuditCache | None
) -> tuple[list[dict], datetime]:
    """The audits at or after ``since``, and the time Graph was asked from.

    ``fetch(t)`` returns every audit at or after ``t``. With a ``cache`` holding an earlier read
    for the same partition, of the same UTC day, that covers ``since``, only audits since that
    read's ``until`` less the overlap are fetched and merged with the kept ones. The kept file is
    replaced only once the fetch has returned in full, so a failed page leaves it as it was.
    """
    kept = _kept(cache, since, until) if cache is not None else None
    asked_from = since if kept is None else max(since, kept[0] - cache.overlap)
    fetched = [_trim(audit) for audit in fetch(asked_from)]
    earlier = [a for a in (kept[1] if kept else []) if _at_or_after(a, since)]
    audits = _unique_oldest_first(earlier + fetched)
    if cache is not None:
        _save(cache, since, until, audits)
    return audits, asked_from


def _trim(audit) -> dict:
    """What dating reads of an audit record: its id, time, activity and target ids."""
    if not isinstance(audit, dict):
        raise GraphDataError(f"Graph directory audits: an item of the 'value' list is not an object: {audit!r:.80}")
    targets = audit.get("targetResources")
    return {
        "id": audit.get("id"),
        "activityDateTime": audit.get("activityDateTime"),
        "activityDisplayName": audit.get("activityDisplayName"),
        "targetResources": [{"id": t.get("id")} for t in targets if isinstance(t, dict)]
        if isinstance(targets, list) else [],
    }


def _time(audit: dict) -> datetime | None:
    return timestamp_or_none(audit.get("activityDateTime"))


def _at_or_after(audit: dict, since: datetime) -> bool:
    # An unreadable time was accepted by Graph's own filter; keep it as a full read would.
    at = _time(audit)
    return at is None or at >= since


def _identity(audit: dict) -> str:
    audit_id = audit.get("id")
    return audit_id if isinstance(audit_id, str) and audit_id else json.dumps(audit, sort_keys=True)


def _unique_oldest_first(audits: list[dict]) -> list[dict]:
    """One record per audit (the later read's wins), by time, then as written, then id."""
    unique = {_identity(a): a for a in audits}
    never = datetime.max.replace(tzinfo=None)

    def order(a: dict):
        at = _time(a)
        return (at.replace(tzinfo=None) if at else never, str(a.get("activityDateTime")), _identity(a))

    return sorted(unique.values(), key=order)


def _kept(cache: AuditCache, since: datetime, until: datetime) -> tuple[datetime, list[dict]] | None:
    """The kept read's ``until`` and audits, when a read of ``since``..``until`` may start from them."""
    if cache.overlap <= timedelta(0):
        return None
    try:
        body = json.loads(cache.path.read_text())
        kept_since = datetime.fromisoformat(body["since"])
        kept_until = datetime.fromisoformat(body["until"])
        audits = body["audits"]
        current = (body["format"] == FORMAT and body["key"] == cache.key and body["partition"] == cache.partition
                   and isinstance(audits, list) and all(isinstance(a, dict) for a in audits))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none kept, or unreadable: a full read replaces it
    if not current or kept_since > since or kept_until > until or _utc_day(kept_until) != _utc_day(until):
        return None
    return kept_until, audits


def _utc_day(at: datetime):
    return at.astimezone(timezone.utc).date()


def _save(cache: AuditCache, since: datetime, until: datetime, audits: list[dict]) -> None:
    cache.folder.mkdir(parents=True, exist_ok=True)
    scratch = cache.folder / f".{cache.key}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    body = {"format": FORMAT, "key": cache.key, "partition": cache.partition, "since": since.isoformat(),
            "until": until.isoformat(), "audits": audits}
    try:
        scratch.write_text(json.dumps(body))
        os.replace(scratch, cache.path)  # readers see the old file or the new one, never half of one
    finally:
        scratch.unlink(missing_ok=True)
    remove_stale_scratch(cache.folder, KEEP_SCRATCH_SECONDS)
