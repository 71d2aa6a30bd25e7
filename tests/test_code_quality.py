"""The lint, format and type gates run inside the test command (README: the one test command; .ci/run calls it).

ruff (lint + format, configured in pyproject.toml) over the whole tree, and mypy (configured in pyproject.toml, with
pydantic's plugin) over catalog/, importers/, diagrams/ and api/. Each failure prints the tool's own report."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ["catalog", "importers", "diagrams", "api", "tests", "bench", "scripts"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean():
    r = _run("ruff", "check", "--no-cache", *TREE)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_applied():
    r = _run("ruff", "format", "--check", "--no-cache", *TREE)
    assert r.returncode == 0, "run `ruff format` on:\n" + r.stdout + r.stderr


def test_mypy_is_clean():
    r = _run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert r.returncode == 0, r.stdout + r.stderr
