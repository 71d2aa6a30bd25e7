"""A size budget for every diagram: a view's model over it is drawn collapsed by organisation instead of hanging.

Graphviz lays out a few hundred nodes in a second; at national scale one province's IOC view has thousands of edges
and ``dot`` does not finish. :func:`apply_budget` runs after any view builds its model (``diagrams.registry.build``):
when the diagram has more nodes than ``max_nodes`` or more edges than ``max_edges`` (settings
``diagram_max_nodes`` / ``diagram_max_edges``, defaults 400 / 800), every organisation's assets become one node
naming the organisation and counting its assets by kind, and the edges between two organisations become one edge
counting them. The focus of the view (``highlight="focus"``, e.g. the IOC itself) is never folded. A note in the
diagram's stamp says what was done and how to get more:

- ``expand=<organisation ref>`` (``ViewParams.expand``): that organisation's assets drawn one by one, the rest still
  folded (its edges to the others aggregated per organisation);
- ``detail=full`` (``ViewParams.detail``): no budget, the whole model (which may take Graphviz past the render time
  limit: :mod:`diagrams.render`).

A diagram within the budget is returned as it came (the same object: the same DOT, the same bytes). The step knows
only the model (:mod:`diagrams.model`): an asset's organisation is the cluster the view put it in (views cluster by
owner), or ``owner_of(ref)`` for a node outside any cluster. When even the organisations are too many, they roll up
along the clusters' parents (a department into its province's committee); when that is still over the node budget,
the diagram is left as it is (folding would not make it drawable) and the render time limit decides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

from catalog.i18n import Message, msg
from catalog.metamodel import Metamodel
from diagrams.model import Diagram, Edge, Node
from diagrams.style import AGGREGATE, carries_data
from diagrams.style import word as style_word

MAX_NODES = 400  # defaults of the diagram_max_nodes / diagram_max_edges settings
MAX_EDGES = 800
DETAILS = ("auto", "full")
OTHER = "group:other"
PREFIX = "org:"

WORDS: dict[str, Message] = {
    "collapsed": msg("diagram-budget-collapsed"),
    "expanded": msg("diagram-budget-expanded"),
    "how": msg("diagram-budget-how"),
    "rolled_up": msg("diagram-budget-rolled-up"),
    "other": msg("diagram-budget-other"),
}


def word(key: str, lang: str, **params: object) -> str:
    """A word of the size budget's notes in ``lang``, from the message catalog."""
    return Message(WORDS[key].code, dict(params)).text(lang)


def over_budget(d: Diagram, max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES) -> bool:
    return len(d.nodes) > max_nodes or len(d.edges) > max_edges


def apply_budget(
    d: Diagram,
    metamodel: Metamodel,
    *,
    max_nodes: int = MAX_NODES,
    max_edges: int = MAX_EDGES,
    detail: str = "auto",
    expand: str | None = None,
    owner_of: Callable[[str], str | None] | None = None,
    name_of: Callable[[str], str | None] | None = None,
) -> Diagram:
    """``d`` itself when it is within the budget (or ``detail="full"``); else a new diagram collapsed by
    organisation, ``expand`` (an organisation's ref) drawn in full. ``owner_of(ref)``: the organisation a node
    outside any cluster folds into (an asset's owner, an organisation's parent); ``name_of(ref)``: the name of an
    organisation that is neither a cluster nor a node of the diagram."""
    if detail == "full" or not over_budget(d, max_nodes, max_edges):
        return d
    lang = d.lang
    group = _grouping(d, owner_of, metamodel)
    roots = _roots(d)
    groups = {g for key, g in group.items() if g is not None}
    rolled = False
    if len(groups) > max_nodes:  # even the organisations are too many: up to the top of each cluster chain
        group = {k: (roots.get(g, g) if g is not None else None) for k, g in group.items()}
        rolled = True
    kept = sum(1 for g in group.values() if g is None)
    if not expand and kept + len({g for g in group.values() if g is not None}) > max_nodes:
        return d  # folding cannot bring it within the budget (too many organisations): the render limit decides
    if expand:
        # a unit of the expanded organisation is part of it: keep every node whose cluster chain passes through it
        chains = _chains(d)
        for key, node in d.nodes.items():
            if group.get(key) is not None and expand in chains.get(node.cluster or "", (node.cluster,)):
                group[key] = None
    out = Diagram(
        view=d.view,
        title=d.title,
        lang=d.lang,
        day=d.day,
        as_of=d.as_of,
        revision=d.revision,
        rankdir=d.rankdir,
        notes=list(d.notes),
    )
    members: dict[str, Counter] = defaultdict(Counter)
    changes: dict[str, Counter] = defaultdict(Counter)
    for key, node in d.nodes.items():
        g = group.get(key)
        if g is None:
            out.add_node(node)
        else:
            members[g][node.kind] += 1
            if node.highlight in ("added", "removed", "changed"):
                changes[g][node.highlight] += 1
    for g in sorted(members):
        out.add_node(_group_node(d, g, members[g], changes[g], metamodel, lang, name_of))
    kept_clusters = _clusters_of(d, [n for n in out.nodes.values() if not n.key.startswith(PREFIX)])
    for c in d.clusters.values():
        if c.key in kept_clusters:
            out.add_cluster(c)

    def end(key: str) -> str:
        g = group.get(key)
        return key if g is None else PREFIX + g

    agg: Counter = Counter()
    for e in d.edges:
        a, b = end(e.tail), end(e.head)
        if a == e.tail and b == e.head:
            out.edges.append(e)  # both ends drawn one by one: the edge as the view made it
        elif a != b and (e.type == AGGREGATE or carries_data(e.type, metamodel)):
            agg[(a, b)] += max(1, e.weight)
    for (a, b), n in sorted(agg.items()):
        out.edges.append(Edge(tail=a, head=b, type=AGGREGATE, label=f"{n}", weight=n, tooltip=f"{n}"))
    out.notes.append(
        word(
            "collapsed",
            lang,
            nodes=len(d.nodes),
            edges=len(d.edges),
            max_nodes=max_nodes,
            max_edges=max_edges,
            groups=len(members),
        )
    )
    if rolled:
        out.notes.append(word("rolled_up", lang))
    if expand:
        chosen = d.clusters.get(expand)
        out.notes.append(word("expanded", lang, org=chosen.label if chosen is not None else expand))
    out.notes.append(word("how", lang))
    return out


def collapsed(d: Diagram) -> bool:
    """Whether :func:`apply_budget` folded this diagram (its note says how to expand it)."""
    return word("how", d.lang) in d.notes


def _grouping(d: Diagram, owner_of: Callable[[str], str | None] | None, metamodel: Metamodel) -> dict[str, str | None]:
    """Node key -> the organisation (cluster key) it folds into; None for nodes always drawn (the focus, and the
    organisations the view drew as nodes, which stand for themselves)."""
    out: dict[str, str | None] = {}
    for key, node in d.nodes.items():
        if node.highlight == "focus":
            out[key] = None
        elif node.cluster:
            out[key] = node.cluster
        elif key.startswith(PREFIX):
            out[key] = None
        elif metamodel.is_organisation(node.kind):  # into the organisation above it, if the view draws or names it
            parent = owner_of(node.ref) if owner_of is not None and node.ref else None
            out[key] = parent if parent and (parent in d.clusters or parent in d.nodes) else key
        else:
            owner = owner_of(node.ref) if owner_of is not None and node.ref else None
            out[key] = owner or OTHER
    return out


def _chains(d: Diagram) -> dict[str, tuple[str, ...]]:
    """Cluster key -> itself and its ancestors."""
    out: dict[str, tuple[str, ...]] = {}
    for key in d.clusters:
        chain = [key]
        while True:
            parent = d.clusters[chain[-1]].parent
            if not parent or parent in chain or parent not in d.clusters:
                break
            chain.append(parent)
        out[key] = tuple(chain)
    return out


def _roots(d: Diagram) -> dict[str, str]:
    return {key: chain[-1] for key, chain in _chains(d).items()}


def _clusters_of(d: Diagram, nodes: list[Node]) -> set[str]:
    chains = _chains(d)
    return {c for n in nodes if n.cluster in chains for c in chains[n.cluster or ""]}


def _group_node(
    d: Diagram,
    g: str,
    counts: Counter,
    changes: Counter,
    metamodel: Metamodel,
    lang: str,
    name_of: Callable[[str], str | None] | None,
) -> Node:
    c = d.clusters.get(g)
    node = d.nodes.get(g)
    if g == OTHER:
        label = word("other", lang)
    elif c is not None:
        label = c.label
    elif node is not None:
        label = node.label
    else:
        label = (name_of(g) if name_of is not None else None) or word("other", lang)
    parts = []
    for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        spec = metamodel.kinds.get(kind)
        parts.append(f"{n} {(spec.plural.get(lang) if spec else kind).lower()}")
    if changes:  # a diff: what changed inside, in the diff's own words
        parts.append(", ".join(f"{n} {style_word(h, lang)}" for h, n in sorted(changes.items())))
    is_ref = ":" in g and not g.startswith(("owner:", "group:"))
    return Node(
        key=PREFIX + g,
        kind="organization",
        label=label,
        ref=g if is_ref else None,
        sublabel=", ".join(parts),
        tooltip=f"{label}: {', '.join(parts)}",
    )


__all__ = ["DETAILS", "MAX_EDGES", "MAX_NODES", "WORDS", "apply_budget", "collapsed", "over_budget"]
