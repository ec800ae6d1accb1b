"""``dsassets profile --start A --end B``: the Monitor vocabulary of the extracted events and its classification.

Run it after the first extraction from a real organization (README, "Connecting a real
DocuSign organization", step 3): unmatched combinations that look like sign-ins, or a
week without one classified failure, mean the ``signin`` rules need your values.
"""

from __future__ import annotations

from datetime import timedelta

from dsassets.lib.config.project import load_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import sql
from dsassets.lib.vocabulary import profile


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def profile_command(args, lake: Lake) -> int:
    start, end = args.start, args.end + timedelta(days=1)
    with sql.session(lake) as con:
        profile.install(con, lake, load_config())
        rows, proxies = profile.vocabulary(con, start, end)
        figures = profile.day_figures(con, start, end)
    if not rows:
        print(f"no audit events stored for {args.start}..{args.end}: run `dsassets backfill` first")
        return 1
    print(f"Monitor vocabulary {args.start}..{args.end} ({sum(r['events'] for r in rows)} events)\n")
    keys = ["object", "action", "result", "source", "events", "days", "classified_as"]
    print(_table(keys, [[r[k] for k in keys] for r in rows]))
    print("\nproxyType\n" + _table(["proxy_type", "events"], [[v, n] for v, n in proxies]))
    unmatched = [r for r in rows if r["classified_as"] == "unmatched"]
    print(f"\n{len(unmatched)} of {len(rows)} combinations ({sum(r['events'] for r in unmatched)} events) "
          "match no rule of dsassets.yaml (signin, event_types).")
    for day in profile.days_without_signins(figures):
        print(f"warning: {day} has events but no classified sign-in")
    if profile.failure_free_week(figures):
        print("warning: sign-ins but not one classified failure in a week or more")
    share = profile.unrecognized_share(figures)
    if share > profile.UNRECOGNIZED_COUNTRY_SHARE:
        print(f"warning: {share:.1%} of located events have an unrecognised country")
    return 0
