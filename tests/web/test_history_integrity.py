"""History with values and trust from the page, in the browser: a department editor proposes a change, an architect
approves it, and the entity's history shows the value before and after (long text diffed word by word), the approver
and the proposer; the auditor filters the change log and downloads it; the integrity page verifies the chain, checks
a saved head and an audit bundle (and refuses a tampered one). Screenshots: docs/img/history-*.png, integrity-*.png
(with IOC_CATALOG_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from web.uitest import DOC_IMG, Session

SignedIn = Callable[[str | None], Session]
DB = "database:hcm-csdl-nguoi-dan"
ADDED = "Bổ sung theo Nghị định 13/2023 về bảo vệ dữ liệu cá nhân"


def _doc(s: Session, name: str, selector: str | None = None) -> None:
    """A screenshot for docs/web.md (only when asked: IOC_CATALOG_DOC_SCREENSHOTS=1); always one in the artifacts."""
    s.shot(name)
    if os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        target = s.page.locator(selector) if selector else s.page
        target.screenshot(path=str(DOC_IMG / f"{name}.png"))


def _fits_390(s: Session, path: str) -> None:
    s.page.set_viewport_size({"width": 390, "height": 800})
    s.goto(path)
    width = s.page.evaluate("document.documentElement.scrollWidth")
    s.shot("390-" + path.strip("/").split("?")[0].replace("/", "-").replace(":", "-"), full=False)
    assert width <= 390, f"{path} is {width} px wide at 390"
    s.page.set_viewport_size({"width": 1280, "height": 860})


def test_history_shows_values_before_and_after_and_the_proposer_of_an_approved_draft(signed_in: SignedIn) -> None:
    ed = signed_in("editor-skhcn")
    ed.goto(f"/entities/{DB}/edit")
    old = ed.page.input_value("#attr_evidence_note")  # a text attribute: the draft changes only this field
    assert old and ADDED not in old
    ed.page.fill("#attr_evidence_note", f"{old} {ADDED}.")
    # and the legal basis of where it is hosted: a connection of a shared database, which the policy reviews
    hosted = ed.page.locator("[data-conn-row]", has=ed.page.locator(f"input[value='{DB}>hosted_on>platform:hcm-ttdl']"))
    hosted.locator("input[name$='_legal_basis']").fill("QĐ 2000")
    ed.page.fill("#note", "Cập nhật ghi chú nguồn")
    ed.page.click("#save")
    ed.page.wait_for_url("**/drafts/*")

    arch = signed_in("architect")
    arch.goto("/drafts")
    arch.page.locator("section.draft", has_text="CSDL người dân TP.HCM").locator("a.approve").click()
    arch.page.click("#confirm-approve")
    arch.page.wait_for_url("**/drafts?done=approve")

    aud = signed_in("auditor")
    aud.goto(f"/entities/{DB}")
    latest = aud.page.locator("#history li.change").first
    assert "architect" in latest.locator(".actor").inner_text()
    assert latest.locator(".proposer").inner_text() == "đề xuất: editor-skhcn"
    assert "Bản nháp do editor-skhcn đề xuất, architect phê duyệt" in latest.locator(".causes").inner_text()
    row = latest.locator('tr[data-key="attributes.evidence_note"]')
    assert row.locator("th").inner_text() == "Ghi chú nguồn"  # the field by its label, in the page's language
    assert row.locator("td.before").inner_text().strip() == old.strip()
    inserted = " ".join(row.locator("td.after ins").all_inner_texts())
    assert ADDED in inserted and old.split()[0] not in inserted  # only the new words are marked
    assert row.locator("td.before del").count() == 0
    # the entity's creation shows what it was created with (an enumerated value by its label, the owner by name)
    created = aud.page.locator("#history li.change[data-op=create]").last
    assert "Đang vận hành" in created.locator('tr[data-key="attributes.lifecycle"] td.after').inner_text()
    assert "Sở Khoa học và Công nghệ" in created.locator('tr[data-key="owner_history"] td.after').inner_text()
    assert "database:" not in aud.page.inner_text("#history")  # no raw references where a name exists
    latest.scroll_into_view_if_needed()
    _doc(aud, "history-entity", "#history li.change >> nth=0")
    _fits_390(aud, f"/entities/{DB}")

    # the English page: labels in English, the same values
    aud.goto(f"/entities/{DB}?lang=en")
    latest = aud.page.locator("#history li.change").first
    assert latest.locator(".proposer").inner_text() == "proposed by editor-skhcn"
    assert latest.locator('tr[data-key="attributes.evidence_note"] th').inner_text() == "Evidence note"
    aud.goto(f"/entities/{DB}?lang=vi")


def test_change_log_filters_and_downloads(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("auditor")
    s.goto("/changes")
    assert s.page.locator("#changes li.change").count() > 10
    s.page.select_option("#op", "create")
    s.page.select_option("#kind", "organization")
    s.page.fill("#since", "2025-03-01")
    s.page.fill("#until", "2025-03-01")
    with s.page.expect_navigation():
        s.page.click("#change-filters button[type=submit]")
    shown = s.page.locator("#changes li.change")
    assert shown.count() > 3
    assert set(shown.evaluate_all("els => els.map(e => e.dataset.op)")) == {"create"}
    heads = shown.locator(".change-head").all_inner_texts()
    assert all("Tạo mới" in h and "1 thg 3, 2025" in h for h in heads)
    assert any("Sở Khoa học và Công nghệ" in h for h in heads)
    org_type = shown.first.locator('tr[data-key="attributes.org_type"]')
    assert org_type.count() == 1 and "org_type" not in org_type.inner_text()  # labels, not codes
    _doc(s, "history-changes")

    # by organisation: entries about what Sở Tài chính owns, and nothing of Sở Khoa học và Công nghệ's
    s.goto("/changes?org=organization:hcm-stc&kind=system")
    heads = " ".join(s.page.locator("#changes li.change .change-head").all_inner_texts())
    assert heads and "Cổng thông tin 1022" not in heads
    # by actor (who made or proposed it) and operation
    s.goto("/changes?actor=editor-skhcn&op=update")
    ops = s.page.locator("#changes li.change").evaluate_all("els => els.map(e => e.dataset.op)")
    assert ops and set(ops) == {"update"}

    # the same entries as CSV: one row per changed field, with before and after
    s.goto("/changes?op=create&kind=organization&since=2025-03-01&until=2025-03-01")
    with s.page.expect_download() as d:
        s.page.click("#change-downloads a >> text=CSV")
    path = tmp_path / "changes.csv"
    d.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("#,Thời điểm (UTC),Người thực hiện,Người đề xuất,Thao tác")
    assert "Sở Khoa học và Công nghệ" in text and "Tạo mới" in text
    _fits_390(s, "/changes")


def test_integrity_page_verifies_the_chain_and_checks_a_head_and_a_bundle(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("auditor")
    s.goto("/integrity")
    seq = int(s.page.inner_text("#head-seq"))
    head_hash = s.page.inner_text("#head-hash").strip()
    assert seq > 100 and re.fullmatch(r"[0-9a-f]{64}", head_hash)
    with s.page.expect_navigation():
        s.page.click("#verify")
    result = s.page.inner_text("#verify-result")
    assert "Chuỗi nguyên vẹn" in result and re.search(r"Thời gian kiểm tra: [\d.,]+ ms", result)
    checked = int(re.search(r"đã kiểm tra ([\d.,]+) mục", result).group(1).replace(".", "").replace(",", ""))
    assert checked >= seq
    _doc(s, "integrity-verified")

    # a saved head (what verify-log --print-head prints) that the log holds, then one it does not
    s.page.fill("#head-line", json.dumps({"seq": seq, "hash": head_hash, "time": ""}))
    with s.page.expect_navigation():
        s.page.click("#check-head button[type=submit]")
    assert f"vẫn chứa đầu chuỗi đã lưu #{seq}" in s.page.inner_text("#head-result")
    s.page.fill("#head-line", json.dumps({"seq": seq, "hash": "0" * 64}))
    with s.page.expect_navigation():
        s.page.click("#check-head button[type=submit]")
    assert f"KHÔNG còn chứa đầu chuỗi đã lưu #{seq}" in s.page.inner_text("#head-result")
    s.page.fill("#head-line", "không phải đầu chuỗi")
    with s.page.expect_navigation():
        s.page.click("#check-head button[type=submit]")
    assert "Đây không phải một đầu chuỗi" in s.page.inner_text("#head-result")

    # an audit bundle downloaded from the catalog: intact, and its head is in the log
    r = s.page.request.get(s.base + "/download/bundle.zip")
    assert r.ok
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(r.body())
    s.page.set_input_files("#bundle", str(bundle))
    with s.page.expect_navigation():
        s.page.click("#check-bundle button[type=submit]")
    result = s.page.inner_text("#bundle-result")
    assert "Gói kiểm toán nguyên vẹn" in result and "vẫn chứa đầu chuỗi" in result
    manifest = s.page.inner_text("#bundle-manifest")  # the bundle's two clocks, period and head, as its manifest says
    assert "ngày hiệu lực" in manifest and "bản ghi tính đến" in manifest and "giai đoạn" in manifest
    assert re.search(r"đầu chuỗi #\d+ lúc", manifest)
    _doc(s, "integrity-bundle", "main")

    # the same bundle with one inventory file changed: refused, naming the file
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "inventory/system.csv":
                data = data.replace("Cổng thông tin 1022".encode(), "Cổng thông tin 1023".encode())
            dst.writestr(item, data)
    assert io.BytesIO(tampered.read_bytes()).getbuffer().nbytes > 0
    s.page.set_input_files("#bundle", str(tampered))
    with s.page.expect_navigation():
        s.page.click("#check-bundle button[type=submit]")
    result = s.page.inner_text("#bundle-result")
    assert "KHÔNG hợp lệ" in result and "inventory/system.csv" in result
    _fits_390(s, "/integrity")


def test_only_the_roles_that_read_history_see_the_integrity_page(signed_in: SignedIn) -> None:
    v = signed_in("viewer")
    v.goto("/integrity")
    assert "Bạn không có quyền" in v.page.inner_text("h1")
    assert v.page.locator("nav.main a", has_text="Tính toàn vẹn").count() == 0
    a = signed_in("architect")
    a.goto("/changes")
    assert a.page.locator("nav.main a", has_text="Tính toàn vẹn").count() == 1
