"""Diagrams over HTTP: GET /api/v1/diagrams/{view}.{format} with the same parameters as `ioc-catalog diagram`.

:func:`file_headers` gives the headers of every file the API and the web UI serve (diagrams here, the web UI's
downloads, the exports): never sniffed as another type (``X-Content-Type-Options: nosniff``), and SVG and DOT,
text drawn from catalog text, under a Content-Security-Policy that lets them run nothing and load nothing
(:data:`SVG_CSP`), should a browser open them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any, Literal

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
    as_of: str | None = Query(
        None, max_length=40, examples=["2025-08-01"], description="both clocks on one day (the record at its end)"
    ),
    valid_on: str | None = Query(None, max_length=40, description="the day in the world (default: today)"),
    recorded_at: str | None = Query(
        None, max_length=40, description="the record at this instant (YYYY-MM-DD: its end, UTC; or ISO date-time)"
    ),
    depth: int = Query(1, ge=0, le=6),
    direction: Literal["out", "in", "both"] = "both",
    lang: Literal["vi", "en"] = "vi",
    detail: Literal["auto", "full"] = Query(
        "auto", description="auto: over the size budget, collapsed by organisation; full: the whole model"
    ),
    expand: str | None = Query(None, max_length=200, description="The organisation drawn in full in a collapsed view"),
    limit: int = Query(300, ge=10, le=5000),
    from_: str | None = Query(None, alias="from", max_length=40),
    to: str | None = Query(None, max_length=40),
    lineage: Literal["city", "full"] = Query(
        "city", description="ioc: the IOC's own city or province (others as external sources), or every source"
    ),
) -> Response:
    from catalog.history.snapshot import parse_instant
    from diagrams import ViewParams

    require(principal, "read")
    params = ViewParams(
        ref=ref,
        as_of=parse_instant(recorded_at, "recorded_at") or as_of,
        valid_on=valid_on,
        depth=depth,
        direction=direction,
        lang=lang,
        limit=limit,
        from_date=from_,
        to_date=to,
        lineage=lineage,
    )
    data = await served(request, view, replace(params, detail=detail, expand=expand), fmt)
    return Response(data, media_type=MEDIA[fmt], headers=file_headers(MEDIA[fmt]))


async def served(request: Request, view: str, params: Any, fmt: str) -> bytes:
    """A diagram as the web UI and the API serve it: the size budget, the render time limit and the cache of the
    app's settings (diagram_max_nodes/edges, render_timeout_seconds, render_cache_bytes), drawn in a worker thread
    so that the event loop keeps answering while Graphviz runs."""
    from diagrams.render import CACHE, cache_key, draw_cached

    settings = request.app.state.settings
    params = replace(params, max_nodes=settings.diagram_max_nodes, max_edges=settings.diagram_max_edges)
    CACHE.max_bytes = settings.render_cache_bytes
    store = request.app.state.store
    if CACHE.max_bytes > 0:
        found = await run_in_threadpool(lambda: CACHE.get(cache_key(store, view, params, fmt, url_prefix="", dpi=None)))
        if found is not None:
            return found
    # at most RENDER_SLOTS drawings at once: the others wait here, on the event loop, not in the worker threads that
    # every other request needs (a cached diagram was served above, without waiting)
    async with _render_slots():
        return await run_in_threadpool(
            lambda: draw_cached(store, view, params, fmt, timeout=settings.render_timeout_seconds)
        )


RENDER_SLOTS = max(2, os.cpu_count() or 2)
_SLOTS: dict[int, asyncio.Semaphore] = {}


def _render_slots() -> asyncio.Semaphore:
    """The render slots of the running event loop."""
    loop = id(asyncio.get_running_loop())
    if loop not in _SLOTS:
        _SLOTS.clear()
        _SLOTS[loop] = asyncio.Semaphore(RENDER_SLOTS)
    return _SLOTS[loop]
