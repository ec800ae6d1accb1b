"""Current-state API records (users, memberships, settings) to Arrow snapshot tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.lake.coerce import INVALID_COLUMN, Drift, invalid_column, typed_column

_META = ("_raw", "_source", "_snapshot_taken_at", INVALID_COLUMN)


class MalformedRecordError(ValueError):
    """An export file that cannot be read as records at all (not one odd value: those are coerced
    or quarantined). Names the dataset or export, the record and the field."""


# Where a table's drift counts travel from extraction to the materialization (and the Parquet footer).
DRIFT_KEY = b"dsassets.drift"


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
    ``raw_record`` is what the API sent, kept verbatim in ``_raw``. Values of
    another type are coerced when unambiguous and nulled otherwise (see
    ``lib/lake/coerce.py``); the nulled ones are named in ``_invalid_fields`` and
    both are counted in the table's schema metadata (:func:`table_drift`).
    A ``row_values`` may bring its own ``_invalid_fields`` dict (settings parsed upstream).
    """
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    invalid: list[dict | None] = []
    for values, raw in records:
        for name in schema.names:
            if name not in _META:
                columns[name].append(values.get(name))
        invalid.append(dict(values.get(INVALID_COLUMN) or {}) or None)
        columns["_raw"].append(json.dumps(raw, separators=(",", ":"), sort_keys=True, default=str))
        columns["_source"].append(source)
        columns["_snapshot_taken_at"].append(taken_at)
    drift = Drift()
    for fields in invalid:
        drift.invalid.update(list(fields or {}))
    arrays = []
    for field in schema:
        if field.name == INVALID_COLUMN:
            arrays.append(None)  # filled once every column has been typed
        elif field.name in _META:
            arrays.append(pa.array(columns[field.name], type=field.type))
        else:
            arrays.append(typed_column(field.name, columns[field.name], field.type, drift, invalid))
    arrays[schema.get_field_index(INVALID_COLUMN)] = invalid_column(invalid)
    table = pa.Table.from_arrays(arrays, schema=schema)
    return table.replace_schema_metadata({DRIFT_KEY: orjson.dumps(drift.metadata())})


def table_drift(table: pa.Table) -> Drift:
    """The drift counts :func:`snapshot_table` recorded for ``table`` (empty for other tables)."""
    raw = (table.schema.metadata or {}).get(DRIFT_KEY)
    drift = Drift()
    if raw:
        counts = orjson.loads(raw)
        drift.coerced.update(counts["coerced"])
        drift.invalid.update(counts["invalid"])
    return drift


def stored_unchanged(lake, dataset: str, day, table: pa.Table) -> bool:
    """Whether the day's stored snapshot of ``dataset`` holds exactly ``table``'s rows, but for when
    it was taken. A re-taken snapshot that is unchanged then keeps the stored file: its time says
    when this state was first seen, and what reads the day has nothing new to recompute."""
    if lake.list_files(dataset, day) != ["data.parquet"]:
        return False
    stored = pq.read_table(pa.BufferReader(lake.read_bytes(lake.partition_path(dataset, day))))
    if stored.schema.remove_metadata() != table.schema.remove_metadata():
        return False
    keep = [name for name in table.schema.names if name != "_snapshot_taken_at"]
    return stored.select(keep).equals(table.select(keep))


def write_snapshots(lake, dataset: str, tables: Mapping) -> list:
    """Write each day's snapshot table, keeping the stored file of a day whose rows are unchanged
    (:func:`stored_unchanged`); returns the days kept."""
    kept = [day for day, table in tables.items() if stored_unchanged(lake, dataset, day, table)]
    for day, table in tables.items():
        if day not in kept:
            lake.write_partition(table, dataset, day)
    return kept
