"""Token refresh in the publisher against the real emulators and the sandbox's OAuth endpoints:
proactive, forced after an auth error, serialized between concurrent publishers (the sandbox
refuses a reused X refresh token), needs_reauth with a notification, key rotation, and no token
in any log."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import requests
from google.api_core.exceptions import NotFound as TaskNotFound
from google.cloud import tasks_v2
from pydantic import SecretStr

from infra.localenv import DEV_TOKEN_KEY
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.oauth.refresh import Credentials
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.publisher.pipeline import run_attempt
from sharecast.shares.outcome import sync_share_target
from sharecast.store import posts as posts_store
from sharecast.store.connections import get_connection
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault, VaultError
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.oauth import SandboxOAuth, connect
from tests.support.sandbox import Sandbox

QUEUE = "publish-direct"
SANDBOX = f"http://127.0.0.1:{PORTS.sandbox}"


@pytest.fixture
def settings() -> Settings:
    return Settings(tasks_queue=QUEUE, backoff_base_s=0.2, backoff_jitter=0)


def build(settings: Settings) -> AppContext:
    clients = Clients(settings)
    parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
    try:
        clients.tasks.get_queue(name=settings.queue_path)
    except TaskNotFound:
        clients.tasks.create_queue(parent=parent, queue=tasks_v2.Queue(name=settings.queue_path))
    clients.tasks.pause_queue(name=settings.queue_path)
    return AppContext(settings=settings, clients=clients, outcome_consumers=(sync_share_target,))


@pytest.fixture
def pub(clean_stack, settings: Settings) -> AppContext:
    publisher = build(settings)
    publisher.tasks.purge_queue(name=settings.queue_path)
    return publisher


@pytest.fixture
def oauth(clean_stack) -> SandboxOAuth:
    return SandboxOAuth(SANDBOX)


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def post_to(pub: AppContext, user_id: str, conn: dict, text: str):
    post, targets = create_post(
        pub,
        user_id=user_id,
        request=PostInput(
            content=text,
            targets=[TargetInput(platform=conn["platform"], account_id=conn["accountId"])],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    return post.id, targets[0].id


def run(pub: AppContext, post_id: str, target_id: str):
    report = run_attempt(pub, task=PublishTask(post_id=post_id, target_id=target_id, attempt=1))
    _, targets = posts_store.get_post(pub.db, post_id)
    return report, targets[0]


def tokens_of(pub: AppContext, conn_id: str) -> tuple[str, str | None]:
    record = get_connection(pub.db, conn_id)
    access = pub.vault.decrypt(record.access_token_enc, context=conn_id)
    refresh = (
        pub.vault.decrypt(record.refresh_token_enc, context=conn_id)
        if record.refresh_token_enc
        else None
    )
    return access, refresh


def test_proactive_refresh_before_expiry(pub, oauth, api, user_id):
    oauth.settings(access_token_ttl_s=60)  # expires within the 300 s skew: refresh first
    conn = connect(api, "x", sandbox_user=user_id)[0]
    before = get_connection(pub.db, conn["id"])
    old_access, old_refresh = tokens_of(pub, conn["id"])
    post_id, target_id = post_to(pub, user_id, conn, "proactive refresh")
    report, target = run(pub, post_id, target_id)
    assert report.status == "SUCCESS", target.error
    assert oauth.stats()["refreshes"] == {"x": 1}
    after = get_connection(pub.db, conn["id"])
    assert after.version == before.version + 1
    assert after.refresh_lease_id is None
    new_access, new_refresh = tokens_of(pub, conn["id"])
    assert new_access != old_access
    assert new_refresh != old_refresh
    # The next attempt within the lifetime refreshes again (60 s < skew) but never reuses.
    post_id, target_id = post_to(pub, user_id, conn, "second post")
    assert run(pub, post_id, target_id)[0].status == "SUCCESS"
    assert oauth.stats()["reuse_rejected"] == {}


def test_forced_refresh_and_retry_after_an_auth_error(pub, oauth, api, user_id):
    conn = connect(api, "x", sandbox_user=user_id)[0]
    assert oauth.expire(platform="x") >= 1  # the platform now rejects the stored token
    post_id, target_id = post_to(pub, user_id, conn, "forced refresh")
    report, target = run(pub, post_id, target_id)
    assert report.status == "SUCCESS", target.error
    assert target.attempts == 1
    assert oauth.stats()["refreshes"] == {"x": 1}
    assert len(Sandbox(SANDBOX).ledger(platform="x")) == 1


@pytest.mark.parametrize("platform", ["threads", "linkedin", "x", "youtube"])
def test_each_network_refreshes_through_its_token_endpoint(pub, oauth, api, user_id, platform):
    oauth.settings(access_token_ttl_s=60)
    conn = connect(api, platform, sandbox_user=user_id)[0]
    old_access, old_refresh = tokens_of(pub, conn["id"])
    credentials = Credentials.of(pub)
    token = credentials.access_token(get_connection(pub.db, conn["id"]))
    assert token != old_access
    assert (token, tokens_of(pub, conn["id"])[0]) == (token, token)
    assert oauth.stats()["refreshes"] == {platform: 1}
    new_refresh = tokens_of(pub, conn["id"])[1]
    assert (new_refresh != old_refresh) is (platform == "x")  # only X rotates
    # A refresh refused by the platform (revoked) ends in needs_reauth, not an exception loop.
    oauth.revoke(platform=platform)
    with pytest.raises(Exception, match="NEEDS_REAUTH"):
        credentials.access_token(get_connection(pub.db, conn["id"]))
    assert get_connection(pub.db, conn["id"]).status == "NEEDS_REAUTH"


def test_auth_error_on_a_sandbox_auto_connection_refreshes_locally(pub, user_id):
    sandbox = Sandbox(SANDBOX)
    post, targets = create_post(
        pub,
        user_id=user_id,
        request=PostInput(
            content="auto connection",
            targets=[TargetInput(platform="facebook")],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    sandbox.fault(platform="facebook", kind="token_expired", times=1)
    report, target = run(pub, post.id, targets[0].id)
    assert report.status == "SUCCESS", target.error


@pytest.mark.parametrize(("platform", "how"), [("x", "revoke"), ("facebook", "expire")])
def test_unrefreshable_connection_needs_reauth_and_notifies(
    pub, oauth, api, user_id, platform, how
):
    conn = connect(api, platform, sandbox_user=user_id)[0]
    if how == "revoke":
        oauth.revoke(platform=platform)  # the next refresh gets invalid_grant
        oauth.expire(platform=platform)
    else:
        oauth.expire(platform=platform)  # Page tokens have no refresh grant
    post_id, target_id = post_to(pub, user_id, conn, f"needs reauth {platform}")
    report, target = run(pub, post_id, target_id)
    assert report.status == "FAILED"
    assert target.error is not None
    assert (target.error.code, target.error.retryable) == ("NEEDS_REAUTH", False)
    assert get_connection(pub.db, conn["id"]).status == "NEEDS_REAUTH"
    events = [
        d.to_dict()
        for d in pub.db.collection("users").document(user_id).collection("events").stream()
    ]
    notes = [
        e
        for e in events
        if e["type"] == "notification" and e["data"]["kind"] == "connection_needs_reauth"
    ]
    assert len(notes) == 1
    # The target failing for good sends its own notification too (lifecycle,
    # docs/semantics.md#events-and-replay).
    failed = [e for e in events if e["type"] == "notification" and e not in notes]
    assert [e["data"]["kind"] for e in failed] == ["target_failed"]
    data = notes[0]["data"]
    assert data["kind"] == "connection_needs_reauth"
    assert (data["connection_id"], data["platform"]) == (conn["id"], platform)
    assert notes[0]["published_at"] is not None  # reached Pub/Sub
    listed = api.get("/connections").json()["connections"]
    assert [c["status"] for c in listed if c["id"] == conn["id"]] == ["needs_reauth"]
    # Authorizing again makes it usable.
    connect(api, platform, sandbox_user=user_id)
    assert get_connection(pub.db, conn["id"]).status == "ACTIVE"


def test_two_publishers_refresh_a_rotating_token_once(pub, settings, oauth, api, user_id, caplog):
    caplog.set_level(logging.INFO, logger="sharecast.oauth.refresh")
    oauth.settings(access_token_ttl_s=60)  # both publishers find it expiring: both need a refresh
    conn = connect(api, "x", sandbox_user=user_id)[0]
    oauth.settings(access_token_ttl_s=None, token_latency_ms=1500)  # a slow token endpoint
    work = [post_to(pub, user_id, conn, f"concurrent {i}") for i in range(2)]
    publishers = [pub, build(settings)]  # two publishers, each with its own clients
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def go(i: int) -> None:
        barrier.wait()
        results[i] = run(publishers[i], *work[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r[0].status for r in results] == ["SUCCESS", "SUCCESS"], [r[1].error for r in results]
    stats = oauth.stats()
    assert stats["refreshes"] == {"x": 1}
    assert stats["reuse_rejected"] == {}
    # They overlapped: one refreshed while the other waited for the lease, then used its token.
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("refreshing connection token") == 1
    assert messages.count("waiting for another refresher") == 1
    assert get_connection(pub.db, conn["id"]).status == "ACTIVE"
    assert len(Sandbox(SANDBOX).ledger(platform="x")) == 2


def test_sandbox_refuses_a_reused_rotated_refresh_token(pub, oauth, api, user_id):
    """The hazard the lease prevents: a second use of a rotated refresh token fails and takes
    the whole token family with it."""
    conn = connect(api, "x", sandbox_user=user_id)[0]
    _, refresh = tokens_of(pub, conn["id"])
    auth = ("sandbox-x-client", "sandbox-x-secret-not-for-production")
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    first = requests.post(f"{SANDBOX}/2/oauth2/token", data=form, auth=auth, timeout=5)
    assert first.status_code == 200
    reused = requests.post(f"{SANDBOX}/2/oauth2/token", data=form, auth=auth, timeout=5)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    newer = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    family = requests.post(f"{SANDBOX}/2/oauth2/token", data=newer, auth=auth, timeout=5)
    assert family.status_code == 400
    assert oauth.stats()["reuse_rejected"] == {"x": 1}


def test_key_rotation_old_key_decrypts_new_writes_use_the_new_key(oauth, api, user_id, settings):
    conn = connect(api, "x", sandbox_user=user_id)[0]  # encrypted by the api with "local"
    new_key = TokenVault.generate_key()
    rotated = settings.model_copy(
        update={"token_encryption_keys": SecretStr(f"k2:{new_key},{DEV_TOKEN_KEY}")}
    )
    publisher = build(rotated)
    before = get_connection(publisher.db, conn["id"])
    assert before.access_token_enc.startswith("v1.local.")
    oauth.expire(platform="x")
    post_id, target_id = post_to(publisher, user_id, conn, "rotation")
    assert run(publisher, post_id, target_id)[0].status == "SUCCESS"
    after = get_connection(publisher.db, conn["id"])
    assert after.access_token_enc.startswith("v1.k2.")
    assert after.refresh_token_enc is not None
    assert after.refresh_token_enc.startswith("v1.k2.")
    with pytest.raises(VaultError):
        TokenVault.from_settings(settings).decrypt(after.access_token_enc, context=conn["id"])


def test_tokens_never_reach_logs_errors_or_responses(pub, oauth, api, user_id, caplog, stack):
    caplog.set_level(logging.DEBUG)
    conn = connect(api, "x", sandbox_user=user_id)[0]
    seen = set(filter(None, tokens_of(pub, conn["id"])))
    oauth.expire(platform="x")
    post_id, target_id = post_to(pub, user_id, conn, "log scan")
    assert run(pub, post_id, target_id)[0].status == "SUCCESS"
    seen |= set(filter(None, tokens_of(pub, conn["id"])))
    oauth.revoke(platform="x")
    oauth.expire(platform="x")
    post_id, target_id = post_to(pub, user_id, conn, "log scan 2")
    _report, target = run(pub, post_id, target_id)
    assert target.error is not None
    assert target.error.code == "NEEDS_REAUTH"
    responses = api.get("/connections").text + api.get(f"/posts/{post_id}").text
    logs = caplog.text + "".join(
        Path(f).read_text(errors="replace") for f in sorted(Path(stack.logs).glob("*.log"))
    )
    assert len(seen) == 4
    for token in seen:
        assert token not in logs
        assert token not in responses
        assert token not in target.error.message
    assert "sbxrt_" not in logs
