"""Draft and approve: a change proposed by one principal (typically a department editor, for a production system)
and applied only when an architect (or admin) approves it.

A draft is a store record (collection ``draft``, key = its id) written with ``log=True``, so submitting, approving
and rejecting are each in the change log under ``record:draft/<id>``; an approval applies the change through
:class:`catalog.services.CatalogService` as the approver, in the same transaction, so the entity's own log entry
names the approver as its actor and the submitter as its proposer, and the draft records both.

A draft carries exactly what a direct change by its submitter could: the fields of a PATCH
(:data:`catalog.services.PATCH_FIELDS`, merged by :func:`catalog.services.merge_patch`, the same function a PATCH
uses), or a retire date. Identity (kind, code, ref), bookkeeping (version, created_at, updated_at), the ownership
history and unknown fields are refused at submission, each named (``changes.<field>``). An owner change is a
transfer from the day the draft is approved.

What is checked when:

- submit: the submitter may write the entity before and after the change (department editors: their organisation
  and its units; the same rule and the same code as a direct write, :meth:`CatalogService.prepare_update`), and the
  changed entity passes the metamodel and reference checks. Nothing is written to the entity. The submitter's role
  and organisation are recorded with the draft.
- approve: the approver needs the ``approve`` permission; the draft must be pending and at the version given; the
  entity must still be at the version the draft was based on (else Conflict: someone changed it since; reject the
  draft or submit a new one). The change must still be one **its submitter** may make, as the submitter is now:
  their current account (role, organisation; a disabled account may change nothing) or, for a principal without an
  account (the command line, library callers), the role and organisation recorded at submission; and as the catalog
  is now (the entity may have moved to another organisation, the submitter's organisation may have moved in the
  hierarchy). Otherwise PermissionDenied, nothing is written and the draft stays pending (reject it). This is
  deliberate: approving vouches for a department's proposal, it does not lend the approver's wider rights to it;
  an architect who wants the change anyway makes it directly, under their own name. Then the change is applied as
  the approver (who must be allowed to make it too).
- reject: the ``approve`` permission, a pending draft at the version given, and a reason.

Operations: ``patch`` (fields as in :meth:`CatalogService.patch`) and ``retire`` (optional ``on`` date; what it
changes comes from the kind in the metamodel, :func:`catalog.services.retire_changes`), one entity each; and
``changeset``: a whole change set (:mod:`catalog.changeset`: an entity with its connections, an editor's import),
submitted by :func:`catalog.changeset.submit` when the approval policy (:mod:`catalog.policy`) asks for review, and
approved or rejected as one. A change-set draft keeps the policy's reasons (``reasons``, both languages), a note
and ``attachments`` (e.g. an import's dry-run report; at most :data:`MAX_ATTACHMENT_BYTES` of JSON). Submitting
applies the set as the submitter inside a transaction that is then rolled back (the same checks as a direct change:
scope, metamodel, references, versions; errors ``changes.<i>.<field>``), so nothing is written but the draft.
Approving applies the set as the approver with the submitter as proposer, in one transaction with the draft's new
status, after applying it the same dry way as the submitter as they are now (the rule above); a change whose
``base_version`` has moved on is refused (Conflict naming the entity). The approval's request id
(``applied_request_id``) names every change-log entry it wrote (a revert of the approved draft uses it).

Small API (also used by the web UI's approval queue)::

    drafts = Drafts(store, principal)
    d = drafts.submit("system:hcm-cong-1022", {"attributes": {"vendor": "VNPT"}}, base_version=3, note="...")
    drafts.list(status="pending")
    drafts.approve(d.id, d.version)          # or drafts.reject(d.id, d.version, "why")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.cache import per_store
from catalog.changeset import Change
from catalog.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import Message, msg
from catalog.metamodel import ROLES
from catalog.model import Entity
from catalog.permissions import SYSTEM, Principal, require
from catalog.services import CatalogService, merge_patch, retire_changes
from catalog.store.base import CatalogStore, WriteContext
from catalog.text import text_problems

COLLECTION = "draft"
Status = Literal["pending", "approved", "rejected"]
Operation = Literal["patch", "retire"]
STATUSES = ("pending", "approved", "rejected")
OPERATIONS = ("patch", "retire")
CHANGESET = "changeset"
#: the largest attachment (JSON) a change-set draft keeps, e.g. an import's dry-run report
MAX_ATTACHMENT_BYTES = 200_000


class _DryRun(Exception):
    """Raised inside a transaction to roll back a change set applied only to check it."""


@dataclass(frozen=True)
class Draft:
    id: str
    ref: str
    op: str
    changes: dict[str, Any]
    base_version: int
    submitted_by: str
    submitted_at: str
    note: str = ""
    status: str = "pending"
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str = ""
    applied_version: int | None = None
    submitter_role: str | None = None  # the submitter's role and organisation at submission
    submitter_org: str | None = None
    change_set: list[dict[str, Any]] | None = None  # op changeset: the changes ({op, ref, data, base_version})
    reasons: list[dict[str, str]] = field(default_factory=list)  # why the policy asked for review: {vi, en} each
    attachments: dict[str, Any] | None = None
    applied_request_id: str | None = None  # the approval's request id: every change-log entry it wrote
    version: int = 0  # the record's version (ETag of the draft)
    extra: dict[str, Any] = field(default_factory=dict)

    def changes_list(self) -> list[Change]:
        """The change set a ``changeset`` draft holds (empty for the single-entity ops)."""
        return [Change(c["op"], c["ref"], c.get("data") or {}, c.get("base_version")) for c in (self.change_set or [])]

    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref": self.ref,
            "op": self.op,
            "changes": self.changes,
            "base_version": self.base_version,
            "submitted_by": self.submitted_by,
            "submitted_at": self.submitted_at,
            "note": self.note,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "applied_version": self.applied_version,
            "submitter_role": self.submitter_role,
            "submitter_org": self.submitter_org,
            "change_set": self.change_set,
            "reasons": self.reasons,
            "attachments": self.attachments,
            "applied_request_id": self.applied_request_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.data(), "version": self.version}


def _from_record(data: dict[str, Any], version: int) -> Draft:
    known: dict[str, Any] = {
        k: data.get(k) for k in Draft.__dataclass_fields__ if k not in ("version", "extra") and k in data
    }
    return Draft(**known, version=version)


class Drafts:
    """Draft operations on behalf of ``principal``."""

    def __init__(
        self,
        store: CatalogStore,
        principal: Principal = SYSTEM,
        today: dt.date | None = None,
        request_id: str | None = None,
    ):
        self.store = store
        self.principal = principal
        self.today = today or store.clock().date()
        self.ctx = WriteContext(actor=principal.name, **({"request_id": request_id} if request_id else {}))

    def _now(self) -> str:
        return self.store.clock().astimezone(dt.UTC).isoformat(timespec="seconds")

    def _service(self) -> CatalogService:
        return CatalogService(self.store, self.principal, request_id=self.ctx.request_id, today=self.today)

    # --- submit -----------------------------------------------------------------------------------------------------
    def submit(
        self, ref: str, changes: dict[str, Any] | None, base_version: int, op: Operation = "patch", note: str = ""
    ) -> Draft:
        """Propose a change to ``ref`` as it stands at ``base_version``; nothing changes until approved."""
        require(self.principal, "write")
        errors = []
        if op not in OPERATIONS:
            errors.append(FieldError("op", msg("value-one-of", allowed=", ".join(OPERATIONS))))
        if not isinstance(changes, dict) or (op == "patch" and not changes):
            errors.append(FieldError("changes", msg("draft-changes-empty")))
        if not isinstance(note, str) or len(note) > 2000:
            errors.append(FieldError("note", msg("value-too-long", limit=2000)))
        else:
            errors += text_problems(note, "note")  # the catalog's text rules (catalog.text), as for every field
        if errors:
            raise ValidationFailed(errors)
        assert isinstance(changes, dict)
        current = self.store.get_entity(ref)
        if current.version != base_version:
            raise Conflict(ref, base_version, current.version)
        if op == "retire":
            unknown = set(changes) - {"on"}
            if unknown:
                raise ValidationFailed(
                    [FieldError(f"changes.{k}", msg("draft-retire-only-on")) for k in sorted(unknown, key=str)]
                )
            on = changes.get("on")
            try:
                day = dt.date.fromisoformat(on) if on else self.today
            except (TypeError, ValueError):
                raise ValidationFailed([FieldError("changes.on", msg("value-must-be-date"))]) from None
            changes = {"on": day.isoformat()}
        self._proposed(current, op, changes, self.principal)
        draft = Draft(
            id=secrets.token_hex(6),
            ref=ref,
            op=op,
            changes=changes,
            base_version=base_version,
            submitted_by=self.principal.name,
            submitted_at=self._now(),
            note=note,
            submitter_role=self.principal.role,
            submitter_org=self.principal.org,
        )
        rec = self.store.put_record(COLLECTION, draft.id, draft.data(), self.ctx, expected_version=0)
        return _from_record(rec.data, rec.version)

    def submit_changes(
        self,
        changes: list[Change],
        note: str = "",
        attachments: dict[str, Any] | None = None,
        reasons: list[Any] | None = None,
    ) -> Draft:
        """Propose a whole change set (one draft); checked as a direct change by the submitter, nothing written but
        the draft. ``reasons``: the policy's messages (kept in both languages). Callers go through
        :func:`catalog.changeset.submit`, which asks the policy first."""
        require(self.principal, "write")
        errors = []
        if not isinstance(note, str) or len(note) > 2000:
            errors.append(FieldError("note", msg("value-too-long", limit=2000)))
        else:
            errors += text_problems(note, "note")
        if attachments is not None:
            try:
                size = len(json.dumps(attachments, ensure_ascii=False).encode())
            except (TypeError, ValueError):
                size = -1
            if not isinstance(attachments, dict) or size < 0:
                errors.append(FieldError("attachments", msg("pydantic-dict-type")))
            elif size > MAX_ATTACHMENT_BYTES:
                errors.append(FieldError("attachments", msg("draft-attachment-too-big", limit=MAX_ATTACHMENT_BYTES)))
        changes = list(changes)
        if not changes:
            errors.append(FieldError("changes", msg("changeset-empty")))
        if errors:
            raise ValidationFailed(errors)
        self._dry_run(changes, self.principal)
        first = next((c for c in changes if not c.is_link), None)
        ref = first.ref if first else (changes[0].endpoints() or (changes[0].ref,))[0]
        draft = Draft(
            id=secrets.token_hex(6),
            ref=ref,
            op=CHANGESET,
            changes={},
            base_version=0,
            submitted_by=self.principal.name,
            submitted_at=self._now(),
            note=note,
            submitter_role=self.principal.role,
            submitter_org=self.principal.org,
            change_set=[c.as_dict() for c in changes],
            reasons=[_both(r) for r in reasons or []],
            attachments=attachments,
        )
        rec = self.store.put_record(COLLECTION, draft.id, draft.data(), self.ctx, expected_version=0)
        return _from_record(rec.data, rec.version)

    def _dry_run(self, changes: list[Change], who: Principal) -> None:
        """Apply ``changes`` as ``who`` inside a transaction that is rolled back: every check of a direct change,
        nothing written. Never call it inside an open transaction (Neo4j joins nested ones: nothing to roll back)."""
        svc = CatalogService(self.store, who, today=self.today)
        try:
            with self.store.transaction(WriteContext(actor=who.name)):
                svc.apply_changes(changes)
                raise _DryRun
        except _DryRun:
            pass

    def _proposed(self, current: Entity, op: str, changes: dict[str, Any], who: Principal) -> Entity:
        """The entity as the draft would leave it, checked as a direct change by ``who`` would be (metamodel,
        references, scope before and after, past ownership kept); nothing is written."""
        mm = self.store.metamodel
        if op == "retire":
            data = merge_patch(
                current, retire_changes(current, dt.date.fromisoformat(changes["on"]), mm), self.today, mm
            )
        else:
            data = merge_patch(current, changes, self.today, mm, where="changes.")
        return CatalogService(self.store, who, today=self.today).prepare_update(current, data)

    def _submitter(self, d: Draft) -> Principal:
        """The draft's submitter as they are now: their account when they have one, else as recorded."""
        from catalog.accounts import Accounts

        try:
            user = Accounts(self.store).get_user(d.submitted_by)
        except NotFound:
            user = None
        org: str | None
        if user is not None:
            if user.disabled:
                raise PermissionDenied(msg("draft-submitter-disabled", id=d.id, submitter=d.submitted_by))
            role, org = user.role, user.org
        else:
            role, org = d.submitter_role or "", d.submitter_org
        if role not in ROLES or (role == "editor" and not org):
            raise PermissionDenied(msg("draft-submitter-unknown", id=d.id, submitter=d.submitted_by))
        return Principal(d.submitted_by, role, org)

    # --- read -------------------------------------------------------------------------------------------------------
    def get(self, draft_id: str) -> Draft:
        require(self.principal, "read")
        rec = (
            self.store.get_record(COLLECTION, draft_id)
            if isinstance(draft_id, str) and 0 < len(draft_id) <= 64 and draft_id.isalnum()
            else None
        )
        if rec is None:
            raise NotFound(msg("draft-not-found", id=draft_id))
        return _from_record(rec.data, rec.version)

    def list(
        self,
        status: str | None = "pending",
        ref: str | None = None,
        limit: int = 1000,
        submitted_by: str | None = None,
    ) -> list[Draft]:
        """Drafts, newest first; ``status`` None for all; ``submitted_by``: one person's drafts ("my drafts")."""
        require(self.principal, "read")
        if status is not None and status not in STATUSES:
            raise ValidationFailed([FieldError("status", msg("value-one-of", allowed=", ".join(STATUSES)))])
        out = []
        for rec in self.store.list_records(COLLECTION, limit=100_000, newest_first=True):
            d = _from_record(rec.data, rec.version)
            if (
                (status is None or d.status == status)
                and (ref is None or d.ref == ref or any(c.get("ref") == ref for c in d.change_set or []))
                and (submitted_by is None or d.submitted_by == submitted_by)
            ):
                out.append(d)
                if len(out) >= limit:
                    break
        return out

    # --- decide -----------------------------------------------------------------------------------------------------
    def _pending(self, draft_id: str, version: int) -> Draft:
        require(self.principal, "approve")
        d = self.get(draft_id)
        if d.version != version:
            raise Conflict(f"record:{COLLECTION}/{draft_id}", version, d.version)
        if d.status != "pending":
            raise ValidationFailed([FieldError("status", msg("draft-already-decided", status=d.status))])
        return d

    def approve(self, draft_id: str, version: int) -> Draft:
        """Apply the draft as the approver (one transaction: the entity change and the draft's new status), if it
        is still a change its submitter may make (see the module docstring)."""
        d = self._pending(draft_id, version)
        svc = self._service()
        svc.ctx = dataclasses.replace(svc.ctx, proposer=d.submitted_by)  # the entity's entries name who proposed it
        if d.op == CHANGESET:
            return self._approve_changes(d, svc)
        with self.store.transaction(self.ctx):
            current = self.store.get_entity(d.ref)
            if current.version != d.base_version:
                raise Conflict(d.ref, d.base_version, current.version)
            submitter = self._submitter(d)
            try:
                self._proposed(current, d.op, d.changes, submitter)
            except PermissionDenied as exc:
                raise PermissionDenied(msg("draft-submitter-may-not", id=d.id, reason=exc.message)) from None
            if d.op == "retire":
                e = svc.retire(d.ref, d.base_version, dt.date.fromisoformat(d.changes["on"]))
            else:
                e = svc.patch(d.ref, d.changes, d.base_version)
            decided = Draft(
                **{
                    **d.data(),
                    "status": "approved",
                    "decided_by": self.principal.name,
                    "decided_at": self._now(),
                    "applied_version": e.version,
                }
            )
            rec = self.store.put_record(COLLECTION, d.id, decided.data(), self.ctx, expected_version=d.version)
        return _from_record(rec.data, rec.version)

    def _approve_changes(self, d: Draft, svc: CatalogService) -> Draft:
        changes = d.changes_list()
        # as the submitter first, in a transaction of its own that is rolled back (a nested one would join the
        # approval's on a backend without savepoints); then as the approver, with the draft's new status
        submitter = self._submitter(d)
        try:
            self._dry_run(changes, submitter)
        except PermissionDenied as exc:
            raise PermissionDenied(msg("draft-submitter-may-not", id=d.id, reason=exc.message)) from None
        with self.store.transaction(self.ctx):
            svc.apply_changes(changes)
            decided = Draft(
                **{
                    **d.data(),
                    "status": "approved",
                    "decided_by": self.principal.name,
                    "decided_at": self._now(),
                    "applied_request_id": svc.ctx.request_id,
                }
            )
            rec = self.store.put_record(COLLECTION, d.id, decided.data(), self.ctx, expected_version=d.version)
        return _from_record(rec.data, rec.version)

    def count_pending(self) -> int:
        """How many drafts wait for a decision (the approver's badge): read once per catalog revision."""
        require(self.principal, "read")
        return per_store(_PENDING, self.store, (self.store.revision(),), 1, self._count_pending)

    def _count_pending(self) -> int:
        return sum(
            1 for rec in self.store.list_records(COLLECTION, limit=100_000) if rec.data.get("status") == "pending"
        )

    def reject(self, draft_id: str, version: int, reason: str) -> Draft:
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
            raise ValidationFailed([FieldError("reason", msg("draft-reason-required", limit=2000))])
        if text_problems(reason, "reason"):
            raise ValidationFailed(text_problems(reason, "reason"))
        d = self._pending(draft_id, version)
        decided = Draft(
            **{
                **d.data(),
                "status": "rejected",
                "decided_by": self.principal.name,
                "decided_at": self._now(),
                "reason": reason.strip(),
            }
        )
        rec = self.store.put_record(COLLECTION, d.id, decided.data(), self.ctx, expected_version=d.version)
        return _from_record(rec.data, rec.version)


_PENDING: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, int]] = weakref.WeakKeyDictionary()


def _both(reason: Any) -> dict[str, str]:
    """A reason kept on a draft: its text in both languages."""
    if isinstance(reason, Message):
        return {"vi": reason.text("vi"), "en": reason.text("en")}
    if isinstance(reason, dict):
        return {"vi": str(reason.get("vi", "")), "en": str(reason.get("en", ""))}
    return {"vi": str(reason), "en": str(reason)}


__all__ = ["CHANGESET", "COLLECTION", "Draft", "Drafts", "MAX_ATTACHMENT_BYTES", "OPERATIONS", "STATUSES"]
