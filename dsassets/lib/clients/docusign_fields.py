"""DocuSign values: timestamps, eSignature's string scalars, the settings and password-rule fields we keep.

Sections cited are those of ``shared/reference/DOCUSIGN_API.md``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from dsassets.lib.lake.coerce import INVALID, INVALID_COLUMN, coerce


class DocuSignDataError(ValueError):
    """DocuSign returned a document we cannot use; the message names the endpoint or field."""


# -- value helpers ------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|z|[+-]\d{2}:?\d{2})?")


def parse_docusign_timestamp(value: str) -> datetime:
    """Parse a DocuSign timestamp into an aware UTC ``datetime``.

    Handles any number of fractional digits (Monitor sends 7, truncated to
    microseconds), ``Z`` or ``±HH:MM`` zones, and no zone at all, which the
    Admin API uses for UTC (DOCUSIGN_API.md §1.4, §2.3).
    """
    match = _TIMESTAMP.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a DocuSign timestamp: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz)
    except ValueError:
        raise ValueError(f"not a DocuSign timestamp: {value!r}") from None
    return parsed.astimezone(timezone.utc)


def as_int(value: Any, *, where: str) -> int | None:
    """Cast an eSignature string integer (``"30"``); ``""``/``None`` mean unset."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise DocuSignDataError(f"{where}: expected an integer, got {value!r}")


# eSignature sends every scalar as a string; these are the Arrow types they are cast to.
_TYPES = {"bool": pa.bool_(), "int": pa.int32(), "str": pa.string()}

# output column -> (eSignature key, type). Keys checked against the spec in tests/test_openapi_requests.py.
PASSWORD_RULE_FIELDS: dict[str, tuple[str, str]] = {
    "expire_password": ("expirePassword", "bool"),
    "expire_password_days": ("expirePasswordDays", "int"),
    "lockout_duration_minutes": ("lockoutDurationMinutes", "int"),
    "lockout_duration_type": ("lockoutDurationType", "str"),
    "minimum_password_age_days": ("minimumPasswordAgeDays", "int"),
    "minimum_password_length": ("minimumPasswordLength", "int"),
    "password_include_digit": ("passwordIncludeDigit", "bool"),
    "password_include_digit_or_special_character": ("passwordIncludeDigitOrSpecialCharacter", "bool"),
    "password_include_lower_case": ("passwordIncludeLowerCase", "bool"),
    "password_include_special_character": ("passwordIncludeSpecialCharacter", "bool"),
    "password_include_upper_case": ("passwordIncludeUpperCase", "bool"),
    "password_strength_type": ("passwordStrengthType", "str"),
    "questions_required": ("questionsRequired", "int"),
}

ACCOUNT_SETTING_FIELDS: dict[str, tuple[str, str]] = {
    "session_timeout": ("sessionTimeout", "int"),
    "mobile_session_timeout": ("mobileSessionTimeout", "int"),
    "signing_session_timeout": ("signingSessionTimeout", "int"),
    "disable_multiple_sessions": ("disableMultipleSessions", "bool"),
    "enable_sms_authentication": ("enableSMSAuthentication", "bool"),
    "allow_phone_authentication": ("allowPhoneAuthentication", "bool"),
    "signer_must_login_to_sign": ("signerMustLoginToSign", "bool"),
    "sender_must_authenticate_signing": ("senderMustAuthenticateSigning", "bool"),
}


def _cast_fields(raw: dict, fields: dict[str, tuple[str, str]], prefix: str, account_id: str) -> dict:
    """Typed columns from the string document; a value that cannot be cast is null and is named,
    with what was sent, under ``_invalid_fields`` (as ``<prefix>.<key>``), never an abort."""
    if not isinstance(raw, dict):
        raise DocuSignDataError(f"{prefix} (account {account_id}): expected an object, got {type(raw).__name__}")
    row: dict[str, Any] = {}
    invalid: dict[str, Any] = {}
    for column, (key, kind) in fields.items():
        value = coerce(raw.get(key), _TYPES[kind])
        if value is INVALID:
            invalid[column] = raw.get(key)
            value = None
        row[column] = value
    if invalid:
        row[INVALID_COLUMN] = invalid
    return row


def parse_password_rules(raw: dict, account_id: str) -> dict:
    """Typed, snake_case password rules from ``GET .../settings/password_rules`` (missing keys → ``None``;
    values that do not cast are ``None`` and listed under ``_invalid_fields``)."""
    return _cast_fields(raw, PASSWORD_RULE_FIELDS, "password_rules", account_id)


def parse_account_settings(raw: dict, account_id: str) -> dict:
    """The security-relevant account settings, typed and snake_case (missing keys → ``None``)."""
    return _cast_fields(raw, ACCOUNT_SETTING_FIELDS, "account_settings", account_id)
