"""`dsassets quality` on a lake without baseline history says why incidents were missed."""

from argparse import Namespace
from datetime import date, timedelta

from dsassets.tools.quality import PolicyQuality, learning_hint


class _Lake:
    def __init__(self, first: date | None):
        self.first = first

    def partitions(self, dataset):
        assert dataset == "raw_docusign_audit_events"
        return [self.first] if self.first else []


ARGS = Namespace(start=date(2026, 11, 23), end=date(2026, 11, 29), history_days=37)


def _report(missed: int) -> dict:
    q = PolicyQuality("infrequent_country")
    q.missed = [{"incident_id": f"i{n}"} for n in range(missed)]
    return {"infrequent_country": q}


def test_misses_without_history_point_at_the_learning_period_and_backfill():
    hint = learning_hint(_report(3), _Lake(ARGS.start), ARGS)
    assert "3 missed" in hint and "0 day(s) of history" in hint and "learn" in hint
    assert "dsassets quality --start 2026-11-23 --end 2026-11-29 --backfill" in hint


def test_no_hint_with_enough_history_or_nothing_missed():
    assert learning_hint(_report(2), _Lake(ARGS.start - timedelta(days=37)), ARGS) is None
    assert learning_hint(_report(0), _Lake(ARGS.start), ARGS) is None
