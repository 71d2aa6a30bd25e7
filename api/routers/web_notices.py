"""The notices pages: ``/notices`` (a user's notices, newest first, each in the page's language; mark read), the
watch button of the entity page (``POST /entities/{ref}/watch``) and ``/admin/webhooks`` (admins: subscriptions,
create / disable / delete, the delivery log with every attempt, a redelivery of a given-up event).

:func:`unread_count` is the bell's number in the header (base.html reads it through ``app.state.unread_notices``):
it catches the notices up with the change log first (bounded, :func:`catalog.notices.catch_up`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _form, _store, _who, web
from api.web.context import finish, lang_of, render
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.model import REF_RE
from catalog.notices import Notices
from catalog.outbox import EVENT_TYPES
from catalog.permissions import Principal
from catalog.webhooks import OUTCOMES, Policy, Webhooks

router = APIRouter(include_in_schema=False)

# labels of the event types (webhook filters) and of the delivery outcomes
EVENT_LABELS = {
    "entity.created": msg("ui-event-entity-created"),
    "entity.updated": msg("ui-event-entity-updated"),
    "entity.deleted": msg("ui-event-entity-deleted"),
    "relationship.created": msg("ui-event-relationship-created"),
    "relationship.updated": msg("ui-event-relationship-updated"),
    "relationship.deleted": msg("ui-event-relationship-deleted"),
    "organization_event.recorded": msg("ui-event-organization-event-recorded"),
    "draft.submitted": msg("ui-event-draft-submitted"),
    "draft.approved": msg("ui-event-draft-approved"),
    "draft.rejected": msg("ui-event-draft-rejected"),
    "campaign.opened": msg("ui-event-campaign-opened"),
    "campaign.reminded": msg("ui-event-campaign-reminded"),
    "campaign.closed": msg("ui-event-campaign-closed"),
}
assert set(EVENT_LABELS) == set(EVENT_TYPES)
OUTCOME_LABELS = {
    "delivered": msg("ui-delivery-delivered"),
    "retry": msg("ui-delivery-retry"),
    "given-up": msg("ui-delivery-given-up"),
    "manual": msg("ui-delivery-manual"),
}
assert set(OUTCOME_LABELS) == set(OUTCOMES)


PAGE_CATCH_UP = 200  # change-log entries a page reads at most to catch the notices up (the worker reads more)


def _notices(request: Request, p: Principal, catch: bool = True) -> Notices:
    s = request.app.state.settings
    return Notices(_store(request), p, batch=min(s.notify_batch, PAGE_CATCH_UP), keep=s.notices_keep, catch=catch)


def unread_count(request: Request, user: Principal | None) -> int:
    """The bell's number: the signed-in user's unread notices (0 for visitors), never an error on a page."""
    if user is None or user.name == "anonymous":
        return 0
    try:
        return _notices(request, user).unread()
    except Exception:  # the header never breaks a page; the notices page itself shows the error
        return 0


@router.get("/notices")
@web
def notices_page(request: Request) -> Response:
    p = _who(request)
    n = _notices(request, p)
    items = n.list(200)
    return render(request, "notices.html", items=items, unread=sum(1 for x in items if not x.read))


@router.post("/notices/read")
@web
async def notices_read(request: Request) -> Response:
    form = await _form(request)
    p = _who(request)
    n = _notices(request, p, catch=False)
    raw = str(form.get("id", "")).strip()
    if raw and (not raw.isdigit() or len(raw) > 15):
        raise ValidationFailed([FieldError("id", msg("ui-whole-number"))])
    await run_in_threadpool(n.mark_read, [int(raw)] if raw else None)
    return finish(request, RedirectResponse(f"/notices?lang={lang_of(request)}", status_code=303))


@router.post("/entities/{ref}/watch")
@web
async def watch(request: Request, ref: str) -> Response:
    form = await _form(request)
    p = _who(request)
    n = _notices(request, p, catch=False)
    if not REF_RE.match(ref):
        raise ValidationFailed([FieldError("ref", msg("ref-malformed", ref=ref[:200]))])
    if form.get("action") == "unwatch":
        await run_in_threadpool(n.unwatch, ref)
    else:
        await run_in_threadpool(n.watch, ref)
    return finish(request, RedirectResponse(f"/entities/{ref}?lang={lang_of(request)}", status_code=303))


def watching(request: Request, user: Principal | None, ref: str) -> bool | None:
    """Whether the user watches ``ref`` (None for visitors: no button)."""
    if user is None or user.name == "anonymous":
        return None
    return _notices(request, user, catch=False).watching(ref)


# --- webhooks (admins) ------------------------------------------------------------------------------------------


def _hooks_page(request: Request, hooks: Webhooks, status: int = 200, **values: Any) -> Response:
    lang = lang_of(request)
    subs = hooks.list()
    log = hooks.deliveries(None, 200)
    return render(
        request,
        "webhooks.html",
        status=status,
        subs=subs,
        log=log,
        urls={s.id: s.url for s in subs},
        event_options=[(t, EVENT_LABELS[t].text(lang)) for t in EVENT_TYPES],
        kind_options=[(k, spec.label.get(lang)) for k, spec in sorted(_store(request).metamodel.kinds.items())],
        event_label=lambda t: EVENT_LABELS[t].text(lang) if t in EVENT_LABELS else t,
        outcome_label=lambda o: OUTCOME_LABELS[o].text(lang) if o in OUTCOME_LABELS else o,
        **values,
    )


@router.get("/admin/webhooks")
@web
def webhooks_page(request: Request) -> Response:
    p = _who(request, "admin")
    return _hooks_page(request, Webhooks(_store(request), p))


@router.post("/admin/webhooks")
@web
async def webhooks_create(request: Request) -> Response:
    form = await _form(request)
    p = _who(request, "admin")
    hooks = Webhooks(_store(request), p)
    events = [str(v)[:100] for v in form.getlist("events")][:50]
    kinds = [str(v)[:100] for v in form.getlist("kinds")][:50]
    orgs = [x.strip() for x in str(form.get("orgs", ""))[:5000].split(",") if x.strip()][:50]
    try:
        sub, secret = await run_in_threadpool(
            hooks.create,
            str(form.get("url", "")).strip()[:3000],
            events,
            kinds,
            orgs,
            str(form.get("description", ""))[:600],
        )
    except ValidationFailed as exc:
        return _hooks_page(request, hooks, 422, errors=exc.errors, form=form)
    return _hooks_page(request, hooks, created=sub, secret=secret)


@router.post("/admin/webhooks/{hook_id}")
@web
async def webhooks_change(request: Request, hook_id: str) -> Response:
    form = await _form(request)
    p = _who(request, "admin")
    hooks = Webhooks(_store(request), p)
    sub = hooks.get(hook_id[:40])
    action = form.get("action")
    if action in ("enable", "disable"):
        await run_in_threadpool(lambda: hooks.update(sub.id, sub.version, active=action == "enable"))
    elif action == "delete":
        await run_in_threadpool(hooks.delete, sub.id, sub.version)
    elif action == "redeliver":
        raw = str(form.get("event", "")).strip()
        if not raw.isdigit() or len(raw) > 15:
            raise ValidationFailed([FieldError("event", msg("ui-whole-number"))])
        timeout = Policy.from_settings(request.app.state.settings).timeout
        await run_in_threadpool(lambda: hooks.redeliver(sub.id, int(raw), timeout=timeout))
    else:
        raise ValidationFailed([FieldError("action", msg("ui-webhook-action"))])
    return finish(request, RedirectResponse(f"/admin/webhooks?lang={lang_of(request)}", status_code=303))
