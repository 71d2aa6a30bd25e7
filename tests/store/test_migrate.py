"""Migration between backends (catalog/migrate.py, the dump/restore/is_empty/erase contract, `ioc-catalog migrate`).

Round trips SQLite -> Neo4j -> SQLite must end with the same content hash, the same change-log head, a verifying log on
each target, and every entity's version and timestamps kept. Needs the Neo4j test server (skips, or fails with
REQUIRE_NEO4J=1, like the rest of the Neo4j suite); the is_empty/erase contract runs on both backends.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from conftest import ROOT, SAMPLE, make_store
from typer.testing import CliRunner

from catalog.changelog import GENESIS
from catalog.digest import content_hash
from catalog.errors import StoreError
from catalog.migrate import migrate
from catalog.model import ChangeEntry
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, WriteContext
from importers.base import run_import

if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

ADMIN = Principal("tester", "admin")


def sqlite(path: Path) -> CatalogStore:
    return open_store(f"sqlite:///{path}")


def sample_with_history(store: CatalogStore) -> CatalogStore:
    """The sample catalog plus updates, deletes and an organisation event, so the log holds every kind of entry."""
    report = run_import(store, SAMPLE)
    assert report.loaded
    svc = CatalogService(store, ADMIN)
    system = next(store.iter_entities(kind="system"))
    svc.patch(system.ref, {"description": {"vi": "Mô tả mới: “trích dẫn” và \\ ký tự", "en": "new"}}, system.version)
    rel = store.list_relationships(limit=1)[0]
    svc.unlink(rel.id, rel.version)
    gone = next(e for e in store.iter_entities(kind="service") if store.list_relationships(e.ref))
    svc.delete(gone.ref, gone.version, cascade=True)  # its relationships go too: more delete entries
    # renamed while it still existed (Quận 1 ends on 2025-07-01: a rename dated then names no organisation)
    svc.apply_event(
        {
            "id": "test-rename-quan1",
            "type": "rename",
            "date": "2025-06-15",
            "from": ["organization:hcm-quan1"],
            "to": ["organization:hcm-quan1"],
            "new_name": {"vi": "UBND phường Sài Gòn", "en": "Sai Gon Ward People's Committee"},
        }
    )
    ctx = WriteContext(actor="tester")
    store.put_record("user", "lan", {"name": "lan", "role": "architect", "display": "Nguyễn Thị Lan"}, ctx)
    store.put_record("credential", "lan", {"hash": "scrypt$x"}, ctx, log=False)
    store.put_record(
        "user", "lan", {"name": "lan", "role": "admin", "display": "Nguyễn Thị Lan"}, ctx, expected_version=1
    )
    return store


def snapshot(store: CatalogStore) -> dict:
    """Everything a migration must keep, bookkeeping included."""
    return {
        "entities": [(e.ref, e.version, e.created_at, e.updated_at, e.content()) for e in store.iter_entities()],
        "relationships": sorted(
            (r.id, r.version, r.created_at, r.updated_at, r.content()) for r in store.all_relationships()
        ),
        "events": [(ev.id, ev.version, ev.content()) for ev in store.list_events()],
        "records": [r for c in ("credential", "import-run", "user") for r in store.list_records(c)],
        "changelog": store.changelog(),
        "revision": store.revision(),
        "hash": content_hash(store),
    }


def assert_identical(result, source: CatalogStore, target: CatalogStore) -> None:
    assert result.ok, result.problems()
    assert result.source_hash == result.target_hash == content_hash(source) == content_hash(target)
    assert result.source_revision == result.target_revision == source.revision() == target.revision()
    assert target.verify_log().ok and target.verify_log().head == source.revision()[1]
    assert snapshot(target) == snapshot(source)


def test_round_trip_sqlite_neo4j_sqlite_keeps_everything(tmp_path: Path) -> None:
    src = sample_with_history(sqlite(tmp_path / "src.db"))
    ops = {c.op for c in src.changelog()}
    assert ops == {"create", "update", "delete"} and any(c.ref.startswith("event:") for c in src.changelog())
    neo = make_store("neo4j", tmp_path)
    back = sqlite(tmp_path / "back.db")
    try:
        there = migrate(src, neo, batch=50)  # small batches: many restore transactions, log chained across them
        assert_identical(there, src, neo)
        assert there.counts == {
            "entities": src.count_entities(),
            "relationships": src.count_relationships(),
            "events": len(src.list_events()),
            "records": src.count_records(),
            "changelog": src.revision()[0],
        }
        back_result = migrate(neo, back)
        assert_identical(back_result, neo, back)
        assert snapshot(back) == snapshot(src)
        # the copies stay usable: the next write continues the same chain
        e = next(back.iter_entities(kind="system"))
        CatalogService(back, ADMIN).patch(e.ref, {"tags": ["after-migration"]}, e.version)
        assert back.verify_log().ok and back.revision()[0] == src.revision()[0] + 1
        e = next(neo.iter_entities(kind="system"))
        CatalogService(neo, ADMIN).patch(e.ref, {"tags": ["after-migration"]}, e.version)
        assert neo.verify_log().ok and neo.revision() == back.revision()[:1] + (neo.revision()[1],)
        assert neo.search("after-migration") and back.search("after-migration")
    finally:
        src.close(), neo.close(), back.close()


def test_refuses_a_non_empty_target_unless_forced(tmp_path: Path) -> None:
    src = sample_with_history(sqlite(tmp_path / "src.db"))
    neo = make_store("neo4j", tmp_path)
    other = sqlite(tmp_path / "other.db")
    try:
        CatalogService(neo, ADMIN).register(
            {
                "ref": "organization:leftover",
                "name": {"vi": "Cũ", "en": "Old"},
                "attributes": {"org_type": "department"},
            }
        )
        before = neo.revision()
        with pytest.raises(StoreError, match="not empty"):
            migrate(src, neo)
        assert neo.revision() == before and neo.find_entity("organization:leftover") is not None
        result = migrate(src, neo, force=True)
        assert result.erased and neo.find_entity("organization:leftover") is None
        assert_identical(result, src, neo)
        # a change log alone (a copy that failed after the entities were cut off) also counts as not empty
        migrate(src, other)
        with pytest.raises(StoreError, match="not empty"):
            migrate(neo, other)
        assert_identical(migrate(neo, other, force=True), neo, other)
    finally:
        src.close(), neo.close(), other.close()


def test_is_empty_and_erase(store: CatalogStore, factory) -> None:
    entity, rel = factory
    assert store.is_empty()
    ctx = WriteContext(actor="t")
    store.create_entity(entity("organization:a"), ctx)
    store.create_entity(entity("system:b", owner="organization:a"), ctx)
    store.create_relationship(rel("operated_by", "system:b", "organization:a"), ctx)
    assert not store.is_empty()
    store.erase()
    assert store.is_empty() and store.revision() == (0, GENESIS) and store.verify_log().ok
    assert store.count_entities() == 0 and store.count_relationships() == 0 and store.changelog() == []
    store.create_entity(entity("organization:a"), ctx)  # a fresh chain from genesis
    assert store.revision()[0] == 1 and store.verify_log().ok and store.search("organization")


def test_restore_refuses_a_log_that_does_not_chain(store: CatalogStore, factory) -> None:
    entity, _ = factory
    ctx = WriteContext(actor="t")
    store.create_entity(entity("organization:a"), ctx)
    entries = store.changelog()
    store.erase()
    forged = ChangeEntry(**{**entries[0].model_dump(), "actor": "someone-else"})
    with pytest.raises(StoreError, match="does not match its hash"):
        store.restore("changelog", [forged])
    with pytest.raises(StoreError, match="does not continue"):
        store.restore("changelog", [ChangeEntry(**{**entries[0].model_dump(), "seq": 2})])
    assert store.is_empty()
    store.restore("changelog", entries)
    assert store.revision() == (1, entries[0].hash) and store.verify_log().ok


def test_round_trip_of_a_5000_entity_synthetic_catalog(tmp_path: Path) -> None:
    from bench.synthetic import generate

    entities, relationships = generate(5000, validate=False)
    src = sqlite(tmp_path / "src.db")
    src.bulk_load(
        BulkLoad(source="synthetic", run="r1", entities=entities, relationships=relationships),
        WriteContext(actor="bench"),
    )
    neo = make_store("neo4j", tmp_path)
    back = sqlite(tmp_path / "back.db")
    try:
        r1 = migrate(src, neo)
        assert_identical(r1, src, neo)
        assert r1.counts["entities"] == 5000 and r1.counts["relationships"] == len(relationships)
        r2 = migrate(neo, back)
        assert_identical(r2, neo, back)
        assert r2.target_hash == content_hash(src) and back.revision() == src.revision()
    finally:
        src.close(), neo.close(), back.close()


def _cli() -> typer.Typer:
    from api.commands_migrate import register

    app = typer.Typer()

    @app.callback()
    def root() -> None:  # a group, so the command is called by its name
        pass

    register(app)
    return app


def test_cli_migrate_end_to_end(tmp_path: Path) -> None:
    src = sample_with_history(sqlite(tmp_path / "src.db"))
    expected_hash, head = content_hash(src), src.revision()
    src.close()
    neo = make_store("neo4j", tmp_path)  # emptied; the command opens its own connection
    neo_url = neo.url
    neo.close()
    app, runner = _cli(), CliRunner(env={"IOC_CATALOG_LANG": "en"})  # the English words of the command line
    out = runner.invoke(app, ["migrate", "--from", f"sqlite:///{tmp_path / 'src.db'}", "--to", neo_url])
    assert out.exit_code == 0, out.output
    assert out.output.count(expected_hash) == 2  # source and target content hashes
    assert out.output.count(head[1]) >= 2 and "Identical" in out.output and "change log OK" in out.output
    again = runner.invoke(app, ["migrate", "--from", f"sqlite:///{tmp_path / 'src.db'}", "--to", neo_url])
    assert again.exit_code != 0 and isinstance(again.exception, StoreError) and "--force" in str(again.exception)
    back = runner.invoke(app, ["migrate", "--from", neo_url, "--to", f"sqlite:///{tmp_path / 'back.db'}"])
    assert back.exit_code == 0, back.output
    assert back.output.count(expected_hash) == 2
    forced = runner.invoke(
        app, ["migrate", "--from", f"sqlite:///{tmp_path / 'back.db'}", "--to", neo_url, "--force", "--batch", "100"]
    )
    assert forced.exit_code == 0, forced.output
    assert "Erased the target" in forced.output and forced.output.count(expected_hash) == 2
    same = runner.invoke(app, ["migrate", "--from", neo_url, "--to", neo_url])
    assert same.exit_code != 0
    with open_store(f"sqlite:///{tmp_path / 'back.db'}") as b:
        assert content_hash(b) == expected_hash and b.revision() == head and b.verify_log().ok
