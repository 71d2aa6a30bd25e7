"""The built-in views. Each selects part of one snapshot of the catalog (catalog.history.snapshot: as of a date, both
clocks) and says how to group it; none knows DOT. They register like an extension's view (diagrams.registry).

- ``ioc``: how data reaches an operations centre: every entity of its city or province (:class:`Scope`) with a
  dependency path into it along the relationship kinds the metamodel marks ``ioc_path``, each in its dependency
  direction (relationships with status ``retired`` carry nothing and are not followed); entities owned elsewhere
  are external sources whose own upstream is not followed (``lineage="full"``: every source); flows via a platform
  go through its node; clustered by owner, with the shared platforms grouped together and the IOC on its own, in
  layers left to right (:func:`ioc_layer`). Without a ref: the city IOCs of the catalog's own city or province.
- ``department``: an organisation's assets (its own and its units', by the parent chain) and their direct
  connections.
- ``context``: everything within ``depth`` hops of one entity in ``direction``.
- ``shared-db``: who reads and writes one database, directly or through the services it exposes, and on which
  platforms those services are published (catalog.analysis.database_consumers, as the coupling analysis reads it),
  with the database's other data flows.
- ``landscape``: every asset clustered by organisation (nested by parent); past ``limit`` nodes it collapses to one
  node per organisation with aggregated data-flow edges.
- ``diff``: the difference between the snapshots at two dates: added (green), removed (red, dashed), changed
  (orange: content or owner on the day), with unchanged endpoints of changed relationships in grey.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.analysis import database_consumers, database_role
from catalog.history.facts import EntityFacts, RelationshipFacts
from catalog.history.snapshot import (
    RecordReader,
    Snapshot,
    cached_snapshot,
    days,
    load_snapshot,
    parse_day,
    partial_snapshot,
    record_reader,
)
from catalog.i18n import DATE_PATTERNS, format_date, msg
from catalog.metamodel import DEFAULT, Label, Metamodel
from catalog.model import Entity, Relationship
from catalog.store.base import CatalogStore
from diagrams.changes import diff_snapshots
from diagrams.compose import (
    SHARED_DATABASE_SCOPES,
    SHARED_PLATFORM_TYPES,
    active,
    add_edges,
    cluster_for,
    entity_node,
    merge_edges,
    org_cluster,
    owner_cluster,
    rel_edge,
    routed_edges,
    short_name,
)
from diagrams.model import Cluster, Diagram, Edge, Node
from diagrams.registry import ViewParams
from diagrams.style import word

IOC_CLUSTER = "group:ioc"


def ioc_types(metamodel: Metamodel) -> tuple[str, ...]:
    """The relationship kinds followed into an operations centre (``RelationSpec.ioc_path``)."""
    return tuple(name for name, spec in metamodel.relations.items() if spec.ioc_path and not spec.derived)


def _diagram(view: str, title: str, snap: Snapshot, params: ViewParams, rankdir: str = "LR") -> Diagram:
    return Diagram(
        view=view,
        title=title,
        lang=params.lang,
        day=snap.day.isoformat(),
        as_of=snap.as_of.isoformat() if snap.as_of else None,
        revision=snap.revision,
        rankdir=rankdir,
    )


def upstream(snap: Snapshot, roots: list[str], types: tuple[str, ...]) -> tuple[set[str], list[Relationship]]:
    """Everything the roots depend on, transitively, along ``types`` (metamodel dependency direction), and the
    relationships followed."""
    seen, todo, followed = set(roots), list(roots), []
    while todo:
        x = todo.pop()
        for r in snap.outgoing.get(x, []):
            if r.type in types and active(r) and snap.metamodel.relations[r.type].dependency == "source_on_target":
                followed.append(r)
                if r.target not in seen:
                    seen.add(r.target)
                    todo.append(r.target)
        for r in snap.incoming.get(x, []):
            if r.type in types and active(r) and snap.metamodel.relations[r.type].dependency == "target_on_source":
                followed.append(r)
                if r.source not in seen:
                    seen.add(r.source)
                    todo.append(r.source)
    return seen, followed


class _SnapshotView:
    name = ""
    label = Label("", "")
    title = Label("", "")
    description = ""
    ref_kinds: tuple[str, ...] | None = ()

    def build(self, store: CatalogStore, params: ViewParams) -> Diagram:
        as_of, day = days(store, params.as_of, params.valid_on)
        snap = cached_snapshot(store, as_of, day)  # the whole one if already read
        if snap is None and self.reads_parts:
            reader = record_reader(store, as_of)
            if reader is not None:  # the view can read just its part of the record
                snap = self.read_part(store, params, _Part(reader, day, as_of))
                if not reader.unchanged():  # written meanwhile: the parts may not be of one revision
                    snap = None
        if snap is None:
            snap = load_snapshot(store, params.as_of, params.valid_on)
        if params.ref:
            snap.require(params.ref, self.ref_kinds or ())
        return self.draw(snap, params)

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:  # pragma: no cover - abstract
        raise NotImplementedError

    reads_parts = False  # has a read_part

    def read_part(self, store: CatalogStore, params: ViewParams, part: _Part) -> Snapshot | None:
        """A snapshot of just the part of the current record this view draws (None: read it all), on the world
        date ``part.day``. ``draw`` must give the same diagram from it as from the whole snapshot: every entity
        and relationship ``draw`` looks at must be in it (the views below read a superset: what was recorded,
        whatever its validity or status, which ``draw`` then filters as it filters the whole snapshot)."""
        return None


class _Part:
    """A view's part of the record at ``as_of``, read step by step and drawn on ``day`` (see
    ``_SnapshotView.read_part``)."""

    def __init__(self, reader: RecordReader, day: dt.date, as_of: dt.date | None):
        self.reader, self.day, self.as_of = reader, day, as_of
        self.entities: dict[str, EntityFacts] = {}

    def around(self, refs: Iterable[str] = (), owners: Iterable[str] = ()) -> list[RelationshipFacts]:
        """Read the entities ``refs`` and those owned by ``owners`` (any period); their relationships."""
        ents, rels = self.reader.part(refs, owners)
        self.entities.update(ents)
        return rels

    def where(self, kind: str, **attributes: str) -> set[str]:
        """Refs of the entities of ``kind`` with these attribute values (whatever their validity)."""
        return self.reader.where(kind, attributes)

    def snapshot(self, rels: list[RelationshipFacts], refs: Iterable[str] = ()) -> Snapshot:
        """The snapshot of what was read, the relationships ``rels`` and the entities they and ``refs`` name."""
        rels = sorted({r.id: r for r in rels}.values(), key=lambda r: r.id)
        missing = (set(refs) | {x for r in rels for x in (r.source, r.target)}) - self.entities.keys()
        if missing:
            self.entities.update(self.reader.part(missing, relationships=False)[0])
        return partial_snapshot(self.reader, self.entities, rels, self.day, self.as_of)


class IocView(_SnapshotView):
    name = "ioc"
    label = Label("Tích hợp dữ liệu vào IOC", "IOC integration")
    title = Label("Tích hợp dữ liệu vào Trung tâm điều hành", "Data integration into the operations centre")
    description = (
        "An operations centre (--ref, default the city IOCs of the catalog's own city or province) and everything "
        "of its city or province with a dependency path into it, clustered by owner and layered left to right; "
        "entities owned elsewhere are external sources at the left edge (--lineage full: every source, and "
        "without --ref every city IOC)"
    )
    ref_kinds = None
    reads_parts = True

    def read_part(self, store: CatalogStore, params: ViewParams, part: _Part) -> Snapshot | None:
        if params.ref:
            roots = {params.ref}
        else:
            roots = part.where("platform", platform_subtype="city_ioc")
        # the whole lineage, over every recorded relationship of the types, whatever its status or validity: a
        # superset of what draw() follows (which stops at entities owned outside the scope)
        deps = {t: store.metamodel.relations[t].dependency for t in ioc_types(store.metamodel)}
        seen, frontier, read = set(roots), set(roots), []
        while frontier:
            nxt = set()
            for r in part.around(frontier):
                if r.type in deps:
                    read.append(r)
                    if deps[r.type] == "source_on_target" and r.source in frontier:
                        nxt.add(r.target)
                    elif deps[r.type] == "target_on_source" and r.target in frontier:
                        nxt.add(r.source)
            frontier = nxt - seen
            seen |= nxt
        # what draw() uses: relationships between members, and the targets of those on the path that carry no data
        # (published_on: written as notes); the platforms flows go via come with the snapshot (partial_snapshot
        # reads every ``via``)
        notes = {t for t in deps if store.metamodel.relations[t].flows_from is None}
        return part.snapshot([r for r in read if r.source in seen and (r.target in seen or r.type in notes)], seen)

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        types = ioc_types(snap.metamodel)
        scope = Scope(snap)
        full = params.lineage == "full"
        if params.ref:
            roots = [snap.require(params.ref, ("platform",)).ref]
            home = scope.of(roots[0])
        elif full:  # every city IOC and every source: the whole country's picture
            roots, home = _city_iocs(snap), None
        else:
            roots, home = _home_iocs(snap, scope, types)
        inside = (lambda ref: True) if full or home is None else (lambda ref: scope.of(ref) in (home, None))
        members, external = scoped_upstream(snap, roots, types, inside)
        if not roots:
            where = word("whole_catalog", lang)  # no operations centre to draw
        elif full or home is None:  # asked for, or the IOC's owner is not recorded: nothing to stop at
            where = word("full_lineage", lang)
        else:
            o = snap.entity(home)
            where = o.name.get(lang) if o is not None else home
        names = list(dict.fromkeys(snap.entities[r].name.get(lang) for r in roots))
        d = _diagram(self.name, _scoped(self.title.get(lang), names, where, snap, lang), snap, params)
        relations = snap.metamodel.relations
        flows = {t for t in types if relations[t].flows_from is not None}
        # data flows between members, the external sources' own inputs left out (their upstream is not drawn);
        # a flow that goes via a platform is drawn through that platform's node
        drawn: list[tuple[Relationship, str | None]] = []
        for r in snap.relationships:
            if r.type not in flows or r.source not in members or r.target not in members or not active(r):
                continue
            _, head = relations[r.type].flow(r.source, r.target) or (r.source, r.target)
            if head in external:
                continue
            via = r.properties.get("via")
            via = via if isinstance(via, str) and via in snap.entities and via not in (r.source, r.target) else None
            if via is not None and via not in members:
                members.add(via)
                if not inside(via):
                    external.add(via)
            drawn.append((r, via))
        d.add_cluster(Cluster(IOC_CLUSTER, word("ioc", lang), sort="\u0001"))
        if external:
            d.add_cluster(Cluster(EXTERNAL, word("external_sources", lang), sort="\u0000", highlight="external"))
        for ref in sorted(members):
            e = snap.entities[ref]
            if ref in roots:
                d.add_node(entity_node(snap, e, lang, IOC_CLUSTER, highlight="focus", layer=4))
            elif ref in external:
                cluster = owner_cluster(d, snap, ref, lang, key=f"{EXTERNAL}/", parent=EXTERNAL)
                d.add_node(entity_node(snap, e, lang, cluster, highlight="external", layer=0))
            else:
                d.add_node(entity_node(snap, e, lang, cluster_for(d, snap, e, lang), layer=ioc_layer(e)))
        # relationships on the path that carry no data (published_on) are drawn as a note on their source ("published
        # on LGSP"), not as edges: a line from every service to the LGSP crosses the whole diagram and says less
        notes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in snap.relationships:
            if r.type in types and r.type not in flows and r.source in d.nodes and active(r):
                notes[r.source][r.type].append(short_name(snap.entity(r.target), lang, r.target))
        for ref, by_type in notes.items():
            d.nodes[ref].sublabel = "; ".join(
                f"{relations[t].label.get(lang)} {', '.join(sorted(ends))}" for t, ends in sorted(by_type.items())
            )
        edges: list[Edge] = []
        for r, via in sorted(drawn, key=lambda x: x[0].id):
            edges += routed_edges(snap, r, via, lang) if via else [rel_edge(snap, r, lang)]
        d.edges += merge_edges(edges)
        return d


EXTERNAL = "group:external"


class Scope:
    """The city or province an entity belongs to on the snapshot's day: the top of its owner's parent chain (of
    the organisation itself for an organisation); None when no owner is recorded."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._roots: dict[str, str] = {}

    def of(self, ref: str) -> str | None:
        snap = self.snap
        e = snap.entity(ref)
        org = ref if e is not None and snap.metamodel.is_organisation(e.kind) else snap.owner(ref)
        if org is None:
            return None
        if org not in self._roots:
            self._roots[org] = _root(snap, org)
        return self._roots[org]


def scoped_upstream(snap: Snapshot, roots: list[str], types: tuple[str, ...], inside: Any) -> tuple[set[str], set[str]]:
    """:func:`upstream` of the roots that stops at entities outside the scope (``inside(ref)`` false): those are
    members, as external sources, but what they depend on is not followed. Returns (members, external)."""
    relations = snap.metamodel.relations
    seen, external, todo = set(roots), set(), list(roots)
    while todo:
        x = todo.pop()
        nexts = [
            r.target
            for r in snap.outgoing.get(x, [])
            if r.type in types and active(r) and relations[r.type].dependency == "source_on_target"
        ] + [
            r.source
            for r in snap.incoming.get(x, [])
            if r.type in types and active(r) and relations[r.type].dependency == "target_on_source"
        ]
        for n in nexts:
            if n in seen or n not in snap.entities:
                continue
            seen.add(n)
            if inside(n):
                todo.append(n)
            else:
                external.add(n)
    return seen, external


def _home_iocs(snap: Snapshot, scope: Scope, types: tuple[str, ...]) -> tuple[list[str], str | None]:
    """The city IOCs drawn without --ref: those of the city or province whose own entities reach its city IOCs
    most (the catalog's own city: a city's catalog holds other provinces only as far as they connect to it), and
    that city or province."""
    iocs = _city_iocs(snap)
    by_scope: dict[str | None, list[str]] = defaultdict(list)
    for ref in iocs:
        by_scope[scope.of(ref)].append(ref)
    best: tuple[int, str] | None = None
    home: str | None = None
    for where, refs in by_scope.items():
        members, _ = scoped_upstream(snap, refs, types, lambda ref, w=where: scope.of(ref) in (w, None))
        key = (len(members), "" if where is None else where)
        if best is None or key[0] > best[0] or (key[0] == best[0] and key[1] < best[1]):
            best, home = key, where
    return (by_scope[home] if iocs else []), home


def _city_iocs(snap: Snapshot) -> list[str]:
    return sorted(
        e.ref
        for e in snap.entities.values()
        if e.kind == "platform" and e.attributes.get("platform_subtype") == "city_ioc"
    )


def ioc_layer(e: Entity) -> int:
    """The column of an in-scope entity in the IOC view, left to right: sector systems (and the operations centres
    that feed the city's) 1, their databases 2, shared databases, services and shared platforms (warehouse, LGSP,
    NDXP, data centre, identity) 3; the IOC is 4, external sources 0."""
    if e.kind == "database":
        return 3 if e.attributes.get("scope") in SHARED_DATABASE_SCOPES else 2
    if e.kind == "platform":
        return 3 if e.attributes.get("platform_type") in SHARED_PLATFORM_TYPES else 1
    if e.kind in ("service",):
        return 3
    if e.kind == "dataset":
        return 2
    return 1


def _scoped(title: str, names: list[str], where: str, snap: Snapshot, lang: str) -> str:
    """A view's title stating its scope and world date: "<title>: <names> — phạm vi: <where>, ngày hiệu lực <day>"."""
    head = f"{title}: {', '.join(names)}" if names else title
    return f"{head} — {word('scope', lang)}: {where}, {word('valid_on', lang)} {format_date(snap.day, lang, DATE_PATTERNS.get(lang, 'yyyy-MM-dd'))}"


class DepartmentView(_SnapshotView):
    name = "department"
    label = Label("Hệ thống của đơn vị", "Department landscape")
    title = Label("Hệ thống, dữ liệu của đơn vị", "Department landscape")
    description = "An organisation's assets (its units' too) and their direct connections"
    ref_kinds = ("organization",)
    reads_parts = True

    def read_part(self, store: CatalogStore, params: ViewParams, part: _Part) -> Snapshot | None:
        # the organisation's units at any date (by parent), then whatever any of them owned in any period
        orgs, todo = {params.ref or ""}, [params.ref or ""]
        while todo:
            units = part.where("organization", parent=todo.pop())
            todo += sorted(units - orgs)
            orgs |= units
        return part.snapshot(part.around(owners=orgs), orgs)

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        org = snap.entities[params.ref or ""]
        orgs = snap.descendants(org.ref)
        name = org.name.get(lang)
        where = word("with_units", lang).format(org=name)
        d = _diagram(self.name, _scoped(self.title.get(lang), [name], where, snap, lang), snap, params)
        assets = [e for e in snap.entities.values() if _owned(snap, e) and snap.owner(e.ref) in orgs]
        for e in assets:
            d.add_node(entity_node(snap, e, lang, org_cluster(d, snap, snap.owner(e.ref) or org.ref, lang)))
        if org.ref in d.clusters:
            d.clusters[org.ref].highlight = "focus"
        asset_refs = {e.ref for e in assets}
        rels = sorted({r.id: r for a in sorted(asset_refs) for r in snap.touching(a)}.values(), key=lambda r: r.id)
        for r in rels:
            for end in (r.source, r.target):
                if end not in d.nodes:
                    e = snap.entities[end]
                    d.add_node(entity_node(snap, e, lang, cluster_for(d, snap, e, lang), highlight="context"))
        add_edges(d, snap, rels, lang)
        return d


class ContextView(_SnapshotView):
    name = "context"
    label = Label("Bối cảnh một thực thể", "Entity context")
    title = Label("Bối cảnh", "Context")
    description = "Everything within --depth hops (default 1) of one entity, in --direction (out, in, both)"
    ref_kinds = tuple(DEFAULT.kinds)  # any entity: every kind of the metamodel

    reads_parts = True

    def read_part(self, store: CatalogStore, params: ViewParams, part: _Part) -> Snapshot | None:
        # every valid path of <= depth hops is a recorded one, so the recorded neighbourhood holds the view
        seen, frontier, followed = {params.ref or ""}, {params.ref or ""}, []
        for _ in range(params.depth):
            nxt = set()
            for r in part.around(frontier):
                if params.direction in ("out", "both") and r.source in frontier:
                    followed.append(r)
                    nxt.add(r.target)
                if params.direction in ("in", "both") and r.target in frontier:
                    followed.append(r)
                    nxt.add(r.source)
            frontier = nxt - seen
            seen |= nxt
        return part.snapshot(followed, seen)

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        focus = snap.entities[params.ref or ""]
        where = word("hops", lang).format(depth=params.depth, direction=word(params.direction, lang))
        d = _diagram(self.name, _scoped(self.title.get(lang), [focus.name.get(lang)], where, snap, lang), snap, params)
        seen, frontier, followed = {focus.ref}, [focus.ref], {}
        for _ in range(params.depth):
            nxt = []
            for x in frontier:
                rels = []
                if params.direction in ("out", "both"):
                    rels += [(r, r.target) for r in snap.outgoing.get(x, [])]
                if params.direction in ("in", "both"):
                    rels += [(r, r.source) for r in snap.incoming.get(x, [])]
                for r, other in rels:
                    followed[r.id] = r
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = sorted(nxt)
        for ref in sorted(seen):
            e = snap.entities[ref]
            d.add_node(
                entity_node(snap, e, lang, cluster_for(d, snap, e, lang), highlight="focus" if ref == focus.ref else "")
            )
        add_edges(d, snap, [followed[k] for k in sorted(followed)], lang)
        return d


class SharedDbView(_SnapshotView):
    name = "shared-db"
    label = Label("Khai thác CSDL dùng chung", "Shared-database consumers")
    title = Label("Khai thác cơ sở dữ liệu dùng chung", "Shared-database consumers")
    description = (
        "Who reads and writes one database, directly or through the services it exposes, and the "
        "platforms those services are published on"
    )
    ref_kinds = ("database",)

    reads_parts = True

    def read_part(self, store: CatalogStore, params: ViewParams, part: _Part) -> Snapshot | None:
        ref = params.ref or ""
        rels = part.around([ref])
        rels += part.around(
            {r.target for r in rels if database_role(store.metamodel, r.type) == "exposure" and r.source == ref}
        )
        return part.snapshot(rels, [ref])

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        db = snap.entities[params.ref or ""]
        name = db.name.get(lang)
        where = word("consumers", lang).format(db=name)
        d = _diagram(self.name, _scoped(self.title.get(lang), [name], where, snap, lang), snap, params)
        rels = {r.id: r for r in database_consumers(snap.metamodel, db.ref, snap.touching).relationships()}
        for r in snap.touching(db.ref):  # and the database's other data flows
            spec = snap.metamodel.relations.get(r.type)
            if spec is not None and spec.flows_from is not None and active(r):
                rels[r.id] = r
        refs = {db.ref} | {x for r in rels.values() for x in (r.source, r.target)}
        for ref in sorted(refs):
            e = snap.entities[ref]
            d.add_node(
                entity_node(snap, e, lang, cluster_for(d, snap, e, lang), highlight="focus" if ref == db.ref else "")
            )
        add_edges(d, snap, [rels[k] for k in sorted(rels)], lang)
        return d


class LandscapeView(_SnapshotView):
    name = "landscape"
    label = Label("Toàn cảnh kiến trúc", "Whole landscape")
    title = Label("Toàn cảnh kiến trúc", "Whole landscape")
    description = (
        "Every system, database, platform and service clustered by organisation; past --limit nodes "
        "(default 300), one node per organisation with aggregated data-flow edges"
    )
    ref_kinds = ()

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        d = _diagram(
            self.name, _scoped(self.title.get(lang), [], word("whole_catalog", lang), snap, lang), snap, params
        )
        assets = [e for e in snap.entities.values() if _owned(snap, e)]
        if len(assets) > params.limit:
            return self._collapsed(d, snap, assets, params)
        for e in assets:
            d.add_node(entity_node(snap, e, lang, owner_cluster(d, snap, e.ref, lang, nest=True)))
        add_edges(d, snap, snap.relationships, lang)
        return d

    def _collapsed(self, d: Diagram, snap: Snapshot, assets: list[Entity], params: ViewParams) -> Diagram:
        lang = params.lang
        d.notes.append(word("collapsed", lang).format(n=len(assets), limit=params.limit))
        org_of = {e.ref: snap.owner(e.ref) or "owner:none" for e in assets}
        if len(set(org_of.values())) > params.limit:  # still too many: roll up to the top of each parent chain
            d.notes.append(word("rolled_up", lang))
            org_of = {ref: _root(snap, org) for ref, org in org_of.items()}
        counts: dict[str, Counter] = defaultdict(Counter)
        for e in assets:
            counts[org_of[e.ref]][e.kind] += 1
        for org in sorted(counts):
            o = snap.entity(org)
            parent = o.attributes.get("parent") if o is not None else None
            cluster = org_cluster(d, snap, parent, lang, nest=True) if parent and snap.entity(parent) else None
            parts = [
                f"{n} {snap.metamodel.kinds[k].plural.get(lang).lower() if k in snap.metamodel.kinds else k}"
                for k, n in sorted(counts[org].items())
            ]
            d.add_node(
                Node(
                    key=f"org:{org}",
                    kind="organization",
                    label=o.name.get(lang) if o else word("no_owner", lang),
                    ref=org if o else None,
                    cluster=cluster,
                    sublabel=", ".join(parts),
                    tooltip=org,
                )
            )
        for node in d.nodes.values():  # an organisation that is also a parent sits inside its own cluster
            if node.ref and node.ref in d.clusters:
                node.cluster = node.ref
        agg: Counter = Counter()
        relations = snap.metamodel.relations
        for r in snap.relationships:
            ends = relations[r.type].flow(r.source, r.target) if r.type in relations else None
            if ends is not None and r.source in org_of and r.target in org_of and active(r):
                a, b = org_of[ends[0]], org_of[ends[1]]
                if a != b:
                    agg[(a, b)] += 1
        for (a, b), n in sorted(agg.items()):
            d.edges.append(
                Edge(
                    tail=f"org:{a}",
                    head=f"org:{b}",
                    type="aggregate",
                    label=str(n),
                    weight=n,
                    tooltip=f"{a} → {b}: {n}",
                )
            )
        return d


class DiffView:
    name = "diff"
    label = Label("Thay đổi giữa hai thời điểm", "Changes between two dates")
    title = Label("Thay đổi giữa hai thời điểm", "Changes between two dates")
    description = (
        "Added (green), removed (red, dashed) and changed (orange) entities and relationships between "
        "--from and --to, each read as of its date (both clocks)"
    )
    ref_kinds: tuple[str, ...] | None = ()

    def build(self, store: CatalogStore, params: ViewParams) -> Diagram:
        from catalog.errors import FieldError, ValidationFailed

        start, end = parse_day(params.from_date, "from"), parse_day(params.to_date, "to")
        if start is None or end is None or not start < end:
            raise ValidationFailed([FieldError("from", msg("diagram-diff-dates"))])
        s1, s2 = cached_snapshot(store, start, start), cached_snapshot(store, end, end)  # whole ones if read
        if s1 is None or s2 is None:
            # only what can differ between the dates (diagrams.changes), else both whole records
            s1, s2 = diff_snapshots(store, start, end) or (load_snapshot(store, start), load_snapshot(store, end))
        return self.draw(s1, s2, params)

    def draw(self, s1: Snapshot, s2: Snapshot, params: ViewParams) -> Diagram:
        """The difference between the snapshots at the two dates: whole ones, or the parts of them that
        ``diagrams.changes`` reads (every fact that differs and what drawing it looks up)."""
        lang = params.lang
        start, end = s1.day, s2.day
        d = Diagram(
            view=self.name,
            title=f"{self.title.get(lang)}: {start} → {end} — {word('scope', lang)}: {word('whole_catalog', lang)}",
            lang=lang,
            day=end.isoformat(),
            as_of=end.isoformat(),
            revision=s2.revision,
        )
        d.notes.append(f"{start} ({s1.revision.short}) → {end} ({s2.revision.short})")
        status: dict[str, str] = dict.fromkeys(s2.entities.keys() - s1.entities.keys(), "added")
        facts1: dict[str, Any] = s1.entities  # EntityFacts when read as stored facts (catalog.history.facts)
        for ref, a in facts1.items():
            b = s2.entities.get(ref)
            if b is None:
                status[ref] = "removed"
            elif not _same_entity(a, s1, b, s2):
                status[ref] = "changed"
        r1: dict[str, Any] = {r.id: r for r in s1.relationships}
        r2: dict[str, Any] = {r.id: r for r in s2.relationships}
        rel_status: dict[str, tuple[str, Relationship, Snapshot]] = {
            rid: ("added", r2[rid], s2) for rid in r2.keys() - r1.keys()
        }
        for rid, ra in r1.items():
            rb = r2.get(rid)
            if rb is None:
                rel_status[rid] = ("removed", ra, s1)
            elif ra is not rb and ra.state() != rb.state():  # the same record at both dates: the same objects
                rel_status[rid] = ("changed", rb, s2)
        refs = set(status) | {x for _, r, _ in rel_status.values() for x in (r.source, r.target)}
        for ref in sorted(refs):
            snap = s1 if status.get(ref) == "removed" else s2
            e = snap.entities.get(ref) or s1.entities[ref]
            node = entity_node(snap, e, lang, cluster_for(d, snap, e, lang), highlight=status.get(ref, "context"))
            if status.get(ref) == "changed":
                node.sublabel = _what_changed(facts1[ref], s1, e, s2, lang)
            d.add_node(node)
        for rid in sorted(rel_status):
            st, r, snap = rel_status[rid]
            d.edges.append(rel_edge(snap, r, lang, highlight=st))
        return d


def _owned(snap: Snapshot, e: Entity) -> bool:
    """An asset: an entity of a kind that has an owner organisation (every kind but organisations)."""
    spec = snap.metamodel.kinds.get(e.kind)
    return spec is None or spec.owned


def _root(snap: Snapshot, org: str) -> str:
    seen = {org}
    while True:
        o = snap.entity(org)
        parent = o.attributes.get("parent") if o is not None else None
        if not parent or parent in seen or snap.entity(parent) is None:
            return org
        seen.add(parent)
        org = parent


def _state(e: EntityFacts, snap: Snapshot) -> Any:
    c = e.state()  # the stored content without provenance: what content() gives, without building the model
    c["owner_on_day"] = e.owner_on(snap.day)
    return c


def _same_entity(a: EntityFacts, s1: Snapshot, b: EntityFacts, s2: Snapshot) -> bool:
    """``_state(a, s1) == _state(b, s2)``, from the stored content (no models): the two dates of a diff usually
    share one record, and then unchanged entities are the same objects."""
    if a.owner_on(s1.day) != b.owner_on(s2.day):
        return False
    return a is b or a.state() == b.state()


def _what_changed(a: EntityFacts, s1: Snapshot, b: EntityFacts, s2: Snapshot, lang: str) -> str:
    owner = Label("chủ quản", "owner").get(lang)
    if a is b:  # the same record on both days (the same object): only the owner on the day can differ
        return f"Δ {owner}" if a.owner_on(s1.day) != b.owner_on(s2.day) else "Δ"
    sa, sb = _state(a, s1), _state(b, s2)
    spec = s2.metamodel.kinds.get(b.kind)
    words = []
    if sa["owner_on_day"] != sb["owner_on_day"]:
        words.append(owner)
    for key in sorted(set(sa["attributes"]) | set(sb["attributes"])):
        if sa["attributes"].get(key) != sb["attributes"].get(key):
            a_spec = spec.attribute(key) if spec else None
            words.append(a_spec.label.get(lang).lower() if a_spec else key)
    for key in ("name", "description", "tags", "valid_from", "valid_to"):
        if sa[key] != sb[key]:
            words.append(key)
    shown = words[:3] + (["…"] if len(words) > 3 else [])
    return f"Δ {', '.join(shown)}" if shown else "Δ"


BUILTINS = (IocView, DepartmentView, ContextView, SharedDbView, LandscapeView, DiffView)


def builtin_views() -> list[Any]:
    """The built-in views, as the view registry (diagrams.registry.VIEWS) loads them: like an extension's."""
    return [cls() for cls in BUILTINS]


__all__ = [
    "BUILTINS",
    "EXTERNAL",
    "ContextView",
    "DepartmentView",
    "DiffView",
    "IocView",
    "LandscapeView",
    "Scope",
    "SharedDbView",
    "builtin_views",
    "ioc_layer",
    "ioc_types",
    "scoped_upstream",
    "upstream",
]
