"""Archi's own formats: ``.archimate`` models (plain XML or zipped with model.xml) and Archi CSV triplets
(``X-elements.csv``, ``X-relations.csv``, ``X-properties.csv``). Both are read into the neutral ArchiMate model of
:mod:`importers.archimate` and mapped by the same configurable mapping (see docs/archimate.md)."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

from catalog.i18n import msg
from catalog.metamodel import DEFAULT, Metamodel
from importers.archimate import (
    DEFAULT_NODE_SIZE,
    RELATIONSHIP_TYPES,
    VIEWPOINTS_31,
    XSI,
    AModel,
    ArchimateTransformed,
    Concept,
    Mapping,
    load_mapping,
    new_style,
    new_view,
    new_view_connection,
    new_view_node,
    normalise_type,
    parse_xml,
    transform_model,
    view_id,
    view_not_carried,
)
from importers.base import ImportFailed, Rejection, clip, decode_text, sniff_delimiter

ARCHI_NS = "http://www.archimatetool.com/archimate"
KNOWN_MAJOR = 5  # the newest Archi model version this importer was written against
DIAGRAM_TYPES = ("ArchimateDiagramModel", "SketchModel", "CanvasModel", "DiagramModelReference")
# Archi's IAccessRelationship: 0 write (the default, not written), 1 read, 2 access, 3 read/write
ARCHI_ACCESS = {None: "Write", "0": "Write", "1": "Read", "2": "Access", "3": "ReadWrite"}


# ---------------------------------------------------------------------------------------------------------------
# .archimate


def read_archi_bytes(path: Path, max_bytes: int) -> bytes:
    """The model XML of an .archimate file: the file itself, or model.xml inside a zip (size-checked before
    inflating, so a zip bomb is refused)."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "model.xml" not in names:
                    raise ImportFailed(
                        msg("archi-zip-no-model", file=path.name, holds=clip(", ".join(sorted(names)[:10])) or "-")
                    )
                info = z.getinfo("model.xml")
                if info.file_size > max_bytes:
                    raise ImportFailed(
                        msg("archi-model-too-large", file=path.name, size=info.file_size, limit=max_bytes),
                        reason="import-too-large",
                    )
                with z.open(info) as m:
                    data = m.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise ImportFailed(
                        msg("archi-model-over", file=path.name, limit=max_bytes), reason="import-too-large"
                    )
                return data
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
            raise ImportFailed(msg("import-zip-damaged", file=path.name, error=clip(str(exc)))) from None
    data = path.read_bytes()[: max_bytes + 1]
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise ImportFailed(msg("archi-not-xml-or-zip", file=path.name))
    return data


def read_archi(data: bytes, name: str) -> AModel:
    root = parse_xml(data, name)
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    local = root.tag.split("}", 1)[-1]
    if local != "model" or ns != ARCHI_NS:
        raise ImportFailed(msg("archi-not-model", file=name, root=clip(local), namespace=clip(ns), expected=ARCHI_NS))
    version = root.get("version", "")
    model = AModel(format=f"archi {version or '(no version)'}")
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = 0
    if major > KNOWN_MAJOR:
        model.notes.append(
            Rejection(name, "version", msg("archi-version-newer", version=clip(version), known=KNOWN_MAJOR))
        )
    xsi_type = f"{{{XSI}}}type"
    profiles = {p.get("id"): p.get("name", "") for p in root if p.tag in ("profile", f"{{{ARCHI_NS}}}profile")}
    model.props = [(p.get("key", ""), p.get("value", "")) for p in root if p.tag == "property"]
    model.id = (root.get("id") or "").strip()
    model.names = [("", root.get("name").strip())] if (root.get("name") or "").strip() else []
    model.docs = [("", (d.text or "").strip()) for d in root if d.tag == "purpose" and (d.text or "").strip()]
    known = {"folder", "property", "profile", "purpose", "documentation", "metadata", "features"}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in known:
            model.notes.append(
                Rejection(msg("at-line", file=name, line=child.sourceline), child.tag, msg("archi-unknown-element"))
            )

    diagram_names = {
        (e.get("id") or ""): (e.get("name") or "")
        for e in root.iter("element")
        if normalise_type(e.get(xsi_type, "")) in DIAGRAM_TYPES
    }

    def walk(folder, path: list[str]) -> None:
        here = path + [folder.get("name", "").replace("/", "-")]
        for node in folder:
            if node.tag == "folder":
                walk(node, here)
            elif node.tag == "element":
                raw = node.get(xsi_type, "")
                t = normalise_type(raw)
                if t == "Junction":  # Archi's one junction type, and its type attribute; the exchange format's two
                    t = "OrJunction" if node.get("type") == "or" else "AndJunction"
                if t in DIAGRAM_TYPES:
                    model.views += 1
                    if t == "ArchimateDiagramModel":
                        model.view_xml.append(_view_from_archi(node, diagram_names, name, model.notes))
                    else:
                        model.notes.append(
                            Rejection(
                                msg("at-line", file=name, line=node.sourceline),
                                "view",
                                msg("archi-view-not-converted", view=clip(node.get("name") or "-"), type=t),
                            )
                        )
                    continue
                docs = [
                    ("", (d.text or "").strip()) for d in node if d.tag == "documentation" and (d.text or "").strip()
                ]
                c = Concept(
                    id=(node.get("id") or "").strip(),
                    type=t,
                    where=msg("at-line-only", line=node.sourceline),
                    names=[("", node.get("name").strip())] if (node.get("name") or "").strip() else [],
                    docs=docs,
                    props=[(p.get("key", ""), p.get("value", "")) for p in node if p.tag == "property"],
                    folder="/".join(x for x in here if x) or None,
                    specializations=[profiles[p] for p in (node.get("profiles") or "").split() if profiles.get(p)],
                )
                if t in RELATIONSHIP_TYPES:
                    c.source, c.target = node.get("source"), node.get("target")
                    c.access = ARCHI_ACCESS.get(node.get("accessType"), "Access") if t == "Access" else None
                    c.folder = None
                    model.relationships.append(c)
                else:
                    model.elements.append(c)

    for folder in root:
        if folder.tag == "folder":
            walk(folder, [])
    return model


# Archi diagram attributes the 3.1 view carries (the others are styles it does not map, reported by name)
_ARCHI_CARRIED = {"id", "name", "archimateElement", "archimateRelationship", "relationship", "targetConnections",
                  "model", "fillColor", "lineColor", "lineWidth", "alpha", "source", "target", "font", "fontColor",
                  f"{{{XSI}}}type"}  # fmt: skip


def _rgb(value: str | None, alpha: str | None = None):
    v = (value or "").strip()
    if len(v) != 7 or not v.startswith("#"):
        return None
    try:
        r, g, b = int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16)
    except ValueError:
        return None
    a = None
    if alpha is not None:
        try:
            a = max(0, min(100, round(int(alpha) * 100 / 255)))
        except ValueError:
            a = None
    return (r, g, b, a)


def _archi_style(node, dropped: set[str]):
    for a in node.attrib:
        if a not in _ARCHI_CARRIED:
            dropped.add(a.split("}", 1)[-1])
    width = node.get("lineWidth")
    for a in ("fillColor", "lineColor"):  # a value that is not a colour is reported like a style not carried
        if node.get(a) is not None and _rgb(node.get(a)) is None:
            dropped.add(a)
    if width is not None and not width.isdigit():
        dropped.add("lineWidth")
    return new_style(
        _rgb(node.get("fillColor"), node.get("alpha")),
        _rgb(node.get("lineColor")),
        int(width) if width and width.isdigit() else None,
        _archi_font(node.get("font"), node.get("fontColor"), dropped),
    )


def _archi_font(value: str | None, color: str | None, dropped: set[str]) -> dict | None:
    """Archi's font (SWT's ``1|name|height|style bits|...``: 1 bold, 2 italic) and font colour as a 3.1 font."""
    font: dict = {}
    parts = (value or "").split("|")
    if value and len(parts) >= 4:
        try:
            size, bits = float(parts[2]), int(parts[3])
            if not 0 < size < 10_000:
                raise ValueError(size)
        except ValueError:
            dropped.add("font")
        else:
            words = [w for bit, w in ((1, "bold"), (2, "italic")) if bits & bit]
            font = {"name": parts[1].strip(), "size": size, "style": words or ["plain"]}
    elif value:
        dropped.add("font")
    rgb = _rgb(color)
    if rgb:
        font["color"] = rgb[:3]
    elif color:
        dropped.add("fontColor")
    return font or None


def _view_from_archi(diagram, diagram_names: dict[str, str], file: str, notes: list):
    """An Archi ``ArchimateDiagramModel`` as an ArchiMate 3.1 view: its children (bounds relative to the parent,
    made absolute) as Element nodes, groups as Containers, notes and diagram references as Labels; its
    sourceConnections as Relationship connections (or Lines), bendpoints made absolute as Archi's own exchange
    export does. Other children and the styles 3.1 does not carry are reported by name."""
    xsi_type = f"{{{XSI}}}type"
    dropped: set[str] = set()
    vp = (diagram.get("viewpoint") or "").strip()
    viewpoint = " ".join(w.capitalize() if w != "and" else w for w in vp.split("_")) if vp else None
    if viewpoint and viewpoint not in VIEWPOINTS_31:
        dropped.add(f"viewpoint={vp}")
    docs = [("", (d.text or "").strip()) for d in diagram if d.tag == "documentation" and (d.text or "").strip()]
    name = (diagram.get("name") or "").strip()
    view = new_view(view_id(diagram.get("id", "")), [("", name)] if name else [], docs, viewpoint)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    connections: list[Any] = []  # the sourceConnection elements of every diagram object, in document order

    def child(src, parent, ox: int, oy: int) -> None:
        t = normalise_type(src.get(xsi_type, ""))
        b = src.find("bounds")
        x = ox + _num(b.get("x") if b is not None else None)
        y = oy + _num(b.get("y") if b is not None else None)
        w, h = (_num(b.get("width"), -1), _num(b.get("height"), -1)) if b is not None else (-1, -1)
        w, h = (w if w > 0 else DEFAULT_NODE_SIZE[0]), (h if h > 0 else DEFAULT_NODE_SIZE[1])
        ident = view_id(src.get("id", ""))
        ndocs = [("", (d.text or "").strip()) for d in src if d.tag == "documentation" and (d.text or "").strip()]
        if t == "DiagramObject" or src.get("archimateElement"):
            n = new_view_node(parent, ident, (src.get("archimateElement") or "").strip() or None, (x, y, w, h),
                              docs=ndocs, style=_archi_style(src, dropped))  # fmt: skip
        elif t == "Group":
            label = (src.get("name") or "").strip()
            n = new_view_node(parent, ident, None, (x, y, w, h), container=True, labels=[("", label)] if label else [],
                              docs=ndocs, style=_archi_style(src, dropped))  # fmt: skip
        elif t in ("Note", "DiagramModelReference"):
            content = src.find("content")
            text = (content.text if content is not None else src.get("content")) or ""
            if t == "DiagramModelReference":
                text = diagram_names.get(src.get("model") or "", "") or text
            text = text.strip()
            n = new_view_node(parent, ident, None, (x, y, w, h), labels=[("", text)] if text else [],
                              style=_archi_style(src, dropped))  # fmt: skip
        else:
            dropped.add(f"{t} {src.get('name') or src.get('id') or ''}".strip())
            return
        boxes[src.get("id", "")] = (max(0, x), max(0, y), w, h)
        connections.extend(c for c in src if c.tag == "sourceConnection")
        for k in src:
            if k.tag == "child":
                child(k, n, x, y)

    for src in diagram:
        if src.tag == "child":
            child(src, view, 0, 0)
    known = set(boxes) | {c.get("id", "") for c in connections}
    for c in connections:
        s, tg = c.get("source", ""), c.get("target", "")
        if s not in known or tg not in known:
            dropped.add(f"connection {c.get('id', '')}")
            continue
        bends = [b for b in c if b.tag == "bendpoint"]
        points = []
        sb, tb = boxes.get(s), boxes.get(tg)
        if sb and tb:  # Archi keeps offsets from both ends' centres; the exchange format absolute points
            sx, sy, tx, ty = sb[0] + sb[2] / 2, sb[1] + sb[3] / 2, tb[0] + tb[2] / 2, tb[1] + tb[3] / 2
            for i, bp in enumerate(bends):
                wgt = (i + 1) / (len(bends) + 1)
                x1, y1 = sx + _num(bp.get("startX")), sy + _num(bp.get("startY"))
                x2, y2 = tx + _num(bp.get("endX")), ty + _num(bp.get("endY"))
                points.append((round((1 - wgt) * x1 + wgt * x2), round((1 - wgt) * y1 + wgt * y2)))
        rel = (c.get("archimateRelationship") or c.get("relationship") or "").strip() or None
        docs = [("", (d.text or "").strip()) for d in c if d.tag == "documentation" and (d.text or "").strip()]
        label = (c.get("name") or "").strip() if rel is None else ""
        new_view_connection(view, view_id(c.get("id", "")), rel, view_id(s), view_id(tg), points,
                            labels=[("", label)] if label else [], docs=docs,
                            style=_archi_style(c, dropped))  # fmt: skip
    if dropped:
        notes.append(view_not_carried(file, diagram.sourceline, name or view.get("identifier"), dropped))
    return view


def _num(v: str | None, default: int = 0) -> int:
    try:
        return int(float(v)) if v is not None else default
    except (ValueError, OverflowError):  # not a number, NaN, infinity
        return default


class ArchiImporter:
    name = "archi"
    suffixes = (".archimate",)
    description = "Archi model (.archimate, plain XML or zipped)"

    def __init__(self, mapping: Mapping | None = None, metamodel: Metamodel | None = None):
        self.mapping, self.metamodel = mapping, metamodel

    def claims(self, path: Path, head: bytes = b"") -> bool:
        return path.name.lower().endswith(".archimate")

    def read(self, path: Path, max_bytes: int) -> AModel:
        return read_archi(read_archi_bytes(path, max_bytes), path.name)

    def transform(self, document: AModel, source: str) -> ArchimateTransformed:
        return transform_model(
            document, source, self.mapping or load_mapping(mm=self.metamodel or DEFAULT), self.metamodel
        )


# ---------------------------------------------------------------------------------------------------------------
# Archi CSV


CSV_SUFFIXES = ("-elements.csv", "-relations.csv", "-properties.csv")
CSV_HEADERS = {
    "elements": ("id", "type", "name"),
    "relations": ("id", "type", "name", "source", "target"),
    "properties": ("id", "key", "value"),
}


def csv_set(path: Path) -> dict[str, Path]:
    """The files of the set ``path`` belongs to: {"elements": ..., "relations": ..., "properties": ...}."""
    low = path.name.lower()
    for suffix in CSV_SUFFIXES:
        if low.endswith(suffix):
            prefix = path.name[: len(path.name) - len(suffix)]
            out = {}
            for part in ("elements", "relations", "properties"):
                p = path.with_name(f"{prefix}-{part}.csv")
                if p.is_file():
                    out[part] = p
            return out
    raise ImportFailed(msg("archi-csv-name", file=path.name))


def _records(path: Path, max_bytes: int) -> list[tuple[int, list[str]]]:
    """(line, fields) for every record of an Archi CSV file: UTF-8 with or without BOM, ',' ';' or tab, '#'
    comment lines between records, quoted fields spanning lines, stray spaces around fields."""
    raw = path.read_bytes()
    if len(raw) > max_bytes:
        raise ImportFailed(msg("import-over-limit", file=path.name, limit=max_bytes), reason="import-too-large")
    text = decode_text(path.name, raw)
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    origin: list[int] = []
    in_quotes = False
    for n, line in enumerate(lines, 1):
        if not in_quotes and (line.startswith("#") or not line.strip()):
            continue
        kept.append(line)
        origin.append(n)
        if line.count('"') % 2:
            in_quotes = not in_quotes
    if not kept:
        raise ImportFailed(msg("archi-csv-empty", file=path.name), reason="import-empty")
    if in_quotes:
        raise ImportFailed(msg("archi-csv-open-quote", file=path.name, line=origin[-1]))
    header = kept[0]
    delimiter = sniff_delimiter(header)
    reader = csv.reader(io.StringIO("".join(kept)), delimiter=delimiter, quotechar='"', strict=False)
    out = []
    start = 0
    try:
        for fields in reader:
            out.append((origin[min(start, len(origin) - 1)], [f.strip() for f in fields]))
            start = reader.line_num
    except csv.Error as exc:
        raise ImportFailed(
            msg(
                "import-csv-invalid",
                where=msg("at-line", file=path.name, line=origin[min(start, len(origin) - 1)]),
                error=clip(str(exc)),
            )
        ) from None
    return out


def _cell(cols: dict[str, int], row: list[str], c: str) -> str:
    """The value of column `c` in `row` ("" when the file lacks the column or the row is short)."""
    return row[cols[c]] if c in cols and cols[c] < len(row) else ""


def _table(
    path: Path, part: str, max_bytes: int, problems: list[Rejection]
) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """Header columns and the data rows; a row shorter than the header is reported in ``problems`` and left out."""
    records = _records(path, max_bytes)
    header = [h.strip().lower() for h in records[0][1]]
    missing = [h for h in CSV_HEADERS[part] if h not in header]
    if missing:
        raise ImportFailed(
            msg(
                "archi-csv-header",
                where=msg("at-line", file=path.name, line=records[0][0]),
                missing=", ".join(m.capitalize() for m in missing),
                part=part,
                columns=", ".join(h.capitalize() for h in CSV_HEADERS[part]),
            )
        )
    rows = []
    for line, row in records[1:]:
        if len(row) < len(header):
            problems.append(
                Rejection(
                    msg("at-line", file=path.name, line=line),
                    "",
                    msg("archi-csv-short-row", fields=len(row), header=len(header)),
                )
            )
        else:
            rows.append((line, row))
    return {h: i for i, h in enumerate(header)}, rows


def _derived_id(*parts: str) -> str:
    return "csv-" + hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def read_archi_csv(path: Path, max_bytes: int) -> AModel:
    files = csv_set(path)
    model = AModel(format="archi csv", where_names_file=True)
    if "elements" not in files:
        model.notes.append(
            Rejection(path.name, "", msg("archi-csv-no-elements", file=path.name.rsplit("-", 1)[0] + "-elements.csv"))
        )
    model_ids: set[str] = set()
    if "elements" in files:
        f = files["elements"]
        cols, rows = _table(f, "elements", max_bytes, model.problems)
        for line, row in rows:
            get = functools.partial(_cell, cols, row)
            t = normalise_type(get("type"))
            ident = get("id")
            if t == "ArchimateModel":
                model_ids.add(ident)
                model.id = model.id or ident
                if get("name") and not model.names:
                    model.names = [("", get("name"))]
                if get("documentation") and not model.docs:
                    model.docs = [("", get("documentation"))]
                continue
            if not ident:
                ident = _derived_id(t, get("name"))
                model.notes.append(
                    Rejection(msg("at-line", file=f.name, line=line), "ID", msg("archi-csv-derived-id", id=ident))
                )
            c = Concept(
                id=ident,
                type=t,
                where=msg("at-line", file=f.name, line=line),
                names=[("", get("name"))] if get("name") else [],
                docs=[("", get("documentation"))] if get("documentation") else [],
                specializations=[get("specialization")] if get("specialization") else [],
            )
            model.elements.append(c)
    if "relations" in files:
        f = files["relations"]
        cols, rows = _table(f, "relations", max_bytes, model.problems)
        for line, row in rows:
            get = functools.partial(_cell, cols, row)
            t = normalise_type(get("type"))
            ident = get("id") or _derived_id(t, get("source"), get("target"), get("name"))
            c = Concept(
                id=ident,
                type=t,
                where=msg("at-line", file=f.name, line=line),
                names=[("", get("name"))] if get("name") else [],
                docs=[("", get("documentation"))] if get("documentation") else [],
                specializations=[get("specialization")] if get("specialization") else [],
                source=get("source"),
                target=get("target"),
                access="Write" if t == "Access" else None,
            )
            model.relationships.append(c)
    if "properties" in files:
        f = files["properties"]
        cols, rows = _table(f, "properties", max_bytes, model.problems)
        by_id = {c.id: c for c in model.elements + model.relationships}
        for line, row in rows:
            get = functools.partial(_cell, cols, row)
            ident, key, value = get("id"), get("key"), get("value")
            if not key:
                model.notes.append(Rejection(msg("at-line", file=f.name, line=line), "Key", msg("archi-csv-blank-key")))
            elif ident in model_ids:
                model.props.append((key, value))
            elif ident in by_id:
                by_id[ident].props.append((key, value))
            else:
                model.problems.append(
                    Rejection(
                        msg("at-line", file=f.name, line=line), "ID", msg("archi-csv-unknown-id", id=ident or "-")
                    )
                )
    return model


class ArchiCsvImporter:
    name = "archi-csv"
    suffixes = ("-elements.csv",)
    description = "Archi CSV set (X-elements.csv with X-relations.csv and X-properties.csv)"

    def __init__(self, mapping: Mapping | None = None, metamodel: Metamodel | None = None):
        self.mapping, self.metamodel = mapping, metamodel

    def claims(self, path: Path, head: bytes = b"") -> bool:
        """The elements file of a set; the relations and properties files next to it are read with it."""
        return path.name.lower().endswith("-elements.csv")

    def read(self, path: Path, max_bytes: int) -> AModel:
        return read_archi_csv(path, max_bytes)

    def transform(self, document: AModel, source: str) -> ArchimateTransformed:
        return transform_model(
            document, source, self.mapping or load_mapping(mm=self.metamodel or DEFAULT), self.metamodel
        )


def importers() -> list:
    return [ArchiImporter(), ArchiCsvImporter()]
