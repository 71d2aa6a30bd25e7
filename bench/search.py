"""Search suggestions at national scale: :func:`catalog.search.suggest` (what every picker and the search page ask)
beside the store's own index search (``store.search``, the baseline), on the synthetic catalog of bench/.

Not a test: it prints p50/p95 per measure and the ratio to the baseline measured in the same run, for
bench/README.md ("Search suggestions"). ``python -m bench.search --entities 20000 --db /tmp/bench20k.db``
(the catalog file is built once, by :func:`bench.pages.build`, and reused when it exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

QUERIES = ("so thong tin", "trung tam dieu hanh", "dan cu", "lgsp", "he thong", "co so du lieu", "ioc", "cong dich vu")
IMPACT_KINDS = ("database", "platform", "service", "system")
TARGET_P95 = 0.3  # s: a suggestion must feel immediate while typing


def _times(fn: Callable[[str], object], rounds: int) -> tuple[float, float]:
    out = []
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            fn(q)
            out.append(time.perf_counter() - t)
    out.sort()
    return statistics.median(out), out[max(0, int(len(out) * 0.95) - 1)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--db", type=Path, default=None, help="catalog file (built when missing)")
    args = ap.parse_args(argv)

    from bench.pages import build
    from catalog.permissions import Principal
    from catalog.search import Places, suggest
    from catalog.store.base import EntityFilter
    from catalog.store.sqlite import SQLiteStore

    db = args.db or Path(tempfile.gettempdir()) / f"ioc-bench-search-{args.entities}-{args.seed}.db"
    if not db.exists():
        build(db, args.entities, args.seed)
    store = SQLiteStore(db)
    try:
        dept = next(
            o
            for o in store.list_entities(EntityFilter(kind="organization", limit=1_000_000))
            if o.attributes.get("org_type") == "department"
        )
        who = Principal("bench", "editor", dept.ref)
        Places.of(store)  # once per catalog revision: timed separately below
        base = _times(lambda q: store.search(q, limit=60), args.rounds)
        rows = [
            ("store.search, 60 candidates (baseline)", base),
            ("suggest, 15 hits, ranked for an editor", _times(lambda q: suggest(store, q, (), 15, who), args.rounds)),
            (
                "suggest, 4 kinds (the impact picker)",
                _times(lambda q: suggest(store, q, IMPACT_KINDS, 15, who), args.rounds),
            ),
        ]
        Places._cache.clear()
        t = time.perf_counter()
        Places.of(store)
        cold = time.perf_counter() - t
        print(
            f"{dt.date.today()} · {store.count_entities():,} entities · load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} · {len(QUERIES)} queries x {args.rounds}"
        )
        print("| Measure | p50 | p95 | p50 / baseline | target |\n|---|---|---|---|---|")
        for name, (p50, p95) in rows:
            print(f"| {name} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {p50 / base[0]:.1f}x | p95 < 300 ms |")
        print(f"| places (organisations → province), once per revision | {cold * 1000:.0f} ms | | | |")
    finally:
        store.close()


if __name__ == "__main__":
    main()
