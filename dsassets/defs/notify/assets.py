"""``notifications``: the window's alerts sent to the security team's channels (``notify`` in dsassets.yaml).

Runs after ``alerts`` for the same days: each (alert, channel) the channel's minimum severity
and policy filter select is sent once (webhook, Graph or SMTP mail, JSONL file for a SIEM),
recorded in ``<data_dir>/notify/notifications.parquet``. Dry run unless the channel says
``execute: true``; alerts older than ``notify.max_alert_age_hours`` are not sent unless the run
config says ``send_old_alerts: true`` (a backfill pages nobody).
"""

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource
from dsassets.lib.catalog.tables import metadata_table
from dsassets.lib.config.project import project_config
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, window_dates
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


def deliveries_table(report: deliver.Report, limit: int = 50) -> dg.TableMetadataValue:
    """Each (alert, channel) of the run, oldest alert first."""
    shown = sorted(report.outcomes, key=lambda o: (o.alert["started_at"], o.alert["alert_id"], o.channel.name))
    rows = [
        {"started": o.alert["started_at"], "policy": o.alert["policy"], "severity": o.alert["severity"],
         "channel": o.channel.name, "mode": o.mode, "status": o.status,
         "detail": o.reason + (f" (HTTP {o.http_status})" if o.http_status else "")}
        for o in shown
    ]
    return metadata_table(
        rows,
        {"started": "alert started (UTC)", "policy": "policy", "severity": "severity", "channel": "channel",
         "mode": "mode", "status": "status", "detail": "detail"},
        limit=limit,
    )


@dg.asset(
    owners=OWNERS,
    name="notifications",
    group_name=GROUP,
    kinds={"python", "parquet"},
    description=(
        "Alerts sent to the security team's channels (webhook / Slack / Teams, e-mail, JSONL for a SIEM), "
        "once per alert and channel; dry run unless the channel executes. Ledger: "
        "<data_dir>/notify/notifications.parquet."
    ),
    deps=[dg.AssetKey("alerts")],
    partitions_def=DAILY,
    backfill_policy=BACKFILL_POLICY,
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
    counts = report.counts()
    for o in report.outcomes:
        if o.status == "failed":
            context.log.warning(f"notify: alert {o.alert['alert_id']} to {o.channel.name} failed: {o.reason}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(1 for o in report.outcomes if o.recorded),
            "alerts": dg.MetadataValue.int(len(alerts)),
            **{status: dg.MetadataValue.int(counts[status]) for status in deliver.STATUSES},
            "already_sent": dg.MetadataValue.int(counts["done"]),
            "channels": dg.MetadataValue.json(
                [{"name": c.name, "type": c.type, "execute": c.execute, "min_severity": c.min_severity}
                 for c in notify.channels]
            ),
            "deliveries": deliveries_table(report),
            "send_old_alerts": config.send_old_alerts,
            "ledger": dg.MetadataValue.path(ledger.url),
            "ledger_rows": dg.MetadataValue.int(total),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
        }
    )
