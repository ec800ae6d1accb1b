"""Is the DocuSign connector healthy: is the audit log still arriving, can a backfill be served at all."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from dsassets.lib.config.settings import ConfigError


class RetentionError(ConfigError):
    """A backfill asks the Monitor stream for days it no longer keeps."""


def check_retention(start: datetime, now: datetime, retention_days: int) -> None:
    """Refuse a window that starts before the stream's retention, instead of storing empty days."""
    oldest = (now - timedelta(days=retention_days)).date()
    if start.date() < oldest:
        raise RetentionError(
            f"the window starts {start.date()}, but the Monitor stream keeps about {retention_days} days "
            f"(DOCUSIGN_MONITOR_RETENTION_DAYS), so nothing before {oldest} can be read: those days would be "
            f"stored empty. Start the backfill on or after {oldest}, or set DOCUSIGN_MONITOR_RETENTION_DAYS "
            "to your organization's retention if it keeps more."
        )


def quiet_hours(day: date, last_event_at: datetime | None, now: datetime) -> float | None:
    """Hours without a new event at the end of ``day`` (up to ``now``); None for a day without events."""
    if last_event_at is None:
        return None
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
    until = min(now, day_end)
    return max(0.0, (until - last_event_at).total_seconds() / 3600)


def is_stale(day: date, last_event_at: datetime | None, now: datetime, hours: float) -> bool:
    """The day had events, is still running, and nothing new arrived for ``hours``.

    Only an open day is judged: a closed day's quiet evening is not a connector fault, and
    the intra-day refresh is what keeps a running day fresh.
    """
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
    quiet = quiet_hours(day, last_event_at, now)
    return quiet is not None and now < day_end and quiet > hours
