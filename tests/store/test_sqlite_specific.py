"""What only the SQLite backend can be asked: several writers on one file, a change log edited behind the store's
back, a process killed in the middle of an import, and files that are not catalogs.

The backend-neutral rules live in test_contract.py; everything here opens the file itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.changelog import entry_hash
from catalog.errors import Conflict, StoreError
from catalog.model import Entity, LocalText
from catalog.store import open_store
from catalog.store.base import CatalogStore, WriteContext
from catalog.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "bulk_worker.py"


@pytest.fixture
def ent(factory: tuple[Callable[..., Entity], Callable]) -> Callable[..., Entity]:
    return factory[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


def renamed(e: Entity, name: str) -> Entity:
    return e.model_copy(update={"name": LocalText(vi=name, en=name)})


# --- concurrent writers ---------------------------------------------------------------------------------------------


def race(stores: list[CatalogStore], ref: str, rounds: int) -> dict[int, list[tuple[int, str]]]:
    """Each round, every worker (one thread per entry in ``stores``) reads the entity, all wait at a barrier, then
    all try to update it with the version they read. Returns {round: [(worker, 'won' | 'conflict' | error)]}."""
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
    assert final.version == len(winners) + 1
    assert final.name.vi == winners[-1]
    log = store.changelog(ref=ref)
    assert [e.op for e in log] == ["create"] + ["update"] * len(winners)
    assert [e.after["name"]["vi"] for e in log[1:]] == winners
    assert [e.request_id for e in log[1:]] == winners
    assert [e.before["name"]["vi"] for e in log[2:]] == winners[:-1]
    assert store.verify_log().ok
    assert store.revision()[0] == 1 + len(winners)


def test_two_stores_on_one_file_race(db: Path, ctx: WriteContext, ent) -> None:
    first, second = SQLiteStore(db), SQLiteStore(db)
    try:
        first.create_entity(ent("system:contested", "Lúc đầu"), ctx)
        outcomes = race([first, second], "system:contested", rounds=20)
        check_race(second, "system:contested", 2, outcomes)
        assert first.revision() == second.revision()
    finally:
        first.close()
        second.close()


def test_eight_threads_on_one_store_race(db: Path, ctx: WriteContext, ent) -> None:
    store = SQLiteStore(db)
    try:
        store.create_entity(ent("system:contested", "Lúc đầu"), ctx)
        outcomes = race([store] * 8, "system:contested", rounds=10)
        check_race(store, "system:contested", 8, outcomes)
    finally:
        store.close()


# --- tamper detection -----------------------------------------------------------------------------------------------


@pytest.fixture
def logged(db: Path, ctx: WriteContext, ent) -> SQLiteStore:
    """A store with five change-log entries."""
    store = SQLiteStore(db)
    a = store.create_entity(ent("system:a", "Hệ thống A"), ctx)
    store.create_entity(ent("database:d", "CSDL D"), ctx)
    store.update_entity(renamed(a, "Hệ thống A mới"), 1, ctx)
    store.create_entity(ent("organization:o", "Sở Nội vụ"), ctx)
    store.delete_entity("database:d", 1, ctx)
    assert store.verify_log().ok and store.revision()[0] == 5
    yield store
    store.close()


def behind_the_back(db: Path, sql: str, args: tuple = ()) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute(sql, args).rowcount == 1


def test_edited_after_json_is_detected(db: Path, logged: SQLiteStore) -> None:
    after = logged.changelog()[2].after  # derived (each fact written once): an after written into the entry
    after["name"]["vi"] = "Hệ thống A (sửa lén)"
    behind_the_back(db, "UPDATE changelog SET after = ? WHERE seq = 3", (json.dumps(after, ensure_ascii=False),))
    result = logged.verify_log()
    assert (result.ok, result.bad_seq, result.checked) == (False, 3, 2)
    assert "edited" in result.reason


def test_edited_actor_is_detected(db: Path, logged: SQLiteStore) -> None:
    behind_the_back(db, "UPDATE changelog SET actor = 'mallory' WHERE seq = 2")
    result = logged.verify_log()
    assert (result.ok, result.bad_seq) == (False, 2)


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(db: Path, logged: SQLiteStore) -> None:
    e = logged.changelog()[1]
    h = entry_hash(e.seq, e.time, "mallory", e.request_id, e.op, e.ref, e.before, e.after, e.prev_hash)
    behind_the_back(db, "UPDATE changelog SET actor = 'mallory', hash = ? WHERE seq = 2", (h,))
    result = logged.verify_log()
    assert (result.ok, result.bad_seq) == (False, 3)
    assert "previous-hash" in result.reason


def test_deleted_middle_entry_is_named(db: Path, logged: SQLiteStore) -> None:
    behind_the_back(db, "DELETE FROM changelog WHERE seq = 3")
    result = logged.verify_log()
    assert (result.ok, result.bad_seq, result.checked) == (False, 3, 2)
    assert "entry 3 is missing" in result.reason


def test_intact_log_stays_valid_after_reopening(db: Path, logged: SQLiteStore) -> None:
    with SQLiteStore(db, create=False) as again:
        assert again.verify_log() == logged.verify_log()
        assert again.verify_log().ok


def verify_log_cli(db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "IOC_CATALOG_LANG": "en"}
    env.pop("IOC_CATALOG_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "verify-log", "--store", f"sqlite:///{db}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_verify_log_reports_tampering(db: Path, logged: SQLiteStore) -> None:
    r = verify_log_cli(db)
    assert (r.returncode, r.stderr) == (0, "")
    assert "change log OK: 5 entries" in r.stdout

    behind_the_back(db, "DELETE FROM changelog WHERE seq = 4")
    r = verify_log_cli(db)
    assert r.returncode == 1
    assert "BROKEN at entry 4" in r.stderr and "entry 4 is missing" in r.stderr
    assert "Traceback" not in r.stderr


# --- a process killed in the middle of a bulk load ------------------------------------------------------------------


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early (exit {proc.returncode}): {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"worker did not reach {path.name} within {timeout} s")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at, count", [("started", 200_000), ("written", 80_000)])
def test_kill_during_bulk_load_leaves_store_as_it_was(
    tmp_path: Path, db: Path, ctx: WriteContext, ent, kill_at: str, count: int
) -> None:
    """``started``: a 200,000-entity run killed while its transaction is open and rows are being prepared.
    ``written``: an 80,000-entity run (smaller, to keep the suite fast, yet more than the page cache holds) killed
    after every entity row and change-log entry was written, spilling tens of MB into the WAL, but before the
    commit."""
    with SQLiteStore(db) as store:
        for ref in ("organization:hcm", "system:before-1", "system:before-2"):
            store.create_entity(ent(ref), ctx)
        before_count, before_rev = store.count_entities(), store.revision()

    markers = tmp_path / "markers"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(markers), str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(markers / kill_at, proc, timeout=90)
        if kill_at == "written":  # uncommitted pages really reached the file
            assert db.with_name(db.name + "-wal").stat().st_size > 1_000_000
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (markers / "finished").exists()

    with SQLiteStore(db, create=False) as store:
        assert store.count_entities() == before_count
        assert store.revision() == before_rev
        assert store.count_relationships() == 0
        assert store.verify_log().ok
        assert store.search("he thong so") == []
        store.create_entity(ent("system:after"), ctx)
        assert store.count_entities() == before_count + 1
        assert store.revision()[0] == before_rev[0] + 1
        assert store.verify_log().ok


# --- files that are not catalogs ------------------------------------------------------------------------------------


def test_random_bytes_are_not_a_catalog(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    content = b"not a catalog\x00" + bytes(range(256)) * 16
    junk.write_bytes(content)
    with pytest.raises(StoreError, match="junk.db is not a catalog file"):
        SQLiteStore(junk)
    with pytest.raises(StoreError, match="not a catalog"):
        open_store(f"sqlite:///{junk}")
    assert junk.read_bytes() == content  # and it was not touched


def test_foreign_sqlite_database_is_not_a_catalog(tmp_path: Path) -> None:
    other = tmp_path / "payroll.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE salaries (name TEXT, amount INTEGER)")
    before = other.read_bytes()
    with pytest.raises(StoreError, match="payroll.db is an SQLite database but not a catalog"):
        SQLiteStore(other)
    assert other.read_bytes() == before
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["salaries"]


def test_open_existing_catalog_without_create(db: Path, ctx: WriteContext, ent) -> None:
    with SQLiteStore(db) as store:
        store.create_entity(ent("system:a", "Hệ thống A"), ctx)
        rev = store.revision()
    with open_store(f"sqlite:///{db}", create=False) as again:
        assert again.get_entity("system:a").name.vi == "Hệ thống A"
        assert again.revision() == rev


def test_missing_file_without_create(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "catalog.db"
    with pytest.raises(StoreError, match="no catalog at"):
        SQLiteStore(missing, create=False)
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{missing}", create=False)
    assert not missing.exists()
    assert not missing.parent.exists()


def test_empty_file_becomes_a_catalog(tmp_path: Path, ctx: WriteContext, ent) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with SQLiteStore(empty) as store:
        store.create_entity(ent("system:a"), ctx)
        assert store.count_entities() == 1


# --- neighbourhood answers build their models on first access ------------------------------------------------------


def test_a_neighbourhood_answer_builds_each_model_when_read_and_says_what_the_store_says(db: Path) -> None:
    from conftest import SAMPLE

    from catalog.store.base import StoredEntities, StoredRelationships
    from importers.base import run_import

    store = SQLiteStore(db)
    run_import(store, SAMPLE)
    g = store.neighbourhood("platform:hcm-lgsp", depth=2)
    assert isinstance(g.entities, StoredEntities) and isinstance(g.relationships, StoredRelationships)
    assert not g.entities._models  # nothing built yet
    first = g.entities["platform:hcm-lgsp"]
    assert g.entities["platform:hcm-lgsp"] is first and len(g.entities._models) == 1  # built once, kept
    assert dict(g.entities) == store.get_entities(list(g.entities)) == g.entities  # equal to plain models
    for ref in g.entities:
        assert json.loads(g.entities.json(ref)) == g.entities[ref].model_dump(mode="json")
    plain = [store.find_relationship(r.id) for r in g.relationships]
    assert g.relationships == plain and plain == g.relationships and g.relationships != plain[:-1]
    assert [r.id for r in g.relationships[1:3]] == [r.id for r in plain[1:3]]  # type: ignore[union-attr]
    assert json.loads(g.relationships.json(0)) == plain[0].model_dump(mode="json")  # type: ignore[union-attr]
    assert "platform:khong-co" not in g.entities and len(g.entities) == len(g.depth) > 20


# --- schema 3: every organisation an entity's owner history names -------------------------------------------------


def test_a_schema_2_file_is_upgraded_on_opening_and_finds_past_owners(db: Path) -> None:
    from conftest import SAMPLE

    from importers.base import run_import

    store = SQLiteStore(db)
    run_import(store, SAMPLE)
    before = store.part_json(owners=["organization:hcm-sttt"])
    expected = {json.loads(d)["ref"] for d in before[0]}
    # past owners are found (assets that moved to the merged department in 2025 name it and their old owner)
    assert any(len(json.loads(d)["owner_history"]) > 1 for d in before[0])
    revision = store.revision()
    store.close()
    with sqlite3.connect(db) as raw:  # make it a schema-2 file: no entity_orgs rows, version 2
        raw.execute("DROP TABLE entity_orgs")
        raw.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    again = SQLiteStore(db)
    assert again._conn().execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "4"
    assert {json.loads(d)["ref"] for d in again.part_json(owners=["organization:hcm-sttt"])[0]} == expected
    assert again.revision() == revision and again.verify_log().ok  # the upgrade is not a catalog change
    n = again._conn().execute("SELECT count(*) FROM entity_orgs").fetchone()[0]
    assert n == sum(len({p.org for p in e.owner_history}) for e in again.iter_entities())
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema 9"):
        SQLiteStore(db)


# --- page size ----------------------------------------------------------------------------------------------------


def test_a_new_file_gets_16_kib_pages_and_an_existing_file_keeps_its_own(db: Path, tmp_path: Path, ent) -> None:
    from catalog.store.sqlite.store import PAGE_SIZE

    ctx = WriteContext(actor="test")
    store = SQLiteStore(db)
    store.create_entity(ent("system:he-thong-a", "Hệ thống A"), ctx)
    page, mode = (store._conn().execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "journal_mode"))
    assert (page, mode) == (PAGE_SIZE, "wal") and PAGE_SIZE == 16384
    store.close()
    old = tmp_path / "old.db"  # a catalog made before: SQLite's default 4 KiB pages
    with contextlib.closing(sqlite3.connect(old)) as raw:
        raw.execute("PRAGMA page_size=4096")
        raw.execute("VACUUM")
        raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    reopened = SQLiteStore(old)
    reopened.create_entity(ent("system:he-thong-b", "Hệ thống B"), ctx)
    assert reopened._conn().execute("PRAGMA page_size").fetchone()[0] == 4096
    assert reopened.get_entity("system:he-thong-b").ref == "system:he-thong-b" and reopened.verify_log().ok
    with pytest.raises(StoreError, match="not a catalog"):  # an empty non-catalog file is still only probed
        (tmp_path / "other.db").write_bytes(b"")
        with contextlib.closing(sqlite3.connect(tmp_path / "other.db")) as raw:
            raw.execute("CREATE TABLE t (x)")
        SQLiteStore(tmp_path / "other.db")
