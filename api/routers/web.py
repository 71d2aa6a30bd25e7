"""The web UI (server-rendered, Jinja2 with autoescaping, Vietnamese by default, ?lang=en for English).

This first version browses: counts per kind, search, lists and entity pages. Forms, sign-in and diagrams arrive with
the web UI issue.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from catalog.store.base import EntityFilter
from catalog.text import vi_sort_key

router = APIRouter(include_in_schema=False)
_env: Environment | None = None


def templates() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                           autoescape=select_autoescape(["html"]))
    return _env


def _lang(lang: str | None) -> str:
    return "en" if lang == "en" else "vi"


@router.get("/", response_class=HTMLResponse)
def index(request: Request, q: str | None = Query(None, max_length=200), lang: str | None = None,
          kind: str | None = Query(None, max_length=50)) -> HTMLResponse:
    store = request.app.state.store
    lg = _lang(lang)
    mm = store.metamodel
    counts = [(spec, store.count_entities(EntityFilter(kind=name))) for name, spec in mm.kinds.items()]
    if q:
        items = store.search(q, limit=50)
    elif kind and kind in mm.kinds:
        items = sorted(store.list_entities(EntityFilter(kind=kind, limit=1000)), key=lambda e: vi_sort_key(e.name.get(lg)))
    else:
        items = []
    html = templates().get_template("index.html").render(lang=lg, counts=counts, q=q or "", items=items,
                                                         kind=kind, mm=mm, revision=store.revision())
    return HTMLResponse(html)


@router.get("/entities/{ref}", response_class=HTMLResponse)
def entity_page(request: Request, ref: str, lang: str | None = None) -> HTMLResponse:
    store = request.app.state.store
    lg = _lang(lang)
    e = store.get_entity(ref)
    rels = store.list_relationships(ref)
    names = store.get_entities([r.source for r in rels] + [r.target for r in rels] + [p.org for p in e.owner_history])
    html = templates().get_template("entity.html").render(lang=lg, e=e, spec=store.metamodel.kind(e.kind),
                                                          rels=rels, names=names, mm=store.metamodel)
    return HTMLResponse(html)
