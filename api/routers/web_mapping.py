"""The mapping page: a spreadsheet in a department's own layout, mapped once (docs/spreadsheets.md, importers.mapping).

Upload the file (or start from a saved profile); the page shows the header rows it found (changeable), each column
with the field suggested for it (changeable), a choice for each label or organisation name that fits several, and a
preview of every row (what each becomes, and every refused cell with row, column and reason). Saving keeps the
mapping as a named profile (an editor's: their organisation's); the import itself is the existing import page's
(``POST /import`` with the kept upload and the profile: a dry run, then an import run, or for a department editor one
change set through the approval policy). The upload waits in the import page's private folder under a random token.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.routers import web_import
from api.routers.web import REFUSED, _form, _store, _who, web
from api.routers.web_import import _discard_upload, _mode
from api.web.context import describe, lang_of, render
from catalog.errors import CatalogError, PermissionDenied, ValidationFailed
from catalog.text import fold

router = APIRouter(include_in_schema=False)
VALUES_JSON_CHARS = 400_000  # the value choices carried by the page


def _profiles(request: Request, p: Any) -> list[Any]:
    from importers.mapping import Profiles

    return Profiles(_store(request), p).list()


@router.get("/import/mapping")
@web
def mapping_page(request: Request) -> Response:
    p = _who(request)
    if not _mode(p):
        raise PermissionDenied(REFUSED["import"])
    return render(request, "mapping.html", profiles=_profiles(request, p), sheet=None)


@router.get("/import/mapping/profile.json")
@web
def mapping_profile_json(request: Request, name: str = "") -> Response:
    """A saved profile as JSON (to read it, or to copy it to another catalog)."""
    from importers.mapping import Profiles

    p = _who(request)
    profile = Profiles(_store(request), p).get(name[:200])
    return JSONResponse(profile.to_json())


def _target(value: str, fields: dict[str, Any]) -> list[str]:
    """A column's select value ("", "field" or "field=value") as a profile target; unknown values leave it out."""
    key, _, mark = value.partition("=")
    col = fields.get(key)
    if col is None:
        return []
    return [key, mark] if mark and mark in col.values else [key]


def _profile_data(data: Any, headers: list[str] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The profile the form describes: header rows, each column's target, the value choices (those carried and those
    just made), the name and code prefix."""
    out: dict[str, Any] = {
        "name": str(data.get("name", ""))[:200] or "-",
        "kind": str(data.get("kind", "system"))[:50],
        "header_first": str(data.get("header_first", ""))[:5],
        "header_last": str(data.get("header_last", ""))[:5],
        "code_prefix": str(data.get("code_prefix", ""))[:50],
        "sheet": str(data.get("sheet", ""))[:100] or None,
        "org": str(data.get("org", ""))[:200] or None,  # an editor's profile is their organisation's whatever this says
    }
    if headers is not None:
        cols = {}
        for i, h in enumerate(headers):
            target = _target(str(data.get(f"col.{i}", ""))[:200], fields)
            if h and target:
                cols[h] = target
        out["columns"] = cols
    raw = str(data.get("values_json", ""))[:VALUES_JSON_CHARS]
    try:
        values = json.loads(raw) if raw else {}
    except ValueError:
        values = {}
    values = values if isinstance(values, dict) else {}
    for n in range(500):
        field, said = data.get(f"choice-field.{n}"), data.get(f"choice-said.{n}")
        if field is None or said is None:
            break
        chosen = str(data.get(f"choice.{n}", ""))[:200]
        if chosen and isinstance(values.get(str(field)), dict | None):
            values.setdefault(str(field)[:50], {})[fold(str(said))[:500]] = chosen
    out["values"] = values
    return out


def _shown(value: Any, col: Any, orgs: Any, spec: Any, lang: str) -> str:
    """A mapped value as the preview shows it: an enumeration's label, an organisation's name."""
    if value is None:
        return ""
    if col.type == "enum" and spec is not None:
        return spec.value_label(value, lang)
    if col.type == "ref" and value in orgs.names_of:
        return orgs.names_of[value].get(lang) or value
    return str(value)


@router.post("/import/mapping")
@web
async def mapping_submit(request: Request) -> Response:
    """Read the upload (a new file, or the one kept under ``token``) through the mapping the form describes (or the
    saved profile it starts from), show columns, choices and preview; ``action=save`` saves the profile."""
    from importers.base import ImportFailed, ImportLimits
    from importers.mapping import Orgs, Profile, Profiles, apply, fields_of, read_file, read_sheet, suggest

    p = _who(request)
    if not _mode(p):
        raise PermissionDenied(REFUSED["import"])
    data = await _form(request)
    store, lang = _store(request), lang_of(request)
    mm = store.metamodel
    settings = request.app.state.settings
    limits = ImportLimits.from_settings(settings)
    profiles = await run_in_threadpool(_profiles, request, p)
    page: dict[str, Any] = {"profiles": profiles, "sheet": None}
    path, token = await web_import.receive_upload(data, limits.file_bytes)
    try:
        tables = await run_in_threadpool(read_file, path, limits)
    except ImportFailed as exc:
        _discard_upload(token)
        return render(request, "mapping.html", status=422, failure=exc.text(lang), **page)
    kind = str(data.get("kind", "system"))[:50]
    other_sheet = str(data.get("sheet", "")) != str(data.get("sheet_was", data.get("sheet", "")))
    start = str(data.get("profile", ""))[:200]
    errors: list[str] = []
    saved = None
    if start and not data.get("header_first") and "col.0" not in data:  # start from a saved profile
        profile = await run_in_threadpool(Profiles(store, p).get, start)
        kind = profile.kind
    else:
        if kind not in mm.kinds or not mm.kinds[kind].owned:
            kind = "system"
        fields = {c.key: c for c in fields_of(mm, kind)}
        first = _profile_data(data, None, fields) | {"kind": kind}
        if other_sheet:  # another sheet: its own header rows
            first |= {"header_first": "", "header_last": ""}
        try:
            profile = Profile.from_json(first, mm)
        except ValidationFailed as exc:
            errors += [e.text(lang) for e in exc.errors]
            profile = Profile.from_json({"name": "-", "kind": kind, "values": first["values"]}, mm)
    try:
        sheet = read_sheet(tables, profile)
    except ImportFailed as exc:
        _discard_upload(token)
        return render(request, "mapping.html", status=422, failure=exc.text(lang), **page)
    fields = {c.key: c for c in fields_of(mm, kind)}
    if "col.0" in data and str(data.get("kind_was", "")) == kind and not other_sheet:  # the person's own choices
        described = _profile_data(data, sheet.headers, fields) | {"kind": kind}
        try:
            profile = Profile.from_json(described, mm)
        except ValidationFailed as exc:
            errors += [e.text(lang) for e in exc.errors]
            profile.columns = {fold(h): t for h, t in described.get("columns", {}).items()}
    elif not profile.columns:  # a new file: the suggestions
        targets = suggest(sheet, mm, kind)
        profile.columns = {fold(h): t for h, t in zip(sheet.headers, targets, strict=True) if h and t}
    orgs = await run_in_threadpool(Orgs, store)
    mapped = apply(sheet, profile, mm, orgs, path.name)
    if data.get("action") == "save" and not errors:
        profile.name = " ".join(str(data.get("name", "")).split())
        try:
            saved = await run_in_threadpool(Profiles(store, p).save, profile)
        except ValidationFailed as exc:
            errors += [e.text(lang) for e in exc.errors]
        except CatalogError as exc:
            errors.append(describe(exc, lang))
    targets = suggest(sheet, mm, kind, profile)
    spec = mm.kinds[kind]
    order = list(fields)
    shown_fields = sorted({t[0] for t in targets if t} | {"code"}, key=order.index)
    preview = [
        {
            "row": n,
            "cells": [_shown(v.get(f), fields[f], orgs, spec.attribute(f), lang) for f in shown_fields],
        }
        for n, v in mapped.preview
    ]
    samples = [
        [str(cells[i]) for _, cells in sheet.rows[:3] if i < len(cells) and cells[i] not in (None, "")]
        for i in range(len(sheet.headers))
    ]
    marks = {i for i, s in enumerate(samples) if ": " in sheet.headers[i] or (targets[i] and len(targets[i]) == 2)}
    return render(
        request,
        "mapping.html",
        status=422 if errors else 200,
        token=token,
        filename=path.name,
        kind=kind,
        kinds=[k for k in mm.kinds.values() if k.owned],
        sheet=sheet,
        targets=["=".join(t) for t in targets],
        fields=list(fields.values()),
        spec=spec,
        samples=samples,
        marks=marks,
        choices=[
            {
                "field": c.field,
                "said": c.said,
                "rows": c.rows,
                "candidates": [
                    (v, _shown(v, fields[c.field], orgs, spec.attribute(c.field), lang)) for v, _ in c.candidates
                ],
            }
            for c in mapped.choices.values()
        ],
        values_json=json.dumps(profile.values, ensure_ascii=False),
        preview=preview,
        preview_fields=[fields[f] for f in shown_fields],
        more_rows=max(0, mapped.rows - len(mapped.preview)),
        rejected=[r.text(lang) for r in mapped.rejected],
        rejected_count=len(mapped.rejected),
        left_out=mapped.left_out,
        errors=errors,
        saved=saved,
        name=saved.name if saved else str(data.get("name", ""))[:80] or (start if start else ""),
        sheets=[t.name for t in tables if t.rows or t.header],
        org=profile.org or "",
        orgs=sorted(
            ((ref, name.get(lang) or ref) for ref, name in orgs.names_of.items() if ref in orgs.current_refs),
            key=lambda o: fold(o[1]),
        )
        if p.role != "editor"
        else [],
        code_prefix=profile.code_prefix,
        profiles=profiles,
    )
