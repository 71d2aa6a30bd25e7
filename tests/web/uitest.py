"""Helpers of the browser tests of the web UI (fixtures in tests/web/conftest.py): the real server (``ioc-catalog
serve``) in a subprocess on a free port, over a fresh catalog built from the sample with known users, driven by
Playwright in headless Debian chromium.

The browser is the system's ``chromium`` (``./dev.sh test`` installs it with apt): Playwright never downloads one.
Without chromium or the playwright package these tests skip, unless ``CI=true`` (or ``REQUIRE_BROWSER=1``), where
they fail, as the Neo4j tests do with ``REQUIRE_NEO4J=1``.

Every page a test visits is saved as a screenshot under ``test-artifacts/web/`` (gitignored). With
``IOC_CATALOG_DOC_SCREENSHOTS=1`` the main pages are also written to ``docs/img/ui-*.png`` (the README's).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "hcmc.json"
ARTIFACTS = ROOT / "test-artifacts" / "web"
DOC_IMG = ROOT / "docs" / "img"
PASSWORD = "web-test-password-1"
PAST = "2025-06-30"  # the sample is loaded on 2025-03-01 (fake clock); later changes happen "today"
USERS = (
    ("architect", "architect", None),
    ("editor-skhcn", "editor", "organization:hcm-skhcn"),
    ("editor-stc", "editor", "organization:hcm-stc"),
    ("auditor", "auditor", None),
    ("viewer", "viewer", None),
)
LATE_SYSTEM = "system:hcm-he-thong-sau-kiem-toan"  # registered today, feeds the IOC: absent from the PAST diagram
LATE_NAME = "Hệ thống đăng ký sau ngày kiểm toán"
XSS = "<img src=x onerror=alert(1)>"


def strict() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_BROWSER") == "1"


def chromium_path() -> str:
    """Debian's chromium; skips (or under CI=true fails) when it is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        msg = "chromium not found: install Debian's chromium (./dev.sh test does) to run the browser tests"
        if strict():
            pytest.fail(msg + " (CI=true: browser tests must run)", pytrace=False)
        pytest.skip(msg)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_catalog(url: str, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run a real ``ioc-catalog serve`` over the catalog at ``url`` (its output in ``log_path``) with a fresh secret
    key and ``env`` added to this process's environment; yield its base URL once it answers, stop it on leaving."""
    port = _free_port()
    full = {**os.environ, "IOC_CATALOG_SECRET_KEY": secrets.token_hex(32), "NO_COLOR": "1", **(env or {})}
    full.pop("IOC_CATALOG_DEMO", None)
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--store", url, "--port", str(port)],
        cwd=ROOT,
        env=full,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class _PastClock:
    """Load the sample as of 2025-03-01 (one second per write), so that a past date has history to show."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def build_catalog(path: Path) -> str:
    from catalog.accounts import Accounts
    from catalog.services import CatalogService
    from catalog.store import open_store
    from catalog.store.base import utc_now
    from importers.base import run_import

    url = f"sqlite:///{path}"
    store = open_store(url, create=True)
    try:
        store.clock = _PastClock()
        report = run_import(store, SAMPLE)
        assert report.loaded and not report.rejected
        store.clock = utc_now
        accounts = Accounts(store)
        for name, role, org in USERS:
            accounts.add_user(name, role, org, display=name, password=PASSWORD)
        svc = CatalogService(store)
        svc.register(
            {
                "kind": "system",
                "code": LATE_SYSTEM.split(":")[1],
                "name": {"vi": LATE_NAME},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "production"},
            }
        )
        svc.link({"type": "feeds", "source": LATE_SYSTEM, "target": "platform:hcm-ioc"})
    finally:
        store.close()
    return url


def pick(page: object, field: str, text: str, option: str | None = None) -> None:
    """Choose in the type-ahead picker (api/static/picker.js) that replaced ``<input id=field>``: type ``text`` key
    by key, then click the suggestion holding ``option`` (the first suggestion without one)."""
    box = page.locator(f"#{field}-ts-control")  # type: ignore[attr-defined]
    box.click()
    box.press_sequentially(text, delay=10)
    found = page.locator(".ts-dropdown .option", has_text=option) if option else page.locator(".ts-dropdown .option")  # type: ignore[attr-defined]
    found.first.click()


class Session:
    """One signed-in browser context: ``page``, the dialogs that fired, and ``shot(name)``."""

    def __init__(self, browser: object, base: str, user: str | None, test: str) -> None:
        self.base, self.test = base, test
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 860},
            accept_downloads=True,  # type: ignore[attr-defined]
            locale="vi-VN",
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        if user:
            self.sign_in(user)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, user: str, password: str = PASSWORD) -> None:
        self.goto("/signin")
        self.page.fill("#name", user)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("form.narrow button[type=submit]")

    def shot(self, name: str, doc: bool = False, full: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        if doc and os.environ.get("IOC_CATALOG_DOC_SCREENSHOTS") == "1":
            DOC_IMG.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(DOC_IMG / f"ui-{name}.png"), full_page=False)
        return path
