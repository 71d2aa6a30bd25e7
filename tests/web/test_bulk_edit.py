"""Bulk edit in a real browser (headless chromium, tests/web/uitest.py): Sở KH&CN's editor picks a field by its label,
selects three of the department's systems, sets "last reviewed", previews (current -> new, labelled, what the approval
policy will do) and confirms: one change set through the policy (an editor's review date applies at once under the
default policy), and the three systems carry the new date. The same at 390 px without sideways scrolling; the draft
path (a policy that reviews everything) and refusals without a browser, through the app."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web.uitest import Session

from catalog.i18n import format_date

SignedIn = Callable[[str | None], Session]
PHONE = {"width": 390, "height": 844}
SKHCN = "organization:hcm-skhcn"


def width(s: Session) -> int:
    return s.page.evaluate("() => document.documentElement.scrollWidth")


def pick_field(s: Session, label: str) -> None:
    """Choose the field by its label (the page submits itself on change; the button is there without JavaScript)."""
    with s.page.expect_navigation():
        s.page.select_option("#field", label=label)
    s.page.wait_for_selector("#bulk-items")


def systems(s: Session, n: int) -> dict[str, str]:
    """Check the first ``n`` systems of the list; returns their names by reference."""
    rows = s.page.locator("#bulk-items tbody tr", has_text="Hệ thống thông tin")
    assert rows.count() >= n
    picked = {}
    for i in range(n):
        row = rows.nth(i)
        box = row.locator("input[type=checkbox]")
        box.check()
        picked[str(box.get_attribute("value"))] = row.locator("label").inner_text()
    return picked


def attribute(s: Session, ref: str, attr: str) -> object:
    """An attribute of a system, read through the API with the browser's session."""
    r = s.page.request.get(f"{s.base}/api/v1/systems/{ref.split(':', 1)[1]}")
    assert r.status == 200, r.text()
    return r.json()["attributes"].get(attr)


def test_select_three_systems_set_last_reviewed_preview_and_confirm(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    s.goto("/my-org")  # three systems ticked on "my organisation", then edited together
    boxes = s.page.locator("main input[type=checkbox][value^='system:']")
    refs = [str(boxes.nth(i).get_attribute("value")) for i in range(3)]
    for i in range(3):
        boxes.nth(i).check()
    with s.page.expect_navigation():
        s.page.click("#bulk-edit")
    assert s.page.inner_text("main h1") == "Sửa hàng loạt: Sở Khoa học và Công nghệ TP.HCM"
    options = s.page.locator("#field option").all_inner_texts()
    assert (
        options.index("Giai đoạn vòng đời")
        < options.index("Ngày rà soát gần nhất")
        < options.index("Đơn vị phát triển")
    )
    assert "lifecycle" not in options and "last_reviewed" not in options  # fields by their labels
    pick_field(s, "Ngày rà soát gần nhất")
    assert s.page.locator("#value").get_attribute("type") == "date"
    checked = s.page.locator("#bulk-items input[type=checkbox]:checked")
    assert sorted(str(checked.nth(i).get_attribute("value")) for i in range(checked.count())) == sorted(refs)
    rows = s.page.locator("#bulk-items tbody tr")
    names = {
        ref: rows.filter(has=s.page.locator(f"input[value='{ref}']")).locator("label").inner_text() for ref in refs
    }
    s.page.fill("#value", "2026-11-30")
    s.shot("bulk-list", doc=True)
    with s.page.expect_navigation():
        s.page.click("#bulk-preview")

    table = s.page.inner_text("#bulk-preview-table")
    new = format_date("2026-11-30", "vi")
    for name in names.values():
        assert name in table
    assert table.count(new) == 3 and "→" in table and "2026-11-30" not in table  # the date in the reader's locale
    assert "áp dụng ngay" in s.page.inner_text("#bulk-next")  # the default policy: an editor's review date applies
    assert s.page.locator("input[name=item]").count() == 3
    s.shot("bulk-preview", doc=True)
    with s.page.expect_navigation():
        s.page.click("#bulk-confirm")

    assert "Đã áp dụng 3 thay đổi" in s.page.inner_text("#bulk-outcome")
    rows = s.page.locator("#bulk-items tbody tr")
    for ref, name in names.items():
        assert new in rows.filter(has_text=name).first.inner_text()
        assert attribute(s, ref, "last_reviewed") == "2026-11-30"


def test_enumerated_values_by_label_and_nothing_wider_than_a_phone(signed_in: SignedIn) -> None:
    s = signed_in("editor-skhcn")
    s.page.set_viewport_size(PHONE)
    s.goto("/my-org/bulk")
    pick_field(s, "Giai đoạn vòng đời")
    values = s.page.locator("#value option").all_inner_texts()
    assert "Đang vận hành" in values and "production" not in values
    current = s.page.inner_text("#bulk-items tbody")
    assert "Đang vận hành" in current and "production" not in current  # current values labelled too
    assert width(s) <= 390, width(s)
    s.shot("bulk-390")
    s.page.click("#select-all")  # select all on the page (JavaScript)
    boxes = s.page.locator("#bulk-items input[type=checkbox]")
    assert boxes.count() > 3 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    s.page.click("#select-all")  # again: none
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    names = systems(s, 3)
    s.page.select_option("#value", label="Kế hoạch")
    with s.page.expect_navigation():
        s.page.click("#bulk-preview")
    assert width(s) <= 390, width(s)
    s.shot("bulk-preview-390")
    table = s.page.inner_text("#bulk-preview-table")
    assert all(name in table for name in names.values())
    assert "production" not in s.page.inner_text("main")


# --- through the app, without a browser: the draft path and refusals -------------------------------------------


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, object]]:
    from fastapi.testclient import TestClient
    from web.uitest import build_catalog

    from api.app import create_app
    from catalog.settings import Settings
    from catalog.store import open_store

    store = open_store(build_catalog(tmp_path / "web.db"))
    with TestClient(create_app(Settings(demo=True), store=store)) as c:
        yield c, store
    store.close()


def sign_in(c: object, user: str) -> str:
    from web.uitest import PASSWORD

    page = c.get("/signin").text  # type: ignore[attr-defined]
    c.post("/signin", data={"csrf": csrf(page), "name": user, "password": PASSWORD})  # type: ignore[attr-defined]
    return csrf(c.get("/my-org/bulk").text)  # type: ignore[attr-defined]


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]


def own_systems(store: object, n: int) -> list[object]:
    from catalog.store.base import EntityFilter

    return sorted(store.list_entities(EntityFilter(kind="system", owner=SKHCN)), key=lambda e: e.ref)[:n]  # type: ignore[attr-defined]


def test_a_policy_that_reviews_makes_one_draft_and_nothing_changes(
    app: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.policy
    from catalog.digest import content_hash
    from catalog.drafts import Drafts
    from catalog.permissions import Principal

    c, store = app
    reviews = catalog.policy.parse_policy({"version": 1, "default": "review", "rules": []}, store.metamodel)  # type: ignore[attr-defined]
    monkeypatch.setattr(catalog.policy, "policy_in_force", lambda mm=None: reviews)
    token = sign_in(c, "editor-skhcn")
    picked = own_systems(store, 3)
    form = {"csrf": token, "org": SKHCN, "field": "lifecycle", "value": "retiring", "step": "preview"}
    r = c.post("/my-org/bulk", data={**form, "ref": [e.ref for e in picked]})  # type: ignore[attr-defined]
    assert r.status_code == 200 and "sẽ gửi thành một bản nháp để duyệt" in r.text and "Gửi bản nháp để duyệt" in r.text
    items = re.findall(r'name="item" value="([^"]+)"', r.text)
    assert sorted(items) == sorted(f"{e.ref} {e.version}" for e in picked if e.attributes["lifecycle"] != "retiring")
    before = content_hash(store)  # type: ignore[arg-type]
    done = c.post(  # type: ignore[attr-defined]
        "/my-org/bulk", data={**form, "step": "confirm", "item": items, "note": "Rà soát"}, follow_redirects=False
    )
    assert done.status_code == 303 and "done=draft" in done.headers["location"]
    draft_id = re.search(r"draft=([0-9a-f]+)", done.headers["location"]).group(1)  # type: ignore[union-attr]
    page = c.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert f'href="/drafts/{draft_id}' in page and "Đã gửi thành một bản nháp để duyệt" in page
    draft = Drafts(store, Principal("architect", "architect")).get(draft_id)  # type: ignore[arg-type]
    assert [(ch.op, ch.data) for ch in draft.changes_list()] == [
        ("patch", {"attributes": {"lifecycle": "retiring"}}) for _ in items
    ]
    assert draft.note == "Rà soát" and content_hash(store) == before  # type: ignore[arg-type]


def test_refusals_name_what_is_wrong_and_change_nothing(app: tuple[object, object]) -> None:
    from catalog.digest import content_hash

    c, store = app
    token = sign_in(c, "editor-stc")
    before = content_hash(store)  # type: ignore[arg-type]
    theirs = own_systems(store, 1)[0]  # Sở KH&CN's, not Sở Tài chính's
    form = {"csrf": token, "org": SKHCN, "field": "last_reviewed", "value": "2026-11-30"}
    r = c.post("/my-org/bulk", data={**form, "step": "confirm", "item": f"{theirs.ref} {theirs.version}"})  # type: ignore[attr-defined]
    assert r.status_code == 403 and 'id="bulk-failure"' in r.text and "editor-stc" in r.text
    r = c.post("/my-org/bulk", data={**form, "step": "preview", "value": "30/11/2026", "ref": theirs.ref})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "ngày" in r.text.split('id="bulk-failure"', 1)[1].split("</p>", 1)[0]
    r = c.post("/my-org/bulk", data={**form, "step": "preview"})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "Chọn ít nhất một đối tượng" in r.text
    r = c.post("/my-org/bulk", data={**form, "field": "no_such_field", "step": "preview", "ref": theirs.ref})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "Chọn một trường" in r.text
    r = c.post("/my-org/bulk", data={**form, "step": "confirm", "item": "system:khong-co 1"})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "system:khong-co" in r.text
    assert content_hash(store) == before  # type: ignore[arg-type]
    page = c.get("/my-org/bulk", params={"org": SKHCN, "field": "lifecycle"}).text  # type: ignore[attr-defined]
    assert "Sở Tài chính" in page.split("<h1", 1)[1].split("</h1>", 1)[0]  # an editor lists their own organisation
