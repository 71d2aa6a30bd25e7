"""Any spreadsheet, mapped once, in a real browser (issue 20, item 3, "Must show"): a department's own workbook (two
title rows, a header merged over two rows in Vietnamese, labels, organisation names; tests/mapping_sheet.py) is mapped
on the mapping page (suggested fields checked, one column changed, the ambiguous organisation chosen), saved as a
profile and imported through the import page; the same file then goes, unattended, through the saved profile from
the command line into a fresh copy of the sample catalog, and both catalogs hold the same systems. The rules:
tests/importers/test_mapping.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conftest import SAMPLE
from mapping_sheet import CHOSEN, EXPECTED, department_workbook
from typer.testing import CliRunner
from web.uitest import Session

from catalog.permissions import Principal
from catalog.store import open_store
from importers.base import run_import
from importers.mapping import Profile, Profiles

SignedIn = Callable[[str | None], Session]
PHONE = {"width": 390, "height": 844}
NAME = "Sở KH&CN - danh mục HTTT (trình duyệt)"


def width(s: Session) -> int:
    return s.page.evaluate("() => document.documentElement.scrollWidth")


def selected_text(s: Session, selector: str) -> str:
    return s.page.eval_on_selector(selector, "el => el.options[el.selectedIndex].text")


def facts(e: dict[str, Any]) -> dict[str, Any]:
    """What a system holds, as the entity API gives it (provenance and times aside)."""
    current = [p["org"] for p in e.get("owner_history") or [] if not p.get("end")]
    keys = ("name", "description", "valid_from", "valid_to", "owner_history", "attributes", "tags")
    return {"owner": current} | {k: e.get(k) for k in keys}


def test_a_department_spreadsheet_mapped_in_the_browser_imports_again_unattended_from_the_cli(
    signed_in: SignedIn, tmp_path: Path
) -> None:
    path = department_workbook(tmp_path / "so-khcn-kiem-ke.xlsx")
    s = signed_in("architect")
    s.goto("/import")
    with s.page.expect_navigation():
        s.page.click("#mapping-link a")
    s.page.set_input_files("#file", str(path))
    with s.page.expect_navigation():
        s.page.click("#mapping-read")
    # the header found under the two title rows, its merged parts joined, fields suggested from the labels
    assert s.page.input_value("#header_first") == "3" and s.page.input_value("#header_last") == "4"
    assert s.page.input_value("#col-0") == ""  # STT: left out
    assert selected_text(s, "#col-1") == "Tên (tiếng Việt)"
    assert selected_text(s, "#col-2") == "Đơn vị chủ quản"
    assert selected_text(s, "#col-3") == "Cấp độ an toàn HTTT"
    assert selected_text(s, "#col-4") == "Đánh dấu: Giai đoạn vòng đời = Đang vận hành"
    assert selected_text(s, "#col-5") == "Đánh dấu: Giai đoạn vòng đời = Đang xây dựng"
    assert selected_text(s, "#col-6") == "Mức độ quan trọng"
    assert "Thông tin hệ thống: Cơ quan chủ quản" in s.page.inner_text("#mapping-columns")
    # the ambiguous organisation is refused until chosen, at its row and column
    refused = s.page.inner_text("#mapping-rejected")
    assert "dòng 5, cột Thông tin hệ thống: Cơ quan chủ quản" in refused and "hãy chọn" in refused
    options = s.page.eval_on_selector_all("#choice-0 option", "els => els.map(e => e.text)")
    assert "Sở Khoa học và Công nghệ TP.HCM" in options and "Sở Khoa học và Công nghệ Hà Nội" in options
    s.shot("mapping-suggested")
    # the person's own choices: the organisation, and the notes column left out
    s.page.select_option("#choice-0", CHOSEN)
    s.page.select_option("#col-7", "")
    with s.page.expect_navigation():
        s.page.click("#mapping-preview")
    assert s.page.is_visible("#mapping-ready")
    preview = s.page.inner_text("#mapping-preview-table")
    for text in ("Hệ thống quản lý đề tài khoa học", "Sở Khoa học và Công nghệ TP.HCM", "Sở Tài chính TP.HCM"):
        assert text in preview, preview
    for text in ("Đang vận hành", "Đang xây dựng", "Cao", "Trung bình", "Thấp"):
        assert text in preview, preview
    for raw in ("organization:", "production", "building", "high"):  # labels, never codes
        assert raw not in s.page.inner_text("main"), raw
    assert "Ghi chú" in s.page.inner_text("#mapping-left-out")
    s.page.evaluate("() => document.querySelector('#mapping-columns').scrollIntoView()")
    s.shot("mapping-page", doc=True)  # docs/web.md (the columns and the preview, with IOC_CATALOG_DOC_SCREENSHOTS=1)
    s.page.set_viewport_size(PHONE)
    assert width(s) <= 390, width(s)
    s.shot("mapping-preview-390")
    s.page.set_viewport_size({"width": 1280, "height": 860})
    s.page.fill("#name", NAME)
    s.page.select_option("#org", CHOSEN)  # an architect may keep it for one office (an editor's is always their own)
    with s.page.expect_navigation():
        s.page.click("#mapping-save")
    assert NAME in s.page.inner_text("#mapping-saved")
    assert f'--mapping "{NAME}"' in s.page.inner_text("#mapping-saved")
    # the import itself is the import page's: a dry run, then the confirmation
    with s.page.expect_navigation():
        s.page.click("#mapping-import")
    assert s.page.locator("#rejections").count() == 0
    assert "3" in s.page.inner_text("#import-report")
    s.shot("mapping-dry-run")
    with s.page.expect_navigation():
        s.page.click("#confirm-import")
    assert s.page.locator("#rejections").count() == 0
    imported = {}
    for ref in EXPECTED:
        r = s.context.request.get(f"{s.base}/api/v1/entities/{ref}")
        assert r.status == 200, (ref, r.status)
        imported[ref] = facts(r.json())
        owner, level, lifecycle, crit = EXPECTED[ref]
        assert imported[ref]["owner"] == [owner]
        assert imported[ref]["attributes"] == {"security_level": level, "lifecycle": lifecycle, "criticality": crit}

    # the saved profile, copied to a fresh sample catalog, imports the same file unattended from the command line
    r = s.context.request.get(f"{s.base}/import/mapping/profile.json?name={quote(NAME)}")
    assert r.status == 200, r.status
    assert r.json()["org"] == CHOSEN and r.json()["name"] == NAME
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url, create=True)
    try:
        assert run_import(store, SAMPLE).loaded
        Profiles(store, Principal("architect", "architect")).save(Profile.from_json(r.json(), store.metamodel))
    finally:
        store.close()
    from api.cli import app

    result = CliRunner().invoke(
        app, ["import", str(path), "--store", url, "--mapping", NAME, "--report", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rejected"] == [] and report["created"] == {"system": 3}
    store = open_store(url)
    try:
        found = store.get_entities(sorted(EXPECTED))
        unattended = {ref: facts(json.loads(e.model_dump_json())) for ref, e in found.items()}
    finally:
        store.close()
    assert unattended == imported
