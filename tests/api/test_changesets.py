"""POST /api/v1/changesets (applied at once: 200; one draft for review: 202), the drafts of a change set over HTTP
(mine=true, approve, reject), GET /api/v1/policy; errors named changes.<i>.<field>."""

from __future__ import annotations

from typing import Any

from catalog.digest import content_hash


def new_system_with_flow() -> list[dict[str, Any]]:
    """editor-skhcn's registration: a system, the database it writes, a daily flow to HCMC's IOC via HCMC's LGSP."""
    return [
        {
            "op": "create",
            "data": {
                "kind": "system",
                "code": "hcm-skhcn-h1",
                "name": {"vi": "Hệ thống phản ánh hiện trường H1"},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "building"},
            },
        },
        {
            "op": "create",
            "data": {
                "kind": "database",
                "code": "hcm-skhcn-h1-db",
                "name": {"vi": "CSDL phản ánh H1"},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "building", "scope": "internal"},
            },
        },
        {
            "op": "link",
            "data": {
                "source": "system:hcm-skhcn-h1",
                "type": "feeds",
                "target": "platform:hcm-ioc",
                "properties": {"via": "platform:hcm-lgsp", "frequency": "daily", "data": "Phản ánh hiện trường"},
            },
        },
    ]


def test_editor_change_set_becomes_a_draft_and_an_architect_approves_it(api: Any) -> None:
    before = content_hash(api.store)
    r = api.client.post(
        "/api/v1/changesets",
        json={"changes": new_system_with_flow(), "note": "đăng ký hệ thống mới"},
        headers=api.as_("editor-skhcn"),
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "draft" and body["draft"]["op"] == "changeset" and len(body["draft"]["change_set"]) == 3
    assert any("Trung tâm điều hành" in x["vi"] for x in body["reasons"])
    assert any("operations centre" in x["en"] for x in body["reasons"])
    assert content_hash(api.store) == before and api.store.find_entity("system:hcm-skhcn-h1") is None
    draft = body["draft"]["id"]
    mine = api.client.get("/api/v1/drafts?mine=true", headers=api.as_("editor-skhcn")).json()
    assert [d["id"] for d in mine["items"]] == [draft]
    assert api.client.get("/api/v1/drafts?mine=true", headers=api.as_("editor-stc")).json()["items"] == []
    got = api.client.get(f"/api/v1/drafts/{draft}", headers=api.as_("architect"))
    r = api.client.post(
        f"/api/v1/drafts/{draft}/approve", headers={**api.as_("architect"), "If-Match": got.headers["ETag"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["applied_request_id"]
    rel = api.store.find_relationship("system:hcm-skhcn-h1>feeds>platform:hcm-ioc")
    assert rel is not None and rel.properties["via"] == "platform:hcm-lgsp"
    entry = api.store.changelog(ref="system:hcm-skhcn-h1")[0]
    assert (entry.actor, entry.proposer) == ("architect", "editor-skhcn")


def test_other_edits_apply_at_once(api: Any) -> None:
    v = api.store.get_entity("system:hcm-cong-1022").version
    change = {"op": "patch", "ref": "system:hcm-cong-1022", "base_version": v, "data": {"attributes": {"users": 7}}}
    r = api.client.post("/api/v1/changesets", json={"changes": [change]}, headers=api.as_("editor-skhcn"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "applied" and r.json()["results"][0]["attributes"]["users"] == 7


def test_errors_name_the_change(api: Any) -> None:
    changes = new_system_with_flow()
    changes[0]["data"]["attributes"]["lifecycle"] = "nope"
    r = api.client.post("/api/v1/changesets", json={"changes": changes}, headers=api.as_("editor-skhcn"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "changes.0.attributes.lifecycle" in [e["field"] for e in r.json()["errors"]]
    r = api.client.post(
        "/api/v1/changesets", json={"changes": [{"op": "nope", "ref": "x"}]}, headers=api.as_("editor-skhcn")
    )
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["changes.0.op"]
    r = api.client.post("/api/v1/changesets", json={"changes": []}, headers=api.as_("editor-skhcn"))
    assert r.status_code == 422
    r = api.client.post("/api/v1/changesets", json={"changes": new_system_with_flow()}, headers=api.as_("viewer"))
    assert r.status_code == 403


def test_reject_needs_a_reason(api: Any) -> None:
    r = api.client.post("/api/v1/changesets", json={"changes": new_system_with_flow()}, headers=api.as_("editor-skhcn"))
    draft, tag = r.json()["draft"]["id"], r.headers["ETag"]
    headers = {**api.as_("architect"), "If-Match": tag}
    assert api.client.post(f"/api/v1/drafts/{draft}/reject", json={"reason": ""}, headers=headers).status_code == 422
    r = api.client.post(f"/api/v1/drafts/{draft}/reject", json={"reason": "thiếu căn cứ"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    mine = api.client.get("/api/v1/drafts?mine=true", headers=api.as_("editor-skhcn")).json()["items"]
    assert [(d["status"], d["reason"]) for d in mine] == [("rejected", "thiếu căn cứ")]


def test_policy_is_readable(api: Any) -> None:
    r = api.client.get("/api/v1/policy", headers=api.as_("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["default"] == "apply" and "operations_centre" in body["groups"]
    assert [x["id"] for x in body["rules"]][:2] == ["architects-and-admins", "new-system"]


def test_an_import_report_attached_to_a_draft_reads_by_label() -> None:
    from api.routers.web_drafts import attachment_rows
    from catalog.drafts import Draft

    report = {"file": "he-thong.xlsx", "created": {"system": 2, "relationship": 3}, "updated": {}, "rejected": 1}
    d = Draft("0123456789ab", "system:x", "changeset", {}, 0, "e", "t", attachments={"import_report": report})
    assert attachment_rows(d, "vi") == [
        ("Tệp", "he-thong.xlsx"),
        ("Sẽ thêm mới", "5"),
        ("Sẽ cập nhật", "0"),
        ("Không đổi", "0"),
        ("Bị từ chối", "1"),
        ("Không ánh xạ được", "0"),
    ]
    assert attachment_rows(Draft("0123456789ab", "system:x", "patch", {}, 1, "e", "t"), "en") == []
