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


def content_hash_at(store: CatalogStore, seq: int | None = None, batch: int = 5000) -> str:
    """The content hash of the catalog as its change log says it stood after entry ``seq`` (default: the whole log):
    the last ``after`` of every entity, relationship and organisation event up to there (records left out, as
    :func:`content_hash` leaves them out). Equal to :func:`content_hash` when the stored state is what the log
    records; a backup is compared with its source at the backup's head this way, while the source goes on."""
    last: dict[str, str | None] = {}
    done = 0
    while seq is None or done < seq:
        n = batch if seq is None else min(batch, seq - done)
        entries = store.changelog(after_seq=done, limit=n)
        for e in entries:
            if not e.ref.startswith("record:"):
                last[e.ref] = None if e.after is None else canonical_json(_strip(e.after))
        if entries:
            done = entries[-1].seq
        if len(entries) < n:
            break
    h = hashlib.sha256()
    groups: dict[bytes, list[tuple[str, str]]] = {b"E": [], b"R": [], b"V": []}
    for ref, text in last.items():
        if text is not None:
            tag = b"R" if ref.startswith("rel:") else b"V" if ref.startswith("event:") else b"E"
            groups[tag].append((ref, text))
    for tag in (b"E", b"R", b"V"):  # by ref: entities by ref, relationships and events by id
        for _, text in sorted(groups[tag]):
            h.update(tag + text.encode() + b"\n")
    return h.hexdigest()
