"""Query declarations (sharecast.store.queries): the index rules on synthetic specs, building
queries from their specs, and that the code makes no query outside them.

Rules: https://firebase.google.com/docs/firestore/query-data/index-overview and
https://cloud.google.com/firestore/docs/query-data/multiple-range-fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from sharecast import outbox
from sharecast.store import connections, queries
from sharecast.store.queries import (
    CompositeIndex,
    Direction,
    FieldIndex,
    QuerySpec,
    Scope,
    required_composite_indexes,
    required_field_indexes,
)

ROOT = Path(__file__).resolve().parents[3]
ASC, DESC = Direction.ASCENDING, Direction.DESCENDING


def spec(**kwargs) -> QuerySpec:
    return QuerySpec(name="q", collection_group="c", **kwargs)


def composite(*fields, scope=Scope.COLLECTION, group="c") -> CompositeIndex:
    return CompositeIndex(group, scope, tuple(fields))


# --- index rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        spec(),  # a whole collection
        spec(equality=("a",)),
        spec(equality=("a", "b", "c")),  # equalities only: index merging
        spec(range_fields=("a",)),
        spec(order_by=(("a", DESC),)),
        spec(range_fields=("a",), order_by=(("a", ASC),)),  # one field: its own index
        spec(range_fields=("a",), order_by=(("a", DESC),)),
    ],
)
def test_served_by_single_field_indexes(query):
    assert required_composite_indexes([query]) == set()
    assert required_field_indexes([query]) == set()


def test_equality_and_order_on_another_field():
    query = spec(equality=("user_id",), order_by=(("created_at", DESC),))
    assert required_composite_indexes([query]) == {
        composite(("user_id", ASC), ("created_at", DESC))
    }


def test_equality_and_range_on_another_field():
    query = spec(equality=("status", "user_id"), range_fields=("created_at",))
    assert required_composite_indexes([query]) == {
        composite(("status", ASC), ("user_id", ASC), ("created_at", ASC))
    }


def test_equality_range_and_order_on_the_range_field():
    query = spec(equality=("status",), range_fields=("at",), order_by=(("at", DESC),))
    assert required_composite_indexes([query]) == {composite(("status", ASC), ("at", DESC))}


def test_range_fields_not_ordered_come_after_the_order_by_in_name_order():
    query = spec(range_fields=("z", "b"), order_by=(("m", DESC),))
    assert required_composite_indexes([query]) == {composite(("m", DESC), ("b", ASC), ("z", ASC))}


def test_two_range_fields_without_order():
    query = spec(range_fields=("size", "age"))
    assert required_composite_indexes([query]) == {composite(("age", ASC), ("size", ASC))}


def test_sort_on_two_fields():
    query = spec(order_by=(("a", ASC), ("b", DESC)))
    assert required_composite_indexes([query]) == {composite(("a", ASC), ("b", DESC))}


def test_equality_order_does_not_matter_and_duplicates_collapse():
    one = spec(equality=("b", "a"), order_by=(("t", ASC),))
    two = QuerySpec(name="other", collection_group="c", equality=("a", "b"), order_by=(("t", ASC),))
    assert required_composite_indexes([one, two]) == {composite(("a", ASC), ("b", ASC), ("t", ASC))}


def test_collection_group_scope():
    group = Scope.COLLECTION_GROUP
    single = spec(range_fields=("next_at",), scope=group)
    merged = spec(equality=("status", "platform"), scope=group)
    needs = spec(equality=("status",), order_by=(("next_at", ASC),), scope=group)
    assert required_field_indexes([single, merged, needs]) == {
        FieldIndex("c", "next_at", ASC),
        FieldIndex("c", "platform", ASC),
        FieldIndex("c", "status", ASC),
    }
    assert required_composite_indexes([single, merged, needs]) == {
        composite(("status", ASC), ("next_at", ASC), scope=group)
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"equality": ("a",), "range_fields": ("a",)},
        {"order_by": (("a", ASC), ("a", DESC))},
        {"equality": ("a",), "order_by": (("a", ASC),)},
    ],
)
def test_contradictory_specs_are_refused(kwargs):
    with pytest.raises(ValueError):
        spec(**kwargs)


def test_the_share_audit_and_media_cleanup_queries_need_their_indexes():
    assert required_composite_indexes(queries.ALL_QUERIES) >= {
        composite(("user_id", ASC), ("video_id", ASC), ("created_at", DESC), group="share_audit"),
        composite(("video_id", ASC), ("created_at", DESC), group="share_audit"),
        composite(("status", ASC), ("expires_at", ASC), group="media"),
        composite(("status", ASC), ("upload_expires_at", ASC), group="media"),
    }


def test_the_sweeper_queries_need_their_composite_indexes():
    needed = required_composite_indexes(queries.ALL_QUERIES)
    assert (
        CompositeIndex("targets", Scope.COLLECTION_GROUP, (("status", ASC), ("lease_until", ASC)))
        in needed
    )
    assert (
        CompositeIndex(
            "events", Scope.COLLECTION_GROUP, (("published_at", ASC), ("created_at", ASC))
        )
        in needed
    )
    assert (
        CompositeIndex("posts", Scope.COLLECTION, (("enqueue_pending", ASC), ("created_at", ASC)))
        in needed
    )


def test_lifecycle_queries_need_these_indexes():
    needed = required_composite_indexes(queries.ALL_QUERIES)
    assert composite(("user_id", ASC), ("created_at", DESC), group="posts") in needed
    assert composite(("status", ASC), ("user_id", ASC), ("created_at", DESC), group="posts") in (
        needed
    )
    dead = composite(
        ("status", ASC), ("updated_at", DESC), scope=Scope.COLLECTION_GROUP, group="targets"
    )
    assert dead in needed
    assert required_composite_indexes([queries.ATTEMPTS_RECENT]) == set()
    assert composite(("status", ASC), ("expires_at", ASC), group="media") in needed
    assert composite(("status", ASC), ("upload_expires_at", ASC), group="media") in needed
    assert composite(("video_id", ASC), ("created_at", DESC), group="share_audit") in needed
    # The only single-field index at collection-group scope is analytics' (targets.created_at).
    assert required_field_indexes(queries.ALL_QUERIES) == {
        queries.FieldIndex("targets", "created_at", ASC)
    }


def test_the_base_queries_need_no_composite_index():
    base = (queries.ACTIVE_CONNECTION, queries.EVENTS_FROM_ID)
    assert required_composite_indexes(base) == set()
    assert required_field_indexes(base) == set()


def test_analytics_queries_need_their_indexes():
    by_user = required_composite_indexes(
        (queries.ANALYTICS_USER_TARGETS, queries.ANALYTICS_USER_ATTEMPTS)
    )
    assert {(i.collection_group, i.scope, tuple(f for f, _ in i.fields)) for i in by_user} == {
        ("targets", queries.Scope.COLLECTION_GROUP, ("user_id", "created_at")),
        ("attempts", queries.Scope.COLLECTION, ("user_id", "started_at")),
    }
    assert required_field_indexes((queries.ANALYTICS_TARGETS,)) == {
        queries.FieldIndex("targets", "created_at", ASC)
    }
    assert required_composite_indexes((queries.ANALYTICS_ATTEMPTS,)) == set()


def test_media_cleanup_queries_need_their_indexes():
    media = (queries.MEDIA_EXPIRED, queries.MEDIA_STALE_UPLOADS)
    assert required_composite_indexes(media) == {
        composite(("status", ASC), ("expires_at", ASC), group="media"),
        composite(("status", ASC), ("upload_expires_at", ASC), group="media"),
    }
    assert required_field_indexes(media) == set()


# --- building queries -------------------------------------------------------------------------


@pytest.fixture
def db() -> firestore.Client:
    return firestore.Client(project="sharecast-test", credentials=AnonymousCredentials())


def test_connection_query_is_the_declared_one(db):
    built = queries.build(
        db,
        queries.ACTIVE_CONNECTION,
        equal={"status": "ACTIVE", "platform": "x", "user_id": "u1"},
        limit=1,
    )
    by_hand = (
        db.collection("connections")
        .where(filter=FieldFilter("user_id", "==", "u1"))
        .where(filter=FieldFilter("platform", "==", "x"))
        .where(filter=FieldFilter("status", "==", "ACTIVE"))
        .limit(1)
    )
    assert built == by_hand
    assert connections.CONNECTIONS == "connections"


def test_events_query_is_the_declared_one(db):
    parent = db.collection("users").document("u1")
    built = queries.build(parent, queries.EVENTS_FROM_ID, ranges=[("id", ">=", "0179")], limit=5)
    by_hand = (
        parent.collection("events")
        .where(filter=FieldFilter("id", ">=", "0179"))
        .order_by("id")
        .limit(5)
    )
    assert built == by_hand
    assert (outbox.EVENTS, outbox.EXPIRE_AT) == ("events", "expire_at")


def test_page_cursor_resumes_after_a_document(db):
    snap = firestore.DocumentSnapshot(
        db.document("posts/p1"), {"created_at": 5}, True, None, None, None
    )
    built = queries.build(
        db,
        queries.USER_POSTS,
        equal={"user_id": "u"},
        ranges=[("created_at", ">=", 1)],
        limit=3,
        start_after=snap,
    )
    by_hand = (
        db.collection("posts")
        .where(filter=FieldFilter("user_id", "==", "u"))
        .where(filter=FieldFilter("created_at", ">=", 1))
        .order_by("created_at", direction="DESCENDING")
        .start_after(snap)
        .limit(3)
    )
    assert built == by_hand


def test_in_filter_for_list_values(db):
    built = queries.build(db, spec(equality=("status",)), equal={"status": ["A", "B"]})
    assert built == db.collection("c").where(filter=FieldFilter("status", "in", ["A", "B"]))


def test_collection_group_query(db):
    query = spec(equality=("status",), scope=Scope.COLLECTION_GROUP)
    built = queries.build(db, query, equal={"status": "A"})
    assert built == db.collection_group("c").where(filter=FieldFilter("status", "==", "A"))
    with pytest.raises(ValueError):
        queries.build(db.collection("x").document("y"), query, equal={"status": "A"})


@pytest.mark.parametrize(
    ("equal", "ranges"),
    [
        ({}, [("id", ">=", 1)]),  # missing equality
        ({"user_id": "u", "other": 1}, [("id", ">=", 1)]),  # undeclared equality
        ({"user_id": "u"}, []),  # declared range field unused
        ({"user_id": "u"}, [("id", "==", 1)]),  # not a range operator
        ({"user_id": "u"}, [("id", ">", 1), ("at", "<", 2)]),  # undeclared range field
    ],
)
def test_values_must_match_the_declaration(db, equal, ranges):
    declared = spec(equality=("user_id",), range_fields=("id",))
    with pytest.raises(ValueError):
        queries.build(db, declared, equal=equal, ranges=ranges)


# --- no query outside the declarations ----------------------------------------------------------

_QUERY_CALL = re.compile(r"\.(where|order_by|collection_group|start_at|start_after|end_at)\(")


def test_every_query_goes_through_a_declaration():
    """A ``.where()``/``.order_by()`` outside queries.py would escape the index check."""
    offenders = []
    for path in sorted((ROOT / "functions" / "sharecast").rglob("*.py")):
        if path.name == "queries.py" and path.parent.name == "store":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _QUERY_CALL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "declare these queries in sharecast/store/queries.py"


def test_every_declaration_is_registered():
    declared = {value for value in vars(queries).values() if isinstance(value, QuerySpec)}
    assert declared == set(queries.ALL_QUERIES)
    assert len({q.name for q in queries.ALL_QUERIES}) == len(queries.ALL_QUERIES)
    ttl = {value for value in vars(queries).values() if isinstance(value, queries.TtlPolicy)}
    assert ttl == set(queries.ALL_TTL_POLICIES)
