"""The drafts pages (:mod:`catalog.drafts`): "my drafts" for every writer, the approvers' queue, the review of one
draft (the whole change set: per entity, current vs proposed values field by field; new, edited and removed
connections with their target's owner and province, the platform they go via, the data, frequency and protocol;
the approval policy's reasons), approval after a confirmation step that shows what will be applied, rejection with
a reason. :func:`pending_count` is the approvers' badge in the header (base.html).

Routes: ``GET /drafts`` (``tab``: ``mine``, ``queue``, ``all``; ``submitted=<draft id>``: the page a form sends its
writer to after :func:`catalog.changeset.submit` made a draft, which it confirms), ``GET /drafts/{id}`` (the review),
``GET /drafts/{id}/approve`` (the confirmation), ``POST /drafts/{id}`` (``decision`` approve | reject, ``version``,
``reason``). Labels everywhere: fields, enumerated values, relationship types, organisations by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _form, _store, _who, web
from api.web.context import context, finish, lang_of, may, render
from api.web.forms import PARTS, field_label
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import format_date, msg, text
from catalog.permissions import Principal

router = APIRouter(include_in_schema=False)
TABS = ("queue", "mine", "all")
OP_LABELS = {
    "create": msg("ui-draft-op-create"),
    "update": msg("ui-draft-op-update"),
    "patch": msg("ui-draft-op-update"),
    "retire": msg("ui-draft-op-retire"),
    "delete": msg("ui-draft-op-delete"),
    "link": msg("ui-draft-op-link"),
    "relink": msg("ui-draft-op-relink"),
    "unlink": msg("ui-draft-op-unlink"),
}
LINK_PROPS = ("data", "via", "frequency", "protocol", "status", "legal_basis", "note")


def pending_count(request: Request, user: Principal | None) -> int:
    """The approvers' badge: drafts waiting for a decision (0 for those who do not approve); never an error."""
    if user is None or not may(user, "approve"):
        return 0
    try:
        from catalog.drafts import Drafts

        return Drafts(_store(request), user).count_pending()
    except Exception:  # the header never breaks a page; the drafts page itself shows the error
        return 0


@dataclass
class ChangeView:
    """One change of a draft as the reviewer reads it."""

    op: str
    op_label: str
    title: str
    href: str | None
    kind_label: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    moved_on: bool = False  # the entity or connection changed since the draft was submitted
    is_link: bool = False


class _Labels:
    """Names and labels for one draft page, read in one batch."""

    def __init__(self, store: Any, refs: set[str], lang: str):
        from catalog.search import Places

        self.store, self.lang, self.mm = store, lang, store.metamodel
        self.entities = store.get_entities(sorted(r for r in refs if isinstance(r, str)))
        owners = {e.owner for e in self.entities.values() if e.owner} - set(self.entities)
        self.entities.update(store.get_entities(sorted(owners)))
        self.places = Places.of(store)
        places = {self.places.place_of(e) for e in self.entities.values()} - {None} - set(self.entities)
        self.entities.update(store.get_entities(sorted(p for p in places if p)))

    def name(self, ref: str | None) -> str:
        if not ref:
            return ""
        e = self.entities.get(ref)
        return (e.name.get(self.lang) or ref) if e is not None else ref

    def where(self, ref: str) -> str:
        """An entity's owner and province: "Sở KH&CN · TP. Hồ Chí Minh"."""
        e = self.entities.get(ref)
        if e is None:
            return ""
        parts = []
        if e.owner:
            parts.append(self.name(e.owner))
        place = self.places.place_of(e)
        if place and place != e.owner:
            parts.append(self.name(place))
        elif not place:
            parts.append(msg("ui-national").text(self.lang))
        return " · ".join(parts)

    def value(self, v: Any, a: Any = None) -> str:
        if v is None or v == "" or v == []:
            return ""
        if isinstance(v, list):
            return ", ".join(self.value(x, a) for x in v)
        if isinstance(v, dict):
            return " / ".join(str(v[k]) for k in ("vi", "en") if v.get(k))
        if hasattr(v, "get") and hasattr(v, "vi"):
            return v.get(self.lang)
        if isinstance(v, bool):
            return (msg("ui-yes") if v else msg("ui-no")).text(self.lang)
        if isinstance(v, dt.date):
            return format_date(v, self.lang)
        if isinstance(v, str) and v in self.entities:
            return self.name(v)
        if a is not None and getattr(a, "values", None):
            return a.value_label(v, self.lang)
        if a is not None and getattr(a, "type", "") == "date":
            try:
                return format_date(dt.date.fromisoformat(str(v)), self.lang)
            except ValueError:
                return str(v)
        return str(v)


def _entity_rows(lb: _Labels, spec: Any, current: Any, proposed: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, current, proposed) per field that differs between ``current`` (None: a new entity) and the
    proposed content (an entity's data: name, description, owner, attributes, validity, tags)."""
    lang = lb.lang
    rows: list[tuple[str, str, str]] = []
    for key in ("name", "description"):
        new = proposed.get(key)
        old = getattr(current, key, None) if current is not None else None
        old_d = old.model_dump() if old is not None else {}
        new_d = new if isinstance(new, dict) else ({"vi": new} if isinstance(new, str) else {})
        for part in ("vi", "en"):
            o, n = old_d.get(part) or "", new_d.get(part) or ""
            if key in proposed and o != n:
                rows.append((f"{field_label(spec, key, lang)} ({PARTS[part].text(lang)})", o, n or "—"))
    if "owner" in proposed or "owner_history" in proposed:
        new_owner = proposed.get("owner")
        if new_owner is None and proposed.get("owner_history"):
            last = proposed["owner_history"][-1]
            new_owner = last.get("org") if isinstance(last, dict) and not last.get("end") else None
        old_owner = current.owner if current is not None else None
        if new_owner != old_owner:
            rows.append((field_label(spec, "owner", lang), lb.name(old_owner), lb.name(new_owner) or "—"))
    attrs = proposed.get("attributes")
    if isinstance(attrs, dict):
        for name, v in sorted(attrs.items()):
            a = spec.attribute(name) if spec else None
            old = current.attributes.get(name) if current is not None else None
            if old != v:
                label = a.label.get(lang) if a else name
                rows.append((label, lb.value(old, a), "—" if v is None else lb.value(v, a)))
    for key in ("valid_from", "valid_to", "tags"):
        if key in proposed:
            old = getattr(current, key, None) if current is not None else None
            old_s = lb.value(old.isoformat() if isinstance(old, dt.date) else old)
            new_s = lb.value(proposed[key])
            if old_s != new_s:
                label = field_label(spec, key, lang)
                if key == "valid_to":
                    label = msg("ui-draft-valid-to").text(lang)
                rows.append((label, old_s, new_s or "—"))
    return rows


def _link_rows(lb: _Labels, change: Any, current: Any) -> list[tuple[str, str, str]]:
    """(label, current, proposed) for a connection: its type, both ends (the target with owner and province), the
    platform it goes via, and its properties by label."""
    lang = lb.lang
    data = change.data if change.op != "unlink" else {}
    old_props: dict[str, Any] = current.properties if current is not None else {}
    raw = data.get("properties")
    new_props: dict[str, Any] = raw if isinstance(raw, dict) else {}
    type_ = data.get("type") or (current.type if current is not None else None)
    spec = lb.mm.relations.get(type_ or "")
    rel_label = spec.label.get(lang) if spec else str(type_ or "")
    source = data.get("source") or (current.source if current is not None else "")
    target = data.get("target") or (current.target if current is not None else "")
    removed = change.op == "unlink"
    rows = [
        (msg("ui-draft-relationship").text(lang), rel_label if current else "", "" if removed else rel_label),
        (
            msg("ui-draft-source").text(lang),
            lb.name(source) if current else "",
            "" if removed else lb.name(source),
        ),
    ]
    where = lb.where(target)
    target_text = lb.name(target) + (f" ({where})" if where else "")
    rows.append((msg("ui-draft-target").text(lang), target_text if current else "", "" if removed else target_text))
    for name in LINK_PROPS:
        a = spec.property(name) if spec else None
        old, new = old_props.get(name), (None if removed else new_props.get(name))
        if old is None and new is None:
            continue
        label = a.label.get(lang) if a else name
        shown_old = lb.value(old, a)
        shown_new = lb.value(new, a)
        if name == "via":
            shown_old = shown_old + (f" ({lb.where(old)})" if old and lb.where(old) else "")
            shown_new = shown_new + (f" ({lb.where(new)})" if new and lb.where(new) else "")
        rows.append((label, shown_old, shown_new or ("—" if not removed else "")))
    return rows


def change_views(store: Any, d: Any, lang: str) -> list[ChangeView]:
    """Every change of draft ``d`` as the reviewer reads it (a single-entity draft: one)."""
    from catalog.changeset import Change

    if d.op == "changeset":
        changes = d.changes_list()
    elif d.op == "retire":
        changes = [Change("retire", d.ref, d.changes, d.base_version)]
    else:
        changes = [Change("patch", d.ref, d.changes, d.base_version)]
    refs: set[str] = set()
    rel_ids = [c.ref for c in changes if c.op in ("relink", "unlink")]
    for c in changes:
        refs.update(c.endpoints() if c.is_link else {c.ref})
        props = c.data.get("properties") if isinstance(c.data.get("properties"), dict) else {}
        if isinstance(props.get("via"), str):
            refs.add(props["via"])
        for key in ("owner",):
            if isinstance(c.data.get(key), str):
                refs.add(c.data[key])
        attrs = c.data.get("attributes") if isinstance(c.data.get("attributes"), dict) else {}
        refs.update(v for v in attrs.values() if isinstance(v, str) and ":" in v)
    rels = {rid: store.find_relationship(rid) for rid in rel_ids[:500]}
    for r in rels.values():
        if r is not None:
            refs.update({r.source, r.target})
            if isinstance(r.properties.get("via"), str):
                refs.add(r.properties["via"])
    lb = _Labels(store, refs, lang)
    created = {}
    for c in changes:
        if c.op == "create":
            n = c.data.get("name")
            created[c.ref] = (n.get(lang) or n.get("vi") or c.ref) if isinstance(n, dict) else str(n or c.ref)
    out = []
    for c in changes:
        op_label = OP_LABELS[c.op].text(lang)
        if c.is_link:
            current = rels.get(c.ref)
            source, target = (c.endpoints() + ("", ""))[:2]
            title = f"{created.get(source) or lb.name(source)} → {created.get(target) or lb.name(target)}"
            rows = _link_rows(lb, c, current)
            rows = [(label, old, created.get(new, new)) for label, old, new in rows]
            moved = current is not None and c.base_version is not None and current.version != c.base_version
            out.append(ChangeView(c.op, op_label, title, None, "", rows, moved, True))
            continue
        kind = c.ref.split(":", 1)[0]
        spec = store.metamodel.kinds.get(kind)
        current = lb.entities.get(c.ref) if c.op != "create" else None
        title = created.get(c.ref) or lb.name(c.ref)
        if c.op == "create":
            rows = _entity_rows(lb, spec, None, c.data)
        elif c.op == "update":
            rows = _entity_rows(lb, spec, current, c.data)
        elif c.op == "patch":
            rows = _entity_rows(lb, spec, current, c.data)
        elif c.op == "retire":
            on = c.data.get("on")
            rows = [(msg("ui-draft-retire-on").text(lang), "", lb.value(on, _DateAttr) if on else "")]
        else:
            rows = [(msg("ui-draft-delete-cascade").text(lang), "", lb.value(bool(c.data.get("cascade", False))))]
        moved = current is not None and c.base_version is not None and current.version != c.base_version
        href = f"/entities/{c.ref}?lang={lang}" if c.op != "create" and current is not None else None
        out.append(ChangeView(c.op, op_label, title, href, spec.label.get(lang) if spec else kind, rows, moved, False))
    return out


class _DateAttr:
    type = "date"
    values = ()


def _count(value: Any) -> int:
    """A count of an import report: a number, or a number per kind (summed)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    return 0


def attachment_rows(d: Any, lang: str) -> list[tuple[str, str]]:
    """An import's dry-run report attached to a draft (``attachments.import_report``), by label; empty otherwise."""
    from catalog.i18n import format_number

    report = (d.attachments or {}).get("import_report")
    if not isinstance(report, dict):
        return []
    rows = [(msg("ui-draft-import-file").text(lang), str(report.get("file") or ""))]
    for key, label in (
        ("created", msg("ui-draft-import-created")),
        ("updated", msg("ui-draft-import-updated")),
        ("unchanged", msg("ui-draft-import-unchanged")),
        ("rejected", msg("ui-draft-import-rejected")),
        ("unmapped", msg("ui-draft-import-unmapped")),
    ):
        rows.append((label.text(lang), format_number(_count(report.get(key)), lang)))
    return rows


def _reasons(d: Any, lang: str) -> list[str]:
    return [r.get(lang) or r.get("vi", "") for r in d.reasons or []]


def _title(store: Any, d: Any, lang: str) -> str:
    e = store.find_entity(d.ref) if d.ref else None
    if e is not None:
        return e.name.get(lang)
    for c in d.change_set or []:
        if c.get("ref") == d.ref and isinstance((c.get("data") or {}).get("name"), dict):
            n = c["data"]["name"]
            return n.get(lang) or n.get("vi") or d.ref
    return d.ref


@router.get("/drafts")
@web
def drafts_page(request: Request, tab: str = "", status: str = "") -> Response:
    p = _who(request, "write")
    from catalog.drafts import STATUSES, Drafts

    store, lang = _store(request), lang_of(request)
    approver = may(p, "approve")
    tabs = TABS if approver else ("mine",)
    tab = tab if tab in tabs else ("queue" if approver else "mine")
    drafts = Drafts(store, p)
    if status == "" and request.query_params.get("status") is None:
        status = "pending" if tab == "queue" else ""
    shown = status if status in STATUSES else None
    if tab == "mine":
        found = drafts.list(status=shown, submitted_by=p.name, limit=500)
    else:
        found = drafts.list(status=shown, limit=500)
    found.sort(key=lambda d: d.status != "pending")  # pending first, newest first within each
    return render(
        request,
        "drafts.html",
        drafts=found,
        tab=tab,
        tabs=tabs,
        shown=shown or "",
        statuses=STATUSES,
        approver=approver,
        titles={d.id: _title(store, d, lang) for d in found},
        views={d.id: change_views(store, d, lang) for d in found[:100]},
        reasons={d.id: _reasons(d, lang) for d in found},
        pending=pending_count(request, p),
    )


def _review(request: Request, p: Principal, draft_id: str, template: str, status: int = 200, **more: Any) -> Response:
    from catalog.drafts import Drafts

    store, lang = _store(request), lang_of(request)
    d = Drafts(store, p).get(draft_id[:64])
    views = change_views(store, d, lang)
    return render(
        request,
        template,
        status=status,
        d=d,
        title=_title(store, d, lang),
        views=views,
        reasons=_reasons(d, lang),
        approver=may(p, "approve"),
        moved_on=any(v.moved_on for v in views),
        report=attachment_rows(d, lang),
        **more,
    )


@router.get("/drafts/{draft_id}")
@web
def draft_page(request: Request, draft_id: str) -> Response:
    p = _who(request, "write")
    return _review(request, p, draft_id, "drafts_review.html", error="")


@router.get("/drafts/{draft_id}/approve")
@web
def draft_confirm(request: Request, draft_id: str) -> Response:
    p = _who(request, "approve")
    return _review(request, p, draft_id, "drafts_confirm.html")


@router.post("/drafts/{draft_id}")
@web
async def draft_decide(request: Request, draft_id: str) -> Response:
    p = _who(request, "approve")
    from catalog.drafts import Drafts

    data = await _form(request)
    drafts = Drafts(_store(request), p)
    try:
        version = int(str(data.get("version", "")))
    except ValueError:
        raise ValidationFailed([FieldError("version", msg("ui-whole-number"))]) from None
    decision = data.get("decision")
    if decision == "approve":
        await run_in_threadpool(drafts.approve, draft_id[:64], version)
    elif decision == "reject":
        try:
            await run_in_threadpool(drafts.reject, draft_id[:64], version, str(data.get("reason", ""))[:2000])
        except ValidationFailed as exc:
            if not any(e.location == "reason" for e in exc.errors):
                raise
            lang = context(request).lang
            error = "; ".join(text(e.reason, lang) for e in exc.errors)
            return _review(request, p, draft_id, "drafts_review.html", status=422, error=error)
    else:
        raise ValidationFailed([FieldError("decision", msg("ui-draft-decision"))])
    return finish(request, RedirectResponse(f"/drafts?done={decision}", status_code=303))
