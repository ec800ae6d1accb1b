"""The performance targets of issue #14 and each measured row's verdict against its own.

The targets are stated for 1,000,000 events a day on the 2-core test machine (the simulator's
organization then has 66,666 users), the models' for one day, the 30-day figures for 30 days.
``dsassets bench`` prints a target under each row it measured; it judges the row only at the
scale the target is stated for and says "not judged" otherwise, since a target at a million
events a day says nothing about a run at ten thousand.

The targets say GB; the bench measures MiB. A GB here is 10^9 bytes (953.7 MiB), the stricter
reading.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_EVENTS_PER_DAY = 1_000_000
MIB_PER_GB = 1e9 / 2**20


@dataclass(frozen=True)
class Target:
    """Upper bounds on seconds, MiB and times the floor; a lower bound on events per second.

    ``days``: the days a run must cover for the target to apply (``None``: any)."""

    text: str
    seconds: float | None = None
    mib: float | None = None
    events_per_s: float | None = None
    x_floor: float | None = None
    days: int | None = None

    def verdict(self, *, events_per_day: int, days: int, seconds: float | None = None, mib: float | None = None,
                events_per_s: float | None = None, x_floor: float | None = None) -> str:
        """``met``, ``missed: <each bound missed>``, or ``not judged: <why>``."""
        if events_per_day != TARGET_EVENTS_PER_DAY:
            return f"not judged: stated for {TARGET_EVENTS_PER_DAY:,} events a day"
        if self.days is not None and days != self.days:
            return f"not judged: stated for {self.days} day{'s' if self.days > 1 else ''}"
        bounds = (("seconds", self.seconds, seconds, "s"), ("mib", self.mib, mib, "MiB"),
                  ("x_floor", self.x_floor, x_floor, "x floor"))
        missed = []
        for name, bound, value, unit in bounds:
            if bound is None:
                continue
            if value is None:
                raise ValueError(f"target {self.text!r} bounds {name}: the row must give it")
            if value > bound:
                missed.append(f"{value:,.1f} {unit} > {bound:,.0f}")
        if self.events_per_s is not None:
            if events_per_s is None:
                raise ValueError(f"target {self.text!r} bounds events_per_s: the row must give it")
            if events_per_s < self.events_per_s:
                missed.append(f"{events_per_s:,.0f} events/s < {self.events_per_s:,.0f}")
        return "met" if not missed else "missed: " + "; ".join(missed)

    def line(self, **measured) -> str:
        """The line the bench prints under the row: the target and its verdict."""
        return f"{'':<20}target {self.text}: {self.verdict(**measured)}"


TARGETS = {
    "extract_events": Target(">= 60,000 events/s through the real client, <= 1.5 GB",
                             events_per_s=60_000, mib=1.5 * MIB_PER_GB),
    "extract_snapshots": Target("66k users' snapshots <= 60 s", seconds=60),
    "models": Target("one day's models <= 15 s, <= 2 GB", seconds=15, mib=2 * MIB_PER_GB, days=1),
    # ``days``: the day and its history, as --replicate-days counts them.
    "detections_day": Target("one day's six detections, 30 days of history, <= 10 s", seconds=10, days=30),
    "detections": Target("a 30-day detection backfill <= 5x the scan floor", x_floor=5, days=30),
    # Judged on the refresh's own seconds: its wall time less the in-process simulator's answering.
    "refresh_late": Target("a refresh late in the day <= 30 s (wall less the simulator's share)", seconds=30),
    "refresh_nothing_new": Target("a refresh with nothing new <= 10 s (wall less the simulator's share)", seconds=10),
    "backfill": Target("30 days, empty lake to alerts and posture, <= 20 min, <= 4 GB for the process tree",
                       seconds=20 * 60, mib=4 * MIB_PER_GB, days=30),
}
