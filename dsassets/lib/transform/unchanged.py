"""Skip a refresh step whose inputs have not changed since it last ran for the day.

The intra-day refresh recomputes today's models, detections and checks every interval. When the
stream had nothing new, that is the same work for the same result: at 1,000,000 events a day it was
a minute of it. A step of a run tagged :data:`SKIP_TAG` (the refresh job) first takes a
fingerprint of everything it could read. When that fingerprint equals the one its last run for
the same day recorded, and its own files are still the ones that run wrote, it keeps them and
reports what that run reported, marked ``dsassets/unchanged``.

The fingerprint covers:

- the code and settings: the contents of the package and of ``sql/``, the config file and the
  activity-policy files it names, the intel directory's listing, and the ``DSASSETS_*`` settings
  except those that cannot change an output (:data:`NOT_INPUTS`);
- the lake: every Parquet file's size and modification time (its ETag on S3), except what the
  step cannot read: its own output and the outputs of the assets that are not upstream of it
  (Dagster's lineage says which), and scratch folders (:data:`NOT_LAKE_INPUTS`). Other files
  are state, not data: the stream's cursor, for one, is rewritten by every refresh.

Files no asset writes (files put in the lake by hand, say) are inputs of every step: an input the
lineage does not know can only cost a recompute, never a skipped one. The analyst's triage files
are the exception, with their readers listed (:data:`SIDE_INPUTS`). Records live in
``<local_dir>/.unchanged/``; deleting it makes the next refresh recompute everything.

A step that declares a :class:`Growth` is brought up to date instead of recomputed when the only
change since its last run for the day is new files of one raw dataset's day (the refresh
publishes each read of the stream as a part file): it computes the rows of the new files alone
and adds them to its day (``activities``: 15 s for the day's million events late in the day).

A step that reads the days before its own as well (the vocabulary checks read a week) keeps what
it computed of each of them with :func:`per_day`, and computes again only the days whose files
changed (in any run, for the days before its own).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable

import dagster as dg

from dsassets.lib.config import settings
from dsassets.lib.config.project import ProjectConfig, config_path, project_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform.files import SQL_DIR

# The run tag that turns skipping on (the intra-day refresh sets it; backfills always recompute).
SKIP_TAG = "dsassets/skip_unchanged"
# Settings that cannot change what a step writes: the clock, where things are, resources.
NOT_INPUTS = frozenset(e.name for e in (
    settings.SIMULATOR_NOW, settings.DATA_DIR, settings.LOCAL_DIR, settings.DUCKDB_MEMORY_LIMIT,
    settings.REFRESH_MINUTES, settings.BACKFILL_DAYS_PER_RUN,
))
# Top-level folders of the lake that are nobody's input although they hold Parquet: scratch files
# not yet published (a step running beside this one writes there), DuckDB's spill, and the
# detections' monthly first-seen rollups and the users marts' history (caches of inputs already).
NOT_LAKE_INPUTS = frozenset({".tmp", ".duckdb-tmp", ".first-seen", ".history", ".graph-audits"})
# Days before the one recorded whose records are dropped: only the day being refreshed needs one.
KEEP_DAYS = 2
# Where assets that are not SQL models or raw datasets write, and what an asset writes besides its
# own folder; every other asset writes warehouse/<name>/ (raw datasets raw/<system>/<name>/).
OUTPUTS = {
    "alerts": ("warehouse/alerts", "warehouse/suppressed_alerts"),
    "governance_actions": ("governance",),
    "notifications": ("notify",),
}
# Files no asset writes whose readers are known: they count only for those assets (and, through
# their outputs, for what reads them). An analyst resolves or assigns alerts all day; the status
# ledger is read by the CLI and the warehouse views only, so it must not recompute the day.
# tests/test_refresh_unchanged.py fails when a new module reads the triage package.
SIDE_INPUTS = {
    "triage/suppressions.parquet": frozenset({"alerts", "governance_actions"}),
    "triage/alert_status.parquet": frozenset(),
}
PACKAGE_DIR = Path(__file__).resolve().parents[2]


def wanted(context) -> bool:
    """Whether this step may be skipped: a one-day step of a run that asks for it."""
    return context.run.tags.get(SKIP_TAG) == "true" and len(context.partition_keys) == 1


@dataclass(frozen=True)
class Growth:
    """A step whose day grows with the new files of one raw dataset's day.

    Each of the step's rows comes from one row of ``dataset`` and inputs that do not change when
    that day gains files. ``derived``: models of the same day that read nothing but ``dataset``
    and inputs the step reads too, and whose rows for what the day held before stay the same, so
    their change follows from the new files (``int_ip_addresses``: a new address adds a row, and
    the rows of the addresses seen before keep what the step reads of them).
    """

    dataset: str
    derived: tuple[str, ...] = ()

    def day_folder(self, day: date) -> str:
        return Lake.day_folder(self.dataset, day)

    def varying(self, day: date) -> tuple[str, ...]:
        """The folders whose files may change without the step's earlier rows changing."""
        return (self.day_folder(day), *(f"{folder}/dt={day.isoformat()}" for model in self.derived
                                        for folder in outputs_of(dg.AssetKey(model))))


def run_or_recall(
    context, lake: Lake, step: str, compute: Callable[[], Any], *, keys: Iterable[dg.AssetKey],
    also_readable: Iterable[dg.AssetKey] = (), outputs: Iterable[str] = (),
    growth: Growth | None = None, append: Callable[[list[str], Any], Any] | None = None,
) -> tuple[Any, str | None]:
    """``(compute(), None)``, or ``(what the step's last run for the day reported, that run's id)``
    when nothing it reads has changed since and its ``outputs`` are still the files it wrote.

    ``step`` names the record; ``keys`` are the assets the step computes (it reads everything
    upstream of them, and ``also_readable``); ``compute`` returns what the step reports, a value
    ``dg.serialize_value`` takes. A range of days, or a run that does not ask, always computes.
    With ``growth``, when the day of its dataset only gained files since the last run (whose files
    are still the step's) and nothing else it reads changed, ``append(new files, what that run
    reported)`` adds their rows and returns what the step reports now.
    """
    if not wanted(context):
        return compute(), None
    day = date.fromisoformat(context.partition_keys[0])
    outputs = tuple(outputs)
    code = code_digest(project_config())  # once: the steady fingerprint below repeats it
    stamps = input_stamps(lake, unreadable(context.job_def.asset_layer.asset_graph, keys, also_readable))
    inputs = fingerprint(code, step, day, stamps)
    own = own_files(lake, outputs, day)
    record = recall(lake, step, day)
    if record is not None and record.inputs == inputs and record.outputs == own:
        return dg.deserialize_value(record.report), record.run_id
    steady, grown = None, {}
    if growth is not None:
        varying = growth.varying(day)
        steady = fingerprint(code, step, day, {rel: s for rel, s in stamps.items() if not _under(rel, varying)})
        grown = {rel: s for rel, s in stamps.items() if _under(rel, (growth.day_folder(day),))}
    forget(lake, step, day)
    added = _added(record, steady, grown, own) if append is not None else []
    reported = append(added, dg.deserialize_value(record.report)) if added else compute()
    remember(lake, step, day, Record(inputs, own_files(lake, outputs, day), dg.serialize_value(reported),
                                     context.run.run_id, steady, grown))
    return reported, None


def per_day(
    context, lake: Lake, name: str, days: Iterable[date], folder: Callable[[date], str],
    compute: Callable[[date, date], dict[date, Any]],
) -> dict[date, Any]:
    """``{day: value}`` for each of ``days``, where a day's value depends on the code, the settings
    and the files under ``folder(day)`` alone, and is JSON.

    ``compute(first, end)`` gives the values of the days ``first <= day < end`` (a day it leaves out
    has ``None``). Every run records what it computed of each day with the fingerprint of what the
    day was computed from; a day whose files and code are what they were when ``name`` last computed
    it is recalled, and each run of the other days is computed in one call. Which days may be
    recalled: in a run that asks (the refresh, which reads the days before its own again and again),
    all of them; in any other run, the days before its own partitions, so a scheduled run or a
    backfill computes the days it is run for and recalls only the lookback that the runs of those
    days computed (at a million events a day, the vocabulary checks' week of staged events was
    2.3 s of every daily run). Records live in ``.unchanged/<name>/``; those of days before
    ``days`` go.
    """
    days = sorted(days)
    if not days:
        return {}
    own = set() if wanted(context) else {date.fromisoformat(key) for key in context.partition_keys}
    code = code_digest(project_config())
    inputs = {day: fingerprint(code, name, day, lake.stamps(folder(day), _skip_under(()))) for day in days}
    values: dict[date, Any] = {}
    for day in days:
        if day in own:
            continue
        try:
            kept = json.loads(_record_path(lake, name, day).read_text())
        except (OSError, ValueError):
            continue  # none yet, or unreadable: computed below
        if isinstance(kept, dict) and kept.get("inputs") == inputs[day]:
            values[day] = kept.get("value")
    missing = [day for day in days if day not in values]
    for first, last in _runs(missing):
        found = compute(first, last + timedelta(days=1))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1)):
            values[day] = found.get(day)
            _write_whole(_record_path(lake, name, day), {"inputs": inputs[day], "value": values[day]})
    for old in _record_path(lake, name, days[0]).parent.glob("*.json"):
        if old.stem < days[0].isoformat():
            old.unlink(missing_ok=True)
    return values


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, ``(first, last)`` each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _under(rel: str, folders: tuple[str, ...]) -> bool:
    return any(rel == f or rel.startswith(f"{f}/") for f in folders)


def _added(record: Record | None, steady: str | None, grown: dict[str, str], own: dict[str, str]) -> list[str]:
    """The files the dataset's day gained since ``record``'s run, when that is all that changed:
    the rest of the inputs are the same, every file it read is there unchanged, and the step's
    own files are still the ones it wrote. Otherwise none (the step recomputes)."""
    if record is None or record.steady is None or record.steady != steady or record.outputs != own:
        return []
    if any(grown.get(rel) != stamp for rel, stamp in record.grown.items()):
        return []  # a file read before was rewritten or removed (the day compacted, say)
    return sorted(set(grown) - set(record.grown))


def note(since: str | None, kept: str) -> dict:
    """The metadata that says a step reported an earlier run's result (none when it computed)."""
    return {} if since is None else {
        "dsassets/unchanged": dg.MetadataValue.text(f"inputs unchanged since run {since}: {kept}")}


def outputs_of(key: dg.AssetKey) -> tuple[str, ...]:
    """The lake folders asset ``key`` writes (relative to the lake root)."""
    name = key.to_user_string()
    if name in OUTPUTS:
        return OUTPUTS[name]
    if name.startswith("raw_"):
        return (Lake.dataset_path(name),)
    return (f"warehouse/{name}",)


def unreadable(graph, keys: Iterable[dg.AssetKey], also_readable: Iterable[dg.AssetKey] = ()) -> tuple[str, ...]:
    """The folders (and files) a step of the assets ``keys`` cannot read: the outputs of every asset
    not upstream of them, their own included (``also_readable``: what it reads although lineage does
    not say so, such as a check's own asset), and the side inputs none of them reads."""
    keys = list(keys)
    readable = set(also_readable)
    for key in keys:
        readable |= graph.get_ancestor_asset_keys(key)
    names = {k.to_user_string() for k in (*keys, *readable)}
    return tuple(sorted({path for other in graph.get_all_asset_keys() if other not in readable
                         for path in outputs_of(other)}
                        | {path for path, readers in SIDE_INPUTS.items() if not readers & names}))


@functools.lru_cache(maxsize=1)
def _package_digest() -> str:
    """The package's and ``sql/``'s files (contents): fixed for the life of a process."""
    digest = hashlib.sha256()
    for root in (PACKAGE_DIR, SQL_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_digest(config: ProjectConfig) -> str:
    """The code, the config (as read, and its policy files), the intel lists and the settings."""
    from dsassets.lib.intel.update import intel_dir
    from dsassets.lib.policies.model import resolve_files

    digest = hashlib.sha256(_package_digest().encode())
    digest.update(repr(config).encode())
    # The files the policies load from, found as they are (absolute patterns and ~ included).
    files = resolve_files(list(config.activity_policies.files), config_path().parent)
    for path in (p for p in files if p.is_file()):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    intel = intel_dir(config)
    if intel.is_dir():
        for path in sorted(intel.rglob("*")):
            if path.is_file():
                info = path.stat()
                digest.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    for name in sorted(os.environ):
        if name.startswith("DSASSETS_") and name not in NOT_INPUTS:
            digest.update(f"{name}={os.environ[name]}\0".encode())
    return digest.hexdigest()


def _skip_under(prefixes: tuple[str, ...]):
    excluded = set(prefixes) | NOT_LAKE_INPUTS
    return lambda rel: rel in excluded


def input_stamps(lake: Lake, unreadable_paths: tuple[str, ...]) -> dict[str, str]:
    """Every Parquet file of the lake a step could read, with its stamp (the lake's data is Parquet;
    its other files are state, such as the stream's cursor, which a refresh rewrites whether or not
    it read anything)."""
    return {rel: stamp for rel, stamp in lake.stamps("", _skip_under(unreadable_paths)).items()
            if rel.endswith(".parquet")}


def fingerprint(code: str, step: str, day: date, stamps: dict[str, str]) -> str:
    """The step's inputs for ``day``: code and settings (``code``, :func:`code_digest`), and the
    files it could read (``stamps``)."""
    digest = hashlib.sha256(f"{step}\0{day.isoformat()}\0{code}\0".encode())
    for rel, stamp in sorted(stamps.items()):
        digest.update(f"{rel}={stamp}\0".encode())
    return digest.hexdigest()


def own_files(lake: Lake, paths: Iterable[str], day: date) -> dict[str, str]:
    """The step's own files of ``day`` (with their stamps): what must still be there to skip."""
    found: dict[str, str] = {}
    for path in paths:
        found.update(lake.stamps(f"{path}/dt={day.isoformat()}", _skip_under(())))
    return found


@dataclass(frozen=True)
class Record:
    """What a step's last run for a day read (``inputs``), wrote (``outputs``) and reported.

    For a step with a :class:`Growth`: ``steady``, its inputs except the folders that may grow,
    and ``grown``, the files of its dataset's day it has read (with their stamps)."""

    inputs: str
    outputs: dict[str, str]
    report: str  # dg.serialize_value of what the step reported
    run_id: str
    steady: str | None = None
    grown: dict[str, str] = field(default_factory=dict)


def _record_path(lake: Lake, step: str, day: date) -> Path:
    return lake.local_dir / ".unchanged" / step / f"{day.isoformat()}.json"


def recall(lake: Lake, step: str, day: date) -> Record | None:
    """The step's record for ``day``, if it has a readable one."""
    try:
        return Record(**json.loads(_record_path(lake, step, day).read_text()))
    except (OSError, ValueError, TypeError):
        return None  # none yet, or unreadable: recompute and write a new one


def remember(lake: Lake, step: str, day: date, record: Record) -> None:
    """Keep ``record`` for the step's next run of ``day`` (written whole, then moved into place)."""
    path = _record_path(lake, step, day)
    _write_whole(path, record.__dict__)
    oldest = (day - timedelta(days=KEEP_DAYS)).isoformat()
    for old in path.parent.glob("*.json"):
        if old.stem < oldest:
            old.unlink(missing_ok=True)


def _write_whole(path: Path, content: dict) -> None:
    """``content`` as JSON at ``path``, written beside it and moved into place: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(content))
    os.replace(tmp, path)


def forget(lake: Lake, step: str, day: date) -> None:
    """Drop the record before a step rewrites its files, so a failure half-way never reads as unchanged."""
    _record_path(lake, step, day).unlink(missing_ok=True)
