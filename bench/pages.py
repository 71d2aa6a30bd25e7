"""Every page at national scale: p50/p95 and bytes of the main web pages and of /api/v1/compliance, and the time to
a rendered SVG of every view of one province's IOC, on a real server over a large synthetic catalog.

    python -m bench.pages                          # 20,000 entities (the catalog file is cached under the temp dir)
    python -m bench.pages --entities 5000 --samples 5
    python -m bench.pages --json pages.json

The catalog comes from :func:`bench.synthetic.generate`, bulk-loaded once into
``<cache-dir>/pages-<entities>-<seed>.db`` and recorded on 2025-01-01 (so the diff view over 2025 has records).
The server is the real one (``ioc-catalog serve``, uvicorn, one process, the default settings: page size 50,
diagram budget 400 nodes / 800 edges, render time limit 20 s) on 127.0.0.1; one client asks one page at a time
over a keep-alive connection as the anonymous viewer, the pages interleaved round by round. The first request of
each page is timed apart (``first``: it computes the per-revision compliance report, the impact index...), the
percentiles are over the following ``--samples`` requests.

The province is Thành phố Hồ Chí Minh: its LGSP (impact page, entity page), the department owning the LGSP (my
organisation) and its IOC (every view: ioc, context, department of its owner, shared-db of a provincial shared
database, landscape, diff from 2025-02-01 to 2025-08-01: the reform and the mergers). Each view is asked twice:
cold (drawn, ``first``) and again (``cached``, the render cache by catalog revision). Targets: pages p95 < 1 s and
< 500 KB; any IOC view < 10 s. Asserts nothing: prints figures next to their targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.api import log, pct, serve

PAGE_P95 = 1.0  # s
PAGE_BYTES = 500_000
VIEW_SECONDS = 10.0


def build(db: Path, entities: int, seed: int) -> None:
    """The synthetic catalog recorded on 2025-01-01 (bench.diagrams' clock), so that dates in 2025 (the diff over the
    2025 reform and mergers) have a record to read."""
    from bench.diagrams import _Clock
    from bench.synthetic import generate
    from catalog.store.base import BulkLoad, WriteContext, new_run_id
    from catalog.store.sqlite import SQLiteStore

    log(f"generating {entities:,} entities (seed {seed}) ...")
    ents, rels = generate(entities, seed)
    part = db.with_suffix(".part")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    log(f"bulk load of {len(ents):,} entities and {len(rels):,} relationships into {db} ...")
    store = SQLiteStore(part)
    store.clock = _Clock()  # type: ignore[assignment]
    store.bulk_load(
        BulkLoad(source="bench", run=new_run_id(), entities=ents, relationships=rels), WriteContext(actor="bench")
    )
    store.close()
    part.rename(db)


def province(db: Path) -> dict[str, str]:
    """Refs of one province's LGSP, IOC, the LGSP's owner, the province and one shared provincial database."""
    from catalog.store.base import EntityFilter
    from catalog.store.sqlite import SQLiteStore

    store = SQLiteStore(db)
    try:
        iocs = [
            e
            for e in store.list_entities(EntityFilter(kind="platform", limit=100_000))
            if e.ref.endswith("-ioc") and e.owner
        ]
        chosen = next((e for e in iocs if "Hồ Chí Minh" in (store.get_entity(e.owner).name.vi or "")), iocs[0])
        pcode = chosen.ref.split(":", 1)[1].removesuffix("-ioc")
        lgsp = store.get_entity(f"platform:{pcode}-lgsp")
        dbs = [
            r.target
            for r in store.list_relationships(None, "reads", "both", None)
            if r.target.startswith(f"database:{pcode}-")
        ]
        shared = max(set(dbs), key=dbs.count) if dbs else f"database:{pcode}-csdl"
        return {
            "pcode": pcode,
            "ioc": chosen.ref,
            "ioc_owner": chosen.owner or "",
            "lgsp": lgsp.ref,
            "lgsp_owner": lgsp.owner or "",
            "shared_db": shared,
        }
    finally:
        store.close()


def pages(p: dict[str, str]) -> dict[str, str]:
    q = quote
    return {
        "search": "/?q=so%20thong%20tin",
        "entity (provincial LGSP)": f"/entities/{q(p['lgsp'], safe=':')}",
        "impact (provincial LGSP)": f"/impact?ref={q(p['lgsp'], safe=':')}",
        "compliance": "/compliance",
        "compliance, one rule": "/compliance?rule=CR001",
        "catalog on a date": "/asof?valid_on=2025-08-01",
        "my organisation": f"/my-org?org={q(p['lgsp_owner'], safe=':')}",
        "/api/v1/compliance": "/api/v1/compliance",
    }


def views(p: dict[str, str]) -> dict[str, str]:
    q = quote
    return {
        "ioc": f"/api/v1/diagrams/ioc.svg?ref={q(p['ioc'], safe=':')}",
        "context": f"/api/v1/diagrams/context.svg?ref={q(p['ioc'], safe=':')}",
        "department": f"/api/v1/diagrams/department.svg?ref={q(p['ioc_owner'], safe=':')}",
        "shared-db": f"/api/v1/diagrams/shared-db.svg?ref={q(p['shared_db'], safe=':')}",
        "landscape": "/api/v1/diagrams/landscape.svg",
        "diff": "/api/v1/diagrams/diff.svg?from=2025-02-01&to=2025-08-01",
    }


def timed(client: httpx.Client, path: str) -> tuple[float, int, int]:
    t = time.perf_counter()
    r = client.get(path)
    return time.perf_counter() - t, r.status_code, len(r.content)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--samples", type=int, default=20, help="requests per page after the first")
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "ioc-catalog-bench"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)

    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"pages-{args.entities}-{args.seed}.db"
    if not db.exists():
        build(db, args.entities, args.seed)
    else:
        log(f"reusing {db}")
    p = province(db)
    log(f"province {p['pcode']}: IOC {p['ioc']}, LGSP {p['lgsp']}")
    load_start = os.getloadavg()
    proc, base = serve(db, cache / "pages-server.log")
    result: dict = {
        "entities": args.entities,
        "samples": args.samples,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_start": load_start,
        "province": p,
        "pages": {},
        "views": {},
    }
    try:
        with httpx.Client(base_url=base, timeout=300, headers={"Accept-Language": "vi"}) as client:
            plist = pages(p)
            times: dict[str, list[float]] = {name: [] for name in plist}
            sizes: dict[str, int] = {}
            statuses: dict[str, set[int]] = {name: set() for name in plist}
            first: dict[str, float] = {}
            for name, path in plist.items():
                log(f"first {name} ...")
                first[name], status, sizes[name] = timed(client, path)
                statuses[name].add(status)
            for _ in range(args.samples):
                for name, path in plist.items():
                    t, status, size = timed(client, path)
                    times[name].append(t)
                    statuses[name].add(status)
                    sizes[name] = max(sizes[name], size)
            for name in plist:
                ts = times[name] or [first[name]]
                result["pages"][name] = {
                    "path": plist[name],
                    "first_s": first[name],
                    "p50_s": pct(ts, 50),
                    "p95_s": pct(ts, 95),
                    "bytes": sizes[name],
                    "statuses": sorted(statuses[name]),
                    "met": pct(ts, 95) < PAGE_P95 and sizes[name] < PAGE_BYTES and statuses[name] == {200},
                }
            for name, path in views(p).items():
                log(f"view {name} ...")
                cold, status, size = timed(client, path)
                warm, status2, _ = timed(client, path)
                result["views"][name] = {
                    "path": path,
                    "first_s": cold,
                    "cached_s": warm,
                    "status": status,
                    "bytes": size,
                    "met": cold < VIEW_SECONDS and status == 200,
                }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    result["load_average_end"] = os.getloadavg()
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return result


def report(r: dict) -> None:
    la = " ".join(f"{x:.2f}" for x in r["load_average_start"])
    le = " ".join(f"{x:.2f}" for x in r["load_average_end"])
    print(
        f"\nPages at national scale: {r['entities']:,} entities, {r['samples']} requests per page after the first, "
        f"{r['machine']}; load average {la} at the start, {le} at the end"
    )
    print("\n| page | first s | p50 s | p95 s | KB | status | target p95 < 1 s, < 500 KB |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, x in r["pages"].items():
        status = ",".join(map(str, x["statuses"]))
        met = "met" if x["met"] else "NOT met"
        print(
            f"| {name} | {x['first_s']:.2f} | {x['p50_s']:.3f} | {x['p95_s']:.3f} | {x['bytes'] / 1000:,.0f} "
            f"| {status} | {met} |"
        )
    print("\n| IOC view (SVG) | first s | cached s | KB | status | target < 10 s |")
    print("|---|---:|---:|---:|---|---|")
    for name, x in r["views"].items():
        met = "met" if x["met"] else "NOT met"
        print(
            f"| {name} | {x['first_s']:.2f} | {x['cached_s']:.3f} | {x['bytes'] / 1000:,.0f} | {x['status']} | {met} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
