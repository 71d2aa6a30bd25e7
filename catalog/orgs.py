"""Organisation events: what each type of event does to organisations and to the ownership of their assets.

``plan_event`` checks the whole event, then computes the changed entities (with the versions they were read at)
without writing; the service writes them and records the event in one transaction. Semantics:

- create: the ``to`` organisations start on the date.
- rename: the ``from`` organisation takes ``new_name`` (its reference does not change; ``to``, if given, names it
  again).
- merge: the ``from`` organisations end (status merged) and a new ``to`` organisation starts; their assets move to it.
- absorb: the ``from`` organisations end (status merged) and join the existing ``to``; their assets move to it.
- split: the ``from`` organisation ends (status dissolved); each of its assets must appear in ``transfers``.
- reestablish: the ``to`` organisation (dissolved earlier) exists again from the date; ``transfers`` move assets back.
- dissolve: the ``from`` organisations end (status dissolved); ``transfers`` move assets (the rest stay, flagged by
  the compliance rule on dissolved owners).
- transfer: only the ``transfers`` apply.

What is refused, each with a FieldError naming the field (each reason a :class:`catalog.i18n.Message`, codes
``event-*``), before anything is written:

- parties: ``from`` and ``to`` name existing organisations, each at most once, and no organisation on both sides
  (nothing merges with, absorbs or splits into itself); the counts each type needs;
- transfers: the subject is an existing entity of a kind that has an owner (never an organisation: those move by
  their ``parent``), named once; the destination is an organisation that exists on the date and does not end by
  this very event;
- dates: an organisation that ends must have started before the date and not have ended already; one that starts
  (create, merge, split) must not have existed before the date (an existing one joins by absorb; an ended one comes
  back by reestablish); an absorbing or renamed organisation exists on the date; a re-established one had ended by
  then. No planned change may leave ``valid_from`` on or after ``valid_to``;
- hierarchy: a successor (the ``to`` of a merge, absorb or split) must not be a unit of an organisation it succeeds
  (its parent chain would lead to its own predecessor; move its parent first).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg, msg_plural
from catalog.model import Entity, OrgEvent, OwnerPeriod, validate_entity
from catalog.permissions import org_chain
from catalog.store.base import CatalogStore, EntityFilter


def _owned_by(store: CatalogStore, org: str) -> list[Entity]:
    return store.list_entities(EntityFilter(owner=org, limit=1_000_000))


def _exists_on(org: Entity, day: dt.date) -> bool:
    return (org.valid_from is None or org.valid_from <= day) and (org.valid_to is None or org.valid_to > day)


def event_shape(store: CatalogStore, ev: OrgEvent, found: dict[str, Entity], counts: bool = True) -> list[FieldError]:
    """What is wrong with ``ev`` whatever the date: parties that do not exist or are not organisations, a party named
    twice or on both sides, a transfer of something without an owner, too few or too many parties for its type.
    Importers check recorded events with this (their entities already stand after the event, so the date checks
    of :func:`check_event` do not apply to them), without ``counts``: a recorded merge may name only the parties the
    catalog models (the sample's Hà Nội merge names one of its two departments)."""
    errors: list[FieldError] = []
    for field, items in (("from", ev.from_), ("to", ev.to)):
        for i, ref in enumerate(items):
            e = found.get(ref)
            if e is None:
                errors.append(FieldError(f"{field}.{i}", msg("entity-not-found", ref=ref)))
            elif not store.metamodel.is_organisation(e.kind):
                errors.append(FieldError(f"{field}.{i}", msg("not-an-organization", ref=ref)))
            elif ref in items[:i]:
                errors.append(FieldError(f"{field}.{i}", msg("event-named-twice")))
    for i, t in enumerate(ev.transfers):
        subject, dest = found.get(t.entity), found.get(t.to)
        if subject is None:
            errors.append(FieldError(f"transfers.{i}.entity", msg("entity-not-found", ref=t.entity)))
        elif not store.metamodel.kind(subject.kind).owned:
            errors.append(FieldError(f"transfers.{i}.entity", msg("event-transfer-unowned")))
        elif t.entity in [x.entity for x in ev.transfers[:i]]:
            errors.append(FieldError(f"transfers.{i}.entity", msg("event-transfer-twice")))
        if dest is None or not store.metamodel.is_organisation(dest.kind):
            errors.append(FieldError(f"transfers.{i}.to", msg("not-an-existing-organization", ref=t.to)))
    need = {
        "create": (0, 1),
        "rename": (1, 0),
        "merge": (2, 1),
        "absorb": (1, 1),
        "split": (1, 2),
        "reestablish": (0, 1),
        "dissolve": (1, 0),
        "transfer": (0, 0),
    }[ev.type]
    if not counts:
        need = (0, 0)
    if len(ev.from_) < need[0]:
        errors.append(
            FieldError("from", msg_plural("event-needs-from", "event-needs-from#plural", count=need[0], type=ev.type))
        )
    if len(ev.to) < need[1]:
        errors.append(
            FieldError("to", msg_plural("event-needs-to", "event-needs-to#plural", count=need[1], type=ev.type))
        )
    if ev.type in ("merge", "absorb") and len(ev.to) != 1:
        errors.append(FieldError("to", msg("event-one-to", type=ev.type)))
    if ev.type in ("rename", "split") and len(ev.from_) > 1:
        errors.append(FieldError("from", msg("event-one-from")))
    if ev.type == "rename" and ev.new_name is None:
        errors.append(FieldError("new_name", msg("event-rename-needs-name")))
    if errors:
        return errors
    if ev.type == "rename":
        if ev.to and ev.to != ev.from_:
            errors.append(FieldError("to", msg("event-rename-to")))
    else:
        errors += [FieldError(f"to.{i}", msg("event-same-party")) for i, ref in enumerate(ev.to) if ref in ev.from_]
    return errors


def check_event(store: CatalogStore, ev: OrgEvent, found: dict[str, Entity]) -> list[FieldError]:
    """Every problem with ``ev`` against the catalog (``found``: the entities it names), as FieldErrors."""
    errors = event_shape(store, ev, found)
    if errors:  # the checks below read the organisations named
        return errors

    day = ev.date
    ending = list(ev.from_) if ev.type in ("merge", "absorb", "split", "dissolve") else []
    starting = list(ev.to) if ev.type in ("create", "merge", "split") else []
    for i, ref in enumerate(ev.from_):
        org = found[ref]
        if ref in ending:
            if org.valid_from is not None and org.valid_from >= day:
                errors.append(FieldError(f"from.{i}", msg("event-ends-before-start")))
            elif org.valid_to is not None and org.valid_to <= day:
                errors.append(FieldError(f"from.{i}", msg("event-already-ended")))
        elif ev.type == "rename" and not _exists_on(org, day):
            errors.append(FieldError(f"from.{i}", msg("event-not-on-date")))
    for i, ref in enumerate(ev.to):
        org = found[ref]
        if ref in starting:
            if org.valid_to is not None and org.valid_to <= day:
                errors.append(FieldError(f"to.{i}", msg("event-start-ended")))
            elif org.valid_from is not None and org.valid_from < day:
                errors.append(FieldError(f"to.{i}", msg("event-start-existing")))
        elif ev.type == "absorb" and not _exists_on(org, day):
            errors.append(FieldError(f"to.{i}", msg("event-not-on-date")))
        elif ev.type == "reestablish" and (org.valid_to is None or org.valid_to > day):
            errors.append(FieldError(f"to.{i}", msg("event-reestablish-active")))
        if ev.type in ("merge", "absorb", "split"):
            above = org_chain(store, ref, found)[1:]
            if any(pred in above for pred in ev.from_):
                errors.append(FieldError(f"to.{i}", msg("event-successor-is-unit")))
    arriving = set(starting) | (set(ev.to) if ev.type == "reestablish" else set())
    for i, t in enumerate(ev.transfers):
        dest = found[t.to]
        if t.to in ending:
            errors.append(FieldError(f"transfers.{i}.to", msg("event-transfer-to-ending")))
        elif t.to not in arriving and not _exists_on(dest, day):
            errors.append(FieldError(f"transfers.{i}.to", msg("event-not-on-date")))
    return errors


def transfer(entity: Entity, to: str, on: dt.date, event: str | None = None, basis: str | None = None) -> Entity:
    """Return ``entity`` with ownership moved to ``to`` from ``on`` (the current period ends that day)."""
    history = list(entity.owner_history)
    if history and history[-1].end is None:
        last = history[-1]
        if last.org == to:
            return entity
        if last.start is not None and last.start >= on:
            raise ValidationFailed(
                [
                    FieldError(
                        "date", msg("transfer-before-start", ref=entity.ref, org=last.org, start=last.start, day=on)
                    )
                ]
            )
        history[-1] = last.model_copy(update={"end": on})
    history.append(OwnerPeriod(org=to, start=on, event=event, basis=basis or None))
    return entity.model_copy(update={"owner_history": history})


def plan_event(store: CatalogStore, ev: OrgEvent) -> list[tuple[Entity, int]]:
    refs = set(ev.from_) | set(ev.to) | {t.entity for t in ev.transfers} | {t.to for t in ev.transfers}
    found = store.get_entities(sorted(refs))
    errors = check_event(store, ev, found)
    if errors:
        raise ValidationFailed(errors)

    changed: dict[str, tuple[Entity, int]] = {}

    def put(e: Entity, version: int) -> None:
        changed[e.ref] = (e, changed.get(e.ref, (e, version))[1])

    def current(ref: str) -> Entity:
        return changed[ref][0] if ref in changed else found[ref]

    def end_org(ref: str, status: str) -> None:
        org = current(ref)
        put(
            org.model_copy(update={"valid_to": ev.date, "attributes": {**org.attributes, "status": status}}),
            found[ref].version,
        )

    def start_org(ref: str) -> None:
        org = current(ref)
        update: dict[str, Any] = {"valid_to": None, "attributes": {**org.attributes, "status": "active"}}
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
            raise ValidationFailed(
                [FieldError("transfers", msg("event-split-missing", ref=ev.from_[0], missing=", ".join(missing[:20])))]
            )
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
    errors = []
    for ref in sorted(changed):  # what the event would write is valid like any other write (dates in order)
        try:
            validate_entity(changed[ref][0], store.metamodel)
        except ValidationFailed as exc:
            errors += [FieldError(f"{ref}.{e.location}", e.reason) for e in exc.errors]
    if errors:
        raise ValidationFailed(errors)
    return [changed[ref] for ref in sorted(changed)]
