"""Benchmark diagram rendering: each view of the sample catalog and of a 5,000-entity synthetic landscape, beside the
time of running Graphviz ``dot`` alone on the same DOT text in the same run.

    python -m bench.diagrams                   # sample + 5,000 entities, SVG, median of 3
    python -m bench.diagrams --entities 20000 --repeat 5 --format png

For each view: ``dot`` = dot alone on the DOT text of the view; ``warm`` = our whole path (build the view, write
DOT, run dot) with the snapshot of the catalog already read (cached by revision, as the web UI would have it);
``cold`` = the same with the snapshot read from the store first (``graph_as_of`` parses every change-log record up
to the date: that is most of the cold cost on big catalogs); ``ratio`` = time / dot (target < 1.3). Views marked
"(now)" draw the current state (no as_of): context and shared-db then read only their neighbourhood from the store.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from catalog.store.base import BulkLoad, CatalogStore, WriteContext, new_run_id
from catalog.store.sqlite import SQLiteStore
from diagrams import ViewParams, build, draw, to_dot
from diagrams.render import graphviz_version, run_dot
from diagrams.snapshot import clear_cache

from bench.synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "hcmc.json"
RECORDED = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)  # so that as-of dates in 2025 see the catalog
AS_OF = "2025-08-01"
TARGET = 1.3


class _Clock:
    def __init__(self) -> None:
        self.now = RECORDED

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=10)
        return self.now


def _store(path: Path) -> SQLiteStore:
    s = SQLiteStore(path)
    s.clock = _Clock()  # type: ignore[assignment]
    return s


def load_sample(tmp: Path) -> CatalogStore:
    from importers.base import run_import

    s = _store(tmp / "sample.db")
    run_import(s, SAMPLE)
    return s


def load_synthetic(tmp: Path, entities: int) -> CatalogStore:
    s = _store(tmp / f"synthetic-{entities}.db")
    ents, rels = generate(entities=entities)
    s.bulk_load(BulkLoad(source="bench:synthetic", run=new_run_id(), entities=ents, relationships=rels),
                WriteContext(actor="bench"))
    return s


def view_params(store: CatalogStore) -> list[tuple[str, ViewParams]]:
    """One representative parameter set per view, picked from the catalog itself."""
    ents = list(store.iter_entities())
    rels = store.all_relationships()
    owners = Counter(e.owner for e in ents if e.owner)
    readers = Counter(r.target for r in rels if r.type in ("reads", "writes") and r.target.startswith("database:"))
    degree = Counter([r.source for r in rels] + [r.target for r in rels])
    ioc = next((e.ref for e in ents if e.attributes.get("platform_subtype") == "city_ioc"
                and (e.code == "hcm-ioc" or "p05" in e.code)), None)
    system = max((e.ref for e in ents if e.kind == "system"), key=lambda r: (degree[r], r))
    return [("ioc", ViewParams(ref=ioc, as_of=AS_OF)),
            ("department", ViewParams(ref=owners.most_common(1)[0][0], as_of=AS_OF)),
            ("context", ViewParams(ref=system, depth=2, as_of=AS_OF)),
            ("shared-db", ViewParams(ref=readers.most_common(1)[0][0], as_of=AS_OF)),
            ("landscape", ViewParams(as_of=AS_OF)),
            ("diff", ViewParams(from_date="2025-02-01", to_date=AS_OF)),
            # current state (no as_of): context and shared-db read only their neighbourhood, not the whole catalog
            ("context", ViewParams(ref=system, depth=2)),
            ("shared-db", ViewParams(ref=readers.most_common(1)[0][0]))]


def measure(store: CatalogStore, view: str, params: ViewParams, fmt: str, repeat: int) -> dict:
    clear_cache()
    t0 = time.perf_counter()
    draw(store, view, params, fmt)  # cold: the snapshot is read from the store
    cold = time.perf_counter() - t0
    dot_text = to_dot(build(store, view, params), store.metamodel)
    totals, dots = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        draw(store, view, params, fmt)
        t1 = time.perf_counter()
        run_dot(dot_text, fmt)
        t2 = time.perf_counter()
        totals.append(t1 - t0)
        dots.append(t2 - t1)
    total, dot = statistics.median(totals), statistics.median(dots)
    d = build(store, view, params)
    now = "" if params.as_of or params.from_date or params.valid_on else " (now)"
    return {"view": view + now, "nodes": len(d.nodes), "edges": len(d.edges), "total": total, "dot": dot,
            "ratio": total / dot if dot else float("inf"), "cold": cold, "cold_ratio": cold / dot if dot else 0.0}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=5_000, help="size of the synthetic landscape")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure (median)")
    ap.add_argument("--format", default="svg", choices=("svg", "png", "pdf"))
    args = ap.parse_args(argv)
    print(f"{graphviz_version()}; Python {sys.version.split()[0]}; format {args.format}; median of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, loader in (("sample", lambda: load_sample(Path(tmp))),
                              (f"synthetic {args.entities:,}", lambda: load_synthetic(Path(tmp), args.entities))):
            t = time.perf_counter()
            store = loader()
            print(f"\n{label}: {store.count_entities():,} entities, {store.count_relationships():,} relationships "
                  f"(loaded in {time.perf_counter() - t:.1f} s)")
            print(f"  {'view':<17}{'nodes':>7}{'edges':>7}{'dot s':>9}{'warm s':>9}{'ratio':>7}{'cold s':>9}"
                  f"{'ratio':>7}  target < {TARGET} (warm)")
            for view, params in view_params(store):
                m = measure(store, view, params, args.format, args.repeat)
                flag = "ok" if m["ratio"] < TARGET else "OVER"
                print(f"  {m['view']:<17}{m['nodes']:>7}{m['edges']:>7}{m['dot']:>9.3f}{m['total']:>9.3f}"
                      f"{m['ratio']:>7.2f}{m['cold']:>9.3f}{m['cold_ratio']:>7.2f}  {flag}")
            store.close()


if __name__ == "__main__":
    main()
