"""Fit for a phone and an office PC (issue 16): every main page, signed in as each role, at 390x844 (a phone) is no
wider than the screen, its header is compact with the menu folded, the menu opens (button, keyboard, and without
JavaScript) with visible, working links; at 1366 px the full menu shows. Headless chromium, see tests/web/uitest.py;
screenshots under test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web.uitest import LATE_SYSTEM, PASSWORD, Session

SignedIn = Callable[[str | None], Session]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
PAGES = (
    ("home", "/"),
    ("search", "/?q=ioc"),
    ("entity", "/entities/system:hcm-bao-cao"),
    ("register", "/new?kind=system"),
    ("edit", f"/entities/{LATE_SYSTEM}/edit"),  # owned by the editor's department
    ("drafts", "/drafts"),
    ("import", "/import"),
    ("my-org", "/my-org"),
    ("compliance", "/compliance"),
    ("coverage", "/coverage?org=organization:hcm-stp"),
    ("campaigns", "/campaigns"),  # an architect sees the form that opens one
    ("report", "/reports/current-state"),
    ("mapping", "/import/mapping"),
    ("impact", "/impact?ref=database:hcm-csdl-danh-muc"),
    ("explore", "/explore"),
    ("ioc-view", "/views/ioc"),
    ("asof", "/asof"),
    ("diff", "/diff?from=2025-02-01&to=2025-08-01"),
    ("changes", "/changes"),
    ("integrity", "/integrity"),
    ("notices", "/notices"),
)
ROLES = ("viewer", "editor-skhcn", "architect", "auditor")

# how wide the page is, and how tall the header is with whatever of the menu shows
MEASURE = """() => {
  const header = document.querySelector('header.top').getBoundingClientRect();
  const nav = document.querySelector('nav.main');
  const shown = nav && getComputedStyle(nav).display !== 'none' ? nav.getBoundingClientRect().bottom : 0;
  return {width: document.documentElement.scrollWidth, header: Math.max(header.bottom, shown)};
}"""
# elements wider than the screen (what to fix when a page is too wide)
CULPRITS = """() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391
  && !e.closest('.wide, .diagram, table, pre, [data-scroll]')).slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""


def _phone(s: Session) -> None:
    s.page.set_viewport_size(PHONE)


def _pages(s: Session) -> list[tuple[str, str]]:
    """The main pages this server has (the notices page comes with the notices; an unknown path answers
    problem+json, not a page)."""
    r = s.page.request.get(s.base + "/notices")
    return [(n, p) for n, p in PAGES if n != "notices" or "text/html" in r.headers.get("content-type", "")]


@pytest.mark.parametrize("user", ROLES)
def test_every_main_page_fits_a_phone(signed_in: SignedIn, user: str) -> None:
    s = signed_in(user)
    _phone(s)
    too_wide: dict[str, object] = {}
    too_tall: dict[str, float] = {}
    for name, path in _pages(s):
        s.goto(path)
        s.page.wait_for_load_state("load")
        m = s.page.evaluate(MEASURE)
        if m["width"] > PHONE["width"]:
            too_wide[name] = (m["width"], s.page.evaluate(CULPRITS))
        if m["header"] > 0.15 * PHONE["height"]:
            too_tall[name] = m["header"]
        s.shot(f"{user}-{name}-390", full=False)
    assert too_wide == {}, too_wide
    assert too_tall == {}, too_tall


def test_sign_in_page_fits_a_phone(signed_in: SignedIn) -> None:
    s = signed_in(None)
    _phone(s)
    s.goto("/signin")
    m = s.page.evaluate(MEASURE)
    assert m["width"] <= PHONE["width"]
    assert m["header"] <= 0.15 * PHONE["height"]
    s.shot("signin-390", full=False)


def test_header_names_the_user_on_a_phone(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    _phone(s)
    s.goto("/?lang=vi")
    who = s.page.locator("#who")
    assert who.is_visible()
    assert "Sở Khoa học và Công nghệ" in who.inner_text()  # the department's name, not its reference
    assert "Biên tập viên đơn vị" in who.inner_text()  # the role's label
    box = who.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_menu_opens_and_its_links_work_on_a_phone(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    _phone(s)
    s.goto("/?lang=vi")
    button = s.page.locator("header .menu-button")
    nav = s.page.locator("nav#menu")
    assert button.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    assert button.get_attribute("aria-controls") == "menu"
    assert not nav.is_visible()
    assert not s.page.locator("header form.signout").is_visible()  # folded with the menu
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    links = nav.locator("a")
    assert links.count() >= 8
    for i in range(links.count()):
        link = links.nth(i)
        assert link.is_visible(), link.inner_text()
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
    assert s.page.locator("header form.signout button").is_visible()
    s.shot("menu-open-390", full=False)
    assert s.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with s.page.expect_navigation():
        nav.locator("a", has_text="Danh mục theo ngày").click()
    assert s.page.url.split("?")[0].endswith("/asof")
    assert s.page.locator("nav#menu a[aria-current=page]").inner_text() == "Danh mục theo ngày"
    assert not s.page.locator("nav#menu").is_visible()  # a new page starts with the menu folded


def test_menu_works_with_the_keyboard(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    _phone(s)
    s.goto("/?lang=en")
    button = s.page.locator("header .menu-button")
    button.focus()
    s.page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert s.page.locator("nav#menu").is_visible()
    assert s.page.evaluate("document.activeElement.closest('nav#menu') !== null")  # focus moved into the menu
    s.page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    assert not s.page.locator("nav#menu").is_visible()
    assert s.page.evaluate("document.activeElement.classList.contains('menu-button')")
    s.page.keyboard.press(" ")
    assert s.page.locator("nav#menu").is_visible()


def test_menu_is_reachable_without_javascript(browser: object, server: str) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="vi-VN")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(server + "/signin")
        page.fill("#name", "viewer")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("form[action='/signin'] button[type=submit]")
        page.goto(server + "/?lang=vi")
        assert not page.locator("nav#menu").is_visible()
        assert not page.locator("header .menu-button").is_visible()
        page.locator("header a.menu-link").click()
        assert page.locator("nav#menu").is_visible()
        assert page.locator("nav#menu a", has_text="Tuân thủ").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("user", ROLES)
def test_full_menu_on_an_office_screen(signed_in: SignedIn, user: str) -> None:
    s = signed_in(user)
    s.page.set_viewport_size(DESKTOP)
    for name, path in _pages(s):
        s.goto(path)
        assert s.page.locator("nav#menu").is_visible(), name
        assert not s.page.locator("header .menu-button").is_visible(), name
        links = s.page.locator("nav#menu a")
        assert all(links.nth(i).is_visible() for i in range(links.count())), name
        assert s.page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"], name
        if name in ("home", "entity", "compliance", "changes"):
            s.shot(f"{user}-{name}-1366", full=False)
    header = s.page.locator("header.top").bounding_box()
    assert header and header["height"] < 60  # one row


MENUS = {  # the menu entries each role sees (the pages' own permission checks), in Vietnamese
    "viewer": {"Tìm kiếm", "Đơn vị của tôi", "Thông báo", "Tuân thủ", "Danh mục theo ngày"},
    "editor-skhcn": {"Đăng ký hệ thống", "Bản nháp", "Nhập dữ liệu", "Thông báo"},
    "architect": {"Đăng ký hệ thống", "Bản nháp", "Nhập dữ liệu", "Nhật ký thay đổi", "Tính toàn vẹn"},
    "auditor": {"Nhật ký thay đổi", "Tính toàn vẹn", "Thông báo"},
}
NOT_IN_MENU = {
    "viewer": {"Đăng ký hệ thống", "Bản nháp", "Nhập dữ liệu", "Nhật ký thay đổi"},
    "editor-skhcn": {"Nhật ký thay đổi", "Tính toàn vẹn"},
    "architect": set(),
    "auditor": {"Đăng ký hệ thống", "Bản nháp", "Nhập dữ liệu"},
}


@pytest.mark.parametrize("user", ROLES)
def test_menu_entries_follow_permissions(signed_in: SignedIn, user: str) -> None:
    s = signed_in(user)
    s.goto("/?lang=vi")
    shown = set(s.page.locator("nav#menu a").all_inner_texts())
    assert MENUS[user] <= shown, shown
    assert not (NOT_IN_MENU[user] & shown), shown
