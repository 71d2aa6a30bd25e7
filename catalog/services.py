"""Catalog services: the rules every door (CLI, importers, API, UI) goes through.

Validation against the metamodel, referential integrity (no reference to a missing or dissolved organisation, no
relationship to a missing or retired entity without an explicit error), permissions by role and organisation, and
organisation events that move ownership on their effective date. Every write goes to the store, which audits it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from catalog.errors import FieldError, IntegrityError, NotFound, ValidationFailed
from pydantic import ValidationError as PydanticValidationError

from catalog.model import (Entity, OrgEvent, OwnerPeriod, Relationship, parse_entity, parse_relationship,
                           pydantic_errors, validate_entity, validate_relationship)
from catalog.permissions import SYSTEM, Principal, require, require_owner_scope
from catalog.store.base import CatalogStore, EntityFilter, WriteContext


def is_dissolved(org: Entity, on: dt.date) -> bool:
    """An organisation no longer exists on ``on``: its valid_to has passed (merged, absorbed, dissolved)."""
    return org.valid_to is not None and org.valid_to <= on


class CatalogService:
    """Operations on behalf of one principal. ``today`` fixes "now" for validity checks (tests, as-of tools)."""

    def __init__(self, store: CatalogStore, principal: Principal = SYSTEM, request_id: str | None = None,
                 today: dt.date | None = None):
        self.store = store
        self.principal = principal
        self.ctx = WriteContext(actor=principal.name, **({"request_id": request_id} if request_id else {}))
        self.today = today or dt.date.today()

    # --- checks ------------------------------------------------------------------------------------------------
    def _check_references(self, e: Entity, before: Entity | None = None) -> None:
        """Owner, parent and data-owner references must name existing organisations; a reference that is new or
        changed must also name one that still exists today (not merged, absorbed or dissolved)."""
        errors: list[FieldError] = []
        named: list[tuple[str, str, str | None]] = []
        if e.owner:
            named.append(("owner", e.owner, before.owner if before else None))
        spec = self.store.metamodel.kind(e.kind)
        for a in spec.attributes:
            if a.type == "ref" and a.name in e.attributes:
                named.append((f"attributes.{a.name}", e.attributes[a.name],
                              before.attributes.get(a.name) if before else None))
        found = self.store.get_entities([ref for _, ref, _ in named])
        for field, ref, previous in named:
            target = found.get(ref)
            if target is None:
                errors.append(FieldError(field, f"{ref} does not exist"))
            elif ref != previous and target.kind == "organization" and is_dissolved(target, self.today):
                errors.append(FieldError(field, f"{ref} no longer exists (valid until {target.valid_to}); "
                                                "use its successor"))
        if e.kind == "organization" and e.attributes.get("parent") == e.ref:
            errors.append(FieldError("attributes.parent", "an organisation cannot be its own parent"))
        if errors:
            raise ValidationFailed(errors)

    def _check_endpoints(self, r: Relationship) -> None:
        ends = self.store.get_entities([r.source, r.target])
        errors = []
        for field, ref in (("source", r.source), ("target", r.target)):
            e = ends.get(ref)
            if e is None:
                errors.append(FieldError(field, f"{ref} does not exist"))
            elif e.kind == "organization" and is_dissolved(e, self.today) and r.type != "successor_of":
                errors.append(FieldError(field, f"{ref} was dissolved on {e.valid_to}; link its successor instead"))
            elif e.attributes.get("lifecycle") == "retired" and r.type not in ("supersedes",):
                errors.append(FieldError(field, f"{ref} is retired"))
        if errors:
            raise IntegrityError("; ".join(str(x) for x in errors))

    # --- entities ----------------------------------------------------------------------------------------------
    def get(self, ref: str) -> Entity:
        require(self.principal, "read")
        return self.store.get_entity(ref)

    def register(self, data: dict[str, Any] | Entity) -> Entity:
        e = data if isinstance(data, Entity) else parse_entity(data)
        e = validate_entity(e, self.store.metamodel)
        require_owner_scope(self.store, self.principal, e.ref, e.owner)
        self._check_references(e)
        return self.store.create_entity(e.model_copy(update={"provenance": None}), self.ctx)

    def update(self, ref: str, data: dict[str, Any] | Entity, expected_version: int) -> Entity:
        """Replace an entity's content. Kind and code (the reference) never change."""
        current = self.store.get_entity(ref)
        e = data if isinstance(data, Entity) else parse_entity({**data, "kind": current.kind, "code": current.code}
                                                                if "ref" not in data else data)
        if e.ref != ref:
            raise ValidationFailed([FieldError("ref", f"the reference is immutable: {ref} cannot become {e.ref}")])
        e = validate_entity(e, self.store.metamodel)
        require_owner_scope(self.store, self.principal, ref, current.owner if current.kind != "organization"
                            else None, e.owner if e.kind != "organization" else None)
        self._check_references(e, current)
        # a person's edit makes the entity theirs: an import's clean-up no longer removes it (its source may still
        # update it on the next import; the change log keeps where each version came from)
        return self.store.update_entity(e.model_copy(update={"provenance": None}), expected_version, self.ctx)

    def patch(self, ref: str, changes: dict[str, Any], expected_version: int) -> Entity:
        """Update some fields; ``attributes`` are merged (a None value removes one)."""
        current = self.store.get_entity(ref)
        data = current.model_dump(mode="json", exclude={"ref", "version", "created_at", "updated_at"})
        for key, value in changes.items():
            if key == "attributes" and isinstance(value, dict):
                attrs = {**data["attributes"], **value}
                data["attributes"] = {k: v for k, v in attrs.items() if v is not None}
            elif key == "owner":
                data.pop("owner_history")
                data["owner"] = value
            else:
                data[key] = value
        return self.update(ref, data, expected_version)

    def retire(self, ref: str, expected_version: int, on: dt.date | None = None) -> Entity:
        """Retire an asset (lifecycle = retired, valid_to = the date); organisations are ended by events."""
        current = self.store.get_entity(ref)
        if current.kind == "organization":
            raise ValidationFailed([FieldError("ref", "organisations are ended by an event (merge, absorb, "
                                                      "dissolve), not retired")])
        return self.patch(ref, {"attributes": {"lifecycle": "retired"},
                                "valid_to": (on or self.today).isoformat()}, expected_version)

    def delete(self, ref: str, expected_version: int, cascade: bool = False) -> None:
        current = self.store.get_entity(ref)
        require_owner_scope(self.store, self.principal, ref, current.owner if current.kind != "organization"
                            else None)
        if current.kind == "organization":
            users = self.store.count_entities(EntityFilter(owner=ref))
            if users:
                raise IntegrityError(f"{ref} still owns {users} entities; transfer them first")
        self.store.delete_entity(ref, expected_version, self.ctx, cascade=cascade)

    # --- relationships -----------------------------------------------------------------------------------------
    def link(self, data: dict[str, Any] | Relationship) -> Relationship:
        r = data if isinstance(data, Relationship) else parse_relationship(data)
        r = validate_relationship(r, self.store.metamodel)
        self._authorize_link(r)
        self._check_endpoints(r)
        return self.store.create_relationship(r.model_copy(update={"provenance": None}), self.ctx)

    def update_link(self, data: dict[str, Any] | Relationship, expected_version: int) -> Relationship:
        r = data if isinstance(data, Relationship) else parse_relationship(data)
        r = validate_relationship(r, self.store.metamodel)
        if self.store.find_relationship(r.id) is None:
            raise NotFound(f"relationship {r.id} does not exist")
        self._authorize_link(r)
        self._check_endpoints(r)
        return self.store.update_relationship(r, expected_version, self.ctx)

    def unlink(self, rel_id: str, expected_version: int) -> None:
        r = self.store.find_relationship(rel_id)
        if r is None:
            raise NotFound(f"relationship {rel_id} does not exist")
        self._authorize_link(r)
        self.store.delete_relationship(rel_id, expected_version, self.ctx)

    def _authorize_link(self, r: Relationship) -> None:
        if self.principal.role != "editor":
            require(self.principal, "write")
            return
        source = self.store.get_entity(r.source)
        require_owner_scope(self.store, self.principal, r.source, source.owner)

    # --- organisations over time -------------------------------------------------------------------------------
    def owner_on(self, ref: str, day: dt.date) -> str | None:
        """Who owned ``ref`` on ``day`` (valid time, from its ownership history)."""
        require(self.principal, "read")
        return self.store.get_entity(ref).owner_on(day)

    def apply_event(self, data: dict[str, Any] | OrgEvent) -> tuple[OrgEvent, list[str]]:
        """Apply an organisation event on its effective date, in one transaction: end or start organisations,
        move ownership of their systems, databases, platforms and services, and record the event.
        Returns the recorded event and the references of the entities it changed."""
        from catalog.orgs import plan_event

        require(self.principal, "event")
        try:
            ev = data if isinstance(data, OrgEvent) else OrgEvent.model_validate(data)
        except PydanticValidationError as exc:
            raise ValidationFailed(pydantic_errors(exc)) from None
        with self.store.transaction(self.ctx):
            planned = plan_event(self.store, ev)
            for entity, version in planned:
                self.store.update_entity(entity, version, self.ctx)
            return self.store.record_event(ev, self.ctx), [e.ref for e, _ in planned]


def transfer(entity: Entity, to: str, on: dt.date, event: str | None = None, basis: str | None = None) -> Entity:
    """Return ``entity`` with ownership moved to ``to`` from ``on`` (the current period ends that day)."""
    history = list(entity.owner_history)
    if history and history[-1].end is None:
        last = history[-1]
        if last.org == to:
            return entity
        if last.start is not None and last.start >= on:
            raise ValidationFailed([FieldError("date", f"{entity.ref} is owned by {last.org} only from "
                                                       f"{last.start}; cannot transfer it on {on}")])
        history[-1] = last.model_copy(update={"end": on})
    history.append(OwnerPeriod(org=to, start=on, event=event, basis=basis or None))
    return entity.model_copy(update={"owner_history": history})
