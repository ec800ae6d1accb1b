"""What DocuSign sends, as the pipeline uses it: timestamps and typed account settings (Monitor pages:
``monitor_page``).

DocuSign's eSignature API sends settings as strings (``"true"``, ``"30"``); they are cast here.
A setting that cannot be cast without guessing is null and named, with what was sent, under
``_invalid_fields``: one odd value never aborts an account's snapshot
(``shared/reference/DOCUSIGN_API.md`` §3).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pyarrow as pa

from dsassets.lib.lake.coerce import INVALID, INVALID_COLUMN, coerce


class DocuSignDataError(ValueError):
    """DocuSign returned a document we cannot use; the message names the endpoint or field."""


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


def timestamp_or_none(value) -> datetime | None:
    """:func:`parse_docusign_timestamp`, or ``None`` for a value that is not a timestamp."""
    try:
        return parse_docusign_timestamp(value)
    except ValueError:
        return None


# kind -> (the type accepted as is, the strings that cast, how, what the error says was expected)
_CASTS: dict[str, tuple[type, str | None, Callable[[str], Any], str]] = {
    "bool": (bool, r"\s*(?i:true|false)\s*", lambda s: s.strip().lower() == "true", "a boolean"),
    "int": (int, r"\s*[+-]?\d+\s*", int, "an integer"),
    "str": (str, None, str, "a string"),
}


def cast(value: Any, kind: str, *, where: str) -> Any:
    """An eSignature value as sent (strings such as ``"true"``, ``"30"``) as ``kind``;
    ``""``/``None`` mean unset; anything else is an error naming ``where``."""
    if value is None or value == "":
        return None
    accepted, pattern, parse, expected = _CASTS[kind]
    if isinstance(value, accepted) and not (accepted is int and isinstance(value, bool)):
        return value
    if isinstance(value, str) and pattern is not None and re.fullmatch(pattern, value):
        return parse(value)
    raise DocuSignDataError(f"{where}: expected {expected}, got {value!r}")


def as_bool(value: Any, *, where: str) -> bool | None:
    return cast(value, "bool", where=where)


def as_int(value: Any, *, where: str) -> int | None:
    return cast(value, "int", where=where)


def snake_case(key: str) -> str:
    """``enableSMSAuthentication`` -> ``enable_sms_authentication``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower()


def fields(keys: str) -> dict[str, tuple[str, str]]:
    """``key:type`` words (type ``bool``, ``int`` or ``str``) as output column -> (eSignature key, type)."""
    return {snake_case(key): (key, kind) for key, _, kind in (word.partition(":") for word in keys.split())}


# Keys checked against the spec in tests/test_clients_openapi.py; the raw schemas type the columns.
PASSWORD_RULE_FIELDS = fields("""
    expirePassword:bool expirePasswordDays:int lockoutDurationMinutes:int lockoutDurationType:str
    minimumPasswordAgeDays:int minimumPasswordLength:int passwordIncludeDigit:bool
    passwordIncludeDigitOrSpecialCharacter:bool passwordIncludeLowerCase:bool
    passwordIncludeSpecialCharacter:bool passwordIncludeUpperCase:bool passwordStrengthType:str
    questionsRequired:int
""")
ACCOUNT_SETTING_FIELDS = fields("""
    sessionTimeout:int mobileSessionTimeout:int signingSessionTimeout:int disableMultipleSessions:bool
    enableSMSAuthentication:bool allowPhoneAuthentication:bool signerMustLoginToSign:bool
    senderMustAuthenticateSigning:bool
""")


# eSignature sends every scalar as a string; these are the Arrow types they are cast to.
_TYPES = {"bool": pa.bool_(), "int": pa.int32(), "str": pa.string()}


def _cast_fields(raw: dict, fields: dict[str, tuple[str, str]], prefix: str, account_id: str) -> dict:
    """Typed columns from the string document; a value that cannot be cast is null and is named,
    with what was sent, under ``_invalid_fields`` (by its column), never an abort."""
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
