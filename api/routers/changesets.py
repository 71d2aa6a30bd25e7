"""Change sets over HTTP: several changes (an entity with its connections) submitted as one, through
:func:`catalog.changeset.submit`; the approval policy (:mod:`catalog.policy`) applies them at once (200, what each
change left) or makes them one draft (202, the draft with the policy's reasons). The policy in force is readable
at ``GET /policy``. Errors name the change: ``changes.<i>.<field>``."""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, WRITE_ERRORS, WhoFirst, needs
from api.routers.drafts import DraftOut
from catalog.changeset import MAX_CHANGES, parse_changes, submit

router = APIRouter(tags=["changesets"], route_class=WhoFirst)


class ChangeSetIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "note": "Đăng ký hệ thống mới",
                    "changes": [
                        {
                            "op": "create",
                            "ref": "system:hcm-skhcn-new",
                            "data": {
                                "kind": "system",
                                "code": "hcm-skhcn-new",
                                "name": {"vi": "Hệ thống mới"},
                                "owner": "organization:hcm-skhcn",
                                "attributes": {"lifecycle": "building"},
                            },
                        },
                        {
                            "op": "link",
                            "data": {
                                "source": "system:hcm-skhcn-new",
                                "type": "feeds",
                                "target": "platform:hcm-ioc",
                                "properties": {"via": "platform:hcm-lgsp", "frequency": "daily"},
                            },
                        },
                    ],
                }
            ]
        },
    )
    changes: list[dict[str, Any]] = Field(
        max_length=MAX_CHANGES,
        description="Changes {op, ref, data, base_version} (catalog.changeset): create, update, patch, retire, "
        "delete, link, relink, unlink",
    )
    note: str = Field("", max_length=2000, description="Kept with the draft when the policy asks for review")


class Applied(BaseModel):
    status: Literal["applied"]
    results: list[dict[str, Any] | None] = Field(description="What each change left (null: deleted or unlinked)")


class Drafted(BaseModel):
    status: Literal["draft"]
    draft: DraftOut
    reasons: list[dict[str, str]] = Field(description="Why the policy asks for review: {vi, en} each")


@router.post(
    "/changesets",
    summary="Submit a change set: applied at once (200) or one draft for review (202), as the approval policy says",
    response_model=Applied,
    responses={**WRITE_ERRORS, 202: {"model": Drafted, "description": "One draft holding the whole change set"}},
    **needs("write"),
)
async def post_changeset(request: Request, body: ChangeSetIn, store: StoreDep, principal: PrincipalDep) -> Any:
    changes = parse_changes(body.changes)
    header = request.headers.get("x-request-id", "")
    rid = header if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", header) else None
    out = await run_in_threadpool(submit, store, principal, changes, body.note, None, store.clock().date(), rid)
    if out.draft is None:
        results = [None if x is None else x.model_dump(mode="json") for x in out.applied or []]
        return {"status": "applied", "results": results}
    reasons = [{"vi": r.text("vi"), "en": r.text("en")} for r in out.reasons]
    return JSONResponse(
        {"status": "draft", "draft": out.draft.as_dict(), "reasons": reasons},
        status_code=202,
        headers={"Location": f"/api/v1/drafts/{out.draft.id}", "ETag": f'"{out.draft.version}"'},
    )


class PolicyOut(BaseModel):
    source: str
    default: str
    groups: dict[str, Any]
    rules: list[dict[str, Any]]


@router.get(
    "/policy",
    summary="The approval policy in force: which changes by which roles become drafts (rules in order, groups)",
    response_model=PolicyOut,
    responses=READ_ERRORS,
)
def get_policy(store: StoreDep, principal: PrincipalDep) -> dict[str, Any]:
    from catalog.permissions import require
    from catalog.policy import policy_in_force

    require(principal, "read")
    return policy_in_force(store.metamodel).as_dict()
