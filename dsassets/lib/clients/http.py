"""A small retrying HTTP layer shared by the DocuSign and Microsoft Graph clients.

It owns the policy every API call needs and nothing else: bounded retries with
exponential backoff and full jitter, ``Retry-After`` and ``X-RateLimit-*``
handling, and errors that name the endpoint but never carry a credential.
``sleep``, ``clock`` and the jitter RNG are injected so tests never wait.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from typing import Any, Callable, Iterable, Mapping

import httpx
import orjson

log = logging.getLogger("dsassets.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Only these statuses carry a Retry-After worth obeying (RFC 9110 §10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})
REDACTED = "[REDACTED]"

# Keys whose values are credentials wherever they appear (JSON, form, or "key=value" text).
_SECRET_KEYS = (
    "access_token|refresh_token|id_token|assertion|client_secret|client_assertion"
    "|private_key|privatekey|authorization|password|secret|token"
)
_SECRET_PATTERNS = (
    # PEM blocks, complete or cut short.
    re.compile(r"-----BEGIN [A-Z ]*-----.*?(?:-----END [A-Z ]*-----|$)", re.S),
    # Anything shaped like a JWT (DocuSign access tokens and our assertions are JWTs).
    re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*"),
    re.compile(r"(?i)\b((?:Bearer|Basic)\s+)[^\s\"',;]+"),
    # "access_token": "..."  /  access_token=...  /  'client_secret': '...'
    re.compile(rf"(?i)([\"']?\b(?:{_SECRET_KEYS})\b[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}}]+"),
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with known secret values and credential-shaped substrings redacted."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + REDACTED, text)
    return text


def describe(method: str, url: httpx.URL | str) -> str:
    """``METHOD scheme://host/path`` with the query string dropped: queries can hold secrets."""
    u = httpx.URL(url)
    return f"{method.upper()} {u.scheme}://{u.netloc.decode()}{u.path}"


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``base``: links are only followed there."""
    a, b = httpx.URL(url), httpx.URL(base)
    return (a.scheme, a.host.lower(), a.port) == (b.scheme, b.host.lower(), b.port)


class ApiError(RuntimeError):
    """An HTTP call failed for good: a non-retryable status or retries exhausted.

    The message names the endpoint, the request (path only) and the last status,
    plus the server's ``error``/``message`` fields with any credential scrubbed.
    """

    def __init__(
        self,
        endpoint_name: str,
        request: str,
        status: int | None,
        detail: str = "",
        *,
        error_code: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.request_line = request
        self.status = status
        self.detail = detail
        self.error_code = error_code
        self.attempts = attempts
        outcome = f"HTTP {status}" if status is not None else "no response"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = f"{endpoint_name}: {request} failed with {outcome}{tries}"
        super().__init__(f"{message}: {detail}" if detail else message)


class RetryingHttp:
    """``httpx.Client`` plus retry, backoff and rate-limit policy.

    Args:
        transport: swapped for ``httpx.MockTransport`` in tests; ``None`` means the network.
        timeout: per-request timeout in seconds.
        max_attempts: total tries per request, including the first.
        backoff_base / backoff_cap: full-jitter backoff waits ``uniform(0, min(cap, base * 2**n))``.
        max_wait: upper bound on any single wait, including ``Retry-After`` and rate-limit resets.
        clock / sleep / rng: injectable time source, sleeper and jitter RNG.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_wait: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = httpx.Client(transport=transport, timeout=timeout)
        self.max_attempts, self.max_wait = max_attempts, max_wait
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._clock, self._sleep, self._rng = clock, sleep, rng or random.Random()
        self._secrets: set[str] = set()
        self._not_before = 0.0  # epoch seconds before which no request may be sent
        # Several threads (parallel Monitor windows) may share this client and its one quota:
        # each waits once for each reset it sees, so one thread's wait does not let the others run.
        self._waited = threading.local()

    def redact(self, *values: str | None) -> None:
        """Register credential values that must never appear in an error message."""
        for value in values:
            if not value:
                continue
            self._secrets.add(value)
            # Also each long line of a multi-line secret (a PEM body) in case a fragment is echoed.
            self._secrets.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)

    def scrub(self, text: str) -> str:
        """Redact registered secrets and credential-shaped substrings from ``text``."""
        return scrub(text, self._secrets)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        endpoint_name: str,
    ) -> httpx.Response:
        """Send one request, retrying transient failures; return a 2xx/3xx response or raise ``ApiError``."""
        line = describe(method, url)
        for attempt in range(1, self.max_attempts + 1):
            self._wait_for_rate_limit(line)
            try:
                response = self._client.request(method, url, params=params, data=data, json=json, headers=headers)
            except httpx.TransportError as exc:  # includes every httpx.TimeoutException
                reason = f"{type(exc).__name__}: {self.scrub(str(exc))}".rstrip(": ")
                if attempt == self.max_attempts:
                    raise ApiError(endpoint_name, line, None, reason, attempts=attempt) from None
                self._pause(self._backoff(attempt), line, reason, attempt)
                continue
            # The body is read and its stream closed. httpx's stream still points back at its
            # response: a reference cycle that only a full garbage collection frees, each holding
            # its body (a Monitor page, ~1.5 MB) until then. A month's backfill grew by 4 GB of
            # them; a plain stream over the body breaks the cycle, so a response goes when unused.
            response.stream = httpx.ByteStream(response.content)
            self._note_rate_limit(response)
            status = response.status_code
            log.info("%s -> %s", line, status)
            if status in RETRY_STATUSES:
                if attempt == self.max_attempts:
                    raise self._error(endpoint_name, line, response, attempt)
                wait = self._retry_after(response) if status in RETRY_AFTER_STATUSES else None
                self._pause(self._backoff(attempt) if wait is None else wait, line, f"HTTP {status}", attempt)
                continue
            if status >= 400:
                raise self._error(endpoint_name, line, response, attempt)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    # -- waiting -------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return self._rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _pause(self, seconds: float, line: str, reason: str, attempt: int) -> None:
        seconds = max(0.0, min(seconds, self.max_wait))
        log.warning("%s: %s on attempt %d/%d; retrying in %.1fs", line, reason, attempt, self.max_attempts, seconds)
        self._sleep(seconds)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or ``None``."""
        raw = response.headers.get("Retry-After", "").strip()
        if not raw:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT by definition
            return None
        return max(0.0, when.timestamp() - self._clock())

    def _note_rate_limit(self, response: httpx.Response) -> None:
        # DocuSign reports its hourly quota in X-RateLimit-*; when it is spent, pausing until the
        # reset is cheaper than burning retries on 429s (DOCUSIGN_API.md §1.6).
        if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        try:
            reset = float(response.headers.get("X-RateLimit-Reset", ""))
        except ValueError:
            return
        self._not_before = max(self._not_before, reset)

    def _wait_for_rate_limit(self, line: str) -> None:
        not_before = self._not_before
        if not_before <= getattr(self._waited, "until", 0.0):
            return
        self._waited.until = not_before
        wait = not_before - self._clock()
        if wait > 0:
            wait = min(wait, self.max_wait)
            log.warning("%s: rate limit exhausted; waiting %.1fs for the reset", line, wait)
            self._sleep(wait)

    # -- errors --------------------------------------------------------------------------------

    def _error(self, endpoint_name: str, line: str, response: httpx.Response, attempts: int) -> ApiError:
        code, detail = _error_fields(response)
        return ApiError(
            endpoint_name,
            line,
            response.status_code,
            self.scrub(detail)[:500],
            error_code=self.scrub(code) if code else None,
            attempts=attempts,
        )


def _error_fields(response: httpx.Response) -> tuple[str | None, str]:
    """``(error code, human detail)`` from a JSON error body; non-JSON bodies are not echoed."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error")
    if isinstance(error, dict):  # Microsoft Graph: {"error": {"code": ..., "message": ...}}
        code = error.get("code")
        parts = [error.get("code"), error.get("message")]
    else:  # OAuth ({"error", "error_description"}), DocuSign ({"errorCode", "message"}), Admin
        code = error if isinstance(error, str) else body.get("errorCode")
        parts = [error, body.get("error_description"), body.get("errorCode"), body.get("message")]
    texts = [str(p) for p in parts if isinstance(p, (str, int)) and str(p)]
    return (str(code) if isinstance(code, (str, int)) else None), ": ".join(dict.fromkeys(texts))


# Renew a cached token when less than this remains, so a long page loop never sends a dying token.
TOKEN_RENEW_MARGIN_SECONDS = 300


class BearerApiClient:
    """What the DocuSign and Graph clients share: one retrying connection pool, the secrets it
    must never echo, a cached bearer token renewed before it expires (and once on a 401), JSON
    bodies, and context-manager closing.

    A client says which secrets its settings hold, how to ask for a token, and which error
    a document it cannot use raises. ``transport`` is the only seam for tests, the simulator and
    stand-in servers; ``clock``, ``sleep`` and ``rng`` make retries and token expiry testable
    without waiting.
    """

    # The token endpoint's name in errors, and the error for a document the client cannot use.
    TOKEN_ENDPOINT = "token"
    DataError: type[ValueError] = ValueError

    def __init__(
        self,
        settings: Any,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._http = RetryingHttp(
            transport=transport, timeout=settings.timeout_seconds, max_attempts=settings.max_attempts,
            clock=clock, sleep=sleep, rng=rng,
        )
        self._http.redact(*self._secrets())
        self._token: str | None = None
        self._token_renew_at = 0.0

    def _secrets(self) -> Iterable[str]:
        """The credentials in ``settings`` that no error message may show."""
        raise NotImplementedError

    def _request_token(self, now: float) -> httpx.Response:
        """Ask the authorization server for a token at ``now``."""
        raise NotImplementedError

    def _now(self) -> float:
        return self._clock()

    def _access_token(self) -> str:
        if self._token is not None and self._clock() < self._token_renew_at:
            return self._token
        now = self._now()
        body = self._json(self._request_token(now), self.TOKEN_ENDPOINT)
        token = body.get("access_token") if isinstance(body, dict) else None
        try:
            lifetime = float(body.get("expires_in"))  # type: ignore[union-attr, arg-type]
        except (AttributeError, TypeError, ValueError):
            lifetime = -1.0
        if not isinstance(token, str) or not token or lifetime <= 0:
            name = self.TOKEN_ENDPOINT.split(" (")[0]
            raise self.DataError(f"{name}: response lacks access_token or a positive expires_in")
        self._http.redact(token)
        self._token = token
        self._token_renew_at = now + lifetime - min(TOKEN_RENEW_MARGIN_SECONDS, lifetime / 2)
        return token

    def _authorized(
        self, method: str, url: str, *, endpoint_name: str, accept: str = "application/json", **kwargs: Any
    ) -> httpx.Response:
        """The request with the bearer token; a 401 renews the token and retries the call once."""
        for renewed in (False, True):
            headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": accept}
            try:
                return self._http.request(method, url, headers=headers, endpoint_name=endpoint_name, **kwargs)
            except ApiError as exc:
                if exc.status == 401 and not renewed:
                    self._token = None  # revoked or expired early: one fresh token, then give up
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, response: httpx.Response, endpoint_name: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise self.DataError(f"{endpoint_name}: response is not JSON (HTTP {response.status_code})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()
