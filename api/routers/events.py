"""Organisation events (merge, absorb, split, dissolve, transfer, ...): list them, apply one (architect, admin; the
event permission is checked before anything else, :class:`api.routers.common.WhoFirst`; the event is checked whole
before anything is written, :mod:`catalog.orgs`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, WRITE_ERRORS, ServiceDep, WhoFirst, needs
from catalog.model import OrgEvent
from catalog.permissions import require

router = APIRouter(tags=["organisation events"], route_class=WhoFirst)

EXAMPLE = {
    "id": "hcm-2025-07-stc-into-skhcn",
    "type": "merge",
    "date": "2025-07-01",
    "legal_basis": "Quyết định ... của UBND TP.HCM",
    "from": ["organization:hcm-stc"],
    "to": ["organization:hcm-skhcn"],
}


class EventList(BaseModel):
    items: list[OrgEvent]


class Applied(BaseModel):
    event: OrgEvent
    changed: list[str]


@router.get(
    "/events",
    summary="Organisation events, by date (optionally those naming one organisation)",
    response_model=EventList,
    responses=READ_ERRORS,
)
def list_events(
    store: StoreDep,
    principal: PrincipalDep,
    org: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
) -> dict[str, Any]:
    require(principal, "read")
    return {"items": [ev.model_dump(mode="json", by_alias=True) for ev in store.list_events(org)]}


@router.post(
    "/events",
    summary="Apply an organisation event on its effective date (moves ownership; one transaction)",
    status_code=201,
    response_model=Applied,
    responses=WRITE_ERRORS,
    **needs("event"),
)
def apply_event(svc: ServiceDep, body: OrgEvent = Body(..., examples=[EXAMPLE])) -> JSONResponse:
    # version and provenance are the store's bookkeeping, never the client's
    ev, changed = svc.apply_event(body.model_copy(update={"version": 0, "provenance": None}))
    return JSONResponse({"event": ev.model_dump(mode="json", by_alias=True), "changed": changed}, status_code=201)
