"""What the late-events benchmark measures, against the simulator's own truth.

The simulator knows every event it holds for a day and when Monitor ingested it; the lake
knows what dsassets stored. These functions compare the two (served vs stored, duplicates,
events filed under another day, late arrivals) and find the alerts a planted incident
raised, so ``dsassets.tools.bench_late`` can print them as tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import numpy as np
import orjson

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.live_stream import day_lateness
from dsassets.lib.lake.raw_events import DATASET


@dataclass
class Stored:
    """Events the simulator served for some days against what the lake stored for them."""

    served: int = 0  # distinct eventIds the simulator holds for the days
    stored: int = 0  # rows in the days' partitions
    duplicates: int = 0  # rows beyond the first of an eventId
    missing: int = 0  # served, not stored
    unknown: int = 0  # stored, never served for that day
    wrong_day: int = 0  # stored in a partition other than their timestamp's UTC day
    late: int = 0  # stored after their day was complete (late files)
    late_days: int = 0
    max_delay_s: float = 0.0

    def add_day(self, lake: Lake, sim, day: date) -> None:
        want = {e["eventId"] for e in sim.events(day)}
        files = [lake.partition_file(DATASET, day, n) for n in lake.list_files(DATASET, day)]
        rows = duckdb.sql(
            "select eventId, timezone('UTC', _event_time)::date <> $day as elsewhere "
            "from read_parquet($files)", params={"files": files, "day": day}).fetchall() if files else []
        have = [r[0] for r in rows]
        self.served += len(want)
        self.stored += len(have)
        self.duplicates += len(have) - len(set(have))
        self.missing += len(want - set(have))
        self.unknown += len(set(have) - want)
        self.wrong_day += sum(1 for r in rows if r[1])
        lateness = day_lateness(lake, day)
        self.late += lateness.late_events
        self.late_days += lateness.late_events > 0
        self.max_delay_s = max(self.max_delay_s, lateness.max_delay_s)

    def rows(self, prefix: str = "") -> list[tuple[str, object]]:
        return [
            (f"{prefix}events served (distinct eventId)", self.served),
            (f"{prefix}events stored", self.stored),
            (f"{prefix}duplicates", self.duplicates),
            (f"{prefix}missing (served, not stored)", self.missing),
            (f"{prefix}stored but never served", self.unknown),
            (f"{prefix}stored in another day", self.wrong_day),
            (f"{prefix}late events (after their day ran)", f"{self.late} on {self.late_days} day(s)"),
            (f"{prefix}largest ingestion delay (lower bound)", f"{self.max_delay_s / 3600:.2f} h"),
        ]


def arrival(sim, truth: dict) -> datetime:
    """When Monitor ingested the incident's last event (the simulator's truth)."""
    from dsassets.simulator.events import event_ids
    from dsassets.simulator.ids import to_datetime

    batch = sim.store.day(truth["ended_at"].date().toordinal())
    ids = event_ids(sim.world.seed, np.full(len(batch), batch.day), batch.cols["idkey"])
    rows = np.isin(ids, truth["event_ids"])
    return to_datetime(int((batch.cols["ts"] + batch.cols["lag"])[rows].max()))


@dataclass(frozen=True)
class Raised:
    """One alert holding a planted incident's events."""

    policy: str
    day: date
    alert_id: str
    late: bool
    ingested_at: str | None


def raised_by(lake: Lake, event_ids: list[str]) -> list[Raised]:
    """The rows of the ``alerts`` mart that hold any of ``event_ids`` (every policy, every day)."""
    pattern = "warehouse/alerts/dt=*/*.parquet"
    if not lake.files(pattern):
        return []
    found = duckdb.sql(
        f"select policy, dt, alert_id, evidence from read_parquet('{lake.url(pattern)}') "
        "where len(list_intersect(event_ids, $ids)) > 0 order by dt, policy",
        params={"ids": list(event_ids)}).fetchall()
    out = []
    for policy, dt, alert_id, evidence in found:
        fields = orjson.loads(evidence) if evidence else {}
        out.append(Raised(policy, dt, alert_id, fields.get("late") is True, fields.get("ingested_at")))
    return out


def table(headers: list[str], rows: list[tuple]) -> str:
    """Rows as a plain aligned text table."""
    cells = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
