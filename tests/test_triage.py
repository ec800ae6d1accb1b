"""Triage from the CLI: list, show, resolve/dismiss/assign, and suppressions honoured by the alerts union."""

import json
import shutil
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from dsassets import cli
from dsassets.defs.detections.assets import alerts_asset
from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections import engine
from dsassets.lib.detections.registry import POLICIES
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform import sql
from dsassets.lib.triage import status, suppressions, warehouse

DAY = date(2026, 10, 14)
T0 = datetime(2026, 10, 14, 8, 0, tzinfo=timezone.utc)

# Two travel alerts of one user (different IP pairs) and one of another user; shaped by hand.
ALERTS = [
    ("1111111111aa", "impossible_travel", "medium", "u-7", "kim@corp.example", ["192.0.2.10", "198.18.0.5"],
     ["DE", "BR"], ["ev1", "ev2"], 0),
    ("2222222222bb", "impossible_travel", "medium", "u-7", "kim@corp.example", ["192.0.2.10", "100.64.3.3"],
     ["DE", "AU"], ["ev3"], 3),
    ("3333333333cc", "impossible_travel", "high", "u-9", "lee@corp.example", ["192.0.2.10", "198.18.0.5"],
     ["DE", "BR"], ["ev4"], 5),
]


def _literal(value):
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return sql.sql_literal(str(value))


def write_lake(root) -> Lake:
    lake = Lake.at(root)
    with sql.session(lake) as con:
        sql.set_window(con, DAY, DAY + timedelta(days=1))
        for policy in POLICIES:
            name = engine.asset_name(policy)
            rows = [a for a in ALERTS if a[1] == policy]
            selects = [
                f"select date '{DAY}' as dt, {_literal(aid)} as alert_id, {_literal(pol)} as policy, "
                f"{_literal(sev)} as severity, 'Impossible travel' as title, 'travel by ' || {_literal(email)} as description, "
                f"{_literal(uid)} as user_id, {_literal(email)} as user_email, 'acct-1' as account_id, "
                f"timestamptz '{T0 + timedelta(hours=h)}' as started_at, timestamptz '{T0 + timedelta(hours=h, minutes=40)}' as ended_at, "
                f"{_literal(evs)}::varchar[] as event_ids, {_literal(ips)}::varchar[] as ip_addresses, "
                f"{_literal(cc)}::varchar[] as countries, '{{\"speed_kmh\": 4100}}' as evidence, date '{DAY}' as partition_date"
                for aid, pol, sev, uid, email, ips, cc, evs, h in rows
            ] or [engine.empty_alerts_query()]
            con.execute(f"create or replace temp table t as {' union all '.join(selects)}")
            sql.write_partitions(con, lake, name, "t", DAY, DAY + timedelta(days=1))
        con.execute(
            "create or replace temp table acts as select * from (values "
            f"(date '{DAY}', 'ev1', timestamptz '{T0}', 'User', 'Login', 'Success', '192.0.2.10', 'Hamburg', 'DE', 'kim@corp.example'), "
            f"(date '{DAY}', 'ev2', timestamptz '{T0 + timedelta(minutes=40)}', 'User', 'Login', 'Success', '198.18.0.5', 'Recife', 'BR', 'kim@corp.example')"
            ") v(dt, event_id, event_at, object, action, result, ip_address, city, country_code, user_email)"
        )
        sql.write_partitions(con, lake, "activities", "acts", DAY, DAY + timedelta(days=1))
    return lake


def materialize_alerts(root) -> None:
    result = dg.materialize([alerts_asset()], partition_key=DAY.isoformat(),
                            resources={"lake": LakeResource(data_dir=str(root))})
    assert result.success


def mart(root, name) -> list[dict]:
    files = sorted((root / "warehouse" / name).glob("dt=*/*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


@pytest.fixture
def lake_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DSASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DSASSETS_LOCAL_DIR", raising=False)
    monkeypatch.delenv("DSASSETS_CONFIG", raising=False)
    write_lake(tmp_path)
    materialize_alerts(tmp_path)
    return tmp_path


def alerts_cli(*args) -> int:
    return cli.main(["alerts", *args, "--by", "ana"] if args[0] in ("resolve", "dismiss", "assign") else ["alerts", *args])


def test_new_alerts_are_listed_open_and_filters_apply(lake_dir, capsys):
    assert alerts_cli("list") == 0
    out = capsys.readouterr().out
    assert out.count(" open ") == 3 and "3 alert(s)" in out
    assert alerts_cli("list", "--severity", "high") == 0
    out = capsys.readouterr().out
    assert "3333333333cc" in out and "1111111111aa" not in out


def test_resolve_changes_the_warehouse_view_and_the_latest_row_wins(lake_dir, capsys):
    assert alerts_cli("assign", "1111111111aa", "bob") == 0
    assert alerts_cli("resolve", "1111111111aa", "--verdict", "true_positive", "--comment", "called kim") == 0
    lake = Lake.at(lake_dir)
    with duckdb.connect() as con:
        scan = sql.scan_output(lake, "alerts")
        con.execute(f"create view alerts as select * from {scan}")
        warehouse.warehouse_views(con, lake, ProjectConfig(), {"detections": ["alerts"]})
        rows = {r[0]: r[1:] for r in con.sql("select alert_id, status, verdict, assignee from alerts").fetchall()}
    assert rows["1111111111aa"] == ("resolved", "true_positive", "bob")
    assert rows["3333333333cc"] == ("open", None, None)
    history = pq.read_table(lake_dir / status.STATUS_PATH).to_pylist()
    assert [(r["status"], r["assignee"], r["changed_by"]) for r in history] == [
        ("in_progress", "bob", "ana"), ("resolved", "bob", "ana")]
    assert alerts_cli("list", "--status", "resolved") == 0
    assert "1111111111aa" in capsys.readouterr().out


def test_show_prints_evidence_and_events_with_place(lake_dir, capsys):
    assert alerts_cli("show", "1111111111") == 0
    out = capsys.readouterr().out
    assert '"speed_kmh": 4100' in out
    assert "Hamburg" in out and "Recife" in out and "198.18.0.5" in out


@pytest.mark.parametrize("args, message", [
    (("resolve", "deadbeef0000"), "no alert with id 'deadbeef0000'"),
    (("show", "abc"), "give at least 8 characters"),
    (("dismiss", "1111111111aa", "--suppress", "user+ip"), "--suppress needs --expires"),
    (("dismiss", "1111111111aa", "--suppress", "ip", "--expires", "soon"), "--expires 'soon': use a number of days"),
])
def test_bad_triage_requests_are_one_line_and_record_nothing(lake_dir, capsys, args, message):
    assert alerts_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (lake_dir / status.STATUS_PATH).exists()
    assert not (lake_dir / suppressions.SUPPRESSIONS_PATH).exists()


def test_dismiss_with_suppression_removes_the_alert_from_a_re_run_and_lists_it(lake_dir, capsys):
    assert alerts_cli("dismiss", "1111111111aa", "--verdict", "benign_true_positive",
                      "--suppress", "user+ip", "--expires", "30d") == 0
    assert "suppression" in capsys.readouterr().out
    materialize_alerts(lake_dir)  # re-run the day
    kept = {r["alert_id"] for r in mart(lake_dir, "alerts")}
    held = mart(lake_dir, suppressions.SUPPRESSED_ALERTS)
    # Same user and IPs: gone. Same user from another IP, or another user: still alerting.
    assert kept == {"2222222222bb", "3333333333cc"}
    assert [r["alert_id"] for r in held] == ["1111111111aa"]
    rule = pq.read_table(lake_dir / suppressions.SUPPRESSIONS_PATH).to_pylist()[0]
    assert held[0]["suppression_id"] == rule["suppression_id"] and held[0]["suppressed_by"] == "ana"
    assert json.loads(held[0]["evidence"]) == {"speed_kmh": 4100}


def save_rules(root, *rules: dict) -> None:
    """Append suppression rules to the lake's ledger, as ``alerts dismiss --suppress`` does."""
    ledger = suppressions.SuppressionLedger(Lake.at(root))
    with ledger.locked():
        for rule in rules:
            ledger.append(rule)
        ledger.save()


def test_an_ip_suppression_covers_every_user_and_an_expired_one_nothing(lake_dir):
    now = datetime.now(timezone.utc)
    alert = {"alert_id": "3333333333cc", "policy": "impossible_travel", "user_id": "u-9",
             "ip_addresses": ["198.18.0.5", "192.0.2.10"], "countries": ["DE", "BR"]}
    expired = dict(alert, ip_addresses=["100.64.3.3", "192.0.2.10"])
    save_rules(lake_dir,
               suppressions.make_rule(alert, "ip", now + timedelta(days=1), by="t", now=now, comment=None),
               suppressions.make_rule(expired, "ip", T0, by="t", now=now - timedelta(days=400), comment=None))
    materialize_alerts(lake_dir)
    assert {r["alert_id"] for r in mart(lake_dir, "alerts")} == {"2222222222bb"}
    assert {r["alert_id"] for r in mart(lake_dir, suppressions.SUPPRESSED_ALERTS)} == {"1111111111aa", "3333333333cc"}


def test_a_range_reads_the_union_once_and_holds_back_what_its_single_day_does(lake_dir):
    """A range run of alerts reads the union into a table once: its days, kept and held back, are the
    single day's, and the day before (no alerts) is written empty."""
    now = datetime.now(timezone.utc)
    alert = {"alert_id": "1111111111aa", "policy": "impossible_travel", "user_id": "u-7",
             "ip_addresses": ["192.0.2.10", "198.18.0.5"], "countries": ["DE", "BR"]}
    save_rules(lake_dir, suppressions.make_rule(alert, "user+ip", now + timedelta(days=1), by="t", now=now,
                                                comment=None))
    materialize_alerts(lake_dir)

    def by_id(rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda r: r["alert_id"])

    single = {name: by_id(mart(lake_dir, name)) for name in ("alerts", suppressions.SUPPRESSED_ALERTS)}
    assert [r["alert_id"] for r in single["alerts"]] == ["2222222222bb", "3333333333cc"]
    assert [r["alert_id"] for r in single[suppressions.SUPPRESSED_ALERTS]] == ["1111111111aa"]
    for name in single:
        shutil.rmtree(lake_dir / "warehouse" / name)
    result = dg.materialize([alerts_asset()], tags=range_tags(DAY - timedelta(days=1), DAY),
                            resources={"lake": LakeResource(data_dir=str(lake_dir))})
    assert result.success
    for name, rows in single.items():
        assert by_id(mart(lake_dir, name)) == rows
        before = lake_dir / "warehouse" / name / f"dt={DAY - timedelta(days=1)}" / "data.parquet"
        assert pq.read_metadata(before).num_rows == 0


def test_expiry_syntax():
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    assert suppressions.parse_expiry("30d", now) == now + timedelta(days=30)
    assert suppressions.parse_expiry("2026-12-31", now) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    for bad in ("0d", "2026-11-01", "forever", ""):
        with pytest.raises(status.TriageError, match="--expires"):
            suppressions.parse_expiry(bad, now)


def test_governance_does_not_act_on_a_suppressed_alert_it_reads_from_policy_alerts(lake_dir):
    from dsassets.defs.governance.assets import read_window_alerts

    lake = Lake.at(lake_dir)
    with sql.session(lake) as con:  # the same alert also in policy_alerts, which governance reads first
        scan = sql.scan_output(lake, "det_impossible_travel")
        con.execute(f"create temp table p as select * from {scan}")
        sql.write_partitions(con, lake, "policy_alerts", "p", DAY, DAY + timedelta(days=1))
    assert alerts_cli("dismiss", "1111111111aa", "--suppress", "user+ip", "--expires", "30d") == 0
    materialize_alerts(lake_dir)
    alerts, read = read_window_alerts(lake, DAY, DAY + timedelta(days=1))
    assert read == ["alerts", "policy_alerts"]
    assert {a.alert_id for a in alerts} == {"2222222222bb", "3333333333cc"}
