"""The audit vocabulary the simulator speaks, and the user agents it uses.

DocuSign does not publish the ``object``/``action`` strings of sign-in events
(DOCUSIGN_API.md §1.5), so the simulator picks the following and the
warehouse maps them by configuration. Keep this table and the project's
mapping file in step.

=================  ===========================================================  =====================
object             action                                                       result / source
=================  ===========================================================  =====================
User               Login                                                        Success|Failed;
                                                                                Web|Mobile interactive,
                                                                                API non-interactive
                                                                                (integratorKey set)
Envelope           Created, Sent, Viewed, Downloaded, Voided, Deleted, Completed Success; Web|Mobile|API
Account            UserAdded, UserClosed, UserReactivated,                       Success; Web
                   PermissionProfileChanged, Updated (setting change:
                   property = setting name, data {OldValue, NewValue})
Organization       AdminAdded, AdminRemoved, UserAdded, UserClosed,              Success; Web
(accountId "")     AccountLinked, DomainClaimed, IdentityProviderUpdated
Alert              IpAddressOutsideAllowedRanges (data {EventIds, Count})        ""; Other
=================  ===========================================================  =====================

``proxyStatus``/``proxyType``/``proxyLevel`` are ``""`` except on planted
anonymous-proxy incidents (``Proxy``/``TOR``|``VPN``|``Anonymous``/``High``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    object: str
    action: str
    result: str
    source: str


KINDS: list[Kind] = []


def _k(obj: str, action: str, result: str, source: str) -> int:
    KINDS.append(Kind(obj, action, result, source))
    return len(KINDS) - 1


LOGIN_WEB = _k("User", "Login", "Success", "Web")
LOGIN_MOBILE = _k("User", "Login", "Success", "Mobile")
LOGIN_API = _k("User", "Login", "Success", "API")
FAIL_WEB = _k("User", "Login", "Failed", "Web")
FAIL_MOBILE = _k("User", "Login", "Failed", "Mobile")
ENVELOPE_ACTIONS = ("Created", "Sent", "Viewed", "Downloaded", "Voided", "Deleted", "Completed")


def _envelope_kinds(source: str) -> int:
    """All envelope actions from one source, laid out so kind = base + action index; the base."""
    base = len(KINDS)
    for action in ENVELOPE_ACTIONS:
        _k("Envelope", action, "Success", source)
    return base


# Three copies of the envelope actions, one per source.
ENV_WEB, ENV_MOBILE, ENV_API = (_envelope_kinds(source) for source in ("Web", "Mobile", "API"))
# Typical mix of envelope actions inside a session (Viewed/Downloaded dominate).
ENVELOPE_MIX = (0.14, 0.14, 0.30, 0.22, 0.03, 0.03, 0.14)
DOWNLOADED = ENVELOPE_ACTIONS.index("Downloaded")


def _console_kinds(obj: str, *actions: str) -> tuple[int, ...]:
    """Administration: successful, from the web console."""
    return tuple(_k(obj, action, "Success", "Web") for action in actions)


ACC_USER_ADDED, ACC_USER_CLOSED, ACC_USER_REACTIVATED, ACC_PROFILE_CHANGED, ACC_UPDATED = _console_kinds(
    "Account", "UserAdded", "UserClosed", "UserReactivated", "PermissionProfileChanged", "Updated"
)
(
    ORG_ADMIN_ADDED,
    ORG_ADMIN_REMOVED,
    ORG_USER_ADDED,
    ORG_USER_CLOSED,
    ORG_ACCOUNT_LINKED,
    ORG_DOMAIN_CLAIMED,
    ORG_IDP_UPDATED,
) = _console_kinds(
    "Organization",
    "AdminAdded",
    "AdminRemoved",
    "UserAdded",
    "UserClosed",
    "AccountLinked",
    "DomainClaimed",
    "IdentityProviderUpdated",
)
ALERT_IP_RANGES = _k("Alert", "IpAddressOutsideAllowedRanges", "", "Other")

LOGIN_KINDS = frozenset({LOGIN_WEB, LOGIN_MOBILE, LOGIN_API, FAIL_WEB, FAIL_MOBILE})


@dataclass(frozen=True)
class Agent:
    """A user agent with Monitor's parsed view of it (``userAgentClientInfo`` + flat strings)."""

    ua: str
    browser: str
    browser_version: str
    device: str
    brand: str
    model: str
    os: str
    os_version: str

    def client_info(self) -> dict:
        def version(text: str) -> dict:
            parts = (text.split(".") + ["0", "0", "0"])[:3]
            return {"major": parts[0], "minor": parts[1], "patch": parts[2]}

        return {
            "browser": {"family": self.browser, "version": version(self.browser_version)},
            "device": {"family": self.device, "brand": self.brand, "model": self.model},
            "os": {"family": self.os, "version": version(self.os_version)},
        }


AGENTS: list[Agent] = [
    # desktop (0-5)
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Chrome",
        "124.0.0",
        "Other",
        "",
        "",
        "Windows",
        "10",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        "Edge",
        "124.0.2478",
        "Other",
        "",
        "",
        "Windows",
        "10",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        "Safari",
        "17.4.1",
        "Mac",
        "Apple",
        "Mac",
        "Mac OS X",
        "10.15.7",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Chrome",
        "124.0.0",
        "Mac",
        "Apple",
        "Mac",
        "Mac OS X",
        "10.15.7",
    ),
    Agent(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Firefox",
        "125.0.0",
        "Other",
        "",
        "",
        "Ubuntu",
        "0",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Firefox",
        "125.0.0",
        "Other",
        "",
        "",
        "Windows",
        "10",
    ),
    # mobile (6-9)
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "17.4.1",
        "iPhone",
        "Apple",
        "iPhone",
        "iOS",
        "17.4.1",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
        "Chrome Mobile",
        "124.0.6367",
        "Samsung SM-S918B",
        "Samsung",
        "SM-S918B",
        "Android",
        "14",
    ),
    Agent(
        "DocuSign/7.12.0 (iPhone; iOS 17.4.1; Scale/3.00)",
        "DocuSign",
        "7.12.0",
        "iPhone",
        "Apple",
        "iPhone",
        "iOS",
        "17.4.1",
    ),
    Agent(
        "DocuSign/7.11.2 (Android 14; Pixel 8)",
        "DocuSign",
        "7.11.2",
        "Google Pixel 8",
        "Google",
        "Pixel 8",
        "Android",
        "14",
    ),
    # API clients (10-11) and the Tor Browser (12)
    Agent("DocuSign-CSharp-SDK/6.8.0", "Other", "0.0.0", "Other", "", "", "Other", "0"),
    Agent("python-requests/2.31.0", "Python Requests", "2.31.0", "Other", "", "", "Other", "0"),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0",
        "Firefox",
        "115.0.0",
        "Other",
        "",
        "",
        "Windows",
        "10",
    ),
]
DESKTOP_AGENTS = (0, 1, 2, 3, 4, 5)
MOBILE_AGENTS = (6, 7, 8, 9)
API_AGENTS = (10, 11)
TOR_BROWSER = 12
NO_AGENT = 255  # server-side events (alerts, provisioning by API) carry an empty userAgent

PROXY_NONE, PROXY_TOR, PROXY_VPN, PROXY_ANON = 0, 1, 2, 3
PROXY_FIELDS = {
    PROXY_NONE: ("", "", ""),
    PROXY_TOR: ("Proxy", "TOR", "High"),
    PROXY_VPN: ("Proxy", "VPN", "Medium"),
    PROXY_ANON: ("Proxy", "Anonymous", "High"),
}
