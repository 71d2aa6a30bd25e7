"""Spreadsheet upload in the web UI: a dry run first, then a confirmation (docs/web.md, docs/spreadsheets.md).

Architects and admins (the ``import`` permission) import as the command line does: the confirmation is an import run
(:func:`importers.base.run_import`). A department editor (``write`` within their organisation) gets the same dry run,
as themselves (:func:`importers.base.plan_import`): every row that would change what their organisation and its units
do not own is refused, naming sheet, row and field; confirming imports nothing but hands the change set to
:func:`catalog.changeset.submit`, where the approval policy applies it or makes it one draft, with the dry run's report
attached. The upload waits for its confirmation in a private folder under a random token.
"""

from __future__ import annotations

import functools
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.routers.web import REFUSED, _form, _store, _who, web
from api.web.context import describe, lang_of, may, render
from catalog.errors import CatalogError, FieldError, PermissionDenied, ValidationFailed
from catalog.i18n import Message, msg, text
from catalog.permissions import Principal

router = APIRouter(include_in_schema=False)
UPLOADS = Path(tempfile.gettempdir()) / "ioc-catalog-uploads"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,60}$")  # the token naming a kept upload
NOTE_CHARS = 1_000  # the note an editor sends with the change set


async def receive_upload(data: Any, limit: int) -> tuple[Path, str]:
    """The file of an import form and its token: the upload an earlier step kept under the form's ``token``, or the
    file just sent, saved under a new token (at most ``limit`` bytes: beyond, refused and removed). Errors name the
    field: ``token`` (expired), ``file`` (none chosen, too large)."""
    token = str(data.get("token", ""))
    if token:
        kept = list((UPLOADS / token).iterdir()) if TOKEN_RE.match(token) and (UPLOADS / token).is_dir() else []
        if not kept:
            raise ValidationFailed([FieldError("token", msg("ui-upload-expired"))])
        return kept[0], token
    upload = data.get("file")
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationFailed([FieldError("file", msg("ui-upload-choose-file"))])
    _forget_old_uploads()
    token = secrets.token_urlsafe(24)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename).name)[:100] or "upload"
    path = UPLOADS / token / name
    (UPLOADS / token).mkdir(parents=True, mode=0o700)
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed([FieldError("file", msg("ui-upload-too-large", limit=limit))])
                out.write(chunk)
    except BaseException:
        _discard_upload(token)
        raise
    return path, token


def _forget_old_uploads(hours: int = 24) -> None:
    """Uploads wait for their confirmation in a private folder; a dry run never confirmed goes after a day (a failed
    upload or import is removed at once: :func:`_discard_upload`)."""
    import shutil
    import time

    UPLOADS.mkdir(mode=0o700, exist_ok=True)
    for d in UPLOADS.iterdir():
        if d.is_dir() and time.time() - d.stat().st_mtime > hours * 3600:
            shutil.rmtree(d, ignore_errors=True)


def _discard_upload(token: str) -> None:
    import shutil

    if token:
        shutil.rmtree(UPLOADS / token, ignore_errors=True)


def _mode(p: Principal) -> str:
    """``import`` (an import run), ``plan`` (a change set: department editors) or ``""`` (may not upload)."""
    if may(p, "import"):
        return "import"
    return "plan" if may(p, "write") else ""


def _page(request: Request, mode: str, status: int = 200, **values: Any) -> Response:
    from importers.base import registry

    values.setdefault("report", None)
    values.setdefault("token", "")
    return render(
        request, "import.html", status=status, formats=sorted(registry()), allowed=bool(mode), mode=mode, **values
    )


OP_LABELS = {
    "create": msg("ui-import-op-create"),
    "update": msg("ui-import-op-update"),
    "patch": msg("ui-import-op-update"),
    "link": msg("ui-import-op-link"),
    "relink": msg("ui-import-op-relink"),
}
SHOWN = 200  # the changes a page lists (the draft holds them all)


def change_rows(store: Any, changes: list, lang: str, where: dict[str, str] | None = None) -> list[dict[str, str]]:
    """A change set as people read it: what is done (labelled), to what (kind and name; a connection as its source,
    relationship and target names), where the file says it. The first :data:`SHOWN` changes."""
    mm = store.metamodel
    named: dict[str, str] = {}
    for c in changes:
        if c.op in ("create", "update") and isinstance(c.data.get("name"), dict):
            named[c.ref] = str(c.data["name"].get(lang) or c.data["name"].get("vi") or "")
    ends = {ref for c in changes[:SHOWN] for ref in (c.endpoints() or (c.ref,))} - set(named)
    found = store.get_entities(sorted(ends))
    named |= {ref: e.name.get(lang) for ref, e in found.items()}

    def entity(ref: str) -> str:
        kind = mm.kinds.get(ref.split(":", 1)[0])
        return f"{kind.label.get(lang)} “{named.get(ref) or ref}”" if kind else named.get(ref) or ref

    rows = []
    for c in changes[:SHOWN]:
        if c.is_link:
            source, target = c.endpoints() or (c.ref, "")
            spec = mm.relations.get(str(c.data.get("type", "")))
            what = f"{named.get(source) or source} — {spec.label.get(lang) if spec else c.data.get('type', '')} → "
            what += named.get(target) or target
        else:
            what = entity(c.ref)
        op, at = OP_LABELS.get(c.op), (where or {}).get(c.ref, "")
        if isinstance(at, Message) and at.code == "at-item":  # "row 3 (system:x)": the row says it, the name is shown
            at = at.params.get("where", at)
        rows.append({"op": op.text(lang) if op else c.op, "what": what, "where": text(at, lang)})
    return rows


def review_reasons(store: Any, p: Principal, changes: list, lang: str, origin: str = "import") -> list[str]:
    """Why the approval policy in force would make ``changes`` (from ``origin``: :data:`catalog.policy.ORIGINS`) a
    draft (empty: they would apply at once), told before the confirmation; :func:`catalog.changeset.submit` asks the
    same policy when it is confirmed."""
    from catalog.policy import policy_in_force

    return [text(r, lang) for r in policy_in_force(store.metamodel).review_reasons(store, p, changes, origin=origin)]


@router.get("/import")
@web
def import_page(request: Request) -> Response:
    p = _who(request)
    return _page(request, _mode(p))


def _refused_changes(plan: Any, exc: ValidationFailed) -> list[Any]:
    """A change set's field errors (``changes.<i>.<field>``) at the place the file says each item."""
    from importers.base import Rejection

    out = []
    for e in exc.errors:
        m = re.match(r"^changes\.(\d+)\.?(.*)$", e.location)
        if m and int(m.group(1)) < len(plan.changes):
            ref = plan.changes[int(m.group(1))].ref
            out.append(Rejection(plan.locations.get(ref, ref), m.group(2), e.reason))
        else:
            out.append(Rejection(plan.report.file, e.location, e.reason))
    return out


@router.post("/import")
@web
async def import_submit(request: Request) -> Response:
    """A dry run of the uploaded file, kept (under a random token) only when it finished, for the confirmation;
    the confirmation imports it (an import run) or, for a department editor, submits it as one change set, and
    removes it. An upload whose dry run or import fails, for any reason, is removed at once."""
    p = _who(request)
    mode = _mode(p)
    if not mode:
        raise PermissionDenied(REFUSED["import"])
    from importers.base import ImportFailed, ImportLimits, plan_import, run_import

    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    settings = request.app.state.settings
    limits = ImportLimits.from_settings(settings)
    fmt: Any = str(data.get("format", ""))[:50] or None
    token = str(data.get("token", ""))
    # an upload kept by the mapping page (api/routers/web_mapping.py) comes back for its dry run with ``dry_run``
    confirm = bool(token) and not data.get("dry_run")
    mapping = str(data.get("mapping", ""))[:200]
    if mapping:  # a spreadsheet in its own layout, read through a saved mapping profile (importers.mapping)
        from importers.mapping import importer_for

        try:
            fmt = await run_in_threadpool(importer_for, store, p, mapping, limits)
        except CatalogError:
            _discard_upload(token if TOKEN_RE.match(token) else "")  # no profile: no import
            raise
    path, token = await receive_upload(data, settings.max_import_bytes)
    keep = False
    shown: dict[str, Any] = {"fmt": "" if mapping else fmt or "", "filename": path.name, "mapping": mapping}
    try:
        try:
            if mode == "import":
                report = await run_in_threadpool(
                    functools.partial(run_import, store, path, fmt, principal=p, dry_run=not confirm, limits=limits)
                )
                keep = not confirm and report.status == "finished"
                return _page(request, mode, report=report, token=token if keep else "", **shown)
            plan = await run_in_threadpool(functools.partial(plan_import, store, path, fmt, principal=p, limits=limits))
        except ImportFailed as exc:
            return _page(request, mode, status=422, failure=exc.text(lang))
        status = 422 if plan.report.status == "failed" else 200
        shown |= {"plan": plan, "rows": change_rows(store, plan.changes, lang, plan.locations)}
        digest = plan_digest(plan.changes)
        moved = confirm and plan.ready and str(data.get("plan", "")) != digest  # not what the dry run showed
        if not confirm or not plan.ready or moved:
            keep = plan.ready and (not confirm or moved)
            review = await run_in_threadpool(review_reasons, store, p, plan.changes, lang) if keep else []
            return _page(
                request,
                mode,
                status=409 if moved else status,
                report=plan.report,
                token=token if keep else "",
                review=review,
                digest=digest,
                moved=moved,
                **shown,
            )
        outcome = await _submit_plan(request, p, plan, str(data.get("note", ""))[:NOTE_CHARS])
        if isinstance(outcome, ValidationFailed):
            plan.report.rejected = _refused_changes(plan, outcome)
            return _page(request, mode, status=422, report=plan.report, **shown)
        if isinstance(outcome, CatalogError):
            return _page(
                request, mode, status=outcome.status, report=plan.report, failure=describe(outcome, lang), **shown
            )
        reasons = [text(r, lang) for r in outcome.reasons]
        return _page(request, mode, report=plan.report, outcome=outcome, review=reasons, **shown)
    finally:
        if not keep:
            _discard_upload(token)


def plan_digest(changes: list) -> str:
    """What a dry run showed, in a few characters: the confirmation submits only the change set the editor saw (the
    catalog may change between the two; then the new dry run is shown to be confirmed again)."""
    import hashlib
    import json

    data = json.dumps([c.as_dict() for c in changes], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


async def _submit_plan(request: Request, p: Principal, plan: Any, note: str) -> Any:
    """The plan's change set through the one door for change sets (the approval policy decides: applied at once or
    one draft), with the dry run's report attached; a refusal is returned, not raised, to be shown on the page."""
    from catalog.changeset import submit

    try:
        return await run_in_threadpool(
            functools.partial(
                submit,
                _store(request),
                p,
                plan.changes,
                note=note,
                attachments={"import_report": plan.summary()},
                origin="import",
            )
        )
    except CatalogError as exc:
        return exc
