"""API lists a page at a time: /api/v1/compliance (limit/offset/total, per-rule counts, the whole report as a file),
relationships and drafts (offset and total beside their limits); hostile limit/offset values never give a 5xx."""

from __future__ import annotations

import csv
import io

import pytest

from catalog.compliance import check

from .conftest import Api


def test_compliance_pages_add_up_to_the_whole_report(api: Api) -> None:
    whole = check(api.store).to_json()
    assert len(whole["findings"]) > 6
    first = api.client.get("/api/v1/compliance", params={"limit": 4}).json()
    assert first["total"] == len(whole["findings"]) and first["limit"] == 4 and first["offset"] == 0
    assert len(first["findings"]) == 4
    assert sum(first["counts"].values()) == first["total"]
    assert first["counts"] == {code: sum(1 for f in whole["findings"] if f["rule"] == code) for code in whole["rules"]}
    seen = []
    offset = 0
    while offset < first["total"]:
        page = api.client.get("/api/v1/compliance", params={"limit": 4, "offset": offset}).json()
        seen += page["findings"]
        offset += 4
    assert seen == whole["findings"]  # every finding once, in the report's order
    second = api.client.get("/api/v1/compliance", params={"limit": 4, "offset": 4}).json()
    assert second["findings"] != first["findings"]


def test_compliance_default_page_and_maximum(api: Api) -> None:
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    r = api.client.get("/api/v1/compliance").json()
    assert r["limit"] == settings.page_size and len(r["findings"]) == min(settings.page_size, r["total"])
    big = api.client.get("/api/v1/compliance", params={"limit": 10**12}).json()
    assert big["limit"] == settings.max_page_size


def test_the_whole_report_stays_available_as_a_file(api: Api) -> None:
    whole = check(api.store).to_json()
    r = api.client.get("/api/v1/compliance/report.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.json()["findings"] == whole["findings"]
    c = api.client.get("/api/v1/compliance/report.csv")
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert len(rows) - 1 == len(whole["findings"])


@pytest.mark.parametrize(
    "params",
    [
        {"limit": -1},
        {"offset": -1},
        {"limit": "x"},
        {"offset": "x"},
        {"limit": 0},
        {"offset": 10**12},
        {"limit": 10**12, "offset": 10**12},
        {"limit": "9" * 5000},
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/compliance", "/api/v1/relationships", "/api/v1/drafts", "/api/v1/entities"])
def test_hostile_limits_are_refused_or_bounded_never_a_5xx(api: Api, path: str, params: dict) -> None:
    r = api.client.get(path, params=params, headers=api.as_("architect"))
    assert r.status_code in (200, 422), (r.status_code, r.text[:300])
    if r.status_code == 422:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(k in r.text for k in ("limit", "offset"))  # the field is named
    else:
        body = r.json()
        assert body["offset"] <= 10**12 and body["limit"] <= 10_000
        if body["offset"] >= 10**9:
            assert body.get("items", body.get("findings")) == []


def test_relationships_have_offset_and_total(api: Api) -> None:
    everything = api.store.list_relationships()
    first = api.client.get("/api/v1/relationships", params={"limit": 5}).json()
    assert first["total"] == len(everything) > 10
    second = api.client.get("/api/v1/relationships", params={"limit": 5, "offset": 5}).json()
    assert [x["id"] for x in first["items"] + second["items"]] == [r.id for r in everything[:10]]
    one = api.client.get("/api/v1/relationships", params={"ref": "platform:hcm-lgsp", "limit": 2, "offset": 1}).json()
    of_lgsp = api.store.list_relationships("platform:hcm-lgsp")
    assert one["total"] == len(of_lgsp) and [x["id"] for x in one["items"]] == [r.id for r in of_lgsp[1:3]]


def test_drafts_have_offset_and_total(api: Api) -> None:
    base = api.store.get_entity("system:hcm-cong-1022").version
    for i in range(3):
        body = {
            "ref": "system:hcm-cong-1022",
            "base_version": base,
            "changes": {"description": {"vi": f"bản nháp {i}"}},
        }
        r = api.client.post("/api/v1/drafts", headers=api.as_("editor-skhcn"), json=body)
        assert r.status_code == 201, r.text
    all_ = api.client.get("/api/v1/drafts", headers=api.as_("architect")).json()
    assert all_["total"] >= 3
    page = api.client.get("/api/v1/drafts", params={"limit": 1, "offset": 1}, headers=api.as_("architect")).json()
    assert page["total"] == all_["total"] and [d["id"] for d in page["items"]] == [all_["items"][1]["id"]]
