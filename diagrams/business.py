"""The ``business`` view: business functions and administrative procedures with the systems serving them.

Left to right: the systems, platforms and services that serve (``serves``), the functions, processes and procedures
they serve, and the capabilities these realise. Business elements sit in their owner's cluster (capabilities, which
have no owner, together); each procedure's second line says its online level, and a procedure or function that no
live system serves says so, so the gaps read off the drawing. With ``--ref`` (an organisation): only the business
elements it and its units own or decide (catalog.coverage), with what serves and what they realise.
"""

from __future__ import annotations

from typing import Any

from catalog.coverage import coverage
from catalog.history.snapshot import Snapshot, load_snapshot
from catalog.i18n import msg
from catalog.metamodel import Label
from catalog.store.base import CatalogStore
from diagrams.compose import add_edges, entity_node, org_cluster
from diagrams.model import Cluster, Diagram
from diagrams.registry import ViewParams

CAPABILITIES = "group:capabilities"
SERVERS = "group:servers"
BUSINESS = ("function", "process", "procedure")
# layers, left to right: what serves, what is served, what is realised
LAYER = {"function": 1, "process": 1, "procedure": 1, "capability": 2}


class BusinessView:
    name = "business"
    label = Label("Nghiệp vụ và hệ thống phục vụ", "Business and serving systems")
    title = Label("Chức năng, thủ tục hành chính và hệ thống phục vụ", "Functions, procedures and serving systems")
    description = (
        "Business functions, processes and administrative procedures with the systems serving them and the "
        "capabilities they realise; --ref: one organisation's (and its units')"
    )
    ref_kinds: tuple[str, ...] | None = None  # optional: an organisation

    def build(self, store: CatalogStore, params: ViewParams) -> Diagram:
        snap = load_snapshot(store, params.as_of, params.valid_on)
        return self.draw(snap, params)

    def draw(self, snap: Snapshot, params: ViewParams) -> Diagram:
        lang = params.lang
        cov = coverage(snap, params.ref)  # refuses a ref that is not an organisation on the day
        title = self.title.get(lang)
        if params.ref:
            title = f"{title}: {snap.entities[params.ref].name.get(lang)}"
        d = Diagram(
            view=self.name,
            title=title,
            lang=lang,
            day=snap.day.isoformat(),
            as_of=snap.as_of.isoformat() if snap.as_of else None,
            revision=snap.revision,
            rankdir="LR",
        )
        shown: list[str] = [c.ref for c in cov.procedures + cov.functions]
        if params.ref is None:
            shown += [ref for ref, e in snap.entities.items() if e.kind in ("process", "capability")]
        else:
            orgs = snap.descendants(params.ref)
            shown += [ref for ref, e in snap.entities.items() if e.kind == "process" and snap.owner(ref) in orgs]
        state = {c.ref: c for c in cov.procedures + cov.functions}
        for ref in sorted(set(shown)):
            e = snap.entities[ref]
            d.add_node(self._business_node(d, snap, e, lang, state.get(ref)))
        rels: dict[str, Any] = {}
        for ref in sorted(set(shown)):
            for r in snap.touching(ref):
                other = r.target if r.source == ref else r.source
                o = snap.entities.get(other)
                if o is None or r.properties.get("status") == "retired":
                    continue
                if r.type == "serves" and r.target == ref and o.attributes.get("lifecycle") != "retired":
                    rels[r.id] = r
                    if other not in d.nodes:
                        d.add_node(self._server_node(d, snap, o, lang))
                elif o.kind in BUSINESS + ("capability",):
                    rels[r.id] = r
                    if other not in d.nodes:
                        d.add_node(self._business_node(d, snap, o, lang, state.get(other), highlight="context"))
        add_edges(d, snap, [rels[k] for k in sorted(rels)], lang)
        if not d.nodes:
            d.notes.append(msg("view-business-empty").text(lang))
        return d

    def _server_node(self, d: Diagram, snap: Snapshot, e: Any, lang: str) -> Any:
        """A serving system, platform or service: all in one column on the left, its owner on its second line."""
        cluster = d.add_cluster(Cluster(SERVERS, msg("view-business-servers").text(lang), sort="\u0000")).key
        node = entity_node(snap, e, lang, cluster, layer=0)
        owner = snap.entity(node_owner) if (node_owner := snap.owner(e.ref)) else None
        node.sublabel = owner.name.get(lang) if owner is not None else ""
        return node

    def _business_node(self, d: Diagram, snap: Snapshot, e: Any, lang: str, cov: Any, highlight: str = "") -> Any:
        owner = snap.owner(e.ref)
        if e.kind == "capability":  # the whole city's: never outside the scope
            highlight = ""
        if owner:
            cluster = org_cluster(d, snap, owner, lang)
        else:  # capabilities: the whole city's
            cluster = d.add_cluster(
                Cluster(CAPABILITIES, msg("view-business-capabilities").text(lang), sort="\uffff")
            ).key
        node = entity_node(snap, e, lang, cluster, layer=LAYER.get(e.kind, 1), highlight=highlight)
        parts = []
        if e.kind == "procedure":
            level = e.attributes.get("online_level")
            spec = snap.metamodel.kinds["procedure"].attribute("online_level")
            parts.append(spec.value_label(level, lang) if level and spec else msg("coverage-level-unknown").text(lang))
        if cov is not None and cov.state in ("uncovered", "online_without_system"):
            parts.append(msg("coverage-no-system").text(lang))
        node.sublabel = " · ".join(parts)
        return node


def builtin_views() -> list[Any]:
    """The business view, loaded by the view registry like the other built-ins."""
    return [BusinessView()]


__all__ = ["BusinessView", "builtin_views"]
