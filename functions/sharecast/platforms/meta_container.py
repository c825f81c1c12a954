"""The container flow Instagram and Threads share: create → poll status → publish.

Both Meta APIs publish in three calls (docs/networks.md#instagram, docs/networks.md#threads):

1. ``POST /{user-id}/{create_edge}`` creates a *container* from public media URLs (Meta fetches
   them; we hand out signed GET URLs) and answers ``{"id": "<container id>"}``;
2. ``GET /{container-id}?fields=...`` reports its status: ``IN_PROGRESS``, ``FINISHED``,
   ``PUBLISHED``, ``ERROR`` or ``EXPIRED`` (containers live 24 h);
3. ``POST /{user-id}/{publish_edge}?creation_id=<container id>`` publishes and answers the post id.

Every step's result is saved through the :class:`~sharecast.platforms.base.StepLog` before the
next one runs: ``children`` (carousel item containers, one save per child), ``container``,
``polls`` and ``publishing`` (set just before the publish call). A container that is still
``IN_PROGRESS`` returns :class:`~sharecast.platforms.base.Pending` (Meta: poll about once a
minute, at most ~5 minutes; https://developers.facebook.com/documentation/threads/troubleshooting.md),
so no function sleeps. A container in ``ERROR`` for a retryable reason, or ``EXPIRED``, is
forgotten so the next attempt creates a fresh one with freshly signed URLs.

Reconciliation (:meth:`ContainerConnector.find_existing`): nothing can have been published
unless ``publishing`` was saved; otherwise the container's status tells — ``PUBLISHED`` means
it is out, and the post is then looked up by text among the account's recent posts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

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
)
from sharecast.platforms.http import Classifier, PlatformHttp, created_id

#: Validity of the signed media URLs handed to Meta, seconds. Meta fetches asynchronously after
#: container creation and containers live 24 h, so the URL must last hours
#: (docs/networks.md#media-urls).
SIGNED_URL_TTL_S = 6 * 3600
#: Recent posts read by the reconciliation lookup (one page).
LOOKUP_LIMIT = 50

IN_PROGRESS = "IN_PROGRESS"
FINISHED = "FINISHED"
PUBLISHED = "PUBLISHED"
ERROR = "ERROR"
EXPIRED = "EXPIRED"


def is_video(item: MediaItem) -> bool:
    """Whether ``item`` is a video (kind ``VIDEO``/``REEL`` or a ``video/*`` MIME type)."""
    return item.kind.upper() in ("VIDEO", "REEL") or item.mime_type.startswith("video/")


def normalize(text: str | None) -> str:
    """Text as compared by reconciliation: NFC, trimmed."""
    return unicodedata.normalize("NFC", text or "").strip()


def _graph_failed(status: int, body: Any) -> bool:
    return status >= 400 or (isinstance(body, dict) and "error" in body)


def _parse_time(value: Any) -> datetime | None:
    """A Graph timestamp (``2026-11-21T16:14:00+0000``) as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ContainerConnector:
    """Base of :class:`~sharecast.platforms.instagram.InstagramConnector` and
    :class:`~sharecast.platforms.threads.ThreadsConnector`; subclasses fill in the edges, the
    status field names, the container parameters and the error classifier."""

    platform = ""
    create_edge = ""
    publish_edge = ""
    #: The edge listing the account's published posts, and the field holding their text.
    list_edge = ""
    text_field = ""
    status_fields = ""
    status_key = ""
    detail_key = ""
    classify: Classifier

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
        """``base_url``: the API host or the sandbox; ``version``: e.g. ``v24.0``;
        ``timeout_s``: per HTTP call, seconds; ``poll_s``: wait between status polls, seconds;
        ``max_polls``: polls per attempt before the attempt fails transiently
        (``CONTAINER_TIMEOUT``); ``media``: signed URLs of media objects."""
        self._base = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self._http = PlatformHttp(timeout_s=timeout_s, session=session)
        self._poll_s = poll_s
        self._max_polls = max_polls
        self._media = media

    # -- what subclasses provide --------------------------------------------------------------

    def container_params(self, request: PublishRequest, urls: list[str]) -> dict[str, str]:
        """Parameters of the (parent) container; ``urls``: signed URLs of ``request.media``."""
        raise NotImplementedError

    def child_params(self, item: MediaItem, url: str) -> dict[str, str]:
        """Parameters of one carousel item container."""
        raise NotImplementedError

    def is_carousel(self, request: PublishRequest) -> bool:
        """Whether the post is a carousel (children containers first)."""
        return len(request.media) > 1

    def retry_with_new_container(self, detail: str) -> bool:
        """Whether an ``ERROR`` container with ``detail`` is worth re-creating."""
        raise NotImplementedError

    def check_quota(self, request: PublishRequest, token: str) -> None:
        """Raise when the account's publishing quota is used up (default: no check)."""

    def post_url(self, post_id: str, permalink: str | None) -> str | None:
        """The public URL of a published post."""
        return permalink

    # -- the flow -----------------------------------------------------------------------------

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog
    ) -> PublishResult | Pending:
        """Advance the target one step; see the module docstring. Raises ``PlatformError``."""
        container = steps.state.get("container")
        if not container:
            self.check_quota(request, access_token)
            container = self._create(request, access_token, steps)
            steps.save(container=container, polls=0, publishing=False)
        status, detail = self.container_status(container, access_token)
        if status == FINISHED:
            steps.save(publishing=True)
            try:
                return self._publish(request, container, access_token)
            except TransientPlatformError as exc:
                if exc.code != "MEDIA_NOT_READY":
                    raise
                return self._not_ready(container, steps)
        if status == IN_PROGRESS:
            polls = int(steps.state.get("polls") or 0) + 1
            if polls > self._max_polls:
                self._forget(steps)
                raise TransientPlatformError(
                    "CONTAINER_TIMEOUT",
                    f"{self.platform} container {container} still processing after "
                    f"{self._max_polls} polls; a new container is made next attempt",
                )
            steps.save(polls=polls)
            return Pending(self._poll_s, f"{self.platform} container {container} {status}")
        if status == PUBLISHED:
            found = self._lookup(request, access_token, since=None)
            if found is not None:
                return found
            raise TransientPlatformError(
                "UNKNOWN_OUTCOME", f"container {container} is published but its post was not found"
            )
        if status == EXPIRED or (status == ERROR and self.retry_with_new_container(detail)):
            self._forget(steps)
            raise TransientPlatformError(
                "CONTAINER_FAILED", f"{self.platform} container {container} {status}: {detail}"
            )
        raise PermanentPlatformError(
            "MEDIA_REJECTED", f"{self.platform} container {container} {status}: {detail}"
        )

    def _not_ready(self, container: str, steps: StepLog) -> Pending:
        """The publish call answered "not ready" (Instagram 2207027, Threads 24/4279009): it
        published nothing, so poll again; after ``max_polls`` such answers the container is
        forgotten and the attempt fails transiently (``CONTAINER_TIMEOUT``), so the next one
        makes a fresh container."""
        polls = int(steps.state.get("polls") or 0) + 1
        if polls > self._max_polls:
            self._forget(steps)
            raise TransientPlatformError(
                "CONTAINER_TIMEOUT",
                f"{self.platform} container {container} still not publishable after "
                f"{self._max_polls} polls; a new container is made next attempt",
            )
        steps.save(polls=polls, publishing=False)
        return Pending(self._poll_s, f"{self.platform} container {container} not ready")

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime, steps: StepLog
    ) -> PublishResult | None:
        """The published post of this target, or ``None`` when it was never published.

        Only the publish call publishes: if it was never sent (``publishing`` not saved) or the
        container is not ``PUBLISHED``, ``None``. A ``PUBLISHED`` container whose post cannot be
        found among recent posts raises ``NotImplementedError`` (published, id unknown)."""
        container = steps.state.get("container")
        if not container or not steps.state.get("publishing"):
            return None
        status, _ = self.container_status(container, access_token)
        if status != PUBLISHED:
            return None
        found = self._lookup(request, access_token, since=since)
        if found is None:
            raise NotImplementedError(f"container {container} is published; its post id is unknown")
        return found

    def container_status(self, container: str, token: str) -> tuple[str, str]:
        """``(status, detail)`` of a container (``GET /{container}?fields=...``)."""
        body = self._get(f"{self._base}/{quote(container, safe='')}", token, self.status_fields)
        status = str(body.get(self.status_key) or "") if isinstance(body, dict) else ""
        if not status:
            raise TransientPlatformError("BAD_RESPONSE", "container status without a status")
        detail = str(body.get(self.detail_key) or "") if isinstance(body, dict) else ""
        return status.upper(), detail

    def _create(self, request: PublishRequest, token: str, steps: StepLog) -> str:
        urls = [self._signed_url(item) for item in request.media]
        account = quote(request.account_id, safe="")
        create = f"{self._base}/{account}/{self.create_edge}"
        if self.is_carousel(request):
            children = list(steps.state.get("children") or [])
            for item, url in list(zip(request.media, urls, strict=True))[len(children) :]:
                child = self._post(create, token, self.child_params(item, url))
                children.append(created_id(child.get("id"), status=200, where="id"))
                steps.save(children=children)
            params = self.container_params(request, urls)
            params["children"] = ",".join(children)
        else:
            params = self.container_params(request, urls)
        body = self._post(create, token, params)
        return created_id(body.get("id"), status=200, where="id")

    def _publish(self, request: PublishRequest, container: str, token: str) -> PublishResult:
        account = quote(request.account_id, safe="")
        body = self._post(
            f"{self._base}/{account}/{self.publish_edge}", token, {"creation_id": container}
        )
        post_id = created_id(body.get("id"), status=200, where="id")
        return PublishResult(external_id=post_id, external_url=self._permalink(post_id, token))

    def _lookup(
        self, request: PublishRequest, token: str, *, since: datetime | None
    ) -> PublishResult | None:
        """The oldest recent post of the account whose text equals the request's."""
        account = quote(request.account_id, safe="")
        body = self._get(
            f"{self._base}/{account}/{self.list_edge}",
            token,
            f"id,{self.text_field},timestamp,permalink",
            limit=str(LOOKUP_LIMIT),
        )
        posts = body.get("data") if isinstance(body, dict) else None
        if not isinstance(posts, list):
            raise TransientPlatformError("BAD_RESPONSE", "post list without data")
        wanted = normalize(self.published_text(request))
        match: dict[str, Any] | None = None
        for post in posts:  # newest first: the last match is the oldest
            if not isinstance(post, dict) or not post.get("id"):
                continue
            when = _parse_time(post.get("timestamp"))
            if since is not None and when is not None and when < since:
                continue
            if normalize(post.get(self.text_field)) == wanted:
                match = post
        if match is None:
            return None
        post_id = str(match["id"])
        permalink = match.get("permalink")
        return PublishResult(
            external_id=post_id,
            external_url=self.post_url(post_id, permalink if isinstance(permalink, str) else None),
        )

    def published_text(self, request: PublishRequest) -> str:
        """The text the post carries on the network (caption or text)."""
        return request.text

    def _permalink(self, post_id: str, token: str) -> str | None:
        """Best effort: the post's ``permalink`` (a failed read never fails the publish)."""
        try:
            body = self._get(f"{self._base}/{quote(post_id, safe='')}", token, "permalink")
        except PlatformError:
            return self.post_url(post_id, None)
        link = body.get("permalink") if isinstance(body, dict) else None
        return self.post_url(post_id, link if isinstance(link, str) else None)

    def _signed_url(self, item: MediaItem) -> str:
        if self._media is None:
            raise PermanentPlatformError(
                "MEDIA_UNAVAILABLE", f"no media source configured for {self.platform}"
            )
        return self._media.signed_url(item, ttl_s=SIGNED_URL_TTL_S)

    @staticmethod
    def _forget(steps: StepLog) -> None:
        steps.save(container=None, children=[], polls=0, publishing=False)

    def _post(self, url: str, token: str, params: Mapping[str, str]) -> Any:
        data = {**params, "access_token": token}
        response = self._http.send(
            "POST", url, token=token, headers={"Accept": "application/json"}, data=data
        )
        body = self._check(response, token)
        return body if isinstance(body, dict) else {}

    def _get(self, url: str, token: str, fields: str, **params: str) -> Any:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        response = self._http.send(
            "GET", url, token=token, headers=headers, params={"fields": fields, **params}
        )
        return self._check(response, token)

    def _check(self, response: requests.Response, token: str) -> Any:
        return PlatformHttp.json_or_raise(
            response, token=token, classify=type(self).classify, is_error=_graph_failed
        )
