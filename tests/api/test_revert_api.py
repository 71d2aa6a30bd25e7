"""POST /api/v1/revert on the sample catalog: 200 with what was reverted, 409 naming the blocking entry, who may."""

from __future__ import annotations

from catalog.digest import content_hash

from .conftest import Api

CODE = "hcm-cong-1022"
REF = f"system:{CODE}"


def patch(api: Api, user: str, changes: dict) -> int:
    """PATCH the portal as ``user``; the seq of the entry it wrote."""
    e = api.client.get(f"/api/v1/systems/{CODE}", headers=api.as_(user))
    r = api.client.patch(
        f"/api/v1/systems/{CODE}", json=changes, headers={**api.as_(user), "If-Match": e.headers["etag"]}
    )
    assert r.status_code == 200, r.text
    return api.store.changelog(ref=REF)[-1].seq


def test_revert_an_entry_and_be_told_what_blocks(api: Api) -> None:
    before = content_hash(api.store)
    first = patch(api, "architect", {"attributes": {"vendor": "Nhà cung cấp A"}})
    later = patch(api, "admin", {"description": {"vi": "Mô tả mới", "en": "New description"}})
    head = api.store.revision()

    refused = api.client.post("/api/v1/revert", json={"seq": first}, headers=api.as_("architect"))
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "revert-refused"
    assert [b["seq"] for b in body["blocking"]] == [later] and body["blocking"][0]["actor"] == "admin"
    assert f"#{later}" in body["detail"] and "admin" in body["detail"]
    assert api.store.revision() == head  # nothing written

    dry = api.client.post("/api/v1/revert", json={"seq": later, "dry_run": True}, headers=api.as_("architect"))
    assert dry.status_code == 200 and dry.json()["dry_run"] is True and api.store.revision() == head
    assert dry.json()["changes"] == [{"ref": REF, "op": "update", "reverts": [later]}]

    for seq in (later, first):
        r = api.client.post("/api/v1/revert", json={"seq": seq, "reason": "thử"}, headers=api.as_("architect"))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["target"] == {"seq": seq} and out["entries"] == [seq] and out["actor"] == "architect"
        assert out["reason"] == "thử" and len(out["written"]) == 2  # the item and the revert's record
        written = api.store.changelog(after_seq=out["written"][0] - 1)
        assert {c.request_id for c in written} == {out["revert_request_id"]}
    assert content_hash(api.store) == before


def test_who_may_revert_and_bad_input(api: Api) -> None:
    seq = patch(api, "architect", {"attributes": {"vendor": "Nhà cung cấp B"}})
    for user, status in ((None, 403), ("viewer", 403), ("auditor", 403), ("editor-skhcn", 403)):
        assert api.client.post("/api/v1/revert", json={"seq": seq}, headers=api.as_(user)).status_code == status
    admin = api.as_("admin")
    for body in ({}, {"seq": seq, "run": "x"}, {"seq": 0}, {"seq": "abc"}, {"run": "a b"}, {"seq": seq, "x": 1}):
        assert api.client.post("/api/v1/revert", json=body, headers=admin).status_code in (400, 422), body
    assert api.client.post("/api/v1/revert", json={"seq": 10**9}, headers=admin).status_code == 404
    assert api.client.post("/api/v1/revert", json={"run": "no-such-run"}, headers=admin).status_code == 404
    assert api.client.post("/api/v1/revert", json={"draft": "0123456789ab"}, headers=admin).status_code == 404
    lang = {**admin, "Accept-Language": "vi"}
    record = api.store.changelog(kind="record", limit=1)[0].seq  # an account: records are not reverted
    r = api.client.post("/api/v1/revert", json={"seq": record}, headers=lang)
    assert r.status_code == 409 and f"#{record}" in r.json()["detail"] and "bản ghi" in r.json()["detail"]


def test_revert_an_approved_draft(api: Api) -> None:
    before = content_hash(api.store)
    tag = api.client.get(f"/api/v1/systems/{CODE}", headers=api.as_("editor-skhcn")).headers["etag"]
    version = int(tag.strip('"W/'))
    made = api.client.post(
        "/api/v1/drafts",
        json={"ref": REF, "base_version": version, "changes": {"attributes": {"vendor": "Nhà cung cấp C"}}},
        headers=api.as_("editor-skhcn"),
    )
    assert made.status_code == 201, made.text
    draft = made.json()["id"]
    approved = api.client.post(
        f"/api/v1/drafts/{draft}/approve",
        headers={**api.as_("architect"), "If-Match": made.headers["etag"]},
    )
    assert approved.status_code == 200, approved.text
    assert content_hash(api.store) != before
    r = api.client.post("/api/v1/revert", json={"draft": draft, "reason": "duyệt nhầm"}, headers=api.as_("admin"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["target"] == {"draft": draft} and out["changes"] == [
        {"ref": REF, "op": "update", "reverts": out["entries"]}
    ]
    assert out["skipped"]  # the draft's own record stays approved
    assert content_hash(api.store) == before
    assert api.client.get(f"/api/v1/drafts/{draft}", headers=api.as_("admin")).json()["status"] == "approved"
