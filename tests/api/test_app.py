"""The HTTP app: health, listing and entity pages over the sample; problem+json errors; the real demo server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, SAMPLE
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.settings import Settings
from catalog.store.base import CatalogStore
from importers.base import run_import


@pytest.fixture
def client(store: CatalogStore) -> TestClient:
    run_import(store, SAMPLE)
    with TestClient(create_app(Settings(demo=True), store=store)) as c:
        yield c


def test_health_reports_counts_and_revision(client: TestClient, store: CatalogStore) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert (body["entities"], body["relationships"]) == (store.count_entities(), store.count_relationships())
    assert body["revision"]["hash"] == store.revision()[1]


def test_list_filters_and_paginates(client: TestClient) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    platforms = sorted(e["ref"] for e in doc["entities"] if e["ref"].startswith("platform:"))
    page1 = client.get("/api/v1/entities", params={"kind": "platform", "limit": 5}).json()
    page2 = client.get("/api/v1/entities", params={"kind": "platform", "limit": 5, "offset": 5}).json()
    assert page1["total"] == len(platforms)
    assert [e["ref"] for e in page1["items"] + page2["items"]] == platforms[:10]


def test_get_entity_and_search(client: TestClient) -> None:
    e = client.get("/api/v1/entities/system:hcm-cong-1022").json()
    assert e["name"]["vi"] == "Cổng thông tin 1022" and e["ref"] == "system:hcm-cong-1022"
    hits = [x["ref"] for x in client.get("/api/v1/search", params={"q": "so thong tin"}).json()["items"]]
    assert "organization:hcm-sttt" in hits


@pytest.mark.parametrize(
    "path,status,field",
    [
        ("/api/v1/entities/system:nope", 404, None),
        ("/api/v1/entities?kind=spaceship", 422, "kind"),
        ("/api/v1/entities?limit=-1", 422, "query.limit"),
        ("/api/v1/search?q=", 422, "query.q"),
    ],
)
def test_errors_are_problem_json(client: TestClient, path: str, status: int, field: str | None) -> None:
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["detail"]
    if field:
        assert field in [e["field"] for e in body["errors"]]


def test_web_pages_render_vietnamese_and_escape_text(client: TestClient, store: CatalogStore) -> None:
    from catalog.services import CatalogService

    page = client.get("/", params={"q": "so thong tin"})
    assert page.status_code == 200 and "Sở Thông tin và Truyền thông" in page.text
    e = store.get_entity("system:hcm-cong-1022")
    CatalogService(store).patch(e.ref, {"name": {"vi": "<img src=x onerror=alert(1)>", "en": "x"}}, e.version)
    html = client.get("/entities/system:hcm-cong-1022").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert client.get("/entities/system:hcm-cong-1022", params={"lang": "en"}).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_the_sample_on_a_real_server(tmp_path: Path) -> None:
    """`ioc-catalog demo` builds the demo catalog and answers over HTTP (as README's first command does)."""
    port = _free_port()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("IOC_CATALOG_STORE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert health is not None, "the demo server did not answer"
        doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
        assert health["entities"] == len(doc["entities"])
        systems = httpx.get(f"http://127.0.0.1:{port}/api/v1/entities", params={"kind": "system"}).json()
        assert systems["total"] == sum(1 for e in doc["entities"] if e["ref"].startswith("system:"))
        home = httpx.get(f"http://127.0.0.1:{port}/")
        assert home.status_code == 200 and "Trung tâm điều hành" in home.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out
    assert ROOT.exists()


def test_diagram_endpoint_renders_real_graphviz(client: TestClient) -> None:
    svg = client.get("/api/v1/diagrams/ioc.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text and "Trung tâm điều hành" in svg.text
    png = client.get("/api/v1/diagrams/ioc.png", params={"lang": "en"})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/v1/diagrams/ioc.svg").content == svg.content  # same catalog, same bytes
    bad = client.get("/api/v1/diagrams/nonsense.svg")
    assert bad.status_code in (404, 422) and bad.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/diagrams/ioc.gif").status_code == 422
