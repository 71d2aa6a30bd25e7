"""Property-based run over the OpenAPI document (schemathesis) against the real server (`ioc-catalog serve`, uvicorn
on 127.0.0.1), authenticated as admin so writes are exercised: the examples, coverage (boundary and invalid values
per parameter) and fuzzing phases over every operation, with a fixed seed and a time budget for CI.

Checks: no 5xx, every status code and content type documented, every response body matching its schema. A failure
prints schemathesis' report with a curl command reproducing each case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import schemathesis  # the test extra installs it (pyproject.toml): a missing package fails, never skips

from .conftest import build_catalog
from .test_load import _serve

SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))  # the budget of the whole run (fuzzing repeats until spent)
SEED = 2025
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_finds_no_5xx_and_no_schema_violation(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    store, tokens = build_catalog(db)
    store.close()
    proc, base = _serve(db, tmp_path)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
             "--header", f"Authorization: Bearer {tokens['admin']}", "--checks", CHECKS,
             "--phases", "examples,coverage,fuzzing", "--seed", str(SEED), "--max-examples", "30",
             "--max-time", str(SECONDS), "--workers", "1", "--no-shrink", "--request-timeout", "30",
             "--report", "junit", "--report-dir", str(tmp_path / "report")],
            cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS + 240,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    out = run.stdout + run.stderr
    summary = out[out.find("SUMMARY"):] if "SUMMARY" in out else out[-3000:]
    print(f"\nschemathesis {schemathesis.__version__}, seed {SEED}, {SECONDS} s:\n{summary}")
    assert run.returncode == 0, out[-20000:]
    tested = int(summary.split("Tested:")[1].split()[0])
    cases = int(summary.split("Test cases:")[1].split()[0])
    assert tested >= 70 and cases >= 1000, summary  # every operation reached (74 today), thousands of cases
    server_log = (tmp_path / "server.log").read_text(errors="replace")
    assert " 500 " not in server_log and "Traceback" not in server_log
