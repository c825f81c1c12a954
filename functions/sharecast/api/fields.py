"""Conventions of every request and response model of the HTTP API (docs/api.md#conventions).

Every model a route declares (``api.routes.route``) is built from these parts, so the OpenAPI
document an SDK is generated from says exactly what the API does:

- **camelCase JSON** everywhere. :class:`ApiOut` (responses) may list in ``deprecated_aliases``
  the camelCase fields that were emitted in snake_case before API 1.1: the old key is still
  emitted next to the new one, marked ``deprecated: true`` in the document, until 2.0.
- **Descriptions** on every model (its docstring) and every field (``Field(description=...)``),
  written in Markdown: single backticks, no reStructuredText. ``example`` (a class variable) is
  the example of the model in the document; a test validates it against the model.
- **Strict request bodies** (:class:`ApiModel`): unknown fields are refused and JSON types are
  not coerced (no ``"true"`` for a boolean, ``"100"`` for an integer, a number for a date).
- **Query strings** (:class:`QueryModel`) are strings by nature and parsed explicitly:
  :data:`QueryInt` (decimal digits only), :data:`QueryDatetime` (RFC 3339 with an offset).
- **Dates** in requests are :data:`BoundedDatetime` (or :data:`QueryDatetime`): RFC 3339 with an
  offset, between 2000-01-01 and 2200-01-01 UTC, else a 422 (never an overflow); in responses
  :data:`Timestamp` (RFC 3339 UTC with milliseconds, ``format: date-time``).
- **Errors** of a field carry a code of our vocabulary (:data:`sharecast.errors.FIELD_CODES`):
  a custom check raises :func:`field_error` with one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_snake
from pydantic_core import PydanticCustomError, core_schema

from sharecast.errors import FIELD_CODES
from sharecast.timeutil import isoformat

#: Instants outside these bounds are refused (422): nothing Sharecast stores is older, and
#: converting extreme values between offsets would overflow ``datetime``.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: The API version in which the deprecated snake_case aliases of responses disappear.
ALIASES_REMOVED_IN = "2.0.0"


def field_error(code: str, message: str) -> PydanticCustomError:
    """A validation error of one field with ``code`` from :data:`FIELD_CODES` (raise it in a
    validator; ``api.problems`` renders it as that code)."""
    if code not in FIELD_CODES:
        raise ValueError(f"{code} is not a field problem code of docs/problems.md")
    return PydanticCustomError(code, message)


def document_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """Add the model's ``example`` and its deprecated aliases to its JSON Schema."""
    example = getattr(cls, "example", None)
    if example is not None:
        schema["examples"] = [example]
    properties = schema.get("properties", {})
    for name in getattr(cls, "deprecated_aliases", ()):
        properties[to_snake(name)] = {
            **properties[name],
            "deprecated": True,
            "description": (
                f"Deprecated alias of `{name}` (the snake_case name of API 1.0); "
                f"removed in {ALIASES_REMOVED_IN}."
            ),
        }


class ApiModel(BaseModel):
    """Request body: unknown fields are refused, JSON types are never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=document_schema)

    #: The model's example in the OpenAPI document (validated against the model by a test).
    example: ClassVar[dict[str, Any] | None] = None


class QueryModel(BaseModel):
    """Query string: unknown parameters are refused; every non-string parameter is parsed
    explicitly (:data:`QueryInt`, :data:`QueryDatetime`) or is an enum of strings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    example: ClassVar[dict[str, Any] | None] = None


class ApiOut(BaseModel):
    """Response body: exactly these fields (a handler answering more is a server bug).

    Handlers may build it from records whose keys are snake_case (``target_id``): the snake_case
    spelling of a field is read as the field. ``deprecated_aliases`` are emitted twice (see the
    module docstring)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=document_schema)

    example: ClassVar[dict[str, Any] | None] = None
    #: camelCase fields also emitted under their API 1.0 snake_case name (deprecated).
    deprecated_aliases: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_snake_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls.model_fields:
            old = to_snake(name)
            if old != name and old in data:
                value = data.pop(old)
                data.setdefault(name, value)
        return data

    # No return annotation: pydantic then documents the model's own fields (an annotation,
    # even ``Any``, would replace the response schema by it).
    @model_serializer(mode="wrap")
    def _with_aliases(self, handler: Any):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name in self.deprecated_aliases:
                data[to_snake(name)] = data[name]
        return data


def _bounded(value: datetime) -> datetime:
    """``value`` in UTC; a ``DATE_OUT_OF_RANGE`` field error outside 2000..2200 (UTC)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise field_error("DATE_OUT_OF_RANGE", "the date is out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise field_error(
            "DATE_OUT_OF_RANGE", "the date must be between 2000-01-01 and 2200-01-01 (UTC)"
        )
    return utc


_DATE_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "examples": ["2030-01-01T09:00:00Z"],
}

#: A date in a request body: RFC 3339 with an offset, 2000-01-01..2200-01-01 UTC; converted
#: to UTC.
BoundedDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_bounded),
    WithJsonSchema(
        {
            **_DATE_SCHEMA,
            "description": "RFC 3339 with an offset (`Z` or `+01:00`), 2000-01-01..2200-01-01 UTC",
        }
    ),
]

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)


def _parse_query_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise field_error(
            "INVALID_DATETIME", "expected an RFC 3339 date-time, e.g. 2030-01-01T09:00:00Z"
        )
    if match.group("offset") is None:
        raise field_error("TIMEZONE_REQUIRED", "the date needs an offset: Z or +01:00")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise field_error("INVALID_DATETIME", "not a valid date-time") from None


#: A date in a query string (``from=2030-01-01T09:00:00Z``; encode ``+`` as ``%2B``), bounded
#: like :data:`BoundedDatetime`.
QueryDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_parse_query_datetime),
    AfterValidator(_bounded),
    WithJsonSchema(
        {
            **_DATE_SCHEMA,
            "description": "RFC 3339 with an offset, 2000-01-01..2200-01-01 UTC; "
            "encode `+` as `%2B`",
        }
    ),
]


def _parse_query_int(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,9}", value):
            raise field_error("WRONG_TYPE", "expected a whole number in decimal digits")
        return int(value)
    return value


#: An integer in a query string: decimal digits only (no sign, spaces, exponent or fraction).
QueryInt = Annotated[int, BeforeValidator(_parse_query_int)]


def _timestamp_json(value: datetime) -> str:
    return isoformat(value) or ""


#: A timestamp in a response: RFC 3339 in UTC with milliseconds (``2030-01-01T09:00:00.000Z``).
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(_timestamp_json, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


@dataclass(frozen=True)
class OneOf:
    """Annotation of a string field that must be one of ``values`` (an ``enum`` in the
    document); anything else is the field error ``code`` naming the allowed values::

        platform: Annotated[str, OneOf(("x", "facebook"), code="UNKNOWN_PLATFORM", what="platform")]
    """

    values: tuple[str, ...]
    code: str
    what: str
    #: Accept any letter case (the value is kept as sent; the caller normalises it).
    any_case: bool = False

    def _check(self, value: str) -> str:
        if (value.lower() if self.any_case else value) not in self.values:
            raise field_error(self.code, f"{self.what} must be one of: {', '.join(self.values)}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        result: dict[str, Any] = handler(schema)
        result["enum"] = list(self.values)
        return result
