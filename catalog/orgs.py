"""Organisation events: what each type of event does to organisations and to the ownership of their assets.

``plan_event`` computes the changed entities (with the versions they were read at) without writing; the service
writes them and records the event in one transaction. Semantics:

- create: the ``to`` organisations start on the date.
- rename: the ``from`` organisation takes ``new_name`` (its reference does not change).
- merge: the ``from`` organisations end (status merged) and a new ``to`` organisation starts; their assets move to it.
- absorb: the ``from`` organisations end (status merged) and join the existing ``to``; their assets move to it.
- split: the ``from`` organisation ends (status dissolved); each of its assets must appear in ``transfers``.
- reestablish: the ``to`` organisation (dissolved earlier) exists again from the date; ``transfers`` move assets back.
- dissolve: the ``from`` organisations end (status dissolved); ``transfers`` move assets (the rest stay, flagged by
  the compliance rule on dissolved owners).
- transfer: only the ``transfers`` apply.
"""

from __future__ import annotations

from catalog.errors import FieldError, ValidationFailed
from catalog.model import Entity, OrgEvent
from catalog.store.base import CatalogStore, EntityFilter


def _owned_by(store: CatalogStore, org: str) -> list[Entity]:
    return store.list_entities(EntityFilter(owner=org, limit=1_000_000))


def plan_event(store: CatalogStore, ev: OrgEvent) -> list[tuple[Entity, int]]:
    from catalog.services import transfer

    errors: list[FieldError] = []
    refs = set(ev.from_) | set(ev.to) | {t.entity for t in ev.transfers} | {t.to for t in ev.transfers}
    found = store.get_entities(sorted(refs))
    for field, items in (("from", ev.from_), ("to", ev.to)):
        for i, ref in enumerate(items):
            e = found.get(ref)
            if e is None:
                errors.append(FieldError(f"{field}.{i}", f"{ref} does not exist"))
            elif e.kind != "organization":
                errors.append(FieldError(f"{field}.{i}", f"{ref} is not an organization"))
    for i, t in enumerate(ev.transfers):
        if t.entity not in found:
            errors.append(FieldError(f"transfers.{i}.entity", f"{t.entity} does not exist"))
        if t.to not in found or not t.to.startswith("organization:"):
            errors.append(FieldError(f"transfers.{i}.to", f"{t.to} is not an existing organization"))
    need = {"create": (0, 1), "rename": (1, 0), "merge": (2, 1), "absorb": (1, 1), "split": (1, 2),
            "reestablish": (0, 1), "dissolve": (1, 0), "transfer": (0, 0)}[ev.type]
    if len(ev.from_) < need[0]:
        errors.append(FieldError("from", f"a {ev.type} event needs at least {need[0]} organisation(s) in 'from'"))
    if len(ev.to) < need[1]:
        errors.append(FieldError("to", f"a {ev.type} event needs at least {need[1]} organisation(s) in 'to'"))
    if ev.type in ("merge", "absorb") and len(ev.to) != 1:
        errors.append(FieldError("to", f"a {ev.type} event has exactly one 'to' organisation"))
    if ev.type == "rename" and ev.new_name is None:
        errors.append(FieldError("new_name", "a rename event needs new_name"))
    if errors:
        raise ValidationFailed(errors)

    changed: dict[str, tuple[Entity, int]] = {}

    def put(e: Entity, version: int) -> None:
        changed[e.ref] = (e, changed.get(e.ref, (e, version))[1])

    def current(ref: str) -> Entity:
        return changed[ref][0] if ref in changed else found[ref]

    def end_org(ref: str, status: str) -> None:
        org = current(ref)
        put(org.model_copy(update={"valid_to": ev.date, "attributes": {**org.attributes, "status": status}}),
            found[ref].version)

    def start_org(ref: str) -> None:
        org = current(ref)
        update = {"valid_to": None, "attributes": {**org.attributes, "status": "active"}}
        if ev.type != "reestablish":  # a re-established organisation keeps its first establishment date
            update["valid_from"] = ev.date
        put(org.model_copy(update=update), found[ref].version)

    explicit = {t.entity: t.to for t in ev.transfers}
    moves: dict[str, str] = {}
    if ev.type in ("merge", "absorb"):
        for src in ev.from_:
            for asset in _owned_by(store, src):
                moves[asset.ref] = explicit.get(asset.ref, ev.to[0])
                found.setdefault(asset.ref, asset)
    if ev.type == "split":
        missing = [a.ref for a in _owned_by(store, ev.from_[0]) if a.ref not in explicit]
        if missing:
            raise ValidationFailed([FieldError("transfers", f"a split must say where each asset of {ev.from_[0]} "
                                                            f"goes; missing: {', '.join(missing[:20])}")])
    moves.update(explicit)

    if ev.type == "rename":
        org = current(ev.from_[0])
        put(org.model_copy(update={"name": ev.new_name}), found[ev.from_[0]].version)
    for ref in ev.from_:
        if ev.type in ("merge", "absorb"):
            end_org(ref, "merged")
        elif ev.type in ("split", "dissolve"):
            end_org(ref, "dissolved")
    if ev.type in ("create", "merge", "split", "reestablish"):
        for ref in ev.to:
            start_org(ref)
    for asset_ref, to in sorted(moves.items()):
        asset = current(asset_ref)
        put(transfer(asset, to, ev.date, event=ev.id, basis=ev.legal_basis), found[asset_ref].version)
    return [changed[ref] for ref in sorted(changed)]
