"""The native format (JSON or YAML; see docs/native-format.md): lossless export and import of a whole catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog.errors import ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import Metamodel
from catalog.model import (
    OrgEvent,
    parse_entity,
    parse_relationship,
    pydantic_errors,
    validate_entity,
    validate_event,
    validate_relationship,
)
from catalog.store.base import CatalogStore
from importers.base import ImportFailed, Rejection, Transformed, clip, decode_text, rejections_from

FORMAT = "ioc-catalog"
FORMAT_VERSION = 1


class NativeImporter:
    name = "native"
    suffixes = (".json", ".yaml", ".yml")
    description = "ioc-catalog native JSON/YAML (lossless)"

    def __init__(self, metamodel: Metamodel | None = None):
        self.metamodel = metamodel

    def read(self, path: Path, max_bytes: int) -> Any:
        raw = path.read_bytes()[: max_bytes + 1]
        text = decode_text(path.name, raw)
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                doc = yaml.safe_load(text)
            else:
                doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed(
                msg("json-invalid-at", file=path.name, problem=exc.msg, line=exc.lineno, column=exc.colno)
            ) from None
        except Exception as exc:  # yaml.YAMLError and its subclasses
            raise ImportFailed(msg("yaml-invalid", file=path.name, problem=clip(str(exc)))) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ImportFailed(msg("native-not-catalog-file", file=path.name, format=FORMAT))
        if doc.get("format_version") != FORMAT_VERSION:
            raise ImportFailed(
                msg(
                    "native-version-unsupported",
                    file=path.name,
                    version=clip(repr(doc.get("format_version"))),
                    supported=FORMAT_VERSION,
                )
            )
        return doc

    def transform(self, document: dict[str, Any], source: str) -> Transformed:
        from catalog.metamodel import DEFAULT

        mm = self.metamodel or DEFAULT
        t = Transformed()
        seen: set[str] = set()
        for section in ("entities", "relationships", "org_events"):
            if not isinstance(document.get(section, []), list):
                t.rejected.append(Rejection(f"{source}: {section}", "", msg("pydantic-list-type")))
        entities = document.get("entities") if isinstance(document.get("entities"), list) else []
        for i, item in enumerate(entities or []):
            where = f"{source}: entities[{i}]"
            try:
                e = validate_entity(parse_entity(item), mm)
            except ValidationFailed as exc:
                ref = item.get("ref") if isinstance(item, dict) else None
                t.rejected += rejections_from(exc.errors, msg("at-item", where=where, item=str(ref)) if ref else where)
                continue
            if e.ref in seen:
                t.rejected.append(
                    Rejection(msg("at-item", where=where, item=e.ref), "ref", msg("appears-twice", item=e.ref))
                )
                continue
            seen.add(e.ref)
            t.locations[e.ref] = msg("at-item", where=where, item=e.ref)
            t.entities.append(e)
        rel_seen: set[str] = set()
        rels = document.get("relationships") if isinstance(document.get("relationships"), list) else []
        for i, item in enumerate(rels or []):
            where = f"{source}: relationships[{i}]"
            try:
                r = validate_relationship(parse_relationship(item), mm)
            except ValidationFailed as exc:
                t.rejected += rejections_from(exc.errors, where)
                continue
            if r.id in rel_seen:
                t.rejected.append(Rejection(where, "id", msg("appears-twice", item=r.id)))
                continue
            rel_seen.add(r.id)
            t.locations[r.id] = msg("at-item", where=where, item=r.id)
            t.relationships.append(r)
        events = document.get("org_events") if isinstance(document.get("org_events"), list) else []
        for i, item in enumerate(events or []):
            where = f"{source}: org_events[{i}]"
            try:
                ev = validate_event(OrgEvent.model_validate(item))
            except ValidationError as exc:
                t.rejected += rejections_from(pydantic_errors(exc), where)
                continue
            except ValidationFailed as exc:
                t.rejected += rejections_from(exc.errors, where)
                continue
            t.locations[ev.ref] = msg("at-item", where=where, item=ev.ref)
            t.events.append(ev)
        return t


def importers() -> list[NativeImporter]:
    return [NativeImporter()]


def export_native(
    store: CatalogStore, include_changelog: bool = False, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole catalog as a native document, in a stable order (same catalog, same bytes)."""
    entities = [
        e.model_dump(mode="json", exclude={"version", "created_at", "updated_at"})
        for e in sorted(store.iter_entities(), key=lambda x: x.ref)
    ]
    rels = [
        r.model_dump(mode="json", exclude={"version", "created_at", "updated_at"})
        for r in sorted(store.all_relationships(), key=lambda x: x.id)
    ]
    events = [ev.content() for ev in sorted(store.list_events(), key=lambda x: x.id)]
    seq, head = store.revision()
    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": {**(metadata or {}), "revision": {"seq": seq, "hash": head}},
        "entities": entities,
        "relationships": rels,
        "org_events": events,
    }
    if include_changelog:
        doc["changelog"] = [c.model_dump(mode="json") for c in store.changelog()]
    return doc


def write_native(store: CatalogStore, path: Path, include_changelog: bool = False) -> None:
    doc = export_native(store, include_changelog)
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")
