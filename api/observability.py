"""What a city's IT department watches: request ids, one log line per request, Prometheus metrics, health checks.

- **Request id.** Every HTTP request gets one: the client's (or the reverse proxy's) ``X-Request-Id`` when it is
  1-64 characters of ``[A-Za-z0-9._-]``, else a new random one. It is answered in the ``X-Request-Id`` header, set
  as :data:`catalog.store.base.CURRENT_REQUEST_ID` while the request runs (so every change-log entry the request
  writes carries it), written in problem+json bodies (``request_id``) and on the request's log line.
- **Log line.** One per request on the logger ``ioc_catalog.access``: request id, method, route template (e.g.
  ``/api/v1/entities/{ref}``), path (never the query string), status, duration, actor (the principal's name, once
  the request was authenticated) and client address (as uvicorn reports it: X-Forwarded-For only from the trusted
  proxy addresses). Never a header, cookie, token, password or query string. ``log_format=json`` writes each line
  as one JSON object (:class:`JsonFormatter`).
- **Metrics.** ``GET /metrics`` in Prometheus' text format (the maintained ``prometheus-client``). Request latency
  histograms by method, route template and status; store operation timings (each call of the store's read and
  write methods, until it returns); and, read from the store at each scrape (so every worker answers the same):
  the change-log head, import runs by status, drafts by status, webhooks failing. With several workers the
  counters and histograms are kept in prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, which
  ``ioc-catalog serve`` sets to a fresh directory before the workers start): any worker's scrape sums them all.
  The list of metrics and example alerts: docs/deploy.md, "Metrics".
- **Health.** ``GET /health/live`` answers 200 while the process serves (no store access: a load balancer's
  liveness probe); ``GET /health/ready`` answers 200 when the store answers and holds the schema version this
  program reads, else 503 naming what failed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.store.base import CURRENT_REQUEST_ID

access_log = logging.getLogger("ioc_catalog.access")
REQUEST_ID_HEADER = "X-Request-Id"
WORKER_HEADER = "X-Worker-Pid"  # only with IOC_CATALOG_TEST_WORKER_HEADER=1 (tests/deploy: which worker answered)
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# ---------------------------------------------------------------------------------------------------------------
# Metrics (module level: one set per process; in multiprocess mode their values live in PROMETHEUS_MULTIPROC_DIR)

_metrics: dict[str, Any] = {}


def metrics() -> dict[str, Any]:
    """The process's metric objects, made on first use (prometheus-client picks its multiprocess value class from
    the environment when it is imported: ``ioc-catalog serve`` sets it before any worker imports it)."""
    if not _metrics:
        from prometheus_client import Histogram

        _metrics["requests"] = Histogram(
            "ioc_catalog_http_request_duration_seconds",
            "Time to answer one HTTP request, by method, route template and status",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        _metrics["store"] = Histogram(
            "ioc_catalog_store_operation_duration_seconds",
            "Time of one call of a store operation, until it returns",
            ["operation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
        )
    return _metrics


# the store's operations that are timed (read and write methods of catalog.store.base.CatalogStore)
TIMED_OPERATIONS = (
    "get_entity",
    "get_entities",
    "find_entity",
    "list_entities",
    "count_entities",
    "search",
    "list_relationships",
    "count_relationships",
    "neighbourhood",
    "changelog",
    "revision",
    "entity_as_of",
    "graph_as_of",
    "graph_json",
    "part_json",
    "create_entity",
    "update_entity",
    "delete_entity",
    "create_relationship",
    "update_relationship",
    "delete_relationship",
    "record_event",
    "bulk_load",
    "put_record",
    "get_record",
    "list_records",
    "count_records",
    "delete_record",
)


def instrument_store(store: Any) -> Any:
    """Time the served store's operations (:data:`TIMED_OPERATIONS`) into the store histogram. The store object
    stays what it is (its methods are wrapped on the instance); calling it twice changes nothing."""
    if getattr(store, "_ioc_timed", False):
        return store
    hist = metrics()["store"]
    for name in TIMED_OPERATIONS:
        method = getattr(store, name, None)
        if callable(method):
            setattr(store, name, _timed(method, hist.labels(name)))
    store._ioc_timed = True
    return store


def _timed(method: Callable[..., Any], child: Any) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            child.observe(time.perf_counter() - started)

    call.__name__ = getattr(method, "__name__", "call")
    call.__doc__ = method.__doc__
    return call


class StoreCollector:
    """Gauges read from the store at each scrape: what every worker sees alike (the store is shared)."""

    RECENT = 5000  # newest records read per collection (import runs, drafts, webhook deliveries)

    def __init__(self, store: Any):
        self.store = store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        store = self.store
        seq, _ = store.revision()
        head = GaugeMetricFamily("ioc_catalog_changelog_head", "Sequence number of the change log's head entry")
        head.add_metric([], seq)
        yield head
        up = GaugeMetricFamily("ioc_catalog_store_up", "1 when the store answered this scrape")
        up.add_metric([], 1)
        yield up
        yield self._by_status(
            "ioc_catalog_import_runs", "Import runs recorded, by status (running, finished, failed)", "import-run"
        )
        yield self._by_status("ioc_catalog_drafts", "Drafts by status (pending: waiting for a reviewer)", "draft")
        failing = GaugeMetricFamily(
            "ioc_catalog_webhooks_failing",
            "Webhooks whose latest delivery attempt failed (outcome retry or given-up)",
        )
        failing.add_metric([], self._webhooks_failing())
        yield failing

    def _records(self, collection: str) -> list[Any]:
        try:
            return list(self.store.list_records(collection, limit=self.RECENT, newest_first=True))
        except Exception:  # a collection no one wrote yet, or a backend without it: nothing to count
            return []

    def _by_status(self, name: str, doc: str, collection: str) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(name, doc, labels=["status"])
        counts: dict[str, int] = {}
        for rec in self._records(collection):
            status = str((rec.data or {}).get("status") or "unknown")[:40]
            counts[status] = counts.get(status, 0) + 1
        for status, n in sorted(counts.items()):
            family.add_metric([status], n)
        return family

    def _webhooks_failing(self) -> int:
        latest: dict[str, str] = {}
        for rec in self._records("webhook-delivery"):  # newest first: the first seen per webhook is its latest
            data = rec.data or {}
            sub = str(data.get("subscription", ""))
            if sub and sub not in latest and data.get("outcome") != "manual":
                latest[sub] = str(data.get("outcome", ""))
        return sum(1 for outcome in latest.values() if outcome in ("retry", "given-up"))


def render_metrics(store: Any) -> tuple[bytes, str]:
    """The metrics page: this process's (or, in multiprocess mode, every worker's) counters and histograms, and
    the store's gauges."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    store_registry = CollectorRegistry()
    store_registry.register(StoreCollector(store))
    return body + generate_latest(store_registry), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------------------------------------------------------
# Request ids and the log line


def request_id_of(request: Request) -> str | None:
    """The id of the request being served (see the module's docstring)."""
    return request.scope.get("state", {}).get("request_id") or CURRENT_REQUEST_ID.get()


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered (``/api/v1/entities/{ref}``), whatever prefix its router was included
    under; "(unmatched)" when none did (a 404 of an unknown path: the label's values stay few)."""
    route = scope.get("route")
    fmt = getattr(route, "path", None)
    if not fmt:
        return "(unmatched)"
    path = str(scope.get("path", ""))
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    regex = getattr(route, "path_regex", None)
    if regex is not None and not regex.match(path):  # included under a prefix: find where the route's own part begins
        for i, char in enumerate(path):
            if char == "/" and i and regex.match(path[i:]):
                return path[:i] + fmt
    return str(fmt)


class Observe:
    """ASGI middleware: the request id, the log line and the latency histogram of every HTTP request."""

    def __init__(self, app: ASGIApp, worker_header: bool = False):
        self.app = app
        self.worker_header = worker_header
        self.hist = metrics()["requests"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = ""
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id":
                sent = value.decode("latin-1")
                break
        rid = sent if _ID.fullmatch(sent) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        root = str(scope.get("root_path", ""))
        state["request_id"] = rid
        token = CURRENT_REQUEST_ID.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                if self.worker_header:
                    headers.append((b"x-worker-pid", str(os.getpid()).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            CURRENT_REQUEST_ID.reset(token)
            duration = time.perf_counter() - started
            template = route_template(scope, root)
            method = str(scope.get("method", ""))[:10]
            self.hist.labels(method, template, str(status)).observe(duration)
            principal = state.get("principal")
            client = scope.get("client")
            actor = getattr(principal, "name", None)
            access_log.info(
                "%s %s %s %d %.1fms route=%s actor=%s client=%s",
                rid,
                method,
                scope.get("path", ""),
                status,
                duration * 1000,
                template,
                actor or "-",
                client[0] if client else "-",
                extra={
                    "request": {
                        "request_id": rid,
                        "method": method,
                        "route": template,
                        "path": scope.get("path", ""),
                        "status": status,
                        "duration_ms": round(duration * 1000, 2),
                        "actor": actor,
                        "client": client[0] if client else None,
                        "scheme": scope.get("scheme"),
                        "pid": os.getpid(),
                    }
                },
            )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a request's fields (``request`` extra)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


# ---------------------------------------------------------------------------------------------------------------
# Health and metrics routes (outside /api/v1: no authentication, for load balancers and Prometheus)

router = APIRouter(include_in_schema=False)


@router.get("/health/live")
def live() -> JSONResponse:
    return JSONResponse({"status": "ok", "pid": os.getpid()}, headers={"Cache-Control": "no-store"})


@router.get("/health/ready")
def ready(request: Request) -> JSONResponse:
    store = request.app.state.store
    checks: dict[str, Any] = {}
    try:
        seq, _ = store.revision()
        checks["store"] = "ok"
        checks["revision"] = seq
        found, wanted = store.schema_versions()
        checks["schema"] = {"found": found, "expected": wanted}
        ok = found == wanted
        if not ok:
            checks["reason"] = f"the store holds schema {found}, this program reads {wanted}"
    except Exception as exc:  # the store did not answer: not ready (the reason names the error's kind only)
        ok = False
        checks["store"] = "unreachable"
        checks["reason"] = type(exc).__name__
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", **checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics")
def metrics_page(request: Request) -> Response:
    body, content_type = render_metrics(request.app.state.store)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def install(app: Any, worker_header: bool = False) -> None:
    """The middleware (outermost of the catalog's own: the request id and log line; inside it the path prefix of
    :mod:`api.proxy`) and the health and metrics routes."""
    from api.proxy import PathPrefix

    app.add_middleware(PathPrefix)
    app.add_middleware(Observe, worker_header=worker_header)
    app.include_router(router)


__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "Observe",
    "StoreCollector",
    "install",
    "instrument_store",
    "metrics",
    "render_metrics",
    "request_id_of",
]
