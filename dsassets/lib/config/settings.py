"""Every environment variable the project reads, and the connection settings built from them.

Each variable is one :class:`Env` constant below with its one default; nothing else in the
package reads ``os.environ`` by name. The README's configuration table documents the same
variables and defaults (a test compares them). Secrets (the private key, the Entra client
secret) are held in fields that never appear in ``repr`` so they cannot leak into logs,
exceptions or Dagster metadata.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal, Mapping
from urllib.parse import urlsplit

MonitorGeneration = Literal["legacy", "current"]

PRODUCTION_AUTH_SERVER = "https://account.docusign.com"
PRODUCTION_MONITOR_URLS: dict[str, str] = {
    # v2.0 lens host serves the legacy path, api host the current v1 path (DOCUSIGN_API.md §0).
    "legacy": "https://lens.docusign.net",
    "current": "https://api.docusign.com",
}
PRODUCTION_ADMIN_URL = "https://api.docusign.net/Management"
DEFAULT_SCOPES = "signature impersonation organization_read user_read account_read"


@dataclass(frozen=True)
class Env:
    """One environment variable and its default (``None``: unset means "not configured")."""

    name: str
    default: str | int | None = None

    def get(self, env: Mapping[str, str] | None = None) -> str | None:
        """The value as set (an empty string included), else the default as text."""
        env = os.environ if env is None else env
        value = env.get(self.name)
        if value is not None:
            return value
        return None if self.default is None else str(self.default)

    def value(self, env: Mapping[str, str] | None = None) -> str | None:
        """The value when set and not empty, else ``None`` (for "unset means off" variables)."""
        env = os.environ if env is None else env
        return env.get(self.name) or None

    def integer(self, env: Mapping[str, str] | None = None) -> int:
        """An integer variable, or the default when unset or empty; garbage is an error naming it."""
        assert isinstance(self.default, int), self.name
        return int_setting(os.environ if env is None else env, self.name, self.default)

    def share(self, env: Mapping[str, str] | None = None) -> float:
        """A fraction from 0 to 1, or the default when unset or empty; garbage is an error naming it."""
        text = (self.get(env) or "").strip() or str(self.default or 0)
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{self.name}={text!r}: not a share from 0 to 1 (such as 0.01)")
        return value


# DocuSign (all four required ones unset: the embedded simulator).
DOCUSIGN_INTEGRATION_KEY = Env("DOCUSIGN_INTEGRATION_KEY")
DOCUSIGN_USER_ID = Env("DOCUSIGN_USER_ID")
DOCUSIGN_PRIVATE_KEY_FILE = Env("DOCUSIGN_PRIVATE_KEY_FILE")
DOCUSIGN_ORGANIZATION_ID = Env("DOCUSIGN_ORGANIZATION_ID")
DOCUSIGN_AUTH_SERVER = Env("DOCUSIGN_AUTH_SERVER", PRODUCTION_AUTH_SERVER)
DOCUSIGN_MONITOR_GENERATION = Env("DOCUSIGN_MONITOR_GENERATION", "current")
# Default: PRODUCTION_MONITOR_URLS of the generation.
DOCUSIGN_MONITOR_URL = Env("DOCUSIGN_MONITOR_URL")
DOCUSIGN_ADMIN_URL = Env("DOCUSIGN_ADMIN_URL", PRODUCTION_ADMIN_URL)
DOCUSIGN_ACCOUNT_IDS = Env("DOCUSIGN_ACCOUNT_IDS")
DOCUSIGN_SCOPES = Env("DOCUSIGN_SCOPES", DEFAULT_SCOPES)
DOCUSIGN_MONITOR_PAGE_LIMIT = Env("DOCUSIGN_MONITOR_PAGE_LIMIT", 2000)
# Monitor pages are in ingestion order and lag event time by up to ~5 minutes (DOCUSIGN_API.md §1.1).
DOCUSIGN_MONITOR_LAG_MINUTES = Env("DOCUSIGN_MONITOR_LAG_MINUTES", 15)
# How far back the Monitor stream serves events. DocuSign does not publish it (DOCUSIGN_API.md
# §1.6: a read without a cursor starts 7 days back; the Monitor dashboard shows up to 365 days),
# so the default is the dashboard's 365 days: set your organization's figure when you know it.
DOCUSIGN_MONITOR_RETENTION_DAYS = Env("DOCUSIGN_MONITOR_RETENTION_DAYS", 365)
# Windows of the Monitor stream a backfill of several days reads at once (one connection each;
# they share one client, so its rate-limit pause holds them all). 1 reads the range in one pass.
DOCUSIGN_MONITOR_READERS = Env("DOCUSIGN_MONITOR_READERS", 1)
MAX_MONITOR_READERS = 8
# Microsoft Entra ID (Graph), for terminated users and governance actions.
ENTRA_TENANT_ID = Env("ENTRA_TENANT_ID")
ENTRA_CLIENT_ID = Env("ENTRA_CLIENT_ID")
ENTRA_CLIENT_SECRET = Env("ENTRA_CLIENT_SECRET")
ENTRA_AUTHORITY_URL = Env("ENTRA_AUTHORITY_URL", "https://login.microsoftonline.com")
ENTRA_GRAPH_URL = Env("ENTRA_GRAPH_URL", "https://graph.microsoft.com")
# The project.
IDP_EXPORT_FILE = Env("DSASSETS_IDP_EXPORT_FILE")
DATA_DIR = Env("DSASSETS_DATA_DIR", "data")
# Only with an s3:// data directory; with a local one everything stays there.
LOCAL_DIR = Env("DSASSETS_LOCAL_DIR", "data")
START_DATE = Env("DSASSETS_START_DATE", "2025-01-01")
BACKFILL_DAYS_PER_RUN = Env("DSASSETS_BACKFILL_DAYS_PER_RUN")
DUCKDB_MEMORY_LIMIT = Env("DSASSETS_DUCKDB_MEMORY_LIMIT", "2GB")
SIMULATOR_SEED = Env("DSASSETS_SIMULATOR_SEED", 20240601)
SIMULATOR_EVENTS_PER_DAY = Env("DSASSETS_SIMULATOR_EVENTS_PER_DAY", 600)
SIMULATOR_NOW = Env("DSASSETS_SIMULATOR_NOW")
REFRESH_MINUTES = Env("DSASSETS_REFRESH_MINUTES", 15)
# Hours without a new audit event, on a day that had events, before the freshness check warns.
AUDIT_FRESHNESS_HOURS = Env("DSASSETS_AUDIT_FRESHNESS_HOURS", 4)
CONFIG_FILE = Env("DSASSETS_CONFIG")
# From this many organization users (memberships listed), the users snapshot is one bulk export.
BULK_EXPORT_MIN_USERS = Env("DSASSETS_BULK_EXPORT_MIN_USERS", 2000)
# Late events: the ingestion delay past which the extraction's check warns; the simulator's
# late ingestion (a share of events, and planted incidents held past their day).
LATE_EVENT_HOURS = Env("DSASSETS_LATE_EVENT_HOURS", 6)
# Entra directory audits: how far before the previous read of the day a refresh asks Graph again
# (the audit log's publishing delay); 0 reads the whole lookback every time.
GRAPH_AUDIT_OVERLAP_MINUTES = Env("DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES", 60)
SIMULATOR_LATE_SHARE = Env("DSASSETS_SIMULATOR_LATE_SHARE", "0")
SIMULATOR_LATE_POLICIES = Env("DSASSETS_SIMULATOR_LATE_POLICIES", "")
# The analyst's loop: who a triage change is recorded as when `dsassets alerts ... --by` is not given.
USER = Env("USER")
VARIABLES: tuple[Env, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Env))


class ConfigError(ValueError):
    """A setting is missing or malformed. The message names the setting."""


def check_url(name: str, url: str) -> str:
    """Return ``url`` without a trailing slash, refusing plain http except on loopback.

    A stand-in server on 127.0.0.1 may replace DocuSign or Graph with no code
    change; any other host must be https so credentials never cross a network
    in clear text.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{name}={url!r}: plain http is only allowed for loopback hosts; use https")
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class DocuSignSettings:
    """How to reach one DocuSign organization with the JWT grant."""

    integration_key: str
    user_id: str
    organization_id: str
    private_key_pem: str = field(repr=False)
    auth_server: str = PRODUCTION_AUTH_SERVER
    monitor_generation: MonitorGeneration = "current"
    monitor_url: str = PRODUCTION_MONITOR_URLS["current"]
    admin_url: str = PRODUCTION_ADMIN_URL
    scopes: str = DEFAULT_SCOPES
    # Restrict extraction to these accounts; empty means every account of the organization.
    account_ids: tuple[str, ...] = ()
    monitor_page_limit: int = DOCUSIGN_MONITOR_PAGE_LIMIT.default  # type: ignore[assignment]
    monitor_lag_minutes: int = DOCUSIGN_MONITOR_LAG_MINUTES.default  # type: ignore[assignment]
    monitor_retention_days: int = DOCUSIGN_MONITOR_RETENTION_DAYS.default  # type: ignore[assignment]
    max_attempts: int = 6
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.monitor_generation not in ("legacy", "current"):
            raise ConfigError(
                f"DOCUSIGN_MONITOR_GENERATION={self.monitor_generation!r}: expected 'legacy' or 'current'"
            )
        for name in ("auth_server", "monitor_url", "admin_url"):
            object.__setattr__(self, name, check_url(f"DOCUSIGN_{name.upper()}", getattr(self, name)))
        if not 1 <= self.monitor_page_limit <= 2000:
            raise ConfigError(f"DOCUSIGN_MONITOR_PAGE_LIMIT={self.monitor_page_limit}: must be 1..2000")

    @property
    def auth_host(self) -> str:
        """The JWT ``aud`` claim: the bare account-server host, no scheme (DOCUSIGN_API.md §4)."""
        parts = urlsplit(self.auth_server)
        return parts.netloc


@dataclass(frozen=True)
class GraphSettings:
    """Microsoft Graph (Entra ID) app registration for the client-credentials grant."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_url: str = ENTRA_AUTHORITY_URL.default  # type: ignore[assignment]
    graph_url: str = ENTRA_GRAPH_URL.default  # type: ignore[assignment]
    max_attempts: int = 6
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "authority_url", check_url("ENTRA_AUTHORITY_URL", self.authority_url))
        object.__setattr__(self, "graph_url", check_url("ENTRA_GRAPH_URL", self.graph_url))


DOCUSIGN_REQUIRED = (DOCUSIGN_INTEGRATION_KEY, DOCUSIGN_USER_ID, DOCUSIGN_PRIVATE_KEY_FILE, DOCUSIGN_ORGANIZATION_ID)
ENTRA_REQUIRED = (ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET)


def _configured(env: Mapping[str, str], required: tuple[Env, ...], what: str, hint: str) -> bool:
    """Whether any of ``required`` is set; some but not all of them is an error.

    Silently falling back to the simulator would hide a broken production configuration.
    """
    present = [v.name for v in required if env.get(v.name)]
    if not present:
        return False
    missing = [v.name for v in required if not env.get(v.name)]
    if missing:
        raise ConfigError(f"{what} is partly configured: set {', '.join(missing)}{hint.format(', '.join(present))}")
    return True


def docusign_settings_from_env(env: Mapping[str, str] | None = None) -> DocuSignSettings | None:
    """Build settings from ``DOCUSIGN_*`` variables, or ``None`` when none is set (simulator mode)."""
    env = os.environ if env is None else env
    if not _configured(env, DOCUSIGN_REQUIRED, "DocuSign", " (or unset {})"):
        return None
    key_path = Path(env[DOCUSIGN_PRIVATE_KEY_FILE.name]).expanduser()
    try:
        private_key_pem = key_path.read_text()
    except OSError as exc:
        raise ConfigError(f"{DOCUSIGN_PRIVATE_KEY_FILE.name}={key_path}: cannot read ({exc.strerror})") from None
    if "PRIVATE KEY" not in private_key_pem:
        raise ConfigError(f"{DOCUSIGN_PRIVATE_KEY_FILE.name}={key_path}: not a PEM private key")
    generation = DOCUSIGN_MONITOR_GENERATION.get(env)
    return DocuSignSettings(
        integration_key=env[DOCUSIGN_INTEGRATION_KEY.name],
        user_id=env[DOCUSIGN_USER_ID.name],
        organization_id=env[DOCUSIGN_ORGANIZATION_ID.name],
        private_key_pem=private_key_pem,
        auth_server=DOCUSIGN_AUTH_SERVER.get(env),
        monitor_generation=generation,  # type: ignore[arg-type]  # validated in __post_init__
        monitor_url=env.get(DOCUSIGN_MONITOR_URL.name, PRODUCTION_MONITOR_URLS.get(generation, "")),
        admin_url=DOCUSIGN_ADMIN_URL.get(env),
        scopes=DOCUSIGN_SCOPES.get(env),
        account_ids=tuple(a.strip() for a in (DOCUSIGN_ACCOUNT_IDS.get(env) or "").split(",") if a.strip()),
        monitor_page_limit=DOCUSIGN_MONITOR_PAGE_LIMIT.integer(env),
        monitor_lag_minutes=DOCUSIGN_MONITOR_LAG_MINUTES.integer(env),
        monitor_retention_days=DOCUSIGN_MONITOR_RETENTION_DAYS.integer(env),
    )


def graph_settings_from_env(env: Mapping[str, str] | None = None) -> GraphSettings | None:
    """Build Entra ID settings from ``ENTRA_*`` variables, or ``None`` when none is set."""
    env = os.environ if env is None else env
    if not _configured(env, ENTRA_REQUIRED, "Entra ID", ""):
        return None
    return GraphSettings(
        tenant_id=env[ENTRA_TENANT_ID.name],
        client_id=env[ENTRA_CLIENT_ID.name],
        client_secret=env[ENTRA_CLIENT_SECRET.name],
        authority_url=ENTRA_AUTHORITY_URL.get(env),
        graph_url=ENTRA_GRAPH_URL.get(env),
    )


def named_variable(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of a variable whose name ``dsassets.yaml`` gives, or ``None`` when unset or empty.

    Notify channels name where their secrets are (``url_env``, ``username_env``,
    ``password_env``), so these names are the user's, not constants in :data:`VARIABLES`; the
    README's table describes them in one row.
    """
    env = os.environ if env is None else env
    return env.get(name) or None


def int_setting(env: Mapping[str, str], name: str, default: int) -> int:
    """An integer variable, or ``default`` when unset or empty; garbage is an error naming it."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def audit_freshness_hours(env: Mapping[str, str] | None = None) -> int:
    """``DSASSETS_AUDIT_FRESHNESS_HOURS``: hours without a new audit event, on a day that had
    events, before the freshness check warns (default 4)."""
    hours = AUDIT_FRESHNESS_HOURS.integer(env)
    if hours < 1:
        raise ConfigError(f"{AUDIT_FRESHNESS_HOURS.name}={hours}: must be at least 1")
    return hours


def bulk_export_min_users(env: Mapping[str, str] | None = None) -> int:
    """``DSASSETS_BULK_EXPORT_MIN_USERS``: from how many users the snapshot uses the bulk export."""
    value = BULK_EXPORT_MIN_USERS.integer(env)
    if value < 0:
        raise ConfigError(f"DSASSETS_BULK_EXPORT_MIN_USERS={value}: must be 0 (always bulk) or more")
    return value


def graph_audit_overlap(env: Mapping[str, str] | None = None) -> timedelta:
    """``DSASSETS_GRAPH_AUDIT_OVERLAP_MINUTES``: how much of the previous directory-audit read of the
    day a refresh reads again (default 60 minutes; 0 reads the whole lookback every time)."""
    minutes = GRAPH_AUDIT_OVERLAP_MINUTES.integer(env)
    if minutes < 0:
        raise ConfigError(f"{GRAPH_AUDIT_OVERLAP_MINUTES.name}={minutes}: must be 0 (read everything) or more")
    return timedelta(minutes=minutes)


def monitor_readers(env: Mapping[str, str] | None = None) -> int:
    """How many windows of the Monitor stream a backfill of several days reads at once."""
    readers = DOCUSIGN_MONITOR_READERS.integer(env)
    if not 1 <= readers <= MAX_MONITOR_READERS:
        raise ConfigError(f"{DOCUSIGN_MONITOR_READERS.name}={readers}: must be 1..{MAX_MONITOR_READERS}")
    return readers


def late_event_hours(env: Mapping[str, str] | None = None) -> float:
    """How late (hours) a Monitor event may be ingested before the extraction's check warns."""
    raw = LATE_EVENT_HOURS.value(env)
    if raw is None or raw == "":
        return 6.0
    try:
        hours = float(raw)
    except ValueError:
        raise ConfigError(f"{LATE_EVENT_HOURS.name}={raw!r} is not a number of hours") from None
    if hours <= 0:
        raise ConfigError(f"{LATE_EVENT_HOURS.name}={raw!r} must be positive")
    return hours
