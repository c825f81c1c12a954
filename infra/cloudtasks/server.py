"""gRPC service ``google.cloud.tasks.v2.CloudTasks`` and the embeddable :class:`Emulator`.

Service definition: https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2
Implemented RPCs: CreateQueue, GetQueue, ListQueues, UpdateQueue, DeleteQueue,
PurgeQueue, PauseQueue, ResumeQueue, CreateTask, GetTask, ListTasks, DeleteTask,
RunTask. Others (IAM, batch, CMEK) answer UNIMPLEMENTED. Only HTTP-target tasks are
supported; App Engine tasks are rejected with INVALID_ARGUMENT.

Embedding::

    emu = Emulator("127.0.0.1", 0)   # port 0: pick a free port
    emu.start()
    ... grpc.insecure_channel(emu.address) ...
    emu.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.cloud import tasks_v2
from google.protobuf import empty_pb2

from infra.cloudtasks.dispatcher import Dispatcher
from infra.cloudtasks.errors import ApiError
from infra.cloudtasks.state import Store

logger = logging.getLogger(__name__)

SERVICE = "google.cloud.tasks.v2.CloudTasks"
DEFAULT_PORT = 8683


class CloudTasksService:
    """RPC handlers: translate requests into :class:`Store` calls."""

    def __init__(self, store: Store, dispatcher: Dispatcher) -> None:
        self._store = store
        self._dispatcher = dispatcher

    def create_queue(self, req: tasks_v2.CreateQueueRequest) -> tasks_v2.Queue:
        """CreateQueue."""
        return self._store.create_queue(req.parent, req.queue)

    def get_queue(self, req: tasks_v2.GetQueueRequest) -> tasks_v2.Queue:
        """GetQueue."""
        return self._store.get_queue(req.name)

    def list_queues(self, req: tasks_v2.ListQueuesRequest) -> tasks_v2.ListQueuesResponse:
        """ListQueues."""
        queues, token = self._store.list_queues(
            req.parent, req.filter, req.page_size, req.page_token
        )
        return tasks_v2.ListQueuesResponse(queues=queues, next_page_token=token)

    def update_queue(self, req: tasks_v2.UpdateQueueRequest) -> tasks_v2.Queue:
        """UpdateQueue."""
        paths = list(tasks_v2.UpdateQueueRequest.pb(req).update_mask.paths)
        return self._store.update_queue(req.queue, paths)

    def delete_queue(self, req: tasks_v2.DeleteQueueRequest) -> empty_pb2.Empty:
        """DeleteQueue."""
        self._store.delete_queue(req.name)
        return empty_pb2.Empty()

    def purge_queue(self, req: tasks_v2.PurgeQueueRequest) -> tasks_v2.Queue:
        """PurgeQueue."""
        return self._store.purge_queue(req.name)

    def pause_queue(self, req: tasks_v2.PauseQueueRequest) -> tasks_v2.Queue:
        """PauseQueue."""
        return self._store.set_queue_state(req.name, paused=True)

    def resume_queue(self, req: tasks_v2.ResumeQueueRequest) -> tasks_v2.Queue:
        """ResumeQueue."""
        return self._store.set_queue_state(req.name, paused=False)

    def create_task(self, req: tasks_v2.CreateTaskRequest) -> tasks_v2.Task:
        """CreateTask."""
        return self._store.create_task(req.parent, req.task, req.response_view)

    def get_task(self, req: tasks_v2.GetTaskRequest) -> tasks_v2.Task:
        """GetTask."""
        return self._store.get_task(req.name, req.response_view)

    def list_tasks(self, req: tasks_v2.ListTasksRequest) -> tasks_v2.ListTasksResponse:
        """ListTasks."""
        tasks, token = self._store.list_tasks(
            req.parent, req.response_view, req.page_size, req.page_token
        )
        return tasks_v2.ListTasksResponse(tasks=tasks, next_page_token=token)

    def delete_task(self, req: tasks_v2.DeleteTaskRequest) -> empty_pb2.Empty:
        """DeleteTask."""
        self._store.delete_task(req.name)
        return empty_pb2.Empty()

    def run_task(self, req: tasks_v2.RunTaskRequest) -> tasks_v2.Task:
        """RunTask."""
        task, job = self._store.run_task(req.name, req.response_view)
        self._dispatcher.submit(job)
        return task

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler registering every implemented method."""
        table: dict[str, tuple[Callable[[Any], Any], Any, Callable[[Any], bytes]]] = {
            "CreateQueue": (self.create_queue, tasks_v2.CreateQueueRequest, _queue_bytes),
            "GetQueue": (self.get_queue, tasks_v2.GetQueueRequest, _queue_bytes),
            "ListQueues": (
                self.list_queues,
                tasks_v2.ListQueuesRequest,
                tasks_v2.ListQueuesResponse.serialize,
            ),
            "UpdateQueue": (self.update_queue, tasks_v2.UpdateQueueRequest, _queue_bytes),
            "DeleteQueue": (self.delete_queue, tasks_v2.DeleteQueueRequest, _empty_bytes),
            "PurgeQueue": (self.purge_queue, tasks_v2.PurgeQueueRequest, _queue_bytes),
            "PauseQueue": (self.pause_queue, tasks_v2.PauseQueueRequest, _queue_bytes),
            "ResumeQueue": (self.resume_queue, tasks_v2.ResumeQueueRequest, _queue_bytes),
            "CreateTask": (self.create_task, tasks_v2.CreateTaskRequest, _task_bytes),
            "GetTask": (self.get_task, tasks_v2.GetTaskRequest, _task_bytes),
            "ListTasks": (
                self.list_tasks,
                tasks_v2.ListTasksRequest,
                tasks_v2.ListTasksResponse.serialize,
            ),
            "DeleteTask": (self.delete_task, tasks_v2.DeleteTaskRequest, _empty_bytes),
            "RunTask": (self.run_task, tasks_v2.RunTaskRequest, _task_bytes),
        }
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                method: grpc.unary_unary_rpc_method_handler(
                    _guarded(method, fn),
                    request_deserializer=request_type.deserialize,
                    response_serializer=serializer,
                )
                for method, (fn, request_type, serializer) in table.items()
            },
        )


def _queue_bytes(message: tasks_v2.Queue) -> bytes:
    return bytes(tasks_v2.Queue.serialize(message))


def _task_bytes(message: tasks_v2.Task) -> bytes:
    return bytes(tasks_v2.Task.serialize(message))


def _empty_bytes(message: empty_pb2.Empty) -> bytes:
    return bytes(message.SerializeToString())


def _guarded(method: str, fn: Callable[[Any], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
    """Map :class:`ApiError` to its status; anything unexpected to INTERNAL (and log it)."""

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(request)
        except ApiError as exc:
            logger.debug(
                "rpc rejected",
                extra={"rpc": method, "status": exc.code.name, "detail": exc.message},
            )
            context.abort(exc.code, exc.message)
        except Exception as exc:
            logger.exception("rpc failed", extra={"rpc": method})
            context.abort(grpc.StatusCode.INTERNAL, f"emulator error: {exc}")

    return call


class Emulator:
    """A running Cloud Tasks emulator: gRPC server, store and dispatcher.

    ``host``/``port``: bind address (default loopback only; port 0 picks a free port,
    read it back from :attr:`port` after :meth:`start`). ``tombstone_seconds``: how long
    a used task name is refused (production: about an hour). ``auto_create_queues``:
    CreateTask on a missing queue creates it instead of failing NOT_FOUND.
    ``dispatch_workers``: concurrent HTTP attempts across all queues.
    ``min_dispatch_deadline_seconds``: lowest accepted ``dispatch_deadline`` (production
    15 s; tests may lower it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        tombstone_seconds: float = 3600.0,
        auto_create_queues: bool = False,
        dispatch_workers: int = 32,
        min_dispatch_deadline_seconds: float = 15.0,
        grpc_workers: int = 16,
    ) -> None:
        self.host = host
        self.port = port
        self.store = Store(
            tombstone_s=tombstone_seconds,
            auto_create_queues=auto_create_queues,
            max_in_flight=dispatch_workers,
            min_dispatch_deadline_s=min_dispatch_deadline_seconds,
        )
        self.dispatcher = Dispatcher(self.store, workers=dispatch_workers)
        self._grpc_workers = grpc_workers
        self._server: grpc.Server | None = None

    @property
    def address(self) -> str:
        """``host:port`` for ``grpc.insecure_channel`` (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> None:
        """Bind and start serving. Raises ``RuntimeError`` if the port cannot be bound."""
        server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=self._grpc_workers, thread_name_prefix="cloudtasks-grpc"
            ),
            options=[("grpc.so_reuseport", 0)],
        )
        server.add_generic_rpc_handlers((CloudTasksService(self.store, self.dispatcher).handler(),))
        try:
            bound = server.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise RuntimeError(f"cannot bind {self.address}: {exc}") from exc
        if bound == 0:
            raise RuntimeError(f"cannot bind {self.address}")
        self.port = bound
        self.dispatcher.start()
        server.start()
        self._server = server
        logger.info("cloud tasks emulator listening", extra={"address": self.address})

    def stop(self, grace_s: float = 1.0) -> None:
        """Stop serving (in-flight RPCs get ``grace_s`` seconds) and stop dispatching."""
        if self._server is not None:
            self._server.stop(grace_s).wait()
            self._server = None
        self.dispatcher.stop()
        logger.info("cloud tasks emulator stopped", extra={"address": self.address})

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
