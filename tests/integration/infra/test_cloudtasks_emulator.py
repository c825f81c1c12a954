"""The local Cloud Tasks emulator, driven through the official ``google-cloud-tasks`` client.

A real emulator runs in-process on a free loopback port, and a real HTTP receiver records
what it dispatches. Timing assertions use generous bounds.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2

from infra.cloudtasks.backoff import RetryPolicy
from infra.cloudtasks.server import Emulator

LOCATION = "projects/test-project/locations/us-central1"


# --------------------------------------------------------------------------- receiver


@dataclass
class Received:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records requests per path; answers scripted (status, delay_s) replies, then 200."""

    server: http.server.ThreadingHTTPServer | None = None
    requests: dict[str, list[Received]] = field(default_factory=dict)
    scripts: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    default: dict[str, tuple[int, float]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def new_path(
        self,
        replies: list[tuple[int, float]] | None = None,
        default: tuple[int, float] = (200, 0.0),
    ) -> str:
        path = f"/h/{uuid.uuid4().hex}"
        with self.cond:
            self.scripts[path] = list(replies or [])
            self.default[path] = default
        return path

    def wait_for(self, path: str, count: int, timeout_s: float) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while len(self.requests.get(path, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.requests.get(path, []))

    def got(self, path: str) -> list[Received]:
        with self.cond:
            return list(self.requests.get(path, []))

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path
        with self.cond:
            self.requests.setdefault(path, []).append(
                Received(time.time(), handler.command, path, dict(handler.headers.items()), body)
            )
            script = self.scripts.get(path, [])
            status, delay = script.pop(0) if script else self.default.get(path, (200, 0.0))
            self.in_flight[path] = self.in_flight.get(path, 0) + 1
            self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self.in_flight[path])
            self.cond.notify_all()
        try:
            if delay:
                time.sleep(delay)
        finally:
            # Out of flight before the answer leaves: once the emulator reads it, it may dispatch
            # the next task at once, which must not find this one still counted.
            with self.cond:
                self.in_flight[path] -= 1
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:
            pass  # the emulator gave up (dispatch deadline) and closed the connection


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _any(self) -> None:
            state.handle(self)

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator("127.0.0.1", 0, tombstone_seconds=3600, min_dispatch_deadline_seconds=0.5)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Iterator[tasks_v2.CloudTasksClient]:
    channel = grpc.insecure_channel(emulator.address)
    yield tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    channel.close()


def seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(value * 1e9))
    return d


def make_queue(client: tasks_v2.CloudTasksClient, **fields: object) -> str:
    name = f"{LOCATION}/queues/q-{uuid.uuid4().hex[:12]}"
    client.create_queue(parent=LOCATION, queue=tasks_v2.Queue(name=name, **fields))
    return name


def fast_retries(max_attempts: int = 5) -> tasks_v2.RetryConfig:
    return tasks_v2.RetryConfig(
        max_attempts=max_attempts,
        min_backoff=seconds(0.05),
        max_backoff=seconds(0.2),
        max_doublings=2,
    )


def http_task(url: str, name: str = "", **fields: object) -> tasks_v2.Task:
    return tasks_v2.Task(
        name=name, http_request=tasks_v2.HttpRequest(url=url, body=b"{}"), **fields
    )


def wait_gone(client: tasks_v2.CloudTasksClient, name: str, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client.get_task(name=name)
        except exceptions.NotFound:
            return
        time.sleep(0.02)
    pytest.fail(f"task {name} still present after {timeout_s}s")


def in_future(delay_s: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(time.time_ns() + round(delay_s * 1e9))
    return ts


# ------------------------------------------------------------------------------ queues


def test_queue_crud_with_defaults_masks_and_errors(client: tasks_v2.CloudTasksClient) -> None:
    name = make_queue(client)
    queue = client.get_queue(name=name)
    assert queue.state == tasks_v2.Queue.State.RUNNING
    assert queue.retry_config.max_attempts == 100
    assert queue.retry_config.min_backoff == datetime.timedelta(seconds=0.1)
    assert queue.retry_config.max_backoff == datetime.timedelta(seconds=3600)
    assert queue.retry_config.max_doublings == 16
    assert queue.rate_limits.max_concurrent_dispatches == 1000
    assert queue.rate_limits.max_dispatches_per_second == 500

    with pytest.raises(exceptions.AlreadyExists):
        client.create_queue(parent=LOCATION, queue=tasks_v2.Queue(name=name))

    updated = client.update_queue(
        queue=tasks_v2.Queue(
            name=name,
            retry_config=tasks_v2.RetryConfig(max_attempts=7),
            rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=3),
        ),
        update_mask=field_mask_pb2.FieldMask(
            paths=["retry_config.max_attempts", "rate_limits.max_concurrent_dispatches"]
        ),
    )
    assert updated.retry_config.max_attempts == 7
    assert updated.retry_config.max_doublings == 16  # untouched by the leaf mask
    assert updated.rate_limits.max_concurrent_dispatches == 3
    with pytest.raises(exceptions.InvalidArgument):
        client.update_queue(
            queue=tasks_v2.Queue(name=name), update_mask=field_mask_pb2.FieldMask(paths=["state"])
        )

    paused = client.pause_queue(name=name)
    assert paused.state == tasks_v2.Queue.State.PAUSED
    listed = {q.name for q in client.list_queues(parent=LOCATION)}
    assert name in listed
    only_paused = {
        q.name for q in client.list_queues(request={"parent": LOCATION, "filter": "state: PAUSED"})
    }
    assert name in only_paused
    assert all(client.get_queue(name=n).state == tasks_v2.Queue.State.PAUSED for n in only_paused)
    assert client.resume_queue(name=name).state == tasks_v2.Queue.State.RUNNING

    client.delete_queue(name=name)
    with pytest.raises(exceptions.NotFound):
        client.get_queue(name=name)
    with pytest.raises(exceptions.NotFound):
        client.delete_queue(name=name)

    # UpdateQueue creates a missing queue.
    created = f"{LOCATION}/queues/upsert-{uuid.uuid4().hex[:8]}"
    upserted = client.update_queue(
        queue=tasks_v2.Queue(name=created, retry_config=tasks_v2.RetryConfig(max_attempts=3))
    )
    assert upserted.retry_config.max_attempts == 3
    assert client.get_queue(name=created).state == tasks_v2.Queue.State.RUNNING


def test_bad_queue_requests(client: tasks_v2.CloudTasksClient) -> None:
    with pytest.raises(exceptions.InvalidArgument):
        client.create_queue(
            parent=LOCATION, queue=tasks_v2.Queue(name=f"{LOCATION}/queues/bad_underscore")
        )
    with pytest.raises(exceptions.InvalidArgument):
        client.create_queue(
            parent="projects/other/locations/us-central1",
            queue=tasks_v2.Queue(name=f"{LOCATION}/queues/elsewhere"),
        )
    with pytest.raises(exceptions.InvalidArgument):
        make_queue(
            client,
            retry_config=tasks_v2.RetryConfig(min_backoff=seconds(10), max_backoff=seconds(1)),
        )
    with pytest.raises(exceptions.InvalidArgument):
        make_queue(client, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=501))


# ------------------------------------------------------------------------ task creation


def test_named_task_dedupe_pending_completed_and_deleted(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    path = receiver.new_path()

    pending = f"{queue}/tasks/pending-1"
    client.create_task(
        parent=queue, task=http_task(receiver.url(path), pending, schedule_time=in_future(30))
    )
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue, task=http_task(receiver.url(path), pending))

    done = f"{queue}/tasks/done_1"
    client.create_task(parent=queue, task=http_task(receiver.url(path), done))
    assert len(receiver.wait_for(path, 1, 3.0)) == 1
    wait_gone(client, done)
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue, task=http_task(receiver.url(path), done))

    client.delete_task(name=pending)
    with pytest.raises(exceptions.NotFound):
        client.delete_task(name=pending)
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue, task=http_task(receiver.url(path), pending))


def test_unnamed_tasks_get_generated_ids(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    a = client.create_task(
        parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(30))
    )
    b = client.create_task(
        parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(30))
    )
    assert a.name.startswith(f"{queue}/tasks/")
    assert b.name.startswith(f"{queue}/tasks/")
    assert a.name != b.name
    assert a.create_time is not None
    assert a.dispatch_deadline == datetime.timedelta(minutes=10)


def test_invalid_task_requests_are_invalid_argument(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    other = make_queue(client)
    url = receiver.url(receiver.new_path())
    bad = [
        http_task(url, f"{queue}/tasks/has space"),
        http_task(url, f"{queue}/tasks/" + "x" * 501),
        http_task(url, f"{queue}/task/missing-s"),
        http_task(url, f"{other}/tasks/wrong-queue"),
        http_task("ftp://example.com/x"),
        tasks_v2.Task(
            http_request=tasks_v2.HttpRequest(
                url=url, http_method=tasks_v2.HttpMethod.GET, body=b"no body on GET"
            )
        ),
        tasks_v2.Task(app_engine_http_request=tasks_v2.AppEngineHttpRequest(relative_uri="/x")),
        http_task(url, dispatch_deadline=seconds(0.1)),
        http_task(url, dispatch_deadline=seconds(1801)),
    ]
    for task in bad:
        with pytest.raises(exceptions.InvalidArgument):
            client.create_task(parent=queue, task=task)
    with pytest.raises(exceptions.InvalidArgument):
        client.get_task(name=f"{queue}/tasks/bad!name")


def test_task_on_unknown_queue_is_not_found(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    missing = f"{LOCATION}/queues/does-not-exist"
    with pytest.raises(exceptions.NotFound):
        client.create_task(parent=missing, task=http_task(receiver.url("/x")))
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=f"{missing}/tasks/t1")
    with pytest.raises(exceptions.NotFound):
        client.list_tasks(parent=missing)


# ----------------------------------------------------------------------------- dispatch


def test_schedule_time_is_honoured(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    created_at = time.time()
    task = client.create_task(
        parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(1.0))
    )
    eta = task.schedule_time.timestamp()
    assert receiver.wait_for(path, 1, 0.5) == []
    got = receiver.wait_for(path, 1, 3.0)
    assert len(got) == 1
    assert got[0].at >= eta
    assert got[0].at - created_at >= 1.0
    assert got[0].at - eta < 0.2


def test_production_headers_and_counts(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client, retry_config=fast_retries())
    path = receiver.new_path([(404, 0.0), (500, 0.0), (503, 0.0)])
    name = f"{queue}/tasks/headers-1"
    task = client.create_task(
        parent=queue,
        task=tasks_v2.Task(
            name=name,
            http_request=tasks_v2.HttpRequest(
                url=receiver.url(path),
                http_method=tasks_v2.HttpMethod.PUT,
                body=b'{"a":1}',
                headers={
                    "Content-Type": "application/json",
                    "X-Custom": "kept",
                    "User-Agent": "overridden",
                    "X-CloudTasks-TaskRetryCount": "99",
                },
            ),
        ),
    )
    got = receiver.wait_for(path, 4, 5.0)
    assert len(got) == 4
    wait_gone(client, name)
    first = got[0]
    assert first.method == "PUT"
    assert first.body == b'{"a":1}'
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["X-Custom"] == "kept"
    assert first.headers["User-Agent"] == "Google-Cloud-Tasks"
    assert first.headers["X-CloudTasks-QueueName"] == queue.rsplit("/", 1)[1]
    assert first.headers["X-CloudTasks-TaskName"] == "headers-1"
    assert abs(float(first.headers["X-CloudTasks-TaskETA"]) - task.schedule_time.timestamp()) < 1e-5
    # Retry count: every earlier attempt. Execution count: earlier non-5xx answers (the 404).
    assert [r.headers["X-CloudTasks-TaskRetryCount"] for r in got] == ["0", "1", "2", "3"]
    assert [r.headers["X-CloudTasks-TaskExecutionCount"] for r in got] == ["0", "1", "1", "1"]
    assert "X-CloudTasks-TaskPreviousResponse" not in first.headers
    assert [r.headers["X-CloudTasks-TaskPreviousResponse"] for r in got[1:]] == [
        "404",
        "500",
        "503",
    ]
    # Each retry's ETA is a later schedule time.
    etas = [float(r.headers["X-CloudTasks-TaskETA"]) for r in got]
    assert etas == sorted(etas)
    assert len(set(etas)) == 4


def test_retry_backoff_follows_queue_retry_config(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    config = tasks_v2.RetryConfig(
        max_attempts=4, min_backoff=seconds(0.1), max_backoff=seconds(0.4), max_doublings=2
    )
    queue = make_queue(client, retry_config=config)
    path = receiver.new_path(default=(500, 0.0))
    name = f"{queue}/tasks/always-fails"
    client.create_task(parent=queue, task=http_task(receiver.url(path), name))
    got = receiver.wait_for(path, 4, 5.0)
    wait_gone(client, name)
    time.sleep(0.6)  # longer than max_backoff: a fifth attempt would have arrived
    got = receiver.got(path)
    assert len(got) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    expected = [RetryPolicy(4, 0.0, 0.1, 0.4, 2).delay_s(k) for k in (1, 2, 3)]
    assert expected == pytest.approx([0.1, 0.2, 0.4])
    for gap, want in zip(gaps, expected, strict=True):
        assert want - 0.01 <= gap <= want + 0.25, (gaps, expected)
    with pytest.raises(exceptions.AlreadyExists):  # dropped tasks keep their name reserved
        client.create_task(parent=queue, task=http_task(receiver.url(path), name))


def test_task_level_retry_config_overrides_queue(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client, retry_config=fast_retries(max_attempts=5))
    path = receiver.new_path(default=(500, 0.0))
    name = f"{queue}/tasks/override"
    client.create_task(
        parent=queue,
        task=http_task(receiver.url(path), name, retry_config=tasks_v2.RetryConfig(max_attempts=2)),
    )
    receiver.wait_for(path, 2, 3.0)
    wait_gone(client, name)
    time.sleep(0.3)
    assert len(receiver.got(path)) == 2


def test_dispatch_deadline_exceeded_counts_as_failure(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client, retry_config=fast_retries())
    path = receiver.new_path([(200, 2.0)])  # first answer comes after the deadline
    name = f"{queue}/tasks/slow"
    client.create_task(
        parent=queue, task=http_task(receiver.url(path), name, dispatch_deadline=seconds(0.6))
    )
    got = receiver.wait_for(path, 2, 4.0)
    assert len(got) == 2
    assert 0.6 <= got[1].at - got[0].at < 1.5
    assert got[1].headers["X-CloudTasks-TaskRetryCount"] == "1"
    assert got[1].headers["X-CloudTasks-TaskExecutionCount"] == "0"
    assert "X-CloudTasks-TaskPreviousResponse" not in got[1].headers
    wait_gone(client, name)


def test_connection_refused_is_retried(client: tasks_v2.CloudTasksClient) -> None:
    queue = make_queue(client, retry_config=fast_retries(max_attempts=3))
    name = f"{queue}/tasks/refused"
    # A bound socket that never listens: connecting to it is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        client.create_task(parent=queue, task=http_task(f"http://127.0.0.1:{port}/x", name))
        deadline = time.monotonic() + 3.0
        task = client.get_task(name=name)
        while task.dispatch_count < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
            task = client.get_task(name=name)
        assert task.dispatch_count >= 2
        assert task.response_count == 0
        assert task.last_attempt.response_status.code in (14, 0)  # UNAVAILABLE (or running)
        wait_gone(client, name)


def test_delete_prevents_dispatch(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    task = client.create_task(
        parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(0.4))
    )
    client.delete_task(name=task.name)
    assert receiver.wait_for(path, 1, 0.9) == []
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=task.name)


def test_purge_queue_removes_all_tasks(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    for _ in range(5):
        client.create_task(
            parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(0.4))
        )
    assert len(list(client.list_tasks(parent=queue))) == 5
    purged = client.purge_queue(name=queue)
    assert purged.purge_time is not None
    assert list(client.list_tasks(parent=queue)) == []
    assert receiver.wait_for(path, 1, 0.9) == []


def test_pause_and_resume(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    client.pause_queue(name=queue)
    client.create_task(parent=queue, task=http_task(receiver.url(path)))
    client.create_task(parent=queue, task=http_task(receiver.url(path)))
    assert receiver.wait_for(path, 1, 0.5) == []
    resumed_at = time.time()
    client.resume_queue(name=queue)
    got = receiver.wait_for(path, 2, 2.0)
    assert len(got) == 2
    assert all(r.at - resumed_at < 0.5 for r in got)


def test_run_task_dispatches_now_even_when_paused(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    task = client.create_task(
        parent=queue, task=http_task(receiver.url(path), schedule_time=in_future(60))
    )
    client.pause_queue(name=queue)
    ran = client.run_task(name=task.name)
    assert ran.dispatch_count == 1
    assert ran.last_attempt.dispatch_time is not None
    assert len(receiver.wait_for(path, 1, 2.0)) == 1
    wait_gone(client, task.name)
    with pytest.raises(exceptions.NotFound):
        client.run_task(name=task.name)


def test_get_and_list_tasks_show_attempts_and_views(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(
        client,
        retry_config=tasks_v2.RetryConfig(
            max_attempts=5, min_backoff=seconds(30), max_backoff=seconds(60)
        ),
    )
    path = receiver.new_path([(500, 0.0)])
    name = f"{queue}/tasks/observed"
    client.create_task(parent=queue, task=http_task(receiver.url(path), name))
    receiver.wait_for(path, 1, 2.0)
    deadline = time.monotonic() + 2.0
    task = client.get_task(name=name)
    while task.response_count < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
        task = client.get_task(name=name)
    assert task.dispatch_count == 1
    assert task.response_count == 1
    assert task.view == tasks_v2.Task.View.BASIC
    assert task.http_request.body == b""  # BASIC omits the body
    assert task.first_attempt.dispatch_time is not None
    assert task.last_attempt.response_time is not None
    assert task.last_attempt.response_status.code == 13  # INTERNAL for HTTP 500
    assert task.schedule_time.timestamp() > time.time() + 20  # rescheduled ~30 s later

    full = client.get_task(request={"name": name, "response_view": tasks_v2.Task.View.FULL})
    assert full.view == tasks_v2.Task.View.FULL
    assert full.http_request.body == b"{}"

    listed = list(client.list_tasks(request={"parent": queue, "page_size": 1}))
    assert [t.name for t in listed] == [name]
    assert listed[0].dispatch_count == 1
    client.delete_task(name=name)


def test_list_tasks_paginates(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client)
    url = receiver.url(receiver.new_path())
    created = {
        client.create_task(
            parent=queue, task=http_task(url, f"{queue}/tasks/t{i}", schedule_time=in_future(60))
        ).name
        for i in range(5)
    }
    pager = client.list_tasks(request={"parent": queue, "page_size": 2})
    pages = list(pager.pages)
    assert [len(p.tasks) for p in pages] == [2, 2, 1]
    assert {t.name for p in pages for t in p.tasks} == created
    client.purge_queue(name=queue)


# ---------------------------------------------------------------------------- rate limits


def test_max_concurrent_dispatches(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client, rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=1))
    path = receiver.new_path(default=(200, 0.15))
    for _ in range(3):
        client.create_task(parent=queue, task=http_task(receiver.url(path)))
    got = receiver.wait_for(path, 3, 30.0)
    assert len(got) == 3
    assert receiver.max_in_flight[path] == 1
    assert got[2].at - got[0].at >= 0.25


def test_deleting_an_in_flight_task_frees_its_slot(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client, rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=1))
    slow, fast = receiver.new_path(default=(200, 0.4)), receiver.new_path()
    first = client.create_task(parent=queue, task=http_task(receiver.url(slow)))
    assert len(receiver.wait_for(slow, 1, 2.0)) == 1
    client.create_task(parent=queue, task=http_task(receiver.url(fast)))
    client.delete_task(name=first.name)  # while its attempt is still running
    assert receiver.wait_for(fast, 1, 0.2) == []  # held back by max_concurrent_dispatches
    assert len(receiver.wait_for(fast, 1, 2.0)) == 1


def test_max_dispatches_per_second(client: tasks_v2.CloudTasksClient, receiver: Receiver) -> None:
    queue = make_queue(client, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=4))
    assert client.get_queue(name=queue).rate_limits.max_burst_size == 4
    path = receiver.new_path()
    start = time.time()
    for _ in range(6):
        client.create_task(parent=queue, task=http_task(receiver.url(path)))
    got = receiver.wait_for(path, 6, 30.0)
    assert len(got) == 6
    # A burst of 4, then one token every 0.25 s.
    assert got[-1].at - start >= 0.4


def test_oidc_token_is_a_local_bearer(
    client: tasks_v2.CloudTasksClient, receiver: Receiver
) -> None:
    queue = make_queue(client)
    path = receiver.new_path()
    client.create_task(
        parent=queue,
        task=tasks_v2.Task(
            http_request=tasks_v2.HttpRequest(
                url=receiver.url(path),
                oidc_token=tasks_v2.OidcToken(
                    service_account_email="sa@test.iam.gserviceaccount.com",
                    audience="https://aud.example",
                ),
            )
        ),
    )
    got = receiver.wait_for(path, 1, 2.0)
    token = got[0].headers["Authorization"].removeprefix("Bearer ")
    kind, _, payload = token.partition(".")
    assert kind == "emulator-oidc"
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == "https://aud.example"
    assert claims["email"] == "sa@test.iam.gserviceaccount.com"


# ----------------------------------------------------------------- formula and options


def test_backoff_formula_matches_documented_example() -> None:
    # RetryConfig.max_doublings docs: min 10s, max 300s, 3 doublings ->
    # 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s, ...
    policy = RetryPolicy(max_attempts=10, min_backoff_s=10, max_backoff_s=300, max_doublings=3)
    assert [policy.delay_s(k) for k in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]
    assert policy.gives_up(10, 0.0, 0.0)
    assert not policy.gives_up(9, 0.0, 0.0)
    unlimited = RetryPolicy(max_attempts=-1)
    assert not unlimited.gives_up(10_000, 1e6, 1e6)
    timed = RetryPolicy(max_attempts=3, max_retry_duration_s=60)
    assert not timed.gives_up(3, 30.0, 30.0)  # both limits must be reached
    assert timed.gives_up(3, 61.0, 61.0)


def test_auto_create_queues_and_tombstone_expiry(receiver: Receiver) -> None:
    with Emulator("127.0.0.1", 0, tombstone_seconds=0.3, auto_create_queues=True) as emu:
        channel = grpc.insecure_channel(emu.address)
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        queue = f"{LOCATION}/queues/auto-made"
        name = f"{queue}/tasks/short-memory"
        url = receiver.url(receiver.new_path())
        client.create_task(parent=queue, task=http_task(url, name, schedule_time=in_future(30)))
        assert client.get_queue(name=queue).state == tasks_v2.Queue.State.RUNNING
        client.delete_task(name=name)
        with pytest.raises(exceptions.AlreadyExists):
            client.create_task(parent=queue, task=http_task(url, name))
        time.sleep(0.4)
        client.create_task(parent=queue, task=http_task(url, name, schedule_time=in_future(30)))
        channel.close()
