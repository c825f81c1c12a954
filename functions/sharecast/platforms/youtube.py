"""YouTube connector: resumable ``videos.insert`` that survives interruptions.

Protocol (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):

1. ``POST {base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with
   ``X-Upload-Content-Length`` / ``X-Upload-Content-Type`` and the video resource as JSON
   (``snippet.title`` ≤ 100 characters, ``snippet.description``, ``status.privacyStatus``);
   answers 200 with the **session URI** in ``Location``. It is saved at once
   (``steps.save(session=...)``) so a crash never loses it.
2. ``PUT <session>`` with ``Content-Range: bytes a-b/total`` per chunk (multiples of 256 KiB);
   308 "Resume Incomplete" with ``Range: bytes=0-N`` until the last chunk, which answers 200/201
   with the ``video`` resource whose ``id`` is the video id. The server may keep fewer bytes
   than a chunk carried: the next chunk starts at N + 1, re-read from the source at that byte.
   The committed offset is saved after each chunk (which also renews the attempt's lease).
3. After an interruption: ``PUT <session>`` with ``Content-Length: 0`` and ``Content-Range:
   bytes */total`` → 308 with ``Range: bytes=0-N`` (resume at N+1; no ``Range``: nothing
   arrived), or 200/201 when the upload had completed. 404/410: the session is gone.

Errors ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``
(https://developers.google.com/youtube/v3/docs/errors), mapped by :func:`classify_google_error`.

Reconciliation: a video exists only once its upload completed, so
:meth:`YouTubeConnector.find_existing` asks the saved session (step 3): complete → that video;
incomplete or no session → ``None`` (the publish resumes the same session; nothing is posted
twice).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
    by_http_status,
)
from sharecast.platforms.http import PlatformHttp, created_id, header, server_clock

#: Upload chunk size, bytes: a multiple of 256 KiB as the protocol requires.
CHUNK_SIZE = 8 * 256 * 1024
#: Reasons Google's own client retries (googleapiclient/http.py ``_should_retry_response``).
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: The project's daily quota is spent: ``quotaExceeded`` (domain ``youtube.quota``) and the
#: older ``dailyLimitExceeded`` (domain ``usageLimits``, "The quota will be reset at midnight
#: Pacific Time", tokland/youtube-upload#165); both return at midnight Pacific.
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
#: Quota days end at midnight Pacific time (https://developers.google.com/youtube/v3/getting-started#quota).
PACIFIC = ZoneInfo("America/Los_Angeles")
#: ``Range: bytes=0-N`` of a 308 (also accepted without the ``bytes=`` unit, as Google's own
#: client parses it: googleapiclient/http.py keeps what follows the last ``-``).
_RANGE = re.compile(r"^\s*(?:bytes\s*=?\s*)?0\s*-\s*(\d+)\s*$")


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from ``now`` (aware) until the next midnight in America/Los_Angeles."""
    local = now.astimezone(PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(0.0, (midnight - local).total_seconds())


def classify_google_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None, *, now: datetime | None = None
) -> PlatformError:
    """A Google API error answer as a classified :class:`PlatformError`:

    - 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``, 429 → transient ``RATE_LIMITED``;
    - 403 ``quotaExceeded`` or ``dailyLimitExceeded`` → **permanent** ``QUOTA_EXCEEDED``: the
      project's daily quota is spent and returns only at midnight Pacific, beyond any retry
      window; ``retry_after_s`` says how long until then (measured from ``now``, default the
      answer's ``Date`` header), for the user to retry the target;
    - 400 ``uploadLimitExceeded`` → permanent ``UPLOAD_LIMIT`` (the channel's 24 h cap);
    - 401 → :class:`AuthExpiredError`; other 403 → ``PERMISSION_DENIED``; 404 → ``NOT_FOUND``;
      5xx → transient ``PLATFORM_5XX``; other 4xx → ``INVALID_REQUEST``.
    """
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    items = error.get("errors")
    items = items if isinstance(items, list) else []
    reasons = {str(e.get("reason")) for e in items if isinstance(e, dict)}
    message = str(error.get("message") or f"HTTP {status}")
    if reasons:
        message += f" ({', '.join(sorted(reasons))})"
    kwargs: dict[str, Any] = {"http_status": status}
    if status == 429 or reasons & RATE_REASONS:
        return TransientPlatformError("RATE_LIMITED", message, **kwargs)
    if reasons & QUOTA_REASONS:
        clock = now or datetime.fromtimestamp(server_clock(headers or {}), UTC)
        wait = seconds_until_quota_reset(clock)
        return PermanentPlatformError("QUOTA_EXCEEDED", message, retry_after_s=wait, **kwargs)
    if "uploadLimitExceeded" in reasons:
        return PermanentPlatformError("UPLOAD_LIMIT", message, retry_after_s=86400.0, **kwargs)
    return by_http_status(status, message)


def video_url(video_id: str) -> str:
    """The watch URL of a video."""
    return f"https://www.youtube.com/watch?v={video_id}"


class YouTubeConnector:
    """Uploads one video per target. See the module docstring for the protocol."""

    platform = "youtube"

    def __init__(
        self,
        *,
        base_url: str,
        timeout_s: float,
        media: MediaSource | None = None,
        session: requests.Session | None = None,
        chunk_size: int = CHUNK_SIZE,
        privacy_status: str = "public",
    ) -> None:
        """``base_url``: ``https://www.googleapis.com`` or the sandbox; ``timeout_s``: per HTTP
        call, seconds; ``media``: chunked reads of media objects; ``chunk_size``: bytes per
        ``PUT`` (a multiple of 256 KiB); ``privacy_status``: ``public``/``unlisted``/``private``."""
        self._base = base_url.rstrip("/")
        self._http = PlatformHttp(timeout_s=timeout_s, session=session)
        self._media = media
        self._chunk = chunk_size
        self._privacy = privacy_status

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog
    ) -> PublishResult | Pending:
        """Start or resume the upload; returns the video once the last byte is accepted."""
        if len(request.media) != 1 or self._media is None:
            raise PermanentPlatformError(
                "INVALID_REQUEST", "a YouTube target needs exactly one video and a media source"
            )
        item = request.media[0]
        session = steps.state.get("session")
        if not session:
            session = self._start(request, access_token)
            steps.save(session=session, offset=0)
            offset = 0
        else:
            done, resume_at = self._query(session, item.size, access_token)
            if done is not None:
                return done
            if resume_at is None:  # the session expired: start over next attempt
                steps.save(session=None, offset=0)
                raise TransientPlatformError("UPLOAD_SESSION_LOST", "upload session expired")
            offset = resume_at
        return self._upload(session, item, offset, access_token, steps)

    def _upload(
        self, session: str, item: MediaItem, offset: int, token: str, steps: StepLog
    ) -> PublishResult:
        """PUT the bytes from ``offset`` in chunks; after each 308 continue from the offset the
        server committed (it may keep fewer bytes than were sent), re-reading the source from
        that byte. Raises ``UPLOAD_STALLED`` when a chunk commits nothing new."""
        assert self._media is not None
        while True:
            for chunk in self._media.chunks(item, chunk_size=self._chunk, start=offset):
                response = self._put_chunk(session, item, offset, chunk, token)
                if response.status_code in (200, 201):
                    return self._video(response, token)
                if response.status_code != 308:
                    self._raise(response, token)
                committed = _next_offset(response.headers)
                steps.save(offset=committed)
                if committed <= offset:
                    raise TransientPlatformError(
                        "UPLOAD_STALLED", f"the server kept no new byte after {offset}"
                    )
                sent_to, offset = offset + len(chunk), committed
                if committed != sent_to:
                    break  # partial commit: read the source again from the committed byte
            else:
                raise TransientPlatformError(
                    "UPLOAD_INCOMPLETE", f"storage returned {offset} of {item.size} bytes"
                )

    def _put_chunk(
        self, session: str, item: MediaItem, offset: int, chunk: bytes, token: str
    ) -> requests.Response:
        """One ``PUT`` of ``chunk`` at ``offset`` (``Content-Range: bytes a-b/total``)."""
        return self._http.send(
            "PUT",
            session,
            token=token,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Length": str(len(chunk)),
                "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{item.size}",
            },
            data=chunk,
        )

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime, steps: StepLog
    ) -> PublishResult | None:
        """The uploaded video if the saved session completed, else ``None``."""
        session = steps.state.get("session")
        if not session or not request.media:
            return None
        done, _ = self._query(session, request.media[0].size, access_token)
        return done

    def _start(self, request: PublishRequest, token: str) -> str:
        item = request.media[0]
        resource = {
            "snippet": {
                "title": request.title or "",
                "description": request.description
                if request.description is not None
                else request.text,
            },
            "status": {"privacyStatus": self._privacy, "selfDeclaredMadeForKids": False},
        }
        response = self._http.send(
            "POST",
            f"{self._base}/upload/youtube/v3/videos",
            token=token,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=UTF-8",
                "X-Upload-Content-Length": str(item.size),
                "X-Upload-Content-Type": item.mime_type or "video/*",
            },
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=resource,
        )
        if response.status_code >= 400:
            self._raise(response, token)
        location = header(response.headers, "location")
        if not location:
            raise TransientPlatformError("BAD_RESPONSE", "resumable session without Location")
        return location

    def _query(
        self, session: str, total: int, token: str
    ) -> tuple[PublishResult | None, int | None]:
        """Ask the session how far it got: ``(video, None)`` when complete, ``(None, offset)``
        when incomplete, ``(None, None)`` when the session is gone (404/410)."""
        response = self._http.send(
            "PUT",
            session,
            token=token,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Length": "0",
                "Content-Range": f"bytes */{total}",
            },
        )
        if response.status_code in (200, 201):
            return self._video(response, token), None
        if response.status_code == 308:
            return None, _next_offset(response.headers)
        if response.status_code in (404, 410):
            return None, None
        self._raise(response, token)
        raise AssertionError("unreachable")

    @staticmethod
    def _video(response: requests.Response, token: str) -> PublishResult:
        body = PlatformHttp.json_or_raise(response, token=token, classify=classify_google_error)
        video_id = created_id(
            body.get("id") if isinstance(body, dict) else None,
            status=response.status_code,
            where="id",
        )
        return PublishResult(external_id=video_id, external_url=video_url(video_id))

    @staticmethod
    def _raise(response: requests.Response, token: str) -> None:
        PlatformHttp.json_or_raise(
            response, token=token, classify=classify_google_error, is_error=lambda _s, _b: True
        )


def _next_offset(headers: Mapping[str, str]) -> int:
    """The first byte the server still needs, from a 308's ``Range: bytes=0-N`` (N + 1); no
    ``Range`` header means nothing was committed (0). A ``Range`` in a form the protocol does
    not allow raises ``TransientPlatformError("BAD_RESPONSE")``: restarting from 0 would send
    the wrong bytes, so the next attempt asks the session again."""
    raw = header(headers, "range")
    if raw is None or not raw.strip():
        return 0
    match = _RANGE.match(raw)
    if match is None:
        raise TransientPlatformError("BAD_RESPONSE", f"308 with an unreadable Range {raw!r}")
    return int(match.group(1)) + 1
