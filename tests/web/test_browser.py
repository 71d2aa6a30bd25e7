"""The web UI end to end in headless chromium against the real server: the scenarios issue 7 must show."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from web.uitest import LATE_NAME, LATE_SYSTEM, PASSWORD, PAST, XSS, Session, pick, strict

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra installs it
    if strict():
        raise
    pytest.skip("the playwright package is missing (pip install -e '.[test]')", allow_module_level=True)

SignedIn = Callable[[str | None], Session]


def _count(s: Session, selector: str) -> int:
    return s.page.locator(selector).count()


def test_architect_searches_opens_the_result_and_expands_its_graph(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    s.goto("/")
    s.page.fill("#q", "so thong tin")  # no diacritics: the catalog says "Hệ thống thông tin báo cáo"
    hit = s.page.locator("#results a", has_text="Hệ thống thông tin báo cáo TP.HCM")
    hit.wait_for()
    assert _count(s, "#results li") >= 5  # instant results while typing, before any submit
    assert s.page.url.rstrip("/") == s.base  # nothing was submitted
    s.shot("search", doc=True)
    hit.click()
    s.page.wait_for_url("**/entities/system:hcm-bao-cao*")
    assert s.page.inner_text("#entity-name") == "Hệ thống thông tin báo cáo TP.HCM"
    assert "Trung tâm điều hành đô thị thông minh (IOC)" in s.page.inner_text("#relationships")
    history = s.page.inner_text("#history")
    assert "Tạo mới" in history and "1 thg 3, 2025" in history  # who/when from the change log, in Vietnamese
    # the embedded context diagram is our SVG, its nodes link to entity pages
    data = s.page.get_attribute("#context-diagram", "data-src")
    svg = s.page.request.get(s.base + data)
    assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml")
    assert 'href="/entities/platform:hcm-ioc"' in svg.text() and 'target="_top"' in svg.text()
    s.page.wait_for_timeout(300)
    s.shot("entity", doc=True)
    s.page.click("#explore")  # the graph explorer (tests/web/test_explorer.py has the rest)
    s.page.wait_for_selector("#explorer[data-ready='1']", state="attached")
    expect(s.page.locator("#graph-list > li")).to_have_count(4)
    refs = s.page.evaluate("() => window.iocExplorer.cy.nodes().map(n => n.id())")
    assert sorted(refs) == [
        "platform:hcm-ioc",
        "platform:hcm-ttdl",
        "system:hcm-bao-cao",
        "system:vn-bao-cao-chinh-phu",
    ]
    expanded = "() => window.iocExplorer.cy.nodes('[?expanded]').map(n => n.id())"
    s.page.evaluate("() => { document.getElementById('explorer').dataset.ready = '0'; }")
    s.page.click("#graph-list li[data-ref='platform:hcm-ioc'] button.expand")  # its neighbours join the graph
    s.page.wait_for_selector("#explorer[data-ready='1']", state="attached")
    after = s.page.evaluate("() => window.iocExplorer.cy.nodes().map(n => n.id())")
    # the IOC's 28 neighbours in the sample, and the system registered today that feeds it
    assert len(after) >= 30 and {"system:hcm-cong-1022", "database:hcm-csdl-ngap", LATE_SYSTEM} <= set(after)
    assert sorted(s.page.evaluate(expanded)) == ["platform:hcm-ioc", "system:hcm-bao-cao"]
    s.page.focus("#graph-list li[data-ref='platform:hcm-ttdl'] button.expand")  # from the keyboard too
    s.page.evaluate("() => { document.getElementById('explorer').dataset.ready = '0'; }")
    s.page.keyboard.press("Enter")
    s.page.wait_for_selector("#explorer[data-ready='1']", state="attached")
    assert len(s.page.evaluate(expanded)) == 3
    assert s.page.evaluate("document.activeElement.dataset.ref") == "platform:hcm-ttdl"  # focus kept
    s.shot("graph", doc=True)


def test_department_editor_registers_a_system_and_another_department_cannot_edit_it(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    ed.goto("/")
    ed.page.click("nav.main >> text=Đăng ký hệ thống")
    ed.page.fill("#code", "He Thong PTN")  # not a valid code
    ed.page.fill("#name_vi", "Hệ thống quản lý phòng thí nghiệm")
    ed.page.select_option("#link_0_type", "reads")
    pick(ed.page, "link_0_target", "csdl danh muc", "CSDL danh mục dùng chung TP.HCM")  # the city's shared database
    ed.page.select_option("#link_0_protocol", "rest")
    assert ed.page.input_value("#owner") == "organization:hcm-skhcn"
    ed.page.click("#save")
    # errors next to their fields, in Vietnamese; what was typed is kept
    ed.page.wait_for_selector("#err-code")
    assert ed.page.inner_text("#err-code").startswith("mã chỉ gồm")
    assert "bắt buộc" in ed.page.inner_text("#err-attr_lifecycle")
    assert ed.page.get_attribute("#code", "aria-invalid") == "true"
    assert ed.page.input_value("#name_vi") == "Hệ thống quản lý phòng thí nghiệm"
    assert ed.page.input_value("#link_0_target") == "database:hcm-csdl-danh-muc"
    ed.shot("form-error", doc=True)
    ed.page.fill("#code", "hcm-quan-ly-ptn")
    ed.page.select_option("#attr_lifecycle", "production")
    ed.page.click("#save")
    # a department's new system is reviewed first (the approval policy): one draft, with its connection
    ed.page.wait_for_url("**/drafts/*")
    assert "CSDL danh mục dùng chung TP.HCM" in ed.page.inner_text("main") and ed.page.is_visible("#why")
    arch = signed_in("architect")
    arch.page.goto(ed.page.url.split("?")[0] + "/approve")
    arch.page.click("#confirm-approve")
    arch.page.wait_for_url("**/drafts?*done=approve*")
    ed.goto("/entities/system:hcm-quan-ly-ptn")
    assert "CSDL danh mục dùng chung TP.HCM" in ed.page.inner_text("#relationships")
    assert "Sở Khoa học và Công nghệ" in ed.page.inner_text("#attributes")
    history = ed.page.inner_text("#history")
    assert (
        "editor-skhcn" in history and "→ đọc dữ liệu từ → CSDL danh mục dùng chung TP.HCM" in history
    )  # the link, by whom
    assert ed.page.is_visible("#edit")
    ed.shot("saved")

    other = signed_in("editor-stc")
    other.goto("/entities/system:hcm-quan-ly-ptn")
    assert _count(other, "#edit") == 0 and other.page.is_visible("#read-only")
    other.shot("read-only")
    response = other.page.goto(other.base + "/entities/system:hcm-quan-ly-ptn/edit")
    assert response is not None and response.status == 403
    assert "Bạn không có quyền" in other.page.inner_text("h1")
    refusal = other.page.inner_text("#refusal")  # names, not references: the editor's department by its name
    assert "biên tập viên của Sở Tài chính" in refusal and "organization:hcm-stc" not in refusal
    assert "không được thay đổi Hệ thống quản lý phòng thí nghiệm (system:hcm-quan-ly-ptn)" in refusal
    assert "chỉ sửa được các mục thuộc đơn vị mình" in other.page.inner_text("#refusal-hint")
    other.shot("refused")
    # a hand-made POST with a valid CSRF token is refused by the service as well, and changes nothing
    csrf = other.page.get_attribute("header form input[name=csrf]", "value")
    forged = other.page.request.post(
        other.base + "/entities/system:hcm-quan-ly-ptn/edit",
        form={
            "csrf": csrf,
            "version": "1",
            "name_vi": "Bị sửa trái phép",
            "attr_lifecycle": "retired",
            "owner": "organization:hcm-stc",
        },
    )
    assert forged.status == 403
    ed.goto("/entities/system:hcm-quan-ly-ptn")
    assert ed.page.inner_text("#entity-name") == "Hệ thống quản lý phòng thí nghiệm"


def test_auditor_downloads_the_ioc_diagram_as_of_a_past_date_and_the_audit_bundle(
    signed_in: SignedIn, tmp_path: Path
) -> None:
    from diagrams.bundle import verify_bundle

    s = signed_in("auditor")
    s.goto("/")
    s.page.click("nav.main >> text=Danh mục theo ngày")
    s.page.fill("#valid_on", PAST)
    s.page.click("#asof-advanced summary")  # the record clock: what the catalog had recorded by the end of PAST
    s.page.fill("#recorded_at", PAST)
    s.page.click("main form button[type=submit]")
    s.page.wait_for_url(f"**/asof?*valid_on={PAST}*recorded_at={PAST}*")
    summary = s.page.inner_text("#asof-summary")
    assert "30 thg 6, 2025" in summary and "Hệ thống thông tin" in summary  # PAST as Vietnamese write it
    assert LATE_NAME not in s.page.inner_text("#asof-list")  # recorded after that date
    s.shot("asof", doc=True)

    with s.page.expect_download() as d:
        s.page.click("#dl-ioc-svg")
    svg_path = tmp_path / d.value.suggested_filename
    d.value.save_as(svg_path)
    assert d.value.suggested_filename == f"ioc-{PAST}.svg"
    root = ET.parse(svg_path).getroot()  # a real SVG document
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg_path.read_text(encoding="utf-8")
    assert "Trung tâm điều hành đô thị thông minh (IOC)" in text and LATE_NAME not in text
    today = s.page.request.get(s.base + "/download/diagram/ioc.svg")
    assert LATE_NAME in today.text()  # today's diagram does have it: the past one is really the past
    for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        with s.page.expect_download() as d:
            s.page.click(f"#dl-ioc-{fmt}")
        assert Path(d.value.path()).read_bytes()[:4] == magic

    # any other view, e.g. one department's systems on that date
    s.page.select_option("#view", "department")
    s.page.fill("#diagram-ref", "organization:hcm-skhcn")
    with s.page.expect_download() as d:
        s.page.click("#downloads form button")
    assert d.value.suggested_filename == f"department-organization-hcm-skhcn-{PAST}.svg"
    dept = Path(d.value.path()).read_text(encoding="utf-8")
    assert "Cổng thông tin 1022" in dept and LATE_NAME not in dept

    with s.page.expect_download(timeout=60_000) as d:
        s.page.click("#dl-bundle")
    bundle = tmp_path / "bundle.zip"
    d.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as z:
        assert z.testzip() is None
        manifest = json.loads(z.read("manifest.json"))
        names = set(z.namelist())
    assert manifest["as_of"] == PAST
    assert {"diagrams/ioc.svg", "diagrams/ioc.pdf", "compliance.json", "changelog.jsonl"} <= names
    check = verify_bundle(bundle)
    assert check.ok and check.checked == len(names) - 1, str(check)

    with s.page.expect_download() as d:
        s.page.click("#dl-inventory")
    assert zipfile.is_zipfile(d.value.path())  # XLSX
    with s.page.expect_download() as d:
        s.page.click("#dl-compliance-csv")
    assert Path(d.value.path()).read_text(encoding="utf-8-sig").startswith("rule,severity,ref,")

    s.page.click("#asof-list a >> text=Cổng thông tin 1022")  # an entity as recorded on that date
    s.page.wait_for_url(f"**/entities/system:hcm-cong-1022?as_of={PAST}*")
    assert "30 thg 6, 2025" in s.page.inner_text("main p.muted") and f"as_of={PAST}" in s.page.get_attribute(
        "#context-diagram", "data-src"
    )
    s.goto("/changes?actor=architect")
    assert s.page.is_visible("#changes")
    s.shot("changes", doc=True)


def _register_xss_system(s: Session) -> None:
    s.goto("/new?kind=system")
    s.page.fill("#code", "xss-probe")
    s.page.fill("#name_vi", XSS)
    s.page.fill("#name_en", XSS)
    s.page.fill("#description_vi", XSS)
    s.page.select_option("#owner", "organization:hcm-skhcn")
    s.page.select_option("#attr_lifecycle", "production")
    s.page.fill("#attr_vendor", XSS)
    s.page.select_option("#link_0_type", "feeds")
    pick(s.page, "link_0_target", "platform:hcm-ioc")  # a reference typed whole comes first
    s.page.click("#save")
    s.page.wait_for_url("**/entities/system:xss-probe?saved=1")


def test_a_system_named_like_an_html_tag_is_shown_as_text_on_every_page(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    _register_xss_system(s)
    ed = signed_in("editor-skhcn")  # and a pending draft that quotes it, for the approval queue: the department's
    ed.goto("/entities/system:xss-probe/edit")  # edit of its connection to the IOC is one the policy sends to review
    ed.page.fill("#attr_vendor", "vendor " + XSS)
    ed.page.fill("#link_0_data", XSS)
    ed.page.fill("#note", XSS)
    ed.page.click("#save")
    ed.page.wait_for_url("**/drafts/*")
    pages = [
        "/entities/system:xss-probe",
        "/entities/system:xss-probe?lang=en",
        "/?q=img+onerror",
        "/entities/system:xss-probe/graph",
        "/entities/platform:hcm-ioc/graph",
        "/entities/platform:hcm-ioc",
        "/my-org?org=organization:hcm-skhcn",
        "/compliance?org=organization:hcm-skhcn",
        "/changes",
        "/asof?kind=system",
        "/entities/system:xss-probe/edit",
        "/impact?ref=system:xss-probe",
        "/impact?ref=platform:hcm-ttdl",
        "/drafts",
    ]
    for path in pages:
        s.goto(path)  # waits for the load event, which waits for the embedded diagrams
        if "/graph" in path:
            s.page.wait_for_selector("#graph-list li")
        # the literal text is on the page (as text), and no element came out of it
        content = s.page.evaluate("document.body.innerText") + " ".join(
            s.page.locator("input, textarea").evaluate_all("es => es.map(e => e.value)")
        )
        if path not in (
            "/impact?ref=system:xss-probe",
            "/impact?ref=platform:hcm-ttdl",
            "/entities/platform:hcm-ioc/graph",
        ):
            assert XSS in content, path
        assert s.page.locator("img[src='x']").count() == 0, path
        for frame in s.page.frames:  # the embedded SVG diagrams too
            assert frame.locator("img:not(#explore-navigator img)").count() == 0, (path, frame.url)  # overview: ours
        s.shot("xss-" + re.sub(r"[^a-z0-9]+", "-", path).strip("-"), full=False)
    # instant search renders results with textContent
    s.goto("/")
    s.page.fill("#q", "xss-probe")
    s.page.locator("#results a", has_text=XSS).wait_for()
    assert s.page.locator("#results img").count() == 0
    s.page.click("#explore") if s.page.locator("#explore").count() else None
    s.goto("/entities/platform:hcm-ioc/graph")
    s.page.wait_for_selector("#graph-list li")
    assert s.page.locator("#graph-list a", has_text=XSS).count() == 1  # the IOC's neighbour, drawn as text
    labels = s.page.evaluate("() => window.iocExplorer.cy.nodes().map(n => n.style('label'))")
    assert labels.count(XSS) == 1  # on the canvas too
    assert s.dialogs == []
    svg = httpx.get(s.base + "/download/diagram/ioc.svg").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg and "<img" not in svg


def test_sign_in_cookies_csrf_and_language(signed_in: SignedIn, server: str) -> None:
    s = signed_in(None)
    s.sign_in("architect", "wrong-password-xx")
    assert s.page.inner_text("#signin-error") == "Sai tên đăng nhập hoặc mật khẩu."
    s.sign_in("architect")
    cookies = {c["name"]: c for c in s.context.cookies()}
    session = cookies["ioc_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]  # http here; https: Secure
    assert cookies["ioc_csrf"]["httpOnly"]
    assert PASSWORD not in s.page.content() and session["value"] not in s.page.content()
    assert "architect" in s.page.inner_text("#who")
    # English switch, remembered
    s.goto("/?lang=en")
    assert s.page.inner_text("main h1") == "Search the catalog"
    s.goto("/compliance")
    assert s.page.inner_text("main h1") == "Compliance and completeness by organisation"
    assert s.page.locator("#scores tbody tr").count() > 5
    s.shot("compliance", doc=True)
    s.goto("/changes?lang=vi")
    # keyboard: the first Tab reaches the skip link, Enter moves to the main content
    s.page.keyboard.press("Tab")
    assert s.page.evaluate("document.activeElement.className") == "skip"
    s.page.keyboard.press("Enter")
    assert s.page.evaluate("document.activeElement.id") == "main"
    # a POST without the CSRF token is refused, and sign-out ends the session on the server
    with httpx.Client(base_url=server, cookies={"ioc_session": session["value"]}) as c:
        assert c.post("/new", data={"kind": "system", "code": "no-csrf", "name_vi": "x"}).status_code == 403
        assert c.get("/changes").status_code == 200
    with s.page.expect_navigation():
        s.page.click("header form button")
    with httpx.Client(base_url=server, cookies={"ioc_session": session["value"]}) as c:
        assert c.get("/changes").status_code == 403  # the old cookie is worthless: anonymous viewers see no log
    assert s.page.locator("header a", has_text="Đăng nhập").count() == 1


def test_department_draft_is_approved_by_an_architect(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    ed.goto("/entities/system:hcm-cong-1022/edit")
    ed.page.fill("#attr_vendor", "Công ty phần mềm Sài Gòn")
    # the legal basis of its flow to the IOC: a change to a connection touching the IOC is reviewed (the policy)
    flow = "input[value='system:hcm-cong-1022>feeds>platform:hcm-ioc']"
    ed.page.locator("[data-conn-row]", has=ed.page.locator(flow)).locator("input[name$='_legal_basis']").fill("QĐ 2000")
    ed.page.fill("#note", "Đổi nhà cung cấp theo hợp đồng mới")
    ed.page.click("#save")
    ed.page.wait_for_url("**/drafts/*")  # the draft, and why it waits for review
    assert ed.page.is_visible("#why")
    ed.goto("/entities/system:hcm-cong-1022")
    assert ed.page.is_visible("#pending-drafts")
    assert "Công ty phần mềm Sài Gòn" not in ed.page.inner_text("#attributes")  # nothing applied yet
    assert ed.page.locator("nav.main a", has_text="Duyệt bản nháp").count() == 0  # editors do not approve
    ed.goto("/drafts")  # "my drafts": the editor's own, with their status
    assert ed.page.locator("section.draft.status-pending", has_text="Cổng thông tin 1022").count() >= 1

    arch = signed_in("architect")
    arch.goto("/drafts")
    draft = arch.page.locator("section.draft", has_text="Cổng thông tin 1022")
    assert "Công ty phần mềm Sài Gòn" in draft.inner_text() and "editor-skhcn" in draft.inner_text()
    assert "Đổi nhà cung cấp theo hợp đồng mới" in draft.inner_text()
    arch.shot("drafts", doc=True)
    draft.locator("a.approve").click()  # approval asks for confirmation first
    arch.page.click("#confirm-approve")
    arch.page.wait_for_url("**/drafts?done=approve")
    assert arch.page.is_visible("#decided")
    arch.goto("/entities/system:hcm-cong-1022")
    assert "Công ty phần mềm Sài Gòn" in arch.page.inner_text("#attributes")
    latest = arch.page.locator("#history li.change").first  # applied by the architect, proposed by the editor
    assert (
        "architect" in latest.locator(".actor").inner_text()
        and "editor-skhcn" in latest.locator(".proposer").inner_text()
    )
    assert arch.page.locator("#pending-drafts").count() == 0


def _spreadsheet(path: Path, lifecycle: str) -> Path:
    """An XLSX in the import template's layout with one new system of the Department of Science and Technology (the
    owner is only named: it is in the catalog, not in the file)."""
    from catalog.model import parse_entity
    from catalog.store import open_store
    from catalog.store.base import WriteContext
    from importers.spreadsheet import write_xlsx

    store = open_store(f"sqlite:///{path.with_suffix('.db')}", create=True)
    try:
        ctx = WriteContext()
        store.create_entity(
            parse_entity(
                {
                    "kind": "system",
                    "code": "hcm-quan-ly-de-tai",
                    "name": {"vi": "Hệ thống quản lý đề tài khoa học"},
                    "owner": "organization:hcm-skhcn",
                    "attributes": {"lifecycle": lifecycle},
                }
            ),
            ctx,
        )
        write_xlsx(store, path)
    finally:
        store.close()
    return path


def test_spreadsheet_upload_shows_a_dry_run_before_importing(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("architect")
    s.goto("/import")
    s.page.set_input_files("#file", str(_spreadsheet(tmp_path / "bad.xlsx", "in-use")))
    s.page.click("#dry-run")
    s.page.wait_for_selector("#import-report")
    rejected = s.page.inner_text("#rejections")
    assert "lifecycle" in rejected.lower() or "giai đoạn" in rejected.lower()
    assert "phải là một trong" in rejected  # the reason in Vietnamese
    assert s.page.locator("#confirm-import").count() == 0  # nothing to confirm: a rejected row blocks the import

    s.page.set_input_files("#file", str(_spreadsheet(tmp_path / "good.xlsx", "building")))
    s.page.click("#dry-run")
    s.page.wait_for_selector("#confirm-import")
    report = s.page.inner_text("#import-report")
    assert "Hệ thống thông tin: 1" in report and "Cơ quan, tổ chức" not in report  # counts by kind, by its label
    s.shot("import-dry-run", doc=True)
    s.goto("/entities/system:hcm-quan-ly-de-tai")
    assert "Không tìm thấy" in s.page.inner_text("h1")  # a dry run writes nothing
    s.page.go_back()
    s.page.click("#confirm-import")
    s.page.wait_for_selector("#report-title")
    assert "Đã nhập" in s.page.inner_text("#report-title")
    s.goto("/entities/system:hcm-quan-ly-de-tai")
    assert s.page.inner_text("#entity-name") == "Hệ thống quản lý đề tài khoa học"

    ed = signed_in("auditor")
    ed.goto("/import")
    assert ed.page.is_visible("#import-refused")  # readers may not upload; editors: test_editor_import.py


def test_impact_and_my_organisation(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    s.goto("/my-org")
    assert s.page.inner_text("main h1") == "Sở Khoa học và Công nghệ TP.HCM"
    assert s.page.locator("main table a", has_text="Cổng thông tin 1022").count() == 1
    assert s.page.locator("main .sev-error, main .sev-warning").count() > 0  # compliance warnings per item
    s.shot("my-org", doc=True)
    s.goto("/impact?ref=database:hcm-csdl-danh-muc")
    rows = s.page.locator("#impact tbody tr")
    assert rows.count() > 3
    assert "CSDL danh mục dùng chung TP.HCM" in rows.first.inner_text()  # the path explains each hit
    s.shot("impact", doc=True)
