"""One run of a partitioned SQL asset, whatever it computes: models, posture, detections, policies, alerts.

Every such asset is a :class:`SqlAsset` record, and :func:`materialize` does the same steps
for each: open a session, bind the models and raw datasets it reads, check that its inputs
have output, set the window variables, install what its SQL needs, create the result as a
temp view, write one Parquet file per day (or only count a staging view's rows) and return
the standard metadata (rows per day, window, location) plus the asset's own report.

A run over several days gives one materialization per day (Dagster's single-run backfill), and
each carries that day's own numbers (``dagster/row_count``, the asset's ``day_report``), so
counts and scores plot correctly over partitions; the window's metadata is on all of them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import dagster as dg
import duckdb

from dsassets.lib.catalog.tables import column_schema, relation_columns
from dsassets.lib.config.project import ProjectConfig, project_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import window_dates
from dsassets.lib.transform import sql, unchanged


@dataclass(frozen=True)
class Run:
    """What an asset's hooks see: the open connection, the lake, the config and the window."""

    con: duckdb.DuckDBPyConnection
    lake: Lake
    config: ProjectConfig
    start: date
    end: date
    log: Any

    @property
    def one_day(self) -> bool:
        """A run of a single partition (the schedules'), not a range (backfills)."""
        return self.end - self.start == timedelta(days=1)

    def rows(self, name: str) -> list[dict]:
        """The window's rows of the output ``name`` as dicts."""
        return sql.read_rows(self.con, self.lake, name, self.start, self.end)


Hook = Callable[[Run], Any]


@dataclass(frozen=True)
class SqlAsset:
    """A partitioned SQL asset: its output ``name`` and the steps that differ between assets."""

    name: str
    # The select that gives the output (with a ``dt`` column), for the window variables.
    query: Callable[[Run], str]
    # Outputs that must exist before it runs (models not yet materialized, det_*, pol_*).
    requires: tuple[str, ...] = ()
    # What its SQL reads (models, raw datasets): bound as views with the macros; () binds nothing.
    # The same names as the asset's Dagster deps, so lineage says what the SQL reads.
    reads: tuple[str, ...] = ()
    # Variables and tables the SQL reads, installed once the window is set; may return metadata.
    setup: Callable[[Run], dict | None] | None = None
    # Turns the result view into the relation written (Python enrichment, or the alerts' suppression,
    # which writes what it holds back to an output of its own); returns its name.
    transform: Callable[[Run, str], str] | None = None
    # Runs for each day once the window is narrowed to it, before that day is written.
    each_day: Hook | None = None
    # False: a view; its rows are counted per day, nothing is written.
    writes: bool = True
    # The asset's own metadata about the whole window, from the run and the rows per day.
    report: Callable[[Run, dict[date, int]], dict] | None = None
    # The asset's metadata of one day (its partition), from the run, the day and its row count.
    day_report: Callable[[Run, date, int], dict] | None = None
    per_day_key: str = "rows_per_day"
    location: str | None = None
    # The SQL file whose header describes the output's columns (``dagster/column_schema``).
    sql_file: Path | None = None
    # The select gives each day of any window the rows a run of that day alone gives (every read of
    # other days is an as-of join on the day): a range is computed in passes of ONE_PASS_DAYS, not
    # a query per day. For marts whose day reads all history before it, one query per day made a
    # backfill quadratic in its length.
    one_pass: bool = False
    # A refresh adds the rows of the new files of this dataset's day instead of recomputing the day,
    # when nothing else it reads changed (unchanged.Growth says when that holds). No day_report:
    # a day's own metadata could not be brought up to date from the new rows alone.
    grows: unchanged.Growth | None = None

    def __post_init__(self) -> None:
        if self.grows is not None and (self.day_report is not None or not self.writes):
            raise ValueError(f"{self.name}: only an asset that writes and has no day_report can grow")


# Days a one-pass asset computes at once: each pass reads the history before its end once. On the
# month of 66k users at 1M events a day, passes of 7 and 30 days took about as long (92 and 91 s
# for user_accounts) at the same peak memory (2.3 GB), so the smallest temp table (1.6M rows) wins.
ONE_PASS_DAYS = 7


def missing_inputs(lake: Lake, asset: SqlAsset, bound: list[str]) -> list[str]:
    return [name for name in asset.requires if name not in bound and not sql.has_output(lake, name)]


def _count(con: duckdb.DuckDBPyConnection, relation: str, start: date, end: date) -> dict[date, int]:
    found = dict(con.execute(
        f"select dt, count(*) from {relation} "
        "where dt >= getvariable('window_start') and dt < getvariable('window_end') group by dt"
    ).fetchall())
    return {day: found.get(day, 0) for day in sql.days_in(start, end)}


def _write(run: Run, asset: SqlAsset, relation: str) -> dict[date, int]:
    """Write the window's days of ``relation``: one query per day, or one per pass of a one-pass asset."""
    if asset.one_pass and asset.each_day is not None:
        raise ValueError(f"{asset.name}: a one-pass asset has no per-day hook to run (each_day)")
    if not asset.one_pass or run.one_day:
        each_day = (lambda: asset.each_day(run)) if asset.each_day is not None else None
        return sql.write_partitions(run.con, run.lake, asset.name, relation, run.start, run.end, each_day)
    counts: dict[date, int] = {}
    passed = f"{asset.name}__pass"
    try:
        for offset in range(0, (run.end - run.start).days, ONE_PASS_DAYS):
            first = run.start + timedelta(days=offset)
            end = min(run.end, first + timedelta(days=ONE_PASS_DAYS))
            sql.set_window(run.con, first, end)
            run.con.execute(f"create or replace temp table {passed} as select * from {relation}")
            counts |= sql.write_partitions(run.con, run.lake, asset.name, passed, first, end)
            run.con.execute(f"drop table {passed}")
    finally:
        sql.set_window(run.con, run.start, run.end)
    return counts


@contextmanager
def _result(context: dg.AssetExecutionContext, lake: Lake, asset: SqlAsset, start: date, end: date,
            only_files: list[str] | None = None) -> Iterator[tuple[Run, str, dict]]:
    """A session with ``asset``'s result for ``[start, end)`` as a relation: ``(run, relation, notes)``.

    ``only_files``: the asset's growth dataset read from these files alone (a refresh's new part
    files), every other input as stored."""
    config = project_config()
    with sql.session(lake) as con:
        bound = sql.prepare(con, lake, config, asset.reads) if asset.reads else []
        missing = missing_inputs(lake, asset, bound)
        if missing:
            raise RuntimeError(
                f"{asset.name} needs {', '.join(missing)}: materialize "
                f"{'it' if len(missing) == 1 else 'them'} for this window first"
            )
        if only_files is not None:
            sql.bind_files(con, lake, asset.grows.dataset, only_files)
        sql.set_window(con, start, end)
        run = Run(con, lake, config, start, end, context.log)
        notes = (asset.setup(run) if asset.setup is not None else None) or {}
        relation = f"{asset.name}__result"
        con.execute(f"create temp view {relation} as {asset.query(run)}")
        if asset.transform is not None:
            relation = asset.transform(run, relation)
        notes["dagster/column_schema"] = column_schema(relation_columns(con, relation), asset.sql_file)
        yield run, relation, notes


def execute(
    context: dg.AssetExecutionContext, lake: Lake, asset: SqlAsset
) -> tuple[dict[date, int], dict, dict[date, dict]]:
    """Run ``asset`` for the context's partition window: rows per day, the window's report, each day's."""
    start, end = window_dates(context)
    with _result(context, lake, asset, start, end) as (run, relation, notes):
        if asset.writes:
            counts = _write(run, asset, relation)
        else:
            counts = _count(run.con, relation, start, end)
        report = asset.report(run, counts) if asset.report is not None else {}
        days = {
            day: {"dagster/row_count": n, **(asset.day_report(run, day, n) if asset.day_report else {})}
            for day, n in counts.items()
        }
    return counts, {**report, **notes}, days


def append(context: dg.AssetExecutionContext, lake: Lake, asset: SqlAsset, files: list[str], before: dict) -> dict:
    """Add the rows of ``files`` (new files of the day of ``asset.grows.dataset``) to the asset's
    day as a file of their own; ``before``, what the run that wrote the rest reported, updated.

    Only for a one-day run (the refresh's): the day's other rows are that run's, still valid."""
    day = date.fromisoformat(context.partition_keys[0])
    with _result(context, lake, asset, day, day + timedelta(days=1), only_files=files) as (run, relation, _):
        added = sql.add_to_partition(run.con, lake, asset.name, relation, day, Path(files[-1]).name)
    key = day.isoformat()
    total = before["days"][key]["dagster/row_count"] + added
    before["days"][key] = {**before["days"][key], "dagster/row_count": total}
    before["metadata"][asset.per_day_key] = dg.MetadataValue.json({key: total})
    before["metadata"]["dsassets/appended"] = dg.MetadataValue.text(
        f"{added} row(s) added from {len(files)} new file(s) of {asset.grows.dataset}; the day's other "
        f"rows were kept, not recomputed")
    return before


def materialize(context: dg.AssetExecutionContext, lake: Lake, asset: SqlAsset) -> dg.MaterializeResult:
    """:func:`execute`; each day's metadata goes to its own partition's materialization.

    In a run that asks for it (the intra-day refresh), a day whose inputs have not changed since
    the step last ran for it keeps its files and reports what that run reported, and a day of an
    asset that ``grows`` with a dataset whose day only gained files gets their rows added
    (:mod:`dsassets.lib.transform.unchanged`).
    """
    start, end = window_dates(context)

    def compute() -> dict:
        counts, report, days = execute(context, lake, asset)
        return {
            "days": {day.isoformat(): metadata for day, metadata in days.items()},
            "metadata": {
                asset.per_day_key: dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
                "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
                "location": dg.MetadataValue.path(asset.location or str(sql.model_dir(lake, asset.name))),
                **report,
            },
        }

    grow = (lambda files, before: append(context, lake, asset, files, before)) if asset.grows else None
    reported, since = unchanged.run_or_recall(context, lake, asset.name, compute, keys=[context.asset_key],
                                              outputs=unchanged.outputs_of(context.asset_key),
                                              growth=asset.grows, append=grow)
    kept = unchanged.note(since, "its files were kept, not recomputed")
    for day, metadata in reported["days"].items():
        context.add_asset_metadata({**metadata, **kept}, partition_key=day)
    return dg.MaterializeResult(metadata={**reported["metadata"], **kept})
