"""The publisher's :class:`~sharecast.platforms.base.StepLog`: a multi-step connector's saved
state, stored on the target document under the attempt's lease
(docs/semantics.md#statuses-and-rules, multi-step)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.cloud import firestore

from sharecast.domain.models import TargetRecord
from sharecast.errors import InternalError
from sharecast.outbox import Outbox
from sharecast.store.posts import TargetChange, change_target
from sharecast.timeutil import utcnow


class LeaseLost(InternalError):
    """The attempt no longer holds the target's lease: another delivery took over, so this one
    must stop without writing anything else."""

    code = "LEASE_LOST"

    def __str__(self) -> str:
        return self.detail


class TargetSteps:
    """Step state of one target, saved by a commit that checks the lease (without reading again
    while nobody else changed the target).

    Each :meth:`save` also renews the lease for ``lease_s`` seconds, so a long multi-step upload
    that keeps saving progress is never mistaken for a dead publisher. A save is internal
    bookkeeping without an event, so it leaves the target's ``version`` alone (a client must
    be able to tell a missed event from a version jump; docs/semantics.md#events-and-replay).

    The state goes in and out as deep copies: a connector that changes a saved list in place
    and saves it again must not change the record the save compares against (a save writes
    only the fields that differ from it, ``store.posts.changed_fields``).
    """

    def __init__(
        self,
        db: firestore.Client,
        *,
        known: TargetChange,
        lease_id: str,
        lease_s: float,
        outbox: Outbox,
    ) -> None:
        self._db = db
        self._post_id = known.target.post_id
        self._target_id = known.target.id
        self._lease_id = lease_id
        self._lease_s = lease_s
        self._outbox = outbox
        self._latest = known
        self._state: dict[str, Any] = copy.deepcopy(known.target.step_state)

    @property
    def latest(self) -> TargetChange:
        """The target as the claim or the last :meth:`save` committed it, with the documents'
        ``update_time`` (what the record commits against without reading again)."""
        return self._latest

    @property
    def state(self) -> Mapping[str, Any]:
        """What earlier steps saved (a deep copy: changing it changes nothing stored)."""
        return copy.deepcopy(self._state)

    def save(self, **values: Any) -> None:
        """Merge ``values`` into ``step_state`` and renew the lease. Raises :class:`LeaseLost`."""
        now = utcnow()
        values = copy.deepcopy(values)

        def merge(current: TargetRecord) -> tuple[TargetRecord | None, str]:
            if current.lease_id != self._lease_id:
                return None, "lease lost"
            return (
                current.model_copy(
                    update={
                        "step_state": {**current.step_state, **values},
                        "lease_until": now + timedelta(seconds=self._lease_s),
                    }
                ),
                "saved",
            )

        change = change_target(
            self._db,
            post_id=self._post_id,
            target_id=self._target_id,
            mutate=merge,
            outbox=self._outbox,
            emit_event=False,
            known=self._latest,
        )
        if not change.changed:
            raise LeaseLost(f"target {self._post_id}/{self._target_id} leased by another attempt")
        self._latest = change
        self._state = copy.deepcopy(change.target.step_state)
