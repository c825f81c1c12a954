"""What one delivery of a publish task did (the publisher's answer to Cloud Tasks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AttemptReport:
    """What the delivery did: ``action`` (a ``ClaimAction`` value, or ``LEASE_LOST``), the
    target status after it, a short ``detail``, and whether the caller must answer 5xx so
    Cloud Tasks redelivers: only when nothing was recorded (a live lease, an early task), or
    when the outcome is recorded but a follow-up failed (the post's rollup, an outcome
    consumer): the redelivery changes nothing on the target and repeats the follow-up."""

    action: str
    status: str | None
    detail: str
    redeliver: bool = False
