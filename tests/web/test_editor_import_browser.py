"""A department editor's spreadsheet in a real browser at 390 px (headless chromium, tests/web/uitest.py): the page
says the file is limited to their organisation, the dry run lists the changes by kind and name and says they go to
review as one draft, the confirmation links the draft, and nothing scrolls sideways. The rules themselves:
tests/importers/test_editor_import.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from web.uitest import Session

SignedIn = Callable[[str | None], Session]
PHONE = {"width": 390, "height": 844}
SKHCN = "organization:hcm-skhcn"


def workbook(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "system"
    ws.append(["code", "name_vi", "owner", "lifecycle"])
    ws.append(["hcm-so-hoa-ho-so-kh", "Hệ thống số hoá hồ sơ khoa học", SKHCN, "building"])
    rs = wb.create_sheet("relationships")
    rs.append(["type", "source", "target"])
    rs.append(["hosted_on", "system:hcm-so-hoa-ho-so-kh", "platform:hcm-ttdl"])
    wb.save(path)
    return path


def width(s: Session) -> int:
    return s.page.evaluate("() => document.documentElement.scrollWidth")


def test_an_editors_spreadsheet_becomes_a_draft_on_a_phone(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("editor-skhcn")
    s.page.set_viewport_size(PHONE)
    s.goto("/import")
    assert "Sở Khoa học và Công nghệ TP.HCM" in s.page.inner_text("#import-scope")
    assert s.page.locator("#import-refused").count() == 0
    s.page.set_input_files("#file", str(workbook(tmp_path / "so-khcn.xlsx")))
    with s.page.expect_navigation():
        s.page.click("#dry-run")
    changes = s.page.inner_text("#plan-changes")
    assert "Tạo mới: Hệ thống thông tin “Hệ thống số hoá hồ sơ khoa học”" in changes
    assert "Thêm kết nối" in changes and "system:" not in changes
    assert "sẽ gửi thành một bản nháp để duyệt" in s.page.inner_text("#plan-next")
    assert s.page.locator("#plan-reasons li").count() >= 1  # why: a new system
    assert width(s) <= 390, width(s)
    s.shot("editor-import-dry-run-390", doc=True)
    s.page.fill("#note", "Hệ thống mới của phòng Quản lý khoa học")
    with s.page.expect_navigation():
        s.page.click("#confirm-import")
    assert s.page.is_visible("#draft-link")
    assert width(s) <= 390, width(s)
    s.shot("editor-import-drafted-390")
    with s.page.expect_navigation():
        s.page.click("#draft-link")
    assert "Hệ thống số hoá hồ sơ khoa học" in s.page.inner_text("main")
    s.goto("/entities/system:hcm-so-hoa-ho-so-kh")
    assert s.page.locator("#entity-name").count() == 0  # a draft: not in the catalog yet
