"""The compliance report over HTTP: GET /api/v1/compliance (the same rules as ``ioc-catalog check``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from catalog.compliance import check
from catalog.permissions import require

router = APIRouter(tags=["compliance"])


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
    findings: list[FindingOut]
    completeness: dict[str, dict[str, Any]]


@router.get(
    "/compliance",
    summary="Run the compliance rules; findings per rule and completeness per organisation",
    response_model=ReportOut,
    responses=READ_ERRORS,
)
def compliance(
    store: StoreDep,
    principal: PrincipalDep,
    rule: list[str] | None = Query(None, max_length=50, description="Rule codes (default: all)"),
    today: dt.date | None = Query(None, description="Check the catalog as of this day"),
) -> dict[str, Any]:
    require(principal, "read")
    return check(store, today=today, rules=rule).to_json()
