"""The command line as a user runs it: real processes, real files; errors are messages, never tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("IOC_CATALOG_STORE", None)
    if env and "IOC_CATALOG_STORE" in env:
        full_env["IOC_CATALOG_STORE"] = env["IOC_CATALOG_STORE"]
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def catalog(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    r = cli("init", "--sample", "--store", url, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return url


def test_init_search_show_owner_history(catalog: str, tmp_path: Path) -> None:
    r = cli("search", "so thong tin", "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0 and "organization:hcm-sttt" in r.stdout and "Sở Thông tin" in r.stdout
    r = cli("show", "system:hcm-cong-1022", "--store", catalog, cwd=tmp_path)
    assert (
        r.returncode == 0 and "Cổng thông tin 1022" in r.stdout and "--cung cấp dữ liệu cho-->" in r.stdout
    )  # the relationship label, not its code
    r = cli("owner", "system:hcm-cong-1022", "--on", "2025-02-01", "--store", catalog, cwd=tmp_path)
    said = r.stdout.strip()  # the owner by name, then its reference, in the command's language (vi by default)
    assert said.startswith("system:hcm-cong-1022 ngày 2025-02-01: Sở Thông tin") and "(organization:hcm-sttt)" in said
    r = cli("history", "system:hcm-cong-1022", "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0 and "create" in r.stdout


def test_store_from_environment(catalog: str, tmp_path: Path) -> None:
    r = cli("list", "--kind", "platform", cwd=tmp_path, env={"IOC_CATALOG_STORE": catalog})
    assert r.returncode == 0 and "platform:hcm-ioc" in r.stdout


def test_verify_log_passes_then_names_a_tampered_entry(catalog: str, tmp_path: Path) -> None:
    import sqlite3

    r = cli("verify-log", "--store", catalog, cwd=tmp_path)
    assert (
        r.returncode == 0 and "nhật ký thay đổi toàn vẹn" in r.stdout
    )  # the command line speaks Vietnamese by default
    db = catalog.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE changelog SET actor = 'mallory' WHERE seq = 42")
    r = cli("verify-log", "--store", catalog, cwd=tmp_path)
    assert r.returncode == 1 and "BỊ HỎNG tại mục 42" in r.stderr


def test_import_with_bad_rows_reports_each_and_changes_nothing(catalog: str, tmp_path: Path) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    i = next(n for n, e in enumerate(doc["entities"]) if e["ref"].startswith("organization:"))  # the first of each
    j = next(n for n, x in enumerate(doc["relationships"]) if x["source"].startswith("system:"))
    doc["entities"][i]["attributes"]["org_type"] = "castle"
    doc["relationships"][j]["source"] = "system:nowhere"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before = cli("export", "-o", str(tmp_path / "before.json"), "--store", catalog, cwd=tmp_path)
    assert before.returncode == 0
    r = cli(
        "import", str(bad), "--store", catalog, "--report", str(tmp_path / "report.json"), "--lang", "en", cwd=tmp_path
    )
    assert r.returncode == 1
    assert "2 items rejected" in r.stderr and "Nothing was imported" in r.stderr
    assert f"bad.json: entities[{i}]" in r.stderr and "attributes.org_type" in r.stderr
    assert f"bad.json: relationships[{j}]" in r.stderr and "system:nowhere" in r.stderr
    assert "Traceback" not in r.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [x["field"] for x in report["rejected"]] == ["attributes.org_type", "source"]
    cli("export", "-o", str(tmp_path / "after.json"), "--store", catalog, cwd=tmp_path)
    assert (tmp_path / "before.json").read_text() == (tmp_path / "after.json").read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["show", "system:does-not-exist"], "system:does-not-exist does not exist"),
        (["show", "not a ref"], "not a ref does not exist"),
        (["owner", "system:hcm-cong-1022", "--on", "yesterday"], "is not a date"),
        (["list", "--kind", "spaceship"], "unknown kind 'spaceship'"),
        (["import", "missing.json", "--lang", "en"], "no such file"),
        (["show", "system:hcm-cong-1022", "--as-of", "not-a-date"], "is not a date"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(catalog: str, tmp_path: Path, args: list[str], message: str) -> None:
    r = cli(*args, "--store", catalog, cwd=tmp_path, env={"IOC_CATALOG_LANG": "en"})
    assert r.returncode in (1, 2)
    assert message in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_a_file_that_is_not_a_catalog_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    r = cli("list", "--store", f"sqlite:///{junk}", cwd=tmp_path)
    assert r.returncode == 1 and "not a catalog" in r.stderr and "Traceback" not in r.stderr


def test_export_import_round_trip_via_cli(catalog: str, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert cli("export", "-o", str(out), "--store", catalog, cwd=tmp_path).returncode == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = cli("import", str(out), "--store", other, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # the report counts kinds by their labels, never their codes
    rows = [line.split("│")[1].strip() for line in r.stdout.splitlines() if line.count("│") > 2]
    assert {"Hệ thống thông tin", "Cơ quan, tổ chức", "Quan hệ"} <= set(rows)
    assert not {"system", "organization", "relationship"} & set(rows)
    out2 = tmp_path / "export2.json"
    cli("export", "-o", str(out2), "--store", other, cwd=tmp_path)
    strip = lambda p: {k: v for k, v in json.loads(p.read_text(encoding="utf-8")).items() if k != "metadata"}  # noqa
    assert strip(out) == strip(out2)


def test_help_lists_every_command(tmp_path: Path) -> None:
    r = cli("--help", cwd=tmp_path)
    for command in (
        "init",
        "demo",
        "show",
        "search",
        "impact",
        "check",
        "history",
        "verify-log",
        "export",
        "import",
        "serve",
        "owner",
        "list",
    ):
        assert command in r.stdout
    assert ROOT.exists()


def test_apply_event_moves_ownership_and_lists_it(catalog: str, tmp_path: Path) -> None:
    ev = tmp_path / "event.yaml"
    ev.write_text(
        "id: hcm-2026-01-ioc-transfer\ntype: transfer\ndate: 2026-01-01\n"
        "legal_basis: Quyết định minh hoạ\n"
        "transfers:\n  - {entity: system:hcm-cong-1022, to: organization:hcm-vpubnd}\n",
        encoding="utf-8",
    )
    orgs = json.loads(SAMPLE.read_text(encoding="utf-8"))["entities"]
    assert any(e["ref"] == "organization:hcm-vpubnd" for e in orgs)
    r = cli("apply-event", str(ev), "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 entit(ies) changed: system:hcm-cong-1022" in r.stdout
    r = cli("owner", "system:hcm-cong-1022", "--on", "2026-01-02", "--store", catalog, cwd=tmp_path)
    assert r.stdout.strip().endswith("Văn phòng UBND TP.HCM (organization:hcm-vpubnd)")
    r = cli("events", "--org", "organization:hcm-vpubnd", "--store", catalog, cwd=tmp_path)
    assert "hcm-2026-01-ioc-transfer" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntype: merge\ndate: 2026-01-01\nfrom: [organization:nope]\n", encoding="utf-8")
    r = cli("apply-event", str(bad), "--store", catalog, cwd=tmp_path, env={"IOC_CATALOG_LANG": "en"})
    assert r.returncode == 1 and "organization:nope does not exist" in r.stderr and "Traceback" not in r.stderr
    r = cli("apply-event", str(bad), "--store", catalog, cwd=tmp_path)  # Vietnamese unless asked otherwise
    assert r.returncode == 1 and "organization:nope không tồn tại" in r.stderr and "Lỗi" in r.stderr
