"""X media upload v2, chunked, resumable across crashes (docs/semantics.md#multi-step-networks,
docs/api.md#media).

Per file (https://docs.x.com/x-api/media/initialize-media-upload, ``append-media-upload``,
``finalize-media-upload``, ``get-media-upload-status``; docs/networks.md#x):

1. ``POST /2/media/upload/initialize`` JSON ``{media_type, total_bytes, media_category}`` →
   ``{"data": {"id", "media_key", "expires_after_secs"}}``;
2. ``POST /2/media/upload/{id}/append``, multipart ``media=<chunk>`` and ``segment_index``
   (0..999, chunks of at most 5 MB) for every chunk, streamed from Cloud Storage;
3. ``POST /2/media/upload/{id}/finalize`` → ``data.processing_info {state, check_after_secs}``
   for videos;
4. ``GET /2/media/upload?command=STATUS&media_id={id}`` until ``state`` is ``succeeded``
   (``failed`` carries ``error {code, name, message}``).

Every step's result is saved through the :class:`StepLog` (``x_media``: one entry per file
with ``media_id``, next ``segment`` and byte ``offset``, and ``state``), so a crash mid-upload
resumes at the last saved chunk; processing is waited for by returning :class:`Pending`, never
by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from sharecast.platforms.base import MediaItem, MediaSource, Pending, PublishRequest, StepLog
from sharecast.platforms.errors import PermanentPlatformError, TransientPlatformError
from sharecast.platforms.http import as_int, created_id

STATE_KEY = "x_media"
#: Poll again after this many seconds when X does not say (``check_after_secs`` missing).
DEFAULT_CHECK_AFTER_S = 5.0
MAX_SEGMENTS = 1000

Call = Callable[..., requests.Response]
Check = Callable[[requests.Response], Any]


def media_category(item: MediaItem) -> str:
    """X's ``media_category`` for a file: ``tweet_gif``, ``tweet_image`` or ``tweet_video``."""
    if item.mime_type == "image/gif":
        return "tweet_gif"
    return "tweet_image" if item.kind == "IMAGE" else "tweet_video"


class XMediaUploader:
    """Uploads a request's media to X and returns their media ids, or :class:`Pending`.

    ``call(method, url, **kwargs)`` sends one authenticated request; ``check(response)`` returns
    the JSON body of a 2xx answer or raises the classified error."""

    def __init__(
        self, *, base_url: str, source: MediaSource, chunk_bytes: int, call: Call, check: Check
    ) -> None:
        self._base = base_url.rstrip("/")
        self._source = source
        self._chunk = chunk_bytes
        self._call = call
        self._check = check

    def upload(self, request: PublishRequest, steps: StepLog) -> list[str] | Pending:
        """Advance every file as far as possible; the media ids once all are ready."""
        entries: list[dict[str, Any]] = [dict(e) for e in steps.state.get(STATE_KEY) or []]
        waits: list[float] = []
        for index, item in enumerate(request.media):
            if index >= len(entries):
                entries.append(self._initialize(item))
                steps.save(**{STATE_KEY: entries})
            entry = entries[index]
            if entry["state"] == "appending":
                self._append_all(item, entries, index, steps)
                entry = entries[index] = self._finalize(entries[index])
                steps.save(**{STATE_KEY: entries})
            elif entry["state"] == "processing":
                entry = entries[index] = self._status(entry)
                steps.save(**{STATE_KEY: entries})
            if entry["state"] == "processing":
                waits.append(float(entry.get("check_after_s") or DEFAULT_CHECK_AFTER_S))
        if waits:
            return Pending(wait_s=max(waits), reason="X is processing the media")
        return [str(e["media_id"]) for e in entries]

    def _initialize(self, item: MediaItem) -> dict[str, Any]:
        body = self._check(
            self._call(
                "POST",
                f"{self._base}/2/media/upload/initialize",
                json={
                    "media_type": item.mime_type,
                    "total_bytes": item.size,
                    "media_category": media_category(item),
                },
            )
        )
        data = body.get("data") if isinstance(body, dict) else None
        media_id = created_id(
            data.get("id") if isinstance(data, dict) else None, status=200, where="data.id"
        )
        return {"media_id": media_id, "segment": 0, "offset": 0, "state": "appending"}

    def _append_all(
        self, item: MediaItem, entries: list[dict[str, Any]], index: int, steps: StepLog
    ) -> None:
        entry = entries[index]
        url = f"{self._base}/2/media/upload/{entry['media_id']}/append"
        for chunk in self._source.chunks(item, chunk_size=self._chunk, start=int(entry["offset"])):
            segment = int(entry["segment"])
            if segment >= MAX_SEGMENTS:
                raise PermanentPlatformError(
                    "MEDIA_TOO_LARGE", f"more than {MAX_SEGMENTS} chunks of {self._chunk} bytes"
                )
            self._check(
                self._call(
                    "POST",
                    url,
                    data={"segment_index": str(segment)},
                    files={"media": ("chunk", chunk, "application/octet-stream")},
                )
            )
            entry = {**entry, "segment": segment + 1, "offset": int(entry["offset"]) + len(chunk)}
            entries[index] = entry
            steps.save(**{STATE_KEY: entries})
        if int(entry["offset"]) != item.size:
            raise TransientPlatformError(
                "MEDIA_READ", f"read {entry['offset']} of {item.size} bytes of {item.media_id}"
            )

    def _finalize(self, entry: dict[str, Any]) -> dict[str, Any]:
        body = self._check(
            self._call("POST", f"{self._base}/2/media/upload/{entry['media_id']}/finalize")
        )
        return self._with_processing(entry, body)

    def _status(self, entry: dict[str, Any]) -> dict[str, Any]:
        body = self._check(
            self._call(
                "GET",
                f"{self._base}/2/media/upload",
                params={"command": "STATUS", "media_id": str(entry["media_id"])},
            )
        )
        return self._with_processing(entry, body)

    @staticmethod
    def _with_processing(entry: dict[str, Any], body: Any) -> dict[str, Any]:
        """The entry after a finalize or status answer: ``ready``, ``processing`` (with
        ``check_after_s``), or :class:`PermanentPlatformError` ``MEDIA_PROCESSING_FAILED``."""
        data = body.get("data") if isinstance(body, dict) else None
        info = data.get("processing_info") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            return {**entry, "state": "ready"}
        state = str(info.get("state") or "")
        if state == "succeeded":
            return {**entry, "state": "ready"}
        if state == "failed":
            error = info.get("error")
            error = error if isinstance(error, dict) else {}
            raise PermanentPlatformError(
                "MEDIA_PROCESSING_FAILED",
                f"X could not process media {entry['media_id']}: "
                f"{error.get('name', '')} {error.get('message', '')}".strip(),
            )
        wait = as_int(info.get("check_after_secs"))
        return {**entry, "state": "processing", "check_after_s": wait or DEFAULT_CHECK_AFTER_S}
