"""Progress a person can follow while the CLI runs a job: one line per stage (asset group) with
its counts and time, Dagster's full DEBUG stream in a log file.

A Dagster logger (``logger_def``) receives every event of the run. It writes them all to
``<local_dir>/logs/dsassets.log`` and prints a line when the last asset of a stage has been
materialized and its checks have run, a line per failed step, a line under the stage per
failed check (checks failing for the same reason share it), and nothing else: logged warnings
are counted for the caller's closing line, which says where to read them.

A check evaluates every day of a range run (one evaluation per partition); the stage counts
checks, not evaluations: a check passed when it passed on every day.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO

import dagster as dg

from dsassets.console.summary import plural

# What a stage's count means, where it is not a plain row count.
STAGE_COUNT = {
    "raw": ("rows", "row_count"),
    "detections": ("alerts", "alert_count"),
    "governance": ("actions planned", "planned"),
    "warehouse": ("views", "relations"),
}


def _number(metadata: dict, name: str) -> int:
    value = metadata.get(name)
    value = getattr(value, "value", value)
    if isinstance(value, dict):  # {"marts": [...], "views": [...]}: how many relations in all
        return sum(len(v) for v in value.values() if isinstance(v, list))
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


@dataclass
class Check:
    """What a check's evaluations in this run add up to."""

    name: str
    days: int = 0
    failed_days: int = 0
    warning: bool = False  # its failures are of warning severity
    reason: str = ""  # the first failure's description, up to its first ";"
    finished: bool = False  # its step is over: no more evaluations will come


@dataclass
class Stage:
    name: str
    expected: set[str]
    done: set[str] = field(default_factory=set)
    # asset key -> the metadata of each of its materializations in this run
    metadata: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    # check key -> its evaluations so far; a stage waits for the checks of the job on its assets
    checks: dict[str, Check] = field(default_factory=dict)
    printed: bool = False

    def complete(self) -> bool:
        return self.done == self.expected and all(c.finished for c in self.checks.values())


class Tracker:
    """Folds a run's events into stages and prints each stage once it is complete."""

    def __init__(self, groups: dict[str, str], out: TextIO | None = None, checks: Iterable[dg.AssetCheckKey] = ()):
        # groups: asset key (user string) -> group name, for the assets the run materializes;
        # checks: the checks the run evaluates (a stage's line waits for those on its assets).
        self.group_of = groups
        self.stages: dict[str, Stage] = {}
        for key, group in groups.items():
            self.stages.setdefault(group, Stage(group, set())).expected.add(key)
        for key in checks:
            group = groups.get(key.asset_key.to_user_string())
            if group is not None:
                self.stages[group].checks[key.to_user_string()] = Check(key.name)
        self.step_checks: dict[str, set[str]] = defaultdict(set)
        self.out = out or sys.stdout
        self.step_started: dict[str, float] = {}
        self.step_groups: dict[str, set[str]] = defaultdict(set)
        self.warnings = 0
        self.failed_steps = 0

    def event(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None:
            if record.levelno >= logging.ERROR:
                self.print(f"  ERROR {meta.get('orig_message') or record.getMessage()}")
            elif record.levelno >= logging.WARNING:
                self.warnings += 1
            return
        kind = event.event_type_value
        if kind == "STEP_START" and step:
            self.step_started[step] = time.monotonic()
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            group = self.group_of.get(key)
            if group is None:
                return
            stage = self.stages[group]
            stage.metadata[key].append(dict(materialization.metadata))
            stage.done.add(key)
            if step:
                self.step_groups[step].add(group)
        elif kind == "ASSET_CHECK_EVALUATION":
            self.evaluation(event.event_specific_data, step)
        elif kind == "STEP_SUCCESS" and step:
            elapsed = time.monotonic() - self.step_started.pop(step, time.monotonic())
            groups = self.step_groups.pop(step, set())
            for group in groups:
                self.stages[group].seconds += elapsed / len(groups)
            self.step_over(step)
        elif kind == "STEP_FAILURE" and step:
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # Dagster wraps the user's exception
                error = error.cause
            message = (error.message if error else "").strip().splitlines()
            self.failed_steps += 1
            self.print(f"  FAILED {step}: {message[-1] if message else ''}")
            self.step_over(step)
        elif record.levelno >= logging.ERROR and not (kind == "PIPELINE_FAILURE" and self.failed_steps):
            # A run that fails outside a step (resources, the instance, the plan) says why here.
            first = (event.message or meta.get("orig_message") or "").strip().splitlines()
            self.print(f"  ERROR {kind}: {first[0] if first else ''}")

    def step_over(self, step: str) -> None:
        """The step's checks have given every evaluation they will: their stages may be complete."""
        keys = self.step_checks.pop(step, set())
        for stage in self.stages.values():
            for key in keys & stage.checks.keys():
                stage.checks[key].finished = True
        self.flush()

    def evaluation(self, evaluation: dg.AssetCheckEvaluation, step: str | None) -> None:
        group = self.group_of.get(evaluation.asset_key.to_user_string())
        if group is None:
            return
        key = evaluation.asset_check_key
        check = self.stages[group].checks.setdefault(key.to_user_string(), Check(key.name))
        if step:
            self.step_checks[step].add(key.to_user_string())
        check.days += 1
        if not evaluation.passed:
            check.failed_days += 1
            check.warning = evaluation.severity == dg.AssetCheckSeverity.WARN
            check.reason = check.reason or (evaluation.description or "").split(";")[0].strip()

    def flush(self, final: bool = False) -> None:
        """Print the stages now complete; ``final``: every stage whose assets are done (the run is
        over: a check whose step never ran will not report)."""
        for stage in self.stages.values():
            if stage.printed or stage.done != stage.expected or not (final or stage.complete()):
                continue
            stage.printed = True
            label = STAGE_COUNT.get(stage.name, ("rows",))[0]
            count = self.count(stage)
            ran = [c for c in stage.checks.values() if c.days]
            failed = [c for c in ran if c.failed_days]
            checks = ""
            if ran:
                checks = f"  checks {len(ran) - len(failed)}/{len(ran)} passed"
                warned = sum(1 for c in failed if c.warning)
                if warned:
                    checks += f" ({plural(warned, 'warning')})"
            self.print(
                f"  {stage.name:<13}{plural(len(stage.expected), 'asset'):>10}  "
                f"{count:>9,} {label:<16}{stage.seconds:6.1f}s{checks}"
            )
            self.failures(failed)

    def failures(self, failed: list[Check]) -> None:
        """A line per reason: checks failing for the same reason (the same placeholder feed
        behind two detections) are named together."""
        by_reason: dict[tuple[bool, str], list[Check]] = defaultdict(list)
        for check in sorted(failed, key=lambda c: c.name):  # the same lines whatever order the steps ran in
            by_reason[(check.warning, check.reason)].append(check)
        for (warning, reason), checks in by_reason.items():
            names = ", ".join(c.name for c in checks)
            # Only a failure on some of the days says on how many (all days is the plain case).
            days = {f"{c.failed_days} of {plural(c.days, 'day')}" for c in checks if c.failed_days < c.days}
            where = f" ({', '.join(sorted(days))})" if days else ""
            if warning:
                # A warning is advice, not a broken run: say what it is about.
                self.print(f"  warning {names}{where}" + (f": {reason}" if reason else ""))
            else:
                self.print(f"  check {names} failed{where}" + (f": {reason}" if reason else ""))

    @staticmethod
    def count(stage: Stage) -> int:
        """The stage's count: one asset's (``alerts`` for the detections) or the sum of its assets'.

        A range run that reports the whole range on each partition's materialization (the same
        metadata on every one) counts once; per-partition numbers add up.
        """
        name = STAGE_COUNT.get(stage.name, ("rows", "dagster/row_count"))[1]
        total = 0
        for key, events in stage.metadata.items():
            if stage.name == "detections" and key != "alerts":
                continue  # the alerts asset is the union of the detections
            if all(e == events[0] for e in events):
                events = events[:1]
            total += sum(_number(e, name) or _number(e, "dagster/row_count") for e in events)
        return total

    def print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


class _TrackerHandler(logging.Handler):
    def __init__(self, tracker: Tracker):
        super().__init__(logging.DEBUG)
        self.tracker = tracker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.tracker.event(record)
        except Exception:  # progress lines must never fail a run
            self.handleError(record)


def log_path(local_dir: Path) -> Path:
    return local_dir / "logs" / "dsassets.log"


def logger_def(tracker: Tracker, to_file: logging.Handler) -> dg.LoggerDefinition:
    """A Dagster logger: every event to ``to_file`` at DEBUG, stage lines through ``tracker``."""

    @dg.logger(description="dsassets CLI progress lines; the full run log in a file")
    def progress(_init_context) -> logging.Logger:
        logger = logging.Logger("dsassets.run", logging.DEBUG)
        logger.addHandler(to_file)
        logger.addHandler(_TrackerHandler(tracker))
        return logger

    return progress


def checks_of(job: dg.JobDefinition) -> set[dg.AssetCheckKey]:
    """The checks ``job`` evaluates."""
    return {key for data in job.asset_layer.data for key in data.assets_def.check_keys}


def groups_of(job: dg.JobDefinition) -> dict[str, str]:
    """Asset key -> group of every asset ``job`` materializes."""
    graph = job.asset_layer.asset_graph
    return {key.to_user_string(): graph.get(key).group_name for key in job.asset_layer.selected_asset_keys}


def execute(
    job: dg.JobDefinition, instance: dg.DagsterInstance, log_file: Path, out: TextIO | None = None, **kwargs
) -> tuple[dg.ExecuteInProcessResult, int]:
    """``job.execute_in_process`` with progress lines (to ``out``, default stdout) instead of
    Dagster's console logger; also how many warnings went to the log file only (the caller's
    closing line names them with the file)."""
    tracker = Tracker(groups_of(job), out, checks_of(job))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    try:
        with_progress = job.with_logger_defs({"progress": logger_def(tracker, to_file)})
        result = with_progress.execute_in_process(
            instance=instance, run_config={"loggers": {"progress": {}}}, raise_on_error=False, **kwargs
        )
    finally:
        to_file.close()
    tracker.flush(final=True)
    return result, tracker.warnings
