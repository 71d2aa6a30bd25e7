"""``ioc-catalog serve``: the API and web UI in N worker processes (uvicorn's own supervisor), behind a proxy.

What a server start does (docs/deploy.md):

- **Workers.** ``--workers N`` (setting ``workers``; default one per CPU core) starts N uvicorn worker processes
  that share the listening socket; the supervisor restarts a worker that dies. Each worker builds its app from the
  same settings (:func:`app_factory`, handed the command line's choices in the environment). Everything a worker
  keeps in memory is keyed by the catalog's revision, so a write through one worker is seen by the next read
  through any other; sessions, drafts and webhooks' leases live in the store.
- **Run directory.** ``run_dir`` (default: a new temporary folder) is emptied at start. With several workers it
  holds the metrics of every worker (prometheus-client's multiprocess mode: ``run_dir/metrics``) and, when
  ``signin_throttle_storage`` is left at memory://, the sign-in throttle's counters shared by the workers
  (``run_dir/signin-throttle.db``, :mod:`catalog.store.throttle`).
- **Proxy.** X-Forwarded-For and X-Forwarded-Proto are believed only from ``forwarded_allow_ips``; ``root_path``
  is the prefix the proxy serves the catalog under (:mod:`api.proxy` puts it in the web UI's links and redirects).
- **Logs.** ``log_format`` text or json: one line per request (:mod:`api.observability`), uvicorn's own lines and
  the catalog's loggers, on stderr (systemd's journal).
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

OVERRIDES_ENV = "IOC_CATALOG_SERVE_OVERRIDES"  # the command line's settings, for the worker processes
GC_YOUNG = 10_000  # new objects between two young collections in a serving process (Python's default: 700)
SWITCH_INTERVAL = 0.001  # seconds a thread keeps the interpreter lock when others wait for it (Python's default: 0.005)

log = logging.getLogger("ioc_catalog.api")


def log_config(log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging plus the catalog's loggers (``ioc_catalog.auth``: failed and throttled sign-ins, denied
    writes; ``ioc_catalog.api``: unexpected errors; ``ioc_catalog.access``: one line per request) on stderr: each
    line with its time and logger, or (``json``) one JSON object per line."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        config["formatters"]["catalog"] = {"()": "api.observability.JsonFormatter"}
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "api.observability.JsonFormatter"}
    else:
        config["formatters"]["catalog"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["handlers"]["catalog"] = {
        "formatter": "catalog",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["ioc_catalog"] = {"handlers": ["catalog"], "level": "INFO", "propagate": False}
    return config


def prepare_run_dir(settings: Any, workers: int) -> tuple[Path, dict[str, str]]:
    """The run directory, emptied, and the environment the workers need from it."""
    run_dir = Path(settings.run_dir) if settings.run_dir else Path(tempfile.mkdtemp(prefix="ioc-catalog-run-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    metrics_dir = run_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # a previous run's values would be summed into this run's
    (run_dir / "signin-throttle.db").unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        (run_dir / f"signin-throttle.db{suffix}").unlink(missing_ok=True)
    if workers > 1:
        metrics_dir.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return run_dir, env


def overrides(settings: Any) -> dict[str, Any]:
    """The settings this process was given, for the workers; never a secret (a SecretStr: the secret key, the
    provider's client secret, the SMTP password...), which each worker reads from the environment itself."""
    from pydantic import SecretStr

    secret = {name for name in settings.model_fields_set if isinstance(getattr(settings, name), SecretStr)}
    return settings.model_dump(mode="json", include=settings.model_fields_set - secret)


def run(settings: Any) -> None:
    """Serve ``settings`` (already checked) with its workers, proxy, prefix and log format."""
    import uvicorn

    settings.check_secrets()
    workers = settings.workers or os.cpu_count() or 1
    run_dir, env = prepare_run_dir(settings, workers)
    shared: dict[str, Any] = {}
    if workers > 1 and settings.signin_throttle_storage == "memory://":
        shared["signin_throttle_storage"] = f"sqlite:///{(run_dir / 'signin-throttle.db').resolve()}"
    os.environ.update(env)
    os.environ[OVERRIDES_ENV] = json.dumps({**overrides(settings), **shared})
    uvicorn.run(
        "api.commands_serve:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        root_path=settings.root_path,
        log_level="info",
        log_config=log_config(settings.log_format),
        access_log=False,  # the catalog's own line per request (api.observability): no query strings
        timeout_graceful_shutdown=30,
    )


def app_factory() -> Any:
    """One worker's app: the settings from the environment plus the command line's (:data:`OVERRIDES_ENV`)."""
    from api.app import create_app
    from catalog.settings import Settings

    settings = Settings(**json.loads(os.environ.get(OVERRIDES_ENV) or "{}"))
    app = create_app(settings)
    tune_serving_process()
    return app


def tune_serving_process() -> None:
    """A serving process is tuned for many requests at once (docs/architecture.md, decision 9). The garbage
    collector: everything loaded so far (modules, the metamodel, routes, schemas) moves out of its sight for good, and
    a collection starts after 10,000 new objects instead of 700, so a full one no longer walks the whole program
    every few seconds, stopping every request in flight. The interpreter lock changes hands every millisecond
    instead of every 5: a thread back from the database (perhaps holding its write lock) waits less for its turn."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)
    sys.setswitchinterval(SWITCH_INTERVAL)


__all__ = [
    "GC_YOUNG",
    "OVERRIDES_ENV",
    "app_factory",
    "log_config",
    "overrides",
    "prepare_run_dir",
    "SWITCH_INTERVAL",
    "tune_serving_process",
    "run",
]
