"""One declaration per route: method, path, models, roles, rate class, idempotency.

Every route of the API is declared with :func:`route` next to its handler::

    @route(bp, "GET", "/posts/{post_id}", summary="One of the caller's posts",
           roles=AUTHORS, rate="read", responses={200: PostOut})
    def get_post(user: Principal, post_id: str) -> PostOut: ...

The declaration is the single source of

- the Flask rule (``{name}`` becomes ``<name>``; path parameters must match ``ID_PATTERN``,
  anything else is 404: no such resource can exist);
- authentication and authorization: ``roles`` is the set of roles allowed (``PUBLIC`` = no
  token); a valid token with another role gets 403;
- the per-user rate limit of the route class ``rate`` (``sharecast.ratelimit``, the app's
  ``Limiter``);
- ``Idempotency-Key`` handling when ``idempotent`` (``sharecast.idempotency``);
- parsing: ``body`` (JSON, ``api.context.json_body``) and ``query`` (query string) models,
  with every problem in one 422: the query's and the body's, and those of ``rules`` (the
  route's own checks, run on what parsed of an invalid body, ``api.salvage``);
- path parameters, each described once in :data:`PATH_PARAMETERS`;
- the response: whatever the handler returns is validated against ``responses[status]``, so
  the documented schema and the real answer cannot drift (a mismatch is a 500 and a log line);
- the OpenAPI document (``api.openapi``) and the auth-matrix tests, which walk :data:`REGISTRY`.

The handler gets, by keyword and only if its signature names them: ``user`` (the
:class:`Principal`), ``body``, ``query`` and the path parameters. It returns a model or a dict
(the route's only 2xx status), ``(payload, status)`` or ``(payload, status, headers)``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, g, json, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from sharecast import idempotency
from sharecast.api.context import context, json_body, json_data, limiter, principal, query_args
from sharecast.api.problems import pydantic_problems
from sharecast.api.salvage import salvage, unshadowed
from sharecast.auth import ROLES, Principal
from sharecast.errors import FieldProblem, Forbidden, NotFound, SharecastError, ValidationFailed
from sharecast.logs import fields
from sharecast.timeutil import utcnow

log = logging.getLogger(__name__)

#: No token needed.
PUBLIC: frozenset[str] = frozenset()
#: Every authenticated role.
ANY_ROLE: frozenset[str] = frozenset(ROLES)
#: Roles that own posts, media, shares and connections
#: (docs/api.md#accounts-realtime-and-operations: viewers and monitors are read-only).
AUTHORS: frozenset[str] = frozenset({"user", "admin"})
#: Operations roles: attempt logs and dead letters (read).
MONITORS: frozenset[str] = frozenset({"monitor", "admin"})
ADMINS: frozenset[str] = frozenset({"admin"})

#: Every path parameter (ids) must match this, else 404.
ID_PATTERN = r"^[A-Za-z0-9_:-]{1,128}$"
_ID = re.compile(ID_PATTERN)

#: The description of every path parameter (``{name}`` in a path) in the OpenAPI document; a
#: route with an undescribed one is refused at import time.
PATH_PARAMETERS: dict[str, str] = {
    "post_id": "The post's `postId`.",
    "target_id": "The target's `targetId` within its post (`x-1`).",
    "target_path": "A dead letter's `targetPath`: `{postId}:{targetId}`.",
    "media_id": "The file's `mediaId`.",
    "video_id": "The YouTube video id (11 characters, e.g. `dQw4w9WgXcQ`).",
    "platform": "A network: `facebook`, `instagram`, `threads`, `linkedin`, `x`, `youtube`.",
    "conn_id": "The connection's `id` (`GET /connections`).",
    "endpoint_id": "The webhook endpoint's `id` (`we_...`, `GET /webhooks`).",
    "delivery_id": "A delivery's `id` in the endpoint's log (the event id, or the ping's).",
}

#: A route's own checks of what parsed of an invalid body (keyword arguments ``user``,
#: ``path`` (the path values), ``data`` (the JSON object as sent) and ``partial`` (its valid
#: fields, ``api.salvage.salvage``)): field problems to report with the type problems, in the
#: same 422.
Rules = Callable[..., list[FieldProblem]]
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """The declaration of one route (see the module docstring)."""

    method: str
    path: str
    endpoint: str
    summary: str
    roles: frozenset[str]
    responses: Mapping[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    rate: str | None = None
    idempotent: bool = False
    tags: tuple[str, ...] = ()
    description: str = ""
    path_params: tuple[str, ...] = field(default=())
    #: Problem statuses the handler itself answers beyond those its declaration implies
    #: (``api.openapi.error_statuses``), e.g. 409 for a refused state transition.
    errors: frozenset[int] = frozenset()
    #: The route's rule checks for the one-round 422 (:data:`Rules`).
    rules: Rules | None = None

    @property
    def public(self) -> bool:
        """True when the route needs no token."""
        return not self.roles

    @property
    def flask_rule(self) -> str:
        """The Flask URL rule (``/posts/<post_id>``)."""
        return _PARAM.sub(r"<\1>", self.path)

    @property
    def operation_id(self) -> str:
        """Stable OpenAPI ``operationId`` (the endpoint name)."""
        return self.endpoint.replace(".", "_")

    @property
    def success_status(self) -> int:
        """The lowest 2xx status declared (the default when a handler returns a bare body)."""
        return min(s for s in self.responses if 200 <= s < 300)


#: Every declared route, in declaration order (filled at import time of the blueprints).
REGISTRY: list[Route] = []


def route(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    roles: frozenset[str],
    responses: Mapping[int, type[BaseModel] | None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    rate: str | None = None,
    idempotent: bool = False,
    description: str = "",
    errors: frozenset[int] | set[int] = frozenset(),
    rules: Rules | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route on ``bp`` and wrap its handler (see the module docstring).

    ``roles`` is a frozenset of :data:`sharecast.auth.ROLES` (``PUBLIC`` for none);
    ``responses`` maps every success status to its model (``None``: empty body); ``rate`` is a
    class of ``Settings.rate_limits``; ``errors`` lists the problem statuses the handler raises
    itself (documented in OpenAPI, e.g. 409 for a refused transition); ``rules`` checks what
    parsed of an invalid body (:data:`Rules`). Raises ``ValueError`` at import time for an
    inconsistent declaration (unknown role, no 2xx response, idempotency without
    authentication, an undescribed path parameter).
    """
    method = method.upper()
    if not roles <= ANY_ROLE:
        raise ValueError(f"{method} {path}: unknown roles {sorted(roles - ANY_ROLE)}")
    if not any(200 <= s < 300 for s in responses):
        raise ValueError(f"{method} {path}: declare at least one 2xx response")
    if idempotent and not roles:
        raise ValueError(f"{method} {path}: idempotency keys are scoped per user")
    undescribed = set(_PARAM.findall(path)) - set(PATH_PARAMETERS)
    if undescribed:
        raise ValueError(f"{method} {path}: describe {sorted(undescribed)} in PATH_PARAMETERS")

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        spec = Route(
            method=method,
            path=path,
            endpoint=f"{bp.name}.{handler.__name__}",
            summary=summary,
            roles=roles,
            responses=dict(responses),
            body=body,
            query=query,
            rate=rate,
            idempotent=idempotent,
            tags=(bp.name,),
            description=description or inspect.getdoc(handler) or "",
            path_params=tuple(_PARAM.findall(path)),
            errors=frozenset(errors),
            rules=rules,
        )
        wanted = set(inspect.signature(handler).parameters)

        @functools.wraps(handler)
        def view(**path_values: str) -> Response:
            return _dispatch(spec, handler, wanted, path_values)

        bp.add_url_rule(spec.flask_rule, handler.__name__, view, methods=[method])
        REGISTRY.append(spec)
        view.route = spec  # type: ignore[attr-defined]
        return view

    return decorate


def _dispatch(
    spec: Route, handler: Callable[..., Any], wanted: set[str], path_values: dict[str, str]
) -> Response:
    """Run one request of ``spec``: auth, role, rate limit, parse, idempotency, handler."""
    started = time.monotonic()
    g.route = spec
    status = 0
    try:
        for value in path_values.values():
            if not _ID.fullmatch(value):
                raise NotFound("no such resource")
        user = _authorize(spec)
        kwargs = _arguments(spec, wanted, path_values, user)
        key = request.headers.get(idempotency.HEADER) if spec.idempotent else None
        if key is not None and user is not None:
            response = _idempotent(spec, handler, kwargs, user.user_id, key)
        else:
            response = _render(spec, handler(**kwargs))
        status = response.status_code
        return response
    except SharecastError as exc:
        status = exc.status
        raise
    except HTTPException as exc:
        status = exc.code or 500
        raise
    except Exception:
        status = 500
        raise
    finally:
        log.info(
            "request",
            extra=fields(
                method=spec.method,
                route=spec.path,
                status=status,
                user_id=getattr(g.get("principal"), "user_id", None),
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                **{k: v for k, v in path_values.items() if _ID.fullmatch(v)},
            ),
        )


def _authorize(spec: Route) -> Principal | None:
    """The caller, checked against the route's roles and counted against its rate class
    (``None`` for a public route). Raises ``Unauthenticated``, :class:`Forbidden`,
    ``RateLimited``."""
    if spec.public:
        return None
    user = principal()
    if user.role not in spec.roles:
        raise Forbidden(f"the {user.role!r} role may not call {spec.method} {spec.path}")
    if spec.rate is not None:
        ctx = context()
        g.rate_limit = limiter().check(
            ctx, user_id=user.user_id, route_class=spec.rate, now=utcnow()
        )
    return user


def _arguments(
    spec: Route, wanted: set[str], path_values: dict[str, str], user: Principal | None
) -> dict[str, Any]:
    """The handler's keyword arguments its signature names: path values, ``user``, the parsed
    ``query`` and ``body``. Raises :class:`ValidationFailed` with every problem of the query,
    the body and, for an invalid body, the route's ``rules`` at once."""
    kwargs: dict[str, Any] = {k: v for k, v in path_values.items() if k in wanted}
    if user is not None:
        kwargs["user"] = user
    problems: list[FieldProblem] = []
    if spec.query is not None:
        try:
            kwargs["query"] = query_args(spec.query)
        except ValidationError as exc:
            problems += pydantic_problems(exc)
    if spec.body is not None:
        data = json_data()
        try:
            kwargs["body"] = json_body(spec.body)
        except ValidationError as exc:
            typed = pydantic_problems(exc)
            problems += typed + _rule_problems(spec, data, exc, typed, user, path_values)
    if problems:
        raise ValidationFailed("the request is invalid", errors=problems)
    return {k: v for k, v in kwargs.items() if k in wanted}


def _rule_problems(
    spec: Route,
    data: Any,
    exc: ValidationError,
    typed: list[FieldProblem],
    user: Principal | None,
    path_values: dict[str, str],
) -> list[FieldProblem]:
    """The route's rule problems on what parsed of the invalid body ``data``, minus those
    about fields that already have a type problem."""
    if spec.rules is None or spec.body is None or not isinstance(data, dict):
        return []
    whole = {str(e["loc"][0]) for e in exc.errors() if len(e["loc"]) == 1}
    partial = salvage(spec.body, data, whole=whole)
    return unshadowed(spec.rules(user=user, path=path_values, data=data, partial=partial), typed)


def _idempotent(
    spec: Route, handler: Callable[..., Any], kwargs: dict[str, Any], user_id: str, key: str
) -> Response:
    ctx = context()
    scope = f"{spec.method} {spec.path}"
    claim = idempotency.begin(
        ctx,
        user_id=user_id,
        scope=scope,
        key=key,
        path=request.path,
        body=request.get_data(cache=True),
        now=utcnow(),
    )
    if isinstance(claim, idempotency.Replay):
        response = Response(claim.body, status=claim.status, mimetype="application/json")
        for name, value in claim.headers.items():
            response.headers[name] = value
        response.headers[idempotency.REPLAYED_HEADER] = "true"
        return response
    try:
        response = _render(spec, handler(**kwargs))
    except BaseException:
        idempotency.release(ctx, claim)
        raise
    idempotency.complete(
        ctx,
        claim,
        status=response.status_code,
        body=response.get_data(as_text=True),
        headers={k: v for k, v in response.headers.items() if k in idempotency.KEPT_HEADERS},
    )
    return response


def _render(spec: Route, result: Any) -> Response:
    """The Flask response of ``result``, validated against the declared response model."""
    if isinstance(result, Response):
        return result
    headers: Mapping[str, str] = {}
    status = spec.success_status
    if isinstance(result, tuple):
        if len(result) == 3:
            result, status, headers = result
        else:
            result, status = result
    if status not in spec.responses:
        raise RuntimeError(f"{spec.endpoint} answered undeclared status {status}")
    if isinstance(result, Response):  # a handler that builds its own response (headers...)
        result.status_code = status
        for name, value in headers.items():
            result.headers[name] = value
        return result
    model = spec.responses[status]
    if model is None:
        response = Response(status=status)
    else:
        try:
            instance = (
                result
                if isinstance(result, model)
                else model.model_validate(
                    result.model_dump() if isinstance(result, BaseModel) else result
                )
            )
        except ValidationError as exc:
            # The handler broke its own declared contract: a server bug, never the client's 422.
            raise RuntimeError(
                f"{spec.endpoint}: response does not match {model.__name__}"
            ) from exc
        response = Response(
            json.dumps(instance.model_dump(mode="json")), status=status, mimetype="application/json"
        )
    for name, value in headers.items():
        response.headers[name] = value
    return response
