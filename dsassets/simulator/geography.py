"""Real places, real ISP address blocks and the organisation's own IP ranges.

Cities carry real coordinates so distances (and therefore impossible-travel
speeds) are meaningful. Countries are spelled the way Monitor spells them in
``ipAddressLocation``: a lowercase English name (``"united states"``), with the
ISO code available for the events that use the 2-letter form instead.

ISP blocks are /16s that real-world geolocation databases (RIR delegations,
GeoLite-derived data) place in the stated country, checked when the table was
written. They matter for the share of events that arrive *without*
``ipAddressLocation``: the warehouse falls back to an offline IP database for
those, so their addresses must geolocate plausibly.

The organisation's own ranges (offices = Corporate, remote-access egress = VPN)
and the threat-intel list use the RFC 5737 documentation networks, so the
simulator never labels a real third party's address as an office or as
malicious. Tor exits are real, long-lived public exit relays.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Country:
    iso: str
    name: str  # lowercase English name, as Monitor writes it


@dataclass(frozen=True)
class City:
    name: str  # lowercase, as Monitor writes it
    state: str
    iso: str
    lat: float
    lon: float
    utc_offset: float  # standard time; DST ignored (it only shifts business hours by one)
    weight: float = 0.0  # share of the workforce living there (0 = never a home)


COUNTRIES: dict[str, Country] = {
    c.iso: c
    for c in [
        Country("US", "united states"),
        Country("CA", "canada"),
        Country("MX", "mexico"),
        Country("GB", "united kingdom"),
        Country("IE", "ireland"),
        Country("FR", "france"),
        Country("DE", "germany"),
        Country("NL", "netherlands"),
        Country("ES", "spain"),
        Country("CH", "switzerland"),
        Country("AT", "austria"),
        Country("LU", "luxembourg"),
        Country("SE", "sweden"),
        Country("DK", "denmark"),
        Country("RO", "romania"),
        Country("IN", "india"),
        Country("SG", "singapore"),
        Country("JP", "japan"),
        Country("AU", "australia"),
        Country("BR", "brazil"),
        Country("RU", "russia"),
        Country("CN", "china"),
        Country("NG", "nigeria"),
        Country("VN", "vietnam"),
    ]
}

# Land borders between the countries above (MDCA never alerts on bordering countries).
_BORDERS = [
    ("US", "CA"),
    ("US", "MX"),
    ("FR", "DE"),
    ("FR", "ES"),
    ("FR", "CH"),
    ("FR", "LU"),
    ("DE", "NL"),
    ("DE", "CH"),
    ("DE", "AT"),
    ("DE", "LU"),
    ("DE", "DK"),
    ("CH", "AT"),
    ("GB", "IE"),
    ("RU", "CN"),
    ("CN", "VN"),
    ("CN", "IN"),
]
NEIGHBOURS: dict[str, frozenset[str]] = {
    iso: frozenset({b for a, b in _BORDERS if a == iso} | {a for a, b in _BORDERS if b == iso}) for iso in COUNTRIES
}

CITIES: list[City] = [
    City("new york", "new york", "US", 40.7128, -74.0060, -5, 14),
    City("san francisco", "california", "US", 37.7749, -122.4194, -8, 8),
    City("seattle", "washington", "US", 47.6062, -122.3321, -8, 5),
    City("chicago", "illinois", "US", 41.8781, -87.6298, -6, 6),
    City("austin", "texas", "US", 30.2672, -97.7431, -6, 4),
    City("boston", "massachusetts", "US", 42.3601, -71.0589, -5, 4),
    City("atlanta", "georgia", "US", 33.7490, -84.3880, -5, 3),
    City("denver", "colorado", "US", 39.7392, -104.9903, -7, 2),
    City("miami", "florida", "US", 25.7617, -80.1918, -5, 2),
    City("ashburn", "virginia", "US", 39.0438, -77.4874, -5),
    City("toronto", "ontario", "CA", 43.6532, -79.3832, -5, 4),
    City("vancouver", "british columbia", "CA", 49.2827, -123.1207, -8, 2),
    City("montreal", "quebec", "CA", 45.5017, -73.5673, -5, 1),
    City("mexico city", "ciudad de mexico", "MX", 19.4326, -99.1332, -6, 1.5),
    City("london", "england", "GB", 51.5074, -0.1278, 0, 7),
    City("manchester", "england", "GB", 53.4808, -2.2426, 0, 2),
    City("edinburgh", "scotland", "GB", 55.9533, -3.1883, 0, 1),
    City("dublin", "leinster", "IE", 53.3498, -6.2603, 0),
    City("paris", "ile-de-france", "FR", 48.8566, 2.3522, 1, 4),
    City("lyon", "auvergne-rhone-alpes", "FR", 45.7640, 4.8357, 1, 1),
    City("strasbourg", "grand est", "FR", 48.5734, 7.7521, 1, 1),
    City("berlin", "berlin", "DE", 52.5200, 13.4050, 1, 4),
    City("munich", "bavaria", "DE", 48.1351, 11.5820, 1, 2),
    City("frankfurt am main", "hesse", "DE", 50.1109, 8.6821, 1, 1.5),
    City("hamburg", "hamburg", "DE", 53.5511, 9.9937, 1, 1),
    City("amsterdam", "north holland", "NL", 52.3676, 4.9041, 1, 3),
    City("madrid", "madrid", "ES", 40.4168, -3.7038, 1, 1.5),
    City("barcelona", "catalonia", "ES", 41.3874, 2.1686, 1, 1),
    City("zurich", "zurich", "CH", 47.3769, 8.5417, 1),
    City("vienna", "vienna", "AT", 48.2082, 16.3738, 1),
    City("luxembourg", "luxembourg", "LU", 49.6116, 6.1319, 1),
    City("stockholm", "stockholm", "SE", 59.3293, 18.0686, 1),
    City("copenhagen", "capital region", "DK", 55.6761, 12.5683, 1),
    City("bucharest", "bucharest", "RO", 44.4268, 26.1025, 2),
    City("bengaluru", "karnataka", "IN", 12.9716, 77.5946, 5.5, 6),
    City("mumbai", "maharashtra", "IN", 19.0760, 72.8777, 5.5, 2),
    City("new delhi", "delhi", "IN", 28.6139, 77.2090, 5.5, 2),
    City("hyderabad", "telangana", "IN", 17.3850, 78.4867, 5.5, 1.5),
    City("singapore", "singapore", "SG", 1.3521, 103.8198, 8, 2.5),
    City("tokyo", "tokyo", "JP", 35.6762, 139.6503, 9, 2.5),
    City("osaka", "osaka", "JP", 34.6937, 135.5023, 9, 0.5),
    City("sydney", "new south wales", "AU", -33.8688, 151.2093, 10, 3),
    City("melbourne", "victoria", "AU", -37.8136, 144.9631, 10, 1.5),
    City("sao paulo", "sao paulo", "BR", -23.5505, -46.6333, -3, 1.5),
    City("moscow", "moscow", "RU", 55.7558, 37.6173, 3),
    City("beijing", "beijing", "CN", 39.9042, 116.4074, 8),
    City("lagos", "lagos", "NG", 6.5244, 3.3792, 1),
    City("hanoi", "hanoi", "VN", 21.0278, 105.8342, 7),
]
CITY_INDEX = {c.name: i for i, c in enumerate(CITIES)}
CITY_LAT = np.array([c.lat for c in CITIES])
CITY_LON = np.array([c.lon for c in CITIES])
CITY_OFFSET_TICKS = np.array([int(c.utc_offset * 3600) * 10_000_000 for c in CITIES], dtype=np.int64)
HOME_CITIES = np.array([i for i, c in enumerate(CITIES) if c.weight > 0])
HOME_WEIGHTS = np.array([CITIES[i].weight for i in HOME_CITIES], dtype=np.float64)
HOME_WEIGHTS /= HOME_WEIGHTS.sum()


def ipv4_int(text: str) -> int:
    """A dotted-quad address as an integer."""
    return int(ipaddress.IPv4Address(text))


# Residential / mobile /16s per country (checked against RIR + GeoLite-derived data).
ISP_BLOCKS: dict[str, list[str]] = {
    "US": ["73.15.0.0", "24.5.0.0", "98.200.0.0", "99.10.0.0", "68.80.0.0", "107.77.0.0", "172.56.0.0"],
    "CA": ["99.230.0.0", "24.66.0.0", "70.50.0.0", "174.88.0.0", "142.112.0.0"],
    "MX": ["187.130.0.0", "189.203.0.0"],
    "GB": ["86.130.0.0", "81.130.0.0", "82.5.0.0", "2.97.0.0", "31.48.0.0", "90.200.0.0"],
    "FR": ["90.10.0.0", "82.65.0.0", "88.165.0.0", "92.184.0.0", "109.208.0.0", "37.164.0.0"],
    "DE": ["79.200.0.0", "87.130.0.0", "91.5.0.0", "217.230.0.0", "188.192.0.0", "80.187.0.0"],
    "NL": ["77.165.0.0", "84.25.0.0", "81.58.0.0"],
    "ES": ["83.35.0.0", "88.5.0.0", "95.122.0.0"],
    "IN": ["122.161.0.0", "117.200.0.0", "49.36.0.0", "106.208.0.0", "223.176.0.0"],
    "SG": ["116.86.0.0", "118.189.0.0", "116.88.0.0"],
    "JP": ["126.5.0.0", "153.130.0.0", "60.64.0.0"],
    "AU": ["101.165.0.0", "27.33.0.0", "110.144.0.0"],
    "BR": ["177.35.0.0", "191.32.0.0", "201.0.0.0"],
}
ISP_COUNTRIES = tuple(ISP_BLOCKS)
# /32 IPv6 prefixes of the same kind of providers (first two hextets).
IPV6_PREFIXES: dict[str, str] = {
    "US": "2600:1700",
    "CA": "2607:fea8",
    "GB": "2a00:23c5",
    "FR": "2a01:e0a",
    "DE": "2003:e0",
    "NL": "2a02:a440",
    "IN": "2405:201",
    "JP": "240b:10",
    "AU": "2001:8003",
}
CITY_ISO = [c.iso for c in CITIES]
# Per city: its country's blocks as integer bases (padded table), for vectorised address picks.
_MAXB = max(len(b) for b in ISP_BLOCKS.values())
CITY_NBLOCKS = np.array([len(ISP_BLOCKS.get(c.iso, [])) for c in CITIES], dtype=np.uint64)
CITY_BLOCKS = np.zeros((len(CITIES), _MAXB), dtype=np.uint64)
for _i, _c in enumerate(CITIES):
    for _k, _b in enumerate(ISP_BLOCKS.get(_c.iso, [])):
        CITY_BLOCKS[_i, _k] = ipv4_int(_b)
# Cities per country (where a visitor or attacker in that country is placed).
CITIES_OF: dict[str, list[int]] = {}
for _i, _c in enumerate(CITIES):
    CITIES_OF.setdefault(_c.iso, []).append(_i)


def isp_addresses(city_idx, h) -> np.ndarray:
    """Residential IPv4 addresses (uint32) in the country of each city, picked by hash ``h``.

    Only valid for cities of a country in ``ISP_BLOCKS``.
    """
    city_idx = np.asarray(city_idx, dtype=np.int64)
    h = np.asarray(h, dtype=np.uint64)
    n = np.maximum(CITY_NBLOCKS[city_idx], np.uint64(1))
    base = CITY_BLOCKS[city_idx, (h % n).astype(np.int64)]
    host = (h >> np.uint64(8)) % np.uint64(65024) + np.uint64(256)  # skip x.y.0.* and x.y.255.*
    return (base + host).astype(np.uint32)


@dataclass(frozen=True)
class Site:
    """An office (Corporate range) or a remote-access egress point (VPN range)."""

    name: str
    city: int
    cidr: str

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)


OFFICES: list[Site] = [
    Site("HQ New York", CITY_INDEX["new york"], "203.0.113.0/27"),
    Site("San Francisco", CITY_INDEX["san francisco"], "203.0.113.32/27"),
    Site("London", CITY_INDEX["london"], "203.0.113.64/27"),
    Site("Berlin", CITY_INDEX["berlin"], "203.0.113.96/27"),
    Site("Bengaluru", CITY_INDEX["bengaluru"], "203.0.113.128/27"),
    Site("Sydney", CITY_INDEX["sydney"], "203.0.113.160/27"),
]
VPN_HUBS: list[Site] = [
    Site("VPN us-east", CITY_INDEX["ashburn"], "198.51.100.0/28"),
    Site("VPN eu-west", CITY_INDEX["london"], "198.51.100.16/28"),
    Site("VPN eu-central", CITY_INDEX["frankfurt am main"], "198.51.100.32/28"),
    Site("VPN france", CITY_INDEX["paris"], "198.51.100.48/28"),
    Site("VPN canada", CITY_INDEX["toronto"], "198.51.100.64/28"),
    Site("VPN netherlands", CITY_INDEX["amsterdam"], "198.51.100.80/28"),
    Site("VPN india", CITY_INDEX["mumbai"], "198.51.100.96/28"),
    Site("VPN singapore", CITY_INDEX["singapore"], "198.51.100.112/28"),
    Site("VPN japan", CITY_INDEX["tokyo"], "198.51.100.128/28"),
    Site("VPN australia", CITY_INDEX["sydney"], "198.51.100.144/28"),
]
OFFICE_OF_CITY = {s.city: i for i, s in enumerate(OFFICES)}
HUB_OF_COUNTRY = {CITIES[s.city].iso: i for i, s in enumerate(VPN_HUBS)}
# Per-city lookup arrays for vectorised code.
CITY_OFFICE = np.array([OFFICE_OF_CITY.get(i, -1) for i in range(len(CITIES))], dtype=np.int64)
CITY_HUB = np.array([HUB_OF_COUNTRY.get(c.iso, -1) for c in CITIES], dtype=np.int64)
CITY_HAS_V6 = np.array([c.iso in IPV6_PREFIXES for c in CITIES], dtype=bool)
SITE_BASE = {
    "office": np.array([int(s.network.network_address) for s in OFFICES], dtype=np.uint64),
    "hub": np.array([int(s.network.network_address) for s in VPN_HUBS], dtype=np.uint64),
}
SITE_SIZE = {
    "office": np.array([s.network.num_addresses for s in OFFICES], dtype=np.uint64),
    "hub": np.array([s.network.num_addresses for s in VPN_HUBS], dtype=np.uint64),
}
SITE_CITY = {
    "office": np.array([s.city for s in OFFICES], dtype=np.int64),
    "hub": np.array([s.city for s in VPN_HUBS], dtype=np.int64),
}


def site_addresses(kind: str, index, h) -> np.ndarray:
    """Host addresses (uint32) inside office or VPN-hub ranges, vectorised."""
    index = np.asarray(index, dtype=np.int64)
    h = np.asarray(h, dtype=np.uint64)
    size = SITE_SIZE[kind][index]
    return (SITE_BASE[kind][index] + np.uint64(1) + h % (size - np.uint64(3))).astype(np.uint32)


def site_address(site: Site, h: int) -> int:
    """A host address inside a site's range (never the network or broadcast address)."""
    net = site.network
    return int(net.network_address) + 1 + int(h) % (net.num_addresses - 2)


# A security-research box in the New York office runs a Tor exit: its address is on public Tor
# lists yet lies in a Corporate range, the classic "custom tag wins" near miss.
CORPORATE_TOR_EXIT = ("203.0.113.30", CITY_INDEX["new york"])

# Long-lived public Tor exit relays and where geolocation puts them.
TOR_EXITS: list[tuple[str, int]] = [
    ("185.220.101.4", CITY_INDEX["frankfurt am main"]),
    ("185.220.101.33", CITY_INDEX["frankfurt am main"]),
    ("185.220.101.47", CITY_INDEX["frankfurt am main"]),
    ("185.220.100.250", CITY_INDEX["berlin"]),
    ("185.220.100.252", CITY_INDEX["berlin"]),
    ("109.70.100.4", CITY_INDEX["vienna"]),
    ("109.70.100.26", CITY_INDEX["vienna"]),
    ("171.25.193.20", CITY_INDEX["stockholm"]),
    ("171.25.193.77", CITY_INDEX["stockholm"]),
    ("192.42.116.16", CITY_INDEX["amsterdam"]),
    ("192.42.116.22", CITY_INDEX["amsterdam"]),
    ("23.129.64.130", CITY_INDEX["seattle"]),
    ("23.129.64.214", CITY_INDEX["seattle"]),
    ("104.244.73.43", CITY_INDEX["luxembourg"]),
    ("104.244.76.13", CITY_INDEX["luxembourg"]),
    ("185.129.61.10", CITY_INDEX["copenhagen"]),
    ("2001:67c:e60:c0c:192:42:116:16", CITY_INDEX["amsterdam"]),
    CORPORATE_TOR_EXIT,
]

# Synthetic threat-intelligence feed (password-spray sources, botnet C&C ...): documentation
# addresses placed in a mix of countries so some victims see one from their own country.
THREAT_INTEL: list[tuple[str, int, str]] = [
    ("192.0.2.10", CITY_INDEX["moscow"], "Botnet"),
    ("192.0.2.23", CITY_INDEX["beijing"], "Darknet scanning IP"),
    ("192.0.2.37", CITY_INDEX["lagos"], "Password spray"),
    ("192.0.2.41", CITY_INDEX["hanoi"], "Malware C&C server"),
    ("192.0.2.58", CITY_INDEX["bucharest"], "Botnet"),
    ("192.0.2.66", CITY_INDEX["sao paulo"], "Password spray"),
    ("192.0.2.75", CITY_INDEX["ashburn"], "Password spray"),
    ("192.0.2.89", CITY_INDEX["chicago"], "Botnet"),
    ("192.0.2.93", CITY_INDEX["london"], "Malware C&C server"),
    ("192.0.2.104", CITY_INDEX["frankfurt am main"], "Password spray"),
    ("192.0.2.117", CITY_INDEX["paris"], "Botnet"),
    ("192.0.2.128", CITY_INDEX["mumbai"], "Password spray"),
    ("192.0.2.141", CITY_INDEX["amsterdam"], "Darknet scanning IP"),
    ("192.0.2.150", CITY_INDEX["toronto"], "Botnet"),
]

# Cloud egress of the integrations (AWS us-east-1): non-interactive API sign-ins come from here.
DATACENTER_BLOCKS = ["3.80.0.0", "54.152.0.0", "52.5.0.0"]
DATACENTER_CITY = CITY_INDEX["ashburn"]

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (works on scalars and numpy arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def city_distance_km(a: int, b: int) -> float:
    return float(haversine_km(CITIES[a].lat, CITIES[a].lon, CITIES[b].lat, CITIES[b].lon))


def ipv4_text(values) -> list[str]:
    """Dotted-quad strings for uint32 addresses."""
    return [
        f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}" for v in np.asarray(values, dtype=np.uint64).tolist()
    ]


def ipv6_text(city: int, value: int) -> str:
    """A residential IPv6 address in the /32 of the city's country, interface bits from ``value``."""
    prefix = IPV6_PREFIXES.get(CITIES[city].iso, "2001:db8")
    v = (int(value) + 1) * 0x9E3779B97F4A7C15 * 0xD6E8FEB86659FD93 & 0xFFFFFFFFFFFFFFFFFFFFFFFF
    groups = [(v >> (16 * k)) & 0xFFFF for k in range(6)]
    return prefix + ":" + ":".join(f"{g:x}" for g in groups)
