"""Check requests and responses against DocuSign's published OpenAPI (Swagger 2.0) specs.

Used by the client tests (what we send) and the simulator tests (what it serves).
Specs live outside the repository in ``shared/reference/docusign-openapi``;
every entry point skips the calling test when they are absent.

Spec names: ``"monitor"`` (v2.0 stream), ``"admin"`` (Admin API v2.1) and
``"esignature"`` (eSignature REST v2.1).
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

def _spec_dir() -> Path:
    """``DOCUSIGN_OPENAPI_DIR``, else ``shared/reference/docusign-openapi`` beside the checkout or above it
    (a git worktree sits deeper than the main checkout)."""
    if os.environ.get("DOCUSIGN_OPENAPI_DIR"):
        return Path(os.environ["DOCUSIGN_OPENAPI_DIR"])
    relative = Path("shared") / "reference" / "docusign-openapi"
    repo = Path(__file__).resolve().parents[2]
    for parent in repo.parents:
        if (parent / relative).is_dir():
            return parent / relative
    return repo.parent / relative


SPEC_DIR = _spec_dir()
SPEC_FILES = {
    "monitor": "monitor.rest.swagger-v2.0.json",
    "admin": "admin.rest.swagger-v2.1.json",
    "esignature": "esignature.rest.swagger-v2.1.json",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@lru_cache(maxsize=None)
def load_spec(spec_name: str) -> dict:
    """The parsed spec, or ``pytest.skip`` when the reference copy is not present."""
    path = SPEC_DIR / SPEC_FILES.get(spec_name, spec_name)
    if not path.is_file():
        pytest.skip(f"OpenAPI spec not available: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts))


@lru_cache(maxsize=None)
def _templates(spec_name: str) -> list[tuple[str, re.Pattern[str], int]]:
    """``(template, regex, literal length)`` for every path; more literal text = more specific."""
    out = []
    for template in load_spec(spec_name)["paths"]:
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        out.append((template, _template_regex(template), literal))
    return out


def find_operation(spec_name: str, method: str, url_path: str) -> tuple[str, dict]:
    """The ``(path template, operation)`` serving ``method url_path``; ``AssertionError`` if none.

    ``url_path`` may be a template, a path relative to the spec's ``basePath``,
    or a full request path (anything up to and including ``basePath`` is ignored,
    so a stand-in server may mount the API under a prefix).
    """
    spec = load_spec(spec_name)
    paths = spec["paths"]
    if url_path in paths:
        candidates = [url_path]
    else:
        base = spec.get("basePath") or ""
        rest = url_path
        if base and (base + "/") in url_path:
            rest = url_path[url_path.index(base + "/") + len(base) :]
        exact = [(t, lit) for t, rx, lit in _templates(spec_name) if rx.fullmatch(rest)]
        if not exact:  # mounted under a prefix without the basePath
            exact = [(t, lit) for t, rx, lit in _templates(spec_name) if re.search(rx.pattern + "$", rest)]
        candidates = [t for t, _ in sorted(exact, key=lambda item: -item[1])]
    for template in candidates:
        operation = paths[template].get(method.lower())
        if operation is not None:
            return template, operation
    if candidates:
        raise AssertionError(f"{spec_name}: {candidates[0]} has no {method.upper()} operation")
    raise AssertionError(f"{spec_name}: no path template matches {url_path!r}")


def _parameters(spec_name: str, template: str, operation: dict) -> list[dict]:
    spec = load_spec(spec_name)
    params = list(spec["paths"][template].get("parameters", [])) + list(operation.get("parameters", []))
    return [_resolve(spec, p) for p in params]


def check_request(spec_name: str, request: httpx.Request) -> tuple[str, dict]:
    """Assert ``request`` matches a spec path and sends only declared query parameters, well typed.

    Returns ``(template, operation)``.
    """
    template, operation = find_operation(spec_name, request.method, request.url.path)
    parameters = _parameters(spec_name, template, operation)
    path_match = re.search(_template_regex(template).pattern + "$", request.url.path)
    if path_match:  # a template passed verbatim has nothing to check
        by_name = {p["name"]: p for p in parameters if p.get("in") == "path"}
        for name, value in zip(re.findall(r"\{([^}]+)\}", template), path_match.groups(), strict=True):
            if name in by_name:
                _check_value(template, by_name[name], value)
    declared = {p["name"]: p for p in parameters if p.get("in") == "query"}
    sent = request.url.params
    for name in sent.keys():
        assert name in declared, (
            f"{request.method} {template}: query parameter {name!r} is not declared (declared: {sorted(declared)})"
        )
        for value in sent.get_list(name):
            _check_value(template, declared[name], value)
    for name, param in declared.items():
        assert not param.get("required") or name in sent, f"{request.method} {template}: missing required {name!r}"
    bodies = [p for p in parameters if p.get("in") == "body"]
    if bodies:
        _check_body(spec_name, template, request, bodies[0])
    return template, operation


def _check_body(spec_name: str, template: str, request: httpx.Request, param: dict) -> None:
    """A JSON body fits the declared schema, and sends no property the schema does not declare."""
    content = request.read()
    assert content or not param.get("required"), f"{request.method} {template}: missing required body"
    if not content:
        return
    body = json.loads(content)
    spec = load_spec(spec_name)
    schema = _resolve(spec, param["schema"])
    strict = {**schema, "additionalProperties": False} if schema.get("type") == "object" else schema
    validator = jsonschema.Draft4Validator({**strict, "definitions": spec["definitions"]})
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        raise AssertionError(f"{request.method} {template}: request body: {error.message}")


def _check_value(template: str, param: dict, value: str) -> None:
    kind, name = param.get("type"), param["name"]
    if kind == "integer":
        assert re.fullmatch(r"-?\d+", value), f"{template}: {name}={value!r} is not an integer"
    elif kind == "boolean":
        assert value in ("true", "false"), f"{template}: {name}={value!r} is not a boolean"
    if param.get("format") == "uuid":
        assert re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value), (
            f"{template}: {name}={value!r} is not a GUID"
        )
    if "enum" in param:
        assert value in [str(v) for v in param["enum"]], f"{template}: {name}={value!r} not in {param['enum']}"


def _resolve(spec: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are supported, got {ref}"
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _response(spec_name: str, method: str, path: str, status: int) -> tuple[dict, dict] | None:
    """``(operation, response object)`` for ``status`` (falling back to ``default``), or ``None``."""
    spec = load_spec(spec_name)
    _, operation = find_operation(spec_name, method, path)
    responses = operation.get("responses", {})
    response = responses.get(str(status), responses.get("default"))
    return (operation, _resolve(spec, response)) if response is not None else None


def response_schema(spec_name: str, method: str, path: str, status: int = 200) -> dict | None:
    """The self-contained JSON schema of the response (``definitions`` attached), or ``None``."""
    found = _response(spec_name, method, path, status)
    if found is None or "schema" not in found[1]:
        return None
    return {**found[1]["schema"], "definitions": load_spec(spec_name)["definitions"]}


@lru_cache(maxsize=None)
def _nullable_definitions(spec_name: str) -> dict:
    return _allow_null(copy.deepcopy(load_spec(spec_name)["definitions"]))


def _allow_null(node: Any) -> Any:
    """Let every typed schema also accept ``null``.

    Swagger 2.0 cannot express nullability, yet DocuSign sends ``null`` for
    documented fields (``nextUri`` on the last page, DOCUSIGN_API.md §3.1).
    """
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = _allow_null(value)
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
    elif isinstance(node, list):
        return [_allow_null(item) for item in node]
    return node


def validate_response(
    spec_name: str, method: str, path: str, status: int, body: Any, *, allow_null: bool = True
) -> None:
    """Assert ``body`` fits the spec's schema for ``status``.

    Statuses the spec does not declare pass for errors (specs rarely list
    401/429/5xx) but fail for 2xx. ``allow_null=False`` rejects ``null`` values.
    """
    found = _response(spec_name, method, path, status)
    if found is None:
        assert not 200 <= status < 300, f"{spec_name}: {method.upper()} {path} does not declare HTTP {status}"
        return
    schema = found[1].get("schema")
    if schema is None:
        return
    definitions = _nullable_definitions(spec_name) if allow_null else load_spec(spec_name)["definitions"]
    if allow_null:
        schema = _allow_null(copy.deepcopy(schema))
    validator = jsonschema.Draft4Validator({**schema, "definitions": definitions})
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise AssertionError(f"{spec_name}: {method.upper()} {path} HTTP {status} body at {where}: {error.message}")


def field_schema(spec_name: str, method: str, path: str, field: str, status: int = 200) -> dict | None:
    """The schema of a dotted field of the response (``"users[].memberships"``), or ``None`` if undeclared."""
    spec = load_spec(spec_name)
    schema = response_schema(spec_name, method, path, status)
    node: Any = _resolve(spec, schema) if schema else None
    for part in field.split("."):
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        node = _resolve(spec, node)
        if not isinstance(node, dict) or name not in node.get("properties", {}):
            return None
        node = _resolve(spec, node["properties"][name])
        if is_list:
            if node.get("type") != "array":
                return None
            node = _resolve(spec, node.get("items", {}))
    return node
