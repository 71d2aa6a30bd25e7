"""The graph the browser's explorer draws (``/explore``, ``GET /api/v1/graph/explore``): which entities and
relationships one view of the catalog shows, labelled for people, grouped and folded.

A view is an :class:`ExploreQuery`: the entities it starts from (each shown with its neighbours), the entities
expanded since (their neighbours join), filters on the neighbours (kind, owner and its units, province or city,
lifecycle, relationship type), the day the catalog is read as valid on, and a grouping (by owning organisation or by
province, as compound nodes) with the groups folded into one node each. Started from nothing, the view is the whole
landscape; past :data:`FOLD_ABOVE` entities it opens folded by organisation, top of each parent chain first
(national ministries, provincial people's committees), and a group opened shows its units or its entities
(``open``): at 20,000 entities the first answer holds a few dozen groups, not 20,000 nodes.

Entities the view starts from or expanded are pinned: filters and folding never hide them.

The catalog is read through :func:`catalog.history.snapshot.load_snapshot` (valid time, cached per revision);
everything a node, an edge or a group shows comes from the metamodel: the kind's shape and colour
(:attr:`catalog.metamodel.KindSpec.web_shape`), the relationship's label and style (:meth:`EdgeStyle.web`), and the
direction data flows (:meth:`RelationSpec.flow`: an edge is drawn from where data comes from to where it goes).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.cache import per_store
from catalog.errors import FieldError, NotFound, ValidationFailed
from catalog.i18n import msg, msg_plural
from catalog.metamodel import LIFECYCLE, VALUE_LABELS, Metamodel
from catalog.search import Places
from catalog.store.base import CatalogStore

FOLD_ABOVE = 300  # entities in a view past which it opens folded by organisation (when not grouped already)
MAX_NODES = 2_000  # nodes (entities and groups) one answer holds at most; past it the answer says "truncated"
MAX_REFS = 200  # references in each list of a query (start, expand, fold, open, filters)
NATIONAL = "-"  # the province key of what no province owns (ministries, national agencies)
Group = Literal["", "org", "province"]


@dataclass(frozen=True)
class ExploreQuery:
    start: tuple[str, ...] = ()
    expand: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    lifecycles: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    day: dt.date | None = None
    group: Group = ""
    fold: tuple[str, ...] = ()  # group keys folded; "*": every group not in ``open``
    open: tuple[str, ...] = ()

    def check(self, metamodel: Metamodel) -> None:
        """Refuse malformed lists, naming the parameter and the reason."""
        errors: list[FieldError] = []
        for name in ("start", "expand", "kinds", "owners", "provinces", "lifecycles", "types", "fold", "open"):
            if len(getattr(self, name)) > MAX_REFS:
                errors.append(FieldError(name, msg("explore-too-many", limit=MAX_REFS)))
        for k in self.kinds:
            if k not in metamodel.kinds:
                errors.append(FieldError("kind", msg("kind-unknown", kind=k, allowed=", ".join(metamodel.kinds))))
        stored = metamodel.stored_relations()
        for t in self.types:
            if t not in stored:
                errors.append(FieldError("type", msg("relation-type-unknown", type=t, allowed=", ".join(stored))))
        for lc in self.lifecycles:
            if lc not in LIFECYCLE:
                errors.append(FieldError("lifecycle", msg("explore-lifecycle-unknown", value=lc)))
        if self.group not in ("", "org", "province"):
            errors.append(FieldError("group", msg("explore-group-unknown")))
        if errors:
            raise ValidationFailed(errors)


class _Index:
    """One snapshot read for the explorer: owners, parent chains and provinces, relationships by entity."""

    def __init__(self, snap: Any):
        self.snap = snap
        mm: Metamodel = snap.metamodel
        self.metamodel = mm
        ents = snap.entities
        self.parent: dict[str, str] = {}
        self.org_type: dict[str, str] = {}
        for ref, e in ents.items():
            if mm.is_organisation(e.kind):
                self.org_type[ref] = e.attributes.get("org_type") or ""
                p = e.attributes.get("parent")
                if isinstance(p, str) and p in ents and p != ref:
                    self.parent[ref] = p
        self.owner: dict[str, str | None] = {
            ref: (None if mm.is_organisation(e.kind) else snap.owner(ref)) for ref, e in ents.items()
        }
        self.touching: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(snap.relationships):
            self.touching[r.source].append(i)
            if r.target != r.source:
                self.touching[r.target].append(i)
        self._chains: dict[str, tuple[str, ...]] = {}
        places = Places([ents[o] for o in self.org_type], mm)  # the one reading of "the province above" (search too)
        self.province: dict[str, str] = {}
        for ref in ents:
            self.province[ref] = places.place_of_org(ref if ref in self.org_type else self.owner.get(ref)) or NATIONAL
        self.provinces = sorted({p for p in self.province.values() if p != NATIONAL})

    def chain(self, org: str | None) -> tuple[str, ...]:
        """``org`` and its parents, up to the top of the chain (cycles cut)."""
        if not org:
            return ()
        found = self._chains.get(org)
        if found is None:
            out = [org]
            while out[-1] in self.parent and self.parent[out[-1]] not in out:
                out.append(self.parent[out[-1]])
            found = self._chains[org] = tuple(out)
        return found


_CACHE: OrderedDict[int, tuple[weakref.ref, _Index]] = OrderedDict()
_LOCK = threading.Lock()


def _index(snap: Any) -> _Index:
    with _LOCK:
        hit = _CACHE.get(id(snap))
        if hit is not None and hit[0]() is snap:
            return hit[1]
    ix = _Index(snap)
    with _LOCK:
        _CACHE[id(snap)] = (weakref.ref(snap), ix)
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return ix


@dataclass
class ExploreGraph:
    """The answer: nodes (entities), groups (compound or folded), edges (single or folded together)."""

    query: ExploreQuery
    index: _Index
    nodes: list[str]
    groups: dict[str, dict[str, Any]]
    node_group: dict[str, str]  # ref -> key of the open group it sits in
    edges: list[int]  # relationship indexes between shown nodes
    folded_edges: list[tuple[str, str, int, tuple[str, ...]]]  # (from id, to id, count, types)
    folded_automatically: bool
    group: Group
    truncated: bool
    hubs: set[str] = field(default_factory=set)

    def _name(self, ref: str | None, lang: str) -> str:
        if not ref:
            return ""
        e = self.index.snap.entity(ref)
        return e.name.get(lang) if e is not None else ref

    def _group_name(self, key: str, lang: str) -> str:
        if key == NATIONAL:
            return msg("explore-national").text(lang)
        return self._name(key, lang)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        ix, mm = self.index, self.index.metamodel
        snap = ix.snap
        nodes = []
        for ref in self.nodes:
            e = snap.entities[ref]
            spec = mm.kinds[e.kind]
            owner = ix.owner.get(ref)
            province = ix.province.get(ref, NATIONAL)
            lc = e.attributes.get("lifecycle")
            nodes.append(
                {
                    "id": ref,
                    "ref": ref,
                    "name": e.name.get(lang),
                    "kind": e.kind,
                    "kind_label": spec.label.get(lang),
                    "shape": spec.web_shape,
                    "color": spec.color,
                    "owner": owner,
                    "owner_name": self._name(owner, lang),
                    "province": province,
                    "province_name": self._group_name(province, lang),
                    "lifecycle": lc,
                    "lifecycle_label": VALUE_LABELS[lc].get(lang) if lc in VALUE_LABELS else "",
                    "url": f"/entities/{ref}",
                    "parent": f"group:{self.node_group[ref]}" if ref in self.node_group else None,
                    "expanded": ref in self.hubs,
                    "pinned": ref in self.query.start or ref in self.query.expand,
                    "degree": len(ix.touching.get(ref, ())),
                }
            )
        groups = [
            {
                "id": f"group:{key}",
                "key": key,
                "name": self._group_name(key, lang),
                "count": g["count"],
                "folded": g["folded"],
                "label": msg_plural(
                    "explore-group-label",
                    "explore-group-label#plural",
                    count=g["count"],
                    name=self._group_name(key, lang),
                ).text(lang),
            }
            for key, g in sorted(self.groups.items())
        ]
        edges = []
        for i in self.edges:
            r = snap.relationships[i]
            rspec = mm.relations[r.type]
            flow = rspec.flow(r.source, r.target)
            a, b = flow or (r.source, r.target)
            parts = [rspec.label.get(lang)]
            protocol = r.properties.get("protocol")
            if isinstance(protocol, str) and protocol:
                parts.append(VALUE_LABELS[protocol].get(lang) if protocol in VALUE_LABELS else protocol)
            via = r.properties.get("via")
            if isinstance(via, str) and via:
                parts.append(msg("explore-via", platform=self._name(via, lang)).text(lang))
            edges.append(
                {
                    "id": r.id,
                    "source": a,
                    "target": b,
                    "type": r.type,
                    "type_label": rspec.label.get(lang),
                    "label": " · ".join(parts),
                    "flow": flow is not None,
                    "via": via if isinstance(via, str) else None,
                    **rspec.style.web(),
                }
            )
        for a, b, count, types in self.folded_edges:
            edges.append(
                {
                    "id": f"fold:{a}>{b}",
                    "source": a,
                    "target": b,
                    "type": "",
                    "type_label": "",
                    "label": msg_plural("explore-n-relationships", "explore-n-relationships#plural", count=count).text(
                        lang
                    ),
                    "flow": True,
                    "via": None,
                    "count": count,
                    "types": list(types),
                    "line": "solid",
                    "color": "#64748b",
                    "width": min(1.5 + count / 10, 6),
                    "arrow": "triangle",
                    "hollow": False,
                }
            )
        return {
            "start": list(self.query.start),
            "group": self.group,
            "folded_automatically": self.folded_automatically,
            "truncated": self.truncated,
            "day": self.query.day.isoformat() if self.query.day else None,
            "nodes": nodes,
            "groups": groups,
            "edges": edges,
            "facets": self._facets(lang),
        }

    def _facets(self, lang: str) -> dict[str, list[dict[str, str]]]:
        """The owners and provinces a filter may choose from: the owners of the shown entities and those chosen,
        every province of the catalog."""
        ix = self.index
        owners = {ix.owner.get(r) for r in self.nodes} | set(self.query.owners)
        return {
            "owners": sorted(
                ({"value": o, "label": self._name(o, lang)} for o in owners if o and o in ix.snap.entities),
                key=lambda x: x["label"],
            ),
            "provinces": [{"value": NATIONAL, "label": self._group_name(NATIONAL, lang)}]
            + sorted(({"value": p, "label": self._name(p, lang)} for p in ix.provinces), key=lambda x: x["label"]),
        }


def explore(store: CatalogStore, query: ExploreQuery) -> ExploreGraph:
    """The entities and relationships ``query`` shows (see the module docstring). Raises NotFound for a start
    entity the catalog does not hold on the day, ValidationFailed for a malformed query."""
    from catalog.history.snapshot import load_snapshot

    query.check(store.metamodel)
    snap = load_snapshot(store, None, query.day)
    ix = _index(snap)
    ents, rels = snap.entities, snap.relationships
    for ref in query.start:
        if ref not in ents:
            raise NotFound(msg("param-entity-not-found", parameter="start", ref=ref))
    types = set(query.types)
    pinned = [r for r in dict.fromkeys((*query.start, *query.expand)) if r in ents]
    hubs = set(pinned)

    owners = set(query.owners)

    def shown(ref: str) -> bool:
        e = ents[ref]
        if query.kinds and e.kind not in query.kinds:
            return False
        if query.lifecycles and e.attributes.get("lifecycle") not in query.lifecycles:
            return False
        if owners:
            home = ref if ref in ix.org_type else ix.owner.get(ref)
            if not owners.intersection(ix.chain(home)):
                return False
        if query.provinces and ix.province.get(ref, NATIONAL) not in query.provinces:
            return False
        return True

    def rel_ok(i: int) -> bool:
        return not types or rels[i].type in types

    visible: dict[str, None] = dict.fromkeys(pinned)
    if not query.start:
        visible.update(
            (ref, None) for ref, e in ents.items() if not store.metamodel.is_organisation(e.kind) and shown(ref)
        )
    for hub in pinned:
        for i in ix.touching.get(hub, ()):
            if rel_ok(i):
                r = rels[i]
                other = r.target if r.source == hub else r.source
                if other not in visible and shown(other):
                    visible[other] = None

    group, fold, opened = query.group, set(query.fold), set(query.open)
    auto = False
    if not group and len(visible) > FOLD_ABOVE:
        group, fold, auto = "org", {"*"}, True

    node_group: dict[str, str] = {}  # ref -> key of its group (open or folded)
    folded: set[str] = set()
    if group:
        every = "*" in fold
        for ref in visible:
            if group == "province":
                key = ix.province.get(ref, NATIONAL)
                is_folded = key in fold or (every and key not in opened)
            else:
                home = ref if ref in ix.org_type else ix.owner.get(ref)
                if not home:
                    continue
                chain = ix.chain(home)
                key, is_folded = home, home in fold
                if every:
                    closed = [o for o in reversed(chain) if o not in opened]
                    key, is_folded = (closed[0], True) if closed else (home, False)
            node_group[ref] = key
            if is_folded and ref not in hubs:
                folded.add(ref)

    groups: dict[str, dict[str, Any]] = {}
    for ref, key in node_group.items():
        g = groups.setdefault(key, {"count": 0, "folded": False})
        g["count"] += 1
        if ref in folded:
            g["folded"] = True
    shown_nodes = [r for r in visible if r not in folded]
    open_group = {r: k for r, k in node_group.items() if r not in folded and not groups[k]["folded"]}
    truncated = False
    if len(shown_nodes) + len(groups) > MAX_NODES:
        keep = set(pinned)
        shown_nodes = [r for r in shown_nodes if r in keep] + [r for r in shown_nodes if r not in keep]
        shown_nodes = shown_nodes[: max(MAX_NODES - len(groups), len(keep))]
        truncated = True
    on_screen = set(shown_nodes)

    def end(ref: str) -> str | None:
        if ref in on_screen:
            return ref
        if ref in folded:
            return f"group:{node_group[ref]}"
        return None

    single: list[int] = []
    bundles: dict[tuple[str, str], list[str]] = {}
    seen: set[int] = set()
    candidates: Iterable[int] = (
        range(len(rels)) if not query.start else (i for r in visible for i in ix.touching.get(r, ()))
    )
    relations = store.metamodel.relations
    for i in candidates:
        if i in seen or not rel_ok(i):
            continue
        seen.add(i)
        r = rels[i]
        if r.source not in visible or r.target not in visible:
            continue
        a, b = end(r.source), end(r.target)
        if a is None or b is None:
            continue
        if r.source in on_screen and r.target in on_screen:
            single.append(i)
            continue
        if a == b:
            continue
        flow = relations[r.type].flow(a, b)
        bundles.setdefault(flow or (a, b), []).append(r.type)
    folded_edges = [(a, b, len(ts), tuple(sorted(set(ts)))) for (a, b), ts in sorted(bundles.items())]
    return ExploreGraph(
        query=query,
        index=ix,
        nodes=shown_nodes,
        groups=groups,
        node_group=open_group,
        edges=sorted(single, key=lambda i: rels[i].id),
        folded_edges=folded_edges,
        folded_automatically=auto,
        group=group,
        truncated=truncated,
        hubs=hubs,
    )


_ANSWERS: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, bytes]] = weakref.WeakKeyDictionary()
ANSWERS_KEPT = 64  # answers kept as JSON, per catalog revision and day: a view asked again is not computed again


def explore_json(store: CatalogStore, query: ExploreQuery, lang: str = "vi") -> bytes:
    """:func:`explore` as the JSON the API sends, kept per (store, revision, today, query, language): any write
    moves the revision, so an answer is never stale."""
    import orjson

    key = (store.revision(), store.clock().date(), query, lang)
    return per_store(_ANSWERS, store, key, ANSWERS_KEPT, lambda: orjson.dumps(explore(store, query).to_json(lang)))


def database_users(store: CatalogStore, ref: str, day: dt.date | None = None, lang: str = "vi") -> dict[str, Any]:
    """Who uses a database's data (:func:`catalog.analysis.database_consumers` over the snapshot of ``day``): the
    systems that read or write it, directly or through a service that exposes it, each with its owner, how
    (the relationship) and the platforms the services are published on."""
    from catalog.analysis import database_consumers
    from catalog.history.snapshot import load_snapshot

    snap = load_snapshot(store, None, day)
    e = snap.entities.get(ref)
    if e is None:
        raise NotFound(msg("param-entity-not-found", parameter="ref", ref=ref))
    if e.kind != "database":
        raise ValidationFailed([FieldError("ref", msg("explore-not-a-database"))])
    ix = _index(snap)
    found = database_consumers(snap.metamodel, ref, snap.touching)

    def name(r: str | None) -> str:
        x = snap.entity(r) if r else None
        return x.name.get(lang) if x is not None else (r or "")

    users = []
    for r in found.uses:
        spec = snap.metamodel.relations[r.type]
        owner = ix.owner.get(r.source)
        users.append(
            {
                "ref": r.source,
                "name": name(r.source),
                "owner": owner,
                "owner_name": name(owner),
                "relationship": r.id,
                "how": spec.label.get(lang),
                "through": None if r.target == ref else r.target,
                "through_name": None if r.target == ref else name(r.target),
            }
        )
    users.sort(key=lambda u: (u["owner_name"], u["name"], u["relationship"]))
    return {
        "ref": ref,
        "name": name(ref),
        "users": users,
        "organisations": len({u["owner"] for u in users if u["owner"]}),
        "services": [{"ref": s, "name": name(s)} for s in found.services],
        "platforms": [{"ref": p, "name": name(p)} for p in found.platforms],
    }


USER_COLUMNS = ("ref", "name", "owner", "owner_name", "relationship", "through")


def database_users_sheet(found: dict[str, Any], lang: str = "vi") -> tuple[list[str], list[list[Any]]]:
    """The answer of :func:`database_users` as a table (header in ``lang``) for the CSV and XLSX writers."""
    from catalog.analysis import LABELS

    rows = [
        [u["ref"], u["name"], u["owner"] or "", u["owner_name"], u["how"], u["through_name"] or ""]
        for u in found["users"]
    ]
    return [LABELS[c].get(lang) for c in USER_COLUMNS], rows


__all__ = [
    "FOLD_ABOVE",
    "MAX_NODES",
    "ExploreGraph",
    "ExploreQuery",
    "database_users",
    "database_users_sheet",
    "explore",
    "explore_json",
]
