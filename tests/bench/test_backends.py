"""A --quick smoke run of the side-by-side bench (bench/backends.py) against the test Neo4j server.

Needs IOC_CATALOG_TEST_NEO4J_URL (skips without it, fails with REQUIRE_NEO4J=1, as tests/conftest.py's neo4j_url()).
The run erases that server's database (as the contract suite does between tests) and loads about 8,000 facts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import neo4j_url

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_on_both_backends(tmp_path: Path) -> None:
    url = neo4j_url()
    out = tmp_path / "backends.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.backends",
            "--quick",
            "--samples",
            "10",
            "--naive-rows",
            "100",
            "--neo4j-url",
            url,
            "--erase",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for label in (
        "bulk load",
        "naive load",
        "ratio bulk / naive",
        "get_entity",
        "search",
        "neighbourhood depth 2",
        "impact, warm",
        "impact, first call",
        "SQLite",
        "Neo4j",
        "target",
        "extrapolat",
    ):
        assert label in proc.stdout, label
    res = json.loads(out.read_text(encoding="utf-8"))
    rows = res["params"]["entities"] + res["params"]["relationships"]
    assert res["params"]["entities"] == 2000
    for backend in ("sqlite", "neo4j"):
        figs = res["figures"][backend]
        assert figs["bulk_load"]["rows"] == rows
        assert figs["bulk_load"]["created"] == rows  # a fresh store on both sides
        for key in ("get", "search", "neighbourhood", "impact"):
            assert figs[key]["samples"] == 10 and figs[key]["p99_ms"] >= figs[key]["p50_ms"] > 0, (backend, key)
    # the same walk on both backends: the same result sizes
    assert res["figures"]["sqlite"]["neighbourhood"]["note"] == res["figures"]["neo4j"]["neighbourhood"]["note"]
    assert res["figures"]["sqlite"]["impact"]["note"] == res["figures"]["neo4j"]["impact"]["note"]
    naive = res["naive"]
    assert naive["relationship_rows"] == 100 and naive["relationships_created"] == 100
    assert naive["entity_rows"] >= 100 and naive["rows_per_s"] > 0

    # a server on this machine: its CPU during the load and the naive rows, by thread group, printed beside the client's
    from bench.backends import jvm_pid

    if jvm_pid(url) is not None:
        for server in (res["figures"]["neo4j"]["bulk_load"]["server_cpu_seconds"], naive["server_cpu_seconds"]):
            assert server["total"] > 0 and server["queries and commits"] > 0, server
            assert sum(v for k, v in server.items() if k != "total") == pytest.approx(server["total"], abs=0.05)
        assert "server CPU" in proc.stdout and "ms per 1,000 rows" in proc.stdout

    # the peer cleaned up after itself: only the catalog is left
    from neo4j import GraphDatabase

    user = os.environ.get("IOC_CATALOG_NEO4J_USER")
    with GraphDatabase.driver(
        url, auth=(user, os.environ.get("IOC_CATALOG_NEO4J_PASSWORD", "")) if user else None
    ) as driver:
        records, _, _ = driver.execute_query("MATCH (n:NaiveEntity) RETURN count(n) AS n")
        assert records[0]["n"] == 0
        records, _, _ = driver.execute_query(
            "SHOW CONSTRAINTS YIELD name WHERE name = 'bench_naive_entity_ref' RETURN count(*) AS n"
        )
        assert records[0]["n"] == 0


def test_jvm_cpu_reads_threads_by_group() -> None:
    """jvm_cpu works on any process's /proc entry: this one's threads are all "other", and they add up."""
    from bench.backends import cpu_used, jvm_cpu, jvm_pid

    before = jvm_cpu(os.getpid())
    sum(i * i for i in range(2_000_000))  # some CPU to see
    after = jvm_cpu(os.getpid())
    assert before is not None and after is not None
    used = cpu_used(before, after)
    assert used is not None and used["total"] > 0 and used["other"] == used["total"]
    assert jvm_cpu(None) is None and cpu_used(None, after) is None
    assert jvm_pid("bolt://neo4j.example.org:7687") is None  # not on this machine: no CPU to read
