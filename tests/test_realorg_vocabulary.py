"""Vocabulary discovery: what an organization sends, how the mapping classifies it, and warnings when it misses."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from dsassets import cli
from dsassets.defs.resources import LakeResource
from dsassets.defs.vocabulary.assets import docusign_vocabulary, vocabulary_checks
from support.monitor_pages import monitor_page
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import write_event_partitions

FIRST = date(2026, 6, 1)
DAYS = 8
CHECKS = [vocabulary_checks]


def event(n: int, day: date, obj: str, action: str, result: str, source: str, country: str = "germany") -> dict:
    return {"eventId": f"voc-{n:06d}", "timestamp": f"{day}T09:{n % 60:02d}:00.0000000Z", "object": obj,
            "action": action, "result": result, "source": source, "ipAddress": "198.18.0.9",
            "userId": "u-1", "accountId": "acc-1", "country": country,
            # every fourth event through a proxy DocuSign recognised, the rest without the field
            **({"proxyType": "TOR"} if n % 4 == 0 else {})}


def lake_with(tmp_path, vocabulary: list[tuple[str, str, str, str]], countries=("germany",)) -> Lake:
    lake = Lake.at(tmp_path / "data")
    events, n = [], 0
    for k in range(DAYS):
        day = FIRST + timedelta(days=k)
        for obj, action, result, source in vocabulary:
            for country in countries:
                n += 1
                events.append(event(n, day, obj, action, result, source, country))
    start = datetime.combine(FIRST, datetime.min.time(), timezone.utc)
    write_event_partitions(lake, [monitor_page(events, "c0", "c1")], start=start, end=start + timedelta(days=DAYS),
                           source="docusign", extracted_at=start + timedelta(days=DAYS))
    return lake


# A real organization's strings, not the shipped defaults: "Failure" and "Other" match no rule.
FOREIGN = [("User", "Login", "Succeeded", "Other"), ("User", "Login", "Failure", "Other"),
           ("Envelope", "Printed", "Success", "Web")]
DEFAULTS = [("User", "Login", "Success", "Web"), ("User", "Login", "Failed", "Web"),
            ("Envelope", "Sent", "Success", "Web")]


def checks(lake: Lake, day: date) -> dict[str, bool]:
    result = dg.materialize([docusign_vocabulary, *CHECKS], resources={"lake": LakeResource(data_dir=str(lake.root))},
                            partition_key=day.isoformat())
    assert result.success
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_a_vocabulary_no_rule_matches_is_listed_and_warned_about(tmp_path, capsys):
    lake = lake_with(tmp_path, FOREIGN)
    last = FIRST + timedelta(days=DAYS - 1)
    assert checks(lake, last) == {"signins_classified_every_day": False, "signin_failures_classified": True,
                                  "countries_recognized": True}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DSASSETS_DATA_DIR", str(lake.root))
        assert cli.main(["profile", "--start", str(FIRST), "--end", str(last)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nUser\s+Login\s+Failure\s+Other\s+8\s+8\s+unmatched\n", out)
    assert "3 of 3 combinations (24 events) match no rule" in out
    assert re.search(r"\nproxyType\nproxy_type\s+events\n-+\s+-+\n\s+18\nTOR\s+6\n", out)
    assert f"warning: {FIRST} has events but no classified sign-in" in out


def test_a_week_without_one_classified_failure_warns(tmp_path):
    lake = lake_with(tmp_path, [("User", "Login", "Success", "Web"), ("User", "Login", "Failure", "Web")])
    assert checks(lake, FIRST + timedelta(days=DAYS - 1))["signin_failures_classified"] is False


def test_unrecognised_countries_over_one_percent_warn(tmp_path):
    lake = lake_with(tmp_path, DEFAULTS, countries=("germany", "Republic of Absurdistan"))
    assert checks(lake, FIRST + timedelta(days=3))["countries_recognized"] is False


def test_decoy_the_shipped_vocabulary_passes_every_check(tmp_path):
    lake = lake_with(tmp_path, DEFAULTS)
    result = dg.materialize([docusign_vocabulary, *CHECKS],
                            resources={"lake": LakeResource(data_dir=str(lake.root))},
                            partition_key=(FIRST + timedelta(days=DAYS - 1)).isoformat())
    assert all(e.passed for e in result.get_asset_check_evaluations())
    metadata = result.asset_materializations_for_node("docusign_vocabulary")[0].metadata
    assert metadata["combinations"].value == 3 and metadata["unmatched_combinations"].value == 1  # Envelope/Sent
    assert metadata["proxy_types"].value == {"None": 2, "TOR": 1}  # the day's events 22-24
    assert "sign-in: interactive_failure" in metadata["vocabulary"].value
