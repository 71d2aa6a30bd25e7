"""What a relationship means is declared once, on its RelationSpec (catalog/metamodel.py), and read by everything
that interprets relationships: the diagrams (the direction data flows, the style, the kinds the IOC view follows,
protocol and lifecycle labels), the analyses (who uses a shared database), the Backstage importer (dependsOn).
Changing a declaration changes what they do; nothing else says it again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import entity, rel

from catalog import analysis
from catalog.history.snapshot import recorded_graph, revision_at, snapshot_from
from catalog.metamodel import DEFAULT, VALUE_LABELS, EdgeStyle, Metamodel
from catalog.model import CODE_RE, REF_RE, ref_pattern
from catalog.store.base import CatalogStore, WriteContext
from diagrams import ViewParams, registry, to_dot
from diagrams.dot import node_id
from diagrams.views import ioc_types
from importers.backstage import DEPENDS_ON, relationship_for

ROOT = Path(__file__).resolve().parents[2]
ORG_A, ORG_B = "organization:a", "organization:b"
S1, S2 = "system:s1", "system:s2"
DB, SVC, LGSP, IOC = "database:db", "service:svc", "platform:lgsp", "platform:ioc"
DAY = dt.date(2025, 6, 1)


def changed(mm: Metamodel, name: str, **changes: Any) -> Metamodel:
    """The metamodel with one relationship kind declared differently."""
    relations = dict(mm.relations)
    relations[name] = dataclasses.replace(relations[name], **changes)
    return dataclasses.replace(mm, relations=relations, _cache={})


@pytest.fixture
def city(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """S1 (organisation A) reads the database; S2 (B) consumes a service that exposes it, published on the LGSP,
    and feeds the IOC. Both departments are the same city's (the IOC view covers its own city)."""
    for e in [
        entity("organization:city", "UBND Thành phố", org_type="city"),
        entity(ORG_A, "Sở A", parent="organization:city"),
        entity(ORG_B, "Sở B", parent="organization:city"),
        entity(S1, "Hệ thống 1", ORG_A, lifecycle="retiring"),
        entity(S2, "Hệ thống 2", ORG_B),
        entity(DB, "CSDL dùng chung", ORG_A),
        entity(SVC, "Dịch vụ dữ liệu", ORG_A),
        entity(LGSP, "Nền tảng tích hợp (LGSP)", ORG_A),
        entity(IOC, "IOC", ORG_A, platform_type="operations_centre", platform_subtype="city_ioc"),
    ]:
        store.create_entity(e, ctx)
    for r in [
        rel("reads", S1, DB, protocol="db_link"),
        rel("exposes", DB, SVC),
        rel("consumes", S2, SVC),
        rel("published_on", SVC, LGSP),
        rel("feeds", S2, IOC),
    ]:
        store.create_relationship(r, ctx)
    return store


def draw(store: CatalogStore, mm: Metamodel, view: str, lang: str = "en", ref: str | None = None) -> str:
    """The view's DOT with the metamodel ``mm`` (read by the view as by the DOT writer)."""
    snap = snapshot_from(mm, recorded_graph(store, None), DAY, None, revision_at(store, None))
    return to_dot(registry()[view].draw(snap, ViewParams(ref=ref, lang=lang)), mm)  # type: ignore[attr-defined]


def edge(dot: str, tail: str, head: str) -> str | None:
    """The attributes of the edge tail -> head in a DOT text, None when there is none."""
    m = re.search(rf"^  {node_id(tail)} -> {node_id(head)} \[(.*)\];$", dot, re.M)
    return m.group(1) if m else None


# --- declarations -------------------------------------------------------------------------------------------------


def test_every_relationship_declares_what_the_code_relies_on() -> None:
    for name, spec in DEFAULT.relations.items():
        assert spec.flows_from in (None, "source", "target"), name
        assert isinstance(spec.style, EdgeStyle) and spec.style.style in ("solid", "dashed", "dotted", "bold"), name
        if spec.ioc_path:  # followed along its dependency: it must have one
            assert spec.dependency != "none" and not spec.derived, name
        if spec.flows_from is not None:  # data flows from one end to the other: the other depends on it
            assert spec.dependency == ("target_on_source" if spec.flows_from == "source" else "source_on_target"), name
    roles = {n: s.database_role for n, s in DEFAULT.relations.items() if s.database_role != "none"}
    assert roles == {
        "reads": "use",
        "writes": "use",
        "consumes": "use",
        "exposes": "exposure",
        "published_on": "publication",
        "provides": "provision",
    }
    r = DEFAULT.relations
    # the ends database_consumers reads: a use's target is the database or a service, an exposure goes from a
    # database to a service, a publication from a service to a platform, a provision ends at a service
    assert all(set(r[n].targets) <= {"database", "dataset", "service"} for n, role in roles.items() if role == "use")
    assert (r["exposes"].sources, r["exposes"].targets) == (("database",), ("service",))
    assert (r["published_on"].sources, r["published_on"].targets) == (("service",), ("platform",))
    assert r["provides"].targets == ("service",)


def test_the_ioc_view_follows_the_kinds_the_metamodel_marks() -> None:
    assert set(ioc_types(DEFAULT)) == {
        "feeds",
        "flows_to",
        "provides",
        "exposes",
        "published_on",
        "consumes",
        "reads",
        "writes",
    }
    assert "hosted_on" not in ioc_types(DEFAULT)
    assert "hosted_on" in ioc_types(changed(DEFAULT, "hosted_on", ioc_path=True))


def test_owned_flag_matches_owned_by() -> None:
    owned_by = DEFAULT.relations["owned_by"]
    assert {k for k in DEFAULT.kinds if DEFAULT.owned(k)} == set(owned_by.sources)
    assert {k for k in DEFAULT.kinds if DEFAULT.is_organisation(k)} == set(owned_by.targets) == {"organization"}
    assert not DEFAULT.owned("nonsense") and not DEFAULT.is_organisation("nonsense")


def test_no_kind_comparison_stands_where_a_flag_should() -> None:
    """``kind == "organization"`` means "is an organisation kind" or "has no owner": both are metamodel flags."""
    pattern = re.compile(r"""kind\s*[!=]=\s*["']organization["']|["']organization["']\s*[!=]=\s*\w*kind""")
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for d in ("catalog", "importers", "diagrams", "api")
        for p in sorted((ROOT / d).rglob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_one_pattern_for_codes_and_references() -> None:
    from api import schemas

    assert REF_RE.pattern == ref_pattern() == schemas.ENTITY_REF and CODE_RE.pattern == schemas.CODE_PATTERN
    assert re.fullmatch(schemas.ORG_PATTERN, "organization:hcm-sxd") and not re.fullmatch(
        schemas.ORG_PATTERN, "system:hcm-sxd"
    )
    assert REF_RE.match("system:hcm-cong-1022").groups() == ("system", "hcm-cong-1022")
    assert not REF_RE.match("System:x") and not REF_RE.match("system:" + "a" * 129)
    assert REF_RE.match("system:" + "a" * 128)
    code = "[a-z0-9][a-z0-9._-]"  # written once, in catalog/model.py
    found = [
        str(p.relative_to(ROOT))
        for d in ("catalog", "importers", "diagrams", "api")
        for p in sorted((ROOT / d).rglob("*.py"))
        if code in p.read_text(encoding="utf-8")
    ]
    assert found == ["catalog/model.py"]


def test_every_view_has_a_label_and_a_title_in_both_languages() -> None:
    for name, view in registry().items():
        for label in (view.label, view.title):
            assert label.vi and label.en, name
        assert name not in (view.label.vi, view.label.en)


# --- changing a declaration changes what the code does -------------------------------------------------------------


def test_the_direction_data_flows_is_the_direction_of_the_arrow(city: CatalogStore) -> None:
    dot = draw(city, DEFAULT, "context", ref=DB)
    assert edge(dot, DB, S1) is not None and edge(dot, S1, DB) is None  # reads: from the database to the reader
    dot = draw(city, changed(DEFAULT, "reads", flows_from="source"), "context", ref=DB)
    assert edge(dot, S1, DB) is not None and edge(dot, DB, S1) is None
    dot = draw(city, changed(DEFAULT, "reads", flows_from=None), "context", ref=DB)
    assert "constraint=false" in (edge(dot, S1, DB) or "")  # no data: as stored, not shaping the layout


def test_the_style_is_the_metamodels(city: CatalogStore) -> None:
    look = 'style="solid", color="#15803d", arrowhead=vee, penwidth=1'
    assert (edge(draw(city, DEFAULT, "context", ref=DB), DB, S1) or "").startswith(look)
    mm = changed(DEFAULT, "reads", style=EdgeStyle("dotted", "#123456", "tee", 2.5))
    dot = draw(city, mm, "context", ref=DB)
    assert (edge(dot, DB, S1) or "").startswith('style="dotted", color="#123456", arrowhead=tee, penwidth=2.5')
    assert 'style="dotted", color="#123456", arrowhead=tee, penwidth=2.5, fontsize=8' in dot  # the legend too


def test_the_ioc_view_follows_ioc_path(city: CatalogStore) -> None:
    dot = draw(city, DEFAULT, "ioc")
    for ref in (S2, SVC, DB):
        assert node_id(ref) in dot, ref
    assert node_id(S1) not in dot  # reads: S1 depends on the database, not the IOC on S1
    assert "published on LGSP" in dot and edge(dot, SVC, LGSP) is None  # no data: a note, not an edge
    dot = draw(city, changed(DEFAULT, "consumes", ioc_path=False), "ioc")
    assert node_id(S2) in dot and node_id(SVC) not in dot and node_id(DB) not in dot


def test_who_uses_a_shared_database_is_read_once_for_the_analysis_and_the_diagram(city: CatalogStore) -> None:
    analysis.clear_cache()
    assert analysis.shared_database_coupling(city) == [
        analysis.Coupling(database=DB, systems={ORG_A: [S1], ORG_B: [S2]}, platforms=[LGSP])
    ]
    snap = snapshot_from(DEFAULT, recorded_graph(city, None), DAY, None, revision_at(city, None))
    use = analysis.database_consumers(DEFAULT, DB, snap.touching)
    assert (use.users, use.services, use.platforms) == ([S1, S2], [SVC], [LGSP])
    dot = draw(city, DEFAULT, "shared-db", ref=DB)
    assert all(node_id(x) in dot for x in (S1, S2, SVC, LGSP))
    # consuming a service no longer counts as using the database: neither reads S2 as a user
    mm = changed(DEFAULT, "consumes", database_role="none")
    city.metamodel = mm
    analysis.clear_cache()
    assert analysis.shared_database_coupling(city) == []
    assert node_id(S2) not in draw(city, mm, "shared-db", ref=DB)


def test_protocol_and_lifecycle_labels_are_the_metamodels(city: CatalogStore) -> None:
    for lang in ("vi", "en"):
        dot = draw(city, DEFAULT, "context", lang, ref=DB)
        assert f">{VALUE_LABELS['db_link'].get(lang)}</FONT>" in dot, lang
        assert f"<I>({VALUE_LABELS['retiring'].get(lang)})</I>" in dot, lang


def test_backstage_dependencies_are_relationships_the_metamodel_allows() -> None:
    assets = ("system", "database", "platform", "service")
    assert all(DEFAULT.relations[t].dependency == "source_on_target" for t in DEPENDS_ON)
    for user in assets:
        for used in assets:
            for name, reverse in (("dependsOn", False), ("dependencyOf", True)):
                a, b = f"{user}:a", f"{used}:b"
                r = relationship_for(name, b if reverse else a, a if reverse else b, reverse)
                assert r is not None, (user, used)
                spec = DEFAULT.relations[r.type]
                assert spec.allows(r.source.split(":")[0], r.target.split(":")[0]), r
                depends = (r.source, r.target) if spec.dependency == "source_on_target" else (r.target, r.source)
                assert depends == (a, b), r  # the user depends on what it uses
    # the endpoints come from the metamodel: where it does not allow reads, a dependency is a data flow
    mm = changed(DEFAULT, "reads", sources=("platform",))
    r = relationship_for("dependsOn", "system:a", "database:b", metamodel=mm)
    assert r is not None and (r.type, r.source, r.target) == ("flows_to", "database:b", "system:a")
