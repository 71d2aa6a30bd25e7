"""A change set is applied as one: every change through its service call, all or nothing, errors named by index."""

from __future__ import annotations

import pytest

from catalog.changeset import Change, parse_changes, touched
from catalog.digest import content_hash
from catalog.errors import PermissionDenied, ValidationFailed
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

EDITOR = Principal("editor-a", "editor", "organization:org-a")


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store)
    for code in ("org-a", "org-b"):
        svc.register(
            {"kind": "organization", "code": code, "name": {"vi": code}, "attributes": {"org_type": "department"}}
        )
    svc.register(
        {
            "kind": "platform",
            "code": "lgsp",
            "name": {"vi": "LGSP"},
            "owner": "organization:org-b",
            "attributes": {"lifecycle": "production", "platform_type": "integration"},
        }
    )
    return store


def _new_system() -> list[dict]:
    return [
        {
            "op": "create",
            "ref": "system:sys-new",
            "data": {
                "kind": "system",
                "code": "sys-new",
                "name": {"vi": "Hệ thống mới"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "planned"},
            },
        },
        {
            "op": "create",
            "data": {
                "kind": "database",
                "code": "db-new",
                "name": {"vi": "CSDL mới"},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "planned", "scope": "internal"},
            },
        },
        {"op": "link", "data": {"type": "writes", "source": "system:sys-new", "target": "database:db-new"}},
        {
            "op": "link",
            "data": {
                "type": "flows_to",
                "source": "system:sys-new",
                "target": "platform:lgsp",
                "properties": {"frequency": "daily", "data": "Hồ sơ"},
            },
        },
    ]


def test_a_new_system_with_its_connections_is_applied_in_one_go(catalog: CatalogStore) -> None:
    changes = parse_changes(_new_system())
    assert [c.ref for c in changes][:2] == ["system:sys-new", "database:db-new"]
    assert changes[2].ref == "system:sys-new>writes>database:db-new"
    assert touched(changes) == {"system:sys-new", "database:db-new", "platform:lgsp"}
    head = catalog.revision()[0]
    out = CatalogService(catalog, EDITOR).apply_changes(changes)
    assert [type(x).__name__ for x in out] == ["Entity", "Entity", "Relationship", "Relationship"]
    assert catalog.find_relationship("system:sys-new>flows_to>platform:lgsp").properties["frequency"] == "daily"
    entries = catalog.changelog(after_seq=head)
    assert len(entries) == 4 and len({e.request_id for e in entries}) == 1


def test_a_refusal_anywhere_leaves_the_catalog_as_it_was(catalog: CatalogStore) -> None:
    items = _new_system()
    items[3]["data"]["properties"]["frequency"] = "sometimes"
    before = content_hash(catalog)
    with pytest.raises(ValidationFailed) as exc:
        CatalogService(catalog, EDITOR).apply_changes(parse_changes(items))
    assert [e.location for e in exc.value.errors] == ["changes.3.properties.frequency"]
    assert content_hash(catalog) == before
    # another organisation's entity: refused as a direct change would be, nothing written
    items = _new_system()[:1] + [{"op": "patch", "ref": "platform:lgsp", "data": {"tags": ["x"]}, "base_version": 1}]
    with pytest.raises(PermissionDenied):
        CatalogService(catalog, EDITOR).apply_changes(parse_changes(items))
    assert content_hash(catalog) == before


def test_relink_unlink_retire_delete(catalog: CatalogStore) -> None:
    svc = CatalogService(catalog)
    svc.apply_changes(parse_changes(_new_system()))
    rid = "system:sys-new>flows_to>platform:lgsp"
    r = catalog.find_relationship(rid)
    svc.apply_changes(
        [
            Change(
                "relink",
                rid,
                {**r.content(), "properties": {"frequency": "hourly", "via": "platform:lgsp"}},
                r.version,
            ),
            Change("unlink", "system:sys-new>writes>database:db-new", {}, 1),
            Change("retire", "system:sys-new", {"on": "2026-01-01"}, 1),
            Change("delete", "database:db-new", {"cascade": False}, 1),
        ]
    )
    assert catalog.find_relationship(rid).properties == {"frequency": "hourly", "via": "platform:lgsp"}
    assert catalog.find_relationship("system:sys-new>writes>database:db-new") is None
    assert catalog.get_entity("system:sys-new").attributes["lifecycle"] == "retired"
    assert catalog.find_entity("database:db-new") is None


@pytest.mark.parametrize(
    ("items", "where"),
    [
        ([], "changes"),
        ([{"op": "explode", "ref": "system:x"}], "changes.0.op"),
        ([{"op": "patch", "ref": "system:x", "data": {}}], "changes.0.base_version"),
        ([{"op": "create", "data": {"kind": "system", "code": "x"}, "base_version": 2}], "changes.0.base_version"),
        ([{"op": "patch", "ref": "not a ref", "base_version": 1}], "changes.0.ref"),
        ([{"op": "retire", "ref": "system:x", "base_version": 1, "data": {"on": "soon"}}], "changes.0.data.on"),
        ([{"op": "unlink", "ref": "a>b>c", "base_version": 1, "extra": 1}], "changes.0.extra"),
        (["nope"], "changes.0"),
    ],
)
def test_untrusted_input_is_named_by_index_and_field(items: list, where: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_changes(items)
    assert where in [e.location for e in exc.value.errors]
