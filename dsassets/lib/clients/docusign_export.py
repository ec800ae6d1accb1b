"""The Admin API's bulk user-list export: request it, poll it, download its CSV results.

One export replaces a ``dsprofile`` call per user, which at tens of thousands of users runs
into DocuSign's burst limit (DOCUSIGN_API.md §1.6, §2.3). Operations, from the Admin spec:
``POST /v2/organizations/{organizationId}/exports/user_list`` (``OrganizationExportRequest``),
``GET .../exports/user_list/{exportId}`` (``OrganizationExportResponse``: ``status`` is one of
``queued``, ``in_process``, ``completed``, ``failed``; ``results[].url`` returns a CSV text stream).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import httpx
import orjson

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.docusign_data import DocuSignDataError
from dsassets.lib.clients.http import same_origin

# Every user in every account, one row per membership (users in several accounts appear more than once).
MEMBERSHIPS_EXPORT = "organization_memberships_export"
PENDING = frozenset({"queued", "in_process"})
# Polling: start fast (small organizations finish in seconds), back off to a gentle rate.
FIRST_POLL_SECONDS = 0.25
MAX_POLL_SECONDS = 30.0
# An export still unfinished after this long is given up (and the caller falls back).
EXPORT_TIMEOUT_SECONDS = 1800.0
ENDPOINT = "Admin user list export"


class ExportError(DocuSignDataError):
    """The export failed, timed out or returned something unusable; the message names the export id."""

    def __init__(self, export_id: str | None, message: str) -> None:
        self.export_id = export_id
        super().__init__(f"{ENDPOINT} {export_id or '(not created)'}: {message}")


class ExportTimeout(ExportError):
    """The export was still pending when the deadline passed."""


@dataclass(frozen=True)
class ExportResult:
    """A completed export: its id, the rows DocuSign says it holds, and each result's CSV bytes."""

    export_id: str
    number_rows: int | None
    csv_parts: list[bytes]


def export_memberships(
    client: DocuSignClient,
    *,
    timeout_seconds: float = EXPORT_TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportResult:
    """Run one ``organization_memberships_export`` for the whole organization and download it.

    Polls with a doubling interval (capped at ``MAX_POLL_SECONDS``), or as long as the
    status response's ``Retry-After`` asks; 429/503 and ``X-RateLimit-*`` are handled by the
    client's HTTP layer. Raises ``ExportTimeout`` after ``timeout_seconds`` and ``ExportError``
    when DocuSign reports ``failed``; both name the export id.
    """
    base = f"{client.settings.admin_url}/v2/organizations/{client.settings.organization_id}/exports/user_list"
    created = _object(client.send("POST", base, ENDPOINT, json={"type": MEMBERSHIPS_EXPORT}), None)
    export_id = created.get("id")
    if not isinstance(export_id, str) or not export_id:
        raise ExportError(None, "the create response has no export 'id'")
    status_url = f"{base}/{export_id}"
    deadline = clock() + timeout_seconds
    interval = FIRST_POLL_SECONDS
    body = created
    while True:
        status = body.get("status")
        if status == "completed":
            break
        # ``success`` may well be false while the export is pending: only a missing status defers to it.
        if status == "failed" or (status is None and body.get("success") is False):
            raise ExportError(export_id, f"DocuSign reports the export failed ({_errors(body)})")
        if status is not None and status not in PENDING:
            raise ExportError(export_id, f"unknown export status {status!r}")
        wait = interval
        interval = min(interval * 2, MAX_POLL_SECONDS)
        if clock() + wait > deadline:
            percent = body.get("percent_completed")
            raise ExportTimeout(
                export_id,
                f"still {status or 'pending'} ({percent if percent is not None else '?'}% done) after "
                f"{timeout_seconds:.0f} s",
            )
        sleep(wait)
        response = client.send("GET", status_url, ENDPOINT)
        body = _object(response, export_id)
        interval = max(interval, _retry_after(response) or 0.0)
    return ExportResult(export_id, _int(body.get("number_rows")), _download(client, body, export_id))


def _download(client: DocuSignClient, body: dict, export_id: str) -> list[bytes]:
    results = body.get("results")
    if not isinstance(results, list) or not results:
        raise ExportError(export_id, "completed without 'results'")
    parts = []
    for result in results:
        url = result.get("url") if isinstance(result, dict) else None
        if not isinstance(url, str) or not url:
            raise ExportError(export_id, f"a result has no 'url' ({_errors({'results': [result]})})")
        # The URL is fetched with our bearer token: never send it to another host.
        if not same_origin(url, client.settings.admin_url):
            raise ExportError(export_id, f"result URL points off {client.settings.admin_url}")
        parts.append(client.send("GET", url, f"{ENDPOINT} download", accept="text/csv").content)
    return parts


def _object(response: httpx.Response, export_id: str | None) -> dict:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ExportError(export_id, f"response is not JSON (HTTP {response.status_code})") from None
    if not isinstance(body, dict):
        raise ExportError(export_id, "response is not a JSON object")
    return body


def _errors(body: dict) -> str:
    details = [
        r.get("error_details") for r in body.get("results") or [] if isinstance(r, dict) and r.get("error_details")
    ]
    texts = [
        ": ".join(str(d.get(k)) for k in ("error", "error_description") if isinstance(d, dict) and d.get(k))
        for d in details
    ]
    return "; ".join(t for t in texts if t) or "no error details"


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None  # an HTTP date on a 200 is not worth parsing: the doubling interval still applies


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def membership_count(client: DocuSignClient, account_ids: list[str]) -> int:
    """Users listed per account, summed (a user in two accounts counts twice): one call per account."""
    url = f"{client.settings.admin_url}/v2/organizations/{client.settings.organization_id}/users"
    total = 0
    for account_id in account_ids:
        params = {"account_id": account_id, "start": 0, "take": 1}
        body = _object(client.send("GET", url, "Admin organization users", params=params), None)
        size = (body.get("paging") or {}).get("total_set_size")
        if _int(size) is None:
            raise DocuSignDataError(f"Admin organization users (account {account_id}): paging lacks total_set_size")
        total += size
    return total
