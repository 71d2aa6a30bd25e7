"""Who may do what: one rule set for the CLI, the importers and the API.

Roles (metamodel.ROLES):
- admin: everything, including users and tokens.
- architect: read, write any catalog entity, relationship or organisation event, approve drafts, import, export.
- editor (department editor): read; write only entities owned by their organisation or one of its units (an
  organisation whose ``parent`` chain leads to theirs), before AND after the change; relationships whose source is
  such an entity; never organisations, events or imports. The rule is :func:`in_scope`; ``catalog.services``
  applies it to everything a write changes (a cascade's relationships, past ownership periods), not only to the
  entity a request names.
- auditor: read, export, change log.
- viewer: read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from catalog.errors import PermissionDenied
from catalog.i18n import msg, named
from catalog.metamodel import ROLES
from catalog.model import Entity
from catalog.store.base import CatalogStore, EntityFilter

Action = Literal["read", "write", "event", "import", "export", "history", "approve", "admin"]

_ALLOWED: dict[str, set[str]] = {
    "admin": {"read", "write", "event", "import", "export", "history", "approve", "admin"},
    "architect": {"read", "write", "event", "import", "export", "history", "approve"},
    "editor": {"read", "write"},
    "auditor": {"read", "export", "history"},
    "viewer": {"read"},
}
assert set(_ALLOWED) == set(ROLES)


@dataclass(frozen=True)
class Principal:
    """The user behind a request: name, role and, for department editors, their organisation."""

    name: str
    role: str = "viewer"
    org: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role '{self.role}'; expected one of: {', '.join(ROLES)}")
        if self.role == "editor" and not self.org:
            raise ValueError("a department editor must be bound to an organisation")


SYSTEM = Principal("system", "admin")


def org_units(store: CatalogStore, org: str) -> set[str]:
    """The organisation and every unit below it (through the ``parent`` attribute), transitively."""
    units = {org}
    frontier = [org]
    while frontier:
        nxt = []
        for parent in frontier:
            for child in store.list_entities(
                EntityFilter(kind="organization", attributes={"parent": parent}, limit=100_000)
            ):
                if child.ref not in units:
                    units.add(child.ref)
                    nxt.append(child.ref)
        frontier = nxt
    return units


def org_chain(store: CatalogStore | None, org: str, known: Mapping[str, Entity] | None = None) -> list[str]:
    """``org`` and the organisations above it, following ``parent`` (stops at a loop already stored). ``known``:
    entities already read (an event's parties, every organisation), looked up before the store (None: only
    ``known``). The one walk up the hierarchy, as
    :func:`org_units` is the one walk down."""
    chain: list[str] = []
    ref: Any = org
    while isinstance(ref, str) and ref not in chain and len(chain) < 10_000:
        chain.append(ref)
        found = (known or {}).get(ref) or (store.find_entity(ref) if store is not None else None)
        ref = found.attributes.get("parent") if found is not None else None
    return chain


def require(principal: Principal, action: Action) -> None:
    if action not in _ALLOWED[principal.role]:
        raise PermissionDenied(msg("denied-action", principal=principal.name, role=principal.role, action=action))


def owner_scope(store: CatalogStore, principal: Principal) -> set[str] | None:
    """The organisations whose entities ``principal`` may change: None (all of them) for roles that write without
    scope, their organisation and its units for a department editor. Read-only roles get ``set()``."""
    if "write" not in _ALLOWED[principal.role]:
        return set()
    if principal.role != "editor":
        return None
    return org_units(store, principal.org or "")


def in_scope(units: set[str] | None, ref: str, owner: str | None) -> bool:
    """The one scope rule: may an entity ``ref`` owned by ``owner`` be changed by a principal whose
    :func:`owner_scope` is ``units``? Department editors never change organisations, nor what no unit of theirs
    owns. A relationship is in scope when its source is."""
    if units is None:
        return True
    return not ref.startswith("organization:") and owner is not None and owner in units


def require_owner_scope(store: CatalogStore, principal: Principal, ref: str, *owners: str | None) -> None:
    """For department editors: every owner named (before and after a change) must be in their organisation."""
    require(principal, "write")
    if principal.role != "editor":
        return
    if ref.startswith("organization:"):
        raise PermissionDenied(msg("denied-organisations", principal=principal.name))
    units = owner_scope(store, principal)
    for owner in owners:
        if not in_scope(units, ref, owner):
            names = {e.ref: e.name for e in store.get_entities([r for r in (ref, owner, principal.org) if r]).values()}
            said = {
                "principal": principal.name,
                "org": named(principal.org, names.get(principal.org or ""), with_ref=False),
                "ref": named(ref, names.get(ref)),
            }
            raise PermissionDenied(
                msg("denied-owner", owner=named(owner, names.get(owner)), **said)
                if owner
                else msg("denied-unowned", **said)
            )
