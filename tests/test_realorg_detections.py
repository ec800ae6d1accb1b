"""Detections an attacker cannot steer, on data shaped unlike the simulator's.

A spray from a listed address must not switch off the alert for the one success;
MDCA's "activity from" an address includes sessions without a sign-in event; a
terminated user is found under any address the identity provider holds, also
after Entra rewrote a deleted user's UPN. Each rule has a decoy that stays quiet.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow as pa

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.lake.schemas import IDP_USERS
from dsassets.lib.transform.files import SQL_DIR, select_file
from dsassets.lib.transform.sql import install_support
from test_detections import D, NEXT, Case, at, case

TOR = "185.220.101.77"  # in the shipped Tor exit list (185.220.100.0/22)
BOTNET = "192.0.2.141"  # in the shipped threat-intelligence list
VICTIMS = ("pat", "quinn", "robin", "sasha", "toni")


# ---------- the widely-used suppression


def spray(c: Case, source: str, then_success: str | None) -> None:
    """Failed interactive sign-ins against five users from one address, optionally one success."""
    for k, user in enumerate(VICTIMS):
        for attempt in range(3):
            c.login(at(D, 3, k, attempt), user, ok=False, ip=source, city="frankfurt")
    if then_success:
        c.login(at(D, 3, 30), then_success, ip=source, city="frankfurt")
        c.event(at(D, 3, 32), then_success, ip=source, city="frankfurt", object="Envelope", action="Downloaded")


def test_spray_then_success_from_a_tor_exit_still_alerts():
    c = case(*VICTIMS)
    spray(c, TOR, then_success="robin")
    [alert] = c.run("anonymous_ip", D)
    assert alert["user_email"] == "robin@acme.example"
    assert alert["evidence"]["users_on_ip"] == 0 and alert["evidence"]["regular_users_on_ip"] == []


def test_spray_then_success_from_a_threat_intel_address_still_alerts():
    c = case(*VICTIMS)
    spray(c, BOTNET, then_success="sasha")
    [alert] = c.run("suspicious_ip", D)
    assert alert["user_email"] == "sasha@acme.example" and alert["severity"] == "high"


def test_spray_without_success_stays_quiet():
    c = case(*VICTIMS)
    spray(c, TOR, then_success=None)
    assert c.run("anonymous_ip", D) == []


def test_one_off_sign_ins_of_others_do_not_suppress_and_are_in_the_evidence():
    # Five other users signed in successfully from the address, each on a single day: an
    # attacker with five stolen passwords can do that; it is not a shared egress.
    c = case(*VICTIMS, "uma")
    for user in VICTIMS:
        c.login(at(D, 2), user, ip=TOR, city="frankfurt")
    c.login(at(D, 4), "uma", ip=TOR, city="frankfurt")
    alerts = c.run("anonymous_ip", D)
    assert "uma@acme.example" in {a["user_email"] for a in alerts}


def test_the_alerts_own_user_never_counts_towards_widely_used():
    c = case(*VICTIMS, "uma")
    # uma herself and four others use the address regularly: four others < 5
    for user in ("uma", *VICTIMS[:4]):
        for back in (6, 3):
            c.login(at(D - timedelta(days=back), 9), user, ip=TOR, city="frankfurt")
    c.login(at(D, 9), "uma", ip=TOR, city="frankfurt")
    [alert] = c.run("anonymous_ip", D)
    assert alert["user_email"] == "uma@acme.example"
    assert alert["evidence"]["users_on_ip"] == 4
    assert alert["evidence"]["regular_users_on_ip"] == [f"u-{u}" for u in sorted(VICTIMS[:4])]


def test_decoy_a_shared_egress_that_five_others_use_regularly_stays_quiet():
    c = case(*VICTIMS, "uma")
    for user in VICTIMS:
        for back in (6, 3):
            c.login(at(D - timedelta(days=back), 9), user, ip=TOR, city="frankfurt")
    c.login(at(D, 9), "uma", ip=TOR, city="frankfurt")
    assert [a["user_email"] for a in c.run("anonymous_ip", D)] == []


# ---------- activity from an address, not only sign-ins


def test_envelope_download_from_tor_without_a_sign_in_alerts_once():
    c = case("vic")
    first = c.event(at(D, 14), "vic", ip=TOR, city="frankfurt", object="Envelope", action="Downloaded")
    c.event(at(D, 14, 2), "vic", ip=TOR, city="frankfurt", object="Account", action="SettingsUpdated")
    [alert] = c.run("anonymous_ip", D)  # one alert per user and address
    assert alert["event_ids"][0] == first and len(alert["event_ids"]) == 2
    assert alert["evidence"]["evaluated"] == "activities"
    assert alert["evidence"]["opening_activity"] == "Envelope/Downloaded"
    assert "was active from" in alert["description"]


def test_sign_ins_only_is_configurable():
    c = case("vic")
    c.event(at(D, 14), "vic", ip=TOR, city="frankfurt", object="Envelope", action="Downloaded")
    config = {"detections": {"anonymous_ip": {"evaluate": "signins"}}}
    assert c.run("anonymous_ip", D, config=config) == []


def test_decoy_failed_and_non_interactive_sign_ins_from_tor_stay_quiet():
    c = case("vic")
    c.login(at(D, 14), "vic", ok=False, ip=TOR, city="frankfurt")
    c.event(at(D, 15), "vic", signin="non_interactive_success", ip=TOR, city="frankfurt", object="Token",
            action="Refreshed")
    assert c.run("anonymous_ip", D) == []


# ---------- terminated users under any of their addresses


class RawIdpCase(Case):
    """A Case whose identity-provider rows go through the real staging model (stg_idp__users)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_idp: list[dict] = []

    def graph_user(self, snapshot_day, *, object_id, upn, mail=None, other_emails=(), status="deleted",
                   changed=None, source=None) -> None:
        self.raw_idp.append({
            "idp_user_id": object_id, "user_principal_name": upn, "email": (mail or upn).lower(),
            "status": status, "status_changed_at": changed, "status_changed_at_source": source,
            "other_emails": list(other_emails), "lifecycle": "[]", "_raw": "{}", "_source": "test",
            "_snapshot_taken_at": at(snapshot_day, 23, 59), "_invalid_fields": None,
        })
        self._days = getattr(self, "_days", []) + [snapshot_day]

    def connect(self):
        con = super().connect()
        install_support(con, ProjectConfig())
        table = pa.Table.from_pylist(self.raw_idp, schema=IDP_USERS).append_column(
            "dt", pa.array(self._days, pa.date32()))
        con.register("raw_idp_users", table)
        query = select_file(SQL_DIR / "staging" / "stg_idp__users.sql")
        con.execute(f"create or replace table stg_idp__users as {query}")
        return con


def terminated_case() -> RawIdpCase:
    c = RawIdpCase()
    for user in ("alice", "bob", "carol", "xcarol"):
        c.history(user, D - timedelta(days=19), 19)
    return c


def test_mail_differs_but_upn_matches():
    c = terminated_case()
    # Entra mail is the marketing alias; DocuSign knows the UPN
    c.graph_user(D, object_id="0b9c", upn="alice@acme.example", mail="a.liddell@acme-brand.example",
                 status="disabled", changed=at(D, 8), source="directory_audit")
    c.login(at(D, 10), "alice")
    [alert] = c.run("terminated_user_activity", D)
    assert alert["user_email"] == "alice@acme.example"
    assert alert["evidence"]["terminated_at_source"] == "directory_audit"


def test_proxy_addresses_and_other_mails_match_without_smtp_prefix():
    c = terminated_case()
    c.graph_user(D, object_id="7f00", upn="b.builder@corp.example", mail="b.builder@corp.example",
                 other_emails=["SMTP:b.builder@corp.example", "smtp:bob@acme.example"],
                 changed=at(D, 8), source="deleted_date_time")
    c.login(at(D, 10), "bob")
    [alert] = c.run("terminated_user_activity", D)
    assert alert["user_email"] == "bob@acme.example"


def test_addresses_and_status_padded_with_any_whitespace_still_match():
    # A file export pads cells: a tab, a Windows line break, a no-break space copied from a web page.
    c = terminated_case()
    c.graph_user(D, object_id="0b9c", upn="\u00a0alice@acme.example\t", status="Disabled\r\n",
                 changed=at(D, 8), source="directory_audit")
    # a deleted user's UPN keeps a 32-digit prefix that is not its object id: only the status tells
    c.graph_user(D, object_id="7f00", upn="0123456789abcdef0123456789abcdefbob@acme.example",
                 status="\tdeleted", changed=at(D, 8), source="deleted_date_time")
    c.graph_user(D, object_id="aa11", upn="c.x@corp.example", other_emails=["smtp:carol@acme.example\t"],
                 changed=at(D, 8), source="deleted_date_time")
    for minute, name in enumerate(("alice", "bob", "carol")):
        c.login(at(D, 10, minute), name)
    assert sorted(a["user_email"] for a in c.run("terminated_user_activity", D)) == [
        "alice@acme.example", "bob@acme.example", "carol@acme.example"]


def test_deleted_upn_prefix_is_stripped_and_an_undated_status_says_so():
    c = terminated_case()
    object_id = "5e1f0c2a-8b7d-4e3f-9a10-112233445566"
    # Entra rewrote the deleted user's UPN; mail is gone; the audit log was not readable
    c.graph_user(D - timedelta(days=1), object_id=object_id, upn="5e1f0c2a8b7d4e3f9a10112233445566carol@acme.example")
    c.graph_user(D, object_id=object_id, upn="5e1f0c2a8b7d4e3f9a10112233445566carol@acme.example")
    c.login(at(D, 10), "carol")
    alerts = c.run("terminated_user_activity", D)
    assert [a["user_email"] for a in alerts] == ["carol@acme.example"]  # never xcarol
    assert alerts[0]["evidence"]["terminated_at_source"] == "first_snapshot_listing_the_user"


def test_decoy_a_similar_address_of_someone_else_stays_quiet():
    c = terminated_case()
    c.graph_user(D, object_id="aa11", upn="carol@acme.example", other_emails=["smtp:carol.old@acme.example"],
                 changed=at(D, 8), source="deleted_date_time")
    c.login(at(D, 10), "xcarol")  # a different person whose address merely ends the same
    c.event(at(D, 10, 5), "bob")
    assert c.run("terminated_user_activity", D) == []


def test_a_listed_user_without_any_address_neither_alerts_nor_hides_another():
    c = terminated_case()
    # Entra lists a disabled service principal-like user with no mail, no UPN, only an X.400 address
    c.graph_user(D, object_id="ffff", upn="", other_emails=["X400:c=US;a= ;p=Acme"], status="disabled",
                 changed=at(D, 7), source="directory_audit")
    c.graph_user(D, object_id="0b9c", upn="alice@acme.example", status="disabled", changed=at(D, 8),
                 source="directory_audit")
    c.login(at(D, 10), "alice")
    c.login(at(D, 10, 5), "bob")
    assert [a["user_email"] for a in c.run("terminated_user_activity", D)] == ["alice@acme.example"]


def test_staging_lists_every_address_once():
    c = terminated_case()
    c.graph_user(D, object_id="abcd-ef", upn="abcdefzed@acme.example", mail="Zed@Acme.example",
                 other_emails=["SMTP:zed@acme.example", "zed@home.example", "X400:c=US;a= ;p=Acme"])
    con = c.connect()
    [(emails,)] = con.execute("select idp_emails from stg_idp__users").fetchall()
    assert sorted(emails) == ["abcdefzed@acme.example", "zed@acme.example", "zed@home.example"]
    assert json.loads(json.dumps(emails))  # plain strings


def test_staging_strips_the_object_id_only_where_it_prefixes_the_upn():
    c = terminated_case()
    c.graph_user(D, object_id="0b9c-77", upn="0b9c77ann@acme.example", status="disabled")
    c.graph_user(D, object_id="ee-1", upn="bob.ee1@acme.example", status="disabled")  # the id, not as a prefix
    con = c.connect()
    rows = dict(con.execute("select idp_user_id, list_sort(idp_emails) from stg_idp__users").fetchall())
    assert rows == {"0b9c-77": ["0b9c77ann@acme.example", "ann@acme.example"], "ee-1": ["bob.ee1@acme.example"]}
