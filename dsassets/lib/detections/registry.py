"""The built-in detections, one record each: everything the assets, the engine, the config and the
quality report know about a detection.

Adding a detection: one ``Detection`` here, its ``select`` in ``sql/detections/<sql_file>.sql``,
its settings class in ``thresholds.py`` (which becomes the ``detections.<id>`` section of
``dsassets.yaml``), and its tests.

A detection reads its own day's events, the per-user daily baselines (``sql/baselines/``) of its
lookback, and raw events of earlier days only where a baseline cannot stand in for them (its
``raw_lookback``: the de-duplication window, where an incident's chain needs every event).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from dsassets.lib.detections.thresholds import (
    AnonymousIpConfig,
    FailedLoginsConfig,
    ImpossibleTravelConfig,
    InfrequentCountryConfig,
    PolicyConfig,
    SuspiciousIpConfig,
    TerminatedUserConfig,
)

C = TypeVar("C", bound=PolicyConfig)
# Relations every detection reads through the shared views (sql/detections/detection_*.sql).
BASE_INPUTS = ("activities", "int_user_activity_daily")


def days(hours: int) -> int:
    return math.ceil(hours / 24)


@dataclass(frozen=True)
class Detection(Generic[C]):
    """One anomaly policy: its id (``alerts.policy``), SQL, inputs, lookback and settings."""

    id: str
    # sql/detections/<sql_file>.sql: one select over the shared views.
    sql_file: str
    description: str
    # The ``detections.<id>`` section of dsassets.yaml; its defaults are the documented ones.
    config_model: type[C]
    # How many days before the window the policy reads (baselines, de-duplication).
    lookback: Callable[[C], int]
    # Upstream relations read besides BASE_INPUTS.
    extra_inputs: tuple[str, ...] = ()
    # The baseline assets (sql/baselines/) it reads over its lookback.
    baselines: tuple[str, ...] = ()
    # How many days before the window it reads raw events (activities) of; 0: its day only.
    raw_lookback: Callable[[C], int] = lambda p: 0
    # Matches addresses against the configured IP lists (their files show in its metadata).
    uses_ip_lists: bool = False
    # History parts (dsassets.lib.transform.history), each with the models it reads: views of
    # the days before the window, ``sql/detections/<sql_file>/<part>.sql``, every ended month
    # rolled up once, for what the policy would otherwise read from every partition.
    history: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def asset_name(self) -> str:
        return f"det_{self.id}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return BASE_INPUTS + self.extra_inputs + self.baselines

    @property
    def default_severity(self) -> str:
        return self.config_model.model_fields["severity"].default


def _ip_reputation(p: AnonymousIpConfig | SuspiciousIpConfig) -> int:
    return max(p.widely_used_days, days(p.dedup_hours) + 1)


# The baseline assets (one daily partition each, see dsassets/defs/detections/baselines.py).
USER_COUNTRIES = "det_baseline_user_countries"
IP_USERS = "det_baseline_ip_users"
SIGNIN_SESSIONS = "det_baseline_signin_sessions"


DETECTIONS: tuple[Detection, ...] = (
    Detection(
        "anonymous_ip", "ip_reputation",
        "Activity from anonymous IP addresses (Tor exits, anonymizers, DocuSign proxyType).",
        AnonymousIpConfig, _ip_reputation, uses_ip_lists=True,
        # raw: whether a flagged event of the de-duplication window opened the incident depends on
        # the lists in force and each event's proxy type, so those days are read whole
        baselines=(IP_USERS,), raw_lookback=lambda p: days(p.dedup_hours),
    ),
    Detection(
        "infrequent_country", "infrequent_country",
        "Activity from a country the user has not used in the baseline window.",
        InfrequentCountryConfig, lambda p: p.baseline_days + 1,
        baselines=(USER_COUNTRIES,),
    ),
    Detection(
        "suspicious_ip", "ip_reputation",
        "Activity from threat-intelligence IPs or the organization's Risky ranges.",
        SuspiciousIpConfig, _ip_reputation, uses_ip_lists=True,
        baselines=(IP_USERS,), raw_lookback=lambda p: days(p.dedup_hours),
    ),
    Detection(
        "impossible_travel", "impossible_travel",
        "Two activities of a user too far apart for the time between them (country level).",
        ImpossibleTravelConfig, lambda p: p.baseline_days + days(p.dedup_hours) + 1,
        # raw: a pair needs both events' places and times, and the pairs of the de-duplication
        # window (plus the day before it, their earlier sides) decide whether one opens an incident
        baselines=(USER_COUNTRIES,), raw_lookback=lambda p: days(p.dedup_hours) + 2,
    ),
    Detection(
        "terminated_user_activity", "terminated_user_activity",
        "DocuSign activity after the identity provider deleted or disabled the user.",
        # its lookback reads int_user_activity_daily (any activity after the termination on an
        # earlier day means the incident alerted then): the per-user daily baseline it needs
        TerminatedUserConfig, lambda p: p.realert_after_days,
        extra_inputs=("stg_idp__users", "int_user_lifecycle_events"),
        # every identity-provider snapshot before the day: the first and the last listing of each
        # address, and the latest snapshot
        history={part: ("stg_idp__users",) for part in (
            "terminated_idp_latest_before", "terminated_idp_first_listed_before",
            "terminated_idp_last_listed_before")},
    ),
    Detection(
        "multiple_failed_logins", "multiple_failed_logins",
        "More failed sign-ins in a session than the user's baseline and the floor allow.",
        FailedLoginsConfig, lambda p: p.baseline_days + days(p.dedup_hours) + 1,
        baselines=(SIGNIN_SESSIONS,),
    ),
)
BY_ID: dict[str, Detection] = {d.id: d for d in DETECTIONS}
POLICIES: tuple[str, ...] = tuple(BY_ID)
