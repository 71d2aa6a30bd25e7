"""The auditor's time machine in the browser: the catalog on a valid date (2025-02-01: Sở TT&TT TP.HCM, Bình Dương
and Bà Rịa – Vũng Tàu as they were, with their systems; today: merged), a record instant before the first record
(explained, not zeros), the IOC diagram download for that date, and the diff page between the two dates with the
ownership moves, the merger events and their legal basis, the diagram and the downloads. Every page fits 390 px and
speaks one language. Screenshots: docs/img/timemachine-*.png (with IOC_CATALOG_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable
from pathlib import Path

from web.uitest import DOC_IMG, Session

SignedIn = Callable[[str | None], Session]
BEFORE = "2025-02-01"
TODAY = dt.date.today().isoformat()
HCM_STTT = "Sở Thông tin và Truyền thông TP.HCM"
BD_STTT = "Sở Thông tin và Truyền thông tỉnh Bình Dương"
BRVT_STTT = "Sở Thông tin và Truyền thông tỉnh Bà Rịa – Vũng Tàu"
BD_UBND = "UBND tỉnh Bình Dương"
HCM_SKHCN = "Sở Khoa học và Công nghệ TP.HCM"


def _doc(s: Session, name: str, selector: str = "main") -> None:
    """A screenshot for docs/web.md (only when asked: IOC_CATALOG_DOC_SCREENSHOTS=1), the top of ``selector``;
    always a whole-page one in the artifacts."""
    s.shot(name)
    if os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        box = s.page.locator(selector).first.bounding_box()
        assert box is not None
        top = box["y"] + s.page.evaluate("window.scrollY")  # the box is relative to the viewport
        clip = {"x": 0, "y": top, "width": 1280, "height": min(box["height"], 900)}
        s.page.screenshot(path=str(DOC_IMG / f"{name}.png"), full_page=True, clip=clip)


def _fits_390(s: Session, path: str) -> None:
    s.page.set_viewport_size({"width": 390, "height": 800})
    s.goto(path)
    width = s.page.evaluate("document.documentElement.scrollWidth")
    wide = s.page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 392)"
        ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert width <= 390, f"{path} is {width} px wide at 390: {wide}"
    s.page.set_viewport_size({"width": 1280, "height": 860})


def _rows(s: Session, table: str) -> dict[str, str]:
    """Rows of a table by their data-ref, as the reader sees them."""
    out = {}
    for row in s.page.locator(f"{table} tbody tr[data-ref]").all():
        out[row.get_attribute("data-ref") or ""] = row.inner_text()
    return out


def test_auditor_sees_the_city_on_a_valid_date_then_merged(signed_in: SignedIn) -> None:
    s = signed_in("auditor")
    s.goto("/asof")
    # the main control is the valid date, with one sentence; the record clock sits under "advanced", closed
    assert s.page.locator("label[for=valid_on]").inner_text() == "Ngày hiệu lực"
    assert s.page.locator("#valid-on-help").is_visible()
    assert not s.page.locator("#recorded_at").is_visible()
    s.page.fill("#valid_on", BEFORE)
    with s.page.expect_navigation():
        s.page.click("#asof-form button[type=submit]")
    s.page.click(".kinds a:has-text('Tổ chức')")
    s.page.wait_for_url("**kind=organization**")
    orgs = _rows(s, "#asof-list")
    for ref in ("organization:hcm-sttt", "organization:bd-sttt", "organization:brvt-sttt", "organization:bd-ubnd"):
        assert ref in orgs, ref
    assert HCM_STTT in orgs["organization:hcm-sttt"] and BD_UBND in orgs["organization:bd-ubnd"]
    assert "organization:hcm-snnmt" not in orgs  # created by the 1 March 2025 merger
    summary = s.page.inner_text("#asof-summary")
    assert "Hiệu lực ngày 1 thg 2, 2025" in summary and "theo bản ghi hiện tại" in summary
    # their systems, with the owner they had on that day
    s.page.click(".kinds a:has-text('Hệ thống')")
    s.page.wait_for_url("**kind=system**")
    systems = _rows(s, "#asof-list")
    assert HCM_STTT in systems["system:hcm-cong-1022"]
    bd = [text for text in systems.values() if BD_STTT in text]
    brvt = [text for text in systems.values() if BRVT_STTT in text]
    assert bd and brvt, "the Bình Dương and Bà Rịa – Vũng Tàu departments own systems on 2025-02-01"
    _doc(s, "timemachine-asof-2025")

    # an entity opens on that day: its owner then, its relationships then, its context diagram on that day
    s.page.click("#asof-list a >> text=Cổng thông tin 1022")
    s.page.wait_for_url(f"**/entities/system:hcm-cong-1022?valid_on={BEFORE}*")
    assert "Hiệu lực ngày 1 thg 2, 2025" in s.page.inner_text("#valid-on")
    assert s.page.inner_text("#owner-then") == HCM_STTT
    assert f"valid_on={BEFORE}" in (s.page.get_attribute("#context-diagram", "data-src") or "")
    s.page.go_back()

    # the IOC diagram for that date (the download on the page) answers and differs from today's
    old = s.page.request.get(s.base + (s.page.get_attribute("#dl-ioc-svg", "href") or ""))
    now = s.page.request.get(s.base + "/download/diagram/ioc.svg")
    assert old.ok and now.ok and old.body() != now.body()
    assert HCM_STTT in old.text() and HCM_STTT not in now.text()

    # today: merged; with the ended ones, each says how it ended and into what
    s.goto(f"/asof?valid_on={TODAY}&kind=organization")
    orgs = _rows(s, "#asof-list")
    assert "organization:hcm-sttt" not in orgs and "organization:bd-ubnd" not in orgs
    s.page.check("input[name=include_ended]")
    with s.page.expect_navigation():
        s.page.click("#asof-form button[type=submit]")
    orgs = _rows(s, "#asof-list")
    assert "Đã hợp nhất" in orgs["organization:hcm-sttt"] and HCM_SKHCN in orgs["organization:hcm-sttt"]
    assert (
        "Đã hợp nhất" in orgs["organization:bd-ubnd"] and "UBND Thành phố Hồ Chí Minh" in orgs["organization:bd-ubnd"]
    )
    _doc(s, "timemachine-asof-today")
    s.goto(f"/asof?valid_on={TODAY}&kind=system")
    assert HCM_SKHCN in _rows(s, "#asof-list")["system:hcm-cong-1022"]

    # a record instant before the catalog's first record: the explanation, in the page's language, not zeros
    s.goto(f"/asof?valid_on={BEFORE}")
    s.page.click("#asof-advanced summary")
    assert s.page.locator("#recorded-at-help").is_visible() and s.page.locator("#record-start").is_visible()
    s.page.fill("#recorded_at", BEFORE)
    with s.page.expect_navigation():
        s.page.click("#asof-form button[type=submit]")
    refused = s.page.inner_text("#asof-refused")
    assert refused.startswith("Danh mục chưa ghi nhận gì tính đến 2025-02-01") and "ngày hiệu lực" in refused
    assert s.page.locator("#asof-list").count() == 0  # no table of zeros
    _doc(s, "timemachine-recorded-before")
    s.page.click("#see-valid-on")
    assert "organization:hcm-sttt" in s.page.content() or s.page.locator("#asof-list").count() == 1

    # one language per page
    s.goto(f"/asof?valid_on={BEFORE}&lang=en")
    text = s.page.inner_text("main")
    assert "Valid on" in text and "Ngày hiệu lực" not in text and "Nâng cao" not in text and "Tải" not in text
    s.goto(f"/asof?valid_on={BEFORE}&lang=vi")  # the language sticks (cookie): back to Vietnamese
    text = s.page.inner_text("main")
    assert "Ngày hiệu lực" in text and "Valid on" not in text
    for path in (f"/asof?valid_on={BEFORE}", f"/asof?valid_on={TODAY}&kind=organization&include_ended=1"):
        _fits_390(s, path)
    assert not s.console_errors


def test_auditor_compares_two_dates(signed_in: SignedIn) -> None:
    from openpyxl import load_workbook

    s = signed_in("auditor")
    s.goto(f"/asof?valid_on={BEFORE}")
    s.page.click("#compare-today")
    s.page.wait_for_url("**/diff?from=2025-02-01**")
    today = {TODAY, dt.date.today().isoformat()}  # the run may pass midnight between collection and this click
    assert s.page.input_value("#from") == BEFORE and s.page.input_value("#to") in today
    moves = _rows(s, "#diff-moves")
    row = moves["system:hcm-cong-1022"]
    assert "Cổng thông tin 1022" in row and HCM_STTT in row and HCM_SKHCN in row
    assert "Sáp nhập" in row and "Nghị quyết của HĐND TP.HCM" in row  # the event by its label, its legal basis
    orgs = _rows(s, "#diff-orgs")
    assert "Hợp nhất vào" in orgs["organization:hcm-sttt"] and HCM_SKHCN in orgs["organization:hcm-sttt"]
    assert "Giải thể" in orgs["organization:hcm-quan1"]
    assert "Nghị quyết 202/2025/QH15" in orgs["organization:bd-ubnd"]
    main = s.page.inner_text("main")
    for raw in ("absorb", "organization:", "system:", "merged"):
        assert raw not in main, raw  # names and labels, never codes
    # the diff diagram, inline
    img = s.page.locator("#diff-diagram")
    img.scroll_into_view_if_needed()
    s.page.wait_for_function("document.querySelector('#diff-diagram').complete")
    assert s.page.evaluate("document.querySelector('#diff-diagram').naturalWidth") > 100
    _doc(s, "timemachine-diff")
    _doc(s, "timemachine-diff-moves", "#diff-moves")
    # a long table pages by itself: the next page of the moves keeps the dates and the other tables' pages
    pager = s.page.locator("div.wide:has(#diff-moves) + nav.pager")
    total = int(pager.get_attribute("data-total") or 0)
    assert total > 50 and "1–50" in pager.inner_text()
    with s.page.expect_navigation():
        pager.locator("a[rel=next]").click()
    assert "moved_offset=50" in s.page.url and "from=2025-02-01" in s.page.url
    assert "system:hcm-cong-1022" not in _rows(s, "#diff-moves") and len(_rows(s, "#diff-moves")) == total - 50
    s.goto(f"/diff?from={BEFORE}&to={TODAY}&moved_offset=junk")
    assert "system:hcm-cong-1022" in _rows(s, "#diff-moves")
    # the same rows as a workbook
    with s.page.expect_download() as dl:
        s.page.click("#dl-diff-xlsx")
    wb = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert wb.sheetnames == ["Hạng mục", "Quan hệ", "Chuyển chủ quản", "Thay đổi tổ chức"]
    moved = [[c.value for c in r] for r in wb["Chuyển chủ quản"].iter_rows(min_row=2)]
    assert any(r[2] == "system:hcm-cong-1022" and r[8] == "hcm-2025-03-sttt-into-skhcn" for r in moved)
    # filtered by organisation and kind, through the form
    box = s.page.locator("#org-ts-control")  # the organisation picker: typed by name, without diacritics
    box.click()
    box.press_sequentially("so thong tin va truyen thong tp.hcm", delay=15)
    s.page.locator(".ts-dropdown .option", has_text=HCM_STTT).first.click()
    s.page.select_option("#kind", "system")
    with s.page.expect_navigation():
        s.page.click("#diff-form button[type=submit]")
    moves = _rows(s, "#diff-moves")
    assert "system:hcm-cong-1022" in moves and s.page.locator("#diff-orgs").count() == 0
    assert all(HCM_STTT in text for text in moves.values())
    # English page
    s.goto(f"/diff?from={BEFORE}&to={TODAY}&lang=en")
    text = s.page.inner_text("main")
    assert "Ownership moved" in text and "Chuyển chủ quản" not in text and "Merged into" in text
    _fits_390(s, f"/diff?from={BEFORE}&to={TODAY}")
    assert not s.console_errors
