"""X API v2 stand-in: ``POST /2/tweets``, ``GET /2/users/{id}/tweets``, ``GET /2/users/me``.

Shapes follow docs.x.com (``xdevplatform/docs``, xdk ``specs/openapi.json``): errors are
problem+json (``{"title","detail","type","status"}``), ``CreatePostsRequest`` has
``additionalProperties: false``, a create answers 201 ``{"data":{"id","text",
"edit_history_tweet_ids"}}`` with a ``location`` header, and every response carries
``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (epoch seconds) for a 15-minute window per
user and endpoint (counted, not enforced). The posting user is derived from the bearer token
(:mod:`infra.sandbox.accounts`).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.accounts import bearer_token, user_id_for_token
from infra.sandbox.faults import ALL_KINDS
from infra.sandbox.ledger import Post, rfc3339
from infra.sandbox.media_state import x_attachments
from infra.sandbox.publishing import Attempt, Ctx, publish, read
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import decode_offset, encode_offset, json_response, read_json

try:  # runtime dependency of the functions; optional for the sandbox
    from twitter_text import parse_tweet
except ImportError:  # pragma: no cover
    parse_tweet = None

PLATFORM = "x"
PROBLEMS = "https://api.x.com/2/problems/"
WINDOW_S = 15 * 60
#: Per-user limits per 15 minutes [official] docs.x.com rate-limits.mdx.
LIMITS = {"create": 100, "timeline": 900, "me": 75}
MAX_WEIGHTED_LENGTH = 280

#: ``CreatePostsRequest`` properties (xdk ``specs/openapi.json``); anything else is a 400.
CREATE_FIELDS = frozenset(
    {
        "text",
        "media",
        "reply",
        "quote_tweet_id",
        "poll",
        "reply_settings",
        "community_id",
        "made_with_ai",
        "paid_partnership",
        "nullcast",
        "geo",
        "card_uri",
        "for_super_followers_only",
        "direct_message_deep_link",
        "share_with_followers",
    }
)
TIMELINE_PARAMS = frozenset(
    {
        "since_id",
        "until_id",
        "max_results",
        "pagination_token",
        "exclude",
        "start_time",
        "end_time",
        "expansions",
        "tweet.fields",
        "media.fields",
        "poll.fields",
        "user.fields",
        "place.fields",
    }
)


def problem(
    status: int,
    title: str,
    detail: str,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json error response."""
    body: dict[str, Any] = {"title": title, "detail": detail, "type": type_}
    if type_ == "about:blank":
        body["status"] = status
    body.update(extra)
    return json_response(body, status, headers, media_type="application/problem+json")


def invalid_request(
    messages: list[str], headers: dict[str, str], parameters: dict[str, list[str]] | None = None
) -> Response:
    """400 ``invalid-request`` with one ``errors[]`` entry per message."""
    errors: list[dict[str, Any]] = []
    for message in messages:
        entry: dict[str, Any] = {"message": message}
        if parameters:
            entry["parameters"] = parameters
        errors.append(entry)
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        headers,
        errors=errors,
    )


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


class XDialect:
    """X's error spellings (docs.x.com ``fundamentals/response-codes-and-errors.mdx``)."""

    platform = PLATFORM
    supported_kinds = ALL_KINDS - {"policy_blocked", "container_error"}
    created_status = 201

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def rate_headers(self, endpoint: str, user: str) -> dict[str, str]:
        """Count one call and return the ``x-rate-limit-*`` headers for it."""
        limit = LIMITS[endpoint]
        count, reset = self._state.usage.hit((PLATFORM, endpoint, user), WINDOW_S)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - count)),
            "x-rate-limit-reset": str(reset),
        }

    def mint_id(self, account_id: str) -> str:
        """A 19-digit snowflake."""
        return self._state.ids.snowflake()

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Same text (NFC, trimmed) as an earlier post of the same user."""
        return _normalize(earlier.text) == _normalize(attempt.text)

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind."""
        headers = dict(ctx.headers)
        if kind == "server_error":
            return problem(503, "Service Unavailable", "Service Unavailable", headers=headers)
        if kind == "rate_limit":
            # As recorded in X's own Postman collection: a text body, the limit in headers.
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(int(time.time()) + retry_after_s)
            return Response(
                "Rate limit exceeded\n", 429, headers, media_type="text/plain;charset=utf-8"
            )
        if kind == "usage_capped":
            return problem(
                429,
                "UsageCapExceeded",
                "Usage cap exceeded: Monthly product cap",
                PROBLEMS + "usage-capped",
                headers,
                account_id=ctx.account_id,
                product_name="standard-basic",
                period="Monthly",
                scope="Product",
            )
        if kind == "duplicate":
            return problem(
                403,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
                headers=headers,
            )
        if kind == "token_expired":
            return problem(401, "Unauthorized", "Unauthorized", headers=headers)
        if kind == "permission_denied":
            return problem(
                403,
                "Client Forbidden",
                "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
                "and tokens from a Twitter developer App that is attached to a Project.",
                PROBLEMS + "client-forbidden",
                headers,
                client_id="16340226",
                required_enrollment="Standard Basic",
                reason="client-not-enrolled",
                registration_url="https://developer.x.com/en/docs/projects/overview",
            )
        return invalid_request(
            ["$.text: sandbox fault: the request was rejected as invalid"], headers
        )


class TimelineQuery:
    """The validated query of a user timeline read; ``errors`` (with the offending
    ``parameters``) when X would answer 400 ``invalid-request``."""

    def __init__(self, query: Mapping[str, str]) -> None:
        self.errors: list[str] = []
        self.parameters: dict[str, list[str]] | None = None
        self.bounds: dict[str, datetime] = {}
        self.offset, self.max_results = 0, 10
        self.fields = set(query.get("tweet.fields", "").split(","))
        unknown = sorted(set(query) - TIMELINE_PARAMS)
        if unknown:
            allowed = ",".join(sorted(TIMELINE_PARAMS))
            self.errors = [f"The query parameter [{n}] is not one of [{allowed}]" for n in unknown]
            self.parameters = {name: [query[name]] for name in unknown}
            return
        try:
            self.max_results = int(query.get("max_results", "10"))
        except ValueError:
            self.max_results = -1
        if not 5 <= self.max_results <= 100:
            value = query.get("max_results")
            self.errors = [
                f"The `max_results` query parameter value [{value}] is not between 5 and 100"
            ]
            return
        for name in ("start_time", "end_time"):
            if name in query:
                parsed = _parse_time(query[name])
                if parsed is None:
                    self.errors = [
                        f"Invalid '{name}':'{query[name]}'. '{name}' must be a valid RFC3339 "
                        "date-time"
                    ]
                    return
                self.bounds[name] = parsed
        offset = decode_offset(query.get("pagination_token"))
        if offset is None:
            self.errors = ["The `pagination_token` query parameter value is not valid"]
            return
        self.offset = offset


def timeline_page(posts: list[Post], query: TimelineQuery) -> dict[str, Any]:
    """One page of ``posts`` (newest first) as X answers it; ``{"meta": {"result_count": 0}}``
    past the end."""
    page = posts[query.offset : query.offset + query.max_results]
    if not page:
        return {"meta": {"result_count": 0}}
    data = []
    for post in page:
        item: dict[str, Any] = {
            "id": post.id,
            "text": post.text,
            "edit_history_tweet_ids": [post.id],
        }
        if "created_at" in query.fields:
            item["created_at"] = rfc3339(post.created_at)
        if "author_id" in query.fields:
            item["author_id"] = post.account_id
        data.append(item)
    meta: dict[str, Any] = {
        "result_count": len(page),
        "newest_id": page[0].id,
        "oldest_id": page[-1].id,
    }
    if query.offset + query.max_results < len(posts):
        meta["next_token"] = encode_offset(query.offset + query.max_results)
    return {"data": data, "meta": meta}


class XRoutes:
    """The X API v2 routes: create a post, a user's timeline, the token's user."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.dialect = XDialect(self.state)

    def unauthorized(self, endpoint: str) -> Response:
        return problem(
            401,
            "Unauthorized",
            "Unauthorized",
            headers=self.dialect.rate_headers(endpoint, "anonymous"),
        )

    async def create_tweet(self, request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return self.unauthorized("create")
        user = user_id_for_token(token)
        headers = self.dialect.rate_headers("create", user)
        body, error = await read_json(request)
        if error is not None:
            return invalid_request([error], headers)
        if not isinstance(body, dict):
            return invalid_request(["$: must be a JSON object"], headers)
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            return invalid_request(
                [
                    f"$.{name}: is not defined in the schema and the schema does not allow "
                    "additional properties"
                    for name in unknown
                ],
                headers,
            )
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            return invalid_request(["$.text: must be a string"], headers)
        if not text and not body.get("media"):
            return invalid_request(["$.text: text is required when no media is attached"], headers)
        text = text or ""
        too_long = (
            parse_tweet is not None
            and text
            and (parse_tweet(text).weightedLength > MAX_WEIGHTED_LENGTH)
        )
        if too_long:
            return invalid_request(
                ["$.text: Your Tweet text is too long (more than 280 weighted characters)."],
                headers,
            )
        attachments, media_error = x_attachments(self.state.media, user, body.get("media"))
        if media_error is not None:
            return invalid_request([media_error], headers)
        attempt = Attempt(PLATFORM, user, text, None, token, media=tuple(attachments))

        def created(post: Post) -> Response:
            base = str(request.base_url).rstrip("/")
            return json_response(
                {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}},
                201,
                {**headers, "location": f"{base}/2/tweets/{post.id}"},
            )

        return await publish(
            self.state, self.dialect, attempt, request, Ctx(user, headers), created
        )

    async def user_tweets(self, request: Request) -> Response:
        """``GET /2/users/{id}/tweets``: newest first, ``meta.next_token`` while more remain."""
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return self.unauthorized("timeline")
        user_id = request.path_params["user_id"]
        headers = self.dialect.rate_headers("timeline", user_id_for_token(token))
        query = TimelineQuery(request.query_params)
        if query.errors:
            return invalid_request(query.errors, headers, query.parameters)

        def answer() -> Response:
            posts = [
                p
                for p in self.state.ledger.posts(PLATFORM, user_id)
                if _in_range(p, request.query_params, query.bounds)
            ]
            posts.reverse()  # newest first
            return json_response(timeline_page(posts, query), 200, headers)

        return await read(self.state, self.dialect, request, Ctx(user_id, headers), answer)

    async def users_me(self, request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return self.unauthorized("me")
        user = user_id_for_token(token)
        headers = self.dialect.rate_headers("me", user)

        def answer() -> Response:
            return json_response(
                {
                    "data": {
                        "id": user,
                        "name": f"Sandbox User {user}",
                        "username": f"sandbox_{user[-8:]}",
                    }
                },
                200,
                headers,
            )

        return await read(self.state, self.dialect, request, Ctx(user, headers), answer)

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/2/tweets", self.create_tweet, methods=["POST"]),
            Route("/2/users/me", self.users_me, methods=["GET"]),
            Route("/2/users/{user_id}/tweets", self.user_tweets, methods=["GET"]),
        ]


def routes(state: SandboxState) -> list[BaseRoute]:
    """The X routes, bound to ``state``."""
    """The X routes, bound to ``state``."""
    return XRoutes(state).routes()


def _in_range(post: Post, query: Any, bounds: dict[str, datetime]) -> bool:
    if "start_time" in bounds and post.created_at < bounds["start_time"]:
        return False
    if "end_time" in bounds and post.created_at > bounds["end_time"]:
        return False
    try:
        if "since_id" in query and int(post.id) <= int(query["since_id"]):
            return False
        if "until_id" in query and int(post.id) >= int(query["until_id"]):
            return False
    except ValueError:
        return False
    return True
