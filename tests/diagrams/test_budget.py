"""The size budget (diagrams.budget): a synthetic landscape over it is drawn collapsed by organisation with a note
saying so and how to expand; under it the drawing is unchanged byte for byte; one organisation can be expanded;
detail=full draws everything."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Iterator

import pytest
from conftest import entity, rel

from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, WriteContext
from diagrams import ViewParams, build, dot_for, draw
from diagrams.budget import apply_budget, collapsed, over_budget

ORGS = ("so-a", "so-b", "so-c", "so-d")
SYSTEMS = 12  # per organisation
DATABASES = 4


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    """Four departments, each 12 systems writing to and reading its 4 databases, every system also reading the
    next department's first database (cross-organisation flows), all systems feeding one operations centre."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('budget') / 'c.db'}")
    ents = [entity("organization:ubnd", "Ủy ban nhân dân", org_type="city")]
    ents.append(
        entity("platform:ioc", "Trung tâm điều hành", owner="organization:ubnd", platform_type="operations_centre")
    )
    rels = []
    for i, org in enumerate(ORGS):
        ents.append(entity(f"organization:{org}", f"Sở {org.upper()}", parent="organization:ubnd"))
        for d in range(DATABASES):
            ents.append(entity(f"database:{org}-db{d}", f"CSDL {org} {d}", owner=f"organization:{org}"))
        nxt = ORGS[(i + 1) % len(ORGS)]
        for s in range(SYSTEMS):
            ref = f"system:{org}-he-thong-{s}"
            ents.append(entity(ref, f"Hệ thống {org} {s}", owner=f"organization:{org}"))
            rels.append(rel("writes", ref, f"database:{org}-db{s % DATABASES}"))
            rels.append(rel("reads", ref, f"database:{nxt}-db0"))
            rels.append(rel("feeds", ref, "platform:ioc"))
    store.bulk_load(BulkLoad(source="test", run="budget", entities=ents, relationships=rels), WriteContext(actor="t"))
    yield store
    store.close()


def params(**kw: object) -> ViewParams:
    return ViewParams(limit=10_000, lang="en", **kw)  # type: ignore[arg-type]


def test_over_the_budget_the_landscape_is_collapsed_by_organisation_with_a_note(landscape: CatalogStore) -> None:
    whole = build(landscape, "landscape", params(detail="full"))
    assert len(whole.nodes) > 60 and len(whole.edges) > 100
    d = build(landscape, "landscape", params(max_nodes=40, max_edges=80))
    assert collapsed(d) and not collapsed(whole)
    groups = {n.key: n for n in d.nodes.values() if n.key.startswith("org:")}
    assert {f"org:organization:{o}" for o in ORGS} <= set(groups)
    a = groups["org:organization:so-a"]
    assert a.label == "Sở SO-A" and a.ref == "organization:so-a"
    assert (
        "12 information systems" in a.sublabel and "4 databases" in a.sublabel
    )  # counts by kind, with the kinds' labels
    assert len(d.nodes) <= 40 and len(d.edges) <= 80
    # a cross-organisation flow is one edge counting the relationships behind it: 12 systems of A read B's db0
    edge = next(e for e in d.edges if e.tail == "org:organization:so-b" and e.head == "org:organization:so-a")
    assert edge.type == "aggregate" and edge.weight == SYSTEMS and edge.label == str(SYSTEMS)
    note = " ".join(d.notes)
    assert "collapsed by organisation" in note and "expand=" in note and "detail=full" in note
    # the note is in the drawing too, and the drawing is within reach of Graphviz
    svg = html.unescape(draw(landscape, "landscape", params(max_nodes=40, max_edges=80), "svg").decode())
    assert "collapsed by organisation" in svg and "Sở SO-A" in svg and "<svg" in svg


def test_the_note_is_in_the_diagrams_language(landscape: CatalogStore) -> None:
    d = build(landscape, "landscape", dataclasses.replace(params(max_nodes=40, max_edges=80), lang="vi"))
    assert "gộp theo cơ quan" in " ".join(d.notes) and "collapsed" not in " ".join(d.notes)
    assert any("hệ thống" in n.sublabel for n in d.nodes.values())


def test_within_the_budget_nothing_changes_byte_for_byte(landscape: CatalogStore) -> None:
    free = dot_for(landscape, "landscape", params(detail="full"))
    within = dot_for(landscape, "landscape", params(max_nodes=10_000, max_edges=10_000))
    assert within == free
    d = build(landscape, "landscape", params(detail="full"))
    assert apply_budget(d, landscape.metamodel, max_nodes=10_000, max_edges=10_000) is d
    assert not over_budget(d, len(d.nodes), len(d.edges))
    assert over_budget(d, len(d.nodes) - 1, len(d.edges)) and over_budget(d, len(d.nodes), len(d.edges) - 1)


def test_expanding_one_organisation_draws_its_assets_one_by_one(landscape: CatalogStore) -> None:
    d = build(landscape, "landscape", params(max_nodes=40, max_edges=80, expand="organization:so-b"))
    assert collapsed(d)
    refs = {n.ref for n in d.nodes.values()}
    assert {f"system:so-b-he-thong-{s}" for s in range(SYSTEMS)} <= refs  # B's systems, each its own node
    assert {f"database:so-b-db{i}" for i in range(DATABASES)} <= refs
    assert "system:so-a-he-thong-0" not in refs and "org:organization:so-a" in d.nodes  # A stays folded
    # B's db0 is read by A's 12 systems: one aggregated edge from that database to A
    into_a = [e for e in d.edges if e.tail == "database:so-b-db0" and e.head == "org:organization:so-a"]
    assert len(into_a) == 1 and into_a[0].weight == SYSTEMS
    # B's own relationships stay as the view made them
    assert any(
        e.tail == "system:so-b-he-thong-0" and e.head == "database:so-b-db0" and e.type == "writes" for e in d.edges
    )
    assert "Expanded: Sở SO-B" in d.notes


def test_detail_full_draws_everything(landscape: CatalogStore) -> None:
    d = build(landscape, "landscape", params(max_nodes=40, max_edges=80, detail="full"))
    assert not collapsed(d) and len(d.nodes) > 60


def test_the_focus_of_a_view_is_never_folded(landscape: CatalogStore) -> None:
    d = build(landscape, "ioc", params(ref="platform:ioc", lineage="full", max_nodes=10, max_edges=10))
    assert collapsed(d) and "platform:ioc" in d.nodes
    assert any(e.head == "platform:ioc" and e.tail.startswith("org:") and e.weight == SYSTEMS for e in d.edges)


def test_bad_budget_parameters_are_refused_naming_the_field(landscape: CatalogStore) -> None:
    from catalog.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as bad:
        build(landscape, "landscape", params(detail="everything"))
    assert bad.value.errors[0].location == "detail"


def test_organisations_fold_into_their_parent_and_changes_are_counted() -> None:
    """A diff-like model: organisations drawn as nodes outside any cluster fold into the organisation above them
    (named through the catalog, never by its ref), and the groups count what was added, removed or changed."""
    from catalog.history.snapshot import Revision
    from catalog.metamodel import DEFAULT
    from diagrams.model import Cluster, Diagram, Node

    d = Diagram("diff", "Thay đổi", "en", "2025-08-01", None, Revision(1, "ab" * 32))
    d.add_cluster(Cluster("organization:so-a", "Department A"))
    for i in range(6):
        d.add_node(Node(f"system:a{i}", "system", f"A{i}", ref=f"system:a{i}", cluster="organization:so-a"))
    d.nodes["system:a0"].highlight = "added"
    d.nodes["system:a1"].highlight = "removed"
    for i in range(5):  # merged-away departments, drawn as organisations of their own
        ref = f"organization:old-{i}"
        d.add_node(Node(ref, "organization", f"Old {i}", ref=ref, highlight="removed"))
    d.add_node(Node("organization:tinh", "organization", "Province", ref="organization:tinh"))
    parents = {f"organization:old-{i}": "organization:tinh" for i in range(5)}
    out = apply_budget(d, DEFAULT, max_nodes=5, owner_of=parents.get, name_of=lambda ref: "Named " + ref[-4:])
    assert set(out.nodes) == {"org:organization:so-a", "org:organization:tinh"}
    tinh = out.nodes["org:organization:tinh"]
    assert tinh.label == "Province" and "6 organisations" in tinh.sublabel and "5 removed" in tinh.sublabel
    a = out.nodes["org:organization:so-a"]
    assert a.label == "Department A" and "1 added" in a.sublabel and "1 removed" in a.sublabel
    assert not any(":" in n.label for n in out.nodes.values())  # names, not refs


def test_a_past_date_folds_by_the_owners_of_that_date(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Department A's systems moved to B on 2025-06-01: drawn on 2025-03-01 they fold into A, today into B."""
    from catalog.model import OwnerPeriod

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('moved') / 'c.db'}")
    ents = [entity("organization:ubnd", "Ủy ban nhân dân", org_type="city")]
    ents.append(
        entity("platform:ioc", "Trung tâm điều hành", owner="organization:ubnd", platform_type="operations_centre")
    )
    rels = []
    for org in ORGS:
        ents.append(entity(f"organization:{org}", f"Sở {org.upper()}", parent="organization:ubnd"))
        ents.append(entity(f"database:{org}-db", f"CSDL {org}", owner=f"organization:{org}"))
        for s in range(SYSTEMS):
            ref = f"system:{org}-he-thong-{s}"
            e = entity(ref, f"Hệ thống {org} {s}", owner=f"organization:{org}")
            if org == "so-a":
                moved = dt.date(2025, 6, 1)
                e = e.model_copy(
                    update={
                        "owner_history": [
                            OwnerPeriod(org="organization:so-a", end=moved),
                            OwnerPeriod(org="organization:so-b", start=moved),
                        ]
                    }
                )
            ents.append(e)
            rels.append(rel("writes", ref, f"database:{org}-db"))
            rels.append(rel("feeds", ref, "platform:ioc"))
    store.bulk_load(BulkLoad(source="test", run="moved", entities=ents, relationships=rels), WriteContext(actor="t"))
    try:

        def systems_in(d: object, org: str) -> str:
            node = d.nodes.get(f"org:organization:{org}")  # type: ignore[attr-defined]
            return node.sublabel if node is not None else ""

        ioc = {"ref": "platform:ioc", "lineage": "full", "max_nodes": 20, "max_edges": 40}
        then = build(store, "ioc", params(**ioc, valid_on="2025-03-01"))
        now = build(store, "ioc", params(**ioc))
        assert collapsed(then) and collapsed(now)
        assert f"{SYSTEMS} information systems" in systems_in(then, "so-a")
        assert f"{SYSTEMS} information systems" in systems_in(then, "so-b")
        assert "information systems" not in systems_in(now, "so-a")
        assert f"{2 * SYSTEMS} information systems" in systems_in(now, "so-b")
    finally:
        store.close()
