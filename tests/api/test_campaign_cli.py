"""``ioc-catalog campaign open|list|show|remind|close|export`` (api/commands_campaign.py) on the sample catalog."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, SAMPLE
from openpyxl import load_workbook

from catalog.accounts import Accounts
from catalog.store import open_store
from importers.base import run_import


def _cli(url: str, *args: str, lang: str = "en") -> subprocess.CompletedProcess:
    env = {**os.environ, "IOC_CATALOG_LANG": lang, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "campaign", *args, "--store", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_campaign_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    store = open_store(url, create=True)
    try:
        assert run_import(store, SAMPLE).loaded
        Accounts(store).add_user("editor-snv", "editor", "organization:hcm-snv")
    finally:
        store.close()
    bad = _cli(url, "open", "kk", "--name", "x", "--org", "organization:nope", "--deadline", "2099-01-01")
    assert bad.returncode != 0 and "orgs" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr

    opened = _cli(
        url,
        *("open", "kk-2026", "--name", "Kiểm kê 2026", "--deadline", "2099-01-01", "--kind", "system"),
        *("--org", "organization:hcm-stc", "--org", "organization:hcm-snv"),
    )
    assert opened.returncode == 0, opened.stderr
    assert "Kiểm kê 2026" in _cli(url, "list").stdout

    sheet = tmp_path / "snv.xlsx"
    assert _cli(url, "export", "kk-2026", "--org", "organization:hcm-snv", "-o", str(sheet)).returncode == 0
    wb = load_workbook(sheet)
    assert [ws.title for ws in wb.worksheets if ws.title != "owner_history"] == ["system"]
    assert wb["system"].max_row == 1 + 3  # the header and Sở Nội vụ's three systems

    shown = json.loads(_cli(url, "show", "kk-2026", "--json").stdout)
    assert [(r["org"], r["total"], r["done"]) for r in shown["dashboard"]] == [
        ("organization:hcm-stc", 4, 0),
        ("organization:hcm-snv", 3, 0),
    ]
    reminded = _cli(url, "remind", "kk-2026")
    assert reminded.returncode == 0 and "editor-snv" in reminded.stdout

    closed = _cli(url, "close", "kk-2026")
    assert closed.returncode == 0 and "frozen" in closed.stdout
    out, bundle = tmp_path / "result.xlsx", tmp_path / "bundle.zip"
    done = _cli(url, "export", "kk-2026", "-o", str(out), "--bundle", str(bundle), lang="vi")
    assert done.returncode == 0, done.stderr
    summary = list(load_workbook(io.BytesIO(out.read_bytes())).worksheets[0].iter_rows(values_only=True))
    assert summary[0][:3] == ("Cơ quan, đơn vị", "Số mục", "Đã xác nhận")
    assert [r[0] for r in summary[1:]] == ["Sở Tài chính TP.HCM", "Sở Nội vụ TP.HCM"]
    assert "manifest.json" in zipfile.ZipFile(bundle).namelist()
    again = _cli(url, "close", "kk-2026")
    assert again.returncode != 0 and "closed" in again.stdout + again.stderr
