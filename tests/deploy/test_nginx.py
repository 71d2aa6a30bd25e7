"""The deployment guide, run: Debian's nginx with a self-signed certificate in front of ``ioc-catalog serve
--workers 2`` under /ioc-catalog/, both on 127.0.0.1, with the nginx site taken from docs/deploy.md.

Checks what the issue asks: the API and the web UI through https (cookies Secure, redirects https and under the
prefix), the client address from X-Forwarded-For on the JSON log line (and a spoofed one ignored), /metrics with
the request histograms and the change-log head, one request id in the answer, the problem+json and the change log,
and a write through one worker seen by reads through both (each worker answers with its pid: test mode).

nginx comes from the project's setup (dev.sh installs nginx-light with the browser tools); without it the test
skips, and fails under CI=true.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web.uitest import PASSWORD, ROOT, _free_port, build_catalog, chromium_path, strict

PREFIX = "/ioc-catalog"
DEPLOY_MD = ROOT / "docs" / "deploy.md"
ARTIFACTS = ROOT / "test-artifacts" / "deploy"

pytestmark = pytest.mark.slow


def nginx_path() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not path:
        msg = "nginx not found: ./dev.sh test installs Debian's nginx-light"
        if strict():
            pytest.fail(msg + " (CI=true: the deployment test must run)", pytrace=False)
        pytest.skip(msg)
    return path


def site_from_docs() -> str:
    """The nginx site of docs/deploy.md, exactly as a reader copies it."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY_MD.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/deploy.md has one nginx site"
    return blocks[0]


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp / "cert.pem", tmp / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.chmod(0o600)
    return crt, pem


def nginx_conf(tmp: Path, app_port: int, https_port: int, http_port: int, crt: Path, key: Path) -> Path:
    site = site_from_docs()
    for old, new in (
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("/etc/ssl/certs/ioc-catalog.pem", str(crt)),
        ("/etc/ssl/private/ioc-catalog.key", str(key)),
    ):
        assert old in site, f"docs/deploy.md's nginx site no longer has {old!r}"
        site = site.replace(old, new)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as root only when nginx starts as root (tmp is 0700)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    log_format ids '$remote_addr $request_id "$request" $status';
    access_log {tmp}/nginx-access.log ids;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; }}
{site}
}}
""",
        encoding="utf-8",
    )
    return conf


def _wait(what: str, check, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not start: {log.read_text(errors='replace')[-3000:]}")


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 1):
        return True


@dataclass
class Deployment:
    base: str  # https://127.0.0.1:PORT/ioc-catalog
    app: str  # http://127.0.0.1:PORT (the workers, directly)
    http: str  # http://127.0.0.1:PORT (nginx's plain http server)
    token: str  # an architect's API token
    log: Path  # the server's JSON log

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(verify=False, timeout=30, **kw)

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = nginx_path()
    tmp = tmp_path_factory.mktemp("deploy")
    url = build_catalog(tmp / "catalog.db")
    from catalog.accounts import Accounts
    from catalog.store import open_store

    store = open_store(url)
    try:
        token = Accounts(store).create_token("architect", "deploy test").secret
    finally:
        store.close()
    app_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "IOC_CATALOG_SECRET_KEY": secrets.token_hex(32),
        "IOC_CATALOG_WORKER_PID_HEADER": "1",
        "IOC_CATALOG_RUN_DIR": str(tmp / "run"),
        "IOC_CATALOG_NOTIFY_WORKER": "false",
        "NO_COLOR": "1",
    }
    for name in ("IOC_CATALOG_DEMO", "IOC_CATALOG_STORE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    server_log = tmp / "server.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--store",
            url,
            "--port",
            str(app_port),
            "--workers",
            "2",
            "--root-path",
            PREFIX,
            "--log-format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        stdout=server_log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    crt, key = self_signed(tmp)
    conf = nginx_conf(tmp, app_port, https_port, http_port, crt, key)
    nginx_log = tmp / "nginx-error.log"
    nginx_log.touch()
    proxy = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(tmp), "-e", str(nginx_log)],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "nginx-stderr.log").open("w"),
        start_new_session=True,
    )
    dep = Deployment(
        f"https://127.0.0.1:{https_port}{PREFIX}",
        f"http://127.0.0.1:{app_port}",
        f"http://127.0.0.1:{http_port}",
        token,
        server_log,
    )
    try:
        _wait(
            "ioc-catalog serve",
            lambda: httpx.get(f"{dep.app}/health/ready", timeout=2).status_code == 200,
            server,
            server_log,
        )
        _wait("nginx", lambda: _listening(https_port), proxy, nginx_log)
        yield dep
    finally:
        for proc in (proxy, server):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in ("server.log", "nginx-error.log", "nginx-access.log"):
            if (tmp / name).exists():
                shutil.copy(tmp / name, ARTIFACTS / name)


def test_health_and_api_through_https(deployment: Deployment) -> None:
    with deployment.client() as c:
        live = c.get(f"{deployment.base}/health/live")
        assert live.status_code == 200 and live.json()["status"] == "ok"
        ready = c.get(f"{deployment.base}/health/ready").json()
        assert ready["status"] == "ok" and ready["schema"]["found"] == ready["schema"]["expected"]
        r = c.get(f"{deployment.base}/api/v1/entities", params={"kind": "system", "limit": 5})
        assert r.status_code == 200 and r.json()["items"]
        # a diagram goes through the long-timeout location of the site (the prefix stripped by its rewrite)
        svg = c.get(f"{deployment.base}/api/v1/diagrams/ioc.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in svg.text
        # the problem names the request: the id nginx gave it ($request_id), answered in X-Request-Id
        missing = c.get(f"{deployment.base}/api/v1/entities/system:khong-co")
        assert missing.status_code == 404
        rid = missing.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid) and missing.json()["request_id"] == rid
    # nginx writes the access-log line in its log phase, after the response's last byte: the client can read the
    # file before it is there, so wait for it (a few seconds at most)
    access = Path(deployment.log).parent / "nginx-access.log"
    deadline = time.monotonic() + 10
    while f" {rid} " not in access.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f" {rid} " in access.read_text(), "the request id is nginx's $request_id"


def test_plain_http_and_the_bare_prefix_redirect_to_https(deployment: Deployment) -> None:
    with deployment.client() as c:
        r = c.get(f"{deployment.http}{PREFIX}/")
        assert r.status_code == 301 and r.headers["location"].startswith("https://")
        bare = c.get(deployment.base)  # /ioc-catalog without its slash
        assert bare.status_code == 301 and bare.headers["location"] == deployment.base + "/"


def test_web_redirects_stay_https_under_the_prefix_and_cookies_are_secure(deployment: Deployment) -> None:
    with deployment.client() as c:
        page = c.get(f"{deployment.base}/signin")
        assert page.status_code == 200
        links = re.findall(r'(?:href|src|action)="(/[^"]*)"', page.text)
        assert links and all(link.startswith(PREFIX + "/") for link in links), links
        for cookie in page.headers.get_list("set-cookie"):
            assert "Secure" in cookie and f"Path={PREFIX}" in cookie, cookie
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, "the sign-in form carries its CSRF token"
        signed = c.post(
            f"{deployment.base}/signin",
            data={"name": "architect", "password": PASSWORD, "csrf": csrf.group(1), "next": f"{PREFIX}/"},
        )
        assert signed.status_code in (302, 303), signed.text[:500]
        where = signed.headers["location"]
        assert where.startswith(PREFIX + "/") or where.startswith(deployment.base + "/"), where
        session = [x for x in signed.headers.get_list("set-cookie") if x.startswith("ioc_session=")]
        assert session and "Secure" in session[0] and "HttpOnly" in session[0] and f"Path={PREFIX}" in session[0]


def test_the_client_address_comes_from_the_proxy_only(deployment: Deployment) -> None:
    """nginx forwards the real peer (127.0.0.2) in X-Forwarded-For; a client talking to the workers directly cannot
    choose its address with the same header."""
    via_proxy, direct = f"via-proxy-{uuid.uuid4().hex[:8]}", f"direct-{uuid.uuid4().hex[:8]}"
    with deployment.client(transport=httpx.HTTPTransport(local_address="127.0.0.2", verify=False)) as c:
        assert c.get(f"{deployment.base}/health/live", headers={"X-Request-Id": via_proxy}).status_code == 200
        spoofed = {"X-Request-Id": direct, "X-Forwarded-For": "198.51.100.9"}
        assert c.get(f"{deployment.app}/health/live", headers=spoofed).status_code == 200
    lines = _lines_for(deployment, {via_proxy, direct})
    # nginx replaces the client's X-Request-Id with its own $request_id: find the proxied line by the peer instead
    proxied = [
        x
        for x in deployment.lines()
        if x.get("route") == "/health/live" and x.get("client") == "127.0.0.2" and x["request_id"] != direct
    ]
    assert proxied and all(x["scheme"] == "https" for x in proxied), "nginx's client, scheme https"
    assert lines[direct]["client"] == "127.0.0.2" and lines[direct]["scheme"] == "http", (
        "a direct client's header is ignored"
    )


def _lines_for(deployment: Deployment, ids: set[str], seconds: float = 10) -> dict[str, dict]:
    deadline = time.monotonic() + seconds
    while True:
        found = {x["request_id"]: x for x in deployment.lines() if x.get("request_id") in ids}
        if len(found) >= len([i for i in ids if not i.startswith("via-proxy")]) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def searches(deployment: Deployment, code: str) -> dict[str, bool]:
    """worker pid -> whether its search found ``code``: bursts of 8 parallel searches until two workers answered
    (at most 20 bursts); a worker that answered both ways fails the test."""
    from concurrent.futures import ThreadPoolExecutor

    seen: dict[str, set[bool]] = {}

    def one(_: int) -> tuple[str, bool]:
        with deployment.client() as c:
            r = c.get(f"{deployment.base}/api/v1/search", params={"q": code})
            assert r.status_code == 200, r.text[:300]
            return r.headers["x-worker-pid"], code in json.dumps(r.json()["items"])

    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            for pid, found in pool.map(one, range(8)):
                seen.setdefault(pid, set()).add(found)
            if len(seen) >= 2:
                break
    assert all(len(v) == 1 for v in seen.values()), f"a worker answered both ways: {seen}"
    return {pid: next(iter(v)) for pid, v in seen.items()}


def test_a_write_through_one_worker_is_read_through_both(deployment: Deployment) -> None:
    code = f"deploy-{uuid.uuid4().hex[:8]}"
    name = f"Hệ thống kiểm thử triển khai {code}"
    auth = {"Authorization": f"Bearer {deployment.token}"}
    with deployment.client() as c:
        # both workers answer a search first (their caches hold the catalog before the write); nginx keeps its
        # upstream connections open, so requests go in parallel bursts until both workers have answered
        before = searches(deployment, code)
        assert all(found is False for found in before.values())
        assert len(before) == 2, "both workers answered"
        created = c.post(
            f"{deployment.base}/api/v1/systems",
            headers=auth,
            json={
                "code": code,
                "name": {"vi": name},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "production"},
            },
        )
        assert created.status_code == 201, created.text[:500]
        rid = created.headers["x-request-id"]
        seen = searches(deployment, code)
        assert seen == dict.fromkeys(before, True), f"every worker sees the write: {seen}"
        log = c.get(f"{deployment.base}/api/v1/changelog", params={"ref": f"system:{code}"}, headers=auth)
        assert log.status_code == 200
        entries = [e for e in log.json()["items"] if e["ref"] == f"system:{code}"]
        assert entries and entries[0]["request_id"] == rid, "the change log carries the HTTP request's id"
    line = _lines_for(deployment, {rid})[rid]
    assert line["actor"] == "architect" and line["route"] == "/api/v1/systems" and line["status"] == 201


def test_no_secret_reaches_the_log(deployment: Deployment) -> None:
    wrong = f"wrong-password-{uuid.uuid4().hex}"
    bad_token = f"ioc_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    with deployment.client() as c:
        page = c.get(f"{deployment.base}/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        c.post(f"{deployment.base}/signin", data={"name": "viewer", "password": wrong, "csrf": csrf})
        c.get(f"{deployment.base}/api/v1/entities?token={bad_token}", headers={"Authorization": f"Bearer {bad_token}"})
        c.get(f"{deployment.base}/?secret={wrong}", headers={"Cookie": f"ioc_session={bad_token}"})
    time.sleep(1)
    text = deployment.log.read_text(encoding="utf-8")
    for secret in (wrong, bad_token, PASSWORD, deployment.token):
        assert secret not in text
    lines = deployment.lines()
    assert lines and all("request_id" in x or "message" in x for x in lines)


def test_metrics_through_the_proxy(deployment: Deployment) -> None:
    with deployment.client() as c:
        for _ in range(4):
            c.get(f"{deployment.base}/api/v1/entities", params={"kind": "system", "limit": 1})
        r = c.get(f"{deployment.base}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert 'ioc_catalog_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/api/v1/entities"' in body
    count = re.search(
        r'ioc_catalog_http_request_duration_seconds_count\{method="GET",route="/api/v1/entities",status="200"\} ([0-9.]+)',
        body,
    )
    assert count and float(count.group(1)) >= 4
    head = re.search(r"^ioc_catalog_changelog_head ([0-9.]+)$", body, re.M)
    assert head and float(head.group(1)) > 0
    assert re.search(r'ioc_catalog_store_operation_duration_seconds_count\{operation="list_entities"\} [1-9]', body)
    (ARTIFACTS / "metrics.txt").parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "metrics.txt").write_text(body, encoding="utf-8")


def test_the_web_ui_in_a_browser_through_https(deployment: Deployment) -> None:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            ctx = b.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 860}, locale="vi-VN")
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{deployment.base}/signin")
            page.fill("#name", "architect")
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click("form.narrow button[type=submit]")
            assert page.url.startswith(deployment.base + "/"), page.url
            cookies = {c["name"]: c for c in ctx.cookies()}
            assert "ioc_session" in cookies
            assert all(c["secure"] and c["path"].startswith(PREFIX) for c in cookies.values()), cookies
            page.goto(f"{deployment.base}/?kind=system")
            link = page.locator("main a[href*='/entities/system:']").first
            with page.expect_navigation():
                link.click()
            assert page.url.startswith(f"{deployment.base}/entities/system:"), page.url
            assert page.locator("h1").first.is_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "entity-through-nginx.png"))
            # the explorer fetches the API from its script: under the prefix too
            ref = page.url.split("/entities/")[1].split("?")[0]
            with page.expect_response(lambda r: "/api/v1/graph/explore" in r.url) as answer:
                page.goto(f"{deployment.base}/explore?lang=en&start={ref}")
            assert answer.value.status == 200 and answer.value.url.startswith(f"{deployment.base}/api/v1/")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / "explorer-through-nginx.png"))
        finally:
            b.close()
    assert errors == [], errors
    assert failed == [], f"requests that failed through the proxy: {failed}"


def test_the_systemd_unit_and_environment_of_the_guide_name_real_settings() -> None:
    from catalog.settings import Settings

    text = DEPLOY_MD.read_text(encoding="utf-8")
    named = set(re.findall(r"^IOC_CATALOG_([A-Z_]+)=", text, re.M))
    assert named and {n.lower() for n in named} <= set(Settings.model_fields), named
    unit = re.search(r"ExecStart=(\S+) serve (.*)", text)
    assert unit and unit.group(1).endswith("/ioc-catalog")
    help_text = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    for option in re.findall(r"--[a-z-]+", unit.group(2)):
        assert option in help_text, option
    size = re.search(r"client_max_body_size (\d+)m;", site_from_docs())
    assert size and int(size.group(1)) * 1024 * 1024 >= Settings().max_import_bytes, "uploads as large as an import"
