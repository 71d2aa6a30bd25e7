"""Catalog services: the rules every door (CLI, importers, API, UI) goes through.

Validation against the metamodel, referential integrity (no reference to a missing or dissolved organisation, no
relationship to a missing or retired entity without an explicit error), permissions by role and organisation, and
organisation events that move ownership on their effective date. Every write goes to the store, which audits it.

Authorisation covers everything a write changes, not only the entity it names, and is checked here, once, for
every door:

- Who first: every write checks the principal's role before it looks at the input, so a read-only principal is
  refused (403) whatever it sends.
- A department editor changes only what their organisation and its units own, before and after the change
  (:func:`catalog.permissions.in_scope`), and never another organisation's facts:

  - delete with cascade: every relationship the cascade would remove must be one the editor may unlink (its source
    is theirs); otherwise the whole delete is refused (403) naming those relationships and nothing is written. The
    check and the delete run in one transaction, so a relationship added in between cannot slip through;
  - update: the closed periods of the ownership history (who owned it before) stay exactly as they are; the owner
    changes only by ``owner`` (ownership moves from today, :func:`reowned`) or by an organisation event;
  - register: every organisation the ownership history names must be theirs;
  - retire changes the named entity only (its validity end and, where its kind has one, its lifecycle): the
    relationships other organisations' entities have with it stay as they are (the compliance rules flag them);
  - organisation events and imports need the ``event`` and ``import`` permissions, which editors do not have;
  - a draft's approval applies only what its submitter may still change (:mod:`catalog.drafts`).

- What a change may carry: :data:`PATCH_FIELDS`, the fields of a PATCH. :func:`merge_patch` is the one merge of a
  change into an entity, shared by :meth:`CatalogService.patch`, :meth:`CatalogService.retire` and drafts; it
  refuses identity, bookkeeping, the ownership history and unknown fields, naming each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from catalog.changeset import OPS, Change
from catalog.errors import Conflict, FieldError, IntegrityError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import Message, msg, msg_plural
from catalog.metamodel import Metamodel
from catalog.model import (
    REF_RE,
    Entity,
    OrgEvent,
    OwnerPeriod,
    Relationship,
    parse_entity,
    parse_relationship,
    pydantic_errors,
    validate_entity,
    validate_event,
    validate_relationship,
)
from catalog.orgs import plan_event, transfer
from catalog.permissions import SYSTEM, Principal, in_scope, org_chain, owner_scope, require, require_owner_scope
from catalog.store.base import CatalogStore, EntityFilter, WriteContext

#: What a change (PATCH, a patch draft) may set; ``owner`` only for kinds that have one.
PATCH_FIELDS = ("name", "description", "valid_from", "valid_to", "tags", "attributes", "owner")
_IDENTITY = ("kind", "code", "ref")
_BOOKKEEPING = ("version", "created_at", "updated_at", "provenance")
_NAMED = 20  # at most this many refused relationships are named in a refusal


def is_dissolved(org: Entity, on: dt.date) -> bool:
    """An organisation no longer exists on ``on``: its valid_to has passed (merged, absorbed, dissolved)."""
    return org.valid_to is not None and org.valid_to <= on


def is_retired(e: Entity, mm: Metamodel, on: dt.date) -> bool:
    """Out of service on ``on``: lifecycle ``retired`` for a kind that declares a lifecycle; for a kind without one
    (datasets), its validity has ended. Organisations are never retired (see :func:`is_dissolved`)."""
    spec = mm.kinds.get(e.kind)
    lifecycle = spec.attribute("lifecycle") if spec else None
    if lifecycle is not None:
        return e.attributes.get("lifecycle") == "retired"
    return mm.owned(e.kind) and e.valid_to is not None and e.valid_to <= on


def retire_changes(entity: Entity, on: dt.date, mm: Metamodel) -> dict[str, Any]:
    """What retiring ``entity`` on ``on`` changes, read from its kind in the metamodel: its validity ends on that
    date and, when the kind declares a lifecycle with a ``retired`` stage, lifecycle becomes ``retired``. A kind
    without a lifecycle (dataset: an entry of the data dictionary, which is never planned, built or run) is retired
    by its validity end alone. Organisations are not retired: they end by an event (merge, absorb, dissolve)."""
    if mm.is_organisation(entity.kind):
        raise ValidationFailed([FieldError("ref", msg("retire-organisation"))])
    changes: dict[str, Any] = {"valid_to": on.isoformat()}
    lifecycle = mm.kind(entity.kind).attribute("lifecycle")
    if lifecycle is not None and "retired" in lifecycle.values:
        changes["attributes"] = {"lifecycle": "retired"}
    return changes


def reowned(current: Entity, new_owner: str | None, today: dt.date) -> list[OwnerPeriod]:
    """The ownership history once ``new_owner`` owns ``current`` from ``today``: the open period ends today and a
    new one starts (an open period that starts today or later never held and is replaced instead); ``None`` ends
    the open period. Closed periods are never changed. The same owner: the history as it is."""
    if new_owner == current.owner:
        return list(current.owner_history)
    history = list(current.owner_history)
    last = history[-1] if history and history[-1].end is None else None
    if last is not None and last.start is not None and last.start >= today:
        history.pop()
        last = None
    if new_owner is None:
        if last is not None:
            history[-1] = last.model_copy(update={"end": today})
        return history
    return list(transfer(current.model_copy(update={"owner_history": history}), new_owner, today).owner_history)


def merge_patch(current: Entity, changes: Any, today: dt.date, mm: Metamodel, where: str = "") -> dict[str, Any]:
    """The content ``current`` has after ``changes`` (the fields of a PATCH, :data:`PATCH_FIELDS`): ``attributes``
    merge (a None value removes one), ``owner`` moves ownership from ``today`` (:func:`reowned`), other fields are
    replaced. Identity (kind, code, ref), bookkeeping (version, timestamps, provenance), the ownership history and
    unknown fields are refused, each by a FieldError at ``where`` + its name (drafts: ``changes.``) with a reason
    message (codes ``change-*``). Returns the data for :meth:`CatalogService.update`; validation against the
    metamodel happens there."""
    if not isinstance(changes, dict):
        raise ValidationFailed([FieldError(where.rstrip(".") or "changes", msg("pydantic-dict-type"))])
    owned = mm.kind(current.kind).owned
    allowed = [f for f in PATCH_FIELDS if f != "owner" or owned]
    data = current.model_dump(mode="json", exclude={"ref", "version", "created_at", "updated_at"})
    errors: list[FieldError] = []
    for key, value in changes.items():
        loc = f"{where}{key}"
        if key in _IDENTITY:
            errors.append(FieldError(loc, msg("change-immutable")))
        elif key in _BOOKKEEPING:
            errors.append(FieldError(loc, msg("change-bookkeeping")))
        elif key == "owner_history":
            errors.append(FieldError(loc, msg("change-owner-history")))
        elif key not in allowed:
            errors.append(
                FieldError(
                    loc,
                    msg("change-no-owner")
                    if key == "owner"
                    else msg("change-unknown-field", allowed=", ".join(PATCH_FIELDS)),
                )
            )
        elif key == "attributes":
            if not isinstance(value, dict):
                errors.append(FieldError(loc, msg("pydantic-dict-type")))
                continue
            attrs = {**data["attributes"], **value}
            data["attributes"] = {k: v for k, v in attrs.items() if v is not None}
        elif key == "owner":
            m = REF_RE.match(value) if isinstance(value, str) else None
            if value is not None and (m is None or not mm.is_organisation(m.group(1))):
                errors.append(FieldError(loc, msg("owner-not-organization")))
                continue
            data["owner_history"] = [p.model_dump(mode="json") for p in reowned(current, value, today)]
        else:
            data[key] = value
    if errors:
        raise ValidationFailed(errors)
    return data


class CatalogService:
    """Operations on behalf of one principal. ``today`` fixes "now" for validity checks (tests, as-of tools)."""

    def __init__(
        self,
        store: CatalogStore,
        principal: Principal = SYSTEM,
        request_id: str | None = None,
        today: dt.date | None = None,
    ):
        self.store = store
        self.principal = principal
        self.ctx = WriteContext(actor=principal.name, **({"request_id": request_id} if request_id else {}))
        self.today = today or dt.date.today()

    # --- checks ------------------------------------------------------------------------------------------------
    def _check_references(self, e: Entity, before: Entity | None = None) -> None:
        """Owner, parent and data-owner references must name existing organisations; a reference that is new or
        changed must also name one that still exists today (not merged, absorbed or dissolved). A new or changed
        parent must not make the hierarchy loop."""
        errors: list[FieldError] = []
        named: list[tuple[str, str, str | None]] = []
        if e.owner:
            named.append(("owner", e.owner, before.owner if before else None))
        mm = self.store.metamodel
        spec = mm.kind(e.kind)
        for a in spec.attributes:
            if a.type == "ref" and a.name in e.attributes:
                named.append(
                    (f"attributes.{a.name}", e.attributes[a.name], before.attributes.get(a.name) if before else None)
                )
        found = self.store.get_entities([ref for _, ref, _ in named])
        for field, ref, previous in named:
            target = found.get(ref)
            if target is None:
                errors.append(FieldError(field, msg("entity-not-found", ref=ref)))
            elif ref != previous and mm.is_organisation(target.kind) and is_dissolved(target, self.today):
                errors.append(FieldError(field, msg("ref-no-longer-exists", ref=ref, day=target.valid_to)))
        parent = e.attributes.get("parent") if mm.is_organisation(e.kind) else None
        if parent == e.ref:
            errors.append(FieldError("attributes.parent", msg("parent-self")))
        elif (
            parent
            and parent != (before.attributes.get("parent") if before else None)
            and e.ref in org_chain(self.store, parent)
        ):
            errors.append(FieldError("attributes.parent", msg("parent-loop")))
        if errors:
            raise ValidationFailed(errors)

    def _check_endpoints(self, r: Relationship) -> None:
        ends = self.store.get_entities([r.source, r.target])
        errors = []
        for field, ref in (("source", r.source), ("target", r.target)):
            e = ends.get(ref)
            if e is None:
                errors.append(FieldError(field, msg("entity-not-found", ref=ref)))
            elif (
                self.store.metamodel.is_organisation(e.kind)
                and is_dissolved(e, self.today)
                and r.type != "successor_of"
            ):
                errors.append(FieldError(field, msg("ref-dissolved", ref=ref, day=e.valid_to)))
            elif is_retired(e, self.store.metamodel, self.today) and r.type not in ("supersedes",):
                errors.append(FieldError(field, msg("ref-retired", ref=ref)))
        if errors:
            raise IntegrityError(
                msg(
                    "field-errors",
                    errors=tuple(msg("field-error", location=x.location, reason=x.reason) for x in errors),
                )
            )

    def _check_past_ownership_kept(self, current: Entity, e: Entity) -> None:
        """Department editors never rewrite who owned an entity before: its closed ownership periods stay."""
        if self.principal.role != "editor":
            return
        closed = [p for p in current.owner_history if p.end is not None]
        if e.owner_history[: len(closed)] != closed:
            raise PermissionDenied(
                msg("denied-past-ownership", principal=self.principal.name, org=self.principal.org, ref=current.ref)
            )

    def _require_links_in_scope(self, rels: list[Relationship], doing: Message) -> None:
        """Every relationship of ``rels`` must be one this principal may change (its source in their scope);
        otherwise PermissionDenied naming those that are not."""
        require(self.principal, "write")
        units = owner_scope(self.store, self.principal)
        if units is None or not rels:
            return
        sources = self.store.get_entities(sorted({r.source for r in rels}))
        refused = [
            r.id
            for r in rels
            if not in_scope(units, r.source, sources[r.source].owner if r.source in sources else None)
        ]
        if refused:
            raise PermissionDenied(
                msg_plural(
                    "denied-other-links",
                    "denied-other-links#plural",
                    count=len(refused),
                    principal=self.principal.name,
                    org=self.principal.org,
                    doing=doing,
                    refs=", ".join(refused[:_NAMED]),
                    more=msg_plural("list-and-more", "list-and-more#plural", count=len(refused) - _NAMED)
                    if len(refused) > _NAMED
                    else "",
                )
            )

    # --- entities ----------------------------------------------------------------------------------------------
    def get(self, ref: str) -> Entity:
        require(self.principal, "read")
        return self.store.get_entity(ref)

    def register(self, data: dict[str, Any] | Entity) -> Entity:
        require(self.principal, "write")
        e = data if isinstance(data, Entity) else parse_entity(data)
        e = validate_entity(e, self.store.metamodel)
        require_owner_scope(self.store, self.principal, e.ref, e.owner, *(p.org for p in e.owner_history))
        self._check_references(e)
        return self.store.create_entity(e.model_copy(update={"provenance": None}), self.ctx)

    def prepare_update(self, current: Entity, data: dict[str, Any] | Entity) -> Entity:
        """Everything :meth:`update` checks, without writing: the entity ``current`` becomes with content
        ``data``, validated, in this principal's scope before and after, past ownership kept (editors),
        references sound."""
        require(self.principal, "write")
        e = (
            data
            if isinstance(data, Entity)
            else parse_entity({**data, "kind": current.kind, "code": current.code} if "ref" not in data else data)
        )
        if e.ref != current.ref:
            raise ValidationFailed([FieldError("ref", msg("ref-immutable", ref=current.ref, new=e.ref))])
        e = validate_entity(e, self.store.metamodel)
        require_owner_scope(
            self.store,
            self.principal,
            current.ref,
            current.owner if self.store.metamodel.owned(current.kind) else None,
            e.owner if self.store.metamodel.owned(e.kind) else None,
        )
        self._check_past_ownership_kept(current, e)
        self._check_references(e, current)
        return e

    def update(self, ref: str, data: dict[str, Any] | Entity, expected_version: int) -> Entity:
        """Replace an entity's content. Kind and code (the reference) never change."""
        require(self.principal, "write")
        return self._update(self.store.get_entity(ref), data, expected_version)

    def _update(self, current: Entity, data: dict[str, Any] | Entity, expected_version: int) -> Entity:
        e = self.prepare_update(current, data)
        # a person's edit makes the entity theirs: an import's clean-up no longer removes it (its source may still
        # update it on the next import; the change log keeps where each version came from)
        return self.store.update_entity(e.model_copy(update={"provenance": None}), expected_version, self.ctx)

    def patch(self, ref: str, changes: dict[str, Any], expected_version: int) -> Entity:
        """Change some fields (:func:`merge_patch`: ``attributes`` merge, a None value removes one; ``owner``
        moves ownership from today)."""
        require(self.principal, "write")
        current = self.store.get_entity(ref)
        if current.version != expected_version:  # the change is merged into the version it was meant for
            raise Conflict(ref, expected_version, current.version)
        return self._update(current, merge_patch(current, changes, self.today, self.store.metamodel), expected_version)

    def retire(self, ref: str, expected_version: int, on: dt.date | None = None) -> Entity:
        """Retire an entity on ``on`` (default today), as its kind allows (:func:`retire_changes`): its validity
        ends, and its lifecycle becomes retired where the kind has one. Organisations are ended by events."""
        require(self.principal, "write")
        current = self.store.get_entity(ref)
        return self.patch(ref, retire_changes(current, on or self.today, self.store.metamodel), expected_version)

    def delete(self, ref: str, expected_version: int, cascade: bool = False) -> None:
        """Delete an entity; with ``cascade`` also the relationships that use it, each of which this principal
        must be allowed to unlink (checked in the same transaction as the delete)."""
        require(self.principal, "write")
        with self.store.transaction(self.ctx):
            current = self.store.get_entity(ref)
            mm = self.store.metamodel
            require_owner_scope(self.store, self.principal, ref, current.owner if mm.owned(current.kind) else None)
            if mm.is_organisation(current.kind):
                users = self.store.count_entities(EntityFilter(owner=ref))
                if users:
                    raise IntegrityError(msg_plural("org-still-owns", "org-still-owns#plural", count=users, ref=ref))
            if cascade:
                self._require_links_in_scope(self.store.list_relationships(ref), msg("doing-delete-cascade", ref=ref))
            self.store.delete_entity(ref, expected_version, self.ctx, cascade=cascade)

    # --- relationships -----------------------------------------------------------------------------------------
    def save_with_links(
        self,
        entity: Entity,
        links: Iterable[Relationship] = (),
        unlink: Iterable[str] = (),
        current: Entity | None = None,
    ) -> Entity:
        """Register ``entity`` (``current`` None) or update ``current`` to it, remove the relationships ``unlink``
        names that start at it, and add ``links``: all in one transaction, every step with the checks it has on its
        own (scope, endpoints, the metamodel), so a refusal anywhere leaves the catalog as it was."""
        with self.store.transaction(self.ctx):
            saved = self.register(entity) if current is None else self.update(current.ref, entity, current.version)
            for rel_id in sorted(set(unlink)):
                r = self.store.find_relationship(rel_id)
                if r is not None and r.source == saved.ref:
                    self.unlink(rel_id, r.version)
            for r in links:
                self.link(r)
            return saved

    def apply_changes(self, changes: Iterable[Change]) -> list[Entity | Relationship | None]:
        """Apply a change set (:mod:`catalog.changeset`) in one transaction: each change through the same call the
        API makes for it, with the checks it has on its own; a refusal anywhere leaves the catalog as it was. A
        field error names its change (``changes.<i>.<field>``). Returns what each change left (None for a delete
        or unlink)."""
        require(self.principal, "write")
        out: list[Entity | Relationship | None] = []
        with self.store.transaction(self.ctx):
            for i, c in enumerate(changes):
                try:
                    out.append(self._apply_one(c))
                except ValidationFailed as exc:
                    raise ValidationFailed(
                        [FieldError(f"changes.{i}.{e.location}".rstrip("."), e.reason) for e in exc.errors]
                    ) from None
        return out

    def _apply_one(self, c: Change) -> Entity | Relationship | None:
        v = c.base_version or 0
        if c.op == "create":
            return self.register(c.data)
        if c.op == "update":
            return self.update(c.ref, c.data, v)
        if c.op == "patch":
            return self.patch(c.ref, c.data, v)
        if c.op == "retire":
            on = c.data.get("on")
            return self.retire(c.ref, v, dt.date.fromisoformat(on) if on else None)
        if c.op == "delete":
            self.delete(c.ref, v, cascade=bool(c.data.get("cascade", False)))
            return None
        if c.op == "link":
            return self.link(c.data)
        if c.op == "relink":
            r = parse_relationship(c.data)
            if r.id != c.ref:
                raise ValidationFailed([FieldError("ref", msg("changeset-relink-endpoints"))])
            return self.update_link(r, v)
        if c.op == "unlink":
            self.unlink(c.ref, v)
            return None
        raise ValidationFailed([FieldError("op", msg("value-one-of", allowed=", ".join(OPS)))])

    def link(self, data: dict[str, Any] | Relationship) -> Relationship:
        require(self.principal, "write")
        r = data if isinstance(data, Relationship) else parse_relationship(data)
        r = validate_relationship(r, self.store.metamodel)
        self._authorize_link(r)
        self._check_endpoints(r)
        return self.store.create_relationship(r.model_copy(update={"provenance": None}), self.ctx)

    def update_link(self, data: dict[str, Any] | Relationship, expected_version: int) -> Relationship:
        require(self.principal, "write")
        r = data if isinstance(data, Relationship) else parse_relationship(data)
        r = validate_relationship(r, self.store.metamodel)
        if self.store.find_relationship(r.id) is None:
            raise NotFound(msg("relationship-not-found", id=r.id))
        self._authorize_link(r)
        self._check_endpoints(r)
        return self.store.update_relationship(r, expected_version, self.ctx)

    def unlink(self, rel_id: str, expected_version: int) -> None:
        require(self.principal, "write")
        r = self.store.find_relationship(rel_id)
        if r is None:
            raise NotFound(msg("relationship-not-found", id=rel_id))
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
        move ownership of their systems, databases, platforms and services, and record the event. The event is
        checked whole before anything is written (:func:`catalog.orgs.plan_event`).
        Returns the recorded event and the references of the entities it changed."""

        require(self.principal, "event")
        try:
            ev = data if isinstance(data, OrgEvent) else OrgEvent.model_validate(data)
        except PydanticValidationError as exc:
            raise ValidationFailed(pydantic_errors(exc)) from None
        ev = validate_event(ev)  # the text rules (catalog.text), as for entities and relationships
        with self.store.transaction(self.ctx):
            planned = plan_event(self.store, ev)
            for entity, version in planned:
                self.store.update_entity(entity, version, self.ctx)
            return self.store.record_event(ev, self.ctx), [e.ref for e, _ in planned]
