"""Relationships under /api/v1/relationships: create, list, get, replace and delete (ETag = version; writes to an
existing relationship need If-Match). Ids are ``<source>><type>><target>`` (URL-encode ``>`` as ``%3E``). Writes check
the write permission before anything else (:class:`api.routers.common.WhoFirst`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.auth import PrincipalDep, StoreDep
from api.routers.common import CONDITIONAL_READ, READ_ERRORS, WRITE_ERRORS, IfMatch, ServiceDep, WhoFirst, needs, tagged
from api.schemas import RelationshipCreate, RelationshipPage
from catalog.errors import FieldError, NotFound, ValidationFailed
from catalog.i18n import msg
from catalog.model import Relationship
from catalog.paging import MAX_OFFSET, Window, paginate
from catalog.permissions import require

router = APIRouter(tags=["relationships"], route_class=WhoFirst)
RelId = Path(description="source>type>target", max_length=600, examples=["system:hcm-cong-1022>uses>platform:hcm-lgsp"])


@router.get(
    "/relationships",
    summary="Relationships touching an entity (or all), by type and direction",
    response_model=RelationshipPage,
    responses=READ_ERRORS,
)
def list_relationships(
    store: StoreDep,
    principal: PrincipalDep,
    ref: str | None = Query(None, max_length=200, examples=["platform:hcm-lgsp"]),
    type: str | None = Query(None, max_length=50, examples=["uses"]),
    direction: Literal["out", "in", "both"] = "both",
    limit: int = Query(500, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    require(principal, "read")
    if ref is None and type is None:  # the whole catalog: read only up to this page, count apart
        rels, total = store.list_relationships(None, None, direction, offset + limit), store.count_relationships()
    else:
        rels = store.list_relationships(ref, type, direction, None)
        total = len(rels)
    page = paginate(rels, Window(limit, offset))
    return page.json([r.model_dump(mode="json") for r in page.items]) | {"total": total}


@router.post(
    "/relationships",
    summary="Link two entities",
    status_code=201,
    response_model=Relationship,
    responses=WRITE_ERRORS,
    **needs("write"),
)
def create_relationship(body: RelationshipCreate, svc: ServiceDep) -> Response:
    r = svc.link(body.model_dump(mode="json"))
    return tagged(r.model_dump(mode="json"), r.version, 201)


@router.get(
    "/relationships/{rel_id}",
    summary="One relationship (ETag = its version)",
    response_model=Relationship,
    responses=CONDITIONAL_READ,
)
def get_relationship(request: Request, store: StoreDep, principal: PrincipalDep, rel_id: str = RelId) -> Response:
    require(principal, "read")
    r = store.find_relationship(rel_id)
    if r is None:
        raise NotFound(msg("relationship-not-found", id=rel_id))
    return tagged(r.model_dump(mode="json"), r.version, request=request)


@router.put(
    "/relationships/{rel_id}",
    summary="Replace a relationship's properties and validity (If-Match)",
    response_model=Relationship,
    responses=WRITE_ERRORS,
    **needs("write"),
)
def replace_relationship(body: RelationshipCreate, version: IfMatch, svc: ServiceDep, rel_id: str = RelId) -> Response:
    data = body.model_dump(mode="json")
    given = f"{data['source']}>{data['type']}>{data['target']}"
    if given != rel_id:
        raise ValidationFailed([FieldError("body", msg("relationship-identity", given=given, id=rel_id))])
    r = svc.update_link(data, version)
    return tagged(r.model_dump(mode="json"), r.version)


@router.delete(
    "/relationships/{rel_id}",
    summary="Unlink (If-Match)",
    status_code=204,
    response_class=Response,
    responses=WRITE_ERRORS,
    **needs("write"),
)
def delete_relationship(version: IfMatch, svc: ServiceDep, rel_id: str = RelId) -> Response:
    svc.unlink(rel_id, version)
    return Response(status_code=204)
