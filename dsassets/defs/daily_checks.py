"""Asset checks on the daily assets whose results are attached to each day of the run.

Dagster ties an ``AssetCheckResult`` to a partition only when the step runs a single partition.
The demo, ``dsassets backfill`` and single-run backfills run a range of days in one step, so a
plain check result had no partition: the day-by-day rows Dagster plans for a partitioned check
stayed "planned" and the UI listed the check as skipped on every day while its one range-wide
evaluation said passed.

A check made with :func:`daily_check` returns one result per day of the run instead, computed
from that day's data alone; each becomes the ``AssetCheckEvaluation`` of its own partition,
pointing at that partition's latest materialization (what the UI compares to tell a current
check from a stale one). Blocking still works: Dagster fails the step on any failed day of a
blocking ERROR check, which keeps the downstream assets from running.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date

import dagster as dg
# Not exported by dagster; the type of AssetCheckEvaluation.target_materialization_data.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as Target,
)

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import DAILY, window_dates
from dsassets.lib.transform import unchanged
from dsassets.lib.transform.sql import days_in

DayResults = Mapping[date, dg.AssetCheckResult]


def run_days(context: dg.AssetCheckExecutionContext) -> list[date]:
    """The days (partitions) the check evaluates in this run, oldest first."""
    return list(days_in(*window_dates(context)))


def _targets(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Iterable[str]) -> dict[str, Target]:
    """The latest materialization of each partition in ``keys``, in two queries whatever the range."""
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(keys))
    if not latest:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(latest.values())), limit=len(latest)
    ).records
    return {r.partition_key: Target(storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp)
            for r in records}


def evaluations(
    context: dg.AssetCheckExecutionContext, spec: dg.AssetCheckSpec, results: DayResults
) -> list[dg.AssetCheckEvaluation]:
    """One evaluation per day of the run, each with its own day's result."""
    days = run_days(context)
    if set(results) != set(days):
        missing = sorted(set(days) - set(results))
        extra = sorted(set(results) - set(days))
        raise dg.Failure(f"check {spec.name} on {spec.asset_key.to_user_string()} must give one result per "
                         f"day of the run; missing {missing or 'none'}, outside the run {extra or 'none'}")
    targets = _targets(context.instance, spec.asset_key, (d.isoformat() for d in days))
    return [
        dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=results[day].passed,
            metadata=results[day].metadata,
            target_materialization_data=targets.get(day.isoformat()),
            severity=results[day].severity,
            description=results[day].description,
            blocking=spec.blocking,
            partition=day.isoformat(),
        )
        for day in days
    ]


def daily_check(
    *, asset, name: str | None = None, description: str | None = None, blocking: bool = False,
    additional_deps: Iterable | None = None, uses_clock: bool = False, op_tags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., DayResults]], dg.AssetChecksDefinition]:
    """``@dg.asset_check`` over the daily partitions, for a function that returns a result per day.

    The function takes the check's context and resources like any asset check and returns
    ``{day: AssetCheckResult}`` for every day of :func:`run_days` (a one-day run included).

    In a run that asks for it (the intra-day refresh), a check that takes the ``lake`` resource
    repeats its last result for the day when nothing it reads changed since; one whose verdict
    depends on the time as well (``uses_clock``, e.g. freshness) is always evaluated.
    """

    # What the check reads: its asset, what that asset reads, and the additional deps.
    read = [_key(a) for a in (asset, *(additional_deps or ()))]

    def decorate(fn: Callable[..., DayResults]) -> dg.AssetChecksDefinition:
        def evaluate(context: dg.AssetCheckExecutionContext, **resources) -> Iterator:
            spec = context.check_specs[0]
            lake = resources.get("lake")
            if lake is None or uses_clock:
                yield from evaluations(context, spec, fn(context, **resources))
            else:
                yield from evaluations(context, spec, _unless_unchanged(
                    context, spec, lake.lake, read, lambda: fn(context, **resources)))
            # The check's output: what Dagster yields itself after a returned AssetCheckResult.
            yield dg.Output(None)

        return dg.asset_check(
            asset=asset, name=name or fn.__name__, description=description or inspect.getdoc(fn),
            blocking=blocking, additional_deps=additional_deps, partitions_def=DAILY, op_tags=op_tags,
        )(_signed_like(evaluate, fn))

    return decorate


def daily_checks(
    *, asset, checks: Mapping[str, str],
) -> Callable[[Callable[..., Mapping[str, DayResults]]], dg.AssetChecksDefinition]:
    """Several warning checks (``{name: description}``) of ``asset`` evaluated in one step, for a
    function that returns ``{name: {day: AssetCheckResult}}``: what they all read (a scan of the
    range) is read once, and each check keeps its own name, verdicts and, in the intra-day
    refresh, its own repeated result when nothing it reads changed (as :func:`daily_check`).
    """
    read = [_key(asset)]
    specs = [dg.AssetCheckSpec(name, asset=asset, description=text, partitions_def=DAILY)
             for name, text in checks.items()]

    def decorate(fn: Callable[..., Mapping[str, DayResults]]) -> dg.AssetChecksDefinition:
        def evaluate(context: dg.AssetCheckExecutionContext, **resources) -> Iterator:
            computed: list[Mapping[str, DayResults]] = []

            def results_of(spec: dg.AssetCheckSpec) -> DayResults:
                if not computed:  # once, and only when some check is not repeated
                    computed.append(fn(context, **resources))
                return computed[0][spec.name]

            lake = resources.get("lake")
            for spec in specs:
                results = (results_of(spec) if lake is None else
                           _unless_unchanged(context, spec, lake.lake, read, lambda spec=spec: results_of(spec)))
                yield from evaluations(context, spec, results)
                yield dg.Output(None, output_name=spec.get_python_identifier())

        return dg.multi_asset_check(specs=specs, name=fn.__name__, description=inspect.getdoc(fn))(
            _signed_like(evaluate, fn))

    return decorate


def _key(asset) -> dg.AssetKey:
    return asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey.from_coercible(asset)


def _signed_like(evaluate: Callable, fn: Callable) -> Callable:
    """``evaluate`` under ``fn``'s name and signature. Dagster reads the context type and the
    resources from the signature: the function's own (annotations resolved in its module, not
    this one), without its return type (the op's output carries nothing)."""
    evaluate.__signature__ = inspect.signature(fn, eval_str=True).replace(
        return_annotation=inspect.Signature.empty)
    evaluate.__name__ = fn.__name__
    return evaluate


def _unless_unchanged(
    context: dg.AssetCheckExecutionContext, spec: dg.AssetCheckSpec, lake: Lake, read: list[dg.AssetKey],
    check: Callable[[], DayResults],
) -> DayResults:
    """The check's results, or those of its last run for the day when nothing it reads has changed
    since (see :mod:`dsassets.lib.transform.unchanged`), marked as such."""

    def compute() -> dict:
        return {day.isoformat(): {"passed": r.passed, "severity": r.severity.value, "description": r.description,
                                  "metadata": r.metadata} for day, r in check().items()}

    results, since = unchanged.run_or_recall(
        context, lake, f"{spec.asset_key.to_user_string()}.{spec.name}", compute, keys=read, also_readable=read)
    repeated = unchanged.note(since, "its result is repeated, not re-evaluated")
    return {date.fromisoformat(day): dg.AssetCheckResult(
        passed=r["passed"], severity=dg.AssetCheckSeverity(r["severity"]), description=r["description"],
        metadata={**r["metadata"], **repeated}) for day, r in results.items()}
