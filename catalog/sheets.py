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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    """One table of an export: a sheet of a workbook, or a CSV file. The writers make every cell safe text.

    ``header`` None: no header row (a read-me). ``rows`` may be any iterable (a generator streams a big export).
    ``widths``: column widths; ``lists``: drop-down lists, column index (from 0) -> (cell range holding the allowed
    values, error text); ``hidden``: a sheet of lists; ``bold_rows``: rows (from 0) written in bold; ``safe``: the
    cells are already safe text (the spreadsheet export writes them with :func:`escape_formula` per column type)."""

    title: str
    header: Sequence[str] | None
    rows: Iterable[Sequence[Any]]
    widths: Sequence[float] = ()
    lists: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    hidden: bool = False
    bold_rows: frozenset[int] = frozenset()
    safe: bool = False


def sheet_title(title: str) -> str:
    """A title Excel accepts for a sheet: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "_"


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], safe: bool = False) -> bytes:
    """CSV for spreadsheets: UTF-8 with BOM (so Excel shows Vietnamese), CRLF, every cell safe from formula
    injection (``safe``: the cells already are). The one CSV writer of every export."""
    cell = str if safe else safe_cell
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([cell(h) for h in header])
    for row in rows:
        w.writerow([cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


class IllegalCharacter(ValueError):
    """A cell holds a character an XLSX (XML 1.0) cannot hold."""

    def __init__(self, sheet: str, row: int, column: int) -> None:
        super().__init__(f"{sheet}!R{row}C{column}")
        self.sheet, self.row, self.column = sheet, row, column


def write_xlsx(sheets: Iterable[Sheet], title: str, stamp: dt.datetime, refuse_illegal: bool = False) -> bytes:
    """The one XLSX writer of every export, streaming (openpyxl's write-only mode: rows go to disk as they come, so
    a national export does not sit in memory). Each :class:`Sheet` gets a bold, frozen header row and its cells as
    text, never a formula, whatever the text. A character XML cannot hold is replaced by U+FFFD, or with
    ``refuse_illegal`` raises :class:`IllegalCharacter` naming the cell (an export meant to be imported again must
    not change a value silently). ``stamp`` is the document's date: the same sheets and stamp give the same bytes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.last_modified_by = "ioc-catalog"
    wb.properties.title = title
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    try:
        for sheet in sheets:
            name = sheet_title(sheet.title)
            ws = wb.create_sheet(name)
            if sheet.hidden:
                ws.sheet_state = "hidden"
            for i, width in enumerate(sheet.widths, start=1):
                ws.column_dimensions[get_column_letter(i)].width = width
            for col, (cells, error) in sorted(sheet.lists.items()):
                letter = get_column_letter(col + 1)
                dv = DataValidation(
                    type="list",
                    formula1=cells,
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle="Giá trị không hợp lệ / Invalid value",
                    error=error[:255],
                )
                dv.add(f"{letter}2:{letter}1048576")
                ws.data_validations.append(dv)
            if sheet.header is not None:
                ws.freeze_panes = "A2"
                head = []
                for h in sheet.header:
                    cell = WriteOnlyCell(ws, XML_ILLEGAL.sub("\ufffd", str(h) if sheet.safe else safe_cell(h)))
                    cell.font, cell.alignment = bold, wrap
                    head.append(cell)
                ws.append(head)
            first = 2 if sheet.header is not None else 1
            for n, row in enumerate(sheet.rows):
                out: list[Any] = []
                for c, value in enumerate(row):
                    text = str(value) if sheet.safe and value is not None else safe_cell(value)
                    if XML_ILLEGAL.search(text):
                        if refuse_illegal:
                            raise IllegalCharacter(name, first + n, c + 1)
                        text = XML_ILLEGAL.sub("\ufffd", text)
                    if n in sheet.bold_rows and text:
                        cell = WriteOnlyCell(ws, text)
                        cell.font = bold
                        out.append(cell)
                    else:
                        out.append(text or None)
                ws.append(out)
    except BaseException:
        _discard(wb)
        raise
    return workbook_bytes(wb)  # not save_workbook(), which would stamp "modified" with the wall clock


def _discard(wb: Any) -> None:
    """Close a write-only workbook that will not be saved (its sheets stream into temporary files)."""
    for ws in wb.worksheets:
        try:
            if getattr(ws, "_rows", None) is not None:
                ws._rows.close()
            if getattr(ws, "_writer", None) is not None:
                ws._writer.close()
                ws._writer.cleanup()
        except Exception:  # pragma: no cover - best effort on a workbook being thrown away
            pass


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
    "IllegalCharacter",
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
