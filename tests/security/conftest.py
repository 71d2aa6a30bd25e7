"""Fixtures of the security regression suite (helpers in tests/security/harness.py).

``template``: the sample catalog with one user per role, built once per session. ``server``: a real
``ioc-catalog serve`` over a private copy of it, one per test module (a module that tampers with its store or trips
a throttle cannot disturb another). ``new_server(prepare=None, **env)``: one more server in the calling test (with
``IOC_CATALOG_*`` settings in ``env``; ``prepare(db)`` changes its store file first), stopped after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from security.harness import Server, build_template, serve_copy


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("security-template") / "catalog.db"
    return path, build_template(path)


@pytest.fixture(scope="module")
def server(template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = serve_copy(*template, tmp_path_factory.mktemp("security-server"))
    try:
        yield s
    finally:
        s.stop()
    log = s.server_log()
    assert "Traceback" not in log, log[-5000:]


@pytest.fixture
def new_server(template: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(prepare: Callable[[Path], None] | None = None, **env: str) -> Server:
        s = serve_copy(*template, tmp_path / f"server-{len(started)}", prepare, **env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
