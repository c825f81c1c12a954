"""Local Google Cloud Tasks (v2) emulator speaking the real gRPC API.

The official ``google-cloud-tasks`` client works against it unchanged::

    channel = grpc.insecure_channel("127.0.0.1:8683")
    transport = tasks_v2.services.cloud_tasks.transports.CloudTasksGrpcTransport(channel=channel)
    client = tasks_v2.CloudTasksClient(transport=transport)

Embed it with :class:`infra.cloudtasks.server.Emulator`, or run it with
``python -m infra.cloudtasks --host 127.0.0.1 --port 8683``.

API reference emulated: https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2
"""

from infra.cloudtasks.server import Emulator

__all__ = ["Emulator"]
