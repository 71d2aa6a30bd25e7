"""The "business" view on the sample catalog with the real Graphviz: functions and procedures with the systems
serving them, Vietnamese labels, a shape per kind, the gaps said on the drawing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import SAMPLE, make_store

from catalog.errors import CatalogError, ValidationFailed
from catalog.store.base import CatalogStore
from diagrams import ViewParams, build, dot_for, draw, registry
from diagrams.dot import node_id
from importers.base import run_import


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    store = make_store("sqlite", tmp_path_factory.mktemp("business"))
    assert run_import(store, SAMPLE).loaded
    yield store
    store.close()


def node_line(dot: str, ref: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(node_id(ref) + " ["))


def test_business_view_is_registered_like_the_others() -> None:
    view = registry()["business"]
    assert view.label.vi and view.label.en and view.ref_kinds is None


def test_business_view_draws_what_serves_each_procedure_and_function(sample: CatalogStore) -> None:
    d = build(sample, "business", ViewParams())
    kinds = {n.key: n.kind for n in d.nodes.values()}
    assert {"procedure", "function", "process", "capability", "system"} <= set(kinds.values())
    served = {(e.tail, e.head) for e in d.edges if e.type == "serves"}
    assert ("system:hcm-ho-tich", "procedure:hcm-tthc-khai-sinh") in served
    assert ("system:hcm-cong-1022", "function:hcm-cn-phan-anh") in served
    assert not [x for x in kinds.values() if x in ("database", "organization", "dataset")]
    # every node serving something is on the left, the capabilities on the right
    layer = {n.key: n.layer for n in d.nodes.values()}
    assert all(layer[t] == 0 for t, _ in served) and layer["capability:hcm-nl-quan-ly-dat-dai"] == 2
    gap = d.nodes["function:hcm-cn-chung-thuc"]
    assert gap.sublabel == "Chưa có hệ thống phục vụ"
    assert d.nodes["procedure:hcm-tthc-khai-sinh"].sublabel == "Trực tuyến toàn trình"
    dot = dot_for(sample, "business", ViewParams())
    for ref, shape in (
        ("procedure:hcm-tthc-khai-sinh", "ellipse"),
        ("function:hcm-cn-ho-tich", "house"),
        ("capability:hcm-nl-quan-ly-dat-dai", "octagon"),
        ("process:hcm-qt-mot-cua", "cds"),
        ("system:hcm-ho-tich", "box"),
    ):
        assert re.search(rf"shape={shape}\b", node_line(dot, ref)), ref
    serves = next(line for line in dot.splitlines() if node_id("system:hcm-ho-tich") + " -> " in line)
    assert "arrowhead=odot" in serves


def test_business_view_renders_svg_with_vietnamese_labels(sample: CatalogStore) -> None:
    svg = draw(sample, "business", ViewParams(), "svg").decode("utf-8")
    for said in (
        "Chức năng, thủ tục hành chính và hệ thống phục vụ",
        "Đăng ký khai sinh",
        "Trực tuyến toàn trình",
        "Hệ thống phục vụ",
        "Năng lực của thành phố",
        "Chưa có hệ thống phục vụ",
    ):
        assert said in svg, said
    assert "full_online" not in svg and "hcm-tthc-khai-sinh</text>" not in svg
    png = draw(sample, "business", ViewParams(lang="en"), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_business_view_of_one_organisation_and_refusals(sample: CatalogStore) -> None:
    d = build(sample, "business", ViewParams(ref="organization:hcm-stc", lang="en"))
    assert d.title.endswith(": HCMC Department of Finance")
    mine = {n.key for n in d.nodes.values() if n.kind in ("procedure", "function")}
    assert mine == {"procedure:hcm-tthc-thanh-lap-doanh-nghiep", "function:hcm-cn-dang-ky-doanh-nghiep"}
    with pytest.raises(ValidationFailed):
        build(sample, "business", ViewParams(ref="system:hcm-ho-tich"))
    with pytest.raises(CatalogError):
        build(sample, "business", ViewParams(ref="organization:nope"))
    # before the business layer was valid: an empty drawing that says so
    d = build(sample, "business", ViewParams(valid_on="2020-01-01"))
    assert not d.nodes and d.notes == ["Không có chức năng, thủ tục hành chính nào trong phạm vi này."]
