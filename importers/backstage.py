"""Backstage software-catalog YAML (``catalog-info.yaml``, multi-document): see docs/importers.md for the mapping.

What the catalog can hold becomes entities and relationships; what it cannot (User, Domain and Location entities,
API definitions, ``$text``/``$json``/``$yaml`` placeholders, links beyond the first, annotations) is reported as
unmapped, never dropped silently. Nothing is ever fetched: placeholders and Location targets are reported, not
followed, so importing a file reads that file and nothing else.

Entity references follow Backstage's rules: ``[kind:][namespace/]name``, compared case-insensitively; the kind may be
left out where the field implies one (``owner`` -> Group, ``system`` -> System, ``providesApis`` -> API ...;
``dependsOn`` and ``dependencyOf`` need it); the namespace defaults to the referring entity's own (``default`` for
almost every file).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from catalog.errors import ValidationFailed
from catalog.metamodel import Metamodel
from catalog.model import Entity, OwnerPeriod, Relationship, parse_entity, validate_entity, validate_relationship
from importers.base import ImportFailed, Rejection, Transformed, decode_text, rejections_from

MAX_ALIASES = 1_000  # YAML aliases per file: a handful in real catalogs; "billion laughs" needs millions
MAX_DEPTH = 64  # nesting of YAML collections
MAX_DOCUMENTS = 100_000
PLACEHOLDERS = ("$text", "$json", "$yaml")
NAME_RE = re.compile(r"^([a-z0-9]+[-_.])*[a-z0-9]+$")  # Backstage names (compared lower-cased), at most 63
NAMESPACE_RE = re.compile(r"^[a-z0-9]+(?:-+[a-z0-9]+)*$")


# --- the mapping: declarations, configurable by passing another Mapping to BackstageImporter -------------------

@dataclass(frozen=True)
class Mapping:
    """How Backstage kinds, types and lifecycles become ours. Values Backstage has no field for (a System's or a
    Resource's lifecycle, a database's scope, a platform's type) come from ``defaults``."""

    lifecycles: dict[str, str] = field(default_factory=lambda: {
        "experimental": "building", "development": "building", "planned": "planned", "production": "production",
        "deprecated": "retiring", "retired": "retired"})
    group_types: dict[str, str] = field(default_factory=lambda: {
        "department": "department", "sub-department": "department", "business-unit": "department",
        "organization": "unit", "team": "unit"})
    group_type_default: str = "unit"
    resource_kinds: dict[str, str] = field(default_factory=lambda: {
        "database": "database", "db": "database", "postgres": "database", "postgresql": "database",
        "mysql": "database", "mssql": "database", "oracle": "database", "mongodb": "database"})
    resource_kind_default: str = "platform"
    api_protocols: dict[str, str] = field(default_factory=lambda: {
        "openapi": "rest", "asyncapi": "message", "graphql": "other", "grpc": "other", "trpc": "other"})
    api_protocol_default: str = "other"
    defaults: dict[str, dict[str, str]] = field(default_factory=lambda: {
        "system": {"lifecycle": "production"}, "database": {"lifecycle": "production", "scope": "internal"},
        "platform": {"lifecycle": "production", "platform_type": "hosting"}, "service": {"lifecycle": "production"}})


DEFAULT_MAPPING = Mapping()

# Backstage kind -> our kind ("resource" depends on spec.type, see Mapping.resource_kinds); kinds not listed here
# (User, Domain, Location, Template, anything else) are reported as unmapped
KINDS = {"component": "system", "system": "system", "api": "service", "group": "organization", "resource": None}

# reference fields per Backstage kind: field -> (default kind, several?) ; None = the reference must name its kind
REF_FIELDS: dict[str, dict[str, tuple[str | None, bool]]] = {
    "component": {"owner": ("group", False), "system": ("system", False), "subcomponentOf": ("component", False),
                  "providesApis": ("api", True), "consumesApis": ("api", True), "dependsOn": (None, True),
                  "dependencyOf": (None, True)},
    "api": {"owner": ("group", False), "system": ("system", False)},
    "resource": {"owner": ("group", False), "system": ("system", False), "dependsOn": (None, True),
                 "dependencyOf": (None, True)},
    "system": {"owner": ("group", False), "domain": ("domain", False)},
    "domain": {"owner": ("group", False), "subdomainOf": ("domain", False)},
    "group": {"parent": ("group", False), "children": ("group", True), "members": ("user", True)},
    "user": {"memberOf": ("group", True)},
}


# spec fields Backstage's own kind schemas require (packages/catalog-model/src/schema/kinds/*.schema.json)
REQUIRED: dict[str, tuple[str, ...]] = {
    "component": ("type", "lifecycle", "owner"), "api": ("type", "lifecycle", "owner", "definition"),
    "resource": ("type", "owner"), "system": ("owner",), "domain": ("owner",), "group": ("type", "children"),
    "user": ("memberOf",),
}


# --- references ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntityRef:
    kind: str  # lower-case Backstage kind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


def parse_ref(text: Any, default_kind: str | None, default_namespace: str) -> EntityRef:
    """``[kind:][namespace/]name`` with Backstage's defaulting; raises ValueError with a reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be an entity reference [kind:][namespace/]name")
    s = text.strip()
    kind, sep, rest = s.partition(":")
    if not sep:
        kind, rest = "", s
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "", rest
    if not kind:
        if default_kind is None:
            raise ValueError(f"'{s}' must name its kind here (for example component:{s})")
        kind = default_kind
    kind, namespace, name = kind.lower(), (namespace or default_namespace).lower(), name.lower()
    if not re.match(r"^[a-z][a-z0-9]*$", kind) or not NAMESPACE_RE.match(namespace) or not NAME_RE.match(name) \
            or len(name) > 63 or len(namespace) > 63:
        raise ValueError(f"'{s}' is not a valid entity reference [kind:][namespace/]name")
    return EntityRef(kind, namespace, name)


def code_of(ref: EntityRef) -> str:
    """Our code for a Backstage name: the name, lower-cased; outside the default namespace ``namespace..name``
    (namespaces have no dots and names no two in a row, so the code is unambiguous)."""
    return ref.name if ref.namespace == "default" else f"{ref.namespace}..{ref.name}"


def references(doc: dict[str, Any]) -> Iterable[tuple[str, EntityRef | ValueError]]:
    """Every entity reference one Backstage entity makes: (field, parsed reference or the error)."""
    kind = str(doc.get("kind", "")).lower()
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    namespace = str(meta.get("namespace") or "default").lower()
    for fname, (default_kind, many) in REF_FIELDS.get(kind, {}).items():
        value = spec.get(fname)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = f"spec.{fname}[{i}]" if isinstance(value, list) else f"spec.{fname}"
            try:
                yield where, parse_ref(item, default_kind, namespace)
            except ValueError as exc:
                yield where, exc


def self_ref(doc: dict[str, Any]) -> EntityRef:
    meta = doc["metadata"]
    return EntityRef(str(doc["kind"]).lower(), str(meta.get("namespace") or "default").lower(),
                     str(meta["name"]).lower())


# --- reading ------------------------------------------------------------------------------------------------------

def _yaml():
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str, name: str) -> None:
    """Refuse alias bombs and absurd nesting before anything is built (parsing events costs no memory)."""
    yaml, loader = _yaml()
    aliases = depth = docs = 0
    for ev in yaml.parse(text, Loader=loader):
        if isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ImportFailed(f"{name}: more than {MAX_ALIASES} YAML aliases (an alias bomb?); refused",
                                   reason_vi=f"{name}: hơn {MAX_ALIASES} bí danh YAML (nghi là bom bí danh); "
                                             "từ chối")
        elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ImportFailed(f"{name}: YAML nested deeper than {MAX_DEPTH} levels; refused",
                                   reason_vi=f"{name}: YAML lồng sâu hơn {MAX_DEPTH} cấp; từ chối")
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(ev, yaml.DocumentStartEvent):
            docs += 1
            if docs > MAX_DOCUMENTS:
                raise ImportFailed(f"{name}: more than {MAX_DOCUMENTS} YAML documents; refused",
                                   reason_vi=f"{name}: hơn {MAX_DOCUMENTS} tài liệu YAML; từ chối")


def read_yaml_documents(path: Path, max_bytes: int) -> list[Any]:
    raw = path.read_bytes()[: max_bytes + 1]
    text = decode_text(path.name, raw)
    yaml, loader = _yaml()
    try:
        _check_events(text, path.name)
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ImportFailed(f"{path.name}: not valid YAML{at}: {problem}",
                           reason_vi=f"{path.name}: YAML không hợp lệ{at.replace(' at line', ' tại dòng').replace('column', 'cột')}: "
                                     f"{problem}") from None


def _placeholders(value: Any, path: str, seen: set[int] | None = None) -> Iterable[tuple[str, str, str]]:
    """(field, placeholder, target) for every $text/$json/$yaml substitution in a value (shared nodes once)."""
    seen = set() if seen is None else seen
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            return
        seen.add(id(value))
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in PLACEHOLDERS:
            key = next(iter(value))
            yield path, key, str(value[key])[:500]
            return
        for k, v in value.items():
            yield from _placeholders(v, f"{path}.{k}" if path else str(k), seen)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _placeholders(v, f"{path}[{i}]", seen)


# --- transforming -------------------------------------------------------------------------------------------------

@dataclass
class _Item:
    doc: dict[str, Any]
    ref: EntityRef
    where: str
    ours: str | None = None  # our ref
    entity: Entity | None = None


@dataclass
class Deferred:
    """A link to a Resource that is not in the file: whether it is a database or a platform is known only from
    the catalog, so :meth:`BackstageImporter.resolve` finishes it."""

    source: str  # our ref of the entity that makes the link
    field: str
    where: str
    code: str
    reverse: bool  # dependencyOf: the Resource depends on the source


@dataclass
class Child:
    """A group's ``children`` entry naming a group outside the file: checked against the catalog in resolve."""

    where: str
    field: str
    ref: str  # ours
    backstage: str


class BackstageImporter:
    name = "backstage"
    suffixes = (".yaml", ".yml")  # other YAML goes to the native importer unless claims() says it is Backstage
    description = "Backstage software-catalog YAML (catalog-info.yaml; multi-document)"

    def __init__(self, mapping: Mapping = DEFAULT_MAPPING, metamodel: Metamodel | None = None):
        self.mapping = mapping
        self.metamodel = metamodel

    def claims(self, path: Path, head: bytes = b"") -> bool:
        """Picked without --format for catalog-info.yaml (Backstage's convention) or YAML whose first lines say
        ``apiVersion: backstage.io/...``."""
        if path.suffix.lower() not in self.suffixes:
            return False
        return path.name.lower() in ("catalog-info.yaml", "catalog-info.yml") or \
            re.search(rb"^apiVersion:[ \t]*['\"]?backstage\.io/", head, re.M) is not None

    def read(self, path: Path, max_bytes: int) -> list[Any]:
        docs = read_yaml_documents(path, max_bytes)
        if not any(d is not None for d in docs):
            raise ImportFailed(f"{path.name}: no Backstage entity in the file (it is empty)",
                               f"{path.name}: tệp không có thực thể Backstage nào (tệp rỗng)")
        return docs

    # -- transform ---------------------------------------------------------------------------------------------
    def transform(self, document: list[Any], source: str) -> Transformed:
        from catalog.metamodel import DEFAULT

        mm = self.metamodel or DEFAULT
        t = Transformed()
        items = self._entities(document, source, t)
        by_ref = {i.ref: i for i in items}
        taken: dict[str, str] = {}  # our ref -> where: a Component and a System of one name would be one system
        for item in items:
            self._map_entity(item, by_ref, t, mm)
            if item.entity is not None:
                if item.entity.ref in taken:
                    t.rejected.append(Rejection(item.where, "metadata.name",
                                                f"{item.entity.ref} is already used by {taken[item.entity.ref]}",
                                                f"{item.entity.ref} đã được dùng cho {taken[item.entity.ref]}"))
                    item.entity = item.ours = None
                else:
                    taken[item.entity.ref] = item.where.split(": ", 1)[-1]
        for item in items:
            if item.entity is not None:
                self._map_links(item, by_ref, t, mm)
        t.entities = [item.entity for item in items if item.entity is not None]
        return t

    def _entities(self, docs: list[Any], source: str, t: Transformed) -> list[_Item]:
        out: list[_Item] = []
        seen: dict[EntityRef, str] = {}
        for n, doc in enumerate(docs, 1):
            where = f"{source}: document {n}"
            if doc is None:  # an empty document (a stray ---)
                continue
            if not isinstance(doc, dict):
                t.rejected.append(Rejection(where, "", "a Backstage entity is a mapping with apiVersion, kind, "
                                                       "metadata and spec",
                                            "một thực thể Backstage là ánh xạ gồm apiVersion, kind, metadata, spec"))
                continue
            bad = self._envelope_errors(doc)
            if bad:
                t.rejected += [Rejection(where, f, en, vi) for f, en, vi in bad]
                continue
            ref = self_ref(doc)
            where = f"{where} ({ref})"
            t.source_types[doc["kind"]] = t.source_types.get(doc["kind"], 0) + 1
            if ref in seen:
                t.rejected.append(Rejection(where, "metadata.name", f"{ref} is already defined in {seen[ref]}",
                                            f"{ref} đã được khai báo ở {seen[ref]}"))
                continue
            seen[ref] = f"document {n}"
            out.append(_Item(doc, ref, where))
        return out

    @staticmethod
    def _envelope_errors(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
        errors = []
        api = doc.get("apiVersion")
        if not isinstance(api, str) or not api.strip():
            errors.append(("apiVersion", "required (for example backstage.io/v1alpha1)",
                           "bắt buộc (ví dụ backstage.io/v1alpha1)"))
        if not isinstance(doc.get("kind"), str) or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", doc.get("kind", "")):
            errors.append(("kind", "required: the entity kind (Component, API, System ...)",
                           "bắt buộc: loại thực thể (Component, API, System ...)"))
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            errors.append(("metadata", "required: a mapping with at least a name", "bắt buộc: ánh xạ có ít nhất name"))
        else:
            name = meta.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name.lower()) or len(name) > 63:
                errors.append(("metadata.name", f"{name!r} is not a Backstage name (1-63 letters and digits "
                                                "separated by '-', '_' or '.')",
                               f"{name!r} không phải tên Backstage hợp lệ (1-63 chữ và số, ngăn cách bởi '-', '_' "
                               "hoặc '.')"))
            ns = meta.get("namespace")
            if ns is not None and (not isinstance(ns, str) or not NAMESPACE_RE.match(ns.lower()) or len(ns) > 63):
                errors.append(("metadata.namespace", f"{ns!r} is not a Backstage namespace",
                               f"{ns!r} không phải namespace Backstage hợp lệ"))
        if "spec" in doc and not isinstance(doc["spec"], dict):
            errors.append(("spec", "must be a mapping", "phải là ánh xạ"))
        elif isinstance(doc.get("kind"), str):
            spec = doc.get("spec") or {}
            kind = doc["kind"].lower()
            for name in REQUIRED.get(kind, ()):
                if spec.get(name) is None or spec.get(name) == "":
                    errors.append((f"spec.{name}", f"required for a {doc['kind']}",
                                   f"bắt buộc đối với {doc['kind']}"))
            if kind == "location" and not spec.get("target") and not spec.get("targets"):
                errors.append(("spec.targets", "a Location needs target or targets",
                               "Location cần target hoặc targets"))
        return errors

    def _our_kind(self, ref: EntityRef, by_ref: dict[EntityRef, _Item]) -> str | None:
        if ref.kind == "resource":
            item = by_ref.get(ref)
            if item is None:
                return None  # decided against the catalog (see resolve)
            rtype = str((item.doc.get("spec") or {}).get("type") or "").lower()
            return self.mapping.resource_kinds.get(rtype, self.mapping.resource_kind_default)
        return KINDS.get(ref.kind)

    def _map_entity(self, item: _Item, by_ref: dict[EntityRef, _Item], t: Transformed, mm: Metamodel) -> None:
        doc, ref = item.doc, item.ref
        kind = self._our_kind(ref, by_ref)
        meta = doc["metadata"]
        spec = doc.get("spec") or {}
        for fld, key, target in _placeholders(doc, ""):
            t.unmapped.append(Rejection(item.where, fld, f"{key} placeholder not fetched ({target})",
                                        f"không tải nội dung {key} ({target})"))
        if kind is None:
            self._report_unmapped_kind(item, t)
            return
        shape = [(f"metadata.{k}", t_) for k, t_ in (("tags", list), ("links", list), ("title", str),
                                                     ("description", str), ("annotations", dict))
                 if meta.get(k) is not None and not isinstance(meta.get(k), t_)]
        if isinstance(meta.get("tags"), list) and not all(isinstance(x, str) for x in meta["tags"]):
            shape.append(("metadata.tags", tuple))
        if shape:
            names = {list: ("a list", "danh sách"), str: ("text", "văn bản"), dict: ("a mapping", "ánh xạ"),
                     tuple: ("a list of text", "danh sách văn bản")}
            t.rejected += [Rejection(item.where, f, f"must be {names[ty][0]}", f"phải là {names[ty][1]}")
                           for f, ty in shape]
            return
        attrs: dict[str, Any] = dict(self.mapping.defaults.get(kind, {}))
        tags = list(meta.get("tags") or [])
        stype = spec.get("type")
        if isinstance(stype, str) and stype.strip():
            tags.append(f"type:{stype.strip()}")
        kind_spec = mm.kinds.get(kind)
        if "lifecycle" in spec and kind_spec is not None and kind_spec.attribute("lifecycle") is not None:
            lc = str(spec.get("lifecycle") or "").strip().lower()
            if lc not in self.mapping.lifecycles:
                t.rejected.append(Rejection(item.where, "spec.lifecycle",
                                            f"'{spec.get('lifecycle')}' is not a lifecycle this mapping knows: "
                                            f"{', '.join(self.mapping.lifecycles)}",
                                            f"'{spec.get('lifecycle')}' không phải giai đoạn vòng đời đã biết: "
                                            f"{', '.join(self.mapping.lifecycles)}"))
                return
            attrs["lifecycle"] = self.mapping.lifecycles[lc]
        if kind_spec is not None and not kind_spec.owned:  # an organisation: a Group
            attrs["org_type"] = self.mapping.group_types.get(str(stype or "").lower(), self.mapping.group_type_default)
            profile = spec.get("profile") if isinstance(spec.get("profile"), dict) else {}
            display = profile.get("displayName")
        else:
            display = None
        if kind == "service":
            attrs["protocol"] = self.mapping.api_protocols.get(str(stype or "").lower(),
                                                               self.mapping.api_protocol_default)
            definition = spec.get("definition")
            if isinstance(definition, str):
                t.unmapped.append(Rejection(item.where, "spec.definition",
                                            f"the {stype or 'API'} definition ({len(definition):,} characters) is "
                                            "not kept: the catalog holds no API definitions",
                                            f"không lưu định nghĩa {stype or 'API'} ({len(definition):,} ký tự): "
                                            "danh mục không lưu định nghĩa API"))
        links = [x for x in (meta.get("links") or []) if isinstance(x, dict) and isinstance(x.get("url"), str)]
        if links:
            attrs["url"] = links[0]["url"]
        lost = []
        if len(links) > 1:
            lost.append(f"{len(links) - 1} more link(s)")
        if isinstance(meta.get("annotations"), dict) and meta["annotations"]:
            lost.append(f"{len(meta['annotations'])} annotation(s)")
        if lost:
            t.unmapped.append(Rejection(item.where, "metadata", f"not kept: {', '.join(lost)}",
                                        "không lưu: " + ", ".join(lost).replace("more link(s)", "liên kết khác")
                                        .replace("annotation(s)", "chú thích")))
        title = meta.get("title") if isinstance(meta.get("title"), str) else None
        description = meta.get("description") if isinstance(meta.get("description"), str) else ""
        data = {"kind": kind, "code": code_of(ref), "name": {"en": display or title or meta["name"]},
                "description": {"en": description.strip()}, "tags": tags, "attributes": attrs}
        try:
            e = validate_entity(parse_entity(data), mm)
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, item.where)
            return
        item.ours, item.entity = e.ref, e
        t.locations[e.ref] = item.where

    def _report_unmapped_kind(self, item: _Item, t: Transformed) -> None:
        kind = item.ref.kind
        spec = item.doc.get("spec") or {}
        if kind == "user":
            en, vi = "a User is a person: the catalog records owning organisations, not people", \
                "User là một người: danh mục ghi cơ quan chủ quản, không ghi cá nhân"
        elif kind == "domain":
            en, vi = f"a Domain is kept as the tag domain:{code_of(item.ref)} on its Systems", \
                f"Domain được giữ dưới dạng nhãn domain:{code_of(item.ref)} trên các System của nó"
        elif kind == "location":
            targets = spec.get("targets") if isinstance(spec.get("targets"), list) else []
            if isinstance(spec.get("target"), str):
                targets = [spec["target"], *targets]
            for i, target in enumerate(targets):
                remote = isinstance(target, str) and re.match(r"^[a-z][a-z0-9+.-]*://", target, re.I)
                t.unmapped.append(Rejection(
                    item.where, f"spec.targets[{i}]",
                    f"not followed: {target} ({'a remote URL is never fetched' if remote else 'import that file on its own'})",
                    f"không đọc theo: {target} ({'không bao giờ tải địa chỉ từ xa' if remote else 'hãy nhập tệp đó riêng'})"))
            en, vi = "a Location only lists other files; they are not read", \
                "Location chỉ liệt kê các tệp khác; không đọc các tệp đó"
        else:
            en, vi = f"kind {item.doc['kind']} has no counterpart in the catalog", \
                f"loại {item.doc['kind']} không có loại tương ứng trong danh mục"
        t.unmapped.append(Rejection(item.where, "kind", en, vi))

    # -- links: owner, parent, system, APIs, dependencies ------------------------------------------------------
    def _map_links(self, item: _Item, by_ref: dict[EntityRef, _Item], t: Transformed, mm: Metamodel) -> None:
        e = item.entity
        assert e is not None and item.ours is not None
        updates: dict[str, Any] = {}
        attrs = dict(e.attributes)
        tags = list(e.tags)
        for fld, ref in references(item.doc):
            if isinstance(ref, ValueError):
                t.rejected.append(Rejection(item.where, fld, str(ref), _vi_ref_error(str(ref))))
                continue
            name = fld.split("[")[0].removeprefix("spec.")
            target_kind = self._our_kind(ref, by_ref)
            target = f"{target_kind}:{code_of(ref)}" if target_kind else None
            if name == "owner":
                if ref.kind == "user":
                    t.unmapped.append(Rejection(item.where, fld, f"owner {ref} is a person: no owning organisation "
                                                                 "recorded", f"chủ sở hữu {ref} là một người: không ghi "
                                                                             "cơ quan chủ quản"))
                elif ref.kind != "group":
                    t.rejected.append(Rejection(item.where, fld, f"an owner is a Group or a User, not {ref}",
                                                f"chủ sở hữu phải là Group hoặc User, không phải {ref}"))
                elif mm.kinds[e.kind].owned:
                    updates["owner_history"] = [OwnerPeriod(org=f"organization:{code_of(ref)}")]
                    t.origins[f"{e.ref}#owner"] = (item.where, fld)
                continue
            if name == "parent":
                attrs["parent"] = f"organization:{code_of(ref)}"
                t.origins[f"{e.ref}#attributes.parent"] = (item.where, fld)
                continue
            if name == "children":
                child = by_ref.get(ref)
                if child is not None and child.entity is not None:
                    if child.entity.attributes.get("parent") not in (None, e.ref):
                        t.rejected.append(Rejection(item.where, fld, f"{ref} names another parent "
                                                                     f"({child.entity.attributes['parent']})",
                                                    f"{ref} khai báo đơn vị cấp trên khác "
                                                    f"({child.entity.attributes['parent']})"))
                    elif "parent" not in child.entity.attributes:
                        child.entity = child.entity.model_copy(update={"attributes": {
                            **child.entity.attributes, "parent": e.ref}})
                        t.origins[f"{child.entity.ref}#attributes.parent"] = (item.where, fld)
                else:  # the child's own file states its parent; a missing child is reported, not refused
                    t.deferred.append(Child(item.where, fld, f"organization:{code_of(ref)}", str(ref)))
                continue
            if name == "members":
                continue  # Users are reported where they are defined
            if name == "domain":
                tags.append(f"domain:{code_of(ref)}")
                continue
            if name == "subdomainOf":
                continue  # the Domain itself is unmapped (reported)
            reverse = name == "dependencyOf"
            if target is None:
                if ref.kind == "resource":
                    t.deferred.append(Deferred(e.ref, fld, item.where, code_of(ref), reverse))
                else:
                    t.unmapped.append(Rejection(item.where, fld, f"{ref}: a {ref.kind} is not in the catalog, so "
                                                                 "this link is not kept",
                                                f"{ref}: loại {ref.kind} không có trong danh mục nên liên kết này "
                                                "không được giữ"))
                continue
            self._link(e.ref, name, target, reverse, item.where, fld, t, mm)
        if attrs != e.attributes or tags != e.tags or updates:
            item.entity = e.model_copy(update={"attributes": attrs, "tags": sorted(set(tags)), **updates})

    def _link(self, ours: str, name: str, target: str, reverse: bool, where: str, fld: str, t: Transformed,
              mm: Metamodel) -> None:
        rel = relationship_for(name, ours, target, reverse, mm)
        if rel is None:
            t.unmapped.append(Rejection(where, fld, f"{name} from {ours.split(':')[0]} to {target.split(':')[0]} has "
                                                    "no counterpart among the catalog's relationship kinds",
                                        f"{name} từ {ours.split(':')[0]} tới {target.split(':')[0]} không có loại "
                                        "quan hệ tương ứng trong danh mục"))
            return
        try:
            r = validate_relationship(rel, mm)
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, f"{where}, {fld}")
            return
        if r.id in t.origins:
            return  # the same fact said twice (system and subcomponentOf to one parent ...)
        t.origins[r.id] = (where, fld)
        t.locations[r.id] = f"{where}, {fld}"
        t.relationships.append(r)

    # -- resolve: Resources named but not defined in the file --------------------------------------------------
    def resolve(self, t: Transformed, known: Callable[[list[str]], set[str]]) -> None:
        from catalog.metamodel import DEFAULT

        mm = self.metamodel or DEFAULT
        in_file = {e.ref for e in t.entities}
        pending = [d for d in t.deferred if isinstance(d, Deferred)]
        children = [d for d in t.deferred if isinstance(d, Child)]
        wanted = {f"{k}:{d.code}" for d in pending for k in ("database", "platform")} | {c.ref for c in children}
        wanted -= in_file
        found = in_file | (known(sorted(wanted)) if wanted else set())
        for c in children:
            if c.ref not in found:
                t.unmapped.append(Rejection(c.where, c.field, f"child group {c.backstage} is neither in the file nor "
                                                              "in the catalog yet: its own file sets its parent",
                                            f"nhóm con {c.backstage} chưa có trong tệp lẫn trong danh mục: tệp của "
                                            "nhóm đó sẽ ghi đơn vị cấp trên"))
        for d in pending:
            target = next((f"{k}:{d.code}" for k in ("database", "platform") if f"{k}:{d.code}" in found),
                          f"database:{d.code}")  # neither: the reference check reports it as dangling
            name = d.field.split("[")[0].removeprefix("spec.")
            self._link(d.source, name, target, d.reverse, d.where, d.field, t, mm)
        t.deferred = [d for d in t.deferred if not isinstance(d, (Deferred, Child))]


# What Backstage's "A dependsOn B" becomes: the first of these relationship kinds in which the source depends on
# the target (RelationSpec.dependency) and whose endpoints the metamodel allows from A to B; else "B flows_to A" (B's
# data reaches A, so impact analysis finds A when B is down) where the metamodel allows that
DEPENDS_ON = ("reads", "hosted_on", "consumes")


def relationship_for(name: str, source: str, target: str, reverse: bool = False,
                     metamodel: Metamodel | None = None) -> Relationship | None:
    """Our relationship for a Backstage link ``name`` from ``source`` to ``target`` (our refs), or None."""
    from catalog.metamodel import DEFAULT

    relations = (metamodel or DEFAULT).relations
    if name == "system" or name == "subcomponentOf":
        return Relationship(type="part_of", source=source, target=target)
    if name == "providesApis":
        return Relationship(type="provides", source=source, target=target)
    if name == "consumesApis":
        return Relationship(type="consumes", source=source, target=target)
    if name in ("dependsOn", "dependencyOf"):
        user, used = (target, source) if reverse else (source, target)
        user_kind, used_kind = user.split(":", 1)[0], used.split(":", 1)[0]
        for type_ in DEPENDS_ON:
            spec = relations.get(type_)
            if spec is not None and spec.dependency == "source_on_target" and spec.allows(user_kind, used_kind):
                return Relationship(type=type_, source=user, target=used)
        flows = relations.get("flows_to")
        if flows is not None and flows.allows(used_kind, user_kind):
            return Relationship(type="flows_to", source=used, target=user)
    return None


def _vi_ref_error(reason: str) -> str:
    m = re.match(r"^'(.*)' must name its kind here \(for example (.*)\)$", reason)
    if m:
        return f"'{m.group(1)}' phải ghi rõ loại ở đây (ví dụ {m.group(2)})"
    m = re.match(r"^'(.*)' is not a valid entity reference", reason)
    if m:
        return f"'{m.group(1)}' không phải tham chiếu thực thể hợp lệ [kind:][namespace/]name"
    return "phải là tham chiếu thực thể [kind:][namespace/]name"


def importers() -> list[BackstageImporter]:
    return [BackstageImporter()]


def count_kinds(docs: list[Any]) -> Counter:
    """Backstage entities per kind in parsed documents (for reports and tests)."""
    return Counter(d["kind"] for d in docs if isinstance(d, dict) and isinstance(d.get("kind"), str))
