"""Fixtures of the browser tests: ``server`` (the real ``ioc-catalog serve`` over a fresh catalog, once per session),
``browser`` (headless Debian chromium through Playwright) and ``signed_in(user)``; see tests/web/uitest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from web.uitest import PASSWORD, Session, build_catalog, chromium_path, serve_catalog, strict


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real ``ioc-catalog serve`` over a fresh catalog (one per test session)."""
    tmp = tmp_path_factory.mktemp("web")
    with serve_catalog(build_catalog(tmp / "catalog.db"), tmp / "server.log") as base:
        yield base
    text = (tmp / "server.log").read_text()
    assert PASSWORD not in text, "a password reached the server log"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "the playwright package is missing (pip install -e '.[test]')"
        if strict():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        yield b
        b.close()


@pytest.fixture
def signed_in(
    browser: object, server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[str | None], Session]]:
    """``signed_in("architect")`` opens a fresh browser context signed in as that user (None: anonymous)."""
    sessions: list[Session] = []

    def open_as(user: str | None) -> Session:
        s = Session(browser, server, user, request.node.name.removeprefix("test_"))
        sessions.append(s)
        return s

    yield open_as
    try:
        for s in sessions:
            assert s.dialogs == [], f"a dialog fired: {s.dialogs}"
            assert s.console_errors == [], f"JavaScript errors: {s.console_errors}"
    finally:
        for s in sessions:
            s.context.close()
