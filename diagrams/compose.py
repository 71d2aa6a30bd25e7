"""Helpers the views share: entities to nodes, relationships to edges, owners to clusters."""

from __future__ import annotations

import re
from typing import Any

from catalog.history.snapshot import Snapshot
from catalog.model import Entity, Relationship
from diagrams.model import Cluster, Diagram, Edge, Node
from diagrams.style import word

NO_OWNER = "owner:none"
PLATFORMS = "group:platforms"
SHARED_PLATFORM_TYPES = ("integration", "data", "hosting", "identity")
SHARED_DATABASE_SCOPES = ("shared", "warehouse", "national")  # a database's ``scope``: shared rather than a sector's
_ABBREV = re.compile(r"\(([^()]{2,20})\)\s*$")


def short_name(e: Entity | None, lang: str, fallback: str = "") -> str:
    """A short name: the ``short_name`` attribute, else a trailing "(LGSP)" in the name, else the code."""
    if e is None:
        return fallback
    if e.attributes.get("short_name"):
        return str(e.attributes["short_name"])
    m = _ABBREV.search(e.name.get(lang))
    return m.group(1) if m else e.code


def entity_node(snap: Snapshot, e: Entity, lang: str, cluster: str | None = None, **kw: Any) -> Node:
    name = e.name.get(lang) or e.ref
    tooltip = f"{e.ref}: {name}"
    owner = snap.owner(e.ref)
    owner_name = former_name = ""
    if owner:
        o = snap.entity(owner)
        owner_name = o.name.get(lang) if o else owner
        tooltip += f" | {owner_name}"
    first = _first_owner(e)
    if first and first != owner:
        f = snap.entity(first)
        former_name = f.name.get(lang) if f else first
    return Node(
        key=e.ref,
        kind=e.kind,
        label=name,
        ref=e.ref,
        cluster=cluster,
        tooltip=tooltip,
        lifecycle=str(e.attributes.get("lifecycle", "")),
        owner=owner_name,
        former_owner=former_name,
        **kw,
    )


def _first_owner(e: Any) -> str | None:
    """The first owner in an entity's ownership history (stored facts are read without building the model)."""
    data = getattr(e, "data", None)
    history = data.get("owner_history") if isinstance(data, dict) else getattr(e, "owner_history", None)
    if not history:
        return None
    first = history[0]
    return first.get("org") if isinstance(first, dict) else first.org


def owner_cluster(
    d: Diagram, snap: Snapshot, ref: str, lang: str, nest: bool = False, key: str = "", parent: str | None = None
) -> str:
    """The cluster of the organisation that owns ``ref`` on the snapshot's day (created on first use).
    With ``nest``, the organisation's cluster sits inside its parent's (up the whole chain). With ``key``, the
    cluster's key is ``key`` + the organisation's ref (a second cluster of the same owner, e.g. among the external
    sources), inside the cluster ``parent``."""
    owner = snap.owner(ref)
    if key:
        o = snap.entity(owner) if owner else None
        label = o.name.get(lang) if o is not None else (owner or word("no_owner", lang))
        return d.add_cluster(Cluster(key + (owner or NO_OWNER), label, parent=parent)).key
    if owner is None:
        d.add_cluster(Cluster(NO_OWNER, word("no_owner", lang), sort="\uffff"))
        return NO_OWNER
    return org_cluster(d, snap, owner, lang, nest)


def org_cluster(d: Diagram, snap: Snapshot, org: str, lang: str, nest: bool = False) -> str:
    chain = [org]
    while nest:
        o = snap.entity(chain[-1])
        parent = o.attributes.get("parent") if o is not None else None
        if not parent or parent in chain or snap.entity(parent) is None:
            break
        chain.append(parent)
    for i, ref in enumerate(chain):
        if ref not in d.clusters:
            o = snap.entity(ref)
            d.add_cluster(Cluster(ref, o.name.get(lang) if o else ref))
        if i + 1 < len(chain):
            d.clusters[ref].parent = chain[i + 1]
    return org


def cluster_for(d: Diagram, snap: Snapshot, e: Entity, lang: str, nest: bool = False) -> str | None:
    """Platforms shared by everyone go together; every other asset under its owner; organisations (kinds without
    an owner) nowhere."""
    spec = snap.metamodel.kinds.get(e.kind)
    if spec is not None and not spec.owned:
        return None
    if e.kind == "platform" and e.attributes.get("platform_type") in SHARED_PLATFORM_TYPES:
        d.add_cluster(Cluster(PLATFORMS, word("platforms", lang), sort="\u0000"))
        return PLATFORMS
    return owner_cluster(d, snap, e.ref, lang, nest)


def edge_label(snap: Snapshot, r: Relationship, lang: str, with_via: bool = True) -> str:
    """The protocol (its metamodel label) and (``with_via``) the platform the data goes through."""
    parts = []
    proto = r.properties.get("protocol")
    if proto:
        spec = snap.metamodel.relations.get(r.type)
        attr = spec.property("protocol") if spec is not None else None
        parts.append(attr.value_label(proto, lang) if attr is not None else str(proto))
    via = r.properties.get("via")
    if via and with_via:
        parts.append(f"{word('via', lang)} {short_name(snap.entity(via), lang, via)}")
    return " · ".join(parts)


def rel_edge(snap: Snapshot, r: Relationship, lang: str, **kw: Any) -> Edge:
    """The edge for a relationship, in the direction data flows (``RelationSpec.flows_from``; as stored when it
    carries none)."""
    spec = snap.metamodel.relations.get(r.type)
    tail, head = (spec.flow(r.source, r.target) if spec is not None else None) or (r.source, r.target)
    rel_label = spec.label.get(lang) if spec is not None else r.type
    tooltip = f"{r.source} {rel_label} {r.target}"
    if r.properties.get("data"):
        tooltip += f": {r.properties['data']}"
    return Edge(
        tail=tail,
        head=head,
        type=r.type,
        label=edge_label(snap, r, lang),
        tooltip=tooltip,
        planned=r.properties.get("status") == "planned",
        **kw,
    )


def routed_edges(snap: Snapshot, r: Relationship, via: str, lang: str) -> list[Edge]:
    """A data flow that goes via the platform ``via``, as two edges through its node: from where the data comes
    to the platform (labelled with the protocol), and from the platform to where it goes."""
    edge = rel_edge(snap, r, lang)
    edge.label = edge_label(snap, r, lang, with_via=False)
    onward = Edge(edge.tail, edge.head, edge.type, "", edge.tooltip, edge.highlight, edge.planned, edge.weight)
    edge.head, onward.tail = via, via
    return [edge, onward]


def merge_edges(edges: list[Edge]) -> list[Edge]:
    """Edges with the same ends, type, label and state merged into one (weight: how many; tooltip: theirs), in
    their first order: many flows routed through one platform to one place are one line onward."""
    merged: dict[tuple, Edge] = {}
    tips: dict[tuple, list[str]] = {}
    for e in edges:
        key = (e.tail, e.head, e.type, e.label, e.highlight, e.planned)
        if key in merged:
            merged[key].weight += e.weight
            tips[key].append(e.tooltip)
        else:
            merged[key] = Edge(e.tail, e.head, e.type, e.label, e.tooltip, e.highlight, e.planned, e.weight)
            tips[key] = [e.tooltip]
    for key, e in merged.items():
        if len(tips[key]) > 1:
            shown = tips[key][:8]
            e.tooltip = " | ".join(shown) + (f" | … (+{len(tips[key]) - len(shown)})" if len(tips[key]) > 8 else "")
    return list(merged.values())


def add_edges(d: Diagram, snap: Snapshot, rels: list[Relationship], lang: str) -> None:
    for r in rels:
        if r.source in d.nodes and r.target in d.nodes:
            d.edges.append(rel_edge(snap, r, lang))


def active(r: Relationship) -> bool:
    return r.properties.get("status") != "retired"


__all__ = [
    "NO_OWNER",
    "PLATFORMS",
    "SHARED_DATABASE_SCOPES",
    "SHARED_PLATFORM_TYPES",
    "active",
    "add_edges",
    "cluster_for",
    "edge_label",
    "entity_node",
    "merge_edges",
    "org_cluster",
    "owner_cluster",
    "rel_edge",
    "routed_edges",
    "short_name",
]
