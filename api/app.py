"""The HTTP application: ``create_app(settings, store)`` builds it; nothing happens at import time.

Routers stay thin: parse, call a catalog service or the store's read methods, shape the response. Domain errors
become problem+json (RFC 9457) responses in one place (``api.problems``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from catalog.settings import Settings, get_settings
from catalog.store import CatalogStore


def create_app(settings: Settings | None = None, store: CatalogStore | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # the threads that run requests (Starlette's default is 40): with Python's one interpreter lock, many threads
        # only take turns, and a write holding the database lock waits its turn too (docs/architecture.md, 9)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if app.state.store is None:
            from api.observability import instrument_store

            app.state.store = instrument_store(settings.open_store(create=False))  # store timings for /metrics
        worker = None
        if owns_store:  # the served catalog: notices start here, deliveries run beside the requests
            from catalog.notices import Worker, start

            start(app.state.store)
            worker = Worker(app.state.store, settings).start() if settings.notify_worker else None
        yield
        if worker is not None:
            worker.stop()
        if owns_store and app.state.store is not None:
            app.state.store.close()

    from api.problems import EchoSafeJSON

    app = FastAPI(
        title="ioc-catalog",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=EchoSafeJSON,
        description="Enterprise-architecture catalog of a city's IOC, shared databases, platforms and "
        "systems (Trung tâm điều hành đô thị thông minh).",
    )
    app.state.settings = settings
    app.state.store = store
    from catalog.throttle import SignInThrottle

    app.state.throttle = SignInThrottle.from_settings(settings)  # failed sign-ins and bad tokens (api.auth)

    from fastapi import Depends

    from api import problems
    from api.limits import BodySizeLimit, check_request_text
    from api.routers import (
        accounts,
        analysis,
        campaigns,
        changelog,
        changesets,
        compliance,
        diagrams,
        diff,
        drafts,
        entities,
        events,
        exports,
        graph,
        mappings,
        notices,
        registries,
        relationships,
        report,
        revert,
        search,
        web,
        web_audit,
        web_bulk,
        web_campaigns,
        web_coverage,
        web_diagrams,
        web_drafts,
        web_explore,
        web_history,
        web_import,
        web_mapping,
        web_notices,
        web_report,
        web_revert,
        web_search,
        web_signin,
    )

    problems.install(app)
    app.add_middleware(BodySizeLimit, limit_of=lambda: settings.max_body_bytes)
    from api import observability

    # request ids, one log line per request, latency histograms; /health/live, /health/ready, /metrics
    observability.install(app, worker_header=settings.worker_pid_header)
    guarded: dict[str, Any] = {"prefix": "/api/v1", "dependencies": [Depends(check_request_text)]}
    app.include_router(entities.build_router(store.metamodel if store is not None else settings.metamodel()), **guarded)
    for r in (
        relationships,
        graph,
        analysis,
        notices,
        compliance,
        events,
        changelog,
        changesets,
        drafts,
        revert,
        exports,
        diagrams,
        diff,
        accounts,
        registries,
        search,
        report,
        campaigns,
        mappings,
    ):
        app.include_router(r.router, **guarded)
    app.include_router(web_explore.router)
    app.include_router(web_search.router)
    app.include_router(web_history.router)
    app.include_router(web_audit.router)
    app.include_router(web_diagrams.router)
    app.include_router(web_signin.router)
    app.include_router(web_notices.router)
    app.state.unread_notices = web_notices.unread_count  # the header's bell (base.html)
    app.state.watching = web_notices.watching  # the entity page's watch button (entity.html)
    app.include_router(web_bulk.router)
    app.include_router(web_import.router)
    app.include_router(web_drafts.router)
    app.state.pending_drafts = web_drafts.pending_count  # the approvers' badge (base.html)
    app.include_router(web_revert.router)
    app.include_router(web_report.router)
    app.include_router(web_campaigns.router)
    app.include_router(web_mapping.router)
    app.include_router(web_coverage.router)
    app.include_router(web.router)
    return app
