"""The current-state report in the web UI: a form (province, day) at /reports/current-state and the downloads it
submits to, /reports/current-state/download (the Word document, or its annex with ``format=xlsx``). Both need the
export permission; the report is diagrams/report.py's, the same as the command line's and the API's."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.diagrams import file_headers
from api.routers.web import _day, _store, _who, web
from api.web.context import lang_of, render
from catalog.search import province_of_principal
from catalog.store.base import EntityFilter
from catalog.text import vi_sort_key
from diagrams.report import FORMATS, check_format, current_state, filename, report_file

router = APIRouter(include_in_schema=False)
PROVINCE_TYPES = ("province", "city")  # the organisations a report is about: those the 2025 reform calls provinces


def _provinces(request: Request, day: dt.date, lang: str) -> list[tuple[str, str]]:
    """(ref, name) of the provinces and centrally governed cities that exist on ``day``, by name."""
    store = _store(request)
    orgs = store.list_entities(EntityFilter(kind="organization", limit=100_000))
    found = [
        (o.ref, o.name.get(lang))
        for o in orgs
        if o.attributes.get("org_type") in PROVINCE_TYPES
        and (o.valid_from is None or o.valid_from <= day)
        and (o.valid_to is None or day < o.valid_to)
    ]
    return sorted(found, key=lambda x: vi_sort_key(x[1]))


@router.get("/reports/current-state")
@web
async def report_page(request: Request, province: str = "", valid_on: str = "") -> Response:
    who = _who(request, "export")
    lang = lang_of(request)
    day = _day(valid_on[:40], "valid_on") or dt.date.today()
    provinces = await run_in_threadpool(_provinces, request, day, lang)
    # chosen: the one asked for, else the reader's own province (the search_home setting's for readers without one)
    home = getattr(request.app.state.settings, "search_home", None)
    own = await run_in_threadpool(province_of_principal, _store(request), who, home)
    chosen = next(
        (ref for ref in (province, own) if ref and ref in dict(provinces)), provinces[0][0] if provinces else ""
    )
    return render(request, "report.html", provinces=provinces, province=chosen, day=day)


@router.get("/reports/current-state/download")
@web
async def report_download(
    request: Request, province: str = "", valid_on: str = "", since: str = "", format: str = "docx"
) -> Response:
    _who(request, "export")
    check_format(format)
    lang = lang_of(request)
    store = _store(request)
    day = _day(valid_on[:40], "valid_on")
    start = _day(since[:40], "since")

    def make() -> tuple[bytes, str]:
        r = current_state(store, province[:200], day, lang, start)
        return report_file(r, format), filename(r, format)

    data, name = await run_in_threadpool(make)
    media = FORMATS[format]
    return Response(data, media_type=media, headers=file_headers(media, name))
