"""Findings 8 and 11 of issue 13, end to end: the change log's tail witnessed outside the store, and backups of a
live catalog.

8. ``verify-log`` could not see a truncated tail: deleting the last entry, or the last 50, with sqlite3 on the file
   still printed "OK". Now an audit bundle, ``verify-log --print-head`` and the ``IOC_CATALOG_HEAD_WITNESS`` file each
   witness the head, and ``verify-log --witness`` fails naming the missing range (the unchanged file still passes).
11. There was no backup. ``ioc-catalog backup`` taken while 20 clients write restores (``ioc-catalog restore``) into a
    catalog whose chain verifies and whose head is the live log's entry at that seq (helper tests in tests/store and
    tests/catalog cover both backends, the disk-full case and the proofs in depth; this is the thin end-to-end
    check).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from security.harness import OWN_ORG, Server, fresh


def _write_some(server: Server, n: int) -> None:
    with server.api("editor-skhcn") as c:
        for i in range(n):
            r = c.post(
                "/api/v1/systems",
                json={
                    "code": fresh("sec-log"),
                    "name": {"vi": f"Ghi {i}"},
                    "owner": OWN_ORG,
                    "attributes": {"lifecycle": "planned"},
                },
            )
            assert r.status_code == 201, r.text


def _truncate(db: Path, entries: int) -> tuple[int, int]:
    """Delete the last ``entries`` change-log entries with the sqlite3 shell (the server stopped); returns the
    (first, last) seq removed."""
    out = subprocess.run(
        ["sqlite3", str(db), "SELECT max(seq) FROM changelog;"], capture_output=True, text=True, check=True
    ).stdout
    last = int(out.strip())
    first = last - entries + 1
    subprocess.run(["sqlite3", str(db), f"DELETE FROM changelog WHERE seq >= {first};"], check=True)
    return first, last


def _verify(server: Server, db: Path, *witness: Path, env_witness: Path | None = None) -> subprocess.CompletedProcess:
    """``verify-log`` on ``db`` with the ``--witness`` files given and IOC_CATALOG_HEAD_WITNESS only when given."""
    args = ["verify-log", "--store", f"sqlite:///{db}"]
    for w in witness:
        args += ["--witness", str(w)]
    return server.cli(*args, store=False, env={"IOC_CATALOG_HEAD_WITNESS": str(env_witness) if env_witness else None})


def test_verify_log_with_a_witness_sees_a_truncated_tail(new_server: Callable[..., Server], tmp_path: Path) -> None:
    witness_file = tmp_path / "elsewhere" / "heads.jsonl"  # outside the store's folder
    witness_file.parent.mkdir()
    server = new_server(IOC_CATALOG_HEAD_WITNESS=str(witness_file))
    _write_some(server, 60)
    with server.web("auditor") as web:
        bundle = web.get("/download/bundle.zip")
        assert bundle.status_code == 200
    (tmp_path / "bundle.zip").write_bytes(bundle.content)
    printed = server.cli("verify-log", "--print-head")
    assert printed.returncode == 0, printed.stdout + printed.stderr
    head_file = tmp_path / "head.jsonl"
    head_file.write_text(printed.stdout.strip().splitlines()[-1] + "\n")
    assert witness_file.read_text().strip(), "the witness file got no head"
    server.stop()

    ok = _verify(server, server.db, tmp_path / "bundle.zip", head_file)
    assert ok.returncode == 0, ok.stdout + ok.stderr  # the untouched log holds every witnessed head
    for entries in (1, 50):
        for witness in ("bundle.zip", "head.jsonl", "IOC_CATALOG_HEAD_WITNESS"):
            copy = tmp_path / f"cut-{entries}-{witness}.db"
            shutil.copyfile(server.db, copy)
            first, last = _truncate(copy, entries)
            if witness == "IOC_CATALOG_HEAD_WITNESS":
                done = _verify(server, copy, env_witness=witness_file)
            else:
                done = _verify(server, copy, tmp_path / witness)
            text = done.stdout + done.stderr
            assert done.returncode != 0, (entries, witness, text)
            if entries == 1:
                assert re.search(rf"\b{last}\b", text), (witness, text)
            else:
                assert re.search(rf"\b{first}\b\D{{1,5}}\b{last}\b", text), (witness, text)
            # without a witness the shorter chain still verifies: what the witness is for
            assert _verify(server, copy).returncode == 0


def test_a_backup_taken_while_twenty_clients_write_restores_and_verifies(server: Server, tmp_path: Path) -> None:
    codes = []
    for _ in range(20):
        code = fresh("sec-bk")
        r = server.request(
            "POST",
            "/api/v1/systems",
            json={"code": code, "name": {"vi": "Sao lưu"}, "owner": OWN_ORG, "attributes": {"lifecycle": "production"}},
        )
        assert r.status_code == 201
        codes.append(code)
    stop = threading.Event()
    errors: list[str] = []
    written = [0]
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        with server.api("admin") as c:
            while not stop.is_set():
                code = rng.choice(codes)
                got = c.get(f"/api/v1/systems/{code}")
                r = c.patch(
                    f"/api/v1/systems/{code}",
                    headers={"If-Match": got.headers["etag"]},
                    json={"attributes": {"vendor": f"w{n}-{rng.random()}"}},
                )
                if r.status_code >= 500 or r.status_code not in (200, 412):
                    errors.append(f"{r.status_code} {r.text[:200]}")
                elif r.status_code == 200:
                    with lock:
                        written[0] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        backup = server.cli("backup", "-o", str(tmp_path / "backup.db"), timeout=600, env={"IOC_CATALOG_LANG": "en"})
        during = written[0]
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors[:5]
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert during > 0 and written[0] > during, "nobody wrote while the backup ran: the test proves nothing"
    printed = backup.stdout
    head = re.search(r"head #(\d+) ([0-9a-f]{64})", printed)
    content = re.search(r"content hash ([0-9a-f]{64})", printed)
    assert head and content, printed
    seq, head_hash = int(head.group(1)), head.group(2)

    restored = tmp_path / "restored.db"
    done = server.cli(
        "restore", str(tmp_path / "backup.db"), "--store", f"sqlite:///{restored}", store=False, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert head_hash in done.stdout and content.group(1) in done.stdout, done.stdout
    verified = _verify(server, restored)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # the backup's head is the live log's entry at that seq: a state the catalog really passed through
    live = server.get("/api/v1/changelog", "auditor", params={"after_seq": seq - 1, "limit": 1}).json()["items"]
    assert live and live[0]["seq"] == seq and live[0]["hash"] == head_hash
    assert server.get("/api/v1/changelog/verify", "auditor").json()["ok"] is True
