"""The app's :class:`~sharecast.app.AppContext` and request helpers shared by the blueprints."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel

from sharecast.app import AppContext
from sharecast.auth import Principal, verify_user_token
from sharecast.errors import BadRequest, FieldProblem, Unauthenticated, UnsupportedMediaType
from sharecast.ratelimit import Limiter

M = TypeVar("M", bound=BaseModel)

_EXTENSION = "sharecast"
_LIMITER = "sharecast.ratelimit"


def context() -> AppContext:
    """The context of the current app (the one :func:`install` attached)."""
    result: AppContext = current_app.extensions[_EXTENSION]
    return result


def install(app: Any, ctx: AppContext) -> None:
    """Attach ``ctx`` to ``app`` for :func:`context`, and the app's own rate
    :class:`~sharecast.ratelimit.Limiter` for :func:`limiter`."""
    app.extensions[_EXTENSION] = ctx
    app.extensions[_LIMITER] = Limiter()


def limiter() -> Limiter:
    """The rate limiter of the current app (its memory of blocked callers lives as long as the
    app: one per instance)."""
    result: Limiter = current_app.extensions[_LIMITER]
    return result


def principal() -> Principal:
    """The authenticated caller of this request (``Authorization: Bearer <JWT>``).

    Raises :class:`Unauthenticated` (401, with ``WWW-Authenticate``) when missing or invalid.
    """
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="sharecast"'}
        )
    try:
        result = verify_user_token(token.strip(), context().settings)
    except Unauthenticated as exc:
        exc.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
        raise
    g.principal = result
    return result


class _NotJson(ValueError):
    """A JSON text that parses but is not strict RFC 8259 JSON (``NaN``, a duplicate key)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _refuse_constant(name: str) -> Any:
    raise _NotJson("MALFORMED_JSON", f"{name} is not JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _NotJson("DUPLICATE_KEY", f"duplicate key {key!r}")
        result[key] = value
    return result


def _malformed(code: str, message: str) -> BadRequest:
    return BadRequest(f"malformed JSON: {message}", errors=[FieldProblem("body", code, message)])


def parse_strict_json(raw: bytes) -> Any:
    """Parse RFC 8259 JSON strictly: UTF-8, no ``NaN``/``Infinity``, no duplicate keys.

    Raises :class:`BadRequest` (400) otherwise, including nesting too deep to parse, with one
    ``errors[]`` entry (field ``body``, code ``MALFORMED_JSON`` or ``DUPLICATE_KEY``) whose
    message gives the position (line, column, character offset)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed("MALFORMED_JSON", f"not UTF-8 at byte {exc.start}") from exc
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicate_keys
        )
    except RecursionError as exc:
        raise _malformed("MALFORMED_JSON", "nested too deeply") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno} (char {exc.pos})"
        raise _malformed("MALFORMED_JSON", f"{exc.msg} at {where}") from exc
    except _NotJson as exc:
        raise _malformed(exc.code, str(exc)) from exc


def json_data() -> Any:
    """The request's JSON body, parsed strictly (:func:`parse_strict_json`).

    Raises :class:`UnsupportedMediaType` (415) for other content types, :class:`BadRequest`
    (400) for malformed JSON and ``PayloadTooLarge`` (413, from werkzeug's
    ``MAX_CONTENT_LENGTH``)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    return parse_strict_json(request.get_data(cache=True))


def json_body(model: type[M]) -> M:
    """The JSON body as ``model``: :func:`json_data`, then the model's strict JSON validation
    (no coercion of JSON types: RFC 3339 strings are the only dates). Raises pydantic's
    ``ValidationError`` (rendered as 422) for invalid fields."""
    json_data()
    return model.model_validate_json(request.get_data(cache=True), strict=True)


def query_args(model: type[M]) -> M:
    """The query string as ``model`` (unknown or repeated parameters are refused with 422)."""
    values: dict[str, Any] = {}
    for name, given in request.args.to_dict(flat=False).items():
        values[name] = given[0] if len(given) == 1 else given
    return model.model_validate(values)
