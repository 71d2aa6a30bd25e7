"""Benchmark what changed between two dates (catalog.history.diff) beside one full as-of read, on the synthetic catalog.

    python -m bench.diff                            # 100,000 entities, SQLite, 20 rounds
    python -m bench.diff --entities 20000 --rounds 10
    python -m bench.diff --neo4j-url bolt://127.0.0.1:7687 --erase   # also Neo4j (a throwaway server: erased first)
    python -m bench.diff --quick                    # 5,000 entities, 10 rounds: a smoke run
    python -m bench.diff --neo4j-url URL --erase --neo4j-only --rounds 5   # Neo4j alone

The two dates are a year apart (FROM..TO, across the synthetic 2025 reorganisation). Each round, on each backend,
with nothing cached in the process (``clear_cache``; the store stays open, as in a server):

- ``read``: one full as-of read, ``load_snapshot(store, None, TO)`` (the whole catalog valid on TO in the current
  record), the reference;
- ``diff``: ``diff(store, FROM, TO)``: both snapshots (one parse of the record, two passes over it) and the
  comparison, ownership moves with their events, organisation changes.

The two alternate within a round, so the machine's load falls on both alike. Prints p50/p99 of each, the ratio of the
p50s (target: diff within 2x of one read) and the load average; asserts nothing. bench/README.md keeps the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.synthetic import generate
from catalog.history.diff import diff
from catalog.history.snapshot import clear_cache, load_snapshot
from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, WriteContext, new_run_id

FROM, TO = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
TARGET = 2.0


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


def load(store: CatalogStore, entities: int, log: Callable[[str], None]) -> tuple[int, int]:
    t = time.perf_counter()
    ents, rels = generate(entities=entities)
    log(f"generated {len(ents):,} entities, {len(rels):,} relationships in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    store.bulk_load(
        BulkLoad(source="bench:synthetic", run=new_run_id(), entities=ents, relationships=rels),
        WriteContext(actor="bench"),
    )
    log(f"loaded in {time.perf_counter() - t:.1f} s")
    return len(ents), len(rels)


def measure(store: CatalogStore, rounds: int) -> dict[str, object]:
    reads: list[float] = []
    diffs: list[float] = []
    sizes: dict[str, int] = {}
    for i in range(rounds + 1):  # round 0 warms up (imports, statement caches) and is not counted
        for what in ("read", "diff") if i % 2 == 0 else ("diff", "read"):
            clear_cache()
            gc.collect()
            t = time.perf_counter()
            if what == "read":
                snap = load_snapshot(store, None, TO)
                sizes["read_entities"] = len(snap.entities)
            else:
                d = diff(store, FROM, TO)
                sizes.update({k: v for k, v in d.counts().items() if v})
            elapsed = (time.perf_counter() - t) * 1000
            if i:
                (reads if what == "read" else diffs).append(elapsed)
    r50, d50 = percentile(reads, 50), percentile(diffs, 50)
    return {
        "read_p50_ms": r50,
        "read_p99_ms": percentile(reads, 99),
        "diff_p50_ms": d50,
        "diff_p99_ms": percentile(diffs, 99),
        "ratio": d50 / r50,
        "rounds": rounds,
        "sizes": sizes,
    }


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends = [] if args.neo4j_only else [("sqlite", f"sqlite:///{Path(tmp) / 'diff.db'}")]
        if args.neo4j_url:
            backends.append(("neo4j", args.neo4j_url))
        for name, url in backends:
            if name == "neo4j":
                from bench.backends import prepare_database

                prepare_database(url, args.erase)
            store = open_store(url, create=True)
            try:
                log(f"{name}: loading {args.entities:,} synthetic entities")
                n_ents, n_rels = load(store, args.entities, log)
                res = measure(store, args.rounds)
                res.update(entities=n_ents, relationships=n_rels)
                out[name] = res
                log(
                    f"{name}: read p50 {res['read_p50_ms']:.0f} ms p99 {res['read_p99_ms']:.0f} ms; "
                    f"diff p50 {res['diff_p50_ms']:.0f} ms p99 {res['diff_p99_ms']:.0f} ms; ratio {res['ratio']:.2f}"
                )
            finally:
                store.close()
    return out


def report(results: dict[str, dict[str, object]], entities: int) -> str:
    load = os.getloadavg()
    lines = [
        f"bench.diff {dt.date.today()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · {entities:,} entities asked · {FROM} → {TO}",
        "",
        "| Backend | Entities / relationships | Full as-of read p50 / p99 | Diff p50 / p99 | Diff / read (p50) | Target |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        ok = "met" if float(r["ratio"]) <= TARGET else "missed"  # type: ignore[arg-type]
        lines.append(
            f"| {name} | {r['entities']:,} / {r['relationships']:,} | {r['read_p50_ms']:.0f} / {r['read_p99_ms']:.0f} ms"
            f" | {r['diff_p50_ms']:.0f} / {r['diff_p99_ms']:.0f} ms | {r['ratio']:.2f}x | <= {TARGET:.0f}x ({ok}) |"
        )
    sizes = next(iter(results.values()))["sizes"] if results else {}
    lines += ["", f"What the diff found (first backend): {sizes}"]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.diff", description=__doc__.split("\n")[0])
    p.add_argument("--entities", type=int, default=100_000, help="synthetic catalog size (default 100,000)")
    p.add_argument("--rounds", type=int, default=20, help="timed rounds per measure (default 20)")
    p.add_argument("--quick", action="store_true", help="5,000 entities, 10 rounds")
    p.add_argument("--neo4j-url", default=os.environ.get("IOC_CATALOG_BENCH_NEO4J_URL", ""), help="also Neo4j here")
    p.add_argument("--erase", action="store_true", help="erase the Neo4j database first (it must be a throwaway)")
    p.add_argument("--neo4j-only", action="store_true", help="measure only the Neo4j backend (needs --neo4j-url)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.quick:
        args.entities, args.rounds = 5_000, 10

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = run(args, log)
    print(report(results, args.entities))
    return 0


if __name__ == "__main__":
    sys.exit(main())
