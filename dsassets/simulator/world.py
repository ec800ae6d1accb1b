"""The simulated organisation: accounts, people, their lifecycle and account settings.

The workforce is a fixed set of *slots* (seats). A seat is held by a
succession of people (*tenures*); each tenure is a pure function of the seed,
the slot and the tenure number, so the state at any moment, past or future,
is computed directly and vectorised over all slots:

* regular slots: tenure ``j`` starts every ``P`` days (``P`` per slot, 700-2200
  days, random phase). The person is created in Entra ID two days before
  joining DocuSign, works until a termination day (Entra deletion, or
  disabling then deletion 45 days later), and the DocuSign memberships are
  closed 0-10 days after that. Some memberships close early (partially
  active) and some reopen; a few people are disabled in Entra for a while
  mid-tenure (no activity meanwhile).
* service slots (0-2): the monitoring service user the JWT grant impersonates
  (organisation admin, member of every account) and two integration users
  whose API logins come from a cloud range. They never leave.
* incident pools: seats whose lifecycle is driven by the incident schedule
  (see ``incidents.py``): one pool for people terminated in Entra the day
  before a planted "activity by terminated user", one for the near misses
  (disabled then re-enabled, deleted then restored).

Organic activity (``activity.py``) only ever happens while a person is
*alive*: joined, not yet terminated in Entra, not inside a disabled/deleted
gap. Anything else in the stream is a planted incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from dsassets.simulator import geography as geo
from dsassets.simulator.config import SimulatorConfig
from dsassets.simulator.ids import (
    NEVER,
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    below,
    day_start,
    guid1,
    guid_of,
    h64,
    tag,
    ticks_to_day,
    unit,
)
from dsassets.simulator.vocabulary import DESKTOP_AGENTS, MOBILE_AGENTS

ORIGIN = date(2000, 1, 1).toordinal()
DOMAIN = "acme.example.com"
ORGANIZATION_NAME = "Acme Corporation"
ACCOUNT_NAMES = ["Acme Sales", "Acme Legal", "Acme HR", "Acme Procurement", "Acme EMEA"]
N_SERVICE = 3
N_ORG_ADMINS = 3
POOL_SIZE = 7
ENTRA_RECYCLE_DAYS = 30  # soft-deleted users stay in deletedItems this long

# Slot kinds
SERVICE, REGULAR, TERM_POOL, DECOY_POOL = 0, 1, 2, 3
# Entra outcomes
TERM_DELETE, TERM_DISABLE = 0, 1
GAP_NONE, GAP_DISABLE, GAP_DELETE = 0, 1, 2
# Traveller kinds
NOT_TRAVELLER, FAR_TRAVELLER, NEIGHBOUR_TRAVELLER = 0, 1, 2
TRIP_PERIOD = 14  # days; a traveller is abroad on relative days 3-6 and in transit on 2 and 7

PERMISSION_PROFILES = [(10_000_101, "DS Admin"), (10_000_102, "DS Sender"), (10_000_103, "DS Viewer")]

FIRST_NAMES = (
    "amelia oliver isla jack ava harry mia noah sofia leo aria lucas chloe ethan zoe mason "
    "priya arjun ananya rohan kavya vikram meera aditya yuki haruto sakura ren emma liam lea "
    "paul marie lukas hannah felix lena jonas camille louis chloe hugo ines mateo lucia pablo "
    "carmen diego sara luca giulia noor omar fatima ali wei mei jun lin grace henry ella james"
).split()
LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis martinez lopez wilson anderson "
    "taylor thomas moore jackson martin lee walker hall allen young king wright scott green "
    "baker adams nelson hill campbell mitchell roberts carter phillips evans turner torres parker "
    "collins edwards stewart morris murphy cook rogers morgan cooper peterson reed bailey kelly "
    "howard cox ward richardson watson brooks wood james bennett gray hughes price sanders patel "
    "sharma singh kumar gupta iyer nair reddy tanaka suzuki sato mueller schmidt schneider fischer "
    "weber meyer dubois moreau laurent bernard petit rossi russo ferrari fernandez gomez ruiz diaz"
).split()


@dataclass(frozen=True)
class Account:
    index: int
    id: str
    name: str
    external_id: int
    profile: str  # "strong" | "medium" | "weak": baseline security settings


@dataclass(frozen=True)
class Integration:
    name: str
    integrator_key: str
    slot: int  # the service user it impersonates


def _cumulative_pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(weights) - 1)


class World:
    """Static facts plus vectorised per-slot lifecycle and personal attributes."""

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.seed = int(config.seed)
        s = self.seed
        self.organization_id = config.organization_id
        self.domain = DOMAIN
        n_accounts = 3 + int(below(3, s, tag("n_accounts"))[0])
        profiles = ["strong", "weak"] + [
            ("strong", "medium", "weak")[int(below(3, s, tag("profile"), k)[0])] for k in range(2, n_accounts)
        ]
        self.accounts = [
            Account(
                k,
                guid1(s, tag("account"), k),
                ACCOUNT_NAMES[k],
                int(18_000_000 + below(900_000, s, tag("external"), k)[0]),
                profiles[k],
            )
            for k in range(n_accounts)
        ]
        self.account_index = {a.id: a.index for a in self.accounts}
        self.n_regular = config.regular_users
        self.regular_base = N_SERVICE
        self.term_pool_base = N_SERVICE + self.n_regular
        self.decoy_pool_base = self.term_pool_base + POOL_SIZE
        self.n_slots = self.decoy_pool_base + POOL_SIZE
        slots = np.arange(self.n_slots)
        self.kind = np.full(self.n_slots, REGULAR, dtype=np.int8)
        self.kind[:N_SERVICE] = SERVICE
        self.kind[self.term_pool_base : self.decoy_pool_base] = TERM_POOL
        self.kind[self.decoy_pool_base :] = DECOY_POOL
        r = slots - self.regular_base
        self.org_admin_slot = (self.kind == REGULAR) & (r < N_ORG_ADMINS)
        self.org_admin_slot[0] = True
        # Seats 3 and 7 of every 8 regular seats hold frequent travellers (decoys need some at any scale).
        self.traveller = np.zeros(self.n_slots, dtype=np.int8)
        regular_plain = (self.kind == REGULAR) & ~self.org_admin_slot
        self.traveller[regular_plain & (r % 8 == 3)] = FAR_TRAVELLER
        self.traveller[regular_plain & (r % 8 == 7)] = NEIGHBOUR_TRAVELLER
        # Tenure period (days) and phase of regular seats: org admins stay longer.
        base_period = 700 + below(1500, s, tag("period"), slots)
        self.period = np.where(self.org_admin_slot, base_period + 1500, base_period)
        self.phase = below(self.period, s, tag("phase"), slots)
        self.integrations = [
            Integration("Salesforce connector", guid1(s, tag("ikey"), 1), 1),
            Integration("Contract Hub", guid1(s, tag("ikey"), 2), 2),
        ]
        self.integration_key = guid1(s, tag("dsassets integration key"))
        self.service_user_slot = 0
        self.reserved_domain_id = guid1(s, tag("reserved domain"))
        self.identity_provider_id = guid1(s, tag("identity provider"))
        self.entra_tenant_id = guid1(s, tag("entra tenant"))
        self.entra_client_id = guid1(s, tag("entra client"))
        self.entra_client_secret = "sim~" + guid1(s, tag("entra secret")).replace("-", "")
        self.org_created = day_start(ORIGIN) + 9 * TICKS_PER_HOUR
        bits = max(8, int(self.n_slots * 64).bit_length())
        self._name_bits = bits

    # -- tenures -------------------------------------------------------------------------------

    def tenure_at(self, slots: np.ndarray, day: int) -> np.ndarray:
        """The tenure number occupying each slot on ``day`` (its vacancy tail included)."""
        slots = np.asarray(slots, dtype=np.int64)
        kind = self.kind[slots]
        out = np.zeros(slots.shape, dtype=np.int64)
        reg = kind == REGULAR
        p, ph = self.period[slots[reg]], self.phase[slots[reg]]
        out[reg] = np.floor_divide(day - ORIGIN - ph, p)
        term = kind == TERM_POOL
        if term.any():
            rr = slots[term] - self.term_pool_base
            i0 = day // 7 + 1
            out[term] = i0 + (rr - i0) % 7
        dec = kind == DECOY_POOL
        if dec.any():
            rr = slots[dec] - self.decoy_pool_base
            i0 = day // 7
            out[dec] = i0 + (rr - i0) % 7
        return out

    def previous_tenure(self, slots: np.ndarray, tens: np.ndarray) -> np.ndarray:
        kind = self.kind[np.asarray(slots)]
        return np.where(kind == REGULAR, tens - 1, np.where(kind == SERVICE, -(10**9), tens - 7))

    def lifecycle(self, slots: np.ndarray, tens: np.ndarray) -> dict[str, np.ndarray]:
        """Lifecycle instants (ticks; ``NEVER`` when absent) of each (slot, tenure)."""
        s = self.seed
        slots = np.asarray(slots, dtype=np.int64)
        tens = np.asarray(tens, dtype=np.int64)
        n = slots.shape[0]
        kind = self.kind[slots]
        A = len(self.accounts)

        def u(name: str) -> np.ndarray:
            return unit(s, tag(name), slots, tens) if n else np.zeros(0)

        start_day = np.zeros(n, dtype=np.int64)
        end_day = np.zeros(n, dtype=np.int64)  # first day of the next tenure
        term_day = np.zeros(n, dtype=np.int64)
        close_day = np.zeros(n, dtype=np.int64)
        term_mode = np.where(u("term mode") < 0.7, TERM_DELETE, TERM_DISABLE)
        gap_mode = np.full(n, GAP_NONE, dtype=np.int64)
        gap_start = np.full(n, NEVER, dtype=np.int64)
        gap_end = np.full(n, NEVER, dtype=np.int64)

        reg = kind == REGULAR
        if reg.any():
            p, ph = self.period[slots[reg]], self.phase[slots[reg]]
            t0 = ORIGIN + ph + tens[reg] * p
            vacancy = 15 + (u("vacancy")[reg] * 90).astype(np.int64)
            start_day[reg] = t0
            end_day[reg] = t0 + p
            term_day[reg] = t0 + p - vacancy
            close_day[reg] = term_day[reg] + (u("close delay")[reg] * 11).astype(np.int64)
            # A few people are disabled in Entra for a while mid-tenure (leave, investigation).
            working = term_day[reg] - t0
            has_gap = (u("gap")[reg] < 0.06) & (working > 120)
            g0 = t0 + 30 + (u("gap start")[reg] * (working - 90)).astype(np.int64)
            g1 = g0 + 3 + (u("gap length")[reg] * 18).astype(np.int64)
            idx = np.flatnonzero(reg)[has_gap]
            gap_mode[idx] = GAP_DISABLE
            gap_start[idx] = day_start(0) + (g0[has_gap] - 0) * TICKS_PER_DAY + 17 * TICKS_PER_HOUR
            gap_end[idx] = day_start(0) + g1[has_gap] * TICKS_PER_DAY + 9 * TICKS_PER_HOUR
        svc = kind == SERVICE
        if svc.any():
            start_day[svc] = ORIGIN
            end_day[svc] = 10**7
            term_day[svc] = 10**7
            close_day[svc] = 10**7
        tp = kind == TERM_POOL
        if tp.any():
            i = tens[tp]
            d = 7 * i - 4  # the incident day
            start_day[tp] = 7 * i - 49
            end_day[tp] = 7 * i
            term_day[tp] = d - 1
            close_day[tp] = d + 2
            term_mode[tp] = np.where(i % 2 == 0, TERM_DELETE, TERM_DISABLE)
        dp = kind == DECOY_POOL
        if dp.any():
            i = tens[dp]
            d = 7 * i  # the near-miss day
            start_day[dp] = 7 * i - 42
            end_day[dp] = 7 * i + 7
            term_day[dp] = d + 4
            close_day[dp] = d + 5
            term_mode[dp] = TERM_DELETE
            idx = np.flatnonzero(dp)
            disable = i % 2 == 0
            gap_mode[idx] = np.where(disable, GAP_DISABLE, GAP_DELETE)
            g0 = np.where(disable, d - 3, d - 5)
            g1 = np.where(disable, d - 1, d - 2)
            gap_start[idx] = (
                day_start(0)
                + g0 * TICKS_PER_DAY
                + 17 * TICKS_PER_HOUR
                + (u("g0")[dp] * TICKS_PER_HOUR).astype(np.int64)
            )
            gap_end[idx] = (
                day_start(0) + g1 * TICKS_PER_DAY + 9 * TICKS_PER_HOUR + (u("g1")[dp] * TICKS_PER_HOUR).astype(np.int64)
            )

        def at(days: np.ndarray, hour: float, spread_h: float, name: str) -> np.ndarray:
            jitter = (u(name) * spread_h * TICKS_PER_HOUR).astype(np.int64)
            return day_start(0) + days * TICKS_PER_DAY + int(hour * TICKS_PER_HOUR) + jitter

        join = at(start_day, 9.0, 7.0, "join time")
        entra_created = join - 2 * TICKS_PER_DAY - 3 * TICKS_PER_HOUR
        term = at(term_day, 16.0, 3.0, "term time")
        close = at(close_day, 14.0, 4.0, "close time")
        never = kind == SERVICE
        term[never] = NEVER
        close[never] = NEVER
        join[never] = self.org_created + TICKS_PER_HOUR * slots[never]
        entra_created[never] = join[never] - TICKS_PER_DAY
        final_delete = np.where(term_mode == TERM_DISABLE, term + 45 * TICKS_PER_DAY, NEVER)
        final_delete[never] = NEVER

        # Memberships: 1-3 accounts, a primary one first.
        primary = below(A, s, tag("primary"), slots, tens)
        second = (primary + 1 + below(A - 1, s, tag("second"), slots, tens)) % A
        third = (second + 1 + below(A - 2, s, tag("third"), slots, tens)) % A
        third = np.where(third == primary, (third + 1) % A, third)
        nm = 1 + (u("two accounts") < 0.55) + (u("three accounts") < 0.15)
        members = (1 << primary) | np.where(nm >= 2, 1 << second, 0) | np.where(nm >= 3, 1 << third, 0)
        org_admin = self.org_admin_slot[slots].copy()
        admin = np.where(u("account admin") < 0.05, 1 << primary, 0)
        all_bits = (1 << A) - 1
        # Service users: the monitor user is everywhere; each integration user in one account.
        members = np.where(slots == 0, all_bits, members)
        members = np.where((slots == 1) | (slots == 2), 1 << ((slots - 1) % A), members)
        admin = np.where(org_admin, members, admin)
        admin = np.where((slots == 1) | (slots == 2), 0, admin)
        pool = (kind == TERM_POOL) | (kind == DECOY_POOL)
        admin = np.where(pool, 0, admin)
        # Partial closures (one non-primary account closes) and the odd reactivation.
        has_pc = (nm >= 2) & (u("partial close") < 0.6) & reg & ~org_admin
        working_t = np.maximum(term - join, TICKS_PER_DAY)
        pc_close = np.where(has_pc, join + (0.15 + 0.6 * u("pc when")) * working_t, NEVER).astype(np.int64)
        reopen = pc_close + ((5 + u("reopen after") * 55) * TICKS_PER_DAY).astype(np.int64)
        pc_reopen = np.where(has_pc & (u("reopen") < 0.3) & (reopen < term), reopen, NEVER)
        pc_acct = np.where(has_pc, second, -1)
        # Incident-pool seats always hold two accounts and lose the second after ten days, so that
        # "partially active" people exist at every instant even in the smallest organisation.
        if pool.any():
            members = np.where(pool, (1 << primary) | (1 << second), members)
            pc_acct = np.where(pool, second, pc_acct)
            pc_close = np.where(pool, join + 10 * TICKS_PER_DAY, pc_close)
            pc_reopen = np.where(pool, NEVER, pc_reopen)
        profile = np.where(u("viewer") < 0.15, 2, 1)
        return {
            "slot": slots,
            "ten": tens,
            "start_day": start_day,
            "end_day": end_day,
            "entra_created": entra_created,
            "join": join,
            "term": term,
            "term_mode": term_mode,
            "final_delete": final_delete,
            "close": close,
            "gap_mode": gap_mode,
            "gap_start": gap_start,
            "gap_end": gap_end,
            "members": members.astype(np.int64),
            "admin": admin.astype(np.int64),
            "org_admin": org_admin,
            "pc_acct": pc_acct,
            "pc_close": pc_close,
            "pc_reopen": pc_reopen,
            "profile": profile,
        }

    # -- people --------------------------------------------------------------------------------

    def people(self, slots: np.ndarray, tens: np.ndarray) -> dict[str, np.ndarray]:
        """Where each (slot, tenure) lives and works and how they connect."""
        s = self.seed
        slots = np.asarray(slots, dtype=np.int64)
        tens = np.asarray(tens, dtype=np.int64)
        n = slots.shape[0]

        def u(name: str) -> np.ndarray:
            return unit(s, tag(name), slots, tens) if n else np.zeros(0)

        trav = self.traveller[slots]
        home = geo.HOME_CITIES[_cumulative_pick(geo.HOME_WEIGHTS, u("home"))]
        # Far travellers live in an office city; neighbour travellers in a country with an ISP neighbour.
        office_cities = np.array([o.city for o in geo.OFFICES])
        home = np.where(
            trav == FAR_TRAVELLER, office_cities[below(len(office_cities), s, tag("far home"), slots, tens)], home
        )
        nb_homes = _NB_HOMES
        home = np.where(
            trav == NEIGHBOUR_TRAVELLER, nb_homes[below(len(nb_homes), s, tag("nb home"), slots, tens)], home
        )
        second = np.full(n, -1, dtype=np.int64)
        far = trav == FAR_TRAVELLER
        second[far] = _FAR_TRIP_TABLE[home[far]]
        nb = trav == NEIGHBOUR_TRAVELLER
        if nb.any():
            count = _NB_COUNT[home[nb]]
            pick = below(np.maximum(count, 1), s, tag("nb city"), slots[nb], tens[nb])
            second[nb] = _NB_TABLE[home[nb], pick]
        office = geo.CITY_OFFICE[home]
        office = np.where((office >= 0) & ((u("office user") < 0.6) | (trav == FAR_TRAVELLER)), office, -1)
        hub = geo.CITY_HUB[home]
        hub = np.where((hub >= 0) & (u("vpn user") < 0.3), hub, -1)
        home_ip = geo.isp_addresses(home, h64(s, tag("home ip"), slots, tens))
        home_v6 = geo.CITY_HAS_V6[home] & (u("ipv6") < 0.12)
        weight = 0.25 + -np.log1p(-u("activity") * 0.999) * 0.75
        mobile_share = 0.1 + 0.4 * u("mobile share")
        desktop = np.array(DESKTOP_AGENTS)[below(len(DESKTOP_AGENTS), s, tag("desktop"), slots, tens)]
        mobile = np.array(MOBILE_AGENTS)[below(len(MOBILE_AGENTS), s, tag("mobile"), slots, tens)]
        # Service users: integrations live in the cloud, the monitor user in the HQ office.
        svc = self.kind[slots] == SERVICE
        home = np.where(svc, geo.OFFICES[0].city, home)
        office = np.where(svc, 0, office)
        hub = np.where(svc, -1, hub)
        home_v6 = home_v6 & ~svc
        return {
            "home": home,
            "second": second,
            "traveller": trav,
            "office": office,
            "hub": hub,
            "home_ip": home_ip,
            "home_v6": home_v6,
            "weight": weight,
            "mobile_share": mobile_share,
            "desktop": desktop,
            "mobile": mobile,
        }

    def trip_state(self, join: np.ndarray, traveller: np.ndarray, day: int) -> np.ndarray:
        """0 at home, 1 abroad, 2 in transit (no activity) for travellers on ``day``."""
        join_day = ticks_to_day(join)
        rel = np.mod(day - join_day, TRIP_PERIOD)
        state = np.where((rel >= 3) & (rel <= 6), 1, np.where((rel == 2) | (rel == 7), 2, 0))
        return np.where(traveller > 0, state, 0)

    # -- identities ----------------------------------------------------------------------------

    def user_ids(self, slots, tens) -> list[str]:
        return guid_of(self.seed, tag("user"), np.asarray(slots), np.asarray(tens))

    def user_id(self, slot: int, ten: int) -> str:
        return _user_id(self.seed, int(slot), int(ten))

    def entra_ids(self, slots, tens) -> list[str]:
        return guid_of(self.seed, tag("entra user"), np.asarray(slots), np.asarray(tens))

    def membership_ids(self, slots, tens, accounts) -> list[str]:
        return guid_of(self.seed, tag("membership"), np.asarray(slots), np.asarray(tens), np.asarray(accounts))

    def names(self, slots, tens) -> list[tuple[str, str, str]]:
        """(first, last, email) per (slot, tenure); emails are unique among listed people."""
        slots = np.asarray(slots, dtype=np.int64)
        tens = np.asarray(tens, dtype=np.int64)
        out = []
        mask = (1 << self._name_bits) - 1
        F, L = len(FIRST_NAMES), len(LAST_NAMES)
        for slot, ten in zip(slots.tolist(), tens.tolist()):
            if slot < N_SERVICE:
                first, last, local = SERVICE_NAMES[slot]
                out.append((first, last, f"{local}@{self.domain}"))
                continue
            code = ((slot * 64 + ten % 64) * 0x5DEECE66D) & mask
            first, last = FIRST_NAMES[code % F], LAST_NAMES[(code // F) % L]
            suffix = code // (F * L)
            local = f"{first}.{last}{suffix if suffix else ''}"
            out.append((first.title(), last.title(), f"{local}@{self.domain}"))
        return out

    # -- account settings ----------------------------------------------------------------------

    def drift_episodes(self, account: int, first_day: int, last_day: int) -> list[tuple[int, int, str, str, str]]:
        """Settings weakened and later restored: (weakened at, restored at, key, good, weak) ticks.

        An admin loosens one setting on roughly one day in twenty per account and
        puts it back 1-3 days later; each change is an ``Account/Updated`` event.
        The first account (always "strong") also drifts on one fixed weekday, so
        that any 7-day demo shows at least one drift (posture_changes).
        """
        out = []
        base = baseline_settings(self.accounts[account].profile)
        for day in range(first_day, last_day + 1):
            weekly = account == 0 and day % 7 == WEEKLY_DRIFT_WEEKDAY
            if not weekly and unit(self.seed, tag("drift"), account, day)[0] >= 0.05:
                continue
            key = DRIFT_KEYS[int(below(len(DRIFT_KEYS), self.seed, tag("drift key"), account, day)[0])]
            good, weak = base[key], WEAK_VALUES[key]
            if good.lower() == weak.lower():
                continue
            t0 = (
                day_start(day)
                + 13 * TICKS_PER_HOUR
                + int(unit(self.seed, tag("drift t0"), account, day)[0] * 4 * TICKS_PER_HOUR)
            )
            back = 1 + int(below(3, self.seed, tag("drift back"), account, day)[0])
            t1 = (
                day_start(day + back)
                + 9 * TICKS_PER_HOUR
                + int(unit(self.seed, tag("drift t1"), account, day)[0] * 3 * TICKS_PER_HOUR)
            )
            out.append((t0, t1, key, good, weak))
        return out

    def settings_at(self, account: int, t: int) -> dict[str, str]:
        """Security settings and password rules of an account as of ``t`` (all strings)."""
        values = dict(baseline_settings(self.accounts[account].profile))
        day = int(ticks_to_day(t))
        for t0, t1, key, _good, weak in self.drift_episodes(account, day - 4, day):
            if t0 <= t < t1:
                values[key] = weak
        return values


SERVICE_NAMES = [
    ("Monitor", "Service", "svc-docusign-monitor"),
    ("Salesforce", "Integration", "svc-salesforce"),
    ("Contract Hub", "Integration", "svc-contracthub"),
]


@lru_cache(maxsize=200_000)
def _user_id(seed: int, slot: int, ten: int) -> str:
    return guid1(seed, tag("user"), slot, ten)


def _neighbour_cities(city: int) -> list[int]:
    """Home-capable cities in countries bordering ``city``'s country, farthest first (>= 500 km)."""
    iso = geo.CITIES[city].iso
    options = []
    for nb in sorted(geo.NEIGHBOURS[iso]):
        if nb not in geo.ISP_BLOCKS:
            continue
        cands = [c for c in geo.CITIES_OF.get(nb, []) if geo.CITIES[c].weight > 0]
        cands = [c for c in cands if geo.city_distance_km(city, c) >= 500]
        if cands:
            options.append(max(cands, key=lambda c: geo.city_distance_km(city, c)))
    return options


# Far travellers (office cities) and their usual second country: a city with a VPN hub there.
FAR_TRIP = {
    geo.CITY_INDEX["new york"]: geo.CITY_INDEX["london"],
    geo.CITY_INDEX["san francisco"]: geo.CITY_INDEX["tokyo"],
    geo.CITY_INDEX["london"]: geo.CITY_INDEX["new york"],
    geo.CITY_INDEX["berlin"]: geo.CITY_INDEX["new york"],
    geo.CITY_INDEX["bengaluru"]: geo.CITY_INDEX["singapore"],
    geo.CITY_INDEX["sydney"]: geo.CITY_INDEX["singapore"],
}

# Baseline security settings per profile (string values, mixed-case booleans on purpose).
_PROFILES: dict[str, dict[str, str]] = {
    "strong": {
        "sessionTimeout": "20",
        "mobileSessionTimeout": "20",
        "signingSessionTimeout": "20",
        "disableMultipleSessions": "true",
        "enableSMSAuthentication": "True",
        "allowPhoneAuthentication": "true",
        "signerMustLoginToSign": "true",
        "senderMustAuthenticateSigning": "True",
        "expirePassword": "true",
        "expirePasswordDays": "90",
        "lockoutDurationMinutes": "30",
        "lockoutDurationType": "minutes",
        "minimumPasswordAgeDays": "1",
        "minimumPasswordLength": "12",
        "passwordIncludeDigit": "true",
        "passwordIncludeDigitOrSpecialCharacter": "true",
        "passwordIncludeLowerCase": "true",
        "passwordIncludeSpecialCharacter": "True",
        "passwordIncludeUpperCase": "true",
        "passwordStrengthType": "strong",
        "questionsRequired": "0",
    },
    "medium": {
        "sessionTimeout": "60",
        "mobileSessionTimeout": "30",
        "signingSessionTimeout": "60",
        "disableMultipleSessions": "False",
        "enableSMSAuthentication": "true",
        "allowPhoneAuthentication": "false",
        "signerMustLoginToSign": "false",
        "senderMustAuthenticateSigning": "true",
        "expirePassword": "false",
        "expirePasswordDays": "0",
        "lockoutDurationMinutes": "10",
        "lockoutDurationType": "minutes",
        "minimumPasswordAgeDays": "0",
        "minimumPasswordLength": "8",
        "passwordIncludeDigit": "true",
        "passwordIncludeDigitOrSpecialCharacter": "true",
        "passwordIncludeLowerCase": "true",
        "passwordIncludeSpecialCharacter": "false",
        "passwordIncludeUpperCase": "true",
        "passwordStrengthType": "medium",
        "questionsRequired": "0",
    },
    "weak": {
        "sessionTimeout": "120",
        "mobileSessionTimeout": "120",
        "signingSessionTimeout": "120",
        "disableMultipleSessions": "False",
        "enableSMSAuthentication": "false",
        "allowPhoneAuthentication": "False",
        "signerMustLoginToSign": "False",
        "senderMustAuthenticateSigning": "false",
        "expirePassword": "False",
        "expirePasswordDays": "0",
        "lockoutDurationMinutes": "0",
        "lockoutDurationType": "minutes",
        "minimumPasswordAgeDays": "0",
        "minimumPasswordLength": "6",
        "passwordIncludeDigit": "false",
        "passwordIncludeDigitOrSpecialCharacter": "False",
        "passwordIncludeLowerCase": "false",
        "passwordIncludeSpecialCharacter": "false",
        "passwordIncludeUpperCase": "False",
        "passwordStrengthType": "basic",
        "questionsRequired": "0",
    },
}
# date.toordinal() % 7 of the day the first account drifts every week (1 = Monday, 2 = Tuesday).
WEEKLY_DRIFT_WEEKDAY = 2
DRIFT_KEYS = [
    "sessionTimeout",
    "mobileSessionTimeout",
    "disableMultipleSessions",
    "signerMustLoginToSign",
    "minimumPasswordLength",
    "lockoutDurationMinutes",
]
WEAK_VALUES = {
    "sessionTimeout": "120",
    "mobileSessionTimeout": "120",
    "disableMultipleSessions": "false",
    "signerMustLoginToSign": "false",
    "minimumPasswordLength": "6",
    "lockoutDurationMinutes": "0",
}
PASSWORD_KEYS = [
    "expirePassword",
    "expirePasswordDays",
    "lockoutDurationMinutes",
    "lockoutDurationType",
    "minimumPasswordAgeDays",
    "minimumPasswordLength",
    "passwordIncludeDigit",
    "passwordIncludeDigitOrSpecialCharacter",
    "passwordIncludeLowerCase",
    "passwordIncludeSpecialCharacter",
    "passwordIncludeUpperCase",
    "passwordStrengthType",
    "questionsRequired",
]


def baseline_settings(profile: str) -> dict[str, str]:
    return _PROFILES[profile]


# Lookup tables for vectorised traveller assignment.
_NB_OPTIONS = [_neighbour_cities(c) if geo.CITIES[c].weight > 0 else [] for c in range(len(geo.CITIES))]
_NB_COUNT = np.array([len(o) for o in _NB_OPTIONS], dtype=np.int64)
_NB_TABLE = np.array([(o + [-1] * 4)[:4] for o in _NB_OPTIONS], dtype=np.int64)
_NB_HOMES = np.array([c for c in geo.HOME_CITIES.tolist() if _NB_OPTIONS[c]], dtype=np.int64)
_FAR_TRIP_TABLE = np.array([FAR_TRIP.get(c, -1) for c in range(len(geo.CITIES))], dtype=np.int64)
