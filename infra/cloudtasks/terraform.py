"""The local queues (``publish``, ``webhooks``), configured from ``terraform/tasks.tf`` (the one
place that defines them).

``make run`` and the test stack create the emulator's queues from the
``google_cloud_tasks_queue`` resources there: its ``retry_config`` (max attempts, min/max
backoff, max doublings, max retry duration) and ``rate_limits`` (dispatches per second,
concurrent dispatches), with ``var.*`` references taken from the variables' defaults in
``terraform/variables.tf`` (what a deployment gets unless its tfvars say otherwise). Parsed with
python-hcl2 (https://github.com/amplify-education/python-hcl2), like the scheduler stand-in
reads ``terraform/scheduler.tf`` (``infra/scheduler.py``).

Durations are Terraform's ``"300s"`` strings (https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloud_tasks_queue).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
from google.cloud import tasks_v2
from google.protobuf import duration_pb2

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
_VAR = re.compile(r"^\$\{var\.(\w+)\}$")


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _variable_defaults(path: Path) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for block in _load(path).get("variable", []):
        for name, body in block.items():
            if "default" in body:
                defaults[_unquote(name)] = _unquote(body["default"])
    return defaults


def _value(raw: Any, defaults: dict[str, Any]) -> Any:
    raw = _unquote(raw)
    ref = _VAR.match(raw) if isinstance(raw, str) else None
    if ref:
        return defaults[ref.group(1)]
    if isinstance(raw, str) and raw.startswith("${"):
        raise ValueError(f"cannot evaluate {raw} locally: use a literal or a var.* with a default")
    return raw


def _duration(raw: Any, defaults: dict[str, Any]) -> duration_pb2.Duration:
    text = str(_value(raw, defaults))
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a Terraform duration: {text!r}")
    return duration_pb2.Duration(seconds=int(float(match.group(1))))


def publish_queue(
    name: str,
    *,
    tasks_tf: Path = TERRAFORM / "tasks.tf",
    variables_tf: Path = TERRAFORM / "variables.tf",
) -> tasks_v2.Queue:
    """The ``publish`` queue as Terraform creates it, named ``name`` (its full resource name);
    see :func:`terraform_queue`."""
    return terraform_queue("publish", name, tasks_tf=tasks_tf, variables_tf=variables_tf)


def terraform_queue(
    resource: str,
    name: str,
    *,
    tasks_tf: Path = TERRAFORM / "tasks.tf",
    variables_tf: Path = TERRAFORM / "variables.tf",
) -> tasks_v2.Queue:
    """The queue of ``google_cloud_tasks_queue.<resource>`` as Terraform creates it, named
    ``name`` (its full resource name).

    Raises ``KeyError`` when the resource or one of its settings is missing, ``ValueError`` for
    an expression that cannot be evaluated without Terraform.
    """
    defaults = _variable_defaults(variables_tf)
    queue: dict[str, Any] | None = None
    for block in _load(tasks_tf).get("resource", []):
        for kind, named in block.items():
            if _unquote(kind) == "google_cloud_tasks_queue":
                queue = queue or named.get(f'"{resource}"') or named.get(resource)
    if queue is None:
        raise KeyError(f'no resource google_cloud_tasks_queue "{resource}" in {tasks_tf}')
    retry, rates = queue["retry_config"][0], queue["rate_limits"][0]
    return tasks_v2.Queue(
        name=name,
        retry_config=tasks_v2.RetryConfig(
            max_attempts=int(_value(retry["max_attempts"], defaults)),
            max_retry_duration=_duration(retry["max_retry_duration"], defaults),
            min_backoff=_duration(retry["min_backoff"], defaults),
            max_backoff=_duration(retry["max_backoff"], defaults),
            max_doublings=int(_value(retry["max_doublings"], defaults)),
        ),
        rate_limits=tasks_v2.RateLimits(
            max_dispatches_per_second=float(_value(rates["max_dispatches_per_second"], defaults)),
            max_concurrent_dispatches=int(_value(rates["max_concurrent_dispatches"], defaults)),
        ),
    )
