"""Benchmark the XLSX importer on a workbook of about 100,000 data rows made by our own exporter.

    python -m bench.imports_xlsx                 # --rows 100000, one run
    python -m bench.imports_xlsx --rows 20000 --repeat 3

The workbook: bench.synthetic's national catalog (entities, ~3 relationships each, ownership histories from the 2025
reforms), sized so that the data rows of all sheets add up to about ``--rows``, loaded into a scratch SQLite store and
written by ``importers.spreadsheet.write_xlsx`` (that preparation is timed but is not the figure). Then, in the same
process and on the same file:

- ``openpyxl iteration`` (the baseline): ``load_workbook(read_only=True, data_only=True)`` and iterating every row of
  every sheet, values only; no catalog work at all;
- ``read``: our read stage (zip-bomb check, the same openpyxl iteration, rows kept);
- ``read + transform``: plus headers, type coercion, metamodel validation, ownership histories, cross checks;
- ``run_import``: the whole import into a fresh, empty embedded SQLite store (one transaction, provenance, run record).

Rates are data rows per second, by wall clock and by this process's CPU time (which other load on a shared machine
disturbs less); ``x base`` is seconds / baseline seconds. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bench.run import machine_info
from bench.synthetic import fixed_entity_count, generate
from catalog.digest import content_hash
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext
from importers.base import run_import
from importers.spreadsheet import XlsxImporter, read_xlsx, write_xlsx

ROWS_PER_ENTITY = 4.12  # entity row + ~3 relationships + ownership-history rows (measured on the generator)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, rows: int, scratch: Path) -> tuple[int, str, dict[str, float]]:
    """Write the workbook; returns (data rows, content hash of the source catalog, preparation timings)."""
    entities = max(int(rows / ROWS_PER_ENTITY), fixed_entity_count() + 100)
    t = {}
    t0 = time.perf_counter()
    ents, rels = generate(entities=entities)
    t["generate"] = time.perf_counter() - t0
    store = open_store(f"sqlite:///{scratch / 'source.db'}")
    t0 = time.perf_counter()
    store.bulk_load(BulkLoad(source="bench", run="bench", entities=ents, relationships=rels), WriteContext("bench"))
    t["load source"] = time.perf_counter() - t0
    del ents, rels
    t0 = time.perf_counter()
    write_xlsx(store, path)
    t["write_xlsx"] = time.perf_counter() - t0
    digest = content_hash(store)
    store.close()
    tables = read_xlsx(path, 2_000_000_000)
    return sum(len(tb.rows) for tb in tables), digest, t


def baseline(path: Path) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        for _ in ws.iter_rows(values_only=True):
            n += 1
    wb.close()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="data rows in the workbook (about)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measure (median reported)")
    args = ap.parse_args(argv)
    m = machine_info()
    print(f"machine: {m.get('cores')} cores, Python {m.get('python')}, SQLite {m.get('sqlite')}, {m.get('platform')}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / "bench.xlsx"
        rows, digest, prep = build(path, args.rows, tmp)
        print(
            f"workbook: {rows:,} data rows, {path.stat().st_size:,} bytes; prepared in "
            + ", ".join(f"{k} {v:.1f} s" for k, v in prep.items())
            + f"; peak RSS {_rss_mib():,.0f} MiB"
        )
        base, read, trans, full = [], [], [], []  # (wall seconds, process CPU seconds)
        report = None
        same = False
        for i in range(args.repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            baseline(path)
            base.append((time.perf_counter() - t0, time.process_time() - c0))
            imp = XlsxImporter()
            c0, t0 = time.process_time(), time.perf_counter()
            doc = imp.read(path, 2_000_000_000)
            read.append((time.perf_counter() - t0, time.process_time() - c0))
            t = imp.transform(doc, path.name)
            trans.append((time.perf_counter() - t0, time.process_time() - c0))
            assert not t.rejected, t.rejected[:3]
            del doc, t
            store = open_store(f"sqlite:///{tmp / f'import-{i}.db'}")
            c0, t0 = time.process_time(), time.perf_counter()
            report = run_import(store, path, max_bytes=2_000_000_000)
            full.append((time.perf_counter() - t0, time.process_time() - c0))
            same = content_hash(store) == digest
            store.close()
        assert report is not None
        print(
            f"import: loaded={report.loaded}, rejected {len(report.rejected)}, created "
            f"{sum(report.result.created.values()):,} items; content hash equal to the source catalog: {same}"
        )
        b, bc = (statistics.median(x[k] for x in base) for k in (0, 1))
        print(f"{'measure':<34}{'wall s':>8}{'rows/s':>9}{'x base':>8}{'CPU s':>8}{'rows/s':>9}{'x base':>8}")
        for label, runs in (
            ("openpyxl iteration (baseline)", base),
            ("read (our read stage)", read),
            ("read + transform", trans),
            ("run_import into empty SQLite", full),
        ):
            w, c = (statistics.median(x[k] for x in runs) for k in (0, 1))
            print(f"{label:<34}{w:>8.2f}{rows / w:>9,.0f}{w / b:>8.2f}{c:>8.2f}{rows / c:>9,.0f}{c / bc:>8.2f}")
        print(
            f"(median of {args.repeat}; CPU = this process's CPU time, less disturbed by other load on the machine; "
            f"peak RSS {_rss_mib():,.0f} MiB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
