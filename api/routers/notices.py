"""Notices, watches, change events and webhooks over HTTP (:mod:`catalog.notices`, :mod:`catalog.outbox`,
:mod:`catalog.webhooks`); docs/api.md, "Notices and webhooks".

- ``GET /notices`` (anyone signed in: their own; caught up with the change log first), ``POST /notices/read``;
- ``POST /watches`` (``{"ref": ...}``) / ``DELETE /watches/{ref}``: watch an entity or stop;
- ``GET /change-events?after=`` (the history permission): the outbox for consumers that poll instead of receiving;
- ``/webhooks`` (admins only): subscriptions, their delivery log, a redelivery by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, SIGNED_IN, WRITE_ERRORS, IfMatch, WhoFirst, needs, tagged
from api.schemas import ENTITY_REF
from catalog.notices import Notices
from catalog.outbox import events_after
from catalog.permissions import require
from catalog.webhooks import Policy, Webhooks

router = APIRouter(route_class=WhoFirst)
HookId = Path(pattern=r"^[0-9a-f]{12}$", examples=["0123456789ab"])
EntityRef = Path(pattern=ENTITY_REF, max_length=200, examples=["system:hcm-cong-1022"])


def _notices(request: Request, store: StoreDep, principal: PrincipalDep) -> Notices:
    settings = request.app.state.settings
    return Notices(store, principal, batch=settings.notify_batch, keep=settings.notices_keep)


NoticesDep = Annotated[Notices, Depends(_notices)]


def _hooks(store: StoreDep, principal: PrincipalDep) -> Webhooks:
    require(principal, "admin")
    return Webhooks(store, principal)


HooksDep = Annotated[Webhooks, Depends(_hooks)]


class NoticeOut(BaseModel):
    id: int = Field(description="The change event's id (change-log seq)")
    type: str
    ref: str
    name: dict[str, str] = Field(description="The entity's name (vi, en) when the notice was written")
    actor: str
    time: str
    draft: str | None
    reason: str
    read: bool
    fields: list[dict[str, str]] = Field(default_factory=list, description="Labels (vi, en) of the fields changed")
    text: str = Field(description="The notice in the language asked (lang)")


class NoticeList(BaseModel):
    unread: int
    items: list[NoticeOut]


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": [1203]}, {}]})
    ids: list[int] | None = Field(None, max_length=1000, description="Event ids to mark read (none: all)")


@router.get(
    "/notices", tags=["notices"], summary="My notices, newest first", response_model=NoticeList, responses=READ_ERRORS
)
def list_notices(
    n: NoticesDep,
    unread_only: bool = False,
    limit: int = Query(100, ge=1, le=1000),
    lang: str = Query("vi", pattern="^(vi|en)$"),
) -> dict[str, Any]:
    items = n.list(limit, unread_only)
    return {"unread": n.unread(), "items": [{**x.as_dict(), "text": x.sentence(lang)} for x in items]}


@router.post(
    "/notices/read",
    tags=["notices"],
    summary="Mark my notices read (all, or those named)",
    responses=WRITE_ERRORS,
    **needs(SIGNED_IN),
)
def mark_read(body: ReadIn, n: NoticesDep) -> dict[str, int]:
    return {"marked": n.mark_read(body.ids), "unread": n.unread()}


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ref": "system:hcm-cong-1022"}]})
    ref: str = Field(pattern=ENTITY_REF, max_length=200, description="kind:code")


@router.post(
    "/watches",
    tags=["notices"],
    summary="Watch an entity: be told when it or its connections change",
    status_code=204,
    responses=WRITE_ERRORS,
    **needs(SIGNED_IN),
)
def watch(body: WatchIn, n: NoticesDep) -> Response:
    n.watch(body.ref)
    return Response(status_code=204)


@router.delete(
    "/watches/{ref}",
    tags=["notices"],
    summary="Stop watching an entity",
    status_code=204,
    responses=WRITE_ERRORS,
    **needs(SIGNED_IN),
)
def unwatch(n: NoticesDep, ref: str = EntityRef) -> Response:
    n.unwatch(ref)
    return Response(status_code=204)


@router.get(
    "/change-events",
    tags=["notices"],
    summary="Change events after an event id, oldest first (the outbox webhooks deliver; payload as theirs)",
    responses=READ_ERRORS,
)
def change_events(
    store: StoreDep,
    principal: PrincipalDep,
    after: int = Query(0, ge=0, le=2**53),
    limit: int = Query(500, ge=1, le=5000),
) -> dict[str, Any]:
    require(principal, "history")
    events, last = events_after(store, after, limit)
    return {"after": after, "next": last, "items": [e.payload() for e in events]}


# --- webhooks (admins) ------------------------------------------------------------------------------------------


class HookIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://ioc.example.gov.vn/hooks/catalog", "events": ["entity.*", "draft.approved"]}]
        },
    )
    url: str = Field(max_length=2000, description="http or https; no user name or password in it")
    events: list[str] = Field(
        default_factory=list, max_length=50, description="Types or prefixes (entity.*); none: all"
    )
    kinds: list[str] = Field(default_factory=list, max_length=50)
    orgs: list[str] = Field(default_factory=list, max_length=50, description="Owning organisations (kind:code)")
    description: str = Field("", max_length=500)
    active: bool = True


class HookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})
    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=50)
    kinds: list[str] | None = Field(None, max_length=50)
    orgs: list[str] | None = Field(None, max_length=50)
    description: str | None = Field(None, max_length=500)
    active: bool | None = None


class HookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    kinds: list[str]
    orgs: list[str]
    active: bool
    description: str
    created_by: str
    created_at: str
    version: int
    secret: str | None = Field(None, description="Only in the answer to the creation: keep it, it is never shown again")


class RedeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"event": 1203}]})
    event: int = Field(ge=1, le=2**53, description="The event id (X-IOC-Delivery)")


@router.get("/webhooks", tags=["webhooks"], summary="Webhook subscriptions (admins)", responses=READ_ERRORS)
def list_hooks(h: HooksDep) -> dict[str, Any]:
    return {"items": [s.as_dict() for s in h.list()]}


@router.post(
    "/webhooks",
    tags=["webhooks"],
    summary="Subscribe a URL to change events; the answer carries the secret, once",
    status_code=201,
    response_model=HookOut,
    responses=WRITE_ERRORS,
    **needs("admin"),
)
def create_hook(body: HookIn, h: HooksDep) -> Response:
    sub, secret = h.create(body.url, body.events, body.kinds, body.orgs, body.description, body.active)
    return tagged({**sub.as_dict(), "secret": secret}, sub.version, 201)


@router.get(
    "/webhooks/{hook_id}",
    tags=["webhooks"],
    summary="One subscription (ETag = its version)",
    response_model=HookOut,
    responses=READ_ERRORS,
)
def get_hook(request: Request, h: HooksDep, hook_id: str = HookId) -> Response:
    sub = h.get(hook_id)
    return tagged(sub.as_dict(), sub.version, request=request)


@router.patch(
    "/webhooks/{hook_id}",
    tags=["webhooks"],
    summary="Change a subscription (If-Match): disable, filters, URL",
    response_model=HookOut,
    responses=WRITE_ERRORS,
    **needs("admin"),
)
def update_hook(body: HookPatch, h: HooksDep, version: IfMatch, hook_id: str = HookId) -> Response:
    sub = h.update(hook_id, version, **body.model_dump(exclude_none=True))
    return tagged(sub.as_dict(), sub.version)


@router.delete(
    "/webhooks/{hook_id}",
    tags=["webhooks"],
    summary="Delete a subscription (If-Match)",
    status_code=204,
    responses=WRITE_ERRORS,
    **needs("admin"),
)
def delete_hook(h: HooksDep, version: IfMatch, hook_id: str = HookId) -> Response:
    h.delete(hook_id, version)
    return Response(status_code=204)


@router.get(
    "/webhooks/{hook_id}/deliveries",
    tags=["webhooks"],
    summary="The delivery log of one subscription, newest first",
    responses=READ_ERRORS,
)
def deliveries(
    h: HooksDep,
    hook_id: str = HookId,
    limit: int = Query(200, ge=1, le=1000),
    outcome: str | None = Query(None, pattern="^(delivered|retry|given-up|manual)$"),
) -> dict[str, Any]:
    h.get(hook_id)
    return {"items": [d.as_dict() for d in h.deliveries(hook_id, limit, outcome)]}


@router.post(
    "/webhooks/{hook_id}/redeliver",
    tags=["webhooks"],
    summary="Send one event again, now (after it was given up)",
    responses=WRITE_ERRORS,
    **needs("admin"),
)
def redeliver(request: Request, body: RedeliverIn, h: HooksDep, hook_id: str = HookId) -> dict[str, Any]:
    policy = Policy.from_settings(request.app.state.settings)
    return h.redeliver(hook_id, body.event, timeout=policy.timeout).as_dict()
