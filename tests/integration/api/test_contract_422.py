"""422s a form can use, strict bodies, bounded dates and duplicate accounts, over real HTTP
against the stack (issue 18 item 6, issue 14 items 2, 7, 8, 11).

Every answer is checked for what a client builds on: one round with every problem, codes of
our own vocabulary (``FIELD_CODES``), the field the user filled, and nothing stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import FIELD_CODES
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def problems(response, status: int = 422) -> list[tuple[str, str]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert {e["code"] for e in body.get("errors", [])} <= FIELD_CODES, body
    return sorted((e["field"], e["code"]) for e in body.get("errors", []))


def stored_posts(user_id: str) -> int:
    posts = (
        Clients(Settings())
        .firestore.collection("posts")
        .where(filter=FieldFilter("user_id", "==", user_id))
    )
    return len(list(posts.stream()))


def test_type_errors_and_rule_errors_come_in_one_round(api: ApiClient, user_id: str):
    body = {
        "content": "x" * 300,
        "platforms": [{"platform": "x"}, {"platform": "whatsapp"}, {"platform": 7}],
        "scheduleAt": "2030-01-01",
        "draft": "true",
    }
    found = problems(api.post("/posts/multipost", json=body))
    assert ("content", "TEXT_TOO_LONG") in found  # the field the user filled, not platforms[0]
    assert ("platforms[1].platform", "SHARE_LINK_ONLY") in found
    assert ("platforms[2].platform", "WRONG_TYPE") in found
    assert ("scheduleAt", "INVALID_DATETIME") in found
    assert ("draft", "WRONG_TYPE") in found
    assert stored_posts(user_id) == 0


def test_override_problems_point_at_the_override(api: ApiClient):
    body = {"content": "fine", "platforms": [{"platform": "x", "content": "y" * 281}]}
    assert problems(api.post("/posts/multipost", json=body)) == [
        ("platforms[0].content", "TEXT_TOO_LONG")
    ]


def test_no_coercion_in_bodies(api: ApiClient, user_id: str):
    unix = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    body = {"content": "hi", "platforms": [{"platform": "x"}], "scheduleAt": unix}
    assert problems(api.post("/posts/multipost", json=body)) == [("scheduleAt", "WRONG_TYPE")]
    body = {"content": "hi", "platforms": [{"platform": "x"}], "allowLate": "false"}
    assert problems(api.post("/posts/multipost", json=body)) == [("allowLate", "WRONG_TYPE")]
    upload: dict[str, object] = {
        "fileName": "a.png",
        "mimeType": "image/png",
        "size": "100",
        "kind": "IMAGE",
    }
    assert problems(api.post("/media/upload-url", json=upload)) == [("size", "WRONG_TYPE")]
    upload = {**upload, "size": 100, "kind": "image"}
    assert problems(api.post("/media/upload-url", json=upload)) == [("kind", "UNKNOWN_KIND")]
    assert stored_posts(user_id) == 0


def test_malformed_json_has_errors_with_the_position(api: ApiClient):
    response = api.post(
        "/posts/multipost",
        data=b'{"content": "hi",\n "platforms": [}',
        headers={"Content-Type": "application/json"},
    )
    assert problems(response, 400) == [("body", "MALFORMED_JSON")]
    assert "line 2, column 16" in response.json()["errors"][0]["message"]
    response = api.post(
        "/posts/multipost",
        data=b'{"content": "a", "content": "b"}',
        headers={"Content-Type": "application/json"},
    )
    assert problems(response, 400) == [("body", "DUPLICATE_KEY")]


def test_the_same_account_twice_after_resolution_is_refused(api: ApiClient, user_id: str):
    first = api.post("/posts/multipost", json={"content": "a", "platforms": [{"platform": "x"}]})
    assert first.status_code == 202, first.text
    account = first.json()["results"][0]["accountId"]
    body = {
        "content": "b",
        "platforms": [{"platform": "x"}, {"platform": "x", "accountId": account}],
    }
    response = api.post("/posts/multipost", json=body)
    assert problems(response) == [("platforms[1]", "DUPLICATE_TARGET")]
    message = response.json()["errors"][0]["message"]
    assert "platforms[0]" in message
    assert "platforms[1]" in message
    assert stored_posts(user_id) == 1


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01T00:00:00%2B14:00",
        "to=9999-12-31T23:59:59-14:00",
        "from=1700000000",
        "from=2030-01-01T00:00:00",
        "limit=1e2",
    ],
)
def test_list_queries_are_parsed_and_bounded(api: ApiClient, query: str):
    found = problems(api.get(f"/posts?{query}"))
    assert len(found) == 1
    assert found[0][1] in {
        "DATE_OUT_OF_RANGE",
        "INVALID_DATETIME",
        "TIMEZONE_REQUIRED",
        "WRONG_TYPE",
    }


#: Every date parameter of the document: (method, path, where, name).
DATE_PARAMETERS = [
    ("GET", "/posts", "query", "from"),
    ("GET", "/posts", "query", "to"),
    ("GET", "/analytics/summary", "query", "from"),
    ("GET", "/analytics/summary", "query", "to"),
    ("POST", "/posts/multipost", "body", "scheduleAt"),
]


def test_the_date_parameter_list_is_the_documents(api: ApiClient):
    """Every date-time query parameter of the document is in DATE_PARAMETERS (add yours)."""
    document = api.get("/openapi.json", token="").json()
    found = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation["parameters"]:
                schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
                if any(s.get("format") == "date-time" for s in schemas):
                    found.add((method.upper(), path, "query", parameter["name"]))
    assert found == {p for p in DATE_PARAMETERS if p[2] == "query"}


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: ("+" if m >= 0 else "-") + f"{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
instants = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(parameter=st.sampled_from(DATE_PARAMETERS), instant=instants, offset=offsets)
def test_any_date_in_any_date_parameter_is_never_a_500(parameter, instant, offset):
    """Property: every RFC 3339 date in every date parameter answers 2xx or 422, never 5xx;
    out of 2000..2200 UTC it is 422 DATE_OUT_OF_RANGE."""
    api = ApiClient(PORTS, f"dates-{uuid.uuid4().hex[:10]}")  # a user each: no rate limit
    method, path, where, name = parameter
    text = instant.isoformat(timespec="seconds") + offset
    if where == "query":
        response = api.get(path, params={name: text})
    else:
        body = {"content": "d", "platforms": [{"platform": "x"}], name: text, "draft": True}
        response = api.request(method, path, json=body)
    assert response.status_code < 500, response.text
    utc = datetime.fromisoformat(text).astimezone(UTC) if 1 < instant.year < 9999 else None
    if utc is None or not datetime(2000, 1, 1, tzinfo=UTC) <= utc <= datetime(
        2200, 1, 1, tzinfo=UTC
    ):
        assert response.status_code == 422, response.text
        assert (name, "DATE_OUT_OF_RANGE") in problems(response)
