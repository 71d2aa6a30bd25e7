"""Whole-catalog exports, in one registry for every door (``ioc-catalog export``, ``GET /api/v1/exports/{name}``).

Each :class:`Exporter` names a format, its media type and file name, and builds the bytes from a store; the formats'
writers live with their importers (native JSON, the spreadsheet layout, ArchiMate 3.1), so an export re-imports.
The formats live in one registry (:data:`EXPORTERS`, a :class:`catalog.registry.Registry`): the built-ins
(:func:`builtin_exporters`) and every installed extension's ``ioc_catalog.exporters`` entry points, each an
:class:`Exporter` (docs/importers.md, "Extensions").

No stored value makes an export fail. A catalog may hold text written before the catalog's text rules
(``catalog.text``) refused it: a control character an XML file cannot hold, or (in principle) a lone surrogate that
UTF-8 cannot. Each exporter says which text its format holds (``text``: :func:`catalog.text.xml_text` for XLSX and
ArchiMate, :func:`catalog.text.utf8_text` for native JSON and CSV, which keep every other character as stored), its
writer reads the store through that rule, and every value it had to change is reported in ``Exported.notes`` (the
reference and field; the character is written as U+FFFD).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.model import rewrite_text
from catalog.registry import NameTaken, Registry
from catalog.store.base import CatalogStore
from catalog.text import utf8_text, xml_text


@dataclass(frozen=True)
class Exported:
    data: bytes
    notes: list[str] = field(default_factory=list)  # what the format could not carry (reported, never silent)


@dataclass(frozen=True)
class Exporter:
    name: str
    media_type: str
    filename: str
    description: str
    build: Callable[[CatalogStore, bool], Exported]  # (store, include the change log)
    aliases: tuple[str, ...] = ()
    changelog: bool = False  # can carry the change log
    text: Callable[[str], str] = utf8_text  # text as the format holds it (what it cannot hold becomes U+FFFD)

    @property
    def label(self) -> str:
        """The name people type (the first alias, when the format has a familiar one: ``json``)."""
        return self.aliases[0] if self.aliases else self.name


class _HeldText:
    """The store as a format holds its text: entities, relationships, events and change-log entries read through
    it have their strings passed through ``fix``; each value changed is noted. Everything else is the store's."""

    def __init__(self, store: CatalogStore, fix: Callable[[str], str], label: str):
        self._store, self._fix, self._label = store, fix, label
        self.notes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _held(self, model: Any, name: str) -> Any:
        held, changed = rewrite_text(model, self._fix)
        self.notes += [f"{name} {path}: a character {self._label} cannot hold is written as U+FFFD" for path in changed]
        return held

    def iter_entities(self, *args: Any, **kw: Any) -> Iterator[Any]:
        for e in self._store.iter_entities(*args, **kw):
            yield self._held(e, e.ref)

    def all_relationships(self, *args: Any, **kw: Any) -> list[Any]:
        return [self._held(r, r.id) for r in self._store.all_relationships(*args, **kw)]

    def list_events(self, *args: Any, **kw: Any) -> list[Any]:
        return [self._held(ev, ev.ref) for ev in self._store.list_events(*args, **kw)]

    def changelog(self, *args: Any, **kw: Any) -> list[Any]:
        return [self._held(c, f"change-log entry {c.seq}") for c in self._store.changelog(*args, **kw)]


def _native(store: CatalogStore, include_changelog: bool) -> Exported:
    from importers.native import export_native

    text = json.dumps(export_native(store, include_changelog), ensure_ascii=False, indent=1)
    return Exported((text + "\n").encode())


def _xlsx(store: CatalogStore, _: bool) -> Exported:
    from importers.spreadsheet import write_workbook

    return Exported(write_workbook(store, store.metamodel))


def _csv(store: CatalogStore, _: bool) -> Exported:
    from importers.spreadsheet import csv_zip_bytes

    return Exported(csv_zip_bytes(store))


def _archimate(store: CatalogStore, _: bool) -> Exported:
    from importers.archimate import export_archimate

    result = export_archimate(store)
    return Exported(result.xml, list(result.skipped))


def builtin_exporters() -> list[Exporter]:
    """The built-in formats, as the exporter registry (:data:`EXPORTERS`) loads them: like an extension's."""
    return [
        Exporter(
            "native",
            "application/json",
            "catalog.json",
            "Native JSON (lossless; ioc-catalog import reads it back)",
            _native,
            aliases=("json",),
            changelog=True,
        ),
        Exporter(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "catalog.xlsx",
            "Spreadsheet, one sheet per kind (the layout of `ioc-catalog template`)",
            _xlsx,
            text=xml_text,
        ),
        Exporter("csv", "application/zip", "catalog-csv.zip", "The spreadsheet layout as a zip of CSV files", _csv),
        Exporter(
            "archimate",
            "application/xml",
            "catalog-archimate.xml",
            "ArchiMate 3.1 model exchange file (Archi, BiZZdesign, ...)",
            _archimate,
            text=xml_text,
        ),
    ]


# the built-ins register exactly like an extension's entry points in the group ``ioc_catalog.exporters``
EXPORTERS: Registry[Exporter] = Registry(
    msg("registry-kind-exporter"),
    "ioc_catalog.exporters",
    ("importers.exports:builtin_exporters",),
    key=lambda e: e.name,
    accepts=lambda obj: isinstance(obj, Exporter),
)


def exporters() -> dict[str, Exporter]:
    """Every export format by name: the built-ins, then the extensions' (loaded on first use). An alias is a name
    too: one that another format already answers to is refused like a taken name."""
    items = EXPORTERS.items()
    answers: dict[str, str] = {}
    for e in items.values():
        for name in (e.name, *e.aliases):
            if answers.setdefault(name, e.name) != e.name:
                raise NameTaken(EXPORTERS.kind, name, EXPORTERS.origin(answers[name]), EXPORTERS.origin(e.name))
    return items


def exporter(name: str) -> Exporter:
    """The format ``name`` (or one of its aliases)."""
    for e in exporters().values():
        if name == e.name or name in e.aliases:
            return e
    raise ValidationFailed(
        [
            FieldError(
                "format",
                msg("export-format-unknown", format=name, known=", ".join(e.label for e in exporters().values())),
            )
        ]
    )


def export(store: CatalogStore, name: str, include_changelog: bool = False) -> Exported:
    e = exporter(name)
    if include_changelog and not e.changelog:
        raise ValidationFailed([FieldError("changelog", msg("export-changelog-native-only", format=e.label))])
    held = _HeldText(store, e.text, "XML" if e.text is xml_text else "UTF-8")
    out = e.build(held, include_changelog)  # type: ignore[arg-type]  # the store's interface, text held
    return Exported(out.data, held.notes + out.notes) if held.notes else out


__all__ = ["EXPORTERS", "Exported", "Exporter", "builtin_exporters", "export", "exporter", "exporters"]
