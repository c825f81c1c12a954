"""The OpenAPI 3.1 document of the API, generated from the route declarations.

Everything comes from :data:`sharecast.api.routes.REGISTRY`: paths and methods, the request
body, query and path parameters, every success response with its schema, and the problem+json
errors each route can answer (which follow from its declaration: a body can be malformed (400),
too large (413), of another type (415) or invalid (422); a token can be missing (401) or of a
role not allowed (403); a rate class can be exhausted (429)...). Schemas are the JSON Schemas of
the very pydantic models the handlers validate with (``models_json_schema``, references into
``components/schemas``). Served without auth at ``GET /openapi.json``.
See https://spec.openapis.org/oas/v3.1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sharecast.api.routes import ID_PATTERN, Route
from sharecast.api.schemas import Problem
from sharecast.errors import PROBLEM_JSON, error_for_status
from sharecast.idempotency import HEADER as IDEMPOTENCY_HEADER

REF = "#/components/schemas/{model}"
_RATE_HEADERS = {
    "RateLimit-Limit": "requests allowed per window for this route class",
    "RateLimit-Remaining": "requests left in the current window",
    "RateLimit-Reset": "seconds until the window ends",
}


def error_statuses(spec: Route) -> list[int]:
    """The problem+json statuses ``spec`` can answer, from its declaration."""
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


def _header(description: str, *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _problem_response(spec: Route, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": error_for_status(status, "").title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": _header("Bearer challenge", required=True)}
    if status == 429:
        response["headers"] = {
            "Retry-After": _header("seconds to wait", required=True),
            **{name: _header(text, required=True) for name, text in _RATE_HEADERS.items()},
        }
    if status == 503:
        response["headers"] = {"Retry-After": _header("seconds to wait", required=True)}
    if status == 409 and spec.idempotent:
        response["headers"] = {"Retry-After": _header("seconds to wait")}
    return response


def build_document(routes: Sequence[Route], *, version: str = "1.0.0") -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-compatible dict) describing ``routes``."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for spec in routes:
        if spec.body is not None:
            wanted.append((spec.body, "validation"))
        wanted += [(m, "serialization") for m in spec.responses.values() if m is not None]
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sharecast API",
            "version": version,
            "description": (
                "Publish posts to several social networks now or later, and follow every "
                "status change. Errors are RFC 9457 problem details."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _parameters(spec: Route) -> list[dict[str, Any]]:
    """Path, query and header parameters of ``spec``."""
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN},
        }
        for name in spec.path_params
    ]
    if spec.query is not None:
        schema = spec.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "description": prop.get("description", ""),
                    "schema": prop,
                }
            )
    if spec.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "retries with the same key and body get the first answer back",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$",
                },
            }
        )
    return parameters


def _operation(spec: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    """The OpenAPI operation object of ``spec`` (``refs``: schema references by model)."""
    parameters = _parameters(spec)
    responses: dict[str, Any] = {}
    for status, model in sorted(spec.responses.items()):
        response: dict[str, Any] = {"description": "success"}
        if model is not None:
            response["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
        if spec.rate is not None:
            response["headers"] = {name: _header(text) for name, text in _RATE_HEADERS.items()}
        responses[str(status)] = response
    for status in error_statuses(spec):
        responses[str(status)] = _problem_response(spec, status)
    operation: dict[str, Any] = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "description": spec.description,
        "tags": list(spec.tags),
        "parameters": parameters,
        "responses": responses,
        "security": [] if spec.public else [{"bearerAuth": []}],
        "x-sharecast-roles": sorted(spec.roles),
        "x-sharecast-rate-class": spec.rate,
        "x-sharecast-idempotent": spec.idempotent,
    }
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(spec.body, "validation")]}},
        }
    return operation
