"""Revert (catalog.revert) on both backends: an update, a delete with its cascade, an import run and an approved
draft are undone by a new logged change that brings the content hash back; a revert that a later change blocks says
which entry (seq, actor) and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog import revert as rv
from catalog.digest import content_hash
from catalog.drafts import Drafts
from catalog.errors import NotFound, PermissionDenied, ValidationFailed
from catalog.history.changes import describe
from catalog.permissions import SYSTEM, Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

ARCHITECT = Principal("arch", "architect")
ALICE = Principal("alice", "architect")
BOB = Principal("bob", "architect")
EDITOR = Principal("editor-a", "editor", "organization:org-a")


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store)
    svc.register(
        {"kind": "organization", "code": "org-a", "name": {"vi": "Sở A"}, "attributes": {"org_type": "department"}}
    )
    svc.register(
        {
            "kind": "system",
            "code": "sys-a",
            "name": {"vi": "Hệ thống A", "en": "System A"},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "production", "vendor": "VNPT"},
        }
    )
    svc.register(
        {
            "kind": "database",
            "code": "db-a",
            "name": {"vi": "CSDL A", "en": "Database A"},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "production", "scope": "shared"},
        }
    )
    svc.link({"type": "writes", "source": "system:sys-a", "target": "database:db-a"})
    return store


def head(store: CatalogStore) -> int:
    return store.revision()[0]


def last_seq(store: CatalogStore, ref: str) -> int:
    return store.changelog(ref=ref)[-1].seq


def test_revert_an_update(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    CatalogService(catalog, ALICE).patch("system:sys-a", {"attributes": {"vendor": "FPT"}, "name": {"vi": "Mới"}}, 1)
    assert content_hash(catalog) != before
    seq = last_seq(catalog, "system:sys-a")
    done = rv.revert(catalog, ARCHITECT, rv.target(seq=seq), reason="nhầm nhà cung cấp")
    assert content_hash(catalog) == before
    e = catalog.get_entity("system:sys-a")
    assert (e.name.vi, e.attributes["vendor"], e.version) == ("Hệ thống A", "VNPT", 3)  # versions move on
    written = catalog.changelog(after_seq=seq)
    assert [(c.op, c.ref, c.actor, c.request_id) for c in written] == [
        ("update", "system:sys-a", "arch", done.request_id),
        ("create", f"record:revert/{done.request_id}", "arch", done.request_id),
    ]
    assert done.written == [c.seq for c in written]
    record = rv.get(catalog, done.request_id)
    assert record is not None
    assert (record["target"], record["entries"], record["reason"], record["actor"]) == (
        {"seq": seq},
        [seq],
        "nhầm nhà cung cấp",
        "arch",
    )
    assert catalog.verify_log().ok
    # the change log names the revert as the cause of its entry
    row = describe(catalog, [written[0]], "en")[0]
    assert [x.kind for x in row.causes] == ["revert"]
    assert f"#{seq}" in row.causes[0].text and "nhầm nhà cung cấp" in row.causes[0].text


def test_revert_a_delete_brings_back_its_cascade(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    rels = catalog.list_relationships("system:sys-a")
    assert len(rels) == 1
    CatalogService(catalog, ALICE).delete("system:sys-a", 1, cascade=True)
    assert catalog.find_entity("system:sys-a") is None and catalog.list_relationships("database:db-a") == []
    seq = last_seq(catalog, "system:sys-a")
    p = rv.plan(catalog, ARCHITECT, rv.target(seq=seq))
    assert [(u.op, u.ref) for u in p.undo] == [
        ("create", "system:sys-a"),
        ("create", "rel:system:sys-a>writes>database:db-a"),
    ]
    assert len(p.entries) == 2  # the entity's delete and the relationship the same request deleted with it
    rv.revert(catalog, ARCHITECT, rv.target(seq=str(seq)))
    assert content_hash(catalog) == before
    assert [r.id for r in catalog.list_relationships("database:db-a")] == [rels[0].id]


def test_revert_an_import_run(catalog: CatalogStore, tmp_path: Path) -> None:
    from importers.base import run_import

    before = content_hash(catalog)
    path = tmp_path / "kiem-ke.json"
    doc = {
        "format": "ioc-catalog",
        "format_version": 1,
        "entities": [
            {
                "ref": "system:sys-new",
                "name": {"vi": "Hệ thống mới"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "building"},
            },
            {
                "ref": "system:sys-a",
                "name": {"vi": "Hệ thống A (nhập)", "en": "System A"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "production", "vendor": "Viettel"},
            },
        ],
        "relationships": [{"type": "reads", "source": "system:sys-new", "target": "database:db-a"}],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = run_import(catalog, path, principal=SYSTEM)
    assert report.loaded
    assert catalog.get_entity("system:sys-a").provenance is not None  # the import's own provenance
    imported = content_hash(catalog)
    assert imported != before
    p = rv.plan(catalog, ARCHITECT, rv.target(run=report.run))
    assert {(u.op, u.ref) for u in p.undo} == {
        ("delete", "rel:system:sys-new>reads>database:db-a"),
        ("delete", "system:sys-new"),
        ("update", "system:sys-a"),
    }
    assert p.undo[0].ref.startswith("rel:")  # the relationship goes before its end
    rv.revert(catalog, ARCHITECT, rv.target(run=report.run))
    assert content_hash(catalog) == before
    assert catalog.get_entity("system:sys-a").provenance is None  # exactly as it was: no import provenance


def test_revert_an_approved_draft(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "CMC"}}, base_version=1)
    approved = Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert approved.status == "approved"
    assert catalog.get_entity("system:sys-a").attributes["vendor"] == "CMC"
    p = rv.plan(catalog, ARCHITECT, rv.target(draft=d.id))
    assert [(u.op, u.ref) for u in p.undo] == [("update", "system:sys-a")]
    assert [c.ref for c in p.skipped] == [f"record:draft/{d.id}"]  # the draft itself stays approved
    rv.revert(catalog, ARCHITECT, rv.target(draft=d.id))
    assert content_hash(catalog) == before
    assert Drafts(catalog, ARCHITECT).get(d.id).status == "approved"


def test_a_later_change_blocks_the_revert_and_nothing_is_written(catalog: CatalogStore) -> None:
    CatalogService(catalog, ALICE).patch("system:sys-a", {"attributes": {"vendor": "FPT"}}, 1)
    first = last_seq(catalog, "system:sys-a")
    CatalogService(catalog, BOB).patch("system:sys-a", {"description": {"vi": "Mô tả"}}, 2)
    later = last_seq(catalog, "system:sys-a")
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=first))
    said = exc.value.text("en")
    assert f"#{later}" in said and "bob" in said and "System A" in said
    assert "Description" in said  # what the later change changed, by its label
    assert f"#{later}" in exc.value.text("vi") and "Hệ thống A" in exc.value.text("vi")
    assert exc.value.status == 409
    assert exc.value.blocking == [
        {"seq": later, "time": catalog.changelog(ref="system:sys-a")[-1].time, "actor": "bob", "ref": "system:sys-a"}
    ]
    assert catalog.revision() == top  # nothing written
    # revert the later one first, then the first one goes
    rv.revert(catalog, ARCHITECT, rv.target(seq=later))
    rv.revert(catalog, ARCHITECT, rv.target(seq=first))
    assert catalog.get_entity("system:sys-a").attributes["vendor"] == "VNPT"


def test_reverted_twice_is_refused_naming_the_revert(catalog: CatalogStore) -> None:
    CatalogService(catalog, ALICE).patch("system:sys-a", {"attributes": {"vendor": "FPT"}}, 1)
    seq = last_seq(catalog, "system:sys-a")
    done = rv.revert(catalog, ARCHITECT, rv.target(seq=seq))
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=seq))
    assert f"#{done.written[0]}" in exc.value.text("en") and "arch" in exc.value.text("en")
    assert catalog.revision() == top


def test_undoing_a_create_is_blocked_by_a_later_relationship(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog, ALICE)
    svc.register(
        {
            "kind": "system",
            "code": "sys-b",
            "name": {"vi": "Hệ thống B"},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "production"},
        }
    )
    created = last_seq(catalog, "system:sys-b")
    CatalogService(catalog, BOB).link({"type": "reads", "source": "system:sys-b", "target": "database:db-a"})
    linked = last_seq(catalog, "rel:system:sys-b>reads>database:db-a")
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=created))
    said = exc.value.text("en")
    assert f"#{linked}" in said and "bob" in said and "Hệ thống B" in said and "reads" in said.lower()
    assert catalog.revision() == top


def test_a_restored_relationship_needs_its_ends(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog, ALICE)
    svc.unlink("system:sys-a>writes>database:db-a", 1)
    unlinked = last_seq(catalog, "rel:system:sys-a>writes>database:db-a")
    CatalogService(catalog, BOB).delete("database:db-a", 1)
    gone = last_seq(catalog, "database:db-a")
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=unlinked))
    said = exc.value.text("en")
    assert f"#{gone}" in said and "bob" in said and "database:db-a" in said
    assert catalog.revision() == top


def test_who_may_revert_and_what(catalog: CatalogStore) -> None:
    CatalogService(catalog, ALICE).patch("system:sys-a", {"attributes": {"vendor": "FPT"}}, 1)
    seq = last_seq(catalog, "system:sys-a")
    for who in (EDITOR, Principal("aud", "auditor")):
        with pytest.raises(PermissionDenied):
            rv.revert(catalog, who, rv.target(seq=seq))
    with pytest.raises(NotFound):
        rv.plan(catalog, ARCHITECT, rv.target(seq=99_999))
    with pytest.raises(NotFound):
        rv.plan(catalog, ARCHITECT, rv.target(run="no-such-run"))
    with pytest.raises(NotFound):
        rv.plan(catalog, ARCHITECT, rv.target(draft="abc123"))
    for bad in ({}, {"seq": 1, "run": "x"}, {"seq": "x"}, {"seq": 0}, {"run": "a b"}):
        with pytest.raises(ValidationFailed):
            rv.target(**bad)
    with pytest.raises(ValidationFailed):
        rv.revert(catalog, ARCHITECT, rv.target(seq=seq), reason="x" * 2001)


def test_records_and_events_are_not_reverted(catalog: CatalogStore) -> None:
    import datetime as dt

    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "CMC"}}, base_version=1)
    submitted = last_seq(catalog, f"record:draft/{d.id}")
    with pytest.raises(rv.RevertRefused) as exc:
        rv.plan(catalog, ARCHITECT, rv.target(seq=submitted))
    assert d.id in exc.value.text("en")
    CatalogService(catalog).apply_event(
        {
            "id": "ev-rename",
            "type": "rename",
            "date": dt.date(2025, 7, 1).isoformat(),
            "from": ["organization:org-a"],
            "new_name": {"vi": "Sở A mới"},
        }
    )
    event = last_seq(catalog, "event:ev-rename")
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=event))
    assert f"#{event}" in exc.value.text("en")
    assert catalog.revision() == top


def test_a_deleted_entity_whose_code_is_taken_again_is_not_restored(catalog: CatalogStore) -> None:
    CatalogService(catalog, ALICE).delete("database:db-a", 1, cascade=True)
    deleted = last_seq(catalog, "database:db-a")
    CatalogService(catalog, BOB).register(
        {
            "kind": "database",
            "code": "db-a",
            "name": {"vi": "CSDL A mới"},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "planned", "scope": "internal"},
        }
    )
    again = last_seq(catalog, "database:db-a")
    top = catalog.revision()
    with pytest.raises(rv.RevertRefused) as exc:
        rv.revert(catalog, ARCHITECT, rv.target(seq=deleted))
    said = exc.value.text("en")
    assert f"#{again}" in said and "bob" in said and "exists again" in said and "CSDL A mới" in said
    assert catalog.revision() == top


def test_revert_a_relationship_change(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    rid = "system:sys-a>writes>database:db-a"
    CatalogService(catalog, ALICE).update_link(
        {"type": "writes", "source": "system:sys-a", "target": "database:db-a", "properties": {"frequency": "daily"}},
        1,
    )
    seq = last_seq(catalog, f"rel:{rid}")
    p = rv.plan(catalog, ARCHITECT, rv.target(seq=seq))
    assert [(u.op, u.ref) for u in p.undo] == [("update", f"rel:{rid}")]
    rv.revert(catalog, ARCHITECT, rv.target(seq=seq))
    assert content_hash(catalog) == before
    assert catalog.find_relationship(rid).properties == {}
