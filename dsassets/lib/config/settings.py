"""Connection settings read from the environment.

Every variable is documented in the README's configuration table. Secrets (the
private key, the Entra client secret) are held in fields that never appear in
``repr`` so they cannot leak into logs, exceptions or Dagster metadata.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
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
    monitor_page_limit: int = 2000
    # Monitor pages are in ingestion order and lag event time by up to ~5 minutes (DOCUSIGN_API.md §1.1).
    monitor_lag_minutes: int = 15
    # How far back the Monitor stream serves events. DocuSign does not publish it (DOCUSIGN_API.md
    # §1.6: a read without a cursor starts 7 days back; the Monitor dashboard shows up to 365 days),
    # so the default is the dashboard's 365 days: set your organization's figure when you know it.
    monitor_retention_days: int = 365
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
    authority_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    max_attempts: int = 6
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "authority_url", check_url("ENTRA_AUTHORITY_URL", self.authority_url))
        object.__setattr__(self, "graph_url", check_url("ENTRA_GRAPH_URL", self.graph_url))


DOCUSIGN_REQUIRED = (
    "DOCUSIGN_INTEGRATION_KEY",
    "DOCUSIGN_USER_ID",
    "DOCUSIGN_PRIVATE_KEY_FILE",
    "DOCUSIGN_ORGANIZATION_ID",
)


def docusign_settings_from_env(env: Mapping[str, str] | None = None) -> DocuSignSettings | None:
    """Build settings from ``DOCUSIGN_*`` variables, or ``None`` when none is set (simulator mode).

    Setting some but not all required variables is an error: silently falling
    back to the simulator would hide a broken production configuration.
    """
    env = os.environ if env is None else env
    present = [name for name in DOCUSIGN_REQUIRED if env.get(name)]
    if not present:
        return None
    missing = [name for name in DOCUSIGN_REQUIRED if not env.get(name)]
    if missing:
        raise ConfigError(f"DocuSign is partly configured: set {', '.join(missing)} (or unset {', '.join(present)})")
    key_path = Path(env["DOCUSIGN_PRIVATE_KEY_FILE"]).expanduser()
    try:
        private_key_pem = key_path.read_text()
    except OSError as exc:
        raise ConfigError(f"DOCUSIGN_PRIVATE_KEY_FILE={key_path}: cannot read ({exc.strerror})") from None
    if "PRIVATE KEY" not in private_key_pem:
        raise ConfigError(f"DOCUSIGN_PRIVATE_KEY_FILE={key_path}: not a PEM private key")
    generation = env.get("DOCUSIGN_MONITOR_GENERATION", "current")
    return DocuSignSettings(
        integration_key=env["DOCUSIGN_INTEGRATION_KEY"],
        user_id=env["DOCUSIGN_USER_ID"],
        organization_id=env["DOCUSIGN_ORGANIZATION_ID"],
        private_key_pem=private_key_pem,
        auth_server=env.get("DOCUSIGN_AUTH_SERVER", PRODUCTION_AUTH_SERVER),
        monitor_generation=generation,  # type: ignore[arg-type]  # validated in __post_init__
        monitor_url=env.get("DOCUSIGN_MONITOR_URL", PRODUCTION_MONITOR_URLS.get(generation, "")),
        admin_url=env.get("DOCUSIGN_ADMIN_URL", PRODUCTION_ADMIN_URL),
        scopes=env.get("DOCUSIGN_SCOPES", DEFAULT_SCOPES),
        account_ids=tuple(a.strip() for a in env.get("DOCUSIGN_ACCOUNT_IDS", "").split(",") if a.strip()),
        monitor_page_limit=int_setting(env, "DOCUSIGN_MONITOR_PAGE_LIMIT", 2000),
        monitor_lag_minutes=int_setting(env, "DOCUSIGN_MONITOR_LAG_MINUTES", 15),
        monitor_retention_days=int_setting(env, "DOCUSIGN_MONITOR_RETENTION_DAYS", 365),
    )


def graph_settings_from_env(env: Mapping[str, str] | None = None) -> GraphSettings | None:
    """Build Entra ID settings from ``ENTRA_*`` variables, or ``None`` when none is set."""
    env = os.environ if env is None else env
    names = ("ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET")
    present = [n for n in names if env.get(n)]
    if not present:
        return None
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise ConfigError(f"Entra ID is partly configured: set {', '.join(missing)}")
    return GraphSettings(
        tenant_id=env["ENTRA_TENANT_ID"],
        client_id=env["ENTRA_CLIENT_ID"],
        client_secret=env["ENTRA_CLIENT_SECRET"],
        authority_url=env.get("ENTRA_AUTHORITY_URL", "https://login.microsoftonline.com"),
        graph_url=env.get("ENTRA_GRAPH_URL", "https://graph.microsoft.com"),
    )


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
    hours = int_setting(os.environ if env is None else env, "DSASSETS_AUDIT_FRESHNESS_HOURS", 4)
    if hours < 1:
        raise ConfigError(f"DSASSETS_AUDIT_FRESHNESS_HOURS={hours}: must be at least 1")
    return hours
