"""Routes about the API itself: `GET /healthz`, `GET /openapi.json` and the SSE event
contract `GET /events.schema.json` (no token)."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, json

from sharecast.api.event_schema import SCHEMA_PATH, build_event_schema
from sharecast.api.openapi import build_document
from sharecast.api.routes import PUBLIC, REGISTRY, route
from sharecast.api.schemas import EventSchemaDocument, HealthOut, OpenApiDocument
from sharecast.api.webhook_schemas import WEBHOOK_PAYLOADS

bp = Blueprint("meta", __name__)


@route(bp, "GET", "/healthz", summary="Liveness", roles=PUBLIC, responses={200: HealthOut})
def healthz() -> HealthOut:
    """Answers 200 as long as the process serves requests (touches no dependency)."""
    return HealthOut(status="ok")


@functools.cache
def _document_json() -> str:
    return json.dumps(build_document(REGISTRY, webhooks=WEBHOOK_PAYLOADS))


@route(
    bp,
    "GET",
    "/openapi.json",
    summary="This API's OpenAPI 3.1 document",
    roles=PUBLIC,
    responses={200: OpenApiDocument},
)
def openapi_json() -> Response:
    """Generated from the route declarations and their pydantic models."""
    return Response(_document_json(), mimetype="application/json")


@functools.cache
def _event_schema_json() -> str:
    return json.dumps(build_event_schema())


@route(
    bp,
    "GET",
    SCHEMA_PATH,
    summary="JSON Schema of every server-sent event of the relay (GET /events)",
    roles=PUBLIC,
    responses={200: EventSchemaDocument},
)
def event_schema_json() -> Response:
    """The event contract: one JSON Schema (2020-12) per event type."""
    return Response(_event_schema_json(), mimetype="application/json")
