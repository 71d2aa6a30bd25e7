"""Diagrams in the page, in headless Chromium: the entity page's context diagram and the IOC integration view are
inline SVG (not an image shrunk to fit) whose text is readable at the first zoom, the zoom buttons and keys change
the scale, the IOC view states its scope and draws the city's own picture, a merged organisation's page draws its
last valid day instead of a 404, and nothing scrolls sideways at 390 px. Screenshots under docs/img/diagram-*.png
(with IOC_CATALOG_DOC_SCREENSHOTS=1) and test-artifacts/web/."""

from __future__ import annotations

import os
from collections.abc import Callable

from web.uitest import DOC_IMG, Session

SignedIn = Callable[[str | None], Session]

# the size on screen, in CSS px, of every text of the drawing's nodes and edges: the font size the SVG gives it
# times the scale from SVG units to the screen (getScreenCTM), as the reader sees it
FONT_PX = """box => Array.from(document.querySelectorAll(box + ' svg g.node text, ' + box + ' svg g.edge text'))
  .map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a)"""

NODE_BOX = """([box, ref]) => {
  const link = Array.from(document.querySelectorAll(box + ' g.node a')).find(a =>
    (a.getAttribute('href') || a.getAttributeNS('http://www.w3.org/1999/xlink', 'href')) === '/entities/' + ref);
  const r = link.closest('g.node').getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


def doc_shot(s: Session, name: str, target: str = "") -> None:
    if target:  # the diagram in view, with what is above it
        s.page.evaluate("sel => document.querySelector(sel).scrollIntoView({block: 'start'})", target)
        s.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    s.shot(name, full=False)
    if os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        s.page.screenshot(path=str(DOC_IMG / f"diagram-{name}.png"), full_page=False)


def ready(s: Session, box: str) -> None:
    s.page.wait_for_selector(f"{box}[data-initial-scale]")  # loaded into the page and zoomed as it opens


def sizes(s: Session, box: str) -> list[float]:
    s.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # drawn
    found = s.page.evaluate(FONT_PX, box)
    assert found, f"no text in {box}"
    return found


def no_sideways_scroll(s: Session) -> None:
    width = s.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_the_ioc_context_diagram_is_inline_readable_and_zooms(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/entities/platform:hcm-ioc")
    box = "#context-diagram"
    ready(s, box)
    assert s.page.locator(f"{box} svg").count() == 1  # the SVG itself, in the page
    assert s.page.locator("object.diagram, img.diagram").count() == 0
    first = sizes(s, box)
    assert min(first) >= 9, min(first)  # readable as it opens (the whole drawing shrunk to fit was ~3 px)
    # it opens on the IOC itself, in view
    frame, node = s.page.locator(box).bounding_box(), s.page.evaluate(NODE_BOX, [box, "platform:hcm-ioc"])
    assert frame and node
    assert frame["x"] <= node["x"] + node["width"] / 2 <= frame["x"] + frame["width"]
    assert frame["y"] <= node["y"] + node["height"] / 2 <= frame["y"] + frame["height"]
    doc_shot(s, "entity", "#context-diagram-figure")
    s.page.click("#context-diagram-figure button[data-zoom=in]")
    bigger = sizes(s, box)
    assert min(bigger) > min(first) * 1.1
    s.page.click("#context-diagram-figure button[data-zoom=out]")
    s.page.click("#context-diagram-figure button[data-zoom=out]")
    smaller = sizes(s, box)
    assert min(smaller) < min(first) * 0.9
    s.page.click("#context-diagram-figure button[data-zoom=fit]")  # the whole drawing in the box
    frame = s.page.locator(box).bounding_box()
    drawing = s.page.locator(f"{box} svg .svg-pan-zoom_viewport").bounding_box()
    assert frame and drawing
    assert drawing["width"] <= frame["width"] + 2 and drawing["height"] <= frame["height"] + 2
    # the keyboard: focus the diagram, + zooms in
    before = min(sizes(s, box))
    s.page.focus(box)
    s.page.keyboard.press("+")
    assert min(sizes(s, box)) > before * 1.1
    # a download link beside it
    href = s.page.locator("#context-diagram-figure a[download]", has_text="SVG").get_attribute("href")
    assert href and href.startswith("/download/diagram/context.svg?") and "inline" not in href


def test_the_ioc_view_is_a_page_with_its_scope_in_the_title(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/")
    with s.page.expect_navigation():  # the home page's diagram links open the view's page
        s.page.click("main a[href^='/views/ioc']")
    assert "/views/ioc" in s.page.url
    title = s.page.inner_text("#view-title")
    assert "phạm vi: UBND Thành phố Hồ Chí Minh" in title and "ngày hiệu lực" in title
    box = "#view-diagram"
    ready(s, box)
    assert min(sizes(s, box)) >= 9
    svg_text = s.page.locator(f"{box} svg").text_content() or ""
    assert "Cổng thông tin 1022" in svg_text and "Nguồn dữ liệu ngoài phạm vi" in svg_text
    assert "Huế" not in svg_text and "Hà Nội" not in svg_text  # the city's own picture
    doc_shot(s, "ioc")
    s.page.select_option("#view-lineage", "full")
    with s.page.expect_navigation():
        s.page.click("#view-show")
    assert "lineage=full" in s.page.url
    assert "toàn bộ nguồn dữ liệu" in s.page.inner_text("#view-title")
    ready(s, box)
    assert "Hà Nội" in (s.page.locator(f"{box} svg").text_content() or "")
    s.goto("/views/ioc?lang=en")
    assert "scope: Ho Chi Minh City People's Committee" in s.page.inner_text("#view-title")
    ready(s, box)
    assert s.page.inner_text(".diagram-tools button[data-zoom=fit]") == "Fit"


def test_a_merged_organisation_draws_its_last_valid_day(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/entities/organization:hcm-sttt")  # merged into the Department of Science and Technology on 1/3/2025
    note = s.page.inner_text("#context-diagram-note")
    assert "01/03/2025" in note and "28/02/2025" in note
    ready(s, "#context-diagram")
    assert s.page.locator("#context-diagram .error").count() == 0
    text = s.page.locator("#context-diagram svg").text_content() or ""
    assert (
        "Sở Thông tin và Truyền thông TP.HCM" in text and "28/02/2025" in text
    )  # the diagram writes dates as its language does
    doc_shot(s, "merged-org", "#context-diagram-note")


def test_no_sideways_scroll_at_390_px(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.page.set_viewport_size({"width": 390, "height": 844})
    for path, box in (("/entities/platform:hcm-ioc", "#context-diagram"), ("/views/ioc", "#view-diagram")):
        s.goto(path)
        ready(s, box)
        no_sideways_scroll(s)
        assert min(sizes(s, box)) >= 9
        width = s.page.locator(box).bounding_box()
        assert width and width["width"] <= 390
    doc_shot(s, "ioc-390", "#view-title")
