"""Entities under /api/v1: health, the cross-kind list, get (also as of a past instant), and per kind
(``/systems``, ``/databases``, ...) list, create, get, replace (PUT), patch, retire and delete.

Routers stay thin: the catalog service checks permissions, metamodel and references; this module parses, calls it
and shapes the response (with the entity's ETag). Every write route checks the write permission before anything else
(:class:`api.routers.common.WhoFirst`).
"""

# no `from __future__ import annotations`: the body models are built per kind at run time and FastAPI must see
# them as objects, not strings
import datetime as dt
from typing import Annotated, Any, overload

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from api.auth import PrincipalDep, StoreDep
from api.routers.common import CONDITIONAL_READ, READ_ERRORS, WRITE_ERRORS, IfMatch, ServiceDep, WhoFirst, needs, tagged
from api.schemas import CODE_PATTERN, KindModels, Page, all_kind_models
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import Metamodel
from catalog.model import Entity
from catalog.permissions import require
from catalog.services import reowned
from catalog.store.base import EntityFilter, as_instant

REF = Path(description="kind:code", max_length=200, examples=["system:hcm-cong-1022"])


def _json(e: Entity) -> dict[str, Any]:
    return e.model_dump(mode="json")


@overload
def instant(value: str, field: str) -> str: ...
@overload
def instant(value: None, field: str) -> None: ...
@overload
def instant(value: str | None, field: str) -> str | None: ...


def instant(value: str | None, field: str) -> str | None:
    """A query date or date-time, checked (422 naming the field), as a change-log instant."""
    if value is None:
        return None
    try:
        return as_instant(value)
    except ValidationFailed:
        raise ValidationFailed([FieldError(f"query.{field}", msg("not-a-date-time", value=value))]) from None


class Health(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    revision: dict[str, Any]
    entities: int | None = None
    relationships: int | None = None


def build_router(mm: Metamodel) -> APIRouter:
    router = APIRouter(route_class=WhoFirst)

    @router.get(
        "/health", summary="Liveness and catalog revision", tags=["meta"], response_model=Health, responses=READ_ERRORS
    )
    def health(
        store: StoreDep,
        principal: PrincipalDep,
        counts: bool = Query(
            True,
            description="Also count entities and relationships (false: the bare "
            "liveness answer, as a load balancer wants it)",
        ),
    ) -> dict[str, Any]:
        seq, head = store.revision()
        body: dict[str, Any] = {"status": "ok", "revision": {"seq": seq, "hash": head}}
        if counts:
            body.update(entities=store.count_entities(), relationships=store.count_relationships())
        return body

    @router.get(
        "/entities",
        summary="List entities of every kind with filters and pagination",
        tags=["entities"],
        response_model=Page,
        responses=READ_ERRORS,
    )
    def list_entities(
        store: StoreDep,
        principal: PrincipalDep,
        kind: str | None = Query(None, max_length=50, examples=["system"]),
        owner: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
        lifecycle: str | None = Query(None, max_length=50, examples=["production"]),
        tag: str | None = Query(None, max_length=100),
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10_000_000),
        valid_on: str | None = Query(
            None, max_length=40, description="only what was valid on this day, with its owner then (as the CLI list)"
        ),
        recorded_at: str | None = Query(None, max_length=40, description="as recorded at this instant"),
    ) -> dict[str, Any]:
        require(principal, "read")
        if kind and kind not in mm.kinds:
            raise ValidationFailed([FieldError("kind", msg("kind-unknown", kind=kind, allowed=", ".join(mm.kinds)))])
        if valid_on or recorded_at:  # the catalog on a date (catalog.history.listing), both clocks
            from catalog.history.listing import entities_on

            listing = entities_on(store, kind, valid_on, recorded_at, False, owner, lifecycle, tag)
            shown = listing.items[offset : offset + limit]
            snap = listing.snapshot
            return {
                "total": len(listing.items),
                "limit": limit,
                "offset": offset,
                "items": [_json(snap.entities[x.ref].full) for x in shown],
            }
        flt = EntityFilter(kind=kind, owner=owner, lifecycle=lifecycle, tag=tag, limit=limit, offset=offset)
        return {
            "total": store.count_entities(flt),
            "limit": limit,
            "offset": offset,
            "items": [_json(e) for e in store.list_entities(flt)],
        }

    @router.get(
        "/entities/{ref}",
        summary="One entity (ETag = its version); as_of reads it at a past instant",
        tags=["entities"],
        response_model=Entity,
        responses=CONDITIONAL_READ,
    )
    def get_entity(
        request: Request,
        store: StoreDep,
        principal: PrincipalDep,
        ref: str = REF,
        as_of: str | None = Query(
            None,
            max_length=40,
            examples=["2025-06-30"],
            description="Date or date-time (UTC): the entity as it stood then (needs the history permission)",
        ),
    ) -> Response:
        require(principal, "read")
        if as_of is not None:
            require(principal, "history")
            when = instant(as_of, "as_of")
            e = store.entity_as_of(ref, when)
            if e is None:
                from catalog.errors import NotFound

                raise NotFound(msg("entity-not-at", ref=ref, when=when))
            return JSONResponse(_json(e))
        e = store.get_entity(ref)
        return tagged(_json(e), e.version, request=request)

    for km in all_kind_models(mm):
        _kind_routes(router, km)
    return router


EXAMPLE_CODES = {
    "organization": "hcm-skhcn",
    "system": "hcm-cong-1022",
    "database": "hcm-csdl-danh-muc",
    "platform": "hcm-lgsp",
    "service": "hcm-api-danh-muc",
}  # entities of the sample catalog


def _kind_routes(router: APIRouter, km: KindModels) -> None:
    kind, plural = km.spec.name, km.plural
    Code = Annotated[
        str,
        Path(
            description=f"The {kind}'s code",
            pattern=CODE_PATTERN,
            max_length=128,
            examples=[EXAMPLE_CODES.get(kind, "hcm-vi-du")],
        ),
    ]
    tag = f"{plural}"
    label = km.spec.label.en

    def ref_of(code: str) -> str:
        return f"{kind}:{code}"

    @router.get(
        f"/{plural}",
        summary=f"List {km.spec.plural.en.lower()} with filters and pagination",
        tags=[tag],
        response_model=Page,
        responses=READ_ERRORS,
        operation_id=f"list_{plural}",
    )
    def list_kind(
        store: StoreDep,
        principal: PrincipalDep,
        owner: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
        lifecycle: str | None = Query(None, max_length=50, examples=["production"]),
        tag: str | None = Query(None, max_length=100),
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10_000_000),
    ) -> dict[str, Any]:
        require(principal, "read")
        flt = EntityFilter(kind=kind, owner=owner, lifecycle=lifecycle, tag=tag, limit=limit, offset=offset)
        return {
            "total": store.count_entities(flt),
            "limit": limit,
            "offset": offset,
            "items": [_json(e) for e in store.list_entities(flt)],
        }

    @router.post(
        f"/{plural}",
        summary=f"Register a {label.lower()}",
        tags=[tag],
        status_code=201,
        response_model=Entity,
        responses=WRITE_ERRORS,
        operation_id=f"create_{kind}",
        **needs("write"),
    )
    def create(svc: ServiceDep, body: km.create = Body(...)) -> Response:  # type: ignore[name-defined]  # a model built from the metamodel at run time
        data = body.model_dump(mode="json", exclude_none=True)
        e = svc.register({"kind": kind, **data})
        return tagged(_json(e), e.version, 201, {"Location": f"/api/v1/{plural}/{e.code}"})

    @router.get(
        f"/{plural}/{{code}}",
        summary=f"One {label.lower()} (ETag = its version)",
        tags=[tag],
        response_model=Entity,
        responses=CONDITIONAL_READ,
        operation_id=f"get_{kind}",
    )
    def get(request: Request, code: Code, svc: ServiceDep) -> Response:
        e = svc.get(ref_of(code))
        return tagged(_json(e), e.version, request=request)

    @router.put(
        f"/{plural}/{{code}}",
        summary=f"Replace a {label.lower()} (If-Match required)",
        tags=[tag],
        response_model=Entity,
        responses=WRITE_ERRORS,
        operation_id=f"replace_{kind}",
        **needs("write"),
    )
    def replace(code: Code, version: IfMatch, svc: ServiceDep, body: km.replace = Body(...)) -> Response:  # type: ignore[name-defined]  # a model built from the metamodel at run time
        current = svc.store.get_entity(ref_of(code))
        data = body.model_dump(mode="json", exclude_none=True)
        data["attributes"] = {k: v for k, v in data.get("attributes", {}).items() if v is not None}
        if km.spec.owned:
            data["owner_history"] = [
                p.model_dump(mode="json") for p in reowned(current, data.pop("owner", None), svc.today)
            ]
        e = svc.update(ref_of(code), data, version)
        return tagged(_json(e), e.version)

    @router.patch(
        f"/{plural}/{{code}}",
        summary=f"Change some fields of a {label.lower()} (If-Match required); attributes merge, null removes one",
        tags=[tag],
        response_model=Entity,
        responses=WRITE_ERRORS,
        operation_id=f"patch_{kind}",
        **needs("write"),
    )
    def patch(code: Code, version: IfMatch, svc: ServiceDep, body: km.patch = Body(...)) -> Response:  # type: ignore[name-defined]  # a model built from the metamodel at run time
        e = svc.patch(ref_of(code), body.model_dump(mode="json", exclude_unset=True), version)
        return tagged(_json(e), e.version)

    if km.spec.owned:  # organisations (not owned) end by an event (catalog.services.retire_changes)

        class RetireBody(BaseModel):
            model_config = ConfigDict(extra="forbid", title=f"{km.spec.name.capitalize()}Retire")
            on: dt.date | None = None

        @router.post(
            f"/{plural}/{{code}}/retire",
            summary=f"Retire a {label.lower()}: lifecycle retired, valid_to the date (If-Match required)",
            tags=[tag],
            response_model=Entity,
            responses=WRITE_ERRORS,
            operation_id=f"retire_{kind}",
            **needs("write"),
        )
        def retire(code: Code, version: IfMatch, svc: ServiceDep, body: RetireBody | None = Body(None)) -> Response:
            e = svc.retire(ref_of(code), version, body.on if body else None)
            return tagged(_json(e), e.version)

    @router.delete(
        f"/{plural}/{{code}}",
        summary=f"Delete a {label.lower()} (If-Match required)",
        tags=[tag],
        status_code=204,
        response_class=Response,
        responses=WRITE_ERRORS,
        operation_id=f"delete_{kind}",
        **needs("write"),
    )
    def delete(
        code: Code,
        version: IfMatch,
        svc: ServiceDep,
        cascade: bool = Query(False, description="Also delete the relationships that use it"),
    ) -> Response:
        svc.delete(ref_of(code), version, cascade=cascade)
        return Response(status_code=204)
