"""The change log over HTTP: entries filtered by reference, actor and time range (needs the history permission:
auditors, architects, admins), and its verification. As-of reads of an entity: ``GET /entities/{ref}?as_of=``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.problems import request_lang
from api.routers.common import READ_ERRORS
from api.routers.entities import instant
from catalog.model import ChangeEntry
from catalog.permissions import require

router = APIRouter(tags=["change log"])


class FieldValue(BaseModel):
    field: str
    label: str
    before: str
    after: str


class Described(BaseModel):
    item: str
    fields: list[FieldValue]
    causes: list[str]


class ChangePage(BaseModel):
    items: list[ChangeEntry]
    next_after_seq: int | None
    described: dict[int, Described] | None = None


class Verified(BaseModel):
    ok: bool
    entries: int
    detail: str


@router.get(
    "/changelog",
    summary="Change-log entries (oldest first), filtered by ref, actor, time range, operation, kind, organisation; "
    "page with after_seq",
    description="Each entry carries its values before and after and, for a change an approver applied from a "
    "draft, its ``proposer``. ``actor`` matches who made or proposed it once ``op``, ``kind`` or ``org`` is given. "
    "With ``describe=true`` the page also carries, by seq, each entry's changed fields with their labels and values "
    "as text in ``lang`` and what caused it (catalog.history.changes). A filtered page reads at most "
    "50,000 entries: ``next_after_seq`` says where to go on.",
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
    op: Literal["create", "update", "delete"] | None = Query(None),
    kind: str | None = Query(None, max_length=40, pattern=r"^[a-z][a-z_]*$", examples=["system"]),
    org: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
    describe: bool = Query(False),
    lang: Literal["vi", "en"] = Query("vi"),
    after_seq: int = Query(0, ge=0, le=2**53),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    from catalog.history import changes

    require(principal, "history")
    since_at = instant(since, "since") if since else None
    until_at = instant(until, "until")
    if op or kind or org:
        entries, next_after = changes.select_after(
            store,
            changes.ChangeFilter(actor=actor or "", org=org or "", kind=kind or "", op=op or "", ref=ref or ""),
            after_seq,
            limit,
        )
        entries = [e for e in entries if (not since_at or e.time >= since_at) and (not until_at or e.time <= until_at)]
    else:
        entries = store.changelog(
            ref=ref, actor=actor, since=since_at, until=until_at, limit=limit, after_seq=after_seq
        )
        next_after = entries[-1].seq if len(entries) == limit else None
    page: dict[str, Any] = {"items": [e.model_dump(mode="json") for e in entries], "next_after_seq": next_after}
    if describe:
        page["described"] = {
            r.entry.seq: {
                "item": r.item,
                "fields": [{"field": f.key, "label": f.label, "before": f.before, "after": f.after} for f in r.fields],
                "causes": [c.text for c in r.causes],
            }
            for r in changes.describe(store, entries, lang)
        }
    return page


@router.get(
    "/changelog/verify",
    summary="Check the hash chain of the whole change log",
    response_model=Verified,
    responses=READ_ERRORS,
)
def verify(request: Request, store: StoreDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, "history")
    result = store.verify_log()
    return {"ok": bool(result.ok), "entries": result.checked, "detail": result.message().text(request_lang(request))}
