"""GET /api/v1/search (catalog.search over HTTP) and the web UI's /search.json, which is the same service: ranked
for the caller, each hit with kind, owner, province or city, lifecycle and whether it is current; refusals name
the parameter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Api

HIT_KEYS = {
    "ref",
    "kind",
    "kind_label",
    "name",
    "owner",
    "owner_name",
    "province",
    "province_name",
    "former_province",
    "former_province_name",
    "lifecycle",
    "lifecycle_label",
    "current",
    "successor",
    "successor_name",
    "match",
}


def search(api: Api, user: str | None, **params: object) -> dict:
    r = api.client.get("/api/v1/search", params=params, headers=api.as_(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_an_hcmc_editor_finds_the_hcmc_department_first(api: Api) -> None:
    body = search(api, "editor-skhcn", q="so thong tin")
    first = body["items"][0]
    assert first["ref"] == "organization:hcm-sttt"
    assert set(first) == HIT_KEYS
    assert first["name"] == {"vi": "Sở Thông tin và Truyền thông TP.HCM", "en": first["name"]["en"]}
    assert first["current"] is False and first["successor"] == "organization:hcm-skhcn"
    assert first["province"] == "organization:hcm-ubnd"
    assert body["total"] == len(body["items"]) and body["limit"] == 15 and body["offset"] == 0
    # a Department of Finance editor is in the same city: same first hit; an architect has no city
    assert search(api, "editor-stc", q="so thong tin")["items"][0]["ref"] == "organization:hcm-sttt"
    assert search(api, "architect", q="so thong tin")["items"][0]["ref"] != "organization:hcm-sttt"


@pytest.mark.parametrize("typed", ["dan cu", "Dân cư", "DAN CU"])
def test_the_population_database_by_folded_text_and_kind(api: Api, typed: str) -> None:
    body = search(api, "viewer", q=typed, kind="database,system", lang="en", limit=5)
    first = body["items"][0]
    assert first["ref"] == "database:vn-csdl-dan-cu"
    assert first["name"] == "National population database" and first["kind_label"] == "Database"
    assert first["owner_name"] == "Ministry of Public Security" and first["lifecycle_label"] == "In production"
    assert {x["kind"] for x in body["items"]} <= {"database", "system"} and len(body["items"]) <= 5


def test_the_two_iocs_differ_by_former_province(api: Api) -> None:
    items = search(api, "viewer", q="trung tam dieu hanh", kind="platform", lang="vi")["items"]
    by_ref = {x["ref"]: x for x in items}
    hcm, bd = by_ref["platform:hcm-ioc"], by_ref["platform:bd-ioc"]
    assert hcm["name"] == bd["name"]
    assert hcm["former_province_name"] is None and bd["former_province_name"] == "UBND tỉnh Bình Dương"


@pytest.mark.parametrize(
    "params,field",
    [
        ({"q": ""}, "query.q"),
        ({}, "query.q"),
        ({"q": "x" * 201}, "query.q"),
        ({"q": "ioc", "limit": 0}, "query.limit"),
        ({"q": "ioc", "limit": 51}, "query.limit"),
        ({"q": "ioc", "limit": "many"}, "query.limit"),
        ({"q": "ioc", "lang": "fr"}, "query.lang"),
        ({"q": "ioc", "kind": "system,spaceship"}, "kind"),
    ],
)
def test_refusals_name_the_parameter(api: Api, params: dict, field: str) -> None:
    r = api.client.get("/api/v1/search", params=params, headers=api.as_("viewer"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]


@pytest.mark.parametrize("q", ["%", "'; DROP TABLE entities; --", '"', "*", "NEAR(a b)", "a OR b", "\u0301", "đ"])
def test_odd_text_never_fails(api: Api, q: str) -> None:
    r = api.client.get("/api/v1/search", params={"q": q}, headers=api.as_("viewer"))
    assert r.status_code in (200, 422), r.text


def test_openapi_documents_the_search(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"q", "kind", "limit", "lang"}
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    hit = spec["components"]["schemas"]["HitOut"]
    assert schema == "SearchOut" and set(hit["properties"]) == HIT_KEYS


def test_the_web_suggestions_are_the_same_service(api: Api) -> None:
    """/search.json (what the pickers fetch) gives the API's hits in the API's order, in the page's language."""
    for user, q in (("editor-skhcn", "so thong tin"), ("viewer", "dan cu"), ("editor-skhcn", "trung tam dieu hanh")):
        web = api.client.get("/search.json", params={"q": q, "lang": "vi"}, headers=api.as_(user))
        assert web.status_code == 200
        rest = search(api, user, q=q, lang="vi")["items"]
        assert [x["ref"] for x in web.json()["items"]] == [x["ref"] for x in rest]
        assert [x["name"] for x in web.json()["items"]] == [x["name"] for x in rest]
        assert all(x["url"] == f"/entities/{x['ref']}" for x in web.json()["items"])
    bad = api.client.get("/search.json", params={"q": "x", "kind": "spaceship"}, headers=api.as_("viewer"))
    assert bad.status_code == 422 and "spaceship" in bad.text


@pytest.mark.parametrize(
    "path",
    [
        "/impact?ref=%ED%A0%80",
        "/impact?ref=%00",
        "/impact?ref=" + "x" * 5000,
        "/impact?ref=database:vn-csdl-dan-cu&offset=-1&limit=10000000000000",
        "/impact?ref=database:vn-csdl-dan-cu&offset=x&limit=%E2%80%AE",
        "/impact?ref=system:",
        "/impact.xlsx?ref=%ED%A0%80",
        "/impact.csv?ref=database:khong-co",
        "/impact.exe?ref=database:vn-csdl-dan-cu",
        "/?q=%ED%A0%80",
        "/?q=*&offset=999999999999999999999",
        "/?kind=system&limit=-5",
        "/search.json?q=dan+cu&limit=99999999999999999999",
        "/search.json?q=%22NEAR%22&kind=%00",
    ],
)
def test_the_web_search_and_impact_never_answer_5xx(api: Api, path: str) -> None:
    r = api.client.get(path, headers=api.as_("viewer"))
    assert r.status_code < 500, r.text[:300]


def test_impact_exports_every_item_in_the_page_s_language(api: Api) -> None:
    ref = "database:vn-csdl-dan-cu"
    page = api.client.get("/impact", params={"ref": ref, "lang": "en"}, headers=api.as_("viewer"))
    assert page.status_code == 200 and "Ministry of Public Security" in page.text
    total = api.client.get("/api/v1/analysis/impact", params={"ref": ref}, headers=api.as_("viewer")).json()["total"]
    csv_ = api.client.get("/impact.csv", params={"ref": ref, "lang": "en"}, headers=api.as_("viewer"))
    assert csv_.status_code == 200 and csv_.headers["content-type"].startswith("text/csv")
    lines = csv_.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Hops,Reference,Name") and len(lines) == total + 1
    xlsx = api.client.get("/impact.xlsx", params={"ref": ref, "lang": "vi"}, headers=api.as_("viewer"))
    assert xlsx.headers["content-disposition"].endswith('impact-database-vn-csdl-dan-cu.xlsx"')
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "Số bước" and len(rows) == total + 1


def test_the_search_home_setting_ranks_its_city_first_for_an_architect(api: Api) -> None:
    before = search(api, "architect", q="so thong tin")["items"][0]["ref"]
    api.client.app.state.settings = api.client.app.state.settings.model_copy(
        update={"search_home": "organization:hcm-ubnd"}
    )
    assert before != "organization:hcm-sttt"
    assert search(api, "architect", q="so thong tin")["items"][0]["ref"] == "organization:hcm-sttt"
    web = api.client.get("/search.json", params={"q": "so thong tin"}, headers=api.as_("architect")).json()
    assert web["items"][0]["ref"] == "organization:hcm-sttt"
    assert search(api, "editor-skhcn", q="so thong tin")["items"][0]["ref"] == "organization:hcm-sttt"


def test_the_command_line_ranks_and_describes_the_same_way(api: Api, tmp_path: Path) -> None:
    """``ioc-catalog search`` uses the same service: HCMC's department first with the search home set, and each
    hit with kind, owner, province or city and lifecycle; refused kinds are named."""
    url = f"sqlite:///{api.store.path}"  # type: ignore[attr-defined]
    env = {**os.environ, "COLUMNS": "240", "NO_COLOR": "1", "IOC_CATALOG_SEARCH_HOME": "organization:hcm-ubnd"}
    run = [sys.executable, "-m", "api.cli", "search", "--store", url]
    r = subprocess.run([*run, "so thong tin"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stdout.splitlines() if "organization:" in x or "system:" in x]
    assert "organization:hcm-sttt" in lines[0] and "Đã hợp nhất" in lines[0]
    assert "Tỉnh, thành phố" in r.stdout and "Giai đoạn" in r.stdout
    r = subprocess.run(
        [*run, "trung tam dieu hanh", "--kind", "platform", "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "(formerly: Bình Dương Provincial People's Committee)" in r.stdout
    r = subprocess.run([*run, "x", "--kind", "spaceship"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "spaceship" in r.stdout + r.stderr and "Traceback" not in r.stderr
