"""The sandbox ASGI app: each network's routes plus the control API under ``/_sandbox/``.

Control API (not part of any real platform; JSON in, JSON out):

- ``GET /_sandbox/healthz`` → ``{"status": "ok"}``
- ``GET /_sandbox/ledger?platform=&account_id=`` → ``{"posts": [...]}``, oldest first
- ``POST /_sandbox/reset`` body ``{"seed"?: int, "duplicate_detection"?: bool,
  "duplicate_window_s"?: int}`` (optional) → clears ledger, rules, trigger counters and usage
  counters, restores default settings
- ``GET /_sandbox/settings``; ``PATCH /_sandbox/settings`` with a partial settings object
- ``/_sandbox/webhooks/{name}``: a webhook receiver (``infra/sandbox/webhooks.py``);
- ``GET /_sandbox/faults`` → ``{"rules": [...]}``; ``POST /_sandbox/faults`` with one rule
  (→ 201 ``{"rule": {...}}``) or a list (→ 201 ``{"rules": [...]}``); ``DELETE /_sandbox/faults``
  → ``{"deleted": n}``; ``DELETE /_sandbox/faults/{id}``

Adding a network = one module with a ``Dialect`` and ``routes(state)``, listed in
:data:`NETWORKS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox import (
    facebook,
    linkedin,
    media,
    meta_containers,
    oauth,
    webhooks,
    x,
    youtube,
    youtube_data,
)
from infra.sandbox.faults import FaultRuleSpec
from infra.sandbox.logs import LOGGER_NAME, fields
from infra.sandbox.state import SandboxSettings, SandboxState
from infra.sandbox.wire import json_response, read_json

log = logging.getLogger(LOGGER_NAME)

#: Each network: its name, the fault kinds it renders, and its routes.
NETWORKS: dict[str, tuple[frozenset[str], Callable[[SandboxState], list[BaseRoute]]]] = {
    # first: its fixed path must win over the networks' wildcard routes
    youtube_data.PLATFORM: (youtube_data.YouTubeDataDialect.supported_kinds, youtube_data.routes),
    # Mounted networks first: Graph's ``/{version}/{page_id}/videos`` would also match
    # ``/linkedin/rest/videos``.
    meta_containers.INSTAGRAM: (
        meta_containers.ALL_KINDS - {"usage_capped"},
        meta_containers.instagram_routes,
    ),
    meta_containers.THREADS: (
        meta_containers.ALL_KINDS - {"usage_capped"},
        meta_containers.threads_routes,
    ),
    linkedin.PLATFORM: (linkedin.LinkedInDialect.supported_kinds, linkedin.routes),
    youtube.PLATFORM: (youtube.YouTubeDialect.supported_kinds, youtube.routes),
    x.PLATFORM: (x.XDialect.supported_kinds, x.routes),
    facebook.PLATFORM: (facebook.FacebookDialect.supported_kinds, facebook.routes),
}


def _bad_request(message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"error": {"message": message}}
    if details is not None:
        body["error"]["details"] = details
    return json_response(body, 400)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]


class ControlRoutes:
    """The /_sandbox/ control API: health, ledger, reset, settings, fault rules."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ledger(self, request: Request) -> Response:
        posts = self.state.ledger.posts(
            request.query_params.get("platform") or None,
            request.query_params.get("account_id") or None,
        )
        return json_response({"posts": [p.to_json() for p in posts]})

    async def reset(self, request: Request) -> Response:
        body, error = await read_json(request)
        if error is not None:
            return _bad_request(error)
        body = body or {}
        if not isinstance(body, dict):
            return _bad_request("reset takes a JSON object")
        seed = body.pop("seed", None)
        if seed is not None and not isinstance(seed, int):
            return _bad_request("seed must be an integer")
        try:
            self.state.reset(seed, **body)
        except ValidationError as exc:
            return _bad_request("invalid settings", _validation_details(exc))
        log.info("sandbox reset", extra=fields(seed=self.state.faults.seed))
        return json_response(
            {
                "status": "reset",
                "seed": self.state.faults.seed,
                "settings": self.state.settings.model_dump(),
            }
        )

    async def get_settings(self, request: Request) -> Response:
        return json_response(self.state.settings.model_dump())

    async def patch_settings(self, request: Request) -> Response:
        body, error = await read_json(request)
        if error is not None or not isinstance(body, dict):
            return _bad_request(error or "settings take a JSON object")
        try:
            settings: SandboxSettings = self.state.update_settings(body)
        except ValidationError as exc:
            return _bad_request("invalid settings", _validation_details(exc))
        return json_response(settings.model_dump())

    async def list_faults(self, request: Request) -> Response:
        return json_response(
            {
                "rules": [r.to_json() for r in self.state.faults.rules()],
                "seed": self.state.faults.seed,
            }
        )

    async def add_faults(self, request: Request) -> Response:
        body, error = await read_json(request)
        if error is not None:
            return _bad_request(error)
        items = body if isinstance(body, list) else [body]
        specs: list[FaultRuleSpec] = []
        for item in items:
            try:
                spec = FaultRuleSpec.model_validate(item)
            except ValidationError as exc:
                return _bad_request("invalid fault rule", _validation_details(exc))
            if spec.platform is not None:
                if spec.platform not in NETWORKS:
                    return _bad_request(
                        f"unknown platform {spec.platform!r}; known: {sorted(NETWORKS)}"
                    )
                if spec.kind not in NETWORKS[spec.platform][0]:
                    return _bad_request(f"{spec.platform} cannot render fault {spec.kind!r}")
            specs.append(spec)
        rules = [self.state.faults.add(spec).to_json() for spec in specs]
        log.info("fault rules added", extra=fields(rules=rules))
        if isinstance(body, list):
            return json_response({"rules": rules}, 201)
        return json_response({"rule": rules[0]}, 201)

    async def clear_faults(self, request: Request) -> Response:
        return json_response({"deleted": self.state.faults.clear()})

    async def delete_fault(self, request: Request) -> Response:
        if not self.state.faults.remove(request.path_params["rule_id"]):
            return json_response({"error": {"message": "no such rule"}}, 404)
        return json_response({"deleted": 1})

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/_sandbox/healthz", self.healthz, methods=["GET"]),
            Route("/_sandbox/ledger", self.ledger, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/settings", self.get_settings, methods=["GET"]),
            Route("/_sandbox/settings", self.patch_settings, methods=["PATCH", "POST"]),
            Route("/_sandbox/faults", self.list_faults, methods=["GET"]),
            Route("/_sandbox/faults", self.add_faults, methods=["POST"]),
            Route("/_sandbox/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sandbox/faults/{rule_id}", self.delete_fault, methods=["DELETE"]),
        ]


def control_routes(state: SandboxState) -> list[BaseRoute]:
    """The ``/_sandbox/`` routes, bound to ``state``."""

    """The ``/_sandbox/`` routes, bound to ``state``."""
    return ControlRoutes(state).routes()


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 in the shape of the API the path belongs to."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    path = request.url.path
    if path.startswith("/2/"):
        return x.problem(
            status,
            "Not Found Error" if status == 404 else "Method Not Allowed",
            f"No route for {request.method} {path}",
        )
    if path.startswith("/_sandbox/"):
        return json_response(
            {"error": {"message": f"No route for {request.method} {path}"}}, status
        )
    return facebook.graph_error(status, f"Unsupported {request.method} request to {path}", 100)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("sandbox handler failed", extra=fields(path=request.url.path))
    return json_response(
        {"error": {"message": "sandbox internal error", "type": type(exc).__name__}}, 500
    )


def create_app(seed: int | None = None) -> Starlette:
    """A fresh sandbox with its own state (``app.state.sandbox``); ``seed`` seeds fault RNG."""
    state = SandboxState(seed)
    routes: list[BaseRoute] = control_routes(state)
    routes.extend(webhooks.WebhookRoutes(state.webhooks).routes())
    routes.extend(media.routes(state))  # before the networks' catch-all page routes
    routes.extend(oauth.routes(state))  # before the networks: their routes have wildcards
    for _kinds, network_routes in NETWORKS.values():
        routes.extend(network_routes(state))
    app = Starlette(
        routes=routes,
        exception_handlers={404: _http_error, 405: _http_error, Exception: _server_error},
    )
    app.state.sandbox = state
    return app
