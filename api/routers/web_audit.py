"""The auditor's pages: the change log with values (``/changes``: every entry's fields before and after, who made and
who proposed it, the request and its cause; filters by actor, organisation, kind, operation, period and item;
CSV/XLSX download) and the integrity page (``/integrity``: the chain's head, a full verification with its duration,
and a check of a saved head or an audit bundle against the current log). Both need the ``history`` permission
(auditors, architects, admins).

The integrity checks are the command line's: :meth:`CatalogStore.verify_log` with witnessed heads (``verify-log
--witness``), :func:`catalog.changelog.parse_head` for a pasted head (a line of ``--print-head``) and
:func:`diagrams.bundle.verify_bundle` / :func:`diagrams.bundle.bundle_head` for an audit bundle."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.diagrams import file_headers
from api.routers.web import _day, _form, _store, _who, web
from api.web.context import lang_of, render
from catalog.changelog import parse_head
from catalog.errors import FieldError, ValidationFailed
from catalog.history.changes import (
    OP_LABELS,
    OPERATIONS,
    OTHER_KINDS,
    ChangeFilter,
    describe,
    header,
    kind_options,
    rows,
    select,
)
from catalog.i18n import msg, term
from catalog.sheets import Sheet, write_csv, write_xlsx

router = APIRouter(include_in_schema=False)

PAGE = 100  # entries on one page of the change log
EXPORT = 5000  # entries in one download


def _filter(request: Request) -> ChangeFilter:
    q = request.query_params
    store = _store(request)
    op = q.get("op", "").strip()
    kind = q.get("kind", "").strip()
    org = q.get("org", "").strip()[:200]
    errors = []
    if op and op not in OPERATIONS:
        errors.append(FieldError("op", msg("value-one-of", allowed=[term(o, OP_LABELS[o]) for o in OPERATIONS])))
    kinds = {**{k: spec.label for k, spec in store.metamodel.kinds.items()}, **OTHER_KINDS}  # the filter's choices
    if kind and kind not in kinds:
        errors.append(FieldError("kind", msg("value-one-of", allowed=[term(k, label) for k, label in kinds.items()])))
    if errors:
        raise ValidationFailed(errors)
    return ChangeFilter(
        actor=q.get("actor", "").strip()[:100],
        org=org,
        kind=kind,
        op=op,
        ref=q.get("ref", "").strip()[:300],
        since=_day(q.get("since") or None, "since"),
        until=_day(q.get("until") or None, "until"),
    )


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise ValidationFailed([FieldError("before", msg("ui-whole-number"))])
    return int(raw)


def _chosen(store: Any, refs: list[str], lang: str) -> dict[str, dict[str, str]]:
    """The entities the filter names, as the pickers show them when the page opens."""
    found = store.get_entities([r for r in refs if r and ":" in r])
    return {r: {"ref": r, "name": e.name.get(lang)} for r, e in found.items()}


@router.get("/changes")
@web
def changes_page(request: Request) -> Response:
    """The change log, newest first, each entry with its fields before and after."""
    _who(request, "history")
    store, lang = _store(request), lang_of(request)
    flt, before = _filter(request), _before(request)
    fmt = request.query_params.get("format", "")
    if fmt in ("csv", "xlsx"):
        return _export(request, store, flt, before, fmt, lang)
    sel = select(store, flt, limit=PAGE, before=before)
    query = {k: v for k, v in request.query_params.items() if k not in ("before", "format") and v}
    return render(
        request,
        "changes.html",
        rows=describe(store, sel.entries, lang),
        flt=flt,
        query=query,
        next_before=sel.next_before,
        scanned_to=sel.scanned_to if sel.next_before and len(sel.entries) < PAGE else None,
        first_page=before is None,
        kinds=kind_options(store.metamodel, lang),
        chosen=_chosen(store, [flt.org, flt.ref], lang),
        operations=OPERATIONS,
    )


def _export(request: Request, store: Any, flt: ChangeFilter, before: int | None, fmt: str, lang: str) -> Response:
    sel = select(store, flt, limit=EXPORT, before=before)
    table = rows(describe(store, sel.entries, lang))
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = f"change-log-{stamp:%Y%m%dT%H%M%SZ}.{fmt}"
    if fmt == "csv":
        data, media = write_csv(header(lang), table), "text/csv; charset=utf-8"
    else:
        title = msg("ui-change-log").text(lang)
        data = write_xlsx([Sheet(title[:31], header(lang), table)], title, stamp.replace(tzinfo=None))
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers=file_headers(media, name))


# --- integrity ---------------------------------------------------------------------------------------------------


def _integrity(request: Request, **values: Any) -> Response:
    store = _store(request)
    return render(request, "integrity.html", head=store.log_head(), **values)


@router.get("/integrity")
@web
def integrity_page(request: Request) -> Response:
    _who(request, "history")
    return _integrity(request)


@router.post("/integrity/verify")
@web
async def integrity_verify(request: Request) -> Response:
    """Verify the whole chain (and the configured head witness), timed."""
    await _form(request)
    _who(request, "history")
    store = _store(request)
    started = time.perf_counter()
    result = await run_in_threadpool(store.verify_log)
    took = round((time.perf_counter() - started) * 1000)
    return _integrity(request, verified=result, took=took)


@router.post("/integrity/check")
@web
async def integrity_check(request: Request) -> Response:
    """Check a pasted head (a line of ``verify-log --print-head`` or of a witness file) or an uploaded audit bundle
    against the current log."""
    form = await _form(request)
    _who(request, "history")
    store = _store(request)
    pasted = str(form.get("head", "")).strip()[:2000]
    upload = form.get("bundle")
    has_file = upload is not None and bool(getattr(upload, "filename", ""))
    if not pasted and not has_file:
        raise ValidationFailed([FieldError("head", msg("ui-integrity-no-input"))])
    if has_file:
        return await _check_bundle(request, store, upload)
    try:
        head = parse_head(pasted.splitlines()[0], "pasted")
    except ValueError:
        return _integrity(request, head_check={"ok": False, "invalid": True}, pasted=pasted)
    started = time.perf_counter()
    result = await run_in_threadpool(store.verify_log, [head], False)
    took = round((time.perf_counter() - started) * 1000)
    return _integrity(
        request, head_check={"ok": result.ok, "seq": head.seq, "result": result, "took": took}, pasted=pasted
    )


async def _check_bundle(request: Request, store: Any, upload: Any) -> Response:
    from diagrams.bundle import bundle_head, verify_bundle

    limit = request.app.state.settings.max_import_bytes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        size = 0
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed([FieldError("bundle", msg("ui-upload-too-large", limit=limit))])
                out.write(chunk)
        started = time.perf_counter()
        alone = await run_in_threadpool(verify_bundle, path)  # the bundle on its own
        check: dict[str, Any] = {"ok": False, "bundle": alone}
        if alone.ok:
            head = await run_in_threadpool(bundle_head, path)
            with zipfile.ZipFile(path) as z:
                manifest = json.loads(z.read("manifest.json"))
            check["head"] = head
            check["valid_on"] = str(manifest.get("valid_on") or manifest.get("as_of") or "")
            check["recorded_at"] = str(manifest.get("recorded_at") or "")
            period = manifest.get("period") if isinstance(manifest.get("period"), dict) else {}
            check["period"] = (str(period.get("from") or ""), str(period.get("to") or ""))
            live = await run_in_threadpool(store.verify_log, [head], False)  # as verify-log --witness BUNDLE
            check["live"] = live
            check["ok"] = live.ok
        check["took"] = round((time.perf_counter() - started) * 1000)
    return _integrity(request, bundle_check=check)
