"""A Backstage file whose group names a parent and whose component names an owner that exist nowhere, uploaded on
the import page as an architect: the dry run counts the entities it would create (nothing refused), and each dangling
reference is a warning naming file, entity, field and the reference as Backstage writes it, in the page's language
only, on a phone without horizontal scrolling. Only dry runs: the shared server's catalog is left as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from web.uitest import Session

SignedIn = Callable[[str | None], Session]
FILE = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-giao-thong
spec:
  type: team
  parent: so-gtvt-khong-co
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: camera-giao-thong
spec:
  type: service
  lifecycle: production
  owner: nhom-khong-co
  system: he-thong-khong-co
"""
WHERE = {"vi": "catalog-info.yaml: tài liệu 1 (group:default/team-giao-thong)", "en": "catalog-info.yaml: document 1"}
SAID = {
    "vi": (
        "spec.parent: nhóm cấp trên group:default/so-gtvt-khong-co không có trong lần nhập này lẫn trong danh mục",
        "spec.owner: nhóm sở hữu group:default/nhom-khong-co không có trong lần nhập này lẫn trong danh mục",
        "spec.system: system:default/he-thong-khong-co không có trong lần nhập này lẫn trong danh mục",
    ),
    "en": (
        "spec.parent: parent group group:default/so-gtvt-khong-co is neither in this import nor in the catalog",
        "spec.owner: owner group group:default/nhom-khong-co is neither in this import nor in the catalog",
        "spec.system: system:default/he-thong-khong-co is neither in this import nor in the catalog",
    ),
}
OTHER = {"vi": "is neither in this import", "en": "không có trong lần nhập này"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_dangling_backstage_references_are_warnings_in_the_dry_run(
    signed_in: SignedIn, tmp_path: Path, lang: str
) -> None:
    path = tmp_path / "catalog-info.yaml"
    path.write_text(FILE, encoding="utf-8")
    s = signed_in("architect")
    s.page.set_viewport_size({"width": 390, "height": 844})
    s.goto(f"/import?lang={lang}")
    s.page.set_input_files("#file", str(path))
    s.page.click("#dry-run")
    s.page.wait_for_selector("#import-report")
    report = s.page.inner_text("#import-report")
    organisations, systems = (
        ("Cơ quan, tổ chức", "Hệ thống thông tin") if lang == "vi" else ("Organisations", "Information systems")
    )
    assert f"{organisations}: 1" in report and f"{systems}: 1" in report, report
    assert "organization" not in report and "system:" not in report.split("\n")[0]
    page = s.page.inner_text("main")
    heading = "Đã báo cáo, không nhập" if lang == "vi" else "Reported, not imported"
    assert heading in page  # the warnings' heading says what happened to them
    for said in SAID[lang]:
        assert said in page, (said, page)
    assert WHERE[lang] in page
    assert OTHER[lang] not in page  # one language per page
    assert s.page.locator("#confirm-import").count() == 1  # nothing refused: the import may go ahead
    width = s.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    s.shot(f"backstage-dangling-{lang}")
