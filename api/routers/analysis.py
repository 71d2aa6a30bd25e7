"""Analyses of the graph under /api/v1/analysis: single points of failure, paths between two entities, impact.

The answers are the catalog's (:mod:`catalog.analysis`): each entity with its name, kind and owner, each step of a
path with its relationships and their direction, so a client lists or draws them without further requests. The
command line gives the same JSON (``ioc-catalog spof``, ``ioc-catalog paths``). ``?format=csv`` or ``?format=xlsx``
downloads the same rows as CSV (UTF-8 with BOM) or an XLSX workbook, labels in the language of ``?lang=`` or else of
``Accept-Language``. ``/impact?direction=dependencies`` answers the other way: what the entity depends on. Reading
needs the read permission.

Errors: an unknown reference answers 404 naming the parameter (``from: system:x does not exist``); the same
entity at both ends of a paths question, or a bound out of range, answers 422.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep, StoreDep
from api.problems import request_lang
from api.routers.common import READ_ERRORS
from api.routers.diagrams import file_headers
from catalog.analysis import PATHS_MAX_LENGTH, PATHS_MAX_LIMIT, dependencies_report, find_paths, impact_report, spof
from catalog.coverage import coverage
from catalog.errors import FieldError, NotFound, ValidationFailed
from catalog.history.snapshot import load_snapshot, parse_day, parse_instant
from catalog.i18n import msg
from catalog.permissions import require
from catalog.store.base import CatalogStore

router = APIRouter(prefix="/analysis", tags=["analysis"])

Format = Literal["json", "csv", "xlsx"]
FORMAT = Query("json", alias="format", description="json, csv (UTF-8 with BOM, for spreadsheets) or xlsx")
LANG = Query(None, description="Language of a download's labels (default: Accept-Language)")
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, CSV: {}, XLSX: {}}}}


class LabelOut(BaseModel):
    vi: str
    en: str


class NodeOut(BaseModel):
    ref: str
    kind: str
    kind_label: LabelOut
    name: LabelOut
    owner: str | None
    owner_name: LabelOut | None


class SPOFItemOut(NodeOut):
    reasons: list[Literal["articulation_point", "high_betweenness"]]
    articulation_point: bool
    high_betweenness: bool
    betweenness: float
    rank: int | None


class BetweennessOut(BaseModel):
    top_platforms: int
    sampled_sources: int | None


class SPOFOut(BaseModel):
    count: int
    betweenness: BetweennessOut
    items: list[SPOFItemOut]


class LinkOut(BaseModel):
    id: str
    type: str
    label: LabelOut
    direction: Literal["forward", "backward"]
    properties: dict[str, Any]


class StepOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    relationships: list[LinkOut]


class PathOut(BaseModel):
    length: int
    refs: list[str]
    steps: list[StepOut]


class PathsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: NodeOut = Field(alias="from")
    to: NodeOut
    max_length: int
    limit: int
    count: int
    truncated: bool
    paths: list[PathOut]
    entities: list[NodeOut]


class ImpactItemOut(NodeOut):
    depth: int
    path: list[str]
    relationships: list[str]
    steps: list[StepOut]


class ImpactOut(BaseModel):
    ref: str
    direction: Literal["dependents", "dependencies"]
    entity: NodeOut
    total: int
    max_depth: int | None
    limit: int
    offset: int
    items: list[ImpactItemOut]
    entities: list[NodeOut]


def _known(store: CatalogStore, ref: str, parameter: str) -> None:
    if store.find_entity(ref) is None:
        raise NotFound(msg("param-entity-not-found", parameter=parameter, ref=ref))


def _csv(data: bytes, name: str) -> Response:
    return Response(data, media_type=CSV, headers=file_headers(CSV, name))


def _download(request: Request, report: Any, fmt: str, name: str, lang: str | None) -> Response:
    """The report as CSV or XLSX, labels in ``lang`` (else the request's language)."""
    lang = lang or request_lang(request)
    if fmt == "xlsx":
        return Response(report.to_xlsx(lang), media_type=XLSX, headers=file_headers(XLSX, f"{name}.xlsx"))
    return _csv(report.to_csv(lang), f"{name}.csv")


@router.get(
    "/spof",
    summary="Single points of failure: articulation points of the dependency graph and the most "
    "central platforms, each with its reasons",
    response_model=SPOFOut,
    responses={**READ_ERRORS, **CSV_RESPONSE},
)
def single_points_of_failure(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    fmt: Format = FORMAT,
    lang: Literal["vi", "en"] | None = LANG,
) -> Any:
    require(principal, "read")
    report = spof(store)
    if fmt != "json":
        return _download(request, report, fmt, "spof", lang)
    return report.to_json()


@router.get(
    "/paths",
    summary="Paths between two entities over stored relationships, shortest first, each step with "
    "its relationships and their direction",
    response_model=PathsOut,
    responses={**READ_ERRORS, **CSV_RESPONSE},
)
def paths_between(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    source: str = Query(..., alias="from", max_length=200, examples=["system:hcm-cong-1022"]),
    target: str = Query(..., alias="to", max_length=200, examples=["platform:hcm-ioc"]),
    max_length: int = Query(4, ge=1, le=PATHS_MAX_LENGTH, description="At most this many hops"),
    limit: int = Query(20, ge=1, le=PATHS_MAX_LIMIT, description="At most this many paths"),
    fmt: Format = FORMAT,
    lang: Literal["vi", "en"] | None = LANG,
) -> Any:
    require(principal, "read")
    _known(store, source, "from")
    _known(store, target, "to")
    if source == target:
        raise ValidationFailed([FieldError("to", msg("paths-same-endpoints"))])
    report = find_paths(store, source, target, max_length=max_length, limit=limit)
    if fmt != "json":
        return _download(request, report, fmt, "paths", lang)
    return report.to_json()


@router.get(
    "/impact",
    summary="What an outage of an entity would hit, nearest first: each item with its owner and "
    "the path that explains it (the existing /entities/{ref}/impact, described)",
    response_model=ImpactOut,
    responses={**READ_ERRORS, **CSV_RESPONSE},
)
def impact_of(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    ref: str = Query(..., max_length=200, examples=["database:vn-csdl-dan-cu"]),
    max_depth: int | None = Query(None, ge=1, le=100),
    limit: int = Query(100, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    direction: Literal["dependents", "dependencies"] = Query(
        "dependents", description="dependents: what its outage hits; dependencies: what it depends on"
    ),
    fmt: Format = FORMAT,
    lang: Literal["vi", "en"] | None = LANG,
) -> Any:
    require(principal, "read")
    _known(store, ref, "ref")
    build = dependencies_report if direction == "dependencies" else impact_report
    report = build(store, ref, max_depth=max_depth, limit=limit, offset=offset)
    if fmt != "json":
        return _download(request, report, fmt, "dependencies" if direction == "dependencies" else "impact", lang)
    return report.to_json()


class ServerOut(BaseModel):
    ref: str
    kind: str
    name: dict[str, str]
    lifecycle: str | None
    live: bool


class CoveredOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # procedures add online_level, authority, authority_name, national_code
    ref: str
    kind: str
    name: dict[str, str]
    owner: str | None
    owner_name: dict[str, str]
    state: Literal["online", "online_without_system", "not_online", "covered", "uncovered"]
    served_by: list[ServerOut]


class CoverageOut(BaseModel):
    valid_on: str
    recorded_at: str | None
    org: str | None
    summary: dict[str, int]
    procedures: list[CoveredOut]
    functions: list[CoveredOut]


@router.get(
    "/coverage",
    summary="Coverage of the business layer: which administrative procedures a live system serves online (and at "
    "what level), which business functions no system serves; whole catalog or one organisation and its units",
    response_model=CoverageOut,
    responses={**READ_ERRORS, **CSV_RESPONSE},
)
def business_coverage(
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    org: str | None = Query(None, max_length=200, examples=["organization:hcm-stp"]),
    valid_on: str | None = Query(None, max_length=40, description="The day in the world (default: today)"),
    recorded_at: str | None = Query(None, max_length=40, description="The record as it was at this instant"),
    fmt: Format = FORMAT,
    lang: Literal["vi", "en"] | None = LANG,
) -> Any:
    require(principal, "read")
    snap = load_snapshot(store, parse_instant(recorded_at, "recorded_at"), parse_day(valid_on, "valid_on"))
    if org:
        _known(store, org, "org")
    report = coverage(snap, org or None)
    if fmt != "json":
        said = lang or request_lang(request)
        if fmt == "xlsx":
            data = report.to_xlsx(store.metamodel, said)
            return Response(data, media_type=XLSX, headers=file_headers(XLSX, "coverage.xlsx"))
        return _csv(report.to_csv(store.metamodel, said), "coverage.csv")
    return report.to_json()


__all__ = ["router"]
