"""Inventory campaigns over HTTP (:mod:`catalog.campaigns`; docs/api.md, "Inventory campaigns").

- ``GET /campaigns``: every campaign, newest first;
- ``GET /campaigns/{campaign_id}``: the campaign with its dashboard per organisation (a closed one: the frozen
  result's);
- ``GET /campaigns/{campaign_id}/tasks``: the caller's entries (a department editor: their organisation's; architects
  and admins: all), each with its state and the questions still empty;
- ``POST /campaigns/{campaign_id}/confirm``: confirm entries (``last_reviewed`` today), optionally with one answer for
  all of them, or retire them: one change set through catalog.changeset.submit (201 applied, 202 a draft).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, WRITE_ERRORS, WhoFirst, needs
from catalog import campaigns
from catalog.permissions import require

router = APIRouter(route_class=WhoFirst)
CampaignId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$", examples=["kiem-ke-ttdl-2026"])


def _summary(c: campaigns.Campaign) -> dict[str, Any]:
    d = c.as_dict()
    d.pop("result", None)
    return d


@router.get("/campaigns", tags=["campaigns"], summary="Inventory campaigns, newest first", responses=READ_ERRORS)
def list_campaigns(store: StoreDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, "read")
    return {"items": [_summary(c) for c in campaigns.list_campaigns(store)]}


@router.get(
    "/campaigns/{campaign_id}",
    tags=["campaigns"],
    summary="A campaign and its dashboard per organisation (a closed one: its frozen result)",
    responses=READ_ERRORS,
)
def get_campaign(store: StoreDep, principal: PrincipalDep, campaign_id: str = CampaignId) -> dict[str, Any]:
    require(principal, "read")
    camp = campaigns.get(store, campaign_id)
    rows = camp.result["dashboard"] if camp.result else [r.as_dict() for r in campaigns.dashboard(store, camp)]
    out = {**_summary(camp), "dashboard": rows}
    if camp.result is not None:
        out["result"] = {k: v for k, v in camp.result.items() if k != "dashboard"}
    return out


@router.get(
    "/campaigns/{campaign_id}/tasks",
    tags=["campaigns"],
    summary="My entries in a campaign: state and what is still missing",
    responses=READ_ERRORS,
)
def get_tasks(store: StoreDep, principal: PrincipalDep, campaign_id: str = CampaignId) -> dict[str, Any]:
    require(principal, "read")
    camp = campaigns.get(store, campaign_id)
    owners = campaigns.editor_orgs(store, principal)
    items = [
        {
            "ref": t.entity.ref,
            "name": {"vi": t.entity.name.vi, "en": t.entity.name.en},
            "version": t.entity.version,
            "org": t.org,
            "status": t.status,
            "missing": list(t.missing),
            "overdue": t.overdue,
        }
        for t in (campaigns.tasks(store, camp, owners) if owners != set() else [])
    ]
    return {"campaign": camp.id, "items": items}


class ConfirmIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"refs": ["system:hcm-cong-1022"], "values": {"decision": "keep", "decision_legal_basis": "QĐ 1/2026"}}
            ]
        },
    )
    action: Literal["confirm", "retire"] = "confirm"
    refs: list[str] = Field(min_length=1, max_length=campaigns.MAX_REFS, description="Entities (kind:code)")
    values: dict[str, Any] | None = Field(None, description="One answer for every entity (confirm only)")


@router.post(
    "/campaigns/{campaign_id}/confirm",
    tags=["campaigns"],
    summary="Confirm (or retire) my entries: one change set, applied (201) or a draft (202) as the policy says",
    status_code=201,
    responses={**WRITE_ERRORS, 202: {"description": "Submitted as a draft for review"}},
    **needs("write"),
)
def confirm(body: ConfirmIn, store: StoreDep, principal: PrincipalDep, campaign_id: str = CampaignId) -> JSONResponse:
    if body.action == "retire":
        outcome = campaigns.retire(store, principal, campaign_id, body.refs)
    else:
        outcome = campaigns.confirm(store, principal, campaign_id, body.refs, body.values)
    if outcome.draft is not None:
        return JSONResponse({"draft": outcome.draft.id, "applied": 0}, status_code=202)
    return JSONResponse({"draft": None, "applied": len(outcome.applied or [])}, status_code=201)
