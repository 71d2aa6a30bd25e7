"""Architecture diagrams: views (which part of the graph, grouped how) -> DOT -> Graphviz (SVG, PNG, PDF, DOT),
and the auditor's export bundle.

    from diagrams import ViewParams, draw
    svg = draw(store, "ioc", ViewParams(as_of="2025-08-01"), "svg")

Modules: snapshot (the catalog at one instant, both clocks), registry (views by name), views (the built-ins),
compose (shared helpers), model (the format-free diagram), style (change and aggregate styles, the diagrams' own
words; how relationships look is the metamodel's), dot (DOT writer), render (Graphviz), bundle (audit bundle).
Importing this package does no work; the view registry fills on first use.
"""

from __future__ import annotations

from catalog.history.snapshot import NothingRecorded
from catalog.store.base import CatalogStore
from diagrams.dot import to_dot
from diagrams.model import Diagram
from diagrams.registry import ViewParams, build, register, registry
from diagrams.render import FORMATS, RenderFailed, render


def dot_for(store: CatalogStore, view: str, params: ViewParams | None = None, url_prefix: str = "") -> str:
    """The DOT text of a view."""
    return to_dot(build(store, view, params), store.metamodel, url_prefix)


def draw(
    store: CatalogStore,
    view: str,
    params: ViewParams | None = None,
    fmt: str = "svg",
    *,
    url_prefix: str = "",
    timeout: float = 120.0,
    dpi: int | None = None,
) -> bytes:
    """Build a view and render it: same catalog, view and parameters give the same bytes."""
    import datetime as dt

    diagram = build(store, view, params)
    return render(
        to_dot(diagram, store.metamodel, url_prefix),
        fmt,
        timeout=timeout,
        pdf_date=dt.date.fromisoformat(diagram.day),
        dpi=dpi,
    )


__all__ = [
    "FORMATS",
    "Diagram",
    "NothingRecorded",
    "RenderFailed",
    "ViewParams",
    "build",
    "dot_for",
    "draw",
    "register",
    "registry",
    "render",
    "to_dot",
]
