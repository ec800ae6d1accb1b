"""``notifications``: the window's alerts sent to the security team's channels (``notify`` in dsassets.yaml).

Runs after ``alerts`` for the same days: each (alert, channel) the channel's minimum severity
and policy filter select is sent once (webhook, Graph or SMTP mail, JSONL file for a SIEM),
recorded in ``<data_dir>/notify/notifications.parquet``. Dry run unless the channel says
``execute: true``; alerts older than ``notify.max_alert_age_hours`` are not sent unless the run
config says ``send_old_alerts: true`` (a backfill pages nobody).
"""

import dagster as dg

from dsassets.defs.ledger_asset import ledger_asset, ledger_metadata, outcomes_table, warn_failures
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.config.project import project_config
from dsassets.lib.lake.partitions import window_dates
from dsassets.lib.notify import deliver
from dsassets.lib.transform import sql

GROUP = "notify"


class NotifyRunConfig(dg.Config):
    """Run-time switches; the standing configuration is the ``notify`` section."""

    # Send alerts older than max_alert_age_hours too (a deliberate catch-up, never a default).
    send_old_alerts: bool = False


def read_alerts(lake, start, end) -> list[dict]:
    """The ``alerts`` mart's rows of ``[start, end)``."""
    if not sql.has_output(lake, "alerts"):
        raise RuntimeError("notifications needs alerts: materialize it for this window first")
    with sql.session(lake) as con:
        return sql.read_rows(con, lake, "alerts", start, end)


def deliveries_table(report: deliver.Report) -> dg.TableMetadataValue:
    """Each (alert, channel) of the run, oldest alert first."""
    shown = sorted(report.outcomes, key=lambda o: (o.alert["started_at"], o.alert["alert_id"], o.channel.name))
    return outcomes_table(
        shown,
        lambda o: {"started": o.alert["started_at"], "policy": o.alert["policy"],
                   "severity": o.alert["severity"], "channel": o.channel.name},
        {"started": "alert started (UTC)", "policy": "policy", "severity": "severity", "channel": "channel"},
    )


@ledger_asset(
    name="notifications",
    group=GROUP,
    description=(
        "Alerts sent to the security team's channels (webhook / Slack / Teams, e-mail, JSONL for a SIEM), "
        "once per alert and channel; dry run unless the channel executes. Ledger: "
        "<data_dir>/notify/notifications.parquet."
    ),
    deps=["alerts"],
    pool=deliver.LEDGER_POOL,
)
def notifications(
    context: dg.AssetExecutionContext,
    config: NotifyRunConfig,
    lake: LakeResource,
    docusign: DocuSignResource,
    identity_provider: IdentityProviderResource,
) -> dg.MaterializeResult:
    lake_ = lake.lake
    start, end = window_dates(context)
    notify = project_config().notify
    alerts = read_alerts(lake_, start, end)
    send = deliver.default_sender(lake_, lambda: identity_provider.graph_client(docusign))
    ledger = deliver.Ledger(lake_)
    with ledger.locked():
        report = deliver.run(alerts, notify, ledger, send, now=docusign.now(), run_id=context.run.run_id,
                             send_old_alerts=config.send_old_alerts)
        total = len(ledger.rows)
    warn_failures(context, report, lambda o: f"notify: alert {o.alert['alert_id']} to {o.channel.name}")
    return dg.MaterializeResult(
        metadata={
            **ledger_metadata(report, len(alerts), "already_sent", ledger, total, start, end),
            "channels": dg.MetadataValue.json(
                [{"name": c.name, "type": c.type, "execute": c.execute, "min_severity": c.min_severity}
                 for c in notify.channels]
            ),
            "deliveries": deliveries_table(report),
            "send_old_alerts": config.send_old_alerts,
        }
    )
