"""Measured detection quality: the alerts of a simulated period against the simulator's planted incidents.

An alert *explains* an incident when they share an event id. Per policy:

- **recall** = true incidents of the policy explained by an alert of that policy / true incidents;
- **precision** = alerts of the policy that explain a true incident of that policy (or one that
  legitimately also matches it, ``also_matches``: a Tor exit abroad is also an infrequent
  country) / alerts of the policy. Alerts on a decoy of the policy, on nothing planted or on
  another policy's incident count against it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from dsassets.lib.detections.registry import POLICIES


@dataclass
class PolicyQuality:
    policy: str
    incidents: int = 0
    found: int = 0
    alerts: int = 0
    true_alerts: int = 0
    missed: list[dict] = field(default_factory=list)
    decoys_alerted: list[tuple[dict, dict]] = field(default_factory=list)  # (decoy, alert)
    unexplained: list[dict] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.incidents if self.incidents else None

    @property
    def precision(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None


def evaluate(alerts: list[dict], truth: list[dict]) -> dict[str, PolicyQuality]:
    """Compare alerts (rows of the ``alerts`` mart) with ``DocuSignSimulator.ground_truth``."""
    incident_of: dict[str, dict] = {}
    for t in truth:
        for event_id in t["event_ids"]:
            incident_of[event_id] = t
    # The six anomaly policies always; an activity policy when the simulator planted incidents
    # for it (the example policies). Other activity policies have nothing to be scored against.
    report = {p: PolicyQuality(p) for p in (*POLICIES, *sorted({t["policy"] for t in truth} - set(POLICIES)))}
    found: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        if alert["policy"] not in report:
            continue  # an activity policy the simulator plants nothing for
        q = report[alert["policy"]]
        q.alerts += 1
        matched = {incident_of[e]["incident_id"]: incident_of[e] for e in alert["event_ids"] or [] if e in incident_of}
        true = [t for t in matched.values()
                if not t["is_decoy"] and (t["policy"] == alert["policy"] or alert["policy"] in t["also_matches"])]
        decoys = [t for t in matched.values() if t["is_decoy"] and t["policy"] == alert["policy"]]
        if true:
            q.true_alerts += 1
            for t in true:
                if t["policy"] == alert["policy"]:
                    found[alert["policy"]].add(t["incident_id"])
        elif decoys:
            q.decoys_alerted += [(d, alert) for d in decoys]
        else:
            q.unexplained.append(alert)
    for t in truth:
        if t["is_decoy"]:
            continue
        q = report[t["policy"]]
        q.incidents += 1
        if t["incident_id"] in found[t["policy"]]:
            q.found += 1
        else:
            q.missed.append(t)
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_report(report: dict[str, PolicyQuality], start: date, end: date) -> str:
    lines = [
        f"Detection quality {start} .. {end} (simulator ground truth)",
        f"{'policy':<28}{'incidents':>10}{'found':>7}{'recall':>8}{'alerts':>8}{'precision':>11}{'decoys alerted':>16}",
    ]
    for q in report.values():
        lines.append(
            f"{q.policy:<28}{q.incidents:>10}{q.found:>7}{_pct(q.recall):>8}{q.alerts:>8}"
            f"{_pct(q.precision):>11}{len(q.decoys_alerted):>16}"
        )
    for q in report.values():
        for t in q.missed:
            lines.append(f"  MISSED  {q.policy}: {t['incident_id']} {t['user_email']}: {t['description']}")
        for d, a in q.decoys_alerted:
            lines.append(f"  DECOY ALERTED  {q.policy}: {d['incident_id']}: {d['description']} "
                         f"(alert {a['alert_id'][:12]})")
        for a in q.unexplained:
            lines.append(f"  UNEXPLAINED  {q.policy}: alert {a['alert_id'][:12]} {a['user_email']} "
                         f"{a['started_at']:%Y-%m-%d %H:%M}: {a['description']}")
    return "\n".join(lines)


def perfect(report: dict[str, PolicyQuality]) -> bool:
    return all(not q.missed and not q.decoys_alerted and not q.unexplained for q in report.values())


def read_alerts(lake, start: date, end: date) -> tuple[list[dict], list[date]]:
    """Alerts of ``[start, end]`` (inclusive) from ``lake``, and the days without an alerts partition."""
    from datetime import timedelta

    import duckdb

    from dsassets.lib.transform import sql

    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    stored = set(lake.files(f"{sql.model_path('alerts')}/dt=*/data.parquet"))
    missing = [d for d in days if f"{sql.model_path('alerts')}/dt={d.isoformat()}/data.parquet" not in stored]
    present = [sql.model_day_file(lake, "alerts", d) for d in days if d not in missing]
    if not present:
        return [], missing
    with lake.register(duckdb.connect()) as con:
        con.execute("set TimeZone = 'UTC'")
        cur = con.execute("select * from read_parquet(?, hive_partitioning = true)", [present])
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()], missing


def quality_command(args, lake, backfill) -> int:
    """``dsassets quality --start A --end B [--backfill]``: print precision/recall per policy."""
    from datetime import timedelta

    from dsassets.lib.config.settings import SIMULATOR_EVENTS_PER_DAY, SIMULATOR_SEED, docusign_settings_from_env
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    if docusign_settings_from_env() is not None:
        print("quality compares with the simulator's planted incidents: unset DOCUSIGN_*", file=sys.stderr)
        return 1
    if args.backfill:
        first = args.start - timedelta(days=args.history_days)
        print(f"Backfilling {first}..{args.end} ({args.history_days} days of history first) into {lake.root}")
        if not backfill(first, args.end):
            return 1
    alerts, missing = read_alerts(lake, args.start, args.end)
    if missing:
        print(
            f"no alerts partition for {len(missing)} day(s) ({missing[0]} .. {missing[-1]}) in {lake.root}: "
            f"run `dsassets quality --start {args.start} --end {args.end} --backfill` (backfills "
            f"{args.history_days} days of history before the period too)",
            file=sys.stderr,
        )
        return 1
    sim = DocuSignSimulator(SimulatorConfig(seed=SIMULATOR_SEED.integer(), events_per_day=SIMULATOR_EVENTS_PER_DAY.integer()))
    truth = sim.ground_truth(args.start, args.end + timedelta(days=1))
    report = evaluate(alerts, truth)
    print(format_report(report, args.start, args.end))
    hint = learning_hint(report, lake, args)
    if hint:
        print(hint)
    return 0 if perfect(report) else 2


def learning_hint(report: dict[str, PolicyQuality], lake, args) -> str | None:
    """Why incidents were missed when the lake holds less history than the baselines need."""
    missed = sum(len(q.missed) for q in report.values())
    days = lake.partitions("raw_docusign_audit_events")
    history = (args.start - days[0]).days if days else 0
    if not missed or history >= args.history_days:
        return None
    return (
        f"\n{missed} missed: the lake holds {history} day(s) of history before {args.start}, and the "
        f"location and failed-login policies learn each user for 7 days and compare with a 30-day "
        f"baseline, so they stay quiet during that learning period (the demo's week is all of its history). "
        f"Measure with baselines: dsassets quality --start {args.start} --end {args.end} --backfill "
        f"(backfills {args.history_days} days before {args.start} first)."
    )
