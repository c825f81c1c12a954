import ast
import json
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sharecast.api.openapi import problem_codes
from sharecast.api.problems import problem_response, pydantic_problems
from sharecast.errors import (
    DEFAULT_DOCS_BASE_URL,
    FIELD_CODES,
    FieldProblem,
    RateLimited,
    ValidationFailed,
    problem_anchor,
    problem_body,
    problem_type,
)


def test_problem_json_shape():
    error = ValidationFailed(
        "bad", errors=[FieldProblem("platforms[0].content", "TOO_LONG", "too long", 0)]
    )
    response = problem_response(error)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data())
    assert body == {
        "type": DEFAULT_DOCS_BASE_URL + "/problems.md#validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "bad",
        "code": "VALIDATION_FAILED",
        "errors": [
            {
                "field": "platforms[0].content",
                "code": "TOO_LONG",
                "message": "too long",
                "target": 0,
            }
        ],
    }


def test_headers_are_passed():
    response = problem_response(RateLimited("slow", headers={"Retry-After": "3"}))
    assert response.headers["Retry-After"] == "3"


def test_pydantic_locations_become_paths():
    class Inner(BaseModel):
        platform: str

    class Outer(BaseModel):
        platforms: list[Inner]

    try:
        Outer.model_validate({"platforms": [{"platform": "x"}, {}]})
    except ValidationError as exc:
        problems = pydantic_problems(exc)
    assert [(p.field, p.target) for p in problems] == [("platforms[1].platform", 1)]


def test_contention_tells_when_to_try_again():
    from sharecast.errors import Contention

    response = problem_response(Contention("post p kept changing"))
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert json.loads(response.get_data())["code"] == "CONTENTION"
    assert Contention("x", headers={"Retry-After": "5"}).headers["Retry-After"] == "5"


def test_pydantic_error_types_become_codes_of_our_vocabulary():
    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid")

        when: datetime
        size: int
        name: str = Field(max_length=3)

    try:
        Model.model_validate_json(
            '{"when": "2030-01-01", "size": "1", "name": 5, "x": 1}', strict=True
        )
    except ValidationError as exc:
        problems = {p.field: p.code for p in pydantic_problems(exc)}
    assert problems == {
        "when": "INVALID_DATETIME",
        "size": "WRONG_TYPE",
        "name": "WRONG_TYPE",
        "x": "UNKNOWN_FIELD",
    }
    assert set(problems.values()) <= FIELD_CODES


def test_every_field_code_and_problem_code_has_its_entry_in_docs_problems():
    page = (Path(__file__).resolve().parents[3] / "docs" / "problems.md").read_text()
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', page))
    for code in sorted(FIELD_CODES) + problem_codes():
        assert problem_anchor(code) in anchors, f"docs/problems.md lacks {code}"
        assert problem_type(code).endswith(f"/problems.md#{problem_anchor(code)}")
    section = page[page.index("## Field problems") :]
    listed = set(re.findall(r'^- (?:<a id="[a-z0-9-]+"></a>)?`([A-Z_]+)`', section, re.M))
    assert listed == FIELD_CODES, "the Field problems list of docs/problems.md and FIELD_CODES"


def test_the_type_base_is_configurable():
    body = problem_body(ValidationFailed("bad"), docs_base_url="https://docs.example/sharecast/")
    assert body["type"] == "https://docs.example/sharecast/problems.md#validation-failed"


def test_every_field_problem_the_code_raises_is_in_the_vocabulary():
    """A literal code in any ``FieldProblem(...)`` or ``field_error(...)`` of the functions."""
    root = Path(__file__).resolve().parents[3] / "functions" / "sharecast"
    used: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
                "FieldProblem",
                "field_error",
            }:
                args = node.args[1:2] if node.func.id == "FieldProblem" else node.args[:1]  # type: ignore[attr-defined]
                used |= {str(a.value) for a in args if isinstance(a, ast.Constant)}
    assert used, "the scan found nothing"
    assert used <= FIELD_CODES, sorted(used - FIELD_CODES)
