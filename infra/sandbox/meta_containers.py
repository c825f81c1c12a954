"""Instagram and Threads stand-ins: containers that advance per poll, publish, quota, lookups.

Mounted under ``/instagram`` and ``/threads`` so both can share the sandbox's one host (the local
stack sets ``INSTAGRAM_API_BASE_URL=http://127.0.0.1:8099/instagram`` and
``THREADS_API_BASE_URL=.../threads``). Routes (``{v}`` is e.g. ``v24.0`` / ``v1.0``):

- Instagram: ``POST /{v}/{ig-user}/media`` (``image_url`` | ``media_type=REELS`` + ``video_url``
  | ``STORIES`` | carousel items ``is_carousel_item=true`` | ``CAROUSEL`` + ``children``),
  ``POST /{v}/{ig-user}/media_publish`` (``creation_id``), ``GET /{v}/{ig-user}/media``,
  ``GET /{v}/{ig-user}/content_publishing_limit``, ``GET /{v}/{id}`` (container
  ``status_code,status`` or a post's ``permalink``)
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media).
- Threads: ``POST /{v}/{user}/threads`` (``media_type`` TEXT|IMAGE|VIDEO|CAROUSEL),
  ``POST /{v}/{user}/threads_publish``, ``GET /{v}/{user}/threads``, ``GET /{v}/{id}``
  (``status,error_message``) (https://developers.facebook.com/documentation/threads/reference/publishing).

Behaviour: the sandbox downloads every ``image_url``/``video_url`` over HTTP when the container
is created (counting bytes, keeping none); a URL that cannot be fetched gives an ``ERROR``
container. Video containers answer ``IN_PROGRESS`` to the first ``processing_polls`` status reads
(a sandbox setting), then ``FINISHED``; image and text containers are ``FINISHED`` at once.
``media_publish``/``threads_publish`` runs through the shared fault/ledger flow (so every fault
kind applies to it) and marks the container ``PUBLISHED`` once the post is in the ledger, even
if the response was dropped. The fault kind ``container_error`` fires at container creation and
makes that container ``ERROR`` (Instagram subcode 2207001, Threads ``FAILED_DOWNLOADING_VIDEO``).
``GET /_sandbox/containers?platform=`` lists the containers made.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from infra.sandbox.faults import ALL_KINDS
from infra.sandbox.graph import FacebookDialect, graph_error, graph_params, graph_token
from infra.sandbox.ledger import Post
from infra.sandbox.media_fetch import FetchFailed, fetch_size
from infra.sandbox.publishing import Attempt, Ctx, publish, read
from infra.sandbox.state import SandboxState
from infra.sandbox.stores import Container
from infra.sandbox.wire import json_response

INSTAGRAM = "instagram"
THREADS = "threads"
MAX_CAROUSEL = {INSTAGRAM: 10, THREADS: 20}


class MetaDialect(FacebookDialect):
    """Graph error spellings for Instagram/Threads; rate limits use BUC code 80002 (Instagram)
    or 4 (Threads app limit)."""

    created_status = 200

    def __init__(self, state: SandboxState, platform: str) -> None:
        super().__init__(state)
        self.platform = platform
        self.supported_kinds = ALL_KINDS - {"usage_capped", "container_error"}

    def mint_id(self, account_id: str) -> str:
        """A numeric media id."""
        return f"179{self._state.ids.numeric()}"

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Neither network refuses a repeated caption."""
        return False

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """Graph faults; the rate limit as this network's throttling code."""
        if kind == "rate_limit":
            headers = dict(ctx.headers)
            usage = {
                "type": self.platform,
                "call_count": 100,
                "total_cputime": 100,
                "total_time": 100,
                "estimated_time_to_regain_access": math.ceil(retry_after_s / 60),
                "ads_api_access_tier": "development_access",
            }
            headers["x-business-use-case-usage"] = json.dumps({ctx.account_id: [usage]})
            code = 80002 if self.platform == INSTAGRAM else 4
            return graph_error(
                400,
                "Application request limit reached",
                code,
                is_transient=True,
                headers=headers,
            )
        return super().fault_response(kind, ctx=ctx, retry_after_s=retry_after_s)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class ContainerRoutes:
    """The container routes of one Meta network (Instagram or Threads), mounted under
    ``/{platform}``."""

    def __init__(self, state: SandboxState, platform: str) -> None:
        self.state = state
        self.platform = platform
        self.dialect = MetaDialect(self.state, self.platform)
        self.is_ig = self.platform == INSTAGRAM
        self.create_edge = "media" if self.is_ig else "threads"
        self.publish_edge = f"{self.create_edge}_publish"
        self.text_key = "caption" if self.is_ig else "text"

    def error_status(self, detail_code: int, thread_msg: str) -> tuple[str, str]:
        if self.is_ig:
            return "ERROR", f"Error: media upload failed with error code {detail_code}"
        return "ERROR", thread_msg

    async def create(self, request: Request) -> Response:
        """``POST /{user}/{media|threads}``: a container; the sandbox fetches its media now."""
        account = request.path_params["user"]
        params, error = await graph_params(request)
        if error is not None:
            return error
        if not graph_token(request, params):
            return graph_error(400, "An access token is required to request this resource.", 190)
        media_type = (params.get("media_type") or ("IMAGE" if self.is_ig else "")).upper()
        text = params.get(self.text_key, "")
        parts = self._media_of(account, media_type, text, params)
        if isinstance(parts, Response):
            return parts
        children, urls = parts
        video = media_type in ("REELS", "VIDEO") or "video_url" in params
        if media_type == "CAROUSEL":
            video = any(self.state.containers.containers[c].media_type == "VIDEO" for c in children)
        status, detail = "IN_PROGRESS" if video else "FINISHED", ""
        size = 0
        for url in urls:
            try:
                size += await fetch_size(url)
            except FetchFailed as exc:
                status, detail = self.error_status(2207052, "FAILED_DOWNLOADING_VIDEO")
                detail = f"{detail} ({exc})"
        plan = self.state.faults.plan(
            platform=self.platform,
            account_id=account,
            text=text,
            operation="publish",
            supported=frozenset({"container_error"}),
        )
        if plan.error is not None:
            status, detail = self.error_status(2207001, "FAILED_DOWNLOADING_VIDEO")
        container = Container(
            id=f"178{self.state.ids.numeric()}",
            platform=self.platform,
            account_id=account,
            media_type=media_type,
            text=text,
            is_carousel_item=params.get("is_carousel_item", "").lower() == "true",
            children=children,
            media_bytes=size,
            status=status,
            detail=detail,
            polls_left=self.state.settings.processing_polls if video else 0,
            created_at=datetime.now(UTC),
        )
        self.state.containers.containers[container.id] = container
        return json_response({"id": container.id})

    def _media_of(
        self, account: str, media_type: str, text: str, params: dict[str, str]
    ) -> tuple[list[str], list[str]] | Response:
        """``(carousel children, media URLs)`` a container of ``media_type`` takes, or the Graph
        error refusing it."""
        if media_type == "CAROUSEL":
            children = [c for c in params.get("children", "").split(",") if c]
            most = MAX_CAROUSEL[self.platform]
            if not 2 <= len(children) <= most:
                return graph_error(400, f"(#100) A carousel takes 2 to {most} children", 100)
            for child in children:
                found = self.state.containers.containers.get(child)
                if found is None or found.account_id != account or not found.is_carousel_item:
                    return graph_error(400, f"(#100) {child} is not a carousel item", 100)
            return children, []
        video_story = media_type == "STORIES" and "video_url" in params
        if media_type in ("REELS", "VIDEO") or video_story:
            if not params.get("video_url"):
                return graph_error(400, "(#100) The parameter video_url is required", 100)
            return [], [params["video_url"]]
        if media_type in ("IMAGE", "STORIES"):
            if not params.get("image_url"):
                return graph_error(400, "(#100) The parameter image_url is required", 100)
            return [], [params["image_url"]]
        if media_type == "TEXT" and not self.is_ig:
            if not text:
                return graph_error(400, "(#100) The parameter text is required", 100)
            return [], []
        return graph_error(400, f"(#100) Unsupported media_type {media_type!r}", 100)

    async def publish_container(self, request: Request) -> Response:
        account = request.path_params["user"]
        params, error = await graph_params(request)
        if error is not None:
            return error
        token = graph_token(request, params)
        if not token:
            return graph_error(400, "An access token is required to request this resource.", 190)
        container = self.state.containers.containers.get(params.get("creation_id", ""))
        if container is None or container.account_id != account:
            return graph_error(400, "(#100) Invalid creation_id", 100, subcode=33)
        if container.status == "IN_PROGRESS":
            return graph_error(
                400, "Media ID is not available", 9007, subcode=2207027, is_transient=False
            )
        if container.status != "FINISHED":
            return graph_error(
                400, f"(#100) The container is {container.status}", 100, is_transient=False
            )
        if self.is_ig:
            since = datetime.now(UTC) - timedelta(days=1)
            used = sum(1 for _ in self.state.ledger.since(self.platform, account, since))
            if used >= self.state.settings.instagram_quota_total:
                return graph_error(
                    400,
                    "Application request limit reached",
                    9,
                    subcode=2207042,
                    user_msg="You have reached the maximum number of posts allowed in 24 hours",
                )
        headers = self.dialect.usage_headers(account, request.path_params["version"])
        before = {p.id for p in self.state.ledger.posts(self.platform, account)}

        def created(post: Post) -> Response:
            return json_response({"id": post.id}, 200, headers)

        response = await publish(
            self.state,
            self.dialect,
            Attempt(self.platform, account, container.text, None, token),
            request,
            Ctx(account, headers),
            created,
        )
        new = [p for p in self.state.ledger.posts(self.platform, account) if p.id not in before]
        if new:
            container.status = "PUBLISHED"
            container.published_id = new[-1].id
        return response

    async def node(self, request: Request) -> Response:
        node_id = request.path_params["node"]
        token = graph_token(request, dict(request.query_params))
        if not token:
            return graph_error(400, "An access token is required to request this resource.", 190)
        wanted = [f for f in request.query_params.get("fields", "").split(",") if f]
        container = self.state.containers.containers.get(node_id)
        account = container.account_id if container else ""
        post = next((p for p in self.state.ledger.posts(self.platform) if p.id == node_id), None)
        if post is not None:
            account = post.account_id

        def answer() -> Response:
            if container is not None:
                if container.status == "IN_PROGRESS":
                    if container.polls_left <= 0:
                        container.status = "FINISHED"
                    else:
                        container.polls_left -= 1
                values = {
                    "id": container.id,
                    "status_code" if self.is_ig else "status": container.status,
                    "status" if self.is_ig else "error_message": container.detail
                    or (f"{container.status.title()}" if self.is_ig else None),
                }
            elif post is not None:
                values = {
                    "id": post.id,
                    "permalink": _permalink(self.platform, post),
                    self.text_key: post.text,
                }
            else:
                return graph_error(
                    400, f"(#100) Object with ID '{node_id}' does not exist", 100, subcode=33
                )
            return json_response(
                {k: v for k, v in values.items() if v is not None and (k == "id" or k in wanted)}
            )

        return await read(self.state, self.dialect, request, Ctx(account), answer)

    async def list_posts(self, request: Request) -> Response:
        account = request.path_params["user"]
        if not graph_token(request, dict(request.query_params)):
            return graph_error(400, "An access token is required to request this resource.", 190)
        wanted = [f for f in request.query_params.get("fields", "").split(",") if f] or ["id"]
        try:
            limit = max(1, min(100, int(request.query_params.get("limit", "25"))))
        except ValueError:
            return graph_error(400, "(#100) Param limit must be a number", 100)

        def answer() -> Response:
            posts = list(reversed(self.state.ledger.posts(self.platform, account)))[:limit]
            data = []
            for post in posts:
                values = {
                    "id": post.id,
                    self.text_key: post.text,
                    "timestamp": _graph_time(post.created_at),
                    "permalink": _permalink(self.platform, post),
                }
                data.append({k: v for k, v in values.items() if k in wanted or k == "id"})
            return json_response({"data": data})

        return await read(self.state, self.dialect, request, Ctx(account), answer)

    async def publishing_limit(self, request: Request) -> Response:
        account = request.path_params["user"]
        if not graph_token(request, dict(request.query_params)):
            return graph_error(400, "An access token is required to request this resource.", 190)
        since = datetime.now(UTC) - timedelta(days=1)
        used = sum(1 for _ in self.state.ledger.since(self.platform, account, since))
        total = self.state.settings.instagram_quota_total
        return json_response(
            {
                "data": [
                    {
                        "quota_usage": used,
                        "config": {"quota_total": total, "quota_duration": 86400},
                    }
                ]
            }
        )

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        inner: list[BaseRoute] = [
            Route(f"/{{version}}/{{user}}/{self.create_edge}", self.create, methods=["POST"]),
            Route(f"/{{version}}/{{user}}/{self.create_edge}", self.list_posts, methods=["GET"]),
            Route(
                f"/{{version}}/{{user}}/{self.publish_edge}",
                self.publish_container,
                methods=["POST"],
            ),
            Route("/{version}/{node}", self.node, methods=["GET"]),
        ]
        if self.is_ig:
            inner.insert(
                0,
                Route(
                    "/{version}/{user}/content_publishing_limit",
                    self.publishing_limit,
                    methods=["GET"],
                ),
            )
        return [Mount(f"/{self.platform}", routes=inner)]


def network_routes(state: SandboxState, platform: str) -> list[BaseRoute]:
    """The routes of ``platform`` (``instagram`` or ``threads``), mounted under ``/{platform}``."""
    """The routes of ``platform`` (``instagram`` or ``threads``), mounted under ``/{platform}``."""
    return ContainerRoutes(state, platform).routes()


def _permalink(platform: str, post: Post) -> str:
    if platform == INSTAGRAM:
        return f"https://www.instagram.com/p/{post.id}/"
    return f"https://www.threads.net/@{post.account_id}/post/{post.id}"


def instagram_routes(state: SandboxState) -> list[BaseRoute]:
    """Instagram's routes plus ``GET /_sandbox/containers``."""

    async def containers(request: Request) -> Response:
        platform = request.query_params.get("platform")
        items = [
            c.to_json()
            for c in state.containers.containers.values()
            if platform is None or c.platform == platform
        ]
        return json_response({"containers": items})

    return [
        Route("/_sandbox/containers", containers, methods=["GET"]),
        *network_routes(state, INSTAGRAM),
    ]


def threads_routes(state: SandboxState) -> list[BaseRoute]:
    """Threads' routes."""
    return network_routes(state, THREADS)
