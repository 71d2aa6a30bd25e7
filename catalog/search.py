"""Finding entities by name: the ranked suggestions behind every type-ahead picker, the search page and
``GET /api/v1/search``.

The store's search index (``CatalogStore.search``: diacritics- and case-insensitive, every word as a prefix) finds
the candidates; this module ranks them for the person asking and describes each one so that two entities with the
same name are told apart at a glance: kind, owner, province or city, lifecycle, whether it is still current.

Ranking, first to last (ties keep the index's own order):

1. how the text matches the entity's name (either language) or code: exact, then a prefix, then the whole text
   as a phrase inside the name, then every word as a prefix of a word of the name, then anywhere else (description,
   tags, attributes);
2. entities of the asker's own province or city (the one above their organisation; for people without one, the
   ``search_home`` setting's) before the others;
3. current entities before merged, dissolved, ended or retired ones;
4. the province's own before what came to it with a merger (its first owner was in another province: Bình
   Dương's IOC after HCMC's, for an HCMC officer);
5. a match in a name before the same match in the code only.

Province or city: the organisation of type province or city found by following ``parent`` upwards from the
owner (from the organisation itself for an organisation); national bodies have none. An entity that came from
another province (its first owner was there, as Bình Dương's IOC, now owned by an HCMC department) names that
former province too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import DEFAULT, Label, Metamodel
from catalog.model import Entity, LocalText
from catalog.permissions import Principal, org_chain
from catalog.store.base import CatalogStore, EntityFilter
from catalog.text import fold

PLACE_TYPES = ("province", "city")
ENDED_STATUSES = ("merged", "dissolved")
MAX_LIMIT = 200
MAX_QUERY = 200
MATCHES = ("exact", "prefix", "phrase", "words", "text")  # best first: the first ranking key


@dataclass(frozen=True)
class Hit:
    """One entity as a picker or a result list shows it."""

    entity: Entity
    kind_label: Label
    owner_name: LocalText | None
    province: Entity | None
    former_province: Entity | None
    lifecycle: str | None
    lifecycle_label: Label | None
    current: bool
    successor: Entity | None
    match: str

    @property
    def ref(self) -> str:
        return self.entity.ref

    def to_json(self, lang: str | None = None) -> dict[str, Any]:
        """The hit with names and labels in ``lang``, or in both languages (``{"vi": ..., "en": ...}``) without one."""
        e = self.entity

        def t(value: Any) -> Any:
            if value is None:
                return None
            return value.get(lang) if lang else {"vi": value.get("vi"), "en": value.get("en")}

        def named(x: Entity | None) -> tuple[str | None, Any]:
            return (x.ref, t(x.name)) if x is not None else (None, None)

        province, province_name = named(self.province)
        former, former_name = named(self.former_province)
        successor, successor_name = named(self.successor)
        return {
            "ref": e.ref,
            "kind": e.kind,
            "kind_label": t(self.kind_label),
            "name": t(e.name),
            "owner": e.owner,
            "owner_name": t(self.owner_name),
            "province": province,
            "province_name": province_name,
            "former_province": former,
            "former_province_name": former_name,
            "lifecycle": self.lifecycle,
            "lifecycle_label": t(self.lifecycle_label),
            "current": self.current,
            "successor": successor,
            "successor_name": successor_name,
            "match": self.match,
        }


class Places:
    """Every organisation and the province or city above it, as of one catalog revision.

    :meth:`of` keeps one per store and brings it up to the store's revision: a write that touches no organisation
    (nearly all of them) costs two small reads of the change log; one that changes a few organisations re-reads only
    those; anything else (a large import, an erased or replaced catalog) reads every organisation again. One request
    at a time brings a store's copy up to date; the others wait for it rather than each doing it again."""

    _cache: dict[int, tuple[tuple[int, str], Places]] = {}
    _locks: dict[int, threading.Lock] = {}
    _guard = threading.Lock()
    KEEP = 8  # stores remembered (the catalog and a few as-of snapshots)
    FOLLOW = 500  # organisation changes applied one by one; more: read them all again

    def __init__(self, orgs: Iterable[Entity], metamodel: Metamodel = DEFAULT):
        self.orgs = {o.ref: o for o in orgs}
        self.metamodel = metamodel
        self._place: dict[str, str | None] = {}

    @classmethod
    def of(cls, store: CatalogStore) -> Places:
        key, revision = id(store), store.revision()
        held = cls._cache.get(key)
        if held is not None and held[0] == revision:
            return held[1]
        with cls._guard:
            lock = cls._locks.setdefault(key, threading.Lock())
        with lock:  # whoever waited here finds the copy brought up to date by the one before
            seen, held = held, cls._cache.get(key)
            if held is not seen and held is not None and held[0] != revision:
                revision = store.revision()  # brought to a revision other than the one read: which is current?
            if held is None or held[0] != revision:
                found = (cls._follow(store, held, revision) if held is not None else None) or cls._read(store)
                with cls._guard:
                    cls._cache.pop(key, None)
                    cls._cache[key] = (revision, found)
                    for old in list(cls._cache)[: -cls.KEEP]:
                        del cls._cache[old]
                        cls._locks.pop(old, None)
                held = (revision, found)
            return held[1]

    @classmethod
    def _read(cls, store: CatalogStore) -> Places:
        return cls(store.list_entities(EntityFilter(kind="organization", limit=1_000_000)), store.metamodel)

    @classmethod
    def _follow(
        cls, store: CatalogStore, held: tuple[tuple[int, str], Places], revision: tuple[int, str]
    ) -> Places | None:
        """``held`` brought from its revision to ``revision`` through the change log; None when the log does not
        continue from it (another catalog, or one erased or restored since) or too much changed."""
        (seq, digest), old = held
        if revision[0] < seq or seq <= 0:
            return None
        last = store.changelog(after_seq=seq - 1, limit=1, bodies=False)
        if not last or last[0].seq != seq or last[0].hash != digest:
            return None
        changed = store.changelog(after_seq=seq, kind="organization", limit=cls.FOLLOW + 1, bodies=False)
        if not changed:
            found = cls.__new__(cls)
            found.orgs, found.metamodel, found._place = old.orgs, old.metamodel, old._place  # the same organisations
            return found
        if len(changed) > cls.FOLLOW:
            return None
        refs = sorted({c.ref for c in changed})
        now = store.get_entities(refs)
        orgs = dict(old.orgs)
        for r in refs:
            if r in now and old.metamodel.is_organisation(now[r].kind):
                orgs[r] = now[r]
            else:
                orgs.pop(r, None)
        return cls(orgs.values(), old.metamodel)

    def place_of_org(self, org: str | None) -> str | None:
        """The province or city ``org`` belongs to (itself when it is one); None for national bodies."""
        if not org:
            return None
        if org in self._place:
            return self._place[org]
        chain = org_chain(None, org, self.orgs) if org in self.orgs else []
        place = next(
            (r for r in chain if r in self.orgs and self.orgs[r].attributes.get("org_type") in PLACE_TYPES), None
        )
        self._place[org] = place
        return place

    def place_of(self, e: Entity) -> str | None:
        return self.place_of_org(e.ref if self.metamodel.is_organisation(e.kind) else e.owner)

    def former_place_of(self, e: Entity, place: str | None) -> str | None:
        """The province or city of the entity's first owner, when that differs from today's."""
        if self.metamodel.is_organisation(e.kind) or not e.owner_history:
            return None
        first = min(e.owner_history, key=lambda p: p.start or dt.date.min)
        before = self.place_of_org(first.org)
        return before if before and before != place else None


def is_current(e: Entity, today: dt.date) -> bool:
    """Not ended (``valid_to`` passed), not merged or dissolved, not retired."""
    if e.valid_to is not None and e.valid_to <= today:
        return False
    if e.attributes.get("status") in ENDED_STATUSES:
        return False
    return e.attributes.get("lifecycle") != "retired"


def match_of(e: Entity, folded: str, raw: str) -> str:
    """How the folded query text matches the entity (one of :data:`MATCHES`)."""
    return _match(e, folded, raw)[0]


def _match(e: Entity, folded: str, raw: str) -> tuple[str, int]:
    """(how the text matches, 0 when a name matches so, 1 when only the code does)."""
    if raw.strip().lower() == e.ref.lower():
        return "exact", 0
    names = [n for n in (fold(e.name.vi), fold(e.name.en)) if n]
    code = fold(e.code.replace("-", " "))
    for level in ("exact", "prefix", "phrase", "words"):
        for i, texts in enumerate((names, [code])):
            if any(_matches(level, folded, t) for t in texts):
                return level, i
    return "text", 1


def _matches(level: str, folded: str, text: str) -> bool:
    if level == "exact":
        return text == folded
    if level == "prefix":
        return text.startswith(folded)
    if level == "phrase":
        return f" {folded}" in f" {text}"
    words = text.split()
    return all(any(w.startswith(t) for w in words) for t in folded.split())


def parse_kinds(store: CatalogStore, value: str | Sequence[str] | None, field: str = "kind") -> list[str]:
    """``"system,database"`` (or a list) as known kinds; an unknown one is refused naming ``field``."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    kinds = [p.strip() for p in parts if p.strip()]
    unknown = [k for k in kinds if k not in store.metamodel.kinds]
    if unknown:
        raise ValidationFailed(
            [FieldError(field, msg("kind-unknown", kind=unknown[0][:50], allowed=", ".join(store.metamodel.kinds)))]
        )
    return list(dict.fromkeys(kinds))


def province_of_principal(
    store: CatalogStore, principal: Principal | None, home: str | None = None, places: Places | None = None
) -> str | None:
    """The province or city of the principal's organisation; for a principal without one, that of ``home`` (the
    ``search_home`` setting: the catalog's own city); None when neither names one. ``places``: the store's
    :class:`Places`, when the caller has it already."""
    org = principal.org if principal is not None and principal.org else home
    return (places or Places.of(store)).place_of_org(org) if org else None


def describe(
    store: CatalogStore,
    entities: Sequence[Entity],
    today: dt.date | None = None,
    matches: dict[str, str] | None = None,
    places: Places | None = None,
) -> list[Hit]:
    """Hits for ``entities`` (same order): labels from the metamodel, owner and place names, successors of ended
    organisations. ``places``: the store's :class:`Places`, when the caller has it already."""
    mm, places = store.metamodel, places or Places.of(store)
    today = today or store.clock().date()
    missing = sorted({e.owner for e in entities if e.owner and e.owner not in places.orgs})
    owners = {**places.orgs, **(store.get_entities(missing) if missing else {})}
    out = []
    for e in entities:
        spec = mm.kinds.get(e.kind)
        current = is_current(e, today)
        key = "lifecycle" if "lifecycle" in e.attributes else "status" if "status" in e.attributes else None
        value = e.attributes.get(key) if key else None
        a = spec.attribute(key) if spec and key else None
        label = Label(a.value_label(value, "vi"), a.value_label(value, "en")) if a and value else None
        place = places.place_of(e)
        former = places.former_place_of(e, place)
        owner = owners.get(e.owner) if e.owner else None
        out.append(
            Hit(
                entity=e,
                kind_label=spec.label if spec else Label(e.kind, e.kind),
                owner_name=owner.name if owner else None,
                province=places.orgs.get(place) if place else None,
                former_province=places.orgs.get(former) if former else None,
                lifecycle=value if isinstance(value, str) else None,
                lifecycle_label=label,
                current=current,
                successor=(
                    _successor(store, places, e) if store.metamodel.is_organisation(e.kind) and not current else None
                ),
                match=(matches or {}).get(e.ref, "text"),
            )
        )
    return out


def _successor(store: CatalogStore, places: Places, org: Entity) -> Entity | None:
    """The organisation a merged one went into (the last merge or absorb that ended it)."""
    for ev in reversed(store.list_events(org.ref)):
        if ev.type in ("merge", "absorb") and org.ref in ev.from_ and len(ev.to) == 1:
            return places.orgs.get(ev.to[0])
    return None


def suggest(
    store: CatalogStore,
    text: str,
    kinds: Sequence[str] = (),
    limit: int = 15,
    principal: Principal | None = None,
    today: dt.date | None = None,
    home: str | None = None,
) -> list[Hit]:
    """The entities ``text`` finds, ranked for ``principal`` (module docstring), at most ``limit`` of them.

    ``kinds`` limits the kinds (all when empty); ``home`` is the organisation whose province or city ranks first
    for a principal without an organisation (the ``search_home`` setting). Text without a word character finds
    nothing."""
    text = text[:MAX_QUERY]
    folded = fold(text)
    if not folded:
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    # the index's best few dozen (it lists matches in the name first), re-ranked here; for several kinds, those
    # among the best of every kind, or when too few of them are, the best of each kind asked for
    wanted = max(limit * 3, 45)
    found = store.search(text, kind=kinds[0] if len(kinds) == 1 else None, limit=wanted)
    if len(kinds) > 1:
        found = [e for e in found if e.kind in kinds]
        if len(found) < limit:
            found = [e for k in kinds for e in store.search(text, kind=k, limit=max(limit + 5, 20))]
    exact = store.find_entity(text.strip()) if ":" in text else None
    if exact is not None and (not kinds or exact.kind in kinds) and exact.ref not in {e.ref for e in found}:
        found.insert(0, exact)
    order = {e.ref: i for i, e in enumerate(found)}
    how = {e.ref: _match(e, folded, text) for e in found}
    matches = {ref: m for ref, (m, _) in how.items()}
    places = Places.of(store)  # once: each asks the store for its revision
    place = province_of_principal(store, principal, home, places)
    today = today or store.clock().date()

    def key(e: Entity) -> tuple:
        here = places.place_of(e)
        own = place is not None and here == place
        inherited = own and places.former_place_of(e, here) is not None  # came with a merger: after the city's own
        level, by_code = how[e.ref]
        return (
            MATCHES.index(level),
            0 if own else 1,
            0 if is_current(e, today) else 1,
            1 if inherited else 0,
            by_code,
            order[e.ref],
        )

    ranked = sorted(found, key=key)[:limit]
    return describe(store, ranked, today, matches, places)


__all__ = [
    "MATCHES",
    "MAX_LIMIT",
    "MAX_QUERY",
    "Hit",
    "Places",
    "describe",
    "is_current",
    "match_of",
    "parse_kinds",
    "province_of_principal",
    "suggest",
]
