"""Activity policy files: format, validation one policy at a time, and loading.

A file holds ``policies:``, a list of policies::

    policies:
      - id: mass_envelope_deletion          # [a-z][a-z0-9_]*, unique, not a built-in policy id
        title: Mass envelope deletion or voiding
        severity: high                      # informational | low | medium | high
        description: ...                    # optional, shown in the alert
        enabled: true                       # optional
        filters:                            # all must hold (AND); see FIELDS for fields/operators
          object: Envelope                  # a scalar means eq, a list means in
          action: [Deleted, Voided]
          ip_category: {not_in: [corporate]}
        threshold: {count: 20, minutes: 10, same_user: true}   # optional: repeated activity
        actions: [notify_user]              # optional governance actions
        notify_message: ...                 # optional extra text in the user's mail

A malformed policy is rejected with ``<file>: policy <id>: <field>: <problem>``; the others
in the file (and in other files) still load. ``load_policies`` returns both lists.
"""

from __future__ import annotations

import glob as globlib
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dsassets.lib.detections.registry import POLICIES
from dsassets.lib.policies.settings import ActionType

Severity = Literal["informational", "low", "medium", "high"]
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,50}$")
IP_CATEGORIES = ("corporate", "vpn", "risky", "cloud_provider", "administrative")
SCOPES = ("account", "organization")
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Policy ids the built-in detections use: a custom policy may not take one, since `alerts.policy`
# must say which is which.
BUILTIN_IDS = frozenset(POLICIES)

Kind = Literal["text", "bool", "tags", "time"]


@dataclass(frozen=True)
class FieldSpec:
    """A filterable field of ``policy_activity``: its kind, operators and accepted values."""

    kind: Kind
    operators: tuple[str, ...]
    allowed: tuple[str, ...] | None = None  # closed vocabularies (lowercase)
    doc: str = ""


_TEXT = ("eq", "ne", "in", "not_in", "is_set")
FIELDS: dict[str, FieldSpec] = {
    "object": FieldSpec("text", _TEXT, doc="Monitor object: User, Envelope, Account, Organization, ..."),
    "action": FieldSpec("text", _TEXT, doc="Monitor action: Login, Deleted, Voided, Downloaded, Updated, ..."),
    "result": FieldSpec("text", _TEXT, doc="Success, Failed"),
    "user": FieldSpec("text", ("eq", "ne", "in", "not_in"), doc="the acting user's e-mail or user id"),
    "is_admin": FieldSpec("bool", ("eq",), doc="the actor is an administrator that day (users mart)"),
    "scope": FieldSpec("text", ("eq", "ne", "in", "not_in"), SCOPES, doc="account or organization"),
    "account": FieldSpec("text", _TEXT, doc="account id (GUID)"),
    "ip_address": FieldSpec("text", _TEXT + ("starts_with",), doc="the event's IP address"),
    "ip_category": FieldSpec("text", _TEXT, IP_CATEGORIES, doc="category of the ip_ranges range holding the IP"),
    "ip_tag": FieldSpec("tags", ("in", "not_in", "is_set"),
                        doc="tags of the IP's range and of the IP lists it is on (Tor exit nodes, ...)"),
    "country": FieldSpec("text", _TEXT, doc="ISO 3166 alpha-2 code of the event's location"),
    "user_agent": FieldSpec("text", ("eq", "contains", "not_contains", "starts_with", "is_set"),
                            doc="substring of the user agent (case-insensitive)"),
    "time_of_day": FieldSpec("time", ("between", "not_between"),
                             doc="UTC [from, to) as HH:MM; from > to wraps midnight"),
}


class Threshold(BaseModel):
    """Repeated activity: at least ``count`` matching events within ``minutes``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    count: int = Field(ge=2, le=1_000_000)
    minutes: int = Field(ge=1, le=7 * 24 * 60)
    same_user: bool = True


class Policy(BaseModel):
    """One custom activity policy (filters already checked by ``check_filters``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str
    title: str = Field(min_length=1, max_length=200)
    severity: Severity
    description: str = ""
    enabled: bool = True
    filters: dict[str, Any] = Field(min_length=1)
    threshold: Threshold | None = None
    actions: list[ActionType] = Field(default_factory=list)
    notify_message: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must match [a-z][a-z0-9_]* (2-51 characters)")
        if value in BUILTIN_IDS:
            raise ValueError(f"{value!r} is a built-in detection's id")
        return value

    @field_validator("actions")
    @classmethod
    def _unique_actions(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an action is listed twice")
        return value

    @field_validator("filters")
    @classmethod
    def _filters(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_filters(value)

    @property
    def asset_name(self) -> str:
        return f"pol_{self.id}"


def _normalize(name: str, spec: FieldSpec, op: str, value: Any) -> Any:
    """Check one operator's value against the field; returns it normalized (lowercase, typed)."""
    where = f"filters.{name}.{op}"
    if op == "is_set":
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if spec.kind == "time":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise ValueError(f"{where}: expected [\"HH:MM\", \"HH:MM\"], got {value!r}")
        out = []
        for v in value:
            m = TIME_PATTERN.match(v.strip())
            if not m:
                raise ValueError(f"{where}: {v!r} is not a time HH:MM (00:00-23:59)")
            out.append(time(int(m.group(1)), int(m.group(2))))
        if out[0] == out[1]:
            raise ValueError(f"{where}: an empty window ({value[0]} to {value[1]})")
        return out
    many = op in ("in", "not_in") or spec.kind == "tags"
    if many:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where}: expected a non-empty list of strings, got {value!r}")
        items = value
    else:
        items = [value]
    cleaned = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{where}: expected a non-empty string, got {item!r}")
        text = item.strip().lower()
        if name == "country" and not (len(text) == 2 and text.isalpha()):
            raise ValueError(f"{where}: {item!r} is not a two-letter ISO 3166 code")
        if spec.allowed is not None and text not in spec.allowed:
            raise ValueError(f"{where}: {item!r} is not one of {', '.join(spec.allowed)}")
        cleaned.append(text)
    return cleaned if many else cleaned[0]


def check_filters(filters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: value | [values] | {op: value}}`` -> ``{field: {op: normalized value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in filters.items():
        spec = FIELDS.get(name)
        if spec is None:
            raise ValueError(f"filters.{name}: unknown field (known: {', '.join(FIELDS)})")
        if isinstance(raw, dict):
            ops = raw
        elif spec.kind == "time":
            ops = {"between": raw}
        elif isinstance(raw, list):
            ops = {"in": raw}
        else:
            ops = {"eq": raw}
        if not ops:
            raise ValueError(f"filters.{name}: no operator given (allowed: {', '.join(spec.operators)})")
        checked = {}
        for op, value in ops.items():
            if op not in spec.operators:
                raise ValueError(
                    f"filters.{name}: operator {op!r} is not allowed here (allowed: {', '.join(spec.operators)})"
                )
            checked[op] = _normalize(name, spec, op, value)
        out[name] = checked
    return out


@dataclass(frozen=True)
class LoadError:
    file: str
    policy: str | None
    message: str

    def __str__(self) -> str:
        who = f"policy {self.policy}: " if self.policy else ""
        return f"{self.file}: {who}{self.message}"


@dataclass
class Loaded:
    policies: list[Policy] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # policy id -> file


def _error_lines(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p in {"str", "int", "bool"}))
        msg = err["msg"].removeprefix("Value error, ")
        # Filter messages already name their path (filters.<field>.<op>).
        lines.append(msg if msg.startswith("filters.") else f"{loc or '<policy>'}: {msg}")
    return lines


def parse_policies(data: Any, file: str, loaded: Loaded, taken: set[str]) -> None:
    """Validate one file's content into ``loaded``; each bad policy becomes one ``LoadError``."""
    if not isinstance(data, dict) or set(data) - {"policies"}:
        extra = sorted(set(data) - {"policies"}) if isinstance(data, dict) else None
        loaded.errors.append(LoadError(file, None, f"unknown top-level key(s) {extra}; expected only `policies`"
                                       if extra else "expected a mapping with a `policies` list"))
        return
    items = data.get("policies") or []
    if not isinstance(items, list):
        loaded.errors.append(LoadError(file, None, "`policies` must be a list"))
        return
    for i, item in enumerate(items):
        pid = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else f"#{i + 1}"
        if not isinstance(item, dict):
            loaded.errors.append(LoadError(file, pid, "expected a mapping"))
            continue
        try:
            policy = Policy.model_validate(item)
        except ValidationError as exc:
            loaded.errors.append(LoadError(file, pid, "; ".join(_error_lines(exc))))
            continue
        if policy.id in taken:
            loaded.errors.append(LoadError(file, pid, "id: another policy already uses this id"))
            continue
        taken.add(policy.id)
        loaded.policies.append(policy)
        loaded.sources[policy.id] = file


def resolve_files(patterns: list[str], base: Path) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        p = Path(pattern).expanduser()
        full = p if p.is_absolute() else base / p
        matched = sorted(Path(m) for m in globlib.glob(str(full)))
        if not matched and not globlib.has_magic(str(full)):
            matched = [full]  # a named file that is missing: reported by load_policies
        files.extend(m for m in matched if m not in files)
    return files


def load_policies(patterns: list[str], base: Path) -> Loaded:
    """Every policy of the files ``patterns`` name (relative to ``base``), and every error."""
    loaded = Loaded()
    taken: set[str] = set()
    for path in resolve_files(patterns, base):
        name = str(path)
        loaded.files.append(name)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            loaded.errors.append(LoadError(name, None, f"cannot read ({exc.strerror})"))
            continue
        except yaml.YAMLError as exc:
            loaded.errors.append(LoadError(name, None, f"invalid YAML: {exc}"))
            continue
        parse_policies(data if data is not None else {}, name, loaded, taken)
    return loaded
