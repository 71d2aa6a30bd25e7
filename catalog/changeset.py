"""A change set: several changes to the catalog made, reviewed and applied as one.

A department officer registers a system with the database it writes and a flow to the IOC via the LGSP: one entity
and two relationships. Whether the form applies them at once or submits them as one draft (the approval policy,
:mod:`catalog.policy`), they travel together as a list of :class:`Change`, and they are applied together by
:meth:`catalog.services.CatalogService.apply_changes`: every change through the same service call the API makes
for it (``register``, ``update``, ``patch``, ``retire``, ``delete``, ``link``, ``update_link``, ``unlink``), with
the checks it has on its own, all in one transaction, so a refusal anywhere leaves the catalog as it was.

Operations (``ref`` names an entity, or a relationship by its id ``source>type>target``):

========== ========================= ==================================== ===============
op         ref                       data                                 base_version
========== ========================= ==================================== ===============
create     the new entity's ref      the entity (kind, code, name, ...)   none
update     entity                    the entity's whole new content       its version
patch      entity                    the fields of a PATCH                its version
retire     entity                    ``{"on": "YYYY-MM-DD"}`` (optional)  its version
delete     entity                    ``{"cascade": true|false}``          its version
link       the new relationship id   the relationship                     none
relink     relationship id           the relationship's new content       its version
unlink     relationship id           ``{}``                               its version
========== ========================= ==================================== ===============

Input is untrusted: :func:`parse_changes` names every problem as ``changes.<i>.<field>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.model import REF_RE, rel_id

OPS = ("create", "update", "patch", "retire", "delete", "link", "relink", "unlink")
ENTITY_OPS = ("create", "update", "patch", "retire", "delete")
LINK_OPS = ("link", "relink", "unlink")
#: the most changes one change set may hold (a department's spreadsheet fits; a national import is an import run)
MAX_CHANGES = 5000


@dataclass(frozen=True)
class Change:
    op: str
    ref: str
    data: dict[str, Any] = field(default_factory=dict)
    base_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "ref": self.ref, "data": self.data}
        if self.base_version is not None:
            out["base_version"] = self.base_version
        return out

    @property
    def is_link(self) -> bool:
        return self.op in LINK_OPS

    def endpoints(self) -> tuple[str, ...]:
        """The entities a relationship change joins (source, target), from its data or its id."""
        if not self.is_link:
            return ()
        d = self.data
        if isinstance(d.get("source"), str) and isinstance(d.get("target"), str):
            return (d["source"], d["target"])
        parts = self.ref.split(">")
        return (parts[0], parts[-1]) if len(parts) == 3 else ()


def touched(changes: list[Change]) -> set[str]:
    """Every entity a change set names: the entities it changes and both ends of every relationship it changes."""
    out: set[str] = set()
    for c in changes:
        if c.is_link:
            out.update(c.endpoints())
        else:
            out.add(c.ref)
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def parse_changes(items: Any, where: str = "changes") -> list[Change]:
    """Untrusted input (a list of ``{op, ref, data, base_version}``) to changes; every problem named by index and
    field. The content of each change is checked when it is applied (or submitted as a draft), by the service."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed([FieldError(where, msg("changeset-empty"))])
    if len(items) > MAX_CHANGES:
        raise ValidationFailed([FieldError(where, msg("changeset-too-many", limit=MAX_CHANGES))])
    errors: list[FieldError] = []
    out: list[Change] = []
    for i, item in enumerate(items):
        loc = f"{where}.{i}"
        if not isinstance(item, dict):
            errors.append(FieldError(loc, msg("pydantic-dict-type")))
            continue
        unknown = sorted(set(item) - {"op", "ref", "data", "base_version"}, key=str)
        errors += [FieldError(f"{loc}.{k}", msg("pydantic-extra-forbidden")) for k in unknown]
        op, ref, data, version = item.get("op"), item.get("ref"), item.get("data", {}), item.get("base_version")
        if op not in OPS:
            errors.append(FieldError(f"{loc}.op", msg("value-one-of", allowed=", ".join(OPS))))
            continue
        if data is None:
            data = {}
        if not isinstance(data, dict):
            errors.append(FieldError(f"{loc}.data", msg("pydantic-dict-type")))
            continue
        if op in ("create", "link"):
            if version is not None:
                errors.append(FieldError(f"{loc}.base_version", msg("changeset-no-version")))
        elif _int(version) is None:
            errors.append(FieldError(f"{loc}.base_version", msg("changeset-version-required")))
        if op == "create":
            kind, code = data.get("kind"), data.get("code")
            ref = f"{kind}:{code}" if isinstance(kind, str) and isinstance(code, str) else ref
        elif op in ("link", "relink"):
            s, t, ty = data.get("source"), data.get("target"), data.get("type")
            if isinstance(s, str) and isinstance(t, str) and isinstance(ty, str):
                ref = rel_id(s, ty, t)
        if not isinstance(ref, str) or not ref or len(ref) > 400:
            errors.append(FieldError(f"{loc}.ref", msg("changeset-ref-required")))
            continue
        if op in ENTITY_OPS and not REF_RE.match(ref):
            errors.append(FieldError(f"{loc}.ref", msg("changeset-ref-required")))
            continue
        if op == "retire" and data.get("on") is not None:
            try:
                dt.date.fromisoformat(str(data["on"]))
            except ValueError:
                errors.append(FieldError(f"{loc}.data.on", msg("value-must-be-date")))
                continue
        if op == "delete" and not isinstance(data.get("cascade", False), bool):
            errors.append(FieldError(f"{loc}.data.cascade", msg("pydantic-bool-parsing")))
            continue
        out.append(Change(op, ref, data, version))
    if errors:
        raise ValidationFailed(errors)
    return out


@dataclass(frozen=True)
class Outcome:
    """What :func:`submit` did: ``applied`` (what each change left, as :meth:`CatalogService.apply_changes`
    returns) when the change set applied at once, else ``draft`` (one :class:`catalog.drafts.Draft` holding the
    whole set); ``reasons``: why the policy asks for review (messages; empty when applied)."""

    applied: list[Any] | None = None
    draft: Any = None
    reasons: list[Any] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return self.draft is not None


def submit(
    store: Any,
    principal: Any,
    changes: list[Change],
    note: str = "",
    attachments: dict[str, Any] | None = None,
    today: dt.date | None = None,
    request_id: str | None = None,
    origin: str = "",
) -> Outcome:
    """The one door for a change set (the registration form, an editor's import and bulk edit, ``POST
    /api/v1/changesets``): the approval policy in force (:mod:`catalog.policy`) decides. Either every change is
    applied now by :meth:`catalog.services.CatalogService.apply_changes` (one transaction), or the whole set becomes
    one draft (:meth:`catalog.drafts.Drafts.submit_changes`: checked as a direct change by ``principal`` would be,
    nothing written but the draft). ``note`` and ``attachments`` (e.g. an import's dry-run report) go with a draft.
    ``origin`` says where the set comes from (:data:`catalog.policy.ORIGINS`: a department editor's spreadsheet or
    bulk edit), for the policy's ``origins`` condition.
    Errors name the change: ``changes.<i>.<field>``."""
    from catalog.drafts import Drafts
    from catalog.permissions import require
    from catalog.policy import policy_in_force
    from catalog.services import CatalogService

    require(principal, "write")
    changes = list(changes)
    if not changes:
        raise ValidationFailed([FieldError("changes", msg("changeset-empty"))])
    reasons = policy_in_force(store.metamodel).review_reasons(store, principal, changes, origin=origin)
    if not reasons:
        applied = CatalogService(store, principal, request_id=request_id, today=today).apply_changes(changes)
        return Outcome(applied=applied)
    draft = Drafts(store, principal, today=today, request_id=request_id).submit_changes(
        changes, note=note, attachments=attachments, reasons=reasons
    )
    return Outcome(draft=draft, reasons=reasons)


__all__ = [
    "Change",
    "ENTITY_OPS",
    "LINK_OPS",
    "MAX_CHANGES",
    "OPS",
    "Outcome",
    "parse_changes",
    "submit",
    "touched",
]
