"""The same workload on both backends, SQLite and Neo4j, in one run, side by side; and the naive Neo4j peer.

    python -m bench.backends                              # 100,000 entities; starts a throwaway Neo4j and stops it
    python -m bench.backends --quick                      # 2,000 entities, 50 samples: a smoke run
    python -m bench.backends --neo4j-url bolt://127.0.0.1:7687 --erase   # an existing throwaway server
    python -m bench.backends --json backends.json --samples 200

For each backend: one ``bulk_load`` of the synthetic national catalog (bench/synthetic.py) into a fresh store, then
p50/p99 of ``get_entity``, ``search`` (folded query), ``neighbourhood`` (depth 2) and ``catalog.analysis.impact``
(first call, which builds the projection, then warm). Then the naive peer: a sample of the same rows loaded the way
most tutorials show, one ``MERGE`` statement per row, each in its own auto-commit transaction (``session.run``),
timed and extrapolated to rows/s. Prints one table, SQLite | Neo4j | target. Asserts nothing.

Warm-up (``--warmup``, default 5,000 entities; 0 turns it off): a production server runs for months, so before
anything is timed each store loads another synthetic catalog, calls get, search and neighbourhood on it and erases
it, and each timed read is preceded by 200 untimed calls on the real catalog (excluded from the percentiles); the
naive peer first runs a few hundred of the warm-up catalog's rows through its statements and deletes them. Without
it, the first load and the first calls measure the JVM's JIT and the server's query compilation. The same on both
backends, and printed. A server the bench starts also logs its garbage-collection pauses, printed per phase.
When the Neo4j JVM runs on this machine (a server the bench starts, or a local one of tools/neo4j/neo4j.sh), its CPU
seconds during the bulk load and the naive peer's timed rows are read from /proc and printed beside the client's, split
by what its threads do (queries and commits, GC, JIT, other): on a small machine client and server share the cores.

The naive peer's Cypher lives here and only here: it is a benchmark peer, not catalog code (the catalog's own Cypher
stays in catalog/store/neo4j/). It writes to its own label space (``NaiveEntity`` nodes, ``NAIVE_REL``
relationships, with a uniqueness constraint on ``NaiveEntity.ref`` so that its ``MERGE`` is an index lookup like the
store's) and removes them, and the constraint, afterwards. Values reach it only as parameters.

Without ``--neo4j-url`` it starts a throwaway server with tools/neo4j/neo4j.sh on a free port and a temporary data
directory, with the launcher's default transaction memory and garbage collector and the heap this machine allows
(``machine_heap``, printed; NEO4J_HEAP overrides it), and stops it and removes the directory at the end. With
``--neo4j-url`` the database must be empty, or ``--erase`` must be given to delete everything in it first (throwaway
servers only).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.run import Latency, load_impact, machine_info, search_queries, size_note, time_calls
from bench.synthetic import DEFAULT_ENTITIES, DEFAULT_SEED, generate
from catalog.store.base import BulkLoad, CatalogStore, WriteContext, new_run_id
from catalog.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
NEO4J_SH = ROOT / "tools" / "neo4j" / "neo4j.sh"

QUICK_ENTITIES = 2_000
WARMUP_ENTITIES = 5_000  # the warm-up catalog (1,000 with --quick): loaded, read and erased before anything is timed
WARMUP_READS = 200  # untimed calls of each read before its timed samples (5 with --quick)
WARMUP_NAIVE_ROWS = 200  # untimed naive rows (entities and relationships each) before the timed sample
NAIVE_ROWS = 2_000  # entity rows and relationship rows each in the naive sample (500 each with --quick)
TARGET_BULK_ROWS_PER_S = 20_000
TARGET_NAIVE_RATIO = 10.0
TARGET_NEIGHBOURHOOD_P99_MS = 30.0
TARGET_IMPACT_P99_MS = 200.0
TARGET_SEARCH_P99_MS = 50.0  # on both backends: search drives the type-ahead pickers (issue 21)
BACKENDS = ("sqlite", "neo4j")

NAIVE_CONSTRAINT = "bench_naive_entity_ref"
NAIVE_ENTITY = "MERGE (n:NaiveEntity {ref: $ref}) SET n += $props"
NAIVE_REL = (
    "MATCH (a:NaiveEntity {ref: $s}), (b:NaiveEntity {ref: $t}) MERGE (a)-[r:NAIVE_REL {id: $id}]->(b) SET r += $props"
)


# --- a throwaway server ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _size(n_bytes: int) -> str:
    return f"{max(1, -(-n_bytes // 2**20))}m"


_GC_PAUSE = re.compile(r"\bPause .*? (\d+(?:\.\d+)?)ms$", re.M)

# the server JVM's threads by what they do (thread names from /proc/<pid>/task/*/comm, digits dropped): queries and
# commits run on Bolt workers; G1's pause and concurrent threads collect garbage; C1/C2 compile Java code (JIT)
_THREAD_GROUPS = (
    ("queries and commits", re.compile(r"^neo4j\.Bolt")),
    ("GC", re.compile(r"^(GC Thread|G1 |VM Thread)")),
    ("JIT", re.compile(r"^C[12] CompilerThre")),
)


def jvm_pid(url: str, data: Path | None = None) -> int | None:
    """The pid of the Neo4j JVM that tools/neo4j/neo4j.sh started: from its pid file in ``data`` (as the launcher
    records it), else, for a local ``url``, the neo4j-launcher.jar process started with that ``--port``; None when
    it is not on this machine (its CPU cannot be read)."""
    if data is not None:
        try:
            return int((data / "neo4j.pid").read_text().strip())
        except (OSError, ValueError):
            return None
    m = re.match(r"^bolt://(127\.0\.0\.1|localhost):(\d+)$", url)
    if not m:
        return None
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"neo4j-launcher.jar") for a in args) and b"--port" in args:
            i = args.index(b"--port")
            if i + 1 < len(args) and args[i + 1] == m.group(2).encode():
                return int(entry.name)
    return None


def jvm_cpu(pid: int | None) -> dict[str, float] | None:
    """CPU seconds (user + system, /proc/<pid>/task/*/stat) used so far by the JVM's threads, by group of
    ``_THREAD_GROUPS`` ("other": the rest, such as checkpoints and index sampling) and in all ("total"). A thread that
    ended between two readings takes its seconds with it, so a difference can miss a little; None without the pid."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys([g for g, _ in _THREAD_GROUPS] + ["other", "total"], 0.0)
    try:
        stat = (Path(f"/proc/{pid}") / "stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        out["total"] = (int(fields[11]) + int(fields[12])) / tick
        tasks = list((Path(f"/proc/{pid}") / "task").iterdir())
    except (OSError, ValueError, IndexError):
        return None
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        secs = (int(fields[11]) + int(fields[12])) / tick
        group = next((g for g, rx in _THREAD_GROUPS if rx.match(name)), "other")
        out[group] += secs
    return out


def cpu_used(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, float] | None:
    """What the JVM used between two :func:`jvm_cpu` readings, by group; "other" absorbs the threads that ended."""
    if before is None or after is None:
        return None
    used = {k: round(max(0.0, after[k] - before[k]), 2) for k in after}
    used["other"] = round(max(0.0, used["total"] - sum(v for k, v in used.items() if k not in ("other", "total"))), 2)
    return used


@dataclass
class Server:
    """A Neo4j started by tools/neo4j/neo4j.sh for this run: stop() stops it and removes its data directory."""

    url: str
    data: Path
    settings: dict[str, str] = field(default_factory=dict)
    marks: list[tuple[str, int]] = field(default_factory=list)  # (phase that ended, garbage-collection pauses so far)

    def gc_pauses(self) -> list[float]:
        """Every stop-the-world pause (ms) the server's JVM logged so far (``-Xlog:gc``, set by start_server)."""
        try:
            text = (self.data / "gc.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return [float(m) for m in _GC_PAUSE.findall(text)]

    def pid(self) -> int | None:
        return jvm_pid(self.url, self.data)

    def mark(self, phase: str) -> None:
        self.marks.append((phase, len(self.gc_pauses())))

    def gc_by_phase(self) -> dict[str, dict[str, float]]:
        """Per marked phase: pauses, their total seconds and the longest (ms)."""
        pauses, out, start = self.gc_pauses(), {}, 0
        for phase, end in self.marks:
            part = pauses[start:end]
            out[phase] = {
                "pauses": len(part),
                "seconds": round(sum(part) / 1000, 2),
                "max_ms": round(max(part, default=0.0), 1),
            }
            start = end
        return out

    def stop(self, log: Callable[[str], None]) -> None:
        log(f"stopping the throwaway Neo4j ({self.data}) ...")
        subprocess.run([str(NEO4J_SH), "stop", "--data", str(self.data)], check=False)
        shutil.rmtree(self.data, ignore_errors=True)


def machine_heap(pagecache: int) -> int:
    """The heap this machine allows the server: a quarter of the memory available beside the page cache, in whole
    GiB, at least the launcher's 1 GiB and at most 4 GiB. A larger heap costs no more transaction memory (that stays
    the launcher's default); it makes garbage collection cheaper, because a chunk's transaction state dies young."""
    try:
        import psutil

        avail = psutil.virtual_memory().available - pagecache
    except ImportError:  # pragma: no cover
        return 1 << 30
    return min(4, max(1, avail // 4 >> 30)) << 30


def start_server(facts: int, log: Callable[[str], None]) -> Server:
    """The launcher's default transaction memory (512 MiB per transaction) and garbage collector (NEO4J_GC): the
    store writes a load of any size in transactions of ``BATCH`` facts, so no setting grows with the load. Heap:
    NEO4J_HEAP if set, else what the machine allows (:func:`machine_heap`), printed. Page cache 1 GiB (2 at full
    size), so that reads are timed from memory as before."""
    tx = 512 << 20  # tools/neo4j's default db.memory.transaction.max
    pagecache = (2 << 30) if facts > 100_000 else (1 << 30)
    heap = _bytes(os.environ["NEO4J_HEAP"]) if os.environ.get("NEO4J_HEAP") else machine_heap(pagecache)
    data = Path(tempfile.mkdtemp(prefix="ioc-bench-neo4j-"))
    # the JVM logs its garbage-collection pauses, which the report sums per phase
    java_opts = " ".join(x for x in (os.environ.get("NEO4J_JAVA_OPTS", ""), f"-Xlog:gc:file={data / 'gc.log'}") if x)
    env = {
        **os.environ,
        "NEO4J_HEAP": _size(heap),
        "NEO4J_PAGECACHE": _size(pagecache),
        "NEO4J_AUTH": "none",
        "NEO4J_JAVA_OPTS": java_opts,
    }
    settings = {
        "heap": env["NEO4J_HEAP"] + ("" if os.environ.get("NEO4J_HEAP") else " (what the machine allows)"),
        "gc": os.environ.get("NEO4J_GC") or "parallel",
        "pagecache": env["NEO4J_PAGECACHE"],
        "db.memory.transaction.max": _size(tx),
    }
    try:
        import psutil

        avail = psutil.virtual_memory().available
        if avail < heap + pagecache + (3 << 30):
            log(
                f"warning: {avail / 2**30:.1f} GiB available; the server may take up to "
                f"{(heap + pagecache) / 2**30:.1f} GiB and this process a few more"
            )
    except ImportError:  # pragma: no cover
        pass
    port = free_port()
    log(
        f"starting a throwaway Neo4j on port {port} (heap {settings['heap']}, {settings['gc']} GC, page cache "
        f"{settings['pagecache']}, transaction memory {settings['db.memory.transaction.max']}) ..."
    )
    proc = subprocess.run(
        [str(NEO4J_SH), "start", "--port", str(port), "--data", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        subprocess.run([str(NEO4J_SH), "stop", "--data", str(data)], check=False)
        shutil.rmtree(data, ignore_errors=True)
        raise SystemExit(f"could not start Neo4j with {NEO4J_SH} (exit {proc.returncode}); see the messages above")
    return Server(proc.stdout.strip().splitlines()[-1], data, settings)


def _bytes(size: str) -> int:
    """``1g``, ``512m``, ``2048k`` or a number of bytes (as the launcher reads NEO4J_HEAP)."""
    size = size.strip().lower()
    unit = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(size[-1:], 1)
    return int(float(size.rstrip("kmg")) * unit)


def heap_in_use(url: str) -> tuple[int, int] | None:
    """The server JVM's heap in use and its maximum, in bytes (JMX through Cypher); None when it cannot be read."""
    from neo4j import GraphDatabase

    try:
        with GraphDatabase.driver(url, auth=_auth()) as driver:
            records, _, _ = driver.execute_query(
                "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
                "RETURN attributes.HeapMemoryUsage.value.properties AS heap"
            )
        heap = records[0]["heap"]
        return int(heap["used"]), int(heap["max"])
    except Exception:  # a figure to print, never a reason to fail the run
        return None


def _auth() -> tuple[str, str] | None:
    user = os.environ.get("IOC_CATALOG_NEO4J_USER")
    return (user, os.environ.get("IOC_CATALOG_NEO4J_PASSWORD", "")) if user else None


def prepare_database(url: str, erase: bool) -> None:
    """An empty database for the load: erased with ``erase``, else refused unless it is empty already."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(url, auth=_auth()) as driver:
        if erase:
            from catalog.store.neo4j.testing import erase_database

            user, password = _auth() or (None, None)
            erase_database(url, user, password)
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n")
        if records[0]["n"]:
            raise SystemExit(
                f"the Neo4j database at {url} holds {records[0]['n']:,} nodes; the bench loads into an "
                "empty one (pass --erase to delete everything in it first: throwaway servers only)"
            )
        driver.execute_query(f"DROP CONSTRAINT {NAIVE_CONSTRAINT} IF EXISTS")


# --- the naive peer -------------------------------------------------------------------------------------------------
def naive_sample(entities: list, relationships: list, n: int) -> tuple[list, list]:
    """The first ``n`` relationship rows, and entity rows: every endpoint of those, topped up with the first entity
    rows to at least ``n`` (so every relationship's MATCH finds both ends, as in a real load)."""
    rels = relationships[:n]
    need = {r.source for r in rels} | {r.target for r in rels}
    ents = [e for e in entities if e.ref in need]
    for e in entities:
        if len(ents) >= n:
            break
        if e.ref not in need:
            ents.append(e)
    return ents, rels


def _naive_rows(session: Any, entities: list, relationships: list) -> tuple[float, float, int]:
    """(seconds for the entity rows, seconds for the relationship rows, relationships created)."""
    t = time.perf_counter()
    for e in entities:
        session.run(
            NAIVE_ENTITY, ref=e.ref, props={"kind": e.kind, "name": e.name.vi, "data": e.model_dump_json()}
        ).consume()
    ent_s = time.perf_counter() - t
    created = 0
    t = time.perf_counter()
    for r in relationships:
        summary = session.run(
            NAIVE_REL, s=r.source, t=r.target, id=r.id, props={"type": r.type, "data": r.model_dump_json()}
        ).consume()
        created += summary.counters.relationships_created
    return ent_s, time.perf_counter() - t, created


def _naive_erase(driver: Any) -> None:
    with driver.session() as session:  # CALL ... IN TRANSACTIONS needs an auto-commit transaction (session.run)
        session.run("MATCH (n:NaiveEntity) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()


def naive_load(
    url: str,
    entities: list,
    relationships: list,
    log: Callable[[str], None],
    warm: tuple[list, list] = ([], []),
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Each row one MERGE in its own auto-commit transaction; timed separately for entities and relationships.
    The ``warm`` rows (the warm-up catalog's) run the same statements first, untimed, and are deleted before the
    timed rows, so that the peer, too, is timed on compiled queries and a warmed-up server. With ``server_pid``,
    the server's CPU during the timed rows is measured too."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(url, auth=_auth()) as driver:
        driver.execute_query(
            f"CREATE CONSTRAINT {NAIVE_CONSTRAINT} IF NOT EXISTS FOR (n:NaiveEntity) REQUIRE n.ref IS UNIQUE"
        )
        driver.execute_query("CALL db.awaitIndexes(300)")
        try:
            if warm[0]:
                with driver.session() as session:
                    _naive_rows(session, *warm)
                _naive_erase(driver)
            server_before = jvm_cpu(server_pid)
            with driver.session() as session:
                ent_s, rel_s, created = _naive_rows(session, entities, relationships)
            server = cpu_used(server_before, jvm_cpu(server_pid))
        finally:
            _naive_erase(driver)
            driver.execute_query(f"DROP CONSTRAINT {NAIVE_CONSTRAINT} IF EXISTS")
    if created != len(relationships):
        log(f"warning: the naive peer created {created} of {len(relationships)} relationships")
    return {
        "entity_rows": len(entities),
        "entity_seconds": ent_s,
        "relationship_rows": len(relationships),
        "relationship_seconds": rel_s,
        "relationships_created": created,
        "server_cpu_seconds": server,
    }


# --- one backend ----------------------------------------------------------------------------------------------------
@dataclass
class Samples:
    get: list[str]
    search: list[str]
    neighbourhood: list[str]
    impact: list[str]


def make_samples(entities: list, n: int, seed: int) -> Samples:
    """The same random picks as bench/run.py (seeded from seed + 1), one set for both backends."""
    rng = random.Random(seed + 1)
    refs = [e.ref for e in entities]
    asset_refs = [e.ref for e in entities if e.kind != "organization"]
    get = [refs[rng.randrange(len(refs))] for _ in range(n)]
    _, folded = search_queries(rng, [e.name.vi for e in entities], n)
    nb = [refs[rng.randrange(len(refs))] for _ in range(n)]
    imp = [asset_refs[rng.randrange(len(asset_refs))] for _ in range(n + 1)]
    return Samples(get, folded, nb, imp)


def warm_up(
    name: str, store: CatalogStore, entities: list, relationships: list, reads: int, log: Callable[[str], None]
) -> float:
    """Load the warm-up catalog, call each read ``reads`` times on it, then erase it; returns the seconds taken.
    A production server runs for months: without this, the first timed load and the first timed calls measure the
    JVM compiling Neo4j's code and the server compiling our queries. Both backends get the same warm-up."""
    if not entities:
        return 0.0
    log(
        f"[{name}] warm-up: load {len(entities) + len(relationships):,} rows of another catalog, {reads} calls of "
        "each read, erase (untimed) ..."
    )
    t = time.perf_counter()
    store.bulk_load(
        BulkLoad(source="bench-warm-up", run=new_run_id(), entities=entities, relationships=relationships),
        WriteContext(actor="bench"),
    )
    refs = [e.ref for e in entities[:: max(1, len(entities) // max(1, reads))]][:reads]
    for ref in refs:
        store.get_entity(ref)
        store.neighbourhood(ref, depth=2)
    for e in entities[:reads]:
        store.search(e.name.vi.split()[-1])
    store.erase()
    gc.collect()
    secs = time.perf_counter() - t
    log(f"  {secs:.1f} s")
    return secs


def measure(
    name: str,
    store: CatalogStore,
    entities: list,
    relationships: list,
    samples: Samples,
    log: Callable[[str], None],
    warm: Samples | None = None,
    mark: Callable[[str], None] = lambda phase: None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Bulk load, then each read timed over ``samples``; with ``warm``, each read is first called on those picks,
    untimed (excluded from the percentiles). ``mark`` is called with "bulk load" when the load has committed.
    ``server_pid``: the Neo4j JVM on this machine, whose CPU during the load is measured too (:func:`jvm_cpu`)."""
    figs: dict[str, Any] = {}
    n_rows = len(entities) + len(relationships)
    log(f"[{name}] bulk load of {n_rows:,} rows ...")
    load = BulkLoad(source="bench", run=new_run_id(), entities=entities, relationships=relationships)
    last = [0.0]

    def progress(done: int, total: int) -> None:  # the last call comes after the last write, before the commit
        last[0] = time.perf_counter()

    server_before = jvm_cpu(server_pid)
    c, t = time.process_time(), time.perf_counter()
    result = store.bulk_load(load, WriteContext(actor="bench"), progress=progress)
    end, cpu = time.perf_counter(), time.process_time() - c
    server = cpu_used(server_before, jvm_cpu(server_pid))
    secs = end - t
    commit = end - last[0] if last[0] else None
    mark("bulk load")
    heap = heap_in_use(store.url) if hasattr(store, "url") else None
    if heap:
        figs["heap_after_load"] = {"used": heap[0], "max": heap[1]}
        log(f"  server heap after the load: {heap[0] / 2**20:,.0f} MiB in use of {heap[1] / 2**20:,.0f} MiB")
    figs["bulk_load"] = {
        "seconds": secs,
        "rows": n_rows,
        "rows_per_s": n_rows / secs,
        "created": sum(result.created.values()),
        "commit_seconds": commit,
        "client_cpu_seconds": cpu,
        "server_cpu_seconds": server,
    }
    log(
        f"  {n_rows / secs:,.0f} rows/s ({secs:.1f} s, this process's CPU {cpu:.1f} s"
        + (f", server CPU {_cpu(server)}" if server else "")
        + (f", commit {commit:.1f} s)" if commit else ")")
    )
    del load, result
    gc.collect()

    k = len(samples.get)
    if warm is not None:
        log(f"[{name}] read warm-up: {len(warm.get)} untimed calls of get, search and neighbourhood ...")
        for ref in warm.get:
            store.get_entity(ref)
        for q in warm.search:
            store.search(q)
        for ref in warm.neighbourhood:
            store.neighbourhood(ref, depth=2)
    log(f"[{name}] get_entity x{k} ...")
    figs["get"], _ = time_calls(store.get_entity, samples.get, log=log)
    log(f"[{name}] search (folded) x{k} ...")
    figs["search"], hits = time_calls(lambda q: store.search(q), samples.search, len, log)
    figs["search"].note = f"{sum(1 for h in hits if h) / max(1, len(hits)):.0%} with hits"
    log(f"[{name}] neighbourhood depth 2 x{k} ...")
    figs["neighbourhood"], sizes = time_calls(
        lambda r: store.neighbourhood(r, depth=2), samples.neighbourhood, lambda g: len(g.entities), log
    )
    figs["neighbourhood"].note = size_note("entities", sizes)
    impact, why = load_impact()
    if impact is None:
        figs["impact_cold"] = Latency(note=why)
        figs["impact"] = Latency(note=why)
        return figs
    log(f"[{name}] impact: first call (builds the projection) ...")
    t = time.perf_counter()
    items = impact(store, samples.impact[0])
    cold = (time.perf_counter() - t) * 1000
    figs["impact_cold"] = Latency(1, cold, cold, cold, note=f"{len(items):,} items")
    log(f"  {cold:,.0f} ms")
    log(f"[{name}] impact warm x{k} ...")
    figs["impact"], sizes = time_calls(lambda r: impact(store, r), samples.impact[1:], len, log)
    figs["impact"].note = size_note("items", sizes)
    return figs


# --- the run --------------------------------------------------------------------------------------------------------
@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    naive: dict[str, Any] = field(default_factory=dict)


def run(args: argparse.Namespace, log: Callable[[str], None]) -> Results:
    res = Results(machine=machine_info())
    n_entities = QUICK_ENTITIES if args.quick else args.entities
    k = args.samples if args.samples is not None else (50 if args.quick else 1000)
    naive_n = args.naive_rows if args.naive_rows is not None else (500 if args.quick else NAIVE_ROWS)
    n_warm = args.warmup if args.warmup is not None else (1_000 if args.quick else WARMUP_ENTITIES)
    warm_reads = 0 if n_warm == 0 else (5 if args.quick else WARMUP_READS)
    res.params = {
        "entities": n_entities,
        "seed": args.seed,
        "samples": k,
        "quick": bool(args.quick),
        "naive_rows": naive_n,
        "warmup_entities": n_warm,
        "warmup_reads": warm_reads,
    }
    try:
        res.machine["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    log(f"generating {n_entities:,} entities (seed {args.seed}) ...")
    entities, relationships = generate(n_entities, args.seed)
    res.params["relationships"] = len(relationships)
    facts = len(entities) + len(relationships)
    samples = make_samples(entities, k, args.seed)
    warm_samples = make_samples(entities, warm_reads, args.seed + 7) if warm_reads else None
    # the warm-up catalog: another seed, erased before the timed load (its refs may repeat the real ones)
    warm_ents, warm_rels = generate(n_warm, args.seed + 7) if n_warm else ([], [])

    server = None
    tmp = Path(tempfile.mkdtemp(prefix="ioc-bench-backends-"))
    try:
        store: CatalogStore = SQLiteStore(tmp / "bench-catalog.db")
        try:
            warm_up("sqlite", store, warm_ents, warm_rels, warm_reads, log)
            res.figures["sqlite"] = measure("sqlite", store, entities, relationships, samples, log, warm_samples)
        finally:
            store.close()
        gc.collect()

        url = args.neo4j_url
        if not url:
            server = start_server(facts, log)
            mark = server.mark
            url = server.url
            res.params["neo4j_server"] = {"url": url, **server.settings}
            pid = server.pid()
        else:
            res.params["neo4j_server"] = {"url": url}
            pid = jvm_pid(url)
            mark = lambda phase: None  # noqa: E731 - a server of someone else's: no garbage-collection log to read
        prepare_database(url, args.erase)
        from catalog.store.neo4j import Neo4jStore

        user, password = _auth() or (None, None)
        store = Neo4jStore(url, user=user, password=password)
        try:
            warm_up("neo4j", store, warm_ents, warm_rels, warm_reads, log)
            mark("start and warm-up")
            res.figures["neo4j"] = measure(
                "neo4j", store, entities, relationships, samples, log, warm_samples, mark, server_pid=pid
            )
            mark("reads")
        finally:
            store.close()

        ents, rels = naive_sample(entities, relationships, naive_n)
        log(
            f"[naive] {len(ents):,} entity rows + {len(rels):,} relationship rows, one MERGE and one transaction "
            "per row ..."
        )
        warm_naive = naive_sample(warm_ents, warm_rels, min(WARMUP_NAIVE_ROWS, naive_n)) if n_warm else ([], [])
        res.params["warmup_naive_rows"] = [len(warm_naive[0]), len(warm_naive[1])]
        naive = naive_load(url, ents, rels, log, warm_naive, server_pid=pid)
        ent_rate = naive["entity_rows"] / naive["entity_seconds"]
        rel_rate = naive["relationship_rows"] / naive["relationship_seconds"]
        extrapolated = len(entities) / ent_rate + len(relationships) / rel_rate
        naive.update(
            entity_rows_per_s=ent_rate,
            relationship_rows_per_s=rel_rate,
            extrapolated_seconds=extrapolated,
            rows_per_s=facts / extrapolated,
        )
        res.naive = naive
        log(
            f"  {facts / extrapolated:,.0f} rows/s extrapolated (entities {ent_rate:,.0f}/s, relationships "
            f"{rel_rate:,.0f}/s): {extrapolated:,.0f} s for all {facts:,} rows"
        )
        mark("naive peer")
        if server is not None:
            res.params["neo4j_gc"] = server.gc_by_phase()
    finally:
        if server is not None:
            server.stop(log)
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        res.machine["load_average_end"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    return res


# --- output ---------------------------------------------------------------------------------------------------------
def _cpu(server: dict[str, float]) -> str:
    """The server's CPU seconds and where they went (see :func:`jvm_cpu`)."""
    parts = ", ".join(f"{k} {v:,.1f}" for k, v in server.items() if k != "total")
    return f"{server['total']:,.1f} s ({parts})"


def _per_k(seconds: float, rows: int) -> str:
    return f"{1000 * seconds / max(1, rows) * 1000:,.0f} ms per 1,000 rows"


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")


def _lat(lat: Latency | None, cold: bool = False) -> str:
    if lat is None or lat.p50_ms is None:
        return "-" if lat is None or not lat.note else lat.note
    if cold:
        return f"{_ms(lat.p50_ms)} ms ({lat.note})"
    return f"p50 {_ms(lat.p50_ms)} / p99 {_ms(lat.p99_ms)} ms"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else (" [green]met[/]" if ok else " [red]missed[/]")


def table_rows(res: Results) -> list[tuple[str, str, str, str]]:
    """(measure, SQLite, Neo4j, target) for every measure."""
    s, n, naive = res.figures.get("sqlite", {}), res.figures.get("neo4j", {}), res.naive
    rows: list[tuple[str, str, str, str]] = []

    def bulk(f: dict[str, Any]) -> str:
        b = f.get("bulk_load")
        if not b:
            return "-"
        commit = f", commit {b['commit_seconds']:,.1f} s" if b.get("commit_seconds") is not None else ""
        cpu = b["client_cpu_seconds"]
        server = b.get("server_cpu_seconds")
        on_server = (
            f"; server CPU {_cpu(server)}: {_per_k(server['total'], b['rows'])}, client {_per_k(cpu, b['rows'])}"
            if server
            else ""
        )
        return f"{b['rows_per_s']:,.0f} rows/s ({b['seconds']:,.1f} s; client CPU {cpu:,.1f} s{commit}{on_server})"

    nb = n.get("bulk_load")
    rows.append(
        (
            "bulk load (store.bulk_load, one import run)",
            bulk(s),
            bulk(n) + _verdict(None if not nb else nb["rows_per_s"] >= TARGET_BULK_ROWS_PER_S),
            f"Neo4j >= {TARGET_BULK_ROWS_PER_S:,} rows/s",
        )
    )
    if naive:
        sampled = naive["entity_rows"] + naive["relationship_rows"]
        server = naive.get("server_cpu_seconds")
        rows.append(
            (
                "naive load (MERGE + auto-commit tx per row)",
                "-",
                f"{naive['rows_per_s']:,.0f} rows/s (extrapolated: {naive['extrapolated_seconds']:,.0f} s; "
                f"sample {naive['entity_rows']:,} + {naive['relationship_rows']:,} rows"
                + (f"; server CPU {_per_k(server['total'], sampled)})" if server else ")"),
                "the peer to beat",
            )
        )
        ratio = nb["rows_per_s"] / naive["rows_per_s"] if nb else None
        rows.append(
            (
                "ratio bulk / naive",
                "-",
                ("-" if ratio is None else f"{ratio:,.1f}x")
                + _verdict(None if ratio is None else ratio >= TARGET_NAIVE_RATIO),
                f">= {TARGET_NAIVE_RATIO:.0f}x",
            )
        )
    for key, label, target in (
        ("get", "get_entity", None),
        ("search", "search (folded query)", TARGET_SEARCH_P99_MS),
        ("neighbourhood", "neighbourhood depth 2", TARGET_NEIGHBOURHOOD_P99_MS),
        ("impact", "impact, warm", TARGET_IMPACT_P99_MS),
        ("impact_cold", "impact, first call (cold)", None),
    ):
        lat_n: Latency | None = n.get(key)
        verdict = _verdict(None if target is None or lat_n is None or lat_n.p99_ms is None else lat_n.p99_ms < target)
        both = key == "search"  # a target on both backends
        lat_s: Latency | None = s.get(key)
        s_verdict = _verdict(None if lat_s is None or lat_s.p99_ms is None else lat_s.p99_ms < target) if both else ""
        rows.append(
            (
                label,
                _lat(lat_s, key == "impact_cold") + s_verdict,
                _lat(lat_n, key == "impact_cold") + verdict,
                (f"p99 < {target:.0f} ms on both" if both else f"Neo4j p99 < {target:.0f} ms") if target else "-",
            )
        )
    return rows


def print_report(res: Results, out: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=None if getattr(out, "isatty", lambda: False)() else 170)
    m, p = res.machine, res.params
    la = m.get("load_average")
    le = m.get("load_average_end")
    console.print(
        f"machine: {m['cores']} cores ({m.get('physical_cores', '?')} physical), "
        f"{m.get('memory_gib', '?')} GiB RAM, Python {m['python']}, SQLite {m['sqlite']}, "
        f"{m['platform']}"
        + (f"; load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} at start" if la else "")
        + (f", {le[0]:.2f} {le[1]:.2f} {le[2]:.2f} at end" if le else ""),
        highlight=False,
    )
    srv = p.get("neo4j_server", {})
    if srv:
        console.print("neo4j: " + ", ".join(f"{k} {v}" for k, v in srv.items()), highlight=False)
    if p.get("neo4j_gc"):
        console.print(
            "neo4j JVM garbage-collection pauses: "
            + "; ".join(
                f"{phase} {g['pauses']} ({g['seconds']:,.1f} s, longest {g['max_ms']:,.0f} ms)"
                for phase, g in p["neo4j_gc"].items()
            ),
            highlight=False,
        )
    table = Table(
        title=f"ioc-catalog backends: {p['entities']:,} entities, {p.get('relationships', 0):,} "
        f"relationships, seed {p['seed']}, {p['samples']:,} samples per latency" + (" (quick)" if p["quick"] else "")
    )
    for col in ("measure", "SQLite", "Neo4j", "target"):
        table.add_column(col, overflow="fold")
    for row in table_rows(res):
        table.add_row(*row)
    console.print(table)
    if p.get("warmup_entities"):
        console.print(
            f"warm-up (untimed, excluded from every figure, the same on both backends): each store first "
            f"loaded, read and erased another synthetic catalog of {p['warmup_entities']:,} entities; "
            f"{p['warmup_reads']} untimed calls of get, search and neighbourhood precede their timed "
            "samples; the naive peer first ran and deleted {0:,} + {1:,} of the warm-up catalog's rows.".format(
                *p.get("warmup_naive_rows", [0, 0])
            ),
            highlight=False,
        )
    else:
        console.print(
            "no warm-up (--warmup 0): a fresh server's first load and first calls include JIT and query compilation.",
            highlight=False,
        )
    if res.naive:
        nv = res.naive
        console.print(
            f"naive peer: {nv['entity_rows']:,} entity rows at {nv['entity_rows_per_s']:,.0f}/s and "
            f"{nv['relationship_rows']:,} relationship rows at {nv['relationship_rows_per_s']:,.0f}/s were "
            "timed; the figure extrapolates those rates to every row of the catalog.",
            highlight=False,
        )
    for b in BACKENDS:
        notes = [
            f"{k}: {v.note}"
            for k, v in res.figures.get(b, {}).items()
            if isinstance(v, Latency) and v.note and k != "impact_cold"
        ]
        if notes:
            console.print(f"{b}: " + "; ".join(notes), highlight=False)


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
        "naive": res.naive,
        "targets": {
            "neo4j_bulk_rows_per_s": TARGET_BULK_ROWS_PER_S,
            "bulk_over_naive": TARGET_NAIVE_RATIO,
            "neighbourhood_p99_ms": TARGET_NEIGHBOURHOOD_P99_MS,
            "impact_p99_ms": TARGET_IMPACT_P99_MS,
        },
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench.backends",
        description="The same workload on SQLite and Neo4j in one run (bulk load, p50/p99 of get, search, "
        "neighbourhood depth 2 and impact), plus the naive per-row MERGE peer on Neo4j; one table "
        "side by side. Asserts nothing.",
        epilog=f"Targets: Neo4j bulk load >= {TARGET_BULK_ROWS_PER_S:,} rows/s and >= {TARGET_NAIVE_RATIO:.0f}x the "
        f"naive peer; neighbourhood p99 < {TARGET_NEIGHBOURHOOD_P99_MS:.0f} ms; impact p99 < "
        f"{TARGET_IMPACT_P99_MS:.0f} ms. See bench/README.md.",
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
        help=f"smoke run: {QUICK_ENTITIES:,} entities, 50 samples, a naive sample of 500 + 500 rows",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed; default {DEFAULT_SEED}")
    ap.add_argument(
        "--samples",
        type=int,
        default=None,
        metavar="K",
        help="samples per latency measure; default 1000 (50 with --quick)",
    )
    ap.add_argument(
        "--naive-rows",
        type=int,
        default=None,
        metavar="R",
        help=f"relationship rows (and at least as many entity rows) in the naive sample; default "
        f"{NAIVE_ROWS:,} (500 with --quick)",
    )
    ap.add_argument(
        "--warmup",
        type=int,
        default=None,
        metavar="W",
        help=f"entities in the warm-up catalog that each backend loads, reads ({WARMUP_READS} calls of "
        f"each read, 5 with --quick) and erases before anything is timed; the naive peer first runs "
        f"{WARMUP_NAIVE_ROWS} + {WARMUP_NAIVE_ROWS} of its rows; untimed read calls on the real "
        f"catalog precede each timed read. Default {WARMUP_ENTITIES:,} (1,000 with --quick; at "
        "least 1,000); 0 = no warm-up at all",
    )
    ap.add_argument(
        "--neo4j-url",
        metavar="URL",
        help="an existing Neo4j (credentials from IOC_CATALOG_NEO4J_USER / IOC_CATALOG_NEO4J_PASSWORD); "
        "default: start a throwaway one with tools/neo4j/neo4j.sh and stop it at the end",
    )
    ap.add_argument(
        "--erase",
        action="store_true",
        help="with --neo4j-url: delete everything in its database first (throwaway servers only)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.quick and args.entities < 1000:
        parser().error("--entities must be at least 1000")
    if args.warmup is not None and 0 < args.warmup < 1000:
        parser().error("--warmup must be 0 or at least 1000")

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    logging.getLogger("neo4j").setLevel(logging.ERROR)  # the server's "label does not exist yet" notifications
    res = run(args, log)
    print_report(res, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
