"""Warnings when the IP lists the anonymous/suspicious IP detections match against are stale or placeholders."""

from datetime import datetime, timezone

import dagster as dg

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.lib.config.project import load_config
from dsassets.lib.detections import engine as detections
from dsassets.lib.intel import ip_intel, update

# The reason comes first and names no list, so the demo prints one line for every detection that
# matches a placeholder (the terminal shows a warning's description up to its first ";").
PLACEHOLDER = (
    "the placeholder IP list shipped with dsassets (the simulator's addresses), not a live feed: run "
    "`dsassets intel update`; {name} ({path}) is that list: set its ip_lists path to intel:{name}"
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
    @daily_check(asset=detections.asset_name(policy), name=f"{policy}_lists_current",
                 description=f"Warn when a list feeding {policy} is a shipped placeholder or older than max_age_days.")
    def _check(context: dg.AssetCheckExecutionContext) -> DayResults:
        # Not a property of the day's data: every day of the run was detected with these lists.
        problems, ages = list_problems(policy)
        result = dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(problems) or None,
            metadata={"lists": dg.MetadataValue.json(ages)},
        )
        return dict.fromkeys(run_days(context), result)

    return _check


anonymous_ip_lists_current = _build("anonymous_ip")
suspicious_ip_lists_current = _build("suspicious_ip")
