"""Fingerprint what the pipeline wrote, to prove a refactoring changed nothing.

``python -m dsassets.tools.compare_outputs snapshot DATA_DIR OUT.json`` records, for every
raw dataset and modelled table under ``DATA_DIR`` and the governance ledger, its row count and an
order-independent hash of its rows; ``... compare BEFORE.json AFTER.json`` prints every table
whose rows differ and exits 1 if any do. Run the same backfill (same dates, same simulator
settings) before and after a change, snapshot both lakes, compare.

Columns that hold the wall-clock time of the run itself (when a row was extracted or recorded)
differ between any two runs and are left out; everything else, ``alert_id`` and ``evidence``
included, must match exactly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

# Wall-clock columns: when this run read or wrote the row, not what the row says.
VOLATILE_COLUMNS = frozenset({"_extracted_at", "extracted_at", "recorded_at", "run_id", "_page_cursor"})


def _fingerprint(con: duckdb.DuckDBPyConnection, source: str) -> dict:
    columns = [
        name for name, *_ in con.execute(f"describe select * from {source}").fetchall() if name not in VOLATILE_COLUMNS
    ]
    select = ", ".join(f'"{name}"' for name in columns)
    rows, digest = con.execute(
        # hash() of a row struct is order-independent when summed and still counts duplicates.
        f"select count(*), coalesce(sum(hash(struct_pack({select}))::hugeint), 0)::varchar from {source}"
    ).fetchone()
    return {"rows": rows, "hash": digest, "columns": sorted(columns)}


def snapshot(data_dir: Path) -> dict[str, dict]:
    """``{table: {rows, hash, columns}}`` for every table directory the pipeline wrote."""
    con = duckdb.connect()
    tables: dict[str, dict] = {}
    # warehouse/<model>/ and raw/<system>/<dataset>/: a table is a folder of dt=... partitions.
    for table in sorted({p.parent.parent for p in data_dir.glob("*/**/dt=*/*.parquet")}):
        files = sorted(table.rglob("*.parquet"))
        paths = ", ".join(f"'{f}'" for f in files)
        name = table.relative_to(data_dir).as_posix()
        tables[name] = _fingerprint(con, f"read_parquet([{paths}], hive_partitioning = true, union_by_name = true)")
    for ledger in sorted((data_dir / "governance").glob("*.parquet")):
        tables[f"governance/{ledger.stem}"] = _fingerprint(con, f"read_parquet('{ledger}')")
    return tables


def compare(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """One line per table that is missing, new, or whose rows differ."""
    problems = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is None:
            problems.append(f"{name}: new table ({b['rows']} rows)")
        elif b is None:
            problems.append(f"{name}: missing after ({a['rows']} rows before)")
        elif a != b:
            what = []
            if a["columns"] != b["columns"]:
                what.append(f"columns {sorted(set(a['columns']) ^ set(b['columns']))} differ")
            if a["rows"] != b["rows"]:
                what.append(f"rows {a['rows']} -> {b['rows']}")
            if a["hash"] != b["hash"]:
                what.append("row contents differ")
            problems.append(f"{name}: " + ", ".join(what))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsassets.tools.compare_outputs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="fingerprint DATA_DIR's tables into OUT (JSON)")
    snap.add_argument("data_dir", type=Path)
    snap.add_argument("out", type=Path)
    cmp = sub.add_parser("compare", help="compare two fingerprints; exit 1 when any table differs")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        tables = snapshot(args.data_dir)
        args.out.write_text(json.dumps(tables, indent=1, sort_keys=True))
        print(f"{len(tables)} tables fingerprinted from {args.data_dir} into {args.out}")
        return 0
    problems = compare(json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    for line in problems:
        print(line)
    if not problems:
        print(f"identical: {len(json.loads(args.before.read_text()))} tables")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
