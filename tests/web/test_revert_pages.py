"""Revert in the browser: an architect changes a database's description, opens "Hoàn tác" on the entity's history,
reads on the confirmation page what will be undone (the field by its label, now -> after), confirms with a reason,
and the description is back, the history naming the revert as the cause. A revert a later change blocks shows the
blocking entry and no button. An auditor is offered no revert. Every page fits 390 px. Screenshots:
test-artifacts/revert_*.png."""

from __future__ import annotations

import re
from collections.abc import Callable

from web.uitest import Session

SignedIn = Callable[[str | None], Session]
DB = "database:hcm-csdl-lao-dong"


def _fits_390(s: Session, name: str) -> None:
    s.page.set_viewport_size({"width": 390, "height": 800})
    width = s.page.evaluate("document.documentElement.scrollWidth")
    s.shot(f"390-{name}", full=False)
    assert width <= 390, f"{s.page.url} is {width} px wide at 390"
    s.page.set_viewport_size({"width": 1280, "height": 860})


def _edit_description(s: Session, text: str) -> str:
    """Save a new Vietnamese description as the signed-in architect; the one it had."""
    s.goto(f"/entities/{DB}/edit")
    old = s.page.input_value("#description_vi")
    s.page.fill("#description_vi", text)
    s.page.click("#save")
    s.page.wait_for_url(re.compile(r".*/entities/database:hcm-csdl-lao-dong\?saved=1$"))
    return old


def _visible(s: Session) -> str:
    return s.page.locator("main").inner_text()


def test_revert_an_edit_from_the_entity_history(signed_in: SignedIn) -> None:
    arch = signed_in("architect")
    new = "Mô tả nhập nhầm: CSDL lao động (sẽ hoàn tác)"
    old = _edit_description(arch, new)
    assert old and old != new

    arch.goto(f"/entities/{DB}")
    latest = arch.page.locator("#history li.change").first
    seq = latest.get_attribute("data-seq")
    latest.locator("a.revert").click()
    arch.page.wait_for_url(f"**/revert?seq={seq}**")
    main = _visible(arch)
    assert "Hoàn tác một thay đổi" in main and f"Hoàn tác mục #{seq} của nhật ký thay đổi" in main
    item = arch.page.locator("#revert-items li.change")
    assert item.count() == 1 and item.get_attribute("data-op") == "update"
    assert "Đưa về như trước" in item.inner_text() and "CSDL" in item.locator(".change-head").inner_text()
    row = item.locator("table.fields tbody tr").filter(has_text="Mô tả")
    assert row.count() == 1  # the field by its label, the value now and after the revert
    assert new in row.locator("td.before").inner_text() and old[:40] in row.locator("td.after").inner_text()
    assert "description" not in main and "ui-" not in main  # no raw field names or codes
    arch.shot("confirm")
    _fits_390(arch, "confirm")

    arch.page.fill("#revert-reason", "nhập nhầm mô tả")
    arch.page.click("#revert-confirm")
    arch.page.wait_for_url(re.compile(r".*/revert/[0-9a-f]{32}\?lang=vi$"))
    done = _visible(arch)
    assert f"Hoàn tác mục #{seq} (lý do: nhập nhầm mô tả)" in done and "architect" in done
    assert "Bản ghi hoàn tác" in done  # the revert's own record, by its label
    arch.shot("done")
    _fits_390(arch, "done")

    arch.goto(f"/entities/{DB}/edit")
    assert arch.page.input_value("#description_vi") == old
    arch.goto(f"/entities/{DB}")
    cause = arch.page.locator("#history li.change").first.locator(".cause-revert")
    assert cause.inner_text() == f"Hoàn tác mục #{seq} (lý do: nhập nhầm mô tả)"

    # English page: one language
    arch.goto(f"/revert?seq={seq}&lang=en")
    assert arch.page.locator("h1").inner_text() == "Revert a change"


def test_a_later_change_blocks_the_revert_and_names_it(signed_in: SignedIn) -> None:
    arch = signed_in("architect")
    old = _edit_description(arch, "Lần sửa thứ nhất")
    _edit_description(arch, "Lần sửa thứ hai")
    arch.goto(f"/changes?ref={DB}")
    entries = arch.page.locator("#changes li.change")
    later, first = entries.nth(0).get_attribute("data-seq"), entries.nth(1).get_attribute("data-seq")
    entries.nth(1).locator("a.revert").click()
    arch.page.wait_for_url(f"**/revert?seq={first}**")
    refused = arch.page.locator("#revert-refused")
    said = refused.inner_text()
    assert "Không thể hoàn tác" in said and f"mục #{later}" in said and "architect" in said and "Mô tả" in said
    assert arch.page.locator("#revert-confirm").count() == 0  # nothing to click
    assert arch.page.locator("#revert-blocking a").inner_text() == f"Mục #{later} trong nhật ký thay đổi"
    arch.shot("refused")
    _fits_390(arch, "refused")
    # undo the later one, then the first: the description is back
    arch.goto(f"/revert?seq={later}")
    arch.page.click("#revert-confirm")
    arch.page.wait_for_url("**/revert/*")
    arch.goto(f"/revert?seq={first}")
    arch.page.click("#revert-confirm")
    arch.page.wait_for_url("**/revert/*")
    arch.goto(f"/entities/{DB}/edit")
    assert arch.page.input_value("#description_vi") == old


def test_an_auditor_is_offered_no_revert(signed_in: SignedIn) -> None:
    aud = signed_in("auditor")
    aud.goto("/changes")
    assert aud.page.locator("#changes li.change").count() > 0
    assert aud.page.locator("a.revert").count() == 0
    seq = aud.page.locator("#changes li.change").first.get_attribute("data-seq")
    response = aud.page.goto(f"{aud.base}/revert?seq={seq}")
    assert response is not None and response.status == 403
    assert aud.page.locator("#revert-confirm").count() == 0


def test_an_import_run_with_organisation_events_is_refused_by_label(signed_in: SignedIn) -> None:
    arch = signed_in("architect")
    arch.goto("/changes?ref=database:hcm-csdl-ngap")
    created = arch.page.locator("#changes li.change").last  # created by the sample's import run
    assert "Lần nhập" in created.locator(".cause-import").inner_text()
    created.locator("a.revert-run").click()
    arch.page.wait_for_url("**/revert?run=*")
    said = arch.page.locator("#revert-refused").inner_text()
    assert "Sự kiện tổ chức không được hoàn tác" in said and "event:" not in said
    assert arch.page.locator("#revert-confirm").count() == 0
    arch.shot("run-refused")


def test_revert_an_approved_draft_from_its_review_page(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    ref = "system:hcm-he-thong-sau-kiem-toan"  # owned by the editor's department (tests/web/uitest.py)
    current = ed.page.request.get(f"{ed.base}/api/v1/entities/{ref}")
    assert current.ok, current.text()
    version = current.json()["version"]
    made = ed.page.request.post(
        f"{ed.base}/api/v1/drafts",
        data={"ref": ref, "base_version": version, "changes": {"attributes": {"vendor": "Nhà thầu đề xuất"}}},
    )
    assert made.status == 201, made.text()
    draft, tag = made.json()["id"], made.headers["etag"]
    arch = signed_in("architect")
    approved = arch.page.request.post(f"{arch.base}/api/v1/drafts/{draft}/approve", headers={"If-Match": tag})
    assert approved.ok, approved.text()

    arch.goto(f"/drafts/{draft}")
    arch.page.click("#revert-draft")
    arch.page.wait_for_url(f"**/revert?draft={draft}**")
    assert f"Hoàn tác bản nháp đã duyệt {draft}" in _visible(arch)
    row = arch.page.locator("#revert-items table.fields tbody tr").filter(has_text="Nhà thầu đề xuất")
    assert row.count() == 1 and "Nhà thầu đề xuất" in row.locator("td.before").inner_text()
    assert arch.page.locator("#revert-skipped").count() == 1  # the draft's own record stays as it is
    arch.page.click("#revert-confirm")
    arch.page.wait_for_url("**/revert/*")
    assert f"Hoàn tác bản nháp đã duyệt {draft}" in _visible(arch)
    after = arch.page.request.get(f"{arch.base}/api/v1/entities/{ref}").json()
    assert after["attributes"].get("vendor") != "Nhà thầu đề xuất"
