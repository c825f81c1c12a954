"""Facebook Pages connector (Graph API): text/link posts to a Page feed, and photo posts.

- Create: ``POST {base}/{version}/{page_id}/feed`` with ``message`` and optional ``link``
  (https://developers.facebook.com/documentation/pages-api/posts.md); answers
  ``{"id": "{page_id}_{post_id}"}``.
- Token: a Page access token. On ``POST`` it travels as the ``access_token`` form parameter in the
  body (the Graph API's documented parameter, also how Meta's own business SDK sends it); on
  ``GET`` as ``Authorization: Bearer`` so it never appears in a URL, and therefore never in
  urllib3's or a proxy's request log.
- Errors: ``{"error": {"message", "type", "code", "error_subcode", "is_transient", ...}}``
  (https://developers.facebook.com/docs/graph-api/guides/error-handling), classified by
  :func:`classify_graph_error`. Rate limits: ``X-Business-Use-Case-Usage`` whose
  ``estimated_time_to_regain_access`` is in MINUTES
  (https://developers.facebook.com/docs/graph-api/overview/rate-limiting); Graph sends no
  ``Retry-After``.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from sharecast.platforms.base import (
    MediaSource,
    MemoryStepLog,
    PublishRequest,
    PublishResult,
    StepLog,
)
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
)
from sharecast.platforms.facebook_video import publish_video
from sharecast.platforms.http import PlatformHttp, as_int, created_id, header
from sharecast.platforms.meta_container import is_video

DEFAULT_GRAPH_VERSION = "v24.0"
#: Wait announced for code 368 ("temporarily blocked for policy violations"), seconds.
POLICY_BLOCK_WAIT_S = 3600.0
#: How many feed pages :meth:`FacebookConnector.find_existing` reads at most (100 posts each).
MAX_FEED_PAGES = 10

#: Codes whose meaning is "the token is invalid or expired": re-auth (error-handling page).
AUTH_CODES = frozenset({102, 104, 190})
#: OAuth subcodes 458-467 (app not installed, checkpoint, password changed, expired, invalid).
AUTH_SUBCODES = frozenset(range(458, 468))
#: App (4), user (17), page (32), application-limit (341), custom (613) throttles and the
#: Business-Use-Case family (80000-80014; 80001 Pages, 80002 Instagram).
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
#: 1 "API Unknown" and 2 "API Service": temporary server-side problems.
SERVER_CODES = frozenset({1, 2})
#: 3 "API Method" (missing capability), 10 and 200-299: permission errors.
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
DUPLICATE_CODE = 506
POLICY_CODE = 368
#: Subcode of code 368 meaning "You've already posted this" (a duplicate, not a policy block).
ALREADY_POSTED_SUBCODE = 1404082
#: 803 "some aliases do not exist"; 100 with subcode 33 "object does not exist".
NOT_FOUND_CODE = 803


def buc_retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds until access returns, from ``X-Business-Use-Case-Usage``.

    The header is JSON ``{"<object id>": [{"type", "call_count", "total_cputime", "total_time",
    "estimated_time_to_regain_access"}]}``; ``estimated_time_to_regain_access`` is in MINUTES, so
    the result is its largest value times 60. ``None`` when the header is absent, unparsable or says
    0 minutes.
    """
    raw = header(headers, "x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = 0
    if isinstance(usage, dict):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    minutes = max(
                        minutes, as_int(entry.get("estimated_time_to_regain_access")) or 0
                    )
    return float(minutes * 60) if minutes > 0 else None


def classify_graph_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> PlatformError:
    """Turn a Graph API error response into a classified :class:`PlatformError`.

    ``status``: HTTP status; ``body``: the parsed JSON body (anything else is tolerated);
    ``headers``: response headers (for ``X-Business-Use-Case-Usage``). Order
    (docs/networks.md#meta-graph-api-errors, docs/networks.md#retry-classification):

    1. code 506, or 368 with subcode 1404082 / the message "already posted" ("You've already
       posted this", arsduo/koala#422) → :class:`DuplicateContentError` ``DUPLICATE_CONTENT``
       (never retried);
    2. 102/104/190 or OAuth subcodes 458-467 → :class:`AuthExpiredError` ``TOKEN_EXPIRED``;
    3. throttling codes 4/17/32/341/613/80000-80014 → ``THROTTLED`` (transient, ``retry_after_s``
       from the usage header, minutes times 60); 368 → ``POLICY_BLOCKED`` (transient, 3600 s);
       1/2 with ``is_transient: false`` under HTTP 500 → ``INVALID_REQUEST`` (permanent: a
       user-facing validation error, e.g. Instagram's code 1 / subcode 2207057 under HTTP 400
       in Meta's error table); other 1/2, or HTTP 5xx → ``PLATFORM_5XX`` (transient);
    4. ``is_transient: true`` on anything else → ``THROTTLED`` (transient). ``is_transient:
       false`` does not override step 3: Meta's table says those codes are worth retrying;
    5. 10/3/200-299 → ``PERMISSION_DENIED``; 803 or 100/33 → ``NOT_FOUND``; 100, 1609005 and the
       rest → ``INVALID_REQUEST`` (all permanent).

    Without a Graph error object the HTTP status decides: 5xx ``PLATFORM_5XX``, 429
    ``RATE_LIMITED``, 401 ``TOKEN_EXPIRED``, 403 ``PERMISSION_DENIED``, 404 ``NOT_FOUND``, other
    ``INVALID_REQUEST``.
    """
    headers = headers or {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return _classify_status(status, headers)
    code = as_int(error.get("code"))
    subcode = as_int(error.get("error_subcode"))
    message = _describe(error, code, subcode)
    kwargs: dict[str, Any] = {"http_status": status}
    if code == DUPLICATE_CODE or _already_posted(error, code, subcode):
        return DuplicateContentError("DUPLICATE_CONTENT", message, **kwargs)
    if code in AUTH_CODES or subcode in AUTH_SUBCODES:
        return AuthExpiredError("TOKEN_EXPIRED", message, **kwargs)
    if code in THROTTLE_CODES:
        return TransientPlatformError(
            "THROTTLED", message, retry_after_s=buc_retry_after_s(headers), **kwargs
        )
    if code == POLICY_CODE:
        wait = max(POLICY_BLOCK_WAIT_S, buc_retry_after_s(headers) or 0.0)
        return TransientPlatformError("POLICY_BLOCKED", message, retry_after_s=wait, **kwargs)
    if code in SERVER_CODES and status < 500 and error.get("is_transient") is False:
        return PermanentPlatformError("INVALID_REQUEST", message, **kwargs)
    if code in SERVER_CODES or status >= 500:
        return TransientPlatformError("PLATFORM_5XX", message, **kwargs)
    if error.get("is_transient") is True:
        return TransientPlatformError(
            "THROTTLED", message, retry_after_s=buc_retry_after_s(headers), **kwargs
        )
    if code in PERMISSION_CODES:
        return PermanentPlatformError("PERMISSION_DENIED", message, **kwargs)
    if code == NOT_FOUND_CODE or (code == 100 and subcode == 33):
        return PermanentPlatformError("NOT_FOUND", message, **kwargs)
    return PermanentPlatformError("INVALID_REQUEST", message, **kwargs)


def _already_posted(error: Mapping[str, Any], code: int | None, subcode: int | None) -> bool:
    """Code 368 meaning "You've already posted this" rather than a policy block."""
    if code != POLICY_CODE:
        return False
    return (
        subcode == ALREADY_POSTED_SUBCODE or "already posted" in str(error.get("message")).lower()
    )


def _classify_status(status: int, headers: Mapping[str, str]) -> PlatformError:
    message = f"HTTP {status} without a Graph error object"
    if status >= 500:
        return TransientPlatformError("PLATFORM_5XX", message, http_status=status)
    if status == 429:
        return TransientPlatformError(
            "RATE_LIMITED", message, http_status=status, retry_after_s=buc_retry_after_s(headers)
        )
    if status == 401:
        return AuthExpiredError("TOKEN_EXPIRED", message, http_status=status)
    if status == 403:
        return PermanentPlatformError("PERMISSION_DENIED", message, http_status=status)
    if status == 404:
        return PermanentPlatformError("NOT_FOUND", message, http_status=status)
    return PermanentPlatformError("INVALID_REQUEST", message, http_status=status)


def _describe(error: Mapping[str, Any], code: int | None, subcode: int | None) -> str:
    parts = [str(error.get("message") or "Graph API error")]
    if error.get("error_user_msg"):
        parts.append(str(error["error_user_msg"]))
    detail = f"code {code}"
    if subcode is not None:
        detail += f", subcode {subcode}"
    if error.get("fbtrace_id"):
        detail += f", fbtrace_id {error['fbtrace_id']}"
    return f"{' — '.join(parts)} ({detail})"


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _graph_failed(status: int, body: Any) -> bool:
    return status >= 400 or (isinstance(body, dict) and "error" in body)


class FacebookConnector:
    """Publishes text/link posts to a Facebook Page. See the module docstring for the API."""

    platform = "facebook"

    def __init__(
        self,
        *,
        base_url: str,
        timeout_s: float,
        graph_version: str = DEFAULT_GRAPH_VERSION,
        session: requests.Session | None = None,
        media: MediaSource | None = None,
        media_url_ttl_s: int = 6 * 3600,
    ) -> None:
        """``base_url``: ``https://graph.facebook.com`` or the sandbox; ``timeout_s``: connect and
        read timeout of each HTTP call, seconds; ``graph_version``: e.g. ``v24.0``; ``media``:
        signs the URLs Meta fetches photos from, valid ``media_url_ttl_s`` seconds (without it,
        photo posts fail permanently)."""
        self._base = f"{base_url.rstrip('/')}/{graph_version.strip('/')}"
        self._http = PlatformHttp(timeout_s=timeout_s, session=session)
        self._media = media
        self._media_ttl_s = media_url_ttl_s

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog | None = None
    ) -> PublishResult:
        """``POST /{page_id}/feed``; returns the ``{page}_{post}`` id and its facebook.com URL.

        A 2xx answer without an ``id`` raises transient ``UNKNOWN_OUTCOME``: the post may exist,
        so the caller reconciles with :meth:`find_existing` before retrying.
        """
        if len(request.media) == 1 and is_video(request.media[0]):
            return publish_video(
                request,
                base=self._base,
                access_token=access_token,
                media=self._media,
                send=self._call,
                check=self._check,
            )
        if request.media:
            return self._publish_photos(request, access_token, steps or MemoryStepLog())
        data = {"message": request.text, "access_token": access_token}
        if request.link:
            data["link"] = request.link
        response = self._call(
            "POST",
            f"{self._base}/{quote(request.account_id, safe='')}/feed",
            access_token,
            data=data,
        )
        body = self._check(response, access_token)
        post_id = body.get("id") if isinstance(body, dict) else None
        post_id = created_id(post_id, status=response.status_code, where="id")
        return PublishResult(
            external_id=str(post_id), external_url=f"https://www.facebook.com/{post_id}"
        )

    def _publish_photos(self, request: PublishRequest, token: str, steps: StepLog) -> PublishResult:
        """Photo posts: Meta fetches each photo from a signed GET URL (``url``).

        One photo: ``POST /{page_id}/photos`` with ``url`` and ``message``, answering ``{"id",
        "post_id"}``. Several: each photo is uploaded unpublished (``published=false``), its id
        saved in ``steps`` (``fb_photo_ids``) so a retry does not upload it again, then
        ``POST /{page_id}/feed`` with ``message`` and ``attached_media[i]={"media_fbid": id}``
        (https://developers.facebook.com/docs/graph-api/reference/page/photos/,
        https://developers.facebook.com/docs/graph-api/reference/page/feed/)."""
        if self._media is None:
            raise PermanentPlatformError(
                "MEDIA_UNAVAILABLE", "this publisher has no access to media files"
            )
        if any(item.kind != "IMAGE" for item in request.media):
            raise PermanentPlatformError(
                "INVALID_REQUEST", "the Facebook connector publishes photos only"
            )
        page = quote(request.account_id, safe="")
        photos_url = f"{self._base}/{page}/photos"
        if len(request.media) == 1:
            data = {
                "url": self._media.signed_url(request.media[0], ttl_s=self._media_ttl_s),
                "message": request.text,
                "access_token": token,
            }
            response = self._call("POST", photos_url, token, data=data)
            body = self._check(response, token)
            found = body.get("post_id") or body.get("id") if isinstance(body, dict) else None
            post_id = created_id(found, status=response.status_code, where="post_id")
            return PublishResult(
                external_id=post_id, external_url=f"https://www.facebook.com/{post_id}"
            )
        photo_ids = [str(p) for p in steps.state.get("fb_photo_ids") or []]
        for item in request.media[len(photo_ids) :]:
            data = {
                "url": self._media.signed_url(item, ttl_s=self._media_ttl_s),
                "published": "false",
                "access_token": token,
            }
            response = self._call("POST", photos_url, token, data=data)
            body = self._check(response, token)
            photo_id = created_id(
                body.get("id") if isinstance(body, dict) else None,
                status=response.status_code,
                where="id",
            )
            photo_ids.append(photo_id)
            steps.save(fb_photo_ids=photo_ids)
        feed: dict[str, str] = {"message": request.text, "access_token": token}
        for index, photo_id in enumerate(photo_ids):
            feed[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        response = self._call("POST", f"{self._base}/{page}/feed", token, data=feed)
        body = self._check(response, token)
        post_id = created_id(
            body.get("id") if isinstance(body, dict) else None,
            status=response.status_code,
            where="id",
        )
        return PublishResult(
            external_id=post_id, external_url=f"https://www.facebook.com/{post_id}"
        )

    def find_existing(
        self,
        request: PublishRequest,
        *,
        access_token: str,
        since: datetime,
        steps: StepLog | None = None,
    ) -> PublishResult | None:
        """The oldest feed post of the Page created at or after ``since`` whose ``message``
        equals ``request.text`` (both NFC-normalized and trimmed), or ``None``.

        Reads ``GET /{page_id}/feed?fields=id,message,created_time&since=<unix s>&limit=100``,
        following ``paging.next`` for at most :data:`MAX_FEED_PAGES` pages. Raises
        ``NotImplementedError`` for a link-only post (no message to match).
        """
        wanted = _normalize(request.text)
        if not wanted:
            raise NotImplementedError("a post without a message cannot be matched on the feed")
        params: dict[str, str] = {
            "fields": "id,message,created_time",
            "since": str(math.floor(since.astimezone(UTC).timestamp())),
            "limit": "100",
        }
        url = f"{self._base}/{quote(request.account_id, safe='')}/feed"
        match: str | None = None
        for _page in range(MAX_FEED_PAGES):
            response = self._call("GET", url, access_token, params=params)
            body = self._check(response, access_token)
            posts = body.get("data") if isinstance(body, dict) else None
            if not isinstance(posts, list):
                raise TransientPlatformError(
                    "BAD_RESPONSE",
                    "feed answer without a data list",
                    http_status=response.status_code,
                )
            for post in posts:
                if (
                    isinstance(post, dict)
                    and isinstance(post.get("message"), str)
                    and _normalize(post["message"]) == wanted
                    and post.get("id")
                ):
                    match = str(post["id"])  # newest first: the last match is the oldest
            next_url = (body.get("paging") or {}).get("next")
            if not isinstance(next_url, str) or not next_url:
                break
            # Follow the cursor on our own base URL; drop any token Graph echoed into the URL.
            params = {k: v for k, v in parse_qsl(urlsplit(next_url).query) if k != "access_token"}
        if match is None:
            return None
        return PublishResult(external_id=match, external_url=f"https://www.facebook.com/{match}")

    def _call(self, method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json"}
        if method == "GET":
            headers["Authorization"] = f"Bearer {token}"
        return self._http.send(method, url, token=token, headers=headers, **kwargs)

    @staticmethod
    def _check(response: requests.Response, token: str) -> Any:
        """The JSON body of a 2xx answer; raises the classified error otherwise
        (Graph may also answer 200 with an ``error`` object)."""
        return PlatformHttp.json_or_raise(
            response, token=token, classify=classify_graph_error, is_error=_graph_failed
        )
