"""ArchiMate Model Exchange File Format: import 2.1 and 3.x, export 3.1 (see docs/archimate.md).

Reading is hardened: no DTDs, no entities, no network, no huge trees; a hostile file is refused with a clear
ImportFailed. Every format that speaks ArchiMate (the exchange format here, Archi's ``.archimate`` files and Archi
CSV in :mod:`importers.archi`) is first read into one small neutral model (:class:`AModel`), then turned into
catalog entities and relationships by :func:`transform_model` through the configurable mapping in
``archimate_mapping.yaml``. Every element and relationship of the file ends up exactly once in ``mapped``,
``unmapped`` (a type or an endpoint the mapping does not cover: reported, not refused) or ``rejected`` (bad data).
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.errors import ValidationFailed
from catalog.i18n import Message, msg, msg_plural
from catalog.metamodel import DEFAULT, Metamodel
from catalog.model import Entity, Relationship, parse_entity, parse_relationship, validate_entity, validate_relationship
from catalog.store.base import CatalogStore
from importers.base import ImportFailed, Rejection, Transformed, clip, rejections_from

NS21 = "http://www.opengroup.org/xsd/archimate"
NS3 = "http://www.opengroup.org/xsd/archimate/3.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC = "http://purl.org/dc/elements/1.1/"

# the element types of ArchiMate 3.1 (archimate3_Model.xsd), what a preserved element may be exported as
ELEMENT_TYPES = frozenset(
    """BusinessActor BusinessRole BusinessCollaboration BusinessInterface BusinessProcess BusinessFunction
    BusinessInteraction BusinessEvent BusinessService BusinessObject Contract Representation Product
    ApplicationComponent ApplicationCollaboration ApplicationInterface ApplicationFunction ApplicationInteraction
    ApplicationProcess ApplicationEvent ApplicationService DataObject Node Device SystemSoftware
    TechnologyCollaboration TechnologyInterface Path CommunicationNetwork TechnologyFunction TechnologyProcess
    TechnologyInteraction TechnologyEvent TechnologyService Artifact Equipment Facility DistributionNetwork Material
    Stakeholder Driver Assessment Goal Outcome Principle Requirement Constraint Meaning Value Resource Capability
    CourseOfAction ValueStream WorkPackage Deliverable ImplementationEvent Plateau Gap Grouping Location AndJunction
    OrJunction""".split()
)
RELATIONSHIP_TYPES = (
    "Composition",
    "Aggregation",
    "Assignment",
    "Realization",
    "Serving",
    "Access",
    "Influence",
    "Triggering",
    "Flow",
    "Specialization",
    "Association",
)
# Archi's relationships.xml letters
LETTERS = {
    "a": "Access",
    "c": "Composition",
    "f": "Flow",
    "g": "Aggregation",
    "i": "Assignment",
    "n": "Influence",
    "o": "Association",
    "r": "Realization",
    "s": "Specialization",
    "t": "Triggering",
    "v": "Serving",
}
ACCESS_TYPES = ("Access", "Read", "Write", "ReadWrite")
_RENAMES = {
    "UsedBy": "Serving",
    "Realisation": "Realization",
    "Specialisation": "Specialization",
    "InfrastructureService": "TechnologyService",
    "InfrastructureInterface": "TechnologyInterface",
    "InfrastructureFunction": "TechnologyFunction",
    "Network": "CommunicationNetwork",
    "CommunicationPath": "Path",
}
FOLDER_TAG = "folder:"
TYPE_TAG = "archimate:"
SPECIAL_PROPS = ("tags", "owner", "valid_from", "valid_to")
# the key under which a mapped relationship keeps its identifier in the file, in ``source_properties``
# (``archimate:@identifier=<id>``; a preserved one has ``source_id``, an element its code): an export writes it back as
# the relationship's identifier, so a round trip through Archi keeps it
IDENTIFIER_KEY = "@identifier"
PRESERVED = "preserved"  # the kind and relationship type of what no mapping covers (catalog.metamodel)
SOURCE_FORMAT = "archimate"
MODEL_TYPE = "Model"  # source_type of a model's own record
MODEL_CODE_PREFIX = "model-"
# attributes of a preserved element that say where it comes from: never set from a property of the same name
STRUCTURAL = frozenset(("source_format", "source_type", "source_id", "folder", "kept_for_export", "source_properties"))
DEFAULT_MAPPING = Path(__file__).with_name("archimate_mapping.yaml")
# The XSDs and relationships.xml ship inside the package (reference/archimate/README.md: origin, licences), laid
# out as in ../shared/corpora/archimate, so the setting may point at either.
DEFAULT_REFERENCE_DIR = Path(__file__).with_name("reference") / "archimate"
XSD31 = Path("archimatetool-archi/org.opengroup.archimate.xmlexchange/xsd")
XSD21 = Path("archimatetool-OpenGroupXMLExchange-v2.1/org.opengroup.archimate.xmlexchange/xsd")
RELATIONSHIPS_XML = Path("archimatetool-archi/com.archimatetool.model/model/relationships.xml")


def normalise_type(t: str) -> str:
    """An ArchiMate type name in its 3.1 spelling, whatever version or tool wrote it."""
    t = (t or "").strip()
    t = t.split(":", 1)[1] if ":" in t else t
    if t.endswith("Relationship") and len(t) > len("Relationship"):
        t = t[: -len("Relationship")]
    return _RENAMES.get(t, t)


# ---------------------------------------------------------------------------------------------------------------
# The neutral model every ArchiMate-speaking reader produces


@dataclass
class Concept:
    id: str
    type: str  # normalised 3.1 name
    where: str  # "line 12", "row 4"
    names: list[tuple[str, str]] = field(default_factory=list)  # (xml:lang or "", text)
    docs: list[tuple[str, str]] = field(default_factory=list)
    props: list[tuple[str, str]] = field(default_factory=list)  # (key, value)
    folder: str | None = None
    specializations: list[str] = field(default_factory=list)
    source: str | None = None  # relationships only
    target: str | None = None
    access: str | None = None

    def label(self) -> str:
        name = self.names[0][1] if self.names else ""
        return f"{self.type} '{name}'" if name else self.type


@dataclass
class AModel:
    format: str  # "exchange 2.1", "exchange 3.x", "archi 5.0.0", "archi csv"
    id: str = ""  # the model's own identifier, name and documentation
    names: list[tuple[str, str]] = field(default_factory=list)
    docs: list[tuple[str, str]] = field(default_factory=list)
    elements: list[Concept] = field(default_factory=list)
    relationships: list[Concept] = field(default_factory=list)
    props: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Rejection] = field(default_factory=list)  # become rejections (e.g. XSD errors)
    notes: list[Rejection] = field(default_factory=list)  # reported, not a reason to refuse
    views: int = 0
    view_xml: list[Any] = field(default_factory=list)  # 3.x views kept whole (lxml elements)
    folders: dict[str, str] = field(default_factory=dict)  # concept id -> folder path
    where_names_file: bool = False  # Concept.where already names the file (a CSV set spans three files)


@dataclass
class ArchimateTransformed(Transformed):
    """Transformed plus the accounting: every element and relationship is mapped, unmapped or rejected once."""

    format: str = ""
    counts: dict[str, Counter] = field(
        default_factory=lambda: {"elements": Counter(), "relationships": Counter(), "views": Counter()}
    )
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Settings and the mapping


def _setting(name: str) -> str | None:
    try:
        from catalog.settings import get_settings

        return getattr(get_settings(), name, None)
    except Exception:  # an unrelated bad setting must not break reading a file; the env var still works
        return os.environ.get(f"IOC_CATALOG_{name.upper()}")


def reference_dir() -> Path:
    """Where the ArchiMate XSDs and Archi's relationships.xml live (setting ``archimate_reference_dir``)."""
    return Path(_setting("archimate_reference_dir") or DEFAULT_REFERENCE_DIR)


@dataclass(frozen=True)
class ElementMap:
    kind: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    archimate: str
    sources: frozenset[str]
    targets: frozenset[str]
    relation: str
    reverse: bool = False
    access: frozenset[str] | None = None


@dataclass(frozen=True)
class ExportChoice:
    archimate: str
    reverse: bool = False
    access: str | None = None


@dataclass(frozen=True)
class Mapping:
    elements: dict[str, ElementMap]
    export_types: dict[str, str]
    rules: tuple[Rule, ...]
    export_relationships: dict[str, tuple[ExportChoice, ...]]
    relation_property: str
    source: str
    kind_property: str = "ioc_kind"

    def rule_for(self, archimate: str, src_kind: str, tgt_kind: str, access: str | None) -> Rule | None:
        for r in self.rules:
            if (
                r.archimate == archimate
                and src_kind in r.sources
                and tgt_kind in r.targets
                and (r.access is None or (access or "Access") in r.access)
            ):
                return r
        return None

    def covers_relationship(self, archimate: str) -> bool:
        return any(r.archimate == archimate for r in self.rules)


def load_mapping(path: str | Path | None = None, mm: Metamodel = DEFAULT) -> Mapping:
    """Read and check a mapping file (default: the setting ``archimate_mapping``, else the built-in one)."""
    import yaml

    path = Path(path or _setting("archimate_mapping") or DEFAULT_MAPPING)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ImportFailed(msg("mapping-unreadable", path=str(path), error=clip(str(exc)))) from None
    errors: list[Message] = []
    if not isinstance(data, dict):
        raise ImportFailed(msg("mapping-not-mapping", path=str(path)))
    elements: dict[str, ElementMap] = {}
    for t, spec in (data.get("elements") or {}).items():
        if not isinstance(spec, dict) or spec.get("kind") not in mm.kinds:
            errors.append(msg("mapping-element-kind", type=str(t), allowed=", ".join(mm.kinds)))
            continue
        elements[normalise_type(str(t))] = ElementMap(spec["kind"], dict(spec.get("attributes") or {}))
    export_types = {}
    for kind, t in (data.get("export_types") or {}).items():
        if kind not in mm.kinds:
            errors.append(msg("mapping-export-kind-unknown", kind=str(kind)))
        export_types[kind] = normalise_type(str(t))
    for kind in mm.kinds:
        if kind not in export_types:
            errors.append(msg("mapping-export-kind-missing", kind=kind))
    rules = []
    for i, r in enumerate(data.get("relationships") or []):
        where = f"relationships[{i}]"
        if not isinstance(r, dict) or r.get("relation") not in mm.stored_relations():
            errors.append(msg("mapping-relation-unknown", where=where, allowed=", ".join(mm.stored_relations())))
            continue
        rule = Rule(
            normalise_type(str(r.get("archimate", ""))),
            frozenset(r.get("source") or ()),
            frozenset(r.get("target") or ()),
            r["relation"],
            bool(r.get("reverse", False)),
            frozenset(r["access"]) if r.get("access") else None,
        )
        if rule.archimate not in RELATIONSHIP_TYPES:
            errors.append(msg("mapping-archimate-type-unknown", where=where, type=rule.archimate))
        spec = mm.relations[rule.relation]
        ours_src, ours_tgt = (rule.targets, rule.sources) if rule.reverse else (rule.sources, rule.targets)
        if not ours_src <= set(spec.sources) or not ours_tgt <= set(spec.targets):
            errors.append(
                msg(
                    "mapping-relation-ends",
                    where=where,
                    relation=rule.relation,
                    sources=", ".join(spec.sources),
                    targets=", ".join(spec.targets),
                )
            )
        rules.append(rule)
    export_rels: dict[str, tuple[ExportChoice, ...]] = {}
    for rel, choices in (data.get("export_relationships") or {}).items():
        if rel not in mm.stored_relations():
            errors.append(msg("mapping-export-relation-unknown", relation=str(rel)))
            continue
        export_rels[rel] = tuple(
            ExportChoice(normalise_type(c["archimate"]), bool(c.get("reverse", False)), c.get("access"))
            for c in choices or ()
        )
    if errors:
        raise ImportFailed(msg("mapping-invalid", path=str(path), errors=tuple(errors)))
    return Mapping(
        elements,
        export_types,
        tuple(rules),
        export_rels,
        str(data.get("relation_property") or "ioc_relation"),
        str(path),
        str(data.get("kind_property") or "ioc_kind"),
    )


# ---------------------------------------------------------------------------------------------------------------
# Hardened XML


def safe_parser():
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes, name: str):
    """Parse untrusted XML: any DTD (so any entity declaration) is refused, nothing is fetched."""
    from lxml import etree

    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<!DOCTYPE" in data[:65536] or b"<!ENTITY" in data[:65536]:
        raise ImportFailed(msg("xml-dtd-refused", file=name))
    if not head.startswith(b"<"):
        raise ImportFailed(msg("xml-not-xml", file=name))
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ImportFailed(msg("xml-malformed", file=name, problem=clip(str(exc.msg)), line=exc.lineno)) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # pragma: no cover - caught above
        raise ImportFailed(msg("xml-dtd-refused", file=name))
    return root


class _LocalResolver:
    """Resolve the W3C xml.xsd URLs the schemas import to the local copy: schema loading never uses the network."""

    def __new__(cls, directory: Path):
        from lxml import etree

        class R(etree.Resolver):
            def resolve(self, url, pubid, context):
                if url and url.startswith("http") and url.rstrip("/").endswith("xml.xsd"):
                    return self.resolve_filename(str(directory / "xml.xsd"), context)
                if url and url.startswith("http"):
                    raise ImportFailed(msg("xml-schema-network", url=clip(url)))
                return None

        return R()


@lru_cache(maxsize=4)
def _schema(version: str, directory: str):
    from lxml import etree

    d = Path(directory)
    if version == "2.1":
        ns, main = NS21, d / "archimate_v2p1.xsd"
    else:
        ns, main = NS3, d / "archimate3_Diagram.xsd"
    if not main.is_file() or not (d / "dc.xsd").is_file() or not (d / "xml.xsd").is_file():
        raise FileNotFoundError(f"ArchiMate {version} schemas not found in {d}")
    wrapper = (
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="{ns}" schemaLocation="{main.resolve().as_uri()}"/>'
        f'<xs:import namespace="{DC}" schemaLocation="{(d / "dc.xsd").resolve().as_uri()}"/>'
        f'</xs:schema>'
    )
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalResolver(d))
    doc = etree.fromstring(wrapper.encode(), parser, base_url=d.resolve().as_uri() + "/")
    return etree.XMLSchema(doc)


def schema_errors(root, version: str, ref_dir: Path | None = None, limit: int = 50) -> list[tuple[int, str]]:
    """XSD errors (line, message) of a parsed exchange document (``version`` "2.1" or "3.1"), validated
    offline."""
    ref = ref_dir or reference_dir()
    schema = _schema(version, str((ref / (XSD21 if version == "2.1" else XSD31)).resolve()))
    if schema.validate(root):
        return []
    errors = list(schema.error_log)
    out = [(e.line, e.message) for e in errors[:limit]]
    if len(errors) > limit:
        out.append((errors[limit].line, f"... and {len(errors) - limit} more schema error(s) not listed"))
    return out


def validate_exchange(path: str | Path, ref_dir: Path | None = None) -> list[str]:
    """Validate an exchange file against the official XSDs (3.1 or 2.1 by namespace), offline.

    Returns the errors (empty: valid). Raises ImportFailed for a file that is not an exchange file at all."""
    path = Path(path)
    root = parse_xml(path.read_bytes(), path.name)
    return [f"{path.name}: line {line}: {msg}" for line, msg in schema_errors(root, _version(root, path.name), ref_dir)]


def _version(root, name: str) -> str:
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    local = root.tag.split("}", 1)[-1]
    if local != "model" or ns not in (NS21, NS3):
        raise ImportFailed(
            msg("archimate-not-exchange", file=name, root=clip(local), namespace=clip(ns), ns3=NS3, ns21=NS21)
        )
    return "2.1" if ns == NS21 else "3.1"


# ---------------------------------------------------------------------------------------------------------------
# Reading the exchange format


def _texts(node, tag: str) -> list[tuple[str, str]]:
    return [(c.get(XML_LANG) or "", (c.text or "").strip()) for c in node if c.tag == tag and (c.text or "").strip()]


def read_exchange(data: bytes, name: str, validate: bool = True, ref_dir: Path | None = None) -> AModel:
    root = parse_xml(data, name)
    version = _version(root, name)
    ns = NS21 if version == "2.1" else NS3
    q = lambda t: f"{{{ns}}}{t}"  # noqa: E731
    model = AModel(format=f"exchange {'2.1' if version == '2.1' else '3.x'}")
    if validate:
        try:
            model.problems += [
                Rejection(
                    msg("at-line", file=name, line=line),
                    "xsd",
                    msg("archimate-xsd-invalid", version=version, error=clip(error)),
                )
                for line, error in schema_errors(root, version, ref_dir)
            ]
        except FileNotFoundError as exc:
            model.notes.append(Rejection(name, "xsd", msg("archimate-not-validated", error=str(exc))))
    name_tag = q("label") if version == "2.1" else q("name")
    # property definitions: 3.x <propertyDefinitions><propertyDefinition identifier><name>; 2.1 <propertydefs>
    # <propertydef identifier name>
    pdefs: dict[str, str] = {}
    for pd in root.iter(q("propertyDefinition"), q("propertydef")):
        names = _texts(pd, q("name"))
        pdefs[pd.get("identifier", "")] = names[0][1] if names else (pd.get("name") or pd.get("identifier", ""))
    xsi_type = f"{{{XSI}}}type"

    def props(node, where: str, owner: str) -> list[tuple[str, str]]:
        out = []
        container = node.find(q("properties"))
        for p in container if container is not None else ():
            if p.tag != q("property"):
                continue
            ref = p.get("propertyDefinitionRef") or p.get("identifierref") or p.get("identifierRef") or ""
            values = _texts(p, q("value"))
            value = _pick_lang(values)[1] or (values[0][1] if values else "")
            if ref not in pdefs:
                model.problems.append(
                    Rejection(
                        msg("at-item", where=msg("at-line", file=name, line=p.sourceline), item=owner),
                        "property",
                        msg("archimate-property-undefined", ref=clip(ref)),
                    )
                )
                continue
            out.append((pdefs[ref], value))
        return out

    def concept(node) -> Concept:
        c = Concept(
            id=node.get("identifier", "").strip(),
            type=normalise_type(node.get(xsi_type, "")),
            where=msg("at-line-only", line=node.sourceline),
            names=_texts(node, name_tag),
            docs=_texts(node, q("documentation")),
        )
        c.props = props(node, c.where, c.id)
        return c

    container = root.find(q("elements"))
    for node in container if container is not None else ():
        if node.tag == q("element"):
            model.elements.append(concept(node))
    # 3.x keeps relationships in <relationships>; 2.1 too
    container = root.find(q("relationships"))
    for node in container if container is not None else ():
        if node.tag == q("relationship"):
            c = concept(node)
            c.source, c.target = (node.get("source") or "").strip(), (node.get("target") or "").strip()
            c.access = node.get("accessType")
            model.relationships.append(c)
    model.props = props(root, "model", "model")
    model.id = (root.get("identifier") or "").strip()
    model.names, model.docs = _texts(root, q("name")) or _texts(root, name_tag), _texts(root, q("documentation"))
    # folders: 3.x <organizations><item><label>..; 2.1 <organization><item><label>..
    for org in list(root.iter(q("organizations"))) + list(root.iter(q("organization"))):
        for item in org:
            if item.tag == q("item"):
                _walk_folders(item, [], q, model.folders)
    model.views = sum(1 for _ in root.iter(q("view")))
    if version != "2.1":  # 3.x views are kept whole for export
        model.view_xml = list(root.iter(q("view")))
    else:  # 2.1 views are converted to 3.1 views, kept the same way
        model.view_xml = [_view_from_21(v, q, name, model.notes) for v in root.iter(q("view"))]
    return model


# ---------------------------------------------------------------------------------------------------------------
# Views of other formats as ArchiMate 3.1 views (kept on the model's record like the views of 3.x files)

VIEWPOINTS_31 = frozenset(
    """Organization|Application Platform|Application Structure|Information Structure|Technology|Layered|Physical|
Product|Application Usage|Technology Usage|Business Process Cooperation|Application Cooperation|Service Realization|
Implementation and Deployment|Goal Realization|Goal Contribution|Principles|Requirements Realization|Motivation|
Strategy|Capability Map|Outcome Realization|Resource Map|Value Stream|Project|Migration|Implementation and Migration|
Stakeholder""".replace("\n", "").split("|")
)
DEFAULT_NODE_SIZE = (120, 55)  # a node whose size the source leaves to the tool (Archi writes -1)
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")


def view_id(raw: str) -> str:
    """A valid XML identifier for a view, node or connection: the source's own when it is one, else ``id-`` before
    it (Archi's numeric ids) or before a hash of it; the same source id always gives the same identifier."""
    raw = (raw or "").strip()
    if _NCNAME.match(raw):
        return raw
    if re.fullmatch(r"[A-Za-z0-9._-]+", raw):
        return f"id-{raw}"
    return "id-" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def _q3(tag: str) -> str:
    return f"{{{NS3}}}{tag}"


def _lang_texts(parent, tag: str, texts: Iterable[tuple[str, str]]) -> None:
    from lxml import etree

    for lang, text in texts:
        el = etree.SubElement(parent, _q3(tag))
        if lang:
            el.set(XML_LANG, lang)
        el.text = text


def new_view(ident: str, names: list[tuple[str, str]], docs: list[tuple[str, str]], viewpoint: str | None = None):
    """An empty ArchiMate 3.1 ``view`` (xsi:type Diagram); a viewpoint 3.1 does not know is left out."""
    from lxml import etree

    view = etree.Element(_q3("view"), nsmap={None: NS3, "xsi": XSI})
    view.set("identifier", ident)
    view.set(f"{{{XSI}}}type", "Diagram")
    if viewpoint in VIEWPOINTS_31:
        view.set("viewpoint", viewpoint)
    _lang_texts(view, "name", names or [("", ident)])
    _lang_texts(view, "documentation", docs)
    return view


def new_view_node(
    parent,
    ident: str,
    element_ref: str | None,
    box: tuple[int, int, int, int],
    container: bool = False,
    labels: list[tuple[str, str]] | None = None,
    docs: list[tuple[str, str]] | None = None,
    style=None,
):
    """A 3.1 node under ``parent``: Element (showing ``element_ref``), Container (a group, may hold nodes) or Label.
    Coordinates are absolute; a negative one becomes 0 and a missing size the default (3.1 allows neither)."""
    from lxml import etree

    node = etree.SubElement(parent, _q3("node"))
    node.set("identifier", ident)
    if element_ref:
        node.set("elementRef", element_ref)
    node.set(f"{{{XSI}}}type", "Element" if element_ref else "Container" if container else "Label")
    x, y, w, h = box
    for a, v in (("x", max(0, x)), ("y", max(0, y))):
        node.set(a, str(v))
    node.set("w", str(w if w > 0 else DEFAULT_NODE_SIZE[0]))
    node.set("h", str(h if h > 0 else DEFAULT_NODE_SIZE[1]))
    _lang_texts(node, "label", labels or [])
    _lang_texts(node, "documentation", docs or [])
    if style is not None and len(style) + len(style.attrib):
        node.append(style)
    return node


def new_view_connection(view, ident: str, relationship_ref: str | None, source: str, target: str, bendpoints=(),
                        labels=None, docs=None, style=None):  # fmt: skip
    """A 3.1 connection at the end of ``view``: Relationship (showing ``relationship_ref``) or Line."""
    from lxml import etree

    c = etree.SubElement(view, _q3("connection"))
    c.set("identifier", ident)
    if relationship_ref:
        c.set("relationshipRef", relationship_ref)
    c.set(f"{{{XSI}}}type", "Relationship" if relationship_ref else "Line")
    c.set("source", source)
    c.set("target", target)
    _lang_texts(c, "label", labels or [])
    _lang_texts(c, "documentation", docs or [])
    if style is not None and len(style) + len(style.attrib):
        c.append(style)
    for x, y in bendpoints:
        b = etree.SubElement(c, _q3("bendpoint"))
        b.set("x", str(max(0, int(x))))
        b.set("y", str(max(0, int(y))))
    return c


def new_style(fill=None, line=None, line_width: int | None = None, font: dict[str, Any] | None = None):
    """A 3.1 ``style``: fill and line colours as (r, g, b, alpha 0-100 or None); ``font`` with ``name``, ``size``
    (a number; 3.1 takes whole and half points), ``style`` (words of plain/bold/italic/underline) and ``color``."""
    from lxml import etree

    style = etree.Element(_q3("style"))
    if line_width is not None and line_width >= 0:
        style.set("lineWidth", str(line_width))
    for tag, rgba in (("fillColor", fill), ("lineColor", line)):
        if rgba is not None:
            el = etree.SubElement(style, _q3(tag))
            for a, v in zip("rgba", rgba, strict=False):
                if v is not None:
                    el.set(a, str(v))
    if font:
        el = etree.SubElement(style, _q3("font"))
        if font.get("name"):
            el.set("name", str(font["name"]))
        size = font.get("size")
        if isinstance(size, (int, float)) and 1 <= size < 10_000:
            half = round(size * 2) / 2
            el.set("size", str(int(half)) if half == int(half) else str(half))
        if font.get("style"):
            el.set("style", " ".join(font["style"]))
        if font.get("color"):
            col = etree.SubElement(el, _q3("color"))
            for a, v in zip("rgb", font["color"], strict=False):
                col.set(a, str(v))
    return style


def _int(v: str | None, default: int = 0) -> int:
    try:
        return int(float(v)) if v is not None else default
    except (ValueError, OverflowError):  # not a number, NaN, infinity
        return default


def _style_from_21(style, q, dropped: set[str]):
    """A 2.1 style as a 3.1 one: same shape (fillColor, lineColor, font with color, lineWidth) in the 3.1
    namespace; anything else is named in ``dropped``."""
    from lxml import etree

    out = etree.Element(_q3("style"))
    if style is None:
        return out
    if style.get("lineWidth") is not None:
        out.set("lineWidth", str(max(0, _int(style.get("lineWidth")))))
    for child in style:
        local = child.tag.split("}", 1)[-1] if isinstance(child.tag, str) else ""
        if child.tag in (q("fillColor"), q("lineColor"), q("font")):
            el = etree.SubElement(out, _q3(local))
            for a, v in child.attrib.items():
                if a == "style":  # 2.1 "bold|italic", 3.1 "bold italic"
                    words = [w for w in re.split(r"[|\s]+", v) if w in ("plain", "bold", "italic", "underline")]
                    if words:
                        el.set(a, " ".join(words))
                elif a == "size" and not re.fullmatch(r"[1-9][0-9]*(\.0|\.5)?", v):
                    dropped.add(f"font size={v}")
                elif a in ("r", "g", "b", "a", "name", "size"):
                    el.set(a, v)
            for sub in child:
                if sub.tag == q("color"):
                    col = etree.SubElement(el, _q3("color"))
                    for a in ("r", "g", "b", "a"):
                        if sub.get(a) is not None:
                            col.set(a, sub.get(a))
        elif local:
            dropped.add(local)
    return out


def _view_from_21(view, q, file: str, notes: list) -> Any:
    """An ArchiMate 2.1 ``view`` (nodes with elementref, groups, notes; connections with relationshipref,
    bendpoints, styles) as a 3.1 view. Coordinates are absolute in both versions."""
    vp = view.get("viewpoint")
    dropped: set[str] = set()
    names = _texts(view, q("label"))
    out = new_view(view_id(view.get("identifier", "")), names, _texts(view, q("documentation")), vp)
    if vp and vp not in VIEWPOINTS_31:
        dropped.add(f"viewpoint={vp}")

    def node(src, parent) -> None:
        kids = [c for c in src if c.tag == q("node")]
        ref = (src.get("elementref") or "").strip() or None
        n = new_view_node(
            parent,
            view_id(src.get("identifier", "")),
            ref,
            (_int(src.get("x")), _int(src.get("y")), _int(src.get("w")), _int(src.get("h"))),
            container=bool(kids) or src.get("type") == "group",
            labels=_texts(src, q("label")),
            docs=_texts(src, q("documentation")),
            style=_style_from_21(src.find(q("style")), q, dropped),
        )
        if ref is None and not kids and src.get("type") not in (None, "group"):
            dropped.add(f"type={src.get('type')}")
        for k in kids:
            node(k, n)

    for src in view:
        if src.tag == q("node"):
            node(src, out)
    for src in view.iter(q("connection")):
        new_view_connection(
            out,
            view_id(src.get("identifier", "")),
            (src.get("relationshipref") or "").strip() or None,
            view_id(src.get("source", "")),
            view_id(src.get("target", "")),
            [(_int(b.get("x")), _int(b.get("y"))) for b in src if b.tag == q("bendpoint")],
            labels=_texts(src, q("label")),
            docs=_texts(src, q("documentation")),
            style=_style_from_21(src.find(q("style")), q, dropped),
        )
    if dropped:
        notes.append(view_not_carried(file, view.sourceline, names[0][1] if names else out.get("identifier"),
                                      dropped))  # fmt: skip
    return out


def view_not_carried(file: str, line: int | None, view_name: str, what: Iterable[str]) -> Rejection:
    """The report line for what of a view (styles, viewpoints) the 3.1 view does not carry."""
    return Rejection(
        msg("at-line", file=file, line=line or 0),
        "view",
        msg("archimate-view-partly", view=clip(view_name), dropped=clip(", ".join(sorted(what)))),
    )


def _walk_folders(item, path: list[str], q, out: dict[str, str]) -> None:
    ref = item.get("identifierRef") or item.get("identifierref")
    if ref:
        if path:
            out.setdefault(ref, "/".join(path))
        return
    labels = _texts(item, q("label"))
    here = path + [labels[0][1].replace("/", "-")] if labels else path
    for child in item:
        if child.tag == q("item"):
            _walk_folders(child, here, q, out)


def _pick_lang(values: list[tuple[str, str]]) -> tuple[str, str]:
    """(vi, en) from names in several languages. Fallback when neither vi nor en: the first name for both."""
    vi = next((t for lang, t in values if lang.lower().startswith("vi")), "")
    en = next((t for lang, t in values if lang.lower().startswith("en")), "")
    if not vi and not en and values:
        vi = en = values[0][1]
    return vi, en


# ---------------------------------------------------------------------------------------------------------------
# Neutral model -> catalog


_CODE_BAD = re.compile(r"[^a-z0-9._-]+")


def code_for(identifier: str) -> str:
    """A stable, readable catalog code from an ArchiMate identifier: the identifier itself when it is already a
    valid code, else its lower-cased form with a short hash of the original (so distinct identifiers never
    collide)."""
    raw = identifier.strip()
    code = _CODE_BAD.sub("-", raw.lower()).strip("-._")
    if code == raw and 0 < len(code) <= 128:
        return code
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]
    return f"{code[:110].strip('-._') or 'x'}-{digest}"


def _norm_text(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n").strip()


def _attr_lookup(mm: Metamodel, kind: str) -> dict[str, str]:
    from catalog.text import fold

    out: dict[str, str] = {}
    for a in mm.kinds[kind].attributes:
        for key in (a.name, a.name.replace("_", " "), a.label.vi, a.label.en):
            out[fold(key).strip()] = a.name
    return out


def _rel_lookup(mm: Metamodel, relation: str) -> dict[str, str]:
    from catalog.text import fold

    out: dict[str, str] = {}
    for a in mm.relations[relation].properties:
        for key in (a.name, a.name.replace("_", " "), a.label.vi, a.label.en):
            out[fold(key).strip()] = a.name
    return out


def transform_model(
    model: AModel, source: str, mapping: Mapping | None = None, mm: Metamodel | None = None
) -> ArchimateTransformed:
    """The neutral model as catalog facts. Every element becomes one entity: of the kind the mapping gives its type,
    else a ``preserved`` one (its type, identifier and folder as attributes). Every relationship becomes one catalog
    relationship (mapped, else ``preserved``), or, when it cannot be an edge of the graph (its end is a relationship,
    it points at itself, or the same two entities already have one of that kind), an item of the model's record
    (a ``preserved`` entity of type ``Model`` that also keeps the model's name, documentation and properties).
    Properties no attribute declares are kept in ``source_properties``."""
    from catalog.text import fold

    mm = mm or DEFAULT
    mapping = mapping or load_mapping(mm=mm)
    t = ArchimateTransformed(format=model.format)
    t.rejected += model.problems
    t.unmapped += model.notes
    t.source_types = dict(sorted(Counter(c.type for c in model.elements + model.relationships).items()))
    ec, rc = t.counts["elements"], t.counts["relationships"]
    if model.views > len(model.view_xml):  # views that could not be converted (Archi sketches, canvases)
        t.notes.append(msg_plural("archimate-views", "archimate-views#plural", count=model.views - len(model.view_xml)))
        t.unmapped.append(Rejection(f"{source}: views", "views", t.notes[-1]))
    status: dict[str, str] = {}  # element id -> "mapped" | "preserved" | "rejected"
    kinds: dict[str, tuple[str, str]] = {}  # element id -> (ref, kind)
    types: dict[str, str] = {}
    rel_ids = {r.id for r in model.relationships if r.id}
    edges: dict[str, str] = {}  # relationship id in the file -> the catalog relationship it became
    refs: dict[str, str] = {}
    lookups: dict[str, dict[str, str]] = {}
    for c in model.elements:
        where = msg(
            "at-element",
            where=c.where if model.where_names_file else msg("at-in-file", file=source, where=c.where),
            id=c.id or "-",
            label=clip(c.label()),
        )
        if not c.id:
            t.rejected.append(Rejection(where, "identifier", msg("pydantic-missing")))
            ec["rejected"] += 1
            continue
        if c.id in status or c.id in rel_ids:
            t.rejected.append(Rejection(where, "identifier", msg("appears-twice", item=c.id)))
            ec["rejected"] += 1
            continue
        types[c.id] = c.type
        said = next((v.strip() for k, v in c.props if k.strip() == mapping.kind_property), "")
        # an element this catalog exported under a type that does not map back to its kind says its kind
        spec = ElementMap(said, {}) if said in mm.kinds and said != PRESERVED else mapping.elements.get(c.type)
        kind = spec.kind if spec else PRESERVED
        vi, en = _pick_lang(c.names)
        if not vi and not en:  # a junction, an unnamed element: named by its type
            vi = en = c.type or "-"
        dvi, den = _pick_lang([(lang, _norm_text(d)) for lang, d in c.docs])
        folder = c.folder or model.folders.get(c.id)
        attributes: dict[str, Any] = dict(spec.attributes) if spec else {}
        if spec is None:
            attributes.update(source_format=SOURCE_FORMAT, source_type=c.type, source_id=c.id)
            if folder:
                attributes["folder"] = folder
        data: dict[str, Any] = {
            "kind": kind,
            "code": code_for(c.id),
            "name": {"vi": vi, "en": en},
            "description": {"vi": dvi, "en": den},
            "attributes": attributes,
            "tags": [TYPE_TAG + c.type] + [f"specialization:{s}" for s in c.specializations],
        }
        if folder:
            data["tags"].append((FOLDER_TAG + folder)[:100])
        lookup = lookups.setdefault(kind, _attr_lookup(mm, kind))
        kept: list[str] = []
        for key, value in c.props:
            if key.strip() == mapping.kind_property and spec is not None and said == spec.kind:
                continue
            k = fold(key).strip()
            special = k.replace(" ", "_")
            if special in SPECIAL_PROPS and not (special == "owner" and not mm.owned(kind)):
                if special == "tags":
                    data["tags"] += [v.strip() for v in value.split(";") if v.strip()]
                elif special == "owner":
                    data["owner_history"] = [{"org": value.strip()}] if value.strip() else []
                else:
                    data[special] = value.strip() or None
            elif lookup.get(k) and lookup[k] not in STRUCTURAL:
                data["attributes"][lookup[k]] = value
            else:
                kept.append(source_property(key, value))
        if kept:
            data["attributes"]["source_properties"] = kept
        try:
            e = validate_entity(parse_entity(data), mm)
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, where)
            status[c.id] = "rejected"
            ec["rejected"] += 1
            continue
        if e.ref in refs:
            t.rejected.append(Rejection(where, "identifier", msg("archimate-same-ref", ref=e.ref, element=refs[e.ref])))
            status[c.id] = "rejected"
            ec["rejected"] += 1
            continue
        refs[e.ref] = c.id
        status[c.id] = "mapped" if spec else "preserved"
        kinds[c.id] = (e.ref, e.kind)
        t.locations[e.ref] = where
        t.entities.append(e)
        ec[status[c.id]] += 1
    seen_rel: dict[str, str] = {}
    seen_ids: set[str] = set()
    kept_items: list[dict[str, Any]] = []
    for r in model.relationships:
        where = msg(
            "at-relationship",
            where=r.where if model.where_names_file else msg("at-in-file", file=source, where=r.where),
            id=r.id or "-",
            label=clip(r.label()),
        )
        if r.id and r.id in seen_ids:
            t.rejected.append(Rejection(where, "identifier", msg("appears-twice", item=r.id)))
            rc["rejected"] += 1
            continue
        seen_ids.add(r.id)
        if r.type not in RELATIONSHIP_TYPES:
            t.unmapped.append(Rejection(where, "type", msg("archimate-relationship-type-unknown", type=clip(r.type))))
            rc["unmapped"] += 1
            continue
        problem = None
        on_relationship = False
        for end in ("source", "target"):
            x = getattr(r, end)
            if not x:
                problem = (end, msg("pydantic-missing"))
            elif x in rel_ids:
                on_relationship = True
            elif x not in status:
                problem = (end, msg("archimate-not-element", id=x))
            elif status[x] == "rejected":
                problem = (end, msg("archimate-end-rejected", id=x))
            if problem:
                break
        if problem:
            t.rejected.append(Rejection(where, *problem))
            rc["rejected"] += 1
            continue
        if on_relationship:
            kept_items.append(_kept_relationship(r, kinds))
            rc["kept"] += 1
            continue
        (sref, skind), (tref, tkind) = kinds[r.source or ""], kinds[r.target or ""]  # both checked above
        if PRESERVED not in (skind, tkind):
            mapped, bad = _mapped_relationship(r, sref, skind, tref, tkind, mapping, mm, where, t, lookups, refs)
            if bad:
                rc["rejected"] += 1
                continue
            if mapped is not None and mapped.id not in seen_rel:
                seen_rel[mapped.id] = r.id or r.where
                edges[r.id] = mapped.id
                t.locations[mapped.id] = where
                t.relationships.append(mapped)
                rc["mapped"] += 1
                continue
        rel_id_ = f"{sref}>{PRESERVED}>{tref}"
        if sref == tref or rel_id_ in seen_rel:  # not an edge the graph can hold: the model's record keeps it
            kept_items.append(_kept_relationship(r, kinds))
            rc["kept"] += 1
            continue
        vi, en = _pick_lang(r.names)
        dvi, den = _pick_lang([(lang, _norm_text(d)) for lang, d in r.docs])
        properties: dict[str, Any] = {"source_format": SOURCE_FORMAT, "source_type": r.type}
        if r.id:
            properties["source_id"] = r.id
        if en or vi:
            properties["name"] = en or vi
        if den or dvi:
            properties["documentation"] = den or dvi
        if r.type == "Access":
            properties["access_type"] = r.access or "Access"
        if r.props:
            properties["source_properties"] = [source_property(k, v) for k, v in r.props]
        try:
            rel = validate_relationship(
                parse_relationship({"type": PRESERVED, "source": sref, "target": tref, "properties": properties}), mm
            )
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, where)
            rc["rejected"] += 1
            continue
        seen_rel[rel.id] = r.id or r.where
        edges[r.id] = rel.id
        t.locations[rel.id] = where
        t.relationships.append(rel)
        rc["preserved"] += 1
    for item in kept_items:  # a relationship a kept one points at is named by the catalog relationship it became
        for end in ("source", "target"):
            what, _, x = item[end].partition(":")
            if what == "relationship" and x in edges:
                item[end] = f"edge:{edges[x]}"
    from lxml import etree

    for view in model.view_xml:  # a view names what the file's identifiers became, as the record's items do
        for node in view.iter():
            for a in ("elementRef", "relationshipRef"):
                x = node.get(a)
                if x is not None:
                    node.set(a, f"ref:{kinds[x][0]}" if x in kinds else f"edge:{edges[x]}" if x in edges else
                             f"relationship:{x}")  # fmt: skip
        alone = copy.deepcopy(view)  # canonical XML of the view alone: the same whichever file it came from
        etree.cleanup_namespaces(alone)
        kept_items.append({"view": etree.tostring(alone, method="c14n2").decode("utf-8")})
        t.counts["views"]["kept"] += 1
    record = _model_record(model, source, kept_items, mm)
    if record is not None:
        if record.ref in refs:
            t.rejected.append(
                Rejection(
                    f"{source}: model",
                    "identifier",
                    msg("archimate-same-ref", ref=record.ref, element=refs[record.ref]),
                )
            )
        else:
            t.locations[record.ref] = f"{source}: model"
            t.entities.append(record)
    return t


def source_property(key: str, value: str) -> str:
    """One property kept with its source: ``archimate:<key>=<value>``."""
    return f"{SOURCE_FORMAT}:{key}={value}"


def split_source_property(item: str) -> tuple[str, str, str] | None:
    """``(format, key, value)`` of a kept property; None for an item not of that form."""
    fmt, colon, rest = item.partition(":")
    key, equals, value = rest.partition("=")
    return (fmt, key, value) if colon and equals and key else None


def _kept_relationship(r: Concept, kinds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A relationship the graph cannot hold, as an item of the model's record: its ends are catalog refs
    (``ref:``), catalog relationships (``edge:``, set once they are known) or identifiers of relationships the
    record keeps too (``relationship:``)."""

    def end(x: str | None) -> str:
        return f"ref:{kinds[x][0]}" if x in kinds else f"relationship:{x}"

    item: dict[str, Any] = {"relationship": r.type, "id": r.id, "source": end(r.source), "target": end(r.target)}
    if r.names:
        item["names"] = [list(x) for x in r.names]
    if r.docs:
        item["docs"] = [list(x) for x in r.docs]
    if r.props:
        item["properties"] = [list(x) for x in r.props]
    if r.type == "Access":
        item["access"] = r.access or "Access"
    return item


def _model_record(model: AModel, source: str, kept: list[dict[str, Any]], mm: Metamodel) -> Entity | None:
    """The model's own record: a preserved entity of type ``Model`` (its identifier, name, documentation,
    properties and the relationships the graph cannot hold)."""
    import json

    ident = model.id or Path(source).stem or "model"
    vi, en = _pick_lang(model.names)
    if not vi and not en:
        vi = en = Path(source).name or ident
    dvi, den = _pick_lang([(lang, _norm_text(d)) for lang, d in model.docs])
    attributes: dict[str, Any] = {"source_format": SOURCE_FORMAT, "source_type": MODEL_TYPE, "source_id": ident}
    if model.props:
        attributes["source_properties"] = [source_property(k, v) for k, v in model.props]
    if kept:
        attributes["kept_for_export"] = [json.dumps(x, ensure_ascii=False, sort_keys=True) for x in kept]
    data = {
        "kind": PRESERVED,
        "code": code_for(MODEL_CODE_PREFIX + ident),
        "name": {"vi": vi, "en": en},
        "description": {"vi": dvi, "en": den},
        "attributes": attributes,
        "tags": [TYPE_TAG + MODEL_TYPE],
    }
    try:
        return validate_entity(parse_entity(data), mm)
    except ValidationFailed:  # pragma: no cover - built from checked parts
        return None


def _mapped_relationship(
    r: Concept,
    sref: str,
    skind: str,
    tref: str,
    tkind: str,
    mapping: Mapping,
    mm: Metamodel,
    where: Any,
    t: ArchimateTransformed,
    lookups: dict[str, dict[str, str]],
    file_ids: dict[str, str],
) -> tuple[Relationship | None, bool]:
    """``(relationship, bad)``: the catalog relationship the mapping makes of ``r``, None when it makes none (then it
    is preserved); ``bad`` when its data is refused (the reasons are appended to ``t.rejected`` at ``where``). Its
    identifier in the file is kept (``archimate:@identifier=`` first in ``source_properties``) unless it is the one an
    export would derive anyway (:func:`derived_identifier`, ``file_ids``: our ref -> the element's identifier), so a
    catalog exported and imported again is unchanged."""
    from catalog.text import fold

    marker = None
    props = []
    for k, v in r.props:
        if k.strip() == mapping.relation_property:
            marker = v.strip()
        else:
            props.append((k, v))
    relation, reverse = None, False
    if marker:  # "<relation>" from source to target as written, or "<relation> reversed"
        name, _, flag = marker.partition(" ")
        rev = flag.strip() == "reversed"
        a, b = (tkind, skind) if rev else (skind, tkind)
        rspec = mm.relations.get(name)
        if rspec and not rspec.derived and rspec.allows(a, b):
            relation, reverse = name, rev
    if relation is None:
        rule = mapping.rule_for(r.type, skind, tkind, r.access)
        if rule is None:
            return None, False
        relation, reverse = rule.relation, rule.reverse
    a, b = (tref, sref) if reverse else (sref, tref)
    if a == b or not mm.relations[relation].allows(*((tkind, skind) if reverse else (skind, tkind))):
        return None, False
    lookup = lookups.setdefault("rel:" + relation, _rel_lookup(mm, relation))
    data: dict[str, Any] = {"type": relation, "source": a, "target": b, "properties": {}}
    vi, en = _pick_lang(r.names)
    dvi, den = _pick_lang([(lang, _norm_text(d)) for lang, d in r.docs])
    note = "\n\n".join(x for x in (en or vi, den or dvi) if x)
    if note:
        data["properties"]["note"] = note
    kept = []
    for key, value in props:
        k = fold(key).strip()
        if k.replace(" ", "_") in ("valid_from", "valid_to"):
            data[k.replace(" ", "_")] = value.strip() or None
        elif lookup.get(k) and lookup[k] != "source_properties":
            data["properties"][lookup[k]] = value
        else:
            kept.append(source_property(key, value))
    if r.id and r.id != derived_identifier(file_ids.get(a, a), relation, file_ids.get(b, b)):
        kept.insert(0, source_property(IDENTIFIER_KEY, r.id))
    if kept:
        data["properties"]["source_properties"] = kept
    try:
        return validate_relationship(parse_relationship(data), mm), False
    except ValidationFailed as exc:
        t.rejected += rejections_from(exc.errors, where)
        return None, True


class ExchangeImporter:
    name = "archimate"
    suffixes = (".xml",)
    description = "ArchiMate Model Exchange File Format 2.1 / 3.x (XML)"

    def __init__(
        self,
        mapping: Mapping | None = None,
        metamodel: Metamodel | None = None,
        validate: bool = True,
        ref_dir: Path | None = None,
    ):
        self.mapping, self.metamodel, self.validate, self.ref_dir = mapping, metamodel, validate, ref_dir

    def claims(self, path: Path, head: bytes = b"") -> bool:
        """An .xml file whose first bytes name an ArchiMate exchange namespace."""
        return path.suffix.lower() == ".xml" and any(ns.encode() in head for ns in (NS3, f'"{NS21}"', f"'{NS21}'"))

    def read(self, path: Path, max_bytes: int) -> AModel:
        data = path.read_bytes()
        if len(data) > max_bytes:
            raise ImportFailed(msg("import-over-limit", file=path.name, limit=max_bytes), reason="import-too-large")
        return read_exchange(data, path.name, self.validate, self.ref_dir)

    def transform(self, document: AModel, source: str) -> ArchimateTransformed:
        return transform_model(
            document, source, self.mapping or load_mapping(mm=self.metamodel or DEFAULT), self.metamodel
        )


def importers() -> list[ExchangeImporter]:
    return [ExchangeImporter()]


# ---------------------------------------------------------------------------------------------------------------
# Export 3.1


@dataclass(frozen=True)
class RelationshipTable:
    """Archi's relationships.xml: which relationship types are allowed from one element type to another."""

    allowed: dict[tuple[str, str], frozenset[str]]

    def allows(self, source: str, target: str, archimate: str) -> bool:
        return archimate in self.allowed.get((source, target), frozenset())


def load_relationship_table(path: str | Path | None = None) -> RelationshipTable:
    """Archi's relationships.xml (default: in the reference folder, setting ``archimate_reference_dir``)."""
    return _relationship_table(str(Path(path) if path else reference_dir() / RELATIONSHIPS_XML))


@lru_cache(maxsize=4)
def _relationship_table(path: str) -> RelationshipTable:
    p = Path(path)
    if not p.is_file():
        raise ImportFailed(msg("archimate-rules-missing", path=str(p)))
    root = parse_xml(p.read_bytes(), p.name)
    allowed = {}
    for src in root.iter("source"):
        for tgt in src.iter("target"):
            allowed[(src.get("concept"), tgt.get("concept"))] = frozenset(
                LETTERS[ch] for ch in (tgt.get("relations") or "") if ch in LETTERS
            )
    return RelationshipTable(allowed)


@dataclass
class ExportResult:
    xml: bytes
    elements: int
    relationships: int
    skipped: list[str]
    marked: list[str]


_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def export_archimate(
    store: CatalogStore,
    mapping: Mapping | None = None,
    table: RelationshipTable | None = None,
    mm: Metamodel | None = None,
    model_name: str = "ioc-catalog",
) -> ExportResult:
    """The catalog as an ArchiMate 3.1 exchange document: deterministic bytes, never a relationship Archi's
    relationships.xml forbids (those are skipped and listed in ``skipped``)."""
    return export_entities(
        sorted(store.iter_entities(), key=lambda x: x.ref),
        sorted(store.all_relationships(), key=lambda x: x.id),
        mapping,
        table,
        mm,
        model_name,
    )


def _lang_names(parent, tag: str, vi: str, en: str) -> None:
    from lxml import etree

    for lang, text in (("vi", vi), ("en", en)):
        if text:
            el = etree.SubElement(parent, f"{{{NS3}}}{tag}")
            el.set(XML_LANG, lang)
            el.text = text


def derived_identifier(source: str, relation: str, target: str) -> str:
    """The identifier an export gives a relationship that brings none: named by what it joins as written there
    (the identifiers of its ends and its catalog type), so that it survives a re-import."""
    return "id-r" + hashlib.sha1(f"{source}>{relation}>{target}".encode()).hexdigest()[:16]


def relationship_identifier(r: Relationship) -> str:
    """The identifier in its source file of a relationship an ArchiMate import made: ``source_id`` of a preserved
    one, the ``@identifier`` kept in ``source_properties`` of a mapped one; "" when it has none."""
    if r.type == PRESERVED:
        return str(r.properties.get("source_id") or "")
    for item in r.properties.get("source_properties") or ():
        parts = split_source_property(str(item))
        if parts and parts[0] == SOURCE_FORMAT and parts[1] == IDENTIFIER_KEY:
            return parts[2]
    return ""


def export_entities(
    entities: Iterable[Entity],
    relationships: Iterable[Relationship],
    mapping: Mapping | None = None,
    table: RelationshipTable | None = None,
    mm: Metamodel | None = None,
    model_name: str = "ioc-catalog",
) -> ExportResult:
    """Entities and relationships as one ArchiMate 3.1 exchange document. Preserved elements and relationships go
    back with their type, identifier, name, documentation and properties; the record of an imported model (a
    preserved element of type ``Model``) gives the document its identifier, name, documentation and properties when
    it is the only one, and its relationships the graph cannot hold are written after the others."""
    import json

    from lxml import etree

    mm = mm or DEFAULT
    mapping = mapping or load_mapping(mm=mm)
    table = table or load_relationship_table()
    q = lambda t: f"{{{NS3}}}{t}"  # noqa: E731
    entities = list(entities)
    records = [e for e in entities if _is_model_record(e)]
    entities = [e for e in entities if not _is_model_record(e)]
    root = etree.Element(q("model"), nsmap={None: NS3, "xsi": XSI})
    used: set[str] = set()
    record = records[0] if len(records) == 1 else None
    ident = str(record.attributes.get("source_id", "")) if record else ""
    ident = ident if _NCNAME.match(ident) else "id-ioc-catalog"
    used.add(ident)
    root.set("identifier", ident)
    if record:
        _lang_names(root, "name", record.name.vi, record.name.en)
        _lang_names(root, "documentation", record.description.vi, record.description.en)
    else:
        _lang_names(root, "name", "", model_name)
    ids: dict[str, str] = {}
    etype: dict[str, str] = {}
    kinds: dict[str, str] = {}
    propdefs: dict[str, str] = {}

    def propdef(key: str) -> str:
        if key not in propdefs:
            propdefs[key] = (
                "propid-"
                + (_CODE_BAD.sub("-", key.lower()).strip("-") or "p")
                + (f"-{hashlib.sha1(key.encode()).hexdigest()[:6]}" if not re.fullmatch(r"[a-z0-9_]+", key) else "")
            )
        return propdefs[key]

    def add_props(parent, values: list[tuple[str, str]]) -> None:
        if not values:
            return
        ps = etree.SubElement(parent, q("properties"))
        for key, value in values:
            p = etree.SubElement(ps, q("property"))
            p.set("propertyDefinitionRef", propdef(key))
            etree.SubElement(p, q("value")).text = value

    def unique(wanted: str, fallback: str) -> str:
        out = wanted if _NCNAME.match(wanted) and wanted not in used else fallback
        while out in used:
            out = "id-" + hashlib.sha1(out.encode("utf-8")).hexdigest()[:16]
        used.add(out)
        return out

    if record:
        add_props(root, _kept_properties(record.attributes.get("source_properties")))
    # preserved elements and relationships first claim their own identifiers, the others what is left
    for e in sorted(entities, key=lambda x: (x.kind != PRESERVED, x.ref)):
        wanted = str(e.attributes.get("source_id", "")) if e.kind == PRESERVED else e.code
        ids[e.ref] = unique(wanted, f"id-{e.kind}-{e.code}")
    relationships = list(relationships)
    rel_ident: dict[str, str] = {}  # relationship id -> identifier
    by_source_id: dict[str, str] = {}  # identifier in the source -> identifier here
    sids = {r.id: relationship_identifier(r) for r in relationships}
    for r in sorted(relationships, key=lambda x: (x.type != PRESERVED, not sids[x.id], x.id)):
        sid = sids[r.id]
        if sid and not _NCNAME.match(sid) and _NCNAME.match("id-" + sid):
            sid = "id-" + sid  # an Archi identifier ("1274") as Archi exports it: the XSD wants an NCName
        fallback = derived_identifier(ids.get(r.source, r.source), r.type, ids.get(r.target, r.target))
        rel_ident[r.id] = unique(sid, fallback)
        if sid:
            by_source_id[sid] = rel_ident[r.id]
    kept: list[dict[str, Any]] = []
    views: list[dict[str, Any]] = []
    for rec in records:
        for raw in rec.attributes.get("kept_for_export") or ():
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("relationship") in RELATIONSHIP_TYPES:
                item["_ident"] = unique(str(item.get("id") or ""), "id-k" + hashlib.sha1(raw.encode()).hexdigest()[:16])
                by_source_id.setdefault(str(item.get("id") or ""), item["_ident"])
                kept.append(item)
            elif isinstance(item, dict) and isinstance(item.get("view"), str):
                views.append(item)

    els = etree.SubElement(root, q("elements"))
    folders: dict[str, list[str]] = {}
    for e in entities:
        kinds[e.ref] = e.kind
        if e.kind == PRESERVED:
            st = str(e.attributes.get("source_type", ""))
            t = st if st in ELEMENT_TYPES else mapping.export_types[PRESERVED]
        else:
            tagged = [x[len(TYPE_TAG) :] for x in e.tags if x.startswith(TYPE_TAG)]
            t = next(
                (x for x in tagged if x in mapping.elements and mapping.elements[x].kind == e.kind),
                mapping.export_types[e.kind],
            )
        etype[e.ref] = t
        el = etree.SubElement(els, q("element"))
        el.set("identifier", ids[e.ref])
        el.set(f"{{{XSI}}}type", t)
        if not (e.kind == PRESERVED and t.endswith("Junction") and e.name.vi == e.name.en == t):
            _lang_names(el, "name", e.name.vi, e.name.en)
        _lang_names(el, "documentation", e.description.vi, e.description.en)
        values = [
            (k, _value_text(v))
            for k, v in sorted(e.attributes.items())
            if k not in STRUCTURAL and not (e.kind == PRESERVED and k == "documentation")
        ]
        if e.kind == PRESERVED and t != e.attributes.get("source_type"):
            values += [(k, str(e.attributes[k])) for k in ("source_format", "source_type") if e.attributes.get(k)]
        values += _kept_properties(e.attributes.get("source_properties"))
        if e.kind != PRESERVED and (t not in mapping.elements or mapping.elements[t].kind != e.kind):
            values.append((mapping.kind_property, e.kind))
        if e.owner:
            values.append(("owner", e.owner))
        for k in ("valid_from", "valid_to"):
            if getattr(e, k):
                values.append((k, getattr(e, k).isoformat()))
        plain = [x for x in e.tags if not x.startswith((TYPE_TAG, FOLDER_TAG, "specialization:"))]
        if plain:
            values.append(("tags", "; ".join(plain)))
        add_props(el, values)
        for x in e.tags:
            if x.startswith(FOLDER_TAG):
                folders.setdefault(x[len(FOLDER_TAG) :], []).append(ids[e.ref])
                break
    skipped, marked = [], []
    rels_el = etree.SubElement(root, q("relationships"))
    n_rel = 0
    written = set(ids.values()) | {item["_ident"] for item in kept}
    # mapped relationships first, preserved ones next, the record's last: the order a re-import needs to make the
    # same choices (of two relationships that map to one catalog relationship, the first is mapped)
    for r in sorted(relationships, key=lambda x: x.type == PRESERVED):
        if r.source not in ids or r.target not in ids:
            skipped.append(f"{r.id}: an endpoint is not in the export")
            continue
        rel = etree.Element(q("relationship"))
        rel.set("identifier", rel_ident[r.id])
        if r.type == PRESERVED:
            st = str(r.properties.get("source_type", ""))
            if st not in RELATIONSHIP_TYPES:
                skipped.append(f"{r.id}: '{st}' is not an ArchiMate relationship type")
                continue
            rel.set("source", ids[r.source])
            rel.set("target", ids[r.target])
            rel.set(f"{{{XSI}}}type", st)
            if st == "Access":
                rel.set("accessType", str(r.properties.get("access_type") or "Access"))
            _lang_names(rel, "name", "", str(r.properties.get("name") or ""))
            _lang_names(rel, "documentation", "", str(r.properties.get("documentation") or ""))
            values = _kept_properties(r.properties.get("source_properties"))
        else:
            choice, needs_marker = _export_choice(r, etype, kinds, mapping, table)
            if choice is None:
                skipped.append(
                    f"{r.id}: Archi's relationships.xml allows no relationship from {etype[r.source]} to "
                    f"{etype[r.target]} that can carry '{r.type}'"
                )
                continue
            s, t = (r.target, r.source) if choice.reverse else (r.source, r.target)
            rel.set("source", ids[s])
            rel.set("target", ids[t])
            rel.set(f"{{{XSI}}}type", choice.archimate)
            if choice.archimate == "Access":
                rel.set("accessType", choice.access or "Access")
            props = dict(r.properties)
            note = props.pop("note", None)
            if note:
                _lang_names(rel, "name", "", str(note))
            extra = [
                (k, v)
                for k, v in _kept_properties(props.pop("source_properties", None))
                if k != IDENTIFIER_KEY or v != sids[r.id]
            ]
            values = [(k, _value_text(v)) for k, v in sorted(props.items())] + extra
            if needs_marker:
                values.append((mapping.relation_property, f"{r.type} reversed" if choice.reverse else r.type))
                marked.append(f"{r.id}: exported as {choice.archimate} with property {mapping.relation_property}")
        for k in ("valid_from", "valid_to"):
            if getattr(r, k):
                values.append((k, getattr(r, k).isoformat()))
        add_props(rel, values)
        rels_el.append(rel)
        written.add(rel_ident[r.id])
        n_rel += 1
    for item in kept:
        ends = []
        for end in (item.get("source"), item.get("target")):
            what, _, x = str(end).partition(":")
            ends.append(ids.get(x) if what == "ref" else rel_ident.get(x) if what == "edge" else by_source_id.get(x))
        if None in ends or not written.issuperset(ends):
            skipped.append(f"{item.get('id')}: an endpoint is not in the export")
            continue
        rel = etree.SubElement(rels_el, q("relationship"))
        rel.set("identifier", item["_ident"])
        rel.set("source", ends[0])
        rel.set("target", ends[1])
        rel.set(f"{{{XSI}}}type", item["relationship"])
        if item["relationship"] == "Access":
            rel.set("accessType", str(item.get("access") or "Access"))
        for tag, key in (("name", "names"), ("documentation", "docs")):
            for lang, text in item.get(key) or ():
                el = etree.SubElement(rel, q(tag))
                if lang:
                    el.set(XML_LANG, lang)
                el.text = text
        add_props(rel, [(str(k), str(v)) for k, v in item.get("properties") or ()])
        n_rel += 1
    if n_rel == 0:
        root.remove(rels_el)
    if not entities:
        root.remove(els)
    if folders:
        orgs = etree.SubElement(root, q("organizations"))
        tree: dict = {}
        for path, members in folders.items():
            node = tree
            for part in path.split("/"):
                node = node.setdefault(part, {})
            node.setdefault("", []).extend(members)
        _write_folders(orgs, tree, q)
    diagrams = []
    for item in views:
        view = _exported_view(item, ids, rel_ident, by_source_id, written, used)
        if view is None:
            skipped.append(f"view {str(item['view'])[:80]}: names what is not in the export")
        else:
            diagrams.append(view)
    if propdefs:
        pds = etree.SubElement(root, q("propertyDefinitions"))
        for key, pid in sorted(propdefs.items(), key=lambda kv: kv[1]):
            pd = etree.SubElement(pds, q("propertyDefinition"))
            pd.set("identifier", pid)
            pd.set("type", "string")
            etree.SubElement(pd, q("name")).text = key
    if diagrams:
        holder = etree.SubElement(etree.SubElement(root, q("views")), q("diagrams"))
        for view in diagrams:
            holder.append(view)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return ExportResult(xml, len(entities), n_rel, skipped, marked)


def _exported_view(
    item: dict[str, Any],
    ids: dict[str, str],
    rel_ident: dict[str, str],
    by_source_id: dict[str, str],
    written: set[str],
    used: set[str],
):
    """A kept view with the identifiers it names rewritten to this document's; None when one of them is not in the
    document, when the XML is not a 3.x view, or when an identifier of the view is already taken."""
    from lxml import etree

    try:
        view = etree.fromstring(str(item["view"]).encode("utf-8"), safe_parser())
    except etree.XMLSyntaxError:
        return None
    if view.tag != f"{{{NS3}}}view":
        return None
    own = [n.get("identifier") for n in view.iter() if n.get("identifier")]
    if any(x in used for x in own):
        return None
    for n in view.iter():
        for a in ("elementRef", "relationshipRef"):
            if n.get(a) is not None:
                what, _, y = n.get(a).partition(":")
                found = ids.get(y) if what == "ref" else rel_ident.get(y) if what == "edge" else by_source_id.get(y)
                if found is None or found not in written:
                    return None
                n.set(a, found)
    used.update(own)
    return view


def _is_model_record(e: Entity) -> bool:
    return e.kind == PRESERVED and e.attributes.get("source_type") == MODEL_TYPE


def _kept_properties(items: Any) -> list[tuple[str, str]]:
    """Properties kept from a source, as ArchiMate properties: an ArchiMate one under its own key, another
    source's under ``<format>:<key>``."""
    out = []
    for item in items or ():
        parts = split_source_property(str(item))
        if parts:
            fmt, key, value = parts
            out.append((key if fmt == SOURCE_FORMAT else f"{fmt}:{key}", value))
    return out


def _write_folders(parent, tree: dict, q) -> None:
    from lxml import etree

    for name in sorted(k for k in tree if k):
        item = etree.SubElement(parent, q("item"))
        label = etree.SubElement(item, q("label"))
        label.text = name
        _write_folders(item, tree[name], q)
    for ident in sorted(tree.get("", [])):
        etree.SubElement(parent, q("item")).set("identifierRef", ident)


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    return str(v)


def _export_choice(
    r: Relationship, etype: dict[str, str], kinds: dict[str, str], mapping: Mapping, table: RelationshipTable
) -> tuple[ExportChoice | None, bool]:
    choices = list(mapping.export_relationships.get(r.type, ())) + [
        ExportChoice("Association"),
        ExportChoice("Association", reverse=True),
    ]
    first_allowed = None
    for c in choices:
        s, t = (r.target, r.source) if c.reverse else (r.source, r.target)
        if not table.allows(etype[s], etype[t], c.archimate):
            continue
        rule = mapping.rule_for(c.archimate, kinds[s], kinds[t], c.access or "Access")
        if rule and rule.relation == r.type and rule.reverse == c.reverse:
            return c, False
        first_allowed = first_allowed or c
    return first_allowed, first_allowed is not None


def write_archimate(store: CatalogStore, path: Path, **kw: Any) -> ExportResult:
    result = export_archimate(store, **kw)
    path.write_bytes(result.xml)
    return result
