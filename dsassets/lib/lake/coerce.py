"""Tolerant typing of API values: coerce what is unambiguous, keep the rest out of the typed column.

Real organizations do not always send the types the published specs declare
(the Admin API's own example sends ``external_account_id`` as a string, peer
connectors cast Monitor's ``latitude`` from text). A value of the wrong type
must never abort a snapshot or an extraction window, and must never be
guessed at either:

- unambiguous drift is coerced: a numeric string to a number, ``"true"`` /
  ``"false"`` in any case to a boolean, a number or boolean to a string;
- anything else (``"yes"``, ``"north"``, ``1.5`` for an integer, an object for a
  scalar) becomes null in the typed column; the record keeps its ``_raw`` and
  its :data:`INVALID_COLUMN` names the field and the value sent, so a person can
  find every such record with ``where _invalid_fields is not null``;
- both are counted per field (:class:`Drift`) for the materialization's metadata.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

# The quarantine column every raw dataset carries: JSON {field: value as sent}, null when clean.
INVALID_COLUMN = "_invalid_fields"

_INT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_INT_RANGES = {8: 2**7, 16: 2**15, 32: 2**31, 64: 2**63}


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
"""Returned by :func:`coerce` for a value that cannot be typed without guessing."""


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return INVALID  # "yes", 1, "1": plausible, but not what the field's type says


def _to_int(value: Any, bits: int) -> Any:
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, float):
        value = int(value) if value.is_integer() else INVALID
    elif isinstance(value, str):
        value = int(value) if _INT.fullmatch(value) else INVALID
    if isinstance(value, int) and -_INT_RANGES[bits] <= value < _INT_RANGES[bits]:
        return value
    return INVALID


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _FLOAT.fullmatch(value):
        number = float(value)
    else:
        return INVALID
    return number if math.isfinite(number) else INVALID


def _to_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return INVALID


def coerce(value: Any, type_: pa.DataType) -> Any:
    """``value`` typed for an Arrow column of ``type_``, or :data:`INVALID`.

    ``None`` stays null; ``""`` is null for every non-string type (DocuSign's
    "unset"). Types other than boolean, integer, floating and string pass through.
    """
    if value is None:
        return None
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return _to_str(value)
    if value == "" and isinstance(value, str):
        return None
    if pa.types.is_boolean(type_):
        return _to_bool(value)
    if pa.types.is_integer(type_):
        return _to_int(value, type_.bit_width)
    if pa.types.is_floating(type_):
        return _to_float(value)
    return value


# Python types a column of this Arrow type takes without any coercion: the fast path.
def _native(type_: pa.DataType) -> tuple[type, ...]:
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return (str,)
    if pa.types.is_boolean(type_):
        return (bool,)
    if pa.types.is_integer(type_):
        return (int,)
    if pa.types.is_floating(type_):
        return (float, int)
    return ()


@dataclass
class Drift:
    """Per-field counts of values that arrived with another type: coerced, or set null (invalid)."""

    coerced: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)

    def add(self, other: "Drift") -> None:
        self.coerced.update(other.coerced)
        self.invalid.update(other.invalid)

    def metadata(self) -> dict[str, dict[str, int]]:
        """JSON-ready counts, fields sorted: ``{"coerced": {...}, "invalid": {...}}``."""
        return {
            "coerced": dict(sorted(self.coerced.items())),
            "invalid": dict(sorted(self.invalid.items())),
        }

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid.values())


def typed_column(
    name: str, values: list[Any], type_: pa.DataType, drift: Drift, invalid: list[dict | None],
    counted: list[bool] | None = None,
) -> pa.Array:
    """``values`` as an Arrow array of ``type_``; drifted values coerced or nulled and recorded.

    ``invalid`` holds one dict per row (or None), filled with ``{name: value}``
    for every value set null here; ``drift`` is updated in place, for the rows
    ``counted`` marks (all rows when None: the rows that will be stored).
    """
    native = _native(type_)
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not native or kinds <= set(native):
        # bool is an int subclass: an int column with booleans in it is drift, not native.
        if not (bool in kinds and bool not in native):
            return pa.array(values, type=type_)
    typed = []
    for row, value in enumerate(values):
        if value is None or type(value) in native and not (isinstance(value, bool) and bool not in native):
            typed.append(value)
            continue
        cast = coerce(value, type_)
        count = counted is None or counted[row]
        if cast is INVALID:
            drift.invalid[name] += count
            invalid[row] = {**(invalid[row] or {}), name: value}
            cast = None
        elif not (value == "" and cast is None):
            drift.coerced[name] += count
        typed.append(cast)
    return pa.array(typed, type=type_)


def invalid_column(invalid: list[dict | None]) -> pa.Array:
    """The :data:`INVALID_COLUMN` values: JSON text of each row's nulled fields, or null."""
    return pa.array(
        [None if not fields else orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str).decode()
         for fields in invalid],
        type=pa.string(),
    )
