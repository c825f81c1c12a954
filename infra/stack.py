"""The local stack: Google's emulators, our Cloud Tasks emulator, the sandbox, the functions and
the relay, started in order with readiness checks and stopped by process group
(docs/local-stack.md).

Used by ``make run`` (``python -m infra run``) and by the pytest session (``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from infra.localenv import HOST, MEDIA_BUCKET, PROJECT, Ports, service_env

log = logging.getLogger("infra.stack")

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"


def sdk_root() -> Path:
    """The Google Cloud CLI install holding the emulators (``CLOUDSDK_ROOT`` overrides)."""
    if os.environ.get("CLOUDSDK_ROOT"):
        return Path(os.environ["CLOUDSDK_ROOT"])
    gcloud = shutil.which("gcloud")
    if gcloud:
        candidate = Path(os.path.realpath(gcloud)).parent.parent
        if (candidate / "platform").is_dir():
            return candidate
    return Path("/usr/lib/google-cloud-sdk")


#: How long a service's port may stay taken before starting it fails (above TIME_WAIT's 60 s).
PORT_WAIT_S = 70.0


class StackError(RuntimeError):
    """A service failed to start or become ready."""


@dataclass
class Service:
    """One process of the stack: its command, port and readiness probe."""

    name: str
    argv: list[str]
    port: int
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0
    process: subprocess.Popen[bytes] | None = None
    #: ``RELAY_INSTANCE_ID`` of the running process: new on every start, as on Cloud Run.
    instance: str | None = None

    @property
    def url(self) -> str:
        """Where the service listens."""
        return f"http://{HOST}:{self.port}"


def _http_ok(url: str, accept: Callable[[int], bool] = lambda s: s < 500) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return accept(requests.get(url, timeout=1).status_code)
        except requests.RequestException:
            return False

    return probe


def _port_open(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((HOST, port)) == 0

    return probe


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


class Stack:
    """Starts and stops the whole local system. ``logs`` holds one log file per service."""

    ALL = (
        "firestore",
        "pubsub",
        "storage",
        "storage_cors",
        "tasks",
        "sandbox",
        "api",
        "publisher",
        "media_finalized",
        "webhook_delivery",
        "sweeper",
        "relay",
        "console",
    )

    def __init__(
        self,
        ports: Ports,
        *,
        workdir: Path,
        project: str = PROJECT,
        only: tuple[str, ...] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.ports = ports
        self.project = project
        self.workdir = workdir
        self.logs = workdir / "logs"
        # ``extra_env`` overrides settings for every process (the tests shorten the sweeper's
        # windows); one service's own overrides go in ``services[name].env``.
        self.env = {**service_env(ports, project), **(extra_env or {})}
        self.services = {s.name: s for s in self._services() if only is None or s.name in only}

    def _services(self) -> list[Service]:
        p, py, sdk = self.ports, sys.executable, sdk_root()
        bin_dir = Path(sys.executable).parent
        fn = [
            str(bin_dir / "functions-framework"),
            "--source",
            str(FUNCTIONS / "main.py"),
            "--host",
            HOST,
        ]
        return [
            Service(
                "firestore",
                [
                    str(sdk / "platform/cloud-firestore-emulator/cloud_firestore_emulator"),
                    "start",
                    f"--host={HOST}",
                    f"--port={p.firestore}",
                    f"--project_id={self.project}",
                ],
                p.firestore,
                _http_ok(f"http://{HOST}:{p.firestore}/", lambda s: s == 200),
            ),
            Service(
                "pubsub",
                [
                    str(sdk / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"),
                    f"--host={HOST}",
                    f"--port={p.pubsub}",
                ],
                p.pubsub,
                _http_ok(f"http://{HOST}:{p.pubsub}/", lambda s: s == 200),
            ),
            Service(
                "storage",
                [
                    str(bin_dir / "gcp-storage-emulator"),
                    "start",
                    f"--host={HOST}",
                    f"--port={p.storage}",
                    "--in-memory",
                    f"--default-bucket={MEDIA_BUCKET}",
                ],
                p.storage,
                _http_ok(f"http://{HOST}:{p.storage}/storage/v1/b"),
            ),
            Service(
                "storage_cors",
                [
                    py,
                    "-m",
                    "infra.storagecors",
                    "--host",
                    HOST,
                    "--port",
                    str(p.storage_cors),
                    "--upstream",
                    f"http://{HOST}:{p.storage}",
                ],
                p.storage_cors,
                _http_ok(f"http://{HOST}:{p.storage_cors}/storage/v1/b"),
            ),
            Service(
                "tasks",
                [py, "-m", "infra.cloudtasks", "--host", HOST, "--port", str(p.tasks)],
                p.tasks,
                _port_open(p.tasks),
            ),
            Service(
                "sandbox",
                [py, "-m", "infra.sandbox", "--host", HOST, "--port", str(p.sandbox)],
                p.sandbox,
                _http_ok(f"http://{HOST}:{p.sandbox}/_sandbox/healthz", lambda s: s == 200),
            ),
            Service(
                "api",
                [*fn, "--target", "api", "--port", str(p.api)],
                p.api,
                _http_ok(f"http://{HOST}:{p.api}/healthz", lambda s: s == 200),
            ),
            Service(
                "publisher",
                [*fn, "--target", "publisher", "--port", str(p.publisher)],
                p.publisher,
                _http_ok(f"http://{HOST}:{p.publisher}/"),
            ),
            Service(
                "media_finalized",
                [*fn, "--target", "media_finalized", "--port", str(p.media_finalized)],
                p.media_finalized,
                _http_ok(f"http://{HOST}:{p.media_finalized}/"),
            ),
            Service(
                "webhook_delivery",
                [*fn, "--target", "webhook_delivery", "--port", str(p.webhook_delivery)],
                p.webhook_delivery,
                _http_ok(f"http://{HOST}:{p.webhook_delivery}/"),
            ),
            Service(
                "sweeper",
                [*fn, "--target", "sweeper", "--port", str(p.sweeper)],
                p.sweeper,
                _http_ok(f"http://{HOST}:{p.sweeper}/"),
            ),
            Service(
                "relay",
                [
                    py,
                    "-m",
                    "uvicorn",
                    "sharecast.relay.main:app",
                    "--app-dir",
                    str(FUNCTIONS),
                    "--host",
                    HOST,
                    "--port",
                    str(p.relay),
                    "--no-access-log",
                    "--timeout-graceful-shutdown",
                    "5",
                ],
                p.relay,
                _http_ok(f"http://{HOST}:{p.relay}/healthz", lambda s: s == 200),
            ),
            Service(
                "console",
                [
                    py,
                    "-m",
                    "infra.console",
                    "--host",
                    HOST,
                    "--port",
                    str(p.console),
                    "--api-url",
                    f"http://{HOST}:{p.api}",
                    "--relay-url",
                    f"http://{HOST}:{p.relay}",
                    "--storage-url",
                    f"http://{HOST}:{p.storage_cors}",
                ],
                p.console,
                _http_ok(f"http://{HOST}:{p.console}/config.json", lambda s: s == 200),
            ),
        ]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start every service in order, each ready before the next; stop all on failure."""
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            for name in self.ALL:
                if name not in self.services:
                    continue
                self.start_service(name)
        except BaseException:
            self.stop()
            raise

    def start_service(self, name: str) -> None:
        """Start one service and wait until its readiness probe passes."""
        service = self.services[name]
        # A just-killed group may hold the port a moment; and with a port offset inside the
        # kernel's ephemeral range (32768-60999 on Linux) an outgoing connection of another
        # process may have used the port as its local end, which then sits in TIME_WAIT for
        # 60 s and refuses the bind. Wait that out rather than fail the whole stack.
        freed = time.monotonic() + PORT_WAIT_S
        while not _port_free(service.port) and time.monotonic() < freed:
            time.sleep(0.25)
        if not _port_free(service.port):
            raise StackError(f"{name}: port {service.port} on {HOST} is already in use")
        env = {
            **os.environ,
            **self.env,
            **service.env,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(FUNCTIONS)]),
        }
        if name == "relay":
            # A fresh id (so a fresh subscription) per process, as each Cloud Run instance has.
            # Reusing a killed relay's subscription lets the emulator hold messages leased to
            # the dead pull well past the ack deadline: live events lost for 30-90 s.
            service.instance = f"local-{service.port}-{secrets.token_hex(4)}"
            env["RELAY_INSTANCE_ID"] = service.instance
        logfile = (self.logs / f"{name}.log").open("ab")
        service.process = subprocess.Popen(
            service.argv,
            env=env,
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()
        deadline = time.monotonic() + service.timeout_s
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise StackError(
                    f"{name} exited with {service.process.returncode}; "
                    f"see {self.logs / (name + '.log')}"
                )
            if service.ready():
                log.info("%s ready on %s", name, service.url)
                if name == "tasks":  # in-memory emulators start empty, also on a restart
                    self._create_queue()
                if name == "pubsub":
                    self._create_topic()
                return
            time.sleep(0.1)
        raise StackError(f"{name} not ready after {service.timeout_s:.0f} s")

    def stop_service(self, name: str, sig: int = signal.SIGTERM, grace_s: float = 10.0) -> None:
        """Stop one service by signalling its whole process group, then SIGKILL after grace."""
        service = self.services[name]
        proc = service.process
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        service.process = None
        if service.instance is not None:
            self._drop_relay_subscription(service.instance)
            service.instance = None

    def stop(self) -> None:
        """Stop every running service, in reverse start order."""
        for name in reversed(self.ALL):
            if name in self.services:
                self.stop_service(name)

    def restart_service(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one service by process group (``sig``, e.g. SIGKILL to simulate a crash) and
        start it again, waiting until it is ready."""
        self.stop_service(name, sig=sig)
        self.start_service(name)

    def dead(self) -> list[str]:
        """Services whose process has exited."""
        return [
            s.name
            for s in self.services.values()
            if s.process is not None and s.process.poll() is not None
        ]

    # -- one-time resources -----------------------------------------------------------------

    def _create_topic(self) -> None:
        import google.cloud.pubsub_v1 as pubsub_v1
        from google.api_core.exceptions import AlreadyExists

        os.environ["PUBSUB_EMULATOR_HOST"] = self.env["PUBSUB_EMULATOR_HOST"]
        client = pubsub_v1.PublisherClient()
        with contextlib.suppress(AlreadyExists):
            client.create_topic(name=f"projects/{self.project}/topics/post-status")

    def _drop_relay_subscription(self, instance: str) -> None:
        """Delete the subscription of a relay process that has ended. A relay stopped with
        SIGTERM deletes its own; one killed or crashed leaves it behind, and the emulator has no
        expiration policy to remove it, so it would collect every event for as long as the
        stack runs. Best effort: the emulator may itself be down."""
        if "pubsub" not in self.services or self.services["pubsub"].process is None:
            return
        import google.cloud.pubsub_v1 as pubsub_v1
        from google.api_core import exceptions as gexc

        from sharecast.relay.subscription import subscription_id

        os.environ["PUBSUB_EMULATOR_HOST"] = self.env["PUBSUB_EMULATOR_HOST"]
        client = pubsub_v1.SubscriberClient()
        path = client.subscription_path(self.project, subscription_id(instance))
        try:
            client.delete_subscription(subscription=path, timeout=10.0)
        except gexc.NotFound:
            pass
        except gexc.GoogleAPICallError as exc:
            log.warning("could not delete %s: %s", path, exc)
        finally:
            client.close()

    def _create_queue(self) -> None:
        """The publish and webhooks queues, configured exactly as ``terraform/tasks.tf``
        creates them."""
        import grpc
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        from infra.cloudtasks.terraform import terraform_queue

        channel = grpc.insecure_channel(self.env["CLOUD_TASKS_EMULATOR_HOST"])
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        parent = f"projects/{self.project}/locations/us-central1"
        for resource in ("publish", "webhooks"):
            queue = terraform_queue(resource, f"{parent}/queues/{resource}")
            with contextlib.suppress(AlreadyExists):
                client.create_queue(parent=parent, queue=queue)
        channel.close()

    # -- test helpers ---------------------------------------------------------------------

    def reset_firestore(self) -> None:
        """Delete every document in the Firestore emulator."""
        url = (
            f"http://{self.env['FIRESTORE_EMULATOR_HOST']}/emulator/v1/projects/"
            f"{self.project}/databases/(default)/documents"
        )
        # Generous: right after start, under load, the emulator takes well over 10 s to answer.
        requests.delete(url, timeout=60).raise_for_status()
