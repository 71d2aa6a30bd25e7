"""The business coverage page (/coverage) in a real browser: what an officer reads there (procedures with their
online level and the systems serving them, functions no system serves), one language per page, no raw codes,
reachable from the menu and from an organisation's page, and no wider than a phone. Screenshots under
test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable

from web.uitest import Session

SignedIn = Callable[[str | None], Session]

RAW = ("full_online", "partial_online", "online_without_system", "not_online", "uncovered", "procedure:", "function:")
WIDTH = "() => document.documentElement.scrollWidth"


def card(s: Session, ref: str) -> object:
    return s.page.locator(f'li.coverage-item[data-ref="{ref}"]')


def test_coverage_page_answers_which_procedures_are_online_and_which_functions_have_no_system(
    signed_in: SignedIn,
) -> None:
    s = signed_in("viewer")
    s.goto("/?lang=vi")
    s.page.locator("#menu a[href^='/coverage']").first.click()
    s.page.wait_for_url("**/coverage**")
    assert s.page.locator("h1").inner_text() == "Mức độ phục vụ nghiệp vụ"
    summary = s.page.locator("#coverage-summary").inner_text()
    assert summary.startswith("Thủ tục hành chính: 6, có hệ thống trực tuyến 5")
    assert s.page.locator("#procedure-list li").count() == 6 and s.page.locator("#function-list li").count() == 6
    birth = card(s, "procedure:hcm-tthc-khai-sinh").inner_text()
    assert "Đăng ký khai sinh" in birth and "Trực tuyến toàn trình" in birth and "Có hệ thống trực tuyến" in birth
    assert "Hệ thống đăng ký, quản lý hộ tịch điện tử" in birth and "Sở Tư pháp TP.HCM" in birth
    copy = card(s, "procedure:hcm-tthc-chung-thuc-ban-sao").inner_text()
    assert "Chưa trực tuyến" in copy and "Chưa có hệ thống phục vụ" in copy
    gap = card(s, "function:hcm-cn-chung-thuc").inner_text()
    assert "Chưa có hệ thống phục vụ" in gap
    text = s.page.locator("main").inner_text()
    assert not [r for r in RAW if r in text], text
    assert "Served by" not in text and "Online level" not in text  # one language per page
    s.shot("coverage")
    # a serving system's name links to its page
    with s.page.expect_navigation():
        card(s, "procedure:hcm-tthc-thanh-lap-doanh-nghiep").get_by_text(
            "Hệ thống thông tin đăng ký doanh nghiệp TP.HCM"
        ).click()
    assert "/entities/system:hcm-dang-ky-kinh-doanh" in s.page.url


def test_an_organisations_coverage_from_its_page_in_english_and_on_a_phone(signed_in: SignedIn) -> None:
    s = signed_in("viewer")
    s.goto("/my-org?org=organization:hcm-stp&lang=en")
    with s.page.expect_navigation():
        s.page.click("#org-coverage")
    assert "org=organization%3Ahcm-stp" in s.page.url or "org=organization:hcm-stp" in s.page.url
    assert s.page.locator("h1").inner_text() == "Business coverage: HCMC Department of Justice"
    assert s.page.locator("#procedure-list li").count() == 3 and s.page.locator("#function-list li").count() == 2
    marriage = card(s, "procedure:hcm-tthc-ket-hon").inner_text()
    assert "Partly online" in marriage and "Online with a system" in marriage
    text = s.page.locator("main").inner_text()
    assert not [r for r in RAW if r in text] and "Hệ thống phục vụ" not in text and "Mức độ trực tuyến" not in text
    s.page.set_viewport_size({"width": 390, "height": 844})
    assert s.page.evaluate(WIDTH) <= 390
    s.shot("coverage-phone")
    # the diagram of the same scope, and the download of the same rows
    href = s.page.locator("#coverage-links a").first.get_attribute("href")
    assert href and href.startswith("/views/business?ref=organization%3Ahcm-stp")
    r = s.page.request.get(s.base + "/coverage/download?format=csv&org=organization:hcm-stp&lang=en")
    assert r.status == 200 and "Certified copy from the original" in r.body().decode("utf-8-sig")
    s.goto(href)
    svg = s.page.locator("svg").first
    svg.wait_for()
    assert "Đăng ký khai sinh" not in s.page.content()  # the diagram speaks the page's language: English here
    assert "Birth registration" in s.page.content() and "Fully online" in s.page.content()


def test_an_architect_registers_a_procedure_and_a_capability_from_the_forms(signed_in: SignedIn) -> None:
    """Runs last in this file: it adds a procedure to the Justice Department."""
    s = signed_in("architect")
    s.goto("/new?kind=procedure&lang=vi")
    assert s.page.locator("h1").inner_text() == "Đăng ký thủ tục hành chính"
    options = s.page.locator("#attr_online_level option").all_inner_texts()
    assert options == ["—", "Trực tuyến toàn trình", "Trực tuyến một phần", "Chưa trực tuyến"]
    s.page.fill("#code", "hcm-tthc-khai-tu")
    s.page.fill("#name_vi", "Đăng ký khai tử")
    s.page.select_option("#owner", "organization:hcm-stp")
    s.page.select_option("#attr_online_level", "full_online")
    s.page.fill("#attr_sector", "Hộ tịch")
    with s.page.expect_navigation():
        s.page.click("#save")
    assert "/entities/procedure:hcm-tthc-khai-tu" in s.page.url, s.page.locator("main").inner_text()[:500]
    page = s.page.locator("main").inner_text()
    assert "Trực tuyến toàn trình" in page and "full_online" not in page
    # said to be online, but no system serves it yet: the coverage page says so
    s.goto("/coverage?org=organization:hcm-stp&lang=vi")
    gap = card(s, "procedure:hcm-tthc-khai-tu").inner_text()
    assert "Ghi trực tuyến nhưng chưa có hệ thống phục vụ" in gap
    # a capability has no owner: its form does not ask for one
    s.goto("/new?kind=capability&lang=vi")
    assert s.page.locator("#owner").count() == 0
    s.page.fill("#code", "hcm-nl-an-sinh")
    s.page.fill("#name_vi", "Bảo đảm an sinh xã hội")
    with s.page.expect_navigation():
        s.page.click("#save")
    assert "/entities/capability:hcm-nl-an-sinh" in s.page.url, s.page.locator("main").inner_text()[:500]
    s.shot("capability")
