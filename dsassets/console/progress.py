"""Progress a person can follow while the CLI runs a job: one line per stage (asset group) with
its counts and time, Dagster's full DEBUG stream in a log file.

A Dagster logger (``logger_def``) receives every event of the run. It writes them all to
``<local_dir>/logs/dsassets.log`` and prints a line when the last asset of a stage has been
materialized, a line per failed step or check, and nothing else: warnings are counted, and
the closing line says where to read them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

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
class Stage:
    name: str
    expected: set[str]
    done: set[str] = field(default_factory=set)
    # asset key -> the metadata of each of its materializations in this run
    metadata: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_warned: int = 0  # failed checks of warning severity, among checks_failed
    printed: bool = False


class Tracker:
    """Folds a run's events into stages and prints each stage once it is complete."""

    def __init__(self, groups: dict[str, str], out: TextIO | None = None):
        # groups: asset key (user string) -> group name, for the assets the run materializes.
        self.group_of = groups
        self.stages: dict[str, Stage] = {}
        for key, group in groups.items():
            self.stages.setdefault(group, Stage(group, set())).expected.add(key)
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
            evaluation = event.event_specific_data
            group = self.group_of.get(evaluation.asset_key.to_user_string())
            if group:
                if evaluation.passed:
                    self.stages[group].checks_passed += 1
                else:
                    self.stages[group].checks_failed += 1
                    where = f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                    if evaluation.severity == dg.AssetCheckSeverity.WARN:
                        self.stages[group].checks_warned += 1
                        # A warning is advice, not a broken run: say what it is about, once.
                        reason = (evaluation.description or "").split(";")[0].strip()
                        self.print(f"  warning {where}" + (f": {reason}" if reason else ""))
                    else:
                        self.print(f"  check {where} failed")
        elif kind == "STEP_SUCCESS" and step:
            elapsed = time.monotonic() - self.step_started.pop(step, time.monotonic())
            groups = self.step_groups.pop(step, set())
            for group in groups:
                self.stages[group].seconds += elapsed / len(groups)
            self.flush()
        elif kind == "STEP_FAILURE" and step:
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # Dagster wraps the user's exception
                error = error.cause
            message = (error.message if error else "").strip().splitlines()
            self.failed_steps += 1
            self.print(f"  FAILED {step}: {message[-1] if message else ''}")
        elif record.levelno >= logging.ERROR and not (kind == "PIPELINE_FAILURE" and self.failed_steps):
            # A run that fails outside a step (resources, the instance, the plan) says why here.
            first = (event.message or meta.get("orig_message") or "").strip().splitlines()
            self.print(f"  ERROR {kind}: {first[0] if first else ''}")

    def flush(self) -> None:
        for stage in self.stages.values():
            if stage.printed or stage.done != stage.expected:
                continue
            stage.printed = True
            label = STAGE_COUNT.get(stage.name, ("rows",))[0]
            count = self.count(stage)
            checks = ""
            if stage.checks_passed or stage.checks_failed:
                total = stage.checks_passed + stage.checks_failed
                checks = f"  checks {stage.checks_passed}/{total} passed"
                if stage.checks_warned:
                    checks += f" ({plural(stage.checks_warned, 'warning')})"
            self.print(
                f"  {stage.name:<13}{plural(len(stage.expected), 'asset'):>10}  "
                f"{count:>9,} {label:<16}{stage.seconds:6.1f}s{checks}"
            )

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


def groups_of(job: dg.JobDefinition) -> dict[str, str]:
    """Asset key -> group of every asset ``job`` materializes."""
    graph = job.asset_layer.asset_graph
    return {key.to_user_string(): graph.get(key).group_name for key in job.asset_layer.selected_asset_keys}


def execute(
    job: dg.JobDefinition, instance: dg.DagsterInstance, log_file: Path, out: TextIO | None = None, **kwargs
) -> dg.ExecuteInProcessResult:
    """``job.execute_in_process`` with progress lines (to ``out``, default stdout) instead of
    Dagster's console logger."""
    tracker = Tracker(groups_of(job), out)
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
    tracker.flush()
    if tracker.warnings:
        tracker.print(f"  ({plural(tracker.warnings, 'warning')}: see {log_file})")
    return result
