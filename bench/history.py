"""Benchmark the change log as people read it (catalog.history.changes) beside reading the same entries raw.

    python -m bench.history                          # 100,000 entities, SQLite, 20 rounds
    python -m bench.history --entities 20000 --rounds 10
    python -m bench.history --quick                  # 5,000 entities, 5 rounds: a smoke run

The synthetic catalog is bulk-loaded (one log entry per entity and relationship), then a department's systems are
edited through the service (updates with values to show). Each round, in alternating order:

- ``raw page`` (the baseline): ``store.changelog(after_seq=head-100, limit=100)``, the newest 100 entries as stored;
- ``page``: what ``/changes`` does unfiltered: ``select`` of the newest 100 and ``describe`` (fields before/after
  with labels, names, causes);
- ``raw scan``: the newest 50,000 entries (or all) read as stored, in the filter's windows: what a filter reads;
- ``by organisation``: ``select`` with an organisation filter, reading windows from the head up to 100 matches or
  the 50,000-entry scan limit, and ``describe`` of what it found;
- ``by kind, rare``: organisation events only (none in the synthetic log): the full 50,000-entry scan;
- ``verify``: ``store.verify_log()`` over the whole chain (the integrity page's button).

Prints p50/p99 of each, the ratio to the baseline's p50 and the load average; asserts nothing. bench/README.md keeps
the table.
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
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.diff import load, percentile
from catalog.history.changes import SCAN, WINDOW, ChangeFilter, describe, select
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store
from catalog.store.base import CatalogStore, EntityFilter

EDITS = 200


def edit(store: CatalogStore, log: Callable[[str], None]) -> str:
    """Updates with values: the vendor of one organisation's systems (the owner of the first system listed),
    through the service (one entry each); returns that organisation."""
    svc = CatalogService(store, Principal("bench", "architect"))
    owners = Counter(e.owner for e in store.list_entities(EntityFilter(kind="system", limit=100_000)))
    org = owners.most_common(1)[0][0]
    systems = store.list_entities(EntityFilter(kind="system", owner=org, limit=EDITS))
    for e in systems:
        svc.patch(e.ref, {"attributes": {"vendor": "Nhà cung cấp mới"}}, e.version)
    log(f"edited {len(systems)} systems of {org}")
    return org


def measure(store: CatalogStore, rounds: int, org: str) -> dict[str, dict[str, float]]:
    head = store.revision()[0]
    work: dict[str, Callable[[], int]] = {
        "raw page": lambda: len(store.changelog(after_seq=head - 100, limit=100)),
        "page": lambda: len(describe(store, select(store, ChangeFilter(), 100).entries, "vi")),
        "raw scan": lambda: sum(
            len(store.changelog(after_seq=lo, limit=WINDOW)) for lo in range(max(0, head - SCAN), head, WINDOW)
        ),
        "by organisation": lambda: len(describe(store, select(store, ChangeFilter(org=org), 100).entries, "vi")),
        "by kind, rare": lambda: len(select(store, ChangeFilter(kind="event"), 100).entries),
        "verify": lambda: store.verify_log().checked,
    }
    times: dict[str, list[float]] = {k: [] for k in work}
    found: dict[str, int] = {}
    names = list(work)
    for i in range(rounds + 1):  # round 0 warms up and is not counted
        for name in names if i % 2 == 0 else list(reversed(names)):
            gc.collect()
            t = time.perf_counter()
            found[name] = work[name]()
            if i:
                times[name].append((time.perf_counter() - t) * 1000)
    base = percentile(times["raw page"], 50)
    return {
        k: {"p50": percentile(v, 50), "p99": percentile(v, 99), "ratio": percentile(v, 50) / base, "n": found[k]}
        for k, v in times.items()
    }


def report(results: dict[str, dict[str, float]], entities: int, head: int) -> str:
    load_avg = os.getloadavg()
    lines = [
        f"bench.history {dt.date.today()} · {os.cpu_count()} cores · Python {platform.python_version()} · load average "
        f"{load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} · {entities:,} entities asked · log of {head:,} entries",
        "",
        "| Measure | Entries | p50 | p99 | p50 / raw page |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['n']:,.0f} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['ratio']:.1f}x |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.history", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--entities", type=int, default=100_000, help="synthetic catalog size (default 100,000)")
    p.add_argument("--rounds", type=int, default=20, help="timed rounds per measure (default 20)")
    p.add_argument("--quick", action="store_true", help="5,000 entities, 5 rounds")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.quick:
        args.entities, args.rounds = 5_000, 5

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'history.db'}", create=True)
        try:
            load(store, args.entities, log)
            org = edit(store, log)
            results = measure(store, args.rounds, org)
            head = store.revision()[0]
        finally:
            store.close()
    print(report(results, args.entities, head))
    return 0


if __name__ == "__main__":
    sys.exit(main())
