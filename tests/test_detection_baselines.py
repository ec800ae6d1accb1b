"""The detections' per-user daily baselines (sql/baselines/): what a day keeps, and the alerts read from it.

The baselines replace 30 days of events in every day's detections, so each must hold exactly what
the policies need: these tests build activity by hand (``Case`` of test_detections), shaped
unlike the simulator's (sessions across midnight and across whole days, a baseline starting in
the middle of a day, failures and token refreshes mixed in), and check the rows and the alerts.
"""

from datetime import date, timedelta

from test_detections import HISTORY, D, NEXT, Case, at, case

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections import engine as detections
from dsassets.lib.detections.baselines import BASELINES, variables


def baseline_rows(c: Case, name: str, start: date, end: date, config: ProjectConfig | None = None) -> list[dict]:
    """The baseline ``name`` for the days ``[start, end]``, made in one query (as a range run does)."""
    con = c.connect()
    detections.set_variables(con, {k.removeprefix("det_"): v for k, v in variables(config or ProjectConfig()).items()})
    con.execute(f"set variable window_start = date '{start}'")
    con.execute(f"set variable window_end = date '{end + timedelta(days=1)}'")
    detections.install_session_macros(con)
    query = next(b for b in BASELINES if b.name == name).query()
    cur = con.execute(f"select * from ({query}) order by all")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def test_a_range_of_days_gives_the_rows_of_each_day_alone():
    c = Case()
    for k in range(3):
        day = D + timedelta(days=k)
        c.login(at(day, 23, 50), "night")  # every session of this user crosses midnight
        c.login(at(day + timedelta(days=1), 0, 5), "night", ok=False)
        c.login(at(day, 9), "day", city="paris", ip="81.2.69.160")
    for baseline in BASELINES:
        whole = baseline_rows(c, baseline.name, D, D + timedelta(days=3))
        by_day = [r for k in (3, 1, 0, 2) for r in baseline_rows(c, baseline.name, D + timedelta(days=k),
                                                                  D + timedelta(days=k))]
        key = lambda r: (r["dt"], str(r))  # noqa: E731
        assert sorted(whole, key=key) == sorted(by_day, key=key), baseline.name


def test_session_fragments_split_at_midnight_and_keep_lists_only_where_an_alert_needs_them():
    c = Case()
    quiet = c.login(at(D, 12), "u")  # mid-day, no failure: its ids are never needed
    late = [c.login(at(D, 23, 45), "u", ok=False), c.login(at(D, 23, 58), "u")]
    c.login(at(NEXT, 0, 10), "u", ok=False)
    c.event(at(D, 13), "u")  # not a sign-in
    c.login(at(D, 15), "u", ok=False, ip="10.1.1.1")
    c.login(at(D, 15, 1), "u", ip="10.1.1.2")
    rows = {r["first_event_id"]: r for r in baseline_rows(c, "det_baseline_signin_sessions", D, NEXT)}
    assert rows[quiet]["event_ids"] is None and rows[quiet]["successes"] == 1
    assert rows[late[0]]["event_ids"] == late and rows[late[0]]["failures"] == 1
    afternoon = next(r for r in rows.values() if r["ip_addresses"] and "10.1.1.1" in r["ip_addresses"])
    assert (afternoon["failures"], afternoon["successes"]) == (1, 1)
    assert sorted(afternoon["ip_addresses"]) == ["10.1.1.1", "10.1.1.2"]
    next_day = [r for r in rows.values() if r["dt"] == NEXT]
    assert len(next_day) == 1 and next_day[0]["failures"] == 1  # the same session, its own fragment
    assert {r["session_gap_minutes"] for r in rows.values()} == {20}


def test_country_rows_keep_evaluated_kinds_apart_and_every_time():
    c = Case()
    c.login(at(D, 8), "u", city="tokyo")
    c.login(at(D, 9), "u", city="tokyo")
    c.login(at(D, 10), "u", ok=False, city="moscow")  # failures are never evaluated
    c.event(at(D, 11), "u", city="tokyo")
    c.event(at(D, 12), "u", city="berlin", location_source="ip_lookup")
    rows = baseline_rows(c, "det_baseline_user_countries", D, D)
    got = {(r["country_code"], r["location_source"], r["evaluated_as"]): (r["events"], len(r["event_times"]))
           for r in rows}
    assert got == {("JP", "docusign", "signin"): (2, 2), ("JP", "docusign", "activity"): (1, 1),
                   ("DE", "ip_lookup", "activity"): (1, 1)}


def test_ip_users_are_directory_users_with_successful_interactive_signins():
    c = Case()
    c.login(at(D, 8), "u", ip="9.9.9.9")
    c.login(at(D, 9), "u", ip="9.9.9.9")
    c.login(at(D, 10), "v", ok=False, ip="9.9.9.9")
    c.event(at(D, 11), "w", ip="9.9.9.9")
    rows = baseline_rows(c, "det_baseline_ip_users", D, D)
    assert [r["user_id"] for r in rows] == ["u-u"]


# ---------- alerts read from the baselines, on shapes the simulator does not make


def test_brute_force_across_two_midnights_alerts_on_the_crossing_day_with_every_attempt():
    c = case("slow")
    start = D - timedelta(days=2)
    attempts = [c.login(at(start, 22) + timedelta(minutes=15 * k), "slow", ok=False) for k in range(6)]
    # then a token refresh every 15 minutes keeps the session open through the whole next day,
    # which has no failure (its fragment keeps its events because it touches midnight)
    for k in range(6, 106):
        c.event(at(start, 22) + timedelta(minutes=15 * k), "slow", signin="non_interactive_success",
                object="User", action="Refresh")
    for k in range(106, 112):
        attempts.append(c.login(at(start, 22) + timedelta(minutes=15 * k), "slow", ok=False))
    [alert] = c.run("multiple_failed_logins", start, D)
    # the tenth failure, 27 hours after the first, is on D: the session's earlier days come from
    # the baseline's fragments
    assert alert["partition_date"] == D
    assert alert["event_ids"][0] == attempts[0] and set(attempts) <= set(alert["event_ids"])
    assert alert["evidence"]["failures"] == 12 and len(alert["event_ids"]) == 112 + 1  # and D-1's sign-in


def test_an_attack_that_ended_just_after_an_earlier_midnight_still_holds_back_the_next_days_repeat():
    c = case("night")
    before = D - timedelta(days=2)
    # 5 failures before D-1's midnight and 6 after it: one session, which crosses the threshold of 10
    # on D-1; its D-1 fragment starts within a session gap of that midnight, ends far from the next
    attempts = [c.login(at(before, 23, 55 + k), "night", ok=False) for k in range(5)]
    attempts += [c.login(at(D - timedelta(days=1), 0, 1 + k), "night", ok=False) for k in range(6)]
    [alert] = c.run("multiple_failed_logins", D - timedelta(days=1))
    assert alert["event_ids"] == attempts and alert["evidence"]["failures"] == 11
    # D's attack starts 23 h 57 min after that one ended: within dedup_hours, the same attack
    for k in range(12):
        c.login(at(D, 0, 3, k * 5), "night", ok=False)
    assert c.run("multiple_failed_logins", D) == []
    assert len(c.run("multiple_failed_logins", D - timedelta(days=2), D)) == 1


def test_infrequent_country_baseline_starts_at_the_alerting_events_own_time():
    c = case("trip")
    anchor = at(D, 12)
    # 30 days and a minute or two before the anchor: outside; 30 days less a minute: inside (the
    # same day and country as an outside one: the day's row counts only its events from then on)
    c.login(anchor - timedelta(days=30, minutes=1), "trip", city="tokyo")
    c.login(anchor - timedelta(days=30, minutes=2), "trip", city="sydney")
    c.login(anchor - timedelta(days=30) + timedelta(minutes=1), "trip", city="sydney")
    c.login(anchor, "trip", city="sao paulo")
    [alert] = [a for a in c.run("infrequent_country", D) if a["countries"] == ["BR"]]
    assert alert["evidence"]["baseline_countries"] == ["AU", "US"]
    # the ordinary history's daily sign-in (its envelopes are not evaluated) and the one from Sydney
    assert alert["evidence"]["baseline_events"] == (D - HISTORY).days + 1


def test_detections_read_their_baselines_over_their_lookback_and_baselines_only_their_day():
    import dagster as dg

    from dsassets.definitions import defs
    from dsassets.defs.late_events.sensor import RECHECK
    from dsassets.lib.detections.registry import DETECTIONS

    graph = defs().resolve_asset_graph()
    config = ProjectConfig()
    for detection in DETECTIONS:
        for name in detection.baselines:
            mapping = graph.get_partition_mapping(dg.AssetKey(detection.asset_name), dg.AssetKey(name))
            assert mapping.start_offset == -detections.lookback_days(config, detection.id), detection.id
        raw = graph.get_partition_mapping(dg.AssetKey(detection.asset_name), dg.AssetKey("activities"))
        assert raw.start_offset == -detections.raw_lookback_days(config, detection.id), detection.id
    for baseline in BASELINES:
        node = graph.get(dg.AssetKey(baseline.name))
        assert node.group_name == "baselines" and {k.path[-1] for k in node.parent_keys} == {"activities"}
        # a late day re-materializes its baselines (the sensor's selection)
        assert node.key in RECHECK.resolve(graph)


def test_fragments_made_with_other_session_settings_are_named_not_read():
    from dsassets.lib.detections.baselines import stale_session_days

    c = Case()
    c.login(at(D, 9), "u")
    c.login(at(NEXT, 9), "u")
    con = c.connect()
    detections.set_variables(con, {k.removeprefix("det_"): v for k, v in variables(ProjectConfig()).items()})
    con.execute(f"set variable window_start = date '{D}'")
    con.execute(f"set variable window_end = date '{NEXT + timedelta(days=1)}'")
    detections.install_session_macros(con)
    query = next(b for b in BASELINES if b.name == "det_baseline_signin_sessions").query()
    con.execute(f"create table fragments as {query}")
    assert stale_session_days(con, "fragments", ProjectConfig(), D, NEXT + timedelta(days=1)) == []
    longer = ProjectConfig.model_validate({"detections": {"multiple_failed_logins": {"session_gap_minutes": 45}}})
    assert stale_session_days(con, "fragments", longer, D, NEXT + timedelta(days=1)) == [D, NEXT]
    assert stale_session_days(con, "fragments", longer, NEXT, NEXT + timedelta(days=1)) == [NEXT]


def test_an_anonymous_ip_incident_past_midnight_is_one_alert_in_a_range_or_day_by_day():
    # the raw lookback: read from the lake for a single day, rolled forward from the day before
    # in a range run; both must see the sign-in of the night before
    c = case("owl")
    c.login(at(D, 23, 30), "owl", ip="185.220.101.4", city="frankfurt")
    c.login(at(NEXT, 1), "owl", ip="185.220.101.4", city="frankfurt")
    c.login(at(NEXT + timedelta(days=1), 9), "owl", ip="185.220.101.4", city="frankfurt")  # 31.5 h later
    ranged = c.run("anonymous_ip", D, NEXT + timedelta(days=1))
    by_day = [a for day in (NEXT + timedelta(days=1), NEXT, D) for a in c.run("anonymous_ip", day)]
    assert [a["partition_date"] for a in ranged] == [D, NEXT + timedelta(days=1)]
    assert sorted(a["alert_id"] for a in ranged) == sorted(a["alert_id"] for a in by_day)
