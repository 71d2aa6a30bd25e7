"""Fixtures for the REST API tests: the sample catalog behind the app, one demo user and API token per role."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SAMPLE
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.accounts import seed_demo
from catalog.settings import Settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.base import run_import

ROLES = ("admin", "architect", "editor-skhcn", "editor-stc", "auditor", "viewer")


@dataclass
class Api:
    store: CatalogStore
    client: TestClient
    tokens: dict[str, str]  # demo user name -> bearer token

    def as_(self, user: str | None) -> dict[str, str]:
        """Headers authenticating as a demo user (None: anonymous)."""
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}


def build_catalog(path: Path) -> tuple[CatalogStore, dict[str, str]]:
    store = open_store(f"sqlite:///{path}")
    run_import(store, SAMPLE)
    tokens = {user.name: token.secret for user, _, token in seed_demo(store)}
    return store, tokens


@pytest.fixture(scope="session")
def template_catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The sample with the demo users, built once per run (importing it and hashing six passwords takes a while)."""
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    store, tokens = build_catalog(path)
    store.close()
    return path, tokens


@pytest.fixture
def api(tmp_path: Path, template_catalog: tuple[Path, dict[str, str]]) -> Iterator[Api]:
    """A private copy of the template catalog behind the app."""
    template, tokens = template_catalog
    shutil.copyfile(template, tmp_path / "catalog.db")
    store = open_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        with TestClient(create_app(Settings(demo=True), store=store), raise_server_exceptions=False) as client:
            yield Api(store, client, tokens)
    finally:
        store.close()
