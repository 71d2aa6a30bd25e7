"""Draft and approve over HTTP (see :mod:`catalog.drafts`): submit a change for approval, list drafts (``mine=true``:
the caller's own, every status), approve or reject one (architects and admins). A draft of op ``changeset`` holds a
whole change set (``change_set``, submitted by ``POST /changesets`` when the approval policy asks for review, with
the policy's ``reasons``) and is approved or rejected as one; its approval's request id is ``applied_request_id``. A draft's ETag is its record version; approve and reject need If-Match. Writes
check their permission (write; approve) before anything else (:class:`api.routers.common.WhoFirst`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.routers.common import CONDITIONAL_READ, READ_ERRORS, WRITE_ERRORS, IfMatch, WhoFirst, needs, tagged
from api.schemas import ENTITY_REF
from catalog.drafts import Drafts
from catalog.paging import MAX_OFFSET, Window, paginate

router = APIRouter(tags=["drafts"], route_class=WhoFirst)
DraftId = Path(pattern=r"^[0-9a-f]{12}$", examples=["0123456789ab"])


def drafts(store: StoreDep, principal: PrincipalDep) -> Drafts:
    return Drafts(store, principal)


DraftsDep = Annotated[Drafts, Depends(drafts)]


class DraftIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ref": "system:hcm-cong-1022",
                    "op": "patch",
                    "base_version": 1,
                    "changes": {"attributes": {"vendor": "VNPT-IT"}},
                    "note": "Cập nhật đơn vị phát triển",
                }
            ]
        },
    )
    ref: Annotated[str, Field(pattern=ENTITY_REF, max_length=200)]
    op: Literal["patch", "retire"] = "patch"
    changes: dict[str, Any] = Field(default_factory=dict, description="patch: fields as for PATCH; retire: {on}")
    base_version: int = Field(ge=1, le=2**53, description="The entity's version (ETag) the change is based on")
    note: str = Field("", max_length=2000)


class DraftOut(BaseModel):
    id: str
    ref: str
    op: str
    changes: dict[str, Any]
    base_version: int
    submitted_by: str
    submitted_at: str
    note: str
    status: str
    decided_by: str | None
    decided_at: str | None
    reason: str
    applied_version: int | None
    submitter_role: str | None = None
    submitter_org: str | None = None
    change_set: list[dict[str, Any]] | None = Field(None, description="op changeset: the changes, in order")
    reasons: list[dict[str, str]] = Field(default_factory=list, description="Why the policy asked for review")
    attachments: dict[str, Any] | None = None
    applied_request_id: str | None = Field(None, description="The approval's request id (change-log entries)")
    version: int


class DraftList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DraftOut]


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.post(
    "/drafts",
    summary="Submit a change for approval (nothing changes until an architect approves)",
    status_code=201,
    response_model=DraftOut,
    responses=WRITE_ERRORS,
    **needs("write"),
)
def submit(body: DraftIn, d: DraftsDep) -> Response:
    draft = d.submit(body.ref, body.changes, body.base_version, op=body.op, note=body.note)
    return tagged(draft.as_dict(), draft.version, 201)


@router.get(
    "/drafts", summary="Drafts, newest first (default: pending)", response_model=DraftList, responses=READ_ERRORS
)
def list_drafts(
    d: DraftsDep,
    status: Literal["pending", "approved", "rejected", "all"] | None = Query(
        None, description="Default: pending; with mine=true: all"
    ),
    ref: str | None = Query(None, max_length=200),
    mine: bool = Query(False, description="Only the drafts the caller submitted (\"my drafts\")"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    status = status or ("all" if mine else "pending")
    found = d.list(
        None if status == "all" else status,
        ref=ref,
        limit=100_000,
        submitted_by=d.principal.name if mine else None,
    )
    page = paginate(found, Window(limit, offset))
    return page.json([x.as_dict() for x in page.items])


@router.get(
    "/drafts/{draft_id}", summary="One draft (ETag = its version)", response_model=DraftOut, responses=CONDITIONAL_READ
)
def get_draft(request: Request, d: DraftsDep, draft_id: str = DraftId) -> Response:
    draft = d.get(draft_id)
    return tagged(draft.as_dict(), draft.version, request=request)


@router.post(
    "/drafts/{draft_id}/approve",
    summary="Approve: apply the change as the approver (If-Match)",
    response_model=DraftOut,
    responses=WRITE_ERRORS,
    **needs("approve"),
)
def approve(d: DraftsDep, version: IfMatch, draft_id: str = DraftId) -> Response:
    draft = d.approve(draft_id, version)
    return tagged(draft.as_dict(), draft.version)


@router.post(
    "/drafts/{draft_id}/reject",
    summary="Reject with a reason (If-Match)",
    response_model=DraftOut,
    responses=WRITE_ERRORS,
    **needs("approve"),
)
def reject(body: RejectIn, d: DraftsDep, version: IfMatch, draft_id: str = DraftId) -> Response:
    draft = d.reject(draft_id, version, body.reason)
    return tagged(draft.as_dict(), draft.version)
