"""Draft and approve: an editor proposes, an architect approves (applied as the architect) or rejects; both recorded."""

from __future__ import annotations

import pytest

from catalog.digest import content_hash
from catalog.drafts import Drafts
from catalog.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

EDITOR = Principal("editor-a", "editor", "organization:org-a")
OTHER_EDITOR = Principal("editor-b", "editor", "organization:org-b")
ARCHITECT = Principal("arch", "architect")
AUDITOR = Principal("aud", "auditor")


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store)
    for code in ("org-a", "org-b"):
        svc.register(
            {"kind": "organization", "code": code, "name": {"vi": code}, "attributes": {"org_type": "department"}}
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


def test_submit_changes_nothing_and_approval_applies_as_the_architect(catalog: CatalogStore) -> None:
    before = content_hash(catalog)
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "VNPT"}}, 1, note="nhà cung cấp mới")
    assert (d.status, d.submitted_by, d.base_version, d.version) == ("pending", "editor-a", 1, 1)
    assert content_hash(catalog) == before
    assert [x.id for x in Drafts(catalog, ARCHITECT).list()] == [d.id]
    approved = Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert (approved.status, approved.decided_by, approved.applied_version) == ("approved", "arch", 2)
    e = catalog.get_entity("system:sys-a")
    assert e.attributes["vendor"] == "VNPT" and e.version == 2
    assert catalog.changelog(ref="system:sys-a")[-1].actor == "arch"
    log = catalog.changelog(ref=f"record:draft/{d.id}")
    assert [(x.op, x.actor, x.after["status"]) for x in log] == [
        ("create", "editor-a", "pending"),
        ("update", "arch", "approved"),
    ]
    assert Drafts(catalog, ARCHITECT).list() == [] and len(Drafts(catalog, ARCHITECT).list(status=None)) == 1


def test_reject_records_the_reason_and_changes_nothing(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {}, 1, op="retire")
    before = content_hash(catalog)
    with pytest.raises(ValidationFailed):
        Drafts(catalog, ARCHITECT).reject(d.id, d.version, "  ")
    r = Drafts(catalog, ARCHITECT).reject(d.id, d.version, "vẫn đang vận hành")
    assert (r.status, r.reason, r.decided_by) == ("rejected", "vẫn đang vận hành", "arch")
    assert content_hash(catalog) == before
    with pytest.raises(ValidationFailed):  # decided drafts stay decided
        Drafts(catalog, ARCHITECT).approve(d.id, r.version)


def test_retire_draft(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"on": "2026-03-01"}, 1, op="retire")
    Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    e = catalog.get_entity("system:sys-a")
    assert (e.attributes["lifecycle"], str(e.valid_to)) == ("retired", "2026-03-01")


def test_who_may_submit_and_decide(catalog: CatalogStore) -> None:
    before = (content_hash(catalog), catalog.revision())
    with pytest.raises(PermissionDenied):  # another department's system
        Drafts(catalog, OTHER_EDITOR).submit("system:sys-a", {"attributes": {"vendor": "x"}}, 1)
    with pytest.raises(PermissionDenied):  # giving it away through a draft
        Drafts(catalog, EDITOR).submit("system:sys-a", {"owner": "organization:org-b"}, 1)
    with pytest.raises(PermissionDenied):
        Drafts(catalog, AUDITOR).submit("system:sys-a", {"attributes": {"vendor": "x"}}, 1)
    assert (content_hash(catalog), catalog.revision()) == before
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "x"}}, 1)
    for who in (EDITOR, OTHER_EDITOR, AUDITOR):
        with pytest.raises(PermissionDenied):
            Drafts(catalog, who).approve(d.id, d.version)
        with pytest.raises(PermissionDenied):
            Drafts(catalog, who).reject(d.id, d.version, "no")


def test_invalid_drafts_are_refused_at_submission(catalog: CatalogStore) -> None:
    drafts = Drafts(catalog, EDITOR)
    with pytest.raises(ValidationFailed) as exc:
        drafts.submit("system:sys-a", {"attributes": {"lifecycle": "flying"}}, 1)
    assert exc.value.errors[0].location == "attributes.lifecycle"
    with pytest.raises(ValidationFailed):
        drafts.submit("system:sys-a", {}, 1)
    with pytest.raises(ValidationFailed):
        drafts.submit("system:sys-a", {"bogus": 1}, 1)
    with pytest.raises(Conflict):
        drafts.submit("system:sys-a", {"attributes": {"vendor": "x"}}, 7)
    with pytest.raises(NotFound):
        drafts.submit("system:khong-co", {"attributes": {"vendor": "x"}}, 1)
    with pytest.raises(NotFound):
        drafts.get("deadbeef0000")


def test_approval_of_a_stale_draft_fails_and_leaves_it_pending(catalog: CatalogStore) -> None:
    d = Drafts(catalog, EDITOR).submit("system:sys-a", {"attributes": {"vendor": "từ bản nháp"}}, 1)
    CatalogService(catalog, EDITOR).patch("system:sys-a", {"attributes": {"vendor": "sửa trực tiếp"}}, 1)
    before = (content_hash(catalog), catalog.revision())
    with pytest.raises(Conflict):
        Drafts(catalog, ARCHITECT).approve(d.id, d.version)
    assert (content_hash(catalog), catalog.revision()) == before  # nothing half-applied
    assert Drafts(catalog, ARCHITECT).get(d.id).status == "pending"
    assert catalog.get_entity("system:sys-a").attributes["vendor"] == "sửa trực tiếp"
    with pytest.raises(Conflict):  # and a stale draft version is refused too
        Drafts(catalog, ARCHITECT).reject(d.id, d.version + 1, "x")
