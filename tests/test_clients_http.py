"""RetryingHttp: retries, backoff, Retry-After, rate limits, and errors that never leak credentials."""

from __future__ import annotations

import gc
import logging
import weakref
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest

from dsassets.lib.clients.http import ApiError, RetryingHttp, scrub

URL = "https://api.example.test/v2/things"
NOW = 1_700_000_000.0


class FakeTime:
    """Injected clock and sleep: sleeping advances the clock and is recorded, never real."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class UpperBoundRng:
    """Jitter RNG that returns the top of the range and records the ranges asked for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return high


def scripted(*steps):
    """A MockTransport replaying ``steps`` in order: each a Response, an exception, or a callable."""
    calls: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step

    return httpx.MockTransport(handler), calls


def make_http(transport, time_: FakeTime, **kwargs) -> RetryingHttp:
    kwargs.setdefault("max_attempts", 4)
    return RetryingHttp(transport=transport, clock=time_.clock, sleep=time_.sleep, rng=UpperBoundRng(), **kwargs)


def ok(**kwargs) -> httpx.Response:
    return httpx.Response(200, json={"ok": True}, **kwargs)


def test_success_returns_response_without_sleeping():
    transport, calls = scripted(ok())
    t = FakeTime()
    response = make_http(transport, t).request("GET", URL, params={"a": "1"}, endpoint_name="things")
    assert response.json() == {"ok": True}
    assert len(calls) == 1 and calls[0].url.params["a"] == "1"
    assert t.sleeps == []


def test_a_returned_response_is_freed_as_soon_as_it_is_dropped():
    """A backfill reads thousands of pages: each response (its body a page) must go when the caller
    drops it, not wait in a reference cycle for a full garbage collection (httpx's stream points
    back at its response; a month's read held 4 GB of bodies that way)."""
    transport, _ = scripted(lambda request: httpx.Response(200, content=b"x" * 100_000))
    http = make_http(transport, FakeTime())
    gc.disable()
    try:
        response = http.request("GET", URL, endpoint_name="things")
        assert response.content == b"x" * 100_000  # the body is still readable
        dropped = weakref.ref(response)
        del response
        assert dropped() is None
    finally:
        gc.enable()


def test_429_with_retry_after_seconds_is_honoured_then_succeeds():
    transport, calls = scripted(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    t = FakeTime()
    response = make_http(transport, t).request("GET", URL, endpoint_name="things")
    assert response.status_code == 200
    assert len(calls) == 2
    assert t.sleeps == [7.0]


def test_503_with_retry_after_http_date_waits_until_that_time():
    when = datetime.fromtimestamp(NOW + 30, tz=timezone.utc)
    transport, _ = scripted(httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), ok())
    t = FakeTime()
    make_http(transport, t).request("GET", URL, endpoint_name="things")
    assert t.sleeps == [pytest.approx(30.0)]


def test_retry_after_is_capped_at_max_wait():
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "86400"}), ok())
    t = FakeTime()
    make_http(transport, t, max_wait=120.0).request("GET", URL, endpoint_name="things")
    assert t.sleeps == [120.0]


@pytest.mark.parametrize("statuses", [(503, 500), (502, 504), (500, 500)])
def test_server_errors_back_off_exponentially_then_succeed(statuses):
    transport, calls = scripted(*(httpx.Response(s) for s in statuses), ok())
    t = FakeTime()
    http = make_http(transport, t, backoff_base=1.0)
    assert http.request("GET", URL, endpoint_name="things").status_code == 200
    assert len(calls) == 3
    # UpperBoundRng returns the top of the full-jitter range: base * 2**(attempt-1).
    assert t.sleeps == [1.0, 2.0]
    assert http._rng.ranges == [(0.0, 1.0), (0.0, 2.0)]


def test_backoff_is_full_jitter_below_the_cap():
    transport, _ = scripted(*(httpx.Response(500) for _ in range(5)), ok())
    t = FakeTime()
    http = make_http(transport, t, max_attempts=6, backoff_base=2.0, backoff_cap=10.0)
    http.request("GET", URL, endpoint_name="things")
    assert http._rng.ranges == [(0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 10.0), (0.0, 10.0)]


def test_timeouts_and_connection_errors_are_retried():
    transport, calls = scripted(httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused"), ok())
    t = FakeTime()
    assert make_http(transport, t).request("GET", URL, endpoint_name="things").status_code == 200
    assert len(calls) == 3
    assert len(t.sleeps) == 2


def test_attempts_are_bounded_then_api_error_names_endpoint_and_status():
    transport, calls = scripted(httpx.Response(502))
    t = FakeTime()
    with pytest.raises(ApiError) as info:
        make_http(transport, t, max_attempts=3).request("GET", URL + "?cursor=abc", endpoint_name="Widget list")
    assert len(calls) == 3
    assert len(t.sleeps) == 2
    message = str(info.value)
    assert "Widget list" in message
    assert "GET https://api.example.test/v2/things" in message
    assert "HTTP 502" in message and "3 attempts" in message
    assert "cursor=abc" not in message  # query strings are never echoed
    assert info.value.status == 502


def test_attempts_are_bounded_for_timeouts_too():
    transport, calls = scripted(httpx.ConnectTimeout("timed out"))
    with pytest.raises(ApiError, match="things: GET .* no response after 2 attempts: ConnectTimeout") as info:
        make_http(transport, FakeTime(), max_attempts=2).request("GET", URL, endpoint_name="things")
    assert len(calls) == 2
    assert info.value.status is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(status):
    body = {"errorCode": "INVALID_REQUEST_PARAMETER", "message": "start_position must be an integer"}
    transport, calls = scripted(httpx.Response(status, json=body), ok())
    t = FakeTime()
    with pytest.raises(ApiError) as info:
        make_http(transport, t).request("GET", URL, endpoint_name="things")
    assert len(calls) == 1
    assert t.sleeps == []
    assert info.value.status == status
    assert "INVALID_REQUEST_PARAMETER" in str(info.value)
    assert "start_position must be an integer" in str(info.value)


def test_non_json_error_bodies_are_not_echoed():
    transport, _ = scripted(httpx.Response(403, text="<html>internal stack trace secret=123</html>"))
    with pytest.raises(ApiError) as info:
        make_http(transport, FakeTime()).request("GET", URL, endpoint_name="things")
    assert "stack trace" not in str(info.value)
    assert "HTTP 403" in str(info.value)


SECRET_TOKEN = "sk-live-8f3a9c2e1b7d4f6a"
JWT_LIKE = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAuT3zyxDuBdVfVd1qZp6mExampleKeyMaterial\n"
    "-----END RSA PRIVATE KEY-----"
)


def echoing_error(status: int) -> httpx.Response:
    # A misbehaving server that echoes credentials back in its error body.
    return httpx.Response(
        status,
        json={
            "error": "invalid_grant",
            "error_description": f"assertion {JWT_LIKE} rejected; Authorization: Bearer {SECRET_TOKEN}",
            "message": f"token={SECRET_TOKEN} client_secret=hunter2hunter2 key {PEM}",
        },
    )


@pytest.mark.parametrize("status", [400, 500])
def test_secrets_echoed_by_the_server_are_scrubbed_from_errors_and_logs(status, caplog):
    caplog.set_level(logging.DEBUG, logger="dsassets.http")
    transport, _ = scripted(echoing_error(status))
    http = make_http(transport, FakeTime(), max_attempts=2)
    http.redact(SECRET_TOKEN, "hunter2hunter2")
    with pytest.raises(ApiError) as info:
        http.request(
            "POST",
            URL,
            data={"assertion": JWT_LIKE},
            headers={"Authorization": f"Bearer {SECRET_TOKEN}"},
            endpoint_name="token",
        )
    text = str(info.value) + repr(info.value.args) + caplog.text
    for secret in (SECRET_TOKEN, JWT_LIKE, "hunter2hunter2", "MIIEowIBAAKCAQEA", "BEGIN RSA"):
        assert secret not in text
    assert "invalid_grant" in str(info.value)  # the useful part survives
    assert info.value.__cause__ is None and info.value.__context__ is None  # no chained httpx objects


def test_scrub_redacts_unregistered_credential_shapes():
    text = scrub(f'{{"access_token": "abc.def", "id": 5}} Bearer {SECRET_TOKEN} {JWT_LIKE} {PEM} tail')
    assert "abc.def" not in text and SECRET_TOKEN not in text and JWT_LIKE not in text and "MIIE" not in text
    assert '"id": 5' in text and text.endswith("tail")


def test_logs_name_method_path_status_and_waits_but_no_headers_or_query(caplog):
    caplog.set_level(logging.DEBUG, logger="dsassets.http")
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    make_http(transport, FakeTime()).request(
        "GET", URL + "?cursor=opaque123", headers={"Authorization": f"Bearer {SECRET_TOKEN}"}, endpoint_name="things"
    )
    assert "GET https://api.example.test/v2/things -> 429" in caplog.text
    assert "retrying in 3.0s" in caplog.text
    assert "-> 200" in caplog.text
    assert SECRET_TOKEN not in caplog.text and "opaque123" not in caplog.text and "Bearer" not in caplog.text


def test_exhausted_rate_limit_waits_for_reset_before_next_request():
    t = FakeTime()
    events: list[str] = []

    def first(request):
        events.append("request 1")
        return httpx.Response(
            200, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 42)}
        )

    def second(request):
        events.append(f"request 2 at {t.now}")
        return ok()

    transport, _ = scripted(first, second)
    http = make_http(transport, t)
    http.request("GET", URL, endpoint_name="things")
    assert t.sleeps == []  # the wait happens before the next request, not after this one
    http.request("GET", URL, endpoint_name="things")
    assert t.sleeps == [42.0]
    assert events == ["request 1", f"request 2 at {NOW + 42}"]


def test_a_spent_quota_holds_every_thread_that_shares_the_client():
    # Parallel Monitor windows share one client: one window seeing the quota spent must not let
    # the others keep sending (each waits for the reset before its next request, once).
    import threading

    waits: dict[str, list[float]] = {}
    t = FakeTime()

    def sleep(seconds: float) -> None:
        waits.setdefault(threading.current_thread().name, []).append(seconds)

    spent = httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)})
    transport, _ = scripted(spent, ok())
    http = RetryingHttp(transport=transport, clock=t.clock, sleep=sleep, rng=UpperBoundRng(), max_attempts=1)
    http.request("GET", URL, endpoint_name="things")  # the main thread learns the quota is spent

    def window() -> None:
        http.request("GET", URL, endpoint_name="things")
        http.request("GET", URL, endpoint_name="things")

    threads = [threading.Thread(target=window, name=f"window-{k}") for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waits == {f"window-{k}": [30.0] for k in range(3)}


def test_rate_limit_wait_is_capped_and_only_when_exhausted():
    t = FakeTime()
    transport, _ = scripted(
        httpx.Response(200, headers={"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": str(int(NOW) + 999)}),
        httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 99999)}),
        ok(),
    )
    http = make_http(transport, t, max_wait=60.0)
    http.request("GET", URL, endpoint_name="things")
    http.request("GET", URL, endpoint_name="things")
    assert t.sleeps == []
    http.request("GET", URL, endpoint_name="things")
    assert t.sleeps == [60.0]


def test_rate_limit_reset_already_past_means_no_wait():
    t = FakeTime()
    transport, _ = scripted(
        httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) - 5)}), ok()
    )
    http = make_http(transport, t)
    http.request("GET", URL, endpoint_name="things")
    http.request("GET", URL, endpoint_name="things")
    assert t.sleeps == []
