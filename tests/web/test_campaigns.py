"""Inventory campaigns in the browser: the architect opens one, the editor of Sở Tài chính ticks and confirms entries
with one answer, the architect's dashboard counts them; both pages at 1366 and 390 px (no horizontal scroll, one
language, no raw codes). Screenshots: docs/img/ui-campaign-*.png (IOC_CATALOG_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import io
from collections.abc import Callable

from web.uitest import Session

CAMP = "kiem-ke-trinh-duyet"


def _width(s: Session) -> int:
    return int(s.page.evaluate("document.documentElement.scrollWidth"))


def test_editor_task_list_and_architect_dashboard(signed_in: Callable[[str | None], Session]) -> None:
    arch = signed_in("architect")
    arch.page.set_viewport_size({"width": 1366, "height": 900})
    arch.goto("/campaigns")
    arch.page.fill("#c-name", "Kiểm kê hệ thống tại Trung tâm dữ liệu")
    arch.page.fill("#c-id", CAMP)
    arch.page.fill("#c-deadline", "2099-12-31")
    arch.page.select_option("#c-orgs", ["organization:hcm-stc", "organization:hcm-snv"])
    with arch.page.expect_navigation():
        arch.page.click("#campaign-open")
    assert arch.page.url.split("?")[0].endswith(f"/campaigns/{CAMP}")
    dash = arch.page.locator("#campaign-dashboard")
    assert "Sở Tài chính" in dash.inner_text() and "organization:" not in dash.inner_text()

    ed = signed_in("editor-stc")
    ed.page.set_viewport_size({"width": 1366, "height": 900})
    ed.goto(f"/campaigns/{CAMP}")
    items = ed.page.locator("#task-list li")
    n = items.count()
    assert n >= 2
    text = ed.page.locator("#task-list").inner_text()
    assert "Chưa xác nhận" in text and "Còn thiếu" in text and "Quyết định duy trì" in text
    assert "decision" not in text and "system:" not in text
    with ed.page.expect_download() as d:  # exactly the department's rows, in the import layout
        ed.page.click("#campaign-sheet")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(d.value.path().read_bytes()))
    rows = sum(ws.max_row - 1 for ws in book.worksheets if ws.title != "owner_history")
    assert rows == n and d.value.suggested_filename == f"kiem-ke-{CAMP}.xlsx"
    ed.shot("campaign-tasks", doc=True)
    ed.page.set_viewport_size({"width": 390, "height": 844})
    assert _width(ed) <= 390
    ed.shot("campaign-tasks-390", doc=True)
    ed.page.set_viewport_size({"width": 1366, "height": 900})
    # tick two, answer keep with a rationale and legal basis, confirm
    names = [ed.page.locator("label[for=t-1] strong").inner_text()]
    ed.page.check("#t-1")
    ed.page.check("#t-2")
    ed.page.select_option("#q-decision", "keep")
    ed.page.fill("#q-decision_rationale", "Đang phục vụ người dân")
    ed.page.fill("#q-decision_legal_basis", "QĐ 123/QĐ-UBND")
    with ed.page.expect_navigation():
        ed.page.click("#campaign-confirm")
    assert "Đã áp dụng 2 thay đổi" in ed.page.locator("#campaign-outcome").inner_text()
    assert ed.page.locator("#task-list li.st-done").count() == 2
    # freshness (CR006, 365 days by default): an entry reviewed in 2024 is flagged in search and on its page, in
    # words; the entry just confirmed is not
    ed.goto("/?q=Hệ thống thư điện tử công vụ")
    stale = ed.page.locator("#list tbody tr", has_text="Hệ thống thư điện tử công vụ").first
    assert "Chưa xác nhận lại (quá hạn rà soát)" in stale.inner_text()
    stale.locator("a").first.click()
    ed.page.wait_for_selector("#entity-findings")
    found = ed.page.locator("#entity-findings").inner_text()
    assert "chưa được xác nhận (rà soát) trong 365 ngày" in found and "CR006" not in found
    ed.goto(f"/?q={names[0]}")
    assert ed.page.locator("#list tbody tr", has_text=names[0]).first.locator(".not-fresh").count() == 0
    arch.goto(f"/campaigns/{CAMP}")
    row = arch.page.locator("#campaign-dashboard tbody tr", has_text="Sở Tài chính")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == str(n) and cells[1] == "2" and cells[6] == "2"  # entries, confirmed, keep
    arch.shot("campaign-dashboard", doc=True)
    arch.page.set_viewport_size({"width": 390, "height": 844})
    assert _width(arch) <= 390
    terminate = row.locator("td").nth(7)  # on a phone every count is in view beside its label, none scrolled away
    box = terminate.bounding_box()
    assert terminate.is_visible() and box is not None and box["x"] + box["width"] <= 390
    assert arch.page.locator("#campaign-dashboard thead").is_hidden()
    arch.shot("campaign-dashboard-390", doc=True)
    # the list of campaigns with the opening form fits a phone too
    arch.goto("/campaigns")
    assert _width(arch) <= 390
    assert "Kiểm kê hệ thống tại Trung tâm dữ liệu" in arch.page.locator("#campaign-list").inner_text()


def test_reminder_reaches_the_editor_and_closing_freezes_the_result(signed_in: Callable[[str | None], Session]) -> None:

    from openpyxl import load_workbook

    arch = signed_in("architect")
    arch.goto("/campaigns")
    arch.page.fill("#c-name", "Kiểm kê Sở Khoa học và Công nghệ")
    arch.page.fill("#c-id", "kiem-ke-dong")
    arch.page.fill("#c-deadline", "2099-06-30")
    arch.page.select_option("#c-orgs", ["organization:hcm-skhcn"])
    # the scope and the questions are the architect's choice: systems only, asked where they are hosted
    for box in arch.page.locator("#c-kinds input[type=checkbox]").all():
        box.set_checked(box.get_attribute("value") == "system")
    arch.page.select_option("#c-questions", ["decision", "hosting"])
    with arch.page.expect_navigation():
        arch.page.click("#campaign-open")
    asked = arch.page.locator("main p", has_text="Nội dung cần xác nhận").first.inner_text()
    assert "Nơi triển khai" in asked and "Quyết định duy trì" in asked and "Căn cứ pháp lý" not in asked
    with arch.page.expect_navigation():
        arch.page.click("#campaign-remind")
    assert "Đã nhắc 1 người" in arch.page.locator("#campaign-outcome").inner_text()  # editor-skhcn
    ed = signed_in("editor-skhcn")
    ed.goto("/notices")
    notice = ed.page.locator("#notices a", has_text="Kiểm kê Sở Khoa học và Công nghệ")
    assert "hạn 30 thg 6, 2099" in notice.inner_text()
    with ed.page.expect_navigation():
        notice.click()
    assert ed.page.url.split("?")[0].endswith("/campaigns/kiem-ke-dong")

    before = arch.page.locator("#campaign-dashboard tbody tr").first.locator("td").all_inner_texts()
    with arch.page.expect_navigation():
        arch.page.click("#campaign-close")
    assert arch.page.locator("h2", has_text="Kết quả đã chốt").count() == 1
    assert arch.page.locator("#campaign-dashboard tbody tr").first.locator("td").all_inner_texts() == before
    assert arch.page.locator("#campaign-close").count() == 0
    with arch.page.expect_download() as d:
        arch.page.click("#campaign-result")
    wb = load_workbook(io.BytesIO(d.value.path().read_bytes()))
    summary = list(wb.worksheets[0].iter_rows(values_only=True))
    assert summary[1][0] == "Sở Khoa học và Công nghệ TP.HCM" and summary[1][1] == before[0]
    arch.shot("campaign-closed", doc=True)
    # the same page in English: English labels only (the campaign's name is what the architect typed)
    arch.goto("/campaigns/kiem-ke-dong?lang=en")
    table = arch.page.locator("#campaign-dashboard").inner_text()
    assert "Organisation" in table and "Terminate" in table and "Cơ quan" not in table and "Duy trì" not in table
    assert arch.page.locator("h2", has_text="Frozen result").count() == 1
    assert "HCMC Department of Science and Technology" in table
