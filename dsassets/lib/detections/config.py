"""The ``detections`` section of ``dsassets.yaml``: the shared learning period and IP lists, and one
subsection per detection of the registry (``detections.<id>``, its ``config_model``).
"""

from __future__ import annotations

from pydantic import Field, create_model, model_validator

from dsassets.lib.config.section import Section
from dsassets.lib.detections.registry import DETECTIONS, POLICIES
from dsassets.lib.detections.thresholds import IpList, LearningConfig, PolicyConfig, default_ip_lists

__all__ = ["DetectionsConfig", "POLICIES"]


class _SharedSettings(Section):
    learning_period: LearningConfig = Field(default_factory=LearningConfig)
    ip_lists: list[IpList] = Field(default_factory=default_ip_lists)

    @model_validator(mode="after")
    def _unique_list_names(self):
        names = [entry.name for entry in self.ip_lists]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"ip_lists: duplicate name(s) {', '.join(dupes)}")
        return self

    def policy(self, name: str) -> PolicyConfig:
        return getattr(self, name)


DetectionsConfig = create_model(
    "DetectionsConfig",
    __base__=_SharedSettings,
    __doc__="The built-in anomaly policies (one field per detection) and the lists they match IPs against.",
    **{d.id: (d.config_model, Field(default_factory=d.config_model)) for d in DETECTIONS},
)
