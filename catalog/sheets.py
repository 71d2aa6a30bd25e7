"""Spreadsheet cell rules shared by every writer and reader of spreadsheets (the audit inventory, the XLSX/CSV
exports and importers): formula-injection escaping and its exact inverse, and deterministic XLSX bytes.

Formula injection: a cell whose text starts with = + - @ (or a tab / carriage return) is written with one leading
apostrophe, so no spreadsheet evaluates it. So that the escape can be undone exactly, text that already starts with
apostrophes followed by such a character gets one more apostrophe too; :func:`unescape_formula` removes exactly one
apostrophe from such text and leaves every other value alone (``'abc`` stays ``'abc``).

This module uses only the standard library (openpyxl is imported where a workbook is written).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from catalog.text import XML_INVALID

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
XML_ILLEGAL = XML_INVALID  # characters an XLSX (XML 1.0) cannot hold: the one definition, in catalog.text


def cell_text(value: Any) -> str:
    """A value as spreadsheet text: None -> "", booleans true/false, lists joined with "; "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def escape_formula(text: str) -> str:
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def unescape_formula(text: str) -> str:
    """The exact inverse of :func:`escape_formula`."""
    return text[1:] if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_START) else text


def safe_cell(value: Any) -> str:
    """A cell that a spreadsheet shows as text, never evaluates."""
    return escape_formula(cell_text(value))


def workbook_bytes(wb: Any) -> bytes:
    """An openpyxl workbook as deterministic XLSX bytes: the caller sets the document dates; the package is written
    without openpyxl's save_workbook (which stamps "modified" with the wall clock) and re-packed by :func:`repack`."""
    from openpyxl.writer.excel import ExcelWriter

    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    return repack(raw.getvalue())


def repack(package: bytes) -> bytes:
    """The same zip (same entries, same order) with fixed entry times and attributes and fixed compression."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            dst.writestr(info, src.read(item.filename), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


__all__ = [
    "FORMULA_START",
    "XML_ILLEGAL",
    "ZIP_TIME",
    "cell_text",
    "escape_formula",
    "repack",
    "safe_cell",
    "unescape_formula",
    "workbook_bytes",
]
