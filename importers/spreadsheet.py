"""Spreadsheets (XLSX and CSV): the template, the importers ``xlsx`` and ``csv``, and the lossless exports.

One layout, derived from the metamodel, serves the template, the export and the importers (see docs/spreadsheets.md):

- a sheet per kind (``organization``, ``system``...): ``code``, names, ``owner`` (owned kinds), validity, tags,
  descriptions, then the kind's attributes;
- ``relationships``: ``type``, ``source``, ``target``, validity, then the relationship properties;
- ``owner_history``: one row per ownership period of an entity whose history is more than one open-ended owner;
- ``org_events``: organisation events (``from``/``to`` lists, ``transfers`` as ``entity > org`` pairs).

Headers are written bilingual ("Tên (tiếng Việt) / Name (Vietnamese)"); the importer accepts the bilingual header, the
Vietnamese or the English label or the column key, in either Unicode normal form and any letter case. Lists are
separated by ``;`` (``\\;`` is a literal semicolon, ``\\\\`` a literal backslash). Every text cell is normalised to
NFC on read. Exports neutralise formula injection with catalog.sheets.escape_formula and the importers undo exactly
that escape, so an export re-imports to the same content hash.

Hostile files stay bounded (importers.bounded, docs/spreadsheets.md "Limits"): an XLSX's parts are checked by their
declared unpacked sizes before anything is inflated (zip bombs, a 150 MB cell in a 150 KB file), then one streaming
pass checks every cell, row and sheet against the import limits, and only then does openpyxl read the workbook (in
read-only, values-only mode); CSV files are read as a stream of bounded rows. Values quoted in messages are cut.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import sheets as sheets_writer
from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import Message, msg, msg_plural
from catalog.metamodel import EVENT_LABELS, EVENT_TYPES, AttrType, Label, Metamodel
from catalog.model import (
    Entity,
    OrgEvent,
    parse_entity,
    parse_relationship,
    pydantic_errors,
    validate_entity,
    validate_event,
    validate_relationship,
)
from catalog.sheets import Sheet, cell_text, escape_formula, unescape_formula, write_csv
from catalog.store.base import CatalogStore
from catalog.text import fold, nfc
from importers.base import ImportFailed, ImportLimits, Rejection, Transformed, clip
from importers.bounded import check_total, column_letters, csv_rows, open_zip, scan_workbook

README_SHEET = "Hướng dẫn - README"
LISTS_SHEET = "_lists"  # hidden sheet holding the drop-down values
STAMP = dt.datetime(2000, 1, 1)  # document dates of templates and exports: same catalog, same bytes
CSV_SUFFIXES = (".csv", ".tsv")


# --- the layout ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: Label
    type: AttrType = "str"
    values: tuple[str, ...] = ()  # allowed values: a drop-down in the template
    required: bool = False
    width: int = 18
    note: Label | None = None

    @property
    def header(self) -> str:
        """The bilingual header; `` *`` marks a required column (the importer ignores the mark)."""
        text = self.label.vi if self.label.vi == self.label.en else f"{self.label.vi} / {self.label.en}"
        return f"{text} *" if self.required else text


@dataclass(frozen=True)
class SheetSpec:
    name: str  # sheet title, CSV file stem
    label: Label
    role: str  # kind | relationships | owner_history | org_events
    columns: tuple[Column, ...]
    kind: str | None = None

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


def _c(key: str, vi: str, en: str, type_: AttrType = "str", **kw: Any) -> Column:
    return Column(key, Label(vi, en), type_, **kw)


REF_NOTE = Label(
    "tham chiếu dạng loại:mã, ví dụ organization:hcm-skhcn", "a reference kind:code, e.g. organization:hcm-skhcn"
)
LIST_NOTE = Label("danh sách, phân tách bằng ;", "a list separated by ;")


def _entity_columns(mm: Metamodel, kind: str | None) -> tuple[Column, ...]:
    """The columns of one kind's sheet (or, for kind None, of a CSV whose rows say their kind: every attribute)."""
    cols = [
        _c(
            "code",
            "Mã",
            "Code",
            required=True,
            width=24,
            note=Label(
                "chữ thường, số, '.', '_' hoặc '-'; không đổi khi đổi tên",
                "lower-case letters, digits, '.', '_' or '-'; never changes",
            ),
        ),
        _c("name_vi", "Tên (tiếng Việt)", "Name (Vietnamese)", width=40),
        _c("name_en", "Tên (tiếng Anh)", "Name (English)", width=40),
    ]
    if kind is None or mm.kinds[kind].owned:
        cols.append(
            _c(
                "owner",
                "Đơn vị chủ quản",
                "Owner",
                "ref",
                width=28,
                note=Label(
                    "tổ chức chủ quản hiện tại (organization:mã); lịch sử đầy đủ ở trang owner_history",
                    "current owner (organization:code); the full history goes on the owner_history sheet",
                ),
            )
        )
    cols += [
        _c("valid_from", "Hiệu lực từ", "Valid from", "date", width=14),
        _c("valid_to", "Hiệu lực đến", "Valid to", "date", width=14),
        _c("tags", "Nhãn", "Tags", "list", width=24, note=LIST_NOTE),
        _c("description_vi", "Mô tả (tiếng Việt)", "Description (Vietnamese)", "text", width=50),
        _c("description_en", "Mô tả (tiếng Anh)", "Description (English)", "text", width=50),
    ]
    seen = {c.key for c in cols}
    for spec in mm.kinds.values() if kind is None else [mm.kinds[kind]]:
        for a in spec.attributes:
            if a.name in seen:
                continue
            seen.add(a.name)
            width = 40 if a.type == "text" else 24 if a.type in ("ref", "str") else 16
            note = REF_NOTE if a.type == "ref" else LIST_NOTE if a.type == "list" else None
            if a.type == "int" and (a.minimum is not None or a.maximum is not None):
                rng = f"{'' if a.minimum is None else a.minimum}..{'' if a.maximum is None else a.maximum}"
                note = Label(f"số nguyên {rng}", f"whole number {rng}")
            cols.append(
                Column(
                    a.name,
                    a.label,
                    a.type,
                    a.values if a.type == "enum" else ("true", "false") if a.type == "bool" else (),
                    a.required and kind is not None,
                    width,
                    note,
                )
            )
    return tuple(cols)


def kind_columns(mm: Metamodel, kind: str) -> tuple[Column, ...]:
    """The columns of one kind's sheet: what a column of a spreadsheet in another layout may be mapped to
    (importers.mapping)."""
    return _entity_columns(mm, kind)


def layout(mm: Metamodel) -> list[SheetSpec]:
    """The sheets of the template and of every export, in order (the README and the hidden lists sheet aside)."""
    sheets = [SheetSpec(k.name, k.plural, "kind", _entity_columns(mm, k.name), k.name) for k in mm.kinds.values()]
    props: list[Column] = []
    for r in mm.relations.values():
        for p in r.properties:
            if p.name not in {c.key for c in props}:
                props.append(
                    Column(
                        p.name,
                        p.label,
                        p.type,
                        p.values if p.type == "enum" else (),
                        False,
                        40 if p.type == "text" else 20,
                        REF_NOTE if p.type == "ref" else None,
                    )
                )
    sheets.append(
        SheetSpec(
            "relationships",
            Label("Quan hệ", "Relationships"),
            "relationships",
            (
                _c(
                    "type",
                    "Loại quan hệ",
                    "Relationship type",
                    "enum",
                    values=tuple(mm.stored_relations()),
                    required=True,
                ),
                _c("source", "Nguồn", "Source", "ref", required=True, width=30, note=REF_NOTE),
                _c("target", "Đích", "Target", "ref", required=True, width=30, note=REF_NOTE),
                _c("valid_from", "Hiệu lực từ", "Valid from", "date", width=14),
                _c("valid_to", "Hiệu lực đến", "Valid to", "date", width=14),
            )
            + tuple(props),
        )
    )
    sheets.append(
        SheetSpec(
            "owner_history",
            Label("Lịch sử chủ quản", "Ownership history"),
            "owner_history",
            (
                _c("entity", "Đối tượng", "Entity", "ref", required=True, width=30, note=REF_NOTE),
                _c("org", "Đơn vị chủ quản", "Owner", "ref", required=True, width=30, note=REF_NOTE),
                _c("start", "Từ ngày", "Start", "date", width=14, note=Label("tính cả ngày này", "inclusive")),
                _c(
                    "end",
                    "Đến ngày",
                    "End",
                    "date",
                    width=14,
                    note=Label("không tính ngày này; để trống nếu còn hiệu lực", "exclusive; empty while current"),
                ),
                _c("event", "Sự kiện tổ chức", "Organisation event", width=30),
                _c("basis", "Căn cứ", "Basis", width=50),
            ),
        )
    )
    sheets.append(
        SheetSpec(
            "org_events",
            Label("Sự kiện tổ chức", "Organisation events"),
            "org_events",
            (
                _c("id", "Mã sự kiện", "Event id", required=True, width=34),
                _c(
                    "type",
                    "Loại sự kiện",
                    "Event type",
                    "enum",
                    values=EVENT_TYPES,
                    required=True,
                    note=Label(
                        ", ".join(f"{t}: {EVENT_LABELS[t].vi}" for t in EVENT_TYPES),
                        ", ".join(f"{t}: {EVENT_LABELS[t].en}" for t in EVENT_TYPES),
                    ),
                ),
                _c("date", "Ngày hiệu lực", "Effective date", "date", required=True, width=14),
                _c("legal_basis", "Căn cứ pháp lý", "Legal basis", width=50),
                _c("from", "Từ tổ chức", "From", "list", width=34, note=LIST_NOTE),
                _c("to", "Thành tổ chức", "To", "list", width=34, note=LIST_NOTE),
                _c("new_name_vi", "Tên mới (tiếng Việt)", "New name (Vietnamese)", width=34),
                _c("new_name_en", "Tên mới (tiếng Anh)", "New name (English)", width=34),
                _c(
                    "transfers",
                    "Chuyển giao",
                    "Transfers",
                    "list",
                    width=40,
                    note=Label(
                        "cặp đối tượng > tổ chức, phân tách bằng ;", "pairs entity > organisation separated by ;"
                    ),
                ),
                _c("note", "Ghi chú", "Note", "text", width=50),
            ),
        )
    )
    return sheets


def _norm(text: str) -> str:
    text = " ".join(nfc(str(text)).replace("\ufeff", "").casefold().split())
    return re.sub(r"\s*/\s*", "/", text).rstrip("* ")


def _names(key: str, label: Label, header: str) -> set[str]:
    return {_norm(key), _norm(label.vi), _norm(label.en), _norm(header)}


def _lookup(items: Iterable[tuple[str, set[str]]]) -> dict[str, str]:
    """Normalised name -> key, plus diacritics-folded names where no two keys share one."""
    exact: dict[str, str] = {}
    folded: dict[str, set[str]] = {}
    for key, names in items:
        for n in names:
            exact.setdefault(n, key)
            folded.setdefault(fold(n), set()).add(key)
    for n, keys in folded.items():
        if len(keys) == 1:
            exact.setdefault(n, next(iter(keys)))
    return exact


def _header_lookup(columns: Iterable[Column]) -> dict[str, str]:
    cols = list(columns)
    items = [(c.key, _names(c.key, c.label, c.header)) for c in cols]
    if any(c.key == "code" for c in cols):  # also read on every kind sheet: ref instead of code, kind, and owner
        # (empty on a kind without owner, as the audit inventory CSVs write it; a value there is reported)
        items += [
            ("ref", {"ref", _norm("Mã tham chiếu"), "reference"}),
            ("kind", {"kind", "loại"}),
            ("owner", {"owner", _norm("Đơn vị chủ quản"), _norm("Đơn vị chủ quản / Owner")}),
        ]
    return _lookup(items)


def _sheet_lookup(sheets: list[SheetSpec]) -> dict[str, str]:
    return _lookup(
        (s.name, _names(s.name, s.label, f"{s.label.vi} / {s.label.en}") | {_norm(s.name + "s")}) for s in sheets
    )


# --- cells -----------------------------------------------------------------------------------------------------


def join_list(values: Iterable[str]) -> str:
    return "; ".join(str(v).replace("\\", "\\\\").replace(";", "\\;") for v in values)


def split_list(text: str) -> list[str]:
    """Split on ``;``; ``\\;`` is a literal semicolon and ``\\\\`` a literal backslash (any other backslash is kept)."""
    out, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ";\\":
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [v.strip() for v in out if v.strip()]


def _number_text(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def read_cell(value: Any, type_: AttrType) -> Any:
    """A raw cell (text from CSV, or openpyxl's str/int/float/bool/datetime) as the value the model expects; None when
    empty. Text is NFC with the export's formula escape removed; only free text keeps its surrounding spaces."""
    if value is None:
        return None
    if isinstance(value, str):
        text = unescape_formula(nfc(value))
        if type_ not in ("str", "text"):
            text = text.strip()
        if not text.strip():
            return None
        return split_list(text) if type_ == "list" else text
    if isinstance(value, bool):
        return value if type_ == "bool" else "true" if value else "false"
    if isinstance(value, (int, float)):
        if type_ == "int":
            return int(value) if isinstance(value, float) and value.is_integer() else value
        return [_number_text(value)] if type_ == "list" else _number_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            value = value.date()
        else:
            return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_cell(value: Any, type_: AttrType) -> str:
    text = join_list(value) if type_ == "list" and isinstance(value, (list, tuple)) else cell_text(value)
    return escape_formula(text)


# --- the document an importer reads ----------------------------------------------------------------------------


@dataclass
class Table:
    """One sheet or CSV file: where it is (for messages), its name (sheet title or file stem), header and rows."""

    where: str  # "hcmc.xlsx: sheet system" or "system.csv"
    name: str
    header: tuple[Any, ...]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)  # (row number, cells); empty rows left out
    csv: bool = False
    # (row number, column index from 0) of formulas without a saved result: they read as empty, so they are reported
    uncomputed: list[tuple[int, int]] = field(default_factory=list)


def _rows(values: Iterable[tuple[Any, ...]]) -> tuple[tuple[Any, ...], list[tuple[int, tuple[Any, ...]]]]:
    header: tuple[Any, ...] = ()
    rows = []
    for n, row in enumerate(values, start=1):
        if n == 1:
            header = tuple(row)
        elif any(v is not None and (not isinstance(v, str) or v.strip()) for v in row):
            rows.append((n, tuple(row)))
    return header, rows


def check_zip(path: Path, zf: zipfile.ZipFile, max_bytes: int) -> None:
    """Refuse a zip whose members would unpack to more than ``max_bytes`` (sizes from the directory, which zipfile
    never reads past) or that holds an absurd number of members."""
    check_total(path, zf, max_bytes)


def _uncomputed(path: Path, tables: list[Table]) -> None:
    """Find the formulas that have no saved result (written by a program, never recalculated by a spreadsheet):
    openpyxl's data_only read gives None for them, which would silently be an empty cell."""
    from openpyxl import load_workbook

    by_title = {t.name: t for t in tables}
    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        for ws in wb.worksheets:
            table = by_title.get(ws.title)
            if table is None:
                continue
            values = dict(table.rows)
            values[1] = table.header
            ws.reset_dimensions()
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                for i, v in enumerate(row):
                    if isinstance(v, str) and v.startswith("="):
                        saved = values.get(n, ())
                        if i >= len(saved) or saved[i] is None:
                            table.uncomputed.append((n, i))
    finally:
        wb.close()


def _trimmed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row without its trailing empty cells (openpyxl fills a row with None up to its last cell)."""
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return row if end == len(row) else row[:end]


def read_xlsx(path: Path, max_bytes: int, limits: ImportLimits | None = None) -> list[Table]:
    """The workbook's sheets (README and drop-down lists aside) as tables. Before openpyxl reads anything, every
    part's declared size and, in one streaming pass, every cell, row and sheet are checked against ``limits``
    (importers.bounded); openpyxl then reads in read-only, values-only mode, and each row is kept without its
    trailing empty cells."""
    from openpyxl import load_workbook

    limits = replace(limits or ImportLimits(), file_bytes=max_bytes)
    with open_zip(path) as zf:
        if "xl/workbook.xml" not in zf.NameToInfo:
            check_total(path, zf, max_bytes)
            raise ImportFailed(msg("import-zip-not-xlsx", file=path.name), reason="import-content-mismatch")
        formulas, scanned = scan_workbook(path, zf, limits)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except ImportFailed:
        raise
    except Exception as exc:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) on damaged files
        raise ImportFailed(
            msg("import-xlsx-unreadable", file=path.name, error=f"{type(exc).__name__}: {clip(exc)}"),
            reason="import-unreadable",
        ) from None
    tables = []
    try:
        for ws in wb.worksheets:
            if getattr(ws, "_worksheet_path", None) not in scanned:  # openpyxl found a sheet the scan did not
                raise ImportFailed(
                    msg("import-sheet-misplaced", file=path.name, sheet=clip(ws.title, 100)), reason="import-unreadable"
                )
            if ws.title in (README_SHEET, LISTS_SHEET):
                continue
            try:
                ws.reset_dimensions()  # some writers declare a wrong size; read every cell there is
                header, rows = _rows(_trimmed(r) for r in ws.iter_rows(values_only=True))
            except Exception as exc:
                raise ImportFailed(
                    msg(
                        "import-sheet-unreadable",
                        file=path.name,
                        sheet=clip(ws.title, 100),
                        error=f"{type(exc).__name__}: {clip(exc)}",
                    ),
                    reason="import-unreadable",
                ) from None
            tables.append(Table(msg("at-sheet", file=path.name, sheet=clip(ws.title, 100)), ws.title, header, rows))
    finally:
        wb.close()
    if formulas:
        try:
            _uncomputed(path, tables)
        except Exception as exc:  # the data-only read above succeeded; a failure here is still a damaged file
            raise ImportFailed(
                msg("import-formulas-unreadable", file=path.name, error=f"{type(exc).__name__}: {clip(exc)}"),
                reason="import-unreadable",
            ) from None
    return tables


def _csv_table(name: str, where: str, open_binary: Any, limits: ImportLimits) -> Table:
    header, rows = _rows(tuple(r) for _, r in csv_rows(where, where, open_binary, limits))
    return Table(where, name, header, rows, csv=True)


def read_csv(path: Path, max_bytes: int, limits: ImportLimits | None = None) -> list[Table]:
    """A CSV file, or a zip of CSV files (what ``export --format csv`` writes), read as a stream within ``limits``
    (each CSV in a zip at most ``sheet_bytes`` unpacked)."""
    limits = replace(limits or ImportLimits(), file_bytes=max_bytes)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        tables = []
        with open_zip(path) as zf:
            check_total(path, zf, max_bytes)
            for info in zf.infolist():
                if info.is_dir() or Path(info.filename).suffix.lower() not in CSV_SUFFIXES:
                    continue
                where = f"{path.name}: {info.filename}"
                if info.file_size > limits.sheet_bytes:
                    raise ImportFailed(
                        msg("import-csv-member-too-large", where=where, size=info.file_size, limit=limits.sheet_bytes),
                        reason="import-part-too-large",
                    )
                try:
                    tables.append(_csv_table(Path(info.filename).stem, where, lambda info=info: zf.open(info), limits))
                except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                    raise ImportFailed(
                        msg("import-zip-damaged", file=where, error=str(exc)), reason="import-unreadable"
                    ) from None
        if not tables:
            raise ImportFailed(msg("import-zip-no-csv", file=path.name), reason="import-content-mismatch")
        return tables
    return [_csv_table(path.stem, path.name, lambda: path.open("rb"), limits)]


# --- transform -------------------------------------------------------------------------------------------------


@dataclass
class _EntityRow:
    table: Table
    rownum: int
    data: dict[str, Any]
    owner: str | None = None


BASE = {
    "code",
    "ref",
    "kind",
    "name_vi",
    "name_en",
    "owner",
    "valid_from",
    "valid_to",
    "tags",
    "description_vi",
    "description_en",
}


class _Transform:
    def __init__(self, mm: Metamodel):
        self.mm = mm
        self.sheets = {s.name: s for s in layout(mm)}
        self.sheet_names = _sheet_lookup(list(self.sheets.values()))
        self.any_kind = SheetSpec("entities", Label("Đối tượng", "Entities"), "kind", _entity_columns(mm, None))
        self.any_kind_headers = _header_lookup(self.any_kind.columns)
        self.t = Transformed()
        self.entity_rows: list[_EntityRow] = []
        self.history: dict[str, list[tuple[Table, int, dict[str, Any]]]] = {}
        self.refs: set[str] = set()
        self.rel_ids: set[str] = set()
        self.event_ids: set[str] = set()

    def reject(self, table: Table, rownum: int | None, column: str, reason: Message) -> None:
        """One bad cell, with the message saying why."""
        where = table.where if rownum is None else msg("at-row", where=table.where, row=rownum)
        self.t.rejected.append(
            Rejection(msg("at-column", where=where, column=column) if column else where, column, reason)
        )

    def run(self, tables: list[Table], source: str = "") -> Transformed:
        """Every table; ImportFailed when tables hold rows but none is in the layout: such a file would otherwise
        "finish" having read nothing."""
        for table in tables:
            self.table(table)
        if self.t.unmapped and len(self.t.unmapped) == sum(1 for t in tables if t.rows):
            first = self.t.unmapped[0]
            raise ImportFailed(
                msg(
                    "import-nothing-in-layout",
                    source=source or first.location,
                    where=first.location,
                    reason=first.reason,
                ),
                reason="import-nothing-read",
            )
        self.finish_entities()
        return self.t

    def spec_for(self, table: Table, header_keys: set[str]) -> SheetSpec | None:
        name = self.sheet_names.get(_norm(table.name)) or self.sheet_names.get(fold(_norm(table.name)))
        if name:
            return self.sheets[name]
        if "kind" in header_keys:
            return self.any_kind
        return None

    def table(self, table: Table) -> None:
        if table.rows:
            self.t.source_types[table.name] = self.t.source_types.get(table.name, 0) + len(table.rows)
        pre_keys = {k for h in table.header if h is not None and (k := self.any_kind_headers.get(_norm(h)))}
        spec = self.spec_for(table, pre_keys)
        if spec is None:
            expected = ", ".join(self.sheets)
            item = Rejection(
                table.where,
                "",
                msg("layout-file-not-covered", expected=expected)
                if table.csv
                else msg("layout-sheet-not-covered", expected=expected),
            )
            if table.rows:
                self.t.unmapped.append(item)
            return
        lookup = _header_lookup(spec.columns)
        keys: list[str | None] = []
        seen: dict[str, int] = {}
        for i, h in enumerate(table.header, start=1):
            text = "" if h is None else nfc(str(h)).strip()
            if not text:
                keys.append(None)
                continue
            key = lookup.get(_norm(text)) or lookup.get(fold(_norm(text))) if len(text) <= 1_000 else None
            if key is None:
                known = ", ".join(c.key for c in spec.columns)
                text = clip(text)
                self.reject(table, 1, text, msg("column-unknown", column=text, known=known))
            elif key in seen:
                self.reject(table, 1, key, msg("column-repeated", column=i, first=seen[key], key=key))
                key = None
            else:
                seen[key] = i
            keys.append(key)
        has = set(seen)
        if spec.role == "kind":
            missing = [] if has & {"code", "ref"} else ["code"]
        else:
            missing = [c.key for c in spec.columns if c.required and c.key not in has]
        if missing:
            self.reject(
                table,
                1,
                missing[0],
                msg_plural("columns-missing", "columns-missing#plural", count=len(missing), columns=", ".join(missing)),
            )
            return
        for rownum, i in table.uncomputed:
            column = (keys[i] if i < len(keys) else None) or column_letters(i + 1)
            self.reject(table, rownum, column, msg("formula-uncomputed"))
        for rownum, cells in table.rows:
            raw = {k: cells[i] for i, k in enumerate(keys) if k is not None and i < len(cells)}
            if len(cells) > len(keys) and any(v not in (None, "") for v in cells[len(keys) :]):
                self.reject(table, rownum, column_letters(len(keys) + 1), msg("value-without-header"))
            if spec.role == "kind":  # attribute types depend on the row's kind
                self.row_kind(table, rownum, raw, spec)
                continue
            values = {k: read_cell(v, spec.column(k).type) for k, v in raw.items()}  # type: ignore[union-attr]
            getattr(self, f"row_{spec.role}")(table, rownum, values, spec)

    # -- one row per role ----------------------------------------------------------------------------------------

    def row_kind(self, table: Table, rownum: int, raw: dict[str, Any], spec: SheetSpec) -> None:
        v = {k: read_cell(x, "ref" if k == "owner" else "str") for k, x in raw.items() if k in BASE}
        kind = spec.kind or v.get("kind")
        if spec.kind and v.get("kind") not in (None, spec.kind):
            said = {"value": clip(v["kind"]), "kind": spec.kind}
            self.reject(
                table,
                rownum,
                "kind",
                msg("kind-on-other-file", **said) if table.csv else msg("kind-on-other-sheet", **said),
            )
            return
        code = v.get("code")
        if v.get("ref"):
            rk, _, rc = str(v["ref"]).partition(":")
            if kind and rk != kind:
                self.reject(table, rownum, "ref", msg("ref-wrong-kind-sheet", ref=clip(v["ref"]), kind=kind))
                return
            if code and code != rc:
                self.reject(table, rownum, "code", msg("code-ref-mismatch", code=clip(code), ref=clip(v["ref"])))
                return
            kind, code = rk, rc
        if not kind:
            self.reject(table, rownum, "kind", msg("kind-required", allowed=", ".join(self.mm.kinds)))
            return
        if kind not in self.mm.kinds:
            self.reject(table, rownum, "kind", msg("kind-unknown", kind=clip(kind), allowed=", ".join(self.mm.kinds)))
            return
        if not code:
            self.reject(table, rownum, "code", msg("code-required"))
            return
        attrs = {}
        kspec = self.mm.kinds[kind]
        for k, value in raw.items():
            if k in BASE:
                continue
            a = kspec.attribute(k)
            value = read_cell(value, a.type if a else "str")
            if value is None:
                continue
            if a is None:
                self.reject(table, rownum, k, msg("attribute-not-of-kind", kind=kind))
                return
            attrs[k] = value
        if v.get("owner") and not kspec.owned:
            self.reject(table, rownum, "owner", msg("kind-has-no-owner", kind=kind))
            return
        data = {
            "kind": kind,
            "code": str(code),
            "name": {"vi": v.get("name_vi") or "", "en": v.get("name_en") or ""},
            "description": {"vi": v.get("description_vi") or "", "en": v.get("description_en") or ""},
            "valid_from": v.get("valid_from"),
            "valid_to": v.get("valid_to"),
            "tags": read_cell(raw.get("tags"), "list") or [],
            "attributes": attrs,
        }
        self.entity_rows.append(_EntityRow(table, rownum, data, v.get("owner")))

    def row_owner_history(self, table: Table, rownum: int, v: dict[str, Any], spec: SheetSpec) -> None:
        if not v.get("entity"):
            self.reject(table, rownum, "entity", msg("entity-required"))
            return
        period = {k: v.get(k) for k in ("org", "start", "end", "event", "basis")}
        self.history.setdefault(str(v["entity"]), []).append((table, rownum, period))

    def row_relationships(self, table: Table, rownum: int, v: dict[str, Any], spec: SheetSpec) -> None:
        data = {
            "type": v.get("type") or "",
            "source": v.get("source") or "",
            "target": v.get("target") or "",
            "valid_from": v.get("valid_from"),
            "valid_to": v.get("valid_to"),
            "properties": {
                k: x
                for k, x in v.items()
                if x is not None and k not in ("type", "source", "target", "valid_from", "valid_to")
            },
        }
        r, errors = self.check(data, parse_relationship, validate_relationship, {"type": "reads"})
        if r is None:
            self.field_errors(table, rownum, errors, {"properties": None})
            return
        if r.id in self.rel_ids:
            self.reject(table, rownum, "type", msg("appears-twice", item=r.id))
            return
        self.rel_ids.add(r.id)
        self.t.locations[r.id] = msg("at-row", where=table.where, row=rownum)  # the framework adds the field
        self.t.relationships.append(r)

    def row_org_events(self, table: Table, rownum: int, v: dict[str, Any], spec: SheetSpec) -> None:
        transfers = []
        for pair in v.get("transfers") or []:
            entity, sep, to = pair.partition(">")
            if not sep:
                self.reject(table, rownum, "transfers", msg("transfer-pair-malformed", value=clip(pair)))
                return
            transfers.append({"entity": entity.strip(), "to": to.strip()})
        new_name = None
        if v.get("new_name_vi") or v.get("new_name_en"):
            new_name = {"vi": v.get("new_name_vi") or "", "en": v.get("new_name_en") or ""}
        data = {
            "id": v.get("id") or "",
            "type": v.get("type") or "",
            "date": v.get("date"),
            "legal_basis": v.get("legal_basis") or "",
            "from": v.get("from") or [],
            "to": v.get("to") or [],
            "transfers": transfers,
            "new_name": new_name,
            "note": v.get("note") or "",
        }
        try:
            ev = validate_event(OrgEvent.model_validate(data))
        except ValidationError as exc:
            self.field_errors(table, rownum, pydantic_errors(exc), {"new_name": "new_name_"})
            return
        except ValidationFailed as exc:
            self.field_errors(table, rownum, exc.errors, {"new_name": "new_name_"})
            return
        if ev.id in self.event_ids:
            self.reject(table, rownum, "id", msg("event-appears-twice", id=ev.id))
            return
        self.event_ids.add(ev.id)
        self.t.locations[ev.ref] = msg("at-row", where=table.where, row=rownum)
        self.t.events.append(ev)

    # -- entities, once every ownership period is known ------------------------------------------------------------

    def finish_entities(self) -> None:
        for row in self.entity_rows:
            ref = f"{row.data['kind']}:{row.data['code']}"
            periods = self.history.pop(ref, None)
            if periods:
                row.data["owner_history"] = [p for _, _, p in periods]
                current = next((p["org"] for _, _, p in reversed(periods) if p["end"] is None), None)
                if row.owner and row.owner != current:
                    self.reject(
                        row.table,
                        row.rownum,
                        "owner",
                        msg("owner-not-current", owner=row.owner, current=current)
                        if current
                        else msg("owner-not-current-none", owner=row.owner),
                    )
                    continue
            elif row.owner:
                row.data["owner_history"] = [{"org": row.owner}]
            e, errors = self.check(row.data, parse_entity, validate_entity, {"code": "x", "name": {"vi": "x"}})
            if e is None:
                self.entity_errors(row, periods, errors)
                continue
            if e.ref in self.refs:
                self.reject(row.table, row.rownum, "code", msg("appears-twice", item=e.ref))
                continue
            self.refs.add(e.ref)
            here = msg("at-row", where=row.table.where, row=row.rownum)
            self.t.locations[e.ref] = msg("at-item", where=here, item=e.ref)
            if periods:  # a dangling owner is reported at the history row that names it
                first, last = periods[0][1], periods[-1][1]
                rows = (
                    msg("at-row", where=periods[0][0].where, row=first)
                    if first == last
                    else msg("at-rows", where=periods[0][0].where, first=first, last=last)
                )
                self.t.origins[f"{e.ref}#owner"] = (msg("at-column", where=rows, column="org"), "org")
            elif row.owner:
                self.t.origins[f"{e.ref}#owner"] = (msg("at-column", where=here, column="owner"), "owner")
            for name in e.attributes:
                self.t.origins[f"{e.ref}#attributes.{name}"] = (msg("at-column", where=here, column=name), name)
            self.t.entities.append(e)
        for ref, periods in self.history.items():
            for table, rownum, _ in periods:
                self.reject(table, rownum, "entity", msg("history-entity-not-in-file", ref=ref))

    def check(
        self, data: dict[str, Any], parse: Any, validate: Any, stand_ins: dict[str, Any]
    ) -> tuple[Any, list[FieldError]]:
        """Parse and validate one item. A structural error (a bad date, a bad code) stops parsing before the
        metamodel checks; those run again without the bad fields, so every bad cell of the row is reported."""
        try:
            item = parse(data)
        except ValidationFailed as exc:
            errors = list(exc.errors)
            bad = {e.location.split(".")[0] for e in errors}
            retry = {k: v for k, v in data.items() if k not in bad}
            retry.update({k: v for k, v in stand_ins.items() if k in bad})
            try:
                validate(parse(retry), self.mm)
            except ValidationFailed as again:
                errors += [e for e in again.errors if e.location.split(".")[0] not in bad]
            return None, errors
        try:
            return validate(item, self.mm), []
        except ValidationFailed as exc:
            return None, list(exc.errors)

    def entity_errors(self, row: _EntityRow, periods: list | None, errors: list[FieldError]) -> None:
        for e in errors:
            parts = e.location.split(".")
            if parts[0] == "owner_history" and periods:
                i = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                table, rownum, _ = periods[min(i, len(periods) - 1)]
                column = parts[2] if len(parts) > 2 else "end" if "end" in e.reason else "org"
                self.reject(table, rownum, column, e.reason)
            elif parts[0] in ("owner_history", "owner"):
                self.reject(row.table, row.rownum, "owner", e.reason)
            elif parts[0] == "attributes" and len(parts) > 1:
                self.reject(row.table, row.rownum, parts[1], e.reason)
            elif parts[0] in ("name", "description"):
                self.reject(row.table, row.rownum, f"{parts[0]}_{parts[1] if len(parts) > 1 else 'vi'}", e.reason)
            else:
                self.reject(row.table, row.rownum, parts[0] or "code", e.reason)

    def field_errors(self, table: Table, rownum: int, errors: list[FieldError], nested: dict[str, str | None]) -> None:
        for e in errors:
            parts = e.location.split(".")
            column = parts[0]
            if column in nested and len(parts) > 1:
                prefix = nested[column]
                column = f"{prefix}{parts[1]}" if prefix else parts[1]
            self.reject(table, rownum, column, e.reason)


def transform_tables(tables: list[Table], source: str, mm: Metamodel) -> Transformed:
    """Pure: the entities, relationships and events the tables describe, and every bad cell with its location (each
    table names its own file, so ``source`` is not repeated in locations)."""
    return _Transform(mm).run(tables, source)


class _SpreadsheetImporter:
    name = ""
    suffixes: tuple[str, ...] = ()
    description = ""
    holds: tuple[str, ...] = ()  # what the file's first bytes must show (importers.base.check_content)

    def __init__(self, metamodel: Metamodel | None = None, limits: ImportLimits | None = None):
        self.metamodel = metamodel
        self.limits = limits  # None: the defaults of ImportLimits (run_import sets the settings' limits)

    def transform(self, document: list[Table], source: str) -> Transformed:
        from catalog.metamodel import DEFAULT

        return transform_tables(document, source, self.metamodel or DEFAULT)


class XlsxImporter(_SpreadsheetImporter):
    name = "xlsx"
    suffixes = (".xlsx", ".xlsm")
    description = "Excel workbook in the ioc-catalog template layout (a sheet per kind, relationships...)"
    holds = ("xlsx",)

    def read(self, path: Path, max_bytes: int) -> list[Table]:
        return read_xlsx(path, max_bytes, self.limits)


class CsvImporter(_SpreadsheetImporter):
    name = "csv"
    suffixes = CSV_SUFFIXES
    description = "CSV (UTF-8, , ; or tab): one kind per file (by file name or a kind column), or a zip of CSVs"
    holds = ("text", "zip")

    def claims(self, path: Path, head: bytes = b"") -> bool:
        """Picked without --format for a zip of CSV files named like the layout's sheets (what the CSV export
        writes); plain .csv files are picked by their suffix."""
        if path.suffix.lower() != ".zip":
            return False
        from catalog.metamodel import DEFAULT

        names = {s.name for s in layout(self.metamodel or DEFAULT)}
        with open_zip(path) as zf:
            members = [Path(n) for n in zf.namelist() if not n.endswith("/")]
        return bool(members) and all(m.suffix.lower() == ".csv" and m.stem in names for m in members)

    def read(self, path: Path, max_bytes: int) -> list[Table]:
        return read_csv(path, max_bytes, self.limits)


def importers() -> list[_SpreadsheetImporter]:
    return [XlsxImporter(), CsvImporter()]


# --- writing: template and exports ------------------------------------------------------------------------------


class ExportFailed(CatalogError):
    """The catalog holds something the requested spreadsheet format cannot carry (nothing is written)."""

    status = 422
    code = "export-failed"


def _entity_row(e: Entity, spec: SheetSpec) -> list[Any]:
    base = {
        "code": e.code,
        "name_vi": e.name.vi,
        "name_en": e.name.en,
        "owner": e.owner,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "tags": e.tags,
        "description_vi": e.description.vi,
        "description_en": e.description.en,
    }
    return [base[c.key] if c.key in base else e.attributes.get(c.key) for c in spec.columns]


def _is_simple(e: Entity) -> bool:
    """One open-ended owner without dates or basis: the owner column says it all."""
    return len(e.owner_history) == 1 and e.owner_history[0].model_dump(exclude={"org"}) == {
        "start": None,
        "end": None,
        "basis": None,
        "event": None,
    }


def sheet_rows(store: CatalogStore | None, mm: Metamodel) -> Iterator[tuple[SheetSpec, Iterator[list[Any]]]]:
    """Every sheet of the layout with its rows of raw values (the store's content, in a stable order)."""
    entities = sorted(store.iter_entities(), key=lambda x: x.ref) if store is not None else []
    sheets = layout(mm)
    history: list[list[Any]] = []
    for spec in sheets:
        if spec.role == "kind":
            rows = []
            for e in entities:
                if e.kind != spec.kind:
                    continue
                rows.append(_entity_row(e, spec))
                if e.owner_history and not _is_simple(e):
                    history += [[e.ref, p.org, p.start, p.end, p.event, p.basis] for p in e.owner_history]
            yield spec, iter(rows)
        elif spec.role == "relationships":
            rels = sorted(store.all_relationships(), key=lambda x: x.id) if store is not None else []
            props = [c.key for c in spec.columns[5:]]  # bound now: the rows are read after this generator moves on
            yield (
                spec,
                (
                    [r.type, r.source, r.target, r.valid_from, r.valid_to] + [r.properties.get(k) for k in props]
                    for r in rels
                ),
            )
        elif spec.role == "owner_history":
            yield spec, iter(history)
        elif spec.role == "org_events":
            events = sorted(store.list_events(), key=lambda x: x.id) if store is not None else []
            yield (
                spec,
                (
                    [
                        ev.id,
                        ev.type,
                        ev.date,
                        ev.legal_basis,
                        ev.from_,
                        ev.to,
                        ev.new_name.vi if ev.new_name else None,
                        ev.new_name.en if ev.new_name else None,
                        [f"{t.entity} > {t.to}" for t in ev.transfers],
                        ev.note,
                    ]
                    for ev in events
                ),
            )


def _text_rows(spec: SheetSpec, rows: Iterable[list[Any]]) -> Iterator[list[str]]:
    types = [c.type for c in spec.columns]
    for row in rows:
        yield [write_cell(v, t) for v, t in zip(row, types, strict=False)]


def _readme_rows(sheets: list[SheetSpec]) -> list[list[str]]:
    rows = [
        ["Mẫu nhập liệu danh mục kiến trúc (ioc-catalog) / ioc-catalog spreadsheet template"],
        [],
        [
            "Mỗi trang là một loại đối tượng; trang relationships chứa các quan hệ; owner_history chứa lịch sử chủ quản "
            "(chỉ khi có nhiều giai đoạn hoặc có ngày/căn cứ); org_events chứa các sự kiện tổ chức (sáp nhập, "
            "đổi tên...). "
            "Dòng 1 là tiêu đề; có thể dùng tiêu đề tiếng Việt, tiếng Anh, song ngữ hoặc mã cột. Danh sách phân tách bằng "
            "dấu ;. Ngày theo dạng YYYY-MM-DD. Giá trị có danh sách chọn phải lấy từ danh sách. Dòng trống được bỏ qua."
        ],
        [
            "Each sheet is one kind; the relationships sheet holds relationships; owner_history holds ownership periods "
            "(only when there is more than one, or dates or a basis); org_events holds organisation events (mergers, "
            "renames...). Row 1 is the header: Vietnamese, English, bilingual headers or column keys are all accepted. "
            "Lists are separated by ;. Dates are YYYY-MM-DD. Columns with a drop-down take one of its values. Empty "
            "rows are skipped."
        ],
        [
            "Cột có dấu * là bắt buộc. Mã (code) không đổi khi đổi tên. Ô bắt đầu bằng = + - @ được ghi thêm dấu ' ở "
            "đầu để bảng tính không coi là công thức; khi nhập, dấu ' đó được bỏ đi. / Columns marked * are required. "
            "The code never changes when a name does. Cells starting with = + - @ get a leading ' so that no "
            "spreadsheet evaluates them; the import removes exactly that '."
        ],
        [],
        [
            "Trang / Sheet",
            "Cột / Column",
            "Mã cột / Key",
            "Kiểu / Type",
            "Bắt buộc / Required",
            "Giá trị cho phép / Allowed values",
            "Ghi chú",
            "Note",
        ],
    ]
    for spec in sheets:
        for c in spec.columns:
            rows.append(
                [
                    spec.name,
                    c.header,
                    c.key,
                    c.type,
                    "x" if c.required else "",
                    ", ".join(c.values),
                    c.note.vi if c.note else "",
                    c.note.en if c.note else "",
                ]
            )
    return rows


def write_workbook(store: CatalogStore | None, mm: Metamodel) -> bytes:
    """The template (``store`` None) or a full export: deterministic XLSX bytes (same catalog, same bytes), written
    by the one XLSX writer (:func:`catalog.sheets.write_xlsx`): a read-me, one sheet per kind and table with
    drop-down lists for enumerated columns (their values on a hidden sheet: an inline list is limited to 255
    characters), streamed so a national export does not sit in memory."""
    from openpyxl.utils import get_column_letter, quote_sheetname

    sheets = layout(mm)
    lists: list[tuple[str, tuple[str, ...]]] = []
    refs: dict[tuple[str, ...], str] = {}
    for spec in sheets:
        for c in spec.columns:
            if c.values and c.values not in refs:
                col = get_column_letter(len(lists) + 1)
                refs[c.values] = f"{quote_sheetname(LISTS_SHEET)}!${col}$1:${col}${len(c.values)}"
                lists.append((c.key, c.values))
    readme = Sheet(
        README_SHEET,
        None,
        [[escape_formula(t) for t in row] for row in _readme_rows(sheets)],
        widths=(18, 44, 22, 10, 10, 40, 40, 40),
        bold_rows=frozenset({0, 6}),
        safe=True,
    )
    tables = (
        Sheet(
            spec.name,
            [c.header for c in spec.columns],
            _text_rows(spec, rows),
            widths=[c.width for c in spec.columns],
            lists={
                i: (refs[c.values], f"{c.header}: {', '.join(c.values)}")
                for i, c in enumerate(spec.columns)
                if c.values
            },
            safe=True,
        )
        for spec, rows in sheet_rows(store, mm)
    )
    depth = max((len(v) for _, v in lists), default=0)
    hidden = Sheet(
        LISTS_SHEET,
        None,
        [[v[r] if r < len(v) else None for _, v in lists] for r in range(depth)],
        hidden=True,
        safe=True,
    )
    try:
        everything = itertools.chain([readme], tables, [hidden])  # one sheet at a time: the rows stream
        return sheets_writer.write_xlsx(everything, "ioc-catalog", STAMP, refuse_illegal=True)
    except sheets_writer.IllegalCharacter as exc:
        spec = next(sp for sp in sheets if sp.name == exc.sheet)
        raise ExportFailed(
            msg("export-illegal-character", sheet=exc.sheet, row=exc.row, column=spec.columns[exc.column - 1].key)
        ) from None


def write_xlsx(store: CatalogStore, path: Path) -> None:
    data = write_workbook(store, store.metamodel)
    path.write_bytes(data)


def write_template(mm: Metamodel, path: Path) -> None:
    path.write_bytes(write_workbook(None, mm))


def csv_bytes(spec: SheetSpec, rows: Iterable[list[Any]]) -> bytes:
    """One sheet as CSV: UTF-8 with BOM (so Excel reads Vietnamese), CRLF, column keys as headers."""
    return write_csv([c.key for c in spec.columns], _text_rows(spec, rows), safe=True)


def csv_zip_bytes(store: CatalogStore) -> bytes:
    """The export as a zip of CSV files, one per sheet (kinds first, then relationships, history, events)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for spec, rows in sheet_rows(store, store.metamodel):
            info = zipfile.ZipInfo(f"{spec.name}.csv", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            zf.writestr(info, csv_bytes(spec, rows), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_csv_zip(store: CatalogStore, path: Path) -> None:
    path.write_bytes(csv_zip_bytes(store))


__all__ = [
    "Column",
    "CsvImporter",
    "ExportFailed",
    "SheetSpec",
    "Table",
    "XlsxImporter",
    "check_zip",
    "importers",
    "join_list",
    "kind_columns",
    "layout",
    "read_cell",
    "read_csv",
    "read_xlsx",
    "split_list",
    "transform_tables",
    "csv_zip_bytes",
    "write_csv_zip",
    "write_template",
    "write_workbook",
    "write_xlsx",
]
