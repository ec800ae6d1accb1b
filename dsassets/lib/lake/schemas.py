"""Arrow schemas of the raw Parquet lake: the contract between extraction and the SQL models.

Raw datasets keep DocuSign's own field names (camelCase for Monitor and
eSignature, snake_case for the Admin API) so that staging models do the
renames and casts, as dbt-style layering expects. Every raw row also carries:

- ``_raw``: the record exactly as the API sent it (JSON text), kept for forensics
  and for keys this schema does not know yet;
- ``_source``: ``docusign`` or ``simulator``, so simulated data is never mistaken for real;
- ``_extracted_at`` (events) or ``_snapshot_taken_at`` (snapshots): when we really read it.
"""

from __future__ import annotations

import pyarrow as pa

from dsassets.lib.clients.docusign_data import ACCOUNT_SETTING_FIELDS, PASSWORD_RULE_FIELDS

UTC_TS = pa.timestamp("us", tz="UTC")
TYPES = {"string": pa.string(), "bool": pa.bool_(), "int32": pa.int32(), "int64": pa.int64(),
         "float64": pa.float64(), "date": pa.date32(), "ts": UTC_TS, "strings": pa.list_(pa.string())}


def schema(columns: str) -> pa.Schema:
    """A schema from ``name`` / ``name:type`` words (type one of ``TYPES``; a bare name is a string)."""
    fields = []
    for word in columns.split():
        name, _, kind = word.partition(":")
        fields.append((name, TYPES[kind or "string"]))
    return pa.schema(fields)


# One Monitor audit event (DOCUSIGN_API.md §1.4). Nested objects are JSON text. `_event_time` is
# parsed from `timestamp` at extraction: it decides the partition.
AUDIT_EVENTS = schema("""
    eventId timestamp site accountId organizationId userId integratorKey userAgent userAgentClientInfo
    ipAddress ipAddressLocation object action property field result source
    isUserMemberOfDomain:bool referencedUserIsMemberOfDomain:bool referencedUserId affectedUserId
    affectedUserIsMemberOfDomain:bool proxyStatus proxyType proxyLevel latitude:float64 longitude:float64
    city state country device browser os data
    _event_time:ts _raw _page_cursor _source _extracted_at:ts
""")
# What every snapshot row carries after the API's fields.
SNAPSHOT_META = " _raw _source _snapshot_taken_at:ts"

# Admin API: GET /v2/organizations -> organizations[].accounts[], with the organization's name.
ACCOUNTS = schema(
    "organization_id organization_name id name external_account_id:int64 site_id:int32" + SNAPSHOT_META)

# Admin API dsprofile users[] (one row per organization user).
ORGANIZATION_USERS = schema("""
    organization_id id user_name first_name last_name email user_status default_account_id
    is_organization_admin:bool federated_status require_two_step_verification:bool
    device_verification_enabled:bool created_on
""" + SNAPSHOT_META)

# Admin API dsprofile users[].memberships[] (one row per user and account).
MEMBERSHIPS = schema("""
    organization_id user_id id account_id account_name email status is_admin:bool
    permission_profile_id permission_profile_name created_on closed_on
""" + SNAPSHOT_META)

# eSignature GET /v2.1/accounts/{id}/users: every scalar arrives as a string; kept as sent.
ACCOUNT_USERS = schema("""
    account_id userId userName email userStatus isAdmin userType permissionProfileId
    permissionProfileName createdDateTime userAddedToAccountDateTime lastLogin loginStatus
""" + SNAPSHOT_META)

# eSignature settings and password rules: the security-relevant subset of the clients' field
# tables, cast at extraction (garbage fails loudly), plus the whole document in `_raw`.
_SETTING_TYPES = {"bool": "bool", "int": "int32", "str": "string"}


def _settings(fields: dict[str, tuple[str, str]]) -> pa.Schema:
    typed = " ".join(f"{column}:{_SETTING_TYPES[kind]}" for column, (_, kind) in fields.items())
    return schema(f"account_id {typed}" + SNAPSHOT_META)


ACCOUNT_SETTINGS = _settings(ACCOUNT_SETTING_FIELDS)
PASSWORD_RULES = _settings(PASSWORD_RULE_FIELDS)

# Identity-provider view of users who are disabled or deleted, and when that happened.
# From Microsoft Graph (deletedItems, disabled users, directory audits) or a file export.
# status: deleted | disabled; status_changed_at: when the IdP deleted or disabled the user (null
# when it does not say); lifecycle: JSON list of {at, activity} lifecycle events
# (disable/enable/delete/restore/add) for the re-hired and temporarily-disabled cases.
IDP_USERS = schema("idp_user_id user_principal_name email status status_changed_at:ts lifecycle" + SNAPSHOT_META)

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
