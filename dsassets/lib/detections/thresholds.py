"""The settings of ``ip_ranges`` and of each detection in ``dsassets.yaml``: every threshold, window and list.

Defaults and where they come from (reference: shared DETECTIONS.md):

- learning period 7 days per user and for the organization (MDCA's documented learning period);
- baselines over 30 days (MDCA compares with "the past month");
- impossible travel: at least 500 km and faster than 900 km/h (Panther's 747 speed, Elastic's
  500 km floor; Microsoft publishes no numbers), sensitivity ``medium`` (MDCA's default);
- failed logins: a session ends after 20 quiet minutes (Sentinel's window); at least 10
  failures (MDCA's template: more than 10 in 5 minutes) and more than 3x the user's usual
  per-session count (p90 of the last 30 days), one alert until 24 h pass without another;
- anonymous/suspicious IPs: shipped dated lists (``dsassets/data/ip_lists``) plus DocuSign's
  ``proxyType``; an IP used by 5 or more users in 30 days is treated as mis-tagged.

The ranges mirror MDCA's IP address ranges: a name, CIDRs, one category and free tags.
Ranges may not overlap and every CIDR must be a network address (``10.0.0.0/8``, not
``10.0.0.1/8``); errors name the entry.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from dsassets.lib.config.section import Section

Severity = Literal["informational", "low", "medium", "high"]
Category = Literal["corporate", "vpn", "risky", "cloud_provider", "administrative"]
SigninClass = Literal[
    "interactive_success", "interactive_failure", "non_interactive_success", "non_interactive_failure"
]



def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR or a single address; host bits set is an error (say what was probably meant)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv4/IPv6 address or CIDR ({exc})") from None
        raise ValueError(f"{text!r} has host bits set; did you mean {loose}?") from None


class IpRange(Section):
    """One organization IP range, as in MDCA: name, CIDRs, category, tags."""

    name: str
    category: Category
    cidrs: list[str]
    tags: list[str] = Field(default_factory=list)

    @field_validator("cidrs")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one CIDR is required")
        for i, cidr in enumerate(value):
            try:
                parse_network(cidr)
            except ValueError as exc:
                raise ValueError(f"cidrs[{i}]: {exc}") from None
        return value


def check_overlaps(ranges: list[IpRange], key: str = "ip_ranges") -> None:
    """Raise naming both entries when two CIDRs (in one range or two) overlap."""
    nets = []
    for i, r in enumerate(ranges):
        for j, cidr in enumerate(r.cidrs):
            net = parse_network(cidr)
            nets.append((net.version, int(net.network_address), int(net.broadcast_address),
                         f"{key}[{i}] ({r.name}) cidrs[{j}] {cidr}"))
    nets.sort()
    for a, b in zip(nets, nets[1:]):
        if a[0] == b[0] and b[1] <= a[2]:
            raise ValueError(f"{b[3]} overlaps {a[3]}; MDCA-style ranges may not overlap")


def default_ip_ranges() -> list[IpRange]:
    # The embedded simulator's offices and VPN egress (dsassets/simulator/geography.py), so the
    # demo suppresses what a tenant that tagged its ranges would. Replace with your own.
    offices = [("HQ New York", "203.0.113.0/27"), ("San Francisco", "203.0.113.32/27"),
               ("London", "203.0.113.64/27"), ("Berlin", "203.0.113.96/27"),
               ("Bengaluru", "203.0.113.128/27"), ("Sydney", "203.0.113.160/27")]
    hubs = [("us-east", "198.51.100.0/28"), ("eu-west", "198.51.100.16/28"),
            ("eu-central", "198.51.100.32/28"), ("france", "198.51.100.48/28"),
            ("canada", "198.51.100.64/28"), ("netherlands", "198.51.100.80/28"),
            ("india", "198.51.100.96/28"), ("singapore", "198.51.100.112/28"),
            ("japan", "198.51.100.128/28"), ("australia", "198.51.100.144/28")]
    return [
        IpRange(name="Offices", category="corporate", cidrs=[c for _, c in offices], tags=["office"]),
        IpRange(name="Remote-access VPN", category="vpn", cidrs=[c for _, c in hubs], tags=["vpn"]),
    ]


class IpList(Section):
    """A file of addresses/CIDRs matched by one policy. ``builtin:<file>`` = shipped snapshot."""

    name: str
    path: str
    policy: Literal["anonymous_ip", "suspicious_ip"]
    tag: str


def default_ip_lists() -> list[IpList]:
    return [
        IpList(name="tor_exit_nodes", path="builtin:tor_exit_nodes.txt", policy="anonymous_ip",
               tag="Tor exit nodes"),
        IpList(name="anonymous_proxies", path="builtin:anonymous_proxies.txt", policy="anonymous_ip",
               tag="Anonymous proxy"),
        IpList(name="threat_intel", path="builtin:threat_intel.txt", policy="suspicious_ip",
               tag="Threat intelligence"),
    ]


class LearningConfig(Section):
    user_days: int = Field(default=7, ge=0)
    organization_days: int = Field(default=7, ge=0)


class PolicyConfig(Section):
    enabled: bool = True


class IpReputationConfig(PolicyConfig):
    severity: Severity = "medium"
    signin_classes: list[SigninClass] = Field(default_factory=lambda: ["interactive_success"])
    widely_used_min_users: int = Field(default=5, ge=2)
    widely_used_days: int = Field(default=30, ge=1)
    dedup_hours: int = Field(default=24, ge=1)


class AnonymousIpConfig(IpReputationConfig):
    # DocuSign Monitor's proxyType values that mean an anonymizer (compared case-insensitively).
    proxy_types: list[str] = Field(default_factory=lambda: ["tor", "anonymous"])


class SuspiciousIpConfig(IpReputationConfig):
    severity: Severity = "high"


LocationSource = Literal["docusign", "ip_lookup"]


def _docusign_locations() -> list[LocationSource]:
    # The offline IP database (DB-IP Lite, 2023) misplaces some addresses in another country;
    # those phantom trips would alert on nothing, so only DocuSign's own locations count.
    return ["docusign"]


class InfrequentCountryConfig(PolicyConfig):
    severity: Severity = "medium"
    evaluate: Literal["signins", "activities"] = "signins"
    location_sources: list[LocationSource] = Field(default_factory=_docusign_locations)
    baseline_days: int = Field(default=30, ge=1)
    organization_baseline: bool = False


class ImpossibleTravelConfig(PolicyConfig):
    severity: Severity = "medium"
    sensitivity: Literal["low", "medium", "high"] = "medium"
    evaluate: Literal["signins", "activities"] = "signins"
    location_sources: list[LocationSource] = Field(default_factory=_docusign_locations)
    min_distance_km: float = Field(default=500.0, ge=0)
    max_speed_kmh: float = Field(default=900.0, gt=0)
    baseline_days: int = Field(default=30, ge=1)
    user_common_min_days: int = Field(default=2, ge=1)
    tenant_common_min_users: int = Field(default=5, ge=1)
    dedup_hours: int = Field(default=24, ge=1)


class TerminatedUserConfig(PolicyConfig):
    severity: Severity = "high"
    recycle_bin_days: int = Field(default=30, ge=1)
    realert_after_days: int = Field(default=30, ge=1)


class FailedLoginsConfig(PolicyConfig):
    severity: Severity = "medium"
    include_non_interactive: bool = True
    session_gap_minutes: int = Field(default=20, ge=1)
    min_failures: int = Field(default=10, ge=2)
    baseline_days: int = Field(default=30, ge=1)
    baseline_quantile: float = Field(default=0.9, ge=0, le=1)
    baseline_multiplier: float = Field(default=3.0, ge=1)
    dedup_hours: int = Field(default=24, ge=1)
    apply_learning_period: bool = True
