"""What changed between two dates over HTTP: ``GET /api/v1/diff?from=&to=`` (catalog.history.diff).

``from`` and ``to`` are valid-time days (the world on each day, read from the current record); ``recorded_from`` and
``recorded_to`` optionally read each side from the record at an instant (``YYYY-MM-DD``: the end of that day, UTC;
or an ISO date-time). ``org`` keeps what an organisation and its units owned on either day, ``kind`` one kind. The
JSON is the one ``ioc-catalog diff FROM TO --format json`` prints; ``format=csv`` or ``format=xlsx`` downloads the
same rows (labels in the language of ``lang``, else ``Accept-Language``). Reading needs the read permission.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.auth import PrincipalDep, StoreDep
from api.problems import request_lang
from api.routers.common import READ_ERRORS
from api.routers.diagrams import file_headers
from catalog.permissions import require

router = APIRouter(tags=["history"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@router.get(
    "/diff",
    summary="What changed between two dates: entities, relationships, ownership moves, organisation changes",
    responses={**READ_ERRORS, 200: {"content": {"application/json": {}, CSV: {}, XLSX: {}}}},
)
async def diff(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    from_: str = Query(..., alias="from", max_length=40, examples=["2025-02-01"], description="valid-time day"),
    to: str = Query(..., max_length=40, examples=["2025-08-01"], description="valid-time day"),
    recorded_from: str | None = Query(None, max_length=40, description="read from's side as recorded at"),
    recorded_to: str | None = Query(None, max_length=40, description="read to's side as recorded at"),
    org: str | None = Query(None, max_length=200, examples=["organization:hcm-skhcn"]),
    kind: str | None = Query(None, max_length=50, examples=["system"]),
    fmt: Literal["json", "csv", "xlsx"] = Query("json", alias="format"),
    lang: Literal["vi", "en"] | None = None,
) -> Any:
    from catalog.history.diff import diff as find_diff

    require(principal, "read")
    d = await run_in_threadpool(find_diff, store, from_, to, recorded_from, recorded_to, org or None, kind or None)
    if fmt == "json":
        return JSONResponse(d.to_json())
    said = lang or request_lang(request)
    name = f"diff-{d.from_day}-{d.to_day}.{fmt}"
    if fmt == "csv":
        return Response(d.to_csv(said, store.metamodel), media_type=CSV, headers=file_headers(CSV, name))
    data = await run_in_threadpool(d.to_xlsx, said, store.metamodel)
    return Response(data, media_type=XLSX, headers=file_headers(XLSX, name))
