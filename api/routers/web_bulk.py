"""Bulk edit (issue 16, item 4): one field set to one value over several entities of an organisation (docs/web.md).

``GET /my-org/bulk`` lists the organisation's entities (its units' too) that have the chosen field, with their
current value and a checkbox each; ``POST /my-org/bulk`` previews (entity, current value -> new value, and what the
approval policy will do), then, confirmed, hands one change set of ``patch`` changes (each with the version it was
previewed at) to :func:`catalog.changeset.submit`: applied at once or one draft, as the policy says. Works without
JavaScript (a field is chosen by a GET form; select all has a link), and a department editor sees only their own
organisation's entities; the services refuse anything else anyway.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _form, _sorted, _store, _who, web
from api.routers.web_import import review_reasons
from api.web.context import describe, finish, lang_of, render
from catalog.changeset import MAX_CHANGES, Change
from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import Message, msg
from catalog.metamodel import AttributeSpec
from catalog.permissions import Principal, org_units
from catalog.store.base import EntityFilter

router = APIRouter(include_in_schema=False)
#: the attribute types bulk edit offers, in the order the field list shows them (enumerated values and dates first)
TYPES = ("enum", "date", "bool", "int", "str")
NOTE_CHARS = 1_000


@dataclass(frozen=True)
class Field:
    """An attribute several kinds may share (``lifecycle``, ``last_reviewed``): its name, label and each kind's
    declaration (their allowed values may differ)."""

    name: str
    spec: AttributeSpec  # the first kind's: label and type
    kinds: dict[str, AttributeSpec]

    def values(self) -> list[str]:
        """An enumeration's allowed values over every kind that has it, in declaration order."""
        out: list[str] = []
        for a in self.kinds.values():
            out += [v for v in a.values if v not in out]
        return out

    def label(self, lang: str) -> str:
        return self.spec.label.get(lang)

    def shown(self, value: Any, lang: str) -> str:
        """A value as people read it: an enumeration's label, yes/no, a date in the reader's locale."""
        from catalog.i18n import format_date

        if value is None or value == "":
            return "—"
        if self.spec.type == "enum":
            return self.spec.value_label(value, lang) if value in self.spec.values else self._label(value, lang)
        if self.spec.type == "bool":
            return (msg("ui-yes") if value else msg("ui-no")).text(lang)
        if self.spec.type == "date":
            return format_date(str(value), lang)
        return str(value)

    def _label(self, value: Any, lang: str) -> str:
        for a in self.kinds.values():
            if value in a.values:
                return a.value_label(value, lang)
        return str(value)


def fields(mm: Any, kinds: list[str]) -> list[Field]:
    """The attributes of ``kinds`` bulk edit may set, enumerated values and dates first, then by label."""
    found: dict[str, dict[str, AttributeSpec]] = {}
    for k in kinds:
        for a in mm.kinds[k].attributes:
            if a.type in TYPES:
                found.setdefault(a.name, {})[k] = a
    out = [Field(name, next(iter(specs.values())), specs) for name, specs in found.items()]
    return sorted(out, key=lambda f: (TYPES.index(f.spec.type), f.spec.label.vi.lower()))


def _kinds(mm: Any) -> list[str]:
    """The kinds an organisation owns (systems, databases, platforms, services, datasets: the metamodel's flag)."""
    return [k for k in mm.kinds if mm.owned(k) and not mm.is_organisation(k)]


def _org(store: Any, p: Principal, org: str) -> Any:
    """The organisation whose entities are listed: a department editor's own (or one of its units), any for the
    roles that write everywhere; None when there is none."""
    org = org[:200] or (p.org or "")
    if p.role == "editor" and org not in org_units(store, p.org or ""):
        org = p.org or ""
    found = store.find_entity(org) if org else None
    return found if found is not None and store.metamodel.is_organisation(found.kind) else None


def _owned(store: Any, org: str, kinds: list[str]) -> list[Any]:
    units = org_units(store, org)
    return [
        e for u in sorted(units) for e in store.list_entities(EntityFilter(owner=u, limit=100_000)) if e.kind in kinds
    ]


def _value(f: Field, raw: str, kind: str, lang: str) -> Any:
    """The value typed or picked, as the kind's declaration takes it; ValidationFailed naming ``value``."""
    a = f.kinds.get(kind)
    raw = raw.strip()
    if a is None:
        raise ValidationFailed([FieldError("value", msg("ui-bulk-field-not-of-kind"))])
    if not raw:
        raise ValidationFailed([FieldError("value", msg("ui-bulk-choose-value"))])
    try:
        return a.coerce(raw)
    except ValueError as exc:
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else msg("value-invalid")
        raise ValidationFailed([FieldError("value", reason)]) from None


def _list_page(request: Request, p: Principal, org: str, field: str, status: int = 200, **values: Any) -> Response:
    from catalog.paging import paginate, settings_window

    store, lang = _store(request), lang_of(request)
    mm = store.metamodel
    kinds = _kinds(mm)
    focus = _org(store, p, org)
    offered = fields(mm, kinds)
    chosen = next((f for f in offered if f.name == field), None)
    items = None
    if focus is not None and chosen is not None:
        owned = _owned(store, focus.ref, list(chosen.kinds))
        items = paginate(
            _sorted(owned, lang),
            settings_window(
                request.app.state.settings, request.query_params.get("limit"), request.query_params.get("offset")
            ),
        )
    if p.role == "editor":  # their organisation and its units
        orgs = _sorted(list(store.get_entities(sorted(org_units(store, p.org or ""))).values()), lang)
    else:
        orgs = _sorted(store.list_entities(EntityFilter(kind="organization", limit=100_000)), lang)
    picked = set(request.query_params.getlist("ref")) | set(values.pop("picked", ()))
    return render(
        request,
        "bulk.html",
        status=status,
        org=focus,
        orgs=orgs,
        fields=offered,
        field=chosen,
        items=items,
        picked=picked,
        all=request.query_params.get("all") == "1",
        kind_label=lambda k: mm.kinds[k].label.get(lang),
        **values,
    )


@router.get("/my-org/bulk")
@web
def bulk_page(
    request: Request, org: str = "", field: str = "", done: str = "", n: str = "", draft: str = ""
) -> Response:
    """The organisation's entities with a checkbox each and the field to set (chosen first, by label)."""
    p = _who(request, "write")
    count = int(n) if n.isdigit() and len(n) < 7 else 0
    outcome = (
        {"applied": count}
        if done == "applied"
        else {"draft": draft[:64]}
        if done == "draft" and draft.isalnum()
        else None
    )
    return _list_page(request, p, org, field[:64], outcome=outcome)


def _picked(data: Any) -> list[str]:
    return [str(r)[:400] for r in data.getlist("ref")][: MAX_CHANGES + 1]


def _changes(store: Any, f: Field, raw: str, refs: list[str], versions: dict[str, int], lang: str) -> tuple[list, list]:
    """(rows to show, changes): for each picked entity its current and new value; a patch of that one attribute with
    the version it has (or the version the preview showed, when confirming). Unchanged ones give no change."""
    found = store.get_entities(sorted(set(refs)))
    rows, changes, errors = [], [], []
    for ref in dict.fromkeys(refs):
        e = found.get(ref)
        if e is None:
            errors.append(FieldError(f"ref.{ref}", msg("ref-not-in-file-or-catalog", ref=ref)))
            continue
        try:
            new = _value(f, raw, e.kind, lang)
        except ValidationFailed as exc:
            errors += [FieldError(f"{e.name.get(lang)}: {x.location}", x.reason) for x in exc.errors]
            continue
        current = e.attributes.get(f.name)
        version = versions.get(ref, e.version)
        rows.append(
            {
                "ref": ref,
                "name": e.name.get(lang),
                "kind": e.kind,
                "version": version,
                "old": f.shown(current, lang),
                "new": f.shown(new, lang),
                "same": current == new,
            }
        )
        if current != new:
            changes.append(Change("patch", ref, {"attributes": {f.name: new}}, version))
    if errors:
        raise ValidationFailed(errors)
    return rows, changes


@router.post("/my-org/bulk")
@web
async def bulk_submit(request: Request) -> Response:
    """``step=preview``: what would change, and whether it applies at once or becomes a draft; ``step=confirm``:
    the change set through :func:`catalog.changeset.submit`, then back to the list with the outcome."""
    p = _who(request, "write")
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    org, name = str(data.get("org", ""))[:200], str(data.get("field", ""))[:64]
    raw = str(data.get("value", ""))[:2000]
    f = next((x for x in fields(store.metamodel, _kinds(store.metamodel)) if x.name == name), None)
    confirm = data.get("step") == "confirm"
    versions: dict[str, int] = {}
    if confirm:
        refs = []
        for item in data.getlist("item")[: MAX_CHANGES + 1]:
            ref, _, version = str(item)[:420].partition(" ")
            if version.isdigit():
                refs.append(ref)
                versions[ref] = int(version)
    else:
        refs = _picked(data)
    try:
        if f is None:
            raise ValidationFailed([FieldError("field", msg("ui-bulk-choose-field"))])
        if not refs:
            raise ValidationFailed([FieldError("ref", msg("ui-bulk-choose-entities"))])
        if len(refs) > MAX_CHANGES:
            raise ValidationFailed([FieldError("ref", msg("changeset-too-many", limit=MAX_CHANGES))])
        rows, changes = _changes(store, f, raw, refs, versions, lang)
        if not changes:
            raise ValidationFailed([FieldError("value", msg("ui-bulk-nothing-changes"))])
        if not confirm:
            review = await run_in_threadpool(review_reasons, store, p, changes, lang, "bulk")
            return render(
                request, "bulk_preview.html", org=org, field=f, raw=raw, rows=rows, changes=changes, review=review
            )
        from catalog.changeset import submit

        note = str(data.get("note", ""))[:NOTE_CHARS]
        outcome = await run_in_threadpool(functools.partial(submit, store, p, changes, note=note, origin="bulk"))
    except CatalogError as exc:
        return _list_page(request, p, org, name, status=exc.status, failure=describe(exc, lang), picked=refs, raw=raw)
    query = {"org": org, "field": f.name, "lang": lang}
    if outcome.draft is not None:
        query |= {"done": "draft", "draft": outcome.draft.id}
    else:
        query |= {"done": "applied", "n": str(len(changes))}
    return finish(request, RedirectResponse(f"/my-org/bulk?{urlencode(query)}", status_code=303))
