"""Warnings when the IP lists the anonymous/suspicious IP detections match against are stale or placeholders."""

from datetime import datetime, timezone

import dagster as dg

from dsassets.lib.config.project import load_config
from dsassets.lib.detections import engine as detections
from dsassets.lib.intel import ip_intel, update
from dsassets.lib.lake.partitions import DAILY

PLACEHOLDER = (
    "{name} ({path}) is the placeholder list shipped with dsassets, not a live feed (it holds the "
    "simulator's addresses); run `dsassets intel update` and set its ip_lists path to intel:<name>"
)


def list_problems(policy: str, today=None) -> tuple[list[str], dict]:
    """Problems of the lists feeding ``policy``: placeholders and lists older than max_age_days."""
    config = load_config()
    today = today or datetime.now(timezone.utc).date()
    max_age = config.detections.intel.max_age_days
    problems, ages = [], {}
    for i, entry in enumerate(config.detections.ip_lists):
        if entry.policy != policy:
            continue
        listed = ip_intel.read_list(entry, f"detections.ip_lists[{i}]", config)
        age = update.list_age_days(listed.as_of, today)
        ages[entry.name] = {"file": listed.path, "as_of": listed.as_of, "age_days": age}
        if entry.path.startswith(ip_intel.BUILTIN):
            problems.append(PLACEHOLDER.format(name=entry.name, path=entry.path))
        if age is None or age > max_age:
            problems.append(f"{entry.name} ({listed.path}) is {'undated' if age is None else f'{age} days old'}; "
                            f"lists older than {max_age} days (detections.intel.max_age_days) miss today's "
                            "addresses: run `dsassets intel update`")
    return problems, ages


def _build(policy: str):
    @dg.asset_check(asset=detections.asset_name(policy), name=f"{policy}_lists_current", blocking=False,
                    partitions_def=DAILY)
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        problems, ages = list_problems(policy)
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(problems) or None,
            metadata={"lists": dg.MetadataValue.json(ages)},
        )

    _check.__doc__ = f"Warn when a list feeding {policy} is a shipped placeholder or older than max_age_days."
    return _check


anonymous_ip_lists_current = _build("anonymous_ip")
suspicious_ip_lists_current = _build("suspicious_ip")
