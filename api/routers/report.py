"""The province's current-state report over HTTP: GET /api/v1/reports/current-state (diagrams/report.py), the same
report as ``ioc-catalog report current-state``: the Word document (``format=docx``, default) or its annex workbook
(``format=xlsx``). Needs the export permission (auditors, architects, admins). Built in a worker thread: Graphviz
draws two diagrams for it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from api.routers.diagrams import file_headers
from catalog.permissions import require
from diagrams.report import FORMATS, current_state, filename, report_file

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/current-state",
    summary="The province's current-state report (Word) or its annex (XLSX), on a day",
    response_class=Response,
    responses={**READ_ERRORS, 200: {"content": {media: {} for media in FORMATS.values()}}},
)
async def current_state_report(
    store: StoreDep,
    principal: PrincipalDep,
    province: str = Query(
        ..., max_length=200, description="The province's or city's organisation", examples=["organization:hcm-ubnd"]
    ),
    valid_on: str | None = Query(None, max_length=10, description="The day described (YYYY-MM-DD, default today)"),
    since: str | None = Query(
        None, max_length=10, description="First day of the organisation changes (default 1 January of the year before)"
    ),
    recorded_at: str | None = Query(None, max_length=10, description="Read the record at the end of this day"),
    lang: Literal["vi", "en"] = Query("vi", description="Language of the report"),
    format: Literal["docx", "xlsx"] = Query("docx", description="docx: the report; xlsx: its annex"),
) -> Response:
    require(principal, "export")

    def make() -> tuple[bytes, str]:
        r = current_state(store, province, valid_on, lang, since, recorded_at)
        return report_file(r, format), filename(r, format)

    data, name = await run_in_threadpool(make)
    return Response(data, media_type=FORMATS[format], headers=file_headers(FORMATS[format], name))
