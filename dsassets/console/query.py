"""``dsassets query``: a read-only query against ``warehouse.duckdb`` printed as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, time
from decimal import Decimal
from typing import TextIO
from uuid import UUID

import duckdb

from dsassets.lib.lake.lake import Lake

FORMATS = ("table", "csv", "json")
# Cells longer than this are cut in the table (never in CSV or JSON); no column is ever hidden.
TABLE_CELL_WIDTH = 60
TABLE_MAX_ROWS = 1000


def _plain(value):
    """A value as JSON or CSV can hold it: dates and times in ISO 8601, lists and structs as JSON."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write(rel: duckdb.DuckDBPyRelation, fmt: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if fmt == "table":
        # Wide enough for every column: a terminal wraps long lines instead of dropping columns.
        rel.show(max_width=100_000, max_rows=TABLE_MAX_ROWS, max_col_width=TABLE_CELL_WIDTH)
        return
    names = rel.columns
    rows = rel.fetchall()
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow(
                json.dumps(v) if isinstance(v, (dict, list, tuple)) else ("" if v is None else v)
                for v in (_plain(v) for v in row)
            )
    else:
        json.dump([dict(zip(names, (_plain(v) for v in row))) for row in rows], out, indent=1)
        out.write("\n")


def run(lake: Lake, sql: str, fmt: str = "table") -> int:
    """Print ``sql``'s result from the warehouse (read-only); 1 with a message when it cannot."""
    path = lake.local_dir / "warehouse.duckdb"
    if not path.exists():
        print(f"{path} does not exist yet: run `dsassets demo` or `dsassets backfill` first", file=sys.stderr)
        return 1
    with duckdb.connect(str(path), read_only=True) as con:
        # The views name the lake's files; on S3 the connection needs the filesystem to read them.
        lake.register(con)
        try:
            rel = con.sql(sql)
            if rel is None:
                return 0  # a statement without a result (e.g. SET)
            write(rel, fmt)
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return 1
    return 0
