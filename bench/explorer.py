"""The graph explorer at national scale: the graph endpoint's latency, the time to a first complete render in
headless Chromium, and frames per second while zooming, on a synthetic landscape; beside the Graphviz render of
the same landscape in the same run.

    python -m bench.explorer                       # 5,000 entities, then 20,000 (first render folded)
    python -m bench.explorer --entities 5000 --samples 50
    python -m bench.explorer --json explorer.json

The catalogs come from :func:`bench.synthetic.generate`, bulk-loaded once into ``<cache-dir>/api-<n>-<seed>.db``
(shared with bench.api and bench.pages). The server is the real one (``ioc-catalog serve``) on 127.0.0.1; the
browser is Debian's chromium driven by Playwright, 1280 x 860, as the anonymous viewer.

Views (one province, Thành phố Hồ Chí Minh, as bench.pages picks it):

- ``ioc``: ``/explore?start=<the province's IOC>`` (the IOC and its neighbours);
- ``ioc+lgsp``: the same with the province's LGSP expanded (hundreds of nodes);
- ``landscape``: ``/explore?all=1``, the whole catalog: past 300 entities it opens folded by organisation, top of each
  parent chain first;
- ``drill``: the landscape with the province's people's committee opened (its departments as groups).

Per view: the endpoint (``GET /api/v1/graph/explore``) p50/p99 over ``--samples`` requests after one warm-up; the
first complete render (from the navigation's start to the graph laid out and drawn, the page marking itself
``data-ready``, by the page's own clock, median of ``--renders`` page loads; ``wall``: the same seen from this
process through Playwright, which adds its own round trips); frames per second while zooming in and out for two seconds (requestAnimationFrame counts, the zoom
moved by mouse-wheel events). Graphviz: the ``ioc`` and ``landscape`` diagrams of the same catalog drawn as SVG in this
process (build, DOT, dot; the diagram budget may fold them).

Targets: endpoint p99 < 300 ms, first render < 2 s (20,000 entities: < 3 s), zoom >= 30 fps. Asserts nothing:
prints figures next to their targets, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.api import build, log, pct, serve
from bench.pages import province

P99_TARGET = 0.300  # s
RENDER_TARGET = {5_000: 2.0, 20_000: 3.0}
FPS_TARGET = 30.0

FPS_START = """() => {
  window.__fps = {frames: 0, start: performance.now(), on: true};
  function step() { if (!window.__fps.on) return; window.__fps.frames++; requestAnimationFrame(step); }
  requestAnimationFrame(step);
}"""
FPS_STOP = """() => { window.__fps.on = false; return window.__fps.frames / ((performance.now() - window.__fps.start) / 1000); }"""


def zoom_fps(page: object, seconds: float = 2.0) -> float:
    """Frames per second while a person zooms with the mouse wheel over the graph, in and out (wheel events, as
    a person sends them: the drawing takes its on-the-move path)."""
    box = page.locator("#explore-canvas").bounding_box()  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # type: ignore[attr-defined]
    page.evaluate(FPS_START)  # type: ignore[attr-defined]
    end, sign = time.perf_counter() + seconds, 1
    while time.perf_counter() < end:
        for _ in range(5):
            page.mouse.wheel(0, -120 * sign)  # type: ignore[attr-defined]
            page.wait_for_timeout(16)  # type: ignore[attr-defined]
        sign = -sign
    return page.evaluate(FPS_STOP)  # type: ignore[attr-defined]


def endpoint(client: httpx.Client, base: str, query: str, samples: int) -> dict:
    url = f"{base}/api/v1/graph/explore?{query}"
    first = time.perf_counter()
    r = client.get(url)
    first = time.perf_counter() - first
    r.raise_for_status()
    body = r.json()
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        client.get(url).raise_for_status()
        times.append(time.perf_counter() - t)
    return {
        "first": first,
        "p50": pct(times, 50),
        "p99": pct(times, 99),
        "bytes": len(r.content),
        "nodes": len(body["nodes"]),
        "groups": len(body["groups"]),
        "edges": len(body["edges"]),
        "folded": body["folded_automatically"] or any(g["folded"] for g in body["groups"]),
    }


def browser_figures(base: str, page_query: str, renders: int) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        ctx = b.new_context(viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        times, walls = [], []
        rendered: dict = {}
        for _ in range(renders):
            t = time.perf_counter()
            page.goto(f"{base}/explore?{page_query}")
            page.wait_for_selector("#explorer[data-ready='1']", state="attached", timeout=120_000)
            walls.append(time.perf_counter() - t)
            rendered = page.evaluate("() => window.iocExplorer.rendered")
            times.append(rendered["at"] / 1000)  # the page's clock: from navigation start to the graph drawn
        fps = zoom_fps(page)
        b.close()
    return {
        "render": statistics.median(times),
        "render_max": max(times),
        "wall": statistics.median(walls),
        "fps": fps,
        **(rendered or {}),
    }


def graphviz(db: Path, ioc: str) -> dict[str, float | str]:
    from catalog.store.sqlite import SQLiteStore
    from diagrams import ViewParams, draw

    store = SQLiteStore(db)
    out: dict[str, float | str] = {}
    try:
        for view, params in (("ioc", ViewParams(ref=ioc)), ("landscape", ViewParams())):
            t = time.perf_counter()
            try:
                draw(store, view, params, "svg")
                out[view] = time.perf_counter() - t
            except Exception as exc:  # a budget or time limit refusing is a figure too
                out[view] = f"{type(exc).__name__} after {time.perf_counter() - t:.1f} s"
    finally:
        store.close()
    return out


def run(entities: int, seed: int, samples: int, renders: int, cache: Path) -> dict:
    db = cache / f"api-{entities}-{seed}.db"
    if not db.exists():
        build(db, entities, seed)
    p = province(db)
    ioc, lgsp = quote(p["ioc"], safe=":"), quote(p["lgsp"], safe=":")
    committee = quote(p["ioc_owner"], safe=":")
    views = {
        "ioc": (f"start={ioc}", f"start={ioc}"),
        "ioc+lgsp": (f"start={ioc}&expand={lgsp}", f"start={ioc}&expand={lgsp}"),
        "landscape": ("group=org&fold=*", "all=1"),
    }
    # drill down: open the province's people's committee (the top of the IOC owner's parent chain)
    from catalog.store.sqlite import SQLiteStore

    store = SQLiteStore(db)
    try:
        org = store.get_entity(p["ioc_owner"])
        top = org.attributes.get("parent") or org.ref
        committee = quote(top, safe=":")
    finally:
        store.close()
    views["drill"] = (f"group=org&fold=*&open={committee}", f"all=1&group=org&fold=*&open={committee}")
    logfile = cache / f"explorer-{entities}.log"
    proc, base = serve(db, logfile)
    out: dict = {"entities": entities, "views": {}}
    try:
        with httpx.Client(timeout=120) as client:
            for name, (api_query, page_query) in views.items():
                log(f"  {entities:,} / {name}: endpoint ...")
                e = endpoint(client, base, api_query + "&lang=vi", samples)
                log(f"  {entities:,} / {name}: browser ...")
                out["views"][name] = {**e, **browser_figures(base, page_query, renders)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    log(f"  {entities:,}: graphviz ...")
    out["graphviz"] = graphviz(db, p["ioc"])
    return out


def fmt_s(v: object) -> str:
    return f"{v:.2f} s" if isinstance(v, float) else str(v)


def report(results: list[dict]) -> None:
    load = os.getloadavg()
    print(
        f"# bench.explorer {time.strftime('%Y-%m-%d')} · {platform.node()} · {os.cpu_count()} cores · "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print()
    print(
        "| entities | view | nodes / groups / edges | endpoint first | p50 | p99 (target < 300 ms) | first render "
        "(target) | wall | of which fetch / layout | zoom fps (target >= 30) | Graphviz SVG |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        n = r["entities"]
        target = RENDER_TARGET.get(n, 2.0)
        for name, v in r["views"].items():
            gv = r["graphviz"].get("ioc" if name.startswith("ioc") else "landscape", "")
            p99, render, fps = v["p99"], v["render"], v["fps"]
            cells = [
                f"{n:,}",
                name,
                f"{v['nodes']} / {v['groups']} / {v['edges']}",
                f"{v['first'] * 1000:.0f} ms",
                f"{v['p50'] * 1000:.0f} ms",
                f"{p99 * 1000:.0f} ms {'ok' if p99 < P99_TARGET else 'MISSED'}",
                f"{render:.2f} s (< {target:.0f} s) {'ok' if render < target else 'MISSED'}",
                f"{v['wall']:.2f} s",
                f"{v.get('fetch_ms', 0) / 1000:.2f} / {v.get('layout_ms', 0) / 1000:.2f} s",
                f"{fps:.0f} {'ok' if fps >= FPS_TARGET else 'MISSED'}",
                fmt_s(gv),
            ]
            print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, action="append", help="catalog sizes (default: 5000 and 20000)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--samples", type=int, default=100, help="endpoint requests per view")
    ap.add_argument("--renders", type=int, default=3, help="page loads per view (median)")
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "ioc-catalog-bench"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    results = [run(n, args.seed, args.samples, args.renders, cache) for n in (args.entities or [5_000, 20_000])]
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
