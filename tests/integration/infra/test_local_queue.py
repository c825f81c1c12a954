"""The local publish queue is the one terraform/tasks.tf creates (one source for its settings).

The running stack's queue is read back from the Cloud Tasks emulator with the official client
and compared with the ``google_cloud_tasks_queue "publish"`` resource, parsed independently
here; a changed copy of the file changes the queue (nothing is hard-coded).
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from infra.cloudtasks.terraform import TERRAFORM, publish_queue
from sharecast.config import Settings
from tests.support.terraform import resolve, resources


def _seconds(text: str) -> float:
    return float(text.removesuffix("s"))


def terraform_queue() -> dict:
    queue = resources("google_cloud_tasks_queue")["publish"]
    retry, rates = resolve(queue["retry_config"][0]), resolve(queue["rate_limits"][0])
    return {
        "max_attempts": int(retry["max_attempts"]),
        "max_retry_duration_s": _seconds(retry["max_retry_duration"]),
        "min_backoff_s": _seconds(retry["min_backoff"]),
        "max_backoff_s": _seconds(retry["max_backoff"]),
        "max_doublings": int(retry["max_doublings"]),
        "max_dispatches_per_second": float(rates["max_dispatches_per_second"]),
        "max_concurrent_dispatches": int(rates["max_concurrent_dispatches"]),
    }


def as_dict(queue: tasks_v2.Queue) -> dict:
    rc, rl = queue.retry_config, queue.rate_limits
    return {
        "max_attempts": rc.max_attempts,
        "max_retry_duration_s": rc.max_retry_duration.total_seconds(),
        "min_backoff_s": rc.min_backoff.total_seconds(),
        "max_backoff_s": rc.max_backoff.total_seconds(),
        "max_doublings": rc.max_doublings,
        "max_dispatches_per_second": rl.max_dispatches_per_second,
        "max_concurrent_dispatches": rl.max_concurrent_dispatches,
    }


@pytest.mark.usefixtures("stack")
def test_the_running_queue_has_terraforms_retry_config_and_rate_limits():
    settings = Settings()
    channel = grpc.insecure_channel(settings.cloud_tasks_emulator_host or "")
    try:
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        queue = client.get_queue(name=settings.queue_path)
    finally:
        channel.close()
    assert as_dict(queue) == terraform_queue()
    # The values production runs with (README "Configuration" and docs/operations.md).
    assert as_dict(queue)["max_attempts"] == 10
    assert as_dict(queue)["max_backoff_s"] == 300


def test_a_changed_tasks_tf_changes_the_local_queue(tmp_path: Path):
    text = (TERRAFORM / "tasks.tf").read_text()
    assert "max_attempts       = 10" in text
    changed = tmp_path / "tasks.tf"
    changed.write_text(
        text.replace("max_attempts       = 10", "max_attempts       = 7").replace(
            'max_backoff        = "300s"', 'max_backoff        = "45s"'
        )
    )
    queue = publish_queue("projects/p/locations/l/queues/publish", tasks_tf=changed)
    assert queue.retry_config.max_attempts == 7
    assert queue.retry_config.max_backoff.total_seconds() == 45
    # Rate limits come from variables' defaults.
    assert (
        queue.rate_limits.max_dispatches_per_second
        == terraform_queue()["max_dispatches_per_second"]
    )


def test_an_expression_terraform_alone_can_evaluate_is_refused(tmp_path: Path):
    text = (TERRAFORM / "tasks.tf").read_text()
    changed = tmp_path / "tasks.tf"
    changed.write_text(text.replace("max_doublings      = 5", "max_doublings      = local.x"))
    with pytest.raises(ValueError, match="cannot evaluate"):
        publish_queue("projects/p/locations/l/queues/publish", tasks_tf=changed)
