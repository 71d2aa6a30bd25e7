"""What an ArchiMate import preserves is visible like any entity: the API returns it with its source type and
identifier, search finds it, the graph explorer draws it and its preserved relationships, and its page shows the kind's
label and the source's type in the page's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CORPORA
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.accounts import seed_demo
from catalog.settings import Settings
from catalog.store import open_store
from importers.base import run_import

OPEN_DAY = CORPORA / "archimate/archimatetool-ArchiModels/OpenDay/Open Day.xml"
EVENT = "preserved:id-44e2d629"  # a BusinessEvent: no kind of the catalog expresses it


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    assert run_import(store, OPEN_DAY).loaded
    tokens = {user.name: token.secret for user, _, token in seed_demo(store)}
    try:
        with TestClient(create_app(Settings(demo=True), store=store), raise_server_exceptions=False) as client:
            yield client, {"Authorization": f"Bearer {tokens['viewer']}"}
    finally:
        store.close()


def test_api_search_and_graph_show_what_was_preserved(app) -> None:
    client, auth = app
    r = client.get(f"/api/v1/entities/{EVENT}", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["name"]["en"] == "2 months prior to open day"
    assert body["attributes"]["source_type"] == "BusinessEvent"
    assert body["attributes"]["source_id"] == "id-44e2d629"
    found = client.get("/api/v1/search", params={"q": "2 months prior"}, headers=auth).json()
    hit = next(i for i in found["items"] if i["ref"] == EVENT)
    assert hit["kind_label"] == {"vi": "Phần tử giữ nguyên từ nguồn", "en": "Preserved element"}
    graph = client.get("/api/v1/graph/explore", params={"ref": EVENT}, headers=auth).json()
    assert EVENT in {n["ref"] for n in graph["nodes"]}
    kinds = {e.get("type") or e.get("kind") for e in graph["edges"]}
    assert "preserved" in kinds


def test_the_entity_page_speaks_one_language(app) -> None:
    client, _ = app
    vi = client.get(f"/entities/{EVENT}").text
    assert "Phần tử giữ nguyên từ nguồn" in vi and "Loại phần tử ở nguồn" in vi and "BusinessEvent" in vi
    assert "Preserved element" not in vi and "Type in the source" not in vi
    en = client.get(f"/entities/{EVENT}", params={"lang": "en"}).text
    assert "Preserved element" in en and "Type in the source" in en
    assert "Phần tử giữ nguyên từ nguồn" not in en
