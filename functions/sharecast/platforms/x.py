"""X (Twitter) API v2 connector: text posts, with photos or a video (media upload v2,
:mod:`sharecast.platforms.x_media`).

- Create: ``POST {base}/2/tweets`` with JSON ``{"text": ...}`` (``CreatePostsRequest``,
  ``additionalProperties: false``) and ``Authorization: Bearer <OAuth 2.0 user token>``; answers
  201 ``{"data": {"id", "text", ...}}`` (docs.x.com, ``xdevplatform/docs``
  ``x-api/posts/creation-of-a-post``; xdk ``specs/openapi.json``).
- Errors: problem+json ``{"title", "detail", "type", "status"}``
  (https://docs.x.com/x-api/fundamentals/response-codes-and-errors), classified by
  :func:`classify_x_error`.
- Rate limits: ``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (reset in epoch SECONDS) on
  every response (https://docs.x.com/x-api/fundamentals/rate-limits); some plans add
  ``x-app-limit-24hour-*`` / ``x-user-limit-24hour-*``.
- Reconciliation: ``GET /2/users/{id}/tweets?start_time=<RFC 3339>&tweet.fields=created_at``.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from sharecast.platforms.base import (
    MediaSource,
    MemoryStepLog,
    Pending,
    PublishRequest,
    PublishResult,
    StepLog,
)
from sharecast.platforms.errors import (
    AuthExpiredError,
    BillingError,
    DuplicateContentError,
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
)
from sharecast.platforms.http import (
    PlatformHttp,
    as_int,
    created_id,
    header,
    retry_after_header,
    server_clock,
)
from sharecast.platforms.x_media import XMediaUploader

#: How many timeline pages :meth:`XConnector.find_existing` reads at most (100 posts each).
MAX_TIMELINE_PAGES = 5
#: Header families whose ``-remaining: 0`` means "wait until ``-reset``".
_LIMIT_FAMILIES = ("x-rate-limit", "x-app-limit-24hour", "x-user-limit-24hour")


def retry_after_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from X's response headers.

    ``Retry-After`` (seconds or an HTTP date) wins when present. Otherwise every limit family
    whose ``-remaining`` is 0 contributes ``-reset`` (epoch seconds) minus ``now``, and the
    longest wait wins; if no family says 0 but ``x-rate-limit-reset`` is present (a 429 is proof
    enough) that is used. Never negative; ``None`` when the headers say nothing. ``now``: epoch
    seconds (default: the answer's ``Date`` header, else the local clock; see
    :func:`~sharecast.platforms.http.server_clock`).
    """
    now = server_clock(headers) if now is None else now
    explicit = retry_after_header(headers, now=now)
    if explicit is not None:
        return explicit
    waits = []
    for family in _LIMIT_FAMILIES:
        remaining = as_int(header(headers, f"{family}-remaining"))
        reset = as_int(header(headers, f"{family}-reset"))
        if remaining == 0 and reset is not None:
            waits.append(reset - now)
    if not waits:
        reset = as_int(header(headers, "x-rate-limit-reset"))
        if reset is None:
            return None
        waits.append(reset - now)
    return max(0.0, float(max(waits)))


def _problem_text(body: Any) -> tuple[str, str]:
    """``(problem type, human message)`` of a problem+json or legacy ``errors[]`` body."""
    if not isinstance(body, dict):
        return "", ""
    problem_type = str(body.get("type") or "")
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors[:3]:
            if isinstance(err, dict) and err.get("message"):
                code = f" (code {err['code']})" if err.get("code") is not None else ""
                parts.append(f"{err['message']}{code}")
    # X often repeats the title as the detail ("Unauthorized", "Unauthorized"): say it once.
    return problem_type, ": ".join(dict.fromkeys(parts))


def _legacy_codes(body: Any) -> set[int]:
    errors = body.get("errors") if isinstance(body, dict) else None
    codes: set[int] = set()
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, dict):
            code = as_int(str(err.get("code"))) if err.get("code") is not None else None
            if code is not None:
                codes.add(code)
    return codes


def classify_x_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None, *, now: float | None = None
) -> PlatformError:
    """Turn an X API v2 error response into a classified :class:`PlatformError`.

    ``status``: HTTP status; ``body``: parsed JSON (problem+json or legacy ``{"errors": [...]}``);
    ``headers``: response headers; ``now``: epoch seconds for ``retry_after_s``. Mapping
    (docs/networks.md#x, docs/networks.md#retry-classification):

    - 429 with problem type ``usage-capped`` → ``USAGE_CAPPED`` (permanent until the cap resets);
      other 429 → ``RATE_LIMITED`` (transient, ``retry_after_s`` from :func:`retry_after_s`);
    - 402 (problem ``CreditsDepleted``, type ``.../problems/credits``: the developer account has
      no credits left on X's pay-per-use plans) → :class:`BillingError` ``BILLING`` (permanent:
      the account must be topped up before the target is retried);
    - 401 → :class:`AuthExpiredError` ``TOKEN_EXPIRED`` (refresh once, then re-auth);
    - 403 "duplicate content" (or legacy code 187) → :class:`DuplicateContentError`
      ``DUPLICATE_CONTENT``; 403 "too long" (legacy 186) → ``INVALID_REQUEST``; other 403
      (client-forbidden, not-authorized-for-resource...) → ``PERMISSION_DENIED``;
    - 404 → ``NOT_FOUND``; 408 → ``NETWORK`` (transient); 5xx → ``PLATFORM_5XX`` (transient,
      ``Retry-After`` if sent); other 4xx → ``INVALID_REQUEST`` (permanent).
    """
    headers = headers or {}
    problem_type, text = _problem_text(body)
    message = text or f"HTTP {status}"
    lowered = message.lower()
    legacy = _legacy_codes(body)
    kwargs: dict[str, Any] = {"http_status": status}
    if status == 429:
        if problem_type.endswith("/usage-capped") or "usagecap" in lowered.replace(" ", ""):
            return PermanentPlatformError("USAGE_CAPPED", message, **kwargs)
        return TransientPlatformError(
            "RATE_LIMITED", message, retry_after_s=retry_after_s(headers, now=now), **kwargs
        )
    if status == 402 or problem_type.endswith("/credits"):
        return BillingError("BILLING", message, **kwargs)
    if status == 401:
        return AuthExpiredError("TOKEN_EXPIRED", message, **kwargs)
    if status == 403:
        if "duplicate content" in lowered or 187 in legacy:
            return DuplicateContentError("DUPLICATE_CONTENT", message, **kwargs)
        if "too long" in lowered or 186 in legacy:
            return PermanentPlatformError("INVALID_REQUEST", message, **kwargs)
        return PermanentPlatformError("PERMISSION_DENIED", message, **kwargs)
    if status == 404:
        return PermanentPlatformError("NOT_FOUND", message, **kwargs)
    if status == 408:
        return TransientPlatformError("NETWORK", message, **kwargs)
    if status >= 500:
        wait = retry_after_s(headers, now=now) if header(headers, "retry-after") else None
        return TransientPlatformError("PLATFORM_5XX", message, retry_after_s=wait, **kwargs)
    return PermanentPlatformError("INVALID_REQUEST", message, **kwargs)


def compose_text(request: PublishRequest) -> str:
    """The text X receives: ``request.text`` plus ``request.link`` on a new line when the text
    does not already contain it (X has no separate link field; the URL renders as a card)."""
    if request.link and request.link not in request.text:
        return f"{request.text}\n{request.link}" if request.text else request.link
    return request.text


def normalize_text(text: str, entities: Any = None) -> str:
    """Text as compared by :meth:`XConnector.find_existing`: t.co links expanded (from
    ``entities.urls``), HTML entities unescaped (X returns ``&amp;``), NFC, trimmed."""
    if isinstance(entities, dict):
        for url in entities.get("urls") or []:
            if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
                text = text.replace(str(url["url"]), str(url["expanded_url"]))
    return unicodedata.normalize("NFC", html.unescape(text)).strip()


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class XConnector:
    """Publishes text posts to X. See the module docstring for the API."""

    platform = "x"

    def __init__(
        self,
        *,
        base_url: str,
        timeout_s: float,
        session: requests.Session | None = None,
        media: MediaSource | None = None,
        media_chunk_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        """``base_url``: ``https://api.x.com`` or the sandbox; ``timeout_s``: connect and read
        timeout of each HTTP call, seconds; ``media``: where attached files are read from
        (without it, media posts fail permanently); ``media_chunk_bytes``: APPEND chunk size."""
        self._base = base_url.rstrip("/")
        self._http = PlatformHttp(timeout_s=timeout_s, session=session)
        self._media = media
        self._chunk = media_chunk_bytes

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog | None = None
    ) -> PublishResult | Pending:
        """``POST /2/tweets``; returns the post id and ``https://x.com/i/web/status/{id}``.

        With media, the files are first uploaded with :class:`XMediaUploader` (resumable through
        ``steps``; :class:`Pending` while X processes a video), then attached by media id.
        A 2xx answer without ``data.id`` raises transient ``UNKNOWN_OUTCOME``: the post may exist,
        so the caller reconciles with :meth:`find_existing` before retrying.
        """
        body_json: dict[str, Any] = {"text": compose_text(request)}
        if request.media:
            if self._media is None:
                raise PermanentPlatformError(
                    "MEDIA_UNAVAILABLE", "this publisher has no access to media files"
                )
            uploader = XMediaUploader(
                base_url=self._base,
                source=self._media,
                chunk_bytes=self._chunk,
                call=lambda method, url, **kw: self._call(method, url, access_token, **kw),
                check=lambda response: self._check(response, access_token),
            )
            media_ids = uploader.upload(request, steps if steps is not None else MemoryStepLog())
            if isinstance(media_ids, Pending):
                return media_ids
            body_json["media"] = {"media_ids": media_ids}
            if not body_json["text"]:
                del body_json["text"]
        response = self._call("POST", f"{self._base}/2/tweets", access_token, json=body_json)
        body = self._check(response, access_token)
        data = body.get("data") if isinstance(body, dict) else None
        post_id = data.get("id") if isinstance(data, dict) else None
        post_id = created_id(post_id, status=response.status_code, where="data.id")
        return PublishResult(
            external_id=str(post_id), external_url=f"https://x.com/i/web/status/{post_id}"
        )

    def find_existing(
        self,
        request: PublishRequest,
        *,
        access_token: str,
        since: datetime,
        steps: StepLog | None = None,
    ) -> PublishResult | None:
        """The oldest post of ``request.account_id`` created at or after ``since`` (second
        precision) whose text matches :func:`compose_text` under :func:`normalize_text`, or
        ``None``. Reads at most :data:`MAX_TIMELINE_PAGES` pages of 100."""
        wanted = normalize_text(compose_text(request))
        params: dict[str, str] = {
            "start_time": _rfc3339(since),
            "max_results": "100",
            "tweet.fields": "created_at,entities",
        }
        url = f"{self._base}/2/users/{quote(request.account_id, safe='')}/tweets"
        match: str | None = None
        for _page in range(MAX_TIMELINE_PAGES):
            response = self._call("GET", url, access_token, params=params)
            body = self._check(response, access_token)
            if not isinstance(body, dict) or not ("data" in body or "meta" in body):
                raise TransientPlatformError(
                    "BAD_RESPONSE",
                    "timeline answer without data/meta",
                    http_status=response.status_code,
                )
            posts = body.get("data") or []
            for post in posts if isinstance(posts, list) else []:
                if (
                    isinstance(post, dict)
                    and isinstance(post.get("text"), str)
                    and post.get("id")
                    and normalize_text(post["text"], post.get("entities")) == wanted
                ):
                    match = str(post["id"])  # newest first: the last match is the oldest
            meta = body.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not next_token:
                break
            params["pagination_token"] = str(next_token)
        if match is None:
            return None
        return PublishResult(external_id=match, external_url=f"https://x.com/i/web/status/{match}")

    def _call(self, method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return self._http.send(method, url, token=token, headers=headers, **kwargs)

    @staticmethod
    def _check(response: requests.Response, token: str) -> Any:
        """The JSON body of a 2xx answer; raises the classified error otherwise."""
        return PlatformHttp.json_or_raise(response, token=token, classify=classify_x_error)
