"""Revert over HTTP (see :mod:`catalog.revert`): ``POST /api/v1/revert`` undoes one change-log entry, one import run
or one approved draft as a new logged change (architects and admins: the ``approve`` permission, checked first).

200 with what was reverted and the entries the revert wrote; 409 (problem+json, code ``revert-refused``) when a
later change depends on what it would undo, with ``blocking``: the entries in the way (seq, time, actor, ref).
``dry_run`` answers what a revert would do and writes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api import messages
from api.auth import PrincipalDep, StoreDep
from api.problems import PROBLEM, EchoSafeJSON, request_lang
from api.routers.common import WRITE_ERRORS, WhoFirst, needs
from catalog import revert as rv

router = APIRouter(tags=["revert"], route_class=WhoFirst)


class RevertIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"seq": 1234, "reason": "Nhập nhầm nhà cung cấp"},
                {"run": "20261206T101500Z-1a2b3c4d"},
                {"draft": "0123456789ab", "reason": "Duyệt nhầm"},
            ]
        },
    )
    seq: int | None = Field(
        None, ge=1, le=2**53, description="One change-log entry (an entity's delete: with its cascade)"
    )
    run: str | None = Field(None, max_length=200, description="One whole import run (its id)")
    draft: str | None = Field(None, max_length=64, description="One approved draft (its id)")
    reason: str = Field("", max_length=2000, description="Why (kept with the revert, shown in the change log)")
    dry_run: bool = Field(False, description="Say what the revert would do; write nothing")


class RevertChange(BaseModel):
    ref: str
    op: str = Field(description="What the revert writes: create (restore), update (change back), delete (remove)")
    reverts: list[int] = Field(description="The reverted entries about this item")


class RevertOut(BaseModel):
    target: dict[str, Any] = Field(description="{seq}, {run} or {draft}, as asked")
    request_id: str = Field(description="The reverted change's request id (the entry's, the run's, the approval's)")
    entries: list[int] = Field(description="The entries reverted")
    skipped: list[int] = Field(description="Entries about records (drafts, import runs), left as they are")
    changes: list[RevertChange]
    revert_request_id: str | None = Field(None, description="The revert's own request id (its record's key)")
    written: list[int] = Field(default_factory=list, description="The entries the revert wrote (its record's last)")
    actor: str | None = None
    reason: str = ""
    dry_run: bool = False


REVERT_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    409: {
        "description": "Refused: a later change depends on what the revert would undo (``blocking`` names the "
        "entries in the way), or the target cannot be reverted (records, organisation events)",
        "content": {PROBLEM: {"schema": {"type": "object"}}},
    },
}


@router.post(
    "/revert",
    summary="Revert one change-log entry, import run or approved draft, as a new logged change",
    response_model=RevertOut,
    responses=REVERT_ERRORS,
    **needs("approve"),
)
async def revert(body: RevertIn, request: Request, store: StoreDep, principal: PrincipalDep) -> Response:
    t = rv.target(body.seq, body.run, body.draft)
    try:
        if body.dry_run:
            plan = await run_in_threadpool(rv.plan, store, principal, t)
            out: dict[str, Any] = {**plan.summary(), "dry_run": True}
        else:
            done = await run_in_threadpool(rv.revert, store, principal, t, body.reason)
            d = done.as_dict()
            out = {**d, "request_id": done.plan.request_id, "revert_request_id": done.request_id, "dry_run": False}
    except rv.RevertRefused as exc:
        lang = request_lang(request)
        problem = {
            "type": "https://ioc-catalog.example/problems/revert-refused",
            "title": messages.title("integrity", lang),
            "status": 409,
            "detail": exc.text(lang),
            "code": "revert-refused",
            "instance": request.url.path,
            "blocking": exc.blocking,
        }
        return EchoSafeJSON(problem, status_code=409, media_type=PROBLEM)
    return EchoSafeJSON(RevertOut.model_validate(out).model_dump(mode="json"))
