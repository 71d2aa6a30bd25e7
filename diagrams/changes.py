"""What the ``diff`` view reads: only the facts that can differ between its two dates, not both whole records.

The diff compares the snapshot at ``from`` (the record at the end of that day, the world on that day) with the one at
``to`` (catalog.history.snapshot). A fact can be drawn differently on the two dates only if

1. it was written between the two records (then it has a change-log entry after the ``from`` record's head: it is
   in that record's :class:`~catalog.history.snapshot.Rewind`), or
2. one of its validity or ownership periods starts or ends in ``(from, to]``: on both days the content is the same,
   but it is valid on one day only, or owned by someone else, or
3. (a relationship) one of its ends is drawn on one date and not on the other (by 1 or 2).

Everything else is the same object on both dates, valid on both or on neither, with the same owner: unchanged, and
not drawn unless it is the other end of a changed relationship. So :func:`changed_snapshots` reads the current
record's text once (``store.graph_json()``) and looks in it without parsing: an entity is parsed only when its text
holds a ``start``, ``end``, ``valid_from`` or ``valid_to`` date within ``(from, to]`` (a superset: any key of that
name), a relationship only when its text does not end in "valid at all times" (facts.py), or names an entity of 3,
or was written between. Then it reads what drawing those looks up: the other ends of their relationships, the owner
on each day of every entity read, the ``via`` platforms (``store.part_json``, by reference). Both snapshots are made
by :func:`~catalog.history.snapshot.snapshot_from`, as whole ones are, from the same references and relationship ids: each
fact as it was in that date's record (the current one, or its rewind). Compared, they give exactly what the whole
snapshots give (tested: the same DOT for the sample across the 2025 mergers and after later additions, moves and
deletions, and for a synthetic catalog).

For the 5,000-entity synthetic catalog between 2025-02-01 and 2025-08-01 (1,261 nodes drawn), that is the 8 MB of
text read as before, 1,250 of 5,000 entities and none of 15,000 relationships parsed from it, 737 entities' 714
relationships read by reference, and a quarter of the entities compared: see docs/diagrams.md, "Reading".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TypeVar

import orjson

from catalog.cache import per_store
from catalog.history import snapshot as _snapshot
from catalog.history.facts import EntityFacts, RelationshipFacts
from catalog.history.snapshot import FactGraph, Snapshot, recorded_revision, rewind_from, snapshot_from
from catalog.store.base import CatalogStore

# a date-valued key that may bound a validity or ownership period (white space allowed; canonical JSON has none)
_BOUNDARY = re.compile(r'"(?:start|end|valid_from|valid_to)"\s*:\s*"([^"]*)"')
_COMPACT = '{"attributes":{'  # how an entity's canonical content JSON begins
_ALWAYS = ',"valid_from":null,"valid_to":null}'  # the end of a relationship valid at all times (facts.py)


def bounded_between(texts: list[str], start: dt.date, end: dt.date) -> list[str]:
    """The entity texts that may have a validity or ownership period starting or ending in ``(start, end]``: a
    superset (any key named start, end, valid_from or valid_to with a value in that range), found without parsing.

    Every date in the range begins with the two dates' common prefix ("2025-0" for 2025-02-01..2025-08-01), so a
    text in canonical form (compact: no space after a colon) without that prefix right after a key has none; that is
    cheaper to see than to search each text for its boundaries (texts not in that form are searched)."""
    lo, hi = start.isoformat(), end.isoformat()
    marker = '":"' + lo[: next((i for i, (a, b) in enumerate(zip(lo, hi, strict=False)) if a != b), len(lo))]
    return [
        t
        for t in texts
        if (marker in t or not t.startswith(_COMPACT)) and any(lo < v <= hi for v in _BOUNDARY.findall(t))
    ]


F = TypeVar("F", EntityFacts, RelationshipFacts)


def _at(back: dict[str, F | None], current: dict[str, F]) -> Callable[[str], F | None]:
    """A fact as it is in a record: its state in the record's rewind if it was written since, else the current one."""

    def get(key: str) -> F | None:
        return back[key] if key in back else current.get(key)

    return get


def changed_snapshots(store: CatalogStore, start: dt.date, end: dt.date) -> tuple[Snapshot, Snapshot] | None:
    """The snapshots at ``start`` and at ``end`` (each: the record at the end of that day, the world on that day),
    restricted to what can differ between them and what drawing that looks up (see the module docstring). None when
    more than ``REWIND_LIMIT`` change-log entries were written after ``start``'s record, or anything was written
    while reading: then read both whole (``load_snapshot``)."""
    head = store.revision()
    rev1, rev2 = recorded_revision(store, start), recorded_revision(store, end)
    if head[0] - rev1.seq > _snapshot.REWIND_LIMIT:
        return None
    entries = store.changelog(after_seq=rev1.seq) if head[0] > rev1.seq else []
    rw1, rw2 = rewind_from(entries, rev1.seq), rewind_from(entries, rev2.seq)
    ent_texts, rel_texts = store.graph_json()
    ents: dict[str, EntityFacts] = {}  # current facts read (by ref)
    rels: dict[str, RelationshipFacts] = {}  # current facts read (by id)
    absent: set[str] = set()  # refs not in the current record

    def fetch(refs: set[str]) -> None:
        """The current facts of these entities (those not read yet)."""
        missing = sorted(refs - ents.keys() - absent)
        if missing:
            for text in store.part_json(missing, relationships=False)[0]:
                e = EntityFacts(orjson.loads(text))
                ents[e.ref] = e
            absent.update(set(missing) - ents.keys())

    for text in bounded_between(ent_texts, start, end):  # 2
        e = EntityFacts(orjson.loads(text))
        ents[e.ref] = e
    fetch(rw1.entities.keys() - rw2.entities.keys())  # written between the records: now as at ``end``
    e1 = _at(rw1.entities, ents)
    e2 = _at(rw2.entities, ents)
    refs = ents.keys() | rw1.entities.keys()  # every entity that can differ (1, 2)

    def kept(e: EntityFacts | None, day: dt.date) -> bool:
        return (
            e is not None and (e.valid_from is None or e.valid_from <= day) and (e.valid_to is None or day < e.valid_to)
        )

    moved = {ref for ref in refs if kept(e1(ref), start) != kept(e2(ref), end)}  # their relationships: 3
    ids = set(rw1.relationships)  # 1
    for text in rel_texts:
        if not text.endswith(_ALWAYS):  # 2
            f = RelationshipFacts(text)
            if any(d is not None and start < d <= end for d in (f.valid_from, f.valid_to)):
                ids.add(f.id)
                rels[f.id] = f
    # 3 (from the store's index of relationships by end), and those written between the records as they are now
    # (as at ``end``), found by their ends
    wanted = rw1.relationships.keys() - rw2.relationships.keys()
    ends = {
        x
        for entry in entries
        if entry.ref.startswith("rel:") and entry.ref[4:] in wanted
        for c in (entry.before, entry.after)
        if c is not None
        for x in (c["source"], c["target"])
    }
    if moved or ends:
        for text in store.part_json(sorted(moved | ends))[1]:
            f = RelationshipFacts(text)
            if f.id in wanted or f.source in moved or f.target in moved:
                rels.setdefault(f.id, f)
                ids.add(f.id)
    r1 = _at(rw1.relationships, rels)
    r2 = _at(rw2.relationships, rels)
    versions = [(r1, e1, start), (r2, e2, end)]
    # what drawing looks up: both ends of every relationship, the owner of every entity on its day and its first
    # owner, via platforms
    drawn = [r for rec, _, _ in versions for rid in ids if (r := rec(rid)) is not None]
    refs = refs | {ref for r in drawn for ref in (r.source, r.target)}
    vias = {v for r in drawn if isinstance(v := r.properties.get("via"), str)}
    fetch(refs - rw1.entities.keys())
    owners = {
        o
        for _, rec, day in versions
        for ref in refs
        if (held := rec(ref)) is not None and isinstance(o := held.owner_on(day), str)
    }
    firsts = {  # an entity's first owner: a drawing names it beside a namesake's owner (diagrams.dot)
        o
        for _, rec, _ in versions
        for ref in refs
        if (held := rec(ref)) is not None
        and (history := held.data.get("owner_history"))
        and isinstance(o := history[0].get("org"), str)
    }
    refs |= owners | vias | firsts
    fetch(refs - rw1.entities.keys())
    if store.revision() != head:  # written meanwhile: the reads may mix two records
        return None
    snaps = []
    for (rec_r, rec_e, day), rev in zip(versions, (rev1, rev2), strict=False):
        found = {ref: fact for ref in refs if (fact := rec_e(ref)) is not None}
        links = [link for rid in ids if (link := rec_r(rid)) is not None]
        snaps.append(snapshot_from(store.metamodel, FactGraph(found, links), day, day, rev))
    return snaps[0], snaps[1]


def diff_snapshots(store: CatalogStore, start: dt.date, end: dt.date) -> tuple[Snapshot, Snapshot] | None:
    """:func:`changed_snapshots`, kept per store and change-log head (the same diff drawn again reads nothing)."""
    head = store.revision()
    return per_store(
        _snapshot.PAIRS,
        store,
        (head, start, end),
        2,
        lambda: changed_snapshots(store, start, end),
        keep=lambda pair: pair is not None and store.revision() == head,
    )


__all__ = ["bounded_between", "changed_snapshots", "diff_snapshots"]
