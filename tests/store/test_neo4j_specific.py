"""What only the Neo4j backend can be asked: user text that looks like Cypher, several stores writing to one server, a
change log edited behind the store's back with the driver, the graph layout itself, schema set-up, transient errors
during an import, and databases that are not catalogs.

The backend-neutral rules live in test_contract.py; everything here talks to the server itself. Skipped (or failed,
with REQUIRE_NEO4J=1) like the neo4j parameter of the contract suite when no server is configured.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_store, neo4j_url
from neo4j import GraphDatabase
from neo4j.exceptions import TransientError

from catalog.changelog import entry_hash
from catalog.errors import Conflict, IntegrityError, StoreError, ValidationFailed
from catalog.model import Entity, LocalText, LongText, Relationship
from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, EntityFilter, WriteContext
from catalog.store.neo4j import Neo4jStore
from catalog.store.neo4j.schema import schema_statements
from catalog.store.neo4j.testing import erase_database

HOSTILE = [
    "'; MATCH (n) DETACH DELETE n //",
    "}) DETACH DELETE n //",
    "' OR 1=1 //",
    "\" OR \"\"=\" {x: 1} `Entity` $param \\ \\u0027",
    "`) WITH n MATCH (m) DETACH DELETE m //",
    "Sở {Tài chính}: `ngân sách` 'năm' \"2025\"",
]


@pytest.fixture
def ent(factory: tuple[Callable[..., Entity], Callable]) -> Callable[..., Entity]:
    return factory[0]


@pytest.fixture
def rl(factory: tuple[Callable, Callable[..., Relationship]]) -> Callable[..., Relationship]:
    return factory[1]


@pytest.fixture
def url() -> str:
    return neo4j_url()


@pytest.fixture
def raw(url: str) -> Iterator[Any]:
    """The driver, for looking and changing behind the store's back."""
    driver = GraphDatabase.driver(url, auth=_auth())
    try:
        yield driver
    finally:
        driver.close()


def _auth() -> tuple[str, str] | None:
    user = os.environ.get("IOC_CATALOG_NEO4J_USER")
    return (user, os.environ.get("IOC_CATALOG_NEO4J_PASSWORD", "")) if user else None


def _credentials() -> tuple[str | None, str | None]:
    return _auth() or (None, None)


def cypher(driver: Any, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def renamed(e: Entity, name: str) -> Entity:
    return e.model_copy(update={"name": LocalText(vi=name, en=name)})


# --- user text that looks like Cypher ---------------------------------------------------------------------------------


def test_cypher_looking_text_is_stored_and_read_back_as_text(
    neo: Neo4jStore, raw: Any, ctx: WriteContext, ent, rl
) -> None:
    neo.create_entity(ent("organization:bystander", "Người ngoài cuộc"), ctx)
    neo.create_entity(ent("database:d", "CSDL"), ctx)
    stored = {}
    for i, text in enumerate(HOSTILE):
        e = ent(f"system:s{i}", text, vendor=text, hosting=text)
        e = e.model_copy(update={"description": LongText(vi=text, en=text), "tags": sorted([text, "ioc"])})
        stored[e.ref] = neo.create_entity(e, ctx)
        neo.create_relationship(rl("reads", e.ref, "database:d", data=text, note=text, legal_basis=text), ctx)
    assert neo.count_entities() == 2 + len(HOSTILE)
    assert neo.count_relationships() == len(HOSTILE)
    for i, text in enumerate(HOSTILE):
        got = neo.get_entity(f"system:s{i}")
        assert got.content() == stored[got.ref].content()
        assert (got.name.vi, got.description.en, got.attributes["vendor"]) == (text, text, text)
        assert text in got.tags
        r = neo.find_relationship(f"system:s{i}>reads>database:d")
        assert r.properties == {"data": text, "legal_basis": text, "note": text}
        # the same text as a filter value or a search finds exactly its own entity
        assert {e.ref for e in neo.list_entities(EntityFilter(tag=text))} == {f"system:s{i}"}
        assert {e.ref for e in neo.list_entities(EntityFilter(attributes={"vendor": text}))} == {f"system:s{i}"}
        assert f"system:s{i}" in {e.ref for e in neo.search(text, limit=100)}
    # a hostile filter value, changelog filter and as-of argument find nothing and delete nothing
    for text in HOSTILE:
        assert neo.list_entities(EntityFilter(owner=text)) == []
        assert neo.list_entities(EntityFilter(kind=text, lifecycle=text, source=text)) == []
        assert neo.changelog(ref=text, actor=text) == []
        assert neo.find_entity(text) is None
        assert neo.find_relationship(text) is None
        assert neo.list_relationships(text, type=text) == []
        assert neo.list_events(org=text) == []
    assert neo.count_entities() == 2 + len(HOSTILE)
    assert cypher(raw, "MATCH (n:Entity) RETURN count(n) AS n") == [{"n": 2 + len(HOSTILE)}]
    assert neo.verify_log().ok


def test_hostile_relationship_type_and_attribute_name_never_reach_cypher(
    neo: Neo4jStore, ctx: WriteContext, ent
) -> None:
    neo.create_entity(ent("system:a"), ctx)
    neo.create_entity(ent("database:d"), ctx)
    evil = "READS]->() DETACH DELETE n //"
    with pytest.raises(ValidationFailed):
        neo.create_relationship(Relationship(type=evil, source="system:a", target="database:d"), ctx)
    with pytest.raises(ValidationFailed):
        neo.bulk_load(
            BulkLoad(
                source="s", run="1", relationships=[Relationship(type=evil, source="system:a", target="database:d")]
            ),
            ctx,
        )
    assert neo.list_relationships(type=evil) == []
    assert neo.neighbourhood("system:a", types=(evil,)).depth == {"system:a": 0}
    with pytest.raises(ValidationFailed):
        neo.list_entities(EntityFilter(attributes={"x] = 1 OR true //": 1}))
    assert neo.count_entities() == 2
    assert neo.revision()[0] == 2


# --- the graph layout -------------------------------------------------------------------------------------------------


def test_entities_are_labelled_nodes_and_relationships_are_typed_edges(
    neo: Neo4jStore, raw: Any, ctx: WriteContext, ent, rl
) -> None:
    neo.create_entity(ent("system:portal", owner="organization:o"), ctx)
    neo.create_entity(ent("database:dan-cu"), ctx)
    neo.create_relationship(rl("reads", "system:portal", "database:dan-cu", protocol="rest"), ctx)
    nodes = cypher(
        raw,
        "MATCH (n:Entity) RETURN n.ref AS ref, labels(n) AS labels, n.version AS version, "
        "n.owner AS owner ORDER BY ref",
    )
    assert [(n["ref"], sorted(n["labels"]), n["version"], n["owner"]) for n in nodes] == [
        ("database:dan-cu", ["Database", "Entity"], 1, None),
        ("system:portal", ["Entity", "System"], 1, "organization:o"),
    ]
    edges = cypher(
        raw, "MATCH (a)-[r]->(b) RETURN a.ref AS a, type(r) AS type, b.ref AS b, r.id AS id, r.version AS version"
    )
    assert edges == [
        {
            "a": "system:portal",
            "type": "READS",
            "b": "database:dan-cu",
            "id": "system:portal>reads>database:dan-cu",
            "version": 1,
        }
    ]
    head = cypher(raw, "MATCH (h:LogHead) RETURN h.seq AS seq, h.hash AS hash")
    assert [(h["seq"], h["hash"]) for h in head] == [neo.revision()]


# --- several stores writing to one server -----------------------------------------------------------------------------


def race(stores: list[CatalogStore], ref: str, rounds: int) -> dict[int, list[tuple[int, str]]]:
    """Each round every worker reads the entity, all meet at a barrier, then all update it with the version read."""
    barrier = threading.Barrier(len(stores), timeout=60)
    outcomes: dict[int, list[tuple[int, str]]] = {r: [] for r in range(rounds)}
    lock = threading.Lock()

    def work(i: int, store: CatalogStore) -> None:
        for rnd in range(rounds):
            e = store.get_entity(ref)
            barrier.wait()
            try:
                store.update_entity(
                    renamed(e, f"w{i}-r{rnd}"), e.version, WriteContext(actor=f"w{i}", request_id=f"w{i}-r{rnd}")
                )
                result = "won"
            except Conflict:
                result = "conflict"
            except Exception as exc:  # anything else is a failure the assertions will show
                result = repr(exc)
            with lock:
                outcomes[rnd].append((i, result))
            barrier.wait()

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def check_race(store: CatalogStore, ref: str, workers: int, outcomes: dict[int, list[tuple[int, str]]]) -> None:
    winners = []
    for rnd, results in sorted(outcomes.items()):
        assert sorted(r for _, r in results) == ["conflict"] * (workers - 1) + ["won"], (rnd, results)
        winners.append(next(f"w{i}-r{rnd}" for i, r in results if r == "won"))
    final = store.get_entity(ref)
    assert (final.version, final.name.vi) == (len(winners) + 1, winners[-1])
    log = store.changelog(ref=ref)
    assert [e.op for e in log] == ["create"] + ["update"] * len(winners)
    assert [e.request_id for e in log[1:]] == winners
    assert [e.before["name"]["vi"] for e in log[2:]] == winners[:-1]
    assert store.verify_log().ok
    assert store.revision()[0] == 1 + len(winners)


def test_two_stores_on_one_server_race(neo: Neo4jStore, url: str, ctx: WriteContext, ent) -> None:
    other = open_store(url)
    try:
        neo.create_entity(ent("system:contested", "Lúc đầu"), ctx)
        outcomes = race([neo, other], "system:contested", rounds=15)
        check_race(other, "system:contested", 2, outcomes)
        assert neo.revision() == other.revision()
    finally:
        other.close()


def test_four_threads_on_one_store_race(neo: Neo4jStore, ctx: WriteContext, ent) -> None:
    neo.create_entity(ent("system:contested", "Lúc đầu"), ctx)
    outcomes = race([neo] * 4, "system:contested", rounds=8)
    check_race(neo, "system:contested", 4, outcomes)


def test_concurrent_creates_from_two_stores_keep_one_chain(neo: Neo4jStore, url: str, ctx: WriteContext, ent) -> None:
    other = open_store(url)
    errors: list[str] = []

    def work(store: CatalogStore, prefix: str) -> None:
        try:
            for i in range(25):
                store.create_entity(ent(f"system:{prefix}-{i}"), WriteContext(actor=prefix, request_id=f"{prefix}{i}"))
        except Exception as exc:  # pragma: no cover - shown by the assertion
            errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(s, p)) for s, p in ((neo, "a"), (other, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert neo.count_entities() == 50
        result = neo.verify_log()
        assert (result.ok, result.checked) == (True, 50)
        assert [e.seq for e in neo.changelog()] == list(range(1, 51))
    finally:
        other.close()


# --- tamper detection -------------------------------------------------------------------------------------------------


@pytest.fixture
def logged(neo: Neo4jStore, ctx: WriteContext, ent) -> Neo4jStore:
    """A store with five change-log entries."""
    a = neo.create_entity(ent("system:a", "Hệ thống A"), ctx)
    neo.create_entity(ent("database:d", "CSDL D"), ctx)
    neo.update_entity(renamed(a, "Hệ thống A mới"), 1, ctx)
    neo.create_entity(ent("organization:o", "Sở Nội vụ"), ctx)
    neo.delete_entity("database:d", 1, ctx)
    assert neo.verify_log().ok and neo.revision()[0] == 5
    return neo


def behind_the_back(driver: Any, query: str, **params: Any) -> None:
    _, summary, _ = driver.execute_query(query, params)
    c = summary.counters
    assert c.properties_set + c.nodes_deleted >= 1


def test_edited_after_json_is_detected(logged: Neo4jStore, raw: Any) -> None:
    after = logged.changelog()[2].after  # derived (each fact written once): a stored after is read as it is
    after["name"]["vi"] = "Hệ thống A (sửa lén)"
    behind_the_back(
        raw, "MATCH (c:ChangeEntry {seq: 3}) SET c.after = $after", after=json.dumps(after, ensure_ascii=False)
    )
    result = logged.verify_log()
    assert (result.ok, result.bad_seq, result.checked) == (False, 3, 2)
    assert "edited" in result.reason


def test_edited_actor_is_detected(logged: Neo4jStore, raw: Any) -> None:
    behind_the_back(raw, "MATCH (c:ChangeEntry {seq: 2}) SET c.actor = 'mallory'")
    result = logged.verify_log()
    assert (result.ok, result.bad_seq) == (False, 2)


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(logged: Neo4jStore, raw: Any) -> None:
    e = logged.changelog()[1]
    h = entry_hash(e.seq, e.time, "mallory", e.request_id, e.op, e.ref, e.before, e.after, e.prev_hash)
    behind_the_back(raw, "MATCH (c:ChangeEntry {seq: 2}) SET c.actor = 'mallory', c.hash = $h", h=h)
    result = logged.verify_log()
    assert (result.ok, result.bad_seq) == (False, 3)
    assert "previous-hash" in result.reason


def test_deleted_middle_entry_is_named(logged: Neo4jStore, raw: Any) -> None:
    behind_the_back(raw, "MATCH (c:ChangeEntry {seq: 3}) DELETE c")
    result = logged.verify_log()
    assert (result.ok, result.bad_seq, result.checked) == (False, 3, 2)
    assert "entry 3 is missing" in result.reason


def test_entries_cut_off_the_end_are_detected(logged: Neo4jStore, raw: Any) -> None:
    """The head is kept apart from the entries, so removing the newest entries is noticed too."""
    behind_the_back(raw, "MATCH (c:ChangeEntry) WHERE c.seq >= 4 DELETE c")
    result = logged.verify_log()
    assert (result.ok, result.bad_seq, result.checked) == (False, 4, 3)
    assert "head names entry 5" in result.reason


def test_intact_log_stays_valid_after_reopening(logged: Neo4jStore, url: str) -> None:
    with open_store(url, create=False) as again:
        assert again.verify_log() == logged.verify_log()
        assert again.verify_log().ok


# --- imports ----------------------------------------------------------------------------------------------------------


def _systems(count: int, name: str = "Hệ thống") -> list[Entity]:
    template = Entity.model_validate(
        {
            "kind": "system",
            "code": "gen-0",
            "name": {"vi": name, "en": "System"},
            "attributes": {"lifecycle": "production"},
            "tags": ["generated"],
        }
    )
    return [
        template.model_copy(update={"code": f"gen-{i:06d}", "name": LocalText(vi=f"{name} {i}", en=f"S {i}")})
        for i in range(count)
    ]


def test_load_larger_than_a_batch_is_all_or_nothing(neo: Neo4jStore, ctx: WriteContext, ent) -> None:
    neo.create_entity(ent("system:before"), ctx)
    rev = neo.revision()
    entities = _systems(12_000)
    rels = [Relationship(type="flows_to", source=entities[i].ref, target=entities[i + 1].ref) for i in range(6000)]
    bad = rels + [Relationship(type="flows_to", source=entities[0].ref, target="system:missing")]
    with pytest.raises(IntegrityError):
        neo.bulk_load(BulkLoad(source="gen", run="1", entities=entities, relationships=bad), ctx)
    assert (neo.count_entities(), neo.count_relationships(), neo.revision()) == (1, 0, rev)

    calls: list[tuple[int, int]] = []
    res = neo.bulk_load(
        BulkLoad(source="gen", run="1", entities=entities, relationships=rels),
        ctx,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert res.created == {"system": 12_000, "relationship": 6000}
    assert calls == [
        (5000, 18_000),
        (10_000, 18_000),
        (12_000, 18_000),
        (17_000, 18_000),
        (18_000, 18_000),
        (18_000, 18_000),
    ]  # after every chunk of 5,000, as the SQLite backend
    assert (neo.count_entities(), neo.count_relationships()) == (12_001, 6000)
    assert neo.revision()[0] == rev[0] + 18_000
    assert neo.verify_log().ok
    assert {e.ref for e in neo.search("he thong 11999")} == {"system:gen-011999"}
    assert neo.neighbourhood("system:gen-000002", depth=2).depth == {
        "system:gen-000000": 2,
        "system:gen-000001": 1,
        "system:gen-000002": 0,
        "system:gen-000003": 1,
        "system:gen-000004": 2,
    }


def test_transient_error_reruns_the_whole_load(neo: Neo4jStore, ctx: WriteContext, ent, monkeypatch) -> None:
    """A deadlock or leader switch in the middle of an import: the half-done attempt is rolled back and the whole
    load runs again, so the result is exactly one load."""
    neo.create_entity(ent("system:before"), ctx)
    real = neo._write_relationships
    attempts: list[int] = []

    def flaky(rows: list[dict], create: bool, logs: list[dict] | None = None) -> None:
        real(rows, create, logs)  # writes happen, then the server gives up on the transaction
        if create:
            attempts.append(len(rows))
            if len(attempts) < 3:
                raise TransientError("simulated deadlock")

    monkeypatch.setattr(neo, "_write_relationships", flaky)
    monkeypatch.setattr(neo, "retry_pause", 0.01)
    entities = _systems(50)
    rels = [Relationship(type="flows_to", source=entities[i].ref, target=entities[i + 1].ref) for i in range(49)]
    res = neo.bulk_load(BulkLoad(source="gen", run="1", entities=entities, relationships=rels), ctx)
    assert len(attempts) == 3
    assert res.created == {"system": 50, "relationship": 49}
    assert (neo.count_entities(), neo.count_relationships(), neo.revision()[0]) == (51, 49, 100)
    assert neo.verify_log().ok

    def always(rows: list[dict], create: bool, logs: list[dict] | None = None) -> None:
        raise TransientError("simulated deadlock")

    monkeypatch.setattr(neo, "_write_relationships", always)
    with pytest.raises(StoreError, match="transient"):
        neo.bulk_load(
            BulkLoad(
                source="gen2",
                run="1",
                entities=_systems(3, "Khác"),
                relationships=[
                    Relationship(
                        type="flows_to",
                        source="system:gen-000000",
                        target="system:gen-000001",
                        properties={"note": "x"},
                    )
                ],
            ),
            ctx,
        )
    assert neo.revision()[0] == 100


# --- schema and databases that are not catalogs -----------------------------------------------------------------------


def test_schema_set_up_is_idempotent(neo: Neo4jStore, url: str, raw: Any, ctx: WriteContext, ent) -> None:
    def schema() -> set[str]:
        names = {r["name"] for r in cypher(raw, "SHOW CONSTRAINTS YIELD name RETURN name")}
        return names | {r["name"] for r in cypher(raw, "SHOW INDEXES YIELD name RETURN name")}

    neo.create_entity(ent("system:a"), ctx)
    before = schema()
    assert set(schema_statements(neo.metamodel)) <= before
    user, password = _credentials()
    with open_store(url) as second, Neo4jStore(url, user=user, password=password) as third:
        assert second.revision() == third.revision() == neo.revision()
        neo.ensure_schema()
        neo.init_catalog()
    assert schema() == before
    assert cypher(raw, "MATCH (m:CatalogMeta) RETURN count(m) AS n") == [{"n": 1}]
    assert cypher(raw, "MATCH (h:LogHead) RETURN count(h) AS n") == [{"n": 1}]
    assert neo.get_entity("system:a").version == 1 and neo.verify_log().ok


def test_foreign_graph_is_not_a_catalog(url: str, raw: Any) -> None:
    erase_database(url, *_credentials())
    cypher(raw, "CREATE (:Payroll {name: 'A', amount: 1})")
    try:
        with pytest.raises(StoreError, match="holds data but not a catalog"):
            open_store(url)
        assert cypher(raw, "MATCH (n) RETURN labels(n) AS labels") == [{"labels": ["Payroll"]}]
    finally:
        erase_database(url, *_credentials())


def test_empty_database_without_create_is_refused(url: str, raw: Any) -> None:
    erase_database(url, *_credentials())
    with pytest.raises(StoreError, match="no catalog"):
        open_store(url, create=False)
    assert cypher(raw, "MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_open_store_understands_bolt_and_neo4j_urls(neo: Neo4jStore, url: str, ctx: WriteContext, ent) -> None:
    neo.create_entity(ent("system:a"), ctx)
    address = url.split("://", 1)[1]
    for scheme in ("bolt", "neo4j"):  # direct, and routing (which also works against a single server)
        with open_store(f"{scheme}://{address}") as s:
            assert isinstance(s, Neo4jStore)
            assert (s.revision(), s.get_entity("system:a").version) == (neo.revision(), 1)


def test_unreachable_server_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="cannot use Neo4j"):
        Neo4jStore("bolt://127.0.0.1:9")  # the discard port: nothing listens there


# --- the same writes give the same catalog and the same change log on both backends ----------------------------------


def test_same_writes_give_byte_identical_logs_on_sqlite_and_neo4j(neo: Neo4jStore, tmp_path: Path, ent, rl) -> None:
    """Mirror semantics: with the same clock, every entry (times, versions, provenance, order) and so every hash is
    the same; so are the current state, the as-of state, events, neighbourhoods and search results."""
    import datetime as dt

    from conftest import FakeClock

    from catalog.model import OrgEvent, Provenance

    lite = make_store("sqlite", tmp_path)

    def run(s: CatalogStore) -> None:
        s.clock = FakeClock()
        c1, c2 = WriteContext("alice", "r1"), WriteContext("bob", "r2")
        a = s.create_entity(ent("system:a", "Hệ thống A", owner="organization:o"), c1)
        s.create_entity(ent("database:d", "CSDL dân cư"), c1)
        s.create_entity(ent("organization:o", "Sở Nội vụ"), c1)
        s.update_entity(renamed(a, "Hệ thống A mới"), 1, c2)
        r = s.create_relationship(rl("reads", "system:a", "database:d", frequency="daily"), c1)
        s.update_relationship(r.model_copy(update={"properties": {"frequency": "hourly"}}), 1, c2)
        ev = OrgEvent(id="ev-1", type="rename", date=dt.date(2025, 7, 1), to=["organization:o"])
        s.record_event(ev, c1)
        load = BulkLoad(
            source="excel:a",
            run="1",
            entities=[
                ent("system:a", "Từ tệp"),
                ent("system:b"),
                ent("database:e"),
                ent("system:kept").model_copy(update={"provenance": Provenance(source="x", run="0")}),
            ],
            relationships=[
                rl("writes", "system:b", "database:e"),
                rl("reads", "system:a", "database:d"),
                rl("flows_to", "system:a", "system:b", note="qua LGSP"),
            ],
            events=[
                ev,
                OrgEvent(id="ev-2", type="create", date=dt.date(2024, 1, 1), to=["organization:n"]),
                ev.model_copy(update={"legal_basis": "QĐ 1"}),
            ],
        )
        dry = s.bulk_load(load, c2, dry_run=True)
        real = s.bulk_load(load, c2)
        assert (dry.created, dry.updated, dry.unchanged) == (real.created, real.updated, real.unchanged)
        with s.transaction(c1):
            s.create_entity(ent("system:t"), c1)
            s.create_relationship(rl("reads", "system:t", "database:e"), c1)  # made by hand: blocks the clean-up
            with pytest.raises(IntegrityError):
                s.bulk_load(BulkLoad(source="excel:a", run="2", entities=[ent("system:a")], cleanup=True), c1)
        s.bulk_load(
            BulkLoad(
                source="excel:a",
                run="3",
                entities=[ent("system:a", "Từ tệp"), ent("database:e")],
                relationships=[rl("reads", "system:a", "database:d")],
                cleanup=True,
            ),
            c2,
        )
        s.delete_entity("database:d", 1, c1, cascade=True)
        hub = [ent("platform:dc", "Trung tâm dữ liệu")] + [ent(f"system:h{i:02d}") for i in range(12)]
        s.bulk_load(
            BulkLoad(
                source="hub",
                run="1",
                entities=hub,
                relationships=[rl("hosted_on", f"system:h{i:02d}", "platform:dc") for i in range(12)]
                + [rl("flows_to", f"system:h{i:02d}", f"system:h{i + 1:02d}") for i in range(0, 11, 2)],
            ),
            c1,
        )
        # one source's ref a prefix of another's: ordered by (source, type, id) is not ordered by id
        fan = [ent("system:x"), ent("system:x-1")] + [ent(f"system:y{i}") for i in range(4)]
        s.bulk_load(
            BulkLoad(
                source="fan",
                run="1",
                entities=fan,
                relationships=[
                    rl("flows_to", src, f"system:y{i}") for src in ("system:x", "system:x-1") for i in range(4)
                ],
            ),
            c1,
        )

    run(lite)
    run(neo)
    try:
        for mine, theirs in zip(neo.changelog(), lite.changelog(), strict=False):
            assert mine.model_dump() == theirs.model_dump(), mine.seq
        assert len(neo.changelog()) == len(lite.changelog())
        assert neo.revision() == lite.revision()
        assert neo.verify_log() == lite.verify_log()
        assert [e.model_dump() for e in neo.list_entities()] == [e.model_dump() for e in lite.list_entities()]
        assert [r.model_dump() for r in neo.list_relationships()] == [r.model_dump() for r in lite.list_relationships()]
        assert [e.model_dump() for e in neo.list_events()] == [e.model_dump() for e in lite.list_events()]
        for when in ("2025-01-01T00:00:05Z", "2025-01-01T00:00:30Z", "2030-01-01"):
            g, h = neo.graph_as_of(when), lite.graph_as_of(when)
            assert ({k: e.model_dump() for k, e in g.entities.items()}, [r.model_dump() for r in g.relationships]) == (
                {k: e.model_dump() for k, e in h.entities.items()},
                [r.model_dump() for r in h.relationships],
            )
        for ref in ("system:a", "database:e", "system:t", "organization:o"):
            for direction in ("out", "in", "both"):
                g = neo.neighbourhood(ref, 2, direction)  # type: ignore[arg-type]
                h = lite.neighbourhood(ref, 2, direction)  # type: ignore[arg-type]
                assert (g.depth, sorted(g.entities), [r.id for r in g.relationships]) == (
                    h.depth,
                    sorted(h.entities),
                    [r.id for r in h.relationships],
                )
        for ref, limit, truncated in (
            ("platform:dc", 5, True),
            ("system:h03", 9, True),
            ("system:h03", 14, False),
            ("system:y0", 5, True),
            ("system:y0", 6, False),
        ):
            g, h = neo.neighbourhood(ref, 3, limit=limit), lite.neighbourhood(ref, 3, limit=limit)
            assert (g.depth, g.truncated, [r.id for r in g.relationships]) == (
                h.depth,
                h.truncated,
                [r.id for r in h.relationships],
            )
            assert g.truncated == truncated
        for q in ("he thong", "tu tep", "system", "so noi", "qua", "a", "excel", "trung tam"):
            assert {e.ref for e in neo.search(q)} == {e.ref for e in lite.search(q)}, q
    finally:
        lite.close()


def test_neighbourhood_through_the_index_and_beyond_the_first_page_matches_sqlite(
    neo: Neo4jStore, tmp_path: Path, ctx: WriteContext, ent, rl, monkeypatch
) -> None:
    """Hubs are read through the ``id`` / ``in_key`` indexes (here every entity with more than 2 relationships in a
    direction), and a step whose first rows (here ``limit + 1``) all lead back to entities already found is read
    further: both give exactly SQLite's walk, truncation included."""
    import catalog.store.neo4j.store as neo_store

    monkeypatch.setattr(neo_store, "_DENSE", 2)
    monkeypatch.setattr(neo_store, "_STEP_SLACK", 0)  # a step reads limit + 1 rows first
    real, paged = Neo4jStore._step_rows, set()

    def spy(reader: Any, query: str, chunk: list[str], total: int, h: int) -> Iterator[list]:
        for n, row in enumerate(real(reader, query, chunk, total, h)):
            if n >= total:
                paged.add(row[2].split(">")[0])
            yield row

    monkeypatch.setattr(Neo4jStore, "_step_rows", staticmethod(spy))
    lite = make_store("sqlite", tmp_path)
    try:
        spokes = [f"system:s{i:02d}" for i in range(12)] + ["system:s-1", "system:s1-0"]  # '-' sorts before digits
        ents = [ent("platform:hub"), ent("system:z"), ent("database:d")] + [ent(r) for r in spokes]
        rels = [rl("hosted_on", s, "platform:hub") for s in spokes]
        rels += [rl(t, "system:s00", s) for t in ("flows_to", "supersedes") for s in spokes[1:]]  # 26 to known ones
        rels += [
            rl("flows_to", "system:s00", "system:z"),
            rl("writes", "system:s00", "database:d"),
            rl("reads", "system:z", "database:d"),
            rl("supersedes", "platform:hub", "system:z"),
        ]
        for s in (lite, neo):
            s.bulk_load(BulkLoad(source="t", run="1", entities=ents, relationships=rels), ctx)
        cases = [
            (ref, depth, direction, types, limit)
            for ref in ("platform:hub", "system:s00", "system:s1-0", "database:d")
            for depth in (1, 2, 3)
            for direction in ("out", "in", "both")
            for types in (None, ("flows_to", "hosted_on"), ("reads",), ("nonsense",))
            for limit in (3, 6, 15, 20, 500)
        ]
        for ref, depth, direction, types, limit in cases:
            g = neo.neighbourhood(ref, depth, direction, types, limit)  # type: ignore[arg-type]
            h = lite.neighbourhood(ref, depth, direction, types, limit)  # type: ignore[arg-type]
            assert (
                g.depth,
                g.truncated,
                [r.content() for r in g.relationships],
                [(k, e.content()) for k, e in g.entities.items()],
            ) == (
                h.depth,
                h.truncated,
                [r.content() for r in h.relationships],
                [(k, e.content()) for k, e in h.entities.items()],
            ), (ref, depth, direction, types, limit)
        # the paging case happened: system:s00's first relationships all lead to spokes found before
        assert "system:s00" in paged
    finally:
        lite.close()


def _plan_operators(plan: Any) -> list[str]:
    return [plan["operatorType"].split("@")[0]] + [op for c in plan.get("children", []) for op in _plan_operators(c)]


def test_walk_is_planned_once_with_index_seeks_whatever_the_database_holds(
    neo: Neo4jStore, raw: Any, ctx: WriteContext, ent, rl, monkeypatch
) -> None:
    """Neo4j plans a query anew for each size class of a list parameter and after the statistics change; the walk
    sends every list padded into one class, and its step query forbids re-planning and names its indexes, so the
    plan made on an empty database is the index plan a full one needs."""
    import catalog.store.neo4j.store as neo_store
    from catalog.store.neo4j.schema import stored_types

    known = sorted(stored_types(neo.metamodel), key=str.lower)
    step = neo._step_query([0, 1], known)
    assert step.startswith("CYPHER replan=skip ")
    explain = step.replace("CYPHER replan=skip ", "CYPHER replan=force EXPLAIN ")  # what the planner makes now

    def index_seeks_only() -> None:
        with raw.session() as session:
            for frontier in (["x"], neo_store._one_plan(["x"])):  # `USING INDEX` alone scanned at 100k
                ops = _plan_operators(session.run(explain, frontier=frontier, total=10, dense=100).consume().plan)
                assert ops.count("DirectedRelationshipUniqueIndexSeekByRange") == len(known)  # out: each type's id
                assert ops.count("DirectedRelationshipIndexSeekByRange") == len(known)  # in: each type's in_key
                assert not [op for op in ops if "Scan" in op], ops

    index_seeks_only()  # the database is empty

    sent: list[int] = []
    real_reader = Neo4jStore._reader

    class Spy:
        def __init__(self, reader: Any) -> None:
            self.reader = reader

        def run(self, query: str, **params: Any) -> Any:
            sent.extend(len(v) for v in params.values() if isinstance(v, list))
            return self.reader.run(query, **params)

    def reader(self: Neo4jStore) -> Iterator[Any]:
        with real_reader(self) as r:
            yield Spy(r)

    monkeypatch.setattr(Neo4jStore, "_reader", contextlib.contextmanager(reader))
    spokes = [f"system:s{i}" for i in range(3)]
    neo.bulk_load(
        BulkLoad(
            source="t",
            run="1",
            entities=[ent("platform:hub")] + [ent(s) for s in spokes],
            relationships=[rl("hosted_on", s, "platform:hub") for s in spokes],
        ),
        ctx,
    )
    g = neo.neighbourhood("platform:hub", depth=2)
    assert len(g.entities) == 4 and len(g.relationships) == 3
    assert sent and min(sent) >= neo_store._PLAN_LIST  # frontiers of 1 and 3, found 4: all sent as 101
    index_seeks_only()  # a few relationships: scanning an index looks cheap to the planner


def test_schema_1_database_gets_in_keys_on_opening(
    neo: Neo4jStore, url: str, raw: Any, ctx: WriteContext, ent, rl
) -> None:
    neo.bulk_load(
        BulkLoad(
            source="t",
            run="1",
            entities=[ent("system:a"), ent("system:b")],
            relationships=[rl("flows_to", "system:a", "system:b")],
        ),
        ctx,
    )
    behind_the_back(raw, "MATCH ()-[r]->() REMOVE r.in_key")
    behind_the_back(raw, "MATCH (m:CatalogMeta) SET m.version = '1'")
    raw.execute_query("CREATE INDEX ioc_rel_flows_to_source IF NOT EXISTS FOR ()-[r:FLOWS_TO]-() ON (r.prov_source)")
    user, password = _credentials()
    again = Neo4jStore(url, user=user, password=password)
    try:
        assert cypher(raw, "MATCH ()-[r]->() RETURN r.in_key AS k") == [{"k": "system:b>system:a>flows_to>system:b"}]
        assert cypher(raw, "MATCH (m:CatalogMeta) RETURN m.version AS v") == [{"v": "3"}]  # through 2
        assert cypher(raw, "SHOW INDEXES YIELD name WHERE name = 'ioc_rel_flows_to_source' RETURN name") == []
        assert [r.id for r in again.neighbourhood("system:b", 1, "in").relationships] == ["system:a>flows_to>system:b"]
    finally:
        again.close()
