"""Arrow schemas of the raw Parquet lake: the contract between extraction and the SQL models.

Raw datasets keep DocuSign's own field names (camelCase for Monitor and
eSignature, snake_case for the Admin API) so that staging models do the
renames and casts, as dbt-style layering expects. Every raw row also carries:

- ``_raw``: the record exactly as the API sent it (JSON text), kept for forensics
  and for keys this schema does not know yet;
- ``_source``: ``docusign`` or ``simulator``, so simulated data is never mistaken for real;
- ``_extracted_at`` (events) or ``_snapshot_taken_at`` (snapshots): when we really read it;
- ``_invalid_fields``: JSON ``{field: value as sent}`` for values that could not be typed and are
  null in their column (``lib/lake/coerce.py``); null for a clean record.
"""

from __future__ import annotations

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

# One Monitor audit event (DOCUSIGN_API.md §1.4). Nested objects are JSON text.
AUDIT_EVENTS = pa.schema(
    [
        ("eventId", pa.string()),
        ("timestamp", pa.string()),
        ("site", pa.string()),
        ("accountId", pa.string()),
        ("organizationId", pa.string()),
        ("userId", pa.string()),
        ("integratorKey", pa.string()),
        ("userAgent", pa.string()),
        ("userAgentClientInfo", pa.string()),
        ("ipAddress", pa.string()),
        ("ipAddressLocation", pa.string()),
        ("object", pa.string()),
        ("action", pa.string()),
        ("property", pa.string()),
        ("field", pa.string()),
        ("result", pa.string()),
        ("source", pa.string()),
        ("isUserMemberOfDomain", pa.bool_()),
        ("referencedUserIsMemberOfDomain", pa.bool_()),
        ("referencedUserId", pa.string()),
        ("affectedUserId", pa.string()),
        ("affectedUserIsMemberOfDomain", pa.bool_()),
        ("proxyStatus", pa.string()),
        ("proxyType", pa.string()),
        ("proxyLevel", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("country", pa.string()),
        ("device", pa.string()),
        ("browser", pa.string()),
        ("os", pa.string()),
        ("data", pa.string()),
        # Parsed from `timestamp` at extraction: it decides the partition.
        ("_event_time", UTC_TS),
        ("_raw", pa.string()),
        ("_page_cursor", pa.string()),
        ("_source", pa.string()),
        ("_extracted_at", UTC_TS),
        ("_invalid_fields", pa.string()),
    ]
)

_SNAPSHOT_META = [
    ("_raw", pa.string()),
    ("_source", pa.string()),
    ("_snapshot_taken_at", UTC_TS),
    ("_invalid_fields", pa.string()),
]

# Admin API: GET /v2/organizations -> organizations[].accounts[]
ACCOUNTS = pa.schema(
    [
        ("organization_id", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("external_account_id", pa.int64()),
        ("site_id", pa.int32()),
        *_SNAPSHOT_META,
    ]
)

# Admin API dsprofile users[] (one row per organization user).
ORGANIZATION_USERS = pa.schema(
    [
        ("organization_id", pa.string()),
        ("id", pa.string()),
        ("user_name", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("user_status", pa.string()),
        ("default_account_id", pa.string()),
        ("is_organization_admin", pa.bool_()),
        ("federated_status", pa.string()),
        ("require_two_step_verification", pa.bool_()),
        ("device_verification_enabled", pa.bool_()),
        ("created_on", pa.string()),
        *_SNAPSHOT_META,
    ]
)

# Admin API dsprofile users[].memberships[] (one row per user and account).
MEMBERSHIPS = pa.schema(
    [
        ("organization_id", pa.string()),
        ("user_id", pa.string()),
        ("id", pa.string()),
        ("account_id", pa.string()),
        ("account_name", pa.string()),
        ("email", pa.string()),
        ("status", pa.string()),
        ("is_admin", pa.bool_()),
        ("permission_profile_id", pa.string()),
        ("permission_profile_name", pa.string()),
        ("created_on", pa.string()),
        ("closed_on", pa.string()),
        *_SNAPSHOT_META,
    ]
)

# eSignature GET /v2.1/accounts/{id}/users: every scalar arrives as a string; kept as sent.
ACCOUNT_USERS = pa.schema(
    [
        ("account_id", pa.string()),
        ("userId", pa.string()),
        ("userName", pa.string()),
        ("email", pa.string()),
        ("userStatus", pa.string()),
        ("isAdmin", pa.string()),
        ("userType", pa.string()),
        ("permissionProfileId", pa.string()),
        ("permissionProfileName", pa.string()),
        ("createdDateTime", pa.string()),
        ("userAddedToAccountDateTime", pa.string()),
        ("lastLogin", pa.string()),
        ("loginStatus", pa.string()),
        *_SNAPSHOT_META,
    ]
)

# eSignature settings: the security-relevant subset, cast at extraction (garbage is null and
# named in _invalid_fields),
# plus the whole 588-key document in `_raw`.
ACCOUNT_SETTINGS = pa.schema(
    [
        ("account_id", pa.string()),
        ("session_timeout", pa.int32()),
        ("mobile_session_timeout", pa.int32()),
        ("signing_session_timeout", pa.int32()),
        ("disable_multiple_sessions", pa.bool_()),
        ("enable_sms_authentication", pa.bool_()),
        ("allow_phone_authentication", pa.bool_()),
        ("signer_must_login_to_sign", pa.bool_()),
        ("sender_must_authenticate_signing", pa.bool_()),
        *_SNAPSHOT_META,
    ]
)

PASSWORD_RULES = pa.schema(
    [
        ("account_id", pa.string()),
        ("expire_password", pa.bool_()),
        ("expire_password_days", pa.int32()),
        ("lockout_duration_minutes", pa.int32()),
        ("lockout_duration_type", pa.string()),
        ("minimum_password_age_days", pa.int32()),
        ("minimum_password_length", pa.int32()),
        ("password_include_digit", pa.bool_()),
        ("password_include_digit_or_special_character", pa.bool_()),
        ("password_include_lower_case", pa.bool_()),
        ("password_include_special_character", pa.bool_()),
        ("password_include_upper_case", pa.bool_()),
        ("password_strength_type", pa.string()),
        ("questions_required", pa.int32()),
        *_SNAPSHOT_META,
    ]
)

# Identity-provider view of users who are disabled or deleted, and when that happened.
# From Microsoft Graph (deletedItems, disabled users, directory audits) or a file export.
IDP_USERS = pa.schema(
    [
        ("idp_user_id", pa.string()),
        ("user_principal_name", pa.string()),
        ("email", pa.string()),
        # deleted | disabled
        ("status", pa.string()),
        # When the IdP deleted or disabled the user; null when the IdP does not say.
        ("status_changed_at", UTC_TS),
        # Where status_changed_at comes from: deleted_date_time | directory_audit | export;
        # null when unknown (the detection then dates it from the first snapshot listing the user).
        ("status_changed_at_source", pa.string()),
        # Every other address the IdP holds for the user, as sent (otherMails, proxyAddresses).
        ("other_emails", pa.list_(pa.string())),
        # JSON list of {at, activity} lifecycle events (disable/enable/delete/restore/add) for the
        # re-hired and temporarily-disabled cases.
        ("lifecycle", pa.string()),
        *_SNAPSHOT_META,
    ]
)

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "raw_docusign_audit_events": AUDIT_EVENTS,
    "raw_docusign_accounts": ACCOUNTS,
    "raw_docusign_organization_users": ORGANIZATION_USERS,
    "raw_docusign_memberships": MEMBERSHIPS,
    "raw_docusign_account_users": ACCOUNT_USERS,
    "raw_docusign_account_settings": ACCOUNT_SETTINGS,
    "raw_docusign_password_rules": PASSWORD_RULES,
    "raw_idp_users": IDP_USERS,
}
