"""Resource-name grammar of Cloud Tasks v2 queues and tasks.

Formats (https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#task):

* location: ``projects/PROJECT_ID/locations/LOCATION_ID``
* queue:    ``projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID``
  (``QUEUE_ID``: letters, digits, hyphens; at most 100 characters)
* task:     ``.../queues/QUEUE_ID/tasks/TASK_ID``
  (``TASK_ID``: letters, digits, hyphens, underscores; at most 500 characters)

``PROJECT_ID`` may hold letters, digits, hyphens, colons and periods.
"""

from __future__ import annotations

import re
import secrets

from infra.cloudtasks.errors import invalid_argument

_PROJECT = r"[A-Za-z0-9\-:.]{1,100}"
_LOCATION = r"[A-Za-z0-9\-]{1,63}"
_QUEUE_ID = r"[A-Za-z0-9\-]{1,100}"
_TASK_ID = r"[A-Za-z0-9_\-]{1,500}"

_LOCATION_RE = re.compile(rf"projects/{_PROJECT}/locations/{_LOCATION}")
_QUEUE_RE = re.compile(rf"projects/{_PROJECT}/locations/{_LOCATION}/queues/{_QUEUE_ID}")
_TASK_RE = re.compile(rf"{_QUEUE_RE.pattern}/tasks/{_TASK_ID}")


def check_location(name: str) -> str:
    """Return ``name`` if it is a location name, else raise INVALID_ARGUMENT."""
    if not _LOCATION_RE.fullmatch(name):
        raise invalid_argument(f"Invalid resource field value in the request: location {name!r}")
    return name


def check_queue(name: str) -> str:
    """Return ``name`` if it is a queue name, else raise INVALID_ARGUMENT."""
    if not _QUEUE_RE.fullmatch(name):
        raise invalid_argument(
            f"Invalid queue name {name!r}: expected "
            "projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID"
        )
    return name


def check_task(name: str) -> str:
    """Return ``name`` if it is a task name, else raise INVALID_ARGUMENT."""
    if not _TASK_RE.fullmatch(name):
        raise invalid_argument(
            f"Invalid task name {name!r}: expected "
            "projects/P/locations/L/queues/Q/tasks/[A-Za-z0-9_-]{1,500}"
        )
    return name


def queue_parent(queue_name: str) -> str:
    """Location part (``projects/P/locations/L``) of a valid queue name."""
    return queue_name.rsplit("/queues/", 1)[0]


def task_queue(task_name: str) -> str:
    """Queue part (``projects/P/locations/L/queues/Q``) of a valid task name."""
    return task_name.rsplit("/tasks/", 1)[0]


def last_segment(name: str) -> str:
    """The id at the end of a resource name (queue id or task id)."""
    return name.rsplit("/", 1)[-1]


def new_task_id() -> str:
    """A random task id shaped like the numeric ids Cloud Tasks generates."""
    return str(secrets.randbits(63)).rjust(19, "0")
