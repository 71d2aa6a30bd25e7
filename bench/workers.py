"""Workers under load: 50 concurrent clients against `ioc-catalog serve --workers 1` and `--workers 2` in one run.

    python -m bench.workers                        # 20,000 entities, 50 clients, 30 s per server
    python -m bench.workers --seconds 60 --clients 50 --json workers.json
    python -m bench.workers --workers 1 2 4

The catalog is :func:`bench.synthetic.generate`'s, bulk-loaded once into ``<cache-dir>/api-<entities>-<seed>.db``
(shared with bench/api.py); each server gets a fresh copy, so both start from the same state. The server is the real
one on 127.0.0.1 and a free port. Each client is one asyncio task with its own keep-alive connection (aiohttp: the
cheapest client per request), sending one request after another for ``--seconds`` (after a warm-up), each picked
at random by weight:

- ``get`` (30 %): ``GET /api/v1/entities/{ref}``
- ``search`` (25 %): ``GET /api/v1/search?q=...`` (names folded to ASCII, as people type them)
- ``list`` (15 %): ``GET /api/v1/systems?owner=...&limit=50``
- ``page`` (15 %): the entity's web page ``GET /entities/{ref}`` (HTML)
- ``write`` (15 %): ``PATCH /api/v1/systems/{code}`` of the client's own system with ``If-Match`` (its last ETag)

Errors are any status but 200 (a 412 would mean a worker answered from a stale version). Lost updates: at the end
each client's system must have exactly 1 + its successful writes as version and its last written description.
The load generator's own CPU time is reported (it shares the 2 cores with the server), and so is the server's (all
its processes over the measured seconds; per request, it bounds what the cores can serve). Targets (issue 22): zero
errors and lost updates, 2 workers >= 1.6x the throughput of 1, p99 < 300 ms at 50 clients with 2 workers.
Asserts nothing: prints figures next to their targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.api import build, log, pct, serve

ROOT = Path(__file__).resolve().parent.parent
MIX = (("get", 30), ("search", 25), ("list", 15), ("page", 15), ("write", 15))


def prepare(template: Path, work: Path, clients: int) -> tuple[str, list[str]]:
    """A copy of the catalog with a bench user's token and one system per client (code bench-w-<i>)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, work)
    from catalog.accounts import Accounts
    from catalog.services import CatalogService
    from catalog.store.base import EntityFilter
    from catalog.store.sqlite import SQLiteStore

    store = SQLiteStore(work)
    try:
        accounts = Accounts(store)
        accounts.add_user("bench-writer", "architect")
        token = accounts.create_token("bench-writer", "bench").secret
        owner = store.list_entities(EntityFilter(kind="organization", limit=1))[0].ref
        svc = CatalogService(store)
        codes = []
        for i in range(clients):
            code = f"bench-w-{i:03d}"
            svc.register(
                {
                    "kind": "system",
                    "code": code,
                    "name": {"vi": f"Hệ thống đo tải {i}"},
                    "owner": owner,
                    "attributes": {"lifecycle": "production"},
                }
            )
            codes.append(code)
    finally:
        store.close()
    return token, codes


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and every process under it (its workers)."""
    import psutil

    try:
        top = psutil.Process(pid)
        procs = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


async def load(
    base: str,
    token: str,
    codes: list[str],
    picks: dict[str, list[str]],
    seconds: float,
    warmup: float,
    seed: int,
    server_pid: int | None = None,
) -> dict[str, Any]:
    kinds = [k for k, w in MIX for _ in range(w)]
    times: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors: dict[str, dict[str, int]] = {k: {} for k, _ in MIX}
    written: list[tuple[int, str | None]] = [(1, None) for _ in codes]  # (version, last description) per client
    auth = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        n = 0
        # aiohttp, one keep-alive connection per client: about a sixth of httpx's CPU per request, which this
        # process's share of the same 2 cores would otherwise take from the servers it measures
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(base_url=base, connector=connector, timeout=timeout) as http:
            while (now := time.perf_counter()) < stop_at:
                kind = rng.choice(kinds)
                if kind == "write":
                    version, _ = written[i]
                    n += 1
                    text = f"lần ghi {n} của máy khách {i}"
                    async with http.patch(
                        f"/api/v1/systems/{codes[i]}",
                        json={"description": {"vi": text}},
                        headers={**auth, "If-Match": f'"{version}"'},
                    ) as r:
                        await r.read()
                        status = r.status
                    if status == 200:
                        written[i] = (version + 1, text)
                else:
                    async with http.get(rng.choice(picks[kind])) as r:
                        await r.read()
                        status = r.status
                took = time.perf_counter() - now
                if now >= measure_from:
                    times[kind].append(took)
                    if status != 200:
                        errors[kind][str(status)] = errors[kind].get(str(status), 0) + 1

    server: list[float] = []

    async def watch_server() -> None:  # the servers' CPU over the measured seconds only
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        server.append(server_cpu(server_pid) if server_pid else 0.0)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        server.append(server_cpu(server_pid) if server_pid else 0.0)

    cpu0 = time.process_time()
    await asyncio.gather(watch_server(), *(client(i) for i in range(len(codes))))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - start
    # lost updates: every client's system as its writes left it
    lost = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for i, code in enumerate(codes):
            r = (await http.get(f"/api/v1/entities/system:{code}")).json()
            version, text = written[i]
            if r["version"] != version or (text is not None and (r.get("description") or {}).get("vi") != text):
                lost += 1
    return {
        "times": times,
        "errors": errors,
        "lost_updates": lost,
        "client_cpu_s": cpu,
        "wall_s": wall,
        "server_cpu_s": server[1] - server[0] if len(server) == 2 else 0.0,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30, help="measured seconds per server (after the warm-up)")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "ioc-catalog-bench"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)

    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    template = cache / f"api-{args.entities}-{args.seed}.db"
    if not template.exists():
        build(template, args.entities, args.seed)
    else:
        log(f"reusing {template}")

    from bench.run import search_queries
    from catalog.store.base import EntityFilter
    from catalog.store.sqlite import SQLiteStore

    store = SQLiteStore(template)  # a file cached by an older version is upgraded here, once
    rng = random.Random(args.seed + 11)
    total = store.count_entities()
    sample = [store.list_entities(EntityFilter(limit=1, offset=rng.randrange(total)))[0] for _ in range(600)]
    _, folded = search_queries(rng, [e.name.vi for e in sample], 300)
    owners = sorted({e.owner for e in sample if e.owner}) or ["organization:none"]
    store.close()
    picks = {
        "get": [f"/api/v1/entities/{e.ref}" for e in sample],
        "search": [f"/api/v1/search?q={q}" for q in folded],
        "list": [f"/api/v1/systems?owner={o}&limit=50" for o in owners],
        "page": [f"/entities/{e.ref}" for e in sample],
    }

    runs = []
    for workers in args.workers:
        work = cache / f"workers-{workers}.db"
        token, codes = prepare(template, work, args.clients)
        logfile = cache / f"bench-workers-{workers}.log"
        proc, base = serve(work, logfile, workers)
        load_before = os.getloadavg()[0]
        try:
            log(
                f"{args.clients} clients against {workers} worker(s) at {base} for {args.warmup:.0f} + {args.seconds:.0f} s"
            )
            got = asyncio.run(load(base, token, codes, picks, args.seconds, args.warmup, args.seed, proc.pid))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        all_times = [t for ts in got["times"].values() for t in ts]
        runs.append(
            {
                "workers": workers,
                "requests": len(all_times),
                "rps": len(all_times) / args.seconds,
                "p50_ms": pct(all_times, 50) * 1000,
                "p99_ms": pct(all_times, 99) * 1000,
                "by_kind": {
                    k: {"n": len(ts), "p50_ms": pct(ts, 50) * 1000, "p99_ms": pct(ts, 99) * 1000}
                    for k, ts in got["times"].items()
                    if ts
                },
                "errors": got["errors"],
                "error_count": sum(sum(v.values()) for v in got["errors"].values()),
                "lost_updates": got["lost_updates"],
                "client_cpu_share": got["client_cpu_s"] / got["wall_s"],
                "server_cpu_share": got["server_cpu_s"] / args.seconds,
                "server_cpu_ms_per_request": got["server_cpu_s"] * 1000 / max(1, len(all_times)),
                "load_average_before": load_before,
            }
        )

    base_rps = runs[0]["rps"]
    result = {
        "entities": total,
        "clients": args.clients,
        "seconds": args.seconds,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "runs": runs,
        "ratio": {r["workers"]: r["rps"] / base_rps for r in runs},
    }
    print(
        f"\n{args.clients} concurrent clients, mixed reads and writes, {total:,} entities, {args.seconds:.0f} s per "
        f"server, {result['machine']}, load average {result['load_average'][0]:.1f}"
    )
    kinds = [k for k, _ in MIX]
    print(
        "| workers | req/s | x 1 worker | p50 / p99 ms (all) | "
        + " | ".join(f"{k} p50 / p99" for k in kinds)
        + " | errors | lost updates | load generator CPU | server CPU | server CPU per request |"
    )
    print("|---" * (9 + len(kinds)) + "|")
    for r in runs:
        cells = [
            f"{r['by_kind'][k]['p50_ms']:.0f} / {r['by_kind'][k]['p99_ms']:.0f}" if k in r["by_kind"] else "-"
            for k in kinds
        ]
        print(
            f"| {r['workers']} | {r['rps']:.0f} | {r['rps'] / base_rps:.2f} | {r['p50_ms']:.0f} / {r['p99_ms']:.0f} | "
            + " | ".join(cells)
            + f" | {r['error_count']} | {r['lost_updates']} | {r['client_cpu_share'] * 100:.0f} % of a core | "
            f"{r['server_cpu_share'] * 100:.0f} % of a core | {r['server_cpu_ms_per_request']:.1f} ms |"
        )
    two = next((r for r in runs if r["workers"] == 2), None)
    if two is not None and runs[0]["workers"] == 1:
        print(
            f"\ntargets: 2 workers >= 1.6x of 1: {two['rps'] / base_rps:.2f}x; p99 < 300 ms with 2 workers: "
            f"{two['p99_ms']:.0f} ms; errors {sum(r['error_count'] for r in runs)}, lost updates "
            f"{sum(r['lost_updates'] for r in runs)} (target 0)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
