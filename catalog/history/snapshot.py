"""The part of the catalog a view reads: one instant of both clocks, with the lookups views need.

A diagram is drawn *as of* a date D, and the catalog has two clocks (docs/architecture.md, "Two clocks"):

- **transaction time**: with ``as_of=D`` the graph is ``store.graph_as_of(D)``, i.e. what the catalog had *recorded*
  by the end of D (UTC); without it, the current record;
- **valid time**: from that record, the view keeps what was true *in the world* on day D: entities and relationships
  whose ``valid_from``/``valid_to`` span D, each owned asset clustered under ``owner_on(D)``.

So ``as_of=D`` answers the auditor's question "what did the catalog say on D about D". ``valid_on`` sets the world
date on its own, for the other question "what does the catalog (now, or as recorded on ``as_of``) say about day X";
it defaults to ``as_of`` and, without either, to today (the store's clock). A record that holds nothing at ``as_of``
(the catalog was created later) raises :class:`NothingRecorded` naming the first recorded date, instead of drawing an
empty diagram.
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from catalog.cache import cached, per_store
from catalog.changelog import GENESIS, canonical_json
from catalog.errors import CatalogError, FieldError, NotFound, ValidationFailed
from catalog.history.facts import EntityFacts, RelationshipFacts, parse_graph
from catalog.i18n import msg
from catalog.metamodel import Metamodel
from catalog.model import ChangeEntry, Entity, Relationship
from catalog.store.base import RECORD_PREFIX, CatalogStore, EntityFilter, Subgraph, as_instant


class NothingRecorded(CatalogError):
    """The change log holds nothing at the requested instant."""

    status = 404
    code = "nothing-recorded"


@dataclass(frozen=True)
class Revision:
    """The change-log head a diagram was drawn from: sequence number and hash."""

    seq: int
    hash: str
    time: str = ""  # time of that entry (UTC), "" for an empty log

    @property
    def short(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: dt.date | str | None, name: str) -> dt.date | None:
    """A day from a date or a ``YYYY-MM-DD`` text (nothing looser: Python also reads "20250101" and week dates);
    None for None or empty text."""
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    text = str(value).strip()
    if not text:
        return None
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed([FieldError(name, msg("value-not-a-day", value=text[:40]))]) from None


def parse_instant(value: dt.datetime | dt.date | str | None, name: str) -> dt.datetime | dt.date | None:
    """A record instant (the *as recorded at* clock): a day ``YYYY-MM-DD`` (its end, UTC) or an ISO date-time
    (``2026-12-06T10:00:00Z``; without a zone, UTC); None for None or empty text."""
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text or _DAY.match(text):
        return parse_day(text, name)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else None
    except ValueError:
        when = None
    if when is None:
        raise ValidationFailed([FieldError(name, msg("not-a-date-time", value=text[:40]))])
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def revision_at(store: CatalogStore, as_of: dt.date | None) -> Revision:
    """The change-log head at the end of ``as_of`` (the current head without it).

    Times grow with sequence numbers, so the entries up to an instant are a prefix of the log: a binary search
    with ``changelog(after_seq=..., until=..., limit=1)`` finds its last entry in O(log n) reads on any backend.
    """
    seq, head = store.revision()
    if seq == 0:
        return Revision(0, GENESIS)
    until = None if as_of is None else as_instant(as_of)
    last = store.changelog(after_seq=seq - 1, until=until, limit=1)
    if as_of is None or last:  # the head itself (the usual case for a recent date: one read)
        return Revision(seq, head, last[0].time if last else "")
    lo, hi = 0, seq  # invariant: entry lo is within (or lo == 0), entry hi + 1 is not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if store.changelog(after_seq=mid - 1, until=until, limit=1):
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return Revision(0, GENESIS)
    entry = store.changelog(after_seq=lo - 1, limit=1)[0]
    return Revision(entry.seq, entry.hash, entry.time)


@dataclass(frozen=True)
class FactGraph:
    """A recorded graph as stored facts (:mod:`catalog.history.facts`): what views read instead of full models."""

    entities: Mapping[str, EntityFacts]
    relationships: Sequence[RelationshipFacts]


def _valid(obj: Entity | Relationship | EntityFacts | RelationshipFacts, day: dt.date) -> bool:
    start, end = obj.valid_from, obj.valid_to
    return (start is None or start <= day) and (end is None or day < end)


@dataclass
class Snapshot:
    """Entities and relationships valid on ``day`` in the record at ``as_of``, with lookups."""

    metamodel: Metamodel
    # full models (Entity, Relationship) or stored facts (EntityFacts, RelationshipFacts): views read them alike
    entities: dict[str, Any]
    relationships: list[Any]
    day: dt.date  # valid time
    as_of: dt.date | None  # transaction time (None: current record)
    revision: Revision
    all_entities: dict[str, Any] = field(default_factory=dict)  # the record, before valid-time filtering

    def owner(self, ref: str) -> str | None:
        """Owner of ``ref`` on the snapshot's day (valid time)."""
        e = self.entities.get(ref) or self.all_entities.get(ref)
        if e is None:
            return None
        return e.owner_on(self.day)

    def entity(self, ref: str) -> Entity | None:
        return self.entities.get(ref) or self.all_entities.get(ref)

    def require(self, ref: str, kinds: tuple[str, ...] = ()) -> Entity:
        e = self.entities.get(ref)
        if e is None:
            raise NotFound(
                msg("entity-not-on-day", ref=ref, day=self.day)
                if self.as_of or self.day
                else msg("entity-not-found", ref=ref)
            )
        if kinds and e.kind not in kinds:
            raise ValidationFailed(
                [FieldError("ref", msg("view-needs-kind", ref=ref, kind=e.kind, kinds=" / ".join(kinds)))]
            )
        return e

    @cached
    def outgoing(self) -> dict[str, list[Relationship]]:
        out: dict[str, list[Relationship]] = defaultdict(list)
        for r in self.relationships:
            out[r.source].append(r)
        return out

    @cached
    def incoming(self) -> dict[str, list[Relationship]]:
        out: dict[str, list[Relationship]] = defaultdict(list)
        for r in self.relationships:
            out[r.target].append(r)
        return out

    def touching(self, ref: str) -> list[Relationship]:
        return self.outgoing.get(ref, []) + self.incoming.get(ref, [])

    def descendants(self, org: str) -> set[str]:
        """``org`` and every organisation whose parent chain leads to it."""
        children: dict[str, list[str]] = defaultdict(list)
        for e in self.entities.values():
            parent = e.attributes.get("parent") if self.metamodel.is_organisation(e.kind) else None
            if parent:
                children[parent].append(e.ref)
        out, todo = {org}, [org]
        while todo:
            for c in children.get(todo.pop(), []):
                if c not in out:
                    out.add(c)
                    todo.append(c)
        return out


def snapshot_from(
    metamodel: Metamodel, graph: Subgraph | FactGraph, day: dt.date, as_of: dt.date | None, revision: Revision
) -> Snapshot:
    """Keep what is valid on ``day`` from a recorded graph; drop relationships whose ends are not kept."""
    kept = {ref: e for ref, e in graph.entities.items() if _valid(e, day)}
    rels = sorted(
        (r for r in graph.relationships if r.source in kept and r.target in kept and _valid(r, day)),
        key=attrgetter("id"),
    )
    return Snapshot(
        metamodel=metamodel,
        entities=dict(sorted(kept.items())),
        relationships=rels,
        day=day,
        as_of=as_of,
        revision=revision,
        all_entities=dict(graph.entities),
    )


def recorded_graph(store: CatalogStore, as_of: dt.date | None) -> Subgraph:
    """The record at the end of ``as_of`` (None: the current one) as full models (the audit bundle's compliance
    report and inventory use them; views read :func:`recorded_facts`)."""
    if as_of is None:
        return Subgraph(entities={e.ref: e for e in store.iter_entities()}, relationships=store.all_relationships())
    return store.graph_as_of(as_of)


REWIND_LIMIT = 500  # past this many change-log entries after a date, its record is rebuilt from the log instead


@dataclass
class Rewind:
    """The state at some revision of every fact written after it (None: it did not exist then)."""

    entities: dict[str, EntityFacts | None]
    relationships: dict[str, RelationshipFacts | None]  # by id


class RecordReader:
    """Reads the record at ``revision`` (whole or in parts) as :mod:`catalog.history.facts`, from the store's current tables
    and indexes: they hold the current record, and the record at an earlier revision is the current one with every
    fact written since put back as it was (``rewind``: the ``before`` of its first later change-log entry). That
    is cheaper than rebuilding the record from the whole change log (``store.graph_json(as_of)``), and lets a view
    read just its part. :meth:`unchanged` tells whether anything was written while reading (then the reads may
    mix two revisions: read again from the change log)."""

    def __init__(self, store: CatalogStore, revision: Revision, head: tuple[int, str], rewind: Rewind | None):
        self.store, self.revision, self.head, self.rewind = store, revision, head, rewind

    def unchanged(self) -> bool:
        return self.store.revision() == self.head

    def part(
        self, refs: Iterable[str] = (), owners: Iterable[str] = (), relationships: bool = True
    ) -> tuple[dict[str, EntityFacts], list[RelationshipFacts]]:
        """As ``store.part_json`` (the entities ``refs``, those whose owner history names one of ``owners``, the
        relationships of all of them), in the record at the reader's revision."""
        refs, owners = set(refs), set(owners)
        ents, rels = parse_graph(*self.store.part_json(sorted(refs), sorted(owners), relationships))
        rw = self.rewind
        if rw is None:
            return ents, rels
        for ref, f in rw.entities.items():
            ents.pop(ref, None)
            if f is not None and (ref in refs or any(p["org"] in owners for p in f.data["owner_history"])):
                ents[ref] = f
        if not relationships:
            return ents, rels
        by_id = {r.id: r for r in rels}
        back = [ref for ref in ents if ref in rw.entities]  # their unchanged relationships were not read yet
        if back:
            by_id.update((r.id, r) for r in parse_graph(*self.store.part_json(sorted(back)))[1])
        for rid, rf in rw.relationships.items():
            by_id.pop(rid, None)
            if rf is not None:
                by_id[rid] = rf
        return ents, [r for r in by_id.values() if r.source in ents or r.target in ents]

    def where(self, kind: str, attributes: dict[str, str]) -> set[str]:
        """Refs of the entities of ``kind`` with these attribute values, in the record at the reader's revision."""
        found = {e.ref for e in self.store.list_entities(EntityFilter(kind=kind, attributes=attributes, limit=10**9))}
        for ref, f in self.rewind.entities.items() if self.rewind else ():
            found.discard(ref)
            if f is not None and f.kind == kind and all(f.attributes.get(k) == v for k, v in attributes.items()):
                found.add(ref)
        return found

    def whole(self) -> tuple[dict[str, EntityFacts], list[RelationshipFacts]]:
        ents, rels = parse_graph(*self.store.graph_json())
        if self.rewind is None:
            return ents, rels
        by_id = {r.id: r for r in rels}
        for ref, ef in self.rewind.entities.items():
            ents.pop(ref, None)
            if ef is not None:
                ents[ref] = ef
        for rid, rf in self.rewind.relationships.items():
            by_id.pop(rid, None)
            if rf is not None:
                by_id[rid] = rf
        return ents, list(by_id.values())


def record_reader(store: CatalogStore, as_of: dt.date | None, revision: Revision | None = None) -> RecordReader | None:
    """A reader of the record at the end of ``as_of`` (None: the current one) from the current tables, or None when
    more than REWIND_LIMIT change-log entries were written since (read it from the change log then)."""
    head = store.revision()
    revision = revision or recorded_revision(store, as_of)
    if revision.seq == head[0]:
        return RecordReader(store, revision, head, None)
    if head[0] - revision.seq > REWIND_LIMIT:
        return None
    return RecordReader(store, revision, head, rewind_from(store.changelog(after_seq=revision.seq), revision.seq))


def rewind_from(entries: Iterable[ChangeEntry], seq: int) -> Rewind:
    """The state at revision ``seq`` of every fact written after it, from the change-log entries after ``seq`` (in
    sequence order; earlier entries are skipped): the ``before`` of each fact's first later entry."""
    ents: dict[str, EntityFacts | None] = {}
    rels: dict[str, RelationshipFacts | None] = {}
    for e in entries:
        if e.seq <= seq:
            continue
        if e.ref.startswith("rel:"):
            if e.ref[4:] not in rels:
                rels[e.ref[4:]] = None if e.before is None else RelationshipFacts(canonical_json(e.before))
        elif not e.ref.startswith(("event:", RECORD_PREFIX)) and e.ref not in ents:
            ents[e.ref] = None if e.before is None else EntityFacts(e.before)
    return Rewind(ents, rels)


_RECORDS: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, tuple]] = weakref.WeakKeyDictionary()


def recorded_facts(store: CatalogStore, as_of: dt.date | None, revision: Revision) -> tuple[dict, list]:
    """The record at ``revision`` (the change-log head at the end of ``as_of``) as :mod:`catalog.history.facts`: entities by
    ref and relationships. Read from the current tables (:class:`RecordReader`) unless many entries were written
    since, else from the change log (``store.graph_json(as_of)``); kept per store and revision (the two dates of a
    diff, or several views of one revision, read it once)."""

    def read() -> tuple[dict, list]:
        reader = record_reader(store, as_of, revision)
        record = reader.whole() if reader is not None else None
        if record is None or not reader.unchanged():  # type: ignore[union-attr]
            record = parse_graph(*store.graph_json(as_of))  # one query: consistent
        return record

    return per_store(_RECORDS, store, (revision.seq, revision.hash), 2, read)


def partial_snapshot(
    reader: RecordReader,
    entities: dict[str, EntityFacts],
    relationships: list[RelationshipFacts],
    day: dt.date,
    as_of: dt.date | None = None,
) -> Snapshot:
    """A snapshot of only part of a record (a view's neighbourhood, read with ``reader.part`` instead of the whole
    catalog) on ``day``, completed with what drawing it looks up: the owners on ``day`` of its entities, their parent
    chains, and the entities relationships name as ``via``. Lookups outside that part find nothing, so a view drawn
    from it must only look at what it read (see views.py, ``read_part``)."""
    entities = dict(entities)
    is_org = reader.store.metamodel.is_organisation
    todo: set[str] = set()
    for e in entities.values():
        history = e.data.get("owner_history") or []
        first = history[0].get("org") if history else None  # a drawing names it beside a namesake's owner
        parent = e.attributes.get("parent") if is_org(e.kind) else None
        todo.update(x for x in (e.owner_on(day), parent, first) if isinstance(x, str))
    todo.update(v for r in relationships if isinstance(v := r.properties.get("via"), str))
    while todo := todo - entities.keys():
        found, _ = reader.part(todo, relationships=False)
        entities.update(found)
        todo = {p for e in found.values() if is_org(e.kind) and isinstance(p := e.attributes.get("parent"), str)}
    graph = FactGraph(entities, relationships)
    return snapshot_from(reader.store.metamodel, graph, day, as_of, reader.revision)


_CACHE: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, Snapshot]] = weakref.WeakKeyDictionary()
CACHE_SIZE = 4
# the parts of two snapshots a diff read (diagrams.changes), per store and (head, from, to): never whole snapshots
PAIRS: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, tuple[Snapshot, Snapshot]]] = (
    weakref.WeakKeyDictionary()
)


def clear_cache() -> None:
    _CACHE.clear()
    _RECORDS.clear()
    PAIRS.clear()


def days(
    store: CatalogStore, as_of: dt.date | str | None = None, valid_on: dt.date | str | None = None
) -> tuple[dt.date | None, dt.date]:
    """(transaction date or None, world date) for ``as_of`` and ``valid_on`` (see the module docstring)."""
    as_of_d = as_of if isinstance(as_of, dt.datetime) else parse_day(as_of, "as_of")
    fallback = as_of_d.date() if isinstance(as_of_d, dt.datetime) else as_of_d
    return as_of_d, parse_day(valid_on, "valid_on") or fallback or store.clock().date()


def cached_snapshot(store: CatalogStore, as_of: dt.date | None = None, day: dt.date | None = None) -> Snapshot | None:
    """The whole snapshot at ``as_of`` on ``day`` (default: the current state today) if it is already in the cache,
    else None."""
    try:
        cache = _CACHE.get(store)
    except TypeError:
        return None
    if not cache:
        return None
    return cache.get((store.revision(), as_of, day or store.clock().date()))


def load_snapshot(
    store: CatalogStore, as_of: dt.date | str | None = None, valid_on: dt.date | str | None = None
) -> Snapshot:
    """Read the catalog for a view (see the module docstring for how ``as_of`` and ``valid_on`` combine).

    Snapshots are cached per store by (change-log head, as_of, world date): the log only grows, so a snapshot is
    reused only while nothing has been written (the web UI drawing several views of one revision reads it once).
    Views treat snapshots as read-only."""
    as_of_d, day = days(store, as_of, valid_on)
    return per_store(_CACHE, store, (store.revision(), as_of_d, day), CACHE_SIZE, lambda: _load(store, as_of_d, day))


def recorded_revision(store: CatalogStore, as_of: dt.date | None) -> Revision:
    """:func:`revision_at`, refusing a date before the change log's first entry (:class:`NothingRecorded`)."""
    revision = revision_at(store, as_of)
    if as_of is not None and revision.seq == 0 and store.revision()[0] > 0:
        first = store.changelog(limit=1)[0].time[:10]
        raise NothingRecorded(msg("nothing-recorded-by", when=str(as_of)[:19], first=first))
    return revision


def _load(store: CatalogStore, as_of_d: dt.date | None, day: dt.date) -> Snapshot:
    revision = recorded_revision(store, as_of_d)
    entities, relationships = recorded_facts(store, as_of_d, revision)
    return snapshot_from(
        store.metamodel,
        FactGraph(entities, relationships),
        day,
        as_of_d,
        revision,
    )


__all__ = [
    "NothingRecorded",
    "REWIND_LIMIT",
    "RecordReader",
    "Revision",
    "Rewind",
    "Snapshot",
    "cached_snapshot",
    "clear_cache",
    "days",
    "load_snapshot",
    "parse_day",
    "parse_instant",
    "FactGraph",
    "partial_snapshot",
    "record_reader",
    "recorded_facts",
    "per_store",
    "recorded_graph",
    "recorded_revision",
    "revision_at",
    "rewind_from",
    "snapshot_from",
]
