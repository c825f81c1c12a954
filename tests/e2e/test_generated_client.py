"""A typed client generated from the running API's `/openapi.json` (openapi-python-client,
requirements-dev.txt) creates a post, reads it back, lists it and gets a 422, so the document
cannot drift from what a generated SDK needs: every answer must parse into the generated
models (enums, `date-time` fields, problem codes included)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
import requests

from sharecast.auth import issue_dev_token
from sharecast.config import Settings
from tests.conftest import PORTS

BASE = f"http://127.0.0.1:{PORTS.api}"
PACKAGE = "sharecast_client"
CONFIG = (
    f"package_name_override: {PACKAGE}\nproject_name_override: sharecast-client\n"
    "post_hooks: []\n"  # the client is imported as generated, not reformatted
)


@pytest.fixture(scope="module")
def client_package(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from the document the stack serves (a few seconds)."""
    workdir = tmp_path_factory.mktemp("generated-client")
    document = workdir / "openapi.json"
    document.write_bytes(requests.get(f"{BASE}/openapi.json", timeout=60).content)
    (workdir / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            *(str(generator), "generate", "--path", str(document), "--meta", "none"),
            *("--output-path", str(workdir / PACKAGE), "--config", str(workdir / "config.yaml")),
        ],
        check=True,
        cwd=workdir,
        timeout=300,
    )
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.mark.usefixtures("clean_stack")
def test_the_generated_client_creates_reads_lists_and_gets_a_422(client_package, user_id):
    posts = importlib.import_module(f"{PACKAGE}.api.posts")
    models = importlib.import_module(f"{PACKAGE}.models")
    for name in ("posts_multipost", "posts_get_post", "posts_list_own_posts"):
        importlib.import_module(f"{PACKAGE}.api.posts.{name}")
    token = issue_dev_token(Settings(), user_id=user_id, role="user")
    client = client_package.AuthenticatedClient(base_url=BASE, token=token, timeout=60)

    body = models.MultipostIn(
        content="Hello from a generated client",
        platforms=[models.TargetIn(platform=models.TargetInPlatform.X)],
    )
    created = posts.posts_multipost.sync_detailed(client=client, body=body)
    assert created.status_code == 202, created.content
    assert isinstance(created.parsed, models.MultipostOut)
    post_id = created.parsed.post_id
    assert isinstance(created.parsed.created_at, datetime)  # format: date-time → datetime

    read = posts.posts_get_post.sync_detailed(client=client, post_id=post_id)
    assert read.status_code == 200, read.content
    assert isinstance(read.parsed, models.PostOut)
    assert read.parsed.post_id == post_id
    assert read.parsed.targets[0].platform is models.Platform.X
    # Where a deprecated snake_case alias exists, the generator keeps both names as written.
    assert read.parsed.targets[0].targetId == read.parsed.targets[0].target_id

    page = posts.posts_list_own_posts.sync_detailed(client=client, limit=10)
    assert page.status_code == 200, page.content
    assert isinstance(page.parsed, models.PostListOut)
    assert [p.post_id for p in page.parsed.items] == [post_id]

    too_long = models.MultipostIn(
        content="x" * 281, platforms=[models.TargetIn(platform=models.TargetInPlatform.X)]
    )
    refused = posts.posts_multipost.sync_detailed(client=client, body=too_long)
    assert refused.status_code == 422, refused.content
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code is models.ProblemCode.VALIDATION_FAILED
    [problem] = refused.parsed.errors
    assert problem.field == "content"
    assert problem.code is models.FieldProblemOutCode.TEXT_TOO_LONG
    assert refused.parsed.type_.endswith("/problems.md#validation-failed")
