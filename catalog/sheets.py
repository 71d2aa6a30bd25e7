"""Spreadsheet cell rules shared by every writer and reader of spreadsheets (the audit inventory, the XLSX/CSV
exports and importers): formula-injection escaping and its exact inverse, and deterministic XLSX bytes.

Formula injection: a cell whose text starts with = + - @ (or a tab / carriage return) is written with one leading
apostrophe, so no spreadsheet evaluates it. So that the escape can be undone exactly, text that already starts with
apostrophes followed by such a character gets one more apostrophe too; :func:`unescape_formula` removes exactly one
apostrophe from such text and leaves every other value alone (``'abc`` stays ``'abc``).

This module uses only the standard library (openpyxl is imported where a workbook is written).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Sheet:
    """One table of an export: a sheet of a workbook, or a CSV file. Cells are made safe by the writers."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]


def sheet_title(title: str) -> str:
    """A title Excel accepts for a sheet: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "_"


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV for spreadsheets: UTF-8 with BOM (so Excel shows Vietnamese), CRLF, every cell safe from formula
    injection. The one CSV writer of every export."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(sheets: Iterable[Sheet], title: str, stamp: dt.datetime, prepare: Any = None) -> bytes:
    """The one XLSX writer of every export: each :class:`Sheet` with a bold, frozen header row and its cells as text
    (never a formula, whatever the text; characters XML cannot hold replaced). ``stamp`` is the document's date (the
    bytes are deterministic: the same sheets and stamp give the same file). ``prepare(workbook, worksheets)``, when
    given, adds what one export needs beyond tables (drop-down lists, column widths) before the bytes are written."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.last_modified_by = "ioc-catalog"
    wb.properties.title = title
    bold = Font(bold=True)
    made = []
    for sheet in sheets:
        ws = wb.create_sheet(sheet_title(sheet.title))
        for rownum, row in enumerate([list(sheet.header), *sheet.rows], start=1):
            for col, value in enumerate(row, start=1):
                text = safe_cell(value)
                if not text:
                    continue
                cell = ws.cell(row=rownum, column=col)
                cell.value = XML_ILLEGAL.sub("\ufffd", text)
                cell.data_type = TYPE_STRING
                if rownum == 1:
                    cell.font = bold
        ws.freeze_panes = "A2"
        made.append(ws)
    if prepare is not None:
        prepare(wb, made)
    return workbook_bytes(wb)  # not save_workbook(), which would stamp "modified" with the wall clock


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
    "Sheet",
    "sheet_title",
    "write_csv",
    "write_xlsx",
    "XML_ILLEGAL",
    "ZIP_TIME",
    "cell_text",
    "escape_formula",
    "repack",
    "safe_cell",
    "unescape_formula",
    "workbook_bytes",
]
