"""The ``scope`` section of ``dsassets.yaml``: per detection or activity policy, whom it alerts on.

::

    scope:
      impossible_travel:                 # a built-in detection's or a custom policy's id
        exclude:
          users: [svc-signing@acme.example.com]      # e-mail or DocuSign user id
          groups: [6f1c...]              # Entra group ids (members read through Graph, daily)
      external_admin_granted:
        include: {admin: false}
      multiple_failed_logins:
        include: {managed: true}         # only users in a claimed domain

A selector matches an alert's user when every attribute it names holds (``managed``,
``admin``, on the alert's day) and, if it lists ``users`` or ``groups``, the user is one of
them or a member of one of them. An alert is raised when the user matches ``include`` (if
given) and does not match ``exclude``. Alerts about no single user (a burst across users)
are always in scope.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GROUP_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Selector(BaseModel):
    """Who a scope's ``include`` or ``exclude`` names."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    managed: bool | None = None
    admin: bool | None = None

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        out = []
        for user in value:
            if not user.strip():
                raise ValueError("an empty user")
            out.append(user.strip().lower())
        return out

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for group in value:
            if not GROUP_ID.match(group.strip()):
                raise ValueError(f"{group!r} is not a group object id (a GUID)")
        return [g.strip().lower() for g in value]

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if not (self.users or self.groups or self.managed is not None or self.admin is not None):
            raise ValueError("names nobody: give users, groups, managed or admin")
        return self


class PolicyScope(BaseModel):
    """``include`` and/or ``exclude`` for one policy."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    include: Selector | None = None
    exclude: Selector | None = None

    def selectors(self) -> list[tuple[str, Selector]]:
        return [(name, s) for name, s in (("include", self.include), ("exclude", self.exclude)) if s is not None]


def group_ids(scopes: dict[str, PolicyScope]) -> list[str]:
    """Every group any scope names, once, sorted (what the group-members snapshot reads)."""
    return sorted({g for scope in scopes.values() for _, s in scope.selectors() for g in s.groups})
