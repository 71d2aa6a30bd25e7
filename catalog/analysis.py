"""Graph analysis of the catalog with networkx: impact, paths, single points of failure, orphans, cycles, coupling.

Everything here works on a *projection* of the store, built once per store revision and cached:

- :func:`projection` is a ``MultiDiGraph`` of every entity (node attributes ``kind``, ``name`` (vi), ``name_en``,
  ``owner``, ``lifecycle``) and every stored relationship (edge key = relationship type, attributes ``type``, ``id``
  and the relationship's properties), plus the derived ``owned_by`` edges from each entity's current owner.
- :func:`dependency_graph` is a ``DiGraph`` with an edge ``A -> B`` when A depends on B, derived from the metamodel's
  ``dependency`` of each relationship type (``source_on_target``: source -> target; ``target_on_source``: target ->
  source; ``both``: both ways; ``none``: no edge). The edge attribute ``via`` names the relationship that explains it
  (the smallest id when several do) and ``type`` its type. Relationships whose ``status`` property is ``retired`` carry
  no dependency any more and are left out.

The cache key is ``(id(store), store.revision())``: any write moves the change-log head and so the revision, and the
next call rebuilds. At most :data:`CACHE_SIZE` revisions are kept. Every view (the projection, the dependency graph,
the compact integer index that :func:`impact` walks, undirected graphs, betweenness) is built on first use and cached
with its revision; :func:`impact` reads only the stored relationships, so an impact-only workload never pays for
the full projection.

Reading a projection never writes; SQL and Cypher stay in catalog/store/ — only CatalogStore methods are used here.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, overload

import networkx as nx
import orjson

from catalog.errors import NotFound
from catalog.model import current_owner, rel_id
from catalog.store.base import CatalogStore

CACHE_SIZE = 2
BETWEENNESS_EXACT_LIMIT = 2000  # above this many nodes betweenness is estimated from a sample of sources
BETWEENNESS_SAMPLES = 50  # each sampled source is one BFS of the whole graph (about 1 s at 100,000 nodes)
BETWEENNESS_SEED = 42
TOP_PLATFORMS = 10

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImpactItem:
    """One entity hit by an outage of the failing entity."""

    ref: str
    depth: int
    path: tuple[str, ...]  # refs from the failing entity to this one
    relationships: tuple[str, ...]  # relationship ids along the path


@dataclass(frozen=True)
class SPOFReport:
    """Single points of failure: cut vertices of the dependency graph and the most central platforms."""

    articulation_points: list[str]
    central_platforms: list[tuple[str, float]]


@dataclass(frozen=True)
class Coupling:
    """A database used by systems of two or more organisations."""

    database: str
    systems: dict[str, list[str]]  # owning org -> systems that read or write it directly or through a service
    platforms: list[str]  # platforms a service that exposes it is published on


# ---------------------------------------------------------------------------------------------------------------
# Projection and cache


class _Views:
    """What has been built for one store revision: each view on first use, then kept with the revision."""

    def __init__(self, store: CatalogStore, revision: tuple[int, str]):
        self.store_ref = weakref.ref(store)
        self.revision = revision
        self._derived: dict[str, Any] = {}
        self._lock = threading.RLock()

    def derived(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._derived:
                self._derived[name] = build()
            return self._derived[name]

    def projection(self, store: CatalogStore) -> nx.MultiDiGraph:
        return self.derived("projection", lambda: _build_projection(store, self.revision))


_CACHE: OrderedDict[tuple[int, tuple[int, str]], _Views] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached projection (tests and benchmarks use this to measure a cold build)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _views(store: CatalogStore) -> _Views:
    revision = store.revision()
    key = (id(store), revision)
    with _CACHE_LOCK:
        views = _CACHE.get(key)
        # id() can be reused by a new store once the old one is gone: the weak reference tells them apart
        if views is not None and views.store_ref() is store:
            _CACHE.move_to_end(key)
            return views
        views = _Views(store, revision)
        _CACHE[key] = views
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return views


def _build_projection(store: CatalogStore, revision: tuple[int, str]) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(revision=revision)
    owners: list[tuple[str, str]] = []
    ents, rels = store.graph_json()  # stored JSON, one consistent read: a few fields of each fact, no models
    for e in sorted(map(orjson.loads, ents), key=lambda e: e["ref"]):
        owner = current_owner(e["owner_history"])
        name = e["name"]
        g.add_node(e["ref"], kind=e["kind"], name=name["vi"] or name["en"], name_en=name["en"] or name["vi"],
                   owner=owner, lifecycle=e["attributes"].get("lifecycle"))
        if owner:
            owners.append((e["ref"], owner))
    for r in sorted(map(orjson.loads, rels), key=lambda r: r["id"]):
        g.add_edge(r["source"], r["target"], key=r["type"], **{**r["properties"], "type": r["type"], "id": r["id"]})
    for ref, owner in owners:
        if owner in g:  # an owner missing from the store has no node to point at
            g.add_edge(ref, owner, key="owned_by", type="owned_by", id=rel_id(ref, "owned_by", owner))
    return g


def projection(store: CatalogStore) -> nx.MultiDiGraph:
    """The whole catalog as a MultiDiGraph (see the module docstring). Cached per revision: do not modify it."""
    return _views(store).projection(store)


def _active(data: dict[str, Any]) -> bool:
    return data.get("status") != "retired"


RelTuple = tuple[str, str, str, str, Mapping[str, Any]]  # source, target, type, id, properties


def _dependency_edges(store: CatalogStore, rels: Iterable[RelTuple]) -> dict[tuple[str, str], tuple[str, str]]:
    """``(A, B) -> (relationship id, type)`` for every "A depends on B", keeping the smallest explaining id."""
    relations = store.metamodel.relations
    edges: dict[tuple[str, str], tuple[str, str]] = {}
    for s, t, type_, rid, props in rels:
        spec = relations.get(type_)
        if spec is None or spec.derived or spec.dependency == "none" or not _active(props):
            continue
        pairs = {"source_on_target": ((s, t),), "target_on_source": ((t, s),), "both": ((s, t), (t, s))}
        for pair in pairs[spec.dependency]:
            current = edges.get(pair)
            if current is None or rid < current[0]:
                edges[pair] = (rid, type_)
    return edges


def _build_dependency(store: CatalogStore, proj: nx.MultiDiGraph) -> nx.DiGraph:
    dg = nx.DiGraph(revision=proj.graph.get("revision"))
    dg.add_nodes_from((n, {"kind": kind}) for n, kind in proj.nodes(data="kind"))
    edges = _dependency_edges(store, ((s, t, d["type"], d["id"], d) for s, t, d in proj.edges(data=True)))
    dg.add_edges_from((a, b, {"via": via, "type": type_}) for (a, b), (via, type_) in sorted(edges.items()))
    return dg


def dependency_graph(store: CatalogStore) -> nx.DiGraph:
    """``A -> B`` when A depends on B, with ``via`` = the explaining relationship id. Cached per revision."""
    views = _views(store)
    return views.derived("dependency", lambda: _build_dependency(store, views.projection(store)))


# ---------------------------------------------------------------------------------------------------------------
# Impact


@dataclass(frozen=True)
class _ImpactIndex:
    """The dependency graph as integer adjacency lists over the entities that have a dependency, numbered in ref
    order (so sorting numbers sorts refs). Built straight from the stored relationships, not from the projection:
    impact needs nothing else, and a small heap keeps both memory and garbage-collection pauses down.

    ``dependents[i]``: the nodes that depend on node i, ascending. ``depends_on[i]``: the nodes node i depends on,
    ascending, with ``via[i][j]`` the relationship that explains ``i -> depends_on[i][j]``.
    """

    refs: list[str]
    number: dict[str, int]
    dependents: list[tuple[int, ...]]
    depends_on: list[tuple[int, ...]]
    via: list[tuple[str, ...]]


def _impact_index(views: _Views, store: CatalogStore) -> _ImpactIndex:
    def build() -> _ImpactIndex:
        # from the stored JSON (four fields of each relationship) rather than 300,000 models: the first impact
        # after every write pays this
        loads = orjson.loads
        edges = _dependency_edges(store, ((r["source"], r["target"], r["type"], r["id"], r["properties"])
                                          for r in map(loads, store.graph_json()[1])))
        refs = sorted({ref for pair in edges for ref in pair})
        number = {r: i for i, r in enumerate(refs)}
        dependents: list[list[int]] = [[] for _ in refs]
        depends_on: list[list[tuple[int, str]]] = [[] for _ in refs]
        for (a, b), (via, _) in edges.items():
            ia, ib = number[a], number[b]
            dependents[ib].append(ia)
            depends_on[ia].append((ib, via))
        for lst in depends_on:
            lst.sort()
        return _ImpactIndex(refs=refs, number=number, dependents=[tuple(sorted(d)) for d in dependents],
                            depends_on=[tuple(i for i, _ in d) for d in depends_on],
                            via=[tuple(v for _, v in d) for d in depends_on])

    return views.derived("impact_index", build)


class Impact(Sequence[ImpactItem]):
    """The result of :func:`impact`: a sequence of ImpactItem sorted by (depth, ref).

    The walk records only each hit's depth; an item's explanation path is rebuilt when the item is read (follow,
    from the item back to the failing entity, the smallest-numbered parent one level up). An outage of a data centre
    can hit tens of thousands of entities: the answer "what breaks" then costs one breadth-first walk, and paths are
    paid for only for the items someone looks at.
    """

    def __init__(self, ix: "_ImpactIndex", start: int, order: list[int], depth_of: dict[int, int]):
        self._ix, self._start, self._order, self._depth = ix, start, order, depth_of

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> ImpactItem: ...

    @overload
    def __getitem__(self, i: slice) -> list[ImpactItem]: ...

    def __getitem__(self, i: int | slice) -> ImpactItem | list[ImpactItem]:
        if isinstance(i, slice):
            return [self._item(n) for n in self._order[i]]
        return self._item(self._order[i])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"Impact({self._ix.refs[self._start]}: {len(self)} dependents)"

    @property
    def refs(self) -> list[str]:
        """The refs hit, in (depth, ref) order, without building paths."""
        return [self._ix.refs[n] for n in self._order]

    def _item(self, node: int) -> ImpactItem:
        ix, depth = self._ix, self._depth
        nodes, rels = [node], []
        d = depth[node]
        while d > 0:
            d -= 1
            for j, parent in enumerate(ix.depends_on[nodes[-1]]):  # ascending: the smallest parent one level up
                if depth.get(parent) == d:
                    rels.append(ix.via[nodes[-1]][j])
                    nodes.append(parent)
                    break
        path = tuple(ix.refs[n] for n in reversed(nodes))
        return ImpactItem(ix.refs[node], depth[node], path, tuple(reversed(rels)))


def impact(store: CatalogStore, ref: str, max_depth: int | None = None) -> Impact:
    """Everything that depends, transitively, on ``ref``: what an outage of ``ref`` would hit.

    Breadth-first over reversed dependency edges, one level at a time, so each item has a shortest explanation
    path; among equally short ones the parent whose ref sorts first wins. Sorted by (depth, ref); ``max_depth``
    limits the hops. Raises NotFound for an unknown reference.
    """
    ix = _impact_index(_views(store), store)
    if ref not in ix.number:  # no dependency either way: nothing depends on it, if it exists at all
        if store.find_entity(ref) is None:
            raise NotFound(f"{ref} does not exist")
        return Impact(ix, -1, [], {})
    dependents = ix.dependents
    start = ix.number[ref]
    depth_of: dict[int, int] = {start: 0}
    frontier = [start]
    order: list[int] = []
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        found: set[int] = set()
        for node in frontier:
            if dependents[node]:
                found.update(dependents[node])  # the per-edge work stays in C
        # only the new ones: cost in the size of this level, not of everything seen so far (chains run 100+ deep)
        level = sorted(n for n in found if n not in depth_of)
        if not level:
            break
        depth_of.update(dict.fromkeys(level, depth))
        order += level
        frontier = level
    return Impact(ix, start, order, depth_of)


# ---------------------------------------------------------------------------------------------------------------
# Paths, single points of failure, orphans, cycles


def _require(views: _Views, store: CatalogStore, *refs: str) -> None:
    for ref in refs:
        if ref not in views.projection(store):
            raise NotFound(f"{ref} does not exist")


def _stored_undirected(views: _Views, store: CatalogStore) -> nx.Graph:
    def build() -> nx.Graph:
        proj = views.projection(store)
        ug = nx.Graph()
        ug.add_nodes_from(proj.nodes)
        ug.add_edges_from((s, t) for s, t, k in proj.edges(keys=True) if k != "owned_by")
        return ug

    return views.derived("stored_undirected", build)


def paths(store: CatalogStore, source: str, target: str, max_length: int = 6, limit: int = 20) -> list[list[str]]:
    """Simple paths between two entities over stored relationships in either direction, shortest first (then by
    the refs along them); at most ``limit`` paths of at most ``max_length`` hops."""
    views = _views(store)
    _require(views, store, source, target)
    if source == target:
        return [[source]]
    ug = _stored_undirected(views, store)
    out: list[list[str]] = []
    try:
        for p in nx.shortest_simple_paths(ug, source, target):
            if len(p) - 1 > max_length or len(out) >= limit:
                break
            out.append(p)
    except nx.NetworkXNoPath:
        return []
    return sorted(out, key=lambda p: (len(p), p))


def _dependency_undirected(views: _Views, store: CatalogStore) -> nx.Graph:
    def build() -> nx.Graph:
        return dependency_graph(store).to_undirected(as_view=False)

    return views.derived("dependency_undirected", build)


def single_points_of_failure(store: CatalogStore, samples: int = BETWEENNESS_SAMPLES) -> SPOFReport:
    """Articulation points of the undirected dependency graph (sorted) and the platforms with the highest
    betweenness centrality there (top 10, score > 0). Above 2,000 nodes betweenness is estimated from ``samples``
    source nodes drawn with a fixed seed, so the same catalog always gives the same answer. Cached per revision."""
    views = _views(store)

    def build() -> SPOFReport:
        ug = _dependency_undirected(views, store)
        cut = sorted(nx.articulation_points(ug))
        n = ug.number_of_nodes()
        if n > BETWEENNESS_EXACT_LIMIT:
            scores = nx.betweenness_centrality(ug, k=min(samples, n), seed=BETWEENNESS_SEED)
        else:
            scores = nx.betweenness_centrality(ug)
        kinds = views.projection(store).nodes
        ranked = sorted(((ref, round(s, 6)) for ref, s in scores.items()
                         if s > 0 and kinds[ref].get("kind") == "platform"), key=lambda x: (-x[1], x[0]))
        return SPOFReport(articulation_points=cut, central_platforms=ranked[:TOP_PLATFORMS])

    return views.derived(f"spof:{samples}", build)


def orphans(store: CatalogStore) -> list[str]:
    """Entities with no stored relationship at all, sorted. An organisation that owns something is not an orphan
    (its ties are the derived ``owned_by`` edges); an owned asset with no relationship is."""
    proj = _views(store).projection(store)
    linked: set[str] = set()
    owners: set[str] = set()
    for s, t, k in proj.edges(keys=True):
        if k == "owned_by":
            owners.add(t)
        else:
            linked.add(s)
            linked.add(t)
    return sorted(n for n, kind in proj.nodes(data="kind")
                  if n not in linked and not (kind == "organization" and n in owners))


def _canonical(cycle: list[str]) -> list[str]:
    i = cycle.index(min(cycle))
    return cycle[i:] + cycle[:i]


def cycles(store: CatalogStore, limit: int = 50, min_length: int = 2) -> list[list[str]]:
    """Dependency cycles (each rotated to start at its smallest ref), at most ``limit``, shortest first.

    A two-node cycle made by one relationship whose dependency is ``both`` (``federates_with``) is by design and not
    reported. ``min_length=3`` also hides the common two-node loops such as a system that reads and writes the same
    database.
    """
    dg = dependency_graph(store)
    out: list[list[str]] = []
    if limit <= 0:
        return out
    for cycle in nx.simple_cycles(dg):
        if len(cycle) < min_length:
            continue
        if len(cycle) == 2 and dg[cycle[0]][cycle[1]]["via"] == dg[cycle[1]][cycle[0]]["via"]:
            continue
        out.append(_canonical(cycle))
        if len(out) >= limit:
            break
    return sorted(out, key=lambda c: (len(c), c))


# ---------------------------------------------------------------------------------------------------------------
# Shared-database coupling


def shared_database_coupling(store: CatalogStore) -> list[Coupling]:
    """Databases used by systems of two or more organisations, directly (``reads``/``writes``) or through a service
    that exposes them (systems that ``consume`` it), with the platforms those services are published on. Systems
    without an owner are listed under the key ``""`` and do not count as an organisation. Sorted by database."""
    proj = _views(store).projection(store)
    nodes = proj.nodes
    out: list[Coupling] = []
    for db, kind in sorted(proj.nodes(data="kind")):
        if kind != "database":
            continue
        users: set[str] = set()
        platforms: set[str] = set()
        for src, _, k, d in proj.in_edges(db, keys=True, data=True):
            if k in ("reads", "writes") and _active(d) and nodes[src].get("kind") == "system":
                users.add(src)
        for _, svc, k, d in proj.out_edges(db, keys=True, data=True):
            if k != "exposes" or not _active(d):
                continue
            for src, _, k2, d2 in proj.in_edges(svc, keys=True, data=True):
                if k2 == "consumes" and _active(d2) and nodes[src].get("kind") == "system":
                    users.add(src)
            for _, plat, k2, d2 in proj.out_edges(svc, keys=True, data=True):
                if k2 == "published_on" and _active(d2):
                    platforms.add(plat)
        by_org: dict[str, list[str]] = {}
        for sys_ref in sorted(users):
            by_org.setdefault(nodes[sys_ref].get("owner") or "", []).append(sys_ref)
        if len([org for org in by_org if org]) >= 2:
            out.append(Coupling(database=db, systems=dict(sorted(by_org.items())), platforms=sorted(platforms)))
    return out


__all__ = ["Coupling", "ImpactItem", "SPOFReport", "clear_cache", "cycles", "dependency_graph", "impact", "orphans",
           "paths", "projection", "shared_database_coupling", "single_points_of_failure"]
