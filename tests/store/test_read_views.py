"""The store's unparsed reads for views (``graph_json``, ``part_json``), written only against :class:`CatalogStore`:
every backend runs them unchanged (the ``store`` fixture is parametrised over ``BACKENDS``).

They must return exactly the stored canonical content of exactly the facts the contract names: the same facts as
``graph_as_of`` / the current reads, nothing more, nothing less.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pytest
from conftest import entity as ent
from conftest import rel as rl

from catalog.changelog import canonical_json
from catalog.model import Entity, LocalText, OrgEvent, OwnerPeriod, Relationship
from catalog.store.base import CatalogStore, WriteContext

UTC = dt.UTC


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, 1, hour, minute, tzinfo=UTC)


@pytest.fixture(params=["backend", "default"])
def reads(request: pytest.FixtureRequest, store: CatalogStore) -> tuple[Callable, Callable]:
    """(graph_json, part_json) of the backend, or the contract's default implementations on that backend."""
    if request.param == "backend":
        return store.graph_json, store.part_json
    return (functools.partial(CatalogStore.graph_json, store), functools.partial(CatalogStore.part_json, store))


def texts(items: object) -> list[str]:
    values = items.values() if isinstance(items, dict) else items  # type: ignore[attr-defined]
    return sorted(canonical_json(x.content()) for x in values)  # type: ignore[attr-defined]


def test_graph_json_is_the_stored_content_now_and_as_of(
    store: CatalogStore, ctx: WriteContext, clock, reads: tuple[Callable, Callable]
) -> None:
    graph_json = reads[0]
    clock.set(at(9))
    store.create_entity(ent("organization:q1", "Quận 1"), ctx)
    store.create_entity(ent("system:a", "Hệ thống A", owner="organization:q1"), ctx)
    store.create_entity(ent("database:d", "CSDL \"D\" <x>"), ctx)
    store.create_relationship(rl("reads", "system:a", "database:d", protocol="rest"), ctx)
    t1 = at(9, 30)
    clock.set(at(10))
    store.create_entity(ent("system:b", "Hệ thống B"), ctx)
    store.create_relationship(rl("writes", "system:b", "database:d"), ctx)
    a = store.get_entity("system:a")
    store.update_entity(a.model_copy(update={"name": LocalText(vi="Hệ thống A mới", en="A")}), 1, ctx)
    t2 = at(10, 30)
    clock.set(at(11))
    store.delete_entity("database:d", 1, ctx, cascade=True)
    store.record_event(
        OrgEvent(id="q1-merge", type="merge", date=dt.date(2025, 7, 1), **{"from": ["organization:q1"]}), ctx
    )  # events and records are not graph facts
    store.put_record("notes", "n1", {"x": 1}, ctx)
    store.create_relationship(rl("flows_to", "system:a", "system:b"), ctx)
    t3 = at(11, 30)

    assert graph_json(at(8)) == ([], [])
    for when, names in (
        (t1, {"organization:q1", "system:a", "database:d"}),
        (t2, {"organization:q1", "system:a", "database:d", "system:b"}),
        (t3, {"organization:q1", "system:a", "system:b"}),
    ):
        ents, rels = graph_json(when)
        g = store.graph_as_of(when)
        assert {Entity.model_validate_json(t).ref for t in ents} == names
        assert sorted(ents) == texts(g.entities), when
        assert sorted(rels) == texts(g.relationships), when
    ents, rels = graph_json()
    assert sorted(ents) == texts(store.list_entities()) and len(ents) == 3
    assert (
        sorted(rels)
        == texts(store.list_relationships())
        == [canonical_json(rl("flows_to", "system:a", "system:b").content() | {"provenance": None})]
    )
    assert graph_json() == graph_json(None)
    # the text is exactly what the models dump, so it parses back to equal content
    assert [Relationship.model_validate_json(t).content() for t in rels] == [
        r.content() for r in store.list_relationships()
    ]


def test_part_json_reads_the_entities_what_they_own_and_their_relationships(
    store: CatalogStore, ctx: WriteContext, reads: tuple[Callable, Callable]
) -> None:
    part_json = reads[1]
    for ref in ("organization:a", "organization:ab", "organization:c"):
        store.create_entity(ent(ref, ref), ctx)
    store.create_entity(ent("system:s1", "S1", owner="organization:a"), ctx)
    store.create_entity(ent("system:s2", "S2", owner="organization:ab"), ctx)  # "organization:a" is a prefix
    moved = ent("database:d1", "D1").model_copy(
        update={
            "owner_history": [
                OwnerPeriod(org="organization:a", end=dt.date(2025, 3, 1)),
                OwnerPeriod(org="organization:c", start=dt.date(2025, 3, 1)),
            ]
        }
    )
    store.create_entity(moved, ctx)
    store.create_entity(ent("system:s3", "S3 \"org\":\"organization:a\"", owner="organization:c"), ctx)
    for r in (
        rl("reads", "system:s1", "database:d1"),
        rl("writes", "system:s2", "database:d1"),
        rl("flows_to", "system:s3", "system:s1"),
        rl("reads", "system:s3", "database:d1"),
    ):
        store.create_relationship(r, ctx)

    def part(**kw: object) -> tuple[set[str], set[str]]:
        ents, rels = part_json(**kw)  # type: ignore[arg-type]
        found = {Entity.model_validate_json(t).ref: t for t in ents}
        assert len(found) == len(ents)
        for ref, text in found.items():  # the stored canonical content, as graph_json gives it
            assert text == canonical_json(store.get_entity(ref).content())
        ids = {Relationship.model_validate_json(t).id for t in rels}
        assert len(ids) == len(rels)  # each once
        return set(found), ids

    assert part() == (set(), set())
    assert part(refs=["system:s1"]) == ({"system:s1"}, {"system:s1>reads>database:d1", "system:s3>flows_to>system:s1"})
    assert part(refs=["system:s1", "system:nope", "system:s1"], relationships=False) == ({"system:s1"}, set())
    assert part(refs=["database:d1"]) == (
        {"database:d1"},
        {"system:s1>reads>database:d1", "system:s2>writes>database:d1", "system:s3>reads>database:d1"},
    )
    # owners: every entity whose owner history names one of them, in any period; not a name that quotes one
    assert part(owners=["organization:a"]) == (
        {"system:s1", "database:d1"},
        {
            "system:s1>reads>database:d1",
            "system:s2>writes>database:d1",
            "system:s3>reads>database:d1",
            "system:s3>flows_to>system:s1",
        },
    )
    assert part(owners=["organization:c"], relationships=False) == ({"database:d1", "system:s3"}, set())
    assert part(owners=["organization:ab"], relationships=False) == ({"system:s2"}, set())
    assert part(refs=["organization:c"], owners=["organization:a", "organization:nope"], relationships=False) == (
        {"organization:c", "system:s1", "database:d1"},
        set(),
    )
    assert part(owners=["organization:nope"]) == (set(), set())
