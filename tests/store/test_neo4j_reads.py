"""Neo4j reads and the published head (issue 21): a read of one statement reads the head in that statement (no round
trip of its own), a neighbourhood walk uses the head its first statement read for all the others, and the whole-log
reads (verify_log, dump, graph_json as of) give what the per-entry derivation gives. Needs a test server
(IOC_CATALOG_TEST_NEO4J_URL), like every Neo4j test."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import entity, rel

from catalog.store.base import BulkLoad, EntityFilter, WriteContext, new_run_id
from catalog.store.neo4j import Neo4jStore

CTX = WriteContext(actor="tester", request_id="req-reads")


def _catalog(neo: Neo4jStore) -> None:
    orgs = [entity("organization:so-tt", "Sở TT")]
    systems = [entity(f"system:s{i}", f"Hệ thống {i}", owner="organization:so-tt") for i in range(6)]
    rels = [rel("flows_to", f"system:s{i}", f"system:s{i + 1}") for i in range(5)]
    neo.bulk_load(BulkLoad(source="t", run=new_run_id(), entities=orgs + systems, relationships=rels), CTX)


class _Counting:
    """Every statement a store sends outside a transaction, with its ``h`` parameter."""

    def __init__(self, neo: Neo4jStore, monkeypatch: pytest.MonkeyPatch):
        self.sent: list[tuple[str, Any]] = []
        run, reader = neo._run, neo._reader

        def counted_run(query: str, **params: Any) -> list[Any]:
            self.sent.append((query, params.get("h", "-")))
            return run(query, **params)

        @contextlib.contextmanager
        def counted_reader() -> Iterator[Any]:
            with reader() as r:
                outer = self

                class Wrapped:
                    def run(self, query: str, **params: Any) -> Any:
                        outer.sent.append((query, params.get("h", "-")))
                        return r.run(query, **params)

                yield Wrapped()

        monkeypatch.setattr(neo, "_run", counted_run)
        monkeypatch.setattr(neo, "_reader", counted_reader)

    def take(self) -> list[tuple[str, Any]]:
        out, self.sent = self.sent, []
        return out


def test_a_read_of_one_statement_sends_one_statement(neo: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _catalog(neo)
    neo._search_index_online()  # remembered once online: not a read's statement
    seen = _Counting(neo, monkeypatch)
    rid = "system:s0>flows_to>system:s1"
    reads = {
        "get_entity": lambda: neo.get_entity("system:s0").ref == "system:s0",
        "find_relationship": lambda: neo.find_relationship(rid) is not None,
        "list_relationships": lambda: len(neo.list_relationships("system:s1")) == 2,
        "count_relationships": lambda: neo.count_relationships() == 5,
        "list_entities": lambda: (
            [e.ref for e in neo.list_entities(EntityFilter(kind="system", limit=2))] == ["system:s0", "system:s1"]
        ),
        "count_entities": lambda: neo.count_entities(EntityFilter(kind="system")) == 6,
        "get_entities": lambda: len(neo.get_entities(["system:s0", "system:s5", "system:nope"])) == 2,
    }
    for name, read in reads.items():
        assert read(), name
        sent = seen.take()
        assert len(sent) == 1, (name, sent)
        assert sent[0][1] is None, (name, sent)  # the statement reads the head itself
        assert "LogHead" in sent[0][0], name


def test_a_walk_uses_the_head_its_first_statement_read(neo: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _catalog(neo)
    head = neo.revision()[0]
    seen = _Counting(neo, monkeypatch)
    g = neo.neighbourhood("system:s2", depth=2)
    assert sorted(g.entities) == ["system:s0", "system:s1", "system:s2", "system:s3", "system:s4"]
    assert len(g.relationships) == 4
    sent = seen.take()
    assert len(sent) == 3, sent  # two steps and the entities: no statement for the head alone
    assert sent[0][1] is None  # the first step reads the head...
    assert [h for _, h in sent[1:]] == [head, head]  # ...and the others use what it read
    # a walk from an entity without relationships still learns the head in its first statement
    neo.create_entity(entity("system:alone", "Một mình"), CTX)
    seen.take()
    g = neo.neighbourhood("system:alone", depth=2)
    assert list(g.entities) == ["system:alone"] and not g.relationships
    assert [h for _, h in seen.take()] == [None, head + 1]


def test_whole_log_reads_agree_with_the_per_entry_derivation(neo: Neo4jStore) -> None:
    """verify_log, the dump's change log and graph_json(when) read current facts in one scan; the same entries, one
    by one through changelog() (which derives per entry), give the same afters and the same graph."""
    _catalog(neo)
    mid = dt.datetime.now(dt.UTC)
    s1 = neo.get_entity("system:s1")
    neo.update_entity(s1.model_copy(update={"tags": ["đổi"]}), s1.version, CTX)
    r = neo.find_relationship("system:s3>flows_to>system:s4")
    assert r is not None
    neo.delete_relationship(r.id, r.version, CTX)
    s1 = neo.get_entity("system:s1")
    neo.update_entity(s1.model_copy(update={"tags": ["đổi", "lần hai"]}), s1.version, CTX)
    assert neo.verify_log(configured_witness=False).ok
    whole = [e for _, page in neo._dump_changelog(4) for e in page]  # pages of 4: next entries in later pages
    one_by_one = [neo.changelog(after_seq=e.seq - 1, limit=1)[0] for e in whole]
    assert whole == one_by_one
    assert [e.seq for e in whole] == list(range(1, neo.revision()[0] + 1))
    first_s1 = next(e for e in whole if e.ref == "system:s1")
    assert first_s1.after is not None and "đổi" not in str(first_s1.after)  # the next entry's before, not current
    ents, rels = neo.graph_json(mid)
    assert len(ents) == 7 and len(rels) == 5  # as before the edits
    assert not any("đổi" in e for e in ents)
