"""Whole-catalog exports, in one registry for every door (``ioc-catalog export``, ``GET /api/v1/exports/{name}``).

Each :class:`Exporter` names a format, its media type and file name, and builds the bytes from a store; the formats'
writers live with their importers (native JSON, the spreadsheet layout, ArchiMate 3.1), so an export re-imports.
A new format is one more entry in :func:`exporters`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from catalog.errors import FieldError, ValidationFailed
from catalog.store.base import CatalogStore


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

    @property
    def label(self) -> str:
        """The name people type (the first alias, when the format has a familiar one: ``json``)."""
        return self.aliases[0] if self.aliases else self.name


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


def exporters() -> dict[str, Exporter]:
    return {e.name: e for e in (
        Exporter("native", "application/json", "catalog.json",
                 "Native JSON (lossless; ioc-catalog import reads it back)", _native, aliases=("json",),
                 changelog=True),
        Exporter("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "catalog.xlsx",
                 "Spreadsheet, one sheet per kind (the layout of `ioc-catalog template`)", _xlsx),
        Exporter("csv", "application/zip", "catalog-csv.zip", "The spreadsheet layout as a zip of CSV files", _csv),
        Exporter("archimate", "application/xml", "catalog-archimate.xml",
                 "ArchiMate 3.1 model exchange file (Archi, BiZZdesign, ...)", _archimate),
    )}


def exporter(name: str) -> Exporter:
    for e in exporters().values():
        if name == e.name or name in e.aliases:
            return e
    raise ValidationFailed([FieldError("format", f"unknown format '{name}'; available: "
                                                 f"{', '.join(e.label for e in exporters().values())}")])


def export(store: CatalogStore, name: str, include_changelog: bool = False) -> Exported:
    e = exporter(name)
    if include_changelog and not e.changelog:
        raise ValidationFailed([FieldError("changelog", f"the change log is exported only with the native format "
                                                        f"(not {e.label})")])
    return e.build(store, include_changelog)


__all__ = ["Exported", "Exporter", "export", "exporter", "exporters"]
