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
the full projection (:func:`impact_report`, which names each item's owner and relationships, reads it).

:func:`spof`, :func:`find_paths` and :func:`impact_report` describe their answers for people (each entity with its
name, kind and owner, each step of a path with its relationships and their direction) as JSON, the one shape the
API, the command line and the web UI give, and as CSV with labels in Vietnamese or English.

:func:`database_consumers` is the one reading of who uses a database (directly, or through the services that expose
it), from each relationship kind's ``database_role`` in the metamodel, over any graph: the projection for
:func:`shared_database_coupling`, a diagram's snapshot for the ``shared-db`` view.

Reading a projection never writes; SQL and Cypher stay in catalog/store/ — only CatalogStore methods are used here.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, overload

import networkx as nx
import orjson

from catalog.errors import NotFound
from catalog.i18n import msg
from catalog.metamodel import Label, Metamodel
from catalog.model import current_owner, rel_id
from catalog.store.base import CatalogStore

CACHE_SIZE = 2
BETWEENNESS_EXACT_LIMIT = 2000  # above this many nodes betweenness is estimated from a sample of sources
BETWEENNESS_SAMPLES = 50  # each sampled source is one BFS of the whole graph (bench/README.md: analyses)
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
    betweenness: dict[str, float] = field(default_factory=dict)  # every node's score above 0 (rounded)
    sampled_sources: int | None = None  # None: exact; else the number of sources betweenness was estimated from


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
        g.add_node(
            e["ref"],
            kind=e["kind"],
            name=name["vi"] or name["en"],
            name_en=name["en"] or name["vi"],
            owner=owner,
            lifecycle=e["attributes"].get("lifecycle"),
        )
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


def _active(data: Mapping[str, Any]) -> bool:
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
        edges = _dependency_edges(
            store,
            (
                (r["source"], r["target"], r["type"], r["id"], r["properties"])
                for r in map(loads, store.graph_json()[1])
            ),
        )
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
        return _ImpactIndex(
            refs=refs,
            number=number,
            dependents=[tuple(sorted(d)) for d in dependents],
            depends_on=[tuple(i for i, _ in d) for d in depends_on],
            via=[tuple(v for _, v in d) for d in depends_on],
        )

    return views.derived("impact_index", build)


class Impact(Sequence[ImpactItem]):
    """The result of :func:`impact`: a sequence of ImpactItem sorted by (depth, ref).

    The walk records only each hit's depth; an item's explanation path is rebuilt when the item is read (follow,
    from the item back to the failing entity, the smallest-numbered parent one level up). An outage of a data centre
    can hit tens of thousands of entities: the answer "what breaks" then costs one breadth-first walk, and paths are
    paid for only for the items someone looks at.
    """

    def __init__(self, ix: _ImpactIndex, start: int, order: list[int], depth_of: dict[int, int]):
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
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))
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
            raise NotFound(msg("entity-not-found", ref=ref))
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
            raise NotFound(msg("entity-not-found", ref=ref))


def _adjacency(views: _Views, store: CatalogStore) -> dict[str, tuple[str, ...]]:
    """Every entity's neighbours over stored relationships in either direction (not ownership), sorted by ref."""

    def build() -> dict[str, tuple[str, ...]]:
        proj = views.projection(store)
        near: dict[str, set[str]] = {n: set() for n in proj.nodes}
        for s, t, k in proj.edges(keys=True):
            if k != "owned_by" and s != t:
                near[s].add(t)
                near[t].add(s)
        return {n: tuple(sorted(ns)) for n, ns in near.items()}

    return views.derived("adjacency", build)


def _distances(adjacency: Mapping[str, tuple[str, ...]], start: str, cutoff: int) -> dict[str, int]:
    """Hops from ``start`` to every entity at most ``cutoff`` hops away (breadth-first)."""
    dist = {start: 0}
    frontier = [start]
    for d in range(1, cutoff + 1):
        level = []
        for n in frontier:
            for m in adjacency[n]:
                if m not in dist:
                    dist[m] = d
                    level.append(m)
        frontier = level
    return dist


def _simple_paths(
    adjacency: Mapping[str, tuple[str, ...]], source: str, target: str, max_length: int, wanted: int, budget: int
) -> tuple[list[list[str]], bool]:
    """Up to ``wanted`` simple paths from source to target of at most ``max_length`` hops, in (hops, refs) order,
    and whether the walk ran out of ``budget`` (neighbours looked at) before it had them all.

    One depth-first walk per length, neighbours in ref order, so paths of one length come out sorted; a neighbour
    is followed only if the target is still within reach of the hops left (distances from the target, computed
    once), which keeps the walk on paths that can end at the target.
    """
    dist = _distances(adjacency, target, max_length)
    if source not in dist:
        return [], False
    far = max_length + 1
    out: list[list[str]] = []
    for length in range(dist[source], max_length + 1):
        path, on_path = [source], {source}
        stack = [iter(adjacency[source])]
        while stack:
            left = length - len(path) + 1  # hops still to go from path[-1]
            for n in stack[-1]:
                budget -= 1
                if budget < 0:
                    return out, True
                if n == target:
                    if left == 1:
                        out.append([*path, n])
                        if len(out) >= wanted:
                            return out, False
                    continue
                if n in on_path or dist.get(n, far) > left - 1:
                    continue
                path.append(n)
                on_path.add(n)
                stack.append(iter(adjacency[n]))
                break
            else:
                stack.pop()
                on_path.discard(path.pop())
    return out, False


def paths(store: CatalogStore, source: str, target: str, max_length: int = 6, limit: int = 20) -> list[list[str]]:
    """Simple paths between two entities over stored relationships in either direction, shortest first (then by
    the refs along them); at most ``limit`` paths of at most ``max_length`` hops (:func:`find_paths` gives each
    step's relationships and says whether the list is complete)."""
    return [list(p.refs) for p in find_paths(store, source, target, max_length=max_length, limit=limit).paths]


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
        rounded = {ref: round(s, 6) for ref, s in sorted(scores.items()) if round(s, 6) > 0}
        ranked = sorted(
            ((ref, s) for ref, s in rounded.items() if kinds[ref].get("kind") == "platform"),
            key=lambda x: (-x[1], x[0]),
        )
        return SPOFReport(
            articulation_points=cut,
            central_platforms=ranked[:TOP_PLATFORMS],
            betweenness=rounded,
            sampled_sources=min(samples, n) if n > BETWEENNESS_EXACT_LIMIT else None,
        )

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
    return sorted(n for n in proj.nodes if n not in linked and n not in owners)  # owners: the targets of owned_by


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


class RelationshipLike(Protocol):
    """What :func:`database_consumers` reads of a relationship (catalog.model.Relationship has it)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def properties(self) -> Mapping[str, Any]: ...


R = TypeVar("R", bound=RelationshipLike)


@dataclass(frozen=True)
class DatabaseConsumers(Generic[R]):
    """Who uses one database's data, by the metamodel's ``RelationSpec.database_role`` of each relationship: the
    ``use`` relationships into the database or into a service that exposes it (their sources are the users), the
    database's ``exposure`` relationships (and those of other databases exposing the same services), who provides
    those services and the platforms they are published on. Each list is sorted by relationship id."""

    database: str
    uses: tuple[R, ...]
    exposures: tuple[R, ...]
    provisions: tuple[R, ...]
    publications: tuple[R, ...]

    @property
    def services(self) -> list[str]:
        """The services that expose the database."""
        return sorted({r.target for r in self.exposures if r.source == self.database})

    @property
    def users(self) -> list[str]:
        return sorted({r.source for r in self.uses})

    @property
    def platforms(self) -> list[str]:
        return sorted({r.target for r in self.publications})

    def relationships(self) -> list[R]:
        """Every relationship above, once, by id."""
        every = {r.id: r for group in (self.uses, self.exposures, self.provisions, self.publications) for r in group}
        return [every[k] for k in sorted(every)]


def database_role(metamodel: Metamodel, type_: str) -> str:
    """The part relationships of ``type_`` play in the use of a database (``RelationSpec.database_role``)."""
    spec = metamodel.relations.get(type_)
    return spec.database_role if spec is not None and not spec.derived else "none"


def database_consumers(
    metamodel: Metamodel, database: str, touching: Callable[[str], Iterable[R]]
) -> DatabaseConsumers[R]:
    """Who uses ``database``, directly or through the services that expose it (see :class:`DatabaseConsumers`),
    read through ``touching(ref)``: the relationships with ``ref`` at either end, from any graph (the store's
    projection, a diagram's snapshot). Relationships whose ``status`` is ``retired`` carry nothing and are left out.
    The one reading of the metamodel for :func:`shared_database_coupling` and the ``shared-db`` diagram."""
    found: dict[str, dict[str, R]] = {"use": {}, "exposure": {}, "provision": {}, "publication": {}}
    for r in touching(database):
        role = database_role(metamodel, r.type)
        if ((role == "use" and r.target == database) or (role == "exposure" and r.source == database)) and _active(
            r.properties
        ):
            found[role][r.id] = r
    for service in sorted({r.target for r in found["exposure"].values()}):
        for r in touching(service):
            role = database_role(metamodel, r.type)
            if role == "none" or not _active(r.properties):
                continue
            if (r.source if role == "publication" else r.target) == service:
                found[role][r.id] = r
    return DatabaseConsumers(
        database,
        *(tuple(found[k][i] for i in sorted(found[k])) for k in ("use", "exposure", "provision", "publication")),
    )


class _Edge(NamedTuple):
    id: str
    type: str
    source: str
    target: str
    properties: Mapping[str, Any]


def _projection_touching(proj: nx.MultiDiGraph) -> Callable[[str], list[_Edge]]:
    def touching(ref: str) -> list[_Edge]:
        return [
            _Edge(d["id"], d["type"], s, t, d)
            for s, t, d in (*proj.out_edges(ref, data=True), *proj.in_edges(ref, data=True))
        ]

    return touching


def shared_database_coupling(store: CatalogStore) -> list[Coupling]:
    """Databases used by systems of two or more organisations, directly (``reads``/``writes``) or through a service
    that exposes them (systems that ``consume`` it), with the platforms those services are published on
    (:func:`database_consumers`). Systems without an owner are listed under the key ``""`` and do not count as an
    organisation. Sorted by database."""
    proj = _views(store).projection(store)
    nodes = proj.nodes
    touching = _projection_touching(proj)
    out: list[Coupling] = []
    for db, kind in sorted(proj.nodes(data="kind")):
        if kind != "database":
            continue
        use = database_consumers(store.metamodel, db, touching)
        by_org: dict[str, list[str]] = {}
        for sys_ref in use.users:
            if nodes[sys_ref].get("kind") == "system":
                by_org.setdefault(nodes[sys_ref].get("owner") or "", []).append(sys_ref)
        if len([org for org in by_org if org]) >= 2:
            out.append(Coupling(database=db, systems=dict(sorted(by_org.items())), platforms=use.platforms))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Answers for people: single points of failure, paths and impact with each entity's name, kind and owner, each step
# of a path with its relationships, as JSON (one shape for the API, the command line and the web UI) and as CSV

PATHS_MAX_LENGTH = 6  # hops
PATHS_MAX_LIMIT = 100  # paths in one answer
PATHS_MAX_CHECKS = 500_000  # neighbours one paths question may look at; past it the answer is marked truncated

# Column headers and reasons of the analyses' tables and CSV files, in Vietnamese and English
LABELS: dict[str, Label] = {
    "articulation_point": Label("Đỉnh khớp", "Articulation point"),  # its outage splits the dependency graph
    "high_betweenness": Label("Độ trung gian cao", "High betweenness"),  # on many dependency paths
    "ref": Label("Mã", "Reference"),
    "name": Label("Tên", "Name"),
    "kind": Label("Loại", "Kind"),
    "owner": Label("Mã chủ quản", "Owner reference"),
    "owner_name": Label("Chủ quản", "Owner"),
    "reasons": Label("Lý do", "Reasons"),
    "betweenness": Label("Độ trung gian", "Betweenness"),
    "rank": Label("Hạng", "Rank"),
    "path": Label("Đường", "Path"),
    "hops": Label("Số bước", "Hops"),
    "step": Label("Bước", "Step"),
    "from": Label("Từ (mã)", "From (reference)"),
    "from_name": Label("Từ", "From"),
    "relationship": Label("Quan hệ", "Relationship"),
    "to": Label("Đến (mã)", "To (reference)"),
    "to_name": Label("Đến", "To"),
    "depth": Label("Số bước", "Hops"),
    "because": Label("Vì", "Because"),
    "through": Label("Qua dịch vụ", "Through the service"),
    "users": Label("Người dùng CSDL", "Database users"),
    "spof": Label("Điểm lỗi đơn", "Single points of failure"),
    "paths": Label("Đường nối", "Paths"),
    "impact": Label("Ảnh hưởng", "Impact"),
    "dependencies": Label("Phụ thuộc", "Dependencies"),
}


def _label_json(label: Label | None) -> dict[str, str] | None:
    return {"vi": label.vi, "en": label.en} if label is not None else None


@dataclass(frozen=True, slots=True)
class Node:
    """An entity as an analysis answer shows it: enough to list it without reading the store again."""

    ref: str
    kind: str
    kind_label: Label
    name: Label
    owner: str | None
    owner_name: Label | None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "kind_label": _label_json(self.kind_label),
            "name": _label_json(self.name),
            "owner": self.owner,
            "owner_name": _label_json(self.owner_name),
        }


@dataclass(frozen=True, slots=True)
class Link:
    """A stored relationship between two consecutive entities of a path; ``forward`` when it is stored from the
    step's first entity to its second."""

    id: str
    type: str
    label: Label
    forward: bool
    properties: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "label": _label_json(self.label),
            "direction": "forward" if self.forward else "backward",
            "properties": dict(self.properties),
        }

    def text(self, lang: str) -> str:
        return f"→ {self.label.get(lang)} →" if self.forward else f"← {self.label.get(lang)} ←"


@dataclass(frozen=True, slots=True)
class Step:
    """One hop of a path, from ``source`` to ``target``, with the relationships that connect them."""

    source: str
    target: str
    links: tuple[Link, ...]

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "relationships": [x.to_json() for x in self.links]}


@dataclass(frozen=True, slots=True)
class EntityPath:
    """A path through ``refs``, one step per hop."""

    refs: tuple[str, ...]
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {"length": len(self.steps), "refs": list(self.refs), "steps": [s.to_json() for s in self.steps]}


class _Describe:
    """Nodes and links of one revision's projection, labelled from the metamodel."""

    def __init__(self, store: CatalogStore, views: _Views):
        self.proj = views.projection(store)
        self.metamodel = store.metamodel

    def node(self, ref: str) -> Node:
        data = self.proj.nodes[ref]
        kind, owner = data["kind"], data.get("owner")
        spec = self.metamodel.kinds.get(kind)
        owner_data = self.proj.nodes[owner] if owner and owner in self.proj else None
        return Node(
            ref=ref,
            kind=kind,
            kind_label=spec.label if spec else Label(kind, kind),
            name=Label(data["name"], data["name_en"]),
            owner=owner,
            owner_name=Label(owner_data["name"], owner_data["name_en"]) if owner_data else None,
        )

    def nodes(self, refs: Iterable[str]) -> dict[str, Node]:
        return {ref: self.node(ref) for ref in sorted(set(refs))}

    def _link(self, data: Mapping[str, Any], forward: bool) -> Link:
        type_ = data["type"]
        spec = self.metamodel.relations.get(type_)
        props = {k: v for k, v in data.items() if k not in ("type", "id")}
        return Link(
            id=data["id"],
            type=type_,
            label=spec.label if spec else Label(type_, type_),
            forward=forward,
            properties=props,
        )

    def links(self, a: str, b: str) -> tuple[Link, ...]:
        """Every stored relationship between a and b, either way, by id."""
        out = [self._link(d, True) for k, d in (self.proj.get_edge_data(a, b) or {}).items() if k != "owned_by"]
        if a != b:
            out += [self._link(d, False) for k, d in (self.proj.get_edge_data(b, a) or {}).items() if k != "owned_by"]
        return tuple(sorted(out, key=lambda x: x.id))

    def path(self, refs: Sequence[str], via: Sequence[str] | None = None) -> EntityPath:
        """The path through ``refs``: each step with every relationship between its two entities, or, with
        ``via``, only the named relationship of each step."""
        steps = []
        for i in range(len(refs) - 1):
            links = self.links(refs[i], refs[i + 1])
            if via is not None:
                links = tuple(x for x in links if x.id == via[i])
            steps.append(Step(refs[i], refs[i + 1], links))
        return EntityPath(tuple(refs), tuple(steps))


def _csv(header: list[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV for spreadsheets (:func:`catalog.sheets.write_csv`)."""
    from catalog.sheets import write_csv

    return write_csv(header, rows)


def _xlsx(title: Label, header: list[str], rows: list[list[Any]], lang: str, stamp: Any = None) -> bytes:
    """One-sheet XLSX of an analysis (:func:`catalog.sheets.write_xlsx`); ``stamp`` defaults to now."""
    import datetime as dt

    from catalog.sheets import Sheet, write_xlsx

    when = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return write_xlsx([Sheet(title.get(lang), header, rows)], title.get(lang), when)


def _name(node: Node | None, lang: str) -> str:
    return node.name.get(lang) if node else ""


@dataclass(frozen=True, slots=True)
class SPOFItem:
    """One single point of failure and why: an articulation point, a platform of high betweenness, or both."""

    node: Node
    articulation_point: bool
    betweenness: float  # score in the undirected dependency graph (0 to 1)
    rank: int | None  # 1 = the most central platform; set when high betweenness is a reason

    @property
    def reasons(self) -> list[str]:
        return [
            r
            for r, on in (("articulation_point", self.articulation_point), ("high_betweenness", self.rank is not None))
            if on
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.node.to_json(),
            "reasons": self.reasons,
            "articulation_point": self.articulation_point,
            "high_betweenness": self.rank is not None,
            "betweenness": self.betweenness,
            "rank": self.rank,
        }


@dataclass(frozen=True)
class SPOFList:
    """The answer of :func:`spof`: items by betweenness (highest first), then ref."""

    items: list[SPOFItem]
    top_platforms: int
    sampled_sources: int | None

    COLUMNS = ("ref", "name", "kind", "owner", "owner_name", "reasons", "betweenness", "rank")

    def to_json(self) -> dict[str, Any]:
        return {
            "count": len(self.items),
            "betweenness": {"top_platforms": self.top_platforms, "sampled_sources": self.sampled_sources},
            "items": [i.to_json() for i in self.items],
        }

    def rows(self, lang: str) -> list[list[Any]]:
        """One row per item, in :attr:`COLUMNS` order, labels in ``lang``."""
        return [
            [
                i.node.ref,
                i.node.name.get(lang),
                i.node.kind_label.get(lang),
                i.node.owner or "",
                i.node.owner_name.get(lang) if i.node.owner_name else "",
                "; ".join(LABELS[r].get(lang) for r in i.reasons),
                f"{i.betweenness:.6f}",
                "" if i.rank is None else i.rank,
            ]
            for i in self.items
        ]

    def to_csv(self, lang: str = "vi") -> bytes:
        return _csv([LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang))

    def to_xlsx(self, lang: str = "vi", stamp: Any = None) -> bytes:
        return _xlsx(LABELS["spof"], [LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang), lang, stamp)


def spof(store: CatalogStore, samples: int = BETWEENNESS_SAMPLES) -> SPOFList:
    """:func:`single_points_of_failure` as a list a person reads: every articulation point and every platform
    among the :data:`TOP_PLATFORMS` most central, each with its name, kind, owner, reasons, betweenness score and
    (for the central platforms) rank; highest betweenness first, then by ref."""
    report = single_points_of_failure(store, samples)
    views = _views(store)
    describe = _Describe(store, views)
    cut = set(report.articulation_points)
    rank = {ref: i + 1 for i, (ref, _) in enumerate(report.central_platforms)}
    items = [
        SPOFItem(describe.node(ref), ref in cut, report.betweenness.get(ref, 0.0), rank.get(ref))
        for ref in sorted(cut | set(rank))
    ]
    items.sort(key=lambda i: (-i.betweenness, i.node.ref))
    return SPOFList(items=items, top_platforms=TOP_PLATFORMS, sampled_sources=report.sampled_sources)


@dataclass(frozen=True)
class PathsReport:
    """The answer of :func:`find_paths`. ``truncated``: more paths of at most ``max_length`` hops exist than are
    listed (or the walk reached :data:`PATHS_MAX_CHECKS` first)."""

    source: Node
    target: Node
    max_length: int
    limit: int
    paths: list[EntityPath]
    entities: dict[str, Node]  # every entity on a listed path, by ref
    truncated: bool

    COLUMNS = ("path", "hops", "step", "from", "from_name", "relationship", "to", "to_name")

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source.to_json(),
            "to": self.target.to_json(),
            "max_length": self.max_length,
            "limit": self.limit,
            "count": len(self.paths),
            "truncated": self.truncated,
            "paths": [p.to_json() for p in self.paths],
            "entities": [n.to_json() for _, n in sorted(self.entities.items())],
        }

    def rows(self, lang: str) -> list[list[Any]]:
        """One row per step of each path, in :attr:`COLUMNS` order, labels in ``lang``."""
        out: list[list[Any]] = []
        for i, p in enumerate(self.paths, 1):
            for j, st in enumerate(p.steps, 1):
                out.append(
                    [
                        i,
                        len(p.steps),
                        j,
                        st.source,
                        _name(self.entities.get(st.source), lang),
                        "; ".join(x.text(lang) for x in st.links),
                        st.target,
                        _name(self.entities.get(st.target), lang),
                    ]
                )
        return out

    def to_csv(self, lang: str = "vi") -> bytes:
        return _csv([LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang))

    def to_xlsx(self, lang: str = "vi", stamp: Any = None) -> bytes:
        return _xlsx(LABELS["paths"], [LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang), lang, stamp)


def find_paths(store: CatalogStore, source: str, target: str, max_length: int = 4, limit: int = 20) -> PathsReport:
    """Simple paths between two entities over stored relationships in either direction: the first ``limit`` in
    (hops, refs along them) order among those of at most ``max_length`` hops, each step with every relationship
    between its two entities and its direction. Deterministic; the work is bounded by :data:`PATHS_MAX_CHECKS`.

    Raises NotFound for an unknown reference and ValueError for ``max_length`` outside 1-:data:`PATHS_MAX_LENGTH`
    or ``limit`` outside 1-:data:`PATHS_MAX_LIMIT` (the API and the command line check both first). The same entity
    at both ends gives the one path of no step.
    """
    if not 1 <= max_length <= PATHS_MAX_LENGTH:
        raise ValueError(f"max_length must be 1 to {PATHS_MAX_LENGTH}")
    if not 1 <= limit <= PATHS_MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {PATHS_MAX_LIMIT}")
    views = _views(store)
    _require(views, store, source, target)
    if source == target:
        found, truncated = [[source]], False
    else:
        found, out_of_budget = _simple_paths(
            _adjacency(views, store), source, target, max_length, limit + 1, PATHS_MAX_CHECKS
        )
        truncated = out_of_budget or len(found) > limit
        found = found[:limit]
    describe = _Describe(store, views)
    entities = describe.nodes([source, target, *(ref for p in found for ref in p)])
    return PathsReport(
        source=entities[source],
        target=entities[target],
        max_length=max_length,
        limit=limit,
        paths=[describe.path(p) for p in found],
        entities=entities,
        truncated=truncated,
    )


@dataclass(frozen=True)
class ImpactReport:
    """One page of :func:`impact` for people: each item with its name, kind, owner and explanation path (each step
    with the relationship that explains it), and every entity those paths name."""

    entity: Node
    total: int
    max_depth: int | None
    limit: int
    offset: int
    items: list[tuple[ImpactItem, EntityPath]]
    entities: dict[str, Node]
    direction: str = "dependents"  # "dependencies": what the entity depends on (:func:`dependencies_report`)

    COLUMNS = ("depth", "ref", "name", "kind", "owner", "owner_name", "because")

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.entity.ref,
            "direction": self.direction,
            "entity": self.entity.to_json(),
            "total": self.total,
            "max_depth": self.max_depth,
            "limit": self.limit,
            "offset": self.offset,
            "items": [
                {
                    **self.entities[item.ref].to_json(),
                    "depth": item.depth,
                    "path": list(item.path),
                    "relationships": list(item.relationships),
                    "steps": [st.to_json() for st in path.steps],
                }
                for item, path in self.items
            ],
            "entities": [n.to_json() for _, n in sorted(self.entities.items())],
        }

    def rows(self, lang: str) -> list[list[Any]]:
        """One row per item, in :attr:`COLUMNS` order, labels in ``lang``; "because" is the path by names."""
        out: list[list[Any]] = []
        for item, _ in self.items:
            n = self.entities[item.ref]
            out.append(
                [
                    item.depth,
                    n.ref,
                    n.name.get(lang),
                    n.kind_label.get(lang),
                    n.owner or "",
                    n.owner_name.get(lang) if n.owner_name else "",
                    " → ".join(_name(self.entities.get(r), lang) for r in item.path),
                ]
            )
        return out

    def to_csv(self, lang: str = "vi") -> bytes:
        return _csv([LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang))

    def to_xlsx(self, lang: str = "vi", stamp: Any = None) -> bytes:
        title = LABELS["dependencies" if self.direction == "dependencies" else "impact"]
        return _xlsx(title, [LABELS[c].get(lang) for c in self.COLUMNS], self.rows(lang), lang, stamp)


def impact_report(
    store: CatalogStore, ref: str, max_depth: int | None = None, limit: int = 100, offset: int = 0
) -> ImpactReport:
    """Items ``offset`` to ``offset + limit`` of :func:`impact` (same order), described for people: only that
    page's paths are built."""
    hit = impact(store, ref, max_depth=max_depth)
    page = hit[offset : offset + limit]
    views = _views(store)
    describe = _Describe(store, views)
    entities = describe.nodes([ref, *(r for item in page for r in item.path)])
    items = [(item, describe.path(item.path, item.relationships)) for item in page]
    return ImpactReport(
        entity=entities[ref],
        total=len(hit),
        max_depth=max_depth,
        limit=limit,
        offset=offset,
        items=items,
        entities=entities,
    )


def dependencies_report(
    store: CatalogStore, ref: str, max_depth: int | None = None, limit: int = 100, offset: int = 0
) -> ImpactReport:
    """What ``ref`` depends on, transitively (the other direction of :func:`impact`): every entity reachable over
    dependency edges, by (hops, ref), each with a shortest explanation path from ``ref`` and the relationships
    along it; items ``offset`` to ``offset + limit``. Raises NotFound for an unknown reference."""
    views = _views(store)
    _require(views, store, ref)
    dg = dependency_graph(store)
    reach = nx.single_source_shortest_path(dg, ref, cutoff=max_depth) if ref in dg else {ref: [ref]}
    order = sorted((len(p) - 1, r) for r, p in reach.items() if r != ref)
    page = order[offset : offset + limit]
    items = []
    for depth, r in page:
        path = tuple(reach[r])
        via = tuple(dg.edges[path[i], path[i + 1]]["via"] for i in range(len(path) - 1))
        items.append(ImpactItem(r, depth, path, via))
    describe = _Describe(store, views)
    entities = describe.nodes([ref, *(x for item in items for x in item.path)])
    return ImpactReport(
        entity=entities[ref],
        total=len(order),
        max_depth=max_depth,
        limit=limit,
        offset=offset,
        items=[(item, describe.path(item.path, item.relationships)) for item in items],
        entities=entities,
        direction="dependencies",
    )


__all__ = [
    "LABELS",
    "PATHS_MAX_LENGTH",
    "PATHS_MAX_LIMIT",
    "Coupling",
    "DatabaseConsumers",
    "EntityPath",
    "ImpactItem",
    "ImpactReport",
    "Link",
    "Node",
    "PathsReport",
    "RelationshipLike",
    "SPOFItem",
    "SPOFList",
    "SPOFReport",
    "Step",
    "clear_cache",
    "cycles",
    "database_consumers",
    "database_role",
    "dependencies_report",
    "dependency_graph",
    "find_paths",
    "impact",
    "impact_report",
    "orphans",
    "paths",
    "projection",
    "shared_database_coupling",
    "single_points_of_failure",
    "spof",
]
