"""Record identity: the one thing about an API record that is never coerced or guessed."""

from __future__ import annotations

from typing import Any

import orjson


def describe_record(record: Any, limit: int = 200) -> str:
    """A record for an error message: its JSON, cut at ``limit`` characters."""
    text = orjson.dumps(record, default=str).decode()
    return text if len(text) <= limit else text[:limit] + "…"


def require_identity(
    record: Any, key: str, error: type[Exception], *, endpoint: str, page: str, index: int
) -> str:
    """The record's identity ``key`` (a number is taken as its text); ``error`` when absent.

    Without its identity a record cannot be de-duplicated or joined, so it is the
    one thing a run fails on: the message names the endpoint, the page and the record.
    """
    value = record.get(key) if isinstance(record, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = record[key] = str(value)
    if not isinstance(value, str) or not value:
        raise error(f"{endpoint}: record {index} of {page} has no {key!r}: {describe_record(record)}")
    return value
