"""Benchmark the embedded store on a synthetic national-scale catalog, in one run.

    python -m bench.run                       # 100,000 entities, ~300,000 relationships
    python -m bench.run --quick               # 5,000 entities: a smoke run in seconds
    python -m bench.run --json bench.json     # also write the figures as JSON

Measures bulk-load throughput against a raw ``sqlite3`` floor, read latencies (get, search, neighbourhood, impact)
and the process's peak memory; prints them as one table with the targets. It asserts nothing: the figures are for
people to read (see bench/README.md for what each means).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.synthetic import DEFAULT_ENTITIES, DEFAULT_SEED, generate
from catalog.store.base import BulkLoad, WriteContext, new_run_id
from catalog.store.sqlite import SQLiteStore
from catalog.text import fold

QUICK_ENTITIES = 5_000
TARGET_RATIO = 0.40
TARGET_NEIGHBOURHOOD_P99_MS = 10.0
TARGET_IMPACT_P99_MS = 100.0
TARGET_RSS_BYTES = 1 << 30


# --- measurement helpers --------------------------------------------------------------------------------------------
def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


@dataclass
class Latency:
    samples: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    note: str = ""


def time_calls(
    fn: Callable[[Any], Any],
    args: list[Any],
    size: Callable[[Any], int] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Latency, list[int]]:
    """Time ``fn(a)`` for each argument. Results are dropped at once (a thousand depth-2 subgraphs would hold
    gigabytes); ``size(result)`` is kept instead when given."""
    times, sizes = [], []
    for a in args:
        t = time.perf_counter()
        out = fn(a)
        times.append((time.perf_counter() - t) * 1000)
        if size is not None:
            sizes.append(size(out))
        del out
    if not times:
        return Latency(), sizes
    lat = Latency(len(times), percentile(times, 50), percentile(times, 99), max(times))
    if log:
        log(f"  p50 {lat.p50_ms:.2f} ms, p99 {lat.p99_ms:.2f} ms, max {lat.max_ms:.2f} ms")
    return lat, sizes


def size_note(what: str, sizes: list[int]) -> str:
    if not sizes:
        return ""
    s = sorted(sizes)
    return f"{what}: median {s[len(s) // 2]:,}, p99 {s[max(0, int(round(0.99 * len(s) + 0.5)) - 1)]:,}, max {s[-1]:,}"


@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "processor": platform.processor() or "",
    }
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["physical_cores"] = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - psutil is a dependency
        pass
    try:
        import pydantic

        info["pydantic"] = pydantic.VERSION
    except ImportError:  # pragma: no cover
        pass
    return info


# --- the raw floor --------------------------------------------------------------------------------------------------
def raw_floor(path: Path, entities: list, relationships: list) -> dict[str, float]:
    """The same rows (ref, kind, JSON) and (id, type, JSON) into two plain tables of a fresh WAL file with one
    ``executemany`` each in one transaction: what writing this data costs at the very least. Serialising the models
    (``model_dump_json``) is part of the floor: any store has to do it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE entities (ref TEXT, kind TEXT, data TEXT)")
    conn.execute("CREATE TABLE relationships (id TEXT, type TEXT, data TEXT)")
    # in chunks, like the store's own bulk load, so the floor does not hold every serialised row at once
    c0, t0 = time.process_time(), time.perf_counter()
    serialise = 0.0
    conn.execute("BEGIN")
    for table, items, key in (("entities", entities, "ref"), ("relationships", relationships, "id")):
        for i in range(0, len(items), 5000):
            s0 = time.perf_counter()
            rows = [
                (getattr(x, key), x.kind if key == "ref" else x.type, x.model_dump_json()) for x in items[i : i + 5000]
            ]
            serialise += time.perf_counter() - s0
            conn.executemany(f"INSERT INTO {table} VALUES (?,?,?)", rows)
    conn.execute("COMMIT")
    t2, c2 = time.perf_counter(), time.process_time()
    conn.close()
    return {
        "seconds": t2 - t0,
        "cpu_seconds": c2 - c0,
        "serialise_seconds": serialise,
        "sql_seconds": t2 - t0 - serialise,
    }


# --- samples --------------------------------------------------------------------------------------------------------
def search_queries(rng: random.Random, names: list[str], n: int) -> tuple[list[str], list[str]]:
    """Two consecutive words from random entity names (a random window, so both common words like "Hệ thống" and
    distinctive ones like "tiêm chủng" occur): as typed with diacritics, and folded as typed without them."""
    accented, folded = [], []
    for _ in range(n):
        words = names[rng.randrange(len(names))].replace(" - ", " ").split()
        i = rng.randrange(max(1, len(words) - 1))
        q = " ".join(words[i : i + 2])
        accented.append(q)
        folded.append(fold(q))
    return accented, folded


def load_impact() -> tuple[Callable[..., Any] | None, str]:
    try:
        from catalog.analysis import impact  # being written alongside; optional for the bench
    except ImportError as exc:
        return None, f"catalog.analysis.impact not available ({exc})"
    return impact, ""


def sqlite_seconds(prof: cProfile.Profile) -> tuple[float, float]:
    """(time spent inside sqlite3's execute/executemany, total time) of a profile: the SQL part of a bulk load,
    which profiling does not inflate (a few hundred calls, each long)."""
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    sql = sum(
        tt
        for (_, _, name), (_, _, tt, _, _) in stats.items()
        if name
        in (
            "<method 'executemany' of 'sqlite3.Connection' objects>",
            "<method 'execute' of 'sqlite3.Connection' objects>",
        )
    )
    return sql, pstats.Stats(prof).total_tt  # type: ignore[attr-defined]


def profile_text(prof: cProfile.Profile, sort: str, limit: int = 25) -> str:
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(limit)
    return buf.getvalue()


def profile_bulk_load(
    args: argparse.Namespace, n_entities: int, store_dir: Path, res: Results, log: Callable[[str], None]
) -> None:
    """cProfile a second bulk load of the same catalog into a fresh file (not part of the figures)."""
    log("profiling: bulk load into a second fresh file (not part of the figures) ...")
    entities, relationships = generate(n_entities, args.seed, validate=False)
    prof_path = store_dir / "bench-profile.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{prof_path}{suffix}").unlink(missing_ok=True)
    pstore = SQLiteStore(prof_path)
    prof = cProfile.Profile()
    prof.enable()
    pstore.bulk_load(
        BulkLoad(source="bench", run=new_run_id(), entities=entities, relationships=relationships),
        WriteContext(actor="bench"),
    )
    prof.disable()
    pstore.close()
    sql_s, all_s = sqlite_seconds(prof)
    floor_s = res.figures["raw_floor"]["seconds"]
    res.figures["profile_bulk_load"] = (
        f"SQLite's own time (sqlite3 execute/executemany, commit included): {sql_s:.1f} s of {all_s:.1f} s "
        f"profiled. Floor / that = {floor_s / sql_s:.2f}: the ratio this store would reach if all its Python work "
        f"cost nothing.\n" + profile_text(prof, "tottime", args.profile_lines)
    )


# --- the run ----------------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace, log: Callable[[str], None]) -> Results:
    res = Results(machine=machine_info())
    n_entities = QUICK_ENTITIES if args.quick else args.entities
    samples = args.samples if args.samples is not None else (200 if args.quick else 1000)
    res.params = {"entities": n_entities, "seed": args.seed, "samples": samples, "quick": bool(args.quick)}
    figs = res.figures

    log(f"generating {n_entities:,} entities (seed {args.seed}) ...")
    t = time.perf_counter()
    entities, relationships = generate(n_entities, args.seed)
    gen_s = time.perf_counter() - t
    n_rows = len(entities) + len(relationships)
    res.params["relationships"] = len(relationships)
    figs["generate"] = {"seconds": gen_s, "rows": n_rows, "rows_per_s": n_rows / gen_s}
    gc.collect()
    res.rss["after_generate"] = peak_rss()
    log(f"  {n_rows:,} rows in {gen_s:.1f} s, peak RSS {res.rss['after_generate'] / 2**20:,.0f} MiB")

    tmp = None
    if args.store_dir:
        store_dir = Path(args.store_dir)
        store_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="ioc-bench-")
        store_dir = Path(tmp)
    db_path = store_dir / "bench-catalog.db"
    raw_path = store_dir / "bench-raw.db"
    for p in (db_path, raw_path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    try:
        # bulk load, ours
        log(f"bulk load of {n_rows:,} rows into {db_path} ...")
        store = SQLiteStore(db_path)
        load = BulkLoad(source="bench", run=new_run_id(), entities=entities, relationships=relationships)
        c, t = time.process_time(), time.perf_counter()
        result = store.bulk_load(load, WriteContext(actor="bench"))
        ours_s, ours_cpu = time.perf_counter() - t, time.process_time() - c
        res.rss["after_bulk_load"] = peak_rss()
        created = sum(result.created.values())
        figs["bulk_load"] = {
            "seconds": ours_s,
            "cpu_seconds": ours_cpu,
            "rows": n_rows,
            "rows_per_s": n_rows / ours_s,
            "created": created,
            "file_mib": os.path.getsize(db_path) / 2**20,
        }
        log(f"  {n_rows / ours_s:,.0f} rows/s ({ours_s:.1f} s), peak RSS {peak_rss() / 2**20:,.0f} MiB")
        del load, result
        gc.collect()

        # the floor
        log("raw sqlite3 floor ...")
        raw = raw_floor(raw_path, entities, relationships)
        res.rss["after_raw"] = peak_rss()
        figs["raw_floor"] = {
            **raw,
            "rows": n_rows,
            "rows_per_s": n_rows / raw["seconds"],
            "sql_only_rows_per_s": n_rows / raw["sql_seconds"],
        }
        figs["ratio"] = {
            "ours_over_raw": raw["seconds"] / ours_s,
            "cpu_ours_over_raw": raw["cpu_seconds"] / ours_cpu,
            "target": TARGET_RATIO,
        }
        log(
            f"  {n_rows / raw['seconds']:,.0f} rows/s ({raw['seconds']:.1f} s); ratio {raw['seconds'] / ours_s:.2f} "
            f"(CPU time {raw['cpu_seconds'] / ours_cpu:.2f})"
        )
        if args.load_only:
            res.rss["peak"] = peak_rss()
            store.close()
            if args.profile:
                del entities, relationships
                gc.collect()
                profile_bulk_load(args, n_entities, store_dir, res, log)
            return res

        # samples for the read paths; then drop the input
        rng = random.Random(args.seed + 1)
        refs = [e.ref for e in entities]
        asset_refs = [e.ref for e in entities if e.kind != "organization"]
        names = [e.name.vi for e in entities]
        del entities, relationships
        gc.collect()
        get_refs = [refs[rng.randrange(len(refs))] for _ in range(samples)]
        accented, folded = search_queries(rng, names, samples)
        nb_refs = [refs[rng.randrange(len(refs))] for _ in range(samples)]
        impact_refs = [asset_refs[rng.randrange(len(asset_refs))] for _ in range(samples + 1)]

        log(f"get_entity x{samples} ...")
        figs["get"], _ = time_calls(store.get_entity, get_refs, log=log)
        log(f"search x{samples} folded, x{samples} accented ...")
        figs["search_folded"], hits_f = time_calls(lambda q: store.search(q), folded, len, log)
        figs["search_accented"], hits_a = time_calls(lambda q: store.search(q), accented, len, log)
        figs["search_folded"].note = f"{sum(1 for h in hits_f if h) / max(1, len(hits_f)):.0%} with hits"
        figs["search_accented"].note = f"{sum(1 for h in hits_a if h) / max(1, len(hits_a)):.0%} with hits"
        log(f"neighbourhood depth 1 x{samples} ...")
        figs["neighbourhood_1"], sizes = time_calls(
            lambda r: store.neighbourhood(r, depth=1), nb_refs, lambda g: len(g.entities), log
        )
        figs["neighbourhood_1"].note = size_note("entities returned", sizes)
        log(f"neighbourhood depth 2 x{samples} ...")
        figs["neighbourhood"], sizes = time_calls(
            lambda r: store.neighbourhood(r, depth=2), nb_refs, lambda g: len(g.entities), log
        )
        figs["neighbourhood"].note = size_note("entities returned", sizes)
        log(f"neighbourhood depth 2, every model built x{samples} ...")

        def built(r: str) -> Any:  # the answer's models are built on first access: here a caller reads them all
            g = store.neighbourhood(r, depth=2)
            return list(g.entities.values()), list(g.relationships)

        figs["neighbourhood_built"], sizes = time_calls(built, nb_refs, lambda x: len(x[0]), log)
        figs["neighbourhood_built"].note = size_note("entities built", sizes)
        res.rss["after_reads"] = peak_rss()

        impact, why = load_impact()
        if impact is None:
            figs["impact_cold"] = Latency(note=why)
            figs["impact"] = Latency(note=why)
        else:
            log("impact: first call (builds the projection) ...")
            t = time.perf_counter()
            items = impact(store, impact_refs[0])
            cold_ms = (time.perf_counter() - t) * 1000
            figs["impact_cold"] = Latency(1, cold_ms, cold_ms, cold_ms, note=f"{len(items):,} items")
            log(f"  {cold_ms:,.0f} ms, peak RSS {peak_rss() / 2**20:,.0f} MiB")
            log(f"impact warm x{samples} ...")
            figs["impact"], sizes = time_calls(lambda r: impact(store, r), impact_refs[1:], len, log)
            figs["impact"].note = size_note("items", sizes)
        res.rss["after_impact"] = peak_rss()
        log("change log: updates, then the time machine's snapshot, change-log pages and verify_log ...")
        history_figures(store, refs, rng, samples, figs, log)
        res.rss["after_history"] = peak_rss()
        res.rss["peak"] = peak_rss()

        if args.profile:
            profile_bulk_load(args, n_entities, store_dir, res, log)
            prof = cProfile.Profile()
            prof.enable()
            for r in nb_refs[: min(200, len(nb_refs))]:
                store.neighbourhood(r, depth=2)
            prof.disable()
            res.figures["profile_neighbourhood"] = profile_text(prof, "tottime", args.profile_lines)
        store.close()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def history_figures(
    store: SQLiteStore,
    refs: list[str],
    rng: random.Random,
    samples: int,
    figs: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    """The read paths of the change log, after ``len(refs) // 20`` entity updates (so that some entries are not the
    latest of their reference): ``graph_json(when)`` at the head (the time machine's snapshot) and just before the
    updates, pages of 100 entries at random places and one entity's entries, and ``verify_log`` of the whole chain."""
    ctx = WriteContext(actor="bench")
    loaded_at = store.log_head().time
    with store.transaction(ctx):
        for ref in sorted({refs[rng.randrange(len(refs))] for _ in range(max(1, len(refs) // 20))}):
            e = store.get_entity(ref)
            store.update_entity(e.model_copy(update={"tags": [*e.tags, "bench-updated"]}), e.version, ctx)
    head = store.log_head()
    figs["log"] = {"entries": head.seq}
    for key, when in (("snapshot_head", head.time), ("snapshot_loaded", loaded_at)):
        lat, sizes = time_calls(lambda w: store.graph_json(w), [when] * 3, lambda g: len(g[0]) + len(g[1]), log)
        lat.note = f"{sizes[0]:,} facts"
        figs[key] = lat
    starts = [rng.randrange(max(1, head.seq - 100)) for _ in range(samples)]
    figs["log_page"], _ = time_calls(lambda s: store.changelog(after_seq=s, limit=100), starts, log=log)
    figs["log_ref"], _ = time_calls(
        lambda r: store.changelog(ref=r), [refs[rng.randrange(len(refs))] for _ in range(samples)], log=log
    )
    figs["verify_log"], _ = time_calls(lambda _: store.verify_log(), [None] * 3, log=log)
    figs["verify_log"].note = f"{head.seq:,} entries"


# --- output -----------------------------------------------------------------------------------------------------------
def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("[green]met[/]" if ok else "[red]missed[/]")


def table_rows(res: Results) -> list[tuple[str, str, str, str, str]]:
    """(label, figure, target, verdict, note) for every measure."""
    f = res.figures
    rows: list[tuple[str, str, str, str, str]] = []
    g = f["generate"]
    rows.append(
        (
            "generate synthetic catalog",
            f"{g['rows_per_s']:,.0f} rows/s",
            "",
            "",
            f"{g['rows']:,} rows in {g['seconds']:.1f} s (models built, 1 in 1000 checked by validate_*)",
        )
    )
    b = f["bulk_load"]
    rows.append(
        (
            "bulk load (SQLiteStore.bulk_load)",
            f"{b['rows_per_s']:,.0f} rows/s",
            "",
            "",
            f"{b['rows']:,} rows in {b['seconds']:.1f} s; file {b['file_mib']:,.0f} MiB",
        )
    )
    r = f["raw_floor"]
    rows.append(
        (
            "bulk load floor (raw sqlite3)",
            f"{r['rows_per_s']:,.0f} rows/s",
            "",
            "",
            f"{r['seconds']:.1f} s = serialise {r['serialise_seconds']:.1f} s + executemany "
            f"{r['sql_seconds']:.1f} s ({r['sql_only_rows_per_s']:,.0f} rows/s SQL only)",
        )
    )
    ratio = f["ratio"]["ours_over_raw"]
    rows.append(
        (
            "bulk load ratio ours/raw",
            f"{ratio:.2f}",
            f">= {TARGET_RATIO:.2f}",
            _mark(ratio >= TARGET_RATIO),
            f"wall-clock; by process CPU time {f['ratio']['cpu_ours_over_raw']:.2f} (less sensitive to other "
            "load on the machine)",
        )
    )
    for key, label, target in (
        ("get", "get_entity", None),
        ("search_folded", "search, folded query", None),
        ("search_accented", "search, accented query", None),
        ("neighbourhood_1", "neighbourhood depth 1", None),
        ("neighbourhood", "neighbourhood depth 2", TARGET_NEIGHBOURHOOD_P99_MS),
        ("neighbourhood_built", "  the same, every model built", None),
        ("impact_cold", "impact, first call (cold)", None),
        ("impact", "impact, warm", TARGET_IMPACT_P99_MS),
        ("snapshot_head", "graph_json(when) at the head", None),
        ("snapshot_loaded", "graph_json(when) before the updates", None),
        ("log_page", "changelog page of 100", None),
        ("log_ref", "changelog of one entity", None),
        ("verify_log", "verify_log, whole chain", None),
    ):
        if key not in f:
            continue
        lat: Latency = f[key]
        if key == "impact_cold":
            fig = "-" if lat.p50_ms is None else f"{_ms(lat.p50_ms)} ms"
        else:
            fig = "-" if lat.p50_ms is None else f"p50 {_ms(lat.p50_ms)} / p99 {_ms(lat.p99_ms)} ms"
        verdict = _mark(None if target is None or lat.p99_ms is None else lat.p99_ms < target)
        note = (
            lat.note
            if key == "impact_cold" or not lat.samples
            else f"{lat.samples:,} samples, max {_ms(lat.max_ms)} ms" + (f"; {lat.note}" if lat.note else "")
        )
        rows.append((label, fig, f"p99 < {target:.0f} ms" if target else "", verdict, note))
    peak = res.rss["peak"]
    rows.append(
        (
            "peak RSS",
            f"{peak / 2**20:,.0f} MiB",
            "< 1024 MiB",
            _mark(peak < TARGET_RSS_BYTES),
            " / ".join(
                f"{k.replace('after_', 'after ').replace('_', ' ')} {v / 2**20:,.0f}"
                for k, v in res.rss.items()
                if k != "peak"
            )
            + " MiB",
        )
    )
    return rows


def print_report(res: Results, out: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=None if getattr(out, "isatty", lambda: False)() else 160)
    m = res.machine
    console.print(
        f"machine: {m['cores']} cores ({m.get('physical_cores', '?')} physical), "
        f"{m.get('memory_gib', '?')} GiB RAM, Python {m['python']} ({m['implementation']}), "
        f"SQLite {m['sqlite']}, pydantic {m.get('pydantic', '?')}, {m['platform']}"
    )
    p = res.params
    table = Table(
        title=f"ioc-catalog bench: {p['entities']:,} entities, {p['relationships']:,} relationships, "
        f"seed {p['seed']}" + (" (quick)" if p["quick"] else "")
    )
    for col in ("measure", "figure", "target", "", "notes"):
        table.add_column(col, overflow="fold")
    for row in table_rows(res):
        table.add_row(*row)
    console.print(table)
    for key in ("profile_bulk_load", "profile_neighbourhood"):
        if key in res.figures:
            console.print(f"\n[bold]{key}[/] (cProfile, sorted by own time)", highlight=False)
            console.print(res.figures[key], markup=False, highlight=False)


def to_json(res: Results) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, Latency):
            return v.__dict__
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return {
        "machine": res.machine,
        "params": res.params,
        "figures": conv(res.figures),
        "rss_bytes": res.rss,
        "targets": {
            "ratio": TARGET_RATIO,
            "neighbourhood_p99_ms": TARGET_NEIGHBOURHOOD_P99_MS,
            "impact_p99_ms": TARGET_IMPACT_P99_MS,
            "rss_bytes": TARGET_RSS_BYTES,
        },
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the SQLite catalog store on a synthetic national-scale catalog: bulk-load throughput "
        "against a raw sqlite3 floor, p50/p99 latency of get, search, neighbourhood and impact, and peak "
        "memory, printed as one table with the targets. Asserts nothing.",
        epilog="Targets: bulk load >= 0.40 of the raw floor; neighbourhood p99 < 10 ms; impact p99 < 100 ms; peak RSS "
        "< 1 GiB. See bench/README.md.",
    )
    ap.add_argument(
        "--entities",
        type=int,
        default=DEFAULT_ENTITIES,
        metavar="N",
        help=f"entities to generate (relationships come to about 3 N); default {DEFAULT_ENTITIES:,}",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_ENTITIES:,} entities and 200 samples per measure (overrides --entities)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed; default {DEFAULT_SEED}")
    ap.add_argument(
        "--samples",
        type=int,
        default=None,
        metavar="K",
        help="samples per latency measure; default 1000 (200 with --quick)",
    )
    ap.add_argument(
        "--store-dir",
        metavar="DIR",
        help="where to write the catalog and raw files (kept afterwards); default a temporary "
        "directory that is removed",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument(
        "--load-only",
        action="store_true",
        help="measure generation, bulk load, the raw floor and memory only (skip the read latencies)",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, cProfile a second bulk load and 200 neighbourhood calls and print the top "
        "functions (not part of the figures)",
    )
    ap.add_argument("--profile-lines", type=int, default=30, metavar="K", help="functions per profile; default 30")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    min_entities = 1000
    if not args.quick and args.entities < min_entities:
        parser().error(f"--entities must be at least {min_entities}")

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    res = run(args, log)
    print_report(res, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
