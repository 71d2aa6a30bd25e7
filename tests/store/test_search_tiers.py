"""The store's search as a type-ahead picker needs it (issue 21): the best matches come first even when thousands of
entities match, on every backend; an SQLite file whose search index predates the 4-letter prefixes is rebuilt on
open and finds the same entities."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from catalog.model import Entity, LocalText, LongText
from catalog.store.base import CatalogStore, WriteContext
from catalog.store.sqlite import SQLiteStore
from catalog.store.sqlite.store import _fts_id
from catalog.text import fold
from tests.conftest import entity


def _described(ref: str, name: str, description: str) -> Entity:
    return entity(ref, name).model_copy(update={"description": LongText(vi=description, en=description)})


def _fill(store: CatalogStore, ctx: WriteContext) -> None:
    with store.transaction(ctx):
        # written first (the index's own order would list them first): the words only in the description
        for i in range(40):
            store.create_entity(_described(f"system:noi-{i:02d}", f"Ứng dụng {i}", "Kết nối cổng thông tin"), ctx)
        store.create_entity(entity("system:tt-cong", "Thông tin về cổng kết nối"), ctx)  # every word, not a phrase
        store.create_entity(entity("system:cong-tt", "Cổng thông tin điện tử"), ctx)  # the phrase
        store.create_entity(entity("database:cong-tt", "Cổng thông tin dữ liệu"), ctx)


def test_name_phrase_then_name_words_then_anywhere(store: CatalogStore, ctx: WriteContext) -> None:
    _fill(store, ctx)
    hits = [e.ref for e in store.search("cổng thông", limit=5)]
    assert set(hits[:2]) == {"system:cong-tt", "database:cong-tt"}
    assert hits[2] == "system:tt-cong"
    assert all(r.startswith("system:noi-") for r in hits[3:]) and len(hits) == 5
    # a prefix of the last word, without diacritics, as typed
    assert {e.ref for e in store.search("cong thong ti", limit=2)} == {"system:cong-tt", "database:cong-tt"}


def test_limit_kind_and_no_duplicates_across_tiers(store: CatalogStore, ctx: WriteContext) -> None:
    _fill(store, ctx)
    every = [e.ref for e in store.search("cong thong", limit=100)]
    assert len(every) == len(set(every)) == 43
    assert [e.ref for e in store.search("cong thong", kind="database", limit=10)] == ["database:cong-tt"]
    assert len(store.search("thong", limit=3)) == 3
    assert store.search("t", limit=1)  # one letter is a prefix too
    assert store.search("cong xyzzy", limit=10) == []


def _old_index(path: Path) -> None:
    """Turn the file's search index into the one written before 4-letter prefixes (same rows)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE entity_fts RENAME TO fts_new")
        conn.execute(
            "CREATE VIRTUAL TABLE entity_fts USING fts5(ref UNINDEXED, kind UNINDEXED, name, body, "
            "tokenize = 'unicode61', prefix = '2 3')"
        )
        conn.execute("INSERT INTO entity_fts SELECT ref, kind, name, body FROM fts_new")
        conn.execute("DROP TABLE fts_new")
        conn.commit()


def _fts_sql(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entity_fts'").fetchone()[0]


def test_sqlite_index_before_prefixes_is_rebuilt_on_open(tmp_path: Path, ctx: WriteContext) -> None:
    path = tmp_path / "c.db"
    s = SQLiteStore(path)
    _fill(s, ctx)
    before = [e.ref for e in s.search("cong thong", limit=100)]
    s.close()
    _old_index(path)
    assert "'2 3'" in _fts_sql(path)

    ro = SQLiteStore(path, read_only=True)  # a read-only open changes nothing, and still finds everything
    try:
        assert [e.ref for e in ro.search("cong thong", limit=100)] == before
    finally:
        ro.close()
    assert "'2 3'" in _fts_sql(path)

    s = SQLiteStore(path)
    try:
        assert "'1 2 3 4'" in _fts_sql(path)
        assert [e.ref for e in s.search("cong thong", limit=100)] == before
        assert s.verify_log().ok
        # each row under its ref's number: a write replaces exactly its own row, found by rowid
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("SELECT rowid, ref FROM entity_fts").fetchall()
        assert rows and all(rowid == _fts_id(ref) for rowid, ref in rows)
        e = s.get_entity("system:cong-tt")
        s.update_entity(e.model_copy(update={"name": LocalText(vi="Tổng đài", en="Call centre")}), e.version, ctx)
        s.delete_entity("database:cong-tt", 1, ctx)
        assert [x.ref for x in s.search("tong dai")] == ["system:cong-tt"]
        assert "system:cong-tt" not in {x.ref for x in s.search("cong thong", limit=100)}
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT count(*) FROM entity_fts").fetchone() == (s.count_entities(),)
    finally:
        s.close()


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\u0301"])
def test_nothing_to_search_for_finds_nothing(store: CatalogStore, ctx: WriteContext, text: str) -> None:
    _fill(store, ctx)
    assert store.search(text) == []


def test_a_search_inside_a_write_transaction_sees_its_writes(store: CatalogStore, ctx: WriteContext) -> None:
    _fill(store, ctx)
    assert store.search("cong thong", limit=1)  # the index is in use (and, on Neo4j, known to be ready)
    with store.transaction(ctx):
        store.create_entity(entity("system:moi", "Hệ thống tiếp nhận phản ánh"), ctx)
        assert [e.ref for e in store.search("tiep nhan phan")] == ["system:moi"]
    assert [e.ref for e in store.search("tiep nhan phan")] == ["system:moi"]


@pytest.mark.parametrize(
    "text",
    [
        'cổng"',
        "name: cong",
        "AND OR NOT",
        "cong*",
        "cong~2",
        "(cong",
        "+cong -thong",
        "中文",
        "ǃx",
        "cong_thong",
        "x" * 200,
    ],
)
def test_query_syntax_in_the_text_is_only_text(store: CatalogStore, ctx: WriteContext, text: str) -> None:
    _fill(store, ctx)
    store.create_entity(entity("system:zh", "系统 中文 cổng"), ctx)
    found = {e.ref for e in store.search(text, limit=100)}
    # the words of the text, nothing else: the same as the folded words typed plainly
    assert found == {e.ref for e in store.search(" ".join(fold(text).split()), limit=100)}
    if text == "name: cong":
        assert found == set()  # "name" is a word to find (none has it), not a column
    if text in ("cong*", "(cong", 'cổng"'):
        assert len(found) == 44
    if text == "中文":
        assert found == {"system:zh"}


def test_neo4j_database_without_the_search_index_gets_it_on_open(ctx: WriteContext, tmp_path: Path) -> None:
    from catalog.store import open_store
    from catalog.store.neo4j.schema import SEARCH_INDEX
    from tests.conftest import make_store, neo4j_url

    store = make_store("neo4j", tmp_path)
    try:
        _fill(store, ctx)
        before = {e.ref for e in store.search("cong thong", limit=100)}
        store._driver.execute_query(f"DROP INDEX {SEARCH_INDEX}")  # type: ignore[attr-defined]
    finally:
        store.close()
    reopened = open_store(neo4j_url())  # as a database written before the index existed
    try:
        names = {r["name"] for r in reopened._run("SHOW INDEXES YIELD name RETURN name")}  # type: ignore[attr-defined]
        assert SEARCH_INDEX in names
        # while the index is being built and after: the same entities
        assert {e.ref for e in reopened.search("cong thong", limit=100)} == before
        reopened._driver.execute_query(f"CALL db.awaitIndex('{SEARCH_INDEX}', 60)")  # type: ignore[attr-defined]
        assert {e.ref for e in reopened.search("cong thong", limit=100)} == before
        assert reopened._search_index_online()  # type: ignore[attr-defined]
    finally:
        reopened.close()
