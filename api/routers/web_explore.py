"""The graph explorer page (``/explore``) and its saved views (docs/web.md, "The graph explorer").

The page is a shell: api/static/explorer.js draws the graph with the vendored Cytoscape.js from
``GET /api/v1/graph/explore`` (:mod:`catalog.explorer`) and runs the analyses through ``/api/v1/analysis/*`` and
``/api/v1/graph/database-users``; the URL holds the whole state, so a view is bookmarked by its address and saved
by name (:mod:`catalog.saved_views`).

``/explore?start=<ref>`` starts from an entity; ``start=<text>`` that names no entity lists what a search finds
(to pick one); ``all=1`` opens the whole landscape (folded by organisation when it is large).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.routers.web import _form, _store, _who, web
from api.web.context import finish, lang_of, render
from catalog.analysis import LABELS
from catalog.i18n import msg
from catalog.metamodel import LIFECYCLE, VALUE_LABELS
from catalog.model import REF_RE
from catalog.saved_views import SavedViews, clean_query

router = APIRouter(include_in_schema=False)


def _strings(lang: str) -> dict[str, str]:
    """What explorer.js writes on the page, in the page's language ({placeholders} filled in by the script)."""
    texts = {
        "loading": msg("ui-explore-js-loading"),
        "shown": msg("ui-explore-js-shown", nodes="{nodes}", edges="{edges}"),
        "truncated": msg("ui-explore-js-truncated"),
        "folded_auto": msg("ui-explore-js-folded-auto"),
        "expand": msg("ui-expand"),
        "collapse": msg("ui-explore-js-collapse"),
        "open_group": msg("ui-explore-js-open-group"),
        "fold_group": msg("ui-explore-js-fold-group"),
        "select": msg("ui-explore-js-select"),
        "selected_two": msg("ui-explore-js-selected-two", a="{a}", b="{b}"),
        "select_hint": msg("ui-explore-select-hint"),
        "impact_title": msg("ui-explore-js-impact-title", name="{name}", count="{count}"),
        "depends_title": msg("ui-explore-js-depends-title", name="{name}", count="{count}"),
        "users_title": msg("ui-explore-js-users-title", name="{name}", count="{count}", orgs="{orgs}"),
        "paths_title": msg("ui-explore-js-paths-title", a="{a}", b="{b}", count="{count}"),
        "spof_title": msg("ui-explore-js-spof-title", count="{count}"),
        "nothing": msg("ui-explore-js-nothing"),
        "more_paths": msg("ui-explore-js-more-paths"),
        "col_name": msg("ui-explore-js-col-name"),
        "col_owner": msg("ui-explore-js-col-owner"),
        "col_hops": msg("ui-explore-js-col-hops"),
        "col_path": msg("ui-explore-js-col-path"),
        "col_reasons": msg("ui-explore-js-col-reasons"),
        "col_how": msg("ui-explore-js-col-how"),
        "through": msg("ui-explore-js-through", name="{name}"),
        "export": msg("ui-explore-js-export"),
        "failed": msg("ui-explore-js-failed"),
        "not_shown": msg("ui-explore-js-not-shown"),
        "show_on_graph": msg("ui-explore-js-show-on-graph"),
        "group_of": msg("ui-explore-js-group-of", name="{name}"),
        "entities_in_group": msg("ui-explore-js-entities-in-group", count="{count}"),
        "articulation_point": msg("ui-explore-js-articulation-point"),
        "high_betweenness": msg("ui-explore-js-high-betweenness", rank="{rank}"),
        "spof_mark": msg("ui-explore-js-spof-mark"),
        "neighbours_hidden": msg("ui-explore-js-neighbours", count="{count}"),
        "relationships": msg("ui-explore-js-relationships"),
        "filters_on": msg("ui-explore-js-filters-on", count="{count}"),
        "matches": msg("ui-explore-js-matches", count="{count}"),
    }
    out = {k: v.text(lang) for k, v in texts.items()}
    out["reason_labels"] = {k: LABELS[k].get(lang) for k in ("articulation_point", "high_betweenness")}  # type: ignore[assignment]
    return out


@router.get("/explore")
@web
def explore_page(
    request: Request,
    start: list[str] = Query([], max_length=200),
    all: str = "",
) -> Response:
    p = _who(request)
    store, lang = _store(request), lang_of(request)
    typed = (start[0] if start else "")[:200]
    refs = [s[:200] for s in start if REF_RE.match(s[:200])]
    found = store.get_entities(sorted(set(refs))) if refs else {}
    candidates = None
    if start and (not refs or len(found) < len(set(refs))):
        from catalog.search import suggest

        candidates = suggest(store, typed, limit=20, principal=p)
        if len(candidates) == 1:  # the one entity the text names: open it
            return finish(
                request,
                RedirectResponse(f"/explore?lang={lang}&start={quote(candidates[0].ref, safe=':')}", status_code=303),
            )
        refs = []
    everything = all == "1" and not refs
    first = found.get(refs[0]) if refs else None
    config: dict[str, Any] = {
        "lang": lang,
        "start": refs,
        "all": everything,
        "strings": _strings(lang),
    }
    views = []
    if p.name != "anonymous":
        views = [{"name": v.name, "query": f"lang={lang}&{v.query}"} for v in SavedViews(store, p).list()]
    return render(
        request,
        "explore.html",
        start=first,
        everything=everything,
        typed="" if refs else typed,
        candidates=candidates,
        config=config,
        views=views,
        lifecycles=[{"value": v, "label": VALUE_LABELS[v].get(lang)} for v in LIFECYCLE],
        relations=[(name, spec) for name, spec in store.metamodel.relations.items() if not spec.derived],
    )


@router.post("/explore/views")
@web
async def save_view(request: Request) -> Response:
    form = await _form(request)
    p = _who(request)
    lang = lang_of(request)
    view = SavedViews(_store(request), p).save(str(form.get("name", ""))[:200], str(form.get("query", ""))[:5000])
    return finish(request, RedirectResponse(f"/explore?lang={lang}&{view.query}", status_code=303))


@router.post("/explore/views/delete")
@web
async def delete_view(request: Request) -> Response:
    form = await _form(request)
    p = _who(request)
    SavedViews(_store(request), p).delete(str(form.get("name", ""))[:200])
    back = clean_query(str(form.get("query", ""))[:5000])
    return finish(request, RedirectResponse(f"/explore?lang={lang_of(request)}&{back}", status_code=303))
