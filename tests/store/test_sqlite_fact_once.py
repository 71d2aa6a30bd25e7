"""Each fact written once, on SQLite (docs/architecture.md, "Each fact written once").

A change-log entry about an entity or a relationship stores no ``after``: it is the next entry's ``before``, or the
current row. These tests open a catalog file written by the code of schema 3 (tests/fixtures/make_sqlite_v3.py,
which says how it was made) and check that the upgrade changes nothing a reader sees; that new writes store each
state once; that the current rows are now covered by ``verify_log``; and that a dump restored elsewhere reads the
same.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.changelog import canonical_json
from catalog.digest import content_hash
from catalog.model import LocalText
from catalog.store.base import CatalogStore, WriteContext
from catalog.store.sqlite import SQLiteStore
from catalog.store.sqlite.store import SCHEMA_VERSION

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
V3 = FIXTURES / "sqlite_v3.db"
EXPECTED = json.loads((FIXTURES / "sqlite_v3.json").read_text(encoding="utf-8"))
DERIVED = "op != 'delete' AND ref NOT LIKE 'event:%' AND ref NOT LIKE 'record:%'"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def copy_of_v3(tmp_path: Path) -> Path:
    db = tmp_path / "catalog.db"
    shutil.copyfile(V3, db)
    return db


def raw(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        with conn:  # committed at the end
            return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def stored_afters(db: Path) -> tuple[int, int]:
    """(entity and relationship entries that store an after, other entries that store one)."""
    return (
        raw(db, f"SELECT count(*) FROM changelog WHERE after IS NOT NULL AND {DERIVED}")[0][0],
        raw(db, f"SELECT count(*) FROM changelog WHERE after IS NOT NULL AND NOT ({DERIVED})")[0][0],
    )


def assert_reads_as_recorded(store: CatalogStore) -> None:
    """Everything the schema-3 code read from the fixture, read again."""
    assert [e.model_dump(mode="json") for e in store.changelog()] == EXPECTED["changelog"]
    result = store.verify_log()
    assert (result.ok, result.checked, result.head) == (
        True,
        EXPECTED["verify_log"]["checked"],
        EXPECTED["verify_log"]["head"],
    )
    assert content_hash(store) == EXPECTED["content_hash"]
    assert list(store.revision()) == EXPECTED["revision"]
    for when, seen in EXPECTED["as_of"].items():
        ents, rels = store.graph_json(when)
        assert sha256("\n".join(sorted(ents) + ["--"] + sorted(rels))) == seen["graph_json_sha256"], when
        for ref, digest in seen["entity_as_of_sha256"].items():
            e = store.entity_as_of(ref, when)
            assert (None if e is None else sha256(canonical_json(e.content()))) == digest, (ref, when)
    # a dump carries the log as recorded (what migrate and backups copy)
    dumped = [
        e.model_dump(mode="json") for section, items in store.dump(batch=7) if section == "changelog" for e in items
    ]
    assert dumped == EXPECTED["changelog"]


def test_the_fixture_is_a_schema_3_file_that_stores_every_after() -> None:
    assert raw(V3, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    kept, others = stored_afters(V3)
    assert kept > 50 and others > 0
    ops = {op for (op,) in raw(V3, "SELECT DISTINCT op FROM changelog")}
    refs = {ref.split(":")[0] for (ref,) in raw(V3, "SELECT DISTINCT ref FROM changelog")}
    assert ops == {"create", "update", "delete"} and {"rel", "event", "record", "system"} <= refs


def test_a_schema_3_file_is_upgraded_on_opening_and_reads_as_before(tmp_path: Path) -> None:
    db = copy_of_v3(tmp_path)
    kept_before, others_before = stored_afters(db)
    store = SQLiteStore(db)
    try:
        assert store.schema_versions() == (SCHEMA_VERSION, SCHEMA_VERSION) == ("4", "4")
        # the duplicates are gone; records' and events' afters stay
        assert stored_afters(db) == (0, others_before)
        assert kept_before > 0
        assert_reads_as_recorded(store)
    finally:
        store.close()
    again = SQLiteStore(db)  # idempotent: opening again changes nothing
    try:
        assert stored_afters(db) == (0, others_before)
        assert_reads_as_recorded(again)
    finally:
        again.close()


def test_a_half_written_layout_reads_the_same_and_upgrades(tmp_path: Path) -> None:
    """Old and new entries mix in one log: NULL-ing an after equal to its derivation changes no read, so a file is
    valid at every step of the upgrade (as if it had been interrupted after some of them)."""
    db = copy_of_v3(tmp_path)
    with sqlite3.connect(db) as conn:  # the first entries compacted, the rest not, still schema 3
        conn.execute("UPDATE changelog SET after = NULL WHERE seq <= 40 AND " + DERIVED)
    assert 0 < stored_afters(db)[0] < stored_afters(V3)[0]
    store = SQLiteStore(db)
    try:
        assert_reads_as_recorded(store)
        assert stored_afters(db)[0] == 0
    finally:
        store.close()


def test_an_after_that_differs_from_its_derivation_is_kept(tmp_path: Path) -> None:
    """The upgrade never drops what it cannot derive: a current row changed behind the catalog's back keeps the
    last entry's recorded after (and verify_log stays as it was: that entry's hash is over its stored text)."""
    db = copy_of_v3(tmp_path)
    ref, data = raw(db, "SELECT ref, data FROM entities ORDER BY ref LIMIT 1")[0]
    last_seq, after = raw(db, "SELECT seq, after FROM changelog WHERE ref = ? ORDER BY seq DESC LIMIT 1", (ref,))[0]
    assert after == data
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entities SET data = ? WHERE ref = ?", (data.replace('"vi":', '"vi": ', 1), ref))
    store = SQLiteStore(db)
    try:
        assert raw(db, "SELECT after FROM changelog WHERE seq = ?", (last_seq,)) == [(after,)]
        assert stored_afters(db)[0] == 1
        assert store.verify_log().ok
        assert [e.model_dump(mode="json") for e in store.changelog()] == EXPECTED["changelog"]
    finally:
        store.close()


@pytest.fixture
def ent(factory: tuple) -> object:
    return factory[0]


@pytest.fixture
def rl(factory: tuple) -> object:
    return factory[1]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "new.db")
    yield s
    s.close()


def test_new_writes_store_each_state_once(fresh: SQLiteStore, ent, rl) -> None:
    ctx = WriteContext(actor="tester", request_id="r")
    a = fresh.create_entity(ent("system:a", "Một"), ctx)
    fresh.create_entity(ent("system:b"), ctx)
    r = fresh.create_relationship(rl("flows_to", "system:a", "system:b"), ctx)
    a = fresh.update_entity(a.model_copy(update={"name": LocalText(vi="Hai", en="Two")}), a.version, ctx)
    fresh.update_relationship(r.model_copy(update={"properties": {"note": "x"}}), r.version, ctx)
    fresh.put_record("notes", "k", {"x": 1}, ctx)
    assert stored_afters(fresh.path) == (0, 1)
    entries = fresh.changelog()
    # each after read back equals the next entry's before, or the current fact
    assert entries[0].after == entries[3].before == {**entries[0].after}
    assert entries[3].after == fresh.get_entity("system:a").content()
    assert entries[2].after == entries[4].before and entries[4].after == fresh.find_relationship(r.id).content()
    assert fresh.verify_log().ok


def test_a_current_row_edited_behind_the_catalogs_back_fails_verify_log(fresh: SQLiteStore, ent, rl) -> None:
    """New guarantee: the current rows are the after of their reference's last entry, so verify_log covers them."""
    ctx = WriteContext(actor="tester", request_id="r")
    a = fresh.create_entity(ent("system:a", "Một"), ctx)
    fresh.create_entity(ent("system:b"), ctx)
    fresh.create_relationship(rl("flows_to", "system:a", "system:b"), ctx)
    fresh.update_entity(a.model_copy(update={"name": LocalText(vi="Hai", en="Two")}), a.version, ctx)
    assert fresh.verify_log().ok
    (seq,) = raw(fresh.path, "SELECT max(seq) FROM changelog WHERE ref = 'system:a'")[0]
    with sqlite3.connect(fresh.path) as conn:
        conn.execute("UPDATE entities SET data = replace(data, 'Hai', 'Ba') WHERE ref = 'system:a'")
    result = fresh.verify_log()
    assert not result.ok and result.bad_seq == seq
    raw(fresh.path, "UPDATE entities SET data = replace(data, 'Ba', 'Hai') WHERE ref = 'system:a'")
    assert fresh.verify_log().ok  # put back: verified again; then the same for a relationship
    raw(fresh.path, "UPDATE relationships SET data = replace(data, 'flows_to', 'flows_to ')")
    (rel_seq,) = raw(fresh.path, "SELECT max(seq) FROM changelog WHERE ref LIKE 'rel:%'")[0]
    result = fresh.verify_log()
    assert not result.ok and result.bad_seq == rel_seq


def test_a_dump_restored_into_a_new_file_reads_the_same_and_stores_each_state_once(tmp_path: Path) -> None:
    """Restore (migrate, backups) writes rows and entries, then compacts each batch: small batches, so an entry's
    next entry often arrives in a later batch."""
    source = SQLiteStore(copy_of_v3(tmp_path))
    target = SQLiteStore(tmp_path / "copy.db")
    try:
        for section, items in source.dump(batch=7):
            target.restore(section, items)
        assert stored_afters(target.path) == (0, stored_afters(source.path)[1])
        assert_reads_as_recorded(target)
    finally:
        source.close()
        target.close()


def test_a_bulk_load_in_many_chunks_writes_what_one_chunk_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ent, rl
) -> None:
    """Chunks of 10 against one chunk (the real ones hold 5,000): each chunk's rows, index rows, entries and hashes
    are prepared apart from the connection and written after; the log (the chain carried from chunk to chunk), the
    facts and the result are the same."""
    import datetime as dt

    from conftest import FakeClock

    from catalog.store.base import BulkLoad
    from catalog.store.sqlite import store as sqlite_store

    got = []
    for db, chunk in (("a.db", 10), ("b.db", 10_000)):
        monkeypatch.setattr(sqlite_store, "_BULK_CHUNK", chunk)
        s = SQLiteStore(tmp_path / db)
        s.clock = FakeClock(dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
        ctx = WriteContext(actor="tester", request_id="r")
        systems = [ent(f"system:s{i:03d}") for i in range(45)]
        flows = [rl("flows_to", f"system:s{i:03d}", f"system:s{i + 1:03d}") for i in range(44)]
        first = s.bulk_load(BulkLoad(source="x", run="1", entities=systems, relationships=flows), ctx)
        changed = [e.model_copy(update={"tags": ["b"]}) if i % 7 == 0 else e for i, e in enumerate(systems[:40])]
        second = s.bulk_load(
            BulkLoad(source="x", run="2", cleanup=True, entities=changed, relationships=flows[:39]), ctx
        )
        assert s.verify_log().ok
        got.append(
            (
                [(e.seq, e.op, e.ref, e.before, e.after, e.prev_hash, e.hash) for e in s.changelog()],
                s.graph_json(),
                (first.created, second.updated, second.removed, second.unchanged),
                s.log_head().seq,
            )
        )
        s.close()
    assert got[0][1:] == got[1][1:]
    assert [e[1:5] for e in got[0][0]] == [e[1:5] for e in got[1][0]]  # times differ: a clock reading per chunk
    entries, _, counts, head = got[0]
    assert head == len(entries) == 45 + 44 + 6 + 5 + 5 and counts[0] == {"system": 45, "relationship": 44}
    assert stored_afters(tmp_path / "a.db") == (0, 0)
