"""A read-only CatalogStore over a recorded graph (``store.graph_as_of``), so that code written against the store
contract (the compliance checks) can run on the catalog *as recorded on a past date*. The audit bundle uses it: its
compliance report then depends only on the change log up to the bundle's date, and a bundle rebuilt later for the
same date has the same bytes. Writes raise StoreError. Only what reading needs is implemented properly (entities
and relationships, filters by kind/owner/lifecycle/tag, neighbourhood); search is a plain substring match.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from typing import Any

from catalog.changelog import Head, VerifyResult
from catalog.errors import NotFound, StoreError
from catalog.i18n import msg
from catalog.metamodel import DEFAULT, Metamodel
from catalog.model import ChangeEntry, Entity, OrgEvent, Relationship
from catalog.store.base import CatalogStore, Direction, EntityFilter, Subgraph
from catalog.text import fold


class FrozenStore(CatalogStore):
    def __init__(self, graph: Subgraph, day: dt.date, revision: tuple[int, str], metamodel: Metamodel = DEFAULT):
        self._entities = dict(sorted(graph.entities.items()))
        self._rels = sorted(graph.relationships, key=lambda r: r.id)
        self._revision = revision
        self.metamodel = metamodel
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        self.clock = lambda: noon

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise StoreError("this is a read-only snapshot of the catalog")

    create_entity = update_entity = delete_entity = _read_only
    create_relationship = update_relationship = delete_relationship = _read_only
    record_event = bulk_load = _read_only
    # not a migration source or target
    dump = restore = is_empty = erase = _read_only
    put_record = delete_record = _read_only

    def get_record(self, collection: str, key: str) -> Any:  # records (users, drafts ...) are not catalog facts
        return None

    def list_records(self, collection: str, limit: int = 100, offset: int = 0, newest_first: bool = False) -> list:
        return []

    def count_records(self, collection: str | None = None) -> int:
        return 0

    def close(self) -> None:
        pass

    def transaction(self, ctx: Any) -> contextlib.AbstractContextManager[None]:
        raise StoreError("this is a read-only snapshot of the catalog")

    def find_entity(self, ref: str) -> Entity | None:
        return self._entities.get(ref)

    def get_entities(self, refs: list[str]) -> dict[str, Entity]:
        return {r: self._entities[r] for r in refs if r in self._entities}

    def _match(self, flt: EntityFilter) -> list[Entity]:
        out = []
        for e in self._entities.values():
            if flt.kind and e.kind != flt.kind or flt.owner and e.owner != flt.owner:
                continue
            if flt.lifecycle and e.attributes.get("lifecycle") != flt.lifecycle or flt.tag and flt.tag not in e.tags:
                continue
            if any(e.attributes.get(k) != v for k, v in flt.attributes.items()):
                continue
            if flt.source and (e.provenance is None or e.provenance.source != flt.source):
                continue
            out.append(e)
        return out

    def list_entities(self, flt: EntityFilter = EntityFilter()) -> list[Entity]:
        return self._match(flt)[flt.offset : flt.offset + flt.limit]

    def count_entities(self, flt: EntityFilter = EntityFilter()) -> int:
        return len(self._match(flt))

    def search(self, text: str, kind: str | None = None, limit: int = 20, *, phrase: bool = False) -> list[Entity]:
        """Names, descriptions, codes and tags, with or without diacritics, as the stores search (nothing for no
        words); ``phrase``: the words side by side in a name or the code."""
        words = fold(text).split()
        if not words:
            return []

        def said(e: Entity) -> str:
            return fold(" ".join([e.code, e.name.vi, e.name.en, e.description.vi, e.description.en, *e.tags]))

        def named(e: Entity) -> str:
            return f" {fold(' '.join([e.name.vi, e.name.en, e.code.replace('-', ' ')]))}"

        together = " " + " ".join(words)
        hits = [
            e
            for e in self._entities.values()
            if (kind is None or e.kind == kind)
            and (together in named(e) if phrase else all(w in said(e) for w in words))
        ]
        return hits[:limit]

    def find_relationship(self, rel_id: str) -> Relationship | None:
        return next((r for r in self._rels if r.id == rel_id), None)

    def list_relationships(
        self, ref: str | None = None, type: str | None = None, direction: Direction = "both", limit: int | None = None
    ) -> list[Relationship]:
        out = [
            r
            for r in self._rels
            if (type is None or r.type == type)
            and (
                ref is None
                or (direction in ("out", "both") and r.source == ref)
                or (direction in ("in", "both") and r.target == ref)
            )
        ]
        return out[:limit] if limit is not None else out

    def count_relationships(self) -> int:
        return len(self._rels)

    def neighbourhood(
        self,
        ref: str,
        depth: int = 1,
        direction: Direction = "both",
        types: tuple[str, ...] | None = None,
        limit: int = 5000,
    ) -> Subgraph:
        entities: dict[str, Entity] = {}
        g = Subgraph(entities=entities)
        if ref not in self._entities:
            raise NotFound(msg("entity-not-found", ref=ref))
        entities[ref], g.depth[ref] = self._entities[ref], 0
        frontier, followed = [ref], {}
        for level in range(1, depth + 1):
            nxt = []
            for x in frontier:
                for r in self.list_relationships(x, direction=direction):
                    if types and r.type not in types:
                        continue
                    followed[r.id] = r
                    other = r.target if r.source == x else r.source
                    if other not in g.entities and other in self._entities:
                        entities[other], g.depth[other] = self._entities[other], level
                        nxt.append(other)
            frontier = nxt
            if len(g.entities) >= limit:
                break
        g.relationships = [followed[k] for k in sorted(followed)]
        return g

    def list_events(self, org: str | None = None) -> list[OrgEvent]:
        return []

    def changelog(self, *args: Any, **kwargs: Any) -> list[ChangeEntry]:
        return []

    def verify_log(self, witness: Iterable[Head] = (), configured_witness: bool = True) -> VerifyResult:
        """A snapshot holds no log entries of its own: nothing to verify (the record it was read from is checked by
        the store it came from)."""
        return VerifyResult(True, 0, self._revision[1])

    def revision(self) -> tuple[int, str]:
        return self._revision

    def entity_as_of(self, ref: str, when: Any) -> Entity | None:
        return self._entities.get(ref)

    def graph_as_of(self, when: Any) -> Subgraph:
        return Subgraph(entities=dict(self._entities), relationships=list(self._rels))


__all__ = ["FrozenStore"]
