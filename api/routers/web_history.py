"""The auditor's time machine in the web UI: the catalog on a date (``/asof``) and what changed between two dates
(``/diff``, its diagram and its downloads).

Both clocks, named as in the API and the command line (docs/web.md): ``valid_on`` is the day in the world (default:
today), ``recorded_at`` the instant of the record (default: the current record; under "advanced" on the page). A
record instant before the catalog's first record is answered with the explanation on the page (the demo's record
starts when the demo is built), never with zeros or an error page. Handlers are thin: catalog.history.listing and
catalog.history.diff answer, diagrams draw.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.diagrams import file_headers
from api.routers.web import _store, _view_label, _who, web
from api.web.context import lang_of, render
from api.web.forms import field_label
from catalog.errors import FieldError, ValidationFailed
from catalog.history.snapshot import NothingRecorded, parse_day, parse_instant
from catalog.i18n import msg, text
from catalog.paging import Window, paginate, settings_window, window
from catalog.text import vi_sort_key

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def record_start(store: Any) -> str | None:
    """The time (UTC) of the change log's first entry: where record time starts; None for an empty log."""
    first = store.changelog(limit=1)
    return first[0].time if first else None


@router.get("/asof")
@web
def asof_page(
    request: Request,
    valid_on: str = "",
    recorded_at: str = "",
    kind: str = "system",
    include_ended: int = 0,
    date: str = "",
    limit: str = "",
    offset: str = "",
) -> Response:
    """The catalog on a date; ``date`` is the old name of ``valid_on`` (links made before the two clocks)."""
    from catalog.history.listing import STATUS, entities_on
    from diagrams.registry import registry

    _who(request)
    store, lang = _store(request), lang_of(request)
    day = parse_day((valid_on or date)[:40], "valid_on") or store.clock().date()
    rec = parse_instant(recorded_at[:40], "recorded_at")
    kind = kind if kind in store.metamodel.kinds else "system"
    values: dict[str, Any] = {
        "day": day,
        "recorded_at": rec,
        "recorded_text": recorded_at.strip()[:40],
        "kind": kind,
        "include_ended": bool(include_ended),
        "record_start": record_start(store),
        "views": ("ioc", "landscape"),
        "all_views": {name: _view_label(v, lang) for name, v in registry().items() if name != "diff"},
        "refused": None,
        "listed_status": lambda status: text(STATUS[status], lang),
        "counts": {},
        "items": None,
        "names": {},
        "relationships": 0,
    }
    try:
        listing = entities_on(store, kind, day, rec, bool(include_ended))  # the one kind listed (counts: the snapshot)
    except NothingRecorded as exc:
        values["refused"] = exc.text(lang)
        return render(request, "asof.html", **values)
    snap = listing.snapshot
    counts = dict.fromkeys(store.metamodel.kinds, 0)
    for e in snap.entities.values():
        counts[e.kind] = counts.get(e.kind, 0) + 1
    items = sorted(
        (x for x in listing.items if x.kind == kind),
        key=lambda x: (x.status == "valid", vi_sort_key(x.name.get(lang) or x.name.get("vi") or "")),  # ended first
    )
    owners = {x.owner for x in items if x.owner} | {r for x in items for r in x.into}
    values.update(
        counts=counts,
        items=paginate(items, settings_window(request.app.state.settings, limit, offset)),
        names={ref: snap.entity(ref) for ref in owners if snap.entity(ref) is not None},
        relationships=len(snap.relationships),
    )
    return render(request, "asof.html", **values)


def _diff_args(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "from_day": q.get("from", "")[:40],
        "to_day": q.get("to", "")[:40],
        "recorded_from": q.get("recorded_from", "")[:40] or None,
        "recorded_to": q.get("recorded_to", "")[:40] or None,
        "org": q.get("org", "").strip()[:200] or None,
        "kind": q.get("kind", "").strip()[:50] or None,
    }


def labels(store: Any, lang: str) -> dict[str, Any]:
    """What the diff page shows for the codes a diff holds: kinds, relationship types, changes, reasons, events."""
    from catalog.history.diff import CHANGES, REASONS
    from catalog.metamodel import EVENT_LABELS

    mm = store.metamodel

    def kind_label(kind: str) -> str:
        return mm.kinds[kind].label.get(lang) if kind in mm.kinds else kind

    def rel_label(type_: str) -> str:
        return mm.relations[type_].label.get(lang) if type_ in mm.relations else type_

    def field_text(kind: str, field: str) -> str:
        return field_label(mm.kinds.get(kind), field, lang)

    def value_text(kind: str, field: str, value: Any) -> str:
        """A field's value as people read it: a text in the page's language, an allowed value by its label."""
        if value is None or value == "" or value == []:
            return "∅"
        if isinstance(value, dict) and set(value) <= {"vi", "en"}:
            return value.get(lang) or value.get("vi") or "∅"
        spec = mm.kinds.get(kind)
        a = spec.attribute(field.removeprefix("attributes.")) if spec and field.startswith("attributes.") else None
        if a is not None and isinstance(value, str):
            return a.value_label(value, lang)
        if isinstance(value, list):
            return ", ".join(str(x.get("org", "…")) if isinstance(x, dict) else str(x) for x in value)
        return str(value)

    return {
        "field_text": field_text,
        "value_text": value_text,
        "kind_label": kind_label,
        "rel_label": rel_label,
        "change_label": lambda code: text(CHANGES[code], lang),
        "reason_label": lambda code: text(REASONS[code], lang) if code in REASONS else "",
        "event_label": lambda code: EVENT_LABELS[code].get(lang) if code in EVENT_LABELS else code,
    }


@router.get("/diff")
@web
async def diff_page(request: Request) -> Response:
    """What changed between two dates; without dates, the form (from 2025-02-01 to today on a catalog whose
    history reaches back that far is the auditor's usual question)."""
    from catalog.history.diff import diff

    _who(request)
    store, lang = _store(request), lang_of(request)
    args = _diff_args(request)
    from api.routers.web_search import picked

    chosen = picked(store, [args["org"] or ""], lang)  # the organisation picker's initial option (by name)
    values: dict[str, Any] = {
        "args": args,
        "result": None,
        "refused": None,
        "record_start": record_start(store),
        "chosen": chosen,
        **labels(store, lang),
    }
    if args["from_day"] or args["to_day"]:
        if not args["to_day"]:
            args["to_day"] = store.clock().date().isoformat()
        try:
            result = await run_in_threadpool(lambda: diff(store, **args))
        except NothingRecorded as exc:
            values["refused"] = exc.text(lang_of(request))
        else:
            q = request.query_params
            win = settings_window(request.app.state.settings, q.get("limit"), None)
            parts = {
                name: getattr(result, name)
                for name in ("organisations", "moved", "added", "removed", "changed")
                + ("relationships_added", "relationships_removed", "relationships_changed")
            }
            values["result"] = result
            values["pages"] = {  # each table its own page, its own offset parameter (the pager keeps the others)
                name: paginate(items, Window(win.limit, window(None, q.get(f"{name}_offset")).offset), f"{name}_offset")
                for name, items in parts.items()
            }
    return render(request, "diff.html", **values)


@router.get("/diff/diagram.{fmt}")
@web
async def diff_diagram(request: Request, fmt: str) -> Response:
    """The diff diagram (diagrams' ``diff`` view) drawn from the same two snapshots the page compares, under the
    diagrams' size budget and render time limit (settings diagram_max_nodes/edges, render_timeout_seconds; over the
    budget, collapsed by organisation; ``detail=full`` or ``expand=<organisation>`` as for every view)."""
    from catalog.history.snapshot import load_snapshot
    from diagrams.dot import to_dot
    from diagrams.registry import ViewParams, budget, registry
    from diagrams.render import render as render_dot

    _who(request)
    media = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}
    if fmt not in media:
        raise ValidationFailed([FieldError("format", msg("ui-diagram-format"))])
    store, args = _store(request), _diff_args(request)
    start, end = parse_day(args["from_day"], "from"), parse_day(args["to_day"], "to")
    if start is None or end is None or start > end:
        raise ValidationFailed([FieldError("from", msg("diff-from-after-to", start=start, end=end))])
    rec1 = parse_instant(args["recorded_from"], "recorded_from")
    rec2 = parse_instant(args["recorded_to"], "recorded_to")

    settings = request.app.state.settings
    params = ViewParams(
        lang=lang_of(request),
        detail="full" if request.query_params.get("detail") == "full" else "auto",
        expand=request.query_params.get("expand", "").strip()[:200] or None,
        max_nodes=settings.diagram_max_nodes,
        max_edges=settings.diagram_max_edges,
    )

    def draw() -> bytes:
        s1, s2 = load_snapshot(store, rec1, start), load_snapshot(store, rec2, end)
        diagram = budget(store, registry()["diff"].draw(s1, s2, params), params)  # type: ignore[attr-defined]
        return render_dot(to_dot(diagram, store.metamodel), fmt, pdf_date=end, timeout=settings.render_timeout_seconds)

    data = await run_in_threadpool(draw)
    inline = request.query_params.get("inline") == "1"
    name = None if inline else f"diff-{start}-{end}.{fmt}"
    return Response(data, media_type=media[fmt], headers=file_headers(media[fmt], name))


@router.get("/download/diff.{fmt}")
@web
async def download_diff(request: Request, fmt: str) -> Response:
    """The diff as CSV, XLSX or JSON (the rows of ``ioc-catalog diff``), labels in the page's language."""
    import json

    from catalog.history.diff import diff

    _who(request, "export")
    if fmt not in ("csv", "xlsx", "json"):
        raise ValidationFailed([FieldError("format", msg("value-one-of", allowed="csv, xlsx, json"))])
    store, lang = _store(request), lang_of(request)
    d = await run_in_threadpool(lambda: diff(store, **_diff_args(request)))
    name = f"diff-{d.from_day}-{d.to_day}.{fmt}"
    if fmt == "json":
        data, media = json.dumps(d.to_json(), ensure_ascii=False, indent=1).encode(), "application/json"
    elif fmt == "csv":
        data, media = d.to_csv(lang, store.metamodel), "text/csv; charset=utf-8"
    else:
        data, media = await run_in_threadpool(d.to_xlsx, lang, store.metamodel), XLSX
    return Response(data, media_type=media, headers=file_headers(media, name))
