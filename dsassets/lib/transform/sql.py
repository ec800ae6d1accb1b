"""Running the SQL models: load ``sql/`` files, bind relations in DuckDB, write Parquet partitions.

Parquet is the source of truth. Every model runs in its own in-memory DuckDB
connection that sees:

- ``raw_*``: views over the raw lake (an empty table of the right schema when a
  dataset has no partition yet);
- the parsing, window and activity macros of ``sql/macros/`` (the IP macros only in the
  warehouse), the sign-in and event-type macros rendered from ``dsassets.yaml``, and the
  ``country_codes`` lookup table;
- every staging model as a view, and every intermediate/mart model that has
  Parquet as a view over its partitions;
- the window as ``getvariable('window_start')`` (inclusive) and
  ``getvariable('window_end')`` (exclusive), both ``date``.

A partitioned model writes each day of its window to a local scratch file and
publishes it as ``<data_dir>/warehouse/<model>/dt=YYYY-MM-DD/data.parquet``
(``os.replace`` locally, one completed upload on S3: see ``dsassets.lib.lake.storage``).
Days without rows get an empty file, so a re-run always replaces the whole window.
Compute always stays local: on S3 the connection reads the lake through the
registered s3fs filesystem. Only the ``warehouse`` asset opens ``warehouse.duckdb``.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.config.project import MatchRule, ProjectConfig
from dsassets.lib.config.settings import DUCKDB_MEMORY_LIMIT
from dsassets.lib.intel.geo import country_rows
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import RAW_SCHEMAS
from dsassets.lib.transform.files import SQL_DIR, file_statements, select_file
from dsassets.lib.transform.models import BY_NAME, Model

MACRO_FILES = ("window.sql", "parsing.sql", "activity.sql")
# IP arithmetic in SQL, for analysts' CIDR queries in warehouse.duckdb (``ip_in_cidr``, the
# forensic ``ip_activity``). The pipeline parses addresses in Python (``geo.parse_ip``), and
# DuckDB binding these nested macros costs each step a third of a second or more.
ANALYST_MACRO_FILES = ("ip.sql",)
WAREHOUSE_FILE = "warehouse.duckdb"
# The code points Python's str.isspace() calls whitespace (tests check the list against Python):
# what the staging macros trim and squeeze (macros/parsing.sql), as str.strip() and str.split() do.
WHITESPACE = (
    9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760,
    8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
    8232, 8233, 8239, 8287, 12288,
)


def model_query(model: Model) -> str:
    """The model's single ``select`` with any trailing ``;`` removed."""
    return select_file(model.path)


def install_parts(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """The temp views the model's select reads (``Model.parts``), in order; they read the window when queried."""
    for part in model.parts:
        query = select_file(model.path.with_suffix("") / f"{part}.sql")
        con.execute(f"create or replace temp view {part} as {query}")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def literal(value: object) -> str:
    """A setting as a DuckDB literal (``None`` is a null date: the only optional variable is one)."""
    if value is None:
        return "null::date"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) + "::double"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return sql_literal(value)
    if isinstance(value, list):
        return "[" + ", ".join(sql_literal(str(v)) for v in value) + "]::varchar[]"
    raise TypeError(f"cannot render {value!r} as a DuckDB literal")


def set_variables(con: duckdb.DuckDBPyConnection, values: dict[str, object]) -> None:
    """``set variable <name> = <literal>`` for each entry (what the SQL reads with ``getvariable``)."""
    for name, value in values.items():
        con.execute(f"set variable {name} = {literal(value)}")


def register_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, *, temp: bool = True) -> None:
    """Copy an Arrow table into the connection as table ``name``."""
    con.register(f"{name}__arrow", table)
    con.execute(f"create or replace {'temp table' if temp else 'table'} {name} as select * from {name}__arrow")
    con.unregister(f"{name}__arrow")


# ---------------------------------------------------------------------------------------------
# Connections


def memory_limit() -> str:
    return DUCKDB_MEMORY_LIMIT.get()


def configure(con: duckdb.DuckDBPyConnection, temp_dir: Path | None = None) -> None:
    con.execute(f"set memory_limit = {sql_literal(memory_limit())}")
    con.execute("set preserve_insertion_order = false")
    con.execute("set TimeZone = 'UTC'")
    # A step binds the same day files several times (each view over them, each day it writes).
    # DuckDB re-reads a cached footer whose file changed (modified time, or less than 10 s old).
    # The shared views of one day's six detections bound in 1.6-2.1 s, 0.5 s with the cache.
    con.execute("set parquet_metadata_cache = true")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory = {sql_literal(str(temp_dir))}")


@contextmanager
def session(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection with the project settings, closed on exit.

    It spills to its own directory under ``<local_dir>/.duckdb-tmp/`` (removed on exit), so
    parallel steps of the multiprocess executor never share DuckDB's temporary files, and
    it can read the lake's URLs wherever the lake is.
    """
    spill = lake.local_dir / ".duckdb-tmp" / uuid.uuid4().hex
    con = duckdb.connect()
    try:
        configure(con, spill)
        lake.register(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def set_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> None:
    """``window_start`` (inclusive) and ``window_end`` (exclusive), as ``date`` variables."""
    con.execute(f"set variable window_start = date '{start.isoformat()}'")
    con.execute(f"set variable window_end = date '{end.isoformat()}'")


def rule_condition(rule: MatchRule, args: Sequence[str] = ("obj", "act", "res", "src")) -> str:
    clauses = []
    for field, arg in zip(("object", "action", "result", "source"), args):
        values = rule.values(field)
        if values is not None:
            listed = ", ".join(sql_literal(v) for v in values)
            clauses.append(f"coalesce(lower({arg}), '') in ({listed})")
    return " and ".join(clauses) or "true"


def rule_macros(config: ProjectConfig) -> list[str]:
    """``signin_rule``/``signin_outcome``/``signin_is_interactive`` and ``event_type`` from the config.

    Each macro takes ``(object, action, result, source)`` as staging has them, already through
    ``blank_to_null`` (trimmed, blank is null), and the first matching rule wins. A ``trim`` here
    again took 0.08 s of the 0.15 s the three macros cost over a day of a million events.
    """
    signin = config.signin.rules
    whens = "\n".join(
        f"        when {rule_condition(r)} then {i}" for i, r in enumerate(signin, start=1)
    )
    outcomes = ", ".join(sql_literal(r.outcome) for r in signin)
    interactive = ", ".join("true" if r.interactive else "false" for r in signin)
    event_whens = "\n".join(
        f"        when {rule_condition(r)} then {sql_literal(r.event_type)}"
        for r in config.event_types.rules
    )
    return [
        f"create or replace macro signin_rule(obj, act, res, src) as\n"
        f"    case\n{whens or '        when false then 0'}\n    end",
        f"create or replace macro signin_outcome(obj, act, res, src) as\n"
        f"    ([{outcomes}]::varchar[])[signin_rule(obj, act, res, src)]",
        f"create or replace macro signin_is_interactive(obj, act, res, src) as\n"
        f"    ([{interactive}]::boolean[])[signin_rule(obj, act, res, src)]",
        f"create or replace macro event_type(obj, act, res, src) as\n    case\n"
        f"{event_whens or '        when false then null'}\n    end::varchar",
    ]


def whitespace_macros() -> list[str]:
    """``whitespace_chars()`` (the :data:`WHITESPACE` characters as one string) and
    ``whitespace_class()`` (an RE2 class of them), each a literal."""
    chars = "".join(map(chr, WHITESPACE))
    re2_class = "[" + "".join(f"\\x{{{c:x}}}" for c in WHITESPACE) + "]"
    return [
        f"create or replace macro whitespace_chars() as {sql_literal(chars)}",
        f"create or replace macro whitespace_class() as {sql_literal(re2_class)}",
    ]


def install_support(
    con: duckdb.DuckDBPyConnection, config: ProjectConfig, *, temp: bool = True, analyst_macros: bool = False
) -> None:
    """Macros and the ``country_codes`` lookup table (and the IP macros, with ``analyst_macros``)."""
    for stmt in whitespace_macros():
        con.execute(stmt)
    for file in (*MACRO_FILES, *(ANALYST_MACRO_FILES if analyst_macros else ())):
        for stmt in file_statements(SQL_DIR / "macros" / file):
            con.execute(stmt)
    for stmt in rule_macros(config):
        con.execute(stmt)
    rows = country_rows(config.geo.country_aliases)
    table = pa.table(
        {
            "country_key": [r[0] for r in rows],
            "country_code": [r[1] for r in rows],
            "matched_by": [r[2] for r in rows],
        }
    )
    register_table(con, "country_codes", table, temp=temp)


def bind_raw(
    con: duckdb.DuckDBPyConnection, lake: Lake, *, temp: bool = True, datasets: Iterable[str] | None = None
) -> None:
    """``raw_<system>_<name>`` views over the lake (every dataset, or ``datasets``); empty typed
    tables for datasets not yet extracted."""
    wanted = RAW_SCHEMAS.keys() if datasets is None else set(datasets)
    for dataset, schema in RAW_SCHEMAS.items():
        if dataset not in wanted:
            continue
        view = "temp view" if temp else "view"
        table = "temp table" if temp else "table"
        _drop_relation(con, dataset)
        if lake.partitions(dataset):
            con.execute(
                f"create or replace {view} {dataset} as select * from "
                f"{parquet_scan(lake.glob(dataset))}"
            )
        else:
            empty = schema.empty_table().append_column("dt", pa.array([], pa.date32()))
            con.register(f"{dataset}__empty", empty)
            con.execute(f"create {table} {dataset} as select * from {dataset}__empty")
            con.unregister(f"{dataset}__empty")


def bind_files(con: duckdb.DuckDBPyConnection, lake: Lake, dataset: str, files: list[str]) -> None:
    """Rebind the raw ``dataset`` to the lake ``files`` alone (paths relative to the lake root):
    the staging view over it then reads only them."""
    con.execute(f"create or replace temp view {dataset} as select * from "
                f"{parquet_scan([lake.url(f) for f in files])}")


def _drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a view or table called ``name`` (DuckDB refuses ``drop view`` on a table)."""
    found = con.execute(
        "select table_type from information_schema.tables where table_name = ?", [name]
    ).fetchall()
    for (table_type,) in found:
        con.execute(f"drop {'view' if table_type == 'VIEW' else 'table'} if exists {name}")


def parquet_scan(glob: str | Sequence[str]) -> str:
    """``read_parquet`` over a glob, or over a list of file URLs, with ``dt`` from the hive path."""
    files = sql_literal(glob) if isinstance(glob, str) else f"[{', '.join(sql_literal(u) for u in glob)}]"
    # union_by_name: partitions written before a raw column was added read it as null.
    return f"read_parquet({files}, hive_partitioning = true, hive_types = {{'dt': date}}, union_by_name = true)"


def model_path(name: str) -> str:
    """Where model ``name`` lives, relative to the lake root."""
    return f"warehouse/{name}"


def model_dir(lake: Lake, name: str) -> str:
    return lake.url(model_path(name))


def model_day_file(lake: Lake, name: str, day: date) -> str:
    return lake.url(f"{model_path(name)}/dt={day.isoformat()}/data.parquet")


def model_glob(lake: Lake, name: str) -> str:
    """Every day's Parquet of the partitioned output ``name`` (a model, detection or policy)."""
    return lake.url(f"{model_path(name)}/dt=*/*.parquet")


def has_output(lake: Lake, name: str) -> bool:
    return bool(lake.files(f"{model_path(name)}/dt=*/*.parquet"))


def scan_output(lake: Lake, name: str) -> str:
    """``read_parquet(...)`` over every day of the output ``name``."""
    return parquet_scan(model_glob(lake, name))


def read_rows(con: duckdb.DuckDBPyConnection, lake: Lake, name: str, start: date, end: date) -> list[dict]:
    """The rows of the output ``name`` for the days ``[start, end)``, as dicts."""
    cur = con.execute(f"select * from {scan_output(lake, name)} where dt >= ? and dt < ?", [start, end])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def output_views(con: duckdb.DuckDBPyConnection, lake: Lake, names: Iterable[str]) -> list[str]:
    """A view over every day of each output that has any (in ``warehouse.duckdb``); the views made."""
    created = [name for name in names if has_output(lake, name)]
    for name in created:
        con.execute(f"create or replace view {name} as select * from {scan_output(lake, name)}")
    return created


def window_select(lake: Lake, name: str) -> str:
    """The rows of the output ``name`` within the window variables."""
    return (
        f"select * from {scan_output(lake, name)} "
        "where dt >= getvariable('window_start') and dt < getvariable('window_end')"
    )


def bind_models(
    con: duckdb.DuckDBPyConnection, lake: Lake, models: Iterable[Model], *, temp: bool = True
) -> list[str]:
    """Staging views from their SQL, Parquet-backed views for the rest; returns what was bound."""
    view = "temp view" if temp else "view"
    bound = []
    for model in models:
        if model.is_view:
            con.execute(f"create or replace {view} {model.name} as {model_query(model)}")
        elif has_output(lake, model.name):
            con.execute(f"create or replace {view} {model.name} as select * from {scan_output(lake, model.name)}")
        else:
            continue
        bound.append(model.name)
    return bound


def relations_to_bind(reads: Iterable[str]) -> tuple[list[Model], set[str]]:
    """The models and raw datasets a session must bind for SQL that reads ``reads``.

    A staging model is a view over its raw dataset, so it brings that dataset along; every other
    model is read from its Parquet. Binding is per step and costs a listing and every file's
    footer per relation (on S3, a request each), so a step binds only what it reads.
    """
    wanted = set(reads)
    models = [m for m in BY_NAME.values() if m.name in wanted]
    raw = {n for n in wanted if n in RAW_SCHEMAS} | {d for m in models if m.is_view for d in m.deps}
    return models, raw


def prepare(
    con: duckdb.DuckDBPyConnection, lake: Lake, config: ProjectConfig, reads: Iterable[str]
) -> list[str]:
    """Macros, lookup tables and the relations named in ``reads`` (see :func:`relations_to_bind`)."""
    models, raw = relations_to_bind(reads)
    install_support(con, config)
    bind_raw(con, lake, datasets=raw)
    return bind_models(con, lake, models)


# ---------------------------------------------------------------------------------------------
# Writing


def days_in(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def write_partitions(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    name: str,
    relation: str,
    start: date,
    end: date,
    each_day: Callable[[], None] | None = None,
) -> dict[date, int]:
    """Write ``relation`` (which has a ``dt`` column) as the days ``[start, end)`` of model ``name``.

    One day at a time: the window variables are narrowed to that day, the rows of
    that day are copied to a local scratch file (an empty day gives an empty file, so
    a re-run always replaces what an earlier run wrote) and the file is published
    atomically (:meth:`Lake.publish_file`); any other Parquet file left in that day is
    then removed, so the day is exactly this run's rows. Day by day keeps memory
    bounded on long backfills and is faster than ``COPY ... PARTITION_BY`` here.
    ``each_day`` runs once the window is that day (to materialize what the relation reads).
    The window is restored after.
    """
    counts: dict[date, int] = {}
    try:
        for day in days_in(start, end):
            set_window(con, day, day + timedelta(days=1))
            if each_day is not None:
                each_day()
            day_dir = f"{model_path(name)}/dt={day.isoformat()}"
            target = f"{day_dir}/data.parquet"
            counts[day] = _publish_day(con, lake, relation, day, target)
            for stale in lake.files(f"{day_dir}/*.parquet"):
                if stale != target:
                    lake.remove(stale)
    finally:
        set_window(con, start, end)
    return counts


def add_to_partition(
    con: duckdb.DuckDBPyConnection, lake: Lake, name: str, relation: str, day: date, file_name: str
) -> int:
    """Write ``relation``'s rows of ``day`` as one more file (``file_name``) of model ``name``'s day,
    beside the files it holds; none for no rows. The rows written (the window is the day)."""
    return _publish_day(con, lake, relation, day, f"{model_path(name)}/dt={day.isoformat()}/{file_name}", empty=False)


# A row group holds at most about this much of the rows in memory. Only wide rows reach it before
# DuckDB's default of 122,880 rows: a million events' activities, each with its raw JSON, went from
# 10 row groups a day to 22-23 (190 -> 195 MB). The models' stage then peaked at 1,129-1,160 MiB
# instead of 1,686-1,724 MiB, and activities' write took 6.7-6.9 s instead of 7.4-7.6 s
# (alternately, same day; the whole step was faster in 7 of 8 pairs, by up to 1 s, on a noisy VM).
ROW_GROUP_BYTES = "128MB"


def _publish_day(con: duckdb.DuckDBPyConnection, lake: Lake, relation: str, day: date, target: str, *,
                 empty: bool = True) -> int:
    """Copy ``relation``'s rows of ``day`` to a scratch file and publish it as ``target`` (when it
    has rows, or ``empty``); the rows."""
    with lake.temp_path() as tmp:
        con.execute(
            f"copy (select * exclude (dt) from {relation} where dt = ?) to {sql_literal(str(tmp))} "
            f"(format parquet, compression zstd, row_group_size_bytes {sql_literal(ROW_GROUP_BYTES)})",
            [day],
        )
        rows = pq.read_metadata(tmp).num_rows
        if rows or empty:
            lake.publish_file(tmp, target)
    return rows


# ---------------------------------------------------------------------------------------------
# warehouse.duckdb


class WarehouseLockedError(RuntimeError):
    """Another process holds ``warehouse.duckdb``."""


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def open_warehouse(
    path: Path,
    *,
    attempts: int = 6,
    wait_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``warehouse.duckdb`` for writing, retrying briefly while another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            last = str(exc)
            if attempt < attempts:
                if log:
                    log(f"{path} is locked (attempt {attempt}/{attempts}); retrying in {wait_seconds:.0f}s")
                sleep(wait_seconds)
    holder = _LOCK_HOLDER.search(last)
    who = (
        f"process {holder['pid']} ({holder['program']})"
        if holder
        else "another process (a DuckDB shell, notebook or BI tool)"
    )
    raise WarehouseLockedError(
        f"{path} is locked by {who}. DuckDB allows one process to hold the file open; "
        f"close that session (or quit the DuckDB shell) and re-run the `warehouse` asset. "
        f"The Parquet data in the lake is complete and unaffected; "
        f"only the views in {path.name} are stale. Details: {last}"
    )
