"""What changed between two dates: the catalog valid on ``from`` compared with the catalog valid on ``to``.

Both dates are *valid-time* days (what was true in the world); each side reads the current record unless it is given
a *record instant* of its own (``recorded_from`` / ``recorded_to``: what the catalog had recorded by then,
docs/architecture.md, "Two clocks"). :func:`diff` compares the two snapshots (catalog.history.snapshot) and reports:

- entities added and removed (ended or begun in the world, or written to / deleted from the record), and changed
  field by field (``name``, ``description``, ``tags``, ``valid_from``, ``valid_to``, ``owner_history`` and each
  ``attributes.<name>``; only when the two records differ);
- relationships added, removed and changed (``properties.<name>``, validity);
- ownership moved: an asset whose owner on ``to`` is not its owner on ``from``, with the organisation event and the
  legal basis its new ownership period names (and the event's type and date);
- organisations created, merged (merge and absorb, with the organisation they went into), renamed, dissolved,
  re-established or split, from the organisation events dated in ``(from, to]``, and organisations that began or
  ended without an event.

Filters: ``org`` keeps what an organisation and its units owned on either date, those organisations themselves, and
relationships touching either; ``kind`` keeps entities of that kind and relationships with an end of that kind.

Both snapshots share one parse of a record when their records are the same (the usual case: the current record), so
a diff costs about one full as-of read plus two passes over the facts (bench/diff.py). Organisation events are read
from the current record (events are appended, never rewritten).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.history.snapshot import Revision, Snapshot, load_snapshot
from catalog.i18n import msg, text
from catalog.metamodel import Metamodel
from catalog.store.base import CatalogStore
from catalog.text import vi_sort_key

MERGED = ("merge", "absorb")
ORG_CHANGES = ("created", "merged", "renamed", "dissolved", "reestablished", "split", "ended")


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EntityChange:
    """An entity added, removed or changed; ``reason`` says why it is on one side only (``ended``/``began``: its
    validity period; ``deleted``/``recorded``: the record)."""

    ref: str
    kind: str
    name: dict[str, str]
    owner: str | None = None
    reason: str = ""
    date: str | None = None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class RelationshipChange:
    id: str
    type: str
    source: str
    target: str
    reason: str = ""
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class OwnershipMove:
    ref: str
    kind: str
    name: dict[str, str]
    from_owner: str | None
    to_owner: str | None
    date: str | None  # start of the new ownership period
    event: str | None  # organisation event id
    event_type: str | None
    legal_basis: str


@dataclass(frozen=True)
class OrgChange:
    ref: str
    change: str  # one of ORG_CHANGES
    date: str | None
    event: str | None
    event_type: str | None
    legal_basis: str
    into: tuple[str, ...] = ()  # merged: the organisations it went into
    new_name: dict[str, str] | None = None


@dataclass
class Diff:
    from_day: dt.date
    to_day: dt.date
    recorded_from: dt.datetime | dt.date | None
    recorded_to: dt.datetime | dt.date | None
    revision_from: Revision
    revision_to: Revision
    org: str | None = None
    kind: str | None = None
    added: list[EntityChange] = field(default_factory=list)
    removed: list[EntityChange] = field(default_factory=list)
    changed: list[EntityChange] = field(default_factory=list)
    relationships_added: list[RelationshipChange] = field(default_factory=list)
    relationships_removed: list[RelationshipChange] = field(default_factory=list)
    relationships_changed: list[RelationshipChange] = field(default_factory=list)
    moved: list[OwnershipMove] = field(default_factory=list)
    organisations: list[OrgChange] = field(default_factory=list)
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # every ref named above -> {vi, en}

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "relationships_added": len(self.relationships_added),
            "relationships_removed": len(self.relationships_removed),
            "relationships_changed": len(self.relationships_changed),
            "moved": len(self.moved),
            "organisations": len(self.organisations),
        }

    def name(self, ref: str | None, lang: str) -> str:
        """A reference by its name in ``lang`` (the reference itself when the catalog has no entity of that name)."""
        if not ref:
            return ""
        n = self.names.get(ref)
        return (n.get(lang) or n.get("vi") or ref) if n else ref

    def to_json(self) -> dict[str, Any]:
        def when(value: Any) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "from": self.from_day.isoformat(),
            "to": self.to_day.isoformat(),
            "recorded_from": when(self.recorded_from),
            "recorded_to": when(self.recorded_to),
            "revision_from": asdict(self.revision_from),
            "revision_to": asdict(self.revision_to),
            "filters": {"org": self.org, "kind": self.kind},
            "counts": self.counts(),
            "entities": {
                "added": [asdict(x) for x in self.added],
                "removed": [asdict(x) for x in self.removed],
                "changed": [asdict(x) for x in self.changed],
            },
            "relationships": {
                "added": [asdict(x) for x in self.relationships_added],
                "removed": [asdict(x) for x in self.relationships_removed],
                "changed": [asdict(x) for x in self.relationships_changed],
            },
            "ownership": [asdict(x) for x in self.moved],
            "organisations": [asdict(x) for x in self.organisations],
            "names": self.names,
        }

    # --- exports: one flat table (CSV) or one sheet per part (XLSX), with headers and labels in ``lang`` ---------

    def header(self, lang: str) -> list[str]:
        return [text(label, lang) for label in EXPORT_COLUMNS.values()]

    def rows(self, lang: str, metamodel: Any) -> dict[str, list[list[Any]]]:
        """Rows by part (entities, relationships, ownership, organisations), in the columns of :meth:`header`."""

        def label(kind: str) -> str:
            spec = metamodel.kinds.get(kind)
            return spec.label.get(lang) if spec else kind

        def rel_label(type_: str) -> str:
            spec = metamodel.relations.get(type_)
            return spec.label.get(lang) if spec else type_

        def change(code: str) -> str:
            return text(CHANGES[code], lang)

        ents: list[list[Any]] = []
        for code, items in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            for x in items:
                base = [change(code), label(x.kind), x.ref, x.name.get(lang) or x.name.get("vi")]
                if x.fields:
                    ents += [base + [f.field, _cell(f.before), _cell(f.after), "", "", ""] for f in x.fields]
                else:
                    why = text(REASONS[x.reason], lang) if x.reason else ""
                    ents.append(base + [why, "", self.name(x.owner, lang), x.date or "", "", ""])
        rels: list[list[Any]] = []
        for code, links in (
            ("added", self.relationships_added),
            ("removed", self.relationships_removed),
            ("changed", self.relationships_changed),
        ):
            for r in links:
                name = f"{self.name(r.source, lang)} → {rel_label(r.type)} → {self.name(r.target, lang)}"
                base = [change(code), rel_label(r.type), r.id, name]
                if r.fields:
                    rels += [base + [f.field, _cell(f.before), _cell(f.after), "", "", ""] for f in r.fields]
                else:
                    why = text(REASONS[r.reason], lang) if r.reason else ""
                    rels.append(base + [why, "", "", "", "", ""])
        moves = [
            [
                change("moved"),
                label(m.kind),
                m.ref,
                m.name.get(lang) or m.name.get("vi"),
                text(msg("diff-field-owner"), lang),
                self.name(m.from_owner, lang),
                self.name(m.to_owner, lang),
                m.date or "",
                m.event or "",
                m.legal_basis,
            ]
            for m in self.moved
        ]
        orgs = [
            [
                change(o.change),
                label("organization"),
                o.ref,
                self.name(o.ref, lang),
                text(msg("diff-field-into"), lang) if o.into else "",
                "",
                "; ".join(self.name(r, lang) for r in o.into)
                or ((o.new_name or {}).get(lang) or (o.new_name or {}).get("vi") or ""),
                o.date or "",
                o.event or "",
                o.legal_basis,
            ]
            for o in self.organisations
        ]
        return {"entities": ents, "relationships": rels, "ownership": moves, "organisations": orgs}

    def to_csv(self, lang: str, metamodel: Any) -> bytes:
        """Every part in one table (UTF-8 with BOM; catalog.sheets.write_csv)."""
        from catalog.sheets import write_csv

        return write_csv(self.header(lang), [row for rows in self.rows(lang, metamodel).values() for row in rows])

    def to_xlsx(self, lang: str, metamodel: Any) -> bytes:
        """One sheet per part (catalog.sheets.write_xlsx), dated ``to`` (the same diff gives the same bytes)."""
        from catalog.sheets import Sheet, write_xlsx

        parts = self.rows(lang, metamodel)
        sheets = [Sheet(text(PARTS[name], lang), self.header(lang), rows) for name, rows in parts.items()]
        title = text(msg("diff-title", start=self.from_day, end=self.to_day), lang)
        return write_xlsx(sheets, title, dt.datetime.combine(self.to_day, dt.time(), tzinfo=dt.UTC))


EXPORT_COLUMNS = {
    "change": msg("diff-col-change"),
    "kind": msg("diff-col-kind"),
    "ref": msg("diff-col-ref"),
    "name": msg("diff-col-name"),
    "field": msg("diff-col-field"),
    "before": msg("diff-col-before"),
    "after": msg("diff-col-after"),
    "date": msg("diff-col-date"),
    "event": msg("diff-col-event"),
    "legal-basis": msg("diff-col-legal-basis"),
}
CHANGES = {
    "added": msg("diff-change-added"),
    "removed": msg("diff-change-removed"),
    "changed": msg("diff-change-changed"),
    "moved": msg("diff-change-moved"),
    "created": msg("diff-change-created"),
    "merged": msg("diff-change-merged"),
    "renamed": msg("diff-change-renamed"),
    "dissolved": msg("diff-change-dissolved"),
    "reestablished": msg("diff-change-reestablished"),
    "split": msg("diff-change-split"),
    "ended": msg("diff-change-ended"),
}
PARTS = {
    "entities": msg("diff-part-entities"),
    "relationships": msg("diff-part-relationships"),
    "ownership": msg("diff-part-ownership"),
    "organisations": msg("diff-part-organisations"),
}
REASONS = {
    "ended": msg("diff-reason-ended"),
    "began": msg("diff-reason-began"),
    "deleted": msg("diff-reason-deleted"),
    "recorded": msg("diff-reason-recorded"),
    "not-valid": msg("diff-reason-not-valid"),
    "added": msg("diff-reason-added"),
    "removed": msg("diff-reason-removed"),
}


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return value


def _state(e: Any) -> dict[str, Any]:
    return e.state() if hasattr(e, "state") else e.model_dump(mode="json", exclude={"version", "provenance"})


def _fields(a: dict[str, Any], b: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The differing fields of two stored states, attributes and properties one by one."""
    out: list[FieldChange] = []
    for key in sorted(a.keys() | b.keys()):
        if key in ("kind", "code", "id", "type", "source", "target", "ref", "provenance", "version"):
            continue
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if key in ("attributes", "properties") and isinstance(va, dict) and isinstance(vb, dict):
            for sub in sorted(va.keys() | vb.keys()):
                if va.get(sub) != vb.get(sub):
                    out.append(FieldChange(f"{key}.{sub}", va.get(sub), vb.get(sub)))
        else:
            out.append(FieldChange(key, va, vb))
    return tuple(out)


def _day_text(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def _periods(e: Any) -> list[dict[str, Any]]:
    data = getattr(e, "data", None)
    if isinstance(data, dict):
        return list(data.get("owner_history") or [])
    return [p.model_dump(mode="json") for p in getattr(e, "owner_history", [])]


def diff(
    store: CatalogStore,
    from_day: dt.date | str,
    to_day: dt.date | str,
    recorded_from: dt.datetime | dt.date | str | None = None,
    recorded_to: dt.datetime | dt.date | str | None = None,
    org: str | None = None,
    kind: str | None = None,
) -> Diff:
    """What changed in the world between ``from_day`` and ``to_day`` (valid time), each side read from the current
    record or from the record at its own instant (see the module docstring). Raises
    :class:`~catalog.history.snapshot.NothingRecorded` for a record instant before the change log's first entry, and
    :class:`ValidationFailed` naming the field for bad dates, ``from`` after ``to``, an unknown kind or organisation."""
    from catalog.history.snapshot import parse_day, parse_instant

    start, end = parse_day(from_day, "from"), parse_day(to_day, "to")
    errors = []
    if start is None:
        errors.append(FieldError("from", msg("diff-date-required")))
    if end is None:
        errors.append(FieldError("to", msg("diff-date-required")))
    if start and end and start > end:
        errors.append(FieldError("from", msg("diff-from-after-to", start=start, end=end)))
    rec1, rec2 = parse_instant(recorded_from, "recorded_from"), parse_instant(recorded_to, "recorded_to")
    if kind and kind not in store.metamodel.kinds:
        errors.append(FieldError("kind", msg("diff-unknown-kind", kind=kind[:40], kinds=list(store.metamodel.kinds))))
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    s1 = load_snapshot(store, rec1, start)
    s2 = load_snapshot(store, rec2, end)
    if org and s1.entity(org) is None and s2.entity(org) is None:
        raise ValidationFailed([FieldError("org", msg("diff-unknown-org", ref=org[:200]))])
    return compare(store, s1, s2, rec1, rec2, org=org, kind=kind)


def compare(
    store: CatalogStore,
    s1: Snapshot,
    s2: Snapshot,
    recorded_from: Any = None,
    recorded_to: Any = None,
    org: str | None = None,
    kind: str | None = None,
) -> Diff:
    """The :class:`Diff` of two snapshots (``s1`` on the earlier day)."""
    start, end = s1.day, s2.day
    lo, hi = start.isoformat(), end.isoformat()
    mm = store.metamodel
    out = Diff(start, end, recorded_from, recorded_to, s1.revision, s2.revision, org=org, kind=kind)
    scope: set[str] | None = None
    if org:
        scope = s1.descendants(org) | s2.descendants(org)

    def in_scope(e: Any, *owners: str | None) -> bool:
        if kind and e.kind != kind:
            return False
        if scope is None:
            return True
        return e.ref in scope or any(o in scope for o in owners if o)

    named: set[str] = set()
    e1, e2 = s1.entities, s2.entities
    for ref, a in e1.items():
        b = e2.get(ref)
        if b is None:
            if not in_scope(a, s1.owner(ref)):
                continue
            rec = s2.all_entities.get(ref)
            if rec is None:
                reason, date = "deleted", None
            elif rec.valid_to is not None and start < rec.valid_to <= end:
                reason, date = "ended", rec.valid_to.isoformat()
            else:
                reason, date = "not-valid", None
            out.removed.append(EntityChange(ref, a.kind, dict(a.name.model_dump()), s1.owner(ref), reason, date))
            named.update(x for x in (ref, s1.owner(ref)) if x)
            continue
        o1, o2 = s1.owner(ref), s2.owner(ref)
        if a is not b:
            sa, sb = _state(a), _state(b)
            if sa != sb and in_scope(b, o1, o2):
                out.changed.append(EntityChange(ref, b.kind, dict(b.name.model_dump()), o2, "", None, _fields(sa, sb)))
                named.add(ref)
        if o1 != o2 and in_scope(b, o1, o2):
            period = next(
                (p for p in _periods(b) if (p.get("start") or "") <= hi and (p.get("end") is None or hi < p["end"])),
                {},
            )
            event_id = period.get("event") if lo < (period.get("start") or "") else None
            out.moved.append(
                OwnershipMove(
                    ref,
                    b.kind,
                    dict(b.name.model_dump()),
                    o1,
                    o2,
                    _day_text(period.get("start")),
                    event_id,
                    None,
                    period.get("basis") or "",
                )
            )
            named.update(x for x in (ref, o1, o2) if x)
    for ref, b in e2.items():
        if ref in e1 or not in_scope(b, s2.owner(ref)):
            continue
        rec = s1.all_entities.get(ref)
        if rec is None:
            reason, date = "recorded", None
        elif rec.valid_from is not None and start < rec.valid_from <= end:
            reason, date = "began", rec.valid_from.isoformat()
        else:
            reason, date = "not-valid", None
        out.added.append(EntityChange(ref, b.kind, dict(b.name.model_dump()), s2.owner(ref), reason, date))
        named.update(x for x in (ref, s2.owner(ref)) if x)

    def rel_scope(r: Any, snap: Snapshot) -> bool:
        ends = [snap.entity(r.source), snap.entity(r.target)]
        if kind and not any(e is not None and e.kind == kind for e in ends):
            return False
        if scope is None:
            return True
        return any(e is not None and (e.ref in scope or snap.owner(e.ref) in scope) for e in ends)

    r1 = {r.id: r for r in s1.relationships}
    r2 = {r.id: r for r in s2.relationships}
    for rid, r in r1.items():
        if rid not in r2:
            if rel_scope(r, s1):
                out.relationships_removed.append(RelationshipChange(rid, r.type, r.source, r.target, "removed"))
                named.update((r.source, r.target))
        elif r2[rid] is not r:
            sa, sb = _state(r), _state(r2[rid])
            if sa != sb and rel_scope(r2[rid], s2):
                out.relationships_changed.append(
                    RelationshipChange(rid, r.type, r.source, r.target, "", _fields(sa, sb))
                )
                named.update((r.source, r.target))
    for rid, r in r2.items():
        if rid not in r1 and rel_scope(r, s2):
            out.relationships_added.append(RelationshipChange(rid, r.type, r.source, r.target, "added"))
            named.update((r.source, r.target))

    # organisations: the events dated in (from, to], then organisations that began or ended without one
    events = {ev.id: ev for ev in store.list_events()}
    told: set[str] = set()
    for ev in sorted(events.values(), key=lambda ev: (ev.date, ev.id)):
        if not (start < ev.date <= end):
            continue
        date = ev.date.isoformat()
        items: list[OrgChange] = []
        if ev.type in MERGED:
            items += [
                OrgChange(r, "merged", date, ev.id, ev.type, ev.legal_basis, tuple(ev.to))
                for r in ev.from_
                if r not in ev.to
            ]
            items += [OrgChange(r, "created", date, ev.id, ev.type, ev.legal_basis) for r in ev.to if r not in e1]
        elif ev.type == "dissolve":
            items += [OrgChange(r, "dissolved", date, ev.id, ev.type, ev.legal_basis) for r in ev.from_]
        elif ev.type == "rename":
            new = dict(ev.new_name.model_dump()) if ev.new_name else None
            items += [OrgChange(r, "renamed", date, ev.id, ev.type, ev.legal_basis, (), new) for r in ev.to or ev.from_]
        elif ev.type in ("create", "reestablish", "split"):
            change = {"create": "created", "reestablish": "reestablished", "split": "split"}[ev.type]
            items += [OrgChange(r, change, date, ev.id, ev.type, ev.legal_basis) for r in ev.to]
        for item in items:
            if _org_in(item, scope, kind, mm):
                out.organisations.append(item)
                told.add(item.ref)
                named.update((item.ref, *item.into))
    for x in out.added:
        if mm.is_organisation(x.kind) and x.ref not in told and _org_in(x, scope, kind, mm):
            out.organisations.append(OrgChange(x.ref, "created", x.date, None, None, ""))
    for x in out.removed:
        if mm.is_organisation(x.kind) and x.ref not in told and _org_in(x, scope, kind, mm):
            out.organisations.append(OrgChange(x.ref, "ended", x.date, None, None, ""))
    for m in out.moved:
        moved_by = events.get(m.event or "")
        if moved_by is not None:
            i = out.moved.index(m)
            out.moved[i] = OwnershipMove(
                m.ref,
                m.kind,
                m.name,
                m.from_owner,
                m.to_owner,
                m.date,
                m.event,
                moved_by.type,
                m.legal_basis or moved_by.legal_basis,
            )

    for ref in sorted(named):
        e = s2.entity(ref) or s1.entity(ref)
        if e is not None:
            out.names[ref] = dict(e.name.model_dump())
    for part in (out.added, out.removed, out.changed):
        part.sort(key=lambda x: (x.kind, x.ref))
    # moves by date, then kind in the metamodel's order (systems before databases...), then name
    order = {k: i for i, k in enumerate(mm.kinds)}
    out.moved.sort(
        key=lambda x: (x.date or "", order.get(x.kind, len(order)), vi_sort_key(x.name.get("vi") or ""), x.ref)
    )
    out.organisations.sort(key=lambda x: (x.date or "", x.ref, x.change))
    return out


def _org_in(item: Any, scope: set[str] | None, kind: str | None, mm: Metamodel) -> bool:
    """Whether an organisation's change is shown: the kind filter names an organisation kind (or none), and the
    organisation is in the organisation filter's scope (or merged into it)."""
    if kind and not mm.is_organisation(kind):
        return False
    return scope is None or item.ref in scope or any(r in scope for r in getattr(item, "into", ()))


__all__ = ["Diff", "EntityChange", "FieldChange", "OrgChange", "OwnershipMove", "RelationshipChange", "compare", "diff"]
