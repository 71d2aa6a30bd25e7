"""Request ids, the log line per request, metrics, health checks, the path prefix, the shared sign-in throttle and
what ``ioc-catalog serve`` hands uvicorn: in process, without nginx (tests/deploy/test_nginx.py runs it all for
real)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from api.app import create_app
from api.observability import JsonFormatter, route_template
from api.proxy import PathPrefix
from catalog.accounts import Accounts
from catalog.settings import Settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from catalog.throttle import SignInThrottle, Throttled
from importers.base import run_import

PASSWORD = "observability-test-password-1"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("observability") / "catalog.db"
    store = open_store(f"sqlite:///{path}", create=True)
    try:
        run_import(store, SAMPLE)
        accounts = Accounts(store)
        accounts.add_user("architect", "architect", password=PASSWORD)
        token = accounts.create_token("architect", "test").secret
    finally:
        store.close()
    return path, token


@dataclass
class App:
    store: CatalogStore
    client: TestClient
    auth: dict[str, str]


@pytest.fixture
def app(tmp_path: Path, template: tuple[Path, str]) -> Iterator[App]:
    shutil.copyfile(template[0], tmp_path / "catalog.db")
    store = open_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        settings = Settings(demo=True, worker_pid_header=True)
        with TestClient(create_app(settings, store=store), raise_server_exceptions=False) as client:
            yield App(store, client, {"Authorization": f"Bearer {template[1]}"})
    finally:
        store.close()


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """The lines of ``ioc_catalog.access`` as ``--log-format json`` writes them."""
    out, text = io.StringIO(), io.StringIO()
    handler, plain = logging.StreamHandler(out), logging.StreamHandler(text)
    handler.setFormatter(JsonFormatter())
    plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))  # --log-format text
    out.text = text  # type: ignore[attr-defined]
    logger = logging.getLogger("ioc_catalog.access")
    level = logger.level
    logger.addHandler(handler)
    logger.addHandler(plain)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.removeHandler(plain)
        logger.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.getvalue().splitlines() if x.strip()]


def new_system(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": {"vi": f"Hệ thống {code}"},
        "owner": "organization:hcm-skhcn",
        "attributes": {"lifecycle": "production"},
    }


def test_one_request_id_on_the_answer_the_change_log_and_the_log_line(app: App, access_log: io.StringIO) -> None:
    r = app.client.post("/api/v1/systems", json=new_system("obs-one"), headers=app.auth)
    assert r.status_code == 201, r.text
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    entries = app.store.changelog(ref="system:obs-one")
    assert [e.request_id for e in entries] == [rid]
    line = next(x for x in lines(access_log) if x["request_id"] == rid)
    assert line["route"] == "/api/v1/systems" and line["status"] == 201 and line["actor"] == "architect"
    assert line["method"] == "POST" and line["duration_ms"] > 0 and line["pid"] == os.getpid()
    assert r.headers["x-worker-pid"] == str(os.getpid())


def test_a_proxy_s_request_id_is_kept_and_a_malformed_one_replaced(app: App) -> None:
    r = app.client.post(
        "/api/v1/systems", json=new_system("obs-two"), headers={**app.auth, "X-Request-Id": "nginx-7f3a"}
    )
    assert r.headers["x-request-id"] == "nginx-7f3a"
    assert [e.request_id for e in app.store.changelog(ref="system:obs-two")] == ["nginx-7f3a"]
    bad = app.client.get("/api/v1/entities/system:none", headers={"X-Request-Id": "a b<script>"})
    assert bad.headers["x-request-id"] != "a b<script>" and re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])


def test_problems_carry_the_request_id(app: App) -> None:
    missing = app.client.get("/api/v1/entities/system:khong-co")
    assert missing.status_code == 404 and missing.json()["request_id"] == missing.headers["x-request-id"]
    invalid = app.client.post("/api/v1/systems", json={"code": 1}, headers=app.auth)
    assert invalid.status_code == 422 and invalid.json()["request_id"] == invalid.headers["x-request-id"]


def test_an_unexpected_error_names_its_request(app: App, access_log: io.StringIO) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    app.store.get_entity = broken  # type: ignore[method-assign]
    r = app.client.get("/api/v1/entities/organization:hcm-skhcn")
    assert r.status_code == 500 and r.json()["code"] == "internal-error"
    rid = r.json()["request_id"]
    assert r.headers["x-request-id"] == rid and rid in r.json()["detail"]
    line = next(x for x in lines(access_log) if x["request_id"] == rid)
    assert line["status"] == 500 and line["route"] == "/api/v1/entities/{ref}"
    assert "a bug" not in r.text


def test_a_write_that_fails_writes_no_entry_under_its_id(app: App) -> None:
    first = app.client.post("/api/v1/systems", json=new_system("obs-three"), headers=app.auth)
    again = app.client.post("/api/v1/systems", json=new_system("obs-three"), headers=app.auth)
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["request_id"] == again.headers["x-request-id"]
    assert [e.request_id for e in app.store.changelog(ref="system:obs-three")] == [first.headers["x-request-id"]]


def test_the_log_line_holds_no_secret(app: App, access_log: io.StringIO) -> None:
    token, cookie, password = "ioc_" + "x" * 40, "session-secret-value", "hunter2-password"
    app.client.get(f"/api/v1/entities?token={token}", headers={"Authorization": f"Bearer {token}"})
    app.client.cookies.set("ioc_session", cookie)
    app.client.get(f"/?password={password}")
    app.client.cookies.clear()
    app.client.post("/signin", data={"name": "architect", "password": password, "csrf": "x"})
    text = access_log.getvalue() + access_log.text.getvalue()  # type: ignore[attr-defined]
    assert "POST /signin 403 " in text and "route=/signin actor=anonymous client=testclient" in text, "the text line"
    found = lines(access_log)
    assert len(found) == 3
    for secret in (token, cookie, password, PASSWORD):
        assert secret not in text
    assert {x["route"] for x in found} == {"/api/v1/entities", "/", "/signin"}
    assert all(
        set(x) >= {"request_id", "method", "route", "path", "status", "duration_ms", "actor", "client"} for x in found
    )


def test_metrics_name_routes_by_template_and_read_the_store(app: App) -> None:
    app.client.get("/api/v1/entities/system:khong-co")
    app.client.post("/api/v1/systems", json=new_system("obs-four"), headers=app.auth)
    r = app.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert re.search(
        r'ioc_catalog_http_request_duration_seconds_count\{method="GET",route="/api/v1/entities/\{ref\}",status="404"\} [1-9]',
        body,
    )
    assert 'route="/api/v1/systems",status="201"' in body
    seq, _ = app.store.revision()
    assert re.search(rf"^ioc_catalog_changelog_head {seq}(\.0)?$", body, re.M)
    assert "ioc_catalog_drafts" in body and "ioc_catalog_import_runs{status=" in body
    assert re.search(r"^ioc_catalog_webhooks_failing 0(\.0)?$", body, re.M)
    unknown = app.client.get("/no/such/page/123")
    assert unknown.status_code == 404
    assert (
        'route="(unmatched)"' in app.client.get("/metrics").text
        and "/no/such/page" not in app.client.get("/metrics").text
    )


def test_store_operations_are_timed_on_the_served_store(tmp_path: Path, template: tuple[Path, str]) -> None:
    """The app that opens its own store (``ioc-catalog serve``) times its operations."""
    shutil.copyfile(template[0], tmp_path / "catalog.db")
    settings = Settings(demo=True, store=f"sqlite:///{tmp_path / 'catalog.db'}", notify_worker=False)
    with TestClient(create_app(settings)) as client:
        before = _count(client.get("/metrics").text, "get_entity")
        assert client.get("/api/v1/entities/organization:hcm-skhcn").status_code == 200
        assert _count(client.get("/metrics").text, "get_entity") > before


def _count(body: str, operation: str) -> float:
    m = re.search(
        rf'^ioc_catalog_store_operation_duration_seconds_count\{{operation="{operation}"\}} ([0-9.]+)$', body, re.M
    )
    return float(m.group(1)) if m else 0.0


def test_readiness_checks_the_store_and_its_schema(app: App) -> None:
    assert app.client.get("/health/live").json()["status"] == "ok"
    ready = app.client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["schema"] == {"found": "4", "expected": "4"}
    app.store.schema_versions = lambda: ("2", "3")  # type: ignore[method-assign]
    old = app.client.get("/health/ready")
    assert old.status_code == 503 and "schema 2" in old.json()["reason"]

    def broken() -> tuple[int, str]:
        raise OSError("disk gone")

    app.store.revision = broken  # type: ignore[method-assign]
    down = app.client.get("/health/ready")
    assert down.status_code == 503 and down.json()["store"] == "unreachable"
    assert app.client.get("/health/live").status_code == 200, "liveness never touches the store"


def test_route_templates_of_included_routers() -> None:
    from api.observability import router

    ready = next(r for r in router.routes if getattr(r, "path", "") == "/health/ready")
    assert route_template({"route": ready, "path": "/ioc-catalog/health/ready"}, "/ioc-catalog") == "/health/ready"
    # a route included under /api/v1 knows only its own part of the path
    entity = Route("/entities/{ref}", lambda request: Response())
    scope = {"route": entity, "path": "/ioc-catalog/api/v1/entities/system:a"}
    assert route_template(scope, "/ioc-catalog") == "/api/v1/entities/{ref}"
    assert route_template({"path": "/x"}) == "(unmatched)"


# --- the path prefix ------------------------------------------------------------------------------------------------


def _prefixed_app() -> TestClient:
    def page(request: Any) -> Response:
        return HTMLResponse(
            '<a href="/entities/system:a?lang=vi">a</a> <a href="/ioc-catalog/docs">docs</a> '
            '<a href="//elsewhere.example/x">x</a> <a href="https://example.org/">o</a> '
            '<form action="/signin"></form> <img src="/static/ui.css"> <div data-url="/api/v1/x"></div>'
        )

    def moved(request: Any) -> Response:
        r = RedirectResponse("/entities/system:a", status_code=303)
        r.set_cookie("ioc_session", "v", path="/", secure=True)
        r.set_cookie("ioc_oidc", "v", path="/signin/oidc")
        return r

    def script(request: Any) -> Response:
        return Response('fetch("/api/v1/graph/explore?" + q); var re = /a/; var s = "/";', media_type="text/javascript")

    def vendor(request: Any) -> Response:
        return Response('var u = "/keep/as/is";', media_type="text/javascript")

    inner = Starlette(
        routes=[
            Route("/", page),
            Route("/moved", moved),
            Route("/static/explorer.js", script),
            Route("/static/vendor/x/x.js", vendor),
        ]
    )
    return TestClient(PathPrefix(inner), root_path="/ioc-catalog", follow_redirects=False)


def test_the_prefix_reaches_links_redirects_cookies_and_scripts() -> None:
    c = _prefixed_app()
    html = c.get("/").text
    assert '<a href="/ioc-catalog/entities/system:a?lang=vi">' in html
    assert '<a href="/ioc-catalog/docs">' in html, "a link already under the prefix stays"
    assert '"//elsewhere.example/x"' in html and '"https://example.org/"' in html
    assert 'action="/ioc-catalog/signin"' in html and 'src="/ioc-catalog/static/ui.css"' in html
    assert 'data-url="/ioc-catalog/api/v1/x"' in html
    r = c.get("/moved")
    assert r.headers["location"] == "/ioc-catalog/entities/system:a"
    cookies = r.headers.get_list("set-cookie")
    assert any(x.startswith("ioc_session=") and "Path=/ioc-catalog;" in x for x in cookies), cookies
    assert any(x.startswith("ioc_oidc=") and "Path=/ioc-catalog/signin/oidc" in x for x in cookies), cookies
    js = c.get("/static/explorer.js").text
    assert 'fetch("/ioc-catalog/api/v1/graph/explore?"' in js and "/a/" in js and '"/"' in js
    assert c.get("/static/vendor/x/x.js").text == 'var u = "/keep/as/is";'


def test_no_prefix_no_change(app: App) -> None:
    html = app.client.get("/").text
    assert "/ioc-catalog" not in html and 'href="/' in html


# --- the sign-in throttle shared by workers -----------------------------------------------------------------------


def test_the_sign_in_throttle_file_is_shared_and_exact_under_parallel_failures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run' / 'signin-throttle.db'}"
    workers = [SignInThrottle(per_account=5, per_address=1000, window=600, storage=url) for _ in range(4)]
    barrier = threading.Barrier(20)

    def fail(i: int) -> None:
        barrier.wait()
        throttle = workers[i % 4]
        try:
            with throttle.begin("bob", f"10.0.0.{i}") as attempt:
                attempt.failed()
        except Throttled:
            pass

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for throttle in workers:  # every worker sees the same five failures, and refuses the account
        with pytest.raises(Throttled):
            throttle.begin("bob", "10.0.1.1")
    counted = workers[0].limiter.get_window_stats(workers[0].items["account"], "bob")
    assert counted.remaining == 0
    with workers[1].begin("alice", "10.0.1.1") as ok:  # another account is not locked
        ok.succeeded()


def test_serve_hands_uvicorn_its_workers_proxy_prefix_and_shared_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from api import commands_serve

    for name in (commands_serve.OVERRIDES_ENV, "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    run_dir = tmp_path / "run"
    (run_dir / "metrics").mkdir(parents=True)
    (run_dir / "metrics" / "counter_123.db").write_bytes(b"old")
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'c.db'}",
        secret_key="a-real-secret-of-the-city-" + "x" * 20,
        workers=2,
        root_path="/ioc-catalog",
        forwarded_allow_ips="127.0.0.1,10.1.2.3",
        log_format="json",
        run_dir=str(run_dir),
    )
    monkeypatch.setenv("IOC_CATALOG_SMTP_PASSWORD", "smtp-secret-of-the-city")  # any secret read from the environment
    monkeypatch.setenv("IOC_CATALOG_OIDC_CLIENT_SECRET", "oidc-secret-of-the-city")
    settings = Settings(**settings.model_dump(include=settings.model_fields_set))
    commands_serve.run(settings)
    assert seen["app"] == "api.commands_serve:app_factory" and seen["factory"] is True
    assert seen["workers"] == 2 and seen["root_path"] == "/ioc-catalog"
    assert seen["forwarded_allow_ips"] == "127.0.0.1,10.1.2.3" and seen["proxy_headers"] is True
    assert seen["access_log"] is False
    assert seen["log_config"]["formatters"]["catalog"] == {"()": "api.observability.JsonFormatter"}
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(run_dir / "metrics")
    assert list((run_dir / "metrics").iterdir()) == [], "a previous run's metrics are gone"
    handed = json.loads(os.environ[commands_serve.OVERRIDES_ENV])
    assert handed["signin_throttle_storage"] == f"sqlite:///{(run_dir / 'signin-throttle.db').resolve()}"
    assert "secret_key" not in handed and "a-real-secret" not in os.environ[commands_serve.OVERRIDES_ENV]
    assert not {"smtp_password", "oidc_client_secret"} & set(handed) and "*****" not in json.dumps(handed)
    assert handed["root_path"] == "/ioc-catalog" and handed["workers"] == 2


def test_bad_serve_options_are_named(tmp_path: Path) -> None:
    import subprocess
    import sys

    from catalog.store import open_store as make

    make(f"sqlite:///{tmp_path / 'c.db'}", create=True).close()
    for option, value, field in (
        ("--log-format", "xml", "log_format"),
        ("--root-path", "no-slash", "root_path"),
        ("--workers", "0", "workers"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "api.cli", "serve", "--store", f"sqlite:///{tmp_path / 'c.db'}", option, value],
            capture_output=True,
            text=True,
            env={**os.environ, "IOC_CATALOG_SECRET_KEY": "x" * 40, "NO_COLOR": "1", "COLUMNS": "200"},
            timeout=120,
        )
        assert r.returncode == 1 and field in r.stderr and "Traceback" not in r.stderr, (option, r.stderr)
