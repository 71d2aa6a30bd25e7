"""What a view produces: a format-free diagram (nodes, edges, clusters, stamp), turned into DOT by diagrams.dot.

Views decide *what* is drawn and how it is grouped; the DOT writer decides *how* it looks (shapes and colours from
the metamodel, edge styles, legend, stamp). Nothing here knows Graphviz syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from catalog.history.snapshot import Revision

Highlight = Literal["", "added", "removed", "changed", "focus", "context", "external"]


@dataclass
class Node:
    key: str  # an entity ref, or a synthetic key ("org:<ref>" for a collapsed organisation)
    kind: str  # metamodel kind (shape and colour); "organization" for collapsed organisations
    label: str
    ref: str | None = None  # entity page to link to (None: no link)
    cluster: str | None = None  # Cluster.key
    sublabel: str = ""  # second line (e.g. counts of a collapsed organisation)
    tooltip: str = ""
    highlight: Highlight = ""
    lifecycle: str = ""  # planned, building, production, retiring, retired
    layer: int | None = None  # column of a layered view (0 leftmost with rankdir LR): same layer, same rank
    owner: str = ""  # the owner's name on the diagram's day: shown when another node has the same label
    former_owner: str = ""  # the first owner's name, when it differs: shown when the owner does not tell them apart


@dataclass
class Edge:
    tail: str  # Node.key; edges are drawn in the direction data flows (RelationSpec.flows_from)
    head: str
    type: str  # relationship type (style), or "aggregate" for collapsed edges
    label: str = ""
    tooltip: str = ""
    highlight: Highlight = ""
    planned: bool = False
    weight: int = 1


@dataclass
class Cluster:
    key: str
    label: str
    parent: str | None = None
    highlight: Highlight = ""
    sort: str = ""  # sort key (defaults to the label)


@dataclass
class Diagram:
    view: str
    title: str
    lang: str
    day: str  # valid time shown in the stamp (ISO date)
    as_of: str | None  # transaction time ("None": the current record)
    revision: Revision
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    rankdir: str = "LR"
    notes: list[str] = field(default_factory=list)  # extra stamp lines (e.g. "collapsed to organisations")

    def add_node(self, node: Node) -> Node:
        return self.nodes.setdefault(node.key, node)

    def add_cluster(self, cluster: Cluster) -> Cluster:
        return self.clusters.setdefault(cluster.key, cluster)


__all__ = ["Cluster", "Diagram", "Edge", "Highlight", "Node"]
