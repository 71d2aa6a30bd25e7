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
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from catalog.changelog import GENESIS
from catalog.errors import CatalogError, FieldError, NotFound, ValidationFailed
from catalog.metamodel import Metamodel
from catalog.model import Entity, Relationship
from catalog.store.base import CatalogStore, Subgraph, as_instant

from diagrams.facts import EntityFacts, RelationshipFacts, parse_graph


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
        raise ValidationFailed([FieldError(name, f"'{text[:40]}' is not a date YYYY-MM-DD")]) from None


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


def _valid(obj: Entity | Relationship, day: dt.date) -> bool:
    return (obj.valid_from is None or obj.valid_from <= day) and (obj.valid_to is None or day < obj.valid_to)


@dataclass
class Snapshot:
    """Entities and relationships valid on ``day`` in the record at ``as_of``, with lookups."""

    metamodel: Metamodel
    entities: dict[str, Entity]
    relationships: list[Relationship]
    day: dt.date  # valid time
    as_of: dt.date | None  # transaction time (None: current record)
    revision: Revision
    all_entities: dict[str, Entity] = field(default_factory=dict)  # the record, before valid-time filtering

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
            when = f" on {self.day}" if self.as_of or self.day else ""
            raise NotFound(f"{ref} does not exist{when}")
        if kinds and e.kind not in kinds:
            raise ValidationFailed([FieldError("ref", f"{ref} is a {e.kind}; this view needs a "
                                                      f"{' or '.join(kinds)}")])
        return e

    @cached_property
    def outgoing(self) -> dict[str, list[Relationship]]:
        out: dict[str, list[Relationship]] = defaultdict(list)
        for r in self.relationships:
            out[r.source].append(r)
        return out

    @cached_property
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
            parent = e.attributes.get("parent") if e.kind == "organization" else None
            if parent:
                children[parent].append(e.ref)
        out, todo = {org}, [org]
        while todo:
            for c in children.get(todo.pop(), []):
                if c not in out:
                    out.add(c)
                    todo.append(c)
        return out


def snapshot_from(metamodel: Metamodel, graph: Subgraph, day: dt.date, as_of: dt.date | None,
                  revision: Revision) -> Snapshot:
    """Keep what is valid on ``day`` from a recorded graph; drop relationships whose ends are not kept."""
    kept = {ref: e for ref, e in graph.entities.items() if _valid(e, day)}
    rels = sorted((r for r in graph.relationships if _valid(r, day) and r.source in kept and r.target in kept),
                  key=lambda r: r.id)
    return Snapshot(metamodel=metamodel, entities=dict(sorted(kept.items())), relationships=rels, day=day,
                    as_of=as_of, revision=revision, all_entities=dict(graph.entities))


def recorded_graph(store: CatalogStore, as_of: dt.date | None) -> Subgraph:
    """The record at the end of ``as_of`` (None: the current one) as full models (the audit bundle's compliance
    report and inventory use them; views read :func:`recorded_facts`)."""
    if as_of is None:
        return Subgraph(entities={e.ref: e for e in store.iter_entities()}, relationships=store.all_relationships())
    return store.graph_as_of(as_of)


def current_record(store: CatalogStore, as_of: dt.date | None) -> Revision | None:
    """The revision of the record at the end of ``as_of`` if that is the current record (nothing written since),
    else None. The current record is read from the store's current tables and indexes, which is cheaper than
    rebuilding it from the change log, and lets a view read just its part of it."""
    rev = revision_at(store, as_of)
    return rev if rev.seq == store.revision()[0] else None


_RECORDS: "weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, tuple]]" = weakref.WeakKeyDictionary()


def recorded_facts(store: CatalogStore, as_of: dt.date | None, revision: Revision) -> tuple[dict, list]:
    """The record at ``revision`` (the change-log head at the end of ``as_of``) as :mod:`diagrams.facts`: entities by
    ref and relationships by id, parsed from ``store.graph_json``. Read from the current tables when the revision
    is the current head, else from the change log; kept per store and revision (the two dates of a diff, or several
    views of one revision, read it once)."""
    key = (revision.seq, revision.hash)
    try:
        cache = _RECORDS.setdefault(store, OrderedDict())
    except TypeError:
        cache = OrderedDict()
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    current = as_of is None or revision.seq == store.revision()[0]
    record = parse_graph(*store.graph_json(None if current else as_of))
    cache[key] = record
    while len(cache) > 2:
        cache.popitem(last=False)
    return record


def read_part(store: CatalogStore, refs: Iterable[str] = (), owners: Iterable[str] = (),
              relationships: bool = True) -> tuple[dict[str, EntityFacts], list[RelationshipFacts]]:
    """``store.part_json`` (part of the current record) as facts: entities by ref, relationships."""
    return parse_graph(*store.part_json(sorted(set(refs)), sorted(set(owners)), relationships))


def partial_snapshot(store: CatalogStore, entities: dict[str, EntityFacts], relationships: list[RelationshipFacts],
                     day: dt.date, as_of: dt.date | None = None, revision: Revision | None = None) -> Snapshot:
    """A snapshot of only part of the current record (a view's neighbourhood, read with :func:`read_part` instead of
    the whole catalog) on ``day``, completed with what drawing it looks up: the owners on ``day`` of its entities,
    their parent chains, and the entities relationships name as ``via``. Lookups outside that part find nothing, so
    a view drawn from it must only look at what it read (see views.py, "parts"). ``as_of`` and ``revision`` (from
    :func:`current_record`) stamp it when the current record is also the one recorded at ``as_of``."""
    entities = dict(entities)
    todo = set()
    for e in entities.values():
        todo.update(x for x in (e.owner_on(day), e.attributes.get("parent") if e.kind == "organization" else None)
                    if isinstance(x, str))
    todo.update(v for r in relationships if isinstance(v := r.properties.get("via"), str))
    while todo := todo - entities.keys():
        found, _ = read_part(store, todo, relationships=False)
        entities.update(found)
        todo = {p for e in found.values() if e.kind == "organization"
                and isinstance(p := e.attributes.get("parent"), str)}
    return snapshot_from(store.metamodel, Subgraph(entities=entities, relationships=relationships),  # type: ignore
                         day, as_of, revision or revision_at(store, None))


_CACHE: "weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, Snapshot]]" = weakref.WeakKeyDictionary()
CACHE_SIZE = 4


def clear_cache() -> None:
    _CACHE.clear()
    _RECORDS.clear()


def days(store: CatalogStore, as_of: dt.date | str | None = None,
         valid_on: dt.date | str | None = None) -> tuple[dt.date | None, dt.date]:
    """(transaction date or None, world date) for ``as_of`` and ``valid_on`` (see the module docstring)."""
    as_of_d = parse_day(as_of, "as_of")
    return as_of_d, parse_day(valid_on, "valid_on") or as_of_d or store.clock().date()


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


def load_snapshot(store: CatalogStore, as_of: dt.date | str | None = None,
                  valid_on: dt.date | str | None = None) -> Snapshot:
    """Read the catalog for a view (see the module docstring for how ``as_of`` and ``valid_on`` combine).

    Snapshots are cached per store by (change-log head, as_of, world date): the log only grows, so a snapshot is
    reused only while nothing has been written (the web UI drawing several views of one revision reads it once).
    Views treat snapshots as read-only."""
    as_of_d, day = days(store, as_of, valid_on)
    key = (store.revision(), as_of_d, day)
    try:
        cache = _CACHE.setdefault(store, OrderedDict())
    except TypeError:  # a store that cannot be weakly referenced: no cache
        cache = OrderedDict()
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    snap = _load(store, as_of_d, day)
    cache[key] = snap
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return snap


def _load(store: CatalogStore, as_of_d: dt.date | None, day: dt.date) -> Snapshot:
    revision = revision_at(store, as_of_d)
    if as_of_d is not None and revision.seq == 0 and store.revision()[0] > 0:
        first = store.changelog(limit=1)[0].time[:10]
        raise NothingRecorded(f"the catalog recorded nothing by {as_of_d} (its change log starts on {first}); to draw "
                              f"what the catalog says today about {as_of_d}, use valid_on (--valid-on {as_of_d}) "
                              "without as_of")
    entities, relationships = recorded_facts(store, as_of_d, revision)
    return snapshot_from(store.metamodel, Subgraph(entities=entities, relationships=relationships),  # type: ignore
                         day, as_of_d, revision)


__all__ = ["NothingRecorded", "clear_cache", "Revision", "Snapshot", "cached_snapshot", "current_record", "days",
           "load_snapshot", "parse_day", "partial_snapshot", "read_part", "recorded_facts", "recorded_graph", "revision_at",
           "snapshot_from"]
