"""Organic (benign) activity of one day, generated vectorised with numpy.

A day is a set of *sessions*: a person signs in (now and then after a typo or
two), then touches a few envelopes. Sessions follow local business hours,
weekdays are busier than weekends, and each person connects from where they
actually are: the office (Corporate range), the corporate VPN egress in their
own country (VPN range), home broadband, a phone on a national carrier, or
a hotel in their usual second country while travelling (travellers have a
day without activity for each flight, so every trip is physically feasible).

Also here: non-interactive API sign-ins of the integrations, lifecycle
events (joins, closures, reactivations), admin chores, settings drift and
Monitor's own ``IpAddressOutsideAllowedRanges`` alerts.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from dsassets.simulator import geography as geo
from dsassets.simulator import vocabulary as voc
from dsassets.simulator.events import ADMIN_ID_BASE, COLUMNS, EventBatch, RowBuilder
from dsassets.simulator.ids import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
    day_start,
    h64,
    tag,
)
from dsassets.simulator.world import (
    GAP_NONE,
    PERMISSION_PROFILES,
    SERVICE,
    World,
)

WEEKDAY_FACTOR = (1.25, 1.25, 1.25, 1.25, 1.25, 0.375, 0.375)  # averages to 1 over a week
ORGANIC_SHARE = 0.92  # of events_per_day; the rest are API, admin and alerts
API_SHARE = 0.06
ENVELOPES_PER_SESSION = 3.5
TYPO_RATE = 0.015
MISSING_LOCATION_RATE = 0.02
ISO_COUNTRY_RATE = 0.04
MAX_LAG_SECONDS = 300
LATE_LAG_SECONDS = (90 * 60, 270 * 60)  # late ingestion: 1.5-4.5 hours (stays within the next day)
DUPLICATE_RATE = 0.001


def day_population(world: World, day: int) -> dict[str, np.ndarray]:
    """Lifecycle and personal attributes of every slot's tenure on ``day``."""
    slots = np.arange(world.n_slots, dtype=np.int64)
    tens = world.tenure_at(slots, day)
    life = world.lifecycle(slots, tens)
    life.update(world.people(slots, tens))
    life["trip"] = world.trip_state(life["join"], life["traveller"], day)
    return life


def active_members(life: dict[str, np.ndarray], t) -> np.ndarray:
    """Bitmask of accounts where each person's membership is open at ``t`` (scalar or per-row)."""
    closed_pc = (life["pc_close"] <= t) & (t < life["pc_reopen"])
    pc_bit = np.where(life["pc_acct"] >= 0, 1 << np.maximum(life["pc_acct"], 0), 0)
    members = np.where(closed_pc, life["members"] & ~pc_bit, life["members"])
    return np.where((life["join"] <= t) & (t < life["close"]), members, 0)


_MEMBER_KEYS = ("pc_close", "pc_reopen", "pc_acct", "members", "join", "close")


def _pick_bit(mask: np.ndarray, u: np.ndarray, n_bits: int) -> np.ndarray:
    """A random set bit index of each mask (-1 when empty)."""
    count = np.zeros(mask.shape, dtype=np.int64)
    for b in range(n_bits):
        count += (mask >> b) & 1
    target = (u * np.maximum(count, 1)).astype(np.int64)
    out = np.full(mask.shape, -1, dtype=np.int64)
    seen = np.zeros(mask.shape, dtype=np.int64)
    for b in range(n_bits):
        bit = ((mask >> b) & 1).astype(bool)
        hit = bit & (seen == target) & (out < 0)
        out[hit] = b
        seen += bit
    return out


def organic_day(world: World, day: int, suppress: list[tuple[int, int, int, int]]) -> EventBatch:
    """Everything benign that happens on ``day`` (events with timestamps inside the day)."""
    cfg = world.config
    rng = np.random.default_rng([world.seed & 0xFFFFFFFF, world.seed >> 32, day & 0xFFFFFFFF, 1])
    life = day_population(world, day)
    d0, d1 = day_start(day), day_start(day + 1)
    weekday = date.fromordinal(day).weekday()
    factor = WEEKDAY_FACTOR[weekday]
    n_accounts = len(world.accounts)

    # -- interactive sessions -----------------------------------------------------------------
    alive_today = (life["join"] < d1) & (life["term"] > d0) & (active_members(life, d0 + TICKS_PER_DAY // 2) != 0)
    eligible = alive_today & (world.kind != SERVICE) & (life["trip"] != 2)
    weights = np.where(eligible, life["weight"], 0.0)
    per_session = 1 + TYPO_RATE * 1.2 + ENVELOPES_PER_SESSION
    n_sessions = int(rng.poisson(cfg.events_per_day * factor * ORGANIC_SHARE / per_session))
    if weights.sum() <= 0:
        n_sessions = 0
    who = (
        rng.choice(world.n_slots, size=n_sessions, p=weights / weights.sum())
        if n_sessions
        else np.zeros(0, dtype=np.int64)
    )
    home = life["home"][who]
    where = np.where(life["trip"][who] == 1, life["second"][who], home)
    local_hour = np.clip(rng.normal(13.0, 2.8, n_sessions), 6.5, 21.5)
    offset = geo.CITY_OFFSET_TICKS[where]
    tod = (local_hour * TICKS_PER_HOUR).astype(np.int64) - offset
    tod = np.mod(tod, TICKS_PER_DAY)
    start = d0 + tod
    # Alive at that moment: joined, not terminated in Entra, not inside a disabled/deleted gap.
    ok = (start >= life["join"][who]) & (start < life["term"][who])
    in_gap = (life["gap_mode"][who] != GAP_NONE) & (start >= life["gap_start"][who]) & (start < life["gap_end"][who])
    ok &= ~in_gap
    for slot, ten, t0, t1 in suppress:
        ok &= ~((who == slot) & (life["ten"][who] == ten) & (start >= t0) & (start < t1))
    members_now = active_members({k: life[k][who] for k in _MEMBER_KEYS}, start)
    acct = _pick_bit(members_now, rng.random(n_sessions), n_accounts)
    ok &= acct >= 0
    keep = np.flatnonzero(ok)
    who, where, start, acct, home = who[keep], where[keep], start[keep], acct[keep], home[keep]
    n_sessions = who.shape[0]

    # Where from: abroad (hotel), office, VPN, home broadband or a phone.
    mobile = rng.random(n_sessions) < life["mobile_share"][who]
    r = rng.random(n_sessions)
    abroad = life["trip"][who] == 1
    office = life["office"][who]
    hub = life["hub"][who]
    at_office = ~abroad & ~mobile & (office >= 0) & (weekday < 5) & (r < 0.55)
    on_vpn = ~abroad & ~mobile & ~at_office & (hub >= 0) & (r < 0.85) & (r >= 0.55)
    hs = h64(world.seed, day, np.arange(n_sessions), tag("session ip"))
    ip = geo.isp_addresses(where, hs)  # hotel / carrier default
    at_home = ~abroad & ~mobile & ~at_office & ~on_vpn
    ip = np.where(at_home, life["home_ip"][who], ip)
    ip6 = at_home & life["home_v6"][who]
    loc = where.copy()
    if at_office.any():
        ip[at_office] = geo.site_addresses("office", office[at_office], hs[at_office])
        loc[at_office] = geo.SITE_CITY["office"][office[at_office]]
    if on_vpn.any():
        ip[on_vpn] = geo.site_addresses("hub", hub[on_vpn], hs[on_vpn])
        loc[on_vpn] = geo.SITE_CITY["hub"][hub[on_vpn]]
    ua = np.where(mobile, life["mobile"][who], life["desktop"][who])
    locatable = ~at_office & ~on_vpn  # only ISP addresses ever lack a Monitor location

    # Expand sessions into events: [typos] login [envelopes].
    typos = np.where(rng.random(n_sessions) < TYPO_RATE, 1 + (rng.random(n_sessions) < 0.2), 0)
    n_env = np.minimum(rng.poisson(ENVELOPES_PER_SESSION, n_sessions), 25)
    counts = typos + 1 + n_env
    sess = np.repeat(np.arange(n_sessions), counts)
    first = np.cumsum(counts) - counts
    pos = np.arange(sess.shape[0]) - first[sess]
    gaps = (rng.exponential(45.0, sess.shape[0]) * TICKS_PER_SECOND).astype(np.int64) + TICKS_PER_SECOND
    gaps[first] = 0
    csum = np.cumsum(gaps)
    ts = start[sess] + csum - csum[first][sess] + rng.integers(0, TICKS_PER_SECOND, sess.shape[0])
    is_typo = pos < typos[sess]
    is_login = pos == typos[sess]
    env_action = rng.choice(len(voc.ENVELOPE_ACTIONS), size=sess.shape[0], p=voc.ENVELOPE_MIX)
    mob = mobile[sess]
    kind = np.where(mob, voc.ENV_MOBILE, voc.ENV_WEB) + env_action
    kind = np.where(is_login, np.where(mob, voc.LOGIN_MOBILE, voc.LOGIN_WEB), kind)
    kind = np.where(is_typo, np.where(mob, voc.FAIL_MOBILE, voc.FAIL_WEB), kind)
    envelope_serial = h64(world.seed, day, sess, (pos + 1) // 2, tag("envelope serial")).view(np.int64)
    n_ev = sess.shape[0]
    organic = {
        "ts": ts,
        "slot": who[sess],
        "ten": life["ten"][who][sess],
        "acct": acct[sess],
        "kind": kind,
        "ua": ua[sess],
        "ip": ip[sess],
        "ip6": ip6[sess],
        "loc": loc[sess],
        "noloc": locatable[sess] & (rng.random(n_ev) < MISSING_LOCATION_RATE),
        "iso": rng.random(n_ev) < ISO_COUNTRY_RATE,
        "proxy": np.zeros(n_ev),
        "ikey": np.full(n_ev, -1),
        "rslot": np.full(n_ev, -1),
        "rten": np.zeros(n_ev),
        "aux": envelope_serial,
    }
    # Per event (a session may outlast the moment its owner is cut off): nothing after the Entra
    # termination, inside a disabled/deleted gap, or inside an incident's quiet window.
    keep = (ts < d1) & (ts < life["term"][organic["slot"]])
    ev_slot = organic["slot"]
    gap = life["gap_mode"][ev_slot] != GAP_NONE
    keep &= ~(gap & (ts >= life["gap_start"][ev_slot]) & (ts < life["gap_end"][ev_slot]))
    for slot, ten, t0, t1 in suppress:
        keep &= ~((ev_slot == slot) & (organic["ten"] == ten) & (ts >= t0) & (ts < t1))
    organic_batch = _columns(day, organic, keep)

    parts = [organic_batch, _api_sessions(world, day, rng, life, factor)]
    parts.append(_lifecycle_events(world, day, life))
    parts.append(_admin_chores(world, day, rng, life))
    parts.append(_alerts(world, day, rng, organic_batch))
    batch = EventBatch.concat(day, parts)
    # Organic rows get their row number as id key; the others carry reserved keys already.
    return batch


def _columns(day: int, values: dict[str, np.ndarray], keep: np.ndarray) -> EventBatch:
    n = int(keep.sum())
    cols = {}
    for k, t in COLUMNS.items():
        if k in values:
            cols[k] = np.asarray(values[k])[keep].astype(t)
        else:
            cols[k] = np.zeros(n, dtype=t)
    cols["idkey"] = np.arange(n, dtype=np.int64)
    return EventBatch(day, cols)


def _api_sessions(world: World, day: int, rng: np.random.Generator, life, factor: float) -> EventBatch:
    """Integrations sign in with their integration key around the clock and create/send envelopes."""
    per_session = 3
    batches = []
    for n_i, integ in enumerate(world.integrations):
        budget = world.config.events_per_day * API_SHARE / len(world.integrations) * (0.5 + 0.5 * factor)
        n = int(rng.poisson(budget / per_session))
        start = day_start(day) + np.sort(rng.integers(0, TICKS_PER_DAY - 10 * TICKS_PER_MINUTE, n))
        acct = int(np.flatnonzero([(int(life["members"][integ.slot]) >> b) & 1 for b in range(len(world.accounts))])[0])
        k = np.tile(np.array([voc.LOGIN_API, voc.ENV_API, voc.ENV_API + 1]), n)
        sess = np.repeat(np.arange(n), per_session)
        offs = np.tile(np.array([0, 2, 5]) * TICKS_PER_SECOND, n) + rng.integers(0, TICKS_PER_SECOND, n * per_session)
        hs = h64(world.seed, day, n_i, sess, tag("api ip"))
        blocks = np.array([int(geo.ipaddress.IPv4Address(b)) for b in geo.DATACENTER_BLOCKS], dtype=np.uint64)
        ip = (
            blocks[(hs % np.uint64(len(blocks))).astype(np.int64)]
            + (hs >> np.uint64(9)) % np.uint64(65000)
            + np.uint64(256)
        )
        values = {
            "ts": start[sess] + offs,
            "slot": np.full(n * per_session, integ.slot),
            "ten": np.zeros(n * per_session),
            "acct": np.full(n * per_session, acct),
            "kind": k,
            "ua": np.full(n * per_session, voc.API_AGENTS[n_i % len(voc.API_AGENTS)]),
            "ip": ip,
            "loc": np.full(n * per_session, geo.DATACENTER_CITY),
            "ikey": np.full(n * per_session, n_i),
            "aux": h64(world.seed, day, n_i, sess, tag("api envelope")).view(np.int64),
            "rslot": np.full(n * per_session, -1),
        }
        b = _columns(day, values, np.ones(n * per_session, dtype=bool))
        b.cols["idkey"] += ADMIN_ID_BASE + (1 + n_i) * (1 << 30)
        batches.append(b)
    return EventBatch.concat(day, batches) if batches else EventBatch.empty(day)


def _actor(world: World, life, t: int) -> int:
    """The organisation admin doing provisioning at ``t`` (first present one, else the service user)."""
    for k in range(3):
        slot = world.regular_base + k
        if life["join"][slot] <= t < life["term"][slot]:
            return slot
    return 0


def _actor_context(life, slot: int) -> dict:
    office = int(life["office"][slot])
    if office >= 0:
        ip = int(geo.site_addresses("office", office, h64(slot, 77))[0])
        loc = int(geo.SITE_CITY["office"][office])
    else:
        ip, loc = int(life["home_ip"][slot]), int(life["home"][slot])
    return {"ua": int(life["desktop"][slot]), "ip": ip, "loc": loc}


def _by_admin(rb: RowBuilder, life, t: int, actor: int, acct: int, kind: int, data: dict, *, subject=(-1, 0), key=""):
    """One administration event by ``actor`` from their desk, about the user ``subject`` (slot, tenure)."""
    rb.add(
        t,
        actor,
        int(life["ten"][actor]),
        acct,
        kind,
        rslot=subject[0],
        rten=subject[1],
        extra=(key, "", data),
        **_actor_context(life, actor),
    )


def _memberships(world: World, rb: RowBuilder, life, s: int, t: int, actor: int, bits: int, kinds, with_profile=False):
    """A user added or closed: one event per account in ``bits``, then the organisation's, then the admin role's.

    ``kinds`` is (account event, organisation event, org-admin event).
    """
    ten = int(life["ten"][s])
    uid = world.user_id(s, ten)
    for b in range(len(world.accounts)):
        if (bits >> b) & 1:
            data = {"AffectedUserId": uid, "AffectedMembershipId": world.membership_ids([s], [ten], [b])[0]}
            if with_profile:
                is_admin = (int(life["admin"][s]) >> b) & 1
                data["PermissionProfileId"] = str(PERMISSION_PROFILES[0 if is_admin else int(life["profile"][s])][0])
            _by_admin(rb, life, t + b * TICKS_PER_SECOND, actor, b, kinds[0], data, subject=(s, ten))
    _by_admin(rb, life, t + 10 * TICKS_PER_SECOND, actor, -1, kinds[1], {"AffectedUserId": uid}, subject=(s, ten))
    if life["org_admin"][s]:
        _by_admin(rb, life, t + 20 * TICKS_PER_SECOND, actor, -1, kinds[2], {"AffectedUserId": uid}, subject=(s, ten))


def _lifecycle_events(world: World, day: int, life) -> EventBatch:
    """Joins, membership closures/reopenings and org-admin changes happening on ``day``."""
    d0, d1 = day_start(day), day_start(day + 1)
    rb = RowBuilder(day, ADMIN_ID_BASE)
    slots = life["slot"]

    def in_day(col: str) -> np.ndarray:
        return np.flatnonzero((life[col] >= d0) & (life[col] < d1) & (world.kind[slots] != SERVICE))

    joined = (voc.ACC_USER_ADDED, voc.ORG_USER_ADDED, voc.ORG_ADMIN_ADDED)
    for s in in_day("join").tolist():
        t = int(life["join"][s])
        _memberships(world, rb, life, s, t, _actor(world, life, t), int(life["members"][s]), joined, with_profile=True)
    for col, kind in (("pc_close", voc.ACC_USER_CLOSED), ("pc_reopen", voc.ACC_USER_REACTIVATED)):
        for s in in_day(col).tolist():
            t = int(life[col][s])
            ten = int(life["ten"][s])
            b = int(life["pc_acct"][s])
            data = {
                "AffectedUserId": world.user_id(s, ten),
                "AffectedMembershipId": world.membership_ids([s], [ten], [b])[0],
            }
            _by_admin(rb, life, t, _actor(world, life, t), b, kind, data, subject=(s, ten))
    closed = (voc.ACC_USER_CLOSED, voc.ORG_USER_CLOSED, voc.ORG_ADMIN_REMOVED)
    for s in in_day("close").tolist():
        t = int(life["close"][s])
        open_bits = int(active_members({k: v[s : s + 1] for k, v in life.items()}, t - 1)[0])
        _memberships(world, rb, life, s, t, _actor(world, life, t - 1), open_bits, closed)
    return rb.batch()


def _admin_chores(world: World, day: int, rng: np.random.Generator, life) -> EventBatch:
    """Permission-profile changes, settings drift and the rare organisation-level change."""
    d0, d1 = day_start(day), day_start(day + 1)
    rb = RowBuilder(day, ADMIN_ID_BASE + (1 << 29))
    slots = life["slot"]
    mid = d0 + TICKS_PER_DAY // 2
    present = np.flatnonzero((life["join"] < d0) & (life["term"] > d1) & (world.kind[slots] != SERVICE))
    n_changes = int(rng.poisson(max(0.3, world.n_regular / 600)))
    for _ in range(n_changes if present.size else 0):
        s = int(rng.choice(present))
        t = d0 + int(rng.integers(13 * TICKS_PER_HOUR, 20 * TICKS_PER_HOUR))
        bits = int(active_members({k: v[s : s + 1] for k, v in life.items()}, t)[0])
        if not bits:
            continue
        b = (bits & -bits).bit_length() - 1
        old, new = (
            (PERMISSION_PROFILES[1], PERMISSION_PROFILES[2])
            if rng.random() < 0.5
            else (PERMISSION_PROFILES[2], PERMISSION_PROFILES[1])
        )
        data = {
            "AffectedUserId": world.user_id(s, int(life["ten"][s])),
            "PermissionProfileId": str(new[0]),
            "OldValue": old[1],
            "NewValue": new[1],
        }
        subject = (s, int(life["ten"][s]))
        _by_admin(rb, life, t, _actor(world, life, t), b, voc.ACC_PROFILE_CHANGED, data, subject=subject)
    # Settings weakened and restored (the posture history a drift check can trace).
    for a in range(len(world.accounts)):
        for t0, t1, key, good, weak in world.drift_episodes(a, day - 4, day):
            for t, old, new in ((t0, good, weak), (t1, weak, good)):
                if d0 <= t < d1:
                    data = {"OldValue": old, "NewValue": new}
                    _by_admin(rb, life, t, _actor(world, life, t), a, voc.ACC_UPDATED, data, key=key)
    # Rare organisation-level changes (a few a year).
    h = int(h64(world.seed, day, tag("org change"))[0] % np.uint64(1000))
    if h < 12:
        kind, data = {
            0: (voc.ORG_DOMAIN_CLAIMED, {"Domain": world.domain, "ReservedDomainId": world.reserved_domain_id}),
            1: (voc.ORG_IDP_UPDATED, {"IdentityProviderId": world.identity_provider_id}),
            2: (voc.ORG_ACCOUNT_LINKED, {"AccountId": world.accounts[-1].id}),
        }[h % 3]
        t = mid + int(rng.integers(0, 4 * TICKS_PER_HOUR))
        _by_admin(rb, life, t, _actor(world, life, mid), -1, kind, data)
    return rb.batch()


def _alerts(world: World, day: int, rng: np.random.Generator, organic: EventBatch) -> EventBatch:
    """Monitor's own IP-range alerts, pointing at real sign-ins of the day."""
    rb = RowBuilder(day, ADMIN_ID_BASE + (1 << 28))
    c = organic.cols
    n_alerts = int(rng.poisson(0.3 + world.config.events_per_day / 200_000))
    logins = np.flatnonzero(c["kind"] == voc.LOGIN_WEB)
    for _ in range(n_alerts if logins.size else 0):
        row = int(rng.choice(logins))
        mine = np.flatnonzero(
            (c["slot"] == c["slot"][row]) & (c["ten"] == c["ten"][row]) & (c["kind"] == voc.LOGIN_WEB)
        )[:18]
        t = int(c["ts"][mine].max()) + 5 * TICKS_PER_MINUTE
        if t >= day_start(day + 1):
            continue
        from dsassets.simulator.events import event_ids

        ids = event_ids(world.seed, np.full(mine.shape, day), c["idkey"][mine])
        rb.add(
            t,
            int(c["slot"][row]),
            int(c["ten"][row]),
            -1,
            voc.ALERT_IP_RANGES,
            ip=int(c["ip"][row]),
            ip6=bool(c["ip6"][row]),
            loc=int(c["loc"][row]),
            extra=("", "", {"EventIds": ids, "Count": str(len(ids))}),
        )
    return rb.batch()


def finish(batch: EventBatch, seed: int, late_share: float = 0.0) -> EventBatch:
    """Ingestion lags (0-300 s, random per event; ``late_share`` of them 1.5-4.5 h), sorted by event time."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, batch.day & 0xFFFFFFFF, 2])
    n = len(batch)
    batch.cols["lag"] = rng.integers(0, MAX_LAG_SECONDS * TICKS_PER_SECOND, n).astype(np.int64)
    if late_share > 0 and n:
        # A separate generator: switching late ingestion on changes no other event's lag.
        late_rng = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, batch.day & 0xFFFFFFFF, 4])
        late = late_rng.random(n) < late_share
        batch.cols["lag"][late] = late_rng.integers(
            LATE_LAG_SECONDS[0] * TICKS_PER_SECOND, LATE_LAG_SECONDS[1] * TICKS_PER_SECOND, int(late.sum())
        ).astype(np.int64)
    order = np.argsort(batch.cols["ts"], kind="stable")
    return batch.take(order)


def duplicates(batch: EventBatch, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows delivered twice (at-least-once delivery) and the second copy's extra delay."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, batch.day & 0xFFFFFFFF, 3])
    n = len(batch)
    k = max(1, int(n * DUPLICATE_RATE)) if n else 0
    rows = np.sort(rng.choice(n, size=min(k, n), replace=False)) if k else np.zeros(0, dtype=np.int64)
    extra = rng.integers(TICKS_PER_SECOND, 600 * TICKS_PER_SECOND, rows.shape[0]).astype(np.int64)
    return rows, extra
