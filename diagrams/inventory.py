"""The catalog inventory as spreadsheets: one CSV per kind, and one XLSX workbook with one sheet per kind.

Both are written from a list of entities on one day (the audit bundle passes the snapshot at its date) and are
byte-deterministic: same entities, kinds and day, same bytes.

- **CSV** (``inventory_csv``): UTF-8 with BOM (so Excel reads Vietnamese correctly), CRLF, machine headers
  (``ref``, ``name_vi``, ... then the kind's attribute names).
- **XLSX** (``inventory_xlsx``): one sheet per kind (sheet named after the kind), bilingual headers from the
  metamodel labels ("Tên (tiếng Việt) / Name (Vietnamese)", attribute "label.vi / label.en"), header row frozen and
  bold, every cell stored as text. The document's created/modified dates are the inventory day (midnight UTC) and the
  package zip is re-packed with fixed entry times (1980-01-01) and permissions, so no clock leaks into the bytes.

Formula injection: every cell goes through ``safe_cell`` (catalog.sheets, shared with the spreadsheet exports): text
starting with = + - @ (or a tab / carriage return) gets a leading apostrophe and is stored as a string, never as a
formula. In the XLSX the control characters XML cannot hold (everything below U+0020 except tab, newline and carriage
return) are replaced by U+FFFD.

This module reads only catalog.metamodel / catalog.model / catalog.sheets: no store, API or importer code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from catalog.metamodel import Label, Metamodel
from catalog.model import Entity
from catalog.sheets import FORMULA_START, Sheet, repack, safe_cell, write_csv, write_xlsx

# the columns every kind has, before its attributes: (CSV name, bilingual label)
BASE_COLUMNS: tuple[tuple[str, Label], ...] = (
    ("ref", Label("Mã tham chiếu", "Reference")),
    ("name_vi", Label("Tên (tiếng Việt)", "Name (Vietnamese)")),
    ("name_en", Label("Tên (tiếng Anh)", "Name (English)")),
    ("owner", Label("Đơn vị chủ quản", "Owner")),
    ("valid_from", Label("Hiệu lực từ", "Valid from")),
    ("valid_to", Label("Hiệu lực đến", "Valid to")),
    ("tags", Label("Nhãn", "Tags")),
    ("description_vi", Label("Mô tả (tiếng Việt)", "Description (Vietnamese)")),
    ("description_en", Label("Mô tả (tiếng Anh)", "Description (English)")),
)


def bilingual(label: Label) -> str:
    return label.vi if label.vi == label.en else f"{label.vi} / {label.en}"


def _rows(entities: Iterable[Entity], kind: str, metamodel: Metamodel, day: dt.date) -> list[list[Any]]:
    """The rows of one kind, as values (the writers of catalog.sheets make each cell safe)."""
    spec = metamodel.kinds[kind]
    attrs = [a.name for a in spec.attributes]
    out = []
    for e in sorted((e for e in entities if e.kind == kind), key=lambda e: e.ref):
        owner = e.owner_on(day) if spec.owned else ""
        base = [
            e.ref,
            e.name.vi,
            e.name.en,
            owner,
            e.valid_from,
            e.valid_to,
            e.tags,
            e.description.vi,
            e.description.en,
        ]
        out.append(base + [e.attributes.get(a) for a in attrs])
    return out


def inventory_csv(entities: Iterable[Entity], kind: str, metamodel: Metamodel, day: dt.date) -> bytes:
    """One kind as CSV (UTF-8 with BOM, CRLF)."""
    head = [c for c, _ in BASE_COLUMNS] + [a.name for a in metamodel.kinds[kind].attributes]
    return write_csv(head, _rows(entities, kind, metamodel, day))


def inventory_xlsx(
    entities: Iterable[Entity], metamodel: Metamodel, day: dt.date, kinds: Iterable[str] | None = None
) -> bytes:
    """Every kind (or ``kinds``) as one sheet of a workbook; deterministic bytes (see the module docstring)."""
    entities = list(entities)
    sheets = [
        Sheet(
            kind,
            [bilingual(lbl) for _, lbl in BASE_COLUMNS]
            + [bilingual(a.label) for a in metamodel.kinds[kind].attributes],
            _rows(entities, kind, metamodel, day),
        )
        for kind in (kinds if kinds is not None else metamodel.kinds)
    ]
    return write_xlsx(sheets, f"Inventory / Danh mục {day.isoformat()}", dt.datetime.combine(day, dt.time()))


__all__ = ["BASE_COLUMNS", "FORMULA_START", "bilingual", "inventory_csv", "inventory_xlsx", "repack", "safe_cell"]
