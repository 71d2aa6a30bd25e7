"""Write a Diagram as Graphviz DOT, deterministically and safely.

- **Deterministic**: clusters, nodes and edges are written in sorted order; ids are ``n_``/``cluster_`` plus a SHA-1
  prefix of the entity reference (or cluster key), so no catalog text ever appears in an id, and the same diagram
  gives the same bytes.
- **Safe**: every piece of catalog text goes into an HTML-like label with full XML escaping (``& < > " '``), control
  characters removed; quoted attributes (tooltip, URL, id) escape ``\\`` and ``"``. A name such as
  ``"]; evil [label="x`` or ``<script>`` is drawn as text and cannot end a label, an attribute or a statement.
- **Looks**: node shape and fill per kind from the metamodel (``KindSpec.shape`` / ``KindSpec.color``); edge styles
  per relationship type from the metamodel (``RelationSpec.style``); "Noto Sans" (Vietnamese glyphs) on graph, nodes and edges; a legend of
  the kinds and relationship types drawn; a stamp with the title, the date, the record it was read from and the
  catalog revision (change-log head sequence number and hash prefix).
- **Links**: every entity node carries ``URL``/``href`` ``<url_prefix>/entities/<ref>`` (the web UI's entity page).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter, defaultdict

from catalog.history.snapshot import Revision
from catalog.i18n import DATE_PATTERNS, format_date
from catalog.metamodel import DEFAULT, Metamodel
from diagrams.model import Cluster, Diagram, Edge, Node
from diagrams.style import AGGREGATE, HIGHLIGHT, carries_data, edge_style, word

FONT = "Noto Sans"
WRAP = 28
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ud800-\udfff\ufffe\uffff]")  # + what XML cannot hold


def stable_id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}"


@functools.lru_cache(maxsize=65536)
def node_id(key: str) -> str:
    return stable_id("n", key)


def clean(text: str) -> str:
    """Catalog text as one printable line: control characters and newlines become spaces."""
    text = str(text)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # already one line (printable: no control, line or paragraph separator, no space but " ")
    return " ".join(_CONTROL.sub(" ", text).replace("\n", " ").replace("\t", " ").split())


def html(text: str) -> str:
    """Escape text for an HTML-like label (XML character data and attribute values)."""
    return (
        clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def quoted(text: str) -> str:
    """A DOT double-quoted string (for escString attributes: tooltip, URL, id)."""
    return '"' + clean(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrap(line: str, width: int) -> list[str]:
    """``textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False)`` for a line as :func:`clean`
    leaves it (words separated by single spaces, none at either end), line for line (tested against textwrap):
    its algorithm without its general text munging, which took a third of the DOT writing time."""
    if len(line) <= width:
        return [line] if line else []
    words = line.split(" ")
    if max(map(len, words)) <= width:  # no word to break: fill each line with the words that fit
        out, cur = [], words[0]
        for w in words[1:]:
            if len(cur) + 1 + len(w) <= width:
                cur += " " + w
            else:
                out.append(cur)
                cur = w
        out.append(cur)
        return out
    chunks = line.replace(" ", "\0 \0").split("\0")  # words and the single spaces between them
    chunks.reverse()
    lines: list[str] = []
    while chunks:
        parts: list[str] = []
        cur_len = 0
        if chunks[-1] == " " and lines:
            del chunks[-1]
        while chunks and cur_len + len(chunks[-1]) <= width:
            cur_len += len(chunks[-1])
            parts.append(chunks.pop())
        if chunks and len(chunks[-1]) > width:  # a word longer than a line: as much as fits here
            chunk = chunks[-1]
            parts.append(chunk[: width - cur_len])
            chunks[-1] = chunk[width - cur_len :]
        if parts and parts[-1] == " ":
            del parts[-1]
        if parts:
            lines.append("".join(parts))
    return lines


def wrapped(text: str, width: int = WRAP) -> str:
    return "<BR/>".join(html(line) for line in wrap(clean(text), width) or [""])


def _attrs(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs)


_STAGED = ("retiring", "retired", "planned", "building")  # lifecycle stages drawn dashed or dotted


class DotWriter:
    def __init__(self, diagram: Diagram, metamodel: Metamodel = DEFAULT, url_prefix: str = "") -> None:
        self.d = diagram
        self.mm = metamodel
        self.url_prefix = url_prefix.rstrip("/")
        self.lang = diagram.lang
        self.out: list[str] = []
        self._looks: dict[tuple[str, str, str], str] = {}
        labels = Counter(n.label for n in diagram.nodes.values())
        owned = Counter((n.label, n.owner) for n in diagram.nodes.values())
        # two nodes a reader cannot tell apart (two IOCs, two LGSPs after a merger) show their owners, and their
        # references too when one organisation owns both (a merger's successor owns both IOCs)
        self._told_apart = {
            k: n.owner + (f" · {word('formerly', self.lang, org=n.former_owner)}" if n.former_owner else "")
            if owned[(n.label, n.owner)] > 1
            else n.owner
            for k, n in diagram.nodes.items()
            if labels[n.label] > 1 and n.owner
        }

    # --- pieces --------------------------------------------------------------------------------------------
    def _look(self, kind: str, lifecycle: str, highlight: str) -> str:
        """shape, style, fillcolor, color and penwidth of a node (the same for every node of a kind, lifecycle and
        highlight: written once)."""
        key = (kind, lifecycle, highlight)
        if key not in self._looks:
            spec = self.mm.kinds.get(kind)
            shape = spec.shape if spec else "box"
            fill = spec.color if spec else "#eeeeee"
            styles = ["filled"]
            color, penwidth = "#444444", "1"
            if lifecycle in _STAGED:
                styles.append("dotted" if lifecycle == "retired" else "dashed")
            if highlight in HIGHLIGHT:
                color, extra, hfill = HIGHLIGHT[highlight]
                styles.append(extra)
                penwidth = "2.5" if highlight == "focus" else "2"
                fill = hfill or fill
            elif highlight == "context":
                color, fill = "#888888", "#f4f4f4"
            self._looks[key] = _attrs(
                [
                    ("shape", shape),
                    ("style", quoted(",".join(dict.fromkeys(styles)))),
                    ("fillcolor", quoted(fill)),
                    ("color", quoted(color)),
                    ("penwidth", penwidth),
                ]
            )
        return self._looks[key]

    def _lifecycle(self, kind: str, stage: str) -> str:
        spec = self.mm.kinds.get(kind)
        attr = spec.attribute("lifecycle") if spec is not None else None
        return attr.value_label(stage, self.lang) if attr is not None else stage

    def _node(self, n: Node, indent: str) -> str:
        rows = [wrapped(n.label)]
        if self._told_apart.get(n.key):
            rows.append(f'<FONT POINT-SIZE="8" COLOR="#444444">{wrapped(self._told_apart[n.key], WRAP + 8)}</FONT>')
        if n.sublabel:
            rows.append(f'<FONT POINT-SIZE="8" COLOR="#444444">{wrapped(n.sublabel, WRAP + 8)}</FONT>')
        if n.lifecycle in _STAGED:
            rows.append(f'<FONT POINT-SIZE="8"><I>({html(self._lifecycle(n.kind, n.lifecycle))})</I></FONT>')
        # one table row per part: mixed font sizes in one block of <BR/> lines overlap in Graphviz
        label = (
            (
                '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
                + "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
                + "</TABLE>"
            )
            if len(rows) > 1
            else rows[0]
        )
        nid = node_id(n.key)  # n_ and hex digits: nothing to escape
        text = f'{indent}{nid} [label=<{label}>, {self._look(n.kind, n.lifecycle, n.highlight)}, id="{nid}"'
        if n.tooltip:
            text += f", tooltip={quoted(n.tooltip)}"
        if n.ref:
            text += f', URL={quoted(f"{self.url_prefix}/entities/{n.ref}")}, target="_top"'
        return text + "];"

    def _edge(self, e: Edge) -> str:
        st = edge_style(e.type, self.mm)
        styles = [st.style]
        color, penwidth = st.color, st.penwidth
        if e.planned:
            styles = ["dashed"]
        if e.highlight in HIGHLIGHT:
            color, extra, _ = HIGHLIGHT[e.highlight]
            styles = [extra]
            penwidth = max(penwidth, 2.0)
        pairs = [
            ("style", quoted(",".join(styles))),
            ("color", quoted(color)),
            ("arrowhead", st.arrowhead),
            ("penwidth", f"{penwidth:g}"),
        ]
        if st.dir != "forward":
            pairs.append(("dir", st.dir))
        tail, head = self.d.nodes.get(e.tail), self.d.nodes.get(e.head)
        backwards = tail is not None and head is not None and (tail.layer or 0) > (head.layer or 0)
        if (not carries_data(e.type, self.mm) and e.type != AGGREGATE) or backwards:
            # not a data flow, or one against the layers: does not shape the left-to-right layout
            pairs.append(("constraint", "false"))
        if e.label:
            pairs.append(("xlabel", f'<<FONT COLOR="#333333">{wrapped(e.label, 24)}</FONT>>'))
        if e.tooltip:
            tooltip = quoted(e.tooltip)
            pairs += [("tooltip", tooltip), ("labeltooltip", tooltip)]
        if e.weight > 1:
            pairs.append(("weight", str(min(e.weight, 100))))
        return f"  {node_id(e.tail)} -> {node_id(e.head)} [{_attrs(pairs)}];"

    def _cluster(
        self, c: Cluster, children: dict[str | None, list[Cluster]], members: dict[str | None, list[Node]], depth: int
    ) -> None:
        ind = "  " * (depth + 1)
        self.out.append(f"{ind}subgraph {stable_id('cluster', c.key)} {{")
        fill = "#f7f7f7" if depth % 2 == 0 else "#ffffff"
        style, color, pen = "rounded,filled", "#999999", "1"
        if c.highlight == "focus":
            color, pen = "#111111", "2"
        elif c.highlight == "external":
            style, color, fill = "rounded,dashed,filled", HIGHLIGHT["external"][0], HIGHLIGHT["external"][2]
        self.out.append(
            f"{ind}  label=<<B>{wrapped(c.label, 48)}</B>>; style={quoted(style)}; "
            f"fillcolor={quoted(fill)}; color={quoted(color)}; penwidth={pen}; fontsize=11;"
        )
        for n in members.get(c.key, []):
            self.out.append(self._node(n, ind + "  "))
        for child in children.get(c.key, []):
            self._cluster(child, children, members, depth + 1)
        self.out.append(f"{ind}}}")

    def _legend(self) -> None:
        lang = self.lang
        kinds = sorted(
            {n.kind for n in self.d.nodes.values()},
            key=lambda k: list(self.mm.kinds).index(k) if k in self.mm.kinds else 99,
        )
        types = sorted({e.type for e in self.d.edges})
        marks = sorted(
            {n.highlight for n in self.d.nodes.values() if n.highlight in ("added", "removed", "changed", "external")}
        )
        self.out.append("  subgraph cluster_legend {")
        self.out.append(
            f"    label=<<B>{html(word('legend', lang))}</B>>; style=\"rounded\"; color=\"#999999\"; "
            "fontsize=11; margin=8;"
        )
        prev = None
        for k in kinds:
            spec = self.mm.kinds.get(k)
            label = spec.label.get(lang) if spec else k
            nid = stable_id("legend", f"kind:{k}")
            self.out.append(
                f"    {nid} [label=<{wrapped(label, 22)}>, shape={spec.shape if spec else 'box'}, "
                f"style=\"filled\", fillcolor={quoted(spec.color if spec else '#eeeeee')}, "
                "color=\"#444444\", fontsize=9];"
            )
            if prev:
                self.out.append(f"    {prev} -> {nid} [style=invis];")
            prev = nid
        for m in marks:
            color, extra, fill = HIGHLIGHT[m]
            nid = stable_id("legend", f"mark:{m}")
            self.out.append(
                f"    {nid} [label=<{html(word(m, lang))}>, shape=box, style={quoted('filled,' + extra)}, "
                f"fillcolor={quoted(fill)}, color={quoted(color)}, penwidth=2, fontsize=9];"
            )
            if prev:
                self.out.append(f"    {prev} -> {nid} [style=invis];")
            prev = nid
        for t in types:
            st = edge_style(t, self.mm)
            if t == AGGREGATE:
                label = word("aggregate", lang)
            else:
                spec_r = self.mm.relations.get(t)
                label = spec_r.label.get(lang) if spec_r else t
            a, b = stable_id("legend", f"rel:{t}:a"), stable_id("legend", f"rel:{t}:b")
            self.out.append(
                f"    {a} [label=\"\", shape=point, width=0.05]; {b} [label=\"\", shape=point, width=0.05];"
            )
            dir_ = f", dir={st.dir}" if st.dir != "forward" else ""
            self.out.append(
                f"    {a} -> {b} [label=<{html(label)}>, style={quoted(st.style)}, "
                f"color={quoted(st.color)}, "
                f"arrowhead={st.arrowhead}, penwidth={st.penwidth:g}, fontsize=8, minlen=1{dir_}];"
            )
        self.out.append("  }")

    def _stamp(self) -> str:
        d, lang = self.d, self.lang
        lines = [f"<B>{html(d.title)}</B>", html(stamp_line(d.day, d.as_of, d.revision, lang))]
        lines += [html(n) for n in d.notes]
        rows = "".join(f'<TR><TD ALIGN="LEFT">{line}</TD></TR>' for line in lines)
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>'

    # --- whole ---------------------------------------------------------------------------------------------
    def write(self) -> str:
        d = self.d
        name = re.sub(r"[^a-z0-9_-]", "_", d.view.lower()) or "view"
        rankdir = d.rankdir if d.rankdir in ("LR", "TB", "RL", "BT") else "LR"
        self.out = [
            f'digraph "{name}" {{',
            f'  graph [fontname="{FONT}", fontsize=12, rankdir={rankdir}, '
            'splines=true, nodesep=0.25, ranksep=0.7, pad=0.3, '
            f'{"newrank=true, " if self._layers() else ""}labelloc=t, labeljust=l, bgcolor="white", label={self._stamp()}];',
            f'  node [fontname="{FONT}", fontsize=10, margin="0.12,0.05"];',
            f'  edge [fontname="{FONT}", fontsize=8, arrowsize=0.7];',
        ]
        clusters = d.clusters
        children: dict[str | None, list[Cluster]] = defaultdict(list)
        for c in clusters.values():
            parent = c.parent if c.parent in clusters and c.parent != c.key else None
            children[parent].append(c)
        for v in children.values():
            v.sort(key=lambda c: (c.sort or c.label, c.key))
        members: dict[str | None, list[Node]] = defaultdict(list)
        for n in d.nodes.values():
            members[n.cluster if n.cluster in clusters else None].append(n)
        for ms in members.values():
            ms.sort(key=lambda n: (n.label, n.key))
        used = self._used_clusters(children, members)
        children = {k: [c for c in v if c.key in used] for k, v in children.items()}
        for c in children.get(None, []):
            self._cluster(c, children, members, 0)
        for n in members.get(None, []):
            self.out.append(self._node(n, "  "))
        for e in sorted(d.edges, key=lambda e: (node_id(e.tail), node_id(e.head), e.type, e.label, e.highlight)):
            if e.tail in d.nodes and e.head in d.nodes:
                self.out.append(self._edge(e))
        self._wrap_isolated(members)
        layers = self._layers()
        for nodes in layers:
            self.out.append("  {rank=same; " + " ".join(f"{node_id(k)};" for k in nodes) + "}")
        self._order_layers(layers)
        self._legend()
        self.out.append("}")
        return "\n".join(self.out) + "\n"

    def _wrap_isolated(self, members: dict[str | None, list[Node]]) -> None:
        """Nodes without edges would all land on the first rank, one long column; chain them with invisible edges
        so that each cluster's isolated nodes form a compact grid of about sqrt(n) rows."""
        connected = {
            k for e in self.d.edges if e.tail in self.d.nodes and e.head in self.d.nodes for k in (e.tail, e.head)
        }
        for key in sorted(members, key=lambda k: (k is not None, k or "")):
            isolated = [n for n in members[key] if n.key not in connected]
            rows = max(3, math.ceil(math.sqrt(len(isolated))))
            for i in range(rows, len(isolated)):
                self.out.append(f"  {node_id(isolated[i - rows].key)} -> {node_id(isolated[i].key)} [style=invis];")

    def _order_layers(self, layers: list[list[str]]) -> None:
        """Two consecutive layers that no layout-shaping edge (a data flow along the layers) joins are kept in order
        by an invisible edge (the business view's ``serves`` carries no data: without it every layer is one rank)."""
        nodes = self.d.nodes
        shaped = {
            (nodes[e.tail].layer, nodes[e.head].layer)
            for e in self.d.edges
            if e.tail in nodes and e.head in nodes and (carries_data(e.type, self.mm) or e.type == AGGREGATE)
        }
        for before, after in zip(layers, layers[1:], strict=False):
            if (nodes[before[0]].layer, nodes[after[0]].layer) not in shaped:
                self.out.append(f"  {node_id(before[0])} -> {node_id(after[0])} [style=invis];")

    def _layers(self) -> list[list[str]]:
        """The nodes of each layer (Node.layer), in layer order: one rank each (``newrank``: across clusters)."""
        layers: dict[int, list[str]] = defaultdict(list)
        for n in self.d.nodes.values():
            if n.layer is not None:
                layers[n.layer].append(n.key)
        return [sorted(layers[k], key=node_id) for k in sorted(layers)]

    @staticmethod
    def _used_clusters(children: dict[str | None, list[Cluster]], members: dict[str | None, list[Node]]) -> set[str]:
        """Clusters with at least one node inside (directly or in a sub-cluster): empty ones are not drawn."""
        used: set[str] = set()

        def visit(c: Cluster) -> bool:
            has = bool(members.get(c.key))
            for child in children.get(c.key, []):
                has = visit(child) or has
            if has:
                used.add(c.key)
            return has

        for c in children.get(None, []):
            visit(c)
        return used


def stamp_line(day: str, as_of: str | None, revision: Revision, lang: str) -> str:
    """The stamp's second line: the day, the record it was read from and the change-log head ("Ngày: 1 tháng 2 năm
    2025 (bản ghi hiện hành) · Phiên bản: #412 3f2a..."). Diagrams and the current-state report carry the same."""
    pattern = DATE_PATTERNS.get(lang, "yyyy-MM-dd")  # dates as the language writes them in a sentence
    record = f"{word('recorded', lang)} {format_date(as_of, lang, pattern)}" if as_of else word("current_record", lang)
    return f"{word('as_of', lang)}: {format_date(day, lang, pattern)} ({record}) · {word('revision', lang)}: {revision.short}"


def to_dot(diagram: Diagram, metamodel: Metamodel = DEFAULT, url_prefix: str = "") -> str:
    """The diagram as DOT text (same diagram, same text)."""
    return DotWriter(diagram, metamodel, url_prefix).write()


__all__ = ["FONT", "DotWriter", "clean", "html", "node_id", "quoted", "stable_id", "to_dot", "wrap", "wrapped"]
