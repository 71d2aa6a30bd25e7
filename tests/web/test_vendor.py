"""The front-end libraries ship inside the package, pinned, each with its licence, and the server serves exactly them."""

import importlib.util
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]


def _vendor_script():
    spec = importlib.util.spec_from_file_location("vendor_script", ROOT / "scripts" / "vendor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendor_folder_agrees_with_its_manifest_and_pins():
    vendor = _vendor_script()
    assert vendor.check() == []
    manifest = (ROOT / "api" / "static" / "vendor" / "manifest.json").read_text(encoding="utf-8")
    for name, (version, _files) in vendor.PACKAGES.items():
        assert f'"{name}"' in manifest and version in manifest
        licence = (ROOT / "api" / "static" / "vendor" / name / "LICENSE").read_text(encoding="utf-8")
        assert "Permission" in licence or "Apache License" in licence or "Redistribution" in licence


def test_a_tampered_file_is_reported(tmp_path, monkeypatch):
    vendor = _vendor_script()
    copy = tmp_path / "vendor"
    import shutil

    shutil.copytree(vendor.VENDOR, copy)
    (copy / "cytoscape" / "cytoscape.min.js").write_text("alert(1)", encoding="utf-8")
    (copy / "stray.js").write_text("", encoding="utf-8")
    monkeypatch.setattr(vendor, "VENDOR", copy)
    monkeypatch.setattr(vendor, "MANIFEST", copy / "manifest.json")
    problems = vendor.check()
    assert "cytoscape/cytoscape.min.js: content differs from the manifest" in problems
    assert "stray.js: not in the manifest" in problems


def test_the_server_serves_listed_files_only(tmp_path):
    from api.app import create_app
    from catalog.settings import Settings
    from catalog.store import open_store

    client = TestClient(create_app(Settings(demo=True), store=open_store(f"sqlite:///{tmp_path / 'c.db'}")))
    r = client.get("/static/vendor/cytoscape/cytoscape.min.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert r.content == (ROOT / "api/static/vendor/cytoscape/cytoscape.min.js").read_bytes()
    for bad in (
        "/static/vendor/cytoscape/manifest.json",
        "/static/vendor/nope/x.js",
        "/static/vendor/cytoscape/..%2f..%2fui.js",
    ):
        assert client.get(bad).status_code == 404, bad
