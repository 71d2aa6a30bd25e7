"""Views registered by name. The built-in views (diagrams/views.py) register exactly like an extension would::

    from diagrams.registry import ViewParams, register

    class MyView:
        name = "my-view"
        label = Label("Sơ đồ của tôi", "My view")             # its name in menus and lists
        title = Label("Sơ đồ của tôi", "My view")             # the diagram's title
        description = "What it shows"
        ref_kinds = ("system",)      # --ref must name one of these kinds; () = no --ref; None = --ref optional
        def build(self, store, params: ViewParams) -> Diagram: ...

    register(MyView())

The registry fills itself with the built-ins on first use (:func:`registry`), never at import time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from catalog.errors import FieldError, ValidationFailed
from catalog.metamodel import Label
from catalog.store.base import CatalogStore

from diagrams.model import Diagram

DEFAULT_LIMIT = 300
DIRECTIONS = ("out", "in", "both")
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

    def check(self) -> "ViewParams":
        errors = []
        if self.lang not in LANGS:
            errors.append(FieldError("lang", f"must be one of: {', '.join(LANGS)}"))
        if self.direction not in DIRECTIONS:
            errors.append(FieldError("direction", f"must be one of: {', '.join(DIRECTIONS)}"))
        if not 0 <= self.depth <= 10:
            errors.append(FieldError("depth", "must be between 0 and 10"))
        if self.limit < 1:
            errors.append(FieldError("limit", "must be at least 1"))
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


_REGISTRY: dict[str, View] = {}


def register(view: View) -> View:
    if view.name in _REGISTRY:
        raise ValueError(f"a view named '{view.name}' is already registered")
    _REGISTRY[view.name] = view
    return view


def registry() -> dict[str, View]:
    """All views by name; the built-ins are registered on first use."""
    if not _REGISTRY:
        from diagrams import views

        views.register_builtins(register)
    return dict(sorted(_REGISTRY.items()))


def get_view(name: str) -> View:
    views = registry()
    if name not in views:
        raise ValidationFailed([FieldError("view", f"unknown view '{name}'; available: {', '.join(views)}")])
    return views[name]


def build(store: CatalogStore, name: str, params: ViewParams | None = None) -> Diagram:
    """Select and group the part of the catalog that the view ``name`` draws."""
    view = get_view(name)
    params = (params or ViewParams()).check()
    if view.ref_kinds and not params.ref:
        raise ValidationFailed([FieldError("ref", f"the '{name}' view needs --ref naming a "
                                                  f"{' or '.join(view.ref_kinds)}")])
    if view.ref_kinds == () and params.ref:
        raise ValidationFailed([FieldError("ref", f"the '{name}' view takes no --ref")])
    return view.build(store, params)


__all__ = ["DEFAULT_LIMIT", "View", "ViewParams", "build", "get_view", "register", "registry"]
