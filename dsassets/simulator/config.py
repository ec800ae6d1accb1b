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

    def __post_init__(self) -> None:
        if self.events_per_day < 1:
            raise ValueError("events_per_day must be positive")
        if not self.organization_id:
            object.__setattr__(self, "organization_id", guid1(self.seed, tag("organization")))

    @property
    def regular_users(self) -> int:
        return int(min(80_000, max(40, round(self.events_per_day / 15))))
