"""Every route is declared once (``api.routes.route``) and therefore documented, protected and
rate limited. These tests walk the real Flask app, so a route added without a declaration, or
a declaration missing from the OpenAPI document, fails here."""

from __future__ import annotations

import types
import typing

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, SecretStr

from sharecast.api import create_app
from sharecast.api.openapi import build_document, error_statuses
from sharecast.api.routes import REGISTRY, Route
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
    return build_document(REGISTRY)


def declared(app) -> dict[tuple[str, str], Route]:
    return {(r.method, r.flask_rule): r for r in REGISTRY if r.endpoint in app.view_functions}


def app_routes(app) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
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
    public = {"/healthz", "/openapi.json", "/events.schema.json"}
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
