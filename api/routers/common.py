"""What every API router shares: the service of the request's principal, ETag / If-Match, problem responses.

ETags are strong: ``"<version>"`` of the entity, relationship or draft (each write increments it; the representation
at one version is always the same bytes). PUT, PATCH, DELETE, retire, approve and reject require ``If-Match`` with
that tag: 428 when it is missing, 412 when it is stale (the store checks the version in the same transaction as the
write, so two clients holding the same version can never both win).

Who first: every write route declares the permission it needs (``**needs("write")`` on its decorator; published in
the OpenAPI document as the operation's ``x-permission``), and its routers use :class:`WhoFirst`, which checks that
permission for the request's principal before anything else about the request: a client that may not write gets
401 or 403, never 400 (malformed JSON), 422 (a bad body, the text checks), 428 (no If-Match) or 404. A dependency
cannot do this: FastAPI parses the JSON body before it resolves any dependency, and resolves the app's router-level
dependencies (``api.limits.check_request_text``) before a route's own. Finer rules (a department editor's scope)
are the catalog services' (:mod:`catalog.services`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from api.auth import PrincipalDep, StoreDep, current_principal, get_store
from api.problems import BadIfMatch, PreconditionRequired
from catalog.errors import PermissionDenied
from catalog.i18n import msg
from catalog.permissions import Action, Principal, require
from catalog.services import CatalogService

PERMISSION = "x-permission"  # the OpenAPI extension naming the permission a write route needs
SIGNED_IN: Literal["signed-in"] = (
    "signed-in"  # not a role's permission: any principal but the anonymous one (own API tokens)
)

_TAG = re.compile(r'^\s*"(\d{1,12})"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def tagged(
    body: Any, version: int, status: int = 200, headers: dict[str, str] | None = None, request: Request | None = None
) -> Response:
    """The body with its ETag; a GET whose If-None-Match names that tag gets 304 Not Modified (no body)."""
    tag = etag(version)
    if request is not None and request.method == "GET":
        wanted = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "")[:500].split(",")]
        if tag in wanted or "*" in wanted:
            return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(body, status_code=status, headers={"ETag": tag, **(headers or {})})


def if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=200,
            description='The ETag read with GET, e.g. "3" (required)',
            examples=['"1"'],
        ),
    ] = None,
) -> int:
    """The version a write expects, from If-Match (428 when missing; a list or * is refused: name one version)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(msg("detail-precondition-required"))
    m = _TAG.match(if_match)
    if not m:
        raise BadIfMatch(msg("detail-bad-if-match"))
    return int(m.group(1))


IfMatch = Annotated[int, Depends(if_match)]


def needs(action: Action | Literal["signed-in"]) -> dict[str, Any]:
    """Decorator arguments of a write route: the permission it needs (a role's, or :data:`SIGNED_IN`), checked
    first by :class:`WhoFirst`."""
    return {"openapi_extra": {PERMISSION: action}}


def require_declared(principal: Principal, action: str) -> None:
    """What :func:`needs` declared, for ``principal``: PermissionDenied (403) otherwise."""
    if action == SIGNED_IN:
        if principal.name == "anonymous":
            raise PermissionDenied(msg("denied-sign-in"))
        return
    require(principal, action)  # type: ignore[arg-type]


class WhoFirst(APIRoute):
    """A route that checks the permission it declares (:func:`needs`) before it reads the request's body or
    resolves any dependency: 401 (no or bad credentials) or 403 come before anything the body could cause."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        action = (self.openapi_extra or {}).get(PERMISSION)
        if action is None:
            return handler

        async def checked(request: Request) -> Response:
            principal = await run_in_threadpool(current_principal, request, get_store(request))
            require_declared(principal, action)
            return await handler(request)

        return checked


def service(request: Request, store: StoreDep, principal: PrincipalDep) -> CatalogService:
    header = request.headers.get("x-request-id", "")
    rid = header if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", header) else None
    return CatalogService(store, principal, request_id=rid, today=store.clock().date())


ServiceDep = Annotated[CatalogService, Depends(service)]


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, str | list[str]]] | None = None  # {field, reason} and, for a value not allowed, allowed


def _p(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _p("Malformed request"),
    401: _p("Bad or missing credentials"),
    403: _p("Not allowed for this role"),
    404: _p("Not found"),
    422: _p("Invalid parameters (each field named)"),
    429: _p("Too many bad tokens from this address; retry after Retry-After seconds"),
    503: _p("Store busy; retry"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    409: _p("Conflicts with the catalog (exists already, integrity)"),
    412: _p("Stale If-Match"),
    413: _p("Body too large"),
    428: _p("If-Match missing"),
}

CONDITIONAL_READ: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    304: {"description": "Not modified: If-None-Match names the current ETag"},
}

__all__ = [
    "CONDITIONAL_READ",
    "PERMISSION",
    "SIGNED_IN",
    "IfMatch",
    "READ_ERRORS",
    "ServiceDep",
    "WRITE_ERRORS",
    "WhoFirst",
    "etag",
    "if_match",
    "needs",
    "require_declared",
    "service",
    "tagged",
]
