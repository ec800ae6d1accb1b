"""Current-state API records (users, memberships, settings) to Arrow snapshot tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

import pyarrow as pa

_META = ("_raw", "_source", "_snapshot_taken_at")


class MalformedRecordError(ValueError):
    """A record whose field does not fit the raw schema. Names the dataset, record and field."""


def snapshot_table(
    dataset: str,
    schema: pa.Schema,
    records: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    source: str,
    taken_at: datetime,
) -> pa.Table:
    """Build a snapshot table from ``(row_values, raw_record)`` pairs.

    ``row_values`` maps schema column names to values (missing keys are null);
    ``raw_record`` is what the API sent, kept verbatim in ``_raw``.
    """
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for values, raw in records:
        for name in schema.names:
            if name not in _META:
                columns[name].append(values.get(name))
        columns["_raw"].append(json.dumps(raw, separators=(",", ":"), sort_keys=True, default=str))
        columns["_source"].append(source)
        columns["_snapshot_taken_at"].append(taken_at)
    arrays = []
    for field in schema:
        try:
            arrays.append(pa.array(columns[field.name], type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            for i, value in enumerate(columns[field.name]):
                try:
                    pa.array([value], type=field.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                    raise MalformedRecordError(
                        f"{dataset}: record {i} ({columns['_raw'][i][:80]}…): field {field.name!r} "
                        f"has {value!r}, expected {field.type}"
                    ) from None
            raise
    return pa.Table.from_arrays(arrays, schema=schema)
