"""Load against the real server: `ioc-catalog serve` (uvicorn) on 127.0.0.1, 50 concurrent clients updating the same
ten systems with If-Match for a bounded time, retrying on 412.

Afterwards, from the store itself: every accepted update (2xx) is in the change log under the request id the client
sent, with the value it wrote; each entity's accepted versions are exactly its version sequence (two updates were
never accepted on the same base: no lost update); the final state equals the last logged state (the replay); the
log verifies; no response was a 5xx.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from catalog.store import open_store
from catalog.store.base import EntityFilter

from .conftest import build_catalog

CLIENTS = 50
SECONDS = float(os.environ.get("LOAD_SECONDS", "12"))
TARGETS = 10
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    """Start `ioc-catalog serve` on a free port; its output goes to a file (a pipe nobody reads would fill up with
    the access log and stall the server)."""
    port = _free_port()
    env = {
        **os.environ,
        "IOC_CATALOG_SECRET_KEY": "load-test-secret-" + uuid.uuid4().hex,
        "NO_COLOR": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("IOC_CATALOG_STORE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--store", f"sqlite:///{db}", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=(cwd / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the server exited: " + (cwd / "server.log").read_text()[-3000:])
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise AssertionError("the server did not answer within 60 s")


@pytest.mark.slow
def test_fifty_clients_never_lose_an_update(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    store, tokens = build_catalog(db)
    targets = [
        e.ref for e in store.list_entities(EntityFilter(kind="system", owner="organization:hcm-skhcn", limit=TARGETS))
    ]
    start_versions = {ref: store.get_entity(ref).version for ref in targets}
    store.close()
    assert len(targets) == TARGETS
    users = ["admin", "architect", "editor-skhcn"]  # everyone allowed to write these systems

    proc, base = _serve(db, tmp_path)
    accepted: list[tuple[str, str, str, int]] = []  # (ref, request id, value written, version from the ETag)
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def client(n: int) -> None:
        rng = random.Random(n)
        user = users[n % len(users)]
        auth = {"Authorization": f"Bearer {tokens[user]}"}
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            i = 0
            while time.monotonic() < stop_at:
                ref = rng.choice(targets)
                code = ref.split(":", 1)[1]
                value = f"client{n}-op{i}"
                i += 1
                rid = uuid.uuid4().hex
                for _ in range(50):  # re-read and retry on 412 until this update lands
                    got = http.get(f"/api/v1/systems/{code}")
                    with lock:
                        statuses[got.status_code] += 1
                    if got.status_code != 200:
                        continue
                    r = http.patch(
                        f"/api/v1/systems/{code}",
                        json={"attributes": {"vendor": value}},
                        headers={"If-Match": got.headers["etag"], "X-Request-Id": rid},
                    )
                    with lock:
                        statuses[r.status_code] += 1
                    if r.status_code == 200:
                        with lock:
                            accepted.append((ref, rid, value, int(r.headers["etag"].strip('"'))))
                        break
                    if r.status_code != 412:
                        with lock:
                            errors.append(f"{r.status_code} {r.text[:300]}")
                        break
                    if time.monotonic() >= stop_at + 20:
                        break

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 120)
        assert not any(t.is_alive() for t in threads)
        # the body limit on the real server counts a streamed (chunked) body, with no Content-Length to trust
        too_big = httpx.post(
            f"{base}/api/v1/systems",
            headers={"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"},
            content=(b"x" * 65536 for _ in range(100)),
            timeout=30,
        )
        assert too_big.status_code == 413 and too_big.json()["code"] == "body-too-large"
        assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        out = (tmp_path / "server.log").read_text(errors="replace")
    assert not errors, errors[:5]
    assert not [s for s in statuses if s >= 500], (statuses, out[-3000:])
    assert statuses[412] > 0, "the clients never collided: the test proves nothing"
    assert len(accepted) > 50, statuses  # ~400 on an idle 2-core machine
    print(
        f"\nload: {len(accepted)} accepted updates in {SECONDS:.0f} s by {CLIENTS} clients on {TARGETS} "
        f"entities; statuses {dict(statuses)}"
    )

    store = open_store(f"sqlite:///{db}")
    try:
        by_ref: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for ref, rid, value, version in accepted:
            by_ref[ref].append((rid, value, version))
        for ref in targets:
            log = [e for e in store.changelog(ref=ref) if e.op == "update"]
            logged = {e.request_id: e for e in log}
            mine = by_ref[ref]
            # every accepted update is in the log, under its request id, with the value it wrote ...
            for rid, value, _ in mine:
                assert rid in logged, f"accepted update {rid} of {ref} is not in the change log"
                assert logged[rid].after["attributes"]["vendor"] == value
            # ... and nothing else changed these entities (each logged update was answered 2xx to someone)
            assert len(log) == len(mine)
            # no lost update: the accepted versions are exactly the successive versions, each once
            assert sorted(v for _, _, v in mine) == list(
                range(start_versions[ref] + 1, start_versions[ref] + 1 + len(mine))
            )
            # the final state is the replay of the log: the last logged state, and the last accepted value
            final = store.get_entity(ref)
            assert final.version == start_versions[ref] + len(mine)
            assert final.content() == log[-1].after if mine else True
            if mine:
                assert final.attributes["vendor"] == max(mine, key=lambda m: m[2])[1]
        assert store.verify_log().ok
    finally:
        store.close()
