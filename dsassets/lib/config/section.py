"""The base of every ``dsassets.yaml`` section: unknown keys and wrong types are errors."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
