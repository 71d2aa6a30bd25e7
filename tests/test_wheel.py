"""The installed package holds everything it reads at run time (docs/architecture.md, "Package data").

The slow test builds the wheel from a copy of the build inputs, installs it with pip into a fresh virtualenv (the
dependencies from the package registry or pip's cache) and runs ``init --sample``, ``demo`` and
``export -f archimate`` from an empty folder: no checkout and no ``../shared`` beside it, no ``IOC_CATALOG_*``
variable, and the export is validated against the ArchiMate 3.1 XSD shipped in the installed package.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from conftest import CORPORA, ROOT, SAMPLE

REFERENCE = ROOT / "importers" / "reference" / "archimate"


def test_the_packaged_sample_is_the_data_file() -> None:
    """One copy in git: the package's sample is a link to data/sample/hcmc.json, and the CLI reads it there."""
    from api import cli

    link = ROOT / "api" / "sample" / "hcmc.json"
    assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
    assert link.resolve() == SAMPLE.resolve()
    assert cli.SAMPLE == link and cli.SAMPLE.read_bytes() == SAMPLE.read_bytes()


def test_reference_files_match_the_corpora() -> None:
    """Every shipped XSD and relationships.xml is the corpora's file byte for byte, with a LICENSE and a NOTICE
    beside it, and it is what the importer reads by default."""
    from importers import archimate

    shipped = sorted(p for p in REFERENCE.rglob("*") if p.suffix in (".xsd", ".xml"))
    names = {p.relative_to(REFERENCE).as_posix() for p in shipped}
    assert {
        f"{archimate.XSD31.as_posix()}/{n}"
        for n in ("archimate3_Model.xsd", "archimate3_View.xsd", "archimate3_Diagram.xsd", "dc.xsd", "xml.xsd")
    } <= names
    assert {f"{archimate.XSD21.as_posix()}/{n}" for n in ("archimate_v2p1.xsd", "dc.xsd", "xml.xsd")} <= names
    assert archimate.RELATIONSHIPS_XML.as_posix() in names
    for path in shipped:
        rel = path.relative_to(REFERENCE)
        assert filecmp.cmp(path, CORPORA / "archimate" / rel, shallow=False), f"{rel} differs from the corpora"
        for notice in ("LICENSE", "NOTICE"):
            assert (path.parent / notice).is_file(), f"no {notice} beside {rel}"
    assert "MIT" in (REFERENCE / archimate.RELATIONSHIPS_XML.parent / "LICENSE").read_text(encoding="utf-8")
    assert "The Open Group" in (REFERENCE / archimate.XSD31 / "LICENSE").read_text(encoding="utf-8")
    assert archimate.DEFAULT_REFERENCE_DIR == REFERENCE
    assert (
        archimate.validate_exchange(
            CORPORA / "archimate/archimatetool-ArchiModels/Archisurance/Archisurance.xml", REFERENCE
        )
        == []
    )


# --- the built wheel in a fresh virtualenv ------------------------------------------------------------------------


def _build_inputs(dst: Path) -> None:
    """Copy what the build reads (pyproject.toml, the readme, the packages it finds, data/ that the sample link
    points into) so that the build writes its build/ and *.egg-info there, never into the checkout."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tops = sorted({p.split(".")[0].rstrip("*") for p in meta["tool"]["setuptools"]["packages"]["find"]["include"]})
    dst.mkdir()
    for name in ("pyproject.toml", meta["project"]["readme"]):
        shutil.copy2(ROOT / name, dst / name)
    for name in (*tops, "data"):
        shutil.copytree(ROOT / name, dst / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))


def _clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOC_CATALOG_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1", "COLUMNS": "200"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtualenv holding the built wheel and its dependencies; (venv, environment to run it with)."""
    tmp = tmp_path_factory.mktemp("wheel")
    _build_inputs(tmp / "src")
    pip = [sys.executable, "-m", "pip"]
    r = subprocess.run(
        [*pip, "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(tmp / "src")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp / "dist").glob("ioc_catalog-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return venv, _clean_env(venv)


def _run(installed: tuple[Path, dict[str, str]], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    venv, env = installed
    cwd.mkdir(exist_ok=True)
    return subprocess.run(
        [str(venv / "bin" / "ioc-catalog"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _sample_counts() -> tuple[int, int]:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return len(doc["entities"]), len(doc["relationships"])


@pytest.mark.slow
def test_the_wheel_reads_nothing_outside_itself(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    venv, env = installed
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import json, api.cli, importers.archimate as a; print(json.dumps("
            "[api.cli.__file__, str(api.cli.SAMPLE), str(a.reference_dir())]))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    for path in json.loads(probe.stdout):  # the code and the files it reads come from the virtualenv, not ROOT
        assert Path(path).resolve().is_relative_to(venv.resolve()), path
    assert not (tmp_path.parent / "shared").exists()

    entities, relationships = _sample_counts()
    r = _run(installed, tmp_path / "init", "init", "--sample")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Danh mục sẵn sàng: {entities} thực thể, {relationships} quan hệ." in r.stdout  # in Vietnamese, the default


@pytest.mark.slow
def test_the_wheel_exports_archimate_that_validates(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    from lxml import etree

    venv, env = installed
    assert _run(installed, tmp_path, "init", "--sample").returncode == 0
    r = _run(installed, tmp_path, "export", "-f", "archimate", "-o", "model.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    root = etree.parse(str(tmp_path / "model.xml")).getroot()
    ns = {"a": "http://www.opengroup.org/xsd/archimate/3.0/"}
    assert len(root.findall("a:elements/a:element", ns)) > 50 and root.findall("a:relationships/a:relationship", ns)
    # a copy that breaks the schema (an element without its identifier) must fail: the validation is real
    broken = etree.parse(str(tmp_path / "model.xml"))
    del broken.getroot().find("a:elements/a:element", ns).attrib["identifier"]
    broken.write(str(tmp_path / "broken.xml"))
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import json, sys, importers.archimate as a; print(json.dumps("
            "[a.validate_exchange(p) for p in sys.argv[1:]]))",
            "model.xml",
            "broken.xml",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    good, bad = json.loads(check.stdout)
    assert good == [] and any("identifier" in e for e in bad)


@pytest.mark.slow
def test_the_wheel_serves_the_demo(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    venv, env = installed
    port = _free_port()
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [str(venv / "bin" / "ioc-catalog"), "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start: {(tmp_path / 'demo.log').read_text()[-3000:]}")
            time.sleep(0.2)
        assert health.status_code == 200 and health.json()["entities"] == _sample_counts()[0]
        home = httpx.get(f"{base}/", timeout=30)
        assert home.status_code == 200 and "Trung tâm điều hành" in home.text
        assert httpx.get(f"{base}/static/ui.css", timeout=30).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
    assert (tmp_path / ".ioc-catalog-demo" / "demo.db").is_file()
