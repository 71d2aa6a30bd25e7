"""Records (documents beside the graph: users, tokens, drafts, import runs), against every backend."""

from __future__ import annotations

import pytest

from catalog.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from catalog.store.base import CatalogStore, WriteContext, record_ref


def test_put_get_list_delete(store: CatalogStore, ctx: WriteContext) -> None:
    assert store.get_record("user", "lan") is None and store.count_records() == 0
    r = store.put_record("user", "lan", {"role": "architect", "display": "Nguyễn Thị Lan"}, ctx, expected_version=0)
    assert (r.collection, r.key, r.version, r.data) == (
        "user",
        "lan",
        1,
        {"role": "architect", "display": "Nguyễn Thị Lan"},
    )
    assert store.get_record("user", "lan") == r
    store.put_record("user", "an", {"role": "viewer"}, ctx)
    store.put_record("draft", "d1", {"status": "pending"}, ctx)
    assert [x.key for x in store.list_records("user")] == ["an", "lan"]
    assert [x.key for x in store.list_records("user", limit=1, offset=1)] == ["lan"]
    assert [x.key for x in store.list_records("user", newest_first=True)] == ["an", "lan"]
    assert store.count_records() == 3 and store.count_records("user") == 2 and store.count_records("nothing") == 0
    r2 = store.put_record("user", "lan", {"role": "admin"}, ctx, expected_version=1)
    assert (
        r2.version == 2 and r2.updated_at > r.updated_at and store.get_record("user", "lan").data == {"role": "admin"}
    )
    store.delete_record("user", "lan", ctx, expected_version=2)
    assert store.get_record("user", "lan") is None and store.count_records("user") == 1
    with pytest.raises(NotFound):
        store.delete_record("user", "lan", ctx)


def test_optimistic_concurrency(store: CatalogStore, ctx: WriteContext) -> None:
    store.put_record("draft", "d1", {"n": 1}, ctx, expected_version=0)
    with pytest.raises(AlreadyExists):
        store.put_record("draft", "d1", {"n": 2}, ctx, expected_version=0)
    with pytest.raises(Conflict):
        store.put_record("draft", "d1", {"n": 2}, ctx, expected_version=5)
    with pytest.raises(Conflict):
        store.put_record("draft", "missing", {"n": 2}, ctx, expected_version=1)
    with pytest.raises(Conflict):
        store.delete_record("draft", "d1", ctx, expected_version=7)
    assert store.get_record("draft", "d1").data == {"n": 1} and store.get_record("draft", "missing") is None


def test_logged_writes_are_in_the_chain_and_unlogged_ones_are_not(
    store: CatalogStore, ctx: WriteContext, factory
) -> None:
    entity, _ = factory
    store.create_entity(entity("organization:a"), ctx)
    seq = store.revision()[0]
    store.put_record("draft", "d1", {"status": "pending"}, ctx)
    store.put_record("draft", "d1", {"status": "approved"}, ctx)
    store.put_record("credential", "lan", {"hash": "secret-hash"}, ctx, log=False)
    store.delete_record("draft", "d1", ctx)
    entries = store.changelog(after_seq=seq)
    assert [(c.op, c.ref, c.before, c.after) for c in entries] == [
        ("create", record_ref("draft", "d1"), None, {"status": "pending"}),
        ("update", record_ref("draft", "d1"), {"status": "pending"}, {"status": "approved"}),
        ("delete", record_ref("draft", "d1"), {"status": "approved"}, None),
    ]
    assert all("secret-hash" not in str(c.after) for c in store.changelog())
    assert store.verify_log().ok
    # records are not catalog facts: the graph as of now holds only the organisation
    g = store.graph_as_of(entries[-1].time)
    assert set(g.entities) == {"organization:a"} and g.relationships == []


def test_a_failed_transaction_leaves_no_record(store: CatalogStore, ctx: WriteContext) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction(ctx):
            store.put_record("import-run", "r1", {"status": "started"}, ctx)
            raise RuntimeError("boom")
    assert store.get_record("import-run", "r1") is None and store.revision()[0] == 0


@pytest.mark.parametrize(
    "collection,key", [("Users", "x"), ("", "x"), ("user", ""), ("user", "a\nb"), ("user", "x" * 201)]
)
def test_bad_keys_are_refused(store: CatalogStore, ctx: WriteContext, collection: str, key: str) -> None:
    with pytest.raises(ValidationFailed):
        store.put_record(collection, key, {}, ctx)
    assert store.count_records() == 0


def test_erase_and_is_empty_cover_records(store: CatalogStore, ctx: WriteContext) -> None:
    store.put_record("credential", "lan", {"hash": "h"}, ctx, log=False)
    assert not store.is_empty()
    store.erase()
    assert store.is_empty() and store.count_records() == 0
