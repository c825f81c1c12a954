import json

from pydantic import BaseModel, ValidationError

from sharecast.api.problems import problem_response, pydantic_problems
from sharecast.errors import FieldProblem, RateLimited, ValidationFailed


def test_problem_json_shape():
    error = ValidationFailed(
        "bad", errors=[FieldProblem("platforms[0].content", "TOO_LONG", "too long", 0)]
    )
    response = problem_response(error)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data())
    assert body == {
        "type": "https://sharecast.dev/problems/validation-failed",
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
