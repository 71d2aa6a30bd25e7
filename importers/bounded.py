"""Reading spreadsheets within :class:`importers.base.ImportLimits`: what a hostile workbook or CSV file is refused
for before anything it holds is kept in memory.

- :func:`open_zip` / :func:`check_parts`: a zip's member count (from its end record, before the directory is loaded),
  its total unpacked size, and each member's declared unpacked size (a worksheet or a CSV file against ``sheet_bytes``,
  the shared strings against ``strings_bytes``, every other XML part against ``part_bytes``: openpyxl parses those
  whole, a 10 MB styles.xml into hundreds of megabytes), all before anything is inflated. zipfile never inflates a
  member past its declared size (it fails the CRC check), so a declared size is a true bound.
- :func:`scan_workbook`: one streaming pass of expat over the shared strings and every worksheet, with constant memory:
  the length of each cell's text (inline, or the shared string it points at), the last row and column of each sheet,
  the characters of each row, and whether any cell holds a formula. openpyxl, which reads the workbook afterwards,
  holds the shared strings whole and builds each cell's text whole, so a 150 MB cell must be refused here, first.
- :func:`csv_table`: CSV rows pulled through a line reader that counts characters, so a row is refused as soon as it
  passes ``row_chars`` (a missing newline or an unclosed quote cannot swallow the file) and the file is never decoded
  whole.

Every refusal is an :class:`~importers.base.ImportFailed` naming the file, sheet, row and column, in English and
Vietnamese, with a stable ``reason`` code.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any
from xml.parsers import expat

from catalog.i18n import Message, msg
from importers.base import MAX_ZIP_MEMBERS, ImportFailed, ImportLimits, clip, sniff_delimiter, zip_member_count

STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CHUNK = 1 << 16


def column_letters(n: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


CELL_REF = re.compile(r"([A-Z]{1,7})(\d{0,10})$")


def _fail(message: Message, reason: str) -> ImportFailed:
    return ImportFailed(message, reason=reason)


# --- the zip ------------------------------------------------------------------------------------------------------


def open_zip(path: Path) -> zipfile.ZipFile:
    """The zip, once its end record announces at most MAX_ZIP_MEMBERS members (zipfile would load a directory of
    millions of entries whole)."""
    count = zip_member_count(path)
    if count is not None and count > MAX_ZIP_MEMBERS:
        raise _fail(msg("import-zip-members", file=path.name, count=count, limit=MAX_ZIP_MEMBERS), "import-zip-members")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(msg("import-not-zip", file=path.name, error=str(exc)), "import-unreadable") from None


def check_total(path: Path, zf: zipfile.ZipFile, max_bytes: int) -> None:
    """Refuse a zip whose members would unpack to more than ``max_bytes`` (sizes from the directory) or that holds
    an absurd number of members."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise _fail(
            msg("import-zip-members", file=path.name, count=len(infos), limit=MAX_ZIP_MEMBERS), "import-zip-members"
        )
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        big = max(infos, key=lambda i: i.file_size)
        raise _fail(
            msg(
                "import-zip-too-large",
                file=path.name,
                total=total,
                member=big.filename,
                size=big.file_size,
                limit=max_bytes,
            ),
            "import-too-large",
        )


def _too_big(path: Path, what: Message, size: int, limit: int, setting: str) -> ImportFailed:
    return _fail(
        msg("import-part-too-large", file=path.name, part=what, size=size, limit=limit, setting=setting),
        "import-part-too-large",
    )


# --- which part is what -------------------------------------------------------------------------------------------


def _parse_small(path: Path, zf: zipfile.ZipFile, name: str, start: Callable[[str, dict[str, str]], None]) -> None:
    """Stream a (size-checked) part through expat, calling ``start(local name, attributes)`` per element."""
    if name not in zf.NameToInfo:
        return
    parser = expat.ParserCreate()

    def on_start(tag: str, attrs: dict[str, str]) -> None:
        start(tag.rpartition(":")[2], attrs)

    parser.StartElementHandler = on_start
    try:
        with zf.open(name) as fh:
            while chunk := fh.read(CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _fail(
            msg("import-xlsx-unreadable", file=path.name, error=f"{name}: {exc}"), "import-unreadable"
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _fail(msg("import-zip-damaged", file=path.name, error=f"{name}: {exc}"), "import-unreadable") from None


def _resolve(base: str, target: str) -> str:
    """A relationship target as a member name: absolute (``/xl/...``) or relative to ``base``'s folder."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for p in (PurePosixPath(base).parent / target).parts:
        if p == "..":
            if parts:
                parts.pop()
        elif p not in (".", ""):
            parts.append(p)
    return "/".join(parts)


def workbook_parts(path: Path, zf: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """(worksheet member -> sheet title, shared-strings members): what openpyxl will read as sheets and strings,
    from the workbook's relationships and the content types (any part name a file chooses), plus the usual names."""
    rels: dict[str, tuple[str, str]] = {}

    def on_rel(tag: str, a: dict[str, str]) -> None:
        if tag == "Relationship" and "Id" in a and "Target" in a:
            rels[a["Id"]] = (a.get("Type", ""), _resolve("xl/workbook.xml", a["Target"]))

    titles: dict[str, str] = {}

    def on_sheet(tag: str, a: dict[str, str]) -> None:
        if tag == "sheet":
            rid = next((v for k, v in a.items() if k.rpartition(":")[2] == "id" and k != "sheetId"), None)
            if rid in rels:
                part, title = rels[rid][1], clip(a.get("name", rels[rid][1]), 100)
                if part in titles:  # read twice (or ten thousand times) by openpyxl: refused
                    raise _fail(
                        msg("import-sheets-same-part", file=path.name, first=titles[part], second=title, part=part),
                        "import-unreadable",
                    )
                titles[part] = title

    strings = {"xl/sharedStrings.xml"}

    def on_type(tag: str, a: dict[str, str]) -> None:
        if tag == "Override" and a.get("ContentType") == STRINGS_TYPE and "PartName" in a:
            strings.add(a["PartName"].lstrip("/"))

    _parse_small(path, zf, "xl/_rels/workbook.xml.rels", on_rel)
    _parse_small(path, zf, "xl/workbook.xml", on_sheet)
    _parse_small(path, zf, "[Content_Types].xml", on_type)
    strings |= {target for kind, target in rels.values() if kind.endswith("/sharedStrings")}
    for name in zf.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml") and name not in titles:
            titles[name] = PurePosixPath(name).stem
    return titles, {s for s in strings if s in zf.NameToInfo}


def check_parts(path: Path, zf: zipfile.ZipFile, limits: ImportLimits) -> tuple[dict[str, str], set[str]]:
    """Refuse, from the declared sizes and before unpacking anything large, a worksheet over ``sheet_bytes``, the
    shared strings over ``strings_bytes`` and any other XML part over ``part_bytes`` (pictures and other binary parts,
    which the reader never opens, count only towards the total); returns :func:`workbook_parts`."""
    check_total(path, zf, limits.file_bytes)
    small = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    for name in small:
        info = zf.NameToInfo.get(name)
        if info is not None and info.file_size > limits.part_bytes:
            raise _too_big(
                path,
                msg("part-named", part=name),
                info.file_size,
                limits.part_bytes,
                "IOC_CATALOG_IMPORT_MAX_PART_BYTES",
            )
    sheets, strings = workbook_parts(path, zf)
    for info in zf.infolist():
        if info.filename in sheets:
            if info.file_size > limits.sheet_bytes:
                title = sheets[info.filename]
                raise _too_big(
                    path,
                    msg("part-sheet", sheet=title, part=info.filename),
                    info.file_size,
                    limits.sheet_bytes,
                    "IOC_CATALOG_IMPORT_MAX_SHEET_BYTES",
                )
        elif info.filename in strings:
            if info.file_size > limits.strings_bytes:
                raise _too_big(
                    path,
                    msg("part-shared-strings", part=info.filename),
                    info.file_size,
                    limits.strings_bytes,
                    "IOC_CATALOG_IMPORT_MAX_STRINGS_BYTES",
                )
        elif info.file_size > limits.part_bytes and info.filename.lower().endswith((".xml", ".rels")):
            raise _too_big(
                path,
                msg("part-named", part=info.filename),
                info.file_size,
                limits.part_bytes,
                "IOC_CATALOG_IMPORT_MAX_PART_BYTES",
            )
    return sheets, strings


# --- the streaming scan -------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised inside an expat handler to end the scan with an ImportFailed."""

    def __init__(self, failure: ImportFailed):
        super().__init__(failure.message)
        self.failure = failure


def _cell_too_long(where: Message, chars: int | None, limit: int) -> ImportFailed:
    if chars is None:
        return _fail(msg("import-cell-over", where=where, limit=limit), "import-cell-too-long")
    return _fail(msg("import-cell-too-long", where=where, chars=chars, limit=limit), "import-cell-too-long")


def _run(parser: Any, fh: IO[bytes], path: Path, part: str) -> None:
    try:
        while chunk := fh.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop as stop:
        raise stop.failure from None
    except expat.ExpatError as exc:
        raise _fail(
            msg("import-part-not-xml", file=path.name, part=part, error=str(exc)), "import-unreadable"
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # includes zlib errors and a bad CRC
        raise _fail(msg("import-zip-damaged", file=path.name, error=f"{part}: {exc}"), "import-unreadable") from None


def scan_strings(path: Path, zf: zipfile.ZipFile, name: str, limits: ImportLimits) -> array:
    """The length of every shared string, by index (8 bytes each; the text is counted, never kept)."""
    lengths = array("q")
    state = {"depth": 0, "chars": 0, "run": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        state["run"] = 0
        if state["depth"]:
            state["depth"] += 1
        elif tag == "si" or tag.endswith(":si"):
            state["depth"], state["chars"] = 1, 0

    def end(tag: str) -> None:
        state["run"] = 0
        if state["depth"]:
            state["depth"] -= 1
            if state["depth"] == 0:
                lengths.append(state["chars"])

    def data(text: str) -> None:
        if state["depth"]:
            state["chars"] += len(text)
            return
        state["run"] += len(text)  # expat hands a long text over in pieces
        if state["run"] > limits.cell_chars:  # text outside any string: openpyxl would build it too
            raise _Stop(
                _fail(
                    msg("import-text-outside-strings", file=path.name, part=name, limit=limits.cell_chars),
                    "import-cell-too-long",
                )
            )

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    with zf.open(name) as fh:
        _run(parser, fh, path, name)
    return lengths


def scan_sheet(path: Path, zf: zipfile.ZipFile, name: str, title: str, limits: ImportLimits, strings: array) -> bool:
    """Stream one worksheet: refuse the first cell over ``cell_chars`` (inline text, or the shared string it points
    at: ``strings`` holds their lengths), row over ``rows``, column over ``columns`` or row over ``row_chars``,
    naming sheet, row and column. Returns whether the sheet holds a formula."""
    where = msg("at-sheet", file=path.name, sheet=title)
    max_cell, max_row_chars, max_cols, max_rows = limits.cell_chars, limits.row_chars, limits.columns, limits.rows
    row = col = depth = chars = row_chars = run = 0  # depth: inside a cell (1 = the <c> element itself)
    shared = in_v = formula = False
    v = ""

    def at(column: int | None = None) -> Message:
        if column is None:
            return msg("at-row", where=where, row=row)
        return msg("at-cell", where=where, row=row, column=column_letters(column))

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal row, col, depth, chars, row_chars, run, shared, in_v, formula, v
        run = 0
        if ":" in tag:
            tag = tag.rpartition(":")[2]
        if depth:
            depth += 1
            if tag == "v":
                in_v = True
            elif tag == "f":
                formula = True
        elif tag == "c":
            ref = attrs.get("r")
            m = CELL_REF.match(ref) if ref else None
            col = _column_number(m.group(1)) if m else col + 1
            if col > max_cols:
                raise _Stop(
                    _fail(
                        msg("import-too-many-columns", where=at(col), column=col, limit=max_cols),
                        "import-too-many-columns",
                    )
                )
            depth, chars, v = 1, 0, ""
            shared = attrs.get("t") == "s"
        elif tag == "row":
            r = attrs.get("r", "")
            row = int(r) if r.isascii() and r.isdigit() and len(r) < 12 else row + 1
            col = row_chars = 0
            if row > max_rows:
                raise _Stop(_fail(msg("import-too-many-rows", where=at(), limit=max_rows), "import-too-many-rows"))

    def end(tag: str) -> None:
        nonlocal depth, chars, row_chars, run, in_v
        run = 0
        if not depth:
            return
        depth -= 1
        in_v = False
        if depth:
            return
        if shared:
            index = v.strip()
            chars = strings[int(index)] if index.isascii() and index.isdigit() and int(index) < len(strings) else 0
            if chars > max_cell:
                raise _Stop(_cell_too_long(at(col), chars, max_cell))
        row_chars += chars
        if row_chars > max_row_chars:
            raise _Stop(_fail(msg("import-row-too-long", where=at(), limit=max_row_chars), "import-row-too-long"))

    def data(text: str) -> None:
        nonlocal chars, run, v
        if depth:
            chars += len(text)
            if shared:
                if in_v and len(v) < 12:
                    v = (v + text)[:12]
            elif chars > max_cell:
                raise _Stop(_cell_too_long(at(col), None, max_cell))
        else:
            run += len(text)
            if run > max_cell:  # a text outside any cell, which openpyxl would build whole too
                raise _Stop(_fail(msg("import-text-outside-cells", where=at(), limit=max_cell), "import-cell-too-long"))

    parser = expat.ParserCreate()
    parser.buffer_text = True  # one call per text run (up to the buffer's size), not per line
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    with zf.open(name) as fh:
        _run(parser, fh, path, msg("part-sheet-only", sheet=title))
    return formula


def scan_workbook(path: Path, zf: zipfile.ZipFile, limits: ImportLimits) -> tuple[bool, set[str]]:
    """Check every part's size, then stream the shared strings and every worksheet (see the module docstring).
    Returns whether any worksheet holds a formula, and the worksheet parts scanned (openpyxl may read no other)."""
    sheets, strings = check_parts(path, zf, limits)
    lengths = array("q")
    for name in sorted(strings):  # one, in any workbook a spreadsheet wrote
        lengths.extend(scan_strings(path, zf, name, limits))
    formulas = False
    scanned = set()
    for name, title in sheets.items():
        if name in zf.NameToInfo:
            formulas = scan_sheet(path, zf, name, title, limits, lengths) or formulas
            scanned.add(name)
    return formulas, scanned


# --- CSV ----------------------------------------------------------------------------------------------------------


def _first_bad_byte(open_binary: Callable[[], IO[bytes]]) -> int:
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    with open_binary() as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return seen + exc.start
            seen += len(chunk)
    try:
        decoder.decode(b"", True)
    except UnicodeDecodeError as exc:
        return seen + exc.start
    return seen


def csv_rows(
    name: str, where: str, open_binary: Callable[[], IO[bytes]], limits: ImportLimits
) -> Iterator[tuple[int, list[str]]]:
    """(record number from 1, fields without trailing empty ones) of one CSV file, within ``limits``; the
    delimiter (, ; or tab) is sniffed from the header line. ``open_binary`` opens the file (it is opened twice: once
    for the header line, once to read)."""
    with open_binary() as fh:
        head = fh.read(CHUNK).decode("utf-8-sig", errors="replace")
    delimiter = sniff_delimiter(head.split("\n", 1)[0])
    pending = 0
    rownum = 0

    def lines(text: IO[str]) -> Iterator[str]:
        nonlocal pending
        while line := text.readline(limits.row_chars + 1):
            pending += len(line)
            if pending > limits.row_chars:
                raise _fail(
                    msg(
                        "import-csv-row-too-long",
                        where=msg("at-row", where=where, row=rownum + 1),
                        limit=limits.row_chars,
                    ),
                    "import-row-too-long",
                )
            yield line

    try:
        with open_binary() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(lines(text), delimiter=delimiter)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    if "field larger than field limit" in str(exc):
                        raise _cell_too_long(
                            msg("at-row", where=where, row=rownum + 1), None, limits.cell_chars
                        ) from None
                    raise _fail(msg("import-csv-invalid", where=where, error=str(exc)), "import-unreadable") from None
                rownum += 1
                pending = 0
                if rownum > limits.rows:
                    raise _fail(
                        msg("import-too-many-rows", where=msg("at-row", where=where, row=rownum), limit=limits.rows),
                        "import-too-many-rows",
                    )
                while row and not row[-1]:
                    row.pop()
                if len(row) > limits.columns:
                    col = column_letters(len(row))
                    raise _fail(
                        msg(
                            "import-too-many-columns",
                            where=msg("at-cell", where=where, row=rownum, column=col),
                            column=len(row),
                            limit=limits.columns,
                        ),
                        "import-too-many-columns",
                    )
                for i, v in enumerate(row):
                    if len(v) > limits.cell_chars:
                        raise _cell_too_long(
                            msg("at-cell", where=where, row=rownum, column=column_letters(i + 1)),
                            len(v),
                            limits.cell_chars,
                        )
                yield rownum, row
    except UnicodeDecodeError:
        at = _first_bad_byte(open_binary)
        raise _fail(msg("import-not-utf8", file=name, byte=at), "import-not-utf8") from None


__all__ = [
    "check_parts",
    "check_total",
    "column_letters",
    "csv_rows",
    "open_zip",
    "scan_sheet",
    "scan_strings",
    "scan_workbook",
    "workbook_parts",
]
