"""What this installation can do, by name: GET /api/v1/importers, /exporters, /views and /rules.

Each lists one registry (:class:`catalog.registry.Registry`): the built-ins, then every installed extension's, in
the registry's order, each with ``builtin`` and ``origin`` (``built-in module:attr`` or ``extension <distribution>
<version> (entry point ...)``). The rules are those that run (``catalog.compliance.load_rules``: the built-in ones,
the extensions', the rules file's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import PrincipalDep
from api.routers.common import READ_ERRORS
from catalog.permissions import require

router = APIRouter(tags=["meta"])


class Origin(BaseModel):
    name: str
    description: str
    builtin: bool
    origin: str


class ImporterOut(Origin):
    suffixes: list[str]


class ExporterOut(Origin):
    aliases: list[str]
    media_type: str
    changelog: bool


class ViewOut(Origin):
    label_vi: str
    label_en: str
    title_vi: str
    title_en: str
    ref_kinds: list[str] | None


class RuleOut(BaseModel):
    code: str
    severity: str
    check: str
    description: str
    description_vi: str = ""
    message_vi: str
    message_en: str
    origin: str


def _origin(registry: Any, name: str) -> dict[str, Any]:
    origin = registry.origin(name)
    return {"name": name, "builtin": origin.startswith("built-in "), "origin": origin}


@router.get(
    "/importers",
    summary="The import formats: built-in importers and installed extensions'",
    response_model=list[ImporterOut],
    responses=READ_ERRORS,
)
def importers(principal: PrincipalDep) -> list[dict[str, Any]]:
    from importers.base import IMPORTERS

    require(principal, "read")
    return [
        {**_origin(IMPORTERS, n), "description": str(i.description), "suffixes": list(i.suffixes)}
        for n, i in IMPORTERS.items().items()
    ]


@router.get(
    "/exporters",
    summary="The export formats: built-in exporters and installed extensions'",
    response_model=list[ExporterOut],
    responses=READ_ERRORS,
)
def exporters(principal: PrincipalDep) -> list[dict[str, Any]]:
    from importers.exports import EXPORTERS

    require(principal, "read")
    return [
        {
            **_origin(EXPORTERS, n),
            "description": e.description,
            "aliases": list(e.aliases),
            "media_type": e.media_type,
            "changelog": e.changelog,
        }
        for n, e in EXPORTERS.items().items()
    ]


@router.get(
    "/views",
    summary="The diagram views: built-in views and installed extensions'",
    response_model=list[ViewOut],
    responses=READ_ERRORS,
)
def views(principal: PrincipalDep) -> list[dict[str, Any]]:
    from diagrams.registry import VIEWS, registry

    require(principal, "read")
    return [
        {
            **_origin(VIEWS, n),
            "description": str(v.description),
            "label_vi": v.label.vi,
            "label_en": v.label.en,
            "title_vi": v.title.vi,
            "title_en": v.title.en,
            "ref_kinds": None if v.ref_kinds is None else list(v.ref_kinds),
        }
        for n, v in registry().items()
    ]


@router.get(
    "/rules",
    summary="The compliance rules that run: built-in, installed extensions' and the rules file's",
    response_model=list[RuleOut],
    responses=READ_ERRORS,
)
def rules(principal: PrincipalDep) -> list[dict[str, Any]]:
    from catalog.compliance import RULES, load_rules

    require(principal, "read")
    return [
        {
            "code": r.code,
            "severity": r.severity,
            "check": r.check,
            "description": r.description.en,
            "description_vi": r.description.vi,
            "message_vi": r.message.vi,
            "message_en": r.message.en,
            "origin": RULES.origin(r.code) if r.code in RULES and RULES.get(r.code) is r else "rules file",
        }
        for r in load_rules()
    ]
