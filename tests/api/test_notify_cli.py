"""``ioc-catalog notify run --once`` (api/commands_notify.py): one pass of notices and webhooks from the command line,
as cron or a systemd service runs it, against a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from http_receiver import Receiver, free_port

from catalog.services import CatalogService
from catalog.store import open_store
from catalog.webhooks import Webhooks, verify


def test_notify_run_once_delivers_pending_events(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    store = open_store(url, create=True)
    port = free_port()
    try:
        svc = CatalogService(store)
        svc.register(
            {
                "kind": "organization",
                "code": "hcm-stc",
                "name": {"vi": "Sở Tài chính"},
                "attributes": {"org_type": "department"},
            }
        )
        sub, secret = Webhooks(store).create(f"http://127.0.0.1:{port}/", events=["entity.created"])
        svc.register(
            {
                "kind": "system",
                "code": "hcm-ngan-sach",
                "name": {"vi": "Hệ thống quản lý ngân sách"},
                "owner": "organization:hcm-stc",
                "attributes": {"lifecycle": "production"},
            }
        )
    finally:
        store.close()
    receiver = Receiver(port)
    try:
        env = {**os.environ, "IOC_CATALOG_LANG": "en", "NO_COLOR": "1"}
        run = subprocess.run(
            [sys.executable, "-m", "api.cli", "notify", "run", "--once", "--store", url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        again = subprocess.run(
            [sys.executable, "-m", "api.cli", "notify", "run", "--once", "--store", url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        receiver.close()
    assert run.returncode == 0, run.stderr
    assert "1 delivered" in run.stdout and "0 delivered" in again.stdout
    [(headers, body)] = receiver.got
    assert verify(secret, body, headers["x-ioc-signature-256"]) and headers["x-ioc-hook-id"] == sub.id
    assert json.loads(body)["ref"] == "system:hcm-ngan-sach"
