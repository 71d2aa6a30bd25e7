"""Notices, watches, change events and webhooks over HTTP (api/routers/notices.py) and the admin's webhooks page
(api/routers/web_notices.py); the signature check of docs/api.md runs as written."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from conftest import ROOT

from catalog.outbox import SCHEMA

SYSTEM = "system:hcm-cong-1022"


def _patch(api, user: str, vendor: str) -> None:
    tag = api.client.get(f"/api/v1/systems/{SYSTEM.split(':')[1]}", headers=api.as_(user)).headers["etag"]
    r = api.client.patch(
        f"/api/v1/systems/{SYSTEM.split(':')[1]}",
        json={"attributes": {"vendor": vendor}},
        headers={**api.as_(user), "If-Match": tag},
    )
    assert r.status_code == 200, r.text


def test_watch_then_notices_in_both_languages_and_mark_read(api) -> None:
    assert api.client.get("/api/v1/notices", headers=api.as_("auditor")).json() == {"unread": 0, "items": []}
    assert api.client.post("/api/v1/watches", json={"ref": SYSTEM}, headers=api.as_("auditor")).status_code == 204
    _patch(api, "architect", "Viettel")
    vi = api.client.get("/api/v1/notices", headers=api.as_("auditor")).json()
    assert vi["unread"] == 1
    [n] = vi["items"]
    name = api.store.get_entity(SYSTEM).name
    assert (n["type"], n["ref"], n["actor"], n["read"]) == ("entity.updated", SYSTEM, "architect", False)
    assert n["text"] == f"architect đã cập nhật «{name.vi}»: Đơn vị phát triển"
    assert n["fields"] == [{"vi": "Đơn vị phát triển", "en": "Vendor"}]
    en = api.client.get("/api/v1/notices?lang=en", headers=api.as_("auditor")).json()["items"][0]["text"]
    assert en == f"architect updated “{name.en or name.vi}”: Vendor"
    r = api.client.post("/api/v1/notices/read", json={}, headers=api.as_("auditor"))
    assert r.json() == {"marked": 1, "unread": 0}
    assert api.client.delete(f"/api/v1/watches/{SYSTEM}", headers=api.as_("auditor")).status_code == 204
    _patch(api, "architect", "VNPT")
    assert api.client.get("/api/v1/notices", headers=api.as_("auditor")).json()["unread"] == 0
    assert api.client.get("/api/v1/notices").status_code in (401, 403)  # anonymous: no notices
    assert (
        api.client.post("/api/v1/watches", json={"ref": "system:nope"}, headers=api.as_("auditor")).status_code == 404
    )


def test_change_events_for_history_readers(api) -> None:
    head = api.store.revision()[0]
    _patch(api, "architect", "FPT")
    r = api.client.get(f"/api/v1/change-events?after={head}", headers=api.as_("auditor"))
    assert r.status_code == 200
    body = r.json()
    assert [(e["schema"], e["type"], e["ref"], e["changed"]) for e in body["items"]] == [
        (SCHEMA, "entity.updated", SYSTEM, ["attributes.vendor"])
    ]
    assert body["next"] == head + 1
    assert api.client.get("/api/v1/change-events", headers=api.as_("viewer")).status_code == 403


def test_webhook_crud_secret_once_and_refusals(api) -> None:
    admin = api.as_("admin")
    r = api.client.post("/api/v1/webhooks", json={"url": "ftp://example.org/x"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url"
    r = api.client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["draft.*"]}, headers=admin
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert len(hook["secret"]) >= 40
    listed = api.client.get("/api/v1/webhooks", headers=admin).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in json.dumps(listed)
    assert hook["secret"] not in api.client.get("/api/v1/changelog?limit=1000", headers=admin).text
    r = api.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"active": False}, headers={**admin, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["active"] is False
    event = api.store.revision()[0]  # the subscription's own change is a record, not an event
    _patch(api, "architect", "CMC")
    r = api.client.post(f"/api/v1/webhooks/{hook['id']}/redeliver", json={"event": event + 1}, headers=admin)
    assert r.status_code == 200 and r.json()["outcome"] == "manual" and r.json()["status"] is None
    log = api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()["items"]
    assert [(d["event"], d["outcome"]) for d in log] == [(event + 1, "manual")]
    assert (
        api.client.post(f"/api/v1/webhooks/{hook['id']}/redeliver", json={"event": event}, headers=admin).status_code
        == 404
    )  # a record write is no event
    assert api.client.get("/api/v1/webhooks", headers=api.as_("architect")).status_code == 403
    tag = api.client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).headers["etag"]
    assert api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers={**admin, "If-Match": tag}).status_code == 204
    assert api.client.get("/api/v1/webhooks", headers=admin).json()["items"] == []


def test_admin_webhooks_page_shows_the_secret_once(api) -> None:
    c = api.client
    page = c.get("/signin")
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
    from catalog.accounts import Accounts

    Accounts(api.store).set_password("admin", "admin-password-123")
    r = c.post("/signin", data={"csrf": token, "name": "admin", "password": "admin-password-123", "next": "/"})
    assert r.status_code in (200, 303)
    page = c.get("/admin/webhooks?lang=en")
    assert page.status_code == 200 and "No subscriptions yet." in page.text
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
    bad = c.post("/admin/webhooks?lang=en", data={"csrf": token, "url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "only http or https URLs are accepted" in bad.text
    r = c.post(
        "/admin/webhooks?lang=en",
        data={
            "csrf": token,
            "url": "https://ioc.example.gov.vn/hook",
            "events": ["entity.updated"],
            "kinds": ["system"],
        },
    )
    assert r.status_code == 200
    secret = re.search(r'<code class="secret" id="secret">([^<]+)</code>', r.text).group(1)
    again = c.get("/admin/webhooks?lang=en").text
    assert secret not in again and "https://ioc.example.gov.vn/hook" in again
    assert "Entity updated" in again and "entity.updated" not in again.split("<h2>")[1]  # labels, not codes


def test_the_signature_check_of_the_docs_runs_as_written() -> None:
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?def verify_signature.*?)```", docs, re.S).group(1)
    scope: dict = {}
    exec(block, scope)  # the example exactly as a reader copies it
    body = b'{"id":1,"type":"entity.created"}'
    from catalog.webhooks import sign

    assert scope["verify_signature"]("s3cret", body, sign("s3cret", body))
    assert not scope["verify_signature"]("s3cret", body + b" ", sign("s3cret", body))
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == expected
