"""The change log over HTTP: entries filtered by reference, actor and time range (needs the history permission:
auditors, architects, admins), and its verification. As-of reads of an entity: ``GET /entities/{ref}?as_of=``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from api.routers.entities import instant
from catalog.model import ChangeEntry
from catalog.permissions import require

router = APIRouter(tags=["change log"])


class ChangePage(BaseModel):
    items: list[ChangeEntry]
    next_after_seq: int | None


class Verified(BaseModel):
    ok: bool
    entries: int
    detail: str


@router.get(
    "/changelog",
    summary="Change-log entries (oldest first), filtered by ref, actor, time range; page with after_seq",
    response_model=ChangePage,
    responses=READ_ERRORS,
)
def changelog(
    store: StoreDep,
    principal: PrincipalDep,
    ref: str | None = Query(None, max_length=300, examples=["system:hcm-cong-1022"]),
    actor: str | None = Query(None, max_length=100, examples=["editor-skhcn"]),
    since: str | None = Query(None, max_length=40, examples=["2025-07-01"]),
    until: str | None = Query(None, max_length=40, examples=["2025-12-31T23:59:59Z"]),
    after_seq: int = Query(0, ge=0, le=2**53),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    require(principal, "history")
    since_at = instant(since, "since") if since else None
    entries = store.changelog(
        ref=ref, actor=actor, since=since_at, until=instant(until, "until"), limit=limit, after_seq=after_seq
    )
    return {
        "items": [e.model_dump(mode="json") for e in entries],
        "next_after_seq": entries[-1].seq if len(entries) == limit else None,
    }


@router.get(
    "/changelog/verify",
    summary="Check the hash chain of the whole change log",
    response_model=Verified,
    responses=READ_ERRORS,
)
def verify(store: StoreDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, "history")
    result = store.verify_log()
    return {"ok": bool(result.ok), "entries": result.checked, "detail": str(result)}
