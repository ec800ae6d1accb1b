"""Benchmark: ``python -m dsassets.simulator.bench --events-per-day 1000000``.

Prints the time to generate one day and the rate of serving 2000-event pages
(the page text is built straight from the arrays, JSON included).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from dsassets.simulator.config import SimulatorConfig
from dsassets.simulator.simulator import DocuSignSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsassets.simulator.bench")
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--date", default="2024-06-11", help="a weekday to generate (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    day = datetime.fromisoformat(args.date).replace(tzinfo=UTC)
    now = day + timedelta(days=2)
    sim = DocuSignSimulator(SimulatorConfig(seed=args.seed, events_per_day=args.events_per_day), now=lambda: now)

    t0 = time.perf_counter()
    batch = sim.store.day(day.date().toordinal())
    gen = time.perf_counter() - t0
    print(f"generated {len(batch):,} events for {day.date()} in {gen:.2f} s")

    t0 = time.perf_counter()
    sim.store.bucket(day.date().toordinal())
    print(f"ingestion bucket (needs the previous day too) in {time.perf_counter() - t0:.2f} s")

    cursor = day.strftime("%Y-%m-%dT%H:%M:%SZ")
    cursor, _ = sim.store.page(cursor, 2000, sim.now_ticks())
    t0 = time.perf_counter()
    served = 0
    for _ in range(args.pages):
        cursor, events = sim.store.page(cursor, 2000, sim.now_ticks())
        served += len(events)
    elapsed = time.perf_counter() - t0
    print(
        f"served {args.pages} pages of 2000 ({served:,} events) in {elapsed:.2f} s: "
        f"{elapsed / args.pages * 1000:.1f} ms/page, {served / elapsed:,.0f} events/s (JSON text included)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
