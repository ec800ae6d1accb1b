"""Activity policies on hand-built events: every filter, the repeated-activity threshold, injection, bad files."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dsassets.lib.transform import sql
from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.intel.ip_intel import address_hex
from dsassets.lib.policies import compile as pc
from dsassets.lib.policies.model import Policy, load_policies

DAY = date(2026, 11, 24)
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
ALICE = ("u-alice", "alice@acme.example.com")
BOB = ("u-bob", "bob@acme.example.com")
CORP_IP = "203.0.113.5"      # default ip_ranges: Offices (corporate, tag office)
VPN_IP = "198.51.100.3"      # Remote-access VPN (vpn)
HOME_IP = "81.2.69.160"      # no range
TOR_IP = "185.220.101.1"     # shipped Tor exit list? (only used for ip_tag when listed)


def event(i, at=T0, user=ALICE, object="Envelope", action="Downloaded", result="Success", ip=HOME_IP,
          country="US", ua="Mozilla/5.0 Chrome/124", scope="account", account="acc-1", city=None,
          affected=None, change=None, **more):
    prop, old, new = change or (None, None, None)
    return {
        "is_managed_user": True, "is_affected_user_managed": None, "city": city,
        "affected_user_id": affected[0] if affected else None,
        "affected_user_email": affected[1] if affected else None, "property": prop, "old_value": old,
        "new_value": new,
        **more,
        # activities keeps Monitor's data.OldValue / data.NewValue as JSON
        **{k: json.dumps(more[k]) for k in ("old_value", "new_value") if more.get(k) is not None},
        "event_id": f"e{i:04d}", "event_at": at, "dt": at.date(), "scope": scope,
        "account_id": account if scope == "account" else None, "user_id": user[0] if user else None,
        "user_email": user[1] if user else None, "object": object, "action": action, "result": result,
        "source": more.get("source", "Web"), "signin_class": more.get("signin_class"), "ip_address": ip, "ip_hex": address_hex(ip) if ip else None,
        "country_code": country, "user_agent": ua,
    }


def connection(events, admins=()):
    con = duckdb.connect()
    sql.configure(con)
    sql.install_support(con, ProjectConfig())  # the shared macros, as the policy asset has them
    con.register("events_arrow", pa.Table.from_pylist(events))
    con.execute("create temp table activities as select * from events_arrow")
    days = sorted({e["dt"] for e in events}) or [DAY]
    users = [{"dt": d, "user_id": u[0], "is_admin": u in admins} for d in days for u in (ALICE, BOB)]
    con.register("users_arrow", pa.Table.from_pylist(users))
    con.execute("create temp table users as select * from users_arrow")
    sql.set_window(con, DAY, DAY + timedelta(days=1))
    pc.install(con, ProjectConfig())
    return con


# Settings changes and grants shaped unlike the simulator's: numbers sent as JSON numbers or as
# strings with spaces, a property in another case, a contractor on a gmail-like domain.
CHANGES = [
    event(11, object="Account", action="Updated", property="SessionTimeout", old_value="20", new_value=" 45 "),
    event(12, object="Account", action="Updated", property="sessionTimeout", old_value=45, new_value=30),
    event(13, object="Account", action="Updated", property="sessionTimeout", old_value="30", new_value="never"),
    event(14, object="Account", action="Updated", property="enableSMSAuthentication", old_value="True",
          new_value="false"),
    event(15, user=BOB, scope="organization", object="Organization", action="AdminAdded",
          affected_user_id="u-zed", affected_user_email="zed@contractor.example", is_affected_user_managed=False,
          is_managed_user=False),
    event(16, user=BOB, scope="organization", object="Organization", action="AdminAdded",
          affected_user_id="u-alice", affected_user_email=ALICE[1], is_affected_user_managed=True),
    event(17, object="User", action="Login", source="API", signin_class="non_interactive_success",
          is_managed_user=None),
    # Padding trim() leaves (it strips spaces only): a line separator after a number, CRLF after a word.
    event(18, object="Account", action="Updated", property="sessionTimeout", old_value="45",
          new_value="60\u2028"),
    event(19, object="Account", action="Updated", property="enableSMSAuthentication",
          old_value="\tTrue\u2028", new_value="False\r\n"),
]


def policy(filters, threshold=None, **extra) -> Policy:
    data = {"id": "p_test", "title": "t", "severity": "low", "filters": filters, **extra}
    if threshold:
        data["threshold"] = threshold
    return Policy.model_validate(data)


def matched(events, filters, admins=(), start=DAY, end=DAY + timedelta(days=1), without=()) -> set[str]:
    """The ids of the events the filters select; the relations named in ``without`` gone first."""
    con = connection(events, admins)
    for name in without:
        con.execute(f"alter table {name} rename to {name}_gone")
    sql.set_window(con, start, end)
    pc.build_matches(con, policy(filters))
    return {r[0] for r in con.execute("select event_id from policy_matches").fetchall()}


def alerts(events, p: Policy, start=DAY, end=DAY + timedelta(days=1), days=None, **cap) -> list[dict]:
    """The alerts of ``p`` for the window, computed day by day like ``sql.write_partitions`` (or at once)."""
    con = connection(events)
    out = []
    for d0, d1 in days or [(start, end)]:
        sql.set_window(con, d0, d1)
        pc.evaluate(con, p, "result", **cap)
        cur = con.execute("select * from result order by started_at")
        cols = [c[0] for c in cur.description]
        out += [dict(zip(cols, r)) for r in cur.fetchall()]
    return out


# ---------------------------------------------------------------------------------------------
# filters, one by one

MIXED = [
    event(1),
    event(2, action="Deleted"),
    event(3, object="User", action="Login", result="Failed"),
    event(4, user=BOB, ip=CORP_IP, country="GB", ua="python-requests/2.31.0"),
    event(5, user=BOB, ip=VPN_IP, scope="organization", object="Organization", action="AdminAdded"),
    event(6, at=T0.replace(hour=23, minute=30), account="acc-2", ip=None, country=None, ua=None),
]


MIXED_FILTERS = [
    ({"object": "envelope"}, {"e0001", "e0002", "e0004", "e0006"}),
    ({"action": ["Deleted", "AdminAdded"]}, {"e0002", "e0005"}),
    ({"action": {"ne": "Downloaded"}}, {"e0002", "e0003", "e0005"}),
    ({"result": "Failed"}, {"e0003"}),
    ({"result": {"not_in": ["success"]}}, {"e0003"}),
    ({"user": "BOB@acme.example.com"}, {"e0004", "e0005"}),
    ({"user": ["u-alice"]}, {"e0001", "e0002", "e0003", "e0006"}),
    ({"user": {"not_in": ["bob@acme.example.com"]}}, {"e0001", "e0002", "e0003", "e0006"}),
    ({"is_admin": True}, {"e0004", "e0005"}),
    ({"is_admin": False}, {"e0001", "e0002", "e0003", "e0006"}),
    ({"scope": "organization"}, {"e0005"}),
    ({"account": "ACC-2"}, {"e0006"}),
    ({"account": {"is_set": False}}, {"e0005"}),
    ({"ip_address": {"starts_with": "203.0.113."}}, {"e0004"}),
    ({"ip_category": "corporate"}, {"e0004"}),
    # MDCA's gotcha: "not in" keeps events without the attribute (no range, no IP)
    ({"ip_category": {"not_in": ["corporate"]}}, {"e0001", "e0002", "e0003", "e0005", "e0006"}),
    ({"ip_category": {"not_in": ["corporate"], "is_set": True}}, {"e0005"}),
    ({"ip_tag": ["Office", "vpn"]}, {"e0004", "e0005"}),
    ({"ip_tag": {"not_in": ["office"]}}, {"e0001", "e0002", "e0003", "e0005", "e0006"}),
    ({"country": ["gb"]}, {"e0004"}),
    ({"country": {"ne": "US"}}, {"e0004", "e0006"}),  # e0006 has no country
    ({"user_agent": {"contains": "Python-Requests"}}, {"e0004"}),
    ({"user_agent": {"not_contains": "chrome"}}, {"e0004", "e0006"}),
    ({"time_of_day": ["22:00", "06:00"]}, {"e0006"}),
    ({"time_of_day": {"not_between": ["22:00", "06:00"]}}, {"e0001", "e0002", "e0003", "e0004", "e0005"}),
    ({"object": "Envelope", "action": "Downloaded", "country": "US"}, {"e0001"}),
]


@pytest.mark.parametrize(("filters", "expected"), MIXED_FILTERS)
def test_each_filter_selects_exactly_its_events(filters, expected):
    assert matched(MIXED, filters, admins=(BOB,)) == expected


@pytest.mark.parametrize(
    ("filters", "expected"), [case for case in MIXED_FILTERS if pc.ENRICHED_FIELDS.isdisjoint(case[0])])
def test_a_policy_that_names_no_ip_class_or_admin_state_matches_without_them(filters, expected):
    """Most policies filter on the event alone. They must not pay for the range joins over every
    address of the window, or for the admin states: with those relations gone, they match the same."""
    gone = ("users", "org_ip_ranges", "ip_list_entries")
    assert matched(MIXED, filters, admins=(BOB,), without=gone) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"property": "sessiontimeout"}, {"e0011", "e0012", "e0013", "e0018"}),
        ({"property": "sessionTimeout", "new_value": {"gt": 30}}, {"e0011", "e0018"}),
        ({"new_value": {"gte": 30}}, {"e0011", "e0012", "e0018"}),  # "never" is no number: never compared
        ({"old_value": {"lt": 40}, "new_value": {"is_set": True}}, {"e0011", "e0013"}),
        ({"new_value": ["NEVER", 30]}, {"e0012", "e0013"}),
        ({"new_value": False}, {"e0014", "e0019"}),  # a boolean in the file is the text "false"
        ({"old_value": True}, {"e0014", "e0019"}),
        ({"affected_user": "ZED@contractor.example"}, {"e0015"}),
        ({"affected_user": ["u-alice", "u-zed"]}, {"e0015", "e0016"}),
        ({"affected_user_managed": False, "action": "AdminAdded"}, {"e0015"}),
        ({"managed_user": False}, {"e0015"}),  # unknown (null) is neither managed nor external
        ({"managed_user": True, "object": "User"}, set()),
        ({"signin_class": "NON_INTERACTIVE_SUCCESS"}, {"e0017"}),
        ({"source": {"ne": "web"}}, {"e0017"}),
    ],
)
def test_change_user_and_signin_filters(filters, expected):
    assert matched(CHANGES, filters) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"new_value": {"gt": "thirty"}}, "filters.new_value.gt: expected a number"),
        ({"property": {"gt": 3}}, "filters.property: operator 'gt' is not allowed"),
        ({"changed_setting": "x"}, "filters.changed_setting: unknown field"),
        ({"managed_user": "yes"}, "filters.managed_user.eq: expected true or false"),
    ],
)
def test_bad_new_filters_name_the_field(filters, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        policy(filters)


def test_ip_tag_includes_the_ip_lists_an_address_is_on():
    from dsassets.lib.intel.ip_intel import ip_list_table

    table, _ = ip_list_table(ProjectConfig())
    row = next(r for r in table.to_pylist() if r["list_name"] == "tor_exit_nodes")
    tor_ip = row["cidr"].split("/")[0]
    events = [event(1, ip=tor_ip), event(2)]
    assert matched(events, {"ip_tag": [row["tag"]]}) == {"e0001"}


def test_an_injection_attempt_in_a_value_is_matched_literally():
    evil = "x' or 1=1 --"
    events = [event(1), event(2, user=("u-evil", evil)), event(3, ua="a'); drop table activities; --")]
    assert matched(events, {"user": evil}) == {"e0002"}
    assert matched(events, {"user_agent": {"contains": "'); drop table activities; --"}}) == {"e0003"}
    assert matched(events, {"action": ["Downloaded' or '1'='1"]}) == set()
    condition, params = pc.where_clause(policy({"user": evil}))
    assert evil not in condition and evil in params.values()


# ---------------------------------------------------------------------------------------------
# single and repeated activity

def burst(start_i, at, n, every=timedelta(seconds=30), user=ALICE, action="Deleted"):
    return [event(start_i + k, at=at + k * every, user=user, action=action) for k in range(n)]


def test_single_activity_alerts_once_per_event_with_a_stable_id():
    p = policy({"action": "Deleted"})
    first = alerts(burst(1, T0, 3), p)
    assert len(first) == 3 and len({a["alert_id"] for a in first}) == 3
    assert [a["alert_id"] for a in alerts(burst(1, T0, 3), p)] == [a["alert_id"] for a in first]
    assert all(a["policy"] == "p_test" and a["event_ids"] == [a["event_ids"][0]] for a in first)


def test_repeated_activity_needs_n_events_within_m_minutes_of_one_user():
    p = policy({"action": "Deleted"}, threshold={"count": 5, "minutes": 10})
    assert alerts(burst(1, T0, 4), p) == []                                   # 4 < 5
    assert alerts(burst(1, T0, 5, every=timedelta(minutes=3)), p) == []      # 5 spread over 12 min
    split = burst(1, T0, 3) + burst(10, T0, 3, user=BOB)                      # 6 events, 2 users
    assert alerts(split, p) == []
    found = alerts(burst(1, T0, 12), p)
    assert len(found) == 1                                                    # one alert per burst
    a = found[0]
    assert a["user_id"] == "u-alice" and len(a["event_ids"]) == 12
    assert a["event_ids"][0] == "e0001" and a["started_at"] == T0


def test_repeated_activity_across_users():
    p = policy({"action": "Deleted"}, threshold={"count": 5, "minutes": 10, "same_user": False})
    found = alerts(burst(1, T0, 3) + burst(10, T0 + timedelta(seconds=5), 3, user=BOB), p)
    assert len(found) == 1
    assert found[0]["user_id"] is None and sorted(found[0]["event_ids"])[0] == "e0001"
    assert '"users":["alice@acme.example.com","bob@acme.example.com"]' in found[0]["evidence"]


def test_two_bursts_far_apart_are_two_alerts():
    p = policy({"action": "Deleted"}, threshold={"count": 5, "minutes": 10})
    found = alerts(burst(1, T0, 6) + burst(20, T0 + timedelta(hours=2), 6), p)
    assert [a["event_ids"][0] for a in found] == ["e0001", "e0020"]


def test_a_burst_across_midnight_is_one_alert_whatever_the_run_order():
    p = policy({"action": "Deleted"}, threshold={"count": 5, "minutes": 10})
    late = datetime(2026, 11, 24, 23, 57, tzinfo=timezone.utc)
    events = burst(1, late, 20)  # 23:57 .. 00:06:30 the next day
    d1, d2, d3 = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    together = alerts(events, p, d1, d3)
    day_by_day = alerts(events, p, days=[(d1, d2), (d2, d3)])
    backwards = alerts(events, p, days=[(d2, d3), (d1, d2)])
    assert len(together) == len(day_by_day) == len(backwards) == 1
    assert together[0]["alert_id"] == day_by_day[0]["alert_id"] == backwards[0]["alert_id"]
    assert together[0]["partition_date"] == d1
    # Only events up to midnight are listed: the later day cannot change the earlier alert.
    assert together[0]["event_ids"] == day_by_day[0]["event_ids"]
    assert max(together[0]["event_ids"]) < "e0008"


def test_a_burst_that_crosses_the_threshold_after_midnight_alerts_on_that_day_with_the_first_event():
    p = policy({"action": "Deleted"}, threshold={"count": 5, "minutes": 10})
    late = datetime(2026, 11, 24, 23, 58, tzinfo=timezone.utc)
    events = burst(1, late, 6, every=timedelta(minutes=1))  # 5th event at 00:02
    d1, d2, d3 = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    only_second = alerts(events, p, d2, d3)
    assert len(only_second) == 1 and only_second[0]["event_ids"][0] == "e0001"
    assert only_second[0]["partition_date"] == d2
    assert [a["alert_id"] for a in alerts(events, p, d1, d3)] == [only_second[0]["alert_id"]]


# ---------------------------------------------------------------------------------------------
# malformed policies

GOOD = """
  - id: good_one
    title: Good
    severity: low
    filters: {action: Deleted}
"""


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ("filters: {colour: red}", "filters.colour", "unknown field"),
        ("filters: {country: {like: US}}", "filters.country", "operator 'like' is not allowed"),
        ("filters: {is_admin: 'yes'}", "filters.is_admin.eq", "expected true or false"),
        ("filters: {action: Deleted}\n    threshold: {count: 5, minutes: -10}", "threshold.minutes",
         "greater than or equal to 1"),
        ("filters: {action: Deleted}\n    threshold: {count: 'five', minutes: 10}", "threshold.count",
         "valid integer"),
        ("filters: {action: Deleted}\n    severity_level: high", "severity_level", "Extra inputs"),
        ("filters: {ip_category: [office]}", "filters.ip_category.in", "not one of"),
        ("filters: {time_of_day: ['25:00', '06:00']}", "filters.time_of_day.between", "not a time"),
        ("filters: {action: Deleted}\n    actions: [delete_user]", "actions.0", "notify_user"),
    ],
)
def test_malformed_policy_is_rejected_naming_file_policy_and_field_and_others_still_load(tmp_path, bad, field,
                                                                                         message):
    file = tmp_path / "mine.yaml"
    file.write_text(
        "policies:\n  - id: broken\n    title: Broken\n    severity: low\n    " + bad + "\n" + GOOD
    )
    loaded = load_policies(["*.yaml"], tmp_path)
    assert [p.id for p in loaded.policies] == ["good_one"]
    assert len(loaded.errors) == 1
    text = str(loaded.errors[0])
    assert text.startswith(f"{file}: policy broken: ")
    assert field in text and message in text


def test_unreadable_file_and_duplicate_ids_are_errors_too(tmp_path):
    (tmp_path / "a.yaml").write_text("policies:" + GOOD)
    (tmp_path / "b.yaml").write_text("policies:" + GOOD)
    (tmp_path / "c.yaml").write_text("policies: [\n")
    loaded = load_policies(["*.yaml"], tmp_path)
    assert [p.id for p in loaded.policies] == ["good_one"]
    messages = [str(e) for e in loaded.errors]
    assert any("b.yaml: policy good_one: id: another policy already uses this id" in m for m in messages)
    assert any("c.yaml: invalid YAML" in m for m in messages)


def test_builtin_ids_are_reserved():
    with pytest.raises(ValueError, match="built-in detection"):
        policy({"action": "x"}, id="impossible_travel")


def test_the_shipped_example_policies_load():
    root = Path(__file__).resolve().parents[1]
    loaded = load_policies(["policies/*.yaml"], root)
    assert not loaded.errors
    assert {p.id for p in loaded.policies} >= {
        "mass_envelope_deletion", "failed_signin_burst", "admin_added", "settings_changed_outside_corporate",
        "mass_download"}


def test_the_code_location_loads_with_a_malformed_policy_and_keeps_the_others(tmp_path):
    """In a fresh process, as Dagster loads the location: the good policy is an asset, the bad one a warning."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "mine.yaml").write_text(
        "policies:\n  - id: broken\n    title: Broken\n    severity: low\n    filters: {colour: red}\n" + GOOD)
    (tmp_path / "dsassets.yaml").write_text("activity_policies:\n  files: ['policies/*.yaml']\n")
    code = (
        "from dsassets.definitions import defs\n"
        "keys = {k.to_user_string() for k in defs().resolve_asset_graph().get_all_asset_keys()}\n"
        "print(sorted(k for k in keys if k.startswith('pol_')))\n"
    )
    env = {**os.environ, "DSASSETS_CONFIG": str(tmp_path / "dsassets.yaml"), "DSASSETS_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['pol_good_one']"
    assert f"activity policy rejected: {tmp_path / 'policies' / 'mine.yaml'}: policy broken: filters.colour" \
        in done.stderr


# ---------------------------------------------------------------------------------------------
# daily match cap

EVERYTHING = {"object": {"ne": "no such object"}}  # matches every event, even ones without an object


def test_a_flooding_policy_stops_at_its_cap_with_one_flooded_alert_per_day():
    day2 = T0 + timedelta(days=1)
    events = [event(i, at=T0 + timedelta(seconds=37 * i), user=(ALICE, BOB)[i % 2], object=None if i == 7 else "User")
              for i in range(20)]
    events += [event(100 + i, at=day2 + timedelta(minutes=i)) for i in range(3)]
    out = alerts(events, policy(EVERYTHING), end=DAY + timedelta(days=2), cap=5)
    first = [a for a in out if a["dt"] == DAY]
    assert len(first) == 6
    normal, flooded = first[:5], first[5]
    assert [a["event_ids"] for a in normal] == [[f"e{i:04d}"] for i in range(5)]  # the day's first five
    assert flooded["title"] == "Policy flooded: t" and flooded["user_id"] is None
    assert flooded["event_ids"] == [f"e{i:04d}" for i in range(5, 20)]
    assert "20 matching events on 2026-11-24, past the daily cap of 5" in flooded["description"]
    assert json.loads(flooded["evidence"]) == {"policy_type": "activity_policy", "match": "flooded",
                                               "daily_match_cap": 5, "day_matches": 20}
    assert len([a for a in out if a["dt"] == DAY + timedelta(days=1)]) == 3  # under the cap: untouched
    # Re-running gives the same flooded alert (a stable id), and a day at exactly the cap is not flooded.
    assert alerts(events, policy(EVERYTHING), end=DAY + timedelta(days=2), cap=5)[5]["alert_id"] == flooded["alert_id"]
    assert len(alerts(events, policy(EVERYTHING), cap=20)) == 20


def test_the_policy_cap_overrides_the_default_and_bursts_are_capped_by_their_opening_match():
    events = [event(i, at=T0 + timedelta(minutes=i), action="Deleted") for i in range(12)]
    events += [event(50 + i, at=T0 + timedelta(hours=3, minutes=i), action="Deleted") for i in range(3)]
    burst = {"action": "Deleted"}, {"count": 3, "minutes": 10}
    out = alerts(events, policy(burst[0], threshold=burst[1], daily_match_cap=15), cap=1)  # the policy's own wins
    assert [a["event_ids"][0] for a in out] == ["e0000", "e0050"]  # 15 matches: at the cap, not past it
    at13 = alerts(events, policy(burst[0], threshold=burst[1], daily_match_cap=13))
    assert [a["event_ids"][0] for a in at13] == ["e0000", "e0050", "e0051"]  # the late burst opens at match 13
    assert json.loads(at13[2]["evidence"])["match"] == "flooded"
    capped = alerts(events, policy(burst[0], threshold=burst[1], daily_match_cap=11))
    assert [a["event_ids"][0] for a in capped] == ["e0000", "e0011"]  # the late burst opens past the cap
    assert json.loads(capped[1]["evidence"])["match"] == "flooded"
    assert alerts(events, policy({"action": "Deleted"}, enabled=False), cap=1) == []


# descriptions an analyst can act on


def test_single_event_descriptions_name_the_affected_user_the_change_and_the_place():
    events = [
        event(1, user=BOB, scope="organization", object="Organization", action="AdminAdded",
              affected=ALICE, city="Lyon", country="FR"),
        event(2, user=BOB, object="Account", action="Updated", change=("SessionTimeout", '"20"', '"120"'),
              city=None, country="NL", at=T0 + timedelta(minutes=5)),
    ]
    got = alerts(events, policy({"action": ["AdminAdded", "Updated"]}))
    admin, setting = (a["description"] for a in got)
    assert "affected user alice@acme.example.com" in admin and "(Lyon, FR)" in admin
    assert "bob@acme.example.com: Organization AdminAdded (Success) at 2026-11-24 10:00:00 UTC" in admin
    assert "setting SessionTimeout: 20 -> 120" in setting and "(NL)" in setting
    assert " to " not in admin.split("UTC")[0]  # one event: a moment, not "from X to X"


def test_repeated_descriptions_keep_the_span_and_list_the_places():
    events = [event(i, at=T0 + timedelta(minutes=i), city="Porto", country="PT") for i in range(3)]
    (alert,) = alerts(events, policy({"action": "Downloaded"}, threshold={"count": 3, "minutes": 10}))
    assert "3 x Envelope Downloaded from 2026-11-24 10:00:00 to 2026-11-24 10:02:00 UTC" in alert["description"]
    assert "(Porto, PT)" in alert["description"]
