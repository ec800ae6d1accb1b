"""Metadata the Dagster UI shows as tables and column lists, instead of markdown behind a button.

``metadata_table`` turns rows into ``MetadataValue.table`` with a schema (the metadata key is the
table's title in the UI); ``column_schema`` describes a relation's columns for
``dagster/column_schema``, with descriptions taken from the SQL file's header where it documents
a column (``-- state:  'deleted' ...``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import dagster as dg
import pyarrow as pa

_TYPES = {bool: "bool", int: "int", float: "float"}


def _cell(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def metadata_table(rows: Iterable[Mapping], columns: Mapping[str, str], *, limit: int = 50) -> dg.TableMetadataValue:
    """``rows`` as a table of ``columns`` (row key -> column title), at most ``limit`` rows."""
    records = [{title: _cell(row.get(key)) for key, title in columns.items()} for row in list(rows)[:limit]]
    types = {}
    for title in columns.values():
        seen = {type(r[title]) for r in records if r[title] is not None}
        types[title] = _TYPES.get(next(iter(seen)), "string") if len(seen) == 1 else "string"
    schema = dg.TableSchema(columns=[dg.TableColumn(title, types[title]) for title in columns.values()])
    return dg.MetadataValue.table(records=[dg.TableRecord(r) for r in records], schema=schema)


_HEADER_ENTRY = re.compile(r"^--\s{0,3}([a-z_][a-z0-9_]*):\s+(.*)$")


@lru_cache(maxsize=None)
def header_descriptions(sql_file: str) -> dict[str, str]:
    """``name: text`` entries of a SQL file's leading comment block (continuation lines joined)."""
    out: dict[str, str] = {}
    current = None
    for line in Path(sql_file).read_text().splitlines():
        if not line.startswith("--"):
            break
        entry = _HEADER_ENTRY.match(line)
        if entry:
            current = entry.group(1)
            out[current] = entry.group(2).strip()
        elif current and line[2:].startswith(" " * 4):
            out[current] += " " + line[2:].strip()
    return out


def column_schema(columns: Iterable[tuple[str, str]], sql_file: Path | None = None) -> dg.TableSchema:
    """A ``TableSchema`` of ``(name, type)`` pairs, described from ``sql_file``'s header."""
    described = header_descriptions(str(sql_file)) if sql_file and sql_file.exists() else {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(kind).lower(), description=described.get(name)) for name, kind in columns]
    )


def relation_columns(con, relation: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of a relation's columns, without reading its rows."""
    return [(row[0], row[1]) for row in con.execute(f"describe select * from {relation}").fetchall()]


def arrow_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


def newest_alerts_table(rows: list[dict], limit: int = 10) -> dg.TableMetadataValue:
    """The newest alerts of a materialization, newest first."""
    rows = sorted(rows, key=lambda r: (r["started_at"], r["alert_id"]), reverse=True)[:limit]
    shown = [{**r, "user": r.get("user_email") or r.get("user_id"), "alert": (r["alert_id"] or "")[:12]} for r in rows]
    return metadata_table(
        shown,
        # Who and what first: the UI's metadata column is narrow and scrolls sideways.
        {"started_at": "started (UTC)", "severity": "severity", "user": "user", "policy": "policy",
         "title": "title", "ip_addresses": "IPs", "countries": "countries", "alert": "alert_id"},
    )
