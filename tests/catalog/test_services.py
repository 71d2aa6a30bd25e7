"""Catalog services: validation, referential integrity and permissions, whatever door a change comes in by."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import entity

from catalog.errors import IntegrityError, NotFound, PermissionDenied, ValidationFailed
from catalog.permissions import Principal, org_units
from catalog.services import CatalogService
from catalog.store.base import CatalogStore, WriteContext

TODAY = dt.date(2026, 1, 15)


@pytest.fixture
def city(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """A city with two departments (one with a unit), a dissolved district, and systems owned by each."""
    for e in [
        entity("organization:city", "UBND Thành phố", org_type="city"),
        entity("organization:skhcn", "Sở Khoa học và Công nghệ", parent="organization:city"),
        entity("organization:skhcn-ttcds", "Trung tâm Chuyển đổi số", org_type="unit", parent="organization:skhcn"),
        entity("organization:syt", "Sở Y tế", parent="organization:city"),
    ]:
        store.create_entity(e, ctx)
    q1 = entity("organization:quan-1", "Quận 1", org_type="district", status="dissolved")
    store.create_entity(q1.model_copy(update={"valid_to": dt.date(2025, 7, 1)}), ctx)
    store.create_entity(entity("system:ioc", "IOC", owner="organization:skhcn"), ctx)
    store.create_entity(entity("system:cds-app", "Công dân số", owner="organization:skhcn-ttcds"), ctx)
    store.create_entity(entity("system:his", "Hồ sơ sức khỏe", owner="organization:syt"), ctx)
    store.create_entity(entity("database:csdl-y-te", "CSDL y tế", owner="organization:syt"), ctx)
    return store


def svc(store: CatalogStore, role: str = "admin", org: str | None = None) -> CatalogService:
    return CatalogService(store, Principal(f"{role}-user", role, org), today=TODAY)


def test_register_validates_against_the_metamodel_and_names_every_bad_field(city: CatalogStore) -> None:
    with pytest.raises(ValidationFailed) as exc:
        svc(city).register(
            {
                "ref": "system:new",
                "name": {"vi": "Mới"},
                "owner": "organization:skhcn",
                "attributes": {"lifecycle": "alive", "security_level": 9, "colour": "red"},
            }
        )
    assert {(e.location, e.reason.split(";")[0]) for e in exc.value.errors} == {
        ("attributes.lifecycle", "must be one of: Planned, Building, In production, Retiring, Retired"),  # labels
        ("attributes.security_level", "must be at most 5"),
        ("attributes.colour", "not an attribute of Information system"),  # the kind by its label
    }
    assert city.find_entity("system:new") is None


def test_register_refuses_missing_and_dissolved_owners(city: CatalogStore) -> None:
    with pytest.raises(ValidationFailed) as exc:
        svc(city).register(
            {
                "ref": "system:a",
                "name": {"vi": "A"},
                "owner": "organization:nowhere",
                "attributes": {"lifecycle": "production"},
            }
        )
    assert [(e.location, e.reason) for e in exc.value.errors] == [("owner", "organization:nowhere does not exist")]
    with pytest.raises(ValidationFailed) as exc:
        svc(city).register(
            {
                "ref": "system:b",
                "name": {"vi": "B"},
                "owner": "organization:quan-1",
                "attributes": {"lifecycle": "production"},
            }
        )
    assert exc.value.errors[0].location == "owner" and "no longer exists" in exc.value.errors[0].reason


def test_link_refuses_missing_dissolved_and_retired_endpoints(city: CatalogStore) -> None:
    s = svc(city)
    with pytest.raises(IntegrityError, match="system:ghost does not exist"):
        s.link({"type": "reads", "source": "system:ghost", "target": "database:csdl-y-te"})
    with pytest.raises(IntegrityError, match="dissolved"):
        s.link({"type": "operated_by", "source": "system:ioc", "target": "organization:quan-1"})
    his = city.get_entity("system:his")
    s.retire("system:his", his.version)
    with pytest.raises(IntegrityError, match="retired"):
        s.link({"type": "reads", "source": "system:his", "target": "database:csdl-y-te"})
    with pytest.raises(ValidationFailed, match="must be one of Information system, Platform, or Data-sharing service"):
        s.link({"type": "reads", "source": "database:csdl-y-te", "target": "system:ioc"})
    assert city.list_relationships() == []


def test_reference_is_immutable_and_update_needs_current_version(city: CatalogStore) -> None:
    s = svc(city)
    e = city.get_entity("system:ioc")
    renamed = s.patch("system:ioc", {"name": {"vi": "Trung tâm IOC", "en": "IOC"}}, e.version)
    assert renamed.ref == "system:ioc" and renamed.name.vi == "Trung tâm IOC" and renamed.version == 2
    with pytest.raises(ValidationFailed, match="immutable"):
        s.update(
            "system:ioc",
            {"ref": "system:other", "name": {"vi": "x"}, "attributes": {"lifecycle": "production"}},
            renamed.version,
        )
    from catalog.errors import Conflict

    with pytest.raises(Conflict):
        s.patch("system:ioc", {"tags": ["stale"]}, e.version)
    assert city.get_entity("system:ioc").tags == []


def test_retire_sets_lifecycle_and_end_date(city: CatalogStore) -> None:
    e = city.get_entity("system:his")
    retired = svc(city).retire("system:his", e.version, on=dt.date(2026, 1, 1))
    assert (retired.attributes["lifecycle"], retired.valid_to) == ("retired", dt.date(2026, 1, 1))


def test_delete_refuses_entities_still_in_use_unless_cascade(city: CatalogStore) -> None:
    s = svc(city)
    s.link({"type": "reads", "source": "system:his", "target": "database:csdl-y-te"})
    db = city.get_entity("database:csdl-y-te")
    with pytest.raises(IntegrityError):
        s.delete("database:csdl-y-te", db.version)
    s.delete("database:csdl-y-te", db.version, cascade=True)
    assert city.find_entity("database:csdl-y-te") is None and city.list_relationships() == []
    with pytest.raises(IntegrityError, match="still owns"):
        s.delete("organization:syt", city.get_entity("organization:syt").version)


def test_org_units_follow_the_parent_chain(city: CatalogStore) -> None:
    assert org_units(city, "organization:skhcn") == {"organization:skhcn", "organization:skhcn-ttcds"}
    assert org_units(city, "organization:city") == {
        "organization:city",
        "organization:skhcn",
        "organization:skhcn-ttcds",
        "organization:syt",
    }


def test_department_editor_changes_only_their_organisation(city: CatalogStore) -> None:
    editor = svc(city, "editor", "organization:skhcn")
    # their own and their unit's systems
    ioc = editor.patch("system:ioc", {"tags": ["ioc"]}, 1)
    app = editor.patch("system:cds-app", {"tags": ["app"]}, 1)
    assert (ioc.tags, app.tags) == (["ioc"], ["app"])
    editor.register(
        {
            "ref": "system:new-one",
            "name": {"vi": "Mới"},
            "owner": "organization:skhcn-ttcds",
            "attributes": {"lifecycle": "planned"},
        }
    )
    editor.link({"type": "reads", "source": "system:ioc", "target": "database:csdl-y-te"})
    before = city.revision()
    his = city.get_entity("system:his")
    for attempt in (
        lambda: editor.patch("system:his", {"tags": ["x"]}, his.version),  # edit
        lambda: editor.retire("system:his", his.version),  # retire
        lambda: editor.delete("system:his", his.version),  # delete
        lambda: editor.link(
            {
                "type": "reads",
                "source": "system:his",  # relink
                "target": "database:csdl-y-te",
            }
        ),
        lambda: editor.patch("system:his", {"owner": "organization:skhcn"}, his.version),  # take over
        lambda: editor.patch("system:ioc", {"owner": "organization:syt"}, ioc.version),  # give away
        lambda: editor.register(
            {
                "ref": "system:theirs",
                "name": {"vi": "X"},
                "owner": "organization:syt",
                "attributes": {"lifecycle": "planned"},
            }
        ),
        lambda: editor.patch("organization:skhcn", {"tags": ["x"]}, 1),  # organisations
        lambda: editor.apply_event(
            {"id": "e1", "type": "dissolve", "date": "2026-01-01", "from": ["organization:syt"]}
        ),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert city.revision() == before
    assert city.get_entity("system:his") == his


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_read_only_roles_cannot_write(city: CatalogStore, role: str) -> None:
    s = svc(city, role)
    assert s.get("system:ioc").ref == "system:ioc"
    before = city.revision()
    with pytest.raises(PermissionDenied):
        s.patch("system:ioc", {"tags": ["x"]}, 1)
    with pytest.raises(PermissionDenied):
        s.register(
            {
                "ref": "system:x",
                "name": {"vi": "x"},
                "owner": "organization:syt",
                "attributes": {"lifecycle": "planned"},
            }
        )
    with pytest.raises(PermissionDenied):
        s.link({"type": "reads", "source": "system:his", "target": "database:csdl-y-te"})
    assert city.revision() == before


def test_every_service_change_is_audited_with_the_principal(city: CatalogStore) -> None:
    s = CatalogService(city, Principal("nguyen.van.a", "architect"), request_id="req-42", today=TODAY)
    s.patch("system:ioc", {"tags": ["audited"]}, 1)
    last = city.changelog(ref="system:ioc")[-1]
    assert (last.actor, last.request_id, last.op) == ("nguyen.van.a", "req-42", "update")
    assert last.before["tags"] == [] and last.after["tags"] == ["audited"]


def test_unknown_reference_is_not_found(city: CatalogStore) -> None:
    with pytest.raises(NotFound):
        svc(city).get("system:nope")
    with pytest.raises(NotFound):
        svc(city).patch("system:nope", {}, 1)


def test_a_persons_edit_of_an_imported_entity_protects_it_from_that_sources_cleanup(city: CatalogStore) -> None:
    from catalog.store.base import BulkLoad

    imported = entity("system:tu-file", "Hệ thống từ tệp", owner="organization:skhcn")
    city.bulk_load(BulkLoad(source="xlsx:kiem-ke.xlsx", run="r1", entities=[imported]), WriteContext(actor="import"))
    e = city.get_entity("system:tu-file")
    assert e.provenance is not None and e.provenance.source == "xlsx:kiem-ke.xlsx"
    edited = svc(city).patch(e.ref, {"tags": ["da-sua-tay"]}, e.version)
    assert edited.provenance is None and city.get_entity(e.ref).provenance is None
    # the file no longer lists it: its clean-up leaves the person's version alone
    result = city.bulk_load(BulkLoad(source="xlsx:kiem-ke.xlsx", run="r2", cleanup=True), WriteContext(actor="import"))
    assert result.removed == {} and city.get_entity(e.ref).tags == ["da-sua-tay"]


def test_save_with_links_is_one_transaction(city: CatalogStore) -> None:
    """Registering with connections (the web form's save, catalog.services.save_with_links): every step keeps its
    own checks, and a refused connection leaves nothing behind; an accepted set lands whole, removals included."""
    from catalog.model import parse_relationship

    s = svc(city, "editor", "organization:skhcn")
    head = city.revision()
    new = entity("system:cong-moi", "Cổng mới", owner="organization:skhcn")
    reads = parse_relationship({"type": "reads", "source": "system:cong-moi", "target": "database:csdl-y-te"})
    ghost = parse_relationship({"type": "writes", "source": "system:cong-moi", "target": "database:ghost"})
    with pytest.raises(IntegrityError, match="database:ghost does not exist"):
        s.save_with_links(new, [reads, ghost])
    assert city.find_entity("system:cong-moi") is None and city.list_relationships() == []
    assert city.revision() == head  # not one change-log entry
    saved = s.save_with_links(new, [reads])
    assert [r.id for r in city.list_relationships("system:cong-moi")] == [reads.id]
    renamed = saved.model_copy(update={"name": saved.name.model_copy(update={"vi": "Cổng mới (đổi tên)"})})
    s.save_with_links(renamed, [], unlink=[reads.id], current=city.get_entity("system:cong-moi"))
    assert city.get_entity("system:cong-moi").name.vi == "Cổng mới (đổi tên)"
    assert city.list_relationships("system:cong-moi") == []
