"""The simulator's only knobs: a seed and a scale."""

from __future__ import annotations

from dataclasses import dataclass

from dsassets.simulator.ids import guid1, tag


@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulated organisation looks like.

    ``events_per_day`` is the average over a week (weekdays are busier than
    weekends); the workforce grows with it (about one person per 15 events a
    day, at least 40, at most 80,000). ``organization_id`` is derived from the
    seed unless given.
    """

    seed: int = 20240601
    events_per_day: int = 600
    organization_id: str = ""
    # Share of events Monitor ingests hours late (after an outage on DocuSign's side):
    # 0 (default) keeps every lag within minutes; e.g. 0.01 delays 1% by 1.5-4.5 hours.
    late_share: float = 0.0
    # Planted incidents of these detections (true ones, not decoys) are ingested 1-3 hours into
    # the next day, as after an outage at the end of their day: an attack the day's run cannot see.
    late_policies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.events_per_day < 1:
            raise ValueError("events_per_day must be positive")
        if not 0.0 <= self.late_share <= 1.0:
            raise ValueError("late_share must be between 0 and 1")
        if not self.organization_id:
            object.__setattr__(self, "organization_id", guid1(self.seed, tag("organization")))

    @property
    def regular_users(self) -> int:
        return int(min(80_000, max(40, round(self.events_per_day / 15))))
