"""The OpenAPI 3.1 document of the API, generated from the route declarations.

Everything comes from :data:`sharecast.api.routes.REGISTRY`: paths and methods, the request
body, query and path parameters, every success response with its schema, and the problem+json
errors each route can answer (which follow from its declaration: a body can be malformed (400),
too large (413), of another type (415) or invalid (422); a token can be missing (401) or of a
role not allowed (403); a rate class can be exhausted (429)...). Schemas are the JSON Schemas of
the very pydantic models the handlers validate with (`models_json_schema`, references into
`components/schemas`). The bodies Sharecast POSTs to webhook endpoints are the document's
`webhooks` (one entry per delivery type, with the Standard Webhooks headers). Served without
auth at `GET /openapi.json`.
See https://spec.openapis.org/oas/v3.1.0.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sharecast.api.fields import ALIASES_REMOVED_IN
from sharecast.api.routes import ID_PATTERN, PATH_PARAMETERS, Route
from sharecast.api.schemas import Problem
from sharecast.errors import (
    DEFAULT_DOCS_BASE_URL,
    PROBLEM_JSON,
    FieldProblem,
    InternalError,
    SharecastError,
    error_for_status,
    problem_body,
    problem_type,
)
from sharecast.idempotency import HEADER as IDEMPOTENCY_HEADER

REF = "#/components/schemas/{model}"
_RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed per window for this route class.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window ends.",
}


def error_statuses(spec: Route) -> list[int]:
    """The problem+json statuses `spec` can answer, from its declaration."""
    statuses = set(spec.errors)
    if spec.body is not None:
        statuses |= {400, 413, 415, 422}
    if spec.query is not None:
        statuses |= {400, 422}
    if spec.idempotent:
        statuses |= {400, 409, 422}
    if spec.path_params:
        statuses.add(404)
    if not spec.public:
        statuses |= {401, 403, 503}
    if spec.rate is not None:
        statuses.add(429)
    return sorted(statuses)


#: The document's version: 1.1 added camelCase everywhere (snake_case aliases deprecated).
API_VERSION = "1.1.0"
#: Where the document says the API is: the server that serves it, and the local stack.
SERVERS = [
    {"url": "/", "description": "The server this document is served from."},
    {"url": "http://127.0.0.1:8080", "description": "The local stack (`make run`)."},
]
_DESCRIPTION = f"""Publish a post to several social networks now or later, and follow every status
change live (Server-Sent Events from the relay, `GET /events`).

- JSON is camelCase. The snake_case keys of API 1.0 are still emitted next to their camelCase
  form and marked `deprecated`; they disappear in {ALIASES_REMOVED_IN}.
- Errors are RFC 9457 problem details (`application/problem+json`); a `422` lists every problem
  of the request in `errors[]` at once. Each `type` is the problem's entry in
  [docs/problems.md]({DEFAULT_DOCS_BASE_URL}/problems.md).
- Timestamps are RFC 3339; answers give them in UTC with milliseconds.

The semantics behind the routes (statuses, retries, exactly-once) are in
[docs/api.md]({DEFAULT_DOCS_BASE_URL}/api.md) and
[docs/semantics.md]({DEFAULT_DOCS_BASE_URL}/semantics.md).
"""
_TAGS = {
    "meta": "The API itself: liveness and this document.",
    "posts": "Create, list, read, edit, cancel, publish and retry posts.",
    "session": "Tokens for the relay's event stream.",
    "analytics": "Figures per network and status.",
    "connections": "Connected network accounts (OAuth 2).",
    "media": "Uploads straight to Cloud Storage through signed URLs.",
    "shares": "Sharing YouTube videos to other networks.",
    "admin": "Operations: dead letters and the attempt log.",
    "webhooks": "Signed deliveries of your events to your servers (docs/webhooks.md).",
}


def _header(description: str, *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def problem_codes() -> list[str]:
    """Every problem `code` an answer may carry: the codes of the error classes a client can
    meet (not the :class:`InternalError` family, which never leaves the server as such)."""
    found: set[str] = set()
    pending: list[type[SharecastError]] = [SharecastError]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if not issubclass(cls, InternalError):
            found.add(cls.code)
    return sorted(found)


def _problem_example(status: int) -> dict[str, Any]:
    error = error_for_status(status, _EXAMPLE_DETAILS.get(status, "what happened this time"))
    if status == 422:
        error.errors = [FieldProblem("content", "TEXT_TOO_LONG", "x allows 280 characters", 0)]
    if status == 400:
        error.errors = [
            FieldProblem("body", "MALFORMED_JSON", "Expecting value at line 1, column 1 (char 0)")
        ]
    return problem_body(error)


_EXAMPLE_DETAILS = {
    400: "malformed JSON: Expecting value at line 1, column 1 (char 0)",
    401: "a bearer token is required",
    403: "the 'viewer' role may not call POST /posts/multipost",
    404: "no such resource",
    409: "the post is PUBLISHING",
    413: "the body is larger than 1048576 bytes",
    415: "the body must be application/json",
    422: "the request is invalid",
    429: "too many requests; retry after 12 s",
    503: "a backing service is unavailable; retry",
}


def _problem_response(spec: Route, status: int) -> dict[str, Any]:
    error = error_for_status(status, "")
    response: dict[str, Any] = {
        "description": f"{error.title} ([{error.code}]({problem_type(error.code)})).",
        "content": {
            PROBLEM_JSON: {
                "schema": {"$ref": REF.format(model="Problem")},
                "example": _problem_example(status),
            }
        },
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": _header("Bearer challenge", required=True)}
    if status == 429:
        response["headers"] = {
            "Retry-After": _header("Seconds to wait.", required=True),
            **{name: _header(text, required=True) for name, text in _RATE_HEADERS.items()},
        }
    if status == 503:
        response["headers"] = {"Retry-After": _header("Seconds to wait.", required=True)}
    if status == 409 and spec.idempotent:
        response["headers"] = {"Retry-After": _header("Seconds to wait.")}
    return response


def build_document(
    routes: Sequence[Route],
    *,
    version: str = API_VERSION,
    webhooks: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-compatible dict) describing `routes` and the
    `webhooks` Sharecast sends (delivery type => payload model)."""
    webhooks = webhooks or {}
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    wanted += [(model, "serialization") for model in webhooks.values()]
    for spec in routes:
        if spec.body is not None:
            wanted.append((spec.body, "validation"))
        wanted += [(m, "serialization") for m in spec.responses.values() if m is not None]
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    schemas = top.get("$defs", {})
    schemas["Problem"]["properties"]["code"]["enum"] = problem_codes()
    schemas["Problem"]["properties"]["type"]["format"] = "uri"
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs)
    tags = sorted({tag for spec in routes for tag in spec.tags})
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Sharecast API",
            "version": version,
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": SERVERS,
        "tags": [{"name": tag, "description": _TAGS.get(tag, tag)} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A user token (`make token USER=alice` locally).",
                }
            },
        },
    }
    if webhooks:
        document["webhooks"] = {
            name: _webhook(name, refs[(model, "serialization")], _example_of(model))
            for name, model in webhooks.items()
        }
    return document


#: The Standard Webhooks headers of every delivery
#: (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
_WEBHOOK_HEADERS = {
    "webhook-id": "the delivery's message id, the same on every retry: deduplicate on it",
    "webhook-timestamp": "the attempt's time, seconds since the epoch",
    "webhook-signature": "space-separated `v1,<base64 HMAC-SHA256>` signatures, one per secret",
}


def _example_of(model: type[BaseModel]) -> Any:
    """The first of the `examples` a payload model declares (`None`: none)."""
    return (model.model_json_schema().get("examples") or [None])[0]


def _webhook(name: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    """The path item of one delivery type in the document's `webhooks`."""
    return {
        "post": {
            "operationId": f"webhook_{name}",
            "summary": f"A `{name}` delivery to your endpoint (docs/webhooks.md)",
            "parameters": [
                {
                    "name": header,
                    "in": "header",
                    "required": True,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for header, text in _WEBHOOK_HEADERS.items()
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema, "example": example}},
            },
            "responses": {
                "2XX": {"description": "delivered"},
                "410": {"description": "gone: Sharecast disables the endpoint"},
                "default": {
                    "description": "timeouts, 408, 429 and 5xx are retried (Retry-After is "
                    "honoured) for about 3 days; other answers fail the delivery"
                },
            },
        }
    }


def _parameters(spec: Route) -> list[dict[str, Any]]:
    """Path, query and header parameters of `spec`, each described with an example."""
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS[name],
            "schema": {"type": "string", "pattern": ID_PATTERN},
            "example": PATH_EXAMPLES.get(name, "abc123"),
        }
        for name in spec.path_params
    ]
    if spec.query is not None:
        schema = spec.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        example = getattr(spec.query, "example", None) or {}
        for name, prop in schema.get("properties", {}).items():
            parameter = {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": prop.pop("description", ""),
                "schema": prop,
            }
            if name in example:
                parameter["example"] = example[name]
            parameters.append(parameter)
    if spec.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": (
                    "Retries with the same key and body get the first answer back "
                    "(`Idempotent-Replayed: true`) instead of doing it twice."
                ),
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$",
                },
                "example": "launch-42",
            }
        )
    return parameters


#: Example values of path parameters.
PATH_EXAMPLES = {
    "post_id": "8f14e45fceea467a9f2b0c1d2e3f4a5b",
    "target_id": "x-1",
    "target_path": "8f14e45fceea467a9f2b0c1d2e3f4a5b:x-1",
    "media_id": "c9f0f895fb98ab9159f51fd0297e236d",
    "video_id": "dQw4w9WgXcQ",
    "platform": "x",
    "conn_id": "c0ffee00c0ffee00c0ffee00c0ffee00",
    "endpoint_id": "we_3f9a1c2b4d5e6f708192",
    "delivery_id": "01893456789012345-3f2a9c1d",
}


def _success_response(
    spec: Route, status: int, model: type[BaseModel] | None, refs: Any
) -> dict[str, Any]:
    reason = HTTPStatus(status).phrase
    summary = (inspect.getdoc(model) or "").split("\n\n")[0].replace("\n", " ") if model else ""
    response: dict[str, Any] = {"description": f"{reason}. {summary}".strip()}
    if model is not None:
        content: dict[str, Any] = {"schema": refs[(model, "serialization")]}
        example = getattr(model, "example", None)
        if example is not None:
            content["example"] = model.model_validate(example).model_dump(mode="json")
        response["content"] = {"application/json": content}
    if spec.rate is not None:
        response["headers"] = {name: _header(text) for name, text in _RATE_HEADERS.items()}
    return response


def _operation(spec: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    """The OpenAPI operation object of `spec` (`refs`: schema references by model)."""
    responses: dict[str, Any] = {
        str(status): _success_response(spec, status, model, refs)
        for status, model in sorted(spec.responses.items())
    }
    for status in error_statuses(spec):
        responses[str(status)] = _problem_response(spec, status)
    operation: dict[str, Any] = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "description": spec.description,
        "tags": list(spec.tags),
        "parameters": _parameters(spec),
        "responses": responses,
        "security": [] if spec.public else [{"bearerAuth": []}],
        "x-sharecast-roles": sorted(spec.roles),
        "x-sharecast-rate-class": spec.rate,
        "x-sharecast-idempotent": spec.idempotent,
    }
    if spec.body is not None:
        content: dict[str, Any] = {"schema": refs[(spec.body, "validation")]}
        example = getattr(spec.body, "example", None)
        if example is not None:
            content["example"] = example
        operation["requestBody"] = {
            "required": True,
            "description": (inspect.getdoc(spec.body) or "").replace("\n", " "),
            "content": {"application/json": content},
        }
    return operation
