"""The importer pattern: read -> transform -> load (-> clean up), and the registry every importer joins.

An importer declares what it reads (``name``, file ``suffixes``) and implements two stages:
- ``read(path)``: dumb; returns the parsed document or raises ImportFailed with a clear reason;
- ``transform(document, source)``: pure; returns the entities, relationships and events the file describes, plus
  every item it rejected (with its location and reason).
``run_import`` then checks references against the file and the store, and loads everything in one transaction with
provenance (source and run), or nothing at all. Built-in importers register exactly like an extension would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from catalog.errors import CatalogError, FieldError
from catalog.model import Entity, OrgEvent, Relationship
from catalog.permissions import SYSTEM, Principal, require
from catalog.store.base import BulkLoad, BulkResult, CatalogStore, WriteContext, new_run_id


class ImportFailed(CatalogError):
    """The file cannot be read at all (missing, too large, not the format it claims)."""

    status = 422
    code = "import-failed"


@dataclass(frozen=True)
class Rejection:
    location: str  # file and place: "hcmc.json: entities[12]", "sheet system, row 7, column lifecycle"
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.reason}" if self.field else f"{self.location}: {self.reason}"


@dataclass
class Transformed:
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    events: list[OrgEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # items of a type the mapping does not cover: reported, never dropped silently, and not a reason to refuse
    unmapped: list[Rejection] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)  # ref or relationship id -> where the file says it


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

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "run": self.run, "format": self.format, "dry_run": self.dry_run,
                "loaded": self.loaded, "created": self.result.created, "updated": self.result.updated,
                "unchanged": self.result.unchanged, "removed": self.result.removed,
                "rejected": [{"location": r.location, "field": r.field, "reason": r.reason} for r in self.rejected],
                "started": self.started, "finished": self.finished}


class Importer(Protocol):
    name: str
    suffixes: tuple[str, ...]
    description: str

    def read(self, path: Path, max_bytes: int) -> Any: ...

    def transform(self, document: Any, source: str) -> Transformed: ...


_REGISTRY: dict[str, Importer] = {}
# modules whose ``importers()`` returns the built-in importers; an extension calls ``register`` the same way
BUILTINS = ("importers.native",)
_BUILTINS_LOADED = False


def register(importer: Importer) -> Importer:
    if importer.name in _REGISTRY:
        raise ValueError(f"an importer named '{importer.name}' is already registered")
    _REGISTRY[importer.name] = importer
    return importer


def registry() -> dict[str, Importer]:
    """All importers by name; the built-ins are registered on first use (no work at import time)."""
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        import importlib

        _BUILTINS_LOADED = True
        for module in BUILTINS:
            for importer in importlib.import_module(module).importers():
                if importer.name not in _REGISTRY:  # an extension registered first keeps its name
                    register(importer)
    return dict(_REGISTRY)


def pick(path: Path, format: str | None) -> Importer:
    importers = registry()
    if format:
        if format not in importers:
            raise ImportFailed(f"unknown format '{format}'; available: {', '.join(sorted(importers))}")
        return importers[format]
    for imp in importers.values():
        if path.suffix.lower() in imp.suffixes:
            return imp
    raise ImportFailed(f"{path.name}: cannot tell the format from the name; use --format "
                       f"({', '.join(sorted(importers))})")


def check_size(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportFailed(f"{path.name}: {size:,} bytes is larger than the limit of {max_bytes:,} bytes")


def _check_references(t: Transformed, store: CatalogStore, where: dict[str, str]) -> None:
    """Reject relationships (and events) whose endpoints are neither in the file nor in the store."""
    known = {e.ref for e in t.entities}
    wanted = {r.source for r in t.relationships} | {r.target for r in t.relationships}
    wanted |= {ref for ev in t.events for ref in ev.from_ + ev.to}
    for e in t.entities:
        wanted |= {p.org for p in e.owner_history}
    missing = wanted - known
    if missing:
        missing -= set(store.get_entities(sorted(missing)))
    if not missing:
        return
    kept = []
    for r in t.relationships:
        bad = [x for x in (r.source, r.target) if x in missing]
        if bad:
            t.rejected.append(Rejection(where.get(r.id, r.id), "source" if r.source in missing else "target",
                                        f"{bad[0]} is neither in the file nor in the catalog"))
        else:
            kept.append(r)
    t.relationships = kept
    for e in t.entities:
        for i, p in enumerate(e.owner_history):
            if p.org in missing:
                t.rejected.append(Rejection(where.get(e.ref, e.ref), f"owner_history.{i}.org",
                                            f"{p.org} is neither in the file nor in the catalog"))
    for ev in t.events:
        for ref in ev.from_ + ev.to:
            if ref in missing:
                t.rejected.append(Rejection(where.get(ev.ref, ev.ref), "from/to",
                                            f"{ref} is neither in the file nor in the catalog"))


def run_import(store: CatalogStore, path: str | Path, format: str | None = None, *, principal: Principal = SYSTEM,
               dry_run: bool = False, strict: bool = True, cleanup: bool = False, max_bytes: int = 200_000_000,
               progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import one file. With ``strict`` (the default) any rejected item means nothing is loaded."""
    require(principal, "import")
    path = Path(path)
    importer = pick(path, format)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    check_size(path, max_bytes)
    document = importer.read(path, max_bytes)
    source = f"{importer.name}:{path.name}"
    t = importer.transform(document, path.name)
    _check_references(t, store, t.locations)
    run = new_run_id()
    result = BulkResult()
    loaded = False
    if not (strict and t.rejected):
        load = BulkLoad(source=source, run=run, entities=t.entities, relationships=t.relationships, events=t.events,
                        cleanup=cleanup)
        result = store.bulk_load(load, WriteContext(actor=principal.name), progress=progress, dry_run=dry_run)
        loaded = not dry_run
    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return ImportReport(source=source, run=run, format=importer.name, dry_run=dry_run, loaded=loaded, result=result,
                        rejected=t.rejected, started=started, finished=finished)


def rejections_from(errors: list[FieldError], location: str) -> list[Rejection]:
    return [Rejection(location, e.location, e.reason) for e in errors]
