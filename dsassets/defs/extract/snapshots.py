"""Daily snapshots of current-state DocuSign data: accounts, users, memberships, settings.

DocuSign only serves the present. A partition therefore holds the state as it
was when the snapshot was really taken (`_snapshot_taken_at`), and history
builds up from the daily scheduled runs. A range run against real DocuSign
takes one snapshot and records its true time in every partition of the range;
the simulator, which knows its past, serves each day's end-of-day state.
"""


from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import dagster as dg
import pyarrow as pa

from dsassets.defs.extract.raw import raw_spec
from dsassets.defs.resources import DocuSignResource, LakeResource
from dsassets.lib.lake import schemas
from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.clients.docusign_data import parse_account_settings, parse_password_rules
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY
from dsassets.lib.lake.raw_events import days_in
from dsassets.lib.lake.coerce import Drift
from dsassets.lib.lake.snapshots import snapshot_table, table_drift
from dsassets.defs.extract.drift import drift_metadata
from dsassets.defs.extract.organization_users import take_users_in_bulk

Tables = dict[str, pa.Table]
# What a snapshot function returns: its tables, and metadata for every asset it materializes.
Taken = tuple[Tables, dict]


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, timezone.utc)


def _snapshots_per_day(
    context: dg.AssetExecutionContext,
    docusign: DocuSignResource,
    lake: LakeResource,
    take: Callable[[DocuSignClient, str, datetime], Taken],
) -> Iterator[dg.MaterializeResult]:
    start, end = context.partition_time_window
    days = days_in(start, end)
    source = docusign.source
    taken_at: dict[date, datetime] = {}
    how: dict[str, dict] = {}
    rows: dict[str, dict[str, int]] = {}  # dataset -> day -> rows, in the order the snapshot gives them
    drifts: dict[str, Drift] = {}
    # Take every snapshot before publishing any, so a failure leaves the lake unchanged. Each day's
    # tables go to scratch files as they are taken: a range run from the simulator, which serves
    # every day's own state, held 30 days of 66k users' tables in memory (over 12 GB) before.
    staged: list[tuple[Path, str, date]] = []
    tables: Tables = {}
    try:
        for day, at, fresh in docusign.snapshot_days(days):
            if fresh:
                tables = {}  # the day before's are staged: freed before this day's are taken
                with docusign.client(as_of=at) as client:
                    tables, how[day.isoformat()] = take(client, source, at)
            taken_at[day] = at
            for dataset, table in tables.items():
                staged.append((lake.lake.stage_table(table), dataset, day))
                rows.setdefault(dataset, {})[day.isoformat()] = table.num_rows
                if fresh:  # a snapshot reused across days is counted once
                    drifts.setdefault(dataset, Drift()).add(table_drift(table))
        for scratch, dataset, day in staged:
            lake.lake.publish(scratch, dataset, day)
    finally:
        for scratch, _, _ in staged:
            scratch.unlink(missing_ok=True)  # published files are gone already
    backdated = [d.isoformat() for d, at in taken_at.items() if at > _day_end(d)]
    if backdated:
        context.log.warning(
            f"DocuSign only serves current state: partitions {backdated} hold a snapshot taken "
            f"at {taken_at[days[0]].isoformat()}, recorded as such in _snapshot_taken_at"
        )
    for dataset, per_day in rows.items():
        yield dg.MaterializeResult(
            asset_key=dataset,
            metadata={
                "source": source,
                "simulated": source == "simulator",
                "row_count": dg.MetadataValue.int(sum(per_day.values())),
                "rows_per_day": dg.MetadataValue.json(per_day),
                "snapshot_taken_at": dg.MetadataValue.json({d.isoformat(): at.isoformat() for d, at in taken_at.items()}),
                "backdated_partitions": dg.MetadataValue.json(backdated),
                **({"how_taken": dg.MetadataValue.json(how)} if any(how.values()) else {}),
                "path": dg.MetadataValue.path(str(lake.lake.dataset_dir(dataset))),
                **drift_metadata(context, dataset, drifts.get(dataset, Drift())),
            },
        )


def _snapshot_asset(name: str, description: str, take: Callable[[DocuSignClient, str, datetime], Taken],
                    datasets: dict[str, str]) -> dg.AssetsDefinition:
    """One multi-asset per API: a snapshot call writes all of ``datasets`` (name -> description)."""

    @dg.multi_asset(
        name=name,
        description=description,
        specs=[raw_spec(dataset, text) for dataset, text in datasets.items()],
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
    )
    def _asset(context: dg.AssetExecutionContext, docusign: DocuSignResource, lake: LakeResource):
        yield from _snapshots_per_day(context, docusign, lake, take)

    return _asset


def take_organization_snapshot(client: DocuSignClient, source: str, taken_at: datetime) -> Taken:
    org = client.organization()
    org_id = org["id"]
    accounts = client.organization_accounts()
    kw = {"source": source, "taken_at": taken_at}
    domains, domains_unreadable = _reserved_domains(client)
    tables = {
        "raw_docusign_accounts": snapshot_table(
            "raw_docusign_accounts",
            schemas.ACCOUNTS,
            (({**a, "organization_id": org_id, "organization_name": org.get("name")}, a) for a in accounts),
            **kw,
        ),
        "raw_docusign_reserved_domains": snapshot_table(
            "raw_docusign_reserved_domains",
            schemas.RESERVED_DOMAINS,
            (({**d, "organization_id": org_id}, d) for d in domains),
            **kw,
        ),
    }
    users, how = take_users_in_bulk(client, org_id, accounts, **kw)
    if users is None:
        users = per_user_tables(client, org_id, accounts, **kw)
    if domains_unreadable:
        how = {**how, "reserved_domains_unreadable": domains_unreadable}
    return {**tables, **users}, how


def _reserved_domains(client: DocuSignClient) -> tuple[list[dict], str | None]:
    """The claimed domains, or none and why when the app may not read them (403) or the
    endpoint is missing (404): managed users then rest on the events' isUserMemberOfDomain
    alone, which is worse than the domain list but better than no organization snapshot."""
    try:
        return client.reserved_domains(), None
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        return [], f"{exc} (managed users from the events' isUserMemberOfDomain alone)"


def per_user_tables(client: DocuSignClient, org_id: str, accounts: list[dict], **kw) -> Tables:
    """Users and memberships with one ``dsprofile`` call per user."""
    user_ids: dict[str, None] = {}
    for account in accounts:
        for user in client.organization_users(account["id"]):
            user_ids.setdefault(user["id"])
    profiles = [client.user_profile(user_id) for user_id in user_ids]

    def user_row(p: dict) -> dict:
        emails = [m.get("email") for m in p.get("memberships") or [] if m.get("email")]
        return {**p, "organization_id": org_id, "email": p.get("email") or (emails[0] if emails else None)}

    def membership_rows():
        for p in profiles:
            for m in p.get("memberships") or []:
                profile = m.get("permission_profile") or {}
                row = {
                    **m,
                    "organization_id": org_id,
                    "user_id": p["id"],
                    # The Admin spec types this id as int64; the eSignature API sends it as a string.
                    "permission_profile_id": None if profile.get("id") is None else str(profile["id"]),
                    "permission_profile_name": profile.get("name"),
                }
                yield row, m

    return {
        "raw_docusign_organization_users": snapshot_table(
            "raw_docusign_organization_users",
            schemas.ORGANIZATION_USERS,
            ((user_row(p), {k: v for k, v in p.items() if k != "memberships"}) for p in profiles),
            **kw,
        ),
        "raw_docusign_memberships": snapshot_table(
            "raw_docusign_memberships", schemas.MEMBERSHIPS, membership_rows(), **kw
        ),
    }


def take_esignature_snapshot(client: DocuSignClient, source: str, taken_at: datetime) -> Taken:
    accounts = client.organization_accounts()
    users, settings, rules = [], [], []
    for account in accounts:
        account_id = account["id"]
        users.extend(({**u, "account_id": account_id}, u) for u in client.account_users(account_id))
        raw_settings = client.account_settings(account_id)
        settings.append(({**parse_account_settings(raw_settings, account_id), "account_id": account_id}, raw_settings))
        raw_rules = client.password_rules(account_id)
        rules.append(({**parse_password_rules(raw_rules, account_id), "account_id": account_id}, raw_rules))
    kw = {"source": source, "taken_at": taken_at}
    return {
        "raw_docusign_account_users": snapshot_table(
            "raw_docusign_account_users", schemas.ACCOUNT_USERS, users, **kw
        ),
        "raw_docusign_account_settings": snapshot_table(
            "raw_docusign_account_settings", schemas.ACCOUNT_SETTINGS, settings, **kw
        ),
        "raw_docusign_password_rules": snapshot_table(
            "raw_docusign_password_rules", schemas.PASSWORD_RULES, rules, **kw
        ),
    }, {}


raw_docusign_organization = _snapshot_asset(
    "raw_docusign_organization",
    "Admin API snapshot: the organization's accounts, its users and their per-account memberships.",
    take_organization_snapshot,
    {
        "raw_docusign_accounts": "Accounts of the organization (Admin API), one row per account per snapshot.",
        "raw_docusign_reserved_domains": "The organization's reserved (claimed) domains and their status (Admin "
        "API), one row per domain per snapshot: an active domain's users are the organization's managed users.",
        "raw_docusign_organization_users": (
            "Organization users (Admin API dsprofile, or its bulk user-list export above "
            "DSASSETS_BULK_EXPORT_MIN_USERS), one row per user per snapshot."),
        "raw_docusign_memberships": (
            "Each user's membership in each account: status, admin flag, permission profile, "
            "created/closed dates (Admin API dsprofile), one row per membership per snapshot."),
    },
)
raw_docusign_esignature = _snapshot_asset(
    "raw_docusign_esignature",
    "eSignature API snapshot per account: its users, its settings and its password rules.",
    take_esignature_snapshot,
    {
        "raw_docusign_account_users": (
            "Users of each account as the eSignature API lists them (strings as sent), per snapshot."),
        "raw_docusign_account_settings": (
            "Security-relevant account settings (session timeouts, multiple sessions, signer "
            "authentication), cast from strings, plus the full settings document; per account per snapshot."),
        "raw_docusign_password_rules": (
            "Account password rules (length, strength, classes, expiry, lockout, questions), cast "
            "from strings; per account per snapshot."),
    },
)
