"""Content hashes of a whole catalog: equal hashes mean the same entities, relationships, attributes and events,
whatever store or import run holds them (provenance, versions and timestamps are bookkeeping and left out)."""

from __future__ import annotations

import hashlib

from catalog.changelog import canonical_json
from catalog.store.base import CatalogStore


def _strip(content: dict) -> dict:
    return {k: v for k, v in content.items() if k != "provenance"}


def content_hash(store: CatalogStore) -> str:
    h = hashlib.sha256()
    for e in sorted(store.iter_entities(), key=lambda x: x.ref):
        h.update(b"E" + canonical_json(_strip(e.content())).encode() + b"\n")
    for r in sorted(store.all_relationships(), key=lambda x: x.id):
        h.update(b"R" + canonical_json(_strip(r.content())).encode() + b"\n")
    for ev in sorted(store.list_events(), key=lambda x: x.id):
        h.update(b"V" + canonical_json(_strip(ev.content())).encode() + b"\n")
    return h.hexdigest()
