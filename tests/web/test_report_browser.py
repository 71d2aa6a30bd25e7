"""The current-state report page in the browser: an auditor finds it in the menu, the province and the day are
chosen, the Word file and its annex download from the form, in the page's language; the page fits a 390 px phone.
Screenshots in test-artifacts/ (docs/img/ui-report.png with IOC_CATALOG_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from web.uitest import Session

SignedIn = Callable[[str | None], Session]
docx = pytest.importorskip("docx", reason="python-docx is a dependency of the project (pip install -e .)")


def test_auditor_downloads_the_report_from_the_page(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("auditor")
    s.goto("/?lang=vi")
    s.page.click("#menu >> text=Báo cáo hiện trạng")
    assert s.page.locator("h1").inner_text() == "Báo cáo hiện trạng kiến trúc số"
    s.page.select_option("#province", label="UBND Thành phố Hồ Chí Minh")
    s.page.fill("#valid_on", "2025-02-01")
    s.shot("report", doc=True)
    with s.page.expect_download(timeout=120_000) as got:
        s.page.click("#report-docx")
    path = tmp_path / got.value.suggested_filename
    got.value.save_as(path)
    assert path.name == "current-state-hcm-ubnd-2025-02-01.docx"
    d = docx.Document(str(path))
    assert d.paragraphs[0].text == "Báo cáo hiện trạng kiến trúc số: UBND Thành phố Hồ Chí Minh"
    assert len(d.inline_shapes) == 2
    with s.page.expect_download(timeout=120_000) as got:
        s.page.click("#report-xlsx")
    assert got.value.suggested_filename == "current-state-hcm-ubnd-2025-02-01.xlsx"
    import openpyxl

    annex = tmp_path / "annex.xlsx"
    got.value.save_as(annex)
    assert "summary-layers" in openpyxl.load_workbook(io.BytesIO(annex.read_bytes())).sheetnames


def test_report_page_in_english_fits_a_phone(signed_in: SignedIn) -> None:
    s = signed_in("auditor")
    s.page.set_viewport_size({"width": 390, "height": 800})
    s.goto("/reports/current-state?lang=en")
    body = s.page.locator("main").inner_text()
    assert "Current-state report" in body and "Download the report (Word)" in body
    assert "Báo cáo" not in body and "report-" not in body and "organization:" not in body
    width = s.page.evaluate("document.documentElement.scrollWidth")
    s.shot("390-report", full=False)
    assert width <= 390, f"the report page is {width} px wide at 390"
