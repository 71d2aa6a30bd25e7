"""Views registered by name. The built-in views (diagrams/views.py) register exactly like an extension would::

    from diagrams.registry import ViewParams, register

    class MyView:
        name = "my-view"
        label = Label("Sơ đồ của tôi", "My view")             # its name in menus and lists
        title = Label("Sơ đồ của tôi", "My view")             # the diagram's title
        description = "What it shows"
        ref_kinds = ("system",)      # --ref must name one of these kinds; () = no --ref; None = --ref optional
        def build(self, store, params: ViewParams) -> Diagram: ...

    register(MyView())           # at run time; an installed extension declares an entry point instead:

    [project.entry-points."ioc_catalog.views"]
    my-view = "my_package.views:MyView"

The registry (:data:`VIEWS`, a :class:`catalog.registry.Registry`) fills itself on first use with the built-ins
(``diagrams.views:builtin_views``) and every installed extension's views, never at import time; a view whose name is
taken is refused (docs/diagrams.md, "Extensions").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg, one_of
from catalog.metamodel import Label
from catalog.registry import Registry
from catalog.store.base import CatalogStore
from diagrams.budget import DETAILS, MAX_EDGES, MAX_NODES, apply_budget
from diagrams.model import Diagram

DEFAULT_LIMIT = 300
DIRECTIONS = ("out", "in", "both")
LINEAGES = ("city", "full")  # ioc: the IOC's own city or province (others as external sources), or every source
LANGS = ("vi", "en")


@dataclass(frozen=True)
class ViewParams:
    ref: str | None = None
    as_of: dt.date | str | None = None  # transaction time (and valid time unless valid_on is given)
    valid_on: dt.date | str | None = None  # valid time on its own
    depth: int = 1
    direction: str = "both"
    lang: str = "vi"
    limit: int = DEFAULT_LIMIT  # landscape: collapse to organisations past this many nodes
    from_date: dt.date | str | None = None  # diff
    to_date: dt.date | str | None = None  # diff
    lineage: str = "city"  # ioc: LINEAGES
    # the size budget (diagrams.budget): over it, collapsed by organisation unless detail="full"; expand one
    detail: str = "auto"
    expand: str | None = None
    max_nodes: int = MAX_NODES
    max_edges: int = MAX_EDGES

    def check(self) -> ViewParams:
        errors = []
        if self.lang not in LANGS:
            errors.append(FieldError("lang", msg("value-one-of", allowed=", ".join(LANGS))))
        if self.direction not in DIRECTIONS:
            errors.append(FieldError("direction", msg("value-one-of", allowed=", ".join(DIRECTIONS))))
        if not 0 <= self.depth <= 10:
            errors.append(FieldError("depth", msg("cli-value-range", low=0, high=10)))
        if self.lineage not in LINEAGES:
            errors.append(FieldError("lineage", msg("value-one-of", allowed=", ".join(LINEAGES))))
        if self.limit < 1:
            errors.append(FieldError("limit", msg("value-at-least", minimum=1)))
        if self.detail not in DETAILS:
            errors.append(FieldError("detail", msg("value-one-of", allowed=", ".join(DETAILS))))
        if self.max_nodes < 1 or self.max_edges < 1:
            errors.append(
                FieldError("max_nodes" if self.max_nodes < 1 else "max_edges", msg("value-at-least", minimum=1))
            )
        if errors:
            raise ValidationFailed(errors)
        return self


class View(Protocol):
    name: str
    label: Label  # the view's name for people (menus, lists: "Tích hợp dữ liệu vào IOC" / "IOC integration")
    title: Label  # the diagram's title (its stamp)
    description: str
    ref_kinds: tuple[str, ...] | None  # required kinds of ``ref``; () means the view takes no ref; None optional

    def build(self, store: CatalogStore, params: ViewParams) -> Diagram: ...


def _is_view(obj: Any) -> bool:
    return (
        isinstance(getattr(obj, "name", None), str)
        and callable(getattr(obj, "build", None))
        and hasattr(obj, "title")
        and hasattr(obj, "label")
    )


# the built-ins register exactly like an extension's entry points in the group ``ioc_catalog.views``
VIEWS: Registry[View] = Registry(
    msg("registry-kind-view"),
    "ioc_catalog.views",
    ("diagrams.views:builtin_views", "diagrams.business:builtin_views"),
    key=lambda view: view.name,
    accepts=_is_view,
)


def register(view: View, *, replace: bool = False) -> View:
    """Register ``view`` under its name (a taken name is refused: :class:`catalog.registry.NameTaken`)."""
    return VIEWS.register(view.name, view, replace=replace)


def registry() -> dict[str, View]:
    """All views by name, sorted (the built-ins and the extensions', loaded on first use)."""
    return dict(sorted(VIEWS.items().items()))


def get_view(name: str) -> View:
    views = registry()
    if name not in views:
        raise ValidationFailed([FieldError("view", msg("view-unknown", view=name, known=", ".join(views)))])
    return views[name]


def build(store: CatalogStore, name: str, params: ViewParams | None = None) -> Diagram:
    """Select and group the part of the catalog that the view ``name`` draws."""
    view = get_view(name)
    params = (params or ViewParams()).check()
    if view.ref_kinds and not params.ref:
        raise ValidationFailed([FieldError("ref", msg("view-needs-ref", view=name, kinds=one_of(view.ref_kinds)))])
    if view.ref_kinds == () and params.ref:
        raise ValidationFailed([FieldError("ref", msg("view-takes-no-ref", view=name))])
    return budget(store, view.build(store, params), params)


def budget(store: CatalogStore, diagram: Diagram, params: ViewParams) -> Diagram:
    """The size budget over any view's model (diagrams.budget): collapsed by organisation when too large."""

    past: list[Any] = []  # the snapshot of the diagram's dates, read once when folding needs it

    def snapshot() -> Any:
        if not past:
            from catalog.history.snapshot import cached_snapshot, days, load_snapshot

            as_of, day = days(store, params.as_of, params.valid_on)
            past.append(cached_snapshot(store, as_of, day) or load_snapshot(store, params.as_of, params.valid_on))
        return past[0]

    def entity(ref: str) -> Any:
        if params.as_of is None and params.valid_on is None:
            return store.find_entity(ref)
        return snapshot().entity(ref)

    def owner_of(ref: str) -> str | None:  # an asset's owner, an organisation's parent, on the diagram's dates
        found = entity(ref)
        if found is None:
            return None
        if params.as_of is None and params.valid_on is None:
            return found.owner or found.attributes.get("parent")
        return snapshot().owner(ref) or found.attributes.get("parent")

    def name_of(ref: str) -> str | None:
        found = entity(ref)
        return found.name.get(params.lang) if found is not None else None

    return apply_budget(
        diagram,
        store.metamodel,
        max_nodes=params.max_nodes,
        max_edges=params.max_edges,
        detail=params.detail,
        expand=params.expand,
        owner_of=owner_of,
        name_of=name_of,
    )


__all__ = ["DEFAULT_LIMIT", "LINEAGES", "VIEWS", "View", "ViewParams", "build", "get_view", "register", "registry"]
