"""Sign-in cannot be brute-forced: failed sign-ins and bad API tokens are throttled per account and per client
address (catalog.throttle, settings signin_*), answered 429 with Retry-After in the page's or the client's language,
logged on ioc_catalog.auth, and the password check runs off the event loop. The first tests use the in-process app;
the last one a real server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import limits.storage.memory
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.accounts import Accounts
from catalog.settings import Settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from catalog.throttle import Throttled

from .conftest import build_catalog
from .test_load import _serve

PASSWORD = "mật-khẩu-đủ-dài-123"
HERE, THERE = "198.51.100.7", "203.0.113.9"
VI_429 = "Vui lòng thử lại sau"
EN_429 = "Try again in"


class Server:
    """The in-process app over a private copy of the sample catalog; ``client(address)`` connects from there."""

    def __init__(self, store: CatalogStore, settings: Settings):
        self.store = store
        self.app = create_app(settings, store=store)
        self.clients: list[TestClient] = []

    def client(self, address: str = HERE) -> TestClient:
        c = TestClient(self.app, client=(address, 50000), raise_server_exceptions=False)
        c.__enter__()
        self.clients.append(c)
        return c


@pytest.fixture
def serve(tmp_path: Path, template_catalog: tuple[Path, dict[str, str]]) -> Iterator[Callable[..., Server]]:
    template, _ = template_catalog
    made: list[Server] = []

    def make(**settings: Any) -> Server:
        shutil.copyfile(template, tmp_path / "catalog.db")
        store = open_store(f"sqlite:///{tmp_path / 'catalog.db'}")
        for name in ("architect", "auditor"):
            Accounts(store).set_password(name, PASSWORD)
        made.append(Server(store, Settings(demo=True, **settings)))
        return made[-1]

    yield make
    for server in made:
        for c in server.clients:
            c.__exit__(None, None, None)
        server.store.close()


@pytest.fixture
def tokens(template_catalog: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return template_catalog[1]


def sign_in(c: TestClient, name: str, password: str) -> httpx.Response:
    page = c.get("/signin")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
    return c.post(
        "/signin", data={"csrf": csrf, "name": name, "password": password, "next": "/"}, follow_redirects=False
    )


def _retry_after(r: httpx.Response, window: int = 900) -> int:
    seconds = int(r.headers["retry-after"])
    assert 1 <= seconds <= window
    return seconds


def test_twenty_wrong_passwords_then_the_right_one_is_refused(serve: Callable[..., Server]) -> None:
    server = serve()
    c = server.client()
    statuses = [sign_in(c, "architect", f"wrong-{i}").status_code for i in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    right = sign_in(c, "architect", PASSWORD)
    assert right.status_code == 429, "the right password must not get through while the account is locked"
    assert "ioc_session" not in right.headers.get("set-cookie", "")
    seconds = _retry_after(right)
    assert "text/html" in right.headers["content-type"]
    assert f"{VI_429} {seconds} giây" in right.text and 'id="signin-error"' in right.text
    c.cookies.set("ioc_lang", "en")
    english = sign_in(c, "architect", PASSWORD)
    assert english.status_code == 429 and f"{EN_429} {_retry_after(english)} seconds" in english.text
    # the lock is the account's, wherever the attempts come from; another account from here is not locked
    assert sign_in(server.client(THERE), "architect", PASSWORD).status_code == 429
    assert sign_in(c, "auditor", PASSWORD).status_code == 303


def test_unknown_names_are_locked_like_real_ones(serve: Callable[..., Server]) -> None:
    c = serve().client()
    assert [sign_in(c, "no-such-user", "whatever-123").status_code for _ in range(6)] == [401] * 5 + [429]


def test_the_address_limit_counts_every_name_and_a_success_does_not_reset_it(serve: Callable[..., Server]) -> None:
    server = serve(signin_failures_per_account=100, signin_failures_per_address=6)
    c = server.client()
    assert [sign_in(c, name, "wrong-password").status_code for name in ("lan", "binh", "auditor")] == [401] * 3
    assert sign_in(c, "architect", PASSWORD).status_code == 303
    assert [sign_in(c, "architect", "wrong-password").status_code for _ in range(3)] == [401] * 3
    assert sign_in(c, "auditor", PASSWORD).status_code == 429  # 6 failures from here, the success in between too
    assert sign_in(server.client(THERE), "auditor", PASSWORD).status_code == 303


def test_a_success_clears_the_account_failures(serve: Callable[..., Server]) -> None:
    c = serve().client()
    assert [sign_in(c, "architect", "wrong-password").status_code for _ in range(4)] == [401] * 4
    assert sign_in(c, "architect", PASSWORD).status_code == 303
    assert [sign_in(c, "architect", "wrong-password").status_code for _ in range(5)] == [401] * 5


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(serve: Callable[..., Server]) -> None:
    server = serve()
    throttle = server.app.state.throttle
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def guess(i: int) -> None:
        accounts = Accounts(server.store, throttle=throttle, client=f"192.0.2.{i}")  # 20 addresses, one account
        try:
            got = accounts.authenticate_password("architect", f"guess-{i}")
        except Throttled:
            got = "throttled"
        with lock:
            outcomes[got] += 1

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {None: 5, "throttled": 15}  # checked: 5 wrong guesses; the rest refused unchecked
    with pytest.raises(Throttled):
        Accounts(server.store, throttle=throttle, client="192.0.2.99").authenticate_password("architect", PASSWORD)


def test_bad_tokens_are_throttled_per_address_in_both_languages(
    serve: Callable[..., Server], tokens: dict[str, str]
) -> None:
    server = serve()
    c = server.client()
    forged = "ioc_0123456789ab_" + "A" * 43
    bad = [forged, "not-a-token", tokens["admin"][:-1] + "x", "ioc_" + "0" * 12 + "_" + "B" * 43]
    for i in range(10):  # IOC_CATALOG_SIGNIN_TOKEN_FAILURES_PER_ADDRESS
        r = c.get("/api/v1/systems", headers={"Authorization": f"Bearer {bad[i % len(bad)]}"})
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated", i
    good = {"Authorization": f"Bearer {tokens['admin']}"}
    vi = c.get("/api/v1/systems", headers=good)
    en = c.get("/api/v1/systems", headers={**good, "Accept-Language": "en"})
    for r in (vi, en):
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "too-many-attempts" and r.json()["status"] == 429
    assert vi.json()["title"] == "Quá nhiều lần đăng nhập sai"
    assert f"{VI_429} {_retry_after(vi)} giây" in vi.json()["detail"]
    assert en.json()["title"] == "Too many failed sign-in attempts"
    assert f"{EN_429} {_retry_after(en)} seconds" in en.json()["detail"]
    # a write with a good token is refused before anything is checked or written
    before = server.store.revision()
    w = c.post("/api/v1/systems", headers=good, json={"code": "x", "name": {"vi": "x"}})
    assert w.status_code == 429 and server.store.revision() == before
    assert c.get("/api/v1/systems").status_code == 200  # anonymous reading sends no credentials: not refused
    assert c.get("/", headers=good).status_code == 200  # a web page with a token from here: browsed anonymously
    assert server.client(THERE).get("/api/v1/systems", headers=good).status_code == 200
    # a program's bad tokens do not lock the people of its address out of the web sign-in (10 of their 50)...
    assert sign_in(c, "architect", PASSWORD).status_code == 303
    for i in range(40):  # ...but they count towards the address's limit: with 40 failed sign-ins, 50 in all
        assert sign_in(c, f"nobody-{i}", PASSWORD).status_code == 401, i
    assert sign_in(c, "architect", PASSWORD).status_code == 429


def test_the_window_moves_on(serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch) -> None:
    class Clock:
        now = 1_800_000_000.0

        @classmethod
        def time(cls) -> float:
            return cls.now

    monkeypatch.setattr(limits.storage.memory, "time", Clock)  # the limiter's in-memory storage reads this clock
    server = serve(signin_window_seconds=600)
    server.app.state.throttle.clock = Clock.time
    c = server.client()
    for _ in range(5):
        sign_in(c, "architect", "wrong-password")
        Clock.now += 60  # failures at t, t+60, ..., t+240
    locked = sign_in(c, "architect", PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == 600 - 300
    Clock.now += 299
    assert sign_in(c, "architect", PASSWORD).status_code == 429
    Clock.now += 2  # the first failure has left the window: one more try
    assert sign_in(c, "architect", PASSWORD).status_code == 303


def test_failed_and_throttled_attempts_are_logged_without_secrets(
    serve: Callable[..., Server], tokens: dict[str, str], caplog
) -> None:
    c = serve(signin_failures_per_account=2).client()
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        sign_in(c, "architect", "wrong-password-1")
        sign_in(c, "nobody", "wrong-password-2")
        sign_in(c, "architect", "wrong-password-3")
        sign_in(c, "architect", PASSWORD)
        c.get("/api/v1/me", headers={"Authorization": "Bearer " + tokens["admin"][:-1] + "x"})
    auth = [r for r in caplog.records if r.name == "ioc_catalog.auth"]
    assert [(r.auth_event, r.auth_door, r.auth_user, r.auth_client, r.auth_reason) for r in auth] == [
        ("failed", "password", "architect", HERE, "wrong-password"),
        ("failed", "password", "nobody", HERE, "unknown-user"),
        ("failed", "password", "architect", HERE, "wrong-password"),
        ("throttled", "password", "architect", HERE, "too-many-failures-per-account"),
        ("failed", "token", None, HERE, "unknown-token"),
    ]
    text = "\n".join(r.getMessage() for r in auth)
    assert re.search(
        rf"sign-in throttled: door=password user='architect' client={HERE} "
        r"reason=too-many-failures-per-account retry_after=\d+",
        text,
    )
    assert "token=" + tokens["admin"][4:16] in text  # the token's id, which is not secret
    assert PASSWORD not in text and "wrong-password-" not in text and tokens["admin"][17:] not in text


def test_the_password_check_runs_off_the_event_loop(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.accounts

    real = catalog.accounts.verify_password
    seen: list[bool] = []

    def spy(password: str, stored: str | None) -> tuple[bool, bool]:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(password, stored)

    monkeypatch.setattr(catalog.accounts, "verify_password", spy)
    c = serve().client()
    assert sign_in(c, "architect", PASSWORD).status_code == 303
    assert sign_in(c, "architect", "wrong-password").status_code == 401
    assert seen == [False, False]  # both checks ran in a worker thread, none on the event loop


def test_a_real_server_refuses_the_brute_force(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    store, tokens = build_catalog(db)
    Accounts(store).set_password("architect", PASSWORD)
    store.close()
    proc, base = _serve(db, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            page = http.get("/signin").text
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]

            def attempt(password: str) -> httpx.Response:
                return http.post("/signin", data={"csrf": csrf, "name": "architect", "password": password})

            with ThreadPoolExecutor(20) as pool:  # 20 wrong passwords at once, as a brute-forcer sends them
                burst = list(pool.map(attempt, [f"wrong-{i}" for i in range(20)]))
            assert Counter(r.status_code for r in burst) == {401: 5, 429: 15}
            assert all(_retry_after(r) for r in burst if r.status_code == 429)
            right = attempt(PASSWORD)
            assert right.status_code == 429 and VI_429 in right.text and _retry_after(right)
            bad = [f"Bearer ioc_{i:012x}_{'C' * 43}" for i in range(50)]
            statuses = [http.get("/api/v1/me", headers={"Authorization": b}).status_code for b in bad]
            # bad tokens from one address: 10 (IOC_CATALOG_SIGNIN_TOKEN_FAILURES_PER_ADDRESS), then refused
            assert statuses == [401] * 10 + [429] * 40
            r = http.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['admin']}", "Accept-Language": "en"})
            assert r.status_code == 429 and r.json()["code"] == "too-many-attempts" and _retry_after(r)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    log = (tmp_path / "server.log").read_text(errors="replace")
    failed = re.findall(r"^\S+ \S+ WARNING ioc_catalog\.auth sign-in failed: .*$", log, re.M)
    throttled = re.findall(r"^\S+ \S+ WARNING ioc_catalog\.auth sign-in throttled: .*$", log, re.M)
    assert len(failed) == 5 + 10 and len(throttled) == 15 + 1 + 40 + 1
    assert "user='architect' client=127.0.0.1 reason=wrong-password" in failed[0]
    assert PASSWORD not in log and "wrong-1" not in log and "C" * 43 not in log and tokens["admin"] not in log
    assert "Traceback" not in log and " 500 " not in log


def test_parallel_token_checks_are_not_held_back_but_password_checks_are() -> None:
    """A program sends many requests at once with its good token: checks in flight are not counted for tokens (they
    take no time), while parallel password guesses are, up to the account's limit."""
    from catalog.throttle import SignInThrottle, Throttled

    throttle = SignInThrottle(per_account=5, per_address=50, tokens_per_address=10)
    tokens = [throttle.begin(None, "192.0.2.7") for _ in range(30)]  # 30 token checks in flight at once
    for attempt in tokens:
        attempt.succeeded()
    passwords = [throttle.begin("architect", "192.0.2.8") for _ in range(5)]
    with pytest.raises(Throttled):
        throttle.begin("architect", "192.0.2.8")
    for attempt in passwords:
        attempt.failed()
    for _ in range(10):
        throttle.begin(None, "192.0.2.9").failed()
    with pytest.raises(Throttled) as refused:
        throttle.begin(None, "192.0.2.9")
    assert refused.value.limit == "token"
