"""Read-only catalog endpoints under /api/v1 (the full read/write API arrives with its own issue)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import StoreDep
from catalog.store.base import EntityFilter

router = APIRouter(tags=["catalog"])


@router.get("/health", summary="Liveness and catalog revision")
def health(store: StoreDep) -> dict[str, Any]:
    seq, head = store.revision()
    return {"status": "ok", "entities": store.count_entities(), "relationships": store.count_relationships(),
            "revision": {"seq": seq, "hash": head}}


@router.get("/entities", summary="List entities with filters and pagination")
def list_entities(store: StoreDep,
                  kind: str | None = Query(None, max_length=50, examples=["system"]),
                  owner: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
                  lifecycle: str | None = Query(None, max_length=50, examples=["production"]),
                  tag: str | None = Query(None, max_length=100),
                  limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)
                  ) -> dict[str, Any]:
    if kind:
        store.metamodel.kind(kind)
    flt = EntityFilter(kind=kind, owner=owner, lifecycle=lifecycle, tag=tag, limit=limit, offset=offset)
    items = store.list_entities(flt)
    return {"total": store.count_entities(flt), "limit": limit, "offset": offset,
            "items": [e.model_dump(mode="json") for e in items]}


@router.get("/entities/{ref}", summary="One entity")
def get_entity(ref: str, store: StoreDep) -> dict[str, Any]:
    return store.get_entity(ref).model_dump(mode="json")


@router.get("/search", summary="Diacritics-insensitive search")
def search(store: StoreDep, q: str = Query(..., min_length=1, max_length=200, examples=["so thong tin"]),
           kind: str | None = Query(None, max_length=50), limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
    return {"items": [e.model_dump(mode="json") for e in store.search(q, kind=kind, limit=limit)]}
