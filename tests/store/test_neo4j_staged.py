"""Neo4j imports larger than one transaction: staged in transactions of ``BATCH`` facts, published at once by moving
the change-log head (docs/architecture.md, "Neo4j: imports of any size").

On the real server the suite is given (IOC_CATALOG_TEST_NEO4J_URL), started by ``tools/neo4j/neo4j.sh`` with its
default memory settings: a 60,000-fact synthetic import (which one transaction cannot hold there: before staging the
20,000-entity catalog failed after 40,000 of its 80,000 facts) with a reader watching it the whole time; a
``kill -9`` of the importing process half-way; the sweep of what a dead run left; and a quiet driver (no server
notifications). Skipped (or failed, with REQUIRE_NEO4J=1) when no server is configured.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import neo4j_url
from neo4j import GraphDatabase

from bench.synthetic import generate
from catalog.digest import content_hash
from catalog.model import Entity, LocalText, Relationship
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext
from catalog.store.neo4j import Neo4jStore
from catalog.store.neo4j.store import BATCH
from catalog.store.neo4j.testing import erase_database

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "neo4j_bulk_worker.py"
LAUNCHER_TX_MAX = 512 * 2**20  # tools/neo4j/neo4j.sh's default db.memory.transaction.max (Launcher.java)


@pytest.fixture
def raw() -> Iterator[Any]:
    user = os.environ.get("IOC_CATALOG_NEO4J_USER")
    auth = (user, os.environ.get("IOC_CATALOG_NEO4J_PASSWORD", "")) if user else None
    driver = GraphDatabase.driver(neo4j_url(), auth=auth)
    try:
        yield driver
    finally:
        driver.close()


def _system(i: int) -> Entity:
    return Entity.model_validate(
        {"kind": "system", "code": f"before-{i}", "name": {"vi": f"Hệ thống cũ {i}", "en": f"Old system {i}"}}
    )


def _seed(store: Neo4jStore) -> tuple[int, int, tuple[int, str]]:
    ctx = WriteContext(actor="seed")
    for i in range(3):
        store.create_entity(_system(i), ctx)
    return store.count_entities(), store.count_relationships(), store.revision()


def _beyond_head(raw: Any) -> tuple[int, int, int]:
    """What the database holds beyond the published head: change-log entries, entity nodes and relationships."""
    records, _, _ = raw.execute_query(
        "MATCH (h:LogHead {id: 'head'}) "
        "CALL (h) { MATCH (c:ChangeEntry) WHERE c.seq > h.seq RETURN count(c) AS entries } "
        "CALL (h) { MATCH (n:Entity) WHERE n.pub > h.seq RETURN count(n) AS nodes } "
        "CALL (h) { MATCH ()-[r]->() WHERE r.pub > h.seq RETURN count(r) AS rels } "
        "RETURN entries, nodes, rels"
    )
    return records[0]["entries"], records[0]["nodes"], records[0]["rels"]


def test_the_server_runs_with_the_launchers_default_transaction_memory(raw: Any) -> None:
    records, _, _ = raw.execute_query("CALL dbms.listConfig('db.memory.transaction.max') YIELD value RETURN value")
    value = records[0]["value"].lower()
    number, unit = re.fullmatch(r"([0-9.]+)\s*([kmg]?)i?b?", value).groups()
    size = float(number) * {"k": 2**10, "m": 2**20, "g": 2**30}.get(unit, 1)
    assert 0 < size <= LAUNCHER_TX_MAX, f"the test server allows {value} per transaction, more than the default"


def test_a_load_larger_than_one_transaction_is_published_at_once(neo: Neo4jStore, monkeypatch) -> None:
    """60,000 facts in one run, in transactions of BATCH facts; a reader on another connection polls the whole time
    and sees the catalog before the run or after it, never a part."""
    before = _seed(neo)
    entities, rels = generate(15_000, validate=False)
    assert len(entities) + len(rels) >= 60_000
    staged = []
    real_stage = Neo4jStore._stage
    monkeypatch.setattr(Neo4jStore, "_stage", lambda self, write: (staged.append(1), real_stage(self, write))[1])

    reader = open_store(neo.url, create=False)
    seen: list[tuple[tuple[int, str], int, int, tuple[int, str]]] = []  # head, entities, relationships, head
    probe = entities[len(entities) // 2].ref
    probes: list[bool] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            while not done.is_set():
                seen.append(
                    (reader.revision(), reader.count_entities(), reader.count_relationships(), reader.revision())
                )
                probes.append(reader.find_entity(probe) is not None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        result = neo.bulk_load(
            BulkLoad(source="synthetic", run="big", entities=entities, relationships=rels), WriteContext(actor="t")
        )
        time.sleep(0.5)  # a few reads after the publication
    finally:
        done.set()
        thread.join(timeout=120)
    try:
        after = (neo.count_entities(), neo.count_relationships(), neo.revision())
        assert not errors, errors
        assert after[0] == before[0] + len(entities) and after[1] == len(rels)
        assert after[2][0] == before[2][0] + len(entities) + len(rels)
        assert sum(result.created.values()) == len(entities) + len(rels)
        assert len(staged) >= (len(entities) + len(rels)) // BATCH  # many transactions, none above BATCH facts
        # each read saw the catalog before the run or after it; where the head did not move between the reads of
        # one look, both counts belong to that head (the reads are separate statements: the publication may come
        # between two of them)
        states = {before[2]: before[:2], after[2]: after[:2]}
        for head, n_ent, n_rel, head_after in seen:
            assert head in states and head_after in states
            assert n_ent in (before[0], after[0]) and n_rel in (before[1], after[1]), (n_ent, n_rel)
            if head == head_after:
                assert (n_ent, n_rel) == states[head], (head, n_ent, n_rel)
        looks = [(head, head_after) for head, _, _, head_after in seen]
        assert looks.count((before[2], before[2])) > 3, "the reader never looked during the run"
        assert looks[-1] == (after[2], after[2])
        assert looks == sorted(looks, key=lambda x: (x[0] != before[2], x[1] != before[2]))  # before, then after
        assert probes == sorted(probes) and probes[0] is False and probes[-1] is True
        assert neo.verify_log().ok
        assert neo.find_entity(probe) is not None
        assert neo.search(entities[0].name.vi)
    finally:
        reader.close()


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early (exit {proc.returncode}): {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"worker did not reach {path.name} within {timeout} s")
        time.sleep(0.05)


def _worker(url: str, markers: Path, count: int, *flags: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(markers), str(count), *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_import_leaves_the_catalog_and_the_chain_and_the_next_import_succeeds(
    neo: Neo4jStore, raw: Any, tmp_path: Path
) -> None:
    before = _seed(neo)
    before_hash = content_hash(neo)
    proc = _worker(neo.url, tmp_path / "killed", 4_000, "--hold")
    try:
        _wait_for(tmp_path / "killed" / "staged", proc, timeout=120)
        entries, nodes, rels = _beyond_head(raw)  # two transactions of facts are in the database, unpublished
        assert entries >= 2 * BATCH and nodes + rels >= 2 * BATCH
        assert (neo.count_entities(), neo.count_relationships(), neo.revision()) == before
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # the visible catalog and the chain are as they were; the leftovers are there, unseen
    assert _beyond_head(raw)[0] >= 2 * BATCH
    assert (neo.count_entities(), neo.count_relationships(), neo.revision()) == before
    assert content_hash(neo) == before_hash
    check = neo.verify_log()
    assert check.ok and (check.checked, check.head) == before[2]
    assert len(neo.changelog()) == before[2][0]
    assert neo.search("he thong") and all(e.ref.startswith("system:before-") for e in neo.search("he thong"))

    # the next import sweeps them and succeeds
    proc = _worker(neo.url, tmp_path / "next", 4_000)
    out = proc.communicate(timeout=300)[1].decode()
    assert proc.returncode == 0, out
    assert _beyond_head(raw) == (0, 0, 0)
    entities, rels = generate(4_000, validate=False)
    assert neo.count_entities() == before[0] + len(entities)
    assert neo.count_relationships() == len(rels)
    assert neo.revision()[0] == before[2][0] + len(entities) + len(rels)
    assert neo.verify_log().ok
    assert content_hash(neo) != before_hash


def test_a_writer_sweeps_what_a_dead_run_left_before_it_writes(neo: Neo4jStore, raw: Any, monkeypatch) -> None:
    """A run that dies in its publishing transaction leaves staged facts; the next single write removes them first,
    so they never become visible when the head moves past their seq."""
    before = _seed(neo)
    entities, rels = generate(1_500, validate=False)
    monkeypatch.setattr(Neo4jStore, "stage_above", 0)

    def die() -> None:
        raise RuntimeError("the client died while publishing")

    monkeypatch.setattr(Neo4jStore, "_write_head", lambda self: die())
    monkeypatch.setattr(Neo4jStore, "_sweep", lambda self, seq: 0)  # as if the process died: nothing cleans up
    with pytest.raises(RuntimeError):
        neo.bulk_load(BulkLoad(source="s", run="dead", entities=entities, relationships=rels), WriteContext(actor="t"))
    monkeypatch.undo()
    left = _beyond_head(raw)
    assert left[0] == len(entities) + len(rels) and left[1] == len(entities) and left[2] == len(rels)
    assert (neo.count_entities(), neo.count_relationships(), neo.revision()) == before
    assert neo.list_relationships(limit=5) == []
    assert neo.find_entity(entities[0].ref) is None and neo.search(entities[0].name.vi) == []

    neo.create_entity(_system(9).model_copy(update={"name": LocalText(vi="Sau", en="After")}), WriteContext(actor="t"))
    assert _beyond_head(raw) == (0, 0, 0)
    assert neo.count_entities() == before[0] + 1
    assert neo.count_relationships() == 0
    assert neo.revision()[0] == before[2][0] + 1
    assert neo.verify_log().ok


def test_no_server_notifications_reach_the_terminal(tmp_path: Path, raw: Any) -> None:
    """A fresh database, a staged load, reads of every kind: the server sends no notification (the queries name no
    property key the database lacks), and the driver's notification logger has a handler, so nothing is printed."""
    erase_database(neo4j_url(), os.environ.get("IOC_CATALOG_NEO4J_USER"), os.environ.get("IOC_CATALOG_NEO4J_PASSWORD"))
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("neo4j.notifications")
    keep = Keep(level=logging.DEBUG)
    log.addHandler(keep)
    old_level = log.level
    log.setLevel(logging.DEBUG)
    try:
        store = open_store(neo4j_url())
        try:
            entities = [_system(i) for i in range(300)]
            rels = [
                Relationship(type="flows_to", source=a.ref, target=b.ref)
                for a, b in zip(entities, entities[1:], strict=False)
            ]
            store.stage_above = 0
            store.bulk_load(
                BulkLoad(source="s", run="q", entities=entities, relationships=rels), WriteContext(actor="t")
            )
            store.changelog(limit=5)
            store.verify_log()
            store.search("he thong")
            store.neighbourhood(entities[0].ref, depth=2)
            store.count_entities()
            store.count_relationships()
            store.entity_as_of(entities[0].ref, "2999-01-01")
            list(store.dump())
        finally:
            store.close()
    finally:
        log.removeHandler(keep)
        log.setLevel(old_level)
    assert [r.getMessage()[:200] for r in records] == []
    assert any(not isinstance(h, Keep) for h in logging.getLogger("neo4j").handlers)  # never Python's last resort


def test_every_property_key_the_queries_name_is_created_when_a_store_opens() -> None:
    """A query naming a key the database never held makes the server warn; opening a store creates every key the
    store's Cypher names (``_TOKENS``), so the list must keep up with the queries."""
    from catalog.store.neo4j import store as neo_store

    source = Path(neo_store.__file__).read_text(encoding="utf-8")
    cypher = " ".join(re.findall(r'"([^"\n]*)"', source))  # every string literal; Cypher is in them
    cypher = re.sub(r"\{[^{}]*\}", "", cypher)  # f-string fields are Python, not Cypher
    named = set(re.findall(r"\b(?:n|r|c|e|h|m|x|hd)\.([a-z_]+)\b", cypher))
    assert {"pub", "proposer", "before", "in_key"} <= named  # the scan sees the queries
    assert named <= set(neo_store._TOKENS), sorted(named - set(neo_store._TOKENS))
