"""The posture (SSPM) controls, one record each: what is text rather than logic.

Each control's id, title, why it matters, severity, where in DocuSign to fix it, the reference
its default threshold comes from, and which audit events change it (for ``posture_changes``).
The evaluation is set-based SQL in ``sql/posture/``; the thresholds are the ``posture`` section
of ``dsassets.yaml`` (``dsassets.lib.posture.config``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

Severity = Literal["high", "medium", "low"]
Source = Literal["account_settings", "password_rules", "users"]

SETTING_CHANGED = ("account_setting_changed",)
MEMBERSHIP_CHANGES = ("membership_opened", "membership_reopened", "membership_closed")
ADMIN_CHANGES = (
    "permission_profile_changed",
    "organization_admin_added",
    "organization_admin_removed",
    *MEMBERSHIP_CHANGES,
)

_ACCOUNT_SECURITY = "DocuSign eSignature Admin > Account > Security Settings"
_PASSWORD_RULES = "DocuSign eSignature Admin > Account > Security Settings > Password Security"
_USERS = "DocuSign eSignature Admin > Users"
_ORG_USERS = "DocuSign Admin (organization) > Users"


@dataclass(frozen=True)
class Control:
    """One posture control. ``expected`` renders the pass condition from the configuration."""

    id: str
    title: str
    category: Literal["session", "password", "identity"]
    severity: Severity
    source: Source
    why: str
    remediation: str
    reference: str
    # Renders the pass condition from the posture settings (a PostureConfig).
    expected: Callable[[Any], str]
    # eSignature keys the control reads: audit events on these properties explain a change.
    setting_keys: tuple[str, ...] = ()
    # activities.event_type values (dsassets.yaml event_types) that can change the outcome.
    change_event_types: tuple[str, ...] = ()


def _expiry(c: Any) -> str:
    if c.password_expiry == "never":
        return "expirePassword = false (no forced periodic change)"
    return f"expirePassword = true, every {c.password_expiry_max_days} days or less"


CONTROLS: tuple[Control, ...] = (
    # ---------- session (Secure Score's DocuSign recommendation 1)
    Control(
        "session_timeout", "Web app session times out after inactivity", "session", "high",
        "account_settings",
        "An unattended browser stays signed in to DocuSign, with access to every envelope and "
        "admin page, for as long as the idle timeout allows.",
        f"{_ACCOUNT_SECURITY} > Session Timeout: Web App Session Timeout (minutes).",
        "NIST SP 800-63B §4.2.3 (AAL2): reauthenticate after 30 minutes of inactivity",
        lambda c: f"sessionTimeout <= {c.session_timeout_max_minutes} minutes",
        setting_keys=("sessionTimeout",), change_event_types=SETTING_CHANGED,
    ),
    Control(
        "mobile_session_timeout", "Mobile app session times out after inactivity", "session",
        "medium", "account_settings",
        "A lost or shared phone keeps an open DocuSign session for as long as the mobile idle "
        "timeout allows.",
        f"{_ACCOUNT_SECURITY} > Session Timeout: Mobile App Session Timeout (minutes).",
        "NIST SP 800-63B §4.2.3 (AAL2): 30 minutes of inactivity",
        lambda c: f"mobileSessionTimeout <= {c.mobile_session_timeout_max_minutes} minutes",
        setting_keys=("mobileSessionTimeout",), change_event_types=SETTING_CHANGED,
    ),
    Control(
        "multiple_sessions", "Concurrent sessions are blocked", "session", "low",
        "account_settings",
        "With several sessions allowed, a stolen session token or password can be used while "
        "the real user is signed in, and nobody notices.",
        f"{_ACCOUNT_SECURITY} > Session: disallow multiple sessions for the same user "
        "(disableMultipleSessions).",
        "NIST SP 800-53 AC-10 (concurrent session control); project default",
        lambda c: "disableMultipleSessions = true",
        setting_keys=("disableMultipleSessions",), change_event_types=SETTING_CHANGED,
    ),
    Control(
        "signer_must_login", "Signers who are account users must sign in to sign", "session",
        "low", "account_settings",
        "Otherwise an envelope addressed to a member can be signed by whoever holds the email "
        "link, without the member's credentials or two-step verification.",
        f"{_ACCOUNT_SECURITY} > Signing: require recipients who are account users to log in "
        "(signerMustLoginToSign).",
        "project default (no external benchmark)",
        lambda c: "signerMustLoginToSign = true",
        setting_keys=("signerMustLoginToSign",), change_event_types=SETTING_CHANGED,
    ),
    # ---------- password (Secure Score's DocuSign recommendation 2, split by requirement)
    Control(
        "password_min_length", "Passwords have a minimum length", "password", "high",
        "password_rules",
        "Length is what makes a password hard to guess or crack; short ones fall to spraying "
        "and offline attacks.",
        f"{_PASSWORD_RULES}: Minimum password length (6-15), with password strength 'Custom'.",
        "NIST SP 800-63B §5.1.1.2: at least 8 characters; CIS Controls v8 5.2: 8 with MFA, "
        "14 without",
        lambda c: f"minimumPasswordLength >= {c.password_min_length}",
        setting_keys=("minimumPasswordLength", "passwordStrengthType"),
        change_event_types=SETTING_CHANGED,
    ),
    Control(
        "password_complexity", "Passwords are long or use several character classes",
        "password", "medium", "password_rules",
        "A short password from a single character class is easy to guess. NIST SP 800-63B asks "
        "for length instead of composition rules, so a long minimum length also passes.",
        f"{_PASSWORD_RULES}: Password strength 'Medium' or 'Strong', or 'Custom' with the "
        "character classes required (or raise the minimum length).",
        "NIST SP 800-63B §5.1.1.2 (SHOULD NOT impose composition rules: length instead); "
        "Secure Score 'password requirements' for DocuSign; project default",
        lambda c: (
            f"at least {c.password_complexity_min_classes} character classes required "
            f"(passwordStrengthType medium = 3, strong = 4), or minimumPasswordLength >= "
            f"{c.password_length_without_complexity}"
        ),
        setting_keys=(
            "passwordStrengthType", "passwordIncludeDigit",
            "passwordIncludeDigitOrSpecialCharacter", "passwordIncludeLowerCase",
            "passwordIncludeSpecialCharacter", "passwordIncludeUpperCase", "minimumPasswordLength",
        ),
        change_event_types=SETTING_CHANGED,
    ),
    Control(
        "password_expiry", "Password expiry follows the policy", "password", "low",
        "password_rules",
        "Forced periodic changes push users to predictable variants (Spring2025!, Summer2025!); "
        "NIST and CIS advise changing a password only on evidence of compromise.",
        f"{_PASSWORD_RULES}: Password expires (expirePassword) and its number of days.",
        "NIST SP 800-63B §5.1.1.2: SHOULD NOT require periodic changes; CIS Microsoft 365 "
        "Foundations 1.3.1: passwords never expire",
        _expiry,
        setting_keys=("expirePassword", "expirePasswordDays"), change_event_types=SETTING_CHANGED,
    ),
    Control(
        "password_lockout", "Sign-in locks out after failed attempts", "password", "high",
        "password_rules",
        "Without a lockout an attacker can try passwords without limit (DocuSign locks after "
        "three failures, for the configured duration).",
        f"{_PASSWORD_RULES}: Lockout duration after failed login attempts (minutes, hours or days).",
        "NIST SP 800-63B §5.2.2 (limit failed attempts); CIS Microsoft Windows benchmark 1.2.1: "
        "lockout duration >= 15 minutes",
        lambda c: f"lockout duration >= {c.password_lockout_min_minutes} minutes",
        setting_keys=("lockoutDurationMinutes", "lockoutDurationType"),
        change_event_types=SETTING_CHANGED,
    ),
    Control(
        "password_minimum_age", "Passwords have a minimum age", "password", "low",
        "password_rules",
        "A minimum age stops a user (or an attacker who took over the account) from changing "
        "the password several times in a row to get back to an old, exposed one.",
        f"{_PASSWORD_RULES}: Minimum password age (days).",
        "CIS Microsoft Windows benchmark 1.1.4: at least 1 day (NIST SP 800-63B has no "
        "requirement)",
        lambda c: f"minimumPasswordAgeDays >= {c.password_min_age_days}",
        setting_keys=("minimumPasswordAgeDays",), change_event_types=SETTING_CHANGED,
    ),
    Control(
        "password_security_questions", "No security questions for password reset", "password",
        "low", "password_rules",
        "Answers to security questions are often public or guessable and turn a password reset "
        "into a bypass.",
        f"{_PASSWORD_RULES}: Security questions required for password reset (0-4).",
        "NIST SP 800-63B §5.1.1.2: SHALL NOT use knowledge-based questions",
        lambda c: f"questionsRequired <= {c.password_max_security_questions}",
        setting_keys=("questionsRequired",), change_event_types=SETTING_CHANGED,
    ),
    # ---------- identity (Admin API and the user marts)
    Control(
        "two_step_verification", "Members must use two-step verification", "identity", "high",
        "users",
        "A password alone is phished or sprayed; a second factor stops most account takeovers.",
        f"{_ORG_USERS}: select the users > Require two-step verification (or enforce MFA at "
        "the identity provider with SSO required).",
        "NIST SP 800-63B AAL2; CIS Controls v8 6.3 and 6.5 (MFA for externally exposed "
        "applications and administrative access)",
        lambda c: (
            f"at least {c.two_step_verification_min_percent}% of active members have "
            "require_two_step_verification"
            + (" (SSO-required users exempt)" if c.two_step_verification_exempt_federated else "")
        ),
    ),
    Control(
        "admin_share", "Few administrators", "identity", "medium", "users",
        "Every administrator can change security settings, add users and read all envelopes; "
        "each extra one is another account worth taking over.",
        f"{_USERS}: change the permission profile of users who do not need "
        "'DocuSign Administrator' (and Organization admins in DocuSign Admin > Users).",
        "CIS Microsoft 365 Foundations 1.1.3 (two to four global admins); project default for "
        "the share",
        lambda c: (
            f"administrators <= {c.admin_max_percent}% of active members, "
            f"or at most {c.admin_max_count} administrators"
        ),
        change_event_types=ADMIN_CHANGES,
    ),
    Control(
        "inactive_admins", "No dormant administrators", "identity", "medium", "users",
        "An administrator account nobody uses is a standing privilege that nobody watches.",
        f"{_USERS}: remove the administrator profile from, or close, administrators with no "
        "activity.",
        "CIS Controls v8 5.3 (disable dormant accounts; CIS says 45 days); NIST SP 800-53 "
        "AC-2(3)",
        lambda c: f"every administrator active within the last {c.inactive_admin_days} days",
        change_event_types=ADMIN_CHANGES,
    ),
    Control(
        "users_closed_elsewhere", "No users closed in some accounts but active in others",
        "identity", "medium", "users",
        "Closing a user in one account usually means they left or changed role; the accounts "
        "where they stayed active are often forgotten (Defender for Cloud Apps calls such a "
        "user deleted).",
        f"{_USERS}: close the user in the remaining accounts, or in DocuSign Admin > Users for "
        "the whole organization.",
        "project default (offboarding completeness)",
        lambda c: "0 members closed in another account of the organization",
        change_event_types=MEMBERSHIP_CHANGES,
    ),
    Control(
        "idp_deleted_users", "No DocuSign access for users the identity provider removed",
        "identity", "high", "users",
        "A terminated employee whose DocuSign membership stays open can still sign in with a "
        "password or an old session and send or read envelopes.",
        f"{_ORG_USERS}: close the user (or automate it with SCIM provisioning).",
        "CIS Controls v8 6.2 (establish an access revoking process)",
        lambda c: (
            "0 active members the identity provider reports "
            + " or ".join(c.idp_statuses)
        ),
        change_event_types=MEMBERSHIP_CHANGES,
    ),
)
CONTROL_IDS: tuple[str, ...] = tuple(c.id for c in CONTROLS)
BY_ID = {c.id: c for c in CONTROLS}
