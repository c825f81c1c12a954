"""Every route is declared once (``api.routes.route``) and therefore documented, protected and
rate limited. These tests walk the real Flask app, so a route added without a declaration, or
a declaration missing from the OpenAPI document, fails here."""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, SecretStr

from sharecast.api import create_app
from sharecast.api.fields import _bounded
from sharecast.api.openapi import build_document, error_statuses
from sharecast.api.routes import REGISTRY, Route
from sharecast.api.webhook_schemas import WEBHOOK_PAYLOADS
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings

AUTO_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(jwt_secret=SecretStr("x" * 40), token_encryption_keys=None)


@pytest.fixture(scope="module")
def app(settings):
    return create_app(AppContext(settings=settings, clients=Clients(settings)))


@pytest.fixture(scope="module")
def document():
    """The document ``GET /openapi.json`` serves (with the webhook payloads)."""
    return build_document(REGISTRY, webhooks=WEBHOOK_PAYLOADS)


def declared(app) -> dict[tuple[str, str], Route]:
    return {(r.method, r.flask_rule): r for r in REGISTRY if r.endpoint in app.view_functions}


def app_routes(app) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # static files (Swagger UI's assets of GET /docs)
        for method in sorted((rule.methods or set()) - AUTO_METHODS):
            out.append((method, rule.rule, rule.endpoint))
    return out


def test_every_flask_route_is_declared(app):
    known = declared(app)
    missing = [(m, r) for m, r, _ in app_routes(app) if (m, r) not in known]
    assert not missing, f"routes without an api.routes.route declaration: {missing}"
    assert len(known) == len(app_routes(app))


def test_every_route_is_in_the_openapi_document(app, document):
    for method, rule, _ in app_routes(app):
        spec = declared(app)[(method, rule)]
        operation = document["paths"].get(spec.path, {}).get(method.lower())
        assert operation is not None, f"{method} {spec.path} missing from /openapi.json"
        assert operation["x-sharecast-roles"] == sorted(spec.roles)
        for status in [*spec.responses, *error_statuses(spec)]:
            assert str(status) in operation["responses"], (method, spec.path, status)


def test_every_route_declares_roles_and_a_known_rate_class(app, settings):
    public = {"/healthz", "/openapi.json", "/events.schema.json", "/docs", "/docs/init.js"}
    for spec in declared(app).values():
        if spec.path in public:
            assert spec.public
            continue
        assert spec.roles, f"{spec.method} {spec.path} must declare its roles"
        assert spec.rate in settings.rate_limit_table, f"{spec.method} {spec.path}: rate class"


def test_unsafe_methods_never_allow_read_only_roles(app):
    for spec in declared(app).values():
        if spec.method in {"POST", "PUT", "PATCH", "DELETE"} and spec.path != "/auth/sse-token":
            assert not spec.roles & {"viewer", "monitor"} or spec.path.startswith("/admin/"), (
                f"{spec.method} {spec.path}: viewers and monitors are read-only "
                "(docs/api.md#accounts-realtime-and-operations)"
            )


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_document_describes_every_webhook_payload(document):
    """Each delivery type POSTed to endpoints, with the Standard Webhooks headers and a body
    whose ``data`` is the SSE ``data:`` model (docs/webhooks.md#events-and-filters)."""
    hooks = document["webhooks"]
    assert set(hooks) == {"post_status", "target_status", "share_status", "notification", "ping"}
    schemas = document["components"]["schemas"]
    for name, item in hooks.items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        assert body["properties"]["type"]["const"] == name
        assert set(body["required"]) == {"id", "type", "timestamp", "user_id", "data"}
        assert body["examples"][0]["type"] == name
        example = operation["requestBody"]["content"]["application/json"]["example"]
        assert example["type"] == name
        WEBHOOK_PAYLOADS[name].model_validate(example)
    target = hooks["target_status"]["post"]["requestBody"]["content"]["application/json"]
    data_ref = schemas[target["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]["data"]["$ref"]
    assert data_ref.endswith("/TargetStatusData")  # the SSE event contract's model


def _webhook_schema_names(document) -> set[str]:
    """Every component schema a delivery payload reaches: the SSE event contract, snake_case
    like the stream (`GET /events.schema.json`)."""
    schemas = document["components"]["schemas"]
    pending = [
        item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for item in document["webhooks"].values()
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop().rsplit("/", 1)[1]
        if name in seen:
            continue
        seen.add(name)
        pending += [v for k, v in _walk(schemas[name]) if k and k[-1] == "$ref"]
    return seen


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for arg in _leaf_types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in found:
                found += _models(arg)
    return found


def _leaf_types(annotation) -> list:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [leaf for arg in args for leaf in _leaf_types(arg)]


#: Query models that must ignore unknown parameters, and why.
OPEN_MODELS = {
    "CallbackQuery": "OAuth redirects append parameters of the network's choosing (scope, iss)",
}
#: Response models whose snake_case keys are not ours to change.
OPEN_MODELS["EventSchemaDocument"] = "a JSON Schema document"


def test_request_models_refuse_unknown_fields_and_cap_lengths():
    """Strict input everywhere: unknown fields are errors, every string and list is capped."""
    for spec in REGISTRY:
        for root in (spec.body, spec.query):
            if root is None:
                continue
            for model in _models(root):
                if model.__name__ not in OPEN_MODELS:
                    assert model.model_config.get("extra") == "forbid", model.__name__
                for name, field in model.model_fields.items():
                    leaves = _leaf_types(field.annotation)
                    origin = typing.get_origin(field.annotation)
                    caps = [m for m in field.metadata if hasattr(m, "max_length")]
                    if (
                        str in leaves
                        or origin is list
                        or (isinstance(origin, type) and issubclass(origin, types.GenericAlias))
                    ):
                        assert caps, f"{model.__name__}.{name} needs max_length"


# --- The document is fit for SDK generation (issue 17 item 5) -----------------------------------


def _walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def test_every_field_and_parameter_is_described(document):
    missing = []
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name}.{prop}")
        if not schema.get("description"):
            missing.append(name)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation["parameters"]:
                if not parameter.get("description"):
                    missing.append(f"{method} {path} {parameter['name']}")
    assert not missing, missing


def test_descriptions_are_markdown_not_restructuredtext(document):
    text = json.dumps(document)
    assert "``" not in text
    for role in (":mod:", ":class:", ":func:"):
        assert role not in text


def test_every_request_and_response_has_an_example(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is not None:
                assert "example" in body["content"]["application/json"], (method, path)
            for status, response in operation["responses"].items():
                for content in response.get("content", {}).values():
                    assert "example" in content, (method, path, status)
            for parameter in operation["parameters"]:
                if parameter["in"] != "query" or parameter["name"] in {"cursor"}:
                    continue
                assert "example" in parameter or not parameter["required"], (path, parameter)


def test_examples_are_valid_for_their_models():
    """The examples of the document are accepted by the very models the API validates with."""
    for spec in REGISTRY:
        models = [spec.body, spec.query, *spec.responses.values()]
        for root in [m for m in models if m is not None]:
            for model in _models(root):
                example = getattr(model, "example", None)
                if example is None:
                    continue
                if model.model_config.get("strict"):
                    model.model_validate_json(json.dumps(example), strict=True)
                else:
                    model.model_validate(example)


def test_timestamps_are_date_time_and_enums_are_enums(document):
    schemas = document["components"]["schemas"]
    for name, prop in [
        ("PostOut", "createdAt"),
        ("TargetOut", "nextAttemptAt"),
        ("MultipostIn", "scheduleAt"),
        ("SseTokenOut", "expiresAt"),
    ]:
        spec = schemas[name]["properties"][prop]
        formats = [s.get("format") for s in spec.get("anyOf", [spec])]
        assert "date-time" in formats, (name, prop)
    assert schemas["UploadUrlIn"]["properties"]["kind"]["enum"] == ["IMAGE", "VIDEO", "REEL"]
    assert "x" in schemas["TargetIn"]["properties"]["platform"]["enum"]
    assert "TEXT_TOO_LONG" in schemas["FieldProblemOut"]["properties"]["code"]["enum"]
    assert "STRING_TYPE" not in schemas["FieldProblemOut"]["properties"]["code"]["enum"]
    assert "VALIDATION_FAILED" in schemas["Problem"]["properties"]["code"]["enum"]
    assert document["servers"]


def test_json_is_camel_case_with_deprecated_snake_case_aliases(document):
    event_contract = _webhook_schema_names(document)
    assert {"TargetStatusData", "PingData", "WebhookDisabledNotification"} <= event_contract
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            if "_" in prop and name not in OPEN_MODELS and name not in event_contract:
                assert spec.get("deprecated") is True, f"{name}.{prop} is snake_case"
    target = document["components"]["schemas"]["TargetOut"]["properties"]
    assert target["target_id"]["deprecated"] is True
    assert "targetId" in document["components"]["schemas"]["TargetOut"]["required"]
    assert "target_id" not in document["components"]["schemas"]["TargetOut"]["required"]


def test_every_date_of_every_request_model_is_bounded():
    """Every date a body or query string takes goes through the 2000..2200 bound (a 422, never
    an overflow), whoever declares the route."""
    for spec in REGISTRY:
        for root in (spec.body, spec.query):
            if root is None:
                continue
            for model in _models(root):
                for name, field in model.model_fields.items():
                    if datetime in _leaf_types(field.annotation):
                        validators = [
                            getattr(m, "func", None) for m in field.metadata + _annotated(field)
                        ]
                        assert _bounded in validators, f"{model.__name__}.{name} is not bounded"


def _annotated(field) -> list:
    out = []
    for arg in typing.get_args(field.annotation):
        out += list(getattr(arg, "__metadata__", ()))
    return out


def test_request_bodies_are_strict():
    for spec in REGISTRY:
        if spec.body is not None:
            for model in _models(spec.body):
                assert model.model_config.get("strict") is True, model.__name__
