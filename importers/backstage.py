"""Backstage software-catalog YAML (``catalog-info.yaml``, multi-document): see docs/importers.md for the mapping.

One run reads what Backstage users lay out: a file and every file its ``Location`` entities name under the file's
folder, a directory of catalog files, or a zip of them (:func:`collect`); references resolve across all of them.
Nothing is ever fetched and nothing outside the root is opened: URL targets, paths leaving the folder, missing files,
cycles and ``$text``/``$json``/``$yaml`` placeholders are reported, not followed. What the catalog can hold becomes
entities and relationships; a kind it has no counterpart for (Domain, Environment, Template...) is kept as a
``preserved`` element; Users (people) and API definitions are reported as unmapped, never dropped silently.

Entity references follow Backstage's rules: ``[kind:][namespace/]name``, compared case-insensitively; the kind may be
left out where the field implies one (``owner`` -> Group, ``system`` -> System, ``providesApis`` -> API ...;
``dependsOn`` and ``dependencyOf`` need it); the namespace defaults to the referring entity's own (``default`` for
almost every file).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.errors import ValidationFailed
from catalog.i18n import Message, msg, msg_plural
from catalog.metamodel import Metamodel
from catalog.model import Entity, OwnerPeriod, Relationship, parse_entity, validate_entity, validate_relationship
from importers.base import ImportFailed, Rejection, Transformed, clip, decode_text, rejections_from

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

    lifecycles: dict[str, str] = field(
        default_factory=lambda: {
            "experimental": "building",
            "development": "building",
            "planned": "planned",
            "production": "production",
            "deprecated": "retiring",
            "retired": "retired",
        }
    )
    group_types: dict[str, str] = field(
        default_factory=lambda: {
            "department": "department",
            "sub-department": "department",
            "business-unit": "department",
            "organization": "unit",
            "team": "unit",
        }
    )
    group_type_default: str = "unit"
    resource_kinds: dict[str, str] = field(
        default_factory=lambda: {
            "database": "database",
            "db": "database",
            "postgres": "database",
            "postgresql": "database",
            "mysql": "database",
            "mssql": "database",
            "oracle": "database",
            "mongodb": "database",
        }
    )
    resource_kind_default: str = "platform"
    api_protocols: dict[str, str] = field(
        default_factory=lambda: {
            "openapi": "rest",
            "asyncapi": "message",
            "graphql": "other",
            "grpc": "other",
            "trpc": "other",
        }
    )
    api_protocol_default: str = "other"
    defaults: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "system": {"lifecycle": "production"},
            "database": {"lifecycle": "production", "scope": "internal"},
            "platform": {"lifecycle": "production", "platform_type": "hosting"},
            "service": {"lifecycle": "production"},
        }
    )


DEFAULT_MAPPING = Mapping()

# Backstage kind -> our kind ("resource" depends on spec.type, see Mapping.resource_kinds); a User is a person and a
# Location a list of files (read, see collect): both reported, never kept; every other kind (Domain, Environment,
# Template, a kind of the organisation's own) is kept as a ``preserved`` element (catalog.metamodel) when the
# metamodel has that kind, else reported
KINDS = {"component": "system", "system": "system", "api": "service", "group": "organization", "resource": None}
NOT_KEPT = ("user", "location")
PRESERVED = "preserved"
SOURCE_FORMAT = "backstage"
MAX_KEPT = 500  # values of one entity kept in source_properties ("backstage:spec.type=...")
KEPT_CHARS = 2_000  # of one value
# spec fields a mapped kind makes facts of (besides its reference fields): every other value is kept as it is
MAPPED_SPEC = frozenset(("type", "lifecycle", "definition"))

# reference fields per Backstage kind: field -> (default kind, several?) ; None = the reference must name its kind
REF_FIELDS: dict[str, dict[str, tuple[str | None, bool]]] = {
    "component": {
        "owner": ("group", False),
        "system": ("system", False),
        "subcomponentOf": ("component", False),
        "providesApis": ("api", True),
        "consumesApis": ("api", True),
        "dependsOn": (None, True),
        "dependencyOf": (None, True),
    },
    "api": {"owner": ("group", False), "system": ("system", False)},
    "resource": {
        "owner": ("group", False),
        "system": ("system", False),
        "dependsOn": (None, True),
        "dependencyOf": (None, True),
    },
    "system": {"owner": ("group", False), "domain": ("domain", False)},
    "domain": {"owner": ("group", False), "subdomainOf": ("domain", False)},
    "group": {"parent": ("group", False), "children": ("group", True), "members": ("user", True)},
    "user": {"memberOf": ("group", True)},
}


# spec fields Backstage's own kind schemas require (packages/catalog-model/src/schema/kinds/*.schema.json)
REQUIRED: dict[str, tuple[str, ...]] = {
    "component": ("type", "lifecycle", "owner"),
    "api": ("type", "lifecycle", "owner", "definition"),
    "resource": ("type", "owner"),
    "system": ("owner",),
    "domain": ("owner",),
    "group": ("type", "children"),
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
        raise ValueError(msg("backstage-ref-required"))
    s = text.strip()
    kind, sep, rest = s.partition(":")
    if not sep:
        kind, rest = "", s
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "", rest
    if not kind:
        if default_kind is None:
            raise ValueError(msg("backstage-ref-needs-kind", ref=s))
        kind = default_kind
    kind, namespace, name = kind.lower(), (namespace or default_namespace).lower(), name.lower()
    if (
        not re.match(r"^[a-z][a-z0-9]*$", kind)
        or not NAMESPACE_RE.match(namespace)
        or not NAME_RE.match(name)
        or len(name) > 63
        or len(namespace) > 63
    ):
        raise ValueError(msg("backstage-ref-invalid", ref=s))
    return EntityRef(kind, namespace, name)


def our_code(ref: EntityRef, kind: str) -> str:
    """Our code for a Backstage entity becoming ``kind``: :func:`code_of`, prefixed with the Backstage kind for a
    preserved one (``environment-production``: kinds have no '-', so two kinds never share a code)."""
    return f"{ref.kind}-{code_of(ref)}" if kind == PRESERVED else code_of(ref)


def kept_values(value: Any, path: str, out: list[str]) -> int:
    """Every scalar under ``value`` as ``backstage:<path>=<value>`` (the form ArchiMate's kept properties take),
    each cut at :data:`KEPT_CHARS`; returns how many were cut."""
    cut = 0
    if isinstance(value, dict):
        for k, v in value.items():
            cut += kept_values(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            cut += kept_values(v, f"{path}[{i}]", out)
    elif value is not None:
        said = str(value)
        out.append(f"{SOURCE_FORMAT}:{path}={said[:KEPT_CHARS]}")
        cut += len(said) > KEPT_CHARS
    return cut


def code_of(ref: EntityRef) -> str:
    """Our code for a Backstage name: the name, lower-cased; outside the default namespace ``namespace..name``
    (namespaces have no dots and names no two in a row, so the code is unambiguous)."""
    return ref.name if ref.namespace == "default" else f"{ref.namespace}..{ref.name}"


def _mapping(value: Any) -> dict[str, Any]:
    """A YAML value that must be a mapping; anything else reads as empty (the shape check reports it)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """A YAML value that must be a list; anything else reads as empty (the shape check reports it)."""
    return value if isinstance(value, list) else []


def references(doc: dict[str, Any]) -> Iterable[tuple[str, EntityRef | ValueError]]:
    """Every entity reference one Backstage entity makes: (field, parsed reference or the error)."""
    kind = str(doc.get("kind", "")).lower()
    spec = _mapping(doc.get("spec"))
    meta = _mapping(doc.get("metadata"))
    namespace = str(meta.get("namespace") or "default").lower()
    for fname, (default_kind, _many) in REF_FIELDS.get(kind, {}).items():
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
    return EntityRef(
        str(doc["kind"]).lower(), str(meta.get("namespace") or "default").lower(), str(meta["name"]).lower()
    )


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
                raise ImportFailed(msg("yaml-too-many-aliases", file=name, limit=MAX_ALIASES))
        elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ImportFailed(msg("yaml-too-deep", file=name, limit=MAX_DEPTH))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(ev, yaml.DocumentStartEvent):
            docs += 1
            if docs > MAX_DOCUMENTS:
                raise ImportFailed(msg("yaml-too-many-documents", file=name, limit=MAX_DOCUMENTS))


def read_yaml_documents(path: Path, max_bytes: int) -> list[Any]:
    """The YAML documents of one file, read on its own (no Location followed)."""
    return parse_yaml_documents(path.read_bytes()[: max_bytes + 1], path.name)


def parse_yaml_documents(raw: bytes, name: str) -> list[Any]:
    """The YAML documents in ``raw`` (the bytes of the file ``name``, as messages call it)."""
    text = decode_text(name, raw)
    yaml, loader = _yaml()
    try:
        _check_events(text, name)
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark:
            raise ImportFailed(
                msg("yaml-invalid-at", file=name, line=mark.line + 1, column=mark.column + 1, problem=problem)
            ) from None
        raise ImportFailed(msg("yaml-invalid", file=name, problem=problem)) from None


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


# --- one run: the first file, the files its Locations name, a directory or a zip of catalog files ----------------

CATALOG_NAMES = ("catalog-info.yaml", "catalog-info.yml")
MAX_FILES = 5_000  # files one run reads (a directory, an archive, every file a Location names)
MAX_TREE_DEPTH = 32  # folder levels under the root, and Locations naming Locations
MAX_WALK = 200_000  # files and folders a directory import looks through for catalog files
URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
GLOB_CHARS = frozenset("*?[")


@dataclass
class Collected:
    """What one run read: each file's YAML documents, by the file's path relative to the root (the folder of the
    first file, the directory imported, or the archive), in the order read; and what the reader reports about the
    files Locations name (a URL, a path outside the root, a file that is not there, a cycle)."""

    files: list[tuple[str, list[Any]]] = field(default_factory=list)
    notes: list[Rejection] = field(default_factory=list)


def _backstage_head(head: bytes) -> bool:
    return re.search(rb"^apiVersion:[ \t]*['\"]?backstage\.io/", head, re.M) is not None


def _is_catalog_file(name: str, head: bytes) -> bool:
    """A file a directory or archive import reads: catalog-info.yaml, or YAML whose first lines say Backstage."""
    low = name.rsplit("/", 1)[-1].lower()
    return low in CATALOG_NAMES or (low.endswith((".yaml", ".yml")) and _backstage_head(head))


class _Tree:
    """Where the files of one run come from: a folder on disk or a zip archive. Paths are POSIX and relative to the
    root; ``locate`` says where a Location's target is, or why it is not followed."""

    label: str

    def candidates(self) -> list[str]:
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        raise NotImplementedError

    def read(self, rel: str, budget: list[int]) -> bytes:
        raise NotImplementedError

    def matches(self, pattern: str) -> list[str]:
        raise NotImplementedError

    def normal(self, base: str, target: str) -> str | None:
        """``target`` (relative to the folder of ``base``) as a path under the root, or None when it leaves it."""
        if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", target):
            return None
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), target.replace("\\", "/")))
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            return None
        return joined

    def locate(self, base: str, target: str) -> tuple[list[str], Message | None]:
        said = clip(target)
        if "\x00" in target or len(target) > 4_096:
            return [], msg("backstage-target-missing", target=said)
        if URL_RE.match(target):
            return [], msg("backstage-target-remote", target=said)
        rel = self.normal(base, target)
        if rel is None:
            return [], msg("backstage-target-outside", target=said)
        if rel.count("/") >= MAX_TREE_DEPTH:
            return [], msg("backstage-target-too-deep", target=said, limit=MAX_TREE_DEPTH)
        if GLOB_CHARS & set(rel):
            try:
                found = self.matches(rel)
            except ValueError:  # not a pattern pathlib takes ("a**b")
                found = []
            return found, None if found else msg("backstage-target-missing", target=said)
        if not self.exists(rel):
            return [], msg("backstage-target-missing", target=said)
        return self._inside(rel, said)

    def _inside(self, rel: str, said: str) -> tuple[list[str], Message | None]:
        return [rel], None


class _Folder(_Tree):
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.label = root.name

    def _real(self, rel: str) -> Path | None:
        """The file ``rel`` names, symbolic links followed, when it stays under the root."""
        try:
            real = (self.root / rel).resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        return real if real.is_relative_to(self.root) else None

    def exists(self, rel: str) -> bool:
        try:
            return (self.root / rel).is_file() or (self.root / rel).is_symlink()
        except (OSError, ValueError):
            return False

    def _inside(self, rel: str, said: str) -> tuple[list[str], Message | None]:
        real = self._real(rel)
        if real is None:
            return [], msg("backstage-target-outside", target=said)
        if not real.is_file():
            return [], msg("backstage-target-missing", target=said)
        return [real.relative_to(self.root).as_posix()], None

    def read(self, rel: str, budget: list[int]) -> bytes:
        with (self.root / rel).open("rb") as fh:
            data = fh.read(budget[0] + 1)
        budget[0] -= len(data)
        if budget[0] < 0:
            raise ImportFailed(msg("backstage-run-too-large", file=self.label, limit=budget[1]), "import-too-large")
        return data

    def _head(self, path: Path) -> bytes:
        try:
            with path.open("rb") as fh:
                return fh.read(4096)
        except OSError:
            return b""

    def candidates(self) -> list[str]:
        out: list[str] = []
        seen = 0
        for here, dirs, files in os.walk(self.root):  # symbolic links to folders are not walked into
            seen += len(dirs) + len(files)
            if seen > MAX_WALK:
                raise ImportFailed(msg("backstage-folder-too-big", file=self.label, limit=MAX_WALK))
            depth = len(Path(here).relative_to(self.root).parts)
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and d != "node_modules" and depth < MAX_TREE_DEPTH
            )
            for name in sorted(files):
                path = Path(here) / name
                if not name.lower().endswith((".yaml", ".yml")) or path.is_symlink():
                    continue
                if _is_catalog_file(name, self._head(path)):
                    out.append(path.relative_to(self.root).as_posix())
                    if len(out) > MAX_FILES:
                        raise ImportFailed(msg("backstage-too-many-files", file=self.label, limit=MAX_FILES))
        return out

    def matches(self, pattern: str) -> list[str]:
        found = set()
        for p in self.root.glob(pattern):
            real = self._real(p.relative_to(self.root).as_posix())
            if real is not None and real.is_file():
                found.add(real.relative_to(self.root).as_posix())
                if len(found) > MAX_FILES:
                    raise ImportFailed(msg("backstage-too-many-files", file=self.label, limit=MAX_FILES))
        return sorted(found)


class _Archive(_Tree):
    """A zip of catalog files: its members are read in memory, bounded by :data:`MAX_FILES` members, the run's byte
    limit for what they unpack to, and :data:`MAX_TREE_DEPTH` folder levels; a member whose path leaves the archive
    (absolute, ``..``) or that is a symbolic link is never read (reported)."""

    def __init__(self, path: Path, max_bytes: int):
        import stat
        import zipfile

        from importers.base import zip_member_count

        self.label = path.name
        count = zip_member_count(path)
        if count is None:
            raise ImportFailed(msg("backstage-not-zip", file=path.name))
        if count > MAX_FILES:
            raise ImportFailed(msg("backstage-too-many-files", file=path.name, limit=MAX_FILES))
        try:
            self.zf = zipfile.ZipFile(path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise ImportFailed(msg("backstage-not-zip", file=path.name)) from None
        self.members: dict[str, Any] = {}
        self.notes: list[Rejection] = []
        total = 0
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            unsafe = (
                name.startswith(("/", "\\"))
                or re.match(r"^[A-Za-z]:", name)
                or ".." in name.replace("\\", "/").split("/")
                or stat.S_ISLNK(info.external_attr >> 16)
            )
            if unsafe or name.count("/") >= MAX_TREE_DEPTH:
                self.notes.append(Rejection(path.name, "", msg("backstage-member-skipped", name=clip(name))))
                continue
            total += info.file_size
            self.members[posixpath.normpath(name)] = info
        if total > max_bytes:
            raise ImportFailed(msg("backstage-run-too-large", file=path.name, limit=max_bytes), "import-too-large")

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def read(self, rel: str, budget: list[int]) -> bytes:
        with self.zf.open(self.members[rel]) as fh:  # the sizes the directory declares are not trusted
            data = fh.read(budget[0] + 1)
        budget[0] -= len(data)
        if budget[0] < 0:
            raise ImportFailed(msg("backstage-run-too-large", file=self.label, limit=budget[1]), "import-too-large")
        return data

    def candidates(self) -> list[str]:
        out = []
        for rel in sorted(self.members):
            if rel.lower().endswith((".yaml", ".yml")):
                with self.zf.open(self.members[rel]) as fh:
                    head = fh.read(4096)
                if _is_catalog_file(rel, head):
                    out.append(rel)
        return out

    def matches(self, pattern: str) -> list[str]:
        import fnmatch

        return [rel for rel in sorted(self.members) if fnmatch.fnmatchcase(rel, pattern)]


def location_targets(doc: Any) -> list[tuple[str, Any]]:
    """(field, target) for each file a Location entity names (``spec.target`` and ``spec.targets``); a target that
    is not text is returned as it is, for the caller to report."""
    if not isinstance(doc, dict) or str(doc.get("kind", "")).lower() != "location":
        return []
    spec = _mapping(doc.get("spec"))
    out: list[tuple[str, Any]] = []
    if spec.get("target") is not None:
        out.append(("spec.target", spec["target"]))
    targets = spec.get("targets")
    for i, target in enumerate(targets if isinstance(targets, list) else [] if targets is None else [targets]):
        out.append((f"spec.targets[{i}]" if isinstance(targets, list) else "spec.targets", target))
    return out


def _where(rel: str, n: int, doc: dict[str, Any]) -> Message:
    """Where a document is, as transform says it ("apis/x.yaml: document 2 (location:default/x)")."""
    where = msg("at-document", file=rel, n=n)
    try:
        return msg("at-item", where=where, item=str(self_ref(doc)))
    except (KeyError, TypeError, AttributeError):
        return where


def collect(tree: _Tree, start: list[str], max_bytes: int) -> Collected:
    """Read ``start`` (paths in ``tree``), then every file a Location names, depth first; a file is read once; a
    Location leading back to a file on its own chain is reported as a cycle, not followed."""
    out = Collected(notes=getattr(tree, "notes", []))
    done: set[str] = set()
    budget = [max_bytes, max_bytes]

    def visit(rel: str, chain: tuple[str, ...]) -> None:
        done.add(rel)
        if len(done) > MAX_FILES:
            raise ImportFailed(msg("backstage-too-many-files", file=tree.label, limit=MAX_FILES))
        docs = parse_yaml_documents(tree.read(rel, budget), rel)
        out.files.append((rel, docs))
        for n, doc in enumerate(docs, 1):
            for fld, target in location_targets(doc):
                where = _where(rel, n, doc)
                if not isinstance(target, str):
                    out.notes.append(Rejection(where, fld, msg("value-must-be-text")))
                    continue
                found, why = tree.locate(rel, target)
                if why is not None:
                    out.notes.append(Rejection(where, fld, why))
                for nxt in found:
                    if nxt in chain or nxt == rel:
                        out.notes.append(
                            Rejection(where, fld, msg("backstage-target-cycle", target=clip(target), file=nxt))
                        )
                    elif nxt in done:
                        continue  # read already (a directory's file, another Location's target)
                    elif len(chain) >= MAX_TREE_DEPTH:
                        out.notes.append(
                            Rejection(
                                where, fld, msg("backstage-target-too-deep", target=clip(target), limit=MAX_TREE_DEPTH)
                            )
                        )
                    else:
                        visit(nxt, (*chain, rel))

    for rel in start:
        if rel not in done:
            visit(rel, ())
    return out


# --- transforming -------------------------------------------------------------------------------------------------


@dataclass
class _Item:
    doc: dict[str, Any]
    ref: EntityRef
    where: str
    ours: str | None = None  # our ref
    entity: Entity | None = None
    place: str = ""  # where in the file, without the file's name ("document 2 (component:default/x)")


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


@dataclass
class Written:
    """What :meth:`BackstageImporter.resolve` needs to report a dangling reference in the file's own terms: each
    reference as written, by (location, field), and our refs of every entity the run defines (kept or rejected)."""

    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)


class BackstageImporter:
    name = "backstage"
    suffixes = (".yaml", ".yml")  # other YAML goes to the native importer unless claims() says it is Backstage
    description = "Backstage software-catalog YAML (catalog-info.yaml, multi-document; a directory or .zip of them)"
    reads_directories = True  # importers.base.prepare_import: a directory is this importer's to bound

    def __init__(self, mapping: Mapping = DEFAULT_MAPPING, metamodel: Metamodel | None = None):
        self.mapping = mapping
        self.metamodel = metamodel

    def claims(self, path: Path, head: bytes = b"") -> bool:
        """Picked without --format for catalog-info.yaml (Backstage's convention), YAML whose first lines say
        ``apiVersion: backstage.io/...``, or a directory with such a file at its top (a .zip needs
        ``--format backstage``)."""
        if path.is_dir():
            return any(self._head_says(p) for p in sorted(path.iterdir())[:200] if p.is_file())
        if path.suffix.lower() not in self.suffixes:
            return False
        return path.name.lower() in CATALOG_NAMES or _backstage_head(head)

    @staticmethod
    def _head_says(path: Path) -> bool:
        """A file a directory import reads (catalog-info.yaml, or YAML whose first lines say Backstage)."""
        if not path.name.lower().endswith((".yaml", ".yml")):
            return False
        try:
            with path.open("rb") as fh:
                return _is_catalog_file(path.name, fh.read(4096))
        except OSError:
            return False

    def read(self, path: Path, max_bytes: int) -> Collected:
        """The file and every file its Locations name under the file's folder; or, for a directory or a zip, every
        ``catalog-info.yaml`` (and YAML that says ``apiVersion: backstage.io/...``) in it and what their Locations
        name. At most ``max_bytes`` in all; nothing outside the root and nothing remote is ever read."""
        tree: _Tree
        if path.is_dir():
            tree = _Folder(path)
            start = tree.candidates()
        elif path.suffix.lower() == ".zip":
            tree = _Archive(path, max_bytes)
            start = tree.candidates()
        else:
            tree, start = _Folder(path.parent), [path.name]
        if not start:
            raise ImportFailed(msg("backstage-no-files", file=path.name))
        got = collect(tree, start, max_bytes)
        if not any(d is not None for _, docs in got.files for d in docs):
            raise ImportFailed(msg("backstage-empty", file=path.name))
        return got

    # -- transform ---------------------------------------------------------------------------------------------
    def transform(self, document: Collected | list[Any], source: str) -> Transformed:
        """Entities and relationships of a run (:class:`Collected`: references resolve across all its files) or of
        one file's documents (``source`` names it)."""
        from catalog.metamodel import DEFAULT

        mm = self.metamodel or DEFAULT
        t = Transformed()
        if isinstance(document, Collected):
            files, followed = document.files, True
            t.unmapped += document.notes
        else:
            files, followed = [(source, document)], False
        items: list[_Item] = []
        seen: dict[EntityRef, Message] = {}
        for name, docs in files:
            items += self._entities(docs, name, t, seen)
        by_ref = {i.ref: i for i in items}
        taken: dict[str, str] = {}  # our ref -> where: a Component and a System of one name would be one system
        for item in items:
            self._map_entity(item, by_ref, t, mm, followed)
            if item.entity is not None:
                if item.entity.ref in taken:
                    t.rejected.append(
                        Rejection(
                            item.where,
                            "metadata.name",
                            msg("backstage-ref-taken", ref=item.entity.ref, by=taken[item.entity.ref]),
                        )
                    )
                    item.entity = item.ours = None
                else:
                    taken[item.entity.ref] = item.place
        written = Written()
        for item in items:
            kind = self._our_kind(item.ref, by_ref, mm)
            if kind is not None:
                written.defined.add(f"{kind}:{our_code(item.ref, kind)}")
            if item.entity is not None:
                self._map_links(item, by_ref, t, mm, written)
        t.entities = [item.entity for item in items if item.entity is not None]
        t.deferred.append(written)
        return t

    def _entities(self, docs: list[Any], source: str, t: Transformed, seen: dict[EntityRef, Message]) -> list[_Item]:
        out: list[_Item] = []
        for n, doc in enumerate(docs, 1):
            where = msg("at-document", file=source, n=n)
            if doc is None:  # an empty document (a stray ---)
                continue
            if not isinstance(doc, dict):
                t.rejected.append(Rejection(where, "", msg("backstage-not-mapping")))
                continue
            bad = self._envelope_errors(doc)
            if bad:
                t.rejected += [Rejection(where, f, reason) for f, reason in bad]
                continue
            ref = self_ref(doc)
            where = msg("at-item", where=where, item=str(ref))
            t.source_types[doc["kind"]] = t.source_types.get(doc["kind"], 0) + 1
            if ref in seen:
                t.rejected.append(
                    Rejection(where, "metadata.name", msg("backstage-defined-twice-at", ref=str(ref), where=seen[ref]))
                )
                continue
            seen[ref] = msg("at-document", file=source, n=n)
            out.append(_Item(doc, ref, where, place=msg("at-item", where=msg("document-n", n=n), item=str(ref))))
        return out

    @staticmethod
    def _envelope_errors(doc: dict[str, Any]) -> list[tuple[str, Message]]:
        errors = []
        api = doc.get("apiVersion")
        if not isinstance(api, str) or not api.strip():
            errors.append(("apiVersion", msg("backstage-api-version-required")))
        if not isinstance(doc.get("kind"), str) or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", doc.get("kind", "")):
            errors.append(("kind", msg("backstage-kind-required")))
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            errors.append(("metadata", msg("backstage-metadata-required")))
        else:
            name = meta.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name.lower()) or len(name) > 63:
                errors.append(("metadata.name", msg("backstage-name-invalid", name=clip(repr(name)))))
            ns = meta.get("namespace")
            if ns is not None and (not isinstance(ns, str) or not NAMESPACE_RE.match(ns.lower()) or len(ns) > 63):
                errors.append(("metadata.namespace", msg("backstage-namespace-invalid", namespace=clip(repr(ns)))))
        if "spec" in doc and not isinstance(doc["spec"], dict):
            errors.append(("spec", msg("value-must-be-mapping")))
        elif isinstance(doc.get("kind"), str):
            spec = doc.get("spec") or {}
            kind = doc["kind"].lower()
            for name in REQUIRED.get(kind, ()):
                if spec.get(name) is None or spec.get(name) == "":
                    errors.append((f"spec.{name}", msg("backstage-spec-required", kind=doc["kind"])))
            if kind == "location" and not spec.get("target") and not spec.get("targets"):
                errors.append(("spec.targets", msg("backstage-location-targets")))
        return errors

    def _our_kind(self, ref: EntityRef, by_ref: dict[EntityRef, _Item], mm: Metamodel | None = None) -> str | None:
        if ref.kind == "resource":
            item = by_ref.get(ref)
            if item is None:
                return None  # decided against the catalog (see resolve)
            rtype = str((item.doc.get("spec") or {}).get("type") or "").lower()
            return self.mapping.resource_kinds.get(rtype, self.mapping.resource_kind_default)
        if ref.kind in KINDS:
            return KINDS[ref.kind]
        if ref.kind in NOT_KEPT:
            return None
        from catalog.metamodel import DEFAULT

        return PRESERVED if PRESERVED in (mm or self.metamodel or DEFAULT).kinds else None

    @staticmethod
    def _add_entity(
        t: Transformed, item: _Item, mm: Metamodel, kind: str, code: str, name: str, tags: list[str], attrs: dict
    ) -> None:
        """The catalog entity of ``item`` (its English name and description as written), validated; a refusal is
        reported at the item's place in its file."""
        meta = item.doc["metadata"]
        description = meta.get("description") if isinstance(meta.get("description"), str) else ""
        data = {
            "kind": kind,
            "code": code,
            "name": {"en": name},
            "description": {"en": description.strip()},
            "tags": tags,
            "attributes": attrs,
        }
        try:
            e = validate_entity(parse_entity(data), mm)
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, item.where)
            return
        item.ours, item.entity = e.ref, e
        t.locations[e.ref] = item.where

    def _kept(self, item: _Item, t: Transformed, skip: frozenset[str]) -> list[str]:
        """What ``source_properties`` keeps of an entity: its spec but the fields in ``skip``, its annotations,
        labels and links; at most :data:`MAX_KEPT` values (more, or longer values, are reported)."""
        meta = item.doc["metadata"]
        spec = _mapping(item.doc.get("spec"))
        kept: list[str] = []
        cut = kept_values({k: v for k, v in spec.items() if k not in skip}, "spec", kept)
        for key in ("annotations", "labels", "links"):
            cut += kept_values(meta.get(key), f"metadata.{key}", kept)
        if len(kept) > MAX_KEPT:
            t.unmapped.append(
                Rejection(item.where, "metadata", msg("backstage-kept-first", limit=MAX_KEPT, count=len(kept)))
            )
            kept = kept[:MAX_KEPT]
        if cut:
            cut_said = msg_plural("backstage-kept-cut", "backstage-kept-cut#plural", count=cut, limit=KEPT_CHARS)
            t.unmapped.append(Rejection(item.where, "metadata", cut_said))
        return kept

    def _preserve(self, item: _Item, t: Transformed, mm: Metamodel) -> None:
        """A kind the catalog has no counterpart for, kept whole: its kind and reference as ``source_type`` and
        ``source_id``, names, description, tags, the first link as ``url``; every other value (spec, annotations,
        labels, links) in ``source_properties``."""
        doc, ref = item.doc, item.ref
        meta = doc["metadata"]
        spec = _mapping(doc.get("spec"))
        attrs: dict[str, Any] = {"source_format": SOURCE_FORMAT, "source_type": str(doc["kind"]), "source_id": str(ref)}
        kept = self._kept(item, t, frozenset())
        if kept:
            attrs["source_properties"] = kept
        links = [x for x in _list(meta.get("links")) if isinstance(x, dict) and isinstance(x.get("url"), str)]
        if links:
            attrs["url"] = links[0]["url"]
        tags = [x for x in _list(meta.get("tags")) if isinstance(x, str)]
        if isinstance(spec.get("type"), str) and spec["type"].strip():
            tags.append(f"type:{spec['type'].strip()}")
        display = _mapping(spec.get("profile")).get("displayName")
        title = meta.get("title") if isinstance(meta.get("title"), str) else None
        name = (display if isinstance(display, str) else None) or title or meta["name"]
        self._add_entity(t, item, mm, PRESERVED, our_code(ref, PRESERVED), name, tags, attrs)

    def _map_entity(
        self, item: _Item, by_ref: dict[EntityRef, _Item], t: Transformed, mm: Metamodel, followed: bool = False
    ) -> None:
        doc, ref = item.doc, item.ref
        kind = self._our_kind(ref, by_ref, mm)
        meta = doc["metadata"]
        spec = doc.get("spec") or {}
        for fld, key, target in _placeholders(doc, ""):
            t.unmapped.append(Rejection(item.where, fld, msg("backstage-placeholder", key=key, target=target)))
        if kind is None:
            self._report_unmapped_kind(item, t, followed)
            return
        if kind == PRESERVED:
            self._preserve(item, t, mm)
            return
        shape: list[tuple[str, type]] = [
            (f"metadata.{k}", t_)
            for k, t_ in (("tags", list), ("links", list), ("title", str), ("description", str), ("annotations", dict))
            if meta.get(k) is not None and not isinstance(meta.get(k), t_)
        ]
        if isinstance(meta.get("tags"), list) and not all(isinstance(x, str) for x in meta["tags"]):
            shape.append(("metadata.tags", tuple))
        if shape:
            names: dict[type, Message] = {
                list: msg("pydantic-list-type"),
                str: msg("value-must-be-text"),
                dict: msg("value-must-be-mapping"),
                tuple: msg("backstage-must-be-text-list"),
            }
            t.rejected += [Rejection(item.where, f, names[ty]) for f, ty in shape]
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
                t.rejected.append(
                    Rejection(
                        item.where,
                        "spec.lifecycle",
                        msg(
                            "backstage-lifecycle-unknown",
                            value=clip(str(spec.get("lifecycle"))),
                            known=", ".join(self.mapping.lifecycles),
                        ),
                    )
                )
                return
            attrs["lifecycle"] = self.mapping.lifecycles[lc]
        if kind_spec is not None and not kind_spec.owned:  # an organisation: a Group
            attrs["org_type"] = self.mapping.group_types.get(str(stype or "").lower(), self.mapping.group_type_default)
            profile = _mapping(spec.get("profile"))
            display = profile.get("displayName")
        else:
            display = None
        if kind == "service":
            attrs["protocol"] = self.mapping.api_protocols.get(
                str(stype or "").lower(), self.mapping.api_protocol_default
            )
            definition = spec.get("definition")
            if isinstance(definition, str):
                t.unmapped.append(
                    Rejection(
                        item.where,
                        "spec.definition",
                        msg("backstage-definition-not-kept", type=str(stype or "API"), chars=len(definition)),
                    )
                )
        links = [x for x in (meta.get("links") or []) if isinstance(x, dict) and isinstance(x.get("url"), str)]
        if links:
            attrs["url"] = links[0]["url"]
        # the rest as it is written: the reference fields that became facts, type, lifecycle and an API's
        # definition (reported) aside; members are Users, kept by name
        kept = self._kept(item, t, MAPPED_SPEC | (REF_FIELDS.get(ref.kind, {}).keys() - {"members"}))
        if kept:
            attrs["source_properties"] = kept
        title = meta.get("title") if isinstance(meta.get("title"), str) else None
        self._add_entity(t, item, mm, kind, code_of(ref), display or title or meta["name"], tags, attrs)

    def _report_unmapped_kind(self, item: _Item, t: Transformed, followed: bool = False) -> None:
        kind = item.ref.kind
        if kind == "user":
            reason = msg("backstage-user-unmapped")
        elif kind == "domain":
            reason = msg("backstage-domain-unmapped", code=code_of(item.ref))
        elif kind == "location" and followed:
            reason = msg("backstage-location-followed")  # what it names was read; the reader reported the rest
        elif kind == "location":
            for fld, target in location_targets(item.doc):
                said = clip(str(target))
                t.unmapped.append(
                    Rejection(
                        item.where,
                        fld,
                        msg("backstage-target-remote", target=said)
                        if URL_RE.match(said)
                        else msg("backstage-target-local", target=said),
                    )
                )
            reason = msg("backstage-location-unmapped")
        else:
            reason = msg("backstage-kind-unmapped", kind=str(item.doc["kind"]))
        t.unmapped.append(Rejection(item.where, "kind", reason))

    # -- links: owner, parent, system, APIs, dependencies ------------------------------------------------------
    def _map_links(
        self, item: _Item, by_ref: dict[EntityRef, _Item], t: Transformed, mm: Metamodel, written: Written
    ) -> None:
        e = item.entity
        assert e is not None and item.ours is not None
        updates: dict[str, Any] = {}
        attrs = dict(e.attributes)
        tags = list(e.tags)
        for fld, ref in references(item.doc):
            if isinstance(ref, ValueError):
                said = ref.args[0] if ref.args and isinstance(ref.args[0], Message) else msg("backstage-ref-required")
                t.rejected.append(Rejection(item.where, fld, said))
                continue
            written.refs[(str(item.where), fld)] = str(ref)
            name = fld.split("[")[0].removeprefix("spec.")
            target_kind = self._our_kind(ref, by_ref, mm)
            target = f"{target_kind}:{our_code(ref, target_kind)}" if target_kind else None
            if name == "owner" and e.kind == PRESERVED:
                continue  # kept as it is written, in source_properties
            if name == "owner":
                if ref.kind == "user":
                    t.unmapped.append(Rejection(item.where, fld, msg("backstage-owner-person", ref=str(ref))))
                elif ref.kind != "group":
                    t.rejected.append(Rejection(item.where, fld, msg("backstage-owner-kind", ref=str(ref))))
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
                        t.rejected.append(
                            Rejection(
                                item.where,
                                fld,
                                msg("backstage-other-parent", ref=str(ref), parent=child.entity.attributes["parent"]),
                            )
                        )
                    elif "parent" not in child.entity.attributes:
                        child.entity = child.entity.model_copy(
                            update={"attributes": {**child.entity.attributes, "parent": e.ref}}
                        )
                        t.origins[f"{child.entity.ref}#attributes.parent"] = (item.where, fld)
                else:  # the child's own file states its parent; a missing child is reported, not refused
                    t.deferred.append(Child(item.where, fld, f"organization:{code_of(ref)}", str(ref)))
                continue
            if name == "members":
                continue  # Users are reported where they are defined
            if name == "domain":
                tags.append(f"domain:{code_of(ref)}")
            if name in ("domain", "subdomainOf") and target_kind != PRESERVED:
                continue  # the Domain itself is reported; a System keeps it as a tag
            reverse = name == "dependencyOf"
            if target is None:
                if ref.kind == "resource":
                    t.deferred.append(Deferred(e.ref, fld, item.where, code_of(ref), reverse))
                else:
                    t.unmapped.append(
                        Rejection(item.where, fld, msg("backstage-link-kind-unmapped", ref=str(ref), kind=ref.kind))
                    )
                continue
            self._link(e.ref, name, target, reverse, item.where, fld, t, mm)
        if attrs != e.attributes or tags != e.tags or updates:
            item.entity = e.model_copy(update={"attributes": attrs, "tags": sorted(set(tags)), **updates})

    def _link(
        self, ours: str, name: str, target: str, reverse: bool, where: str, fld: str, t: Transformed, mm: Metamodel
    ) -> None:
        rel = relationship_for(name, ours, target, reverse, mm)
        if rel is None:
            t.unmapped.append(
                Rejection(
                    where,
                    fld,
                    msg("backstage-link-unmapped", name=name, source=ours.split(":")[0], target=target.split(":")[0]),
                )
            )
            return
        try:
            r = validate_relationship(rel, mm)
        except ValidationFailed as exc:
            t.rejected += rejections_from(exc.errors, msg("at-field", where=where, field=fld))
            return
        if r.id in t.origins:
            return  # the same fact said twice (system and subcomponentOf to one parent ...)
        t.origins[r.id] = (where, fld)
        t.locations[r.id] = msg("at-field", where=where, field=fld)
        t.relationships.append(r)

    # -- resolve: Resources named but not defined in the file, references to nothing -------------------------
    def resolve(self, t: Transformed, known: Callable[[list[str]], set[str]]) -> None:
        """Finish what depends on the catalog: a link to a Resource defined elsewhere (a database or a platform),
        a child group outside the run; then every reference the run makes to an entity that is neither in it nor in
        the catalog is dropped and reported where the file wrote it (Backstage keeps such an entity and shows the
        dangling relation): the entity is imported without that owner, parent or link, strict or not."""
        from catalog.metamodel import DEFAULT

        mm = self.metamodel or DEFAULT
        in_file = {e.ref for e in t.entities}
        pending = [d for d in t.deferred if isinstance(d, Deferred)]
        children = [d for d in t.deferred if isinstance(d, Child)]
        written = next((d for d in t.deferred if isinstance(d, Written)), Written())
        wanted = {f"{k}:{d.code}" for d in pending for k in ("database", "platform")} | {c.ref for c in children}
        wanted -= in_file
        found = in_file | (known(sorted(wanted)) if wanted else set())
        for c in children:
            if c.ref not in found:
                t.unmapped.append(Rejection(c.where, c.field, msg("backstage-child-missing", group=c.backstage)))
        for d in pending:
            target = next(
                (f"{k}:{d.code}" for k in ("database", "platform") if f"{k}:{d.code}" in found), f"database:{d.code}"
            )  # neither: reported as dangling below
            name = d.field.split("[")[0].removeprefix("spec.")
            self._link(d.source, name, target, d.reverse, d.where, d.field, t, mm)
        t.deferred = [d for d in t.deferred if not isinstance(d, (Deferred, Child, Written))]
        self._drop_dangling(t, known, written)

    @staticmethod
    def _drop_dangling(t: Transformed, known: Callable[[list[str]], set[str]], written: Written) -> None:
        """Owners, parents and relationships naming an entity neither in the run nor in the catalog: each dropped
        and reported (in ``unmapped``: a warning, never a refusal). An entity the run defines but rejected is left
        to the framework's reference check, which rejects what depends on it."""
        in_file = {e.ref for e in t.entities}
        wanted = {x for r in t.relationships for x in (r.source, r.target)}
        for e in t.entities:
            wanted |= {p.org for p in e.owner_history}
            if isinstance(e.attributes.get("parent"), str):
                wanted.add(e.attributes["parent"])
        wanted -= in_file | written.defined
        if not wanted:
            return
        missing = wanted - known(sorted(wanted))
        if not missing:
            return

        def place(key: str, ref: str) -> tuple[str, str, str]:
            """Where the file wrote the reference behind ``key``, and the reference as written there."""
            where, fld = t.origins.pop(key, (t.locations.get(key, key), ""))
            return where, fld, written.refs.get((str(where), fld), ref)

        entities = []
        for e in t.entities:
            update: dict[str, Any] = {}
            owner = next((p.org for p in e.owner_history if p.org in missing), None)
            if owner is not None:
                where, fld, said = place(f"{e.ref}#owner", owner)
                t.unmapped.append(Rejection(where, fld, msg("backstage-owner-missing", ref=said)))
                update["owner_history"] = [p for p in e.owner_history if p.org not in missing]
            if e.attributes.get("parent") in missing:
                where, fld, said = place(f"{e.ref}#attributes.parent", e.attributes["parent"])
                t.unmapped.append(Rejection(where, fld, msg("backstage-parent-missing", group=said)))
                update["attributes"] = {k: v for k, v in e.attributes.items() if k != "parent"}
            entities.append(e.model_copy(update=update) if update else e)
        t.entities = entities
        kept = []
        for r in t.relationships:
            gone = next((x for x in (r.target, r.source) if x in missing), None)
            if gone is None:
                kept.append(r)
                continue
            where, fld, said = place(r.id, gone)
            t.unmapped.append(Rejection(where, fld, msg("backstage-link-missing", ref=said)))
            t.locations.pop(r.id, None)
        t.relationships = kept


# What Backstage's "A dependsOn B" becomes: the first of these relationship kinds in which the source depends on
# the target (RelationSpec.dependency) and whose endpoints the metamodel allows from A to B; else "B flows_to A" (B's
# data reaches A, so impact analysis finds A when B is down) where the metamodel allows that
DEPENDS_ON = ("reads", "hosted_on", "consumes")


def relationship_for(
    name: str, source: str, target: str, reverse: bool = False, metamodel: Metamodel | None = None
) -> Relationship | None:
    """Our relationship for a Backstage link ``name`` from ``source`` to ``target`` (our refs), or None."""
    from catalog.metamodel import DEFAULT

    relations = (metamodel or DEFAULT).relations
    if PRESERVED in (source.split(":", 1)[0], target.split(":", 1)[0]):  # a link to or from a kept Backstage kind
        if PRESERVED not in relations:
            return None
        source, target = (target, source) if reverse else (source, target)
        return Relationship(
            type=PRESERVED,
            source=source,
            target=target,
            properties={"source_format": SOURCE_FORMAT, "source_type": name},
        )
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


def importers() -> list[BackstageImporter]:
    return [BackstageImporter()]


def count_kinds(docs: list[Any]) -> Counter:
    """Backstage entities per kind in parsed documents (for reports and tests)."""
    return Counter(d["kind"] for d in docs if isinstance(d, dict) and isinstance(d.get("kind"), str))
