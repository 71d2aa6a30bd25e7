"""A draft that holds a whole change set (an entity with its connections): submitted by catalog.changeset.submit when
the approval policy asks for review, nothing written until an architect approves it as one."""

from __future__ import annotations

import pytest

from catalog.accounts import USER, Accounts
from catalog.changeset import Change, submit
from catalog.digest import content_hash
from catalog.drafts import Drafts
from catalog.errors import Conflict, PermissionDenied, ValidationFailed
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore, WriteContext

EDITOR = Principal("editor-a", "editor", "organization:org-a")
ARCHITECT = Principal("arch", "architect")


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store)
    for code in ("org-a", "org-b"):
        svc.register(
            {"kind": "organization", "code": code, "name": {"vi": code}, "attributes": {"org_type": "department"}}
        )
    svc.register(  # a unit of org-a
        {
            "kind": "organization",
            "code": "org-a1",
            "name": {"vi": "Phòng A1"},
            "attributes": {"org_type": "department", "parent": "organization:org-a"},
        }
    )
    for code, attrs in (
        ("ioc", {"platform_type": "operations_centre", "platform_subtype": "city_ioc"}),
        ("lgsp", {"platform_type": "integration", "platform_subtype": "lgsp", "scope": "provincial"}),
    ):
        svc.register(
            {
                "kind": "platform",
                "code": code,
                "name": {"vi": code.upper()},
                "owner": "organization:org-b",
                "attributes": {"lifecycle": "production", **attrs},
            }
        )
    svc.register(
        {
            "kind": "system",
            "code": "sys-a",
            "name": {"vi": "Hệ thống A"},
            "owner": "organization:org-a",
            "attributes": {"lifecycle": "production"},
        }
    )
    return store


def new_system_with_flow() -> list[Change]:
    return [
        Change(
            "create",
            "system:sys-new",
            {
                "kind": "system",
                "code": "sys-new",
                "name": {"vi": "Hệ thống mới"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "building"},
            },
        ),
        Change(
            "link",
            "system:sys-new>feeds>platform:ioc",
            {
                "source": "system:sys-new",
                "type": "feeds",
                "target": "platform:ioc",
                "properties": {"via": "platform:lgsp", "frequency": "daily", "data": "Phản ánh hiện trường"},
            },
        ),
    ]


def test_editor_new_system_becomes_one_draft_and_nothing_is_written(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    out = submit(catalog, EDITOR, new_system_with_flow(), note="đăng ký mới")
    assert out.applied is None and out.draft is not None and out.needs_review
    reasons = [r.text("vi") for r in out.reasons]
    assert any(r.startswith("thêm mới") and "Hệ thống mới" in r for r in reasons)
    assert any("Trung tâm điều hành" in r and "IOC" in r for r in reasons)
    assert content_hash(catalog) == before
    assert catalog.find_entity("system:sys-new") is None
    d = out.draft
    assert (d.op, d.status, d.ref, d.note, len(d.change_set)) == (
        "changeset",
        "pending",
        "system:sys-new",
        "đăng ký mới",
        2,
    )
    assert d.reasons and all(set(r) == {"vi", "en"} for r in d.reasons)
    # "my drafts"
    assert [x.id for x in Drafts(catalog, EDITOR).list(status=None, submitted_by="editor-a")] == [d.id]
    assert Drafts(catalog, ARCHITECT).count_pending() == 1


def test_approve_applies_everything_as_one_with_the_proposer(catalog: CatalogStore) -> None:
    d = submit(catalog, EDITOR, new_system_with_flow()).draft
    approved = Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert (approved.status, approved.decided_by) == ("approved", "arch")
    assert catalog.get_entity("system:sys-new").owner == "organization:org-a"
    r = catalog.find_relationship("system:sys-new>feeds>platform:ioc")
    assert r is not None and r.properties["via"] == "platform:lgsp"
    entries = catalog.changelog(ref="system:sys-new")
    assert [(e.actor, e.proposer) for e in entries] == [("arch", "editor-a")]
    assert approved.applied_request_id and entries[0].request_id == approved.applied_request_id
    assert Drafts(catalog, ARCHITECT).count_pending() == 0


def test_other_edits_and_architects_apply_at_once(catalog: CatalogStore) -> None:
    out = submit(catalog, EDITOR, [Change("patch", "system:sys-a", {"attributes": {"vendor": "VNPT"}}, 1)])
    assert out.draft is None and out.reasons == [] and out.applied[0].attributes["vendor"] == "VNPT"
    out = submit(catalog, ARCHITECT, new_system_with_flow())
    assert out.draft is None and catalog.find_entity("system:sys-new") is not None


def test_ownership_deletion_retirement_need_review(catalog: CatalogStore) -> None:
    for op, data, review in (
        ("patch", {"owner": "organization:org-a", "description": {"vi": "x"}}, False),  # the same owner: no change
        ("patch", {"owner": "organization:org-a1"}, True),
        ("retire", {}, True),
        ("delete", {"cascade": False}, True),
    ):
        version = catalog.get_entity("system:sys-a").version
        out = submit(catalog, EDITOR, [Change(op, "system:sys-a", data, version)])
        assert (out.draft is not None) == review, (op, data)


def test_submit_checks_as_a_direct_change_and_names_the_change(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    bad = new_system_with_flow()
    bad[0] = Change("create", "system:sys-new", {**bad[0].data, "attributes": {"lifecycle": "nope"}})
    with pytest.raises(ValidationFailed) as exc:
        submit(catalog, EDITOR, bad)
    assert [e.location for e in exc.value.errors] == ["changes.0.attributes.lifecycle"]
    other = new_system_with_flow()
    other[0] = Change("create", "system:sys-new", {**other[0].data, "owner": "organization:org-b"})
    with pytest.raises(PermissionDenied):  # another department's system
        submit(catalog, EDITOR, other)
    assert content_hash(catalog) == before


def test_reject_needs_a_reason_and_changes_nothing(catalog: CatalogStore) -> None:
    d = submit(catalog, EDITOR, new_system_with_flow()).draft
    before = content_hash(catalog)
    with pytest.raises(ValidationFailed):
        Drafts(catalog, ARCHITECT).reject(d.id, d.version, "")
    r = Drafts(catalog, ARCHITECT).reject(d.id, d.version, "thiếu căn cứ pháp lý")
    assert (r.status, r.reason) == ("rejected", "thiếu căn cứ pháp lý")
    assert catalog.find_entity("system:sys-new") is None
    mine = Drafts(catalog, EDITOR).list(status=None, submitted_by="editor-a")
    assert [(x.status, x.reason) for x in mine] == [("rejected", "thiếu căn cứ pháp lý")]
    assert content_hash(catalog) == before


def test_conflict_names_the_entity(catalog: CatalogStore) -> None:
    changes = [
        Change(
            "link",
            "system:sys-a>feeds>platform:ioc",
            {"source": "system:sys-a", "type": "feeds", "target": "platform:ioc"},
        ),
        Change("patch", "system:sys-a", {"attributes": {"users": 40}}, 1),
    ]
    d = submit(catalog, EDITOR, changes).draft
    CatalogService(catalog, ARCHITECT).patch("system:sys-a", {"attributes": {"vendor": "FPT"}}, 1)
    before = content_hash(catalog)
    with pytest.raises(Conflict) as exc:
        Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert "system:sys-a" in str(exc.value)
    assert content_hash(catalog) == before
    assert Drafts(catalog, ARCHITECT).get(d.id).status == "pending"


def test_submitter_who_lost_scope_is_refused(catalog: CatalogStore) -> None:
    Accounts(catalog).add_user("editor-a", "editor", org="organization:org-a")
    d = submit(catalog, EDITOR, new_system_with_flow()).draft
    rec = catalog.get_record(USER, "editor-a")  # the editor moved to another department since
    catalog.put_record(USER, "editor-a", {**rec.data, "org": "organization:org-b"}, WriteContext("admin"))
    before = content_hash(catalog)
    with pytest.raises(PermissionDenied):
        Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert content_hash(catalog) == before and catalog.find_entity("system:sys-new") is None


def test_single_entity_drafts_still_work(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "VNPT"}}, 1)
    assert d.change_set is None and d.op == "patch"
    a = Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert a.applied_version == 2 and catalog.get_entity("system:sys-a").attributes["vendor"] == "VNPT"


def test_attachments_are_bounded(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit_changes(new_system_with_flow(), attachments={"report": {"rows": 3}})
    assert d.attachments == {"report": {"rows": 3}}
    with pytest.raises(ValidationFailed) as exc:
        Drafts(catalog, EDITOR).submit_changes(new_system_with_flow(), attachments={"x": "a" * 300_000})
    assert exc.value.errors[0].location == "attachments"
