"""Monitor pages decoded into Arrow columns, without a Python dict per event.

A page's body is peeled with ``msgspec`` into its ``endCursor`` and each record's JSON text
exactly as sent (``msgspec.Raw``: a slice of the response bytes, nothing parsed). The texts
become one Arrow string array, which is ``_raw`` as stored: the record's original text, not a
re-encoding, so a value spelled ``1.50`` or ``"caf\\u00e9"`` is kept as DocuSign spelled it.

Two decoders share a page's fields:

- ``pyarrow.json`` with the raw schema's types reads the scalar fields. It refuses a page when
  a value is not of its column's type (it does not cast) and names the column: that field is
  then read by the typing SQL below, on this page and every later one, and pyarrow reads the
  rest; ``msgspec`` slices out the three nested fields' JSON text (measured here: several
  times faster than a DuckDB pass for them, which cost half the decode floor again).
- the typing SQL: DuckDB extracts the drifting fields (every field, for a page pyarrow cannot
  read at all, such as one with a record that is no object) as JSON and types them with
  set-based SQL that follows :mod:`dsassets.lib.lake.coerce`: unambiguous drift is coerced,
  anything else is null and named. Only the rare rows with a value set null go back to
  Python, to write their ``_invalid_fields`` exactly as the per-event path did.

Both give the same columns for a clean field (``tests/test_monitor_page.py`` checks it). The
Python objects made per event are msgspec's slices (the record, its three nested values): no
field value becomes a Python object except the nested ones, once per distinct value.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections import Counter
from dataclasses import dataclass

import duckdb
import msgspec
import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from dsassets.lib.lake.coerce import INVALID_COLUMN
from dsassets.lib.lake.schemas import AUDIT_EVENTS

# Nested objects are stored as JSON text with sorted keys: their inner keys vary across API
# generations, and sorted text compares equal whatever order the API sent.
JSON_FIELDS = ("userAgentClientInfo", "ipAddressLocation", "data")
_META_FIELDS = {"_event_time", "_raw", "_page_cursor", "_source", "_extracted_at", INVALID_COLUMN}
SOURCE_FIELDS = [f for f in AUDIT_EVENTS.names if f not in _META_FIELDS]
# Which fields of a row were coerced / set null: comma-separated names, null when none. They
# are dropped before the row is stored; the lake counts them for the rows a window keeps.
COERCED, INVALID = "_coerced_fields", "_nulled_fields"
# The columns a decoded page holds, in this order.
DECODED = pa.schema([*(AUDIT_EVENTS.field(f) for f in SOURCE_FIELDS), AUDIT_EVENTS.field("_event_time"),
                     AUDIT_EVENTS.field("_raw"), AUDIT_EVENTS.field(INVALID_COLUMN),
                     pa.field(COERCED, pa.string()), pa.field(INVALID, pa.string())])


class MalformedEventError(ValueError):
    """An event that cannot be placed in a partition (its timestamp). Names the event and the page."""


class MissingEventIdError(ValueError):
    """A record without an ``eventId``: it can be neither de-duplicated nor stored. ``index`` is its row."""

    def __init__(self, index: int, record: str) -> None:
        super().__init__(f"event {index} has no eventId")
        self.index, self.record = index, record


@dataclass(frozen=True)
class MonitorPage:
    """One Monitor stream page: its events decoded (:data:`DECODED`), the cursor sent and the ``endCursor``."""

    events: pa.Table
    cursor: str
    end_cursor: str
    # True on the page that held an event at or after the window end plus the ingestion lag:
    # every event of the window has been read (the window is complete).
    past_window: bool = False

    @classmethod
    def decode(cls, records: list, cursor: str, end_cursor: str) -> "MonitorPage":
        """A page from its records' JSON texts (``bytes``, ``str`` or ``msgspec.Raw``)."""
        return cls(decode_records(records, cursor), cursor, end_cursor)

    def __len__(self) -> int:
        return self.events.num_rows


def envelope_decoder(key: str) -> msgspec.json.Decoder:
    """Decodes a stream body into ``(records as raw JSON slices, endCursor)``; ``key`` holds the list."""
    fields = [(key, list[msgspec.Raw]), ("endCursor", str)]
    return msgspec.json.Decoder(msgspec.defstruct("MonitorBody", fields, kw_only=True))


def raw_texts(chunks: list, joined: bytes | None = None) -> pa.StringArray:
    """The records' JSON texts (bytes-like) as one Arrow array, built without a copy per record.

    ``joined``: ``b"".join(chunks)`` when the caller has it already."""
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)), out=offsets[1:])
    joined = b"".join(chunks) if joined is None else joined
    array = pa.LargeStringArray.from_buffers(len(chunks), pa.py_buffer(offsets), pa.py_buffer(joined))
    array.validate(full=True)  # UTF-8: JSON is text
    return array.cast(pa.string())


# -- typing, set-based -------------------------------------------------------------------------
# Per field: `x` its JSON value (SQL null when absent), `t` the JSON type, `s` a string's text.
_WS = "' \t\n\r\x0b\x0c'"
_NUMBER = "('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')"
_FLOAT_TEXT = r"'\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*'"


def _typed(name: str, type_: pa.DataType) -> tuple[str, str, str]:
    """(value, coerced, nulled) SQL for one field, as :func:`dsassets.lib.lake.coerce.coerce` types it."""
    x, t, s = f'"x:{name}"', f'"t:{name}"', f'"s:{name}"'
    if name in JSON_FIELDS:  # any JSON value is kept (as text); canonicalized after the query
        return f"case when {t} <> 'NULL' then {x}::varchar end", "false", "false"
    if name == "eventId":  # identity is never coerced: a number is taken as its text, else none
        return f"case when {t} = 'VARCHAR' then nullif({s}, '') when {t} in {_NUMBER} and {t} <> 'DOUBLE' " \
               f"then {x}::varchar end", "false", "false"
    if pa.types.is_string(type_):  # a number or a boolean as its JSON text; objects and lists are not strings
        return (f"case when {t} = 'VARCHAR' then {s} when {t} in ('OBJECT', 'ARRAY', 'NULL') then null "
                f"else {x}::varchar end",
                f"{t} not in ('VARCHAR', 'OBJECT', 'ARRAY', 'NULL')", f"{t} in ('OBJECT', 'ARRAY')")
    if pa.types.is_boolean(type_):  # "true"/"false" in any case; "" is unset; 1, "yes" are not booleans
        word = f"lower(trim({s}, {_WS}))"
        return (f"case when {t} = 'BOOLEAN' then {x}::boolean when {t} = 'VARCHAR' and {word} in ('true', 'false') "
                f"then {word} = 'true' end",
                f"{t} = 'VARCHAR' and {word} in ('true', 'false')",
                f"{t} not in ('BOOLEAN', 'NULL') and not ({t} = 'VARCHAR' and ({s} = '' or {word} in ('true', 'false')))")
    if pa.types.is_floating(type_):  # numbers, and numeric strings that give a finite number
        parsed = f"(case when regexp_full_match({s}, {_FLOAT_TEXT}) then try_cast(trim({s}, {_WS}) as double) end)"
        good = f"coalesce(isfinite({parsed}), false)"
        return (f"case when {t} in {_NUMBER} then {x}::double when {t} = 'VARCHAR' and {good} then {parsed} end",
                f"{t} = 'VARCHAR' and {good}",
                f"{t} in ('BOOLEAN', 'OBJECT', 'ARRAY') or ({t} = 'VARCHAR' and {s} <> '' and not {good})")
    raise TypeError(f"no typing rule for {name}: {type_}")  # the schema gained a type: add its rule


@functools.lru_cache(maxsize=64)
def _decode_sql(fields: tuple[str, ...]) -> str:
    """SQL typing ``fields`` of the registered ``page`` (its ``_raw``), with each row's coerced/nulled names."""
    paths = ", ".join(f"'$.\"{name}\"'" for name in fields)
    parts = ", ".join(
        f'v[{i}] as "x:{n}", json_type(v[{i}]) as "t:{n}", v[{i}]->>\'$\' as "s:{n}"'
        for i, n in enumerate(fields, 1))
    values, coerced, nulled = [], [], []
    for name in fields:
        value, was_coerced, was_nulled = _typed(name, AUDIT_EVENTS.field(name).type)
        values.append(f'{value} as "{name}"')
        if was_coerced != "false":
            coerced.append(f"case when {was_coerced} then '{name}' end")
            nulled.append(f"case when {was_nulled} then '{name}' end")
    def names(flags: list[str]) -> str:
        return f"nullif(concat_ws(',', {', '.join(flags)}), '')" if flags else "null::varchar"

    return f"""
        with extracted as (select _raw, json_extract(_raw, [{paths}]) as v from page),
        fields as (select _raw, {parts} from extracted)
        select {', '.join(values)}, {names(coerced)} as "{COERCED}", {names(nulled)} as "{INVALID}"
        from fields
    """


_local = threading.local()  # one DuckDB connection per reading thread: connecting costs more than a page


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        # A page is one small batch: DuckDB's threads would only add hand-offs; readers run in parallel.
        con = _local.con = duckdb.connect(config={"threads": 1})
    return con


def decode_records(records: list, page_cursor: str = "") -> pa.Table:
    """The records (JSON texts) as a :data:`DECODED` table: typed fields, ``_event_time``, ``_raw`` and
    ``_invalid_fields``. Raises :class:`MissingEventIdError` or :class:`MalformedEventError`."""
    chunks = [r.encode() if isinstance(r, str) else r for r in records]
    joined = b"".join(chunks)
    raw = raw_texts(chunks, joined)
    # A pretty-printed record has newlines inside (compact JSON has none anywhere): found with
    # one memchr over the texts, where counting the separated page's newlines scanned every byte.
    table = _decode_clean(raw, chunks, b"\n" in joined) if chunks else None
    if table is None:
        table = _decode_drifted(raw)
    missing = pc.or_kleene(pc.is_null(table["eventId"]), pc.equal(table["eventId"], ""))
    if pc.any(missing).as_py():
        index = pc.index(missing, True).as_py()
        raise MissingEventIdError(index, raw[index].as_py())
    columns = {name: table[name] for name in SOURCE_FIELDS}
    for name in JSON_FIELDS:
        columns[name] = _sorted_json(table[name])
    columns["_event_time"] = parse_event_times(table["timestamp"], table["eventId"], page_cursor)
    columns["_raw"] = raw
    columns[INVALID_COLUMN] = _invalid_fields(table, raw)
    columns[COERCED], columns[INVALID] = table[COERCED], table[INVALID]
    return pa.table([columns[f.name] for f in DECODED], schema=DECODED)


_SCALARS = pa.schema([AUDIT_EVENTS.field(f) for f in SOURCE_FIELDS if f not in JSON_FIELDS])
# The nested fields of every record, as their raw JSON (msgspec skips the rest of each record).
_NESTED_RECORD = msgspec.defstruct("Nested", [(f, msgspec.Raw, None) for f in JSON_FIELDS], kw_only=True)
_NESTED = msgspec.json.Decoder(_NESTED_RECORD)
_NESTED_LIST = msgspec.json.Decoder(list[_NESTED_RECORD])


# Scalar fields this process has seen arrive with another JSON type than their column's: an
# organization that sends latitude as text sends it so on every page, so later pages read
# those fields with the typing SQL from the start instead of being refused again.
_DRIFTING: set[str] = set()
_DRIFTED_COLUMN = re.compile(r"Column\(/([A-Za-z0-9_]+)\) changed from")


def _decode_clean(raw: pa.StringArray, chunks: list, inner_newlines: bool) -> pa.Table | None:
    """The page, its scalars read by ``pyarrow.json`` except the drifting fields, which the typing
    SQL reads; None when pyarrow refuses the page for another reason (a record that is no object).

    ``chunks``: the records' texts. ``inner_newlines``: some record has newlines inside (it was
    pretty-printed), so pyarrow is told to expect them (it is faster without) and the nested
    fields cannot be read from the page's lines."""
    lines = b"\n".join(chunks)
    longest = int(pc.max(pc.binary_length(raw)).as_py())
    drifting = set(_DRIFTING)
    while True:
        schema = pa.schema([f for f in _SCALARS if f.name not in drifting])
        try:
            scalars = pajson.read_json(
                io.BytesIO(lines),
                read_options=pajson.ReadOptions(block_size=max(1 << 20, 2 * longest)),
                parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                                                  newlines_in_values=inner_newlines),
            )
            break
        except pa.ArrowInvalid as exc:  # pyarrow names the first column whose value has another type
            found = _DRIFTED_COLUMN.search(str(exc))
            if not found or found.group(1) not in schema.names:
                return None
            drifting.add(found.group(1))
            _DRIFTING.add(found.group(1))
    if scalars.num_rows != len(raw):
        return None
    # The same newline-delimited text pyarrow read, unless a record spans lines.
    nested = _NESTED_LIST.decode(b"[" + b",".join(chunks) + b"]") if inner_newlines else _NESTED.decode_lines(lines)
    columns = {f: scalars[f] for f in schema.names}
    for name in JSON_FIELDS:
        values = [getattr(record, name) for record in nested]
        columns[name] = pa.array([None if v is None else bytes(v) for v in values], pa.binary()).cast(pa.string())
    none = pa.nulls(len(raw), pa.string())
    columns[COERCED] = columns[INVALID] = none
    if drifting:
        typed = _decode_drifted(raw, tuple(f for f in SOURCE_FIELDS if f in drifting))
        columns.update({name: typed[name] for name in typed.column_names})
    return pa.table({name: columns[name] for name in [*SOURCE_FIELDS, COERCED, INVALID]})


def _decode_drifted(raw: pa.StringArray, fields: tuple[str, ...] = tuple(SOURCE_FIELDS)) -> pa.Table:
    """``fields`` (every one by default) typed by the set-based rules: coerced, or null and flagged."""
    con = _connection()
    con.register("page", pa.table({"_raw": raw}))
    try:
        return con.sql(_decode_sql(fields)).to_arrow_table()
    finally:
        con.unregister("page")


def parse_event_times(timestamps: pa.ChunkedArray, event_ids: pa.ChunkedArray, page_cursor: str = "") -> pa.Array:
    """DocuSign's ISO timestamps (up to 7 fractional digits, ``Z`` or offset) to UTC microseconds.

    The one field besides ``eventId`` that fails a page: it decides the partition.
    """
    series = pl.from_arrow(timestamps).cast(pl.String)
    parsed = series.str.to_datetime(time_unit="us", time_zone="UTC", strict=False, format=None)
    bad = parsed.is_null()
    if bad.any():
        index = int(bad.arg_max())  # first failure
        raise MalformedEventError(
            f"event {event_ids[index].as_py()!r} (page read with cursor {page_cursor!r}): field 'timestamp' has "
            f"{timestamps[index].as_py()!r}, expected an ISO-8601 time"
        )
    return parsed.to_arrow().cast(AUDIT_EVENTS.field("_event_time").type)


def _sorted_json(column: pa.ChunkedArray) -> pa.Array:
    """Each nested value's JSON text with keys sorted, re-encoded once per distinct value.

    Locations and client infos repeat across a page, so the Python work is per distinct
    value, not per event."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    values = (orjson.loads(v) for v in encoded.dictionary.to_pylist())
    # A JSON null is no value, as an absent key is.
    distinct = [None if v is None else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() for v in values]
    return pc.take(pa.array(distinct, pa.string()), encoded.indices)


def _invalid_fields(table: pa.Table, raw: pa.StringArray) -> pa.Array:
    """:data:`INVALID_COLUMN` per row: ``{field: value as sent}`` for the rows with a value set null.

    Found set-based; only those (rare) rows are re-read, to name each value as DocuSign sent it."""
    nulled = table[INVALID].combine_chunks()
    out: list[str | None] = [None] * table.num_rows
    if nulled.null_count == table.num_rows:
        return pa.nulls(table.num_rows, pa.string())
    rows = pc.indices_nonzero(pc.is_valid(nulled)).to_pylist()
    for row in rows:
        record = orjson.loads(raw[row].as_py())
        names = nulled[row].as_py().split(",")
        out[row] = orjson.dumps({n: record.get(n) for n in names}, option=orjson.OPT_SORT_KEYS, default=str).decode()
    return pa.array(out, pa.string())


def count_drift(events: pa.Table, keep: pa.Array | None = None) -> tuple[Counter, Counter]:
    """(coerced, nulled) counts per field among the rows ``keep`` marks (all when None)."""
    counts = []
    for column in (COERCED, INVALID):
        flags = events[column] if keep is None else pc.filter(events[column], keep)
        names = pc.list_flatten(pc.split_pattern(flags.drop_null(), ","))
        counts.append(Counter(dict(zip(*(c.to_pylist() for c in pc.value_counts(names).flatten())))))
    return counts[0], counts[1]


class SeenIds:
    """The event ids a read has seen, kept as two 64-bit hashes each: 18 to 24 bytes an id.

    A Python set of the ids took ~130 bytes an id: a 30-day backfill at a million events a day
    read 30M ids, 4 GB for this set alone, and a quarter three times that. Two ids count as the
    same when both hashes (``polars`` with two seeds) agree: a 128-bit match, as likely as two
    random GUIDs being equal. The hashes are held in sorted runs, merged as they grow (a
    log-structured set); a bitmap of the first hashes (16 bits an id) lets only the few ids it
    may hold reach the runs' binary searches, so a page costs a few vector operations."""

    _SEEDS = (0x5EED, 0xD0C5)
    _FILTER_BITS_PER_ID = 16  # ~6% of new ids get past the bitmap

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (first hashes sorted, second hashes beside them)
        self._count = 0
        self._filter = np.zeros(1 << 14, dtype=np.uint8)  # 2^17 bits; grows with the ids

    def __len__(self) -> int:
        return self._count

    @classmethod
    def hashes(cls, ids: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
        series = pl.Series(ids)
        return series.hash(cls._SEEDS[0]).to_numpy(), series.hash(cls._SEEDS[1]).to_numpy()

    def _slots(self, first: np.ndarray) -> np.ndarray:
        """Each first hash's bit in the filter: its top bits."""
        return first >> np.uint64(64 - (self._filter.size * 8).bit_length() + 1)

    def _mark(self, first: np.ndarray) -> None:
        slots = self._slots(first)
        np.bitwise_or.at(self._filter, slots >> np.uint64(3), np.left_shift(1, slots & np.uint64(7)).astype(np.uint8))

    def contains(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Per id (its two hashes): seen before."""
        found = np.zeros(len(first), dtype=bool)
        if not self._runs or not len(first):
            return found
        slots = self._slots(first)
        maybe = np.flatnonzero((self._filter[slots >> np.uint64(3)] >> (slots & np.uint64(7))) & np.uint64(1))
        order = maybe[np.argsort(first[maybe])]  # searched in sorted order: fewer cache misses
        needles = first[order]
        for keys, seconds in self._runs:
            low = np.searchsorted(keys, needles)
            hits = np.flatnonzero(keys[np.minimum(low, len(keys) - 1)] == needles)
            for i in hits:  # ids whose first hash is in the run: compare the second
                at, row = low[i], order[i]
                while at < len(keys) and keys[at] == needles[i]:
                    found[row] |= seconds[at] == second[row]
                    at += 1
        return found

    def add(self, first: np.ndarray, second: np.ndarray) -> None:
        """Remember ids (their two hashes) not seen before."""
        if not len(first):
            return
        order = np.argsort(first, kind="stable")
        self._runs.append((first[order], second[order]))
        self._count += len(first)
        # Merge the newest run into the one before while that one is no larger (a binary
        # counter: each id is merged about log2(ids / page) times; the stable sort of two sorted
        # runs is a linear merge).
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= len(self._runs[-1][0]):
            (keys_a, seconds_a), (keys_b, seconds_b) = self._runs[-2], self._runs[-1]
            keys, seconds = np.concatenate([keys_a, keys_b]), np.concatenate([seconds_a, seconds_b])
            order = np.argsort(keys, kind="stable")
            self._runs[-2:] = [(keys[order], seconds[order])]
        if self._count * self._FILTER_BITS_PER_ID > self._filter.size * 8:  # grown: a larger bitmap, refilled
            self._filter = np.zeros(self._filter.size * 4, dtype=np.uint8)
            for keys, _ in self._runs:
                self._mark(keys)
        else:
            self._mark(first)


def first_sightings(events: pa.Table, seen: SeenIds) -> pa.Table:
    """The page's events whose ``eventId`` was not seen before (in this read or earlier in the page).

    ``seen`` is updated. A page without repeats (nearly every one) is hashed, looked up and kept
    whole; otherwise the first row of each new id is found with Arrow, not a loop over events."""
    ids = events["eventId"]
    first, second = SeenIds.hashes(ids)
    old = seen.contains(first, second)
    repeats = pc.count_distinct(ids).as_py() < len(ids)  # within the page, by exact text
    if not repeats and not old.any():
        seen.add(first, second)
        return events
    keep = ~old
    if repeats:
        rows = pa.array(np.arange(len(ids)))
        firsts = events.select(["eventId"]).append_column("_row", rows).group_by(
            "eventId", use_threads=False).aggregate([("_row", "min")])
        keep &= pc.is_in(rows, value_set=firsts["_row_min"]).to_numpy(zero_copy_only=False)
    seen.add(first[keep], second[keep])
    return events.filter(pa.array(keep))
