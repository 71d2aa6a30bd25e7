"""The synthetic catalog generator (bench/synthetic.py) and a smoke run of the benchmark (bench/run.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is not an installed package; it runs from the repository root
    sys.path.insert(0, str(ROOT))

from bench.synthetic import DEPARTMENTS, PROVINCES, check, fixed_entity_count, generate, rows  # noqa: E402
from catalog.metamodel import DEFAULT  # noqa: E402

SIZE = 2_000


@pytest.fixture(scope="module")
def catalog():
    return generate(SIZE, validate=False)


def test_same_seed_same_catalog(catalog):
    entities, relationships = catalog
    again_e, again_r = generate(SIZE, validate=False)
    assert [e.model_dump_json() for e in again_e] == [e.model_dump_json() for e in entities]
    assert [r.model_dump_json() for r in again_r] == [r.model_dump_json() for r in relationships]


def test_another_seed_another_catalog():
    a_e, a_r = rows(SIZE, seed=1)
    b_e, b_r = rows(SIZE, seed=2)
    assert a_e != b_e and a_r != b_r
    assert [e["code"] for e in a_e[: fixed_entity_count()]] == [e["code"] for e in b_e[: fixed_entity_count()]]


@pytest.mark.parametrize("size", [SIZE, 7_500])
def test_requested_size(size):
    entities, relationships = rows(size)
    assert abs(len(entities) - size) <= size * 0.10
    assert abs(len(relationships) - 3 * size) <= 3 * size * 0.10


def test_too_small_is_refused():
    with pytest.raises(ValueError, match="at least"):
        rows(fixed_entity_count() - 1)


def test_every_row_valid_unique_and_connected(catalog):
    entities, relationships = catalog
    refs = [e.ref for e in entities]
    assert len(set(refs)) == len(refs)
    ids = [r.id for r in relationships]
    assert len(set(ids)) == len(ids)
    known = set(refs)
    kind = {e.ref: e.kind for e in entities}
    for r in relationships:
        assert r.source in known and r.target in known, r.id
        spec = DEFAULT.relations[r.type]
        assert not spec.derived
        assert kind[r.source] in spec.sources and kind[r.target] in spec.targets, r.id
    for e in entities:
        for period in e.owner_history:
            assert period.org in known, e.ref
        for name in ("parent", "data_owner"):
            if name in e.attributes:
                assert e.attributes[name] in known, e.ref
    # the importer path (parse_* then validate_*) leaves every generated row exactly as it is
    check(entities, relationships)


def test_national_shape(catalog):
    entities, relationships = catalog
    orgs = [e for e in entities if e.kind == "organization"]
    provinces = [e for e in orgs if e.attributes["org_type"] in ("province", "city")]
    assert len(provinces) == 34
    assert {e.attributes["short_name"] for e in provinces} == {name for name, _, _ in PROVINCES}
    assert "Thành phố Hồ Chí Minh" in {e.attributes["short_name"] for e in provinces}
    current = [e for e in orgs if e.attributes["org_type"] == "department" and e.attributes["status"] == "active"]
    assert len(current) == 34 * len(DEPARTMENTS)
    subtypes = Counter(e.attributes.get("platform_subtype") for e in entities if e.kind == "platform")
    assert subtypes["lgsp"] == subtypes["city_ioc"] == subtypes["data_centre"] - 1 == 34  # + the national one
    assert subtypes["ndxp"] == 1
    assert any(e.ref == "database:csdlqg-dan-cu" for e in entities)
    types = Counter(r.type for r in relationships)
    for t in (
        "reads",
        "writes",
        "provides",
        "exposes",
        "published_on",
        "consumes",
        "flows_to",
        "hosted_on",
        "feeds",
        "federates_with",
    ):
        assert types[t] > 0, t
    flows = [r for r in relationships if r.type == "flows_to"]
    assert sum(1 for r in flows if r.properties.get("via", "").endswith("-lgsp")) > len(flows) / 2
    moved = [e for e in entities if len(e.owner_history) == 2]
    assert moved and all(e.owner_history[0].end == e.owner_history[1].start for e in moved)


def test_quick_bench_runs(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for label in (
        "machine:",
        "bulk load (SQLiteStore.bulk_load)",
        "bulk load floor (raw sqlite3)",
        "bulk load ratio ours/raw",
        "get_entity",
        "search, folded query",
        "search, accented query",
        "neighbourhood depth 2",
        "impact, first call (cold)",
        "impact, warm",
        "peak RSS",
    ):
        assert label in proc.stdout, label
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["params"]["entities"] == 5_000
    assert data["figures"]["bulk_load"]["created"] == data["figures"]["bulk_load"]["rows"]
