"""Registries by name: the one mechanism behind importers, exporters, views, compliance checks and compliance rules.

A :class:`Registry` holds items of one kind keyed by name. It fills itself on first use, never at import time, from
two kinds of source read the same way:

- its built-ins: ``"module:attribute"`` specs the registry is declared with (the project's own modules);
- extensions: the Python entry points of its group (``ioc_catalog.importers``, ``ioc_catalog.exporters``,
  ``ioc_catalog.views``, ``ioc_catalog.checks``, ``ioc_catalog.rules``) of every installed distribution.

Built-ins and extensions register exactly alike (as datasette's own features are plugins): a spec or an entry point
names either one item, a list of items, or a function of no arguments (a class counts) returning one item or an
iterable of them.
Built-ins come first in the order declared, then extensions sorted by entry-point name (then distribution), then
anything given to :meth:`Registry.register` at run time: the order is the same on every run.

A name is registered once. A second item under a taken name is refused with :class:`NameTaken`, whose message names
both origins (``built-in importers.native:importers``, ``extension ioc-catalog-example 0.1.0 (entry point
ioc_catalog.views: example-owners = ioc_catalog_example:OwnersView)``), unless :meth:`Registry.register` is told ``replace=True``. An extension that cannot be
loaded, or that gives something that is not an item of the kind, is refused with :class:`RegistryError` naming it.
:meth:`Registry.get` of an unknown name raises :class:`UnknownName` (a :class:`NotFound`) listing the names there are.

:meth:`Registry.reset` forgets everything, so that the next use loads again (tests that install an extension).
See docs/importers.md ("Extensions") for a worked example package (tests/extension_example).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from typing import Any, Generic, TypeVar

from catalog.errors import CatalogError, NotFound
from catalog.i18n import Message, msg

T = TypeVar("T")


class RegistryError(CatalogError):
    """An extension (or a built-in) could not be registered: a taken name, an import that failed, a wrong object.
    The installation is at fault, not a request: fix the extension or uninstall it."""

    code = "registry-error"


class NameTaken(RegistryError):
    code = "registry-name-taken"

    def __init__(self, kind: Message, name: str, first: str, second: str):
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(msg("registry-name-taken", kind=kind, name=name, first=first, second=second))


class UnknownName(NotFound):
    code = "registry-unknown-name"

    def __init__(self, kind: Message, name: str, available: list[str]):
        self.kind, self.name, self.available = kind, name, list(available)
        super().__init__(msg("registry-unknown-name", kind=kind, name=name, available=", ".join(available) or "—"))


def _resolve(spec: str) -> Any:
    """The object a ``module:attribute.path`` spec names (the syntax of an entry point's value)."""
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module.strip())
    for part in attr.strip().split(".") if attr.strip() else ():
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Items of one kind by name (see the module docstring).

    ``kind`` is the kind's name in messages; ``group`` the entry-point group extensions declare; ``builtins`` the
    specs of the built-ins; ``key(item)`` an item's name; ``accepts(obj)`` whether ``obj`` is an item of the kind
    (an object a spec names is first tried as an item, then as a list, then called)."""

    def __init__(
        self,
        kind: Message,
        group: str,
        builtins: Iterable[str],
        key: Callable[[T], str],
        accepts: Callable[[Any], bool],
    ):
        self.kind, self.group, self.builtins = kind, group, tuple(builtins)
        self._key, self._accepts_item = key, accepts
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loaded = self._loading = False
        self._lock = threading.RLock()

    # --- reading -----------------------------------------------------------------------------------------------

    def items(self) -> dict[str, T]:
        """Every item by name, in registration order (a copy)."""
        self._load()
        return dict(self._items)

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def get(self, name: str) -> T:
        """The item named ``name``; :class:`UnknownName` (listing the names there are) when there is none."""
        self._load()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownName(self.kind, str(name), list(self._items)) from None

    def origin(self, name: str) -> str:
        """Where the item ``name`` came from: ``built-in module:attr``, ``extension dist version (entry point ...)``
        or ``module.qualname`` of a run-time registration."""
        self._load()
        return self._origins[name]

    def is_builtin(self, name: str) -> bool:
        return self.origin(name).startswith("built-in ")

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._items)

    # --- writing -----------------------------------------------------------------------------------------------

    def register(self, name: str, item: T, *, replace: bool = False, origin: str | None = None) -> T:
        """Add ``item`` under ``name`` (its own name). A taken name raises :class:`NameTaken` naming both origins;
        ``replace=True`` says the replacement is meant."""
        self._load()
        return self._add(name, item, origin or _origin_of(item), replace)

    def reset(self) -> None:
        """Forget every item: the next use loads the built-ins and the installed extensions again (after an
        extension was installed or removed in this process)."""
        with self._lock:
            self._items, self._origins, self._loaded = {}, {}, False

    # --- loading -----------------------------------------------------------------------------------------------

    def _accepts(self, obj: Any) -> bool:
        """Whether ``obj`` is an item: never a class (an entry point naming a class means its instance)."""
        return not isinstance(obj, type) and self._accepts_item(obj)

    def _add(self, name: str, item: T, origin: str, replace: bool) -> T:
        if not self._accepts(item):
            raise RegistryError(msg("registry-not-an-item", kind=self.kind, origin=origin, got=type(item).__name__))
        if self._key(item) != name:
            raise RegistryError(
                msg("registry-name-differs", kind=self.kind, origin=origin, name=name, own=self._key(item))
            )
        with self._lock:
            if name in self._items and not replace:
                raise NameTaken(self.kind, name, self._origins[name], origin)
            self._items[name] = item
            self._origins[name] = origin
        return item

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # loaded meanwhile, or asked again by an item being loaded: as is
                return
            self._loading = True
            try:
                for spec in self.builtins:
                    self._add_all(_resolve(spec), f"built-in {spec}")
                for ep in self._entry_points():
                    dist = getattr(ep, "dist", None)
                    who = f"{dist.name} {dist.version}" if dist is not None else "an unnamed distribution"
                    origin = f"extension {who} (entry point {self.group}: {ep.name} = {ep.value})"
                    try:
                        obj = ep.load()
                    except Exception as exc:
                        raise RegistryError(
                            msg(
                                "registry-load-failed",
                                kind=self.kind,
                                origin=origin,
                                error=f"{type(exc).__name__}: {exc}",
                            )
                        ) from exc
                    self._add_all(obj, origin)
            except BaseException:
                self._items, self._origins = {}, {}
                raise
            finally:
                self._loading = False
            self._loaded = True

    def _entry_points(self) -> list[metadata.EntryPoint]:
        found = metadata.entry_points(group=self.group)
        seen, out = set(), []
        for ep in sorted(found, key=lambda e: (e.name, e.value, getattr(getattr(e, "dist", None), "name", "") or "")):
            dist = getattr(getattr(ep, "dist", None), "name", None)
            if (ep.name, ep.value, dist) in seen:  # one distribution seen twice on sys.path
                continue
            seen.add((ep.name, ep.value, dist))
            out.append(ep)
        return out

    def _add_all(self, obj: Any, origin: str) -> None:
        for item in self._unpack(obj, origin):
            self._add(self._key(item) if self._accepts(item) else "?", item, origin, False)

    def _unpack(self, obj: Any, origin: str) -> list[Any]:
        if self._accepts(obj):
            return [obj]
        if isinstance(obj, (list, tuple)):
            return list(obj)
        if callable(obj):
            try:
                made = obj()
            except Exception as exc:
                raise RegistryError(
                    msg("registry-load-failed", kind=self.kind, origin=origin, error=f"{type(exc).__name__}: {exc}")
                ) from exc
            if self._accepts(made):
                return [made]
            if isinstance(made, Iterable) and not isinstance(made, (str, bytes, dict)):
                return list(made)
            obj = made
        raise RegistryError(msg("registry-not-an-item", kind=self.kind, origin=origin, got=type(obj).__name__))


def _origin_of(item: Any) -> str:
    cls = item if callable(item) and hasattr(item, "__qualname__") else type(item)
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


__all__ = ["NameTaken", "Registry", "RegistryError", "UnknownName"]
