"""Notices in the browser (issue 16, item 3): a watcher, a department editor's draft, its rejection with a reason; the
bell in the header counts what is unread, /notices lists it in the page's language, at 1366 and 390 px (no page
wider than the screen). Writes go through the REST API with the browser's session (the same services as the forms).
Headless chromium, see tests/web/uitest.py; screenshots under test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable

from web.uitest import LATE_NAME, LATE_SYSTEM, Session

SignedIn = Callable[[str | None], Session]
REASON = "Thiếu quyết định phê duyệt cấp độ an toàn"
WIDTH = "() => document.documentElement.scrollWidth"


def _etag(s: Session, path: str) -> str:
    r = s.page.request.get(s.base + path)
    assert r.ok, r.text()
    return r.headers["etag"]


def _bell(s: Session) -> int:
    bell = s.page.locator("#bell")
    return int(bell.inner_text().replace(".", "").replace(",", "")) if bell.count() else 0


def test_watch_draft_rejection_and_the_bell_in_both_languages_and_on_a_phone(signed_in: SignedIn) -> None:
    aud = signed_in("auditor")
    aud.goto(f"/entities/{LATE_SYSTEM}")
    assert aud.page.inner_text("#watch") == "Theo dõi"
    with aud.page.expect_navigation():
        aud.page.click("#watch")
    assert aud.page.inner_text("#watch") == "Bỏ theo dõi"

    ed = signed_in("editor-skhcn")
    tag = _etag(ed, f"/api/v1/entities/{LATE_SYSTEM}")
    r = ed.page.request.post(
        ed.base + "/api/v1/drafts",
        data={"ref": LATE_SYSTEM, "base_version": int(tag.strip('"')), "changes": {"attributes": {"vendor": "VNPT"}}},
    )
    assert r.status == 201, r.text()
    draft = r.json()

    arch = signed_in("architect")
    arch.goto("/")
    assert _bell(arch) >= 1  # the approver is told
    with arch.page.expect_navigation():
        arch.page.click("#bell")
    assert arch.page.url.endswith("/notices?lang=vi")
    submitted = f"editor-skhcn đã gửi đề xuất thay đổi «{LATE_NAME}» chờ duyệt"
    assert submitted in arch.page.inner_text("#notices")
    arch.shot("notices-architect")
    r = arch.page.request.post(
        f"{arch.base}/api/v1/drafts/{draft['id']}/reject",
        data={"reason": REASON},
        headers={"If-Match": _etag(arch, f"/api/v1/drafts/{draft['id']}")},
    )
    assert r.ok, r.text()
    # a direct change by the architect: the auditor watches this system
    system = "/api/v1/systems/" + LATE_SYSTEM.split(":", 1)[1]
    r = arch.page.request.patch(
        arch.base + system, data={"attributes": {"vendor": "FPT IS"}}, headers={"If-Match": _etag(arch, system)}
    )
    assert r.ok, r.text()

    # the editor reads the rejection and its reason, in English
    ed.goto("/notices?lang=en")
    assert ed.page.inner_text("h1") == "Notices"
    first = ed.page.locator("#notices li").first.inner_text()
    assert f"architect rejected your proposed change to “{LATE_NAME}”. Reason: {REASON}" in first
    assert "Mark all as read" in ed.page.inner_text("main") and "Đánh dấu" not in ed.page.inner_text("body")
    assert "draft.rejected" not in ed.page.content()  # a label, never the event's code
    unread = _bell(ed)
    assert unread >= 1
    ed.shot("notices-editor-en", doc=True)
    with ed.page.expect_navigation():
        ed.page.locator("#notices li").first.locator("button.mark-read").click()
    assert _bell(ed) == unread - 1 and "New" not in ed.page.locator("#notices li").first.inner_text()

    # the watcher, in Vietnamese, on a phone
    aud.page.set_viewport_size({"width": 390, "height": 844})
    aud.goto("/notices?lang=vi")
    assert f"architect đã cập nhật «{LATE_NAME}»: Đơn vị phát triển" in aud.page.inner_text("#notices")
    assert aud.page.evaluate(WIDTH) <= 390
    assert _bell(aud) >= 1
    aud.shot("notices-watcher-390")
    with aud.page.expect_navigation():
        aud.page.click("#mark-all-read")
    assert _bell(aud) == 0 and aud.page.locator("#notices li.unread").count() == 0
    aud.page.set_viewport_size({"width": 1366, "height": 900})
    aud.goto("/notices")
    assert aud.page.evaluate(WIDTH) <= 1366
    aud.shot("notices-watcher-1366")


def test_webhooks_page_is_for_admins_only(signed_in: SignedIn) -> None:
    arch = signed_in("architect")
    r = arch.page.goto(arch.base + "/admin/webhooks")
    assert r is not None and r.status == 403
    assert arch.page.locator("#deliveries").count() == 0
