"""Webhook endpoints and their delivery log in Firestore (docs/data-model.md#webhooks):
``webhook_endpoints/{endpointId}`` and ``webhook_endpoints/{endpointId}/deliveries/{deliveryId}``.

Endpoints change in transactions that bump ``version``; a delivery's attempt is recorded in a
transaction that refuses an attempt already recorded or of a superseded round, so a duplicate
task never records twice. Every query is declared in :mod:`sharecast.store.queries`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from google.api_core.exceptions import AlreadyExists, Conflict, FailedPrecondition
from google.api_core.exceptions import NotFound as NotFoundError
from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.webhooks import (
    ORG_AUDIENCE,
    DeliveryRecord,
    DeliveryStatus,
    EndpointRecord,
)
from sharecast.errors import BadRequest, NotFound
from sharecast.outbox import Outbox
from sharecast.store import queries
from sharecast.store.listing import Page, cursor_snapshot, encode_cursor

ENDPOINTS = queries.WEBHOOK_ENDPOINTS_FOR.collection_group
DELIVERIES = queries.WEBHOOK_DELIVERIES.collection_group
#: Firestore's limit of values in one ``in`` filter.
IN_LIMIT = 30


def endpoint_ref(db: firestore.Client, endpoint_id: str) -> firestore.DocumentReference:
    """Reference of one endpoint."""
    return db.collection(ENDPOINTS).document(endpoint_id)


def delivery_ref(
    db: firestore.Client, endpoint_id: str, delivery_id: str
) -> firestore.DocumentReference:
    """Reference of one delivery."""
    return endpoint_ref(db, endpoint_id).collection(DELIVERIES).document(delivery_id)


def create_endpoint(db: firestore.Client, endpoint: EndpointRecord) -> None:
    """Store a new endpoint."""
    endpoint_ref(db, endpoint.id).create(endpoint.to_doc())


def count_owned(db: firestore.Client, owner_id: str) -> int:
    """How many endpoints ``owner_id`` created."""
    query = queries.build(db, queries.WEBHOOK_ENDPOINTS_OF_OWNER, equal={"owner_id": owner_id})
    return sum(1 for _ in query.select([]).stream())


def get_endpoint(db: firestore.Client, endpoint_id: str) -> EndpointRecord:
    """One endpoint. Raises :class:`NotFound`."""
    snap = endpoint_ref(db, endpoint_id).get()
    if not snap.exists:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return EndpointRecord.from_doc(snap.id, snap.to_dict() or {})


def list_endpoints(db: firestore.Client, *, owner_id: str, org: bool) -> list[EndpointRecord]:
    """The endpoints ``owner_id`` created and, when ``org``, every org-wide one; oldest
    first."""
    found = {
        snap.id: snap
        for snap in queries.build(
            db, queries.WEBHOOK_ENDPOINTS_OF_OWNER, equal={"owner_id": owner_id}
        ).stream()
    }
    if org:
        for snap in queries.build(
            db, queries.WEBHOOK_ENDPOINTS_OF_AUDIENCE, equal={"audience": ORG_AUDIENCE}
        ).stream():
            found[snap.id] = snap
    records = [EndpointRecord.from_doc(s.id, s.to_dict() or {}) for s in found.values()]
    return sorted(records, key=lambda r: (r.created_at, r.id))


def endpoints_for(db: firestore.Client, audiences: Iterable[str]) -> list[EndpointRecord]:
    """The enabled endpoints of ``audiences`` (one query per 30 audiences)."""
    wanted = sorted(set(audiences))
    records: list[EndpointRecord] = []
    for start in range(0, len(wanted), IN_LIMIT):
        query = queries.build(
            db,
            queries.WEBHOOK_ENDPOINTS_FOR,
            equal={"audience": wanted[start : start + IN_LIMIT], "enabled": True},
        )
        records += [EndpointRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]
    return records


def change_endpoint(
    db: firestore.Client,
    endpoint_id: str,
    mutate: Callable[[EndpointRecord], tuple[EndpointRecord | None, list[Event]]],
    *,
    outbox: Outbox,
) -> tuple[EndpointRecord, list[Event]]:
    """Apply ``mutate`` to an endpoint in a transaction: it returns the new record (``None``:
    no change) and events to commit with it (staged through ``outbox``; flush them after).
    ``version`` is bumped by this function. Raises :class:`NotFound`."""
    ref = endpoint_ref(db, endpoint_id)

    @firestore.transactional
    def run(txn: firestore.Transaction) -> tuple[EndpointRecord, list[Event]]:
        snap = ref.get(transaction=txn)
        if not snap.exists:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        current = EndpointRecord.from_doc(snap.id, snap.to_dict() or {})
        new, events = mutate(current)
        if new is None:
            return current, []
        new = new.model_copy(update={"version": current.version + 1})
        txn.set(ref, new.to_doc())
        outbox.add(txn, events)
        return new, events

    result: tuple[EndpointRecord, list[Event]] = run(db.transaction())
    return result


def touch_endpoint(db: firestore.Client, endpoint_id: str, **fields: datetime) -> None:
    """Set health timestamps (``last_success_at``, ``failing_since``) of an endpoint, without a
    transaction or a version change (the last writer wins; both only move forward). An
    endpoint deleted meanwhile is left deleted."""
    try:
        endpoint_ref(db, endpoint_id).update(dict(fields))
    except NotFoundError:
        return


def delete_endpoint(db: firestore.Client, endpoint_id: str) -> None:
    """Delete an endpoint (its delivery log expires with its TTL). Raises :class:`NotFound`."""
    ref = endpoint_ref(db, endpoint_id)
    if not ref.get().exists:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    ref.delete()


def add_deliveries(db: firestore.Client, deliveries: Sequence[DeliveryRecord]) -> None:
    """Store new deliveries in one batch; those that exist already (an event fanned out
    again) are left as they are."""
    if not deliveries:
        return
    batch = db.batch()
    for delivery in deliveries:
        batch.create(delivery_ref(db, delivery.endpoint_id, delivery.id), delivery.to_doc())
    try:
        batch.commit()
    except (AlreadyExists, Conflict):
        for delivery in deliveries:
            try:
                delivery_ref(db, delivery.endpoint_id, delivery.id).create(delivery.to_doc())
            except (AlreadyExists, Conflict):
                continue


def get_both(
    db: firestore.Client, endpoint_id: str, delivery_id: str
) -> tuple[EndpointRecord | None, DeliveryRecord | None, datetime | None]:
    """An endpoint and one of its deliveries in one read (``None`` for what does not exist),
    and the delivery's update time (for :func:`record_delivery`)."""
    refs = [endpoint_ref(db, endpoint_id), delivery_ref(db, endpoint_id, delivery_id)]
    snaps = {snap.reference.path: snap for snap in db.get_all(refs)}
    endpoint_snap, delivery_snap = (snaps.get(ref.path) for ref in refs)
    endpoint = (
        EndpointRecord.from_doc(endpoint_snap.id, endpoint_snap.to_dict() or {})
        if endpoint_snap is not None and endpoint_snap.exists
        else None
    )
    if delivery_snap is None or not delivery_snap.exists:
        return endpoint, None, None
    delivery = DeliveryRecord.from_doc(delivery_snap.id, delivery_snap.to_dict() or {})
    return endpoint, delivery, delivery_snap.update_time


def record_delivery(db: firestore.Client, delivery: DeliveryRecord, *, read_at: datetime) -> bool:
    """Write ``delivery`` if its document has not changed since ``read_at`` (its update time
    when it was read): one write, no transaction. ``False`` when it changed meanwhile."""
    ref = delivery_ref(db, delivery.endpoint_id, delivery.id)
    try:
        ref.update(delivery.to_doc(), option=db.write_option(last_update_time=read_at))
    except (FailedPrecondition, NotFoundError):
        return False
    return True


def get_delivery(db: firestore.Client, endpoint_id: str, delivery_id: str) -> DeliveryRecord:
    """One delivery. Raises :class:`NotFound`."""
    snap = delivery_ref(db, endpoint_id, delivery_id).get()
    if not snap.exists:
        raise NotFound(f"delivery {delivery_id} not found")
    return DeliveryRecord.from_doc(snap.id, snap.to_dict() or {})


def change_delivery(
    db: firestore.Client,
    endpoint_id: str,
    delivery_id: str,
    mutate: Callable[[DeliveryRecord], DeliveryRecord | None],
) -> DeliveryRecord | None:
    """Apply ``mutate`` to a delivery in a transaction; the new record, or ``None`` when
    ``mutate`` declined (it saw the change already made). Raises :class:`NotFound`."""
    ref = delivery_ref(db, endpoint_id, delivery_id)

    @firestore.transactional
    def run(txn: firestore.Transaction) -> DeliveryRecord | None:
        snap = ref.get(transaction=txn)
        if not snap.exists:
            raise NotFound(f"delivery {delivery_id} not found")
        new = mutate(DeliveryRecord.from_doc(snap.id, snap.to_dict() or {}))
        if new is not None:
            txn.set(ref, new.to_doc())
        return new

    result: DeliveryRecord | None = run(db.transaction())
    return result


def list_deliveries(
    db: firestore.Client,
    *,
    endpoint_id: str,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[DeliveryRecord]:
    """One endpoint's delivery log, newest first, optionally of one ``status``."""
    parent = endpoint_ref(db, endpoint_id)
    after = cursor_snapshot(db, cursor, collection=DELIVERIES)
    if after is not None and after.reference.parent.parent != parent:
        raise BadRequest("invalid cursor: it belongs to another endpoint's log")
    if status is None:
        spec, equal = queries.WEBHOOK_DELIVERIES, {}
    else:
        spec, equal = queries.WEBHOOK_DELIVERIES_BY_STATUS, {"status": status.value}
    query = queries.build(parent, spec, equal=equal, limit=limit + 1, start_after=after)
    snaps = list(query.stream())
    more = len(snaps) > limit
    snaps = snaps[:limit]
    items = [DeliveryRecord.from_doc(s.id, s.to_dict() or {}) for s in snaps]
    return Page(items, encode_cursor(snaps[-1].reference.path) if more and snaps else None)


def stamp(record: EndpointRecord, now: datetime, **changes: object) -> EndpointRecord:
    """``record`` with ``changes`` and ``updated_at`` = ``now``."""
    return record.model_copy(update={**changes, "updated_at": now})
