"""Neo4j "each fact written once" (docs/architecture.md): opening a database written by the schema-2 code upgrades it.

The fixture (tests/fixtures/neo4j_schema2_graph.json, written by tests/fixtures/neo4j_fact_once_make.py with the
schema-2 code) is the raw graph of a small but varied catalog: the sample catalog as a staged import, updates, deletes
and re-creates of entities and relationships, records, an organisation event, a second import; beside it, what the
schema-2 code returned for it (tests/fixtures/neo4j_schema2_expected.json). Each test loads it raw into the empty test
database, opens it with today's code and compares. Needs the test server (IOC_CATALOG_TEST_NEO4J_URL).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import entity, neo4j_url, rel

from catalog.store.base import WriteContext
from catalog.store.neo4j import Neo4jStore
from catalog.store.neo4j import store as store_module
from catalog.store.neo4j.testing import erase_database, export_graph, load_graph

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from neo4j_fact_once_make import observe  # noqa: E402

GRAPH = json.loads((FIXTURES / "neo4j_schema2_graph.json").read_text(encoding="utf-8"))
EXPECTED = json.loads((FIXTURES / "neo4j_schema2_expected.json").read_text(encoding="utf-8"))
CTX = WriteContext(actor="tester", request_id="req-upgrade")


def _auth() -> dict[str, Any]:
    return {"user": os.environ.get("IOC_CATALOG_NEO4J_USER"), "password": os.environ.get("IOC_CATALOG_NEO4J_PASSWORD")}


@pytest.fixture
def url() -> Iterator[str]:
    u = neo4j_url()
    erase_database(u, **_auth())
    yield u
    erase_database(u, **_auth())


def _entries(u: str) -> dict[int, dict[str, Any]]:
    """The raw ChangeEntry nodes' properties, by seq."""
    return {
        n["properties"]["seq"]: n["properties"]
        for n in export_graph(u, **_auth())["nodes"]
        if n["labels"] == ["ChangeEntry"]
    }


def _schema(u: str) -> str:
    meta = [n for n in export_graph(u, **_auth())["nodes"] if n["labels"] == ["CatalogMeta"]]
    return meta[0]["properties"]["version"]


def _expected_without_schema() -> dict[str, Any]:
    return {k: v for k, v in EXPECTED.items() if k != "schema"}


def _derived(entry: dict[str, Any]) -> bool:
    return entry["op"] != "delete" and not entry["ref"].startswith(("event:", "record:"))


def test_fixture_is_schema_2_with_every_after_stored() -> None:
    assert EXPECTED["schema"] == "2"
    entries = [n["properties"] for n in GRAPH["nodes"] if n["labels"] == ["ChangeEntry"]]
    assert len(entries) == len(EXPECTED["changelog"]) == 502
    assert all("after" in e for e in entries if e["op"] != "delete")
    assert {e["ref"].split(":")[0] for e in entries} >= {"system", "rel", "record", "event", "organization"}
    assert {e["op"] for e in entries} == {"create", "update", "delete"}
    assert any("pub" in n["properties"] for n in GRAPH["nodes"])  # the staged import


def test_open_upgrades_and_reads_exactly_as_schema_2(url: str) -> None:
    load_graph(url, GRAPH, **_auth())
    assert _schema(url) == "2"
    before = _entries(url)
    store = Neo4jStore(url, **_auth())
    try:
        assert store.schema_versions() == ("3", "3")
        assert observe(store) == _expected_without_schema()
    finally:
        store.close()
    after = _entries(url)
    assert set(after) == set(before)
    for seq, e in after.items():
        old = before[seq]
        if _derived(old):
            assert "after" not in e, seq  # every derivable after is gone
        else:
            assert e.get("after") == old.get("after"), seq  # records, events, deletes keep theirs
        assert {k: v for k, v in e.items() if k != "after"} == {k: v for k, v in old.items() if k != "after"}
    assert sum(1 for e in after.values() if "after" not in e and e["op"] != "delete") > 450


def test_upgrade_from_schema_1(url: str) -> None:
    graph = copy.deepcopy(GRAPH)
    for n in graph["nodes"]:
        if n["labels"] == ["CatalogMeta"]:
            n["properties"]["version"] = "1"
    for r in graph["relationships"]:
        r["properties"].pop("in_key", None)
    load_graph(url, graph, **_auth())
    store = Neo4jStore(url, **_auth())
    try:
        assert store.schema_versions() == ("3", "3")
        assert observe(store) == _expected_without_schema()
    finally:
        store.close()
    rels = export_graph(url, **_auth())["relationships"]
    assert rels and all(r["properties"]["in_key"].endswith(">" + r["properties"]["id"]) for r in rels)
    assert not any("after" in e for e in _entries(url).values() if _derived(e))


def test_interrupted_upgrade_reads_the_same_and_the_next_open_finishes(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_graph(url, GRAPH, **_auth())
    monkeypatch.setattr(store_module, "BATCH", 100)  # the upgrade's transactions: 100 entries each
    real = Neo4jStore._compact
    calls = []

    def cut(self: Neo4jStore, low: int, high: int) -> int:
        calls.append(low)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(self, low, high)

    monkeypatch.setattr(Neo4jStore, "_compact", cut)
    with pytest.raises(RuntimeError):
        Neo4jStore(url, **_auth())
    assert _schema(url) == "2"  # the version moves only at the end
    half = _entries(url)
    assert any("after" not in e for s, e in half.items() if s <= 200 and _derived(e))
    assert all("after" in e for s, e in half.items() if s > 200 and e["op"] != "delete")
    # the half-upgraded database reads exactly as before, with the old code's layout rules (both are valid)
    monkeypatch.setattr(Neo4jStore, "_upgrade", lambda self, version: None)
    store = Neo4jStore(url, **_auth())
    try:
        assert observe(store) == _expected_without_schema()
    finally:
        store.close()
    monkeypatch.undo()
    store = Neo4jStore(url, **_auth())  # the next open finishes the upgrade
    try:
        assert store.schema_versions() == ("3", "3")
        assert observe(store) == _expected_without_schema()
    finally:
        store.close()
    done = _entries(url)
    assert not any("after" in e for e in done.values() if _derived(e))
    again = Neo4jStore(url, **_auth())  # idempotent: opening again changes nothing
    again.close()
    assert _entries(url) == done


def test_an_after_that_differs_from_its_derivation_is_kept(url: str) -> None:
    graph = copy.deepcopy(GRAPH)
    entries = sorted(
        (n["properties"] for n in graph["nodes"] if n["labels"] == ["ChangeEntry"]), key=lambda e: e["seq"]
    )
    # an update whose stored after is not what the next entry says was there (a log no code of ours writes)
    odd = next(e for e in entries if e["ref"] == "system:fixture-a" and e["op"] == "update")
    odd["after"] = odd["after"].replace("Hệ thống A", "Hệ thống Á")
    load_graph(url, graph, **_auth())
    store = Neo4jStore(url, **_auth())
    try:
        assert store.schema_versions()[0] == "3"
        log = store.changelog(ref="system:fixture-a")
        kept = next(e for e in log if e.seq == odd["seq"])
        assert kept.after is not None and kept.after["name"]["vi"].startswith("Hệ thống Á")
    finally:
        store.close()
    assert _entries(url)[odd["seq"]]["after"] == odd["after"]  # nothing lost


def test_upgraded_store_writes_on_and_keeps_its_history(url: str) -> None:
    load_graph(url, GRAPH, **_auth())
    store = Neo4jStore(url, **_auth())
    try:
        db = store.get_entity("database:fixture-db")
        store.update_entity(entity("database:fixture-db", "CSDL thử (3)", scope="internal"), db.version, CTX)
        r = store.find_relationship("system:fixture-b>reads>database:fixture-db")
        store.update_relationship(rel("reads", "system:fixture-b", "database:fixture-db", note="mới"), r.version, CTX)
        org = store.get_entity("organization:hcm-sttt")
        store.delete_entity(org.ref, org.version, CTX, cascade=True)
        assert store.verify_log(configured_witness=False).ok
        log = store.changelog()
        assert [e.model_dump(mode="json") for e in log[: len(EXPECTED["changelog"])]] == EXPECTED["changelog"]
        # the history up to the fixture's end reads as it did
        for point in EXPECTED["as_of"]:
            ents, rels = store.graph_json(point["time"])
            seen = observe.__globals__["_digest"]
            assert (seen(ents), seen(rels)) == (point["entities"], point["relationships"]), point["time"]
        last_db = [e for e in log if e.ref == "database:fixture-db"]
        assert last_db[-2].after == last_db[-1].before  # the entry the update superseded derives its after from it
        assert last_db[-1].after["name"]["vi"] == "CSDL thử (3)"
    finally:
        store.close()
