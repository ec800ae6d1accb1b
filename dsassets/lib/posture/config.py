"""The ``posture`` section of ``dsassets.yaml``: the thresholds of the controls of ``catalog``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from dsassets.lib.config.section import Section

from dsassets.lib.posture.catalog import CONTROL_IDS



class SeverityPoints(Section):
    """Points a posture control is worth, by severity (Secure Score style)."""

    high: int = Field(default=3, ge=0)
    medium: int = Field(default=2, ge=0)
    low: int = Field(default=1, ge=0)


class PostureConfig(Section):
    """Thresholds of the posture controls (dsassets/lib/posture/catalog.py, sql/posture/)."""

    session_timeout_max_minutes: int = Field(default=30, ge=1)
    mobile_session_timeout_max_minutes: int = Field(default=30, ge=1)
    password_min_length: int = Field(default=8, ge=1)
    password_complexity_min_classes: int = Field(default=3, ge=0, le=4)
    password_length_without_complexity: int = Field(default=15, ge=1)
    password_expiry: Literal["never", "max_days"] = "never"
    password_expiry_max_days: int = Field(default=365, ge=1)
    password_lockout_min_minutes: int = Field(default=15, ge=1)
    password_min_age_days: int = Field(default=1, ge=0)
    password_max_security_questions: int = Field(default=0, ge=0)
    two_step_verification_min_percent: int = Field(default=100, ge=0, le=100)
    two_step_verification_exempt_federated: bool = False
    admin_max_percent: int = Field(default=10, ge=0, le=100)
    admin_max_count: int = Field(default=4, ge=0)
    inactive_admin_days: int = Field(default=90, ge=1)
    idp_statuses: list[Literal["deleted", "disabled"]] = Field(
        default_factory=lambda: ["deleted", "disabled"], min_length=1
    )
    severity_points: SeverityPoints = Field(default_factory=SeverityPoints)
    disabled_controls: list[str] = Field(default_factory=list)

    @field_validator("disabled_controls")
    @classmethod
    def _known_controls(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in CONTROL_IDS]
        if unknown:
            raise ValueError(f"unknown control ids {unknown}; known: {', '.join(CONTROL_IDS)}")
        return value
