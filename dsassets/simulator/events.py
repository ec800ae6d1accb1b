"""Columnar event storage and the rendering of Monitor event JSON.

A day of events is a handful of numpy arrays (``EventBatch``); nothing is a
Python object until a page is requested. Rendering turns a few thousand rows
into dicts, sharing the immutable parts (location, user agent) between rows.

Event ids are hashes of (seed, event day, ``idkey``): organic rows use their
row number, planted incidents a reserved range, so incident ids are known
without generating the rest of the day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from dsassets.simulator import geography as geo
from dsassets.simulator.ids import guid_of, guids, h64, iso7, tag
from dsassets.simulator.vocabulary import AGENTS, KINDS, NO_AGENT, PROXY_FIELDS

COLUMNS: dict[str, type] = {
    "ts": np.int64,  # event time, ticks
    "lag": np.int64,  # ingestion delay, ticks
    "slot": np.int32,  # acting person: slot + tenure
    "ten": np.int64,
    "acct": np.int8,  # account index, -1 = organisation-level ("")
    "kind": np.uint8,  # vocabulary.KINDS index
    "ua": np.uint8,  # vocabulary.AGENTS index, NO_AGENT = ""
    "ip": np.uint32,  # IPv4, or the interface seed of an IPv6 address when ip6
    "ip6": np.bool_,
    "loc": np.int16,  # geography.CITIES index of the address
    "noloc": np.bool_,  # Monitor could not geolocate: no ipAddressLocation
    "iso": np.bool_,  # country written as its 2-letter code
    "proxy": np.uint8,
    "ikey": np.int8,  # integration index, -1 = none
    "rslot": np.int32,  # referenced / affected person, -1 = none
    "rten": np.int64,
    "aux": np.int64,  # envelope serial and similar
    "idkey": np.int64,  # event id key (see module doc)
}

INCIDENT_ID_BASE = 1 << 40
# Incidents planted after the first nine (incidents.SUPPLEMENT) key their events from here: they
# draw no ingestion lag or duplicate from the streams the older events use, so adding them left
# every earlier event as it was.
SUPPLEMENT_ID_BASE = INCIDENT_ID_BASE + 9 * 2 * 4096
ADMIN_ID_BASE = 2 << 40


@dataclass
class EventBatch:
    """Events of one event-day in columns, plus the rare per-event extras."""

    day: int
    cols: dict[str, np.ndarray]
    # idkey -> (property, field, data) for events whose payload is not derivable from columns
    extras: dict[int, tuple[str, str, dict]] = field(default_factory=dict)
    literal_ips: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.cols["ts"].shape[0])

    @staticmethod
    def empty(day: int) -> EventBatch:
        return EventBatch(day, {k: np.zeros(0, dtype=t) for k, t in COLUMNS.items()})

    @staticmethod
    def concat(day: int, batches: list[EventBatch]) -> EventBatch:
        cols = {k: np.concatenate([b.cols[k] for b in batches]).astype(t, copy=False) for k, t in COLUMNS.items()}
        out = EventBatch(day, cols)
        for b in batches:
            out.extras.update(b.extras)
            out.literal_ips.update(b.literal_ips)
        return out

    def take(self, index: np.ndarray) -> EventBatch:
        return EventBatch(self.day, {k: v[index] for k, v in self.cols.items()}, self.extras, self.literal_ips)


class RowBuilder:
    """Appends a few events row by row (incidents, provisioning): not for bulk generation."""

    def __init__(self, day: int, id_base: int):
        self.day = day
        self.id_base = id_base
        self.rows: dict[str, list] = {k: [] for k in COLUMNS}
        self.extras: dict[int, tuple[str, str, dict]] = {}
        self.literal_ips: dict[int, str] = {}

    def add(
        self,
        ts: int,
        slot: int,
        ten: int,
        acct: int,
        kind: int,
        *,
        ua: int = NO_AGENT,
        ip: int = 0,
        ip6: bool = False,
        loc: int = 0,
        proxy: int = 0,
        ikey: int = -1,
        rslot: int = -1,
        rten: int = 0,
        aux: int = 0,
        extra: tuple[str, str, dict] | None = None,
        literal_ip: str | None = None,
    ) -> int:
        idkey = self.id_base + len(self.rows["ts"])
        values = dict(
            ts=ts,
            lag=0,
            slot=slot,
            ten=ten,
            acct=acct,
            kind=kind,
            ua=ua,
            ip=ip,
            ip6=ip6,
            loc=loc,
            noloc=False,
            iso=False,
            proxy=proxy,
            ikey=ikey,
            rslot=rslot,
            rten=rten,
            aux=aux,
            idkey=idkey,
        )
        for k, v in values.items():
            self.rows[k].append(v)
        if extra is not None:
            self.extras[idkey] = extra
        if literal_ip is not None:
            self.literal_ips[idkey] = literal_ip
        return idkey

    def batch(self) -> EventBatch:
        cols = {
            k: np.array(v, dtype=t) if v else np.zeros(0, dtype=t)
            for (k, t), v in zip(COLUMNS.items(), self.rows.values())
        }
        return EventBatch(self.day, cols, dict(self.extras), dict(self.literal_ips))


def event_ids(seed: int, days: np.ndarray, idkeys: np.ndarray) -> list[str]:
    return guid_of(seed, tag("event"), np.asarray(days), np.asarray(idkeys))


def envelope_ids(seed: int, aux: np.ndarray) -> list[str]:
    return guids(h64(seed, tag("envelope"), aux, 1), h64(seed, tag("envelope"), aux, 2))


# Pre-rendered immutable fragments, shared between events (json.dumps does not care).
_LOCATION_FULL = [
    {"latitude": c.lat, "longitude": c.lon, "country": geo.COUNTRIES[c.iso].name, "state": c.state, "city": c.name}
    for c in geo.CITIES
]
_LOCATION_ISO = [dict(d, country=c.iso) for d, c in zip(_LOCATION_FULL, geo.CITIES)]
_AGENT_INFO = [a.client_info() for a in AGENTS]
_EMPTY_AGENT_INFO = {
    "browser": {"family": "", "version": {"major": "", "minor": "", "patch": ""}},
    "device": {"family": "", "brand": "", "model": ""},
    "os": {"family": "", "version": {"major": "", "minor": "", "patch": ""}},
}
_AGENT_FLAT = [(a.ua, a.device, a.browser, a.os) for a in AGENTS]


def _agent(ua: int):
    if ua == NO_AGENT:
        return "", _EMPTY_AGENT_INFO, "", "", ""
    text, device, browser, os_ = _AGENT_FLAT[ua]
    return text, _AGENT_INFO[ua], device, browser, os_


def render_json(
    seed: int,
    organization_id: str,
    account_ids: list[str],
    integrator_keys: list[str],
    cols: dict[str, np.ndarray],
    days: np.ndarray,
    extras: dict[tuple[int, int], tuple[str, str, dict]],
    literal_ips: dict[tuple[int, int], str],
) -> list[str]:
    """Monitor events as JSON object texts (DOCUSIGN_API.md §1.4 key order), one per row.

    Pages are written straight to JSON text from pre-encoded fragments: building
    40-key dicts and then encoding them costs several times more, and every
    string here comes from the simulator's own tables (nothing to escape beyond
    what ``json.dumps`` did when the fragments were built).
    """
    n = int(cols["ts"].shape[0])
    if n == 0:
        return []
    stamps = iso7(cols["ts"])
    ids = event_ids(seed, days, cols["idkey"])
    users = guid_of(seed, tag("user"), cols["slot"].astype(np.int64), cols["ten"])
    has_ref = cols["rslot"] >= 0
    refs = [_NO_REF] * n
    if has_ref.any():
        pos = np.flatnonzero(has_ref)
        for p, r in zip(
            pos.tolist(), guid_of(seed, tag("user"), cols["rslot"][pos].astype(np.int64), cols["rten"][pos])
        ):
            refs[p] = (
                f'"referencedUserIsMemberOfDomain":true,"referencedUserId":"{r}","affectedUserId":"{r}",'
                '"affectedUserIsMemberOfDomain":true'
            )
    data = [_NO_DATA] * n
    env_mask = _IS_ENVELOPE[cols["kind"]]
    if env_mask.any():
        pos = np.flatnonzero(env_mask)
        for p, e in zip(pos.tolist(), envelope_ids(seed, cols["aux"][pos])):
            data[p] = ('"property":"","field":""', f'{{"EnvelopeId":"{e}"}}')
    dl = days.tolist()
    idk = cols["idkey"].tolist()
    if extras:
        for i in np.flatnonzero(cols["idkey"] >= INCIDENT_ID_BASE).tolist():
            found = extras.get((dl[i], idk[i]))
            if found is not None:
                prop, fld, payload = found
                data[i] = (
                    '"property":' + json.dumps(prop) + ',"field":' + json.dumps(fld),
                    json.dumps(payload, separators=(",", ":")),
                )
    ips = cols["ip"]
    ip_text = [f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}" for v in ips.tolist()]
    for p in np.flatnonzero(cols["ip6"]).tolist():
        ip_text[p] = geo.ipv6_text(int(cols["loc"][p]), int(ips[p]))
    if literal_ips:
        for i in np.flatnonzero(cols["idkey"] >= INCIDENT_ID_BASE).tolist():
            text = literal_ips.get((dl[i], idk[i]))
            if text is not None:
                ip_text[i] = text
    acct_ids = account_ids + [""]  # index -1 -> organisation-level
    ikeys = integrator_keys + [""]
    acct = [acct_ids[a] for a in cols["acct"].tolist()]
    ikey = [ikeys[k] for k in cols["ikey"].tolist()]
    kind = cols["kind"].tolist()
    ua = cols["ua"].tolist()
    proxy = cols["proxy"].tolist()
    locations = np.where(cols["noloc"], -1, cols["loc"].astype(np.int64) + np.where(cols["iso"], _N_CITIES, 0)).tolist()
    org = organization_id
    out = []
    append = out.append
    for i in range(n):
        nested, flat = _LOC_JSON[locations[i]]
        ua_json, ua_flat = _AGENT_JSON[ua[i]]
        head, tail = _KIND_JSON[kind[i]]
        prop_field, payload = data[i]
        append(
            f'{{"timestamp":"{stamps[i]}","eventId":"{ids[i]}","site":"DEMO","accountId":"{acct[i]}",'
            f'"organizationId":"{org}","userId":"{users[i]}","integratorKey":"{ikey[i]}",{ua_json},'
            f'"ipAddress":"{ip_text[i]}"{nested},{head},{prop_field},{tail},"isUserMemberOfDomain":true,'
            f'{refs[i]},{_PROXY_JSON[proxy[i]]},{flat},{ua_flat},"data":{payload}}}'
        )
    return out


def render(*args) -> list[dict]:
    """Like ``render_json`` but decoded to dicts (tests and callers that want objects)."""
    return [json.loads(text) for text in render_json(*args)]


def _j(value) -> str:
    return json.dumps(value, separators=(",", ":"))


_NO_DATA = ('"property":"","field":""', "{}")
_NO_REF = (
    '"referencedUserIsMemberOfDomain":false,"referencedUserId":"","affectedUserId":"",'
    '"affectedUserIsMemberOfDomain":false'
)
_IS_ENVELOPE = np.array([k.object == "Envelope" for k in KINDS] + [False] * (256 - len(KINDS)))
# "object"/"action" go before property/field; "result"/"source" after them.
_KIND_JSON = [
    (f'"object":{_j(k.object)},"action":{_j(k.action)}', f'"result":{_j(k.result)},"source":{_j(k.source)}')
    for k in KINDS
] + [('"object":"","action":""', '"result":"","source":""')] * (256 - len(KINDS))


def _agent_json(a: int) -> tuple[str, str]:
    text, info, device, browser, os_ = _agent(a)
    return (
        f'"userAgent":{_j(text)},"userAgentClientInfo":{_j(info)}',
        f'"device":{_j(device)},"browser":{_j(browser)},"os":{_j(os_)}',
    )


_AGENT_JSON = [_agent_json(a if a < len(AGENTS) else NO_AGENT) for a in range(256)]
_PROXY_JSON = [
    f'"proxyStatus":{_j(s)},"proxyType":{_j(t)},"proxyLevel":{_j(lv)}'
    for s, t, lv in (PROXY_FIELDS.get(p, PROXY_FIELDS[0]) for p in range(256))
]
_N_CITIES = len(geo.CITIES)


def _loc_json(d: dict | None) -> tuple[str, str]:
    if d is None:
        return "", '"latitude":null,"longitude":null,"city":"","state":"","country":""'
    return (
        f',"ipAddressLocation":{_j(d)}',
        f'"latitude":{_j(d["latitude"])},"longitude":{_j(d["longitude"])},"city":{_j(d["city"])},'
        f'"state":{_j(d["state"])},"country":{_j(d["country"])}',
    )


# Index -1 (no location) is the last entry.
_LOC_JSON = [_loc_json(d) for d in _LOCATION_FULL + _LOCATION_ISO] + [_loc_json(None)]
