"""The security suite's harness: a real ``ioc-catalog serve`` (uvicorn on 127.0.0.1, not demo mode) over a copy of
the sample catalog with one user per role, each with a password and an API token, and an editor scoped to
organization:hcm-skhcn (and one to organization:hcm-stc, "another organisation").

- :func:`build_template` makes the catalog once per test session (importing the sample and hashing the passwords
  takes a while); :class:`Server` starts a server over a private copy of it, with its own temp folder (``TMPDIR``),
  and stops it (the store file can then be read or tampered with).
- :meth:`Server.api` is an ``httpx.Client`` as one role (bearer token; ``None``: anonymous); :meth:`Server.web` a
  browser-like client signed in through the sign-in form, with the CSRF token forms need.
- :meth:`Server.state` is the catalog as the API shows it (content of the native export, change-log head, drafts,
  users, tokens): equal before and after a refused request means the refusal changed nothing.
- :meth:`Server.cli` runs ``ioc-catalog`` on the same store file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "hcmc.json"
PASSWORD = "security-suite-password-1"
OWN_ORG, OTHER_ORG = "organization:hcm-skhcn", "organization:hcm-stc"
USERS = (
    ("admin", "admin", None),
    ("architect", "architect", None),
    ("editor-skhcn", "editor", OWN_ORG),
    ("editor-stc", "editor", OTHER_ORG),
    ("auditor", "auditor", None),
    ("viewer", "viewer", None),
)
ANON = "anonymous"
ROLES = (ANON,) + tuple(name for name, _, _ in USERS)
CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def build_template(path: Path) -> dict[str, str]:
    """The sample catalog with the users of :data:`USERS` (password :data:`PASSWORD`); returns name -> token."""
    from catalog.accounts import Accounts
    from catalog.store import open_store
    from importers.base import run_import

    store = open_store(f"sqlite:///{path}", create=True)
    try:
        report = run_import(store, SAMPLE)
        assert report.status == "finished" and not report.rejected, report
        accounts = Accounts(store)
        tokens = {}
        for name, role, org in USERS:
            accounts.add_user(name, role, org, display=name, password=PASSWORD)
            tokens[name] = accounts.create_token(name, "security suite", expires_days=30).secret
    finally:
        store.close()
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class State:
    """The catalog as the API shows it; compare two to prove a request changed nothing."""

    content: str  # SHA-256 of the native export (entities, relationships, organisation events)
    head: tuple[int, str]  # the change log's (seq, hash)
    records: str  # SHA-256 of the drafts, users and tokens lists


@dataclass
class Server:
    """``ioc-catalog serve`` on a free port over ``db``; its output goes to ``log`` (a pipe nobody reads would fill
    up and stall the server)."""

    dir: Path
    db: Path
    tokens: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    base: str = ""

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    @property
    def tmp(self) -> Path:
        """The server's temp folder (its TMPDIR): the web UI's uploads wait there."""
        return self.dir / "server-tmp"

    @property
    def log(self) -> Path:
        return self.dir / "server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def process_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "IOC_CATALOG_SECRET_KEY": "security-suite-" + uuid.uuid4().hex,
            "NO_COLOR": "1",
            "PYTHONPATH": str(ROOT),
            "TMPDIR": str(self.tmp),
            "COLUMNS": "200",
        }
        for name in ("IOC_CATALOG_STORE", "IOC_CATALOG_DEMO", "IOC_CATALOG_ANONYMOUS_ROLE", "IOC_CATALOG_HEAD_WITNESS"):
            env.pop(name, None)
        return {**env, **self.env}

    def start(self) -> Server:
        self.tmp.mkdir(exist_ok=True)
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--store", self.url, "--port", str(port)],
            cwd=self.dir,
            env=self.process_env(),
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the server exited: " + self.log.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")

    # --- clients ---------------------------------------------------------------------------------------------------
    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user and user != ANON else {}

    def api(self, user: str | None = None, **kw: Any) -> httpx.Client:
        """A client of the API as ``user`` (None or "anonymous": no credentials)."""
        return httpx.Client(base_url=self.base, headers=self.headers(user), timeout=kw.pop("timeout", 60), **kw)

    def get(self, path: str, user: str | None = "admin", **kw: Any) -> httpx.Response:
        with self.api(user) as c:
            return c.get(path, **kw)

    def request(self, method: str, path: str, user: str | None = "admin", **kw: Any) -> httpx.Response:
        with self.api(user) as c:
            return c.request(method, path, **kw)

    def etag(self, path: str) -> str:
        r = self.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.headers["etag"]

    def web(self, user: str | None = None, password: str = PASSWORD) -> WebSession:
        return WebSession(self, user, password)

    # --- what the catalog holds ------------------------------------------------------------------------------------
    def state(self) -> State:
        with self.api("admin") as c:
            export = c.get("/api/v1/exports/native")
            assert export.status_code == 200, export.text[:500]
            head = c.get("/api/v1/health", params={"counts": "false"}).json()["revision"]
            records = [c.get(p) for p in ("/api/v1/drafts?status=all&limit=1000", "/api/v1/users", "/api/v1/tokens")]
            assert all(r.status_code == 200 for r in records), [r.text[:300] for r in records]
        return State(
            hashlib.sha256(export.content).hexdigest(),
            (head["seq"], head["hash"]),
            hashlib.sha256(b"\0".join(r.content for r in records)).hexdigest(),
        )

    def cli(
        self, *args: str, timeout: float = 300, env: dict[str, str | None] | None = None, store: bool = True
    ) -> subprocess.CompletedProcess:
        """``ioc-catalog ARGS --store <this server's file>`` (store=False: without --store), in the server's
        environment changed by ``env`` (a None value removes the variable)."""
        extra = ["--store", self.url] if store else []
        environ = {**self.process_env(), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args, *extra],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={k: v for k, v in environ.items() if v is not None},
        )

    def import_runs(self) -> list[dict[str, Any]]:
        """The recorded import runs, newest first (``ioc-catalog imports --json``, beside the running server)."""
        done = self.cli("imports", "--json", "--limit", "50")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout) if done.stdout.strip().startswith("[") else []


class WebSession:
    """A browser without a browser: cookies, the CSRF token of the forms, sign-in through the form."""

    def __init__(self, server: Server, user: str | None, password: str = PASSWORD):
        self.server = server
        self.client = httpx.Client(base_url=server.base, follow_redirects=False, timeout=120)
        self._csrf = ""
        if user and user != ANON:
            r = self.sign_in(user, password)
            assert r.status_code == 303, (user, r.status_code, r.text[:1000])

    def csrf(self) -> str:
        if not self._csrf:
            page = self.client.get("/signin")
            m = CSRF_FIELD.search(page.text)
            assert m, page.text[:500]
            self._csrf = m.group(1)
        return self._csrf

    def sign_in(self, user: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/signin", {"name": user, "password": password, "next": "/"})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any], files: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf(), **data}, files=files)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> WebSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_copy(
    template: Path, tokens: dict[str, str], where: Path, prepare: Callable[[Path], None] | None = None, **env: str
) -> Server:
    """A server over a private copy of the template catalog (``prepare(db)`` runs on the copy before the start)."""
    where.mkdir(parents=True, exist_ok=True)
    db = where / "catalog.db"
    shutil.copyfile(template, db)
    if prepare is not None:
        prepare(db)
    return Server(where, db, dict(tokens), env=env).start()


_counter = iter(range(1, 10**9))


def fresh(prefix: str) -> str:
    """A code no other test of the run uses."""
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


def problem(r: httpx.Response) -> dict[str, Any]:
    """The problem+json body of a refusal (asserts the media type)."""
    assert r.headers.get("content-type", "").startswith("application/problem+json"), (
        r.status_code,
        r.headers,
        r.text[:500],
    )
    return r.json()


__all__ = [
    "ANON",
    "OTHER_ORG",
    "OWN_ORG",
    "PASSWORD",
    "ROLES",
    "ROOT",
    "SAMPLE",
    "USERS",
    "Server",
    "State",
    "WebSession",
    "build_template",
    "free_port",
    "fresh",
    "problem",
    "serve_copy",
]
