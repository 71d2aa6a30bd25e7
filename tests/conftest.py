"""Shared fixtures. ``store`` is parametrised over every backend: the contract suite runs against each one."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.model import Entity, Relationship, parse_entity, parse_relationship, validate_entity, validate_relationship
from catalog.store import open_store
from catalog.store.base import CatalogStore, WriteContext

ROOT = Path(__file__).resolve().parent.parent
# The servers tests start (`ioc-catalog serve` in a subprocess) run one worker unless a test asks for more: several
# spawned workers start slower on a busy 2-core machine and test nothing the UI and API tests are about. The
# deployment test (tests/deploy/test_nginx.py) starts two on purpose (--workers 2).
os.environ.setdefault("IOC_CATALOG_WORKERS", "1")
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
SAMPLE = ROOT / "data" / "sample" / "hcmc.json"

BACKENDS = ["sqlite", "neo4j"]
NEO4J_SKIP = "Neo4j not available: set IOC_CATALOG_TEST_NEO4J_URL (./dev.sh test starts one when Java is present)"


class FakeClock:
    """A controllable clock for as-of tests: starts at a fixed instant, advances 1 s per call unless set."""

    def __init__(self, start: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)):
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now

    def set(self, when: dt.datetime) -> None:
        self.now = when


def neo4j_url() -> str:
    """The test server's URL; skips (or, with REQUIRE_NEO4J=1, fails) when none is configured."""
    url = os.environ.get("IOC_CATALOG_TEST_NEO4J_URL", "").strip()
    if not url:
        if os.environ.get("REQUIRE_NEO4J") == "1":
            pytest.fail("REQUIRE_NEO4J=1 but IOC_CATALOG_TEST_NEO4J_URL is not set")
        pytest.skip(NEO4J_SKIP)
    return url


def make_store(backend: str, tmp_path: Path) -> CatalogStore:
    if backend == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    if backend == "neo4j":
        url = neo4j_url()
        from catalog.store.neo4j.testing import erase_database

        try:  # every test starts from an empty database (constraints and indexes stay)
            erase_database(url, os.environ.get("IOC_CATALOG_NEO4J_USER"), os.environ.get("IOC_CATALOG_NEO4J_PASSWORD"))
            return open_store(url)
        except Exception as exc:  # a configured server that does not answer is a failure, never a skip
            pytest.fail(f"Neo4j at {url} is not usable: {exc}", pytrace=False)
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CatalogStore]:
    s = make_store(request.param, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def neo(tmp_path: Path) -> Iterator[Any]:
    """A Neo4j store on an empty database (the test is skipped without a test server)."""
    from catalog.store.neo4j import Neo4jStore

    s = make_store("neo4j", tmp_path)
    assert isinstance(s, Neo4jStore)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clock(store: CatalogStore) -> FakeClock:
    c = FakeClock()
    store.clock = c
    return c


@pytest.fixture
def ctx() -> WriteContext:
    return WriteContext(actor="tester", request_id="req-test")


@pytest.fixture
def sample(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """The store (either backend) with the HCMC sample catalog bulk-loaded."""
    import json

    from catalog.store.base import BulkLoad

    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    store.bulk_load(
        BulkLoad(
            source="sample",
            run="t",
            entities=[validate_entity(parse_entity(e)) for e in doc["entities"]],
            relationships=[validate_relationship(parse_relationship(r)) for r in doc["relationships"]],
        ),
        ctx,
    )
    return store


def entity(ref: str, name: str = "", owner: str | None = None, **attributes: object) -> Entity:
    """Factory: a valid entity of any kind with sensible required attributes."""
    kind = ref.split(":", 1)[0]
    defaults: dict[str, dict[str, object]] = {
        "organization": {"org_type": "department"},
        "system": {"lifecycle": "production"},
        "database": {"lifecycle": "production", "scope": "shared"},
        "platform": {"lifecycle": "production", "platform_type": "integration"},
        "service": {"lifecycle": "production", "protocol": "rest"},
        "dataset": {},
        "node": {"lifecycle": "production", "node_type": "server"},
    }
    attrs = {**defaults.get(kind, {}), **attributes}  # the business kinds need no attribute
    data: dict[str, object] = {"ref": ref, "name": {"vi": name or ref, "en": name or ref}, "attributes": attrs}
    if owner:
        data["owner"] = owner
    return validate_entity(parse_entity(data))


def rel(type_: str, source: str, target: str, **props: object) -> Relationship:
    return validate_relationship(
        parse_relationship({"type": type_, "source": source, "target": target, "properties": props})
    )


def r_id(source: str, type_: str, target: str) -> str:
    """The id of a relationship: ``source>type>target``."""
    return f"{source}>{type_}>{target}"


def load(store: CatalogStore, ctx: WriteContext, entities: list, relationships: list) -> None:
    """Write entities then relationships in one transaction, and forget the analysis caches."""
    from catalog import analysis

    with store.transaction(ctx):
        for e in entities:
            store.create_entity(e, ctx)
        for r in relationships:
            store.create_relationship(r, ctx)
    analysis.clear_cache()


def typer_app(register: Callable[[Any], None]) -> Any:
    """A typer group holding only the commands ``register`` adds (for CliRunner tests of one command module)."""
    import typer

    app = typer.Typer()

    @app.callback()
    def root() -> None:  # a group, so commands are called by their names
        pass

    register(app)
    return app


@pytest.fixture
def factory() -> tuple[Callable[..., Entity], Callable[..., Relationship]]:
    return entity, rel
