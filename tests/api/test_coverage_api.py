"""Coverage of the business layer through the REST API (GET /api/v1/analysis/coverage) on the sample catalog. The
expected answer is computed here from the stored relationships and attributes, not by catalog.coverage."""

from __future__ import annotations

import csv
import io

from .conftest import Api

LIVE = ("production", "retiring")


def expected(api: Api) -> dict[str, tuple[str, set[str]]]:
    """ref -> (state, refs of the live entities serving it) for every procedure and function, from the store."""
    ents = {e.ref: e for e in api.store.iter_entities()}
    serving: dict[str, set[str]] = {}
    for r in api.store.all_relationships():
        if r.type == "serves" and ents[r.source].attributes.get("lifecycle") in LIVE:
            serving.setdefault(r.target, set()).add(r.source)
    out = {}
    for ref, e in ents.items():
        served = serving.get(ref, set())
        if e.kind == "procedure":
            online = e.attributes.get("online_level") in ("full_online", "partial_online")
            state = ("online" if served else "online_without_system") if online else "not_online"
        elif e.kind == "function":
            state = "covered" if served else "uncovered"
        else:
            continue
        out[ref] = (state, served)
    return out


def test_coverage_of_the_whole_catalog_matches_the_store(api: Api) -> None:
    r = api.client.get("/api/v1/analysis/coverage", headers=api.as_("viewer"))
    assert r.status_code == 200, r.text
    data = r.json()
    got = {
        x["ref"]: (x["state"], {s["ref"] for s in x["served_by"] if s["live"]})
        for x in data["procedures"] + data["functions"]
    }
    want = expected(api)
    assert got == want and len(want) >= 12
    assert "not_online" in {s for s, _ in want.values()} and "uncovered" in {s for s, _ in want.values()}
    summary = data["summary"]
    assert summary["procedures"] == sum(ref.startswith("procedure:") for ref in want)
    assert summary["online"] == sum(s == "online" for s, _ in want.values())
    assert summary["functions_uncovered"] == sum(s == "uncovered" for s, _ in want.values())
    birth = next(x for x in data["procedures"] if x["ref"] == "procedure:hcm-tthc-khai-sinh")
    assert birth["online_level"] == "full_online" and birth["owner_name"]["vi"] == "Sở Tư pháp TP.HCM"


def test_coverage_of_one_organisation_counts_its_units_and_what_it_decides(api: Api) -> None:
    r = api.client.get("/api/v1/analysis/coverage", params={"org": "organization:hcm-stc"}, headers=api.as_("viewer"))
    assert r.status_code == 200
    refs = {x["ref"] for x in r.json()["procedures"] + r.json()["functions"]}
    assert refs == {"procedure:hcm-tthc-thanh-lap-doanh-nghiep", "function:hcm-cn-dang-ky-doanh-nghiep"}


def test_coverage_downloads_with_labels_not_codes(api: Api) -> None:
    r = api.client.get("/api/v1/analysis/coverage", params={"format": "csv", "lang": "en"}, headers=api.as_("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    birth = next(x for x in rows if x["Reference"] == "procedure:hcm-tthc-khai-sinh")
    assert birth["Online level"] == "Fully online" and birth["Coverage"] == "Online with a system"
    assert birth["Kind"] == "Administrative procedure"
    r = api.client.get("/api/v1/analysis/coverage", params={"format": "xlsx"}, headers=api.as_("viewer"))
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_coverage_refuses_bad_input_by_name(api: Api) -> None:
    h = api.as_("viewer")
    r = api.client.get("/api/v1/analysis/coverage", params={"org": "system:hcm-ho-tich"}, headers=h)
    assert r.status_code == 422 and "org" in r.text
    r = api.client.get("/api/v1/analysis/coverage", params={"org": "organization:nope"}, headers=h)
    assert r.status_code == 404 and "org" in r.text
    r = api.client.get("/api/v1/analysis/coverage", params={"valid_on": "tomorrow"}, headers=h)
    assert r.status_code == 422 and "valid_on" in r.text
