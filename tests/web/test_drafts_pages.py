"""The drafts pages in a real browser (headless chromium, tests/web/uitest.py): an editor's change set becomes one
draft they see under "my drafts" with its status and the policy's reasons; an approver sees the pending count in the
header, compares current and proposed values (labels, names, the target's owner and province, never raw codes),
confirms the approval on a confirmation page; rejecting needs a reason, which the editor then reads. At 390 px no
page is wider than the screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from web.uitest import Session

SignedIn = Callable[[str | None], Session]
PHONE = {"width": 390, "height": 844}


def change_set(code: str, name: str) -> list[dict[str, Any]]:
    """A system of the editor's department with the database it writes and a daily flow to HCMC's IOC via the LGSP."""
    return [
        {
            "op": "create",
            "data": {
                "kind": "system",
                "code": code,
                "name": {"vi": name, "en": name},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "building"},
            },
        },
        {
            "op": "create",
            "data": {
                "kind": "database",
                "code": f"{code}-db",
                "name": {"vi": f"CSDL {name}"},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "building", "scope": "internal"},
            },
        },
        {
            "op": "link",
            "data": {"source": f"system:{code}", "type": "writes", "target": f"database:{code}-db"},
        },
        {
            "op": "link",
            "data": {
                "source": f"system:{code}",
                "type": "feeds",
                "target": "platform:hcm-ioc",
                "properties": {"via": "platform:hcm-lgsp", "frequency": "daily", "data": "Phản ánh hiện trường"},
            },
        },
    ]


def submit(s: Session, code: str, name: str, note: str) -> str:
    """The editor submits a change set (the REST API with the browser's session); returns the draft's id."""
    r = s.page.request.post(f"{s.base}/api/v1/changesets", data={"changes": change_set(code, name), "note": note})
    assert r.status == 202, r.text()
    return r.json()["draft"]["id"]


def width(s: Session) -> int:
    return s.page.evaluate("() => document.documentElement.scrollWidth")


def test_editor_sees_my_drafts_and_an_approver_compares_and_confirms(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    name = "Hệ thống phản ánh hiện trường thử duyệt"
    draft = submit(ed, "hcm-skhcn-duyet-1", name, "Đăng ký mới kèm luồng tới IOC")

    ed.goto(f"/drafts?submitted={draft}&lang=vi")  # where a form sends its writer after submitting a draft
    assert ed.page.inner_text("h1") == "Bản nháp của tôi"
    assert "Đã gửi bản nháp để duyệt" in ed.page.inner_text("#submitted")
    assert ed.page.locator("nav#menu a[href^='/drafts']").count() == 1  # the editor's menu reaches "my drafts"
    mine = ed.page.locator(f"#draft-{draft}")
    assert name in mine.inner_text() and "Đăng ký mới kèm luồng tới IOC" in mine.inner_text()
    assert "Chờ duyệt" in mine.locator(".chip.status").inner_text()
    why = mine.locator(".why").inner_text()
    assert "Cần duyệt vì" in why and "Trung tâm điều hành" in why and "thêm mới" in why
    assert ed.page.locator("#pending-drafts-badge").count() == 0  # editors do not approve
    ed.shot("my-drafts")

    arch = signed_in("architect")
    arch.goto("/?lang=vi")
    badge = arch.page.locator("#pending-drafts-badge")
    assert badge.is_visible() and int(badge.inner_text()) >= 1
    badge.click()
    arch.page.wait_for_url(re.compile(r".*/drafts\?tab=queue.*"))
    arch.page.locator(f"#draft-{draft} h2 a").click()
    arch.page.wait_for_url(f"**/drafts/{draft}?lang=vi")
    body = arch.page.inner_text("main")
    for seen in (
        name,
        "Kết nối mới",
        "cung cấp dữ liệu cho",  # the relationship's label
        "ghi dữ liệu vào",
        "Qua nền tảng",
        "Hằng ngày",  # the frequency's label
        "Phản ánh hiện trường",
        "Sở Khoa học và Công nghệ",  # the owner by name
    ):
        assert seen in body, seen
    for raw in ("platform:hcm-lgsp", "organization:hcm-skhcn", "daily", "feeds", "building", "changeset"):
        assert raw not in body, raw
    via = arch.page.locator("section.op-link", has_text="cung cấp dữ liệu cho").locator("tr", has_text="Qua nền tảng")
    assert "TP. Hồ Chí Minh" in via.inner_text() or "Thành phố Hồ Chí Minh" in via.inner_text()
    arch.shot("draft-review", doc=True)

    arch.page.click("#approve")
    arch.page.wait_for_url(f"**/drafts/{draft}/approve?lang=vi")
    assert "Xác nhận duyệt" in arch.page.inner_text("h1")
    assert "4 thay đổi" in arch.page.inner_text("#confirm-what")
    assert arch.page.locator("ol.confirm-list li").count() == 4
    arch.shot("draft-confirm")
    arch.page.click("#confirm-approve")
    arch.page.wait_for_url("**/drafts?done=approve*")
    assert arch.page.is_visible("#decided")

    arch.goto("/entities/system:hcm-skhcn-duyet-1?lang=vi")
    assert name in arch.page.inner_text("h1")
    ed.goto("/drafts?lang=vi")
    assert "Đã duyệt" in ed.page.locator(f"#draft-{draft} .chip.status").inner_text()


def test_reject_needs_a_reason_which_the_editor_reads(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    draft = submit(ed, "hcm-skhcn-tu-choi-1", "Hệ thống gửi lại sau", "Thử từ chối")
    arch = signed_in("architect")
    arch.goto(f"/drafts/{draft}?lang=vi")
    assert arch.page.get_attribute("#reason", "required") is not None  # the browser asks for a reason first
    arch.page.fill("#reason", "   ")
    arch.page.click("#reject")
    arch.page.wait_for_load_state("load")
    assert arch.page.locator("#reason-error").is_visible()  # the server refuses a blank reason too
    assert "Chờ duyệt" in arch.page.inner_text("#draft-status")
    arch.page.fill("#reason", "Chưa có căn cứ pháp lý cho luồng dữ liệu")
    arch.page.click("#reject")
    arch.page.wait_for_url("**/drafts?done=reject*")

    ed.goto("/drafts?lang=vi")
    mine = ed.page.locator(f"#draft-{draft}")
    assert mine.locator(".chip.status").inner_text() == "Đã từ chối"
    assert "Chưa có căn cứ pháp lý cho luồng dữ liệu" in mine.locator(".reason").inner_text()
    ed.goto(f"/drafts/{draft}?lang=en")
    assert "Reviewer's reason" in ed.page.inner_text("main") and "Cần duyệt" not in ed.page.inner_text("main")


def test_drafts_pages_fit_a_phone(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    draft = submit(ed, "hcm-skhcn-dien-thoai-1", "Hệ thống thử trên điện thoại có tên khá dài", "Thử 390 px")
    ed.page.set_viewport_size(PHONE)
    arch = signed_in("architect")
    arch.page.set_viewport_size(PHONE)
    for s, path in (
        (ed, "/drafts?lang=vi"),
        (ed, f"/drafts/{draft}?lang=vi"),
        (arch, "/drafts?lang=vi"),
        (arch, "/drafts?tab=all&lang=en"),
        (arch, f"/drafts/{draft}?lang=vi"),
        (arch, f"/drafts/{draft}/approve?lang=vi"),
    ):
        s.goto(path)
        s.page.wait_for_load_state("load")
        assert width(s) <= PHONE["width"], (path, width(s))
    arch.shot("draft-confirm-390", full=False)
