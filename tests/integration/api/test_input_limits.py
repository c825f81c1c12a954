"""Input limits of the running api: body cap (413), JSON only (415), strict JSON (400),
unknown fields and over-long strings (422)."""

from __future__ import annotations

import pytest

from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")


def test_limits(user_id):
    api = ApiClient(PORTS, user_id)
    big = api.post(
        "/posts/multipost",
        data=b'{"content": "' + b"a" * 1_100_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413, big.text
    assert big.headers["Content-Type"].startswith("application/problem+json")
    form = api.post("/posts/multipost", data="content=hi", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    nan = api.post(
        "/posts/multipost",
        data=b'{"content": NaN, "platforms": [{"platform": "x"}]}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 400
    unknown = api.post(
        "/posts/multipost", json={"content": "a", "platforms": [{"platform": "x"}], "admin": True}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "admin"
    long_id = api.post(
        "/posts/multipost",
        json={"content": "a", "platforms": [{"platform": "x", "accountId": "9" * 200}]},
    )
    assert long_id.status_code == 422
