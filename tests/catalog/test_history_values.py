"""History with values: every change-log entry read as fields with their value before and after, the proposer of an
approved draft recorded (and hashed) on the entity's entries, old entries (without a proposer) still verifying, the
log filtered by actor, organisation, kind, operation and period, and its CSV export. Both backends (``store``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path

import pytest

from catalog.changelog import canonical_json, entry_hash, verify_chain
from catalog.drafts import Drafts
from catalog.history.changes import ChangeFilter, describe, header, rows, select, word_diff
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.sheets import write_csv
from catalog.store import open_store
from catalog.store.base import CatalogStore

EDITOR = Principal("editor-a", "editor", "organization:org-a")
ARCHITECT = Principal("arch", "architect")
LONG_VI = (
    "Hệ thống tiếp nhận phản ánh của người dân qua tổng đài 1022, ứng dụng di động và cổng thông tin, "
    "chuyển đến các sở ngành xử lý và theo dõi kết quả."
)


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store, ARCHITECT)
    for code in ("org-a", "org-b"):
        svc.register(
            {
                "kind": "organization",
                "code": code,
                "name": {"vi": f"Sở {code}"},
                "attributes": {"org_type": "department"},
            }
        )
    svc.register(
        {
            "kind": "system",
            "code": "sys-a",
            "name": {"vi": "Hệ thống A", "en": "System A"},
            "description": {"vi": LONG_VI},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "production", "vendor": "FPT"},
        }
    )
    return store


def _fields(store: CatalogStore, ref: str, lang: str = "en") -> list[list[tuple[str, str, str]]]:
    described = describe(store, store.changelog(ref=ref), lang)
    return [[(f.label, f.before, f.after) for f in r.fields] for r in described]


def test_create_update_delete_show_values_before_and_after(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog, ARCHITECT)
    changed = LONG_VI.replace("tổng đài 1022", "tổng đài 1022 và Zalo")
    svc.patch(
        "system:sys-a",
        {"attributes": {"lifecycle": "retiring", "vendor": "VNPT"}, "description": {"vi": changed}},
        1,
    )
    svc.delete("system:sys-a", 2)
    create, update, delete = _fields(catalog, "system:sys-a")
    assert ("Name (English)", "", "System A") in create and ("Owner", "", "Sở org-a (… → …)") in create
    assert ("Lifecycle", "", "In production") in create
    assert ("Kind", "", "Information system") in create  # the kind by its label, never its code
    # an update shows only what changed, enumerated values by their labels
    assert ("Lifecycle", "In production", "Retiring") in update
    assert ("Vendor", "FPT", "VNPT") in update
    assert not any(label == "Name (English)" for label, _, _ in update)
    # a delete shows what was there
    assert ("Vendor", "VNPT", "") in delete
    # long text is diffed word by word: only the inserted words are marked
    row = describe(catalog, catalog.changelog(ref="system:sys-a"), "vi")[1]
    desc = next(f for f in row.fields if f.key == "description.vi")
    assert [t for op, t in desc.diff if op == "ins"] == [" và Zalo"] and not [op for op, _ in desc.diff if op == "del"]
    assert row.op_label == "Cập nhật" and desc.label == "Mô tả (tiếng Việt)"


def test_word_diff_marks_replaced_words() -> None:
    assert word_diff("một hai ba", "một bốn ba") == (("same", "một "), ("del", "hai"), ("ins", "bốn"), ("same", " ba"))


def test_an_approved_draft_records_its_proposer_and_the_chain_verifies(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "Viettel"}}, 1, note="mới")
    Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    last = catalog.changelog(ref="system:sys-a")[-1]
    assert (last.actor, last.proposer) == ("arch", "editor-a")
    # the draft's own record entries have no proposer (the approver decided them)
    assert all(x.proposer is None for x in catalog.changelog(ref=f"record:draft/{d.id}"))
    # the proposer is part of what the entry's hash covers
    body = last.model_dump(mode="json", exclude={"hash"})
    assert entry_hash(**body) == last.hash
    assert canonical_json(body) != canonical_json({**body, "proposer": None})
    assert (
        entry_hash(**{**body, "proposer": "someone-else"}) != last.hash
        and entry_hash(**{**body, "proposer": None}) != last.hash
    )
    assert catalog.verify_log().ok
    row = describe(catalog, [last], "en")[0]
    assert [c.kind for c in row.causes] == ["draft"] and "editor-a" in row.causes[0].text
    # the actor filter finds the change under its proposer too
    assert last in select(catalog, ChangeFilter(actor="editor-a")).entries


def test_entries_without_a_proposer_hash_as_before(catalog: CatalogStore) -> None:
    """An entry without a proposer hashes exactly as entries did before the field existed: the canonical JSON of
    its ten fields."""
    import hashlib

    first = catalog.changelog(limit=1)[0]
    old = {k: v for k, v in first.model_dump(mode="json").items() if k not in ("hash", "proposer")}
    assert hashlib.sha256(canonical_json(old).encode()).hexdigest() == first.hash
    rows10 = [
        (c.seq, c.time, c.actor, c.request_id, c.op, c.ref, c.before, c.after, c.prev_hash, c.hash)
        for c in catalog.changelog()
    ]
    assert verify_chain(rows10).ok


def test_an_old_sqlite_file_gains_the_column_and_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    s = open_store(f"sqlite:///{path}")
    svc = CatalogService(s, ARCHITECT)
    svc.register(
        {"kind": "organization", "code": "org-a", "name": {"vi": "A"}, "attributes": {"org_type": "department"}}
    )
    s.close()
    with sqlite3.connect(path) as conn:  # the log table as files written before the proposer existed hold it
        conn.executescript(
            "CREATE TABLE old_log AS SELECT seq, time, actor, request_id, op, ref, before, after, prev_hash, hash "
            "FROM changelog; DROP TABLE changelog; ALTER TABLE old_log RENAME TO changelog;"
        )
    s = open_store(f"sqlite:///{path}")
    try:
        assert s.verify_log().ok
        svc = CatalogService(s, ARCHITECT)
        svc.register(
            {
                "kind": "system",
                "code": "s",
                "name": {"vi": "S"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "production"},
            }
        )
        d = Drafts(s, Principal("ed", "editor", "organization:org-a")).submit("system:s", {"tags": ["x"]}, 1)
        Drafts(s, ARCHITECT).approve(d.id, d.version)
        assert s.changelog(ref="system:s")[-1].proposer == "ed"
        assert s.verify_log().ok
    finally:
        s.close()
    with sqlite3.connect(path) as conn:  # the proposer is hashed: changing it breaks the chain
        conn.execute("UPDATE changelog SET proposer = 'mallory' WHERE proposer = 'ed'")
    s = open_store(f"sqlite:///{path}")
    try:
        result = s.verify_log()
        assert not result.ok and "edited" in result.reason
    finally:
        s.close()


def test_filters_by_actor_org_kind_operation_and_period(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog, Principal("someone", "architect"))
    svc.register(
        {
            "kind": "system",
            "code": "sys-b",
            "name": {"vi": "Hệ thống B"},
            "owner": "organization:org-b",
            "attributes": {"lifecycle": "production"},
        }
    )
    svc.patch("system:sys-b", {"tags": ["mới"]}, 1)

    def refs(**kw: object) -> list[tuple[str, str]]:
        return [(c.ref, c.op) for c in select(catalog, ChangeFilter(**kw)).entries]

    assert refs(actor="someone") == [("system:sys-b", "update"), ("system:sys-b", "create")]
    assert refs(org="organization:org-b") == [
        ("system:sys-b", "update"),
        ("system:sys-b", "create"),
        ("organization:org-b", "create"),
    ]
    assert refs(kind="organization") == [("organization:org-b", "create"), ("organization:org-a", "create")]
    assert refs(op="update") == [("system:sys-b", "update")]
    today = catalog.clock().date()
    assert len(refs(since=today, until=today)) == 5
    assert refs(until=today - dt.timedelta(days=1)) == []
    # pages: newest first, ``next_before`` goes on
    first = select(catalog, ChangeFilter(), limit=2)
    second = select(catalog, ChangeFilter(), limit=2, before=first.next_before)
    assert [c.seq for c in first.entries] == [5, 4] and [c.seq for c in second.entries] == [3, 2]


def test_csv_export_has_a_row_per_changed_field(catalog: CatalogStore) -> None:
    CatalogService(catalog, ARCHITECT).patch("system:sys-a", {"attributes": {"vendor": "=HYPERLINK(1)"}}, 1)
    described = describe(catalog, select(catalog, ChangeFilter(ref="system:sys-a")).entries, "vi")
    data = write_csv(header("vi"), rows(described))
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig") if isinstance(data, bytes) else data)))
    assert table[0][:3] == ["#", "Thời điểm (UTC)", "Người thực hiện"]
    vendor = [r for r in table if r[7] == "Đơn vị phát triển"]
    assert vendor[0][8:10] == ["FPT", "'=HYPERLINK(1)"]


def test_an_organisation_event_is_the_cause_of_the_ownership_it_moved(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog, ARCHITECT)
    svc.apply_event(
        {
            "id": "chuyen-giao-sys-a",
            "type": "transfer",
            "date": "2025-07-01",
            "legal_basis": "Quyết định 1234/QĐ-UBND",
            "transfers": [{"entity": "system:sys-a", "to": "organization:org-b"}],
        }
    )
    moved = catalog.changelog(ref="system:sys-a")[-1]
    row = describe(catalog, [moved], "vi")[0]
    assert [c.kind for c in row.causes] == ["event"]
    assert "Chuyển giao chủ quản" in row.causes[0].text and "Quyết định 1234/QĐ-UBND" in row.causes[0].text
    owner = next(f for f in row.fields if f.key == "owner_history")
    assert (
        "Sở org-b (1 thg 7, 2025 → …)" in owner.after
    )  # a date as Vietnamese readers write it and "Sở org-a" in owner.before
    event = catalog.changelog(ref="event:chuyen-giao-sys-a")[-1]
    fields = {f.label: f.after for f in describe(catalog, [event], "vi")[0].fields}
    assert fields["Loại sự kiện"] == "Chuyển giao chủ quản" and fields["Căn cứ pháp lý"] == "Quyết định 1234/QĐ-UBND"
    assert fields["Chuyển giao chủ quản"] == "Hệ thống A → Sở org-b"
    # the organisation filter finds the move under both organisations, and the event
    for org in ("organization:org-a", "organization:org-b"):
        assert moved in select(catalog, ChangeFilter(org=org)).entries
    assert event in select(catalog, ChangeFilter(org="organization:org-b", kind="event")).entries


def test_a_backup_restores_the_proposer_and_the_restored_log_verifies(catalog: CatalogStore, tmp_path: Path) -> None:
    """Backup (SQLite file) and restore into an empty store of the same backend: the proposer travels, is hashed."""
    from conftest import make_store

    from catalog.backup import backup, restore

    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "Viettel"}}, 1)
    Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    backup(catalog, tmp_path / "backup.db")
    backend = "neo4j" if "neo4j" in type(catalog).__name__.lower() else "sqlite"
    # the Neo4j tests share one database: the restore target is that database again, emptied by make_store
    (tmp_path / "target").mkdir()
    target = make_store(backend, tmp_path / "target")
    try:
        restore(tmp_path / "backup.db", target)
        last = target.changelog(ref="system:sys-a")[-1]
        assert (last.actor, last.proposer) == ("arch", "editor-a")
        assert target.verify_log().ok
    finally:
        target.close()


def test_the_store_filters_the_log_by_operation_kind_and_seq(catalog: CatalogStore) -> None:
    CatalogService(catalog, ARCHITECT).patch("system:sys-a", {"tags": ["x"]}, 1)
    every = catalog.changelog()
    assert [c.ref for c in catalog.changelog(kind="organization")] == [
        c.ref for c in every if c.ref.startswith("organization:")
    ]
    assert [(c.ref, c.op) for c in catalog.changelog(op="update")] == [("system:sys-a", "update")]
    assert catalog.changelog(kind="system", op="create")[0].ref == "system:sys-a"
    assert [c.seq for c in catalog.changelog(after_seq=1, before_seq=3)] == [2]
    assert catalog.changelog(kind="rel") == [] and catalog.changelog(kind="organization", op="delete") == []
