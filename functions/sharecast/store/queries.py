"""Every Firestore query Sharecast makes, declared once, and the indexes they need.

Store modules never chain ``.where()``/``.order_by()`` themselves: they declare a
:class:`QuerySpec` here (listed in :data:`ALL_QUERIES`) and build the query from it with
:func:`build`, which refuses values that do not match the declaration. The declaration is
therefore the query, and ``tests/unit/terraform`` derives the composite indexes the queries
need (:func:`required_composite_indexes`) and compares them with the ``google_firestore_index``
resources in ``terraform/firestore.tf``, both ways. The Firestore emulator never enforces
composite indexes (docs/local-stack.md), so this derivation is what catches a missing one before
production.

Index rules implemented (Firestore native mode):

- https://firebase.google.com/docs/firestore/query-data/index-overview (single-field indexes
  are created automatically for every field, ascending and descending, at collection scope;
  queries with only equality filters are served by merging single-field indexes; a query that
  combines equality filters with a range filter or a sort order on another field, or that sorts
  on several fields, needs a composite index: equality fields first, then the sort/range fields).
- https://cloud.google.com/firestore/docs/query-data/multiple-range-fields (range and
  inequality filters on several fields; fields with inequality filters that are not in the
  explicit ``order_by`` are ordered implicitly, in lexicographic order of their names,
  ascending, after the explicit orderings, and the index must list them in that order).
- https://cloud.google.com/firestore/docs/query-data/queries#collection-group-query (collection
  group queries need indexes at ``COLLECTION_GROUP`` scope; automatic single-field indexes only
  exist at collection scope, so even a one-field collection group query needs an index setting).

TTL policies (https://cloud.google.com/firestore/docs/ttl) are declared here too
(:data:`ALL_TTL_POLICIES`) so the Terraform ``google_firestore_field`` TTL settings can be
compared with the fields the code writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter


class Direction(StrEnum):
    """Sort direction; the values are both the Python client's and Terraform's ``order``."""

    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"


class Scope(StrEnum):
    """Index query scope (Terraform ``query_scope``): one collection, or a collection group."""

    COLLECTION = "COLLECTION"
    COLLECTION_GROUP = "COLLECTION_GROUP"


#: Range and inequality operators (each makes its field an ordered field of the index).
RANGE_OPS = frozenset({"<", "<=", ">", ">=", "!=", "not-in"})


@dataclass(frozen=True)
class QuerySpec:
    """The shape of one query: which fields it filters and sorts on, never the values.

    ``collection_group`` is the collection id (the last path segment, ``events`` for
    ``users/{uid}/events``); ``scope`` says whether the query runs on one such collection or on
    every collection with that id. ``equality`` fields take ``==``/``in`` filters,
    ``range_fields`` take range/inequality filters, ``order_by`` is the explicit sort order.
    """

    name: str
    collection_group: str
    equality: tuple[str, ...] = ()
    range_fields: tuple[str, ...] = ()
    order_by: tuple[tuple[str, Direction], ...] = ()
    scope: Scope = Scope.COLLECTION

    def __post_init__(self) -> None:
        fields = [*self.equality, *self.range_fields]
        if len(set(fields)) != len(fields):
            raise ValueError(f"{self.name}: a field is both an equality and a range field")
        ordered = [f for f, _ in self.order_by]
        if len(set(ordered)) != len(ordered):
            raise ValueError(f"{self.name}: a field is ordered twice")
        if set(ordered) & set(self.equality):
            raise ValueError(f"{self.name}: ordering on an equality field is meaningless")


@dataclass(frozen=True)
class CompositeIndex:
    """A composite index: ``fields`` in index order, each with its direction.

    Firestore appends ``__name__`` (in the direction of the last field) by itself; it is not
    listed here, as in Terraform's ``google_firestore_index``.
    """

    collection_group: str
    scope: Scope
    fields: tuple[tuple[str, Direction], ...]


@dataclass(frozen=True)
class FieldIndex:
    """A single-field index that is not automatic: ``field`` at collection-group scope."""

    collection_group: str
    field: str
    direction: Direction


@dataclass(frozen=True)
class TtlPolicy:
    """A Firestore TTL policy: documents of ``collection_group`` expire at ``field``."""

    collection_group: str
    field: str


# --- The declarations --------------------------------------------------------------------

#: ``store.connections.find_connection``: the user's first active connection to a platform.
ACTIVE_CONNECTION = QuerySpec(
    name="active_connection",
    collection_group="connections",
    equality=("user_id", "platform", "status"),
)

#: ``store.connections.list_connections``: every connection of one user (``GET /connections``).
USER_CONNECTIONS = QuerySpec(
    name="user_connections",
    collection_group="connections",
    equality=("user_id",),
)

#: ``relay.replay.read_window``: one user's events from an id on (replay), oldest first.
EVENTS_FROM_ID = QuerySpec(
    name="events_from_id",
    collection_group="events",
    range_fields=("id",),
    order_by=(("id", Direction.ASCENDING),),
)

#: ``store.listing.list_posts``: one user's posts created in a time window, newest first.
USER_POSTS = QuerySpec(
    name="user_posts",
    collection_group="posts",
    equality=("user_id",),
    range_fields=("created_at",),
    order_by=(("created_at", Direction.DESCENDING),),
)

#: ``store.listing.list_posts`` with ``?status=``.
USER_POSTS_BY_STATUS = QuerySpec(
    name="user_posts_by_status",
    collection_group="posts",
    equality=("user_id", "status"),
    range_fields=("created_at",),
    order_by=(("created_at", Direction.DESCENDING),),
)

#: ``store.listing.list_dead_letters``: targets of every post finally ``FAILED``, newest first.
DEAD_LETTERS = QuerySpec(
    name="dead_letters",
    collection_group="targets",
    equality=("status",),
    order_by=(("updated_at", Direction.DESCENDING),),
    scope=Scope.COLLECTION_GROUP,
)


def _attempts(name: str, *equality: str) -> QuerySpec:
    return QuerySpec(
        name=name,
        collection_group="attempts",
        equality=equality,
        order_by=(("finished_at", Direction.DESCENDING),),
    )


#: ``store.listing.list_attempts``: the attempt log newest first, by the filters given (a
#: target id is only unique within its post, so a target filter always comes with the post).
ATTEMPTS_RECENT = _attempts("attempts_recent")
ATTEMPTS_BY_OUTCOME = _attempts("attempts_by_outcome", "outcome")
ATTEMPTS_OF_POST = _attempts("attempts_of_post", "post_id")
ATTEMPTS_OF_POST_BY_OUTCOME = _attempts("attempts_of_post_by_outcome", "post_id", "outcome")
ATTEMPTS_OF_TARGET = _attempts("attempts_of_target", "post_id", "target_id")
ATTEMPTS_OF_TARGET_BY_OUTCOME = _attempts(
    "attempts_of_target_by_outcome", "post_id", "target_id", "outcome"
)
#: The attempt-log query for each set of filters.
ATTEMPT_QUERIES: dict[frozenset[str], QuerySpec] = {
    frozenset(spec.equality): spec
    for spec in (
        ATTEMPTS_RECENT,
        ATTEMPTS_BY_OUTCOME,
        ATTEMPTS_OF_POST,
        ATTEMPTS_OF_POST_BY_OUTCOME,
        ATTEMPTS_OF_TARGET,
        ATTEMPTS_OF_TARGET_BY_OUTCOME,
    )
}


#: ``store.shares.list_audit``: one user's audit entries of a video, newest first.
SHARE_AUDIT_OF_USER = QuerySpec(
    name="share_audit_of_user",
    collection_group="share_audit",
    equality=("video_id", "user_id"),
    order_by=(("created_at", Direction.DESCENDING),),
)

#: ``store.shares.list_audit`` for admins: everyone's audit entries of a video, newest first.
SHARE_AUDIT_OF_VIDEO = QuerySpec(
    name="share_audit_of_video",
    collection_group="share_audit",
    equality=("video_id",),
    order_by=(("created_at", Direction.DESCENDING),),
)

#: ``analytics.summarize`` (viewer, monitor, admin): every target created in a time range.
ANALYTICS_TARGETS = QuerySpec(
    name="analytics_targets",
    collection_group="targets",
    range_fields=("created_at",),
    order_by=(("created_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``analytics.summarize`` (user): the caller's targets created in a time range.
ANALYTICS_USER_TARGETS = QuerySpec(
    name="analytics_user_targets",
    collection_group="targets",
    equality=("user_id",),
    range_fields=("created_at",),
    order_by=(("created_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``analytics.summarize`` (viewer, monitor, admin): every attempt started in a time range.
ANALYTICS_ATTEMPTS = QuerySpec(
    name="analytics_attempts",
    collection_group="attempts",
    range_fields=("started_at",),
    order_by=(("started_at", Direction.ASCENDING),),
)

#: ``analytics.summarize`` (user): the caller's attempts started in a time range.
ANALYTICS_USER_ATTEMPTS = QuerySpec(
    name="analytics_user_attempts",
    collection_group="attempts",
    equality=("user_id",),
    range_fields=("started_at",),
    order_by=(("started_at", Direction.ASCENDING),),
)

#: ``store.media.expired``: uploaded or failed media whose ``expires_at`` has passed (cleanup).
MEDIA_EXPIRED = QuerySpec(
    name="media_expired",
    collection_group="media",
    equality=("status",),
    range_fields=("expires_at",),
)

#: ``store.media.stale_uploads``: ``UPLOADING`` media whose signed PUT URL has expired.
MEDIA_STALE_UPLOADS = QuerySpec(
    name="media_stale_uploads",
    collection_group="media",
    equality=("status",),
    range_fields=("upload_expires_at",),
)

#: ``store.sweeps.enqueue_pending_posts``: posts whose first tasks may not exist, oldest first.
POSTS_ENQUEUE_PENDING = QuerySpec(
    name="posts_enqueue_pending",
    collection_group="posts",
    equality=("enqueue_pending",),
    order_by=(("created_at", Direction.ASCENDING),),
)

#: ``store.sweeps.due_targets``: PENDING/RETRYING targets of every post due before a time.
TARGETS_DUE = QuerySpec(
    name="targets_due",
    collection_group="targets",
    equality=("status",),
    range_fields=("next_attempt_at",),
    order_by=(("next_attempt_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``store.sweeps.expired_leases``: PUBLISHING targets whose lease ended before a time.
TARGETS_LEASE_EXPIRED = QuerySpec(
    name="targets_lease_expired",
    collection_group="targets",
    equality=("status",),
    range_fields=("lease_until",),
    order_by=(("lease_until", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``store.sweeps.due_continuations``: multi-step targets waiting (no lease) whose next step
#: was due before a time.
TARGETS_CONTINUATION_DUE = QuerySpec(
    name="targets_continuation_due",
    collection_group="targets",
    equality=("status",),
    range_fields=("continue_at",),
    order_by=(("continue_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``Outbox.republish``: events of every user never published, oldest first.
EVENTS_UNPUBLISHED = QuerySpec(
    name="events_unpublished",
    collection_group="events",
    equality=("published_at",),
    range_fields=("created_at",),
    order_by=(("created_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``Outbox.catch_up`` of the webhook consumer: events of every user never fanned out to
#: webhook endpoints (``webhooks_at`` unset), oldest first.
EVENTS_WEBHOOKS_PENDING = QuerySpec(
    name="events_webhooks_pending",
    collection_group="events",
    equality=("webhooks_at",),
    range_fields=("created_at",),
    order_by=(("created_at", Direction.ASCENDING),),
    scope=Scope.COLLECTION_GROUP,
)

#: ``store.webhooks.endpoints_for``: the enabled endpoints of some audiences (the fan-out).
WEBHOOK_ENDPOINTS_FOR = QuerySpec(
    name="webhook_endpoints_for",
    collection_group="webhook_endpoints",
    equality=("audience", "enabled"),
)

#: ``store.webhooks.list_endpoints``: the endpoints one user created.
WEBHOOK_ENDPOINTS_OF_OWNER = QuerySpec(
    name="webhook_endpoints_of_owner",
    collection_group="webhook_endpoints",
    equality=("owner_id",),
)

#: ``store.webhooks.list_endpoints`` for admins: every org-wide endpoint.
WEBHOOK_ENDPOINTS_OF_AUDIENCE = QuerySpec(
    name="webhook_endpoints_of_audience",
    collection_group="webhook_endpoints",
    equality=("audience",),
)

#: ``store.webhooks.list_deliveries``: one endpoint's delivery log, newest first.
WEBHOOK_DELIVERIES = QuerySpec(
    name="webhook_deliveries",
    collection_group="deliveries",
    order_by=(("created_at", Direction.DESCENDING),),
)

#: ``store.webhooks.list_deliveries`` with ``?status=``.
WEBHOOK_DELIVERIES_BY_STATUS = QuerySpec(
    name="webhook_deliveries_by_status",
    collection_group="deliveries",
    equality=("status",),
    order_by=(("created_at", Direction.DESCENDING),),
)

#: Every query the code makes (tests/unit/terraform compares their indexes with Terraform's).
ALL_QUERIES: tuple[QuerySpec, ...] = (
    ACTIVE_CONNECTION,
    EVENTS_FROM_ID,
    USER_POSTS,
    USER_POSTS_BY_STATUS,
    DEAD_LETTERS,
    *ATTEMPT_QUERIES.values(),
    ANALYTICS_TARGETS,
    ANALYTICS_USER_TARGETS,
    ANALYTICS_ATTEMPTS,
    ANALYTICS_USER_ATTEMPTS,
    USER_CONNECTIONS,
    SHARE_AUDIT_OF_USER,
    SHARE_AUDIT_OF_VIDEO,
    MEDIA_EXPIRED,
    MEDIA_STALE_UPLOADS,
    POSTS_ENQUEUE_PENDING,
    TARGETS_DUE,
    TARGETS_LEASE_EXPIRED,
    TARGETS_CONTINUATION_DUE,
    EVENTS_UNPUBLISHED,
    EVENTS_WEBHOOKS_PENDING,
    WEBHOOK_ENDPOINTS_FOR,
    WEBHOOK_ENDPOINTS_OF_OWNER,
    WEBHOOK_ENDPOINTS_OF_AUDIENCE,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERIES_BY_STATUS,
)

#: ``users/{uid}/events/{id}.expire_at`` (written by ``outbox.event_doc``).
EVENTS_TTL = TtlPolicy(collection_group="events", field="expire_at")

#: ``oauth_states/{state}.expire_at`` (written by ``store.oauth_states.create_state``).
OAUTH_STATES_TTL = TtlPolicy(collection_group="oauth_states", field="expire_at")

#: ``rate_limits/{user}:{class}:{window}.expire_at`` (``sharecast.ratelimit``).
RATE_LIMITS_TTL = TtlPolicy(collection_group="rate_limits", field="expire_at")

#: ``idempotency_keys/{hash}.expire_at`` (``sharecast.idempotency``).
IDEMPOTENCY_TTL = TtlPolicy(collection_group="idempotency_keys", field="expire_at")

#: ``webhook_endpoints/{id}/deliveries/{id}.expire_at`` (``store.webhooks``, the delivery log).
WEBHOOK_DELIVERIES_TTL = TtlPolicy(collection_group="deliveries", field="expire_at")

#: Every TTL field the code writes (compared with the ``google_firestore_field`` TTL configs).
ALL_TTL_POLICIES: tuple[TtlPolicy, ...] = (
    EVENTS_TTL,
    OAUTH_STATES_TTL,
    RATE_LIMITS_TTL,
    IDEMPOTENCY_TTL,
    WEBHOOK_DELIVERIES_TTL,
)


# --- Building a query from its declaration -----------------------------------------------


def build(
    parent: firestore.Client | firestore.DocumentReference,
    spec: QuerySpec,
    *,
    equal: Mapping[str, Any] | None = None,
    ranges: Sequence[tuple[str, str, Any]] = (),
    limit: int | None = None,
    start_after: firestore.DocumentSnapshot | None = None,
) -> firestore.Query:
    """The query ``spec`` declares, with these values.

    ``parent`` is the client (top-level collections and collection-group queries) or the
    document that holds the collection (``users/{uid}`` for ``events``); the collection id
    always comes from ``spec``. ``equal`` maps every equality field of ``spec`` (and nothing
    else) to its value (a list for ``in``); ``ranges`` holds ``(field, op, value)`` filters on
    the range fields of ``spec``, each of which must be used; ``start_after`` (a page cursor)
    resumes after that document in the declared order. Raises ``ValueError`` when the
    values do not match the declaration, so the declaration cannot drift from the query.
    """
    equal = dict(equal or {})
    if set(equal) != set(spec.equality):
        raise ValueError(
            f"{spec.name}: equality filters {sorted(equal)} != declared {sorted(spec.equality)}"
        )
    used = {field for field, _, _ in ranges}
    if used != set(spec.range_fields):
        raise ValueError(
            f"{spec.name}: range filters {sorted(used)} != declared {sorted(spec.range_fields)}"
        )
    for field, op, _ in ranges:
        if op not in RANGE_OPS:
            raise ValueError(f"{spec.name}: {op!r} on {field} is not a range operator")
    if spec.scope is Scope.COLLECTION_GROUP:
        if not isinstance(parent, firestore.Client):
            raise ValueError(f"{spec.name}: a collection group query needs the client")
        query: Any = parent.collection_group(spec.collection_group)
    else:
        query = parent.collection(spec.collection_group)
    for field in spec.equality:  # declaration order: deterministic queries
        value = equal[field]
        op = "in" if isinstance(value, list | tuple) else "=="
        query = query.where(filter=FieldFilter(field, op, value))
    for field, op, value in ranges:
        query = query.where(filter=FieldFilter(field, op, value))
    for field, direction in spec.order_by:
        query = query.order_by(field, direction=direction.value)
    if start_after is not None:
        query = query.start_after(start_after)
    if limit is not None:
        query = query.limit(limit)
    result: firestore.Query = query
    return result


# --- Which indexes the declarations need -------------------------------------------------


def index_fields(spec: QuerySpec) -> tuple[tuple[str, Direction], ...]:
    """The fields an index for ``spec`` must list, in order (before ``__name__``).

    Equality fields come first (ascending; sorted by name, because Firestore serves equality
    filters from an index whatever their order there, so one canonical order suffices), then
    the explicit ``order_by`` fields with their directions, then the range fields that are not
    ordered explicitly, ascending, in lexicographic order (the implicit ordering of
    https://cloud.google.com/firestore/docs/query-data/multiple-range-fields).
    """
    ordered = [field for field, _ in spec.order_by]
    implicit = sorted(f for f in spec.range_fields if f not in ordered)
    return (
        *((field, Direction.ASCENDING) for field in sorted(spec.equality)),
        *spec.order_by,
        *((field, Direction.ASCENDING) for field in implicit),
    )


def needs_composite(spec: QuerySpec) -> bool:
    """True when no automatic single-field index (or merge of them) can serve ``spec``.

    Per https://firebase.google.com/docs/firestore/query-data/index-overview: a query on one
    field (any filters on it, sorted by it or not) uses that field's single-field index; a
    query with only equality filters and no sort order is served by index merging; anything
    else (equality plus a range or sort on another field, or sorts/ranges on several fields)
    needs a composite index.
    """
    fields = index_fields(spec)
    if len(fields) < 2:
        return False
    return bool(spec.range_fields or spec.order_by)


def required_composite_indexes(specs: Iterable[QuerySpec]) -> set[CompositeIndex]:
    """The composite indexes ``specs`` need (deduplicated), per :func:`needs_composite`."""
    return {
        CompositeIndex(spec.collection_group, spec.scope, index_fields(spec))
        for spec in specs
        if needs_composite(spec)
    }


def required_field_indexes(specs: Iterable[QuerySpec]) -> set[FieldIndex]:
    """Single-field indexes that are not automatic: collection-group queries on one field.

    Automatic single-field indexes exist at collection scope only
    (https://firebase.google.com/docs/firestore/query-data/index-overview#single-field-indexes),
    so a collection group query that a single field serves needs that field enabled at
    collection-group scope (Terraform ``google_firestore_field`` ``index_config``). Equality-only
    collection group queries on several fields merge those single-field indexes, so each of
    their fields needs one.
    """
    result: set[FieldIndex] = set()
    for spec in specs:
        if spec.scope is not Scope.COLLECTION_GROUP or needs_composite(spec):
            continue
        for field, direction in index_fields(spec):
            result.add(FieldIndex(spec.collection_group, field, direction))
    return result
