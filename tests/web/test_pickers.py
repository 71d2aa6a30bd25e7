"""Finding things by name in headless chromium: the type-ahead pickers (api/static/picker.js over /search.json) on
the impact page and the registration form, the search page's columns, the impact page's results and exports, a
phone-sized screen, and the same pages without JavaScript.

``IOC_CATALOG_DOC_SCREENSHOTS=1`` also writes docs/img/picker-*.png (docs/web.md shows them)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable

import pytest
from web.uitest import DOC_IMG, PASSWORD, Session, strict

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra installs it
    if strict():
        raise
    pytest.skip("the playwright package is missing (pip install -e '.[test]')", allow_module_level=True)

SignedIn = Callable[[str | None], Session]
IOC_NAME = "Trung tâm điều hành đô thị thông minh (IOC)"
POPULATION_DB = "Cơ sở dữ liệu quốc gia về dân cư"
RAW_REF = re.compile(r"\b(organization|system|database|platform|service|dataset):[a-z0-9-]+\b")


def doc_shot(s: Session, name: str) -> None:
    """The viewport as a picture for docs/web.md (only with IOC_CATALOG_DOC_SCREENSHOTS=1), and always as an
    artifact of the run."""
    s.shot(f"picker-{name}", full=False)
    if os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        s.page.screenshot(path=str(DOC_IMG / f"picker-{name}.png"), full_page=False)


def type_in_picker(s: Session, field: str, text: str) -> None:
    """Type into the picker that replaced ``<input id=field>`` the way a person does, key by key."""
    box = s.page.locator(f"#{field}-ts-control")
    box.click()
    box.press_sequentially(text, delay=15)


def options(s: Session) -> list[str]:
    s.page.locator(".ts-dropdown .option").first.wait_for()
    return s.page.locator(".ts-dropdown .option").all_inner_texts()


def page_width(s: Session) -> int:
    return s.page.evaluate("document.documentElement.scrollWidth")


def test_impact_picks_by_name_and_exports(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/impact")
    expect(s.page.locator("label[for='ref-ts-control']")).to_be_visible()  # the label names the type-ahead
    type_in_picker(s, "ref", "trung tam dieu hanh")
    iocs = s.page.locator(".ts-dropdown .option", has_text=IOC_NAME)
    expect(iocs).to_have_count(2)  # Bình Dương's and HCMC's: same name ...
    texts = iocs.all_inner_texts()
    assert texts[0] != texts[1]  # ... told apart at a glance
    assert sum("Bình Dương" in t for t in texts) == 1, texts  # the one that came from Bình Dương says so
    for t in texts:
        assert "Nền tảng" in t and "Sở Khoa học và Công nghệ TP.HCM" in t and "Đang vận hành" in t
        assert "UBND Thành phố Hồ Chí Minh" in t  # province or city
        assert not RAW_REF.search(t), t
    doc_shot(s, "impact-options")
    hcmc = s.page.locator(".ts-dropdown .option", has_text=IOC_NAME).filter(has_not_text="Bình Dương")
    hcmc.click()
    assert s.page.input_value("#ref") == "platform:hcm-ioc"  # what the form submits is the reference
    with s.page.expect_navigation():
        s.page.click("#impact-form button[type=submit]")
    assert "ref=platform%3Ahcm-ioc" in s.page.url
    expect(s.page.locator("main h2")).to_contain_text(IOC_NAME)
    # the picker shows what was chosen, by name, after the page reloads
    expect(s.page.locator(".ts-control .pk-item .pk-name")).to_have_text(IOC_NAME)

    # "dan cu" finds the population database; its impact lists owners by name and the path of each item
    s.page.locator(".ts-control").click()
    s.page.keyboard.press("Backspace")
    type_in_picker(s, "ref", "dan cu")
    first = s.page.locator(".ts-dropdown .option").first
    expect(first).to_contain_text(POPULATION_DB)
    expect(first).to_contain_text("Bộ Công an")
    s.page.keyboard.press("Enter")  # the keyboard picks the first suggestion
    assert s.page.input_value("#ref") == "database:vn-csdl-dan-cu"
    with s.page.expect_navigation():
        s.page.click("#impact-form button[type=submit]")
    rows = s.page.locator("#impact tbody tr")
    assert rows.count() > 10
    owners = s.page.locator("#impact tbody td.owner").all_inner_texts()
    assert "Sở Khoa học và Công nghệ TP.HCM" in owners and "Bộ Công an" in owners
    assert all(o.strip() for o in owners), "an item without an owner name"
    table = s.page.inner_text("#impact")
    assert not RAW_REF.search(table), RAW_REF.search(table)
    assert POPULATION_DB in s.page.inner_text("#impact tbody tr:first-child td.path")  # the path starts there
    doc_shot(s, "impact-results")

    with s.page.expect_download() as got:
        s.page.click("#impact-xlsx")
    data = open(got.value.path(), "rb").read()
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    table_rows = list(ws.iter_rows(values_only=True))
    assert table_rows[0][:3] == ("Số bước", "Mã", "Tên")  # the page's language
    assert "Chủ quản" in table_rows[0]
    assert len(table_rows) - 1 == int(s.page.locator("#impact").get_attribute("data-total") or -1)
    owner_col = table_rows[0].index("Chủ quản")
    assert {"Bộ Công an", "Sở Khoa học và Công nghệ TP.HCM"} <= {r[owner_col] for r in table_rows[1:]}
    assert got.value.suggested_filename == "impact-database-vn-csdl-dan-cu.xlsx"
    with s.page.expect_download() as got_csv:
        s.page.click("#impact-csv")
    assert open(got_csv.value.path(), "rb").read().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM


def test_typed_text_without_choosing_keeps_the_form_and_offers_the_matches(signed_in: SignedIn) -> None:
    s = signed_in("viewer")
    s.goto("/impact?ref=dan%20cu")  # what a form without JavaScript submits
    assert s.page.locator("#choices").is_visible()
    expect(s.page.locator("#choices tbody tr").first).to_contain_text(POPULATION_DB)
    s.page.locator("#choices a", has_text=POPULATION_DB).click()
    expect(s.page.locator("main h2")).to_contain_text(POPULATION_DB)
    # text that finds nothing: the reason in the page's language, next to the field, and the text kept
    s.goto("/impact?ref=khong%20co%20gi%20ca%20xyz")
    assert "Không có mục nào" in s.page.inner_text("#ref-error")
    assert s.page.input_value("#ref-ts-control") == "khong co gi ca xyz"
    s.goto("/impact?ref=khong%20co%20gi%20ca%20xyz&lang=en")
    assert s.page.inner_text("#ref-error").startswith("Nothing in the catalog matches")
    assert "Không" not in s.page.inner_text("main")


def test_the_search_page_shows_owner_province_and_lifecycle(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    s.goto("/")
    s.page.fill("#q", "trung tam dieu hanh")
    hit = s.page.locator("#results li", has_text=IOC_NAME)
    expect(hit).to_have_count(2)
    assert sum("Bình Dương" in t for t in hit.all_inner_texts()) == 1
    s.page.press("#q", "Enter")
    s.page.wait_for_url("**/?*q=trung*")
    header = s.page.locator("#list thead th").all_inner_texts()
    assert header == ["Tên", "Loại", "Chủ quản", "Tỉnh, thành phố", "Giai đoạn"]
    rows = s.page.locator("#list tbody tr", has_text=IOC_NAME)
    expect(rows).to_have_count(2)
    assert all("Đang vận hành" in r for r in rows.all_inner_texts())
    doc_shot(s, "search-results")
    # "so thong tin" as an HCMC department: HCMC's own department first, with the one it merged into
    s.goto("/?q=so+thong+tin")
    first = s.page.locator("#list tbody tr").first
    expect(first).to_contain_text("Sở Thông tin và Truyền thông TP.HCM")
    expect(first).to_contain_text("Sở Khoa học và Công nghệ TP.HCM")  # its successor
    expect(first).to_contain_text("Đã hợp nhất")


def test_the_registration_form_picks_a_connection_target_by_typing(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    ed.goto("/new?kind=system")
    ed.page.fill("#code", "hcm-bao-cao-ioc-thu")
    ed.page.fill("#name_vi", "Hệ thống báo cáo cho IOC (thử)")
    ed.page.select_option("#attr_lifecycle", "production")
    ed.page.select_option("#link_0_type", "feeds")
    type_in_picker(ed, "link_0_target", "trung tam dieu hanh")
    ioc = ed.page.locator(".ts-dropdown .option", has_text=IOC_NAME)
    expect(ioc).to_have_count(2)
    doc_shot(ed, "form-target")
    ioc.filter(has_not_text="Bình Dương").click()
    assert ed.page.input_value("#link_0_target") == "platform:hcm-ioc"
    ed.page.click("#save")
    ed.page.wait_for_url("**/drafts/*")  # a department's new system feeding the IOC: one draft, by policy
    assert IOC_NAME in ed.page.inner_text("main") and "Bình Dương" not in ed.page.inner_text("main")


def test_phone_width_has_no_horizontal_scroll(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    s.page.set_viewport_size({"width": 390, "height": 844})
    s.goto("/impact?ref=database:vn-csdl-dan-cu")
    assert page_width(s) <= 390, f"impact is {page_width(s)} px wide"
    s.page.locator(".ts-control").click()
    s.page.keyboard.press("Backspace")
    type_in_picker(s, "ref", "trung tam dieu hanh")
    expect(s.page.locator(".ts-dropdown .option", has_text=IOC_NAME)).to_have_count(2)
    assert page_width(s) <= 390, "the open picker widens the page"
    box = s.page.locator(".ts-dropdown").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    doc_shot(s, "phone")
    for path in ("/?q=trung+tam+dieu+hanh", "/new?kind=system", "/impact?ref=dan+cu"):
        s.goto(path)
        assert page_width(s) <= 390, f"{path} is {page_width(s)} px wide at 390"


def test_without_javascript_the_inputs_accept_a_reference(browser: object, server: str) -> None:
    ctx = browser.new_context(java_script_enabled=False, locale="vi-VN")  # type: ignore[attr-defined]
    try:
        page = ctx.new_page()
        page.goto(server + "/signin")
        page.fill("#name", "architect")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("form.narrow button[type=submit]")
        page.goto(server + "/impact")
        page.fill("#ref", "platform:hcm-lgsp")
        with page.expect_navigation():
            page.click("#impact-form button[type=submit]")
        assert "Nền tảng tích hợp, chia sẻ dữ liệu (LGSP)" in page.inner_text("main h2")
        assert page.locator("#impact tbody tr").count() > 0
        page.goto(server + "/new?kind=system")
        assert page.locator("#link_0_target").is_visible()  # a plain text box takes a reference
    finally:
        ctx.close()


def test_a_reference_already_in_the_box_stays_chosen_and_is_described(signed_in: SignedIn) -> None:
    """Other pages' pickers (iocPicker.attach) may start from a bare reference: it is kept as the value and shown by
    name once the server describes it."""
    s = signed_in("viewer")
    s.goto("/impact")
    s.page.evaluate(
        """() => { const i = document.createElement('input'); i.id = 'other'; i.value = 'platform:bd-ioc';
        document.querySelector('main').append(i); window.iocPicker.attach(i, {kinds: 'platform'}); }"""
    )
    item = s.page.locator("#other + .ts-wrapper .pk-item")
    expect(item.locator(".pk-name")).to_have_text(IOC_NAME)
    expect(item.locator(".pk-meta")).to_contain_text("Bình Dương")
    assert s.page.input_value("#other") == "platform:bd-ioc"
