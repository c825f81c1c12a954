"""The Graph API's common parts, shared by the Facebook, Instagram and Threads stand-ins.

Error bodies ``{"error": {"message", "type", "code", "error_subcode", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}``
(https://developers.facebook.com/docs/graph-api/guides/error-handling), the fault renderings of
:class:`FacebookDialect`, the usage header ``X-Business-Use-Case-Usage`` (MINUTES in
``estimated_time_to_regain_access``, https://developers.facebook.com/docs/graph-api/overview/rate-limiting),
and how a request's parameters and token are read (query string, form or JSON body, or
``Authorization: Bearer|OAuth``).
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from infra.sandbox.accounts import bearer_token
from infra.sandbox.faults import ALL_KINDS
from infra.sandbox.ledger import Post
from infra.sandbox.publishing import Attempt, Ctx
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import json_response

PLATFORM = "facebook"
DEFAULT_VERSION = "v24.0"
#: Hourly window for the ``call_count`` percentage of the usage header (sandbox budget).
USAGE_WINDOW_S = 3600
USAGE_BUDGET = 4800


def graph_error(
    status: int,
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    is_transient: bool | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Response:
    """A Graph API error response."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:20]
    return json_response({"error": error}, status, headers)


def buc_header(page_id: str, call_count: int, regain_minutes: int) -> str:
    usage = {
        "type": "pages",
        "call_count": call_count,
        "total_cputime": min(call_count, 100),
        "total_time": min(call_count, 100),
        "estimated_time_to_regain_access": regain_minutes,
        "ads_api_access_tier": "development_access",
    }
    return json.dumps({page_id: [usage]}, separators=(",", ":"))


class FacebookDialect:
    """Graph's error spellings for each fault kind (codes per the error-handling page)."""

    platform = PLATFORM
    supported_kinds = ALL_KINDS - {"usage_capped", "container_error"}
    created_status = 200

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def usage_headers(self, page_id: str, version: str) -> dict[str, str]:
        """Count one call for the page and return Graph's response headers for it."""
        count, _ = self._state.usage.hit((PLATFORM, page_id), USAGE_WINDOW_S)
        percent = min(100, math.ceil(count * 100 / USAGE_BUDGET))
        return {
            "facebook-api-version": version,
            "x-fb-trace-id": secrets.token_urlsafe(8),
            "x-business-use-case-usage": buc_header(page_id, percent, 0),
        }

    def mint_id(self, account_id: str) -> str:
        """``{page_id}_{post_id}``."""
        return f"{account_id}_{self._state.ids.numeric()}"

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Same message and link as an earlier post of the page."""
        return earlier.text == attempt.text and earlier.link == attempt.link

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind: :data:`GRAPH_FAULTS`, with the usage header of a
        throttled page (``estimated_time_to_regain_access`` in minutes) and the
        ``WWW-Authenticate`` of an expired token."""
        headers = dict(ctx.headers)
        if kind == "token_expired":
            now = datetime.now(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
            message = (
                f"Error validating access token: Session has expired on {now}. "
                f"The current time is {now}."
            )
            headers["www-authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
            return graph_error(400, message, 190, subcode=463, headers=headers)
        if kind == "rate_limit":
            minutes = math.ceil(retry_after_s / 60)
            headers["x-business-use-case-usage"] = buc_header(ctx.account_id, 100, minutes)
        fault = GRAPH_FAULTS.get(kind, GRAPH_FAULTS["permanent"])
        return graph_error(
            fault.status,
            fault.message,
            fault.code,
            subcode=fault.subcode,
            is_transient=fault.is_transient,
            user_title=fault.user_title,
            user_msg=fault.user_msg,
            headers=headers,
        )


@dataclass(frozen=True)
class GraphFault:
    """How Graph spells one fault kind: HTTP status, code, subcode, message, flags."""

    status: int
    code: int
    message: str
    subcode: int | None = None
    is_transient: bool | None = None
    user_title: str | None = None
    user_msg: str | None = None


#: The Graph error of each fault kind (codes per the error-handling page).
GRAPH_FAULTS: dict[str, GraphFault] = {
    "server_error": GraphFault(
        500, 2, "An unexpected error has occurred. Please retry your request later.", None, True
    ),
    "rate_limit": GraphFault(
        400,
        80001,
        "There have been too many calls to this Page account. Wait a bit and try again. For "
        "more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        None,
        True,
    ),
    "duplicate": GraphFault(
        400,
        506,
        "Duplicate status message",
        1455006,
        False,
        "Duplicate Status Update",
        "This status update is identical to the last one you posted. Try posting something "
        "different, or delete your previous update.",
    ),
    "permission_denied": GraphFault(
        403,
        200,
        "(#200) The user hasn't authorized the application to perform this action",
        None,
        False,
    ),
    "policy_blocked": GraphFault(
        400,
        368,
        "It looks like you were misusing this feature by going too fast. You've been "
        "temporarily blocked from using it.",
        1390008,
        False,
        "You Can't Use This Feature Right Now",
    ),
    "permanent": GraphFault(400, 100, "(#100) Invalid parameter", None, False),
}


async def graph_params(request: Request) -> tuple[dict[str, str], Response | None]:
    """Query parameters overlaid with the form-encoded or JSON body."""
    params = dict(request.query_params)
    raw = await request.body()
    if not raw.strip():
        return params, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return params, graph_error(400, "(#100) The request body is not a JSON object", 100)
        params.update(
            {
                k: v if isinstance(v, str) else json.dumps(v)
                for k, v in body.items()
                if v is not None
            }
        )
        return params, None
    if content_type in ("", "application/x-www-form-urlencoded"):
        try:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return params, graph_error(400, "(#100) The request body is not valid UTF-8", 100)
        return params, None
    return params, graph_error(
        400,
        f"(#100) The sandbox does not accept {content_type} bodies; send form-encoded or "
        "JSON parameters",
        100,
    )


def graph_token(request: Request, params: dict[str, str]) -> str | None:
    return params.get("access_token") or bearer_token(
        request.headers.get("authorization"), ("bearer", "oauth")
    )
