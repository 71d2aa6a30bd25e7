"""Finding things by name in the web UI: the search page (``/``), the suggestions every picker fetches
(``/search.json``, the same service as ``GET /api/v1/search``), and the impact page (``/impact``) with its
XLSX/CSV exports (``/impact.xlsx``, ``/impact.csv``).

Thin like the rest of the UI: the ranking and the description of each hit are :mod:`catalog.search`'s, the
impact is :func:`catalog.analysis.impact_report`, the files are :mod:`catalog.sheets`'. The impact page accepts a
reference or any text: text that names no entity exactly lists the entities it finds to choose from, in the page's
language, and the form keeps what was typed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.routers.web import _download, _signin_redirect, _sorted, _store, _view_label, _who, web
from api.web.context import lang_of, principal_of, render
from catalog.i18n import msg
from catalog.model import REF_RE
from catalog.paging import Page, paginate, settings_window
from catalog.permissions import Principal
from catalog.search import MAX_QUERY, Hit, describe, parse_kinds, suggest
from catalog.store.base import EntityFilter

router = APIRouter(include_in_schema=False)

IMPACT_KINDS = ("database", "platform", "service", "system")  # what an outage is asked about
SEARCH_RESULTS = 50  # the search page's ranked results
SUGGESTIONS = 15  # a picker's, by default
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def picked(store: Any, refs: list[str], lang: str) -> dict[str, dict[str, Any]]:
    """The pickers' initial options: each existing entity of ``refs`` as a hit in ``lang`` (by ref)."""
    found = store.get_entities(sorted({r for r in refs if r and REF_RE.match(r)}))
    return {h.ref: h.to_json(lang) for h in describe(store, list(found.values()))}


@router.get("/")
@web
def index(request: Request, q: str = "", kind: str = "", offset: str = "", limit: str = "") -> Response:
    p = principal_of(request)
    if p is None:
        return _signin_redirect(request)
    store, lang = _store(request), lang_of(request)
    q, kind = q[:MAX_QUERY], kind[:50]
    mm = store.metamodel
    counts = [(spec, store.count_entities(EntityFilter(kind=name))) for name, spec in mm.kinds.items()]
    hits: Page[Hit] | None = None
    w = settings_window(request.app.state.settings, limit, offset)
    if q.strip():
        hits = paginate(suggest(store, q, limit=SEARCH_RESULTS, principal=p, home=_home(request)), w)
    elif kind in mm.kinds:
        listed = paginate(_sorted(store.list_entities(EntityFilter(kind=kind, limit=1_000_000)), lang), w)
        hits = Page(describe(store, listed.items), listed.total, listed.offset, listed.limit)
    from catalog.compliance import check_entities
    from diagrams.registry import registry

    # freshness (compliance rule CR006): the entries of this page that no one has confirmed for the set period
    page_refs = [h.entity.ref for h in hits.items] if hits else []
    stale = {f.ref for f in check_entities(store, page_refs, rules=["CR006"])} if page_refs else set()
    views = registry()
    return render(
        request,
        "index.html",
        counts=counts,
        q=q,
        hits=hits,
        stale=stale,
        kind=kind,
        revision=store.revision(),
        views={name: _view_label(views[name], lang) for name in ("ioc", "landscape") if name in views},
    )


@router.get("/search.json")
@web
def search_json(request: Request, q: str = "", kind: str = "", limit: int = SUGGESTIONS) -> Response:
    """What a picker offers while someone types: :func:`catalog.search.suggest` for the signed-in user, in the
    page's language."""
    p = _who(request)
    store, lang = _store(request), lang_of(request)
    hits = suggest(store, q[:MAX_QUERY], parse_kinds(store, kind[:200]), max(1, min(limit, 50)), p, home=_home(request))
    return JSONResponse({"items": [{**h.to_json(lang), "url": f"/entities/{h.ref}"} for h in hits]})


def _home(request: Request) -> str | None:
    """The ``search_home`` setting: whose province or city ranks first for people without an organisation."""
    return getattr(request.app.state.settings, "search_home", None)


def _impact_choice(store: Any, typed: str, p: Principal, home: str | None) -> tuple[Any, list[Hit]]:
    """The entity ``typed`` names (a reference, or a name or code matching exactly), else the ones it finds."""
    if REF_RE.match(typed):
        found = store.find_entity(typed)
        if found is not None:
            return found, []
    hits = suggest(store, typed, IMPACT_KINDS, 20, p, home=home)
    exact = [h for h in hits if h.match == "exact"]
    if len(exact) == 1:
        return exact[0].entity, []
    return None, hits


@router.get("/impact")
@web
def impact_page(request: Request, ref: str = "", offset: str = "", limit: str = "") -> Response:
    p = _who(request)
    from catalog.analysis import impact_report

    store, lang = _store(request), lang_of(request)
    typed = ref.strip()[:MAX_QUERY]
    choices: list[Any] = []
    focus, report, shown, status, problem = None, None, None, 200, ""
    if typed:
        focus, choices = _impact_choice(store, typed, p, _home(request))
        if focus is None and not choices:
            status = 404
            problem = msg("ui-impact-nothing-found", text=typed).text(lang)
    if focus is not None:
        w = settings_window(request.app.state.settings, limit, offset)
        report = impact_report(store, focus.ref, limit=w.limit, offset=w.offset)
        shown = Page.of(report.items, report.total, w)
    return render(
        request,
        "impact.html",
        status=status,
        typed=typed,
        focus=focus,
        initial=picked(store, [focus.ref], lang).get(focus.ref) if focus is not None else None,
        choices=choices,
        report=report,
        shown=shown,
        problem=problem,
        kinds=",".join(IMPACT_KINDS),
    )


@router.get("/impact.{fmt}")
@web
def impact_export(request: Request, fmt: str, ref: str = "") -> Response:
    """Every item of the impact of ``ref`` as XLSX or CSV: the API's columns, labels in the page's language."""
    _who(request)
    from catalog.analysis import LABELS, impact_report
    from catalog.errors import FieldError, ValidationFailed
    from catalog.sheets import Sheet, write_csv, write_xlsx

    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed([FieldError("format", msg("ui-impact-export-format"))])
    store, lang = _store(request), lang_of(request)
    focus = store.get_entity(ref.strip()[:MAX_QUERY])
    report = impact_report(store, focus.ref, limit=10**9)
    header = [LABELS[c].get(lang) for c in report.COLUMNS]
    rows = report.rows(lang)
    name = "impact-" + re.sub(r"[^A-Za-z0-9._-]", "_", focus.ref.replace(":", "-")) + "." + fmt
    if fmt == "csv":
        return _download(write_csv(header, rows), "text/csv; charset=utf-8", name, request)
    title = msg("ui-impact-title-of", name=focus.name.get(lang)).text(lang)
    stamp = store.clock().astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    sheet = Sheet(msg("ui-impact").text(lang), header, rows)
    return _download(write_xlsx([sheet], title, stamp), XLSX, name, request)


__all__ = ["IMPACT_KINDS", "picked", "router"]
