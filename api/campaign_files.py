"""The files of an inventory campaign (catalog.campaigns): a department's spreadsheet and the closed result.

- :func:`department_workbook`: a department's own rows (exactly the entities of the campaign it answers for), one
  sheet per kind in the spreadsheet importer's layout (importers.spreadsheet: every column, bilingual headers), so
  the file a department fills in goes back through the editor's import (``/import``, one change set through
  catalog.changeset.submit: a draft where the approval policy says so).
- :func:`result_workbook`: the closed campaign's frozen result in Vietnamese, in the layout a city office forwards:
  a summary per organisation (done, retired, in review, missing, overdue, keep, terminate) and one row per entity.
- :func:`result_bundle`: the audit bundle (diagrams.bundle) of the closing day.

Both workbooks are written by the one XLSX writer (catalog.sheets.write_xlsx).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from catalog.campaigns import Campaign, tasks
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import format_date, msg
from catalog.sheets import Sheet, write_xlsx
from catalog.store.base import CatalogStore

_STAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _stamp(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)


def department_workbook(store: CatalogStore, camp: Campaign, owners: set[str] | None) -> bytes:
    """The rows of the entities whose owner is in ``owners`` (None: every one in scope), in the import layout."""
    from importers.spreadsheet import _entity_row, _is_simple, _text_rows, layout

    mine = [t.entity for t in tasks(store, camp, owners)]
    sheets = []
    for spec in layout(store.metamodel):
        if spec.role == "owner_history":  # the ownership periods of these rows, as the full export writes them
            rows = [
                [e.ref, p.org, p.start, p.end, p.event, p.basis]
                for e in mine
                if e.owner_history and not _is_simple(e)
                for p in e.owner_history
            ]
        elif spec.role != "kind" or spec.kind not in camp.kinds:
            continue
        else:
            rows = [_entity_row(e, spec) for e in mine if e.kind == spec.kind]
        if rows:
            sheets.append(Sheet(spec.name, [c.header for c in spec.columns], list(_text_rows(spec, rows)), safe=True))
    if not sheets:
        raise ValidationFailed([FieldError("org", msg("campaign-nothing-to-do"))])
    return write_xlsx(sheets, camp.name, _stamp(camp.opened))


STATUS_VI = {
    "done": msg("campaign-status-done"),
    "gone": msg("campaign-status-gone"),
    "review": msg("campaign-status-review"),
    "todo": msg("campaign-status-todo"),
}


def result_workbook(store: CatalogStore, camp: Campaign, lang: str = "vi") -> bytes:
    """The frozen result of a closed campaign (its rows as they were when it closed), in ``lang``."""
    if camp.result is None:
        raise ValidationFailed([FieldError("campaign", msg("campaign-not-closed", name=camp.name))])
    mm = store.metamodel
    result = camp.result
    orgs = store.get_entities(list(camp.orgs))

    def org_name(ref: str | None) -> str:
        e = orgs.get(ref or "") or (store.find_entity(ref) if ref else None)
        return e.name.get(lang) if e is not None else (ref or "")

    def label(kind: str, attr: str, value: Any) -> str:
        spec = mm.kinds.get(kind)
        a = spec.attribute(attr) if spec else None
        if value is None or value == "":
            return ""
        return a.value_label(value, lang) if a is not None else str(value)

    summary_header = [
        msg("ui-campaign-org").text(lang),
        msg("ui-campaign-total").text(lang),
        msg("ui-campaign-done").text(lang),
        msg("ui-campaign-gone").text(lang),
        msg("ui-campaign-review").text(lang),
        msg("ui-campaign-missing").text(lang),
        msg("ui-campaign-overdue").text(lang),
        msg("ui-campaign-keep").text(lang),
        msg("ui-campaign-terminate").text(lang),
    ]
    summary = [
        [
            org_name(r["org"]),
            r["total"],
            r["done"],
            r["gone"],
            r["review"],
            r["missing"],
            r["overdue"],
            r["keep"],
            r["terminate"],
        ]
        for r in result["dashboard"]
    ]
    questions = list(camp.questions)
    q_labels = []
    for q in questions:
        spec = next((mm.kinds[k] for k in camp.kinds if k in mm.kinds and mm.kinds[k].attribute(q)), None)
        a = spec.attribute(q) if spec else None
        q_labels.append(a.label.get(lang) if a is not None else q)
    detail_header = [
        msg("ui-campaign-row-number").text(lang),
        msg("ui-campaign-org").text(lang),
        msg("ui-kind").text(lang),
        msg("ui-name").text(lang),
        msg("ui-campaign-status").text(lang),
        *q_labels,
        msg("ui-campaign-last-reviewed").text(lang),
    ]
    detail = []
    for i, row in enumerate(result["rows"], 1):
        kind = row["kind"]
        spec = mm.kinds.get(kind)
        detail.append(
            [
                i,
                org_name(row["owner"]),
                spec.label.get(lang) if spec else kind,
                (row["name"].get(lang) or row["name"].get("vi") or row["ref"]),
                STATUS_VI[row["status"]].text(lang),
                *[label(kind, q, row.get(q)) for q in questions],
                format_date(row.get("last_reviewed"), lang, "short"),
            ]
        )
    title = msg("campaign-result-title", name=camp.name, day=format_date(camp.closed, lang, "short")).text(lang)
    return write_xlsx(
        [
            Sheet(msg("ui-campaign-summary").text(lang), summary_header, summary),
            Sheet(msg("ui-campaign-detail").text(lang), detail_header, detail),
        ],
        title,
        _stamp(camp.closed or camp.opened),
    )


def result_bundle(store: CatalogStore, camp: Campaign, lang: str = "vi") -> bytes:
    """The audit bundle (diagrams.bundle) of the day the campaign closed."""
    from diagrams.bundle import build_bundle

    if camp.closed is None:
        raise ValidationFailed([FieldError("campaign", msg("campaign-not-closed", name=camp.name))])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        build_bundle(store, camp.closed, path, lang)
        return path.read_bytes()


__all__ = ["department_workbook", "result_bundle", "result_workbook"]
