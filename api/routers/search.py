"""Search by name under /api/v1: ``GET /search?q=&kind=&limit=``, the suggestions every picker of the web UI shows.

The ranking and the description of each hit are the catalog's (:mod:`catalog.search`): the store's
diacritics-insensitive index finds the candidates; exact and prefix matches come first, then the caller's own
province or city (for callers without an organisation, the ``search_home`` setting's), then current (not merged,
dissolved, ended or retired) entities. Names and labels come in both languages (``{"vi": ..., "en": ...}``), or in
one with ``lang=vi|en``. Reading needs the read permission.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from catalog.permissions import require
from catalog.search import MATCHES, MAX_QUERY, parse_kinds, suggest

router = APIRouter(tags=["entities"])
MAX_HITS = 50  # one answer's most hits (a picker shows 15)

Text = dict[str, str] | str  # both languages, or the one asked for with lang=


class HitOut(BaseModel):
    ref: str
    kind: str
    kind_label: Text
    name: Text
    owner: str | None
    owner_name: Text | None
    province: str | None
    province_name: Text | None
    former_province: str | None
    former_province_name: Text | None
    lifecycle: str | None
    lifecycle_label: Text | None
    current: bool
    successor: str | None
    successor_name: Text | None
    match: Literal[MATCHES]  # type: ignore[valid-type]


class SearchOut(BaseModel):
    q: str
    total: int
    limit: int
    offset: int
    items: list[HitOut]


@router.get(
    "/search",
    summary="Find entities by name, code or description, with or without diacritics, ranked for the caller; "
    "each hit with its kind, owner, province or city, lifecycle and whether it is current",
    response_model=SearchOut,
    responses=READ_ERRORS,
)
def search(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    q: str = Query(..., min_length=1, max_length=MAX_QUERY, examples=["so thong tin", "dan cu"]),
    kind: str | None = Query(
        None, max_length=200, description="Only these kinds, comma-separated", examples=["system,database"]
    ),
    limit: int = Query(15, ge=1, le=MAX_HITS),
    lang: Literal["vi", "en"] | None = Query(None, description="Names and labels in this language only"),
) -> Any:
    require(principal, "read")
    home = getattr(request.app.state.settings, "search_home", None)  # for callers without an organisation
    hits = suggest(store, q, parse_kinds(store, kind), limit, principal, home=home)
    return {"q": q, "total": len(hits), "limit": limit, "offset": 0, "items": [h.to_json(lang) for h in hits]}


__all__ = ["router"]
