"""The graph explorer (/explore) in headless chromium against the real server: the architect's walk of issue 18
(type a name, pick HCMC's IOC, filter to databases, expand the shared data warehouse, mark single points of failure,
impact of the population database, paths from the 1022 portal to the IOC), with what the rendered graph must hold:
every node a visible, uncut label, every data-flow edge an arrowhead pointing where the data goes.

With ``IOC_CATALOG_DOC_SCREENSHOTS=1`` each step is also written to docs/img/explorer-*.png (docs/web.md shows them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from web.uitest import DOC_IMG, Session, strict

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra installs it
    if strict():
        raise
    pytest.skip("the playwright package is missing (pip install -e '.[test]')", allow_module_level=True)

SignedIn = Callable[[str | None], Session]
IOC, PORTAL = "platform:hcm-ioc", "system:hcm-cong-1022"
WAREHOUSE, POPULATION = "platform:hcm-kho-du-lieu", "database:hcm-csdl-nguoi-dan"

# What the rendered graph holds, read through Cytoscape's API (window.iocExplorer.cy): nodes whose label is empty,
# differs from the full name or is cut, nodes not visible, data-flow edges without an arrowhead or drawn against
# the flow, edges without a label.
CHECK = """() => {
  const cy = window.iocExplorer.cy, bad = [];
  cy.nodes().forEach(n => {
    const label = n.style('label');
    if (!n.visible()) bad.push('hidden node ' + n.id());
    if (!label || !label.trim()) bad.push('no label ' + n.id());
    if (!n.data('isGroup') && label !== n.data('name')) bad.push('label is not the name ' + n.id());
    if (n.style('text-wrap') === 'ellipsis') bad.push('cut label ' + n.id());
    if (parseFloat(n.style('font-size')) < 10) bad.push('tiny label ' + n.id());
  });
  cy.edges().forEach(e => {
    const d = e.data();
    if (!d.label) bad.push('edge without label ' + e.id());
    if (d.flow && e.style('target-arrow-shape') === 'none') bad.push('no arrowhead ' + e.id());
    if (d.type === 'reads' && e.source().id() !== e.id().split('>')[2]) bad.push('reads drawn against the flow ' + e.id());
    if ((d.type === 'feeds' || d.type === 'writes') && e.source().id() !== e.id().split('>')[0])
      bad.push('drawn against the flow ' + e.id());
  });
  return {bad: bad, nodes: cy.nodes().length, edges: cy.edges().length,
          flow: cy.edges().filter(e => e.data('flow')).length};
}"""


def shot(s: Session, name: str, part: str | None = "#explorer .explore-main") -> Path:
    """The page under test-artifacts/web/; for the docs, the graph with its selection and results panel."""
    path = s.shot(f"explorer-{name}", full=True)
    if os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        target = DOC_IMG / f"explorer-{name}.png"
        if part:
            s.page.locator(part).screenshot(path=str(target))
        else:  # the screen as the person sees it
            s.page.screenshot(path=str(target), full_page=False)
    return path


def ready(s: Session) -> None:
    s.page.wait_for_selector("#explorer[data-ready='1']", state="attached")


def reload_after(s: Session, action: Callable[[], None]) -> None:
    """Do ``action`` and wait for the graph it asks for."""
    s.page.evaluate("() => { document.getElementById('explorer').dataset.ready = '0'; }")
    action()
    ready(s)


def rendered(s: Session) -> dict:
    found = s.page.evaluate(CHECK)
    assert found["bad"] == [], found["bad"][:10]
    assert found["nodes"] > 0
    return found


def refs(s: Session) -> set[str]:
    return set(s.page.evaluate("() => window.iocExplorer.cy.nodes().filter(n => !n.data('isGroup')).map(n => n.id())"))


def pick(s: Session, control: str, text: str, ref: str) -> None:
    """Type ``text`` in a type-ahead picker and choose ``ref`` among its options."""
    box = s.page.locator(f"#{control}-ts-control")
    box.click()
    box.fill(text)
    option = s.page.locator(f".ts-dropdown [data-value='{ref}']")
    option.wait_for()
    option.click()


def test_architect_walks_the_graph_from_the_ioc(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/explore")
    # 1. types a name without diacritics and picks HCMC's IOC (Bình Dương's has the same name: the picker tells
    # them apart by owner and province)
    with s.page.expect_navigation():
        pick(s, "explore-start", "trung tam dieu hanh", IOC)
    ready(s)
    assert "start=platform%3Ahcm-ioc" in s.page.url or "start=platform:hcm-ioc" in s.page.url
    assert s.page.inner_text("h1").endswith("Trung tâm điều hành đô thị thông minh (IOC)")
    first = rendered(s)
    assert first["flow"] > 20 and {IOC, PORTAL, WAREHOUSE} <= refs(s)
    assert s.page.locator("#graph-list > li").count() == len(refs(s))  # the list view holds the same graph
    shot(s, "1-start", None)

    # 2. filters to databases: the IOC (where the view starts) and the databases around it
    s.page.click("#explore-filters summary")
    reload_after(s, lambda: s.page.check("#explore-filters input[name=kind][value=database]"))
    kinds = s.page.evaluate("() => window.iocExplorer.cy.nodes().map(n => n.data('kind'))")
    assert set(kinds) == {"platform", "database"} and kinds.count("platform") == 1
    assert "kind=database" in s.page.url
    rendered(s)
    s.page.click("#explore-filters summary")  # closed again: the graph in view
    shot(s, "2-databases")

    # 3. adds and expands the shared data warehouse: its databases join
    reload_after(s, lambda: pick(s, "explore-add", "kho du lieu dung chung", WAREHOUSE))
    shown = refs(s)
    assert WAREHOUSE in shown and POPULATION in shown
    assert s.page.evaluate(f"() => window.iocExplorer.cy.getElementById('{WAREHOUSE}').data('expanded')")
    assert "expand=platform%3Ahcm-kho-du-lieu" in s.page.url
    rendered(s)
    shot(s, "3-warehouse")

    # 4. single points of failure marked on the graph, with the reason in the list and the results
    s.page.check("#explore-spof")
    s.page.wait_for_selector("#explore-results[data-analysis=spof] table")
    marked = s.page.evaluate("() => window.iocExplorer.cy.nodes('.spof').map(n => [n.id(), n.data('spofReason')])")
    assert marked and all(reason for _, reason in marked)
    assert s.page.locator("#graph-list .badge.spof").count() == len(marked)
    assert "spof=1" in s.page.url
    shot(s, "4-spof")

    # 5. impact of the population database, from the graph (the list view's Select, then the analysis)
    s.page.click(f"#graph-list li[data-ref='{POPULATION}'] button.select")
    expect(s.page.locator("#explore-selected")).to_contain_text("CSDL người dân TP.HCM")
    s.page.click("#explore-impact")
    s.page.wait_for_selector("#explore-results[data-analysis=impact] table")
    title = s.page.inner_text("#explore-result-title")
    assert "CSDL người dân TP.HCM" in title
    rows = s.page.locator("#explore-results table tbody tr")
    assert rows.count() >= 3
    assert "→" in rows.first.locator("td").nth(3).inner_text()  # each item with its path
    assert s.page.evaluate("() => window.iocExplorer.cy.nodes('.hit').length") >= 1
    xlsx = s.page.get_attribute("#explore-results .exports a:first-child", "href")
    assert "format=xlsx" in xlsx
    got = s.page.request.get(s.base + xlsx)
    assert got.ok and got.body()[:2] == b"PK"
    shot(s, "5-impact")

    # 6. paths between the 1022 portal and the IOC: clears the filters, selects both, all paths highlighted
    s.page.click("#explore-filters summary")
    reload_after(s, lambda: s.page.click("#explore-clear"))
    s.page.click("#explore-filters summary")
    s.page.click(f"#graph-list li[data-ref='{PORTAL}'] button.select")
    s.page.click(f"#graph-list li[data-ref='{IOC}'] button.select", modifiers=["Shift"])  # a second one
    s.page.click("#explore-paths")
    s.page.wait_for_selector("#explore-results[data-analysis=paths] ol.paths li")
    assert s.page.locator("#explore-results ol.paths li").count() >= 2
    on_path = s.page.evaluate("() => window.iocExplorer.cy.edges('.onpath').map(e => e.id())")
    assert f"{PORTAL}>feeds>{IOC}" in on_path
    rendered(s)
    shot(s, "6-paths")


def test_narrow_screen_and_keyboard_list(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.page.set_viewport_size({"width": 390, "height": 844})
    s.goto(f"/explore?start={IOC}")
    ready(s)
    rendered(s)
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
    # the list view works from the keyboard: expand a neighbour, its neighbours join, focus stays on it
    button = s.page.locator(f"#graph-list li[data-ref='{WAREHOUSE}'] button.expand")
    button.focus()
    before = len(refs(s))
    reload_after(s, lambda: s.page.keyboard.press("Enter"))
    assert len(refs(s)) > before
    expect(s.page.locator(f"#graph-list li[data-ref='{WAREHOUSE}'] button.expand")).to_be_focused()
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
    box = s.page.locator("#graph-list").bounding_box()
    assert box and box["width"] <= 390
    shot(s, "7-phone", None)


def test_start_from_a_search_group_fold_and_save_a_view(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/explore?start=trung+tam+dieu+hanh+do+thi")  # text, not a reference: pick among what it finds
    items = s.page.locator("#explore-candidates li")
    assert items.count() >= 2
    texts = items.all_inner_texts()
    assert any("Bình Dương" in t or "TP.HCM" in t for t in texts)
    with s.page.expect_navigation():
        s.page.click("#explore-candidates a[href$='start=platform%3Ahcm-ioc']")
    ready(s)
    # group by owning organisation, fold the IOC owner's group: one node stands for it
    reload_after(s, lambda: s.page.select_option("#explore-group", "org"))
    groups = s.page.evaluate("() => window.iocExplorer.cy.nodes('.group').map(n => n.data('key'))")
    assert "organization:hcm-skhcn" in groups
    s.page.evaluate("() => window.iocExplorer.cy.getElementById('group:organization:hcm-skhcn').emit('tap')")
    reload_after(s, lambda: s.page.click("#explore-selected button"))  # "Fold the group"
    folded = s.page.evaluate("() => window.iocExplorer.cy.nodes('.group.folded').map(n => n.data('label'))")
    assert any("Sở Khoa học và Công nghệ TP.HCM" in x for x in folded)
    rendered(s)
    url = s.page.url
    assert "group=org" in url and "fold=organization%3Ahcm-skhcn" in url
    # the URL is the view: save it by name, it is listed for this user and opens the same graph
    s.page.fill("#explore-view-name", "IOC theo cơ quan")
    with s.page.expect_navigation():
        s.page.click("#explore-save button[type=submit]")
    ready(s)
    link = s.page.locator("#explore-view-list a", has_text="IOC theo cơ quan")
    assert link.count() == 1 and "fold=organization%3Ahcm-skhcn" in link.get_attribute("href")
    other = signed_in("viewer")
    other.goto(f"/explore?start={IOC}")
    assert other.page.locator("#explore-view-list a", has_text="IOC theo cơ quan").count() == 0
