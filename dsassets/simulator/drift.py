"""Type drift on the way out: what a real organization's DocuSign sent us, not what the specs declare.

``python -m dsassets.simulator --drift`` serves every response through :func:`drift_body`:
numbers as strings (the Admin spec's own example sends ``external_account_id`` so), booleans
as upper-case strings, and once in a while a value that is no boolean at all. Values are
kept, only their JSON types change, so a tolerant pipeline must produce the same alerts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

_EVENT_FLOATS = ("latitude", "longitude")
_EVENT_BOOLS = ("isUserMemberOfDomain", "referencedUserIsMemberOfDomain")
# Every UNCOERCIBLE_EVERY-th event (by id) gets a value that is not a boolean at all.
UNCOERCIBLE_EVERY = 40


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _event(event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    for key in _EVENT_FLOATS + _EVENT_BOOLS:
        if key in event:
            event[key] = _text(event[key])
    digest = hashlib.sha256(str(event.get("eventId")).encode()).digest()
    if digest[0] % UNCOERCIBLE_EVERY == 0:
        event["affectedUserIsMemberOfDomain"] = "yes"
    return event


def _drift(path: str, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    if path.endswith("/stream"):
        for key in ("resultData", "data"):
            if isinstance(body.get(key), list):
                body[key] = [_event(e) for e in body[key]]
    elif path.endswith("/v2/organizations"):
        for org in body.get("organizations") or []:
            for account in org.get("accounts") or []:
                for key in ("external_account_id", "site_id"):
                    account[key] = _text(account.get(key))
    elif path.endswith("/dsprofile"):
        for user in body.get("users") or []:
            for key in ("is_organization_admin", "require_two_step_verification", "site_id"):
                if key in user:
                    user[key] = _text(user[key])
            for membership in user.get("memberships") or []:
                if "is_admin" in membership:
                    membership["is_admin"] = _text(membership["is_admin"])
    return body


def drift_body(path: str, content: bytes) -> bytes:
    """``content`` with its JSON types drifted; anything that is not JSON is returned as is."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    return orjson.dumps(_drift(path, body))
