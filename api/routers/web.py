"""The web UI: server-rendered pages for architects, department IT and auditors (docs/web.md).

Thin like every other door: each handler parses, calls the catalog (CatalogService for writes, the store's read
methods, catalog.analysis, catalog.compliance, diagrams, importers.base.run_import) and renders a Jinja2 template
(autoescaped). Permissions are the services' (catalog.permissions); pages only hide what a role cannot do and show
the services' refusal when it is tried anyway. Sessions, CSRF, language and security headers: api.web.context.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.routers.diagrams import file_headers
from api.web.context import (
    check_csrf,
    context,
    error_page,
    finish,
    lang_of,
    may,
    principal_of,
    render,
    vendor_manifest,
)
from api.web.forms import (
    EntityForm,
    LinkRow,
    Saved,
    connection_fields,
    patterns,
    save,
)
from catalog.errors import CatalogError, FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import msg
from catalog.model import REF_RE
from catalog.permissions import Principal, org_units, require, require_owner_scope
from catalog.services import CatalogService
from catalog.store.base import EntityFilter
from catalog.text import vi_sort_key

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
MEDIA = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


def web(fn: Callable) -> Callable:
    """Catalog errors become an error page in the user's language (never a traceback, never problem+json)."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(request: Request, *args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(request, *args, **kwargs)
            except SignInRequired:
                return _signin_redirect(request)
            except CatalogError as exc:
                return error_page(request, exc)

        return run_async

    @functools.wraps(fn)
    def run(request: Request, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(request, *args, **kwargs)
        except SignInRequired:
            return _signin_redirect(request)
        except CatalogError as exc:
            return error_page(request, exc)

    return run


def _store(request: Request) -> Any:
    return request.app.state.store


# what a page says when the reader's role may not do what it offers (catalog.permissions decides)
REFUSED = {
    "read": msg("ui-may-not-read"),
    "write": msg("ui-may-not-write"),
    "import": msg("ui-may-not-import"),
    "export": msg("ui-may-not-export"),
    "history": msg("ui-may-not-history"),
    "approve": msg("ui-may-not-approve"),
}


def _who(request: Request, action: str = "read") -> Principal:
    """The principal, who must be allowed ``action``; anonymous visitors are sent to sign in by the caller."""
    p = principal_of(request)
    if p is None:
        raise SignInRequired()
    if not may(p, action) and action in REFUSED:
        raise PermissionDenied(REFUSED[action])
    require(p, action)  # type: ignore[arg-type]
    return p


class SignInRequired(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(msg("ui-sign-in-first"))


def _signin_redirect(request: Request) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)


def _day(value: str | None, field: str = "date") -> dt.date | None:
    from catalog.history.snapshot import parse_day

    return parse_day(value, field)


def _sorted(entities: list, lang: str) -> list:
    return sorted(entities, key=lambda e: vi_sort_key(e.name.get(lang)))


async def _form(request: Request) -> Any:
    form = await request.form()
    check_csrf(request, form)
    return form


# --- static files, sign-in -------------------------------------------------------------------------------------


@router.get("/static/{name}")
def static(name: str) -> Response:
    if not re.match(r"^[a-z0-9-]+\.(css|js)$", name) or not (STATIC / name).is_file():
        return Response(status_code=404)
    return FileResponse(STATIC / name, headers={"Cache-Control": "max-age=300"})


@router.get("/static/vendor/{package}/{name}")
def static_vendor(package: str, name: str) -> Response:
    """A front-end library the package carries; only the files api/static/vendor/manifest.json lists are served."""
    entry = vendor_manifest().get(package)
    if entry is None or name not in entry["files"]:
        return Response(status_code=404)
    return FileResponse(STATIC / "vendor" / package / name, headers={"Cache-Control": "public, max-age=86400"})


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") and len(value) < 500 else "/"


# signing in and out, the account page: api/routers/web_signin.py


# --- browsing: home, search, entity, graph -----------------------------------------------------------------------


def _history(store: Any, e: Any, rels: list, lang: str) -> list:
    """The entity's change-log entries and those of its current relationships (who connected what, when), newest
    first, each with its fields before and after (:func:`catalog.history.changes.describe`)."""
    from catalog.history.changes import describe

    entries = list(store.changelog(ref=e.ref, limit=200))
    for r in rels[:100]:
        entries += store.changelog(ref=f"rel:{r.id}", limit=20)
    return describe(store, sorted(entries, key=lambda x: x.seq, reverse=True)[:300], lang)


def _refs_in(e: Any) -> set[str]:
    """The references an entity's attributes hold (shown by name on its page)."""
    values = [x for v in e.attributes.values() for x in (v if isinstance(v, list) else [v])]
    return {v for v in values if isinstance(v, str) and REF_RE.match(v)}


@router.get("/entities/{ref}")
@web
def entity_page(request: Request, ref: str, as_of: str = "", valid_on: str = "") -> Response:
    p = principal_of(request)
    if p is None:
        return _signin_redirect(request)
    store, lang = _store(request), lang_of(request)
    day = _day(as_of, "as_of")
    if day is not None:
        e = store.entity_as_of(ref, day)
        if e is None:
            raise NotFound(msg("ui-entity-not-on-day", ref=ref, day=day))
        rels = [r for r in store.graph_as_of(day).relationships if ref in (r.source, r.target)]
    else:
        e = store.get_entity(ref)
        rels = store.list_relationships(ref)
    valid = _day(valid_on, "valid_on") if day is None else None  # the world on a day, in the current record
    if valid is not None:
        rels = [r for r in rels if (r.valid_from or valid) <= valid and (r.valid_to is None or valid < r.valid_to)]
    names = store.get_entities(
        sorted(
            {r.source for r in rels}
            | {r.target for r in rels}
            | {x.org for x in e.owner_history}
            | _refs_in(e)
            | {v for r in rels for v in r.properties.values() if isinstance(v, str) and REF_RE.match(v)}
        )
    )
    can_edit = False
    if day is None and may(p, "write") and store.metamodel.owned(e.kind):
        try:
            require_owner_scope(store, p, e.ref, e.owner)
            can_edit = True
        except PermissionDenied:
            pass
    from catalog.drafts import Drafts

    pending = len(Drafts(store, p).list(status="pending", ref=e.ref)) if day is None else 0
    # today's compliance findings on it (freshness CR006 among them), read from its neighbourhood; none on a
    # page of another day
    from catalog.compliance import check_entities

    findings = check_entities(store, [e.ref]) if day is None and valid is None else []
    from api.routers.web_diagrams import context_diagram

    return render(
        request,
        "entity.html",
        diagram=context_diagram(store, e, day, lang, valid_on=valid),
        valid_on=valid,
        owner_then=e.owner_on(valid) if valid is not None else None,
        e=e,
        spec=store.metamodel.kind(e.kind),
        rels=rels,
        names=names,
        history=_history(store, e, rels if day is None else [], lang),
        as_of=day,
        can_edit=can_edit,
        pending_drafts=pending,
        findings=findings,
    )


@router.get("/entities/{ref}/graph")
@web
def graph_page(request: Request, ref: str) -> Response:
    """The graph explorer starting from this entity (api.routers.web_explore)."""
    from urllib.parse import quote

    _who(request)
    e = _store(request).get_entity(ref[:200])
    return RedirectResponse(f"/explore?lang={lang_of(request)}&start={quote(e.ref, safe=':')}", status_code=303)


# --- forms: register and edit ---------------------------------------------------------------------------------


def _owner_choices(store: Any, p: Principal, lang: str) -> list:
    if p.role == "editor":
        orgs = store.get_entities(sorted(org_units(store, p.org or "")))
        return _sorted(list(orgs.values()), lang)
    today = dt.date.today()
    return _sorted(
        [
            o
            for o in store.list_entities(EntityFilter(kind="organization", limit=100_000))
            if o.valid_to is None or o.valid_to > today
        ],
        lang,
    )


def _form_page(request: Request, p: Principal, form: EntityForm, current: Any, status: int = 200) -> Response:
    store, lang = _store(request), lang_of(request)
    mm = store.metamodel
    spec = mm.kind(form.kind)
    from api.routers.web_search import _home, picked

    owners = _owner_choices(store, p, lang)
    if current is not None and current.owner and current.owner not in {o.ref for o in owners}:
        found = store.find_entity(current.owner)  # e.g. a merged department: kept until the owner is moved
        owners = ([found] if found else []) + owners
    suggested = patterns(store, form.kind, p, _home(request))
    refs = [r.values.get(f, "") for r in form.links for f in ("target", "via")]
    refs += [x.values.get(f, "") for x in suggested for f in ("target", "via")]
    return render(
        request,
        "form.html",
        status=status,
        form=form,
        spec=spec,
        current=current,
        owners=owners,
        conn=connection_fields(mm, form.kind),
        picked=picked(store, refs, lang),
        patterns=suggested,
    )


def _form_action(request: Request, p: Principal, form: EntityForm, current: Any, action: str) -> Response | None:
    """The buttons that only change the form (without JavaScript): one more blank row, or a suggested one."""
    if action == "add-row":
        form.blank += 1
    elif action.startswith("pattern-"):
        from api.routers.web_search import _home

        found = [x for x in patterns(_store(request), form.kind, p, _home(request)) if f"pattern-{x.name}" == action]
        if found:
            form.links.append(LinkRow(dict(found[0].values), pattern=found[0].name))
    else:
        return None
    return _form_page(request, p, form, current)


def _saved(request: Request, saved: Saved) -> Response:
    """Applied: the entity's page; one draft awaiting review: the draft's page (it says why)."""
    from urllib.parse import quote

    if saved.draft is not None:
        draft_id = getattr(saved.draft, "id", saved.draft)
        return finish(request, RedirectResponse(f"/drafts/{quote(str(draft_id), safe='')}", status_code=303))
    return finish(request, RedirectResponse(f"/entities/{saved.ref}?saved=1", status_code=303))


def _creatable(store: Any, kind: str) -> str:
    if kind not in store.metamodel.kinds or store.metamodel.is_organisation(kind):
        raise ValidationFailed(
            [
                FieldError(
                    "kind",
                    msg(
                        "ui-cannot-register-kind",
                        kind=kind[:40],
                        kinds=[k for k in store.metamodel.kinds if not store.metamodel.is_organisation(k)],
                    ),
                )
            ]
        )
    return kind


@router.get("/new")
@web
def new_page(request: Request, kind: str = "system") -> Response:
    p = _who(request, "write")
    store = _store(request)
    form = EntityForm(kind=_creatable(store, kind))
    if p.role == "editor":
        form.values["owner"] = p.org or ""
    return _form_page(request, p, form, None)


@router.post("/new")
@web
async def new_submit(request: Request) -> Response:
    p = _who(request, "write")
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    kind = _creatable(store, str(data.get("kind", "")))
    form = EntityForm.from_form(kind, store.metamodel.kind(kind), data)
    shown = _form_action(request, p, form, None, str(data.get("action", "save")))
    if shown is not None:
        return shown
    saved = await run_in_threadpool(save, CatalogService(store, p), form, lang)
    if saved is None:
        return _form_page(request, p, form, None, status=422)
    return _saved(request, saved)


def _editable(request: Request, p: Principal, ref: str) -> Any:
    store = _store(request)
    current = store.get_entity(ref)
    if not store.metamodel.owned(current.kind):
        require_owner_scope(store, p, ref)  # organisations: architects and admins only
    else:
        require_owner_scope(store, p, ref, current.owner)
    return current


@router.get("/entities/{ref}/edit")
@web
def edit_page(request: Request, ref: str) -> Response:
    p = _who(request, "write")
    current = _editable(request, p, ref)
    _creatable(_store(request), current.kind)
    rels = _store(request).list_relationships(current.ref, direction="out")
    return _form_page(request, p, EntityForm.from_entity(current, rels), current)


@router.post("/entities/{ref}/edit")
@web
async def edit_submit(request: Request, ref: str) -> Response:
    p = _who(request, "write")
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    current = _editable(request, p, ref)
    if str(data.get("version", "")) != str(current.version):
        page = context(request)
        form = EntityForm.from_form(current.kind, store.metamodel.kind(current.kind), data)
        form.general.append(page._("ui-edit-conflict"))
        return _form_page(request, p, form, current, status=409)
    form = EntityForm.from_form(current.kind, store.metamodel.kind(current.kind), data)
    shown = _form_action(request, p, form, current, str(data.get("action", "save")))
    if shown is not None:
        return shown
    saved = await run_in_threadpool(save, CatalogService(store, p), form, lang, current)
    if saved is None:
        return _form_page(request, p, form, current, status=422)
    return _saved(request, saved)


# --- analysis: impact, compliance, my organisation -------------------------------------------------------------


def _compliance(store: Any, day: dt.date | None = None, valid: dt.date | None = None) -> Any:
    """The compliance report today (kept per catalog revision: the dashboard and "my organisation" reuse it) or as
    recorded at the end of ``day``, checked as the world stood on ``valid`` (default: that day)."""
    from api.routers.compliance import current_report
    from catalog.compliance import check

    if day is None:
        return current_report(store) if valid is None or valid == store.clock().date() else check(store, today=valid)
    from catalog.history.frozen import FrozenStore
    from catalog.history.snapshot import recorded_graph, recorded_revision

    rev = recorded_revision(store, day)  # before the first record: NothingRecorded, explained, never zeros
    frozen = FrozenStore(recorded_graph(store, day), day, (rev.seq, rev.hash), store.metamodel)
    return check(frozen, today=valid or day)


@router.get("/compliance")
@web
def compliance_page(
    request: Request,
    org: str = "",
    rule: str = "",
    offset: str = "",
    limit: str = "",
    orgs_offset: str = "",
    valid_on: str = "",
    recorded_at: str = "",
) -> Response:
    """Per rule a count; the findings of one rule (``rule``) or of one organisation (``org``) a page at a time;
    the organisations' scores a page at a time (``orgs_offset``); on a valid-on date (``valid_on``, default today:
    the record checked as the world stood that day), in the record as it was at the end of ``recorded_at`` (a day;
    default: the current record)."""
    _who(request)
    from catalog.compliance import load_rules
    from catalog.paging import paginate, settings_window

    store, settings = _store(request), request.app.state.settings
    day = _day(valid_on[:10] or None, "valid_on")
    recorded = _day(recorded_at[:10] or None, "recorded_at")
    from catalog.history.snapshot import NothingRecorded

    try:
        report = _compliance(store, recorded, day)
    except NothingRecorded as exc:  # the page explains, with the controls kept; the downloads answer 404
        return render(
            request,
            "compliance.html",
            status=404,
            refused=exc.text(lang_of(request)),
            valid_on=day.isoformat() if day is not None else "",
            recorded_at=recorded.isoformat() if recorded is not None else "",
        )
    rules = {r.code: r for r in load_rules()}
    rule = rule[:40] if rule[:40] in report.rules else ""
    counts = dict.fromkeys(report.rules, 0)
    for f in report.findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    findings: list = []
    if rule:
        findings = [f for f in report.findings if f.rule == rule]
    elif org:
        units = org_units(store, org[:200])
        owned = store.get_entities(sorted({f.ref for f in report.findings}))
        findings = [f for f in report.findings if f.ref in units or (f.ref in owned and owned[f.ref].owner in units)]
    shown = paginate(findings, settings_window(settings, limit, offset))
    scores = sorted(report.completeness.values(), key=lambda s: (s.score, s.org))
    score_page = paginate(scores, settings_window(settings, limit, orgs_offset), param="orgs_offset")
    return render(
        request,
        "compliance.html",
        report=report,
        counts=counts,
        scores=score_page,
        orgs=store.get_entities(sorted({s.org for s in score_page.items})),
        org=org[:200] if not rule else "",
        rule=rule,
        focus=store.find_entity(org[:200]) if org and not rule else None,
        findings=shown,
        rules=rules,
        rule_titles={c: re.sub(r"\{[^{}]*\}", "…", r.message.get(lang_of(request))) for c, r in rules.items()},
        names=store.get_entities(sorted({f.ref for f in shown.items})),
        valid_on=day.isoformat() if day is not None else "",
        recorded_at=recorded.isoformat() if recorded is not None else "",
    )


@router.get("/my-org")
@web
def my_org(request: Request, org: str = "", offset: str = "", limit: str = "") -> Response:
    """One organisation's assets (its units' too), by kind, a page at a time, with their compliance warnings."""
    from catalog.paging import paginate, settings_window

    p = _who(request)
    store, lang = _store(request), lang_of(request)
    org = org[:200] or (p.org or "")
    orgs = _sorted(store.list_entities(EntityFilter(kind="organization", limit=100_000)), lang)
    if not org:
        return render(request, "my_org.html", org=None, orgs=orgs, groups=[], counts=[], warnings={}, items=None)
    focus = store.get_entity(org)
    units = org_units(store, org)
    owned = [e for u in sorted(units) for e in store.list_entities(EntityFilter(owner=u, limit=100_000))]
    kinds = [s for s in store.metamodel.kinds.values() if s.owned]
    by_kind = [(spec, _sorted([e for e in owned if e.kind == spec.name], lang)) for spec in kinds]
    items = paginate(
        [e for _spec, es in by_kind for e in es], settings_window(request.app.state.settings, limit, offset)
    )
    shown = {e.ref for e in items.items}
    report = _compliance(store)
    warnings: dict[str, list] = {}
    for f in report.findings:
        if f.ref in shown:
            warnings.setdefault(f.ref, []).append(f)
    groups = [(spec, [e for e in es if e.ref in shown]) for spec, es in by_kind]
    score = report.completeness.get(org)
    return render(
        request,
        "my_org.html",
        org=focus,
        orgs=orgs,
        groups=[(spec, es) for spec, es in groups if es],
        counts=[(spec, len(es)) for spec, es in by_kind],
        items=items,
        warnings=warnings,
        score=score,
        can_register=may(p, "write") and (p.role != "editor" or org in org_units(store, p.org or "")),
    )


# --- auditor: as of a date, downloads, change log ----------------------------------------------------------------


def _view_label(view: Any, lang: str) -> str:
    """A view's name for people: its label (its title for a view registered without one)."""
    label = getattr(view, "label", None)
    return (label.get(lang) if label is not None else "") or view.title.get(lang) or view.name


def _download(data: bytes, media: str, filename: str, request: Request) -> Response:
    return Response(data, media_type=media, headers=file_headers(media, filename))


@router.get("/download/diagram/{view}.{fmt}")
@web
async def download_diagram(
    request: Request,
    view: str,
    fmt: str,
    ref: str = "",
    as_of: str = "",
    inline: int = 0,
    valid_on: str = "",
    recorded_at: str = "",
) -> Response:
    """A diagram file; ``valid_on`` (the day in the world) and ``recorded_at`` (the record instant) are the two
    clocks, ``as_of`` the older parameter that sets both to one day."""
    _who(request)
    from catalog.history.snapshot import parse_instant
    from diagrams import ViewParams

    if fmt not in MEDIA:
        raise ValidationFailed([FieldError("format", msg("ui-diagram-format"))])
    valid = _day(valid_on, "valid_on")
    day = parse_instant(recorded_at[:40], "recorded_at") or _day(as_of, "as_of")
    params = ViewParams(ref=ref[:200] or None, as_of=day, valid_on=valid, lang=lang_of(request))
    day = valid or day  # the file's name says the day in the world
    from dataclasses import replace

    from api.routers.diagrams import served

    detail = "full" if request.query_params.get("detail") == "full" else "auto"  # over the budget: collapsed
    expand = request.query_params.get("expand", "").strip()[:200] or None
    lineage = "full" if request.query_params.get("lineage") == "full" else "city"  # ioc: the whole lineage or not
    data = await served(request, view[:40], replace(params, detail=detail, expand=expand, lineage=lineage), fmt)
    name = f"{view}{'-' + ref.replace(':', '-') if ref else ''}{'-' + str(day)[:10] if day else ''}.{fmt}"
    if inline and fmt == "svg":
        return Response(data, media_type=MEDIA["svg"], headers=file_headers(MEDIA["svg"]))
    return _download(data, MEDIA[fmt], re.sub(r"[^A-Za-z0-9._-]", "_", name), request)


@router.get("/diagram")
@web
def diagram_picker(
    request: Request,
    view: str = "ioc",
    fmt: str = "svg",
    ref: str = "",
    as_of: str = "",
    valid_on: str = "",
    recorded_at: str = "",
) -> Response:
    """The as-of page's "any diagram" form: a GET form cannot put the view in the path, so redirect there."""
    from urllib.parse import urlencode

    from diagrams.registry import registry

    _who(request)
    if view not in registry() or fmt not in MEDIA:
        raise ValidationFailed([FieldError("view", msg("ui-diagram-view", views=list(registry())))])
    pairs = (
        ("ref", ref.strip()[:200]),
        ("as_of", as_of[:10]),
        ("valid_on", valid_on[:10]),
        ("recorded_at", recorded_at.strip()[:40]),
        ("lang", lang_of(request)),
    )
    query = {k: v for k, v in pairs if v}
    return RedirectResponse(f"/download/diagram/{view}.{fmt}?{urlencode(query)}", status_code=303)


@router.get("/download/inventory.xlsx")
@web
async def download_inventory(request: Request, as_of: str = "", valid_on: str = "", recorded_at: str = "") -> Response:
    _who(request, "export")
    from catalog.history.snapshot import load_snapshot, parse_instant
    from diagrams.inventory import inventory_xlsx

    store = _store(request)
    record = parse_instant(recorded_at[:40], "recorded_at") or _day(as_of, "as_of")
    day = _day(valid_on, "valid_on") or _day(as_of, "as_of") or dt.date.today()

    def build() -> bytes:
        snap = load_snapshot(store, record, day)
        return inventory_xlsx(list(snap.entities.values()), store.metamodel, day)

    data = await run_in_threadpool(build)
    return _download(
        data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"inventory-{day}.xlsx", request
    )


@router.get("/download/compliance.{fmt}")
@web
async def download_compliance(
    request: Request, fmt: str, as_of: str = "", valid_on: str = "", recorded_at: str = ""
) -> Response:
    _who(request, "export")
    store = _store(request)
    day = _day(recorded_at[:10], "recorded_at") or _day(as_of, "as_of")
    valid = _day(valid_on, "valid_on")
    report = await run_in_threadpool(_compliance, store, day, valid)
    stamp = (valid or day or report.today).isoformat()
    if fmt == "json":
        body = json.dumps(report.to_json(), ensure_ascii=False, indent=1)
        return _download(body.encode(), "application/json", f"compliance-{stamp}.json", request)
    if fmt == "csv":
        return _download(report.to_csv(), "text/csv", f"compliance-{stamp}.csv", request)
    raise ValidationFailed([FieldError("format", msg("ui-compliance-format"))])


@router.get("/download/bundle.zip")
@web
async def download_bundle(request: Request, as_of: str = "", valid_on: str = "") -> Response:
    """The audit bundle for a day (``valid_on``, or the older ``as_of``); with ``from``, for the period from that
    day (the diff between the two is part of it)."""
    _who(request, "export")
    from diagrams.bundle import build_bundle

    store, lang = _store(request), lang_of(request)
    day = _day(valid_on, "valid_on") or _day(as_of, "as_of") or dt.date.today()
    start = _day(request.query_params.get("from", "")[:40], "from")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        await run_in_threadpool(lambda: build_bundle(store, day, path, lang, from_day=start))
        data = path.read_bytes()
    return _download(data, "application/zip", f"audit-bundle-{start or ''}{'-' if start else ''}{day}.zip", request)


def _change_items(store: Any, entries: list, lang: str) -> dict[int, dict[str, str]]:
    """What each change-log entry changed, as people read it (:func:`catalog.history.changes.items`)."""
    from catalog.history.changes import items

    return items(store, entries, lang)
