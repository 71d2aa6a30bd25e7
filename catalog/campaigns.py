"""Inventory campaigns (đợt kiểm kê): every department re-confirms its entries, keep or terminate, by a deadline.

An admin or architect opens a campaign (:func:`open_campaign`): a name, a scope (organisations, each with its units;
kinds; an optional attribute filter), the questions each owner must answer (attribute names; by default the
keep/terminate ``decision``, its ``decision_rationale`` and ``decision_legal_basis``) and a deadline.

Each entity in scope is, for the campaign (:func:`entity_status`):

- ``done``: confirmed since the campaign opened (``last_reviewed`` on or after the opening day) with every question
  its kind has answered;
- ``gone``: retired (its validity ended or its lifecycle is ``retired``);
- ``review``: a pending draft names it (a correction or retirement waiting for an approver);
- ``todo``: anything else; ``missing`` lists the questions still empty.

A department editor works through :func:`confirm` (sets ``last_reviewed``; with answers, also corrects or fills
the questions, one entity or many ticked at once) and :func:`retire` (marks it gone); every one of them is a change set through
:func:`catalog.changeset.submit`, so validation, the editor's scope and the approval policy apply as anywhere else.
The per-department spreadsheet goes through the editor's import (``api.campaign_files``), one draft.

:func:`dashboard` counts per organisation: in scope, done, gone, in review, missing (entities with at least one
empty question), overdue (not done after the deadline), keep and terminate. :func:`remind` writes a dated reminder
into the campaign and tells the editors of every organisation not done (in-app notices and e-mail,
:func:`catalog.notices.deliver`; webhooks receive the ``campaign.reminded`` change event, :mod:`catalog.outbox`). :func:`close` freezes the result (every row, every count, the change-log head it
was computed at) into the campaign.

Storage: one record per campaign (collection ``campaign``) written with ``log=True``: opening, every reminder and
the closing with its frozen result are change-log entries (``record:campaign/<id>``) in the hash chain, dated and
verifiable by ``verify-log`` like every other fact.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from catalog.changeset import Change, Outcome, submit
from catalog.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import msg
from catalog.model import Entity
from catalog.permissions import Principal, org_units, require
from catalog.store.base import CatalogStore, EntityFilter, WriteContext

COLLECTION = "campaign"
DEFAULT_QUESTIONS = ("decision", "decision_rationale", "decision_legal_basis")
DEFAULT_KINDS = ("system", "database", "platform", "service")
OPENERS = ("admin", "architect")
STATUSES = ("done", "gone", "review", "todo")
MAX_ORGS = 500
MAX_REFS = 1000  # entities one confirmation may name
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    orgs: tuple[str, ...]
    kinds: tuple[str, ...]
    questions: tuple[str, ...]
    opened: str  # YYYY-MM-DD
    deadline: str  # YYYY-MM-DD
    opened_by: str
    filter: dict[str, str] = field(default_factory=dict)
    status: str = "open"
    closed: str | None = None
    closed_by: str | None = None
    result: dict[str, Any] | None = None
    reminders: tuple[dict[str, Any], ...] = ()
    version: int = 0

    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "orgs": list(self.orgs),
            "kinds": list(self.kinds),
            "questions": list(self.questions),
            "filter": dict(self.filter),
            "opened": self.opened,
            "deadline": self.deadline,
            "opened_by": self.opened_by,
            "status": self.status,
            "closed": self.closed,
            "closed_by": self.closed_by,
            "result": self.result,
            "reminders": list(self.reminders),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.data(), "version": self.version}

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def _from_record(data: dict[str, Any], version: int) -> Campaign:
    return Campaign(
        id=str(data["id"]),
        name=str(data.get("name", "")),
        orgs=tuple(data.get("orgs") or ()),
        kinds=tuple(data.get("kinds") or ()),
        questions=tuple(data.get("questions") or ()),
        filter=dict(data.get("filter") or {}),
        opened=str(data.get("opened", "")),
        deadline=str(data.get("deadline", "")),
        opened_by=str(data.get("opened_by", "")),
        status=str(data.get("status", "open")),
        closed=data.get("closed"),
        closed_by=data.get("closed_by"),
        result=data.get("result"),
        reminders=tuple(data.get("reminders") or ()),
        version=version,
    )


def _today(store: CatalogStore, today: dt.date | None) -> dt.date:
    return today or store.clock().date()


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed([FieldError(name, msg("value-must-be-date"))]) from None


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def open_campaign(
    store: CatalogStore,
    principal: Principal,
    *,
    id: str,
    name: str,
    orgs: Any,
    deadline: Any,
    kinds: Any = None,
    questions: Any = None,
    filter: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> Campaign:
    """Open a campaign (admins and architects). Every problem is named by field; nothing is written on a refusal."""
    if principal.role not in OPENERS:
        raise PermissionDenied(msg("campaign-denied-open", principal=principal.name))
    mm = store.metamodel
    day = _today(store, today)
    errors: list[FieldError] = []
    if not isinstance(id, str) or not _ID.match(id):
        errors.append(FieldError("id", msg("campaign-id-malformed")))
    name = str(name or "").strip()
    if not name or len(name) > 200:
        errors.append(FieldError("name", msg("campaign-name-required")))
    org_list = list(dict.fromkeys(_list(orgs)))
    if not org_list:
        errors.append(FieldError("orgs", msg("campaign-orgs-required")))
    elif len(org_list) > MAX_ORGS:
        errors.append(FieldError("orgs", msg("campaign-orgs-too-many", limit=MAX_ORGS)))
    else:
        known = store.get_entities(org_list)
        for o in org_list:
            if o not in known or not mm.is_organisation(known[o].kind):
                errors.append(FieldError("orgs", msg("campaign-org-unknown", ref=o[:200])))
    kind_list = list(dict.fromkeys(_list(kinds))) or list(DEFAULT_KINDS)
    for k in kind_list:
        if k not in mm.kinds or mm.is_organisation(k) or not mm.owned(k):
            errors.append(FieldError("kinds", msg("campaign-kind-unknown", kind=k[:100])))
    question_list = list(dict.fromkeys(_list(questions))) or list(DEFAULT_QUESTIONS)
    for q in question_list:
        if q == "last_reviewed" or not any(mm.kinds[k].attribute(q) for k in kind_list if k in mm.kinds):
            errors.append(FieldError("questions", msg("campaign-question-unknown", field=q[:100])))
    flt = {}
    for key, value in (filter or {}).items():
        if not any(mm.kinds[k].attribute(str(key)) for k in kind_list if k in mm.kinds):
            errors.append(FieldError("filter", msg("campaign-question-unknown", field=str(key)[:100])))
        else:
            flt[str(key)] = str(value)
    try:
        end = _date(deadline, "deadline")
        if end < day:
            errors.append(FieldError("deadline", msg("campaign-deadline-past")))
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    camp = Campaign(
        id=id,
        name=name,
        orgs=tuple(org_list),
        kinds=tuple(kind_list),
        questions=tuple(question_list),
        filter=flt,
        opened=day.isoformat(),
        deadline=end.isoformat(),
        opened_by=principal.name,
    )
    rec = store.put_record(COLLECTION, id, camp.data(), WriteContext(actor=principal.name), expected_version=0)
    return _from_record(rec.data, rec.version)


def get(store: CatalogStore, campaign_id: str) -> Campaign:
    rec = store.get_record(COLLECTION, campaign_id) if isinstance(campaign_id, str) and _ID.match(campaign_id) else None
    if rec is None:
        raise NotFound(msg("campaign-not-found", id=str(campaign_id)[:100]))
    return _from_record(rec.data, rec.version)


def list_campaigns(store: CatalogStore) -> list[Campaign]:
    """Every campaign, newest opening first."""
    out = [_from_record(r.data, r.version) for r in store.list_records(COLLECTION, limit=10_000)]
    return sorted(out, key=lambda c: (c.opened, c.id), reverse=True)


# --- what each entity still needs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One entity of a campaign, for its owner: its status and the questions still empty."""

    entity: Entity
    org: str  # the campaign organisation it counts under
    status: str
    missing: tuple[str, ...]
    overdue: bool

    @property
    def decision(self) -> Any:
        return self.entity.attributes.get("decision")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _gone(e: Entity, day: dt.date) -> bool:
    ended = e.valid_to is not None and str(e.valid_to) <= day.isoformat()
    return ended or e.attributes.get("lifecycle") == "retired"


def pending_refs(store: CatalogStore) -> set[str]:
    """Entities a pending draft names (its entity, every entity its change set changes)."""
    out: set[str] = set()
    for rec in store.list_records("draft", limit=100_000):
        d = rec.data
        if d.get("status") != "pending":
            continue
        if isinstance(d.get("ref"), str):
            out.add(d["ref"])
        for c in d.get("change_set") or []:
            if isinstance(c, dict) and isinstance(c.get("ref"), str) and not c.get("op", "").endswith("link"):
                out.add(c["ref"])
    return out


def _units(store: CatalogStore, camp: Campaign) -> dict[str, str]:
    """owner -> the campaign organisation it counts under (the first that names it or one of its parents)."""
    owners: dict[str, str] = {}
    for org in camp.orgs:
        for unit in sorted(org_units(store, org)):
            owners.setdefault(unit, org)
    return owners


def tasks(
    store: CatalogStore, camp: Campaign, orgs: set[str] | None = None, today: dt.date | None = None
) -> list[Task]:
    """The entities in the campaign's scope (of owners in ``orgs`` when given), each with its status, by
    organisation, kind and name. An entity that ended before the campaign opened is not in scope."""
    day = _today(store, today)
    owners = _units(store, camp)
    pending = pending_refs(store) if camp.is_open else set()
    mm = store.metamodel
    out: list[Task] = []
    for kind in camp.kinds:
        if kind not in mm.kinds:
            continue
        spec = mm.kinds[kind]
        for e in store.list_entities(EntityFilter(kind=kind, limit=1_000_000)):
            if e.owner not in owners or (orgs is not None and e.owner not in orgs):
                continue
            if e.valid_to is not None and str(e.valid_to) < camp.opened:
                continue
            if any(str(e.attributes.get(k)) != v for k, v in camp.filter.items()):
                continue
            questions = [q for q in camp.questions if spec.attribute(q) is not None]
            missing = tuple(q for q in questions if _empty(e.attributes.get(q)))
            reviewed = e.attributes.get("last_reviewed")
            if _gone(e, day):
                status = "gone"
            elif e.ref in pending:
                status = "review"
            elif reviewed is not None and str(reviewed) >= camp.opened and not missing:
                status = "done"
            else:
                status = "todo"
            overdue = status == "todo" and day.isoformat() > camp.deadline
            out.append(Task(e, owners[e.owner or ""], status, missing, overdue))
    out.sort(key=lambda t: (camp.orgs.index(t.org), t.entity.kind, t.entity.name.vi or "", t.entity.ref))
    return out


def editor_orgs(store: CatalogStore, principal: Principal) -> set[str] | None:
    """The owners whose entities ``principal`` answers for: a department editor's organisation and its units; None
    (every owner) for architects and admins; an empty set for the read-only roles."""
    if principal.role == "editor":
        return org_units(store, principal.org or "")
    if principal.role in OPENERS:
        return None
    return set()


@dataclass(frozen=True)
class OrgRow:
    org: str
    total: int = 0
    done: int = 0
    gone: int = 0
    review: int = 0
    missing: int = 0
    overdue: int = 0
    keep: int = 0
    terminate: int = 0

    @property
    def finished(self) -> bool:
        return self.total == self.done + self.gone

    def as_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "total": self.total,
            "done": self.done,
            "gone": self.gone,
            "review": self.review,
            "missing": self.missing,
            "overdue": self.overdue,
            "keep": self.keep,
            "terminate": self.terminate,
            "finished": self.finished,
        }


def dashboard(store: CatalogStore, camp: Campaign, today: dt.date | None = None) -> list[OrgRow]:
    """Per campaign organisation (in the order the campaign names them): the counts of its entities."""
    counts: dict[str, dict[str, int]] = {o: dict.fromkeys(("total", "done", "gone", "review"), 0) for o in camp.orgs}
    extra: dict[str, dict[str, int]] = {
        o: dict.fromkeys(("missing", "overdue", "keep", "terminate"), 0) for o in camp.orgs
    }
    for t in tasks(store, camp, today=today):
        c, x = counts[t.org], extra[t.org]
        c["total"] += 1
        if t.status != "todo":
            c[t.status] += 1
        x["missing"] += 1 if t.missing and t.status != "gone" else 0
        x["overdue"] += 1 if t.overdue else 0
        if t.decision in ("keep", "terminate"):
            x[t.decision] += 1
    return [OrgRow(o, **counts[o], **extra[o]) for o in camp.orgs]


# --- an owner's answers: every one a change set through submit -----------------------------------------------------


def _open(store: CatalogStore, campaign_id: str) -> Campaign:
    camp = get(store, campaign_id)
    if not camp.is_open:
        raise ValidationFailed([FieldError("campaign", msg("campaign-closed", name=camp.name))])
    return camp


def _in_campaign(store: CatalogStore, camp: Campaign, principal: Principal, refs: list[str]) -> dict[str, Task]:
    require(principal, "write")
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise ValidationFailed([FieldError("refs", msg("campaign-refs-required"))])
    if len(refs) > MAX_REFS:
        raise ValidationFailed([FieldError("refs", msg("campaign-refs-too-many", limit=MAX_REFS))])
    every = {t.entity.ref: t for t in tasks(store, camp)}
    units = editor_orgs(store, principal)
    mine = {r: t for r, t in every.items() if units is None or t.entity.owner in units}
    errors = [
        FieldError(f"refs.{i}", msg("campaign-ref-not-in-campaign", ref=r[:200]))
        for i, r in enumerate(refs)
        if r not in every
    ]
    if errors:
        raise ValidationFailed(errors)
    theirs = [r for r in refs if r not in mine]
    if theirs:  # in the campaign, but another organisation's: the editor's scope refuses it, as any write
        raise PermissionDenied(msg("campaign-ref-not-yours", ref=theirs[0][:200]))
    return mine


def confirm(
    store: CatalogStore,
    principal: Principal,
    campaign_id: str,
    refs: list[str],
    values: dict[str, Any] | None = None,
    today: dt.date | None = None,
    request_id: str | None = None,
) -> Outcome:
    """Confirm entities, one change set: each one's ``last_reviewed`` set to today and, with ``values``, the
    campaign's questions corrected or filled (the same answer for every entity named; an empty value clears it;
    a question its kind does not have is left out for it). Validation and the approval policy as for any change."""
    camp = _open(store, campaign_id)
    mine = _in_campaign(store, camp, principal, refs)
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ValidationFailed([FieldError("values", msg("pydantic-dict-type"))])
    errors = [
        FieldError(f"values.{k}", msg("campaign-question-unknown", field=str(k)[:100]))
        for k in values
        if k not in camp.questions
    ]
    if errors:
        raise ValidationFailed(errors)
    day = _today(store, today).isoformat()
    changes = []
    for r in dict.fromkeys(refs):
        e = mine[r].entity
        spec = store.metamodel.kinds[e.kind]
        attrs: dict[str, Any] = {k: (None if _empty(v) else v) for k, v in values.items() if spec.attribute(k)}
        attrs["last_reviewed"] = day
        changes.append(Change("patch", r, {"attributes": attrs}, e.version))
    return submit(store, principal, changes, note=camp.name, today=today, request_id=request_id, origin="bulk")


def retire(
    store: CatalogStore,
    principal: Principal,
    campaign_id: str,
    refs: list[str],
    today: dt.date | None = None,
    request_id: str | None = None,
) -> Outcome:
    """Mark entities gone: one change set retiring each (a draft where the policy asks for review)."""
    camp = _open(store, campaign_id)
    mine = _in_campaign(store, camp, principal, refs)
    changes = [Change("retire", r, {}, mine[r].entity.version) for r in dict.fromkeys(refs)]
    return submit(store, principal, changes, note=camp.name, today=today, request_id=request_id, origin="bulk")


# --- reminders and closing -----------------------------------------------------------------------------------------


def editors_of(store: CatalogStore, orgs: list[str]) -> dict[str, list[str]]:
    """campaign organisation -> the active department editors whose organisation is it or one of its units."""
    units = {o: org_units(store, o) for o in orgs}
    out: dict[str, list[str]] = {o: [] for o in orgs}
    for rec in store.list_records("user", limit=100_000):
        d = rec.data
        if d.get("role") != "editor" or d.get("disabled"):
            continue
        for o in orgs:
            if d.get("org") in units[o]:
                out[o].append(str(d.get("name")))
    return {o: sorted(v) for o, v in out.items()}


def remind(
    store: CatalogStore, principal: Principal, campaign_id: str, settings: Any = None, today: dt.date | None = None
) -> dict[str, list[str]]:
    """Remind the editors of every organisation not done: the reminder is written into the campaign (a dated
    change-log entry, the ``campaign.reminded`` event webhooks receive) and delivered as a notice (and e-mail when
    configured). Returns organisation -> users told
    (organisations without an editor are listed with none)."""
    from catalog.notices import deliver

    if principal.role not in OPENERS:
        raise PermissionDenied(msg("campaign-denied-open", principal=principal.name))
    camp = _open(store, campaign_id)
    day = _today(store, today)
    behind = [r.org for r in dashboard(store, camp, day) if not r.finished]
    told = editors_of(store, behind)
    reminder = {"on": day.isoformat(), "by": principal.name, "orgs": told}
    data = {**camp.data(), "reminders": [*camp.reminders, reminder]}
    store.put_record(COLLECTION, camp.id, data, WriteContext(actor=principal.name), expected_version=camp.version)
    seq = store.revision()[0]
    users = sorted({u for us in told.values() for u in us})
    if users:
        notice = {
            "id": seq,
            "type": "campaign.reminder",
            "ref": f"campaign:{camp.id}",
            "name": {"vi": camp.name, "en": camp.name},
            "actor": principal.name,
            "time": store.clock().isoformat(),
            "reason": camp.deadline,
        }
        deliver(store, users, notice, settings)
    return told


def frozen_rows(store: CatalogStore, camp: Campaign, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Every entity of the campaign as it stands: the rows of the frozen result."""
    rows = []
    for t in tasks(store, camp, today=today):
        e = t.entity
        rows.append(
            {
                "ref": e.ref,
                "kind": e.kind,
                "name": {"vi": e.name.vi, "en": e.name.en},
                "org": t.org,
                "owner": e.owner,
                "status": t.status,
                "missing": list(t.missing),
                "last_reviewed": e.attributes.get("last_reviewed"),
                "lifecycle": e.attributes.get("lifecycle"),
                **{q: e.attributes.get(q) for q in camp.questions},
            }
        )
    return rows


def close(store: CatalogStore, principal: Principal, campaign_id: str, today: dt.date | None = None) -> Campaign:
    """Close the campaign and freeze its result (counts per organisation, every row, the change-log head it was
    computed at) into the campaign record: one change-log entry, dated, in the hash chain."""
    if principal.role not in OPENERS:
        raise PermissionDenied(msg("campaign-denied-open", principal=principal.name))
    camp = _open(store, campaign_id)
    day = _today(store, today)
    seq, head = store.revision()
    result = {
        "as_of": day.isoformat(),
        "log_seq": seq,
        "log_head": head,
        "dashboard": [r.as_dict() for r in dashboard(store, camp, day)],
        "rows": frozen_rows(store, camp, day),
    }
    data = {**camp.data(), "status": "closed", "closed": day.isoformat(), "closed_by": principal.name, "result": result}
    rec = store.put_record(COLLECTION, camp.id, data, WriteContext(actor=principal.name), expected_version=camp.version)
    return _from_record(rec.data, rec.version)


__all__ = [
    "COLLECTION",
    "DEFAULT_KINDS",
    "DEFAULT_QUESTIONS",
    "Campaign",
    "OrgRow",
    "Task",
    "close",
    "confirm",
    "dashboard",
    "editor_orgs",
    "editors_of",
    "frozen_rows",
    "get",
    "list_campaigns",
    "open_campaign",
    "pending_refs",
    "remind",
    "retire",
    "tasks",
]
