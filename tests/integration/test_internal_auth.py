"""Production identities of the internal entry points, exactly as terraform/ configures them.

Each entry point runs as deployed (a functions-framework process of ``functions/main.py``)
with the identity settings terraform gives it, resolved for a sample project, and Google's
certificates served over real HTTP on loopback (``tests/support/google_oidc.py``). Each caller's
token is minted the way its production service mints it:

- Cloud Tasks: the OIDC token our own code asks for (``sharecast.tasks.enqueue_publish`` and
  ``enqueue_webhook`` into a paused queue of the Cloud Tasks emulator, read back with GetTask),
  with the api's settings;
- Cloud Scheduler: ``oidc_token`` of the sweeper's jobs in ``terraform/scheduler.tf``;
- Eventarc: the trigger's ``service_account_email`` in ``terraform/functions.tf``, for the
  function's Cloud Run URL.

Every entry point accepts its own caller and refuses the two others, a missing token, the
local shared secret, and tokens that are expired, forged, foreign or for another audience.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
import requests
from flask import Request
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from werkzeug.test import EnvironBuilder

from infra.localenv import DEV_INTERNAL_SECRET
from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.internal_auth import publisher_caller, verify_internal_caller
from sharecast.tasks import (
    INTERNAL_AUTH_HEADER,
    PublishTask,
    WebhookTask,
    enqueue_publish,
    enqueue_webhook,
)
from tests.conftest import PORTS
from tests.support.google_oidc import CertsServer, SigningKey, mint
from tests.support.terraform import ROOT, local_values, resolve, resources

GOOGLE_KEY = SigningKey(kid="google-1")
OTHER_KEY = SigningKey(kid="google-1")  # same kid, another key: a forgery

#: Identity settings each entry point gets from terraform/functions.tf.
IDENTITY_ENV = (
    "PUBLISHER_URL",
    "TASKS_INVOKER_SERVICE_ACCOUNT",
    "SWEEPER_URL",
    "SCHEDULER_INVOKER_SERVICE_ACCOUNT",
    "MEDIA_FINALIZED_AUDIENCES",
    "EVENTARC_TRIGGER_SERVICE_ACCOUNT",
    "WEBHOOK_DELIVERY_URL",
    "WEBHOOK_INVOKER_SERVICE_ACCOUNT",
)

#: The entry points started as deployed, each in its own probe process.
PROBES = ("publisher", "sweeper", "media_finalized", "webhook_delivery")


def _free_port() -> int:
    """A port the OS has free now. A fixed port (the stack's plus some) lies in Linux's
    ephemeral range at the test offsets and was, in full runs, held by one of the stack's own
    outgoing connections (the port choice repeats between runs of one boot)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def terraform_env(function: str) -> dict[str, str]:
    """The identity variables terraform sets on ``function``, for the sample project."""
    entry = local_values()["functions"][function]
    groups = local_values()["env_groups"]
    plain: dict[str, str] = {}
    for group in ["common", *entry["env_groups"]]:
        plain.update(groups[group])
    plain.update(entry["env"])
    return {k: str(resolve(v, each_key=function)) for k, v in plain.items() if k in IDENTITY_ENV}


@dataclass(frozen=True)
class Identity:
    """Who a production caller is: its token's ``aud`` and ``email``."""

    audience: str
    email: str


def cloud_tasks_identity(stack_env: dict[str, str], *, webhooks: bool = False) -> Identity:
    """The OIDC token our code puts on a publish task (``webhooks``: on a webhook delivery
    task), with the api's terraform settings, read back from a paused queue of the Cloud Tasks
    emulator (so nothing is delivered)."""
    queue_id = f"identity-probe-{uuid.uuid4().hex[:8]}"
    settings = Settings.model_validate(
        {
            **{k.lower(): v for k, v in terraform_env("api").items()},
            "webhook_queue" if webhooks else "tasks_queue": queue_id,
            "internal_auth_secret": None,
        }
    )
    channel = grpc.insecure_channel(stack_env["CLOUD_TASKS_EMULATOR_HOST"])
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
    queue_path = f"{parent}/queues/{queue_id}"
    client.create_queue(parent=parent, queue=tasks_v2.Queue(name=queue_path))
    try:
        client.pause_queue(name=queue_path)
        if webhooks:
            hook = WebhookTask("we_probe", "01234567890123456-0a1b2c3d", round=1, attempt=1)
            assert enqueue_webhook(client, settings, hook, schedule_at=None)
            task_id = hook.task_id
        else:
            task = PublishTask(post_id="p1", target_id="x-0", attempt=1)
            assert enqueue_publish(client, settings, task, schedule_at=None)
            task_id = task.task_id
        stored = client.get_task(
            request=tasks_v2.GetTaskRequest(
                name=f"{queue_path}/tasks/{task_id}", response_view=tasks_v2.Task.View.FULL
            )
        )
        token = stored.http_request.oidc_token
        return Identity(token.audience, token.service_account_email)
    finally:
        client.delete_queue(name=queue_path)
        channel.close()


def cloud_scheduler_identity() -> Identity:
    """``oidc_token`` of the sweeper's jobs in terraform/scheduler.tf."""
    job = resources("google_cloud_scheduler_job")["sweeper"]["http_target"][0]
    token = resolve(job["oidc_token"][0])
    return Identity(token["audience"], token["service_account_email"])


def eventarc_identity() -> Identity:
    """The trigger's service account (terraform/functions.tf) and the Cloud Run service URL
    Eventarc pushes to (the deterministic ``run.app`` URL)."""
    trigger = resources("google_cloudfunctions2_function")["fn"]["dynamic"][0]["event_trigger"]
    email = resolve(trigger["content"][0]["service_account_email"], each_key="media_finalized")
    audience = resolve(local_values()["media_finalized_audiences"][0])
    return Identity(audience, email)


# --- the entry points as deployed ----------------------------------------------------------


@pytest.fixture(scope="module")
def certs() -> Iterator[CertsServer]:
    with CertsServer([GOOGLE_KEY]).running() as server:
        yield server


@pytest.fixture(scope="module")
def identities(stack) -> dict[str, Identity]:
    return {
        "cloud_tasks": cloud_tasks_identity(stack.env),
        "cloud_tasks_webhooks": cloud_tasks_identity(stack.env, webhooks=True),
        "cloud_scheduler": cloud_scheduler_identity(),
        "eventarc": eventarc_identity(),
    }


@pytest.fixture(scope="module")
def entry_points(stack, certs: CertsServer) -> Iterator[dict[str, str]]:
    """Each internal entry point in its own functions-framework process with the production
    identity settings (and no shared secret); the stack's emulators behind it."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = stack.logs
    try:
        ports = {name: _free_port() for name in PROBES}
        for name, port in ports.items():
            env = {
                **os.environ,
                **stack.env,
                **terraform_env(name),
                "GOOGLE_OIDC_CERTS_URL": certs.url,
                "JWT_LEEWAY_S": "0",
                "PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}",
            }
            env.pop("INTERNAL_AUTH_SECRET", None)
            log = (logs / f"identity-{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "functions_framework", "--source", "functions/main.py",
                 "--target", name, "--host", "127.0.0.1", "--port", str(port)],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            log.close()
        urls = {name: f"http://127.0.0.1:{port}/" for name, port in ports.items()}
        deadline = time.monotonic() + 120
        for name, url in urls.items():
            while True:
                assert procs[name].poll() is None, f"{name} exited; see {logs}"
                try:
                    requests.get(url, timeout=2)
                    break
                except requests.RequestException:
                    assert time.monotonic() < deadline, f"{name} did not start"
                    time.sleep(0.2)
        yield urls
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)


def call(entry_points: dict[str, str], name: str, headers: dict[str, str]) -> requests.Response:
    """What each caller really sends: a task body, a sweep body, a CloudEvent (binary mode)."""
    url = entry_points[name]
    if name == "publisher":
        return requests.post(url, json={}, headers=headers, timeout=30)
    if name in ("sweeper", "webhook_delivery"):
        return requests.post(url, json={}, headers=headers, timeout=30)
    event = {
        "ce-id": uuid.uuid4().hex,
        "ce-specversion": "1.0",
        "ce-source": "//storage.googleapis.com/projects/_/buckets/b",
        "ce-type": "google.cloud.storage.object.v1.finalized",
    }
    return requests.post(url, json={}, headers={**event, **headers}, timeout=30)


#: What an accepted call answers: the body is refused after the caller was (400), or the
#: event without bucket/name is acknowledged (200). Nothing reaches Firestore.
ACCEPTED = {"publisher": 400, "sweeper": 400, "media_finalized": 200, "webhook_delivery": 400}
REAL_CALLER = {
    "publisher": "cloud_tasks",
    "sweeper": "cloud_scheduler",
    "media_finalized": "eventarc",
    "webhook_delivery": "cloud_tasks_webhooks",
}


@pytest.mark.parametrize("entry_point", sorted(REAL_CALLER))
@pytest.mark.parametrize(
    "caller", ["cloud_tasks", "cloud_tasks_webhooks", "cloud_scheduler", "eventarc"]
)
def test_each_entry_point_accepts_its_production_caller_only(
    entry_points, identities, entry_point, caller
):
    who = identities[caller]
    token = mint(GOOGLE_KEY, audience=who.audience, email=who.email)
    response = call(entry_points, entry_point, {"Authorization": f"Bearer {token}"})
    if REAL_CALLER[entry_point] == caller:
        assert response.status_code == ACCEPTED[entry_point], response.text
    else:
        assert response.status_code == 401, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")


def test_the_identities_are_the_ones_terraform_names(identities):
    assert identities["cloud_tasks"] == Identity(
        "https://europe-west1-sharecast-prod.cloudfunctions.net/publisher",
        "sharecast-tasks-invoker@sharecast-prod.iam.gserviceaccount.com",
    )
    assert identities["cloud_tasks_webhooks"] == Identity(
        "https://europe-west1-sharecast-prod.cloudfunctions.net/webhook-delivery",
        "sharecast-webhooks-invoker@sharecast-prod.iam.gserviceaccount.com",
    )
    assert identities["cloud_scheduler"] == Identity(
        "https://europe-west1-sharecast-prod.cloudfunctions.net/sweeper",
        "sharecast-scheduler-invoker@sharecast-prod.iam.gserviceaccount.com",
    )
    assert identities["eventarc"] == Identity(
        "https://media-finalized-123456789012.europe-west1.run.app",
        "sharecast-media-finalized@sharecast-prod.iam.gserviceaccount.com",
    )


def test_eventarc_push_endpoint_form_of_the_audience_is_accepted(entry_points, identities):
    """Pub/Sub uses the push endpoint as audience when none is set; Eventarc's endpoint is the
    service URL with ``?__GCP_CloudEventsMode=...``: the same recipient."""
    who = identities["eventarc"]
    token = mint(
        GOOGLE_KEY,
        audience=f"{who.audience}/?__GCP_CloudEventsMode=GCS_NOTIFICATION",
        email=who.email,
    )
    response = call(entry_points, "media_finalized", {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("entry_point", sorted(REAL_CALLER))
def test_no_token_or_the_local_secret_is_refused_in_production(entry_points, entry_point):
    for headers in ({}, {INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET}, {"Authorization": "Bearer x"}):
        response = call(entry_points, entry_point, headers)
        assert response.status_code == 401, (headers, response.text)


# --- token checks in detail (in process) -------------------------------------------------


AUDIENCE = "https://europe-west1-sharecast-prod.cloudfunctions.net/publisher"
ACCOUNT = "sharecast-tasks-invoker@sharecast-prod.iam.gserviceaccount.com"


@pytest.fixture
def settings(certs: CertsServer) -> Settings:
    return Settings(
        publisher_url=AUDIENCE,
        tasks_invoker_service_account=ACCOUNT,
        google_oidc_certs_url=certs.url,
        internal_auth_secret=None,
        jwt_leeway_s=0,
    )


def request_with(headers: dict[str, str]) -> Request:
    return Request(
        EnvironBuilder(method="POST", path="/", headers=list(headers.items())).get_environ()
    )


def test_a_valid_token_names_the_caller(settings):
    token = mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT)
    caller = verify_internal_caller(
        request_with({"Authorization": f"Bearer {token}"}),
        settings,
        caller=publisher_caller(settings),
    )
    assert caller == f"oidc:{ACCOUNT}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience="https://elsewhere", email=ACCOUNT), id="audience"
        ),
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience=AUDIENCE, email="x@p.iam.gserviceaccount.com"),
            id="account",
        ),
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT, email_verified=False),
            id="unverified",
        ),
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT, iss="https://evil.example"),
            id="issuer",
        ),
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT, exp=int(time.time()) - 10),
            id="expired",
        ),
        pytest.param(lambda: mint(OTHER_KEY, audience=AUDIENCE, email=ACCOUNT), id="forged"),
        pytest.param(
            lambda: mint(SigningKey(kid="unknown"), audience=AUDIENCE, email=ACCOUNT),
            id="unknown-kid",
        ),
        pytest.param(
            lambda: mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT, aud=None), id="no-audience"
        ),
        pytest.param(lambda: "e30.e30.", id="alg-none"),
    ],
)
def test_bad_tokens_are_refused(settings, token):
    with pytest.raises(Unauthenticated):
        verify_internal_caller(
            request_with({"Authorization": f"Bearer {token()}"}),
            settings,
            caller=publisher_caller(settings),
        )


def test_google_certificates_are_reused_as_long_as_cache_control_allows():
    """google-auth's documented CacheControl session: one fetch while ``max-age`` lasts, a
    fetch per verification when the endpoint forbids reuse."""
    for max_age, fetches in ((3600, 1), (0, 3)):
        with CertsServer([GOOGLE_KEY], max_age_s=max_age).running() as server:
            settings = Settings(
                publisher_url=AUDIENCE,
                tasks_invoker_service_account=ACCOUNT,
                google_oidc_certs_url=server.url,
                internal_auth_secret=None,
            )
            for _ in range(3):
                token = mint(GOOGLE_KEY, audience=AUDIENCE, email=ACCOUNT)
                verify_internal_caller(
                    request_with({"Authorization": f"Bearer {token}"}),
                    settings,
                    caller=publisher_caller(settings),
                )
            assert server.fetches == fetches, max_age


@pytest.mark.usefixtures("stack")
def test_the_local_stack_requires_the_shared_secret():
    """Locally (no accounts configured) each internal entry point requires the secret."""
    urls = {
        "publisher": f"http://127.0.0.1:{PORTS.publisher}/",
        "sweeper": f"http://127.0.0.1:{PORTS.sweeper}/",
        "media_finalized": f"http://127.0.0.1:{PORTS.media_finalized}/",
    }
    for name in urls:
        for headers in ({}, {INTERNAL_AUTH_HEADER: "wrong"}):
            response = call(urls, name, headers)
            assert response.status_code == 401, (name, response.text)
            assert response.headers["Content-Type"].startswith("application/problem+json")
        response = call(urls, name, {INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET})
        assert response.status_code == ACCEPTED[name], (name, response.text)
