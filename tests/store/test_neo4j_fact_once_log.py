"""Neo4j "each fact written once" (docs/architecture.md): entries about entities and relationships are stored without
``after``, reads derive it, and ``verify_log`` now covers the current facts too.

Checked on the raw graph (catalog.store.neo4j.testing.export_graph): what every write path stores, what a migration
into Neo4j stores, and what a current fact edited behind the catalog's back does to ``verify_log``. Needs the test
server (IOC_CATALOG_TEST_NEO4J_URL).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from conftest import SAMPLE, entity, neo4j_url, rel

from catalog.changelog import GENESIS, canonical_json, entry_hash
from catalog.digest import content_hash
from catalog.migrate import migrate
from catalog.model import ChangeEntry, OrgEvent
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext
from catalog.store.neo4j import Neo4jStore
from catalog.store.neo4j.testing import export_graph, set_property
from importers.base import run_import

CTX = WriteContext(actor="tester", request_id="req-once")
RID = "system:a>reads>database:d"


def _auth() -> dict[str, Any]:
    return {"user": os.environ.get("IOC_CATALOG_NEO4J_USER"), "password": os.environ.get("IOC_CATALOG_NEO4J_PASSWORD")}


def _stored_entries() -> list[dict[str, Any]]:
    nodes = export_graph(neo4j_url(), **_auth())["nodes"]
    return sorted((n["properties"] for n in nodes if n["labels"] == ["ChangeEntry"]), key=lambda e: e["seq"])


def _derived(e: dict[str, Any]) -> bool:
    return e["op"] != "delete" and not e["ref"].startswith(("event:", "record:"))


def _assert_written_once(store: Neo4jStore) -> None:
    """No entity/relationship entry stores an after; every after the log returns is the state that followed it."""
    stored = _stored_entries()
    assert stored and not [e["seq"] for e in stored if _derived(e) and "after" in e]
    log = store.changelog()
    assert [e.seq for e in log] == [e["seq"] for e in stored]
    for e, raw in zip(log, stored, strict=True):
        if not _derived(raw):
            assert (None if e.after is None else canonical_json(e.after)) == raw.get("after")
    for i, e in enumerate(log):  # the after of an entry is the before of the next entry about the same ref
        nxt = next((x for x in log[i + 1 :] if x.ref == e.ref), None)
        if nxt is not None and e.op != "delete" and nxt.op != "create":
            assert e.after == nxt.before, e.seq
    assert store.verify_log(configured_witness=False).ok


def test_every_write_path_stores_each_state_once(neo: Neo4jStore) -> None:
    a = neo.create_entity(entity("system:a", "A"), CTX)
    d = neo.create_entity(entity("database:d", "D"), CTX)
    r = neo.create_relationship(rel("reads", "system:a", "database:d"), CTX)
    a = neo.update_entity(entity("system:a", "A2"), a.version, CTX)
    r = neo.update_relationship(rel("reads", "system:a", "database:d", note="n"), r.version, CTX)
    neo.put_record("user", "lan", {"role": "architect"}, CTX)
    neo.record_event(OrgEvent(id="e1", type="create", date=dt.date(2025, 1, 1)), CTX)
    neo.delete_relationship(r.id, r.version, CTX)
    neo.create_relationship(rel("reads", "system:a", "database:d", note="again"), CTX)
    neo.delete_entity(d.ref, d.version, CTX, cascade=True)
    neo.create_entity(entity("database:d", "D again"), CTX)
    neo.bulk_load(
        BulkLoad(
            source="s",
            run="1",
            entities=[entity("system:a", "A3"), entity("system:b", "B"), entity("database:d", "D again")],
            relationships=[rel("reads", "system:b", "database:d")],
        ),
        CTX,
    )
    neo.stage_above = 2  # staged: new facts in transactions of their own, updates at publication
    neo.bulk_load(
        BulkLoad(
            source="s",
            run="2",
            entities=[entity("system:a", "A4"), entity("system:c", "C")],
            relationships=[rel("reads", "system:c", "database:d"), rel("reads", "system:a", "database:d")],
        ),
        CTX,
    )
    _assert_written_once(neo)
    names = [e.after["name"]["vi"] for e in neo.changelog(ref="system:a") if e.after]
    assert names == ["A", "A2", "A3", "A4"]
    assert neo.entity_as_of("system:a", neo.changelog(ref="system:a")[1].time).name.vi == "A2"
    assert [e.after is None for e in neo.changelog(ref="database:d")] == [False, True, False]
    user = neo.changelog(ref="record:user/lan")[0]
    assert user.after == {"role": "architect"}


def test_migration_into_neo4j_stores_each_state_once(neo: Neo4jStore, tmp_path: Path) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'src.db'}")
    try:
        assert run_import(source, SAMPLE).loaded
        system = next(source.iter_entities(kind="system"))
        data = system.content()
        data["description"] = {"vi": "mới", "en": "new"}
        source.update_entity(type(system).model_validate(data), system.version, CTX)
        result = migrate(source, neo, batch=100)  # pages of 100: entries are compacted page by page
        assert result.ok, result.problems()
        assert content_hash(neo) == content_hash(source)
        assert [e.model_dump() for e in neo.changelog()] == [e.model_dump() for e in source.changelog()]
    finally:
        source.close()
    _assert_written_once(neo)


def test_a_current_entity_edited_behind_the_catalogs_back_fails_verify_log(neo: Neo4jStore) -> None:
    a = neo.create_entity(entity("system:a", "A"), CTX)
    neo.update_entity(entity("system:a", "A2"), a.version, CTX)
    neo.create_entity(entity("database:d", "D"), CTX)
    assert neo.verify_log(configured_witness=False).ok
    text = neo.changelog(ref="system:a")[-1].after
    text["name"]["vi"] = "A (sửa lén)"
    assert set_property(neo4j_url(), "Entity", "ref", "system:a", "data", canonical_json(text), **_auth())
    result = neo.verify_log(configured_witness=False)
    assert not result.ok
    assert result.bad_seq == neo.changelog(ref="system:a")[-1].seq  # the entry whose after the node holds
    # the entry it superseded is not touched: its after is the next entry's before, still intact
    assert neo.changelog(ref="system:a")[0].after["name"]["vi"] == "A"


def test_a_current_relationship_edited_or_removed_behind_the_catalogs_back_fails_verify_log(neo: Neo4jStore) -> None:
    neo.create_entity(entity("system:a", "A"), CTX)
    neo.create_entity(entity("database:d", "D"), CTX)
    r = neo.create_relationship(rel("reads", "system:a", "database:d"), CTX)
    neo.create_entity(entity("system:b", "B"), CTX)
    seq = neo.changelog(ref=f"rel:{r.id}")[-1].seq
    original = canonical_json(neo.changelog(ref=f"rel:{r.id}")[-1].after)
    url = neo4j_url()
    assert set_property(url, "READS", "id", RID, "data", original.replace('"reads"', '"reads" '), **_auth())
    result = neo.verify_log(configured_witness=False)
    assert (result.ok, result.bad_seq) == (False, seq)
    assert set_property(url, "READS", "id", RID, "data", original, **_auth())
    assert neo.verify_log(configured_witness=False).ok
    # a current entity's data removed altogether: its last entry has no after to match its hash
    assert set_property(url, "Entity", "ref", "system:b", "data", None, **_auth())
    result = neo.verify_log(configured_witness=False)
    assert (result.ok, result.bad_seq) == (False, neo.changelog(ref="system:b")[-1].seq)


def test_restore_in_pages_keeps_an_after_that_the_next_entry_does_not_continue(neo: Neo4jStore) -> None:
    """A source log may store an after that differs from the next entry's before (the upgrade keeps such afters):
    restored one entry per page, the first entry is compacted against the current fact it equals, then given its
    after back when the next page shows that its next entry does not begin from it."""
    b, a, c = (entity("system:x", name) for name in ("B", "A", "C"))
    neo.restore("entities", [b.model_copy(update={"version": 3})])
    steps = [("create", None, b), ("update", a, c), ("update", c, b)]  # B, then A -> C (not from B), then C -> B
    prev, entries = GENESIS, []
    for seq, (op, before, after) in enumerate(steps, start=1):
        time = f"2025-01-0{seq}T00:00:00.000000Z"
        bj = None if before is None else before.content()
        aj = after.content()
        h = entry_hash(seq, time, "tester", "req", op, "system:x", bj, aj, prev)
        entries.append(
            ChangeEntry(
                seq=seq,
                time=time,
                actor="tester",
                request_id="req",
                op=op,
                ref="system:x",
                before=bj,
                after=aj,
                prev_hash=prev,
                hash=h,
            )
        )
        prev = h
    for e in entries:  # one page per entry, as a dump in pages of one would
        neo.restore("changelog", [e])
    assert neo.verify_log(configured_witness=False).ok
    assert [x.model_dump() for x in neo.changelog()] == [x.model_dump() for x in entries]
    stored = {e["seq"]: e for e in _stored_entries()}
    assert "after" in stored[1] and "after" not in stored[2] and "after" not in stored[3]
