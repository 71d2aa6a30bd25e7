"""Coverage of the business layer in the web UI: ``/coverage`` (the whole catalog, or ``?org=`` one organisation
and its units, on ``?valid_on=``) and its downloads ``/coverage/download?format=csv|xlsx``. Reading needs the read
permission; the answer is catalog.coverage's, the same as ``ioc-catalog coverage`` and GET
/api/v1/analysis/coverage. A procedure or function is listed with its owner, its online level and the systems
serving it, and the state in words (online with a system, said to be online with none, not online; served or not).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.diagrams import file_headers
from api.routers.web import _day, _store, _who, web
from api.web.context import lang_of, render
from catalog.coverage import STATES, coverage
from catalog.errors import FieldError, ValidationFailed
from catalog.history.snapshot import load_snapshot
from catalog.i18n import msg
from catalog.text import vi_sort_key

router = APIRouter(include_in_schema=False)

DOWNLOADS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _read(request: Request, org: str, valid_on: str) -> Any:
    store = _store(request)
    snap = load_snapshot(store, None, _day(valid_on[:40], "valid_on"))
    return snap, coverage(snap, org[:200] or None)


@router.get("/coverage")
@web
async def coverage_page(request: Request, org: str = "", valid_on: str = "") -> Response:
    _who(request)
    lang = lang_of(request)
    snap, report = await run_in_threadpool(_read, request, org, valid_on)
    mm = snap.metamodel
    orgs = sorted(
        (e for e in snap.entities.values() if mm.is_organisation(e.kind)), key=lambda e: vi_sort_key(e.name.get(lang))
    )

    def by_name(items: list) -> list:
        return sorted(items, key=lambda c: vi_sort_key(c.name.get(lang) or c.name.get("vi") or ""))

    return render(
        request,
        "coverage.html",
        orgs=orgs,
        org=snap.entities.get(report.org) if report.org else None,
        day=snap.day,
        summary=report.summary(),
        procedures=by_name(report.procedures),
        functions=by_name(report.functions),
        level=mm.kinds["procedure"].attribute("online_level") if "procedure" in mm.kinds else None,
        states={k: v.text(lang) for k, v in STATES.items()},
        procedure_label=mm.kinds["procedure"].plural if "procedure" in mm.kinds else None,
        function_label=mm.kinds["function"].plural if "function" in mm.kinds else None,
    )


@router.get("/coverage/download")
@web
async def coverage_download(request: Request, org: str = "", valid_on: str = "", format: str = "csv") -> Response:
    _who(request)
    if format not in DOWNLOADS:
        raise ValidationFailed([FieldError("format", msg("value-one-of", allowed=", ".join(DOWNLOADS)))])
    lang = lang_of(request)
    snap, report = await run_in_threadpool(_read, request, org, valid_on)
    mm = snap.metamodel
    data = report.to_xlsx(mm, lang) if format == "xlsx" else report.to_csv(mm, lang)
    media = DOWNLOADS[format]
    return Response(data, media_type=media, headers=file_headers(media, f"coverage-{snap.day.isoformat()}.{format}"))


__all__ = ["router"]
