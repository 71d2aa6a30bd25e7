"""Rendering under a time limit and a cache (diagrams.render): a render over the limit is refused clearly (422, in
the reader's language) while the server keeps answering; the cache gives the same bytes for the same catalog
revision and misses after a write; it stays within its byte budget."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import SAMPLE

from api.app import create_app
from catalog.services import CatalogService
from catalog.settings import Settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from diagrams import ViewParams
from diagrams.render import RenderCache, RenderTimeout, draw_cached, run_dot
from importers.base import run_import


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("render") / "catalog.db"
    store = open_store(f"sqlite:///{path}")
    run_import(store, SAMPLE)
    store.close()
    return path


@pytest.fixture
def store(sample_db: Path, tmp_path: Path) -> Iterator[CatalogStore]:
    copy = tmp_path / "catalog.db"
    copy.write_bytes(sample_db.read_bytes())
    s = open_store(f"sqlite:///{copy}")
    yield s
    s.close()


@pytest.fixture
def slow_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `dot` on the PATH that never finishes in time (stands for a national-scale layout)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text("#!/bin/sh\nexec sleep 60\n")
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return dot


def test_a_render_over_the_time_limit_is_refused_in_the_readers_language(slow_dot: Path) -> None:
    with pytest.raises(RenderTimeout) as refused:
        run_dot("digraph { a -> b; b -> c }", "svg", timeout=0.5)
    e = refused.value
    assert e.status == 422 and e.code == "render-timeout"
    assert e.text("en").startswith("Too large to draw in time") and "0.5 s" in e.text("en")
    assert "2 edges" in e.text("en")
    assert e.text("vi").startswith("Sơ đồ quá lớn để vẽ kịp") and "Too large" not in e.text("vi")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_keeps_answering_while_graphviz_runs_and_then_refuses_clearly(
    store: CatalogStore, slow_dot: Path
) -> None:
    settings = Settings(demo=True, render_timeout_seconds=3)
    app = create_app(settings, store=store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            time.sleep(0.05)
        answers: dict[str, httpx.Response] = {}

        def ask_for_diagram() -> None:
            answers["diagram"] = httpx.get(
                f"{base}/api/v1/diagrams/landscape.svg", headers={"Accept-Language": "en"}, timeout=60
            )

        drawing = threading.Thread(target=ask_for_diagram)
        drawing.start()
        time.sleep(0.3)  # the diagram request is in Graphviz now
        for _ in range(5):  # the event loop is free: other requests are answered meanwhile
            assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
            assert httpx.get(f"{base}/api/v1/entities/system:hcm-cong-1022", timeout=10).status_code == 200
        assert drawing.is_alive() and "diagram" not in answers  # ...while the render was still running
        drawing.join(60)
        r = answers["diagram"]
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "render-timeout" and body["title"] == "Too large to draw in time"
        assert "3 s" in body["detail"] and "detail=full" in body["detail"]
        vi = httpx.get(f"{base}/api/v1/diagrams/landscape.svg", headers={"Accept-Language": "vi"}, timeout=60)
        assert vi.status_code == 422
        assert vi.json()["title"] == "Sơ đồ quá lớn để vẽ kịp"  # the reader's language (Accept-Language)
        assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_cache_gives_the_same_bytes_for_the_same_revision_and_misses_after_a_write(store: CatalogStore) -> None:
    cache = RenderCache(10_000_000)
    params = ViewParams(ref="platform:hcm-ioc", lang="en")
    first = draw_cached(store, "ioc", params, "svg", cache=cache)
    assert (cache.hits, cache.misses) == (0, 1)
    again = draw_cached(store, "ioc", params, "svg", cache=cache)
    assert again == first and (cache.hits, cache.misses) == (1, 1)
    assert draw_cached(store, "ioc", ViewParams(ref="platform:hcm-ioc", lang="vi"), "svg", cache=cache) != first
    assert cache.misses == 2  # other parameters, another entry
    CatalogService(store).register(
        {
            "kind": "system",
            "code": "he-thong-moi",
            "name": {"vi": "Hệ thống mới"},
            "owner": "organization:hcm-skhcn",
            "attributes": {"lifecycle": "production"},
        }
    )
    after = draw_cached(store, "ioc", params, "svg", cache=cache)
    assert cache.misses == 3 and after != first  # a new revision: drawn again (its stamp names the revision)


def test_the_cache_stays_within_its_byte_budget() -> None:
    cache = RenderCache(10)
    for key in "abc":
        cache.put(key, b"1234")
    assert len(cache) == 2 and cache.size == 8 and cache.get("a") is None and cache.get("c") == b"1234"
    cache.put("big", b"x" * 11)  # larger than the whole budget: not kept
    assert cache.get("big") is None and cache.size <= 10


def test_the_api_and_the_web_ui_draw_over_the_budget_collapsed_and_expand_on_demand(store: CatalogStore) -> None:
    import html

    from fastapi.testclient import TestClient

    app = create_app(Settings(demo=True, diagram_max_nodes=30, diagram_max_edges=30), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        base = {"ref": "platform:hcm-ioc", "lang": "en"}
        for path in ("/api/v1/diagrams/ioc.svg", "/download/diagram/ioc.svg"):
            folded = html.unescape(client.get(path, params={**base, "inline": 1}).text)
            assert "collapsed by organisation" in folded and "expand=" in folded
            full = html.unescape(client.get(path, params={**base, "inline": 1, "detail": "full"}).text)
            assert "collapsed by organisation" not in full and full.count("class=\"node\"") > 30
            one = html.unescape(client.get(path, params={**base, "inline": 1, "expand": "organization:hcm-skhcn"}).text)
            assert "Expanded: " in one and "1022" in one and "1022" not in folded  # the department's systems
        bad = client.get("/api/v1/diagrams/ioc.svg", params={**base, "detail": "everything"})
        assert bad.status_code == 422 and "detail" in bad.text
