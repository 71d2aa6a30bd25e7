"""Errors as problem+json (RFC 9457): every domain error and request-validation error, naming field and reason."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from catalog.errors import CatalogError, ValidationFailed

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, code: str, errors: list[dict] | None = None) -> JSONResponse:
    body = {"type": f"https://ioc-catalog.example/problems/{code}", "title": title, "status": status,
            "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(CatalogError)
    async def _catalog_error(_: Request, exc: CatalogError) -> JSONResponse:
        errors = [{"field": e.location, "reason": e.reason} for e in exc.errors] \
            if isinstance(exc, ValidationFailed) else None
        return problem(exc.status, type(exc).__name__, exc.message, exc.code, errors)

    @app.exception_handler(RequestValidationError)
    async def _request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
                  for e in exc.errors()]
        return problem(422, "ValidationFailed", "the request is not valid", "validation-failed", errors)
