"""What the simulator's HTTP faces share: the reply shape, the error bodies, the bearer tokens and
the view of the simulator that the handlers serve from.

The handlers (``docusign_api``, ``graph_api``) and the router (``transport``) depend on this
module and on ``Served``, never on ``DocuSignSimulator`` itself, so the dependency runs one way:
``simulator`` -> ``transport`` -> the handlers -> here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dsassets.simulator.directory import Snapshot
from dsassets.simulator.stream import EventStore
from dsassets.simulator.world import World

TOKEN_LIFETIME = 3600
DEMO_BASE_URI = "https://demo.docusign.net"


@dataclass
class Reply:
    status: int
    body: object = None  # dict/list -> JSON; str -> already JSON text; None -> empty
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str) -> Reply:
    """DocuSign's error shape (``errorDetails``)."""
    return Reply(status, {"errorCode": code, "message": message})


def oauth_error(code: str, description: str) -> Reply:
    return Reply(400, {"error": code, "error_description": description})


def graph_error(status: int, code: str, message: str) -> Reply:
    """Microsoft Graph's error shape."""
    return Reply(status, {"error": {"code": code, "message": message}})


class TokenStore:
    """Opaque access tokens issued by the simulator; expiry on the wall clock (tokens are the client's)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}

    def issue(self, audience: str, lifetime: int = TOKEN_LIFETIME) -> str:
        token = f"sim.{audience}.{secrets.token_urlsafe(24)}"
        self._tokens[token] = (audience, time.monotonic() + lifetime)
        return token

    def check(self, authorization: str | None, audience: str) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        found = self._tokens.get(authorization[7:].strip())
        return found is not None and found[0] == audience and time.monotonic() < found[1]

    def revoke_all(self) -> None:
        """Expire every token (tests of the client's renew-on-401 path)."""
        self._tokens.clear()


class Served(Protocol):
    """The simulator as its HTTP handlers see it (``DocuSignSimulator`` is the one implementation)."""

    world: World
    store: EventStore
    tokens: TokenStore
    public_key_pem: str
    graph_calls: list[dict]
    request_log: list[tuple[str, str, int]]

    @property
    def service_user_id(self) -> str: ...

    def now(self) -> datetime: ...

    def now_ticks(self) -> int: ...

    def snapshot(self, when: datetime | None = None) -> Snapshot: ...
