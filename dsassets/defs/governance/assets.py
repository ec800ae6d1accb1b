"""``governance_actions``: notify / require sign-in again / suspend for the window's alerts, via Entra ID.

Reads the window's alerts (the ``alerts`` mart and ``policy_alerts``, one row per
``alert_id``), works out each alert's actions (its activity policy's ``actions``, or
``activity_policies.governance.builtin_policy_actions`` for the built-in detections) and runs
them through ``dsassets.lib.governance.actions``: dry run unless the action type is switched on,
once per alert across re-runs and backfills, old alerts skipped unless the run config says
``act_on_old_alerts: true``. The ledger (``<data_dir>/governance/governance_actions.parquet``)
is the record; the materialization shows what was planned and what was done.
"""

import dagster as dg

from dsassets.defs.policies.assets import POLICY_ALERTS, loaded_policies
from dsassets.defs.ledger_asset import ledger_asset, ledger_metadata, outcomes_table, warn_failures
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.config.project import project_config
from dsassets.lib.governance import actions as governance
from dsassets.lib.lake.partitions import window_dates
from dsassets.lib.transform import sql
from dsassets.lib.triage import suppressions

GROUP = "governance"
ALERT_SOURCES = ("alerts", POLICY_ALERTS)


class GovernanceRunConfig(dg.Config):
    """Run-time switches; the standing configuration is ``activity_policies.governance``."""

    # Act on alerts older than max_alert_age_hours too (a deliberate catch-up, never a default).
    act_on_old_alerts: bool = False


def read_window_alerts(lake, start, end) -> tuple[list[governance.Alert], list[str]]:
    """Alerts of ``[start, end)`` from every alert table that has output; and the tables read."""
    rows, read = [], []
    with sql.session(lake) as con:
        for name in ALERT_SOURCES:
            if not sql.has_output(lake, name):
                continue
            rows.extend(sql.read_rows(con, lake, name, start, end))
            read.append(name)
        # policy_alerts is read before the alerts union: an analyst's suppression must hold here too.
        if sql.has_output(lake, suppressions.SUPPRESSED_ALERTS):
            hidden = {r["alert_id"] for r in sql.read_rows(con, lake, suppressions.SUPPRESSED_ALERTS, start, end)}
            rows = [r for r in rows if r["alert_id"] not in hidden]
    return governance.alerts_from_rows(rows), read


def actions_resolver(config):
    custom = {p.id: (list(p.actions), p.notify_message) for p in loaded_policies().policies}
    builtin = {k: (list(v), "") for k, v in config.activity_policies.governance.builtin_policy_actions.items()}

    def actions_for(alert: governance.Alert) -> tuple[list[str], str]:
        return custom.get(alert.policy) or builtin.get(alert.policy) or ([], "")

    return actions_for


def actions_table(report: governance.Report) -> dg.TableMetadataValue:
    """What was done first, then failures, plans and skips; oldest alert first within each."""
    order = {"executed": 0, "failed": 1, "planned": 2, "skipped": 3, "done": 4}
    shown = sorted(report.outcomes, key=lambda o: (order[o.status], o.alert.started_at, o.alert.alert_id))
    return outcomes_table(
        shown,
        lambda o: {"started": o.alert.started_at, "policy": o.alert.policy,
                   "user": o.alert.user_email or o.alert.user_id, "action": o.action},
        {"started": "alert started (UTC)", "policy": "policy", "user": "user", "action": "action"},
    )


@ledger_asset(
    name="governance_actions",
    group=GROUP,
    description=(
        "Governance actions (notify the user, the security team or the manager, require sign-in again, "
        "suspend) for the window's alerts "
        "through Microsoft Entra ID. Dry run unless enabled per action type; each action runs once per "
        "alert; the ledger <data_dir>/governance/governance_actions.parquet records every planned, "
        "executed, skipped and failed action."
    ),
    deps=ALERT_SOURCES,
    pool=governance.LEDGER_POOL,
)
def governance_actions(
    context: dg.AssetExecutionContext,
    config: GovernanceRunConfig,
    lake: LakeResource,
    docusign: DocuSignResource,
    identity_provider: IdentityProviderResource,
) -> dg.MaterializeResult:
    lake_ = lake.lake
    start, end = window_dates(context)
    project = project_config()
    gov = project.activity_policies.governance
    alerts, read = read_window_alerts(lake_, start, end)
    missing = [n for n in ALERT_SOURCES if n not in read]
    if missing:
        context.log.warning(f"governance: no output yet for {', '.join(missing)}; their alerts are not acted on")
    ledger = governance.Ledger(lake_)
    with ledger.locked():
        report = governance.run(
            alerts,
            actions_resolver(project),
            gov,
            ledger,
            lambda: identity_provider.graph_client(docusign),
            now=docusign.now(),
            run_id=context.run.run_id,
            act_on_old_alerts=config.act_on_old_alerts,
        )
        total = len(ledger.rows)
    warn_failures(context, report, lambda o: f"governance: {o.action} for alert {o.alert.alert_id}")
    return dg.MaterializeResult(
        metadata={
            **ledger_metadata(report, len(alerts), "already_done", ledger, total, start, end),
            "actions": actions_table(report),
            "execution_enabled": dg.MetadataValue.json(gov.execute.model_dump()),
            "act_on_old_alerts": config.act_on_old_alerts,
            "max_alert_age_hours": gov.max_alert_age_hours,
        }
    )
