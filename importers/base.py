"""The importer pattern: read -> transform -> (resolve) -> load (-> clean up), and the registry every importer joins.

An importer declares what it reads (``name``, file ``suffixes``, ``description``) and implements two stages:
- ``read(path, max_bytes)``: dumb; returns the parsed document or raises ImportFailed with a clear reason;
- ``transform(document, source)``: pure; returns the entities, relationships and events the file describes, plus
  every item it rejected and every item it could not map (each with its location and reason).
Two optional hooks: ``claims(path, head) -> bool`` (pick this importer for a file without ``--format``, by its name
or first bytes) and ``resolve(transformed, known)`` (finish references that depend on what the catalog already
holds; ``known(refs)`` returns those that exist).

``run_import`` first checks that the file holds what its name (or ``--format``) says (:func:`check_content`: a JSON
file named .csv is refused, never read as an empty CSV), then checks every reference against the file and the store,
loads everything in one transaction with provenance (source and run), or nothing at all, and records the run
(``import-run`` records: who, when, status, counts) whether it finished or failed. A run that never finishes (the
process was killed or crashed) is found by :func:`recover_runs` at the next start and recorded as failed. The stages
before the load are :func:`prepare_import`; :func:`plan_import` runs them as a principal and turns what the load would
write into a change set instead of a run (a department editor's spreadsheet, docs/spreadsheets.md).

Hostile input stays bounded: :class:`ImportLimits` (from the ``import_*`` settings) says what a cell, a row, a sheet
and a report may hold, importers that honour it carry a ``limits`` attribute, and every message that quotes the file
is cut (:func:`clip`). Built-in importers register exactly like an extension would. See docs/importers.md.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from catalog.changeset import Change
from catalog.errors import CatalogError, FieldError
from catalog.i18n import Message, msg, msg_plural, text
from catalog.model import Entity, OrgEvent, Relationship
from catalog.permissions import SYSTEM, Principal, require
from catalog.registry import Registry
from catalog.store.base import BulkLoad, BulkResult, CatalogStore, WriteContext, new_run_id
from catalog.text import echoable

REPORT_SCHEMA = "ioc-catalog/import-report/1"
RUNS = "import-run"  # the records collection that holds one record per import run
# one small record per run in progress (pid, host, process start): what recover_runs reads, without listing every run
ACTIVE = "import-active"
QUOTE_CHARS = 200  # a value from the file quoted in a message: its first characters, then its length
MESSAGE_CHARS = 2_000  # no message about a file is longer than this (a backstop for values quoted whole)


def clip(value: Any, keep: int = QUOTE_CHARS) -> str:
    """A value from a file as a message may quote it: whole when short, else its first ``keep`` characters and its
    length (``'aaaa…' (150,000,000 characters)`` is what a person can read; the value itself is not)."""
    value = value if isinstance(value, str) else str(value)
    if len(value) <= keep:
        return value
    return msg_plural("quote-clipped", "quote-clipped#plural", count=len(value), head=value[:keep])


def _bounded(value: str) -> str:
    """A message or text no longer than MESSAGE_CHARS (a Message keeps its code; its long parameters are cut)."""
    if isinstance(value, Message):
        if len(value) <= MESSAGE_CHARS:
            return value
        return Message(
            value.code, {k: clip(v, MESSAGE_CHARS // 4) if isinstance(v, str) else v for k, v in value.params.items()}
        )
    return value if len(value) <= MESSAGE_CHARS else clip(value, MESSAGE_CHARS // 2)


def _echoable(value: str) -> str:
    """A location or message with the lone surrogates a file held written as escapes (a Message: in its
    parameters)."""
    if isinstance(value, Message):
        params = {k: _echoable(v) if isinstance(v, str) else v for k, v in value.params.items()}
        changed = any(params[k] is not value.params[k] for k in params)
        return Message(value.code, params) if changed else value
    return echoable(value)


class ImportFailed(CatalogError):
    """The file cannot be read at all (missing, too large, not the format it claims). ``message`` is a
    :class:`catalog.i18n.Message`; ``reason`` a stable code for what went wrong (``import-too-large``,
    ``import-content-mismatch``...; docs/importers.md lists them), ``import-failed`` unless given."""

    status = 422
    code = "import-failed"

    def __init__(self, message: Message, reason: str = "import-failed"):
        bounded = _bounded(_echoable(message))
        super().__init__(bounded if isinstance(bounded, Message) else msg("import-failed-detail", detail=bounded))
        self.reason = reason

    def text(self, lang: str = "en") -> str:
        return text(self.message, lang)


@dataclass(frozen=True)
class Rejection:
    location: str  # file and place: "hcmc.json: entities[12]", "sheet system, row 7, column lifecycle"
    field: str
    reason: str  # a Message: its code, parameters and (as a str) English text; each language from the catalog

    def __post_init__(self) -> None:  # a message never carries a huge value whole, whoever built it
        for name in ("location", "field", "reason"):
            value = _bounded(_echoable(getattr(self, name)))  # a lone surrogate from the file, as its escape
            if value is not getattr(self, name):
                object.__setattr__(self, name, value)

    def __str__(self) -> str:
        return self.text("en")

    def text(self, lang: str = "en") -> str:
        where, reason = text(self.location, lang), text(self.reason, lang)
        return f"{where}: {self.field}: {reason}" if self.field else f"{where}: {reason}"

    def to_json(self) -> dict[str, str]:
        return {
            "location": text(self.location, "en"),
            "location_vi": text(self.location, "vi"),
            "field": self.field,
            "code": getattr(self.reason, "code", ""),
            "reason": text(self.reason, "en"),
            "reason_vi": text(self.reason, "vi"),
        }


@dataclass
class Transformed:
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    events: list[OrgEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # items of a type the mapping does not cover: reported, never dropped silently, and not a reason to refuse
    unmapped: list[Rejection] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)  # ref or relationship id -> where the file says it
    # items per type in the source's own vocabulary (Backstage kind, ArchiMate element type, sheet ...)
    source_types: dict[str, int] = field(default_factory=dict)
    # (location, field) of one fact, when the file names it in its own terms: keyed by relationship id,
    # "<ref>#owner" or "<ref>#attributes.<name>"; used to report a dangling reference where the file wrote it
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)
    # references the file makes that produce no fact but must exist (in the file or the catalog): (location,
    # field, ref)
    references: list[tuple[str, str, str]] = field(default_factory=list)
    # importer-specific items its ``resolve`` stage finishes against the catalog
    deferred: list[Any] = field(default_factory=list)


@dataclass
class ImportReport:
    source: str
    run: str
    format: str
    dry_run: bool
    loaded: bool
    result: BulkResult
    rejected: list[Rejection]
    started: str
    finished: str
    unmapped: list[Rejection] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # {"entities": {kind: n}, "relationships": ...}
    source_types: dict[str, int] = field(default_factory=dict)
    status: str = "finished"  # running | finished | failed
    error: str | None = None
    error_vi: str | None = None
    actor: str = ""
    file: str = ""
    recorded: bool = False  # the run record was written
    max_items: int = 1_000  # rejected or unmapped items a report lists (ImportLimits.report_items)

    def listed(self, items: list[Rejection]) -> list[Rejection]:
        """The items a report shows: the first ``max_items``, then one line that counts the rest."""
        if len(items) <= self.max_items:
            return items
        more = len(items) - self.max_items
        return items[: self.max_items] + [
            Rejection(
                self.file.rsplit("/", 1)[-1] or self.source,
                "",
                msg_plural("import-more-items", "import-more-items#plural", count=more, limit=self.max_items),
            )
        ]

    def to_json(self) -> dict[str, Any]:
        """The report for scripts; the schema is documented in docs/importers.md."""
        return {
            "schema": REPORT_SCHEMA,
            "source": self.source,
            "run": self.run,
            "format": self.format,
            "file": self.file,
            "actor": self.actor,
            "dry_run": self.dry_run,
            "loaded": self.loaded,
            "status": self.status,
            "error": self.error,
            "created": self.result.created,
            "updated": self.result.updated,
            "unchanged": self.result.unchanged,
            "removed": self.result.removed,
            "counts": self.counts,
            "source_types": self.source_types,
            "rejected": [r.to_json() for r in self.listed(self.rejected)],
            "unmapped": [r.to_json() for r in self.listed(self.unmapped)],
            "started": self.started,
            "finished": self.finished,
        }


@dataclass(frozen=True)
class ImportLimits:
    """What one import may hold, from the ``import_*`` settings (docs/spreadsheets.md, "Limits"). Readers check them
    while they stream, so a hostile file is refused before its content is kept; ``file_bytes`` is the size limit of
    the file itself (``max_import_bytes``)."""

    file_bytes: int = 200_000_000
    cell_chars: int = 32_767
    row_chars: int = 1_000_000
    columns: int = 1_024
    rows: int = 1_048_576
    sheet_bytes: int = 100_000_000
    strings_bytes: int = 32_000_000
    part_bytes: int = 5_000_000
    report_items: int = 1_000
    stale_hours: float = 24

    @classmethod
    def from_settings(cls, settings: Any = None) -> ImportLimits:
        """The limits of ``settings`` (default: the process's settings, from the environment)."""
        if settings is None:
            from catalog.settings import get_settings

            settings = get_settings()
        return cls(
            file_bytes=settings.max_import_bytes,
            cell_chars=settings.import_max_cell_chars,
            row_chars=settings.import_max_row_chars,
            columns=settings.import_max_columns,
            rows=settings.import_max_rows,
            sheet_bytes=settings.import_max_sheet_bytes,
            strings_bytes=settings.import_max_strings_bytes,
            part_bytes=settings.import_max_part_bytes,
            report_items=settings.import_max_report_items,
            stale_hours=settings.import_stale_hours,
        )


class Importer(Protocol):
    name: str
    suffixes: tuple[str, ...]
    description: str

    def read(self, path: Path, max_bytes: int) -> Any: ...

    def transform(self, document: Any, source: str) -> Transformed: ...


def _is_importer(obj: Any) -> bool:
    return (
        isinstance(getattr(obj, "name", None), str)
        and isinstance(getattr(obj, "suffixes", None), tuple)
        and callable(getattr(obj, "read", None))
        and callable(getattr(obj, "transform", None))
    )


# the built-ins register exactly like an extension's entry points in the group ``ioc_catalog.importers``
IMPORTERS: Registry[Importer] = Registry(
    msg("registry-kind-importer"),
    "ioc_catalog.importers",
    (
        "importers.native:importers",
        "importers.backstage:importers",
        "importers.spreadsheet:importers",
        "importers.archimate:importers",
        "importers.archi:importers",
    ),
    key=lambda imp: imp.name,
    accepts=_is_importer,
)


def register(importer: Importer, *, replace: bool = False) -> Importer:
    """Register ``importer`` under its name (a taken name is refused: :class:`catalog.registry.NameTaken`)."""
    return IMPORTERS.register(importer.name, importer, replace=replace)


def registry() -> dict[str, Importer]:
    """All importers by name: the built-ins, then the extensions' (loaded on first use, not at import)."""
    return IMPORTERS.items()


def pick(path: Path, format: str | Importer | None) -> Importer:
    """The importer for a file: ``format`` when given (a registered name, or an importer built for this one run, as
    :class:`importers.mapping.MappedImporter` is for a mapping profile); else the first whose ``claims(path, head)``
    says yes (by name or first bytes); else the first whose suffixes match."""
    if format is not None and not isinstance(format, str):
        return format
    importers = registry()
    if format:
        if format not in importers:
            raise ImportFailed(msg("import-format-unknown", format=format, available=", ".join(sorted(importers))))
        return importers[format]
    head = b""
    try:
        if path.is_file():
            with path.open("rb") as fh:
                head = fh.read(4096)
    except OSError:
        head = b""
    for imp in importers.values():
        claims = getattr(imp, "claims", None)
        if claims is not None:
            try:
                if claims(path, head):
                    return imp
            except Exception:  # a claim is a guess; a broken one must not stop the others
                continue
    for imp in importers.values():
        if path.suffix.lower() in imp.suffixes:
            return imp
    raise ImportFailed(msg("import-format-unclear", file=path.name, available=", ".join(sorted(importers))))


# --- what a file holds -------------------------------------------------------------------------------------------

# what a file's first bytes show, in both languages
CONTENTS: dict[str, Message] = {
    "xlsx": msg("content-xlsx"),
    "zip": msg("content-zip"),
    "json": msg("content-json"),
    "xml": msg("content-xml"),
    "text": msg("content-text"),
    "utf16": msg("content-utf16"),
    "ole": msg("content-ole"),
    "pdf": msg("content-pdf"),
    "binary": msg("content-binary"),
}
# what a file with this suffix must hold: (contents, what that is called)
SUFFIX_CONTENTS: dict[str, tuple[frozenset[str], Message]] = {
    ".csv": (frozenset({"text"}), msg("content-csv")),
    ".tsv": (frozenset({"text"}), msg("content-tsv")),
    ".xlsx": (frozenset({"xlsx"}), msg("content-xlsx")),
    ".xlsm": (frozenset({"xlsx"}), msg("content-xlsx")),
    ".json": (frozenset({"json"}), msg("content-json")),
    ".yaml": (frozenset({"text", "json"}), msg("content-yaml")),
    ".yml": (frozenset({"text", "json"}), msg("content-yaml")),
    ".xml": (frozenset({"xml"}), msg("content-xml")),
    ".archimate": (frozenset({"xml", "zip"}), msg("content-archimate")),
    ".zip": (frozenset({"zip", "xlsx"}), msg("content-zip")),
}
# content recognised as a format of its own: refused under any other name. Plain text, binary data or a bare zip
# under a wrong name are left to the importer, whose reader says precisely what it misses ("not an XLSX workbook or
# zip archive"), except for CSV, which would read almost any text and find nothing.
RECOGNISED = frozenset({"xlsx", "json", "xml", "pdf", "ole"})
LOOSE_SUFFIXES = frozenset({".csv", ".tsv"})
MAX_ZIP_MEMBERS = 10_000


def zip_member_count(path: Path) -> int | None:
    """How many members a zip's end-of-central-directory record announces (Zip64 included), read from the file's
    last 64 KiB without loading the directory itself; None when there is no such record."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 65_558))
            tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    if count == 0xFFFF:  # Zip64: the real count is in the Zip64 record its locator points at
        loc = tail.rfind(b"PK\x06\x07", 0, at)
        if loc < 0 or len(tail) < loc + 20:
            return count
        offset = struct.unpack("<Q", tail[loc + 8 : loc + 16])[0]
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                rec = fh.read(56)
        except OSError:
            return count
        if rec[:4] == b"PK\x06\x06" and len(rec) >= 40:
            count = struct.unpack("<Q", rec[32:40])[0]
    return count


def sniff(path: Path, head: bytes) -> str:
    """What a file holds, from its first bytes (and a zip's directory): a key of :data:`CONTENTS`, or "empty"."""
    if not head:
        return "empty"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        import zipfile

        count = zip_member_count(path)
        if count is None or count > MAX_ZIP_MEMBERS:
            return "zip"  # too many members to list: whoever reads it refuses it
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
        return "xlsx" if "xl/workbook.xml" in names else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf16"
    if b"\x00" in head:
        return "binary"
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "xml"
    if text.startswith("{") or (text.startswith("[") and text[1:].lstrip()[:1] in tuple('{["-0123456789tfn]')):
        return "json"
    return "text"


def check_content(path: Path, importer: Importer) -> None:
    """Refuse a file whose content is not what its name says (a JSON file named .csv, a workbook named .csv, XML
    named .json...), or not what the chosen importer reads (its ``holds``, when it declares one), naming what was
    found in both languages: never read it as something else and find nothing. See :data:`RECOGNISED` for what is
    left to the importer's own reader (text named .xlsx: "not an XLSX workbook or zip archive")."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return  # check_size has said what is wrong with it
    found = sniff(path, head)
    if found == "empty":
        return
    if found == "utf16":
        raise ImportFailed(msg("import-utf16", file=path.name), reason="import-not-utf8")
    what = CONTENTS[found]
    suffix = path.suffix.lower()
    if suffix in SUFFIX_CONTENTS:
        allowed, expected = SUFFIX_CONTENTS[suffix]
        if found not in allowed and (found in RECOGNISED or suffix in LOOSE_SUFFIXES):
            raise ImportFailed(
                msg("import-content-mismatch", file=path.name, found=what, expected=expected, suffix=suffix),
                reason="import-content-mismatch",
            )
    holds = getattr(importer, "holds", None)
    if holds and found not in holds and (found in RECOGNISED or "text" in holds):
        raise ImportFailed(
            msg(
                "import-content-not-read",
                file=path.name,
                found=what,
                format=importer.name,
                reads=[CONTENTS[h] for h in holds],
            ),
            reason="import-content-mismatch",
        )


def with_limits(importer: Importer, limits: ImportLimits) -> Importer:
    """The importer reading within ``limits``, when it honours them (it has a ``limits`` attribute); a copy, like
    :func:`with_metamodel`."""
    import copy

    if hasattr(importer, "limits"):
        importer = copy.copy(importer)
        importer.limits = limits
    return importer


def with_metamodel(importer: Importer, metamodel: Any) -> Importer:
    """The importer reading against ``metamodel`` (the store's: custom attributes included) unless it was built with
    one of its own. Registered importers are shared, so this returns a copy rather than changing them."""
    import copy

    if getattr(importer, "metamodel", "absent") is None:
        importer = copy.copy(importer)
        importer.metamodel = metamodel  # type: ignore[attr-defined]
    return importer


def decode_text(name: str, raw: bytes) -> str:
    """A file's bytes as text: UTF-8 with or without a byte-order mark, or ImportFailed naming the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(msg("import-not-utf8", file=name, byte=exc.start), reason="import-not-utf8") from None


def sniff_delimiter(header: str) -> str:
    """The CSV delimiter a header line uses: ',' ';' or tab, whichever it holds most (',' when none)."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def check_size(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise ImportFailed(msg("import-no-file", file=str(path)), reason="import-no-file")
    size = path.stat().st_size
    if size == 0:
        raise ImportFailed(msg("import-empty", file=path.name), reason="import-empty")
    if size > max_bytes:
        raise ImportFailed(
            msg("import-too-large", file=path.name, size=size, limit=max_bytes), reason="import-too-large"
        )


# --- references -----------------------------------------------------------------------------------------------


def _missing(ref: str) -> Message:
    return msg("ref-not-in-file-or-catalog", ref=ref)


def _ref_attributes(e: Entity, store: CatalogStore) -> list[tuple[str, str]]:
    """(attribute name, ref) for the entity's reference-typed attributes (parent, data_owner ...)."""
    spec = store.metamodel.kinds.get(e.kind)
    if spec is None:
        return []
    out = []
    for a in spec.attributes:
        v = e.attributes.get(a.name)
        if a.type == "ref" and isinstance(v, str) and v:
            out.append((a.name, v))
    return out


def _ref_properties(r: Relationship, store: CatalogStore) -> list[tuple[str, str]]:
    spec = store.metamodel.relations.get(r.type)
    if spec is None:
        return []
    return [
        (p.name, r.properties[p.name])
        for p in spec.properties
        if p.type == "ref" and isinstance(r.properties.get(p.name), str) and r.properties.get(p.name)
    ]


def _check_references(t: Transformed, store: CatalogStore, where: dict[str, str]) -> None:
    """Reject facts whose references are neither in the file nor in the store (relationship endpoints and ``via``,
    owners, reference attributes such as ``parent``, event members, and ``t.references``), each at the place the
    file wrote it. What a rejected entity leaves behind (its relationships) is rejected too, so a non-strict load
    never half-writes an item."""
    known = {e.ref for e in t.entities}
    wanted = {r.source for r in t.relationships} | {r.target for r in t.relationships}
    wanted |= {v for r in t.relationships for _, v in _ref_properties(r, store)}
    wanted |= {ref for ev in t.events for ref in ev.from_ + ev.to}
    wanted |= {ref for _, _, ref in t.references}
    for e in t.entities:
        wanted |= {p.org for p in e.owner_history}
        wanted |= {v for _, v in _ref_attributes(e, store)}
    missing = wanted - known
    if missing:
        missing -= set(store.get_entities(sorted(missing)))
    if not missing:
        return
    bad_entities: set[str] = set()
    for e in t.entities:
        for i, p in enumerate(e.owner_history):
            if p.org in missing:
                loc, fld = t.origins.get(f"{e.ref}#owner", (where.get(e.ref, e.ref), f"owner_history.{i}.org"))
                t.rejected.append(Rejection(loc, fld, _missing(p.org)))
                bad_entities.add(e.ref)
        for name, v in _ref_attributes(e, store):
            if v in missing:
                loc, fld = t.origins.get(f"{e.ref}#attributes.{name}", (where.get(e.ref, e.ref), f"attributes.{name}"))
                t.rejected.append(Rejection(loc, fld, _missing(v)))
                bad_entities.add(e.ref)
    if bad_entities:
        t.entities = [e for e in t.entities if e.ref not in bad_entities]
    kept = []
    for r in t.relationships:
        bad = [x for x in (r.source, r.target) if x in missing]
        via = [(n, v) for n, v in _ref_properties(r, store) if v in missing]
        gone = [x for x in (r.source, r.target) if x in bad_entities]
        if bad or via:
            end = "source" if r.source in missing else "target" if bad else f"properties.{via[0][0]}"
            loc, fld = t.origins.get(r.id, (where.get(r.id, r.id), end))
            t.rejected.append(Rejection(loc, fld, _missing(bad[0] if bad else via[0][1])))
        elif gone:
            loc, fld = t.origins.get(r.id, (where.get(r.id, r.id), "source" if r.source in gone else "target"))
            t.rejected.append(Rejection(loc, fld, msg("ref-rejected-above", ref=gone[0])))
        else:
            kept.append(r)
    t.relationships = kept
    for loc, fld, ref in t.references:
        if ref in missing:
            t.rejected.append(Rejection(loc, fld, _missing(ref)))
    bad_events = set()
    for ev in t.events:
        for ref in ev.from_ + ev.to:
            if ref in missing:
                t.rejected.append(Rejection(where.get(ev.ref, ev.ref), "from/to", _missing(ref)))
                bad_events.add(ev.ref)
    if bad_events:
        t.events = [ev for ev in t.events if ev.ref not in bad_events]


def _check_events(t: Transformed, store: CatalogStore, where: dict[str, str]) -> None:
    """Reject recorded events that are wrong whatever their date (:func:`catalog.orgs.event_shape`: a party named
    twice or on both sides, a transfer of an organisation, too few parties), as the service refuses them."""
    from catalog.orgs import event_shape

    if not t.events:
        return
    in_file = {e.ref: e for e in t.entities}
    named = {
        ref
        for ev in t.events
        for ref in [*ev.from_, *ev.to, *(x.entity for x in ev.transfers), *(x.to for x in ev.transfers)]
    }
    found = {**store.get_entities(sorted(named - set(in_file))), **in_file}
    kept = []
    for ev in t.events:
        errors = event_shape(store, ev, found, counts=False)
        for e in errors:
            t.rejected.append(Rejection(where.get(ev.ref, ev.ref), e.location, e.reason))
        if not errors:
            kept.append(ev)
    t.events = kept


# --- running an import ----------------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _counts(t: Transformed) -> dict[str, dict[str, int]]:
    return {
        "entities": dict(sorted(Counter(e.kind for e in t.entities).items())),
        "relationships": dict(sorted(Counter(r.type for r in t.relationships).items())),
        "events": dict(sorted(Counter(ev.type for ev in t.events).items())),
    }


def _record(store: CatalogStore, report: ImportReport, *, strict: bool, cleanup: bool, ctx: WriteContext) -> None:
    """Write (or overwrite) the run's record; a store without records, or a failing write, never hides the import's
    own outcome. While the run is running, a small ``import-active`` record says which process runs it."""
    put = getattr(store, "put_record", None)
    if put is None:
        return
    here = _this_process()
    data = {
        "run": report.run,
        "source": report.source,
        "format": report.format,
        "file": report.file,
        "actor": report.actor,
        "dry_run": report.dry_run,
        "strict": strict,
        "cleanup": cleanup,
        "status": report.status,
        "error": report.error,
        "error_vi": report.error_vi,
        "host": here["host"],
        "pid": here["pid"],
        "started": report.started,
        "finished": report.finished or None,
        "loaded": report.loaded,
        "created": report.result.created,
        "updated": report.result.updated,
        "unchanged": report.result.unchanged,
        "removed": report.result.removed,
        "counts": report.counts,
        "source_types": report.source_types,
        "rejected": len(report.rejected),
        "unmapped": len(report.unmapped),
        "first_rejections": [r.to_json() for r in report.rejected[:20]],
    }
    try:
        if report.status == "running":
            put(
                ACTIVE,
                report.run,
                here | {"run": report.run, "started": report.started, "updated": _now()},
                ctx,
                log=False,
            )
        put(RUNS, report.run, data, ctx, log=False)
        report.recorded = True
    except Exception:
        report.recorded = False
        return
    if report.status != "running":
        try:
            store.delete_record(ACTIVE, report.run, ctx, log=False)
        except Exception:
            pass


def _heartbeat(store: CatalogStore, report: ImportReport, ctx: WriteContext, stage: str) -> None:
    """Say that the run is still alive (``updated``, ``stage`` on its ``import-active`` record)."""
    try:
        rec = store.get_record(ACTIVE, report.run)
        if rec is not None:
            store.put_record(ACTIVE, report.run, rec.data | {"updated": _now(), "stage": stage}, ctx, log=False)
    except Exception:
        pass


# --- runs that never finished -----------------------------------------------------------------------------------


def _process_started(pid: int) -> float | None:
    """When process ``pid`` of this host started (seconds since the epoch), or None when there is no such process."""
    try:
        import psutil

        return round(psutil.Process(pid).create_time(), 2)
    except Exception:
        return None


def _this_process() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_started": _process_started(pid)}


def _alive(marker: dict[str, Any]) -> bool | None:
    """Whether the process that runs an import still runs: True or False on the host that runs it (the pid and the
    process's start time must both match, so a reused pid is not taken for it); None on any other host."""
    if marker.get("host") != socket.gethostname():
        return None
    pid = marker.get("pid")
    if not isinstance(pid, int):
        return False
    started = _process_started(pid)
    if started is None:
        return False
    recorded = marker.get("process_started")
    return not isinstance(recorded, (int, float)) or abs(started - recorded) < 1.0


def recover_runs(store: CatalogStore, stale_hours: float = 24, now: dt.datetime | None = None) -> list[str]:
    """Record as failed every run left "running" by a process that is gone (killed, crashed, out of memory), and
    return their ids. On this host a run is gone when its process no longer exists (same pid and start time); a run
    of another host is gone when it has given no news (``updated``) for ``stale_hours``. Runs whose process still
    runs, here or (recently) elsewhere, are left alone. Called when the command line imports or lists imports and
    when the server starts."""
    lister = getattr(store, "list_records", None)
    if lister is None:
        return []
    now = now or dt.datetime.now(dt.UTC)
    ctx = WriteContext(actor="ioc-catalog:recover-runs")
    failed = []
    try:
        markers = lister(ACTIVE, limit=10_000)
    except Exception:
        return []
    for rec in markers:
        m = rec.data
        host, pid = m.get("host", "?"), m.get("pid", "?")
        alive = _alive(m)
        if alive:
            continue
        if alive is None:
            try:
                last = dt.datetime.fromisoformat(str(m.get("updated") or m.get("started")))
            except ValueError:
                last = None
            if last is not None and (now - last).total_seconds() < stale_hours * 3600:
                continue
            said = msg("import-run-stale", hours=f"{stale_hours:g}", pid=str(pid), host=str(host))
        else:
            said = msg("import-run-died", pid=str(pid), host=str(host))
        error, error_vi = text(said, "en"), text(said, "vi")
        try:
            run = store.get_record(RUNS, rec.key)
            if run is not None and run.data.get("status") == "running":
                store.put_record(
                    RUNS,
                    rec.key,
                    run.data
                    | {
                        "status": "failed",
                        "error": error,
                        "error_vi": error_vi,
                        "finished": now.isoformat(timespec="seconds"),
                    },
                    ctx,
                    expected_version=run.version,
                    log=False,
                )
                failed.append(rec.key)
            store.delete_record(ACTIVE, rec.key, ctx, log=False)
        except Exception:
            continue
    return failed


@dataclass
class Prepared:
    """A file read, transformed, resolved and checked against the catalog: what an import of it would write
    (``transformed``, its rejections included), by the importer ``format``, as provenance ``source``."""

    format: str
    source: str
    transformed: Transformed


def prepare_import(
    store: CatalogStore,
    path: Path,
    format: str | None = None,
    *,
    limits: ImportLimits,
    on_stage: Callable[[str, str], None] | None = None,
) -> Prepared:
    """The stages of an import before the load, writing nothing: pick the importer, check the file's size and
    content, read, transform, resolve, then check every reference and event against the file and the store
    (rejections go to ``transformed.rejected``). ``on_stage(stage, format)`` is told ``picked``, ``read`` and
    ``load`` as they are reached. Whether rejections refuse the run (strict) is the caller's to decide; warnings
    (``unmapped``) never do. Raises :class:`ImportFailed` when the file cannot be read at all. Shared by
    :func:`run_import` and :func:`plan_import`."""
    importer = with_limits(with_metamodel(pick(path, format), store.metamodel), limits)

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name, importer.name)

    stage("picked")
    if not (path.is_dir() and getattr(importer, "reads_directories", False)):  # such an importer bounds a folder
        check_size(path, limits.file_bytes)
        check_content(path, importer)
    try:
        document = importer.read(path, limits.file_bytes)
        stage("read")
        t = importer.transform(document, path.name)
        del document
        resolve = getattr(importer, "resolve", None)
        if resolve is not None:
            resolve(t, lambda refs: set(store.get_entities(sorted(refs))))
    except CatalogError:
        raise
    except (RecursionError, MemoryError):
        raise ImportFailed(
            msg("import-too-deep", file=path.name, format=importer.name), reason="import-too-large"
        ) from None
    except Exception as exc:
        raise ImportFailed(
            msg(
                "import-unreadable",
                file=path.name,
                format=importer.name,
                error=f"{type(exc).__name__}: {clip(exc)}",
            ),
            reason="import-unreadable",
        ) from None
    stage("load")
    _check_references(t, store, t.locations)
    _check_events(t, store, t.locations)
    return Prepared(importer.name, f"{importer.name}:{path.name}", t)


def run_import(
    store: CatalogStore,
    path: str | Path,
    format: str | None = None,
    *,
    principal: Principal = SYSTEM,
    dry_run: bool = False,
    strict: bool = True,
    cleanup: bool = False,
    max_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    record: bool = True,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Import one file. With ``strict`` (the default) any rejected item means nothing is loaded (and the run is
    recorded as failed). Every run, dry or not, is recorded in the ``import-run`` records with ``record``: first as
    running, then finished or failed (and runs that other processes left running when they died are recorded as
    failed first: :func:`recover_runs`). ImportFailed and store errors are recorded, then raised. ``limits``
    (default: from the settings) bound what the file may hold; ``max_bytes``, when given, replaces its file size
    limit."""
    require(principal, "import")
    limits = limits or ImportLimits.from_settings()
    if max_bytes is not None:
        limits = replace(limits, file_bytes=max_bytes)
    path = Path(path)
    run = new_run_id()
    ctx = WriteContext(actor=principal.name, request_id=run)  # change-log entries of this run carry its id
    report = ImportReport(
        source=f"?:{path.name}",
        run=run,
        format="?",
        dry_run=dry_run,
        loaded=False,
        result=BulkResult(),
        rejected=[],
        started=_now(),
        finished="",
        actor=principal.name,
        file=str(path),
        status="running",
        max_items=limits.report_items,
    )
    if record:
        recover_runs(store, limits.stale_hours)

    def stage(name: str, fmt: str) -> None:
        if name == "picked":
            report.format, report.source = fmt, f"{fmt}:{path.name}"
            if record:
                _record(store, report, strict=strict, cleanup=cleanup, ctx=ctx)
        elif record:
            _heartbeat(store, report, ctx, name)

    try:
        t = prepare_import(store, path, format, limits=limits, on_stage=stage).transformed
        report.rejected, report.unmapped = t.rejected, t.unmapped
        report.counts, report.source_types = _counts(t), dict(sorted(t.source_types.items()))
        if strict and t.rejected:
            report.status = "failed"
            report.error = msg_plural("import-strict-rejected", "import-strict-rejected#plural", count=len(t.rejected))
            report.error_vi = text(report.error, "vi")
        else:
            load = BulkLoad(
                source=report.source,
                run=run,
                entities=t.entities,
                relationships=t.relationships,
                events=t.events,
                cleanup=cleanup,
            )
            report.result = store.bulk_load(load, ctx, progress=progress, dry_run=dry_run)
            report.loaded = not dry_run
            report.status = "finished"
    except BaseException as exc:
        report.status = "failed"
        report.error = exc.message if isinstance(exc, CatalogError) else f"{type(exc).__name__}: {clip(exc)}"
        report.error_vi = text(report.error, "vi")
        report.finished = _now()
        if record:
            _record(store, report, strict=strict, cleanup=cleanup, ctx=ctx)
        raise
    report.finished = _now()
    if record:
        _record(store, report, strict=strict, cleanup=cleanup, ctx=ctx)
    return report


# --- an import as a change set (a department editor's spreadsheet) ---------------------------------------------


@dataclass
class ImportPlan:
    """What importing one file would change, as a change set (:mod:`catalog.changeset`) instead of a run: ``create``
    for a new entity, ``update`` (its whole content, as the import would write it) with the version it was read at
    for a changed one, ``link`` / ``relink`` for relationships; unchanged items give nothing. ``report`` is the dry
    run's report (counts, rejections, the refusals of the principal's scope); ``changes`` is empty unless it
    finished."""

    report: ImportReport
    changes: list[Change] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)  # a change's ref -> where the file says it

    @property
    def ready(self) -> bool:
        """Nothing refused and something to change: the plan may be submitted."""
        return self.report.status == "finished" and bool(self.changes)

    def summary(self) -> dict[str, Any]:
        """The dry run's report as a draft keeps it (no path of this machine: the file's name only)."""
        r = self.report
        return {
            "schema": REPORT_SCHEMA,
            "file": Path(r.file).name,
            "format": r.format,
            "source": r.source,
            "created": r.result.created,
            "updated": r.result.updated,
            "unchanged": r.result.unchanged,
            "counts": r.counts,
            "changes": len(self.changes),
            "rejected": len(r.rejected),
            "unmapped": len(r.unmapped),
            "checked": r.finished,
        }


def _content(item: Entity | Relationship) -> dict[str, Any]:
    """What a change carries for an imported fact: its content without provenance (a change is a person's)."""
    return {k: v for k, v in item.content().items() if k != "provenance"}


def _scope_refusals(
    store: CatalogStore, principal: Principal, t: Transformed, changed: set[str], existing: dict[str, Entity]
) -> list[Rejection]:
    """Every changing item of ``t`` that ``principal`` may not change, at the place the file says it, with the
    refusal the same change made directly gets (:func:`catalog.permissions.require_owner_scope`, the checks of
    :meth:`catalog.services.CatalogService.prepare_update`)."""
    from catalog.errors import PermissionDenied, ValidationFailed
    from catalog.permissions import require_owner_scope
    from catalog.services import CatalogService

    service = CatalogService(store, principal)
    out: list[Rejection] = []
    owners: dict[str, str | None] = {}
    for e in t.entities:
        owners[e.ref] = e.owner
        if e.ref not in changed:
            continue
        where, fld = t.origins.get(f"{e.ref}#owner", (t.locations.get(e.ref, e.ref), "owner"))
        try:
            current = existing.get(e.ref)
            if current is None:
                require_owner_scope(store, principal, e.ref, e.owner, *(p.org for p in e.owner_history))
            else:
                service.prepare_update(current, e)
        except PermissionDenied as exc:
            out.append(Rejection(where, fld, exc.message))
        except ValidationFailed:
            pass  # the content was checked as the import checks it; applying the change checks it again
    rels = [r for r in t.relationships if f"rel:{r.id}" in changed]
    sources = store.get_entities(sorted({r.source for r in rels} - set(owners)))
    for r in rels:
        owner = owners[r.source] if r.source in owners else sources[r.source].owner if r.source in sources else None
        try:
            require_owner_scope(store, principal, r.source, owner)
        except PermissionDenied as exc:
            where, _ = t.origins.get(r.id, (t.locations.get(r.id, r.id), "source"))
            out.append(Rejection(where, "source", exc.message))
    for ev in t.events:
        if ev.ref in changed:
            out.append(Rejection(t.locations.get(ev.ref, ev.ref), "", msg("import-plan-no-events")))
    return out


def plan_import(
    store: CatalogStore,
    path: str | Path,
    format: str | None = None,
    *,
    principal: Principal,
    limits: ImportLimits | None = None,
) -> ImportPlan:
    """What importing ``path`` as ``principal`` would change, as a change set, writing nothing (no run is
    recorded either: the change set, applied or drafted, is the record). Runs the import's own stages
    (:func:`prepare_import`) and a dry load, then refuses, naming the sheet and row, every item that would change
    and that ``principal`` may not change (a department editor: what their organisation and its units do not own;
    anyone: organisation events, which a change set does not carry). Strict: one rejection and the plan holds no
    change. More than :data:`catalog.changeset.MAX_CHANGES` changes: refused as a whole (ask an architect to import
    it). Needs the ``write`` permission; the caller submits ``plan.changes`` (:func:`catalog.changeset.submit`)."""
    from catalog.changeset import MAX_CHANGES

    require(principal, "write")
    limits = limits or ImportLimits.from_settings()
    path = Path(path)
    run = new_run_id()
    report = ImportReport(
        source=f"?:{path.name}",
        run=run,
        format="?",
        dry_run=True,
        loaded=False,
        result=BulkResult(),
        rejected=[],
        started=_now(),
        finished="",
        actor=principal.name,
        file=path.name,
        status="running",
        max_items=limits.report_items,
    )
    prepared = prepare_import(store, path, format, limits=limits)
    t = prepared.transformed
    report.format, report.source = prepared.format, prepared.source
    report.unmapped = t.unmapped
    report.counts, report.source_types = _counts(t), dict(sorted(t.source_types.items()))
    plan = ImportPlan(report)
    rejected = list(t.rejected)
    if not rejected:
        load = BulkLoad(
            source=prepared.source, run=run, entities=t.entities, relationships=t.relationships, events=t.events
        )
        report.result = store.bulk_load(load, WriteContext(actor=principal.name, request_id=run), dry_run=True)
        changed = set(report.result.changed_refs)
        existing = store.get_entities(sorted(e.ref for e in t.entities if e.ref in changed))
        rejected = _scope_refusals(store, principal, t, changed, existing)
        if not rejected:
            for e in t.entities:
                if e.ref in changed:
                    current = existing.get(e.ref)
                    if current is None:
                        plan.changes.append(Change("create", e.ref, _content(e)))
                    else:
                        plan.changes.append(Change("update", e.ref, _content(e), current.version))
            for r in t.relationships:
                if f"rel:{r.id}" in changed:
                    old = store.find_relationship(r.id)
                    if old is None:
                        plan.changes.append(Change("link", r.id, _content(r)))
                    else:
                        plan.changes.append(Change("relink", r.id, _content(r), old.version))
    plan.locations = {c.ref: t.locations.get(c.ref) or t.origins.get(c.ref, (c.ref, ""))[0] for c in plan.changes}
    report.rejected = rejected
    report.finished = _now()
    if rejected:
        report.status = "failed"
        report.error = msg_plural("import-strict-rejected", "import-strict-rejected#plural", count=len(rejected))
    elif len(plan.changes) > MAX_CHANGES:
        report.status = "failed"
        report.error = msg("import-plan-too-many", count=len(plan.changes), limit=MAX_CHANGES)
    else:
        report.status = "finished"
    if report.status != "finished":
        plan.changes = []
        report.error_vi = text(report.error or "", "vi")
    return plan


def list_runs(store: CatalogStore, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent import runs (newest first) as recorded: run, source, actor, status, counts ..."""
    lister = getattr(store, "list_records", None)
    if lister is None:
        return []
    return [r.data for r in lister(RUNS, limit=limit, newest_first=True)]


def rejections_from(errors: list[FieldError], location: str) -> list[Rejection]:
    return [Rejection(location, e.location, e.reason) for e in errors]
