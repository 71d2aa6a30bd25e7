"""Mapping profiles: a spreadsheet in a department's own layout read as the catalog's (docs/spreadsheets.md, "Any
spreadsheet, mapped once").

Departments answer with the sheets they already keep: title rows above the header, a header merged over two rows
("Thông tin hệ thống" over "Tên hệ thống" and "Cơ quan chủ quản"), "STT", labels instead of codes ("Đang vận hành"),
organisation names instead of references. This module

- finds the header (:func:`detect_header`: the first row, within :data:`HEADER_DEPTH`, as wide as the table; the rows
  below it that continue a merged header, at most :data:`HEADER_ROWS`) and joins a merged header's parts
  ("Tình trạng: Đang vận hành");
- suggests a field for each column (:func:`suggest`) from the similarity of the header to the field labels of the
  metamodel in both languages, diacritics ignored (:func:`catalog.text.fold`), and from the column's values (labels of
  an enumeration); a column whose lower header part is a value label ("Đang vận hành" under "Tình trạng") is a mark
  column: a mark ("x") there sets that value;
- maps values (:func:`apply`): labels to enumeration values, organisation names to references by folded name (an
  exact name or short name, else the current organisations whose name starts with it); where a label or name fits
  several, the profile's choice decides, else the row is refused naming row, column and the candidates;
- keeps a mapping as a named :class:`Profile` (records of the collection ``import-mapping`` through the store
  contract, so the web server and the command line share them on either backend and a backup carries them);
  a profile is global or belongs to one organisation, whose editors may save it;
- reads a file through a profile with :class:`MappedImporter`, which the existing import path runs
  (:func:`importers.base.run_import`, :func:`importers.base.plan_import` with ``importer=``): the mapped rows become
  a table in the catalog's layout that :func:`importers.spreadsheet.transform_tables` reads, keeping the file's own
  row numbers in every message.

Bounded: the file by the import limits (:class:`importers.base.ImportLimits`, read by the existing bounded readers),
the header search by :data:`HEADER_DEPTH` rows, a profile by :data:`MAX_COLUMNS` columns and :data:`MAX_CHOICES`
value choices, the profiles by :data:`MAX_PROFILES`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from catalog.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import Message, msg, named, term
from catalog.metamodel import Metamodel
from catalog.model import CODE_RE, REF_RE
from catalog.permissions import Principal, require
from catalog.store.base import CatalogStore, WriteContext
from catalog.text import fold, nfc
from importers.base import ImportLimits, Rejection, Transformed, clip
from importers.spreadsheet import CSV_SUFFIXES, Column, Table, kind_columns, read_csv, read_xlsx, transform_tables

COLLECTION = "import-mapping"
HEADER_DEPTH = 30  # rows searched for the header
HEADER_ROWS = 3  # header rows joined at most (a header merged over two or three rows)
MAX_NAME = 80
MAX_COLUMNS = 200  # columns a profile maps
MAX_CHOICES = 5_000  # value choices a profile keeps
MAX_VALUE_CHARS = 500  # a header or value a profile keeps
MAX_PROFILES = 500
PREVIEW_ROWS = 100  # rows whose values a preview keeps (the import reads them all)
SUGGEST_AT = 0.5  # the similarity from which a column's field is suggested
MARKS = frozenset({"x", "v", "co", "yes", "true", "1", "✓", "✔", "☑", "ok", "dat", "+"})
ORG_KIND = "organization"


# --- the profile -------------------------------------------------------------------------------------------------


@dataclass
class Profile:
    """A named mapping: which sheet and header rows, each header's field (a mark column: field and value), the
    chosen value of each ambiguous label or name, and how codes are made when the file has none."""

    name: str
    kind: str = "system"
    org: str | None = None  # the organisation whose files it reads (its editors may change it); None: global
    sheet: str | None = None  # None: the first sheet with rows
    header_first: int | None = None  # None: detected
    header_last: int | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)  # folded header -> [field] or [field, value]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> folded cell text -> value or ref
    code_prefix: str = ""
    saved_by: str = ""
    saved_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "org": self.org,
            "sheet": self.sheet,
            "header_first": self.header_first,
            "header_last": self.header_last,
            "columns": self.columns,
            "values": self.values,
            "code_prefix": self.code_prefix,
            "saved_by": self.saved_by,
            "saved_at": self.saved_at,
        }

    @classmethod
    def from_json(cls, data: Any, mm: Metamodel) -> Profile:
        """A profile from untrusted data (a form, a record): every bad part is named (field and reason)."""
        errors: list[FieldError] = []
        if not isinstance(data, dict):
            raise ValidationFailed([FieldError("profile", msg("mapping-profile-malformed"))])
        name = " ".join(str(data.get("name") or "").split())
        if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            errors.append(FieldError("name", msg("mapping-name-invalid", limit=MAX_NAME)))
        kind = str(data.get("kind") or "system")
        if kind not in mm.kinds:
            errors.append(FieldError("kind", msg("kind-unknown", kind=clip(kind), allowed=", ".join(mm.kinds))))
            kind = "system"
        fields = {c.key: c for c in fields_of(mm, kind)}
        org = data.get("org") or None
        if org is not None and (not isinstance(org, str) or not org.startswith(f"{ORG_KIND}:") or len(org) > 200):
            errors.append(FieldError("org", msg("mapping-org-invalid")))
        rows: list[int | None] = []
        for key in ("header_first", "header_last"):
            v = data.get(key)
            if v in (None, ""):
                rows.append(None)
                continue
            try:
                n = int(v)
            except (TypeError, ValueError):
                n = 0
            if not 1 <= n <= HEADER_DEPTH:
                errors.append(FieldError(key, msg("mapping-header-row-invalid", limit=HEADER_DEPTH)))
            rows.append(n)
        if rows[0] and rows[1] and not 0 <= rows[1] - rows[0] < HEADER_ROWS:
            errors.append(FieldError("header_last", msg("mapping-header-rows-span", limit=HEADER_ROWS)))
        columns: dict[str, list[str]] = {}
        raw_cols = data.get("columns") or {}
        if not isinstance(raw_cols, dict) or len(raw_cols) > MAX_COLUMNS:
            errors.append(FieldError("columns", msg("mapping-too-many-columns", limit=MAX_COLUMNS)))
            raw_cols = {}
        for header, target in raw_cols.items():
            target = [target] if isinstance(target, str) else target
            if not isinstance(target, list) or not target or not all(isinstance(t, str) for t in target):
                errors.append(FieldError(f"columns.{clip(header, 60)}", msg("mapping-profile-malformed")))
                continue
            col = fields.get(target[0])
            if col is None:
                errors.append(
                    FieldError(f"columns.{clip(header, 60)}", msg("mapping-field-unknown", field=clip(target[0])))
                )
                continue
            if len(target) > 1 and (col.type != "enum" or target[1] not in col.values):
                errors.append(
                    FieldError(f"columns.{clip(header, 60)}", msg("mapping-mark-value-invalid", field=col.key))
                )
                continue
            columns[fold(str(header))[:MAX_VALUE_CHARS]] = target[:2]
        values: dict[str, dict[str, str]] = {}
        raw_values = data.get("values") or {}
        count = 0
        for key, choices in raw_values.items() if isinstance(raw_values, dict) else []:
            col = fields.get(key)
            if col is None or not isinstance(choices, dict):
                errors.append(FieldError(f"values.{clip(key, 60)}", msg("mapping-field-unknown", field=clip(key))))
                continue
            for said, value in choices.items():
                count += 1
                if not isinstance(value, str) or not value or (col.type == "enum" and value not in col.values):
                    errors.append(FieldError(f"values.{key}", msg("mapping-choice-invalid", value=clip(str(said)))))
                    continue
                values.setdefault(key, {})[fold(str(said))[:MAX_VALUE_CHARS]] = value
        if count > MAX_CHOICES:
            errors.append(FieldError("values", msg("mapping-too-many-choices", limit=MAX_CHOICES)))
        prefix = str(data.get("code_prefix") or "").strip()
        if prefix and (len(prefix) > 40 or not CODE_RE.fullmatch(prefix)):
            errors.append(FieldError("code_prefix", msg("mapping-prefix-invalid")))
        sheet = data.get("sheet") or None
        if sheet is not None and (not isinstance(sheet, str) or len(sheet) > 100):
            errors.append(FieldError("sheet", msg("mapping-profile-malformed")))
        if errors:
            raise ValidationFailed(errors)
        return cls(
            name=name,
            kind=kind,
            org=org,
            sheet=sheet,
            header_first=rows[0],
            header_last=rows[1] if rows[1] else rows[0],
            columns=columns,
            values=values,
            code_prefix=prefix,
            saved_by=str(data.get("saved_by") or "")[:200],
            saved_at=str(data.get("saved_at") or "")[:40],
        )


def fields_of(mm: Metamodel, kind: str) -> tuple[Column, ...]:
    """The fields a column may map to: the columns of the kind's sheet in the catalog's layout (labels from the
    metamodel)."""
    return kind_columns(mm, kind)


class Profiles:
    """The saved profiles, read by anyone who may read, saved and deleted by those who may write: an editor only the
    profiles of their organisation, architects and admins any."""

    def __init__(self, store: CatalogStore, principal: Principal):
        require(principal, "read")
        self.store, self.principal = store, principal

    def list(self) -> list[Profile]:
        """The profiles this person may use: global ones and those of their organisation (all for a non-editor)."""
        out = []
        for r in self.store.list_records(COLLECTION, limit=MAX_PROFILES):
            try:
                p = Profile.from_json(r.data, self.store.metamodel)
            except ValidationFailed:
                continue
            if self.principal.role != "editor" or p.org in (None, self.principal.org):
                out.append(p)
        return sorted(out, key=lambda p: fold(p.name))

    def get(self, name: str) -> Profile:
        rec = self.store.get_record(COLLECTION, fold(str(name))[:200] or "-")
        if rec is None:
            raise NotFound(msg("mapping-not-found", name=clip(str(name), 80)))
        profile = Profile.from_json(rec.data, self.store.metamodel)
        if self.principal.role == "editor" and profile.org not in (None, self.principal.org):
            raise NotFound(msg("mapping-not-found", name=clip(str(name), 80)))
        return profile

    def save(self, profile: Profile) -> Profile:
        """Create or replace a profile (by its folded name). An editor's profile is their organisation's."""
        require(self.principal, "write")
        if self.principal.role == "editor":
            profile.org = self.principal.org
        key = fold(profile.name)[:200]
        if not key:
            raise ValidationFailed([FieldError("name", msg("mapping-name-invalid", limit=MAX_NAME))])
        existing = self.store.get_record(COLLECTION, key)
        if existing is not None and self.principal.role == "editor":
            if existing.data.get("org") not in (None, self.principal.org):
                raise PermissionDenied(msg("mapping-not-yours", name=profile.name))
        if existing is None and self.store.count_records(COLLECTION) >= MAX_PROFILES:
            raise ValidationFailed([FieldError("name", msg("mapping-too-many-profiles", limit=MAX_PROFILES))])
        if profile.org is not None and self.store.find_entity(profile.org) is None:
            raise ValidationFailed([FieldError("org", msg("mapping-org-invalid"))])
        profile.saved_by = self.principal.name
        profile.saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        checked = Profile.from_json(profile.to_json(), self.store.metamodel)  # what is stored reads back
        self.store.put_record(COLLECTION, key, checked.to_json(), WriteContext(actor=self.principal.name), log=False)
        return checked


def _labels(label: Any, fallback: str) -> dict[str, str]:
    """A metamodel label in both languages, the code where there is none."""
    return {"vi": label.vi, "en": label.en} if label is not None else {"vi": fallback, "en": fallback}


def describe(profiles: list[Profile], store: CatalogStore, *, full: bool = False) -> list[dict[str, Any]]:
    """What the command line (``ioc-catalog mappings``) and the API (``GET /api/v1/mappings``) show of profiles: the
    profile (without its columns and value choices unless ``full``), the kind it reads with its labels, its
    organisation's name, and ``maps``: each column's header (folded, as it is matched), the field it fills and, for a
    mark column, the value, each with its labels in both languages; ``choices``: how many value choices it keeps."""
    from catalog.metamodel import VALUE_LABELS

    mm = store.metamodel
    orgs = store.get_entities(sorted({p.org for p in profiles if p.org}))
    out = []
    for p in profiles:
        spec = mm.kinds.get(p.kind)
        fields = {c.key: c for c in fields_of(mm, p.kind)} if spec else {}
        maps = []
        for header, target in p.columns.items():
            col = fields.get(target[0])
            item: dict[str, Any] = {
                "header": header,
                "field": target[0],
                "field_label": _labels(col.label if col else None, target[0]),
            }
            if len(target) > 1:
                item["value"] = target[1]
                item["value_label"] = _labels(VALUE_LABELS.get(target[1]), target[1])
            maps.append(item)
        data = p.to_json()
        if not full:
            del data["columns"], data["values"]
        org = orgs.get(p.org) if p.org else None
        data.update(
            kind_label=_labels(spec.plural if spec else None, p.kind),
            org_name={"vi": org.name.vi, "en": org.name.en} if org else None,
            maps=maps,
            choices=sum(len(v) for v in p.values.values()),
        )
        out.append(data)
    return out


# --- reading the sheet -----------------------------------------------------------------------------------------


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def grid_of(table: Table) -> list[tuple[int, tuple[Any, ...]]]:
    """A table's rows with their numbers, the first row included (the readers keep row 1 apart as the header)."""
    first = [(1, tuple(table.header))] if any(not _empty(v) for v in table.header) else []
    return first + list(table.rows)


def detect_header(grid: list[tuple[int, tuple[Any, ...]]]) -> tuple[int, int]:
    """The first and last header row numbers: the first row within :data:`HEADER_DEPTH` holding at least half as many
    texts as the widest row there (title rows hold one), then each row below that only continues a merged header (text
    only, under a gap of the row above, blank under a cell merged down), at most :data:`HEADER_ROWS` in all."""
    top = grid[:HEADER_DEPTH]
    if not top:
        return 1, 1
    widths = [sum(1 for v in cells if _is_text(v)) for _, cells in top]
    need = max(2, (max(widths) + 1) // 2)
    start = next((i for i, w in enumerate(widths) if w >= need), 0)
    last = start
    above = list(top[start][1])
    while last + 1 < len(top) and last - start + 1 < HEADER_ROWS:
        n, below = top[last + 1]
        if n != top[last][0] + 1 or any(not _empty(v) and not _is_text(v) for v in below):
            break
        under_gap = any(_is_text(v) and (i >= len(above) or _empty(above[i])) for i, v in enumerate(below))
        merged_down = any(not _empty(v) and (i >= len(below) or _empty(below[i])) for i, v in enumerate(above))
        if not (under_gap and merged_down):
            break
        last += 1
        above = [a if not _empty(a) else (below[i] if i < len(below) else None) for i, a in enumerate(above)]
        above += list(below[len(above) :])
    return top[start][0], top[last][0]


def join_header(rows: list[tuple[Any, ...]]) -> list[str]:
    """One header per column from header rows merged over several rows: the parts from top to bottom joined with
    ": " ("Tình trạng: Đang vận hành"); a cell merged across columns carries its text over the columns whose lower
    row has one (openpyxl gives a merged cell's text to its first cell only)."""
    width = max((len(r) for r in rows), default=0)
    parts: list[list[str]] = [[] for _ in range(width)]
    for depth, row in enumerate(rows):
        carry = ""
        below = rows[depth + 1] if depth + 1 < len(rows) else ()
        for i in range(width):
            v = row[i] if i < len(row) else None
            if _empty(v):
                text = carry if carry and i < len(below) and not _empty(below[i]) else ""
                if not text:
                    carry = ""
            else:
                text = " ".join(nfc(str(v)).split())[:MAX_VALUE_CHARS]
                carry = text if depth + 1 < len(rows) else ""
            if text and (not parts[i] or parts[i][-1] != text):
                parts[i].append(text)
    return [": ".join(p) for p in parts]


@dataclass
class Sheet:
    """A sheet as the mapping sees it: where it is, its joined headers, its data rows (number, cells)."""

    table: Table
    first: int
    last: int
    headers: list[str]
    rows: list[tuple[int, tuple[Any, ...]]]


def read_sheet(tables: list[Table], profile: Profile | None = None) -> Sheet:
    """The profile's sheet (else the one with the most rows), its header rows (the profile's, else detected) and its
    data rows."""
    from importers.base import ImportFailed

    wanted = profile.sheet if profile else None
    table = next((t for t in tables if wanted and t.name == wanted), None)
    if table is None:  # the sheet with the most rows (a cover or instructions sheet holds a few)
        filled = [t for t in tables if t.rows or any(not _empty(v) for v in t.header)]
        table = max(filled, key=lambda t: len(t.rows)) if filled else None
    if table is None:
        raise ImportFailed(msg("mapping-no-rows"), reason="import-nothing-read")
    grid = grid_of(table)
    first, last = detect_header(grid)
    if profile and profile.header_first:
        first, last = profile.header_first, profile.header_last or profile.header_first
    heads = [cells for n, cells in grid if first <= n <= last]
    headers = join_header(heads)
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):  # a repeated header ("Ghi chú" twice) is told apart by its rank: "Ghi chú (2)"
        if h:
            seen[fold(h)] = seen.get(fold(h), 0) + 1
            if seen[fold(h)] > 1:
                headers[i] = f"{h} ({seen[fold(h)]})"
    if len(headers) > MAX_COLUMNS:
        raise ImportFailed(msg("mapping-too-many-columns", limit=MAX_COLUMNS), reason="import-too-large")
    return Sheet(table, first, last, headers, [(n, cells) for n, cells in grid if n > last])


def read_file(path: Path, limits: ImportLimits) -> list[Table]:
    """The file's tables through the existing bounded readers (XLSX, else CSV)."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return read_csv(path, limits.file_bytes, limits)
    return read_xlsx(path, limits.file_bytes, limits)


# --- suggestions -------------------------------------------------------------------------------------------------


def _tokens(text: str) -> set[str]:
    return set(fold(text).split())


def similarity(header: str, names: Iterable[str]) -> float:
    """How well a header (or one of its parts) names a field: the mean of the share of the header's words the name
    holds and the words' overlap (Jaccard), folded, best over the field's names, for the whole header and for its
    lowest part."""
    best = 0.0
    parts = [header, header.split(": ")[-1]]  # the whole, and its lowest part (the upper ones name a group)
    for part in parts:
        a = _tokens(part)
        if not a:
            continue
        for name in names:
            b = _tokens(name)
            if not b:
                continue
            common = len(a & b)
            best = max(best, (common / len(a) + common / len(a | b)) / 2)
    return best


def _names(col: Column, mm: Metamodel, kind: str) -> list[str]:
    names = [col.label.vi, col.label.en, col.key.replace("_", " ")]
    k = mm.kinds[kind]
    if col.key == "name_vi":  # "Tên hệ thống": the kind's own name in the kind's words
        names += [f"Tên {k.label.vi}", f"{k.label.en} name"]
    if col.key == "code":
        names += [f"Mã {k.label.vi}", f"{k.label.en} code"]
    return names


def value_labels(col: Column, mm: Metamodel, kind: str) -> dict[str, set[str]]:
    """Folded value, Vietnamese and English label of each allowed value of an enumeration field -> its values."""
    spec = mm.kinds[kind].attribute(col.key)
    out: dict[str, set[str]] = {}
    for v in col.values:
        names = {v, v.replace("_", " ")}
        if spec is not None:
            names |= {spec.value_label(v, "vi"), spec.value_label(v, "en")}
        for n in names:
            out.setdefault(fold(n), set()).add(v)
    return out


def _is_mark(v: Any) -> bool:
    return v is True or (not _empty(v) and fold(str(v)) in MARKS) or (isinstance(v, (int, float)) and v == 1)


def suggest(sheet: Sheet, mm: Metamodel, kind: str, profile: Profile | None = None) -> list[list[str]]:
    """A target for each column ([] to leave it out, [field] or [field, value] for a mark column): the profile's when
    it names the header, else the best-scoring field not taken (header similarity plus the share of the column's
    values that are labels of the field's values), else nothing."""
    cols = list(fields_of(mm, kind))
    samples = [
        [cells[i] for _, cells in sheet.rows[:50] if i < len(cells) and not _empty(cells[i])]
        for i in range(len(sheet.headers))
    ]
    out: list[list[str]] = [[] for _ in sheet.headers]
    taken: set[str] = set()
    known = profile.columns if profile else {}
    for i, h in enumerate(sheet.headers):
        if h and fold(h) in known:
            out[i] = list(known[fold(h)])
            if len(out[i]) == 1:
                taken.add(out[i][0])
    if profile is not None:
        return out
    scored: list[tuple[float, int, str]] = []
    for i, h in enumerate(sheet.headers):
        if not h or out[i]:
            continue
        parts = h.split(": ")
        if len(parts) > 1 and samples[i] and all(_is_mark(v) for v in samples[i]):  # a mark column
            for c in cols:
                if c.type == "enum":
                    found = value_labels(c, mm, kind).get(fold(parts[-1]), set())
                    if len(found) == 1:
                        out[i] = [c.key, next(iter(found))]
                        break
            if out[i]:
                continue
        for c in cols:
            score = similarity(h, _names(c, mm, kind))
            if c.type == "enum" and samples[i]:
                labels = value_labels(c, mm, kind)
                score += sum(1 for v in samples[i] if fold(str(v)) in labels) / len(samples[i])
            if score >= SUGGEST_AT:
                scored.append((score, i, c.key))
    for _score, i, key in sorted(scored, key=lambda s: (-s[0], s[1])):
        if not out[i] and key not in taken:
            out[i] = [key]
            taken.add(key)
    return out


# --- organisations by name ---------------------------------------------------------------------------------------


class Orgs:
    """Organisations by folded name (Vietnamese, English, short name): an exact name first, else the current
    organisations whose name starts with what the file says ("Sở Tài chính" -> Sở Tài chính TP.HCM)."""

    def __init__(self, store: CatalogStore, today: dt.date | None = None):
        today = today or dt.date.today()
        self.names: dict[str, set[str]] = {}
        self.current: list[tuple[str, str]] = []  # (folded name, ref)
        self.label: dict[str, str] = {}
        self.names_of: dict[str, Any] = {}  # ref -> its name (a LocalText: either language)
        self.current_refs: set[str] = set()
        for e in store.iter_entities(kind=ORG_KIND):
            self.label[e.ref] = e.name.vi or e.ref
            self.names_of[e.ref] = e.name
            names = {e.name.vi, e.name.en, str(e.attributes.get("short_name") or "")}
            for n in names:
                if n.strip():
                    self.names.setdefault(fold(n), set()).add(e.ref)
            if e.valid_to is None or e.valid_to > today:
                self.current += [(fold(n), e.ref) for n in names if n.strip()]
                self.current_refs.add(e.ref)

    def find(self, said: str) -> list[str]:
        key = fold(said)
        if not key:
            return []
        if key in self.names:
            return sorted(self.names[key])
        return sorted({ref for name, ref in self.current if name.startswith(key + " ")})


# --- applying a profile ------------------------------------------------------------------------------------------


@dataclass
class Choice:
    """A label or name that fits several values: the field, what the file says, the candidates (value, label)."""

    field: str
    said: str
    candidates: list[tuple[str, str]]
    rows: list[int] = dataclass_field(default_factory=list)


@dataclass
class Mapped:
    """What a profile makes of a sheet: the table in the catalog's layout, the refused cells, the columns left out,
    the ambiguous values, the first :data:`PREVIEW_ROWS` rows' values as the preview shows them, and how many rows
    there are."""

    table: Table
    rejected: list[Rejection]
    left_out: list[str]
    choices: dict[tuple[str, str], Choice]
    preview: list[tuple[int, dict[str, Any]]]
    rows: int = 0


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def _cell_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return " ".join(nfc(str(v)).split())


def apply(sheet: Sheet, profile: Profile, mm: Metamodel, orgs: Orgs, source: str) -> Mapped:
    """The sheet's rows as the profile reads them: a table in the catalog's layout (``code``, then the mapped
    fields) whose rows keep the file's row numbers, and every cell it cannot map, naming row, column and reason."""
    kind = profile.kind
    cols = {c.key: c for c in fields_of(mm, kind)}
    targets = suggest(sheet, mm, kind, profile)
    rejected: list[Rejection] = []
    left_out = [h for h, t in zip(sheet.headers, targets, strict=True) if h and not t]
    fields = sorted({t[0] for t in targets if t}, key=list(cols).index)
    make_code = "code" not in fields
    header = (["code"] if make_code else []) + fields
    where = sheet.table.where
    choices: dict[tuple[str, str], Choice] = {}
    out_rows: list[tuple[int, tuple[Any, ...]]] = []
    preview: list[tuple[int, dict[str, Any]]] = []
    count = 0
    labels = {k: value_labels(c, mm, kind) for k, c in cols.items() if c.type == "enum"}

    def refuse(rownum: int, column: str, reason: Message) -> None:
        at = msg("at-column", where=msg("at-row", where=where, row=rownum), column=clip(column, 80))
        rejected.append(Rejection(at, "", reason))  # the location names the column as the file heads it

    for rownum, cells in sheet.rows:
        if all(_empty(v) for v in cells):
            continue
        values: dict[str, Any] = {}
        ok = True
        for i, target in enumerate(targets):
            if not target or i >= len(cells) or _empty(cells[i]):
                continue
            col, raw, head = cols[target[0]], cells[i], sheet.headers[i]
            if len(target) == 2:  # a mark column
                if not _is_mark(raw):
                    refuse(rownum, head, msg("mapping-mark-expected", value=clip(_cell_text(raw))))
                    ok = False
                elif values.get(col.key) not in (None, target[1]):
                    refuse(rownum, head, msg("mapping-marks-conflict", field=term(col.key, col.label)))
                    ok = False
                else:
                    values[col.key] = target[1]
                continue
            said = _cell_text(raw) if isinstance(raw, str) or col.type in ("enum", "ref") else raw
            chosen = profile.values.get(col.key, {}).get(fold(str(said)))
            if chosen is not None:
                values[col.key] = chosen
            elif col.type == "enum":
                found = sorted(labels[col.key].get(fold(said), set()))
                if len(found) == 1:
                    values[col.key] = found[0]
                else:
                    ok = False
                    if found:
                        spec = mm.kinds[kind].attribute(col.key)
                        c = choices.setdefault(
                            (col.key, fold(said)),
                            Choice(col.key, said, [(v, spec.value_label(v) if spec else v) for v in found]),
                        )
                        c.rows.append(rownum)
                        refuse(
                            rownum,
                            head,
                            msg(
                                "mapping-value-ambiguous",
                                value=clip(said),
                                candidates=[term(v, _value_label(mm, kind, col.key, v)) for v in found],
                            ),
                        )
                    else:
                        refuse(
                            rownum,
                            head,
                            msg(
                                "mapping-value-unknown",
                                value=clip(said),
                                field=term(col.key, col.label),
                                allowed=[term(v, _value_label(mm, kind, col.key, v)) for v in col.values],
                            ),
                        )
            elif col.type == "ref" and (col.key == "owner" or ORG_KIND in _ref_kinds(mm, kind, col.key)):
                if (m := REF_RE.fullmatch(said)) is not None and m.group(1) == ORG_KIND:
                    values[col.key] = said
                    continue
                found = orgs.find(said)
                if len(found) == 1:
                    values[col.key] = found[0]
                else:
                    ok = False
                    if found:
                        c = choices.setdefault(
                            (col.key, fold(said)),
                            Choice(col.key, said, [(r, f"{orgs.label.get(r, r)} ({r})") for r in found]),
                        )
                        c.rows.append(rownum)
                        refuse(
                            rownum,
                            head,
                            msg(
                                "mapping-org-ambiguous",
                                name=clip(said),
                                count=len(found),
                                candidates=[named(r, orgs.names_of.get(r), with_ref=False) for r in found],
                            ),
                        )
                    else:
                        refuse(rownum, head, msg("mapping-org-unknown", name=clip(said)))
            else:
                values[col.key] = raw
        if make_code:
            name = str(values.get("name_vi") or values.get("name_en") or "").strip()
            code = slug(f"{profile.code_prefix} {name}")[:128].strip("-._")
            if not code:
                refuse(rownum, "code", msg("mapping-no-name-for-code"))
                ok = False
            values["code"] = code
        if len(preview) < PREVIEW_ROWS:
            preview.append((rownum, dict(values)))
        count += 1
        if ok:
            out_rows.append((rownum, tuple(values.get(k) for k in header)))
    table = Table(where, kind, tuple(header), out_rows)
    return Mapped(table, rejected, left_out, choices, preview, count)


def _value_label(mm: Metamodel, kind: str, name: str, value: str) -> Any:
    from catalog.metamodel import VALUE_LABELS

    return VALUE_LABELS.get(value)


def _ref_kinds(mm: Metamodel, kind: str, name: str) -> tuple[str, ...]:
    a = mm.kinds[kind].attribute(name)
    return a.ref_kinds if a else ()


class MappedImporter:
    """An importer that reads a file through a profile; run by the existing import path
    (``run_import(..., importer=MappedImporter(...))``, ``plan_import`` likewise)."""

    name = "mapping"
    suffixes = (".xlsx", ".xlsm", *CSV_SUFFIXES)
    description = "a spreadsheet in its own layout, read through a saved mapping profile"
    holds = ("xlsx", "text")

    def __init__(self, profile: Profile, orgs: Orgs, metamodel: Metamodel, limits: ImportLimits | None = None):
        self.profile, self.orgs, self.metamodel = profile, orgs, metamodel
        self.limits = limits

    def read(self, path: Path, max_bytes: int) -> list[Table]:
        from dataclasses import replace

        return read_file(path, replace(self.limits or ImportLimits(), file_bytes=max_bytes))

    def transform(self, document: list[Table], source: str) -> Transformed:
        sheet = read_sheet(document, self.profile)
        mapped = apply(sheet, self.profile, self.metamodel, self.orgs, source)
        t = transform_tables([mapped.table], source, self.metamodel) if mapped.table.rows else Transformed()
        t.rejected = mapped.rejected + t.rejected
        t.unmapped += [
            Rejection(sheet.table.where, "", msg("mapping-column-left-out", column=clip(h, 80)))
            for h in mapped.left_out
        ]
        t.source_types = {f"{sheet.table.name}": len(sheet.rows)}
        return t


def importer_for(
    store: CatalogStore, principal: Principal, name: str, limits: ImportLimits | None = None
) -> MappedImporter:
    """The importer of the saved profile ``name`` (NotFound when there is none this person may use)."""
    profile = Profiles(store, principal).get(name)
    return MappedImporter(profile, Orgs(store), store.metamodel, limits)


__all__ = [
    "COLLECTION",
    "Choice",
    "MappedImporter",
    "Mapped",
    "Orgs",
    "Profile",
    "Profiles",
    "Sheet",
    "apply",
    "detect_header",
    "fields_of",
    "importer_for",
    "join_header",
    "read_file",
    "read_sheet",
    "similarity",
    "suggest",
]
