"""The project config file, ``dsassets.yaml``: mappings and policies that are data, not code.

The file sits at the repository root; ``DSASSETS_CONFIG`` points elsewhere. A
missing default file means "all defaults"; a missing file named by
``DSASSETS_CONFIG`` is an error. Every section is a pydantic model that refuses
unknown keys and wrong types, and errors name the file and the key path
(``dsassets.yaml: signin.rules[2].outcome: ...``).

To add a section: write a ``Section`` subclass with defaults and add it as a
field of ``ProjectConfig``. Older files keep working because every section
has a default.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from dsassets.lib.config import settings
from dsassets.lib.config.section import Section
from dsassets.lib.detections.config import DetectionsConfig
from dsassets.lib.detections.thresholds import IpRange, check_overlaps, default_ip_ranges
from dsassets.lib.notify.config import NotifyConfig
from dsassets.lib.policies.settings import ActivityPoliciesConfig
from dsassets.lib.posture.config import PostureConfig
from dsassets.lib.scope.model import PolicyScope

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "dsassets.yaml"
CONFIG_ENV = settings.CONFIG_FILE.name


class ConfigError(settings.ConfigError):
    """The config file is unreadable or invalid. The message names the file and the key path.

    A kind of the environment's ``ConfigError``, so one ``except`` catches any bad setting.
    """



# A match field: absent or null matches anything; a string or a list of strings matches any of them.
# Matching trims and ignores case, because DocuSign's casing is not documented either.
Match = str | list[str] | None


class MatchRule(Section):
    """Matches audit events on object/action/result/source (absent = any)."""

    object: Match = None
    action: Match = None
    result: Match = None
    source: Match = None

    @field_validator("object", "action", "result", "source")
    @classmethod
    def _not_empty_list(cls, value: Match) -> Match:
        if isinstance(value, list) and not value:
            raise ValueError("an empty list matches nothing; omit the key to match anything")
        return value

    def values(self, name: str) -> list[str] | None:
        """The accepted values of one match field, trimmed and lowercased; ``None`` means any."""
        value = getattr(self, name)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        return [item.strip().lower() for item in items]


class SigninRule(MatchRule):
    """Events matching ``object``/``action``/``result``/``source`` are sign-ins of this class."""

    outcome: Literal["success", "failure"]
    interactive: bool


def _default_signin_rules() -> list[SigninRule]:
    # The simulator's vocabulary (DOCUSIGN_API.md §1.5: DocuSign's own strings are unconfirmed).
    return [
        SigninRule(object="User", action="Login", result="Success", source=["Web", "Mobile"],
                   outcome="success", interactive=True),
        SigninRule(object="User", action="Login", result="Failed", source=["Web", "Mobile"],
                   outcome="failure", interactive=True),
        SigninRule(object="User", action="Login", result="Success", source="API",
                   outcome="success", interactive=False),
        SigninRule(object="User", action="Login", result="Failed", source="API",
                   outcome="failure", interactive=False),
    ]


class SigninConfig(Section):
    """Which audit events are sign-ins; the first matching rule wins, no match means not a sign-in."""

    rules: list[SigninRule] = Field(default_factory=_default_signin_rules)


EventType = Literal[
    "membership_opened",
    "membership_reopened",
    "membership_closed",
    "permission_profile_changed",
    "organization_user_added",
    "organization_user_closed",
    "organization_admin_added",
    "organization_admin_removed",
    "account_setting_changed",
]


class EventTypeRule(MatchRule):
    """Events matching the rule get ``event_type``; the lifecycle types feed ``user_accounts``/``users``."""

    event_type: EventType


def _default_event_type_rules() -> list[EventTypeRule]:
    pairs = [
        ("Account", "UserAdded", "membership_opened"),
        ("Account", "UserReactivated", "membership_reopened"),
        ("Account", "UserClosed", "membership_closed"),
        ("Account", "PermissionProfileChanged", "permission_profile_changed"),
        ("Account", "Updated", "account_setting_changed"),
        ("Organization", "UserAdded", "organization_user_added"),
        ("Organization", "UserClosed", "organization_user_closed"),
        ("Organization", "AdminAdded", "organization_admin_added"),
        ("Organization", "AdminRemoved", "organization_admin_removed"),
    ]
    return [EventTypeRule(object=o, action=a, event_type=t) for o, a, t in pairs]  # type: ignore[arg-type]


class EventTypesConfig(Section):
    """Classification of non-sign-in audit events; the first matching rule wins."""

    rules: list[EventTypeRule] = Field(default_factory=_default_event_type_rules)


class GeoConfig(Section):
    """Country normalization and the offline IP-location fallback."""

    # Extra country spellings -> ISO 3166 alpha-2, on top of pycountry's names and the built-in aliases.
    country_aliases: dict[str, str] = Field(default_factory=dict)
    # Look up the country of events that arrive without a usable ipAddressLocation.
    ip_lookup: bool = True

    @field_validator("country_aliases")
    @classmethod
    def _alpha2(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}: {v}" for k, v in value.items() if not (len(v) == 2 and v.isalpha())]
        if bad:
            raise ValueError(f"values must be two-letter ISO 3166 codes: {', '.join(bad)}")
        return {k.strip().lower(): v.upper() for k, v in value.items()}


class ProjectConfig(Section):
    """The whole ``dsassets.yaml``. Every section is optional."""

    signin: SigninConfig = Field(default_factory=SigninConfig)
    event_types: EventTypesConfig = Field(default_factory=EventTypesConfig)
    geo: GeoConfig = Field(default_factory=GeoConfig)
    posture: PostureConfig = Field(default_factory=PostureConfig)
    # MDCA-style organization IP ranges (Corporate, VPN, Risky, ...) and the six anomaly policies.
    ip_ranges: list[IpRange] = Field(default_factory=default_ip_ranges)
    detections: DetectionsConfig = Field(default_factory=DetectionsConfig)
    # Custom activity policy files and governance actions (dsassets/lib/policies, governance.py).
    activity_policies: ActivityPoliciesConfig = Field(default_factory=ActivityPoliciesConfig)
    # Per detection or activity policy id: whom it alerts on (dsassets/lib/scope/model.py).
    scope: dict[str, PolicyScope] = Field(default_factory=dict)
    # Alert notifications to the security team (dsassets/lib/notify).
    notify: NotifyConfig = Field(default_factory=NotifyConfig)

    @field_validator("ip_ranges")
    @classmethod
    def _ranges_do_not_overlap(cls, value: list[IpRange]) -> list[IpRange]:
        check_overlaps(value)
        return value


def config_path() -> Path:
    """``$DSASSETS_CONFIG`` if set, else ``dsassets.yaml`` at the repository root."""
    env = settings.CONFIG_FILE.value()
    return Path(env).expanduser() if env else DEFAULT_CONFIG_PATH


def project_config() -> ProjectConfig:
    """The configuration every asset uses: read once per process, and again only when
    ``DSASSETS_CONFIG`` or the file itself changes (tests and long-lived code servers)."""
    file = config_path()
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _read_once(file, stamp, bool(settings.CONFIG_FILE.value()))


@functools.lru_cache(maxsize=8)
def _read_once(file: Path, stamp: int | None, explicit: bool) -> ProjectConfig:
    return _read(file, explicit)


def load_config(path: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Read and validate a config file (``project_config()`` for the project's own, cached)."""
    if path is None:
        return project_config()
    return _read(Path(path).expanduser(), explicit=True)


def _read(file: Path, explicit: bool) -> ProjectConfig:
    """Defaults when the default file does not exist; a named file that does not is an error."""
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: config file not found (set by {CONFIG_ENV} or the caller)")
        return ProjectConfig()
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    return parse_config(data, source=str(file))


def parse_config(data: object, source: str = "<config>") -> ProjectConfig:
    """Validate an already-parsed mapping; errors name ``source`` and each bad key path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        # A union (str | list[str]) fails once per branch: report one line per key path.
        by_path: dict[str, list[str]] = {}
        for err in exc.errors():
            by_path.setdefault(_key_path(err["loc"]), []).append(err["msg"])
        problems = [f"{source}: {path}: {' or '.join(dict.fromkeys(msgs))}" for path, msgs in by_path.items()]
        raise ConfigError("\n".join(problems)) from None


_UNION_LABELS = {"str", "int", "bool", "float", "none", "list[str]"}


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_LABELS or "[" in part:  # pydantic's union branch labels, not keys
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "<root>"
