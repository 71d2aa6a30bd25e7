"""Search as the type-ahead pickers use it, at national scale, on either backend: the store's index search
(``store.search``, the query bench.backends times), the same queries typed a letter at a time, and
:func:`catalog.search.suggest` (what every picker, the search page and ``GET /api/v1/search`` ask), also right after
a write (each write moves the catalog's revision: :class:`catalog.search.Places` is brought up to date first).

Not a test: it prints p50/p99 per measure and the ratio of each p50 to the store search's, measured in the same run,
for bench/README.md ("Search"). Target: p99 < 50 ms (issue 21).

    python -m bench.search --entities 100000 --db /tmp/bench100k.db        # SQLite (the file is built when missing)
    python -m bench.search --entities 100000 --neo4j-url bolt://127.0.0.1:7687   # Neo4j (loaded when empty)

The SQLite file is built once by :func:`bench.pages.build` and reused; an empty Neo4j database gets the same
synthetic catalog by ``bulk_load``. The queries are bench.run's (two consecutive words of random entity names,
folded), from the same seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMPACT_KINDS = ("database", "platform", "service", "system")
TARGET_P99_MS = 50.0  # a suggestion must keep up with typing


def _times(fn: Callable[[Any], object], args: list[Any]) -> tuple[float, float]:
    """(p50, p99) in ms of ``fn(a)`` over ``args``."""
    from bench.run import percentile

    out = []
    for a in args:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1000)
    return percentile(out, 50), percentile(out, 99)


def _open(args: argparse.Namespace) -> Any:
    from catalog.store.base import BulkLoad, WriteContext, new_run_id

    if args.neo4j_url:
        from bench.synthetic import generate
        from catalog.store.neo4j import Neo4jStore

        store = Neo4jStore(args.neo4j_url)
        if store.is_empty():
            print(f"loading {args.entities:,} entities into {args.neo4j_url} ...", flush=True)
            ents, rels = generate(args.entities, args.seed)
            store.bulk_load(
                BulkLoad(source="bench", run=new_run_id(), entities=ents, relationships=rels),
                WriteContext(actor="bench"),
            )
        return store
    from bench.pages import build
    from catalog.store.sqlite import SQLiteStore

    db = args.db or Path(tempfile.gettempdir()) / f"ioc-bench-search-{args.entities}-{args.seed}.db"
    if not db.exists():
        build(db, args.entities, args.seed)
    return SQLiteStore(db)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--samples", type=int, default=300, help="queries per measure (default 300)")
    ap.add_argument("--db", type=Path, default=None, help="SQLite catalog file (built when missing)")
    ap.add_argument("--neo4j-url", default=None, help="measure a Neo4j store instead (loaded when empty)")
    args = ap.parse_args(argv)

    from bench.run import percentile, search_queries
    from catalog.model import LocalText
    from catalog.permissions import Principal
    from catalog.search import Places, suggest
    from catalog.store.base import EntityFilter, WriteContext

    store = _open(args)
    try:
        orgs = store.list_entities(EntityFilter(kind="organization", limit=1_000_000))
        dept = next(o for o in orgs if o.attributes.get("org_type") == "department")
        who = Principal("bench", "editor", dept.ref)
        systems = store.list_entities(EntityFilter(kind="system", limit=20_000))
        names = [e.name.vi for e in systems]
        names += [o.name.vi for o in orgs]
        _, queries = search_queries(random.Random(args.seed + 1), names, args.samples)
        typed = [q[:i] for q in queries[: max(1, args.samples // 8)] for i in range(1, len(q) + 1)]
        for q in queries[:50]:  # untimed: the server compiles its queries, the caches fill
            store.search(q)
            suggest(store, q, (), 15, who)

        base = _times(lambda q: store.search(q), queries)
        rows = [
            ("store.revision() (one trivial read: this machine's floor)", _times(lambda q: store.revision(), queries)),
            ("store.search, 20 hits (bench.backends' query)", base),
            ("store.search, typed a letter at a time, 60 hits", _times(lambda q: store.search(q, limit=60), typed)),
            ("suggest, 15 hits ranked for an editor", _times(lambda q: suggest(store, q, (), 15, who), queries)),
            (
                "suggest, 4 kinds (the impact picker)",
                _times(lambda q: suggest(store, q, IMPACT_KINDS, 15, who), queries),
            ),
        ]
        if not args.neo4j_url:  # the query search ran before issue 21: every match ranked by bm25, then the best
            from catalog.text import fold

            before = (
                "SELECT e.data FROM (SELECT ref, bm25(entity_fts, 0, 0, 10.0, 1.0) AS score FROM entity_fts "
                "WHERE entity_fts MATCH ? ORDER BY score, ref LIMIT 20) f JOIN entities e ON e.ref = f.ref"
            )
            conn = store._conn()
            ranked = _times(
                lambda q: conn.execute(before, [" ".join(f'"{t}"*' for t in fold(q).split())]).fetchall(), queries
            )
            rows.insert(2, ("every match ranked (bm25), 20 hits: the search before", ranked))
        ctx, written = WriteContext(actor="bench"), []

        after: list[float] = []
        for i, q in enumerate(queries[:100]):
            name = LocalText(vi=f"Hệ thống thử {i}", en=f"Trial system {i}")
            e = store.create_entity(systems[0].model_copy(update={"code": f"bench-search-{i}", "name": name}), ctx)
            written.append(e)
            t = time.perf_counter()
            suggest(store, q, (), 15, who)
            after.append((time.perf_counter() - t) * 1000)
        rows.append(("suggest right after a write (not timed)", (percentile(after, 50), percentile(after, 99))))
        for e in written:
            store.delete_entity(e.ref, e.version, ctx)
        Places._cache.clear()
        t = time.perf_counter()
        Places.of(store)
        cold = (time.perf_counter() - t) * 1000

        backend = "Neo4j" if args.neo4j_url else "SQLite"
        print(
            f"{dt.date.today()} · {backend} · {store.count_entities():,} entities · load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} · {len(queries)} queries, {len(typed)} keystrokes"
        )
        print(f"| {backend}: measure | p50 | p99 | p50 / store.search | target |\n|---|---|---|---|---|")
        for name, (p50, p99) in rows:
            print(f"| {name} | {p50:.1f} ms | {p99:.1f} ms | {p50 / base[0]:.1f}x | p99 < {TARGET_P99_MS:.0f} ms |")
        print(f"| Places read in full (a new store, an erased catalog, a large import) | {cold:.0f} ms | | | |")
    finally:
        store.close()


if __name__ == "__main__":
    main()
