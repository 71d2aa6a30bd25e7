"""Inventory campaigns over the REST API (api/routers/campaigns.py): list, dashboard, my tasks, confirm."""

from __future__ import annotations

from typing import Any

from catalog import campaigns
from catalog.permissions import Principal


def test_campaign_over_the_api(api: Any) -> None:
    camp = campaigns.open_campaign(
        api.store,
        Principal("architect", "architect"),
        id="kk-api",
        name="Kiểm kê qua API",
        orgs=["organization:hcm-stc", "organization:hcm-snv"],
        kinds=["system"],
        deadline="2099-01-01",
    )
    c = api.client
    listed = c.get("/api/v1/campaigns", headers=api.as_("viewer")).json()
    assert [x["id"] for x in listed["items"]] == [camp.id]
    mine = c.get(f"/api/v1/campaigns/{camp.id}/tasks", headers=api.as_("editor-stc")).json()["items"]
    assert len(mine) == 4 and all(t["status"] == "todo" for t in mine)
    assert all(t["missing"] == ["decision", "decision_rationale", "decision_legal_basis"] for t in mine)
    assert c.get(f"/api/v1/campaigns/{camp.id}/tasks", headers=api.as_("viewer")).json()["items"] == []

    body = {
        "refs": [t["ref"] for t in mine],
        "values": {"decision": "keep", "decision_rationale": "Cần thiết", "decision_legal_basis": "QĐ 1"},
    }
    r = c.post(f"/api/v1/campaigns/{camp.id}/confirm", json=body, headers=api.as_("editor-stc"))
    assert r.status_code == 201 and r.json() == {"draft": None, "applied": 4}
    bad = c.post(
        f"/api/v1/campaigns/{camp.id}/confirm",
        json={"refs": [mine[1]["ref"]], "values": {"lifecycle": "retired"}},
        headers=api.as_("editor-stc"),
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"values.lifecycle"}
    retire = c.post(
        f"/api/v1/campaigns/{camp.id}/confirm",
        json={"action": "retire", "refs": [mine[0]["ref"]]},
        headers=api.as_("editor-stc"),
    )
    assert retire.status_code == 202 and retire.json()["draft"]

    dash = c.get(f"/api/v1/campaigns/{camp.id}", headers=api.as_("auditor")).json()["dashboard"]
    stc = next(r for r in dash if r["org"] == "organization:hcm-stc")
    assert (stc["total"], stc["done"], stc["review"], stc["keep"], stc["missing"]) == (4, 3, 1, 4, 0)
    assert c.get("/api/v1/campaigns/nope", headers=api.as_("viewer")).status_code == 404
    assert c.get("/api/v1/campaigns/Bad%20Id", headers=api.as_("viewer")).status_code == 422
