"""A mart's history before its window, with every ended month rolled up once.

``users`` and ``user_accounts`` hold a state per day, and a day's state needs every day before it:
the first and latest snapshot listing each user and membership, the last day each source listed
each account, each permission profile's name as last taken, each user's activity. Read from every
partition, that cost grew with the lake, about 0.6 s a month for each mart at 66k users, in the
daily run and in every intra-day refresh (the identity provider's snapshot and the day's lifecycle
events change each time).

A history part (``Model.history``; ``sql/<layer>/<model>/<part>.sql``) is a ``select`` over the days
``in_history(dt)``, ``history_from <= dt < window_start``, whose rows the mart merges with ``min``,
``max`` or ``arg_max``, so rows of several spans give what one row of all of them would. Each
ended month before the run's is rolled up once (:mod:`dsassets.lib.transform.rollups`), keyed by
the stamps of that month's files of the part's inputs and by the code and settings; the part is
the rollups plus the days of the run's own month before each window, which stay days
(``history_from`` is that month's first day), so every pass of a range run reads what a run of
its window alone reads. A run of one day rolls those days up too, as one span: the intra-day
refresh runs the same day about a hundred times.

A detection may read its history the same way (``Detection.history``; parts in
``sql/detections/<sql_file>/<part>.sql``): ``terminated_user_activity`` reads every identity-provider
snapshot before its day, 1.5 s of each day's run after a year of them.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import rollups
from dsassets.lib.transform.models import BY_NAME, Model
from dsassets.lib.transform.sql import model_path, select_file, set_window, sql_literal
from dsassets.lib.transform.unchanged import code_digest

# Under Lake.local_dir, beside the scratch folders (dsassets.lib.transform.unchanged skips it).
FOLDER = ".history"
FROM_VARIABLE = "history_from"
# A day-by-day binding's tables hold the days from history_from up to this one (excluded).
THROUGH_VARIABLE = "history_through"
DAYS_SUFFIX = "__days"
# The folder of a part's rollups of the days of a one-day run's month before it, one per day run
# (rollups prunes each an hour after its day's last run).
MONTH_TO_DATE = "month-to-date"


def part_query(model: Model, part: str) -> str:
    return select_file(model.path.with_suffix("") / f"{part}.sql")


def input_paths(name: str) -> tuple[str, ...]:
    """Where the lake keeps what ``name`` reads: a staging view's raw datasets, a model's own folder."""
    model = BY_NAME[name]
    if model.is_view:
        return tuple(Lake.dataset_path(dataset) for dataset in model.deps)
    return (model_path(name),)


def bind(con: duckdb.DuckDBPyConnection, lake: Lake, config: ProjectConfig, model: Model,
         start: date, end: date) -> dict[str, list[str]]:
    """The model's history parts, bound by :func:`bind_parts`."""
    parts = {part: (part_query(model, part), reads) for part, reads in model.history.items()}
    return bind_parts(con, lake, config, parts, start, end)


def bind_parts(con: duckdb.DuckDBPyConnection, lake: Lake, config: ProjectConfig,
               parts: dict[str, tuple[str, tuple[str, ...]]], start: date, end: date, *,
               day_by_day: bool = False) -> dict[str, list[str]]:
    """Each history part (name: its query and the models it reads) as a temp view over its rollups of
    the months before ``start``'s (made where missing or stale) and the days of that month before
    the window; the window ``[start, end)`` is set again after. The spans rolled up, per part.

    A run of one day (the daily run, and the intra-day refresh, which runs the same day again and
    again) rolls up the days of its month before it too, as one more span.

    ``day_by_day``: a range run that computes one day at a time (a detection's) reads the days of
    its month before each day from a table that :func:`advance` brings up to that day, a span per
    day it adds, instead of reading every one of them again for each day."""
    month_start = start.replace(day=1)
    one_day = end - start == timedelta(days=1)
    history_from = start if one_day else month_start
    code = code_digest(config)
    spans: dict[str, list[str]] = {}
    listed: dict[str, dict[str, str]] = {}  # each input's files, listed once for the parts that read it
    try:
        for part, (query, reads) in parts.items():
            for name in reads:
                if name not in listed:
                    listed[name] = {rel: stamp for path in input_paths(name)
                                    for rel, stamp in lake.stamps(path, lambda rel: False).items()}
            stamps = {rel: stamp for name in reads for rel, stamp in listed[name].items()}
            made = [_rollup(con, lake, part, query, month, _following(date.fromisoformat(f"{month}-01")), files, code)
                    for month, files in sorted(rollups.ended_months(stamps, month_start).items())]
            to_date = {rel: stamp for rel, stamp in stamps.items() if rel.endswith(".parquet")
                       and month_start <= (rollups.day_of(rel) or date.min) < history_from}
            if to_date:
                made.append(_rollup(con, lake, part, query, MONTH_TO_DATE, history_from, to_date, code))
            paths = ", ".join(sql_literal(str(path)) for path in made)
            rolled = f"select * from read_parquet([{paths}]) union all by name " if made else ""
            days = f"select * from ({query})"
            if day_by_day and not one_day:
                set_window(con, start, start)  # the days' table has the part's columns and no row yet
                con.execute(f"create or replace temp table {part}{DAYS_SUFFIX} as {days} limit 0")
                days = f"select * from {part}{DAYS_SUFFIX}"
            con.execute(f"create or replace temp view {part} as {rolled}{days}")
            spans[part] = [path.parent.name for path in made]
    finally:
        set_window(con, start, end)
        con.execute(f"set variable {FROM_VARIABLE} = date '{history_from.isoformat()}'")
        con.execute(f"set variable {THROUGH_VARIABLE} = date '{history_from.isoformat()}'")
    return spans


def advance(con: duckdb.DuckDBPyConnection, parts: dict[str, tuple[str, tuple[str, ...]]], day: date) -> None:
    """Bring the days' tables of a ``day_by_day`` binding to the days before ``day`` (the window's
    first day now): the days since the last call, as one span each part. A day earlier than that
    (days out of order) starts them again from the month's first day."""
    history_from, through = con.execute(
        f"select getvariable('{FROM_VARIABLE}'), getvariable('{THROUGH_VARIABLE}')").fetchone()
    if day < through:
        for part in parts:
            con.execute(f"delete from {part}{DAYS_SUFFIX}")
        through = history_from
    if through < day:
        con.execute(f"set variable {FROM_VARIABLE} = date '{through.isoformat()}'")
        try:
            for part, (query, _) in parts.items():
                con.execute(f"insert into {part}{DAYS_SUFFIX} by name select * from ({query})")
        finally:
            con.execute(f"set variable {FROM_VARIABLE} = date '{history_from.isoformat()}'")
    con.execute(f"set variable {THROUGH_VARIABLE} = date '{day.isoformat()}'")


def _following(first: date) -> date:
    """The first day of the month after ``first``'s."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _rollup(con: duckdb.DuckDBPyConnection, lake: Lake, part: str, query: str, span: str, end: date,
            files: dict[str, str], code: str) -> Path:
    """The part over the span (a month ``YYYY-MM``, or the month to date: its first day up to ``end``),
    for exactly these files and this code."""
    first = end.replace(day=1) if span == MONTH_TO_DATE else date.fromisoformat(f"{span}-01")
    set_window(con, end, end)
    con.execute(f"set variable {FROM_VARIABLE} = date '{first.isoformat()}'")
    return rollups.rollup(con, lake.local_dir / FOLDER / part / span, rollups.key(files, part, query, code),
                          lambda target: f"copy ({query}) to {target} (format parquet)")
