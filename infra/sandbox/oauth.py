"""OAuth stand-ins of every network: consent pages, token endpoints and identity lookups.

Shapes follow the vendors' docs (see ``sharecast.oauth.providers`` for the links):

- Meta: consent ``GET /{v}/dialog/oauth``; token ``GET|POST /{v}/oauth/access_token`` (code,
  ``fb_exchange_token``); identity ``GET /{v}/me/accounts``, ``GET /{v}/me``.
- Threads: consent ``GET /oauth/authorize``; token ``POST /oauth/access_token``, ``GET
  /access_token`` (``th_exchange_token``), ``GET /refresh_access_token``; ``GET /v1.0/me``.
- LinkedIn: consent ``GET /oauth/v2/authorization``; ``POST /oauth/v2/accessToken``; ``GET
  /v2/userinfo``.
- X: consent ``GET /i/oauth2/authorize`` (PKCE S256 required); ``POST /2/oauth2/token`` (Basic
  auth; single-use refresh tokens, a reuse revokes the whole family); ``GET /2/users/me``
  (``x.py``).
- Google: consent ``GET /o/oauth2/v2/auth``; ``POST /token``; ``GET /youtube/v3/channels``.

Every consent page answers 302 to ``redirect_uri?code=&state=``.

Who logs in: the consent page takes the sandbox-only parameter ``sandbox_user`` (default
``sandbox-user``); every account id (Facebook Pages, the linked Instagram business account, X
user...) is derived from it, so a test picks its own. ``sandbox_deny=1`` answers
``error=access_denied``. Access tokens are ``sandbox:{account_id}:{random}`` like every sandbox
token, so the publishing routes attribute them as before; tokens this module issued are
refused by the publishing routes (``token_expired``) once expired or revoked.

Control API (``/_sandbox/oauth``): ``GET`` → settings and counters (``exchanges``,
``refreshes``, ``reuse_rejected`` per platform; never tokens); ``PATCH /_sandbox/oauth/settings``
``{"access_token_ttl_s": int|null, "token_latency_ms": int}`` (short-lived tokens to exercise
refresh; a slow token endpoint so concurrent refreshers overlap); ``POST
/_sandbox/oauth/expire`` and ``POST /_sandbox/oauth/revoke`` with ``{"platform"?,
"sandbox_user"?}``: expire access tokens now (forced refresh) or revoke everything (the next
refresh gets ``invalid_grant``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.accounts import bearer_token
from infra.sandbox.wire import json_response

#: Real lifetimes, seconds (docs/networks.md#tokens, docs/networks.md#threads,
#: docs/networks.md#youtube).
LIFETIMES = {
    "meta_short": 3600,
    "meta_long": 5_183_944,
    "threads_short": 3600,
    "threads_long": 5_183_944,
    "linkedin": 5_184_000,
    "x": 7200,
    "youtube": 3599,
}
CODE_TTL_S = 600
DEFAULT_USER = "sandbox-user"


def _num(kind: str, user: str, digits: int = 15) -> str:
    digest = hashlib.sha256(f"{kind}\x00{user}".encode()).hexdigest()
    return str(10 ** (digits - 1) + int(digest[:15], 16) % (9 * 10 ** (digits - 1)))


def meta_pages(user: str) -> list[dict[str, Any]]:
    """The Facebook Pages ``user`` manages: the first has a linked Instagram business account."""
    return [
        {
            "id": _num("page1", user),
            "name": f"{user} Page",
            "category": "Media",
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "instagram_business_account": {"id": _num("ig", user, 17), "username": f"{user}_ig"},
        },
        {
            "id": _num("page2", user),
            "name": f"{user} Second Page",
            "category": "Community",
            "tasks": ["CREATE_CONTENT"],
        },
    ]


def account_of(platform: str, user: str) -> tuple[str, str]:
    """``(account id, name)`` of ``user`` on a non-Meta platform."""
    if platform == "threads":
        return _num("threads", user, 17), user
    if platform == "linkedin":
        return "li" + hashlib.sha256(f"li{user}".encode()).hexdigest()[:10], f"{user} Member"
    if platform == "x":
        return _num("x", user, 19), f"{user}_x"
    if platform == "youtube":
        digest = base64.urlsafe_b64encode(hashlib.sha256(f"yt{user}".encode()).digest()).decode()
        return "UC" + digest[:22], f"{user} Channel"
    return _num("fbuser", user), user


@dataclass
class Issued:
    """An access or refresh token the sandbox issued."""

    platform: str
    user: str
    account_id: str
    family: str
    expires_at: float | None = None
    revoked: bool = False
    used: bool = False  # refresh tokens: single-use on X
    created_at: float = field(default_factory=time.time)


@dataclass
class Code:
    platform: str
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False


class OAuthBook:
    """Every code and token issued, and the counters the tests read."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget codes, tokens, counters and settings."""
        self.codes: dict[str, Code] = {}
        self.access: dict[str, Issued] = {}
        self.refresh: dict[str, Issued] = {}
        self.counters: dict[str, Counter[str]] = {
            "exchanges": Counter(),
            "refreshes": Counter(),
            "reuse_rejected": Counter(),
        }
        self.access_token_ttl_s: int | None = None
        self.token_latency_ms = 0

    def rejects(self, token: str) -> bool:
        """Whether a publishing route must refuse ``token`` (issued here, expired or revoked).
        Tokens not issued here (local auto-connections) are accepted as before."""
        issued = self.access.get(token)
        if issued is None:
            return False
        return issued.revoked or (
            issued.expires_at is not None and issued.expires_at <= time.time()
        )

    def mint_access(
        self, platform: str, user: str, account_id: str, family: str, lifetime: int | None
    ) -> tuple[str, int | None]:
        """A new access token and its ``expires_in`` (the override applies when set)."""
        if lifetime is not None and self.access_token_ttl_s is not None:
            lifetime = self.access_token_ttl_s
        token = f"sandbox:{account_id}:{secrets.token_urlsafe(24)}"
        expires = time.time() + lifetime if lifetime is not None else None
        self.access[token] = Issued(platform, user, account_id, family, expires)
        return token, lifetime

    def mint_refresh(self, platform: str, user: str, account_id: str, family: str) -> str:
        """A new refresh token of ``family``."""
        token = f"sbxrt_{platform}_{secrets.token_urlsafe(32)}"
        self.refresh[token] = Issued(platform, user, account_id, family)
        return token

    def revoke_family(self, family: str) -> None:
        """Kill every token of ``family`` (X does this when a refresh token is reused)."""
        for book in (self.access, self.refresh):
            for issued in book.values():
                if issued.family == family:
                    issued.revoked = True

    def matching(self, body: dict[str, Any]) -> list[Issued]:
        """Tokens of ``body["platform"]`` / ``body["sandbox_user"]`` (both optional)."""
        found = []
        for book in (self.access, self.refresh):
            for issued in book.values():
                if body.get("platform") not in (None, issued.platform) and not (
                    body.get("platform") == "instagram" and issued.platform == "facebook"
                ):
                    continue
                if body.get("sandbox_user") not in (None, issued.user):
                    continue
                found.append(issued)
        return found


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _graph_error(message: str, code: int, status: int = 400) -> Response:
    return json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code}}, status
    )


async def _form(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    raw = await request.body()
    if raw.strip():
        with contextlib.suppress(UnicodeDecodeError):
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
    return params


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if user and password else None


def _challenge_ok(code: Code, verifier: str | None) -> bool:
    if code.challenge is None:
        return True
    if not verifier:
        return False
    if code.method == "plain":
        return secrets.compare_digest(verifier, code.challenge)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(expected, code.challenge)


class OAuthRoutes:
    """The OAuth stand-ins of every network and their control API."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def book(self) -> OAuthBook:
        result: OAuthBook = self.state.oauth
        return result

    def consent(self, platform: str, pkce_required: bool = False) -> Any:
        async def handler(request: Request) -> Response:
            q = request.query_params
            client_id, redirect = q.get("client_id"), q.get("redirect_uri")
            if not client_id or not redirect or q.get("response_type") != "code":
                return _oauth_error(
                    "invalid_request", "client_id, redirect_uri and response_type=code required"
                )
            sep = "&" if "?" in redirect else "?"
            back: dict[str, str] = {}
            if q.get("state"):
                back["state"] = q["state"]
            if q.get("sandbox_deny"):
                back.update(error="access_denied", error_description="The user denied access")
                return RedirectResponse(f"{redirect}{sep}{urlencode(back)}", 302)
            challenge = q.get("code_challenge")
            method = q.get("code_challenge_method", "plain" if challenge else None)
            if pkce_required and (not challenge or method != "S256"):
                return _oauth_error("invalid_request", "code_challenge with S256 is required")
            code = secrets.token_urlsafe(24)
            actual = "facebook" if platform == "meta" else platform
            self.book().codes[code] = Code(
                actual,
                client_id,
                redirect,
                q.get("sandbox_user") or DEFAULT_USER,
                q.get("scope", ""),
                challenge,
                method,
                time.time() + CODE_TTL_S,
            )
            back["code"] = code
            return RedirectResponse(f"{redirect}{sep}{urlencode(back)}", 302)

        return handler

    def take_code(
        self, platform: str, params: dict[str, str], client_id: str | None
    ) -> tuple[Code | None, str]:
        code = self.book().codes.get(params.get("code", ""))
        if code is None or code.platform != platform:
            return None, "invalid authorization code"
        if code.used or code.expires_at <= time.time():
            return None, "authorization code expired or already used"
        if client_id != code.client_id:
            return None, "client_id does not match the authorization"
        if params.get("redirect_uri") != code.redirect_uri:
            return None, "redirect_uri does not match the authorization"
        if not _challenge_ok(code, params.get("code_verifier")):
            return None, "code_verifier does not match the code_challenge"
        code.used = True
        self.book().counters["exchanges"][platform] += 1
        return code, ""

    # --- Meta ------------------------------------------------------------------------------

    async def meta_token(self, request: Request) -> Response:
        params = await _form(request)
        if not params.get("client_id") or not params.get("client_secret"):
            return _graph_error("Missing client_id or client_secret parameter.", 101)
        if params.get("grant_type") == "fb_exchange_token":
            short = self.book().access.get(params.get("fb_exchange_token", ""))
            if short is None or self.book().rejects(params.get("fb_exchange_token", "")):
                return _graph_error("Error validating access token: Session has expired.", 190)
            token, expires_in = self.book().mint_access(
                "facebook", short.user, short.account_id, short.family, LIFETIMES["meta_long"]
            )
            return json_response(
                {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
            )
        code, problem = self.take_code("facebook", params, params.get("client_id"))
        if code is None:
            return _graph_error(f"Invalid verification code format: {problem}.", 100)
        fb_user = account_of("facebook", code.user)[0]
        token, expires_in = self.book().mint_access(
            "facebook", code.user, fb_user, secrets.token_hex(8), LIFETIMES["meta_short"]
        )
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
        )

    def graph_caller(self, request: Request) -> Issued | None:
        token = request.query_params.get("access_token") or bearer_token(
            request.headers.get("authorization"), ("bearer", "oauth")
        )
        if not token or self.book().rejects(token):
            return None
        return self.book().access.get(token)

    async def me_accounts(self, request: Request) -> Response:
        caller = self.graph_caller(request)
        if caller is None or caller.platform != "facebook":
            return _graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        fields_param = request.query_params.get("fields", "id,name,access_token")
        data = []
        for page in meta_pages(caller.user):
            token, _ = self.book().mint_access(
                "facebook", caller.user, page["id"], caller.family, None
            )
            item = {**page, "access_token": token}
            if "instagram_business_account" not in fields_param:
                item.pop("instagram_business_account", None)
            data.append(item)
        return json_response(
            {"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}
        )

    async def graph_me(self, request: Request) -> Response:
        caller = self.graph_caller(request)
        if caller is None:
            return _graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if caller.platform == "threads":
            return json_response({"id": caller.account_id, "username": caller.user})
        return json_response({"id": caller.account_id, "name": caller.user})

    # --- Threads ---------------------------------------------------------------------------

    async def threads_code(self, request: Request) -> Response:
        params = await _form(request)
        if not params.get("client_secret"):
            return _graph_error("Missing client_secret parameter.", 101)
        code, problem = self.take_code("threads", params, params.get("client_id"))
        if code is None:
            return _graph_error(f"Invalid verification code: {problem}.", 100)
        account, _ = account_of("threads", code.user)
        token, _ = self.book().mint_access(
            "threads", code.user, account, secrets.token_hex(8), LIFETIMES["threads_short"]
        )
        return json_response({"access_token": token, "user_id": int(account)})

    async def threads_long(self, request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "th_exchange_token" or not q.get("client_secret"):
            return _graph_error("grant_type=th_exchange_token and client_secret required", 100)
        short = self.book().access.get(q.get("access_token", ""))
        if short is None or self.book().rejects(q.get("access_token", "")):
            return _graph_error("Error validating access token: Session has expired.", 190)
        token, expires_in = self.book().mint_access(
            "threads", short.user, short.account_id, short.family, LIFETIMES["threads_long"]
        )
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
        )

    async def threads_refresh(self, request: Request) -> Response:
        q = request.query_params
        old = self.book().access.get(q.get("access_token", ""))
        if q.get("grant_type") != "th_refresh_token" or old is None:
            return _graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if old.revoked:
            return _graph_error("Error validating access token: The session was invalidated.", 190)
        self.book().counters["refreshes"]["threads"] += 1
        token, expires_in = self.book().mint_access(
            "threads", old.user, old.account_id, old.family, LIFETIMES["threads_long"]
        )
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
        )

    # --- LinkedIn, X, Google: RFC 6749 token endpoints -------------------------------------

    def token_pair(
        self, platform: str, user: str, account: str, family: str, lifetime: int, scope: str
    ) -> dict[str, Any]:
        token, expires_in = self.book().mint_access(platform, user, account, family, lifetime)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": scope,
        }
        return body

    def standard_token(self, platform: str, lifetime_key: str, rotating: bool, basic: bool) -> Any:
        async def handler(request: Request) -> Response:
            params = await _form(request)
            if self.book().token_latency_ms:  # lets two refreshers overlap in tests
                await asyncio.sleep(self.book().token_latency_ms / 1000)
            if basic:
                creds = _basic(request)
                if creds is None:
                    return _oauth_error(
                        "unauthorized_client", "Missing valid authorization header", 401
                    )
                client_id: str | None = creds[0]
            else:
                client_id = params.get("client_id")
                if not client_id or not params.get("client_secret"):
                    return _oauth_error("invalid_client", "client authentication failed", 401)
            grant = params.get("grant_type")
            if grant == "authorization_code":
                code, problem = self.take_code(platform, params, client_id)
                if code is None:
                    return _oauth_error("invalid_grant", problem)
                account, _ = account_of(platform, code.user)
                family = secrets.token_hex(8)
                body = self.token_pair(
                    platform, code.user, account, family, LIFETIMES[lifetime_key], code.scope
                )
                if platform != "x" or "offline.access" in code.scope.split():
                    body["refresh_token"] = self.book().mint_refresh(
                        platform, code.user, account, family
                    )
                    if platform == "linkedin":
                        body["refresh_token_expires_in"] = 31_536_000
                return json_response(body)
            if grant == "refresh_token":
                presented = params.get("refresh_token", "")
                old = self.book().refresh.get(presented)
                if old is None or old.platform != platform or old.revoked:
                    return _oauth_error("invalid_grant", "Token has been expired or revoked.")
                if rotating and old.used:
                    self.book().counters["reuse_rejected"][platform] += 1
                    self.book().revoke_family(old.family)
                    return _oauth_error("invalid_grant", "Refresh token was already used.")
                self.book().counters["refreshes"][platform] += 1
                body = self.token_pair(
                    platform, old.user, old.account_id, old.family, LIFETIMES[lifetime_key], ""
                )
                if rotating:
                    old.used = True
                    body["refresh_token"] = self.book().mint_refresh(
                        platform, old.user, old.account_id, old.family
                    )
                elif platform == "linkedin":
                    body["refresh_token"] = presented
                return json_response(body)
            return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")

        return handler

    def bearer_caller(self, request: Request, platform: str) -> Issued | None:
        token = bearer_token(request.headers.get("authorization"))
        if not token or self.book().rejects(token):
            return None
        issued = self.book().access.get(token)
        return issued if issued is not None and issued.platform == platform else None

    async def linkedin_userinfo(self, request: Request) -> Response:
        caller = self.bearer_caller(request, "linkedin")
        if caller is None:
            return json_response(
                {"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}, 401
            )
        _, name = account_of("linkedin", caller.user)
        return json_response({"sub": caller.account_id, "name": name, "locale": "en_US"})

    async def youtube_channels(self, request: Request) -> Response:
        caller = self.bearer_caller(request, "youtube")
        if caller is None:
            return json_response(
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "errors": [{"reason": "authError", "domain": "global"}],
                    }
                },
                401,
            )
        _, title = account_of("youtube", caller.user)
        item = {"kind": "youtube#channel", "id": caller.account_id, "snippet": {"title": title}}
        return json_response({"kind": "youtube#channelListResponse", "items": [item]})

    # --- self.control -------------------------------------------------------------------------

    async def control(self, request: Request) -> Response:
        b = self.book()
        return json_response(
            {
                "settings": {
                    "access_token_ttl_s": b.access_token_ttl_s,
                    "token_latency_ms": b.token_latency_ms,
                },
                **{name: dict(counter) for name, counter in b.counters.items()},
            }
        )

    async def control_body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {"_invalid": True}

    async def control_settings(self, request: Request) -> Response:
        body = await self.control_body(request)
        ttl = body.get("access_token_ttl_s", self.book().access_token_ttl_s)
        latency = body.get("token_latency_ms", self.book().token_latency_ms)
        valid_ttl = ttl is None or (isinstance(ttl, int) and ttl >= 0)
        if "_invalid" in body or not valid_ttl or not isinstance(latency, int) or latency < 0:
            return json_response(
                {"error": {"message": "access_token_ttl_s: int >= 0 or null; token_latency_ms"}},
                400,
            )
        self.book().access_token_ttl_s = ttl
        self.book().token_latency_ms = min(latency, 30_000)
        return await self.control(request)

    async def control_expire(self, request: Request) -> Response:
        body = await self.control_body(request)
        issued = [i for i in self.book().matching(body) if i in self.book().access.values()]
        for item in issued:
            item.expires_at = time.time() - 1
        return json_response({"expired": len(issued)})

    async def control_revoke(self, request: Request) -> Response:
        body = await self.control_body(request)
        issued = self.book().matching(body)
        for item in issued:
            item.revoked = True
        return json_response({"revoked": len(issued)})

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/_sandbox/oauth", self.control, methods=["GET"]),
            Route("/_sandbox/oauth/settings", self.control_settings, methods=["PATCH", "POST"]),
            Route("/_sandbox/oauth/expire", self.control_expire, methods=["POST"]),
            Route("/_sandbox/oauth/revoke", self.control_revoke, methods=["POST"]),
            # Meta (Facebook Login, also for Instagram)
            Route("/{version}/dialog/oauth", self.consent("meta"), methods=["GET"]),
            Route("/{version}/oauth/access_token", self.meta_token, methods=["GET", "POST"]),
            Route("/{version}/me/accounts", self.me_accounts, methods=["GET"]),
            Route("/{version}/me", self.graph_me, methods=["GET"]),
            # Threads
            Route("/oauth/authorize", self.consent("threads"), methods=["GET"]),
            Route("/oauth/access_token", self.threads_code, methods=["POST"]),
            Route("/access_token", self.threads_long, methods=["GET"]),
            Route("/refresh_access_token", self.threads_refresh, methods=["GET"]),
            # LinkedIn
            Route("/oauth/v2/authorization", self.consent("linkedin"), methods=["GET"]),
            Route(
                "/oauth/v2/accessToken",
                self.standard_token("linkedin", "linkedin", rotating=False, basic=False),
                methods=["POST"],
            ),
            Route("/v2/userinfo", self.linkedin_userinfo, methods=["GET"]),
            # X
            Route("/i/oauth2/authorize", self.consent("x", pkce_required=True), methods=["GET"]),
            Route(
                "/2/oauth2/token",
                self.standard_token("x", "x", rotating=True, basic=True),
                methods=["POST"],
            ),
            # Google (YouTube)
            Route("/o/oauth2/v2/auth", self.consent("youtube"), methods=["GET"]),
            Route(
                "/token",
                self.standard_token("youtube", "youtube", rotating=False, basic=False),
                methods=["POST"],
            ),
            Route("/youtube/v3/channels", self.youtube_channels, methods=["GET"]),
        ]


def routes(state: Any) -> list[BaseRoute]:
    """The OAuth routes, bound to ``state.oauth`` (an :class:`OAuthBook`)."""

    """The OAuth routes, bound to ``state.oauth`` (an :class:`OAuthBook`)."""
    return OAuthRoutes(state).routes()
