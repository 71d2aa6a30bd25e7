"""The business layer of the metamodel (capability, function, process, procedure, actor, node; serves, realises,
aggregates, composes, specialises, associated_with) and its coverage (catalog.coverage), on every backend."""

from __future__ import annotations

import pytest
from conftest import entity, load, rel

from catalog.coverage import coverage, serving_columns
from catalog.errors import ValidationFailed
from catalog.history.snapshot import load_snapshot
from catalog.metamodel import DEFAULT, RELATIONS
from catalog.model import parse_relationship, validate_relationship
from catalog.services import CatalogService
from catalog.store.base import CatalogStore, WriteContext

BUSINESS = ("capability", "function", "process", "procedure", "actor", "node")


def test_organisation_is_a_property_of_the_kind_not_the_absence_of_an_owner() -> None:
    assert DEFAULT.is_organisation("organization") and not DEFAULT.owned("organization")
    cap = DEFAULT.kind("capability")
    assert not cap.owned and not cap.organisation and not DEFAULT.is_organisation("capability")
    for kind in ("function", "process", "procedure", "actor", "node"):
        assert DEFAULT.owned(kind) and not DEFAULT.is_organisation(kind), kind
    # owned_by reaches every owned kind, and only organisations are owners
    owned_by = DEFAULT.relations["owned_by"]
    assert set(owned_by.sources) == {k for k in DEFAULT.kinds if DEFAULT.owned(k)}
    assert all(DEFAULT.is_organisation(k) for k in owned_by.targets)


def test_business_kinds_are_bilingual_and_told_apart_without_colour() -> None:
    shapes = [spec.shape for spec in DEFAULT.kinds.values()]
    web = [spec.web_shape for spec in DEFAULT.kinds.values()]
    assert len(set(shapes)) == len(shapes) and len(set(web)) == len(web)  # a shape per kind, in both renderers
    procedure = DEFAULT.kind("procedure")
    assert procedure.label.vi == "Thủ tục hành chính" and DEFAULT.kind("function").label.vi == "Chức năng nghiệp vụ"
    level = procedure.attribute("online_level")
    assert [level.value_label(v, "vi") for v in level.values] == [
        "Trực tuyến toàn trình",
        "Trực tuyến một phần",
        "Chưa trực tuyến",
    ]
    assert procedure.attribute("authority").ref_kinds == ("organization",)
    assert DEFAULT.kind("function").attribute("brm_code") is not None
    assert DEFAULT.kind("node").attribute("node_type").values == ("server", "device", "network", "system_software")

    # relationship styles differ by line or arrowhead, not only by colour
    def look(r: object) -> tuple:
        return (r.style.style, r.style.arrowhead, r.style.dir, r.style.penwidth)  # type: ignore[attr-defined]

    new = ("serves", "realises", "aggregates", "composes", "specialises", "associated_with")
    for name in new:
        others = [look(r) for r in RELATIONS if r.name != name and not r.derived]
        assert look(DEFAULT.relations[name]) not in others, name


@pytest.mark.parametrize(
    "type_,source,target,ok",
    [
        ("serves", "system:a", "procedure:p", True),
        ("serves", "platform:a", "function:f", True),
        ("serves", "service:a", "capability:c", True),
        ("serves", "database:a", "procedure:p", False),
        ("realises", "function:f", "capability:c", True),
        ("realises", "system:a", "capability:c", False),
        ("aggregates", "capability:c", "capability:d", True),
        ("composes", "process:p", "process:q", True),
        ("specialises", "procedure:p", "procedure:q", True),
        ("specialises", "procedure:p", "function:f", False),
        ("associated_with", "actor:a", "system:s", True),
        ("associated_with", "organization:o", "node:n", True),
        ("hosted_on", "system:s", "node:n", True),
    ],
)
def test_which_business_relationships_are_allowed(type_: str, source: str, target: str, ok: bool) -> None:
    data = {"type": type_, "source": source, "target": target}
    if ok:
        validate_relationship(parse_relationship(data))
    else:
        with pytest.raises(ValidationFailed) as exc:
            validate_relationship(parse_relationship(data))
        err = exc.value.errors[0]
        assert err.location in ("source", "target")
        said = err.text("en")
        bad = source if err.location == "source" else target
        assert DEFAULT.kinds[bad.split(":")[0]].label.en in said or "same kind" in said, said


def test_a_capability_without_owner_is_registered_and_a_procedure_takes_an_owner(store: CatalogStore) -> None:
    svc = CatalogService(store)
    svc.register(entity("organization:stp", "Sở Tư pháp"))
    cap = svc.register({"kind": "capability", "code": "serve", "name": {"vi": "Phục vụ người dân"}})
    assert cap.owner is None
    proc = svc.register(
        {
            "kind": "procedure",
            "code": "birth",
            "name": {"vi": "Đăng ký khai sinh"},
            "owner": "organization:stp",
            "attributes": {"online_level": "Trực tuyến toàn trình", "authority": "organization:stp"},
        }
    )
    assert proc.owner == "organization:stp" and proc.attributes["online_level"] == "full_online"  # a label typed back
    with pytest.raises(ValidationFailed):
        svc.register({"kind": "capability", "code": "x", "name": {"vi": "X"}, "owner": "organization:stp"})
    with pytest.raises(ValidationFailed):  # the deciding authority must be an organisation that exists
        svc.register(
            {
                "kind": "procedure",
                "code": "y",
                "name": {"vi": "Y"},
                "owner": "organization:stp",
                "attributes": {"authority": "organization:nope"},
            }
        )


def test_coverage_counts_live_systems_only(store: CatalogStore, ctx: WriteContext) -> None:
    org, unit, other = "organization:stp", "organization:phong-ho-tich", "organization:stc"
    entities = [
        entity(org, "Sở Tư pháp"),
        entity(unit, "Phòng Hộ tịch", parent=org),
        entity(other, "Sở Tài chính"),
        entity("system:ho-tich", "Hộ tịch", owner=org),
        entity("system:old", "Cũ", owner=org, lifecycle="retired"),
        entity("system:new", "Mới", owner=org, lifecycle="building"),
        entity("procedure:birth", "Khai sinh", owner=unit, online_level="full_online"),
        entity("procedure:marriage", "Kết hôn", owner=org, online_level="partial_online"),
        entity("procedure:copy", "Chứng thực", owner=org, online_level="offline"),
        entity("procedure:firm", "Thành lập doanh nghiệp", owner=other, authority=unit),
        entity("function:civil", "Hộ tịch", owner=org),
        entity("function:certify", "Chứng thực", owner=org),
        entity("function:tax", "Thuế", owner=other),
    ]
    rels = [
        rel("serves", "system:ho-tich", "procedure:birth"),
        rel("serves", "system:old", "procedure:marriage"),  # retired: serves nothing
        rel("serves", "system:new", "function:certify"),  # not in production yet
        rel("serves", "system:ho-tich", "function:civil"),
        rel("serves", "system:ho-tich", "function:tax", status="retired"),  # a retired relationship
    ]
    load(store, ctx, entities, rels)
    cov = coverage(load_snapshot(store), org)
    states = {c.ref: c.state for c in cov.procedures + cov.functions}
    assert states == {
        "procedure:birth": "online",  # owned by a unit
        "procedure:marriage": "online_without_system",
        "procedure:copy": "not_online",
        "procedure:firm": "not_online",  # decided by a unit, though another department owns it
        "function:civil": "covered",
        "function:certify": "uncovered",
    }
    assert cov.summary()["online"] == 1 and cov.summary()["functions_uncovered"] == 1
    whole = coverage(load_snapshot(store))
    assert {c.ref: c.state for c in whole.functions}["function:tax"] == "uncovered"
    with pytest.raises(ValidationFailed) as exc:
        coverage(load_snapshot(store), "system:ho-tich")
    assert exc.value.errors[0].location == "org"
    assert "Information system" in exc.value.errors[0].text("en")


def test_listing_columns_come_from_the_metamodel() -> None:
    assert list(serving_columns(DEFAULT, "procedure")) == ["online_level", "served_by"]
    assert list(serving_columns(DEFAULT, "function")) == ["served_by"]
    assert serving_columns(DEFAULT, "system") == {} and serving_columns(DEFAULT, None) == {}
    assert set(BUSINESS) <= set(DEFAULT.kinds)
