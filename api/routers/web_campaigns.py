"""Inventory campaigns in the web UI (catalog.campaigns; docs/web.md "Inventory campaigns").

- ``GET /campaigns``: every campaign; admins and architects open one here (``POST /campaigns``).
- ``GET /campaigns/{campaign_id}``: a department editor's task list (their entities in scope, what each one is
  missing, tick boxes to confirm or retire several at once with the same answers, their spreadsheet); for admins,
  architects and auditors the dashboard per organisation (done, retired, in review, missing, overdue, keep,
  terminate), reminders and closing; a closed campaign shows its frozen result and its files.
- ``POST /campaigns/{campaign_id}/confirm``: ``action=confirm`` (with optional answers) or ``action=retire`` over the
  ticked entities, one change set through catalog.changeset.submit.
- ``POST /campaigns/{campaign_id}/remind``, ``POST /campaigns/{campaign_id}/close``.
- ``GET /campaigns/{campaign_id}/sheet.xlsx``: the department's rows, re-importable at ``/import``;
  ``GET /campaigns/{campaign_id}/result.xlsx`` and ``/bundle.zip``: the closed result and the audit bundle.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _download, _form, _store, _who, web
from api.web.context import describe, finish, lang_of, render
from catalog import campaigns
from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.permissions import Principal
from catalog.text import vi_sort_key

router = APIRouter(include_in_schema=False)


def _orgs(store: Any) -> list[Any]:
    from catalog.store.base import EntityFilter

    return store.list_entities(EntityFilter(kind="organization", limit=100_000))


def _may_run(p: Principal) -> bool:
    return p.role in campaigns.OPENERS


@router.get("/campaigns")
@web
def campaigns_page(request: Request) -> Response:
    p = _who(request, "read")
    store = _store(request)
    return _list(request, p, store)


def _list(request: Request, p: Principal, store: Any, status: int = 200, **values: Any) -> Response:
    lang = lang_of(request)
    orgs = sorted(_orgs(store), key=lambda o: o.name.get(lang) or o.ref) if _may_run(p) else []
    mm = store.metamodel
    kinds = [spec for spec in mm.kinds.values() if spec.owned]
    # the questions that may be asked: every attribute an owned kind declares, once, by its label
    questions: dict[str, str] = {}
    for spec in kinds:
        for a in spec.attributes:
            if not a.kept and a.name not in questions:
                questions[a.name] = a.label.get(lang)
    return render(
        request,
        "campaigns.html",
        status=status,
        items=campaigns.list_campaigns(store),
        may_open=_may_run(p),
        orgs=orgs,
        kind_options=[(spec.name, spec.plural.get(lang)) for spec in kinds],
        question_options=sorted(questions.items(), key=lambda kv: vi_sort_key(kv[1])),
        default_kinds=campaigns.DEFAULT_KINDS,
        default_questions=campaigns.DEFAULT_QUESTIONS,
        **values,
    )


@router.post("/campaigns")
@web
async def campaign_open(request: Request) -> Response:
    p = _who(request, "write")
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    fields = {k: str(data.get(k, ""))[:400] for k in ("id", "name", "deadline")}
    try:
        camp = await run_in_threadpool(
            functools.partial(
                campaigns.open_campaign,
                store,
                p,
                id=fields["id"],
                name=fields["name"],
                deadline=fields["deadline"],
                orgs=[str(o)[:200] for o in data.getlist("orgs")][: campaigns.MAX_ORGS + 1],
                kinds=[str(k)[:64] for k in data.getlist("kinds")][:50] or None,
                questions=[str(q)[:64] for q in data.getlist("questions")][:200] or None,
            )
        )
    except CatalogError as exc:
        return _list(request, p, store, status=exc.status, failure=describe(exc, lang), raw=fields)
    return finish(request, RedirectResponse(f"/campaigns/{camp.id}?lang={lang}", status_code=303))


def _labels(store: Any, camp: campaigns.Campaign, lang: str) -> dict[str, str]:
    mm = store.metamodel
    out = {}
    for q in camp.questions:
        a = next((mm.kinds[k].attribute(q) for k in camp.kinds if k in mm.kinds and mm.kinds[k].attribute(q)), None)
        out[q] = a.label.get(lang) if a is not None else q
    return out


def _question_specs(store: Any, camp: campaigns.Campaign) -> dict[str, Any]:
    mm = store.metamodel
    return {
        q: next((mm.kinds[k].attribute(q) for k in camp.kinds if k in mm.kinds and mm.kinds[k].attribute(q)), None)
        for q in camp.questions
    }


@router.get("/campaigns/{campaign_id}")
@web
def campaign_page(request: Request, campaign_id: str, done: str = "", n: str = "", draft: str = "") -> Response:
    p = _who(request, "read")
    outcome = (
        {"applied": int(n)}
        if done == "applied" and n.isdigit() and len(n) < 7
        else {"draft": draft[:64]}
        if done == "draft" and draft.isalnum()
        else {"reminded": int(n)}
        if done == "reminded" and n.isdigit() and len(n) < 7
        else None
    )
    return _page(request, p, campaign_id, outcome=outcome)


def _page(request: Request, p: Principal, campaign_id: str, status: int = 200, **values: Any) -> Response:
    store, lang = _store(request), lang_of(request)
    camp = campaigns.get(store, campaign_id)
    mine = campaigns.editor_orgs(store, p) if p.role == "editor" else None
    names = {o.ref: o.name.get(lang) for o in store.get_entities(list(camp.orgs)).values()}
    rows = None
    if camp.result is not None:
        rows = [campaigns.OrgRow(**{k: v for k, v in r.items() if k != "finished"}) for r in camp.result["dashboard"]]
    elif p.role != "editor":
        rows = campaigns.dashboard(store, camp)
    task_list = campaigns.tasks(store, camp, mine) if p.role == "editor" and camp.is_open else []
    mm = store.metamodel
    return render(
        request,
        "campaign.html",
        status=status,
        camp=camp,
        rows=rows,
        names=names,
        tasks=task_list,
        is_editor=p.role == "editor",
        may_run=_may_run(p),
        questions=_labels(store, camp, lang),
        specs=_question_specs(store, camp),
        kind_label=lambda k: mm.kinds[k].label.get(lang) if k in mm.kinds else k,
        task_status=lambda s: STATUS[s].text(lang),
        **values,
    )


STATUS = {
    "done": msg("campaign-status-done"),
    "gone": msg("campaign-status-gone"),
    "review": msg("campaign-status-review"),
    "todo": msg("campaign-status-todo"),
}


@router.post("/campaigns/{campaign_id}/confirm")
@web
async def campaign_confirm(request: Request, campaign_id: str) -> Response:
    p = _who(request, "write")
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    refs = [str(r)[:400] for r in data.getlist("ref")][: campaigns.MAX_REFS + 1]
    action = str(data.get("action", ""))
    try:
        camp = campaigns.get(store, campaign_id)
        if not refs:
            raise ValidationFailed([FieldError("ref", msg("campaign-refs-required"))])
        if action == "retire":
            fn = functools.partial(campaigns.retire, store, p, camp.id, refs)
        elif action == "confirm":
            values = {q: str(data.get(f"q-{q}", ""))[:2000].strip() for q in camp.questions}
            values = {q: v for q, v in values.items() if v}  # an answer left empty keeps what is there
            fn = functools.partial(campaigns.confirm, store, p, camp.id, refs, values)
        else:
            raise ValidationFailed([FieldError("action", msg("value-one-of", allowed="confirm, retire"))])
        outcome = await run_in_threadpool(fn)
    except CatalogError as exc:
        return _page(request, p, campaign_id, status=exc.status, failure=describe(exc, lang), picked=set(refs))
    query = {"lang": lang}
    if outcome.draft is not None:
        query |= {"done": "draft", "draft": outcome.draft.id}
    else:
        query |= {"done": "applied", "n": str(len(outcome.applied or []))}
    return finish(request, RedirectResponse(f"/campaigns/{camp.id}?{urlencode(query)}", status_code=303))


@router.post("/campaigns/{campaign_id}/remind")
@web
async def campaign_remind(request: Request, campaign_id: str) -> Response:
    from catalog.settings import get_settings

    p = _who(request, "write")
    await _form(request)
    store, lang = _store(request), lang_of(request)
    try:
        told = await run_in_threadpool(campaigns.remind, store, p, campaign_id, get_settings())
    except CatalogError as exc:
        return _page(request, p, campaign_id, status=exc.status, failure=describe(exc, lang))
    n = len({u for us in told.values() for u in us})
    query = urlencode({"lang": lang, "done": "reminded", "n": str(n)})
    return finish(request, RedirectResponse(f"/campaigns/{campaign_id}?{query}", status_code=303))


@router.post("/campaigns/{campaign_id}/close")
@web
async def campaign_close(request: Request, campaign_id: str) -> Response:
    p = _who(request, "write")
    await _form(request)
    store, lang = _store(request), lang_of(request)
    try:
        await run_in_threadpool(campaigns.close, store, p, campaign_id)
    except CatalogError as exc:
        return _page(request, p, campaign_id, status=exc.status, failure=describe(exc, lang))
    return finish(request, RedirectResponse(f"/campaigns/{campaign_id}?lang={lang}", status_code=303))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/campaigns/{campaign_id}/sheet.xlsx")
@web
async def campaign_sheet(request: Request, campaign_id: str) -> Response:
    """The department's rows (an editor's; an architect's or admin's: every row in scope)."""
    from api.campaign_files import department_workbook

    p = _who(request, "write")
    store = _store(request)
    camp = campaigns.get(store, campaign_id)
    data = await run_in_threadpool(department_workbook, store, camp, campaigns.editor_orgs(store, p))
    return _download(data, XLSX, f"kiem-ke-{camp.id}.xlsx", request)


@router.get("/campaigns/{campaign_id}/result.xlsx")
@web
async def campaign_result(request: Request, campaign_id: str) -> Response:
    from api.campaign_files import result_workbook

    _who(request, "read")
    store = _store(request)
    camp = campaigns.get(store, campaign_id)
    data = await run_in_threadpool(result_workbook, store, camp, lang_of(request))
    return _download(data, XLSX, f"ket-qua-{camp.id}.xlsx", request)


@router.get("/campaigns/{campaign_id}/bundle.zip")
@web
async def campaign_bundle(request: Request, campaign_id: str) -> Response:
    from api.campaign_files import result_bundle

    _who(request, "export")
    store = _store(request)
    camp = campaigns.get(store, campaign_id)
    data = await run_in_threadpool(result_bundle, store, camp, lang_of(request))
    return _download(data, "application/zip", f"ho-so-{camp.id}-{camp.closed}.zip", request)
