"""Graph questions under /api/v1: the neighbourhood of an entity, the impact of its outage, paths between two, and
the graph the browser's explorer draws (``/graph/explore``, :mod:`catalog.explorer`) with the users of a database
(``/graph/database-users``)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.analysis import CSV_RESPONSE as DOWNLOADS
from api.routers.common import READ_ERRORS
from catalog.analysis import impact, paths
from catalog.explorer import ExploreQuery, database_users, database_users_sheet, explore_json
from catalog.history.snapshot import parse_day
from catalog.model import Entity, Relationship
from catalog.permissions import require
from catalog.store.base import StoredEntities, StoredRelationships

router = APIRouter(tags=["graph"])
REF = Path(description="kind:code", max_length=200, examples=["platform:hcm-lgsp"])


class Neighbourhood(BaseModel):
    ref: str
    entities: list[Entity]
    depth: dict[str, int]
    relationships: list[Relationship]
    truncated: bool


class ImpactItemOut(BaseModel):
    ref: str
    depth: int
    path: list[str]
    relationships: list[str]


class ImpactOut(BaseModel):
    ref: str
    total: int
    limit: int
    offset: int
    items: list[ImpactItemOut]


class PathsOut(BaseModel):
    source: str
    target: str
    paths: list[list[str]]


@router.get(
    "/entities/{ref}/neighbourhood",
    summary="Entities within depth hops, with the relationships followed",
    response_model=Neighbourhood,
    responses=READ_ERRORS,
)
def neighbourhood(
    store: StoreDep,
    principal: PrincipalDep,
    ref: str = REF,
    depth: int = Query(1, ge=1, le=4),
    direction: Literal["out", "in", "both"] = "both",
    type: list[str] | None = Query(None, max_length=20, description="Relationship types to follow"),
    limit: int = Query(200, ge=1, le=2000),
) -> Response:
    require(principal, "read")
    store.get_entity(ref)
    g = store.neighbourhood(ref, depth=depth, direction=direction, types=tuple(type) if type else None, limit=limit)
    # written straight from the stored JSON when the store hands it out (StoredEntities): a depth-2 answer holds
    # hundreds of entities, and building then dumping their models was most of its time
    ents, rels = g.entities, g.relationships
    entities = (ents.json(r) if isinstance(ents, StoredEntities) else _dumps(ents[r]) for r in sorted(ents))
    relationships = (
        rels.json(i) if isinstance(rels, StoredRelationships) else _dumps(rels[i]) for i in range(len(rels))
    )
    body = (
        f'{{"ref":{orjson.dumps(ref).decode()},"entities":[{",".join(entities)}],'
        f'"depth":{orjson.dumps(g.depth).decode()},"relationships":[{",".join(relationships)}],'
        f'"truncated":{"true" if g.truncated else "false"}}}'
    )
    return Response(body, media_type="application/json")


def _dumps(model: BaseModel) -> str:
    return orjson.dumps(model.model_dump(mode="json")).decode()


@router.get(
    "/entities/{ref}/impact",
    summary="What an outage of this entity would hit (transitive dependents, "
    "nearest first, each with its explanation path)",
    response_model=ImpactOut,
    responses=READ_ERRORS,
)
def impact_of(
    store: StoreDep,
    principal: PrincipalDep,
    ref: str = REF,
    max_depth: int | None = Query(None, ge=1, le=100),
    limit: int = Query(100, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> dict[str, Any]:
    require(principal, "read")
    hit = impact(store, ref, max_depth=max_depth)
    items = [
        {"ref": i.ref, "depth": i.depth, "path": list(i.path), "relationships": list(i.relationships)}
        for i in hit[offset : offset + limit]
    ]
    return {"ref": ref, "total": len(hit), "limit": limit, "offset": offset, "items": items}


@router.get(
    "/paths",
    summary="Paths between two entities over stored relationships, shortest first",
    response_model=PathsOut,
    responses=READ_ERRORS,
)
def paths_between(
    store: StoreDep,
    principal: PrincipalDep,
    source: str = Query(..., max_length=200, examples=["system:hcm-cong-1022"]),
    target: str = Query(..., max_length=200, examples=["platform:hcm-ioc"]),
    max_length: int = Query(4, ge=1, le=6),
    limit: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    require(principal, "read")
    return {
        "source": source,
        "target": target,
        "paths": paths(store, source, target, max_length=max_length, limit=limit),
    }


Lang = Literal["vi", "en"]


@router.get(
    "/graph/explore",
    summary="The graph the explorer draws: entities from a start (or the whole landscape), expanded entities' "
    "neighbours, filtered, grouped by organisation or province, folded; labels in one language",
    responses=READ_ERRORS,
)
def explore_graph(
    store: StoreDep,
    principal: PrincipalDep,
    start: list[str] = Query([], description="Entities to start from (each shown with its neighbours)", max_length=200),
    expand: list[str] = Query([], description="Entities whose neighbours join the graph", max_length=200),
    kind: list[str] = Query([], description="Show only neighbours of these kinds", max_length=200),
    owner: list[str] = Query([], description="... owned by these organisations or their units", max_length=200),
    province: list[str] = Query([], description="... in these provinces or cities ('-': national)", max_length=200),
    lifecycle: list[str] = Query([], description="... in these lifecycle stages", max_length=200),
    type: list[str] = Query([], description="Follow and show only these relationship types", max_length=200),
    on: str | None = Query(None, max_length=10, description="The day the catalog is read as valid on (YYYY-MM-DD)"),
    group: Literal["", "org", "province"] = Query("", description="Group by owning organisation or province"),
    fold: list[str] = Query([], description="Groups folded into one node ('*': every group not open)", max_length=200),
    open: list[str] = Query([], description="Groups kept open when every other one is folded", max_length=200),
    lang: Lang = Query("vi", description="Language of the labels"),
) -> Response:
    require(principal, "read")
    query = ExploreQuery(
        start=tuple(start),
        expand=tuple(expand),
        kinds=tuple(kind),
        owners=tuple(owner),
        provinces=tuple(province),
        lifecycles=tuple(lifecycle),
        types=tuple(type),
        day=parse_day(on, "on"),
        group=group,
        fold=tuple(fold),
        open=tuple(open),
    )
    return Response(explore_json(store, query, lang), media_type="application/json")


@router.get(
    "/graph/database-users",
    summary="Who uses a database's data, directly or through the services that expose it, by organisation",
    responses={**READ_ERRORS, **DOWNLOADS},
)
def database_users_of(
    store: StoreDep,
    principal: PrincipalDep,
    ref: str = Query(..., max_length=200, examples=["database:hcm-csdl-nguoi-dan"]),
    on: str | None = Query(None, max_length=10),
    lang: Lang = Query("vi"),
    fmt: Literal["json", "csv", "xlsx"] = Query("json", alias="format", description="json, csv or xlsx"),
) -> Any:
    require(principal, "read")
    found = database_users(store, ref, parse_day(on, "on"), lang)
    if fmt == "json":
        return found
    import datetime as dt

    from api.routers.diagrams import file_headers
    from catalog.analysis import LABELS
    from catalog.sheets import Sheet, write_csv, write_xlsx

    header, rows = database_users_sheet(found, lang)
    if fmt == "csv":
        media, body = "text/csv; charset=utf-8", write_csv(header, rows)
    else:
        title = LABELS["users"].get(lang)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = write_xlsx([Sheet(title, header, rows)], title, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return Response(body, media_type=media, headers=file_headers(media, f"database-users.{fmt}"))
