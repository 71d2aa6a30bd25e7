"""Lay out and render DOT with the real Graphviz ``dot`` binary: SVG, PNG, PDF, or the DOT text itself.

Reproducibility: the same DOT gives the same SVG and PNG bytes from the same Graphviz version (checked by the
tests). Graphviz's cairo PDF writer stamps the current time as ``/CreationDate`` and cairo 1.16 ignores
``SOURCE_DATE_EPOCH``, so :func:`render` rewrites that one field to a fixed date of the same length (the byte
offsets in the PDF's cross-reference table stay valid); the PDF is then reproducible too. The SVG names the
Graphviz version in a comment, so a different Graphviz gives different bytes: the audit bundle's manifest records it.

Serving diagrams (the web UI and the API, :func:`draw_cached`): Graphviz runs as a subprocess with a time limit
(setting ``render_timeout_seconds``, default 20 s; the caller runs this off the event loop, in a worker thread);
past it the process is killed and :class:`RenderTimeout` (422, "too large to draw in time") names the limit and
the size of the model and says how to draw less. Drawn diagrams are kept in a bounded in-memory cache
(:class:`RenderCache`, setting ``render_cache_bytes``, least recently used first out) keyed by the view, its
parameters, the format and the catalog revision (the change-log head): any write makes a new revision, so a
cached diagram is never stale; a refused render is not cached. A drawing of more than ``LARGE_EDGES`` edges (a
collapsed national landscape: 45 organisations, 500 aggregated flows) is laid out with straight edges and bounded
crossing minimisation (``LARGE_LAYOUT``): seconds instead of minutes, at the price of some crossings.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import msg

if TYPE_CHECKING:
    from catalog.store.base import CatalogStore
    from diagrams.registry import ViewParams

FORMATS = ("svg", "png", "pdf", "dot")
DEFAULT_TIMEOUT = 120.0
LARGE_EDGES = 300  # past this many edges Graphviz lays out with LARGE_LAYOUT (the command line overrides the file)
LARGE_LAYOUT = ["-Gsplines=line", "-Gmclimit=0.1", "-Gnslimit=1", "-Gremincross=false"]
SERVE_TIMEOUT = 20.0  # defaults of the render_timeout_seconds and render_cache_bytes settings
CACHE_BYTES = 64_000_000
_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}(Z|[+-]\d{2}'\d{2}'?)?\)")


class RenderFailed(CatalogError):
    """Graphviz is missing, failed or took too long."""

    status = 500
    code = "render-failed"


class RenderTimeout(RenderFailed):
    """Graphviz did not finish within the time limit: the diagram is too large to draw in time."""

    status = 422
    code = "render-timeout"


def dot_binary() -> str:
    path = shutil.which("dot")
    if not path:
        raise RenderFailed(msg("render-no-dot"))
    return path


def graphviz_version() -> str:
    out = subprocess.run([dot_binary(), "-V"], capture_output=True, text=True, timeout=30)
    return (out.stderr or out.stdout).strip()


def fix_pdf_date(pdf: bytes, day: dt.date | None = None) -> bytes:
    stamp = (day or dt.date(1970, 1, 1)).strftime("%Y%m%d").encode() + b"000000Z"

    def repl(m: re.Match[bytes]) -> bytes:
        new = b"/CreationDate (D:" + stamp + b")"
        return new.ljust(len(m.group(0)))  # same length: xref offsets stay right

    return _PDF_DATE.sub(repl, pdf)


def run_dot(dot: str, fmt: str, timeout: float = DEFAULT_TIMEOUT, dpi: int | None = None) -> bytes:
    """Run ``dot -T<fmt>`` on the text; bytes out. No PDF fixing here (see :func:`render`)."""
    args = [dot_binary(), f"-T{fmt}"]
    if dot.count(" -> ") > LARGE_EDGES:  # a dense drawing: straight edges, bounded crossing minimisation
        args += LARGE_LAYOUT
    if dpi:
        args.append(f"-Gdpi={int(dpi)}")
    try:
        proc = subprocess.run(args, input=dot.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot
        edges, kb = dot.count(" -> "), len(dot.encode("utf-8")) // 1000
        raise RenderTimeout(msg("render-too-slow", seconds=f"{timeout:g}", edges=edges, kb=kb)) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")[:2000]
        raise RenderFailed(msg("render-dot-failed", code=proc.returncode, error=err))
    return proc.stdout


def render(
    dot: str, fmt: str, *, timeout: float = DEFAULT_TIMEOUT, pdf_date: dt.date | None = None, dpi: int | None = None
) -> bytes:
    """DOT text to ``fmt`` (svg, png, pdf, dot). PDF creation dates are fixed to ``pdf_date`` (default 1970-01-01)."""
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", msg("value-one-of", allowed=", ".join(FORMATS)))])
    if fmt == "dot":
        return dot.encode("utf-8")
    out = run_dot(dot, fmt, timeout, dpi)
    return fix_pdf_date(out, pdf_date) if fmt == "pdf" else out


class RenderCache:
    """Drawn diagrams by key, at most ``max_bytes`` of them (least recently used out first); thread-safe."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: Any, data: bytes) -> None:
        with self._lock:
            if len(data) > self.max_bytes:
                return
            old = self._items.pop(key, None)
            self._bytes -= len(old) if old is not None else 0
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, gone = self._items.popitem(last=False)
                self._bytes -= len(gone)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes


CACHE = RenderCache()


def cache_key(store: CatalogStore, view: str, params: ViewParams, fmt: str, **extra: Any) -> tuple:
    """What a drawn diagram depends on: the store, its revision (change-log head) and today (views default to
    today's state), the view, its parameters and the format."""
    return (id(store), store.revision(), store.clock().date(), view, params, fmt, tuple(sorted(extra.items())))


def draw_cached(
    store: CatalogStore,
    view: str,
    params: ViewParams,
    fmt: str,
    *,
    timeout: float = SERVE_TIMEOUT,
    cache: RenderCache | None = CACHE,
    url_prefix: str = "",
    dpi: int | None = None,
) -> bytes:
    """:func:`diagrams.draw` with the time limit and the cache: the same view, parameters and catalog revision give
    the bytes drawn the first time. Blocking: call it from a worker thread (``run_in_threadpool``)."""
    from diagrams import draw

    key = cache_key(store, view, params, fmt, url_prefix=url_prefix, dpi=dpi)
    if cache is not None and cache.max_bytes > 0:
        found = cache.get(key)
        if found is not None:
            return found
    data = draw(store, view, params, fmt, url_prefix=url_prefix, timeout=timeout, dpi=dpi)
    if cache is not None and cache.max_bytes > 0:
        cache.put(key, data)
    return data


__all__ = [
    "CACHE",
    "CACHE_BYTES",
    "DEFAULT_TIMEOUT",
    "FORMATS",
    "SERVE_TIMEOUT",
    "RenderCache",
    "RenderFailed",
    "RenderTimeout",
    "cache_key",
    "draw_cached",
    "dot_binary",
    "fix_pdf_date",
    "graphviz_version",
    "render",
    "run_dot",
]
