"""The ``activity_policies`` section of ``dsassets.yaml``: where policies live and what governance may do.

Imported by ``dsassets.lib.config.project``, so it imports nothing from the project but the (equally
dependency-free) list of built-in detections.

Defaults: dry run for every action (MDCA runs governance only when a policy asks for it;
here nothing reaches Entra ID until an operator switches an action type on), and a 48-hour
age limit so a backfill of old history never acts on old alerts (the daily schedule runs at
01:00 UTC for the previous day, so a fresh alert is at most about 25 hours old; 48 leaves
room for one missed run).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dsassets.lib.config.section import Section

from dsassets.lib.detections.registry import POLICIES as BUILTIN_POLICIES

ActionType = Literal["notify_user", "require_sign_in_again", "suspend_user"]
ACTION_TYPES: tuple[str, ...] = ("notify_user", "require_sign_in_again", "suspend_user")



class ExecuteConfig(Section):
    """Which action types really call Microsoft Graph; the others are recorded as dry runs."""

    notify_user: bool = False
    require_sign_in_again: bool = False
    suspend_user: bool = False

    def enabled(self, action: str) -> bool:
        return bool(getattr(self, action))


class GovernanceConfig(Section):
    """Governance actions through Microsoft Entra ID (Graph), their safety limits and mail text."""

    execute: ExecuteConfig = Field(default_factory=ExecuteConfig)
    # Mailbox notify_user sends from (Graph sendMail needs Mail.Send for it). Required when
    # notify_user executes.
    mailbox: str | None = None
    # Alerts whose last event is older than this are never acted on (skipped, recorded), unless a
    # run is launched with the run config act_on_old_alerts: true.
    max_alert_age_hours: int = Field(default=48, ge=1)
    # Governance for the six built-in detections, e.g. {impossible_travel: [notify_user]}.
    builtin_policy_actions: dict[str, list[ActionType]] = Field(default_factory=dict)
    notify_subject: str = "DocuSign security alert: {title}"

    @model_validator(mode="after")
    def _mailbox_for_mail(self) -> GovernanceConfig:
        if self.execute.notify_user and not self.mailbox:
            raise ValueError("execute.notify_user is on but no mailbox is set to send from")
        return self

    @model_validator(mode="after")
    def _builtin_policies_exist(self) -> GovernanceConfig:
        # A typo here would silently mean "no governance" for that detection.
        unknown = sorted(set(self.builtin_policy_actions) - set(BUILTIN_POLICIES))
        if unknown:
            raise ValueError(
                f"builtin_policy_actions names {', '.join(unknown)}, which is not a built-in detection "
                f"(one of {', '.join(BUILTIN_POLICIES)}; activity policies list their actions in their own file)"
            )
        return self


class ActivityPoliciesConfig(Section):
    """Custom activity policy files and the governance actions alerts may trigger."""

    # Policy files, relative to dsassets.yaml; globs allowed. Each holds `policies: [...]`.
    files: list[str] = Field(default_factory=lambda: ["policies/*.yaml"])
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
