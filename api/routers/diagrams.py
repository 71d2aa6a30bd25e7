"""Diagrams over HTTP: GET /api/v1/diagrams/{view}.{format} with the same parameters as `ioc-catalog diagram`.

:func:`file_headers` gives the headers of every file the API and the web UI serve (diagrams here, the web UI's
downloads, the exports): never sniffed as another type (``X-Content-Type-Options: nosniff``), and SVG and DOT,
text drawn from catalog text, under a Content-Security-Policy that lets them run nothing and load nothing
(:data:`SVG_CSP`), should a browser open them.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import PrincipalDep
from api.routers.common import READ_ERRORS
from catalog.permissions import require

router = APIRouter(tags=["diagrams"])

MEDIA = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf", "dot": "text/vnd.graphviz"}
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def file_headers(media: str, filename: str | None = None) -> dict[str, str]:
    """Headers for a file of type ``media``; with ``filename``, served as a download (attachment)."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if media in (MEDIA["svg"], MEDIA["dot"]):
        headers["Content-Security-Policy"] = SVG_CSP
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


@router.get(
    "/diagrams/{view}.{fmt}",
    summary="Render a view (ioc, department, context, shared-db, landscape, diff) as SVG, PNG, PDF or DOT",
    responses={**READ_ERRORS, 200: {"content": {m: {} for m in MEDIA.values()}}},
)
async def diagram(
    request: Request,
    principal: PrincipalDep,
    view: str,
    fmt: Literal["svg", "png", "pdf", "dot"],
    ref: str | None = Query(None, max_length=200, examples=["platform:hcm-ioc"]),
    as_of: str | None = Query(None, max_length=40, examples=["2025-08-01"]),
    valid_on: str | None = Query(None, max_length=40),
    depth: int = Query(1, ge=0, le=6),
    direction: Literal["out", "in", "both"] = "both",
    lang: Literal["vi", "en"] = "vi",
    limit: int = Query(300, ge=10, le=5000),
    from_: str | None = Query(None, alias="from", max_length=40),
    to: str | None = Query(None, max_length=40),
) -> Response:
    from diagrams import ViewParams, draw

    require(principal, "read")
    params = ViewParams(
        ref=ref,
        as_of=as_of,
        valid_on=valid_on,
        depth=depth,
        direction=direction,
        lang=lang,
        limit=limit,
        from_date=from_,
        to_date=to,
    )
    data = await run_in_threadpool(draw, request.app.state.store, view, params, fmt)
    return Response(data, media_type=MEDIA[fmt], headers=file_headers(MEDIA[fmt]))
