"""The current-state report over HTTP: GET /api/v1/reports/current-state for the roles that may export, refused for
the others, bad input answered 422 naming the field (never 5xx); and the web page /reports/current-state with its
downloads, in the page's language."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.settings import Settings

docx = pytest.importorskip("docx", reason="python-docx is a dependency of the project (pip install -e .)")

URL = "/api/v1/reports/current-state"
HCM = "organization:hcm-ubnd"


def _problem_fields(r) -> list[str]:  # type: ignore[no-untyped-def]
    body = r.json()
    return [e.get("field") or e.get("location") or e.get("name") for e in body.get("errors", [])]


def test_auditor_downloads_the_report_and_its_annex(api) -> None:  # type: ignore[no-untyped-def]
    r = api.client.get(URL, params={"province": HCM, "valid_on": "2025-02-01"}, headers=api.as_("auditor"))
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert 'filename="current-state-hcm-ubnd-2025-02-01.docx"' in r.headers["content-disposition"]
    d = docx.Document(io.BytesIO(r.content))
    assert d.paragraphs[0].text == "Báo cáo hiện trạng kiến trúc số: UBND Thành phố Hồ Chí Minh"
    assert len(d.inline_shapes) == 2 and len(d.tables) >= 10
    r = api.client.get(
        URL,
        params={"province": HCM, "valid_on": "2025-02-01", "format": "xlsx", "lang": "en"},
        headers=api.as_("architect"),
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert "summary-layers" in wb.sheetnames and wb["summary-layers"]["A1"].value == "Layer"


@pytest.mark.parametrize("role", ["viewer", "editor-skhcn", None])
def test_who_may_not_export_is_refused(api, role) -> None:  # type: ignore[no-untyped-def]
    r = api.client.get(URL, params={"province": HCM}, headers=api.as_(role))
    assert r.status_code in ((401, 403) if role is None else (403,)), r.text[:300]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"province": "organization:khong-co"}, "province"),
        ({"province": "system:hcm-1022"}, "province"),
        ({"province": HCM, "valid_on": "01/02/2025"}, "valid_on"),
        ({"province": HCM, "since": "2030-01-01", "valid_on": "2025-02-01"}, "since"),
        ({"province": HCM, "format": "pdf"}, "format"),
        ({"province": HCM, "lang": "fr"}, "lang"),
        ({}, "province"),
        ({"province": HCM, "valid_on": "0001-01-01"}, "valid_on"),  # the checks would count back past year 1
        ({"province": HCM, "recorded_at": "2025-13-01"}, "recorded_at"),
    ],
)
def test_bad_input_is_422_naming_the_field(api, params: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    r = api.client.get(URL, params=params, headers=api.as_("auditor"))
    assert r.status_code == 422, (params, r.status_code, r.text[:300])
    assert field in r.text, r.text[:500]


def _signed_in(api, user: str) -> TestClient:  # type: ignore[no-untyped-def]
    from catalog.accounts import Accounts

    Accounts(api.store).add_user(f"web-{user}", user, None, display=user, password="a long pass phrase 1")
    settings = Settings(demo=True, search_home="organization:hcm-skhcn")  # the catalog's own city: HCMC
    c = TestClient(create_app(settings, store=api.store), raise_server_exceptions=False)
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/signin").text).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/signin",
        data={"csrf": token, "name": f"web-{user}", "password": "a long pass phrase 1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return c


def test_web_page_offers_the_provinces_and_downloads(api) -> None:  # type: ignore[no-untyped-def]
    c = _signed_in(api, "auditor")
    page = c.get("/reports/current-state")
    assert page.status_code == 200
    html = page.text
    assert "Báo cáo hiện trạng kiến trúc số" in html and 'href="/reports/current-state?lang=vi"' in html  # in the menu
    assert f'<option value="{HCM}" selected>UBND Thành phố Hồ Chí Minh</option>' in html
    assert "UBND tỉnh Bình Dương" not in html  # absorbed into HCMC on 1 July 2025: no province of its own any more
    past = c.get("/reports/current-state", params={"valid_on": "2025-02-01"}).text
    assert "UBND tỉnh Bình Dương" in past
    en = c.get("/reports/current-state", params={"lang": "en"}).text
    assert "Download the report (Word)" in en and "Tải báo cáo" not in en
    r = c.get("/reports/current-state/download", params={"province": HCM, "valid_on": "2025-02-01", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('2025-02-01.docx"')
    assert (
        docx.Document(io.BytesIO(r.content)).paragraphs[0].text.startswith("Current state of the digital architecture")
    )
    bad = c.get("/reports/current-state/download", params={"province": "organization:khong-co"})
    assert bad.status_code == 422 and "<html" in bad.text and "organization:khong-co" in bad.text
    assert c.get("/reports/current-state/download", params={"province": HCM, "format": "exe"}).status_code == 422


def test_web_page_is_refused_to_a_viewer(api) -> None:  # type: ignore[no-untyped-def]
    c = _signed_in(api, "viewer")
    assert c.get("/reports/current-state").status_code == 403
    assert c.get("/reports/current-state/download", params={"province": HCM}).status_code == 403
    assert 'href="/reports/current-state' not in c.get("/").text  # not in the menu either
