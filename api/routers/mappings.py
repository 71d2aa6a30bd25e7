"""Mapping profiles, read-only: GET /api/v1/mappings and /api/v1/mappings/{name} (importers.mapping).

A profile maps a spreadsheet in a department's own layout to a kind's columns (docs/spreadsheets.md, "Any
spreadsheet, mapped once"); it is made and saved on the web UI's mapping page. Anyone who may read the catalog may
read them, as the mapping page and ``ioc-catalog mappings`` show them: a department editor the global profiles and
their organisation's, everyone else all of them. An unknown name (or another organisation's, for an editor) is a 404
problem.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, WhoFirst

router = APIRouter(route_class=WhoFirst, tags=["imports"])
ProfileName = PathParam(min_length=1, max_length=200, examples=["mau-so-tttt"])


@router.get(
    "/mappings",
    summary="Mapping profiles: what each maps (the kind, each column's field), labels in Vietnamese and English",
    responses=READ_ERRORS,
)
def list_mappings(store: StoreDep, principal: PrincipalDep) -> dict[str, Any]:
    from importers.mapping import Profiles, describe

    return {"items": describe(Profiles(store, principal).list(), store)}


@router.get(
    "/mappings/{name}",
    summary="One mapping profile whole: its columns and value choices as saved, and what they map",
    responses=READ_ERRORS,
)
def get_mapping(store: StoreDep, principal: PrincipalDep, name: str = ProfileName) -> dict[str, Any]:
    from importers.mapping import Profiles, describe

    return describe([Profiles(store, principal).get(name)], store, full=True)[0]
