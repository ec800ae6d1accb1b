"""The analyst's loop on a simulated backfill: told (webhook on loopback), triage, suppression, investigate, report."""

import json
import shutil
import subprocess
from datetime import date

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from support.loopback_receiver import Receiver

from dsassets import cli
from dsassets.lib.config.project import DEFAULT_CONFIG_PATH, PROJECT_ROOT
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.triage import suppressions

START, END = date(2026, 11, 22), date(2026, 11, 24)
SEED, EVENTS_PER_DAY = 20240601, 600
CHARTS = 8  # charts the report draws when every dataset has rows


@pytest.fixture(scope="module")
def loop(simulator_env):
    """One backfill with a high-severity webhook channel (execute on) and a JSONL channel."""
    data, patch = simulator_env
    receiver = Receiver()
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["activity_policies"]["files"] = [str(PROJECT_ROOT / "policies" / "*.yaml")]
    config["notify"] = {
        # The backfilled days are older than the default 48 h: this test wants them sent.
        "max_alert_age_hours": 24 * 3650,
        "channels": [
            {"name": "soc", "type": "webhook", "url_env": "TEST_SOC_WEBHOOK", "min_severity": "high",
             "execute": True},
            {"name": "siem", "type": "jsonl", "path": "notify/alerts.jsonl", "min_severity": "informational",
             "execute": True},
        ],
    }
    config_file = data / "dsassets.yaml"
    config_file.write_text(yaml.safe_dump(config))
    patch.setenv("DAGSTER_HOME", str(data / "dagster"))
    patch.setenv("DSASSETS_CONFIG", str(config_file))
    patch.setenv("TEST_SOC_WEBHOOK", receiver.url)
    try:
        assert cli.main(["backfill", START.isoformat(), END.isoformat()]) == 0
        first_posts = list(receiver.posts)
        yield {"data": data, "receiver": receiver, "first_posts": first_posts}
    finally:
        receiver.close()


def rerun(assets: list[str], start: date, end: date) -> None:
    """Materialize ``assets`` for ``start..end`` again, as a scheduled or backfill run would."""
    from dsassets.definitions import defs

    job = defs().resolve_job_def("daily_pipeline")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(a) for a in assets],
            tags=range_tags(start, end),
        )
    assert result.success


def mart(data, name) -> list[dict]:
    return [r for f in sorted((data / "warehouse" / name).glob("dt=*/*.parquet")) for r in pq.read_table(f).to_pylist()]


def warehouse(data, query, params=None):
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def test_one_post_per_alert_at_or_above_the_channel_severity(loop):
    alerts = mart(loop["data"], "alerts")
    high = sorted(a["alert_id"] for a in alerts if a["severity"] == "high")
    assert high and len(high) < len(alerts)  # the filter has something to leave out
    assert sorted(p["body"]["alert_id"] for p in loop["first_posts"]) == high
    assert all(p["path"].endswith("s3cr3tT0k3nXYZ") for p in loop["first_posts"])
    lines = (loop["data"] / "notify" / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["alert_id"] for line in lines) == sorted(a["alert_id"] for a in alerts)


def test_a_second_run_posts_nothing(loop):
    before = len(loop["receiver"].posts)
    rerun(["notifications"], START, END)
    assert len(loop["receiver"].posts) == before == len(loop["first_posts"])
    sent = warehouse(loop["data"], "select count(*) from notifications where status = 'sent' and channel = 'soc'")
    assert sent[0][0] == before


def test_alerts_list_shows_them_open(loop, capsys):
    assert cli.main(["alerts", "list", "--status", "open"]) == 0
    out = capsys.readouterr().out
    assert f"{len(mart(loop['data'], 'alerts'))} alert(s)" in out


def test_resolving_changes_the_warehouse_view(loop, capsys):
    alert = sorted(mart(loop["data"], "alerts"), key=lambda a: a["alert_id"])[0]
    assert cli.main(["alerts", "resolve", alert["alert_id"], "--verdict", "true_positive", "--by", "ana"]) == 0
    rows = warehouse(loop["data"], "select status, verdict from alerts where alert_id = ?", [alert["alert_id"]])
    assert rows == [("resolved", "true_positive")]
    others = warehouse(loop["data"], "select distinct status from alerts where alert_id <> ?", [alert["alert_id"]])
    assert others == [("open",)]


def test_dismissing_with_suppression_removes_the_alert_from_a_re_run(loop, capsys):
    alert = next(a for a in mart(loop["data"], "alerts") if a["severity"] == "high" and a["user_id"] and a["ip_addresses"])
    posts = len(loop["receiver"].posts)
    assert cli.main(["alerts", "dismiss", alert["alert_id"], "--verdict", "benign_true_positive",
                     "--suppress", "user+ip", "--expires", "30d", "--by", "ana"]) == 0
    day = alert["partition_date"]
    rerun(["alerts", "notifications"], day, day)
    assert alert["alert_id"] not in {a["alert_id"] for a in mart(loop["data"], "alerts")}
    held = [r for r in mart(loop["data"], suppressions.SUPPRESSED_ALERTS) if r["alert_id"] == alert["alert_id"]]
    assert len(held) == 1 and held[0]["suppression_kind"] == "user+ip" and held[0]["suppressed_by"] == "ana"
    assert len(loop["receiver"].posts) == posts


def test_investigation_macros(loop):
    alert = next(a for a in mart(loop["data"], "alerts") if a["user_email"] and a["countries"])
    events = warehouse(loop["data"], "select event_id, country_code from alert_events(?)", [alert["alert_id"][:12]])
    assert {e[0] for e in events} == set(alert["event_ids"])
    assert {e[1] for e in events} <= set(alert["countries"]) | {None}
    (panel,) = warehouse(
        loop["data"], "select email, alerts_by_policy, countries, signin_successes from user_insights(?, 30)",
        [f"\u00a0{alert['user_email'].upper()}\t"])  # pasted: a no-break space before, a tab after
    assert panel[0] == alert["user_email"]
    assert alert["policy"] in {p["policy"] for p in panel[1]}
    assert panel[2] and panel[3] >= 0


def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing; skip only when that is impossible."""
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt:
        subprocess.run([apt, "install", "-y", "chromium"], capture_output=True, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.skip("headless Chromium is not installed and `apt-get install -y chromium` could not install it")
    return found


def test_the_report_renders_its_charts_in_headless_chromium(loop, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--start", START.isoformat(), "--end", END.isoformat(), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text()
    assert "<script src" not in page and "<link" not in page  # nothing loaded from the network
    browser = chromium()
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = run.stdout
    assert dom.count('class="marks"') == CHARTS  # every chart became an SVG of marks
    assert dom.count("<path") > 50 and "Alerts per day by policy" in dom
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                    f"--screenshot={tmp_path / 'report.png'}", "--window-size=1300,2400", out.as_uri()],
                   capture_output=True, timeout=180)
    assert (tmp_path / "report.png").stat().st_size > 50_000
