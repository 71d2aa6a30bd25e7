"""Graph analysis on small hand-made catalogs in a real SQLite store: exact refs, depths and explanation paths."""

from __future__ import annotations

import pytest
from conftest import entity, load, r_id, rel

from catalog import analysis
from catalog.analysis import Coupling, ImpactItem
from catalog.errors import NotFound
from catalog.store.base import CatalogStore, WriteContext

DB = "database:db1"
S1, S2, S3 = "system:s1", "system:s2", "system:s3"
SVC = "service:svc1"
LGSP, IOC = "platform:lgsp", "platform:ioc"
ORG_A, ORG_B, ORG_C, ORG_D = "organization:a", "organization:b", "organization:c", "organization:d"


@pytest.fixture
def city(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """A database read by two systems; a service exposing it, published on the LGSP and consumed by a third system
    (of a third organisation); the first system feeds the IOC and also flows directly to the third."""
    load(
        store,
        ctx,
        [
            entity(ORG_A, "Sở A"),
            entity(ORG_B, "Sở B"),
            entity(ORG_C, "Sở C"),
            entity(ORG_D, "Sở D"),
            entity(DB, "CSDL dùng chung", ORG_A),
            entity(S1, "Hệ thống 1", ORG_A),
            entity(S2, "Hệ thống 2", ORG_B),
            entity(S3, "Hệ thống 3", ORG_C),
            entity(SVC, "Dịch vụ dữ liệu", ORG_A),
            entity(LGSP, "LGSP", ORG_A, platform_subtype="lgsp"),
            entity(IOC, "IOC", ORG_A, platform_type="operations_centre", platform_subtype="city_ioc"),
            entity("system:lonely", "Hệ thống lẻ loi", ORG_A),
        ],
        [
            rel("reads", S1, DB),
            rel("reads", S2, DB),
            rel("exposes", DB, SVC),
            rel("published_on", SVC, LGSP),
            rel("consumes", S3, SVC),
            rel("feeds", S1, IOC),
            rel("flows_to", S1, S3, via=LGSP),
        ],
    )
    analysis.clear_cache()
    return store


def test_projection_has_entities_relationships_and_derived_ownership(city: CatalogStore) -> None:
    g = analysis.projection(city)
    assert g.nodes[DB]["kind"] == "database" and g.nodes[DB]["name"] == "CSDL dùng chung"
    assert g.has_edge(S1, DB, key="reads") and g.edges[S1, DB, "reads"]["type"] == "reads"
    assert g.edges[S1, S3, "flows_to"]["via"] == LGSP
    owned = {(s, t) for s, t, k in g.edges(keys=True) if k == "owned_by"}
    assert owned == {
        (DB, ORG_A),
        (S1, ORG_A),
        (S2, ORG_B),
        (S3, ORG_C),
        (SVC, ORG_A),
        (LGSP, ORG_A),
        (IOC, ORG_A),
        ("system:lonely", ORG_A),
    }
    assert analysis.projection(city) is g  # cached while the revision stands


def test_dependency_graph_follows_the_metamodel(city: CatalogStore) -> None:
    dg = analysis.dependency_graph(city)
    assert {(a, b, d["via"]) for a, b, d in dg.edges(data=True)} == {
        (S1, DB, r_id(S1, "reads", DB)),  # source_on_target
        (S2, DB, r_id(S2, "reads", DB)),
        (SVC, DB, r_id(DB, "exposes", SVC)),  # target_on_source
        (SVC, LGSP, r_id(SVC, "published_on", LGSP)),
        (S3, SVC, r_id(S3, "consumes", SVC)),
        (IOC, S1, r_id(S1, "feeds", IOC)),
        (S3, S1, r_id(S1, "flows_to", S3)),
    }


def test_impact_of_a_shared_database(city: CatalogStore) -> None:
    assert analysis.impact(city, DB) == [
        ImpactItem(SVC, 1, (DB, SVC), (r_id(DB, "exposes", SVC),)),
        ImpactItem(S1, 1, (DB, S1), (r_id(S1, "reads", DB),)),
        ImpactItem(S2, 1, (DB, S2), (r_id(S2, "reads", DB),)),
        ImpactItem(IOC, 2, (DB, S1, IOC), (r_id(S1, "reads", DB), r_id(S1, "feeds", IOC))),
        # reachable through s1 (flows_to) and through the service: the parent whose ref sorts first explains it
        ImpactItem(S3, 2, (DB, SVC, S3), (r_id(DB, "exposes", SVC), r_id(S3, "consumes", SVC))),
    ]


def test_impact_of_the_lgsp_and_depth_limit(city: CatalogStore) -> None:
    assert [(i.ref, i.depth, i.path) for i in analysis.impact(city, LGSP)] == [
        (SVC, 1, (LGSP, SVC)),
        (S3, 2, (LGSP, SVC, S3)),
    ]
    assert {i.ref for i in analysis.impact(city, DB, max_depth=1)} == {SVC, S1, S2}
    assert analysis.impact(city, DB, max_depth=0) == []
    assert analysis.impact(city, IOC) == []  # nothing depends on the operations centre
    assert [i.ref for i in analysis.impact(city, S1)] == [IOC, S3]


def test_impact_of_an_unknown_ref(city: CatalogStore) -> None:
    with pytest.raises(NotFound):
        analysis.impact(city, "system:nope")


def test_cache_follows_writes(city: CatalogStore, ctx: WriteContext) -> None:
    before = analysis.impact(city, DB)
    assert "system:s4" not in {i.ref for i in before}
    city.create_entity(entity("system:s4", "Hệ thống 4", ORG_B), ctx)
    city.create_relationship(rel("reads", "system:s4", DB), ctx)
    after = analysis.impact(city, DB)
    assert ImpactItem("system:s4", 1, (DB, "system:s4"), (r_id("system:s4", "reads", DB),)) in after
    assert "system:s4" in analysis.projection(city)
    assert analysis.dependency_graph(city).has_edge("system:s4", DB)
    rid = r_id("system:s4", "reads", DB)
    city.delete_relationship(rid, city.find_relationship(rid).version, ctx)
    assert {i.ref for i in analysis.impact(city, DB)} == {i.ref for i in before}
    assert len(analysis._CACHE) <= analysis.CACHE_SIZE


def test_retired_relationships_carry_no_dependency(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        [entity(DB, "CSDL"), entity(S1, "Hệ thống 1"), entity(S2, "Hệ thống 2")],
        [rel("reads", S1, DB, status="retired"), rel("reads", S2, DB)],
    )
    assert [i.ref for i in analysis.impact(store, DB)] == [S2]


def test_paths(city: CatalogStore) -> None:
    assert analysis.paths(city, S1, S3) == [[S1, S3], [S1, DB, SVC, S3]]
    assert analysis.paths(city, S1, S3, max_length=1) == [[S1, S3]]
    assert analysis.paths(city, S1, S3, limit=1) == [[S1, S3]]
    assert analysis.paths(city, S2, LGSP) == [[S2, DB, SVC, LGSP], [S2, DB, S1, S3, SVC, LGSP]]
    assert analysis.paths(city, S2, "system:lonely") == []  # ownership is not a path
    with pytest.raises(NotFound):
        analysis.paths(city, S1, "system:nope")


def test_articulation_points(city: CatalogStore) -> None:
    report = analysis.single_points_of_failure(city)
    assert report.articulation_points == [DB, SVC, S1]
    assert report.central_platforms == []  # both platforms are leaves


def test_central_platforms(store: CatalogStore, ctx: WriteContext) -> None:
    hub, edge = "platform:hub", "platform:edge"
    load(
        store,
        ctx,
        [entity(hub, "Trung tâm dữ liệu"), entity(edge, "Cổng"), entity(S1, "1"), entity(S2, "2"), entity(S3, "3")],
        [rel("hosted_on", S1, hub), rel("hosted_on", S2, hub), rel("hosted_on", S3, hub), rel("hosted_on", S3, edge)],
    )
    report = analysis.single_points_of_failure(store)
    assert report.articulation_points == [hub, S3]
    assert [ref for ref, _ in report.central_platforms] == [hub]
    assert report.central_platforms[0][1] > 0


def test_orphans(city: CatalogStore) -> None:
    # organisations a, b and c own something; d owns nothing and has no relationship
    assert analysis.orphans(city) == [ORG_D, "system:lonely"]


def test_cycles(store: CatalogStore, ctx: WriteContext) -> None:
    p1, p2 = "platform:p1", "platform:p2"
    load(
        store,
        ctx,
        [entity(S1, "1"), entity(S2, "2"), entity(S3, "3"), entity(DB, "CSDL"), entity(p1, "P1"), entity(p2, "P2")],
        [
            rel("flows_to", S1, S2),
            rel("flows_to", S2, S3),
            rel("flows_to", S3, S1),  # a loop of three systems
            rel("reads", S1, DB),
            rel("writes", S1, DB),  # reads and writes the same database
            rel("federates_with", p1, p2),
        ],
    )  # mutual by design: not reported
    assert analysis.cycles(store) == [[DB, S1], [S1, S3, S2]]
    assert analysis.cycles(store, min_length=3) == [[S1, S3, S2]]
    assert len(analysis.cycles(store, limit=1)) == 1


def test_shared_database_coupling(city: CatalogStore, ctx: WriteContext) -> None:
    # a second database used only by organisation A is not coupling
    city.create_entity(entity("database:db2", "CSDL riêng", ORG_A), ctx)
    city.create_relationship(rel("writes", S1, "database:db2"), ctx)
    assert analysis.shared_database_coupling(city) == [
        Coupling(database=DB, systems={ORG_A: [S1], ORG_B: [S2], ORG_C: [S3]}, platforms=[LGSP]),
    ]
