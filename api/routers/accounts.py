"""Who am I, users (admin) and API tokens (your own; an admin's for anyone) over HTTP, through catalog.accounts.

A token's secret is in the response of its creation only; the store keeps its SHA-256."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS, SIGNED_IN, WRITE_ERRORS, WhoFirst, needs
from catalog.accounts import Accounts
from catalog.errors import PermissionDenied
from catalog.i18n import msg
from catalog.metamodel import ROLES
from catalog.model import ref_pattern
from catalog.permissions import Principal, require

router = APIRouter(tags=["accounts"], route_class=WhoFirst)  # writes: who first (api.routers.common)


class Me(BaseModel):
    name: str
    role: str
    org: str | None


class UserOut(BaseModel):
    name: str
    role: str
    org: str | None
    display: str
    disabled: bool


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "editor-sxd",
                    "role": "editor",
                    "org": "organization:hcm-sxd",
                    "display": "Cán bộ CNTT Sở Xây dựng",
                }
            ]
        },
    )
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._@-]{1,63}$")]
    role: Annotated[str, Field(json_schema_extra={"enum": list(ROLES)})]
    org: Annotated[str | None, Field(pattern=ref_pattern(("organization",)))] = None
    display: Annotated[str, Field(max_length=200)] = ""
    password: Annotated[str | None, Field(min_length=10, max_length=200)] = None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(max_length=200)] = ""
    expires_days: Annotated[int | None, Field(ge=1, le=3650)] = 365
    user: Annotated[
        str | None,
        Field(pattern=r"^[a-z0-9][a-z0-9._@-]{1,63}$", description="Whose token (admins only; default: yours)"),
    ] = None


class TokenOut(BaseModel):
    id: str
    user: str
    label: str
    expires: str | None
    token: str | None = Field(None, description="The bearer token: shown once, at creation")


class TokenList(BaseModel):
    items: list[dict[str, Any]]


def _signed_in(principal: Principal) -> None:
    if principal.name == "anonymous":
        raise PermissionDenied(msg("denied-sign-in-tokens"))


@router.get("/me", summary="The principal of this request", response_model=Me, responses=READ_ERRORS)
def me(principal: PrincipalDep) -> dict[str, Any]:
    return {"name": principal.name, "role": principal.role, "org": principal.org}


@router.get("/users", summary="Users (admin)", response_model=list[UserOut], responses=READ_ERRORS)
def list_users(store: StoreDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    require(principal, "admin")
    return [dataclasses.asdict(u) for u in Accounts(store, principal).list_users()]


@router.post(
    "/users",
    summary="Add a user (admin)",
    status_code=201,
    response_model=UserOut,
    responses=WRITE_ERRORS,
    **needs("admin"),
)
def add_user(body: UserIn, store: StoreDep, principal: PrincipalDep) -> JSONResponse:
    u = Accounts(store, principal).add_user(body.name, body.role, body.org, body.display, password=body.password)
    return JSONResponse(dataclasses.asdict(u), status_code=201)


@router.get(
    "/tokens",
    summary="API tokens (yours; an admin may name a user), never their secrets",
    response_model=TokenList,
    responses=READ_ERRORS,
)
def list_tokens(
    store: StoreDep, principal: PrincipalDep, user: str | None = Query(None, max_length=64)
) -> dict[str, Any]:
    _signed_in(principal)
    if user is None and principal.role != "admin":
        user = principal.name
    elif user != principal.name:
        require(principal, "admin")
    return {"items": Accounts(store, principal).list_tokens(user)}


@router.post(
    "/tokens",
    summary="Create an API token (the secret is shown once)",
    status_code=201,
    response_model=TokenOut,
    responses=WRITE_ERRORS,
    **needs(SIGNED_IN),
)
def create_token(body: TokenIn, store: StoreDep, principal: PrincipalDep) -> JSONResponse:
    _signed_in(principal)
    t = Accounts(store, principal).create_token(body.user or principal.name, body.label, body.expires_days)
    return JSONResponse(
        {"id": t.id, "user": t.user, "label": t.label, "expires": t.expires, "token": t.secret},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token (yours; an admin's for anyone)",
    status_code=204,
    response_class=Response,
    responses=WRITE_ERRORS,
    **needs(SIGNED_IN),
)
def revoke_token(store: StoreDep, principal: PrincipalDep, token_id: str = Path(pattern=r"^[0-9a-f]{12}$")) -> Response:
    _signed_in(principal)
    Accounts(store, principal).revoke_token(token_id)
    return Response(status_code=204)
