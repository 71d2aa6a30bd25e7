"""The admin's webhooks page against a real ``ioc-catalog serve`` whose background worker delivers (issue 16, item 3):
an admin subscribes a receiver on 127.0.0.1 in the browser (the secret shown once), the receiver is down for the first
attempts, the delivery log on the page shows them, then the receiver comes up and the worker delivers, signed. At 1366
and 390 px (no page wider than the screen). The server runs with small retry settings; the test waits for the
worker by polling the page (no timed assertion: a deadline only ends a wait that would otherwise never end)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from http_receiver import Receiver
from web.uitest import PASSWORD, ROOT, Session, _free_port, build_catalog, serve_catalog

from catalog.webhooks import verify

WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a fresh catalog with an admin, its notify worker passing every 0.2 s, retries 0.5 s apart."""
    from catalog.accounts import Accounts
    from catalog.store import open_store

    tmp = tmp_path_factory.mktemp("hooks")
    url = build_catalog(tmp / "catalog.db")
    store = open_store(url)
    Accounts(store).add_user("admin", "admin", display="admin", password=PASSWORD)
    store.close()
    env = {
        "IOC_CATALOG_NOTIFY_INTERVAL_SECONDS": "0.2",
        "IOC_CATALOG_WEBHOOK_BASE_DELAY_SECONDS": "0.5",
        "IOC_CATALOG_WEBHOOK_MAX_DELAY_SECONDS": "0.5",
        "IOC_CATALOG_WEBHOOK_TIMEOUT_SECONDS": "2",
        "IOC_CATALOG_WEBHOOK_ATTEMPTS": "100",
    }
    with serve_catalog(url, tmp / "server.log", env) as base:
        yield base


def _wait(s: Session, path: str, until: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        s.goto(path)
        if until():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"waited a minute for {what}")
        time.sleep(0.3)


def test_admin_subscribes_the_receiver_is_down_then_up_and_the_log_shows_it(browser: object, hook_server: str) -> None:
    from catalog.outbox import SCHEMA

    port = _free_port()
    s = Session(browser, hook_server, "admin", "webhooks")
    try:
        s.goto("/admin/webhooks")
        assert s.page.inner_text("h1") == "Webhook" and s.page.is_visible("#no-hooks")
        s.page.fill("#url", f"http://127.0.0.1:{port}/catalog-hook")
        s.page.check("input[name=events][value='entity.updated']")
        s.page.fill("#description", "Kho dữ liệu dùng chung")
        with s.page.expect_navigation():
            s.page.click("#create-hook")
        secret = s.page.inner_text("#secret").strip()
        assert len(secret) >= 40 and s.page.is_visible("#created")
        s.shot("webhooks-created")
        s.goto("/admin/webhooks")
        assert secret not in s.page.content()  # shown once
        assert "Thực thể được cập nhật" in s.page.inner_text("main")  # the filter by its label

        tag = s.page.request.get(hook_server + "/api/v1/systems/hcm-cong-1022").headers["etag"]
        r = s.page.request.patch(
            hook_server + "/api/v1/systems/hcm-cong-1022",
            data={"attributes": {"vendor": "Công ty Dữ liệu"}},
            headers={"If-Match": tag},
        )
        assert r.ok, r.text()
        _wait(
            s,
            "/admin/webhooks",
            lambda: s.page.locator("#deliveries tbody tr", has_text="Lỗi, sẽ thử lại").count() >= 2,
            "two failed attempts",
        )
        s.shot("webhooks-retrying")
        receiver = Receiver(port)
        try:
            _wait(
                s,
                "/admin/webhooks",
                lambda: s.page.locator("#deliveries tbody tr", has_text="Đã gửi").count() == 1,
                "the delivery",
            )
        finally:
            receiver.close()
        row = s.page.locator("#deliveries tbody tr", has_text="Đã gửi").inner_text()
        assert "HTTP 200" in row or "HTTP 204" in row
        s.shot("webhooks-delivered", doc=True)
        s.page.set_viewport_size({"width": 390, "height": 844})
        s.goto("/admin/webhooks")
        assert s.page.evaluate(WIDTH) <= 390
        s.shot("webhooks-390")
        assert s.console_errors == []
    finally:
        s.context.close()

    [(headers, body)] = receiver.got  # exactly once, signed with the secret shown once
    payload = json.loads(body)
    assert verify(secret, body, headers["x-ioc-signature-256"])
    assert (payload["schema"], payload["type"], payload["ref"]) == (SCHEMA, "entity.updated", "system:hcm-cong-1022")
    assert payload["changed"] == ["attributes.vendor"] and payload["actor"] == "admin"
    assert Path(ROOT / "test-artifacts" / "web" / "webhooks-webhooks-390.png").exists()
