"""LinkedIn connector (versioned REST API): text, image(s) and video posts.

- Every call sends ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` (setting
  ``linkedin_api_version``) and ``X-Restli-Protocol-Version: 2.0.0``
  (https://learn.microsoft.com/en-us/linkedin/marketing/versioning).
- Post: ``POST {base}/rest/posts`` with ``author``, ``commentary``, ``visibility``,
  ``distribution``, ``lifecycleState: PUBLISHED`` and optional ``content.media`` /
  ``content.multiImage``; answers 201 with an empty body and the post URN in the
  ``x-restli-id`` header, possibly Rest.li-encoded
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api).
- Commentary is "little text": ``\\ | { } @ [ ] ( ) < > # * _ ~`` must be backslash-escaped or
  the post is silently truncated (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format);
  see :func:`escape_little_text`.
- Images: ``POST /rest/images?action=initializeUpload`` → ``value.uploadUrl`` + ``value.image``;
  ``PUT`` the bytes (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api).
- Videos: ``POST /rest/videos?action=initializeUpload`` (``fileSizeBytes``) →
  ``value.video``, ``value.uploadToken``, ``value.uploadInstructions[{uploadUrl, firstByte,
  lastByte}]``; ``PUT`` each part and keep its ``ETag``; ``POST
  /rest/videos?action=finalizeUpload``; ``GET /rest/videos/{urn}`` until ``status`` is
  ``AVAILABLE`` (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api).
- Errors ``{"message", "serviceErrorCode", "status", "code"?}``
  (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling),
  mapped by :func:`classify_linkedin_error`.

Steps saved (:class:`~sharecast.platforms.base.StepLog`): ``images`` (URNs uploaded so far),
``video`` / ``upload_token`` / ``instructions`` / ``etags`` / ``finalized``, ``polls`` and
``posting`` (set right before ``POST /rest/posts``).

Reconciliation: a duplicate answer names the existing post ("Content is a duplicate of
urn:li:share:…"); its URN is saved (``existing_urn``) and is the answer. Otherwise, before
``posting`` nothing can be on LinkedIn (uploaded media is not a post), so
:meth:`LinkedInConnector.find_existing` answers ``None``. After it, organization authors are
looked up with the posts finder ``GET /rest/posts?q=author&author=<urn>``; member authors cannot
be read back without the restricted ``r_member_social`` scope, so that raises
``NotImplementedError`` and the target fails ``UNCERTAIN`` rather than posting twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

import requests

from sharecast.platforms.base import (
    MediaItem,
    MediaSource,
    Pending,
    PublishRequest,
    PublishResult,
    StepLog,
)
from sharecast.platforms.errors import (
    DuplicateContentError,
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
    by_http_status,
)
from sharecast.platforms.http import PlatformHttp, as_int, created_id, header, retry_after_header
from sharecast.platforms.meta_container import is_video

#: Characters LinkedIn's little text format reserves (each is escaped with a backslash).
LITTLE_TEXT_RESERVED = frozenset("\\|{}@[]()<>#*_~")
#: Bytes read from storage per ranged read when assembling an upload part.
STREAM_CHUNK = 1024 * 1024
#: A post URN as LinkedIn names the existing post in a duplicate answer's message.
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")


def escape_little_text(text: str) -> str:
    """``text`` with every reserved little-text character backslash-escaped, so LinkedIn
    shows it literally (hashtags and mentions therefore appear as plain text)."""
    return "".join(f"\\{ch}" if ch in LITTLE_TEXT_RESERVED else ch for ch in text)


def classify_linkedin_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> PlatformError:
    """A LinkedIn error answer as a classified :class:`PlatformError` (docs/networks.md#linkedin):

    - ``DUPLICATE_POST``, at the top (``code``) or, as LinkedIn really sends it, under
      ``errorDetails.inputErrors[].code`` (Arisamiga/Linkedin-RSS#5), or a 422 whose message says
      "duplicate" → :class:`DuplicateContentError` ``DUPLICATE_CONTENT`` whose ``existing_id`` /
      ``existing_url`` name the post the message points at ("Content is a duplicate of
      urn:li:share:…");
    - 426 (``NONEXISTENT_VERSION``: the ``LinkedIn-Version`` is not active) → permanent
      ``API_VERSION_INACTIVE``, a configuration error: raise ``LINKEDIN_API_VERSION``;
    - 429 → transient ``RATE_LIMITED`` (``Retry-After`` if sent; daily limits reset at 00:00 UTC);
    - 401 → :class:`AuthExpiredError`; 403 → ``PERMISSION_DENIED``; 404 → ``NOT_FOUND``;
      5xx → transient ``PLATFORM_5XX``; other 4xx → ``INVALID_REQUEST``.
    """
    headers = headers or {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "")
    raw_message = str(body.get("message") or f"HTTP {status}")
    message = raw_message
    if body.get("serviceErrorCode") is not None:
        message += f" (serviceErrorCode {body['serviceErrorCode']})"
    kwargs: dict[str, Any] = {"http_status": status}
    duplicate = "DUPLICATE_POST" in {code, *_input_error_codes(body)}
    if duplicate or (status == 422 and "duplicate" in message.lower()):
        found = _POST_URN.search(raw_message)
        urn = found.group(0) if found else None
        return DuplicateContentError(
            "DUPLICATE_CONTENT",
            message,
            existing_id=urn,
            existing_url=post_url(urn) if urn else None,
            **kwargs,
        )
    if status == 426 or code == "NONEXISTENT_VERSION":
        return PermanentPlatformError("API_VERSION_INACTIVE", message, **kwargs)
    if status == 429:
        return TransientPlatformError(
            "RATE_LIMITED", message, retry_after_s=retry_after_header(headers), **kwargs
        )
    return by_http_status(status, message)


def _input_error_codes(body: Mapping[str, Any]) -> list[str]:
    """The ``code`` of every ``errorDetails.inputErrors[]`` entry."""
    details = body.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    return [str(e.get("code")) for e in errors or [] if isinstance(e, dict)]


def author_urn(account_id: str) -> str:
    """``account_id`` as an author URN: URNs as given, bare ids as ``urn:li:person:{id}``."""
    return account_id if account_id.startswith("urn:li:") else f"urn:li:person:{account_id}"


def post_url(urn: str) -> str:
    """The public URL of a post URN."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInConnector:
    """Publishes to a LinkedIn member or organization. See the module docstring for the API."""

    platform = "linkedin"

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        timeout_s: float,
        poll_s: float = 60.0,
        max_polls: int = 10,
        media: MediaSource | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """``base_url``: ``https://api.linkedin.com`` or the sandbox; ``version``: ``YYYYMM``;
        ``timeout_s``: per HTTP call, seconds; ``poll_s``/``max_polls``: video processing
        polls; ``media``: chunked reads of media objects."""
        self._base = f"{base_url.rstrip('/')}/rest"
        self._version = version
        self._http = PlatformHttp(timeout_s=timeout_s, session=session)
        self._poll_s = poll_s
        self._max_polls = max_polls
        self._media = media

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog
    ) -> PublishResult | Pending:
        """Upload the media (resuming from the saved steps), then create the post."""
        author = author_urn(request.account_id)
        content: dict[str, Any] | None = None
        videos = [m for m in request.media if is_video(m)]
        if videos:
            if len(request.media) != 1:
                raise PermanentPlatformError("INVALID_REQUEST", "LinkedIn takes one video alone")
            ready = self._video(videos[0], author, access_token, steps)
            if isinstance(ready, Pending):
                return ready
            content = {"media": {"id": ready}}
        elif request.media:
            urns = self._images(request.media, author, access_token, steps)
            if len(urns) == 1:
                content = {"media": {"id": urns[0]}}
            else:
                content = {"multiImage": {"images": [{"id": u} for u in urns]}}
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_little_text(request.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content is None and request.link:
            content = {"article": {"source": request.link, "title": request.link}}
        if content is not None:
            body["content"] = content
        steps.save(posting=True)
        response = self._send("POST", f"{self._base}/posts", access_token, json=body)
        try:
            self._check(response, access_token)
        except DuplicateContentError as exc:
            if exc.existing_id:  # reconciliation answers it without searching
                steps.save(existing_urn=exc.existing_id)
            raise
        raw = header(response.headers, "x-restli-id")
        urn = unquote(created_id(raw, status=response.status_code, where="x-restli-id"))
        return PublishResult(external_id=urn, external_url=post_url(urn))

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime, steps: StepLog
    ) -> PublishResult | None:
        """See the module docstring: the post a duplicate answer named (``existing_urn``, saved
        by :meth:`publish`) without searching; ``None`` before ``posting``; the posts finder for
        organizations; ``NotImplementedError`` for members."""
        existing = steps.state.get("existing_urn")
        if existing:
            return PublishResult(external_id=str(existing), external_url=post_url(str(existing)))
        if not steps.state.get("posting"):
            return None
        author = author_urn(request.account_id)
        if not author.startswith("urn:li:organization:"):
            raise NotImplementedError("LinkedIn member posts cannot be read back")
        response = self._send(
            "GET",
            f"{self._base}/posts",
            access_token,
            params={"q": "author", "author": author, "count": "50", "sortBy": "CREATED"},
        )
        body = self._check(response, access_token)
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise TransientPlatformError("BAD_RESPONSE", "posts finder answer without elements")
        wanted = unicodedata.normalize("NFC", escape_little_text(request.text)).strip()
        since_ms = since.timestamp() * 1000
        match = None
        for post in elements:  # newest first: the last match is the oldest
            if not isinstance(post, dict) or not post.get("id"):
                continue
            created = as_int(post.get("createdAt"))
            if created is not None and created < since_ms:
                continue
            text = unicodedata.normalize("NFC", str(post.get("commentary") or "")).strip()
            if text == wanted:
                match = str(post["id"])
        return PublishResult(external_id=match, external_url=post_url(match)) if match else None

    # -- images -------------------------------------------------------------------------------

    def _images(
        self, items: tuple[MediaItem, ...], author: str, token: str, steps: StepLog
    ) -> list[str]:
        urns = list(steps.state.get("images") or [])
        for item in items[len(urns) :]:
            init = self._action(
                "images", "initializeUpload", token, {"initializeUploadRequest": {"owner": author}}
            )
            value = init.get("value") if isinstance(init, dict) else None
            if not isinstance(value, dict) or not value.get("uploadUrl") or not value.get("image"):
                raise TransientPlatformError("BAD_RESPONSE", "image initializeUpload without value")
            self._put_part(str(value["uploadUrl"]), item, 0, item.size - 1, token)
            urns.append(str(value["image"]))
            steps.save(images=urns)
        return urns

    # -- video --------------------------------------------------------------------------------

    def _video(self, item: MediaItem, author: str, token: str, steps: StepLog) -> str | Pending:
        """Initialize, upload the parts, finalize (each step saved), then poll the video until
        ``AVAILABLE``; returns its URN, or :class:`Pending` while LinkedIn processes it."""
        if not steps.state.get("video"):
            self._initialize_video(item, author, token, steps)
        video = str(steps.state["video"])
        if not steps.state.get("finalized"):
            self._upload_parts(item, video, token, steps)
        response = self._send("GET", f"{self._base}/videos/{quote(video, safe='')}", token)
        body = self._check(response, token)
        status = str(body.get("status") or "") if isinstance(body, dict) else ""
        if status == "AVAILABLE":
            return video
        if status == "PROCESSING_FAILED":
            steps.save(video=None, finalized=False, etags=[], instructions=[], polls=0)
            reason = body.get("processingFailureReason") if isinstance(body, dict) else None
            raise PermanentPlatformError("MEDIA_REJECTED", f"LinkedIn video failed: {reason}")
        polls = int(steps.state.get("polls") or 0) + 1
        if polls > self._max_polls:
            raise TransientPlatformError("CONTAINER_TIMEOUT", f"video {video} still {status}")
        steps.save(polls=polls)
        return Pending(self._poll_s, f"linkedin video {video} {status or 'PROCESSING'}")

    def _initialize_video(self, item: MediaItem, author: str, token: str, steps: StepLog) -> None:
        """``initializeUpload``; saves the video URN, upload token and part instructions."""
        init = self._action(
            "videos",
            "initializeUpload",
            token,
            {
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": item.size,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
        )
        value = init.get("value") if isinstance(init, dict) else None
        if not isinstance(value, dict) or not value.get("video"):
            raise TransientPlatformError("BAD_RESPONSE", "video initializeUpload without value")
        instructions = [
            {
                "uploadUrl": str(i["uploadUrl"]),
                "firstByte": int(i["firstByte"]),
                "lastByte": int(i["lastByte"]),
            }
            for i in value.get("uploadInstructions") or []
            if isinstance(i, dict)
        ]
        steps.save(
            video=str(value["video"]),
            upload_token=str(value.get("uploadToken") or ""),
            instructions=instructions,
            etags=[],
            finalized=False,
            polls=0,
        )

    def _upload_parts(self, item: MediaItem, video: str, token: str, steps: StepLog) -> None:
        """``PUT`` the parts not yet sent (saving each ``ETag``), then ``finalizeUpload``."""
        etags = list(steps.state.get("etags") or [])
        for part in list(steps.state.get("instructions") or [])[len(etags) :]:
            response = self._put_part(
                part["uploadUrl"], item, part["firstByte"], part["lastByte"], token
            )
            etag = header(response.headers, "etag")
            if not etag:
                raise TransientPlatformError("BAD_RESPONSE", "video part answered without ETag")
            etags.append(etag)
            steps.save(etags=etags)
        self._action(
            "videos",
            "finalizeUpload",
            token,
            {
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": steps.state.get("upload_token") or "",
                    "uploadedPartIds": etags,
                }
            },
        )
        steps.save(finalized=True)

    def _put_part(
        self, url: str, item: MediaItem, first: int, last: int, token: str
    ) -> requests.Response:
        """``PUT`` bytes ``first..last`` (inclusive) of ``item`` to a pre-signed upload URL.

        One part is held in memory at a time: LinkedIn cuts videos into 4 MiB parts and images
        are single files of a few MB, so memory stays bounded by the part size."""
        if self._media is None:
            raise PermanentPlatformError("MEDIA_UNAVAILABLE", "no media source configured")
        length = last - first + 1
        body = bytearray()
        for chunk in self._media.chunks(item, chunk_size=min(STREAM_CHUNK, length), start=first):
            body += chunk[: length - len(body)]
            if len(body) >= length:
                break
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        response = self._http.send("PUT", url, token=token, headers=headers, data=bytes(body))
        if response.status_code >= 400:
            self._check(response, token)
        return response

    # -- plumbing -----------------------------------------------------------------------------

    def _action(self, resource: str, action: str, token: str, payload: Any) -> Any:
        response = self._send(
            "POST", f"{self._base}/{resource}", token, params={"action": action}, json=payload
        )
        return self._check(response, token)

    def _send(self, method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self._version,
            "X-Restli-Protocol-Version": "2.0.0",
            "Accept": "application/json",
        }
        return self._http.send(method, url, token=token, headers=headers, **kwargs)

    @staticmethod
    def _check(response: requests.Response, token: str) -> Any:
        return PlatformHttp.json_or_raise(response, token=token, classify=classify_linkedin_error)
