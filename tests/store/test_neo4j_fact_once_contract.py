"""The store contract (tests/store/test_contract.py) again, on a Neo4j database upgraded from schema 2.

The ``store`` fixture here loads the raw graph of tests/fixtures/neo4j_schema2_graph.json (written by the schema-2
code) into the empty test database, opens it (the upgrade to "each fact written once" runs on opening), then erases
it: every contract test starts from an empty catalog in a database that the upgrade went through. Needs the test
server (IOC_CATALOG_TEST_NEO4J_URL).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import neo4j_url
from store.test_contract import *  # noqa: F403 - every contract test, collected again here with the fixture below

from catalog.store.neo4j import Neo4jStore
from catalog.store.neo4j.testing import erase_database, load_graph

GRAPH = Path(__file__).resolve().parent.parent / "fixtures" / "neo4j_schema2_graph.json"


@pytest.fixture(scope="module")
def schema2_graph() -> dict:
    return json.loads(GRAPH.read_text(encoding="utf-8"))


@pytest.fixture
def store(schema2_graph: dict) -> Iterator[Neo4jStore]:
    url = neo4j_url()
    auth = {"user": os.environ.get("IOC_CATALOG_NEO4J_USER"), "password": os.environ.get("IOC_CATALOG_NEO4J_PASSWORD")}
    erase_database(url, **auth)
    load_graph(url, schema2_graph, **auth)
    s = Neo4jStore(url, **auth)
    try:
        assert s.schema_versions() == ("3", "3") and s.revision()[0] > 0
        s.erase()
        yield s
    finally:
        s.close()
