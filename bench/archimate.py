"""Benchmark the ArchiMate importer on pyArchimate's synthetic_large.xml (1,250 elements, 6,318 relationships).

    python -m bench.archimate                  # median of 3 runs
    python -m bench.archimate --repeat 5 --file path/to/model.xml

For each run, in the same process: ``parse`` = lxml parsing the file alone (the floor); ``read`` = our hardened
parse + offline XSD validation + reading into the neutral model; ``import`` = the whole ``run_import`` into a fresh,
empty embedded SQLite store (read, XSD, mapping, validation, one-transaction load, run record). Rates count the
elements and relationships in the file (mapped or reported), i.e. what the importer had to account for. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.run import machine_info
from catalog.store import open_store
from importers.archimate import ExchangeImporter
from importers.base import run_import

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = (
    ROOT / ".." / "shared" / "corpora" / "archimate" / "pyArchimate" / "tests" / "fixtures" / "synthetic_large.xml"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, default=DEFAULT, help="exchange-format model to import")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure (median reported)")
    args = ap.parse_args(argv)
    from lxml import etree

    path = args.file.resolve()
    data = path.read_bytes()
    m = machine_info()
    print(f"machine: {m.get('cores')} cores, Python {m.get('python')}, SQLite {m.get('sqlite')}, {m.get('platform')}")
    from importers import archimate

    t0 = time.perf_counter()
    archimate._schema("3.1", str((archimate.reference_dir() / archimate.XSD31).resolve()))
    compile_s = time.perf_counter() - t0  # once per process; not part of the measures below
    parse, read, full = [], [], []
    report = None
    items = 0
    for _i in range(args.repeat):
        t0 = time.perf_counter()
        etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        parse.append(time.perf_counter() - t0)
        imp = ExchangeImporter()
        t0 = time.perf_counter()
        model = imp.read(path, 200_000_000)
        read.append(time.perf_counter() - t0)
        items = len(model.elements) + len(model.relationships)
        with tempfile.TemporaryDirectory() as d:
            store = open_store(f"sqlite:///{Path(d) / 'bench.db'}")
            t0 = time.perf_counter()
            report = run_import(store, path)
            full.append(time.perf_counter() - t0)
            close = getattr(store, "close", None)
            if close:
                close()
    p, r, f = statistics.median(parse), statistics.median(read), statistics.median(full)
    assert report is not None
    created = sum(report.result.created.values())
    print(
        f"file: {path.name} ({len(data):,} bytes; {items:,} elements + relationships; "
        f"{created:,} catalog items created, {len(report.unmapped):,} reported unmapped, "
        f"{len(report.rejected)} rejected)"
    )
    print(f"{'measure':<34}{'seconds':>10}{'items/s':>12}{'x parse':>10}")
    for label, v in (
        ("lxml parse alone (baseline)", p),
        ("hardened parse + XSD + read", r),
        ("run_import into empty SQLite", f),
    ):
        print(f"{label:<34}{v:>10.3f}{items / v:>12,.0f}{v / p:>10.1f}")
    print(
        f"(median of {args.repeat}; runs: import {', '.join(f'{x:.3f}' for x in full)} s; XSD compiled once per "
        f"process beforehand in {compile_s:.3f} s; import loaded={report.loaded})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
