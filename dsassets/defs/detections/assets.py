"""The MDCA anomaly policies for DocuSign (``dsassets.lib.detections.registry``) as daily assets, and
the ``alerts`` mart over them.

``det_<policy>`` runs ``sql/detections/<file>.sql`` over the Parquet marts (the day, and the
raw lookback where a policy needs earlier events) and the per-user daily baselines of its
lookback (``baselines.py``), and writes its alerts to
``<data_dir>/warehouse/det_<policy>/dt=YYYY-MM-DD/data.parquet``; ``alerts`` unions the six for
the same days into ``<data_dir>/warehouse/alerts/``. Thresholds, windows, IP lists and ranges
come from ``dsassets.yaml`` (``ip_ranges``, ``detections``). A day's alerts depend only on that
day, its lookback and the config, so backfills in any order (and threshold changes tried on
old history) give the same alerts.
"""

from datetime import date, timedelta

import dagster as dg

from dsassets.defs.sql_asset import daily_sql_asset
from dsassets.lib.detections import late as late_events
from dsassets.lib.config.project import ConfigError, project_config
from dsassets.lib.detections import baselines, engine as detections, first_seen
from dsassets.lib.detections.registry import DETECTIONS, SIGNIN_SESSIONS, Detection
from dsassets.lib.detections.report import alert_report
from dsassets.lib.lake.partitions import DAILY, EVERY_EARLIER_DAY, deps, last_days
from dsassets.lib.policies.compile import POLICY_ALERTS
from dsassets.lib.scope import apply as scoping
from dsassets.lib.transform import history, runner, sql
from dsassets.lib.triage import suppressions

GROUP = "detections"
SCOPE_INPUTS = ("users", "stg_idp__group_members")
ALERTS = "alerts"


def _bind_baselines(detection: Detection, run: runner.Run, lookback: int, since: date) -> list[date]:
    """The baselines the policy reads, bound for the run's lookbacks; the lookback days with activity
    but a baseline missing."""
    # Every day of the run but its last is some later day's lookback too.
    until = run.end - timedelta(days=1)
    active = {since + timedelta(days=i) for i in range((until - since).days)}
    active -= set(detections.missing_days(run.con, "int_user_activity_daily", since, until))
    unmade: set[date] = set()
    for name in detection.baselines:
        # Every day of a range run reads its lookback of these rows, through joins on dt that Parquet
        # cannot prune: a table of the days the run's lookbacks cover is read from the lake once. A
        # day's run reads them once anyway, and a view lets it read only the columns and users its
        # policy needs (at a million events a day, one day's six policies: 36 s -> 27 s, 2.3 -> 1.5 GB).
        kind = "view" if run.one_day else "table"
        first, end = (run.start - timedelta(days=lookback)).isoformat(), run.end.isoformat()
        run.con.execute(
            f"create or replace temp {kind} {name} as select * from {sql.scan_output(run.lake, name)} "
            f"where dt >= date '{first}' and dt < date '{end}'")
        unmade |= active - set(run.lake.days(sql.model_path(name)))
    if SIGNIN_SESSIONS in detection.baselines:
        stale = baselines.stale_session_days(run.con, SIGNIN_SESSIONS, run.config, since, until)
        if stale:
            raise ConfigError(
                f"{SIGNIN_SESSIONS} for {len(stale)} day(s) ({stale[0]} .. {stale[-1]}) was made with other "
                "detections.multiple_failed_logins session_gap_minutes / include_non_interactive than "
                f"dsassets.yaml has now: re-materialize {SIGNIN_SESSIONS} for those days first"
            )
    return sorted(unmade)


def _setup(detection: Detection, run: runner.Run) -> dict:
    """Variables, IP tables, shared views and baselines; warnings for lookback gaps."""
    lookback = detections.lookback_days(run.config, detection.id)
    # Days before the first partition do not exist (the demo's week is all of history): their
    # absence is the learning period, not a gap a backfill could fill.
    since = max(DAILY.start.date(), run.start - timedelta(days=lookback))
    # before install: shared views over the baselines bind when they are made
    unmade = _bind_baselines(detection, run, lookback, since)
    files = detections.install(run.con, run.config, detection.id)
    gaps = detections.missing_days(run.con, "activities", since, run.end)
    if gaps:
        run.log.warning(
            f"{detection.asset_name}: no activities for {len(gaps)} day(s) of the window and its {lookback}-day "
            f"lookback ({gaps[0]} .. {gaps[-1]}); baselines there are incomplete. Backfill them "
            "and re-run these partitions to get the alerts a complete history gives."
        )
    if "detection_first_seen" in detections.day_tables(detection.id):
        first_seen.bind(run.con, run.lake, run.start)
    if detection.history:
        history.bind_parts(run.con, run.lake, run.config, detections.history_parts(detection.id), run.start, run.end,
                           day_by_day=True)
    if unmade:
        run.log.warning(
            f"{detection.asset_name}: {len(unmade)} day(s) of the lookback ({unmade[0]} .. {unmade[-1]}) have "
            f"activities but no {' / '.join(detection.baselines)}; materialize them for those days and re-run "
            "these partitions to get the alerts a complete history gives."
        )
    detections.prepare_run(run.con, detection.id)
    notes = {
        "policy": detection.id,
        "enabled": run.config.detections.policy(detection.id).enabled,
        "lookback_days": lookback,
        "days_without_activity_in_lookback": dg.MetadataValue.int(len(gaps)),
    }
    if detection.uses_ip_lists:
        notes["ip_lists"] = dg.MetadataValue.json(
            [{"name": f.name, "entries": len(f.entries), "as_of": f.as_of, "path": f.path}
             for f in files if f.policy == detection.id]
        )
    return notes


def _late_and_in_scope(detection: Detection, run: runner.Run, relation: str) -> str:
    """Alerts raised from late events (that their day's processing could not raise) say so in their evidence;
    out-of-scope alerts are dropped before each day is written (dsassets/lib/scope)."""
    late = late_events.late_view(run.con, run.lake, relation, detection.asset_name)
    return scoping.apply(run.con, detection.id, run.config.scope.get(detection.id), late, lazy=True)[0]


def _each_day(detection: Detection, run: runner.Run) -> None:
    """The day's shared tables, and in a range its history parts brought up to the day."""
    if detection.history and not run.one_day:
        day = run.con.execute("select getvariable('window_start')").fetchone()[0]
        history.advance(run.con, detections.history_parts(detection.id), day)
    detections.prepare_day(run.con, detection.id, only_day=run.one_day)


def detection_asset(detection: Detection) -> runner.SqlAsset:
    """A day's alerts depend only on that day and its lookback: the shared views are rebuilt per day."""
    return runner.SqlAsset(
        name=detection.asset_name,
        sql_file=detections.DETECTIONS_DIR / f"{detection.sql_file}.sql",
        query=lambda run: detections.alert_query(detection.id),
        requires=detection.inputs,
        reads=(*detection.inputs, *SCOPE_INPUTS),
        setup=lambda run: _setup(detection, run),
        transform=lambda run, relation: _late_and_in_scope(detection, run, relation),
        each_day=lambda run: _each_day(detection, run),
        day_report=lambda run, day, count: alert_report(run, detection.asset_name, day, count),
        per_day_key="alerts_per_day",
    )


def _lookbacks(detection: Detection) -> dict[str, dg.PartitionMapping]:
    """What the policy reads besides its day: ``activities`` over its raw lookback, its baselines
    over its lookback, and the full history of the rest (learning periods, identity-provider and
    lifecycle history)."""
    try:
        config = project_config()
        activities = last_days(detections.raw_lookback_days(config, detection.id))
        baseline = last_days(detections.lookback_days(config, detection.id))
    except ConfigError:
        # The assets fail with the config error when they run; until then assume all history,
        # which orders a backfill safely whatever the lookback turns out to be.
        activities = baseline = EVERY_EARLIER_DAY
    others = {name: EVERY_EARLIER_DAY for name in detection.inputs if name != "activities"}
    return {**others, "activities": activities, **{name: baseline for name in detection.baselines}}


def build_detection_asset(detection: Detection) -> dg.AssetsDefinition:
    return daily_sql_asset(
        detection_asset(detection),
        group=GROUP,
        description=f"{detection.description} Policy id `{detection.id}`; one row per alert (incident).",
        # users and the group members: the day's scope (dsassets/lib/scope), read only when one is set.
        deps=deps((*detection.inputs, *SCOPE_INPUTS), _lookbacks(detection)),
        metadata={"policy": detection.id,
                  "sql": dg.MetadataValue.path(str(detections.DETECTIONS_DIR / f"{detection.sql_file}.sql"))},
    )


def _union(run: runner.Run) -> str:
    parts = [sql.window_select(run.lake, d.asset_name) for d in DETECTIONS]
    # User-defined activity policies (dsassets/lib/policies) alert into the same table.
    if sql.has_output(run.lake, POLICY_ALERTS):
        parts.append(sql.window_select(run.lake, POLICY_ALERTS))
    return " union all by name ".join(parts)


def _read_once_then_hold_back(run: runner.Run, relation: str) -> str:
    """The union's rows of a range read once into a table, then held back by the suppressions.

    Each day written (alerts, suppressed_alerts) would otherwise list and read every file of the
    seven outputs again: 30 ms a day and output, 1.7 of the 2.1 s of a 30-day range's alerts at a
    million events a day. The alerts of a range are few, and written before this step runs.
    """
    if not run.one_day:
        run.con.execute(f"create temp table {relation}__rows as select * from {relation}")
        relation = f"{relation}__rows"
    return suppressions.hold_back(run, relation)


ALERTS_ASSET = runner.SqlAsset(
    name=ALERTS,
    query=_union,
    requires=tuple(d.asset_name for d in DETECTIONS),
    # Analysts' suppression rules (dsassets alerts dismiss --suppress) hold back matching alerts
    # here, for every policy at once; what they hid is written to suppressed_alerts.
    transform=_read_once_then_hold_back,
    report=lambda run, counts: suppressions.suppressed_report(run, run.start, run.end),
    day_report=lambda run, day, count: {
        **alert_report(run, ALERTS, day, count),
        "suppressed": suppressions.suppressed_report(run, day, day + timedelta(days=1))["suppressed"],
    },
    per_day_key="alerts_per_day",
)


def alerts_asset() -> dg.AssetsDefinition:
    """The ``alerts`` union as a daily asset (its deps name every detection and ``policy_alerts``)."""
    return daily_sql_asset(
        ALERTS_ASSET,
        group=GROUP,
        description=(
            "One row per alert of the built-in anomaly policies (the union of det_*) and of the activity "
            "policies (policy_alerts), partitioned by the "
            "day the incident alerted: alert_id, policy, severity, title, description, user, account, "
            "started/ended, event ids, IPs, countries, evidence (JSON). Alerts matching an analyst's "
            "suppression rule are left out and written to suppressed_alerts with the rule."
        ),
        deps=[dg.AssetKey(d.asset_name) for d in DETECTIONS] + [dg.AssetKey(POLICY_ALERTS)],
    )


@dg.definitions
def definitions() -> dg.Definitions:
    """Built when the code location loads (the lookbacks come from dsassets.yaml), never at import."""
    return dg.Definitions(assets=[*(build_detection_asset(d) for d in DETECTIONS), alerts_asset()])
