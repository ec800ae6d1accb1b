"""The six anomaly policies on hand-built activity: each alerts on its case and stays quiet on a near miss.

Every case runs the policy's real SQL (``sql/detections/``) over tiny in-memory relations shaped
like the marts (``Case`` below), one day at a time as the assets do. Users get 19
days of ordinary history first, so they are past the 7-day learning period.
"""

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pytest

from dsassets.lib.detections import engine as detections
from dsassets.lib.detections.baselines import BASELINES, variables as baseline_variables
from dsassets.lib.config.project import ProjectConfig, parse_config
from dsassets.lib.detections.config import POLICIES
from dsassets.lib.intel.ip_intel import address_hex

# ---------- hand-built activity: tiny in-memory relations shaped like the marts

UTC = timezone.utc
CITIES = {
    # city: (country, lat, lon)
    "seattle": ("US", 47.61, -122.33),
    "new york": ("US", 40.71, -74.01),
    "toronto": ("CA", 43.65, -79.38),
    "london": ("GB", 51.51, -0.13),
    "manchester": ("GB", 53.48, -2.24),
    "paris": ("FR", 48.86, 2.35),
    "berlin": ("DE", 52.52, 13.40),
    "frankfurt": ("DE", 50.11, 8.68),
    "tokyo": ("JP", 35.68, 139.69),
    "sydney": ("AU", -33.87, 151.21),
    "moscow": ("RU", 55.76, 37.62),
    "sao paulo": ("BR", -23.55, -46.63),
}


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour, minutes=minute, seconds=second)


@dataclass
class Case:
    rows: list[dict] = field(default_factory=list)
    idp: list[dict] = field(default_factory=list)
    lifecycle: list[dict] = field(default_factory=list)
    seq: int = 0

    def event(self, when: datetime, user: str, *, signin: str | None = None, ip: str = "73.15.1.10",
              city: str | None = "seattle", object: str = "Envelope", action: str = "Sent",
              proxy_type: str = "", account: str = "acct-1", location_source: str = "docusign") -> str:
        self.seq += 1
        event_id = f"ev-{self.seq:06d}"
        country, lat, lon = CITIES[city] if city else (None, None, None)
        self.rows.append({
            "event_id": event_id, "event_at": when, "dt": when.date(), "account_id": account,
            "user_id": f"u-{user}", "user_email": f"{user}@acme.example", "object": object,
            "action": action, "signin_class": signin, "ip_address": ip, "ip_hex": address_hex(ip),
            "country_code": country, "latitude": lat, "longitude": lon, "region": None,
            "city": city, "location_source": location_source if city else None,
            "proxy_status": "Proxy" if proxy_type else "", "proxy_type": proxy_type,
        })
        return event_id

    def login(self, when: datetime, user: str, ok: bool = True, **kw) -> str:
        return self.event(when, user, signin="interactive_success" if ok else "interactive_failure",
                          object="User", action="Login", **kw)

    def history(self, user: str, start: date, days: int, *, city: str = "seattle",
                ip: str = "73.15.1.10") -> None:
        """One ordinary working day of sign-in plus envelope activity per day."""
        for k in range(days):
            day = start + timedelta(days=k)
            self.login(at(day, 16), user, ip=ip, city=city)
            self.event(at(day, 16, 5), user, ip=ip, city=city)

    def idp_user(self, snapshot_day: date, user: str, status: str, changed: datetime,
                 lifecycle: list[dict] | None = None) -> None:
        self.idp.append({
            "idp_user_id": f"idp-{user}", "user_principal_name": f"{user}@acme.example",
            "email": f"{user}@acme.example", "idp_status": status, "idp_status_changed_at": changed,
            "idp_status_changed_at_source": "directory_audit" if changed else None,
            "idp_emails": [f"{user}@acme.example"],
            "idp_lifecycle": json.dumps(lifecycle or []), "snapshot_taken_at": at(snapshot_day, 23, 59),
            "extracted_from": "test", "dt": snapshot_day,
        })

    def lifecycle_event(self, when: datetime, user: str, event_type: str) -> None:
        self.seq += 1
        self.lifecycle.append({"event_id": f"lc-{self.seq}", "event_at": when, "dt": when.date(),
                               "user_id": f"u-{user}", "event_type": event_type})

    # ---------- running

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        schema = pa.schema([
            ("event_id", pa.string()), ("event_at", pa.timestamp("us", tz="UTC")), ("dt", pa.date32()),
            ("account_id", pa.string()), ("user_id", pa.string()), ("user_email", pa.string()),
            ("object", pa.string()), ("action", pa.string()), ("signin_class", pa.string()),
            ("ip_address", pa.string()), ("ip_hex", pa.string()), ("country_code", pa.string()),
            ("latitude", pa.float64()), ("longitude", pa.float64()), ("region", pa.string()),
            ("city", pa.string()), ("location_source", pa.string()), ("proxy_status", pa.string()),
            ("proxy_type", pa.string()),
        ])
        con.register("a__arrow", pa.Table.from_pylist(self.rows, schema=schema))
        con.execute("create table activities as select * from a__arrow")
        con.execute("""create table int_user_activity_daily as
                       select dt, user_id, count(*) as event_count, min(event_at) as first_event_at,
                              max(event_at) as last_event_at from activities group by all""")
        idp_schema = pa.schema([
            ("idp_user_id", pa.string()), ("user_principal_name", pa.string()), ("email", pa.string()),
            ("idp_status", pa.string()), ("idp_status_changed_at", pa.timestamp("us", tz="UTC")),
            ("idp_status_changed_at_source", pa.string()), ("idp_emails", pa.list_(pa.string())),
            ("idp_lifecycle", pa.string()), ("snapshot_taken_at", pa.timestamp("us", tz="UTC")),
            ("extracted_from", pa.string()), ("dt", pa.date32()),
        ])
        con.register("i__arrow", pa.Table.from_pylist(self.idp, schema=idp_schema))
        con.execute("create table stg_idp__users as select * from i__arrow")
        lc_schema = pa.schema([("event_id", pa.string()), ("event_at", pa.timestamp("us", tz="UTC")),
                               ("dt", pa.date32()), ("user_id", pa.string()), ("event_type", pa.string())])
        con.register("l__arrow", pa.Table.from_pylist(self.lifecycle, schema=lc_schema))
        con.execute("create table int_user_lifecycle_events as select * from l__arrow")
        return con

    def run(self, policy: str, start: date, end: date | None = None,
            config: ProjectConfig | dict | None = None) -> list[dict]:
        """Alerts of ``policy`` for the days ``[start, end]`` (inclusive), one day at a time."""
        end = end or start
        return self.alerts(self.prepared(policy, start, end, config), policy, start, end)

    @staticmethod
    def alerts(con: duckdb.DuckDBPyConnection, policy: str, start: date, end: date) -> list[dict]:
        """Alerts of ``policy`` for the days ``[start, end]`` on a prepared connection, one day at a time."""
        query = detections.alert_query(policy)
        out = []
        day = start
        while day <= end:
            con.execute(f"set variable window_start = date '{day}'")
            con.execute(f"set variable window_end = date '{day + timedelta(days=1)}'")
            detections.prepare_day(con, policy, only_day=start == end)  # as the assets run one day, or a range
            cur = con.execute(query)
            names = [d[0] for d in cur.description]
            out += [dict(zip(names, row)) for row in cur.fetchall()]
            day += timedelta(days=1)
        for a in out:
            a["evidence"] = json.loads(a["evidence"]) if a["evidence"] else None
        return out

    def prepared(self, policy: str, start: date, end: date,
                 config: ProjectConfig | dict | None = None) -> duckdb.DuckDBPyConnection:
        """A connection set up as the policy's asset sets up a run of ``[start, end]``."""
        if isinstance(config, dict):
            config = parse_config(config, source="test")
        config = config or ProjectConfig()
        con = self.connect()
        # every day's baselines, as their assets make them (their SQL reads one day at a time)
        detections.set_variables(con, {k.removeprefix("det_"): v for k, v in baseline_variables(config).items()})
        con.execute(f"set variable window_start = date '{min(r['dt'] for r in self.rows)}'")
        con.execute(f"set variable window_end = date '{max(r['dt'] for r in self.rows) + timedelta(days=1)}'")
        detections.install_session_macros(con)
        for baseline in BASELINES:
            con.execute(f"create table {baseline.name} as {baseline.query()}")
        con.execute(f"set variable window_start = date '{start}'")
        con.execute(f"set variable window_end = date '{start + timedelta(days=1)}'")
        detections.install(con, config, policy)
        con.execute(f"set variable window_end = date '{end + timedelta(days=1)}'")
        detections.prepare_run(con, policy)
        return con


HISTORY = date(2026, 3, 1)
D = date(2026, 3, 20)
NEXT = D + timedelta(days=1)


def case(*users: str, **kw) -> Case:
    c = Case()
    for u in users:
        c.history(u, HISTORY, (D - HISTORY).days, **kw)
    return c


def users(alerts: list[dict]) -> list[str]:
    return sorted(a["user_email"].split("@")[0] for a in alerts)


COLUMNS = [name for name, _ in detections.ALERT_COLUMNS]


# ---------- what a policy reads


def _class_columns_scanned(plan: dict) -> set[str]:
    """The columns of detection_ip_classes that a DuckDB plan (EXPLAIN (FORMAT JSON)) scans."""
    extra = plan.get("extra_info", {})
    found = set()
    if isinstance(extra, dict) and "detection_ip_classes" in str(extra.get("Table", "")):
        projected = extra.get("Projections", [])
        found |= {projected} if isinstance(projected, str) else set(projected)
    for child in plan.get("children", []):
        found |= _class_columns_scanned(child)
    return found


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_policy_skips_the_address_classes_only_when_duckdb_reads_none_of_them(policy):
    # prepare_run computes an address's classes only for policies whose SQL names a class column
    # (engine.reads_ip_classes): DuckDB's own plan of the policy, with the classes filled, must agree
    c = case("alice", "bob")
    c.login(at(D, 10), "alice", ip="185.220.101.4", city="frankfurt")  # on the Tor list
    c.login(at(D, 11), "bob", ip="203.0.113.30", city="new york")  # the default config's office range
    c.login(at(D, 12), "bob", ip="86.130.2.2", city="london")
    con = c.prepared(policy, D, D)
    con.execute("create or replace temp table detection_ip_classes as select * from detection_ip_classes__view")
    assert con.execute("select count(*) from detection_ip_classes").fetchone()[0] == 2
    detections.prepare_day(con, policy, only_day=True)
    [(_, plan)] = con.execute("explain (format json) " + detections.alert_query(policy)).fetchall()
    scanned = set().union(*(_class_columns_scanned(node) for node in json.loads(plan)))
    assert "ip_hex" in scanned
    assert (scanned != {"ip_hex"}) == detections.reads_ip_classes(policy), scanned


# ---------- anonymous IP


def test_anonymous_ip_tor_signin_alerts_with_the_matching_list_and_its_date():
    c = case("alice")
    login = c.login(at(D, 10), "alice", ip="185.220.101.4", city="frankfurt")
    download = c.event(at(D, 10, 3), "alice", ip="185.220.101.4", city="berlin")
    [alert] = c.run("anonymous_ip", D)
    assert [k for k in alert if k != "dt"] == COLUMNS
    # what, where and who: the opening sign-in's, not the later download's
    assert alert["evidence"]["opening_activity"] == "User/Login"
    assert alert["evidence"]["location"]["city"] == "frankfurt"
    assert (alert["user_email"], alert["account_id"]) == ("alice@acme.example", "acct-1")
    assert alert["policy"] == "anonymous_ip" and alert["severity"] == "medium"
    assert alert["event_ids"] == [login, download]
    assert alert["ip_addresses"] == ["185.220.101.4"] and alert["countries"] == ["DE"]
    [match] = alert["evidence"]["matched_lists"]
    assert match["list"] == "tor_exit_nodes" and match["cidr"] == "185.220.100.0/22"
    assert match["as_of"] == "2026-11-27"
    assert "Tor exit nodes" in alert["description"] and "suspend" in alert["description"]
    assert alert["partition_date"] == D


def test_anonymous_ip_from_docusign_proxy_type_without_any_list():
    c = case("alice")
    c.login(at(D, 10), "alice", ip="99.10.9.9", city="seattle", proxy_type="TOR")
    [alert] = c.run("anonymous_ip", D)
    assert alert["evidence"]["proxy_type"] == "TOR" and alert["evidence"]["matched_lists"] is None


@pytest.mark.parametrize(
    "near_miss",
    ["failed_only", "corporate_tor_exit", "widely_used"],
)
def test_anonymous_ip_near_misses(near_miss):
    c = case("alice", "bob", "carol", "dave", "erin", "frank")
    if near_miss == "failed_only":  # MDCA does not evaluate failed sign-ins
        c.login(at(D, 10), "alice", ok=False, ip="185.220.101.4", city="frankfurt")
    elif near_miss == "corporate_tor_exit":  # a Corporate tag wins over the Tor list
        c.login(at(D, 10), "alice", ip="203.0.113.30", city="new york")
    else:  # a "Tor" address five other users sign in from on 2+ days is a mis-tagged egress
        for u in ("alice", "bob", "carol", "dave", "erin", "frank"):
            c.login(at(D - timedelta(days=3), 10), u, ip="185.220.101.4", city="frankfurt")
            c.login(at(D, 10), u, ip="185.220.101.4", city="frankfurt")
    assert c.run("anonymous_ip", D) == []


def test_org_risky_range_is_suspicious_and_corporate_range_never_is():
    config = {"ip_ranges": [
        {"name": "Known spray source", "category": "risky", "cidrs": ["99.10.0.0/16"]},
        {"name": "HQ", "category": "corporate", "cidrs": ["192.0.2.0/28"]},
    ]}
    c = case("alice", "bob")
    c.login(at(D, 10), "alice", ip="99.10.1.1")
    c.login(at(D, 10), "bob", ip="192.0.2.10", city="moscow")  # on the TI list, but ours
    [alert] = c.run("suspicious_ip", D, config=config)
    assert alert["user_email"] == "alice@acme.example"
    assert alert["evidence"]["organization_range"] == "Known spray source"


# ---------- suspicious IP


def test_suspicious_ip_successful_signin_from_threat_intel_alerts_failed_only_does_not():
    c = case("alice", "bob")
    c.login(at(D, 10), "alice", ip="192.0.2.10", city="moscow")
    for k in range(3):
        c.login(at(D, 11, k), "bob", ok=False, ip="192.0.2.37", city="moscow")
    [alert] = c.run("suspicious_ip", D)
    assert alert["user_email"] == "alice@acme.example" and alert["severity"] == "high"
    assert alert["evidence"]["matched_lists"][0]["tag"] == "Botnet"


# ---------- infrequent country


def test_infrequent_country_alerts_once_with_the_baseline_countries():
    c = case("alice")
    first = c.login(at(D, 10), "alice", ip="86.130.2.2", city="london")
    c.event(at(D, 10, 3), "alice", ip="86.130.2.9", city="manchester")
    c.login(at(NEXT, 10), "alice", ip="86.130.2.2", city="london")  # now known: no second alert
    [alert] = c.run("infrequent_country", D, NEXT)
    assert alert["event_ids"][0] == first and len(alert["event_ids"]) == 2
    assert alert["evidence"]["baseline_countries"] == ["US"]
    assert alert["countries"] == ["GB"]
    # who, where and from which address: the opening sign-in's, not the later event's
    assert (alert["user_email"], alert["account_id"]) == ("alice@acme.example", "acct-1")
    assert (alert["evidence"]["city"], alert["evidence"]["ip_address"]) == ("london", "86.130.2.2")
    assert alert["description"].startswith("alice@acme.example was active from GB (london)")


def test_infrequent_country_near_misses_known_country_and_learning_period_user():
    c = case("alice")
    c.login(at(D - timedelta(days=12), 10), "alice", ip="86.130.2.2", city="london")  # known
    c.login(at(D, 10), "alice", ip="86.130.2.2", city="london")
    c.history("newbie", D - timedelta(days=4), 4)  # joined 4 days ago: still learning
    c.login(at(D, 11), "newbie", ip="86.130.2.3", city="london")
    assert c.run("infrequent_country", D) == []


def test_infrequent_country_organization_baseline_option():
    c = case("alice", "bob")
    c.history("bob", HISTORY, 5, city="london", ip="86.130.1.1")  # bob worked from London
    c.login(at(D, 10), "alice", ip="86.130.2.2", city="london")
    assert users(c.run("infrequent_country", D)) == ["alice"]
    config = {"detections": {"infrequent_country": {"organization_baseline": True}}}
    assert c.run("infrequent_country", D, config=config) == []


def test_infrequent_country_range_drops_and_looks_up_again_the_last_uses_as_single_days_see_them():
    # A range run rolls each (user, country)'s last use forward a day at a time: a use whose day
    # leaves the 31-day lookback is gone (carol), and a (user, country) whose latest use came from
    # the day that left is looked up again among the days still in it (bob's later sign-in was
    # filed 28 days early, so the latest use is not always on the latest day)
    c = case("alice", "bob", "carol")
    london = {"ip": "86.130.2.2", "city": "london"}
    c.login(at(D - timedelta(days=29), 12), "alice", **london)
    c.login(at(D + timedelta(days=2), 13), "alice", **london)  # 31 days on: new again
    c.login(at(D + timedelta(days=3), 13), "alice", **london)  # known since yesterday
    c.login(at(D - timedelta(days=28), 12), "bob", **london)
    c.login(at(D - timedelta(days=1), 12), "bob", **london)
    c.rows[-1]["dt"] = D - timedelta(days=29)
    c.login(at(D + timedelta(days=3), 13), "bob", **london)  # D-29 has left: the use of D-28 is the last
    c.login(at(D - timedelta(days=29), 12), "carol", **london)
    c.login(at(D + timedelta(days=3), 13), "carol", **london)  # D-29 has left the lookback
    last = D + timedelta(days=3)
    key = lambda a: a["alert_id"]  # noqa: E731
    ranged = sorted(c.run("infrequent_country", D, last), key=key)
    assert ranged == sorted((a for k in range(4) for a in c.run("infrequent_country", D + timedelta(days=k))),
                            key=key)
    seen = {a["user_email"].split("@")[0]: (a["partition_date"], a["evidence"]["last_seen_in_country_at"])
            for a in ranged}
    assert seen.keys() == {"alice", "bob", "carol"}
    assert seen["alice"][0] == D + timedelta(days=2) and seen["alice"][1].startswith(str(D - timedelta(days=29)))
    assert seen["bob"][0] == last and seen["bob"][1].startswith(str(D - timedelta(days=28)))
    assert seen["carol"] == (last, None)


def test_a_range_rolls_the_last_uses_forward_to_the_rows_each_day_computes_afresh():
    # roll/detection_country_last_use.sql against the view it stands in for, day after day, on
    # sparse sign-ins of 40 users from three countries, half of them filed up to 6 days before their
    # own day (so a use that leaves the lookback is not always older than the ones that stay)
    rng = random.Random(7)
    c = Case()
    for _ in range(800):
        when = at(D - timedelta(days=rng.randrange(-40, 40)), rng.randrange(24), rng.randrange(60))
        c.login(when, f"user{rng.randrange(40)}", city=rng.choice(["london", "paris", "seattle"]))
        if rng.random() < 0.5:
            c.rows[-1]["dt"] = when.date() - timedelta(days=rng.randrange(1, 7))
    # longer than the lookback, so uses the range added leave it again; in order, then after a gap
    days = [D + timedelta(days=k) for k in range(36)] + [D + timedelta(days=40)]
    con = c.prepared("infrequent_country", D, days[-1])
    for day in days:
        con.execute(f"set variable window_start = date '{day}'")
        con.execute(f"set variable window_end = date '{day + timedelta(days=1)}'")
        detections.prepare_day(con, "infrequent_country")
        # last_dt too: no two of a (user, country)'s sign-ins share a time here, so its day is unique
        rows = "select user_id, country_code, last_at, last_dt from {} order by all"
        rolled = con.execute(rows.format("detection_country_last_use")).fetchall()
        assert rolled == con.execute(rows.format("detection_country_last_use__view")).fetchall(), day
    assert con.execute("select getvariable('det_prepared_day')").fetchone()[0] == day


def test_organization_learning_period():
    c = Case()
    c.history("alice", D - timedelta(days=5), 5)
    c.login(at(D, 10), "alice", ip="86.130.2.2", city="london")
    assert c.run("infrequent_country", D) == []
    config = {"detections": {"learning_period": {"user_days": 0, "organization_days": 0}}}
    assert len(c.run("infrequent_country", D, config=config)) == 1


# ---------- impossible travel


def test_impossible_travel_alerts_with_distance_speed_and_both_locations():
    c = case("alice")
    home = c.login(at(D, 9), "alice")
    away = c.login(at(D, 9, 40), "alice", ip="86.130.2.2", city="london")
    c.login(at(D, 9, 50), "alice", ip="86.130.2.2", city="london")
    [alert] = c.run("impossible_travel", D)
    ev = alert["evidence"]
    assert alert["event_ids"] == [home, away]
    assert 7600 < ev["distance_km"] < 7800 and ev["speed_kmh"] > 10_000 and ev["minutes"] == 40
    assert (ev["from"]["country"], ev["to"]["country"]) == ("US", "GB")
    assert ev["from"]["latitude"] == pytest.approx(47.61)
    assert alert["countries"] == ["GB", "US"]


@pytest.mark.parametrize("near_miss", ["same_ip", "bordering", "corporate_vpn_hop", "slow_flight", "learning"])
def test_impossible_travel_near_misses(near_miss):
    c = case("alice")
    if near_miss == "same_ip":
        c.login(at(D, 9), "alice")
        c.login(at(D, 9, 5), "alice", city="london")  # same address, different geolocation
    elif near_miss == "bordering":
        c.login(at(D, 9), "alice", city="new york", ip="73.15.2.2")
        c.login(at(D, 9, 30), "alice", ip="99.230.1.1", city="toronto")
    elif near_miss == "corporate_vpn_hop":  # office in New York, then the London VPN egress
        c.login(at(D, 9), "alice", ip="203.0.113.5", city="new york")
        c.login(at(D, 9, 25), "alice", ip="198.51.100.20", city="london")
    elif near_miss == "slow_flight":
        c.login(at(D, 1), "alice")
        c.login(at(D, 14), "alice", ip="86.130.2.2", city="london")  # 13 h: ~590 km/h
    else:
        c = Case()
        c.history("alice", D - timedelta(days=3), 3)
        c.login(at(D, 9), "alice")
        c.login(at(D, 9, 40), "alice", ip="86.130.2.2", city="london")
    assert c.run("impossible_travel", D) == []


def test_location_policies_ignore_ip_database_locations_unless_configured():
    c = case("alice")
    c.login(at(D, 9), "alice")
    c.login(at(D, 9, 40), "alice", ip="99.10.48.5", city="frankfurt", location_source="ip_lookup")
    assert c.run("impossible_travel", D) == [] and c.run("infrequent_country", D) == []
    both = {"detections": {name: {"location_sources": ["docusign", "ip_lookup"]}
                           for name in ("impossible_travel", "infrequent_country")}}
    assert len(c.run("impossible_travel", D, config=both)) == 1
    assert len(c.run("infrequent_country", D, config=both)) == 1


def test_impossible_travel_sensitivity_levels():
    c = case("alice", *[f"peer{k}" for k in range(5)])
    # The corporate/VPN hop alerts only at high sensitivity.
    c.login(at(D, 9), "alice", ip="203.0.113.5", city="new york")
    c.login(at(D, 9, 25), "alice", ip="198.51.100.20", city="london")
    assert c.run("impossible_travel", D) == []
    high = {"detections": {"impossible_travel": {"sensitivity": "high"}}}
    assert users(c.run("impossible_travel", D, config=high)) == ["alice"]
    # A destination many colleagues work from is suppressed at low sensitivity only.
    c2 = case("bob", *[f"peer{k}" for k in range(5)])
    for k in range(5):
        c2.login(at(D - timedelta(days=2), 10), f"peer{k}", ip=f"86.130.3.{k + 1}", city="london")
    c2.login(at(D, 9), "bob")
    c2.login(at(D, 9, 40), "bob", ip="86.130.2.2", city="london")
    assert users(c2.run("impossible_travel", D)) == ["bob"]
    low = {"detections": {"impossible_travel": {"sensitivity": "low"}}}
    assert c2.run("impossible_travel", D, config=low) == []


# ---------- terminated user


def test_terminated_user_activity_after_deletion_one_alert_per_termination():
    c = case("gone")
    for day in (D - timedelta(days=1), D, NEXT):
        c.idp_user(day, "gone", "deleted", at(D - timedelta(days=1), 17))
    login = c.login(at(D, 10), "gone")
    c.event(at(D, 10, 5), "gone")
    c.event(at(NEXT, 10), "gone")  # still active the next day: the same incident, no new alert
    [alert] = c.run("terminated_user_activity", D - timedelta(days=1), NEXT)
    assert alert["event_ids"][0] == login and len(alert["event_ids"]) == 2
    assert alert["severity"] == "high" and alert["evidence"]["idp_status"] == "deleted"
    assert "deleted in the identity provider at 2026-03-19 17:00 UTC" in alert["description"]


@pytest.mark.parametrize("near_miss", ["before_termination", "temporarily_disabled", "rehired"])
def test_terminated_user_near_misses(near_miss):
    c = case("bob")
    if near_miss == "before_termination":  # disabled at 18:00, the activity was at 10:00
        c.idp_user(D, "bob", "disabled", at(D, 18))
    elif near_miss == "temporarily_disabled":  # listed two days ago, re-enabled since
        c.idp_user(D - timedelta(days=2), "bob", "disabled", at(D - timedelta(days=3), 17))
        c.idp_user(D, "carol", "deleted", at(D - timedelta(days=9), 17))
    else:  # deleted yesterday, re-added in DocuSign this morning
        c.idp_user(D, "bob", "deleted", at(D - timedelta(days=1), 9))
        c.lifecycle_event(at(D, 8), "bob", "membership_reopened")
    c.login(at(D, 10), "bob")
    assert c.run("terminated_user_activity", D) == []


def test_terminated_user_purged_from_the_recycle_bin_stays_terminated():
    c = Case()
    c.history("old", D - timedelta(days=40), 8)  # worked until shortly before the deletion
    deleted = at(D - timedelta(days=31), 12)
    c.idp_user(D - timedelta(days=1), "old", "deleted", deleted)  # last listed at 30 days old
    c.idp_user(D, "someone", "disabled", at(D, 1))  # today's snapshot no longer lists "old"
    c.login(at(D, 10), "old")
    [alert] = c.run("terminated_user_activity", D)
    assert alert["evidence"]["purged_from_recycle_bin"] is True


# ---------- multiple failed logins


def test_continuing_brute_force_is_one_alert():
    c = case("victim")
    ip = "99.10.5.5"
    first = c.login(at(D, 10), "victim", ok=False, ip=ip)
    for j in range(1, 15):
        c.login(at(D, 10, 0, j * 12), "victim", ok=False, ip=ip)
    for j in range(15):  # a pause, then more
        c.login(at(D, 11, 0, j * 12), "victim", ok=False, ip=ip)
    c.login(at(D, 11, 5), "victim", ip=ip)
    for j in range(15):  # and again the next morning
        c.login(at(NEXT, 9, 0, j * 12), "victim", ok=False, ip=ip)
    [alert] = c.run("multiple_failed_logins", D, NEXT)
    ev = alert["evidence"]
    assert alert["partition_date"] == D and alert["event_ids"][0] == first
    assert ev["failures"] == 15 and ev["threshold"] == 10 and ev["baseline_failures_per_session"] == 0
    assert "15 times" in alert["description"]


def test_failed_logins_threshold_crossed_after_midnight_belongs_to_the_next_day():
    c = case("late")
    first = c.login(at(D, 23, 58), "late", ok=False)
    for j in range(1, 5):
        c.login(at(D, 23, 58, j * 10), "late", ok=False)
    for j in range(10):
        c.login(at(NEXT, 0, 0, 5 + j * 10), "late", ok=False)
    [alert] = c.run("multiple_failed_logins", D, NEXT)
    assert alert["partition_date"] == NEXT and alert["event_ids"][0] == first
    assert len(alert["event_ids"]) == 15


def test_failed_logins_a_session_counts_its_failures_before_midnight_on_a_day_with_few():
    # 8 failures before midnight and 3 after: the day has fewer than min_failures (10) of its own,
    # and its session still crosses the threshold
    c = case("late")
    first = c.login(at(D, 23, 50), "late", ok=False)
    for j in range(1, 8):
        c.login(at(D, 23, 50 + j), "late", ok=False)
    for j in range(3):
        c.login(at(NEXT, 0, 1 + j), "late", ok=False)
    [alert] = c.run("multiple_failed_logins", NEXT)
    assert alert["partition_date"] == NEXT and alert["event_ids"][0] == first
    ev = alert["evidence"]
    assert ev["failures"] == 11 and ev["threshold"] == 10
    assert ev["baseline_sessions"] == (D - HISTORY).days  # its user's daily sign-in sessions, read too


def test_failed_logins_near_misses_typos_and_a_users_own_noise():
    c = case("typo", "noisy")
    for j in range(3):
        c.login(at(D, 10, 0, j * 15), "typo", ok=False)
    c.login(at(D, 10, 1), "typo")
    for k in range((D - HISTORY).days):  # a client retrying 12 times every morning
        for j in range(12):
            c.login(at(HISTORY + timedelta(days=k), 8, j), "noisy", ok=False)
    for j in range(13):
        c.login(at(D, 8, j), "noisy", ok=False)
    assert c.run("multiple_failed_logins", D) == []


def test_failed_logins_above_a_users_own_noise_alert_at_the_threshold_their_baseline_sets():
    c = case("noisy")  # every history day: a clean sign-in at 16:00 ...
    for k in range((D - HISTORY).days):  # ... and a client failing 12 times at 08:00
        for j in range(12):
            c.login(at(HISTORY + timedelta(days=k), 8, j), "noisy", ok=False)
    failures = [c.login(at(D, 8, j), "noisy", ok=False) for j in range(40)]
    [alert] = c.run("multiple_failed_logins", D)
    ev = alert["evidence"]
    # 19 days of two sessions each (12 failures and none): the 0.9 quantile is 12, times 3
    assert ev["baseline_sessions"] == 2 * (D - HISTORY).days
    assert ev["baseline_failures_per_session"] == 12 and ev["threshold"] == 36
    assert ev["threshold_event_id"] == failures[35] and ev["failures"] == 40
    assert alert["event_ids"] == failures


def test_success_after_the_threshold_raises_severity():
    c = case("guessed")
    for j in range(12):
        c.login(at(D, 10, 0, j * 10), "guessed", ok=False, ip="99.10.5.5")
    c.login(at(D, 10, 3), "guessed", ip="99.10.5.5")
    [alert] = c.run("multiple_failed_logins", D)
    assert alert["severity"] == "high" and "password may have been guessed" in alert["description"]


# ---------- every policy


def test_alert_ids_are_stable_across_reruns_and_range_order():
    c = case("alice", "victim", "gone")
    c.login(at(D, 9), "alice")
    c.login(at(D, 9, 40), "alice", ip="185.220.101.4", city="frankfurt")
    for j in range(12):
        c.login(at(NEXT, 10, 0, j * 10), "victim", ok=False)
    c.idp_user(NEXT, "gone", "disabled", at(D, 17))
    c.event(at(NEXT, 9), "gone")
    for policy in POLICIES:
        ranged = c.run(policy, D, NEXT)
        again = c.run(policy, D, NEXT)
        reversed_days = c.run(policy, NEXT) + c.run(policy, D)
        key = lambda a: a["alert_id"]  # noqa: E731
        assert sorted(ranged, key=key) == sorted(again, key=key) == sorted(reversed_days, key=key), policy
    assert {a["policy"] for p in POLICIES for a in c.run(p, D, NEXT)} == set(POLICIES) - {"suspicious_ip"}


def test_a_range_knows_the_users_first_seen_on_its_later_days():
    # A range run rolls the first-seen days forward a day at a time: a user whose first activity
    # is on its second day must be there, as in a run of that day alone (learning period off, so
    # the policy alerts on a first day).
    c = case("alice")
    for j in range(12):
        c.login(at(NEXT, 10, 0, j * 10), "newcomer", ok=False)
    config = {"detections": {"multiple_failed_logins": {"apply_learning_period": False}}}
    ranged = c.run("multiple_failed_logins", D, NEXT, config=config)
    assert [a["user_id"] for a in ranged] == ["u-newcomer"]
    assert ranged == c.run("multiple_failed_logins", NEXT, config=config)


def test_disabled_policy_writes_nothing():
    c = case("alice")
    c.login(at(D, 10), "alice", ip="185.220.101.4", city="frankfurt")
    config = ProjectConfig.model_validate({"detections": {"anonymous_ip": {"enabled": False}}})
    assert c.run("anonymous_ip", D, config=config) == []
