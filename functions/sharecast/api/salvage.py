"""What parsed of an invalid request body, so rule checks can run in the same round.

A 422 lists every problem at once: when a body fails its model, the route still runs the
rules of the route (``api.routes.route(rules=...)``) on the fields that are valid on their own,
and drops rule problems about fields that already have a type problem.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from sharecast.errors import FieldProblem


@functools.cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """``M`` for ``list[M]`` or ``list[M] | None`` with ``M`` a model, else ``None``."""
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is list:
            (item,) = typing.get_args(arg)
            if isinstance(item, type) and issubclass(item, BaseModel):
                return item
    return None


def salvage(model: type[BaseModel], data: dict[str, Any], *, whole: set[str]) -> dict[str, Any]:
    """The fields of ``data`` (a JSON object) that are valid on their own, by field name.

    A list of models keeps its indexes: each item is salvaged in turn (``None`` for an item
    that is not an object), unless the list itself is invalid (its name in ``whole``: too
    long, not a list), when it is left out."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data or key in whole:
            continue
        value = data[key]
        item_model = _item_model(field.annotation)
        if item_model is not None and isinstance(value, list):
            out[name] = [
                salvage(item_model, item, whole=set()) if isinstance(item, dict) else None
                for item in value
            ]
            continue
        try:
            out[name] = _adapter(model, name).validate_json(json.dumps(value), strict=True)
        except ValidationError:
            continue
    return out


def _covers(outer: str, inner: str) -> bool:
    """``inner`` is ``outer`` or a part of it (``platforms[0]`` covers ``platforms[0].content``)."""
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def unshadowed(rules: Iterable[FieldProblem], typed: list[FieldProblem]) -> list[FieldProblem]:
    """The rule problems about fields without a type problem (a field that has one was
    replaced by nothing for the rules, which would otherwise report it twice)."""
    return [r for r in rules if not any(_covers(t.field, r.field) for t in typed)]
