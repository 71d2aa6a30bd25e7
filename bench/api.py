"""The REST API over loopback: p50/p99 of the main read endpoints on a large synthetic catalog, beside the bare health
endpoint measured in the same run (the floor: HTTP, uvicorn, FastAPI, authentication and JSON without catalog work).

    python -m bench.api                      # 100,000 entities (the catalog file is cached under the temp dir)
    python -m bench.api --entities 20000 --samples 200
    python -m bench.api --json api.json

The catalog is generated with :func:`bench.synthetic.generate` and bulk-loaded once into
``<cache-dir>/api-<entities>-<seed>.db`` (later runs reuse it). The server is the real one (`ioc-catalog serve`,
uvicorn, one process) on 127.0.0.1 and a free port; one client sends requests one at a time over a keep-alive
connection, the measures interleaved round by round so that background load hits each alike. Target: get and
neighbourhood p99 under 3x the floor's p99 plus 10 ms. Asserts nothing: prints figures next to their target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(db: Path, entities: int, seed: int) -> None:
    from bench.synthetic import generate
    from catalog.store.base import BulkLoad, WriteContext, new_run_id
    from catalog.store.sqlite import SQLiteStore

    log(f"generating {entities:,} entities (seed {seed}) ...")
    ents, rels = generate(entities, seed)
    part = db.with_suffix(".part")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    log(f"bulk load of {len(ents):,} entities and {len(rels):,} relationships into {db} ...")
    t = time.perf_counter()
    store = SQLiteStore(part)
    store.bulk_load(
        BulkLoad(source="bench", run=new_run_id(), entities=ents, relationships=rels), WriteContext(actor="bench")
    )
    store.close()
    part.rename(db)
    log(f"  {time.perf_counter() - t:.0f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Path, logfile: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """Start ``ioc-catalog serve --workers N`` over the catalog file ``db`` on a free port of 127.0.0.1, in its own
    process group; return the process and its base URL once it is ready (with several workers, once every one has
    had time to start)."""
    port = _free_port()
    env = {**os.environ, "IOC_CATALOG_SECRET_KEY": "bench-" + os.urandom(8).hex(), "PYTHONPATH": str(ROOT)}
    for name in ("IOC_CATALOG_STORE", "IOC_CATALOG_WORKERS", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "api.cli", "serve", "--store", f"sqlite:///{db}", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)],
        cwd=logfile.parent,
        env=env,
        stdout=logfile.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited:\n" + logfile.read_text()[-3000:])
        try:
            if httpx.get(f"{base}/health/ready", timeout=5).status_code == 200:
                time.sleep(2 if workers > 1 else 0)  # every worker has started
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("the server did not answer within 180 s")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--samples", type=int, default=300, help="requests per measure")
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "ioc-catalog-bench"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)

    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"api-{args.entities}-{args.seed}.db"
    if not db.exists():
        build(db, args.entities, args.seed)
    else:
        log(f"reusing {db}")

    from bench.run import search_queries
    from catalog.store.base import EntityFilter
    from catalog.store.sqlite import SQLiteStore

    store = SQLiteStore(db)
    rng = random.Random(args.seed + 7)
    n = args.samples
    total = store.count_entities()
    sample = [store.list_entities(EntityFilter(limit=1, offset=rng.randrange(total)))[0] for _ in range(n * 3)]
    refs = [e.ref for e in sample]
    owners = [e.owner for e in sample if e.owner] or ["organization:none"]
    assets = [e.ref for e in sample if e.kind != "organization"]
    _, folded = search_queries(rng, [e.name.vi for e in sample], n)
    store.close()

    picks: dict[str, list[str]] = {
        "health (floor)": ["/api/v1/health?counts=false"] * n,
        "get": [f"/api/v1/entities/{refs[rng.randrange(len(refs))]}" for _ in range(n)],
        "list, filtered": [f"/api/v1/systems?owner={owners[rng.randrange(len(owners))]}&limit=50" for _ in range(n)],
        "search": [f"/api/v1/search?q={q}" for q in folded],
        "neighbourhood (depth 1)": [
            f"/api/v1/entities/{refs[rng.randrange(len(refs))]}/neighbourhood" for _ in range(n)
        ],
        "neighbourhood (depth 2)": [
            f"/api/v1/entities/{refs[rng.randrange(len(refs))]}/neighbourhood?depth=2" for _ in range(n)
        ],
        "impact (limit 100)": [
            f"/api/v1/entities/{assets[rng.randrange(len(assets))]}/impact?limit=100" for _ in range(n)
        ],
    }

    logfile = cache / "bench-api-server.log"
    proc, base = serve(db, logfile)
    times: dict[str, list[float]] = {k: [] for k in picks}
    statuses: dict[str, dict[int, int]] = {k: {} for k in picks}
    first_impact = 0.0
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            t = time.perf_counter()
            http.get(picks["impact (limit 100)"][-1])  # the first impact call builds the dependency index
            first_impact = time.perf_counter() - t
            for paths in picks.values():  # warm up: connection, caches, code paths
                for p in paths[:10]:
                    http.get(p)
            log(f"{n} rounds of {len(picks)} requests against {base} ...")
            for i in range(n):
                for name, paths in picks.items():
                    t = time.perf_counter()
                    r = http.get(paths[i])
                    times[name].append(time.perf_counter() - t)
                    statuses[name][r.status_code] = statuses[name].get(r.status_code, 0) + 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    floor99 = pct(times["health (floor)"], 99)
    budget = 3 * floor99 + 0.010
    rows = []
    for name, ts in times.items():
        rows.append(
            {
                "measure": name,
                "p50_ms": pct(ts, 50) * 1000,
                "p99_ms": pct(ts, 99) * 1000,
                "mean_ms": statistics.fmean(ts) * 1000,
                "statuses": statuses[name],
            }
        )
    result = {
        "entities": total,
        "samples": n,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "first_impact_s": first_impact,
        "rows": rows,
        "target_ms": budget * 1000,
        "target_met": {k: pct(times[k], 99) < budget for k in ("get", "neighbourhood (depth 1)")},
    }

    print(
        f"\nREST API over loopback: {total:,} entities, {n} requests per measure, {result['machine']}, "
        f"load average {result['load_average'][0]:.1f}"
    )
    print(f"| {'measure':<26} | {'p50 ms':>8} | {'p99 ms':>8} | {'mean ms':>8} | statuses |")
    print(f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|{'-' * 10}|----------|")
    for r in rows:
        print(
            f"| {r['measure']:<26} | {r['p50_ms']:8.1f} | {r['p99_ms']:8.1f} | {r['mean_ms']:8.1f} | {r['statuses']} |"
        )
    print(f"\nfirst impact call (builds the dependency index): {first_impact * 1000:.0f} ms")
    print(
        f"target: get and neighbourhood p99 < 3 x floor p99 + 10 ms = {budget * 1000:.1f} ms -> "
        + ", ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in result["target_met"].items())
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
