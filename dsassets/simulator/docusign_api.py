"""DocuSign endpoints: OAuth (JWT grant, userinfo), Monitor (both generations), Admin API, eSignature.

Shapes follow DOCUSIGN_API.md and the OpenAPI copies in
``shared/reference/docusign-openapi``; the simulator's tests validate them.
Handlers take the parsed request and return ``Reply``; routing, bearer-token
checks and fault injection live in ``transport.py``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import jwt
import numpy as np

from dsassets.simulator.directory import Snapshot
from dsassets.simulator.ids import TICKS_PER_DAY, iso_admin, iso_esign
from dsassets.simulator.serving import TOKEN_LIFETIME, Reply, Served, error, oauth_error
from dsassets.simulator.stream import DEFAULT_LIMIT, MAX_LIMIT, CursorError
from dsassets.simulator.world import PASSWORD_KEYS, PERMISSION_PROFILES

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ADMIN_MAX_TAKE = 250
ESIGN_MAX_COUNT = 100


class DocuSignAPI:
    def __init__(self, sim: Served):
        self.sim = sim
        self.world = sim.world

    # -- OAuth ---------------------------------------------------------------------------------

    def token(self, form: dict[str, str], host: str) -> Reply:
        if form.get("grant_type") != JWT_GRANT:
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "use the JWT bearer grant"})
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(
                assertion,
                self.sim.public_key_pem,
                algorithms=["RS256"],
                audience=host,
                options={"require": ["iss", "sub", "aud", "exp"]},
                leeway=60,
            )
        except jwt.ExpiredSignatureError:
            return oauth_error("invalid_grant", "expired_grant")
        except jwt.InvalidAudienceError:
            return oauth_error("invalid_grant", "invalid audience (aud must be the account server host)")
        except jwt.InvalidSignatureError:
            return oauth_error("invalid_grant", "no_valid_keys_or_signatures")
        except jwt.PyJWTError as exc:
            return oauth_error("invalid_grant", f"invalid assertion ({type(exc).__name__})")
        if claims.get("iss") != self.world.integration_key:
            return oauth_error("invalid_grant", "issuer_not_found")
        if str(claims.get("sub", "")).lower() != self.sim.service_user_id.lower():
            return oauth_error("invalid_grant", "user_not_found")
        scope = claims.get("scope") or "signature impersonation"
        return Reply(
            200,
            {
                "access_token": self.sim.tokens.issue("docusign"),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "scope": scope,
            },
        )

    def userinfo(self, base_uri: str) -> Reply:
        w = self.world
        first, last, email = w.names([0], [0])[0]
        accounts = [
            {
                "account_id": a.id,
                "is_default": a.index == 0,
                "account_name": a.name,
                "base_uri": base_uri,
                "organization": {
                    "organization_id": w.organization_id,
                    "links": [
                        {"rel": "self", "href": f"https://account-d.docusign.com/organizations/{w.organization_id}"}
                    ],
                },
            }
            for a in w.accounts
        ]
        return Reply(
            200,
            {
                "sub": self.sim.service_user_id,
                "name": f"{first} {last}",
                "given_name": first,
                "family_name": last,
                "created": iso_admin(w.org_created),
                "email": email,
                "accounts": accounts,
            },
        )

    # -- Monitor -------------------------------------------------------------------------------

    def stream(self, query: dict[str, str], key: str) -> Reply:
        raw_limit = query.get("limit", "")
        try:
            limit = int(raw_limit) if raw_limit != "" else DEFAULT_LIMIT
        except ValueError:
            return error(400, "INVALID_REQUEST_PARAMETER", f"limit={raw_limit!r} is not an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return error(400, "INVALID_REQUEST_PARAMETER", f"limit must be between 1 and {MAX_LIMIT}")
        try:
            end_cursor, events = self.sim.store.page(query.get("cursor") or None, limit, self.sim.now_ticks())
        except CursorError as exc:
            return error(400, "INVALID_CURSOR", str(exc))
        text = '{"endCursor":' + json.dumps(end_cursor) + ',"' + key + '":[' + ",".join(events) + "]}"
        return Reply(200, text)

    # -- Admin API -----------------------------------------------------------------------------

    def organizations(self, origin: str) -> Reply:
        w = self.world
        svc = self.sim.service_user_id
        org = {
            "id": w.organization_id,
            "name": "Acme Corporation",
            "description": "Simulated organization (dsassets)",
            "default_account_id": w.accounts[0].id,
            "default_permission_profile_id": PERMISSION_PROFILES[1][0],
            "created_on": iso_admin(w.org_created),
            "created_by": svc,
            "last_modified_on": iso_admin(w.org_created + 30 * TICKS_PER_DAY),
            "last_modified_by": svc,
            "accounts": [
                {"id": a.id, "name": a.name, "external_account_id": a.external_id, "site_id": 1} for a in w.accounts
            ],
            "users": [{"id": svc}],
            "reserved_domains": [
                {
                    "id": w.reserved_domain_id,
                    "status": "active",
                    "host_name": w.domain,
                    "txt_token": "docusign=" + w.reserved_domain_id.replace("-", "")[:24],
                    "identity_provider_id": w.identity_provider_id,
                    "settings": [],
                    "links": [],
                }
            ],
            "identity_providers": [],
            "links": [{"rel": "self", "href": f"{origin}/v2/organizations/{w.organization_id}"}],
        }
        return Reply(200, {"organizations": [org]})

    def organization_users(self, org: str, query: dict[str, str], url_base: str) -> Reply:
        w = self.world
        if org.lower() != w.organization_id.lower():
            return error(404, "ORGANIZATION_NOT_FOUND", f"organization {org} not found")
        account_id = query.get("account_id", "")
        email = query.get("email", "")
        domain_id = query.get("organization_reserved_domain_id", "")
        if not (account_id or email or domain_id):
            return error(
                400,
                "INVALID_REQUEST_PARAMETER",
                "At least one of email, account_id or organization_reserved_domain_id must be specified.",
            )
        try:
            start = int(query.get("start", "0") or 0)
            take = int(query.get("take", "20") or 20)
        except ValueError:
            return error(400, "INVALID_REQUEST_PARAMETER", "start and take must be integers")
        if start < 0 or not 1 <= take <= ADMIN_MAX_TAKE:
            return error(400, "INVALID_REQUEST_PARAMETER", f"take must be between 1 and {ADMIN_MAX_TAKE}")
        snap = self.sim.snapshot()
        account = None
        if account_id:
            account = w.account_index.get(account_id.lower()) if account_id else None
            if account is None:
                return error(400, "INVALID_ACCOUNT_ID", f"account {account_id} is not in organization {org}")
            rows = snap.in_account(account)
        elif domain_id:
            if domain_id.lower() != w.reserved_domain_id.lower():
                return error(400, "INVALID_REQUEST_PARAMETER", "unknown reserved domain")
            rows = snap.ds_rows
        else:
            rows = snap.ds_rows
        if email:
            names = snap.names
            rows = np.array([r for r in rows.tolist() if names[r][2].lower() == email.lower()], dtype=np.int64)
        total = int(rows.shape[0])
        page = rows[start : start + take].tolist()
        users = [self._org_user(snap, r, account) for r in page]
        paging = {
            "result_set_size": len(users),
            "result_set_start_position": start,
            "result_set_end_position": start + max(len(users) - 1, 0),
            "total_set_size": total,
        }
        params = {k: v for k, v in query.items() if k not in ("start", "take")}
        if start + take < total:
            paging["next"] = f"{url_base}?{urlencode({**params, 'start': start + take, 'take': take})}"
        if start > 0:
            paging["previous"] = f"{url_base}?{urlencode({**params, 'start': max(0, start - take), 'take': take})}"
        return Reply(200, {"users": users, "paging": paging})

    def _org_user(self, snap: Snapshot, r: int, account: int | None) -> dict:
        L = snap.life
        first, last, email = snap.name_of(r)
        slot, ten = int(L["slot"][r]), int(L["ten"][r])
        open_bits = int(snap.open_bits[r])
        user = {
            "id": snap.user_ids[r],
            "user_name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "user_status": "active" if open_bits else "closed",
            "email": email,
            "created_on": iso_admin(int(L["join"][r])),
            "is_membership_managed_by_scim": False,
            "is_managed_by_scim": False,
        }
        if not open_bits:
            user["closed_on"] = iso_admin(int(L["close"][r]))
        if account is not None:
            is_open = (open_bits >> account) & 1
            user["membership_status"] = "active" if is_open else "closed"
            user["membership_id"] = self.world.membership_ids([slot], [ten], [account])[0]
            user["membership_created_on"] = iso_admin(int(L["join"][r]))
            if not is_open:
                user["membership_closed_on"] = iso_admin(self._closed_at(L, r, account))
        return user

    @staticmethod
    def _closed_at(L: dict, r: int, account: int) -> int:
        if int(L["pc_acct"][r]) == account and int(L["pc_close"][r]) < int(L["close"][r]):
            return int(L["pc_close"][r])
        return int(L["close"][r])

    def dsprofile(self, org: str, user_id: str) -> Reply:
        w = self.world
        if org.lower() != w.organization_id.lower():
            return error(404, "ORGANIZATION_NOT_FOUND", f"organization {org} not found")
        snap = self.sim.snapshot()
        r = snap.row_of(user_id)
        if r is None or int(snap.life["join"][r]) > snap.t:
            return error(404, "USER_NOT_FOUND", f"user {user_id} not found in organization {org}")
        return Reply(200, {"users": [self._profile(snap, r)]})

    def _profile(self, snap: Snapshot, r: int, membership_ids: dict[tuple[int, int], str] | None = None) -> dict:
        """One dsprofile user; ``membership_ids`` ((row, account) -> id) when a caller made them all at once."""
        w = self.world
        L = snap.life
        first, last, email = snap.name_of(r)
        slot, ten = int(L["slot"][r]), int(L["ten"][r])
        members, admin, open_bits = int(L["members"][r]), int(L["admin"][r]), int(snap.open_bits[r])
        memberships = []
        for a in w.accounts:
            if not (members >> a.index) & 1:
                continue
            is_admin = bool((admin >> a.index) & 1)
            profile = PERMISSION_PROFILES[0 if is_admin else int(L["profile"][r])]
            m = {
                "id": membership_ids[r, a.index] if membership_ids else w.membership_ids([slot], [ten], [a.index])[0],
                "email": email,
                "account_id": a.id,
                "external_account_id": str(a.external_id),
                "account_name": a.name,
                "is_external_account": False,
                "status": "active" if (open_bits >> a.index) & 1 else "closed",
                "permission_profile": {"id": profile[0], "name": profile[1]},
                "created_on": iso_admin(int(L["join"][r]) + a.index * 10_000_000),
                "groups": [{"id": 1, "name": "Everyone", "type": "EveryoneGroup"}],
                "is_admin": is_admin,
            }
            if m["status"] == "closed":
                m["closed_on"] = iso_admin(self._closed_at(L, r, a.index))
            memberships.append(m)
        primary = (members & -members).bit_length() - 1
        user = {
            "id": snap.user_ids[r],
            "site_id": 1,
            "site_name": "DEMO",
            "user_name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "user_status": "active" if open_bits else "closed",
            "default_account_id": w.accounts[primary].id,
            "default_account_name": w.accounts[primary].name,
            "language_culture": "en",
            "selected_languages": "en",
            "federated_status": "FedAuthRequired" if slot >= 3 else "FedAuthBypass",
            "is_organization_admin": bool(L["org_admin"][r]),
            "created_on": iso_admin(int(L["join"][r])),
            "memberships": memberships,
            "identities": [],
            "device_verification_enabled": False,
            "require_two_step_verification": bool(slot % 5 != 0),
            "allow_two_step_verification_snooze": False,
            "allow_extend_org_admin_rights_to_self": False,
            "is_managed_by_scim": False,
        }
        return user

    # -- eSignature ----------------------------------------------------------------------------

    def _account(self, account_id: str) -> int | None:
        return self.world.account_index.get(account_id.lower())

    def account_users(self, account_id: str, query: dict[str, str]) -> Reply:
        account = self._account(account_id)
        if account is None:
            return error(400, "INVALID_ACCOUNT_ID", f"Invalid account specified for user: {account_id}")
        try:
            start = int(query.get("start_position", "0") or 0)
            count = int(query.get("count", str(ESIGN_MAX_COUNT)) or ESIGN_MAX_COUNT)
        except ValueError:
            return error(400, "INVALID_REQUEST_PARAMETER", "start_position and count must be integers")
        if start < 0 or not 1 <= count <= ESIGN_MAX_COUNT:
            return error(400, "INVALID_REQUEST_PARAMETER", f"count must be between 1 and {ESIGN_MAX_COUNT}")
        additional = query.get("additional_info", "").lower() == "true"
        snap = self.sim.snapshot()
        rows = snap.in_account(account)
        total = int(rows.shape[0])
        page = rows[start : start + count].tolist()
        users = [self._esign_user(snap, r, account, additional) for r in page]
        base = f"/v2.1/accounts/{self.world.accounts[account].id}/users"
        body: dict = {
            "users": users,
            "resultSetSize": str(len(users)),
            "totalSetSize": str(total),
            "startPosition": str(start),
            "endPosition": str(start + max(len(users) - 1, 0)),
        }
        extra = "&additional_info=true" if additional else ""
        if start + count < total:
            body["nextUri"] = f"{base}?start_position={start + count}&count={count}{extra}"
        if start > 0:
            body["previousUri"] = f"{base}?start_position={max(0, start - count)}&count={count}{extra}"
        return Reply(200, body)

    def _esign_user(self, snap: Snapshot, r: int, account: int, additional: bool) -> dict:
        L = snap.life
        first, last, email = snap.name_of(r)
        is_open = (int(snap.open_bits[r]) >> account) & 1
        is_admin = bool((int(L["admin"][r]) >> account) & 1)
        fresh = snap.t - int(L["join"][r]) < TICKS_PER_DAY
        status = ("ActivationSent" if fresh else "Active") if is_open else "Closed"
        profile = PERMISSION_PROFILES[0 if is_admin else int(L["profile"][r])]
        uid = snap.user_ids[r]
        user = {
            "userId": uid,
            "userName": f"{first} {last}",
            "firstName": first,
            "lastName": last,
            "email": email,
            "userType": "CompanyUser",
            "userStatus": status,
            "isAdmin": "True" if is_admin else "False",
            "createdDateTime": iso_esign(int(L["join"][r])),
            "userAddedToAccountDateTime": iso_esign(int(L["join"][r]) + account * 10_000_000),
            "permissionProfileId": str(profile[0]),
            "permissionProfileName": profile[1],
            "uri": f"/users/{uid}",
        }
        if additional:
            user["userSettings"] = {
                "canManageAccount": "true" if is_admin else "false",
                "canSendEnvelope": "false" if profile[1] == "DS Viewer" else "true",
                "locale": "en",
                "enableSequentialSigningAPI": "False",
                "modifiedDate": _us_date(int(L["join"][r])),
            }
            user["jobTitle"] = ""
            user["company"] = "Acme Corporation"
            user["isNAREnabled"] = "false"
            user["sendActivationOnInvalidLogin"] = "false"
        return user

    def account_settings(self, account_id: str) -> Reply:
        account = self._account(account_id)
        if account is None:
            return error(400, "INVALID_ACCOUNT_ID", f"Invalid account: {account_id}")
        values = self.world.settings_at(account, self.sim.now_ticks())
        body: dict = {}
        for key in SETTING_KEYS:
            body[key] = values[key]
            body[key + "Metadata"] = {"rights": "editable", "uiHint": "available", "uiOrder": "0", "uiType": "text"}
        body.update(UNRELATED_SETTINGS)
        body["envelopeIntegrationAllowedMetadata"] = {"rights": "read_only", "uiHint": "available"}
        return Reply(200, body)

    def password_rules(self, account_id: str) -> Reply:
        account = self._account(account_id)
        if account is None:
            return error(400, "INVALID_ACCOUNT_ID", f"Invalid account: {account_id}")
        values = self.world.settings_at(account, self.sim.now_ticks())
        body: dict = {k: values[k] for k in PASSWORD_KEYS}
        body.update(PASSWORD_METADATA)
        return Reply(200, body)


def _us_date(ticks: int) -> str:
    from dsassets.simulator.ids import to_datetime

    return to_datetime(ticks).strftime("%m/%d/%Y %I:%M:%S %p")


SETTING_KEYS = [
    "sessionTimeout",
    "mobileSessionTimeout",
    "signingSessionTimeout",
    "disableMultipleSessions",
    "enableSMSAuthentication",
    "allowPhoneAuthentication",
    "signerMustLoginToSign",
    "senderMustAuthenticateSigning",
]
UNRELATED_SETTINGS = {
    "allowEnvelopeCorrect": "true",
    "enableAutoNav": "True",
    "accountDateTimeFormat": "MM/dd/yyyy hh:mm tt",
    "allowSigningExtensions": "false",
    "enableEnvelopeStampingByDSAdmin": "false",
    "allowOrganizationSsoManagement": "true",
    "envelopeIntegrationAllowed": "full",
    "idCheckExpire": "always",
    "idCheckExpireDays": "0",
}
PASSWORD_METADATA = {
    "expirePasswordDaysMetadata": {"minimumDays": "1", "maximumDays": "1095"},
    "lockoutDurationMinutesMetadata": {"minimumMinutes": "0", "maximumMinutes": "1440"},
    "lockoutDurationTypeMetadata": {"options": ["minutes", "hours", "days"]},
    "minimumPasswordAgeDaysMetadata": {"minimumAge": "0", "maximumAge": "15"},
    "minimumPasswordLengthMetadata": {"minimumLength": "6", "maximumLength": "15"},
    "passwordStrengthTypeMetadata": {
        "options": [
            {
                "name": "basic",
                "minimumLength": "6",
                "passwordIncludeDigit": "false",
                "passwordIncludeDigitOrSpecialCharacter": "false",
                "passwordIncludeLowerCase": "false",
                "passwordIncludeSpecialCharacter": "false",
                "passwordIncludeUpperCase": "false",
            },
            {
                "name": "medium",
                "minimumLength": "7",
                "passwordIncludeDigit": "false",
                "passwordIncludeDigitOrSpecialCharacter": "true",
                "passwordIncludeLowerCase": "true",
                "passwordIncludeSpecialCharacter": "false",
                "passwordIncludeUpperCase": "true",
            },
            {
                "name": "strong",
                "minimumLength": "9",
                "passwordIncludeDigit": "true",
                "passwordIncludeDigitOrSpecialCharacter": "false",
                "passwordIncludeLowerCase": "true",
                "passwordIncludeSpecialCharacter": "true",
                "passwordIncludeUpperCase": "true",
            },
        ]
    },
    "questionsRequiredMetadata": {"minimumQuestions": "0", "maximumQuestions": "4"},
}
