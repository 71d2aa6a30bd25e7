"""Revert in the web UI (see :mod:`catalog.revert`): the "Revert" action of the change log (``/changes``), an entity's
history and the approved drafts opens a confirmation page that lists what will be undone (items by their labels,
each field now -> after the revert) and needs a click, with an optional reason; the outcome page shows the revert's
record and the entries it wrote.

- ``GET /revert?seq=N | run=ID | draft=ID``: the confirmation page (409 with the reason when a later change is in
  the way: the page names the blocking entry and offers no button).
- ``POST /revert`` (form: the target, ``reason``, ``csrf``): reverts, then 303 to ``/revert/{request id}``.
- ``GET /revert/{request_id}``: what a revert undid, by whom and why, and the entries it wrote (the change log's
  "revert" cause links here).

Reverting needs the ``approve`` permission (architects, admins); reading a revert's page the ``history`` one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _form, _store, _who, web
from api.web.context import finish, lang_of, render
from catalog import revert as rv
from catalog.errors import NotFound
from catalog.history.changes import describe
from catalog.i18n import msg

router = APIRouter(include_in_schema=False)


def _target(values: Any) -> rv.Target:
    return rv.target(*(str(values.get(k, "") or "")[:200] or None for k in rv.TARGETS))


def _confirm(request: Request, t: rv.Target, reason: str = "") -> Response:
    """The confirmation page for ``t``: what will be undone, or why it cannot be (409)."""
    p = _who(request, "approve")
    store, lang = _store(request), lang_of(request)
    try:
        plan = rv.plan(store, p, t)
    except rv.RevertRefused as exc:
        return render(
            request,
            "revert.html",
            status=409,
            target=t,
            plan=None,
            rows=[],
            refused=exc.text(lang),
            blocking=exc.blocking,
        )
    rows = describe(store, [u.as_entry() for u in plan.undo], lang)
    return render(
        request,
        "revert.html",
        target=t,
        plan=plan,
        rows=list(zip(plan.undo, rows, strict=True)),
        refused=None,
        reason=reason,
    )


@router.get("/revert")
@web
def revert_page(request: Request) -> Response:
    """Confirm a revert: what will be undone, each item's fields now and after."""
    _who(request, "approve")
    return _confirm(request, _target(request.query_params))


@router.post("/revert")
@web
async def revert_do(request: Request) -> Response:
    p = _who(request, "approve")
    data = await _form(request)
    t = _target(data)
    reason = str(data.get("reason", ""))[:2000]
    try:
        done = await run_in_threadpool(rv.revert, _store(request), p, t, reason)
    except rv.RevertRefused:
        return await run_in_threadpool(_confirm, request, t, reason)  # the page says what is in the way now
    return finish(request, RedirectResponse(f"/revert/{done.request_id}?lang={lang_of(request)}", status_code=303))


@router.get("/revert/{request_id}")
@web
def revert_done(request: Request, request_id: str) -> Response:
    """A revert that was written: what it undid, who and why, and the entries it wrote."""
    _who(request, "history")
    store, lang = _store(request), lang_of(request)
    record = rv.get(store, request_id[:200])
    if record is None:
        raise NotFound(msg("revert-not-found", id=request_id[:200]))
    from catalog.history.changes import revert_cause

    written = store.changelog(request_id=request_id[:200], limit=rv.MAX_ENTRIES + 2)
    return render(
        request,
        "revert_done.html",
        record=record,
        cause=revert_cause(record).text(lang),
        rows=describe(store, written, lang),
        request_id=request_id[:200],
    )
