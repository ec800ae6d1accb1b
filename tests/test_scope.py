"""Policy scope: include/exclude by user, group, managed and admin, applied where alerts are written.

A hand-built lake unlike the simulator's (group members known by UPN only, in capitals; one
user's e-mail outside the claimed domain), one catch-all activity policy run through its asset
with different ``scope`` sections, and the group snapshot against the Graph stand-in.
"""

from datetime import date, datetime, timezone

import dagster as dg
import duckdb
import pytest
import yaml

from dsassets.defs.extract.groups import read_groups
from dsassets.defs.models.assets import model_assets
from dsassets.defs.policies.assets import build_policy_asset
from dsassets.defs.resources import LakeResource
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.policies.model import Policy
from dsassets.lib.transform import sql
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.simulator.graph_api import group_id
from support.warehouse_lake import ACCOUNT_A, LakeBuilder, ts

D1 = date(2026, 9, 14)
ONE_DAY = range_tags(D1, D1)
ADMINS = "0b1e9c1a-7d7e-4c55-9a57-1f0f8d2b7a01"
CONTRACTORS = "5c3a52f4-0e2b-45a4-8f0e-3c4d3c2e9b02"
GONE = "9a9a9a9a-0000-4000-8000-000000000003"
NEVER_READ = "7e7e7e7e-0000-4000-8000-000000000004"
PEOPLE = {"u-kim": "kim@contoso.test", "u-lee": "lee@freelance.example", "u-max": "max@contoso.test"}
EVERY_SIGNIN = Policy.model_validate({
    "id": "every_signin", "title": "Every sign-in", "severity": "low",
    "filters": {"object": "User", "action": "Login"}})


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("scope")
    b = LakeBuilder(root)
    b.reserved_domain(D1, "contoso.test")
    for uid, email in PEOPLE.items():
        b.org_user(D1, uid, email, org_admin=uid == "u-kim")
        b.membership(D1, uid, ACCOUNT_A, email)
        b.signin(ts(D1, 9), uid, isUserMemberOfDomain=None)
    b.group_member(D1, ADMINS, upn="KIM@CONTOSO.TEST")
    b.group_member(D1, CONTRACTORS, upn="lee@freelance.example", mail="LEE@freelance.example")
    b.group_member(D1, GONE, found=False)
    b.write()
    assert dg.materialize(model_assets, resources={"lake": LakeResource(data_dir=str(root))},
                          tags=ONE_DAY).success
    return root


def run_policy(root, tmp_path, monkeypatch, scope, policy=EVERY_SIGNIN):
    """The policy's asset for D1 with ``scope`` in force: (alerted user ids, materialization metadata)."""
    cfg = tmp_path / "dsassets.yaml"
    cfg.write_text(yaml.safe_dump({"scope": {"every_signin": scope} if scope else {}}))
    monkeypatch.setenv("DSASSETS_CONFIG", str(cfg))
    result = dg.materialize([build_policy_asset(policy, "")], partition_key=D1.isoformat(),
                            resources={"lake": LakeResource(data_dir=str(root))}, raise_on_error=False)
    if not result.success:
        failure = result.get_step_failure_events()[0]
        error = failure.event_specific_data.error
        raise RuntimeError(error.message + (error.cause.message if error.cause else ""))
    users = {r[0] for r in duckdb.sql(
        f"select user_id from {sql.parquet_scan(Lake.at(root).url(f'warehouse/{policy.asset_name}/dt=*/*.parquet'))}"
    ).fetchall()}
    return users, result.asset_materializations_for_node(policy.asset_name)[0].metadata


@pytest.mark.parametrize(("scope", "alerted"), [
    (None, {"u-kim", "u-lee", "u-max"}),
    ({"exclude": {"users": ["KIM@contoso.test"]}}, {"u-lee", "u-max"}),
    ({"exclude": {"users": ["u-max", "u-lee"]}}, {"u-kim"}),
    ({"include": {"managed": True}}, {"u-kim", "u-max"}),
    ({"include": {"managed": False}}, {"u-lee"}),
    ({"include": {"admin": True}}, {"u-kim"}),
    ({"exclude": {"groups": [CONTRACTORS]}}, {"u-kim", "u-max"}),
    ({"include": {"groups": [ADMINS, CONTRACTORS]}}, {"u-kim", "u-lee"}),
    ({"include": {"groups": [ADMINS], "admin": False}}, set()),  # every attribute must hold
    ({"include": {"managed": True}, "exclude": {"admin": True}}, {"u-max"}),
])
def test_scope_keeps_only_alerts_in_scope(lake_root, tmp_path, monkeypatch, scope, alerted):
    users, metadata = run_policy(lake_root, tmp_path, monkeypatch, scope)
    assert users == alerted
    assert metadata["out_of_scope_alerts"].value == 3 - len(alerted)


@pytest.mark.parametrize(("scope", "message"), [
    ({"exclude": {"users": ["nobody@contoso.test"]}},
     "scope.every_signin.exclude.users: no DocuSign user 'nobody@contoso.test'"),
    ({"include": {"groups": [GONE]}}, f"scope.every_signin.include.groups: group {GONE} does not exist"),
    ({"exclude": {"groups": [NEVER_READ]}}, f"scope.every_signin.exclude.groups: no member snapshot of group"),
])
def test_a_scope_naming_nobody_fails_with_the_policy_and_field(lake_root, tmp_path, monkeypatch, scope, message):
    with pytest.raises(RuntimeError, match=message.replace(".", r"\.")):
        run_policy(lake_root, tmp_path, monkeypatch, scope)


def test_bad_scope_entries_are_config_errors_naming_the_key(tmp_path):
    from dsassets.lib.config.project import ConfigError, load_config

    cfg = tmp_path / "dsassets.yaml"
    cfg.write_text(yaml.safe_dump({"scope": {"impossible_travel": {"exclude": {"groups": ["admins"]}}}}))
    with pytest.raises(ConfigError, match=r"scope\.impossible_travel\.exclude\.groups.*not a group object id"):
        load_config(cfg)
    cfg.write_text(yaml.safe_dump({"scope": {"impossible_travel": {"exclude": {}}}}))
    with pytest.raises(ConfigError, match=r"scope\.impossible_travel\.exclude.*names nobody"):
        load_config(cfg)


def test_group_members_through_the_graph_stand_in():
    sim = DocuSignSimulator(SimulatorConfig(seed=11, events_per_day=50))
    sim.set_now(datetime(2026, 6, 1, tzinfo=timezone.utc)) if hasattr(sim, "set_now") else None
    admins = group_id(sim.world, "DocuSign Organization Admins")
    with GraphClient(sim.graph_settings(), transport=sim.transport()) as graph:
        rows = read_groups(graph, [admins, GONE])
    members = [r for r, _ in rows if r["group_id"] == admins]
    assert members and all(r["found"] and r["member_id"] and r["mail"] for r in members)
    assert [r for r, _ in rows if r["group_id"] == GONE] == [{"group_id": GONE, "found": False}]
    assert any("/transitiveMembers" in path for _, path, _ in sim.request_log)


def test_the_flooding_policy_says_so_in_its_materialization(lake_root, tmp_path, monkeypatch):
    flooding = Policy.model_validate({"id": "every_signin_capped", "title": "Every sign-in", "severity": "low",
                                      "filters": {"user_agent": {"is_set": False}}, "daily_match_cap": 2})
    users, metadata = run_policy(lake_root, tmp_path, monkeypatch, None, flooding)
    assert metadata["daily_match_cap"].value == 2
    assert metadata["flooded_days"].value == {D1.isoformat(): 3}
    assert metadata["alert_count"].value == 3 and len(users - {None}) == 2  # two alerts, then the flood alert
