"""Late events re-check their day: a sensor that re-materializes what read the day without them.

The live read of the Monitor stream (``dsassets.lib.lake.live_stream``) stores events of a day
that was already complete as late files and records a materialization of that day's raw
partition with ``late: true``. This sensor follows those materializations and requests, for
each, every downstream (asset, day) that depends on the late day through the assets' own
partition mappings (the same day, and the later days whose lookback includes it) and that
was last materialized *before* the late events were stored: what ran after them already saw
them. The raw extraction itself is never requested (the events are stored already).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import dagster as dg

from dsassets.defs.jobs import DAILY_GROUPS, daily_job
from dsassets.lib.lake.raw_events import DATASET

RAW = dg.AssetKey(DATASET)
# Re-checked: models, detections, policies, posture and governance. Not the raw group: its
# extraction would re-read the stream, and its snapshots describe the present, not the past day.
RECHECK = dg.AssetSelection.groups(*(g for g in DAILY_GROUPS if g != "raw"))
BATCH = 50  # late materializations looked at per tick
LATE_DAYS_TAG = "dsassets/late_days"


def stale_partitions(graph, instance: dg.DagsterInstance, day: str, stored_at: int,
                     selected: set[dg.AssetKey], now: datetime) -> dict[str, set[dg.AssetKey]]:
    """Per day, the selected assets that depend on raw ``day`` and last ran before ``stored_at``."""
    reached: dict[dg.AssetKey, set[str]] = defaultdict(set)
    frontier = [(RAW, day)]
    while frontier:
        key, partition = frontier.pop()
        parent_def = graph.get(key).partitions_def
        for child in graph.get(key).child_keys:
            child_def = graph.get(child).partitions_def
            if child not in selected or child_def is None:
                continue
            mapping = graph.get_partition_mapping(child, key)
            downstream = mapping.get_downstream_partitions_for_partitions(
                parent_def.subset_with_partition_keys([partition]), parent_def, child_def,
                current_time=now, dynamic_partitions_store=instance,
            )
            for q in downstream.get_partition_keys():
                if q not in reached[child]:
                    reached[child].add(q)
                    frontier.append((child, q))
    stale: dict[str, set[dg.AssetKey]] = defaultdict(set)
    for key, partitions in reached.items():
        latest = instance.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions)
        for q, storage_id in latest.items():
            if storage_id < stored_at:
                stale[q].add(key)
    return stale


@dg.sensor(
    job=daily_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-materializes the models, detections, policies, posture and governance of a day "
    "(and of the later days whose lookback includes it) when late audit events reach that day.",
)
def late_events_sensor(context: dg.SensorEvaluationContext):
    """One run per affected day, with exactly the assets that read the late day before its late events."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW, after_storage_id=after), limit=BATCH, ascending=True,
    ).records
    if not records:
        return dg.SkipReason("no new audit-event materializations")
    graph = context.repository_def.asset_graph
    selected = set(RECHECK.resolve(graph))
    now = datetime.now(timezone.utc)
    wanted: dict[str, set[dg.AssetKey]] = defaultdict(set)
    late_ids: dict[str, list[int]] = defaultdict(list)
    because: dict[str, set[str]] = defaultdict(set)  # per requested day, the late days behind it
    for record in records:
        materialization = record.asset_materialization
        meta = materialization.metadata if materialization else {}
        late = meta.get("late")
        if materialization is None or not (late is True or getattr(late, "value", None) is True):
            continue
        for partition, keys in stale_partitions(graph, context.instance, materialization.partition,
                                                record.storage_id, selected, now).items():
            wanted[partition] |= keys
            late_ids[partition].append(record.storage_id)
            because[partition].add(materialization.partition)
    context.update_cursor(str(records[-1].storage_id))
    if not wanted:
        return dg.SkipReason(f"{len(records)} materialization(s), nothing read a late day before its events")
    return [
        dg.RunRequest(
            run_key=f"late-{partition}-{max(late_ids[partition])}",
            partition_key=partition,
            asset_selection=sorted(keys, key=lambda k: k.to_user_string()),
            # Why the run exists, readable in the UI: the days whose late events it re-checks.
            tags={"dsassets/recheck": "late_events", LATE_DAYS_TAG: ",".join(sorted(because[partition]))},
        )
        for partition, keys in sorted(wanted.items())
    ]
