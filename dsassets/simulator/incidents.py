"""Planted incidents (and near misses) for the six MDCA DocuSign anomaly policies.

Schedule: policy ``k`` (index in ``POLICIES``) has a true incident on every day
with ``(day.toordinal() + k) % 7 == 0`` and a decoy on every day with
``(day.toordinal() + k + 3) % 7 == 0``. Any 7 consecutive days therefore hold
exactly one true incident and one decoy of each policy.

Victims of true incidents are ordinary (non-travelling) people with at least
40 days of normal history, drawn in rotation from a per-policy class of seats
so one person is not a victim of two policies at once. Around single-location
incidents the victim's own organic activity is suppressed for long enough that
no *other* policy (impossible travel) is tripped by accident; whatever other
policy a true incident legitimately also matches is listed in
``also_matches`` (a Tor exit abroad is also an infrequent country).

The example activity policies get their own weekly incidents, all from the actor's usual
address and browser so they trip no anomaly policy: a burst of envelope deletions and voids
(decoy: a handful), a bulk download of envelope documents (decoy: a modest one) and an
organization administrator granted and revoked within the hour (no decoy: one such event
is the whole policy).

Terminated-user incidents use dedicated seats whose lifecycle is keyed to the
schedule (``world.py``): deleted or disabled in Entra ID the day before,
DocuSign memberships still open, activity on the incident day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from dsassets.lib.detections.config import POLICIES as DETECTIONS
from dsassets.simulator import geography as geo
from dsassets.simulator import vocabulary as voc
from dsassets.simulator.activity import active_members
from dsassets.simulator.events import INCIDENT_ID_BASE, EventBatch, RowBuilder, event_ids
from dsassets.simulator.ids import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
    day_start,
    h64,
    tag,
    to_datetime,
    unit,
)
from dsassets.simulator.world import (
    FAR_TRAVELLER,
    GAP_DELETE,
    GAP_NONE,
    NEIGHBOUR_TRAVELLER,
    NOT_TRAVELLER,
    REGULAR,
    TERM_DISABLE,
    World,
)

# The six built-in detections, in their declared order: a policy's index sets its weekday.
POLICIES = DETECTIONS
# Incidents for the example activity policies (policies/examples.yaml), scheduled like the six
# above with indices following them, so every 7-day window holds each one too.
ACTIVITY_POLICIES = ("mass_envelope_deletion", "mass_download", "admin_added")
PLANTED = POLICIES + ACTIVITY_POLICIES
DECOY_OFFSET = 3
MIN_HISTORY_DAYS = 40


@dataclass
class Incident:
    incident_id: str
    policy: str
    is_decoy: bool
    slot: int
    ten: int
    account: int
    description: str
    events: EventBatch
    suppress: list[tuple[int, int, int, int]] = field(default_factory=list)  # (slot, ten, t0, t1)
    also_matches: list[str] = field(default_factory=list)

    def ground_truth(self, world: World) -> dict:
        c = self.events.cols
        first, last, email = world.names([self.slot], [self.ten])[0]
        return {
            "incident_id": self.incident_id,
            "policy": self.policy,
            "is_decoy": self.is_decoy,
            "user_id": world.user_id(self.slot, self.ten),
            "user_email": email,
            "account_id": world.accounts[self.account].id,
            "started_at": to_datetime(int(c["ts"].min())),
            "ended_at": to_datetime(int(c["ts"].max())),
            "event_ids": event_ids(world.seed, np.full(len(self.events), self.events.day), c["idkey"]),
            "description": self.description,
            "also_matches": list(self.also_matches),
        }


def scheduled(day: int) -> list[tuple[int, bool]]:
    """(policy index, is_decoy) planted on ``day`` (a date ordinal)."""
    out = []
    for k in range(len(PLANTED)):
        if (day + k) % 7 == 0:
            out.append((k, False))
        if (day + k + DECOY_OFFSET) % 7 == 0:
            out.append((k, True))
    return out


@dataclass(frozen=True)
class Victim:
    """A seat chosen for an incident, with its attributes on the day (``account`` is open that day)."""

    slot: int
    ten: int
    ctx: dict

    @property
    def home(self) -> int:
        return int(self.ctx["home"])

    @property
    def account(self) -> int:
        return int(self.ctx["account"])

    def usual(self) -> dict:
        """How the person usually signs in: home broadband and their desktop browser."""
        c = self.ctx
        return {"ip": int(c["home_ip"]), "ip6": bool(c["home_v6"]), "loc": self.home, "ua": int(c["desktop"])}


class Planter:
    """Builds the incidents of a day from the world (never from the organic stream)."""

    def __init__(self, world: World):
        self.world = world
        w = world
        slots = np.arange(w.n_slots)
        r = slots - w.regular_base
        plain = (w.kind == REGULAR) & ~w.org_admin_slot & (w.traveller == NOT_TRAVELLER)
        self.classes = [np.flatnonzero(plain & (r % 6 == k)) for k in range(len(POLICIES))]
        self.far = np.flatnonzero(w.traveller == FAR_TRAVELLER)
        self.neighbour = np.flatnonzero(w.traveller == NEIGHBOUR_TRAVELLER)

    # -- victims -------------------------------------------------------------------------------

    def _victim(
        self, day: int, candidates: np.ndarray, rotation: int, *, home_days: bool = False, office: int | None = None
    ) -> tuple[int, int] | None:
        """First eligible seat in rotation order: long enough history, present around ``day``."""
        w = self.world
        if candidates.size == 0:
            return None
        order = np.roll(candidates, -(rotation % candidates.size))
        tens = w.tenure_at(order, day)
        life = w.lifecycle(order, tens)
        d0 = day_start(day)
        ok = (life["join"] <= d0 - MIN_HISTORY_DAYS * TICKS_PER_DAY) & (life["term"] > d0 + 3 * TICKS_PER_DAY)
        quiet = (
            (life["gap_mode"] == GAP_NONE)
            | (life["gap_end"] < d0 - 35 * TICKS_PER_DAY)
            | (life["gap_start"] > d0 + 3 * TICKS_PER_DAY)
        )
        ok &= quiet
        pc_open = ~((life["pc_close"] <= d0 + TICKS_PER_DAY) & (life["pc_reopen"] > d0 - TICKS_PER_DAY))
        ok &= pc_open | (life["pc_acct"] < 0)
        if home_days:
            trav = w.traveller[order]
            for dd in (day - 1, day, day + 1):
                ok &= w.trip_state(life["join"], trav, dd) == 0
        if office is not None:
            ppl = w.people(order, tens)
            ok &= ppl["office"] == office
        hit = np.flatnonzero(ok)
        if hit.size == 0:
            return None
        return int(order[hit[0]]), int(tens[hit[0]])

    def _pick(self, day: int, candidates: np.ndarray, rotation: int, **eligibility) -> Victim | None:
        """``_victim`` with the chosen seat's attributes."""
        found = self._victim(day, candidates, rotation, **eligibility)
        return None if found is None else self._seat(*found, day)

    def _own_class_victim(self, day: int, k: int, decoy: bool) -> Victim | None:
        """A seat of policy ``k``'s own class, rotating weekly (a decoy three seats further on)."""
        return self._pick(day, self.classes[k], day // 7 + (3 if decoy else 0))

    def _seat(self, slot: int, ten: int, day: int) -> Victim:
        """The seat's attributes; ``account`` is one whose membership is open on ``day``."""
        w = self.world
        life = w.lifecycle(np.array([slot]), np.array([ten]))
        ppl = w.people(np.array([slot]), np.array([ten]))
        ctx = {k: v[0] for k, v in {**life, **ppl}.items()}
        bits = int(active_members(life, day_start(day) + TICKS_PER_DAY // 2)[0]) or int(ctx["members"])
        ctx["account"] = (bits & -bits).bit_length() - 1
        return Victim(slot, ten, ctx)

    # -- the day -------------------------------------------------------------------------------

    def incidents(self, day: int) -> list[Incident]:
        out = []
        for k, decoy in scheduled(day):
            builder = getattr(self, f"_{PLANTED[k]}")
            # Each (policy, decoy) pair owns a block of event id keys.
            inc = builder(day, decoy, k, RowBuilder(day, INCIDENT_ID_BASE + (k * 2 + int(decoy)) * 4096))
            if inc is not None:
                out.append(inc)
        return out

    def _incident(
        self, day: int, k: int, decoy: bool, v: Victim, text: str, rb: RowBuilder, suppress=(), also=()
    ) -> Incident:
        d = date.fromordinal(day)
        incident_id = f"sim-{d:%Y%m%d}-{PLANTED[k]}-{'decoy' if decoy else 'true'}"
        return Incident(
            incident_id, PLANTED[k], decoy, v.slot, v.ten, v.account, text, rb.batch(), list(suppress), list(also)
        )

    def _start(self, day: int, home: int, key: str) -> int:
        """An instant in the victim's local working day, kept well inside the UTC day."""
        u = float(unit(self.world.seed, tag(key), day)[0])
        local = 9.5 + 7.0 * u
        utc = (local - geo.CITIES[home].utc_offset) % 24
        utc = min(max(utc, 1.0), 19.0)
        return day_start(day) + int(utc * TICKS_PER_HOUR)

    def _session(
        self,
        rb: RowBuilder,
        t: int,
        v: Victim,
        *,
        ip: int,
        loc: int,
        ua: int,
        n_env: int,
        actions=(2, 3),
        ip6: bool = False,
        proxy: int = 0,
        literal_ip: str | None = None,
        source_mobile: bool = False,
    ) -> int:
        """A successful interactive sign-in followed by envelope activity; returns the last instant."""
        login = voc.LOGIN_MOBILE if source_mobile else voc.LOGIN_WEB
        env_base = voc.ENV_MOBILE if source_mobile else voc.ENV_WEB
        where = {"ua": ua, "ip": ip, "ip6": ip6, "loc": loc, "proxy": proxy, "literal_ip": literal_ip}
        rb.add(t, v.slot, v.ten, v.account, login, **where)
        for j in range(n_env):
            t += 30 * TICKS_PER_SECOND + int(h64(self.world.seed, t, j)[0] % np.uint64(90 * TICKS_PER_SECOND))
            aux = int(h64(self.world.seed, rb.day, rb.id_base, j)[0] >> np.uint64(1))
            rb.add(t, v.slot, v.ten, v.account, env_base + actions[j % len(actions)], aux=aux, **where)
        return t

    @staticmethod
    def _failures(rb: RowBuilder, v: Victim, times, *, ua: int, ip: int, loc: int, ip6=False, literal_ip=None) -> None:
        """Failed web sign-ins at ``times``."""
        for t in times:
            rb.add(t, v.slot, v.ten, v.account, voc.FAIL_WEB, ua=ua, ip=ip, ip6=ip6, loc=loc, literal_ip=literal_ip)

    @staticmethod
    def _window(v: Victim, t0: int, t1: int, km: float, since: int | None = None) -> tuple[int, int, int, int]:
        """Quiet period around a far-away appearance: long enough that no organic event is 'impossible'."""
        hours = km / 600.0 + 2.0
        pad = int(hours * TICKS_PER_HOUR)
        return (v.slot, v.ten, t0 - pad if since is None else since, t1 + pad)

    def _at_one_place(self, day: int, k: int, v: Victim, text: str, rb: RowBuilder, t: int, t_end: int, loc: int):
        """A true incident at one place ``loc``, quiet around it; in another country it is an infrequent one too."""
        km = geo.city_distance_km(v.home, loc)
        also = [] if geo.CITIES[loc].iso == geo.CITIES[v.home].iso else ["infrequent_country"]
        return self._incident(day, k, False, v, text, rb, [self._window(v, t, t_end, km)], also)

    # -- anonymous IP ----------------------------------------------------------------------------

    def _anonymous_ip(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        week = day // 7
        if decoy and week % 2 == 0:
            v = self._pick(day, np.concatenate([self.classes[k], self.far]), week + 3, home_days=True, office=0)
            if v is not None:
                ip_text, loc = geo.CORPORATE_TOR_EXIT
                t = self._start(day, v.home, "anon decoy")
                self._session(rb, t, v, ip=geo.ipv4_int(ip_text), loc=loc, ua=int(v.ctx["desktop"]), n_env=2)
                text = (
                    f"Sign-in from {ip_text}, listed as a Tor exit but inside the HQ Corporate range "
                    "(the security team's relay): a Corporate tag overrides the Tor tag."
                )
                return self._incident(day, k, True, v, text, rb)
        v = self._own_class_victim(day, k, decoy)
        if v is None:
            return None
        home = v.home
        exits = [e for e in geo.TOR_EXITS if e != geo.CORPORATE_TOR_EXIT]
        same = [e for e in exits if geo.CITIES[e[1]].iso == geo.CITIES[home].iso]
        pool = same or exits
        ip_text, loc = pool[int(h64(self.world.seed, day, tag("tor pick"))[0] % np.uint64(len(pool)))]
        t = self._start(day, home, "anon")
        v6 = ":" in ip_text
        where = {"ip": 0 if v6 else geo.ipv4_int(ip_text), "ip6": v6, "loc": loc, "literal_ip": ip_text if v6 else None}
        if decoy:
            times = [t + j * 40 * TICKS_PER_SECOND for j in range(1 + week % 2)]
            self._failures(rb, v, times, ua=voc.TOR_BROWSER, **where)
            text = f"Failed sign-in only from Tor exit {ip_text}: failed logins are not evaluated."
            return self._incident(day, k, True, v, text, rb)
        variant = week % 3
        proxy = (voc.PROXY_TOR, voc.PROXY_NONE, voc.PROXY_ANON)[variant]
        t_end = self._session(rb, t, v, ua=voc.TOR_BROWSER, n_env=3 + variant, actions=(3, 3, 2), proxy=proxy, **where)
        tagging = {
            0: "proxyStatus=Proxy, proxyType=TOR",
            1: "no proxy fields (only the Tor list tells)",
            2: "proxyStatus=Proxy, proxyType=Anonymous",
        }[variant]
        text = f"Successful sign-in and downloads from Tor exit {ip_text} ({geo.CITIES[loc].name}); {tagging}."
        return self._at_one_place(day, k, v, text, rb, t, t_end, loc)

    # -- infrequent country --------------------------------------------------------------------

    def _infrequent_country(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        week = day // 7
        if decoy:
            pool = self.far if week % 2 == 0 else self.neighbour
            v = self._pick(day, pool, week, home_days=True) or self._pick(
                day, self.neighbour if week % 2 == 0 else self.far, week, home_days=True
            )
            if v is None:
                return None
            dest = int(v.ctx["second"])
            ip = int(geo.isp_addresses(np.array([dest]), h64(self.world.seed, day, tag("ic decoy ip")))[0])
            t = self._start(day, dest, "ic decoy")
            t_end = self._session(rb, t, v, ip=ip, loc=dest, ua=int(v.ctx["mobile"]), n_env=2, source_mobile=True)
            km = geo.city_distance_km(v.home, dest)
            text = (
                f"Frequent traveller signs in from {geo.CITIES[dest].name} "
                f"({geo.COUNTRIES[geo.CITIES[dest].iso].name}), their usual second country."
            )
            return self._incident(day, k, True, v, text, rb, [self._window(v, t, t_end, km)])
        v = self._pick(day, self.classes[k], week)
        if v is None:
            return None
        home = v.home
        dest = self._foreign_city(home, day, min_km=800, max_km=10_000, allow_neighbours=True, key="ic")
        ip = int(geo.isp_addresses(np.array([dest]), h64(self.world.seed, day, tag("ic ip")))[0])
        t = self._start(day, dest, "ic")
        ua = voc.DESKTOP_AGENTS[(int(v.ctx["desktop"]) + 1) % len(voc.DESKTOP_AGENTS)]
        t_end = self._session(rb, t, v, ip=ip, loc=dest, ua=ua, n_env=4)
        km = geo.city_distance_km(home, dest)
        text = (
            f"First ever activity from {geo.COUNTRIES[geo.CITIES[dest].iso].name} "
            f"({geo.CITIES[dest].name}); the user has only ever worked from "
            f"{geo.COUNTRIES[geo.CITIES[home].iso].name}."
        )
        return self._incident(day, k, False, v, text, rb, [self._window(v, t, t_end, km)])

    def _foreign_city(
        self, home: int, day: int, *, min_km: float, max_km: float, allow_neighbours: bool, key: str
    ) -> int:
        """A home-capable city in another country (never the victim's VPN country, which is home)."""
        iso = geo.CITIES[home].iso
        options = [
            c
            for c in geo.HOME_CITIES.tolist()
            if geo.CITIES[c].iso != iso
            and (allow_neighbours or geo.CITIES[c].iso not in geo.NEIGHBOURS[iso])
            and min_km <= geo.city_distance_km(home, c) <= max_km
        ]
        return options[int(h64(self.world.seed, day, tag(key))[0] % np.uint64(len(options)))]

    # -- suspicious IP -------------------------------------------------------------------------

    def _suspicious_ip(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        v = self._own_class_victim(day, k, decoy)
        if v is None:
            return None
        country = geo.CITIES[v.home].iso
        same = [e for e in geo.THREAT_INTEL if geo.CITIES[e[1]].iso == country]
        foreign = [e for e in geo.THREAT_INTEL if geo.CITIES[e[1]].iso != country]
        pool = foreign if decoy else (same or foreign)
        ip_text, loc, label = pool[int(h64(self.world.seed, day, tag("ti pick"), int(decoy))[0] % np.uint64(len(pool)))]
        t = self._start(day, v.home, "ti")
        if decoy:
            times = [t + j * 25 * TICKS_PER_SECOND for j in range(2 + day // 7 % 2)]
            self._failures(rb, v, times, ua=voc.API_AGENTS[1], ip=geo.ipv4_int(ip_text), loc=loc)
            text = f"Failed sign-ins only from threat-intel IP {ip_text} ({label}): no successful logon."
            return self._incident(day, k, True, v, text, rb)
        t_end = self._session(
            rb, t, v, ip=geo.ipv4_int(ip_text), loc=loc, ua=voc.DESKTOP_AGENTS[0], n_env=5, actions=(3, 2, 3)
        )
        text = f"Successful sign-in and downloads from threat-intel IP {ip_text} ({label}, {geo.CITIES[loc].name})."
        return self._at_one_place(day, k, v, text, rb, t, t_end, loc)

    # -- impossible travel ---------------------------------------------------------------------

    def _impossible_travel(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        week = day // 7
        if not decoy:
            v = self._pick(day, self.classes[k], week)
            if v is None:
                return None
            home = v.home
            dest = self._foreign_city(home, day, min_km=3000, max_km=12_000, allow_neighbours=False, key="it")
            t = self._start(day, home, "it")
            t_a = self._session(rb, t, v, **v.usual(), n_env=1)
            gap_min = 20 + int(h64(self.world.seed, day, tag("it gap"))[0] % np.uint64(31))
            t_b = t_a + gap_min * TICKS_PER_MINUTE
            ip = int(geo.isp_addresses(np.array([dest]), h64(self.world.seed, day, tag("it ip")))[0])
            ua = voc.DESKTOP_AGENTS[(int(v.ctx["desktop"]) + 2) % 6]
            t_end = self._session(rb, t_b, v, ip=ip, loc=dest, ua=ua, n_env=3)
            km = geo.city_distance_km(home, dest)
            speed = km / (gap_min / 60)
            text = (
                f"Sign-ins from {geo.CITIES[home].name} then {geo.CITIES[dest].name} "
                f"({km:.0f} km) {gap_min} minutes apart: {speed:.0f} km/h."
            )
            quiet = self._window(v, t_b, t_end, km, since=t - TICKS_PER_HOUR)
            return self._incident(day, k, False, v, text, rb, [quiet], ["infrequent_country"])
        variant = week % 3
        pool = self.neighbour if variant == 1 else self.far
        v = self._pick(day, pool, week, home_days=True)
        if v is None:
            return None
        c = v.ctx
        home, dest = v.home, int(c["second"])
        km = geo.city_distance_km(home, dest)
        t = self._start(day, home, "it decoy")
        if variant == 2:  # a long flight must still land inside the UTC day: leave early enough
            t = min(t, day_start(day + 1) - int((km / 650.0 + 3.0) * TICKS_PER_HOUR))
        if variant == 0 and int(c["office"]) >= 0 and geo.CITY_HUB[dest] >= 0:
            office = int(c["office"])
            ip_a = int(geo.site_addresses("office", office, h64(self.world.seed, day, 1))[0])
            t_a = self._session(rb, t, v, ip=ip_a, loc=home, ua=int(c["desktop"]), n_env=1)
            hub = int(geo.CITY_HUB[dest])
            ip_b = int(geo.site_addresses("hub", hub, h64(self.world.seed, day, 2))[0])
            t_b = t_a + 25 * TICKS_PER_MINUTE
            hub_city = int(geo.SITE_CITY["hub"][hub])
            t_end = self._session(rb, t_b, v, ip=ip_b, loc=hub_city, ua=int(c["desktop"]), n_env=1)
            text = (
                f"Office ({geo.OFFICES[office].name}) then VPN egress {geo.VPN_HUBS[hub].name} "
                f"({km:.0f} km) 25 minutes apart: both sides are Corporate/VPN ranges."
            )
        else:
            t_a = self._session(rb, t, v, **v.usual(), n_env=1)
            ip_b = int(geo.isp_addresses(np.array([dest]), h64(self.world.seed, day, 3))[0])
            if variant == 1:
                gap = 30 * TICKS_PER_MINUTE
                text = (
                    f"Sign-ins from {geo.CITIES[home].name} then {geo.CITIES[dest].name} ({km:.0f} km) "
                    "30 minutes apart, but the countries border each other."
                )
            else:
                gap = int((km / 650.0 + 0.5) * TICKS_PER_HOUR)
                text = (
                    f"Flight from {geo.CITIES[home].name} to {geo.CITIES[dest].name} ({km:.0f} km) with "
                    f"{gap / TICKS_PER_HOUR:.1f} h between sign-ins: feasible travel to the usual second country."
                )
            t_b = t_a + gap
            t_end = self._session(rb, t_b, v, ip=ip_b, loc=dest, ua=int(c["mobile"]), n_env=1, source_mobile=True)
        quiet = self._window(v, t_b, t_end, km, since=t - TICKS_PER_HOUR)
        return self._incident(day, k, True, v, text, rb, [quiet])

    # -- terminated user -----------------------------------------------------------------------

    def _terminated_user_activity(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        w = self.world
        if decoy:
            i = day // 7
            slot = w.decoy_pool_base + i % 7
        else:
            i = (day + 4) // 7
            slot = w.term_pool_base + i % 7
        v = self._seat(slot, i, day)
        c = v.ctx
        t = self._start(day, v.home, "term decoy" if decoy else "term")
        # Working from home, as usual (after being let go, for the true incident).
        self._session(rb, t, v, **v.usual(), n_env=4 if decoy else 6, actions=(3, 3, 2))
        if decoy:
            if int(c["gap_mode"]) == GAP_DELETE:
                text = (
                    f"Deleted in Entra ID at {to_datetime(int(c['gap_start'])):%Y-%m-%d %H:%M} and restored at "
                    f"{to_datetime(int(c['gap_end'])):%Y-%m-%d %H:%M} (re-hired) before this activity."
                )
            else:
                text = (
                    f"Disabled in Entra ID at {to_datetime(int(c['gap_start'])):%Y-%m-%d %H:%M} and re-enabled "
                    f"at {to_datetime(int(c['gap_end'])):%Y-%m-%d %H:%M}, before this activity."
                )
        else:
            how = "disabled" if int(c["term_mode"]) == TERM_DISABLE else "deleted"
            text = (
                f"Activity after the Entra ID account was {how} at "
                f"{to_datetime(int(c['term'])):%Y-%m-%d %H:%M} UTC; DocuSign memberships still open."
            )
        return self._incident(day, k, decoy, v, text, rb)

    # -- multiple failed logins ----------------------------------------------------------------

    def _multiple_failed_logins(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        week = day // 7
        v = self._own_class_victim(day, k, decoy)
        if v is None:
            return None
        home = v.home
        t = self._start(day, home, "mfl")
        if decoy:
            n = 3 + week % 2
            self._failures(rb, v, [t + j * 15 * TICKS_PER_SECOND for j in range(n)], **v.usual())
            self._session(rb, t + n * 15 * TICKS_PER_SECOND + 20 * TICKS_PER_SECOND, v, **v.usual(), n_env=1)
            text = f"{n} mistyped passwords then a successful sign-in from the usual address."
            return self._incident(day, k, True, v, text, rb)
        n = 15 + int(h64(self.world.seed, day, tag("mfl n"))[0] % np.uint64(26))
        span = (2 + int(h64(self.world.seed, day, tag("mfl span"))[0] % np.uint64(5))) * TICKS_PER_MINUTE
        ip = int(geo.isp_addresses(np.array([home]), h64(self.world.seed, day, tag("mfl ip")))[0])
        self._failures(rb, v, [t + span * j // n for j in range(n)], ua=voc.DESKTOP_AGENTS[5], ip=ip, loc=home)
        success = week % 2 == 0
        if success:
            t_success = t + span + 30 * TICKS_PER_SECOND
            self._session(rb, t_success, v, ip=ip, loc=home, ua=voc.DESKTOP_AGENTS[5], n_env=2, actions=(3,))
        text = f"{n} failed sign-ins within {span // TICKS_PER_MINUTE} minutes from {geo.ipv4_text([ip])[0]}" + (
            ", then a successful one (password guessed)." if success else "."
        )
        return self._incident(day, k, False, v, text, rb)

    # -- example activity policies ---------------------------------------------------------------

    def _burst(
        self, day: int, decoy: bool, k: int, rb: RowBuilder, n: tuple[int, int], gap_s: tuple[int, int], actions, what: str
    ) -> Incident | None:
        """One user doing ``n`` envelope ``actions`` ``gap_s`` seconds apart from their usual place."""
        week = day // 7
        v = self._pick(day, self.classes[k % len(self.classes)], week + 11 + (5 if decoy else 0))
        if v is None:
            return None
        t0 = t = self._start(day, v.home, PLANTED[k])
        count = n[0] + int(h64(self.world.seed, day, tag(PLANTED[k]))[0] % np.uint64(n[1] - n[0] + 1))
        for j in range(count):
            aux = int(h64(self.world.seed, day, rb.id_base, j)[0] >> np.uint64(1))
            rb.add(t, v.slot, v.ten, v.account, voc.ENV_WEB + actions[j % len(actions)], aux=aux, **v.usual())
            t += (gap_s[0] + int(h64(self.world.seed, t, j)[0] % np.uint64(gap_s[1] - gap_s[0] + 1))) * TICKS_PER_SECOND
        text = f"{count} envelopes {what} within {(t - t0) // TICKS_PER_MINUTE + 1} minutes."
        return self._incident(day, k, decoy, v, text, rb)

    def _mass_envelope_deletion(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        # examples.yaml: 10 in 15 minutes. True: 12-25 at most 50 s apart; decoy: 4-7.
        actions = (voc.ENVELOPE_ACTIONS.index("Deleted"), voc.ENVELOPE_ACTIONS.index("Voided"))
        n = (4, 7) if decoy else (12, 25)
        return self._burst(day, decoy, k, rb, n, (20, 50), actions, "deleted or voided")

    def _mass_download(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        # examples.yaml: 30 in 10 minutes. True: 35-60 at most 12 s apart; decoy: 10-20.
        n = (10, 20) if decoy else (35, 60)
        return self._burst(day, decoy, k, rb, n, (4, 12), (voc.DOWNLOADED,), "downloaded")

    def _admin_added(self, day: int, decoy: bool, k: int, rb: RowBuilder) -> Incident | None:
        """An org admin grants a colleague org-admin rights and takes them back 40 minutes later.

        Granted and revoked the same day, so every end-of-day snapshot stays true.
        """
        if decoy:
            return None
        week = day // 7
        actor = self._pick(day, np.flatnonzero(self.world.org_admin_slot), week)
        target = self._victim(day, self.classes[(week + 2) % len(self.classes)], week + 23)
        if actor is None or target is None:
            return None
        email = self.world.names([target[0]], [target[1]])[0][2]
        uid = self.world.user_id(*target)
        t = self._start(day, actor.home, "admin added")
        for at, kind in ((t, voc.ORG_ADMIN_ADDED), (t + 40 * TICKS_PER_MINUTE, voc.ORG_ADMIN_REMOVED)):
            rb.add(
                at, actor.slot, actor.ten, -1, kind, rslot=target[0], rten=target[1],
                extra=("", "", {"AffectedUserId": uid}), **actor.usual(),
            )
        text = f"{email} made an organization administrator, and removed again 40 minutes later."
        return self._incident(day, k, False, actor, text, rb)
