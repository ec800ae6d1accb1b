"""DocuSign HTTP client: JWT grant, userinfo, Monitor stream, Admin API and eSignature reads.

Endpoints, fields and quirks are documented in ``shared/reference/DOCUSIGN_API.md``
(section numbers are cited below). Only the transport is swappable: the
simulator and the tests run exactly this code against a different server.
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import msgspec
import orjson
import pyarrow.compute as pc
from urllib.parse import quote

import httpx
import jwt

from dsassets.lib.clients.docusign_data import DocuSignDataError, as_int
from dsassets.lib.clients.http import ApiError, BearerApiClient, same_origin
from dsassets.lib.clients.monitor_page import (
    MissingEventIdError, MonitorPage, SeenIds, envelope_decoder, first_sightings,
)
from dsassets.lib.clients.read_ahead import read_ahead
from dsassets.lib.clients.records import describe_record, require_identity
from dsassets.lib.config.settings import ConfigError, DocuSignSettings, check_url

JWT_LIFETIME_SECONDS = 3600
ADMIN_USERS_PAGE_SIZE = 250  # the Admin API's practical maximum (DOCUSIGN_API.md §2.2)
ESIGN_USERS_PAGE_SIZE = 100  # the eSignature maximum `count` (DOCUSIGN_API.md §3.1)
# A window read requests the next page while decoding the last until its events come this near the
# end (plus the lag): a page spans minutes of a large organization's events, hours of a small one's,
# so at most one request past the read's last page, and only when one page spans more than this.
RUN_AHEAD_MARGIN = timedelta(hours=1)


class ConsentRequiredError(ConfigError):
    """The integration key has not been granted consent for the impersonated user."""


def _iso_cursor(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the client ---------------------------------------------------------------------------------


class DocuSignClient(BearerApiClient):
    """Read-only DocuSign client for one organization, authenticated with the JWT grant.

    Use as a context manager (or call ``close()``). ``transport`` is the only
    seam for tests and the simulator; ``clock``, ``sleep`` and ``rng`` exist so
    retries and token expiry can be tested without waiting.
    """

    TOKEN_ENDPOINT = "DocuSign OAuth token (JWT grant)"
    DataError = DocuSignDataError

    def __init__(self, settings: DocuSignSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._userinfo: dict | None = None
        self._organization: dict | None = None

    def _secrets(self) -> list[str]:
        return [self.settings.private_key_pem]

    # -- OAuth (DOCUSIGN_API.md §4) --------------------------------------------------------------

    def _assertion(self, now: int) -> str:
        s = self.settings
        claims = {
            "iss": s.integration_key,
            "sub": s.user_id,
            "aud": s.auth_host,
            "iat": now,
            "exp": now + JWT_LIFETIME_SECONDS,
            "scope": s.scopes,
        }
        try:
            return jwt.encode(claims, s.private_key_pem, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # Never chain: some key-loading errors quote the input.
            raise ConfigError(
                f"DOCUSIGN_PRIVATE_KEY_FILE: cannot sign the JWT assertion with RS256 ({type(exc).__name__})"
            ) from None

    def _consent_url(self) -> str:
        s = self.settings
        return (
            f"{s.auth_server}/oauth/auth?response_type=code&scope={quote(s.scopes)}"
            f"&client_id={quote(s.integration_key)}&redirect_uri=<a redirect URI registered for the key>"
        )

    def _now(self) -> float:
        return int(self._clock())  # the JWT's iat/exp are whole seconds

    def _request_token(self, now: float) -> httpx.Response:
        assertion = self._assertion(int(now))
        self._http.redact(assertion)
        try:
            return self._http.request(
                "POST",
                f"{self.settings.auth_server}/oauth/token",
                data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
                endpoint_name=self.TOKEN_ENDPOINT,
            )
        except ApiError as exc:
            if exc.error_code == "consent_required":
                raise ConsentRequiredError(
                    f"DocuSign consent_required: user {self.settings.user_id} has not granted consent to "
                    f"integration key {self.settings.integration_key} for scopes {self.settings.scopes!r}. "
                    f"Have the user (or an organization admin) open {self._consent_url()} once."
                ) from None
            raise

    def _get(self, url: str, endpoint_name: str, params: dict[str, Any] | None = None) -> Any:
        """Authenticated GET returning JSON."""
        return self._json(self._authorized("GET", url, params=params, endpoint_name=endpoint_name), endpoint_name)

    def send(
        self,
        method: str,
        url: str,
        endpoint_name: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        """Authenticated request returning the response, for bodies that are not JSON (the user-list
        export's CSV) and headers (its ``Retry-After``)."""
        return self._authorized(method, url, params=params, json=json, accept=accept, endpoint_name=endpoint_name)

    def userinfo(self) -> dict:
        """``GET /oauth/userinfo`` for the impersonated user, cached (DocuSign limits userinfo calls)."""
        if self._userinfo is None:
            body = self._get(f"{self.settings.auth_server}/oauth/userinfo", "DocuSign userinfo")
            if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
                raise DocuSignDataError("DocuSign userinfo: response lacks an 'accounts' list")
            self._userinfo = body
        return self._userinfo

    def account_base_uri(self, account_id: str) -> str:
        """The eSignature ``base_uri`` (no ``/restapi``) of ``account_id`` from userinfo."""
        for account in self.userinfo()["accounts"]:
            if str(account.get("account_id", "")).lower() == account_id.lower():
                base_uri = account.get("base_uri")
                if not isinstance(base_uri, str) or not base_uri:
                    raise DocuSignDataError(f"DocuSign userinfo: account {account_id} has no base_uri")
                return check_url(f"userinfo base_uri of account {account_id}", base_uri)
        raise ConfigError(
            f"account {account_id}: the impersonated user (DOCUSIGN_USER_ID={self.settings.user_id}) "
            "has no access to it; add the user to the account or remove it from DOCUSIGN_ACCOUNT_IDS"
        )

    # -- Monitor (DOCUSIGN_API.md §1) --------------------------------------------------------------

    def _monitor_endpoint(self) -> tuple[str, str, str]:
        s = self.settings
        if s.monitor_generation == "legacy":
            return f"{s.monitor_url}/api/v2.0/datasets/monitor/stream", "data", "Monitor stream (v2.0)"
        return f"{s.monitor_url}/v1/organizations/{s.organization_id}/stream", "resultData", "Monitor stream (v1)"

    def stream_pages(self, cursor: str, may_run_ahead: Callable[[], bool] = lambda: True) -> Iterator[MonitorPage]:
        """Read the Monitor stream from ``cursor`` (ISO time or an ``endCursor``) to its current end.

        The stream is at its end when the ``endCursor`` returned equals the
        cursor sent; an empty page with a new cursor is not the end. Each page is
        decoded into columns as it arrives (:mod:`dsassets.lib.clients.monitor_page`), while
        the next one is requested when ``may_run_ahead()`` says the read goes on past this one
        (:func:`dsassets.lib.clients.read_ahead.read_ahead`).
        """
        url, key, endpoint = self._monitor_endpoint()
        body_of = envelope_decoder(key)

        def fetch(at: str) -> tuple[str, Any]:
            response = self._authorized("GET", url, params={"cursor": at, "limit": self.settings.monitor_page_limit},
                                        endpoint_name=endpoint)
            return at, self._envelope(body_of, response, key, endpoint, at)

        def following(read: tuple[str, Any], at: str) -> str | None:
            return None if read[1].endCursor == at else read[1].endCursor

        # closed here, not when collected: a read left early waits for its request in flight
        with closing(read_ahead(fetch, following, cursor, may_run_ahead)) as bodies:
            for sent, body in bodies:
                try:
                    page = MonitorPage.decode(getattr(body, key), sent, body.endCursor)
                except MissingEventIdError as exc:
                    raise DocuSignDataError(
                        f"{endpoint}: event {exc.index} of the page read with cursor {sent!r} has no eventId: "
                        f"{describe_record(orjson.loads(exc.record))}"
                    ) from None
                yield page

    def _envelope(self, decoder: msgspec.json.Decoder, response: httpx.Response, key: str, endpoint: str,
                  cursor: str) -> Any:
        """The page's records (unparsed) and ``endCursor``; a body without them names what is missing."""
        try:
            body = decoder.decode(response.content)
        except msgspec.ValidationError as exc:
            missing = "'endCursor'" if "endCursor" in str(exc) else repr(key)
            raise DocuSignDataError(f"{endpoint}: response lacks the {missing} list or value (cursor {cursor!r})") \
                from None
        except msgspec.DecodeError:
            raise DocuSignDataError(
                f"{endpoint}: response is not JSON (HTTP {response.status_code}) (page read with cursor {cursor!r})"
            ) from None
        if not body.endCursor:
            raise DocuSignDataError(f"{endpoint}: response lacks 'endCursor' (cursor {cursor!r})")
        return body

    def audit_events(
        self, start: datetime, end: datetime | None, *, cursor: str | None = None
    ) -> Iterator[MonitorPage]:
        """Yield every page read, with its new (deduplicated on ``eventId``) Monitor events.

        Reading starts at ``start``, or at ``cursor`` (an ``endCursor`` stored by an
        earlier read, to resume without reading anything twice). Pages are in
        ingestion order and ingestion lags event time by minutes, so once a page
        holds an event at or after ``end + monitor_lag_minutes`` no later page can
        hold an event before ``end``: reading stops there (that page says
        ``past_window``) instead of running on to the present; otherwise it stops
        at the stream's current end. Pages whose events were all seen are yielded
        empty, so the caller always has the last ``end_cursor``. Events are not
        filtered to the window; the caller does that. ``end=None`` reads to the stream's
        current end (the live stream: every event ingested so far, whatever its day).
        """
        stop_at = None
        if end is not None:
            stop_at = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
            stop_at += timedelta(minutes=self.settings.monitor_lag_minutes)
        seen = SeenIds()  # a backfill's read sees tens of millions of ids: kept as hashes
        newest: list = [None]  # the latest event time read so far

        def may_run_ahead() -> bool:
            # The next page can end the read only once the pages come near its end: until then it
            # is requested while this one decodes. Past that, a request waits for the page before.
            return stop_at is None or (newest[0] is not None and newest[0] < stop_at - RUN_AHEAD_MARGIN)

        for page in self.stream_pages(cursor or _iso_cursor(start), may_run_ahead):
            if len(page):
                latest = pc.max(page.events["_event_time"]).as_py()
                newest[0] = latest if newest[0] is None else max(newest[0], latest)
            fresh = first_sightings(page.events, seen)
            times = fresh["_event_time"]
            past_window = stop_at is not None and len(times) > 0 and pc.max(times).as_py() >= stop_at
            # The cursor the page was read with is kept with its events, for lineage.
            yield MonitorPage(fresh, page.cursor, page.end_cursor, past_window=past_window)
            if past_window:
                return

    # -- Admin API (DOCUSIGN_API.md §2) -------------------------------------------------------------

    def organization(self) -> dict:
        """The configured organization from ``GET /v2/organizations`` (cached)."""
        if self._organization is None:
            body = self._get(f"{self.settings.admin_url}/v2/organizations", "Admin organizations")
            organizations = body.get("organizations") if isinstance(body, dict) else None
            if not isinstance(organizations, list):
                raise DocuSignDataError("Admin organizations: response lacks the 'organizations' list")
            wanted = self.settings.organization_id.lower()
            match = [o for o in organizations if str(o.get("id", "")).lower() == wanted]
            if not match:
                raise ConfigError(
                    f"DOCUSIGN_ORGANIZATION_ID={self.settings.organization_id}: the impersonated user is not "
                    "an administrator of this organization"
                )
            self._organization = match[0]
        return self._organization

    def organization_accounts(self) -> list[dict]:
        """The organization's accounts, restricted to ``settings.account_ids`` when set."""
        accounts = self.organization().get("accounts") or []
        for index, account in enumerate(accounts):
            require_identity(account, "id", DocuSignDataError, endpoint="Admin organizations", page="the accounts list",
                             index=index)
        wanted = {a.lower() for a in self.settings.account_ids}
        if not wanted:
            return list(accounts)
        chosen = [a for a in accounts if str(a.get("id", "")).lower() in wanted]
        missing = wanted - {str(a.get("id", "")).lower() for a in chosen}
        if missing:
            raise ConfigError(
                f"DOCUSIGN_ACCOUNT_IDS: not accounts of organization {self.settings.organization_id}: "
                f"{', '.join(sorted(missing))}"
            )
        return chosen

    def organization_users(self, account_id: str) -> Iterator[dict]:
        """Organization users with a membership in ``account_id``, following ``paging.next``."""
        endpoint = "Admin organization users"
        admin = self.settings.admin_url
        params = {"account_id": account_id, "start": 0, "take": ADMIN_USERS_PAGE_SIZE}
        url: str | None = str(
            httpx.URL(f"{admin}/v2/organizations/{self.settings.organization_id}/users", params=params)
        )
        visited: set[str] = set()
        while url:
            visited.add(str(httpx.URL(url)))
            body = self._get(url, endpoint)
            users = body.get("users", []) if isinstance(body, dict) else None
            paging = (body.get("paging") or {}) if isinstance(body, dict) else None
            if not isinstance(users, list) or not isinstance(paging, dict):
                raise DocuSignDataError(f"{endpoint}: response lacks the 'users' list or 'paging' object")
            page = f"the page {url}"
            for index, user in enumerate(users):
                require_identity(user, "id", DocuSignDataError, endpoint=endpoint, page=page, index=index)
            yield from users
            url = paging.get("next") or None
            if url is None:
                return
            # The next link is followed with our bearer token: never send it to another host.
            if not same_origin(url, admin):
                raise DocuSignDataError(f"{endpoint}: paging.next points off {admin}")
            if str(httpx.URL(url)) in visited:
                raise DocuSignDataError(f"{endpoint}: paging.next repeats a page already read")

    def reserved_domains(self) -> list[dict]:
        """The organization's reserved (claimed) domains, ``GET /v2/organizations/{id}/reserved_domains``."""
        endpoint = "Admin reserved domains"
        body = self._get(
            f"{self.settings.admin_url}/v2/organizations/{self.settings.organization_id}/reserved_domains", endpoint
        )
        domains = body.get("reserved_domains") if isinstance(body, dict) else None
        if domains is None and isinstance(body, dict):
            return []  # an organization with no claimed domain may omit the list
        if not isinstance(domains, list) or not all(isinstance(d, dict) for d in domains):
            raise DocuSignDataError(f"{endpoint}: response lacks the 'reserved_domains' list")
        return domains

    def user_profile(self, user_id: str) -> dict:
        """One user's DocuSign profile with all account ``memberships`` (v2.1 dsprofile)."""
        endpoint = "Admin user dsprofile"
        body = self._get(
            f"{self.settings.admin_url}/v2.1/organizations/{self.settings.organization_id}/users/{user_id}/dsprofile",
            endpoint,
        )
        users = body.get("users") if isinstance(body, dict) else None
        if not isinstance(users, list) or len(users) != 1:
            count = len(users) if isinstance(users, list) else "no"
            raise DocuSignDataError(f"{endpoint}: expected exactly one user for {user_id}, got {count}")
        require_identity(users[0], "id", DocuSignDataError, endpoint=endpoint, page=f"the profile of user {user_id}",
                         index=0)
        return users[0]

    # -- eSignature (DOCUSIGN_API.md §3) ------------------------------------------------------------

    def _esign(self, account_id: str, suffix: str = "") -> str:
        return f"{self.account_base_uri(account_id)}/restapi/v2.1/accounts/{account_id}{suffix}"

    def account_users(self, account_id: str) -> Iterator[dict]:
        """Every user of the account (``additional_info=true``), paging with ``start_position``."""
        endpoint = "eSignature account users"
        url = self._esign(account_id, "/users")
        start = 0
        while True:
            params = {"start_position": str(start), "count": str(ESIGN_USERS_PAGE_SIZE), "additional_info": "true"}
            body = self._get(url, endpoint, params)
            where = f"{endpoint} (account {account_id})"
            # An empty account may omit "users" altogether.
            users = (body.get("users") or []) if isinstance(body, dict) else None
            if not isinstance(users, list):
                raise DocuSignDataError(f"{where}: response lacks the 'users' list")
            for index, user in enumerate(users):
                require_identity(user, "userId", DocuSignDataError, endpoint=where,
                                 page=f"the page at start_position {start}", index=index)
            yield from users
            end_position = as_int(body.get("endPosition"), where=f"{where}.endPosition")
            total = as_int(body.get("totalSetSize"), where=f"{where}.totalSetSize")
            if not body.get("nextUri") or (
                end_position is not None and total is not None and end_position + 1 >= total
            ):
                return
            next_start = end_position + 1 if end_position is not None else start + len(users)
            if next_start <= start:
                raise DocuSignDataError(f"{where}: paging does not advance past start_position {start}")
            start = next_start

    def account_settings(self, account_id: str) -> dict:
        """Raw ``accountSettingsInformation`` (all strings); see ``parse_account_settings``."""
        return self._get_object(self._esign(account_id, "/settings"), "eSignature account settings", account_id)

    def password_rules(self, account_id: str) -> dict:
        """Raw ``accountPasswordRules`` (all strings); see ``parse_password_rules``."""
        url = self._esign(account_id, "/settings/password_rules")
        return self._get_object(url, "eSignature password rules", account_id)

    def _get_object(self, url: str, endpoint: str, account_id: str) -> dict:
        body = self._get(url, endpoint)
        if not isinstance(body, dict):
            raise DocuSignDataError(f"{endpoint} (account {account_id}): expected a JSON object")
        return body

