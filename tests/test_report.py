"""The report page on hand-made datasets: every chart has its slot, data cannot break out of the script."""

from datetime import date, datetime, timezone

from dsassets.lib.report import page
from dsassets.lib.report.data import DATASETS


def datasets(user="eve@example.org"):
    data = {name: [] for name in DATASETS}
    data["alerts_per_day"] = [{"day": "2026-03-02", "policy": "impossible_travel", "alerts": 2}]
    data["alerts_by_severity_status"] = [{"severity": "high", "status": "open", "alerts": 2}]
    data["top_users"] = [{"user": user, "alerts": 2, "high": 2}]
    return data


def test_charts_with_data_get_a_slot_and_the_rest_say_why_not():
    html = page.render(datasets(), {"posture_scores": "Table posture_scores does not exist"},
                       date(2026, 3, 1), date(2026, 3, 8), now=datetime(2026, 3, 8, tzinfo=timezone.utc))
    for name in ("alerts_per_day", "alerts_by_severity_status", "top_users"):
        assert f"id='chart-{name}'" in html
    assert "chart-posture_scores" not in html and "Table posture_scores does not exist" in html
    assert "2026-03-01 to 2026-03-07" in html
    assert "<script src" not in html and "vegaEmbed" in html


def test_data_cannot_close_the_script_element():
    html = page.render(datasets(user="</script><script>alert(1)</script>"), {}, date(2026, 3, 1), date(2026, 3, 8),
                       now=datetime(2026, 3, 8, tzinfo=timezone.utc))
    assert "</script><script>alert(1)" not in html
    assert html.count("</script>") == 2  # the bundle's and the embedding script's
