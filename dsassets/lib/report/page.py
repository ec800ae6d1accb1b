"""``dsassets report``: one self-contained HTML file of charts (Altair / Vega-Lite) and tables.

The Vega, Vega-Lite and vega-embed JavaScript is inlined once (``vl_convert.javascript_bundle``,
the bundle Altair itself inlines), so the file opens with no network. Charts render as SVG.
"""

from __future__ import annotations

import html
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import altair as alt
import vl_convert

from dsassets.lib.lake.lake import Lake
from dsassets.lib.report.data import collect

SEVERITY_ORDER = ["informational", "low", "medium", "high"]
STATUS_ORDER = ["open", "in_progress", "resolved", "dismissed"]
WIDTH = 560


def count_axis(rows: list[dict], field: str, group: str | None = None) -> alt.Axis:
    """Whole-number ticks (no 0.5 alerts): at most one tick per unit of the largest bar."""
    totals: dict = {}
    for r in rows:
        key = r.get(group) if group else id(r)
        totals[key] = totals.get(key, 0) + (r.get(field) or 0)
    return alt.Axis(format="d", tickCount=max(1, min(5, max(totals.values(), default=1))))


def _values(rows: list[dict]) -> alt.Data:
    return alt.Data(values=rows)


def charts(data: dict[str, list[dict]]) -> dict[str, alt.TopLevelMixin | None]:
    """One chart per dataset that has rows; ``None`` where there is nothing to draw."""
    out: dict[str, alt.TopLevelMixin | None] = {}

    def bar_top(name: str, field: str, title: str):
        if not data[name]:
            return None
        return alt.Chart(_values(data[name]), title=title).mark_bar().encode(
            x=alt.X("alerts:Q", title="alerts", axis=count_axis(data[name], "alerts")),
            y=alt.Y(f"{field}:N", sort="-x", title=None),
            tooltip=[f"{field}:N", "alerts:Q"],
        ).properties(width=WIDTH // 2 - 40, height=220)

    out["alerts_per_day"] = alt.Chart(_values(data["alerts_per_day"]), title="Alerts per day by policy").mark_bar().encode(
        x=alt.X("utcyearmonthdate(day):O", title="day (UTC)", axis=alt.Axis(labelAngle=0, format="%b %d")),
        y=alt.Y("sum(alerts):Q", title="alerts", axis=count_axis(data["alerts_per_day"], "alerts", "day")),
        color=alt.Color("policy:N", title="policy"),
        tooltip=["day:T", "policy:N", "alerts:Q"],
    ).properties(width=WIDTH, height=240) if data["alerts_per_day"] else None
    out["alerts_by_severity_status"] = alt.Chart(
        _values(data["alerts_by_severity_status"]), title="Alerts by severity and status").mark_bar().encode(
        x=alt.X("severity:N", sort=SEVERITY_ORDER, title="severity", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sum(alerts):Q", title="alerts",
                axis=count_axis(data["alerts_by_severity_status"], "alerts", "severity")),
        color=alt.Color("status:N", sort=STATUS_ORDER, scale=alt.Scale(domain=STATUS_ORDER)),
        tooltip=["severity:N", "status:N", "alerts:Q"],
    ).properties(width=WIDTH // 2, height=220) if data["alerts_by_severity_status"] else None
    out["top_users"] = bar_top("top_users", "user", "Top users by alerts")
    out["top_ips"] = bar_top("top_ips", "ip_address", "Top IP addresses by alerts")
    out["top_countries"] = bar_top("top_countries", "country_code", "Top countries by alerts")
    signins = [r for r in data["country_signins"] if r["successes"] or r["failures"]]
    out["country_signins"] = alt.Chart(_values(signins), title="Sign-ins by country (red: alerts there)").mark_bar().encode(
        x=alt.X("successes:Q", title="successful sign-ins"),
        y=alt.Y("country_code:N", sort="-x", title=None),
        color=alt.condition("datum.alerts > 0", alt.value("#d62728"), alt.value("#4c78a8")),
        tooltip=["country_code:N", "successes:Q", "failures:Q", "users:Q", "alerts:Q", "policies:N"],
    ).properties(width=WIDTH // 2 - 40, height=max(120, 18 * len(signins))) if signins else None
    out["posture_scores"] = alt.Chart(_values(data["posture_scores"]), title="Posture score per account").mark_line(
        point=True).encode(
        x=alt.X("day:T", timeUnit="utcyearmonthdate", title="day (UTC)"),
        y=alt.Y("score_pct:Q", title="score %", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("account:N"),
        tooltip=["day:T", "account:N", "score_pct:Q", "controls_failed:Q"],
    ).properties(width=WIDTH, height=220) if data["posture_scores"] else None
    out["actions"] = alt.Chart(_values(data["actions"]), title="Governance actions and notifications").mark_bar().encode(
        x=alt.X("sum(times):Q", title="count", axis=count_axis(data["actions"], "times", "action")),
        y=alt.Y("action:N", title=None),
        color=alt.Color("status:N"),
        row=alt.Row("kind:N", title=None),
        tooltip=["kind:N", "action:N", "mode:N", "status:N", "times:Q"],
    ).properties(width=WIDTH // 2, height=alt.Step(22)) if data["actions"] else None
    return out


def _table(rows: list[dict], columns: list[str], limit: int = 60) -> str:
    if not rows:
        return "<p class='empty'>nothing in this period</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows[:limit]
    )
    more = f"<p class='empty'>{len(rows) - limit} more rows not shown</p>" if len(rows) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
.kpis { display: flex; gap: 16px; margin: 16px 0; }
.kpi { border: 1px solid #ddd; border-radius: 6px; padding: 8px 16px; }
.kpi b { display: block; font-size: 24px; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; }
section { margin: 24px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .empty { color: #888; font-style: italic; }
"""


def render(data: dict[str, list[dict]], missing: dict[str, str], start: date, end: date, *, now: datetime) -> str:
    """The whole HTML page for ``[start, end)``."""
    specs = {name: chart.to_dict() for name, chart in charts(data).items() if chart is not None}
    total = sum(r["alerts"] for r in data["alerts_by_severity_status"])
    by_status = {s: sum(r["alerts"] for r in data["alerts_by_severity_status"] if r["status"] == s) for s in STATUS_ORDER}
    kpis = "".join(f"<div class='kpi'>{html.escape(label)}<b>{value}</b></div>" for label, value in
                   [("alerts", total), *((s.replace("_", " "), n) for s, n in by_status.items())])

    def slot(name: str) -> str:
        if name in specs:
            return f"<div class='chart' id='chart-{name}'></div>"
        why = missing.get(name, "no data in this period")
        return f"<p class='empty'>{html.escape(name.replace('_', ' '))}: {html.escape(why)}</p>"

    body = f"""
<h1>DocuSign security report</h1>
<p class="sub">{start.isoformat()} to {(end - timedelta(days=1)).isoformat()} (UTC) &middot; generated {now:%Y-%m-%d %H:%M} UTC</p>
<div class="kpis">{kpis}</div>
<section><h2>Alerts</h2><div class="grid">{slot("alerts_per_day")}{slot("alerts_by_severity_status")}</div></section>
<section><h2>Who, from where</h2><div class="grid">{slot("top_users")}{slot("top_ips")}{slot("top_countries")}</div></section>
<section><h2>Sign-ins by country, with alert locations</h2><div class="grid">{slot("country_signins")}
{_table(data["country_signins"], ["country_code", "successes", "failures", "users", "alerts", "policies"])}</div></section>
<section><h2>Posture</h2>{slot("posture_scores")}
<h3>Failing controls on the last day with findings, and their remediation</h3>
{_table(data["failing_controls"], ["account", "severity", "title", "observed", "expected", "remediation"])}</section>
<section><h2>Governance actions and notifications</h2><div class="grid">{slot("actions")}
{_table(data["actions"], ["kind", "action", "mode", "status", "times"])}</div></section>
"""
    bundle = vl_convert.javascript_bundle(vl_version=_vl_version())
    # No '</script>' from the data may end the script element early.
    embeds = json.dumps(specs).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DocuSign security report {start.isoformat()}</title>
<style>{STYLE}</style>
<script>{bundle}</script></head>
<body>{body}
<script>
const specs = {embeds};
for (const [name, spec] of Object.entries(specs)) {{
  vegaEmbed('#chart-' + name, spec, {{renderer: 'svg', actions: false}}).catch(console.error);
}}
</script></body></html>
"""


def _vl_version() -> str:
    """The Vega-Lite version Altair writes, as vl-convert names it (v6_4)."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"v{major}_{minor}"


def write_report(lake: Lake, start: date, end: date, out: Path, *, now: datetime | None = None) -> Path:
    """Write the report of ``[start, end)`` to ``out``; returns its path."""
    data, missing = collect(lake.local_dir / "warehouse.duckdb", lake, start, end)
    page = render(data, missing, start, end, now=now or datetime.now(timezone.utc))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
