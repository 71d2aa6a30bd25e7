"""The compliance report over HTTP: GET /api/v1/compliance (the same rules as ``ioc-catalog check``), the findings a
page at a time (``limit``/``offset``, ``total``; per rule a count), and the whole report as a file
(GET /api/v1/compliance/report.json or .csv)."""

from __future__ import annotations

import datetime as dt
import weakref
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from catalog.cache import per_store
from catalog.compliance import Report, check
from catalog.paging import paginate, settings_window
from catalog.permissions import require
from catalog.store.base import CatalogStore

router = APIRouter(tags=["compliance"])

_REPORTS: weakref.WeakKeyDictionary[CatalogStore, OrderedDict[tuple, Report]] = weakref.WeakKeyDictionary()


def current_report(store: CatalogStore) -> Report:
    """The compliance report of all rules today, kept per catalog revision (the change-log head) and day: the API,
    the compliance page and "my organisation" reuse it until the next write."""
    return per_store(_REPORTS, store, (store.revision(), store.clock().date()), 1, lambda: check(store))


class FindingOut(BaseModel):
    rule: str
    severity: str
    ref: str
    message_vi: str
    message_en: str
    detail: dict[str, Any]


class ReportOut(BaseModel):
    today: dt.date
    rules: list[str]
    counts: dict[str, int]  # rule code -> findings (all of them, not only this page's)
    total: int  # findings in the report (of the rules asked for)
    limit: int
    offset: int
    findings: list[FindingOut]  # this page
    completeness: dict[str, dict[str, Any]]


@router.get(
    "/compliance",
    summary="Run the compliance rules; findings per rule (a page at a time) and completeness per organisation",
    response_model=ReportOut,
    responses=READ_ERRORS,
)
def compliance(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    rule: list[str] | None = Query(None, max_length=50, description="Rule codes (default: all)"),
    today: dt.date | None = Query(None, description="Check the catalog as of this day"),
    limit: int | None = Query(
        None, ge=1, description="Findings per page (default: the page_size setting; at most max_page_size)"
    ),
    offset: int = Query(0, ge=0, description="Findings to skip"),
) -> dict[str, Any]:
    require(principal, "read")
    fresh = today is None and rule is None
    report = current_report(store) if fresh else check(store, today=today, rules=rule)
    counts = dict.fromkeys(report.rules, 0)
    for f in report.findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    page = paginate(report.findings, settings_window(request.app.state.settings, limit, offset))
    body = replace(report, findings=page.items).to_json()  # only this page's findings are turned into JSON
    return {**body, "counts": counts, **page.json(), "findings": body["findings"]}


@router.get(
    "/compliance/report.{fmt}",
    summary="The whole compliance report as one file (JSON as the CLI's `check --format json`, or CSV)",
    responses={**READ_ERRORS, 200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def compliance_report(
    store: StoreDep,
    principal: PrincipalDep,
    fmt: Literal["json", "csv"],
    rule: list[str] | None = Query(None, max_length=50, description="Rule codes (default: all)"),
    today: dt.date | None = Query(None, description="Check the catalog as of this day"),
) -> Response:
    import json

    require(principal, "read")
    report = await run_in_threadpool(check, store, today=today, rules=rule)
    if fmt == "csv":
        data, media = report.to_csv(), "text/csv; charset=utf-8"
    else:
        data, media = json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8"), "application/json"
    headers = {
        "Content-Disposition": f'attachment; filename="compliance-{report.today}.{fmt}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=media, headers=headers)
