"""Diagrams in the web UI's pages (docs/diagrams.md, docs/web.md): a view's page (``/views/{view}``: the IOC
integration view and the others, shown inline with zoom and pan, its scope in its title, downloads beside it) and
what an entity page's context diagram shows (:func:`context_diagram`: drawn as of the last day an entity that is no
longer valid was valid, saying so, or why there is none). The SVG itself comes from ``/download/diagram/{view}.svg``
(api/routers/web.py); api/templates/_diagram.html and api/static/diagram.js put it in the page."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.web import _day, _store, _view_label, _who, web
from api.web.context import lang_of, render
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg

router = APIRouter(include_in_schema=False)

FORMATS = ("svg", "png", "pdf")


def _src(view: str, query: dict[str, str], fmt: str = "svg", inline: bool = False) -> str:
    q = {k: v for k, v in query.items() if v}
    if inline:
        q["inline"] = "1"
    return f"/download/diagram/{view}.{fmt}?{urlencode(q)}"


def context_diagram(
    store: Any, e: Any, day: dt.date | None, lang: str = "vi", valid_on: dt.date | None = None
) -> dict[str, Any]:
    """What the entity page shows as ``e``'s context diagram on ``day`` (None: today; ``valid_on``: that day in the
    world, in the current record): the SVG's URL, the downloads, and a note when it is drawn on another day (the
    last day ``e`` was valid: a merged or dissolved organisation, a retired system) or the reason there is none
    (``e`` is valid only from a later day)."""
    today = valid_on or day or store.clock().date()
    query = {"ref": e.ref, "lang": lang, "as_of": day.isoformat() if day else ""}
    if valid_on is not None:
        query["valid_on"] = valid_on.isoformat()
    note = missing = None
    if e.valid_from is not None and e.valid_from > today:
        missing = msg("ui-diagram-not-yet-valid", name=e.name.get(lang), start=e.valid_from)
    elif e.valid_to is not None and e.valid_to <= today:
        last = e.valid_to - dt.timedelta(days=1)  # valid_to is the first day it is no longer valid
        if e.valid_from is not None and last < e.valid_from:
            missing = msg("ui-diagram-never-valid", name=e.name.get(lang))
        else:
            query["valid_on"] = last.isoformat()
            note = msg("ui-diagram-drawn-on-last-day", name=e.name.get(lang), end=e.valid_to, day=last)
    return {
        "src": _src("context", query, inline=True),
        "downloads": [(f.upper(), _src("context", query, f)) for f in FORMATS],
        "note": note,
        "missing": missing,
    }


@router.get("/views/{view}")
@web
async def view_page(
    request: Request,
    view: str,
    ref: str = "",
    as_of: str = "",
    valid_on: str = "",
    lineage: str = "city",
    depth: str = "1",
    direction: str = "both",
) -> Response:
    """One view drawn inline (zoom, pan, fit), titled with its scope and date, with its options and downloads."""
    _who(request)
    from diagrams import ViewParams, build
    from diagrams.registry import LINEAGES, get_view

    store, lang = _store(request), lang_of(request)
    v = get_view(view[:40])
    if v.name == "diff":  # two dates: the as-of page's forms
        raise ValidationFailed([FieldError("view", msg("ui-diagram-view", views=[v.name]))])
    if lineage not in LINEAGES:
        raise ValidationFailed([FieldError("lineage", msg("value-one-of", allowed=", ".join(LINEAGES)))])
    if not depth.isdigit() or not 0 <= int(depth) <= 6:
        raise ValidationFailed([FieldError("depth", msg("value-one-of", allowed="0–6"))])
    day, valid = _day(as_of[:40], "as_of"), _day(valid_on[:40], "valid_on")
    params = ViewParams(
        ref=ref.strip()[:200] or None,
        as_of=day,
        valid_on=valid,
        lang=lang,
        lineage=lineage,
        depth=int(depth),
        direction=direction[:10],
    )
    diagram = await run_in_threadpool(build, store, v.name, params)  # the title states the scope
    query = {
        "ref": params.ref or "",
        "as_of": day.isoformat() if day else "",
        "valid_on": valid.isoformat() if valid else "",
        "lang": lang,
        "lineage": lineage if v.name == "ioc" and lineage != "city" else "",
        "depth": depth if v.name == "context" and depth != "1" else "",
        "direction": params.direction if v.name == "context" and params.direction != "both" else "",
    }
    return render(
        request,
        "view.html",
        view=v.name,
        view_label=_view_label(v, lang),
        title=diagram.title,
        notes=diagram.notes,
        ref=params.ref or "",
        as_of=day,
        lineage=lineage,
        lineages=LINEAGES,
        src=_src(v.name, query, inline=True),
        downloads=[(f.upper(), _src(v.name, query, f)) for f in FORMATS],
        # opens on what the view is about: its --ref, else its first highlighted node (the IOC)
        focus=params.ref or next((n.ref for n in diagram.nodes.values() if n.highlight == "focus" and n.ref), ""),
    )
