"""The SQL models, one record each: ``sql/<layer>/<name>.sql`` and what its asset declares.

Asset key = file stem = DuckDB relation name. Staging models are views; every other model
writes one Parquet file per day under ``<data_dir>/warehouse/<name>/dt=YYYY-MM-DD/``. The
tuples are in dependency order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

import dagster as dg

from dsassets.lib.lake.partitions import EVERY_DAY, EVERY_EARLIER_DAY, last_days
from dsassets.lib.transform.files import SQL_DIR
from dsassets.lib.transform.unchanged import Growth

Layer = Literal["staging", "intermediate", "marts", "posture"]


@dataclass(frozen=True)
class Model:
    """One SQL model; its layer is its folder under ``sql/`` and its asset group."""

    layer: Layer
    name: str
    deps: tuple[str, ...]
    description: str
    # Snapshot-style marts (one state per day) are exposed in warehouse.duckdb as
    # `<name>` = the latest day and `<name>_history` = every day.
    latest_view: bool = False
    # Inputs read on other days than the model's own (the "lookbacks" of the SQL file's header);
    # every other input is the same day. Dagster orders parallel backfills by these.
    reads: Mapping[str, dg.PartitionMapping] = field(default_factory=dict, hash=False, compare=False)
    # Views the select reads, created in this order right before it (each may read the ones
    # before): one model-style file each in sql/<layer>/<name>/, named after the view.
    parts: tuple[str, ...] = ()
    # A range run computes the window in passes, not a query per day (runner.SqlAsset.one_pass):
    # only for a select whose every read of other days is an as-of join on the day.
    one_pass: bool = False
    # The intra-day refresh adds the rows of a raw dataset's new part files instead of recomputing
    # the day, when nothing else the model reads changed (runner.SqlAsset.grows).
    grows: Growth | None = None
    # Views of the days before the window, each with what it reads (dsassets.lib.transform.history):
    # every ended month is rolled up once. One file each in sql/<layer>/<name>/, named after the view.
    history: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def path(self) -> Path:
        return SQL_DIR / self.layer / f"{self.name}.sql"

    @property
    def is_view(self) -> bool:
        return self.layer == "staging"


def staging(system: str, dataset: str, description: str) -> Model:
    """``stg_<system>__<dataset>``: a view 1:1 over the raw dataset ``raw_<system>_<dataset>``."""
    return Model("staging", f"stg_{system}__{dataset}", (f"raw_{system}_{dataset}",), description)


M = Model
# A day and the one before it (a change since the previous snapshot).
DAY_BEFORE = last_days(1)
MODELS: tuple[Model, ...] = (
    # ---------- staging: 1:1 with a raw dataset, renames/casts/normalization, views
    staging("docusign", "audit_events",
            "One row per Monitor audit event: UTC timestamps, ISO country codes, sign-in class and "
            "event type from dsassets.yaml. View over the raw Parquet."),
    staging("docusign", "accounts", "One row per account per snapshot day (Admin API). View over the raw Parquet."),
    staging("docusign", "organization_users",
            "One row per organization user per snapshot day (Admin API). View over the raw Parquet."),
    staging("docusign", "memberships",
            "One row per user-account membership per snapshot day (Admin API). View over the raw Parquet."),
    staging("docusign", "account_users",
            "One row per account user per snapshot day (eSignature API, strings cast). View."),
    staging("docusign", "account_settings", "Security-relevant account settings per account per snapshot day. View."),
    staging("docusign", "password_rules", "Password rules per account per snapshot day. View."),
    staging("docusign", "reserved_domains",
            "One row per reserved (claimed) domain per snapshot day (Admin API). View over the raw Parquet."),
    staging("idp", "users", "Users the identity provider reports deleted or disabled, per snapshot day. View."),
    staging("idp", "group_members",
            "Members of the identity-provider groups policy scopes name, per snapshot day. View."),
    # ---------- intermediate: derived state, Parquet
    M("intermediate", "int_ip_addresses", ("stg_docusign__audit_events",),
      "One row per distinct IP address per day: parsed (v4/v6, valid, global) and, where DocuSign "
      "sent no usable location, located with the offline DB-IP City Lite database."),
    M("intermediate", "int_user_directory_changes",
      ("stg_docusign__organization_users", "stg_docusign__memberships", "stg_docusign__account_users"),
      "One row per user and snapshot day on which the user's e-mail in the directory snapshots "
      "differs from the day before (first listed, listed again, or a new address).",
      reads={"stg_docusign__organization_users": DAY_BEFORE, "stg_docusign__memberships": DAY_BEFORE,
             "stg_docusign__account_users": DAY_BEFORE}),
    M("intermediate", "int_membership_listings", ("stg_docusign__memberships", "stg_docusign__account_users"),
      "One row per user-account membership listed by a day's snapshots (Admin API, else eSignature): "
      "the source, permission profile and admin flag that user_accounts reads for every day of history."),
    # ---------- marts: what users query
    M("marts", "activities",
      ("stg_docusign__audit_events", "int_ip_addresses", "int_user_directory_changes",
       "stg_docusign__reserved_domains"),
      "One row per audit event, normalized: scope (account/organization), user email, managed "
      "(in a claimed domain) or external, location and its source, sign-in class, raw event for forensics.",
      # A user's e-mail (and the claimed domains) come from the latest snapshot on or before the
      # day, else the earliest one after it.
      reads={"int_user_directory_changes": EVERY_DAY, "stg_docusign__reserved_domains": EVERY_DAY},
      # A row per event, from that event, the directory, the domains and its address's row of
      # int_ip_addresses, which new events leave as it was (a new address adds a row; an address
      # newly seen without a DocuSign country gains a location that only those events use).
      grows=Growth("raw_docusign_audit_events", derived=("int_ip_addresses",))),
    # ---------- intermediate models of the events, listed after activities because they read it: it
    # holds staging's parse and classification of the raw events, done once (a million events: about 1 s
    # less than parsing them again from staging)
    M("intermediate", "int_user_lifecycle_events", ("activities",),
      "One row per successful user-lifecycle event (membership opened/closed, profile and "
      "organization admin changes) with the affected user."),
    M("intermediate", "int_user_activity_daily", ("activities",),
      "One row per acting user per day: event and sign-in counts, first/last event."),
    # ---------- marts over the history
    M("marts", "user_accounts",
      ("stg_docusign__memberships", "stg_docusign__account_users", "int_membership_listings",
       "int_user_lifecycle_events"),
      "One row per user-account membership per day: status, admin flag, permission profile, "
      "when it was opened/closed, from daily snapshots and lifecycle events.",
      latest_view=True, one_pass=True,
      reads={"stg_docusign__memberships": EVERY_EARLIER_DAY, "stg_docusign__account_users": EVERY_EARLIER_DAY,
             "int_membership_listings": EVERY_EARLIER_DAY, "int_user_lifecycle_events": EVERY_EARLIER_DAY},
      # each day's profile names, which the window's days and the history of profiles read
      parts=("user_accounts_profile_days",),
      history={part: ("int_membership_listings",) for part in (
          "user_accounts_listed_before", "user_accounts_sources_before", "user_accounts_profiles_before")}),
    M("marts", "users",
      ("stg_docusign__organization_users", "int_user_lifecycle_events", "user_accounts",
       "int_user_activity_daily", "stg_idp__users", "stg_docusign__reserved_domains"),
      "One row per organization user per day: active / partially_active / deleted across "
      "accounts, admin or not, managed (claimed domain) or external, first and last activity, "
      "identity-provider status.",
      latest_view=True, one_pass=True,
      reads={"stg_docusign__organization_users": EVERY_EARLIER_DAY, "int_user_lifecycle_events": EVERY_EARLIER_DAY,
             "int_user_activity_daily": EVERY_EARLIER_DAY, "stg_idp__users": EVERY_EARLIER_DAY,
             "stg_docusign__reserved_domains": EVERY_EARLIER_DAY},
      history={"users_listed_before": ("stg_docusign__organization_users",),
               "users_activity_before": ("int_user_activity_daily",),
               "users_idp_before": ("stg_idp__users",)}),
    M("marts", "account_daily_activity", ("activities",),
      "Daily activity summary per account: events, users, sign-ins by class, envelopes, "
      "setting and lifecycle changes, countries."),
    M("marts", "organization_daily_activity", ("activities",),
      "Daily activity summary per organization, account and organization scope together."),
)

# Posture (sql/posture/): Parquet per day like the marts, with the control catalog and the
# posture_* thresholds installed in the connection (dsassets.lib.posture.controls.install).
POSTURE_MODELS: tuple[Model, ...] = (
    M("posture", "posture_findings",
      ("stg_docusign__accounts", "stg_docusign__account_settings", "stg_docusign__password_rules",
       "stg_docusign__organization_users", "user_accounts", "users"),
      "One row per account, posture control and day: pass / fail / unknown, observed and "
      "expected values, severity, points, why it matters and where in DocuSign to fix it.",
      # posture_findings split by control family instead of one file with every control.
      parts=("posture_day_settings", "posture_day_rules", "posture_account_days",
             "posture_snapshot_findings", "posture_member_findings")),
    M("posture", "posture_scores", ("posture_findings", "stg_docusign__accounts"),
      "Secure-Score-style posture score per account and per organization per day: points of "
      "passed controls out of points possible, weighted by severity."),
    M("posture", "posture_changes", ("posture_findings", "activities"),
      "Drift: one row per account, control and day whose status changed since the previous "
      "snapshot day, with the audit events that changed the setting (who, IP, country).",
      # Each finding is paired with the previous one, however old, and the activities since then.
      reads={"posture_findings": EVERY_EARLIER_DAY, "activities": EVERY_EARLIER_DAY}),
)
BY_NAME: dict[str, Model] = {m.name: m for m in (*MODELS, *POSTURE_MODELS)}
