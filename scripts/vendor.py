"""Refresh the front-end libraries the web UI serves from the package itself (no CDN, no Node.js at run time).

The way Django admin ships jQuery and Select2: each library is pinned here, fetched from the npm registry with
``npm pack`` (the only step that needs Node.js, and only when refreshing), and its built file(s) copied with its
licence into ``api/static/vendor/<package>/``. ``api/static/vendor/manifest.json`` records the package, version,
licence and the SHA-256 of every file; tests/web/test_vendor.py checks the tree against it, and the web router serves
only the files it lists.

    python scripts/vendor.py            # fetch the pinned versions and rewrite api/static/vendor/
    python scripts/vendor.py --check    # verify the files against the manifest (what the test does)

To upgrade a library, change its version below, run the script, look at the pages that use it, commit the result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "api" / "static" / "vendor"
MANIFEST = VENDOR / "manifest.json"

# package -> (version, {file inside the npm package: name served}); the licence file is always copied too
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "cytoscape": ("3.34.4", {"dist/cytoscape.min.js": "cytoscape.min.js"}),
    "layout-base": ("2.0.1", {"layout-base.js": "layout-base.js"}),
    "cose-base": ("2.2.0", {"cose-base.js": "cose-base.js"}),
    "cytoscape-fcose": ("2.2.0", {"cytoscape-fcose.js": "cytoscape-fcose.js"}),
    "cytoscape-dagre": ("4.0.1", {"dist/cytoscape-dagre.min.js": "cytoscape-dagre.min.js"}),
    "cytoscape-navigator": (
        "2.0.2",
        {"cytoscape-navigator.js": "cytoscape-navigator.js", "cytoscape.js-navigator.css": "cytoscape-navigator.css"},
    ),
    "svg-pan-zoom": ("3.6.2", {"dist/svg-pan-zoom.min.js": "svg-pan-zoom.min.js"}),
    "tom-select": (
        "2.6.2",
        {
            "dist/js/tom-select.complete.min.js": "tom-select.complete.min.js",
            "dist/css/tom-select.min.css": "tom-select.min.css",
        },
    ),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refresh() -> dict:
    """Fetch every pinned package with ``npm pack`` and rewrite the vendor folder and its manifest."""
    manifest: dict = {"packages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, files) in PACKAGES.items():
            out = subprocess.run(
                ["npm", "pack", "--silent", f"{name}@{version}"], cwd=tmp, capture_output=True, text=True, check=True
            )
            tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
            unpacked = Path(tmp) / name
            with tarfile.open(tgz) as t:
                t.extractall(unpacked, filter="data")
            pkg = unpacked / "package"
            meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
            dest = VENDOR / name
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            licence = next(p for p in sorted(pkg.iterdir()) if p.name.upper().startswith(("LICENSE", "LICENCE")))
            shutil.copyfile(licence, dest / "LICENSE")
            entry = {"version": version, "license": meta.get("license", ""), "files": {}}
            for src, served in files.items():
                shutil.copyfile(pkg / src, dest / served)
                entry["files"][served] = _sha256(dest / served)
            entry["files"]["LICENSE"] = _sha256(dest / "LICENSE")
            manifest["packages"][name] = entry
    for stale in VENDOR.iterdir():
        if stale.is_dir() and stale.name not in PACKAGES:
            shutil.rmtree(stale)
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def check() -> list[str]:
    """What differs between the vendor folder and its manifest (empty when they agree)."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    problems = []
    listed = set()
    for name, entry in manifest["packages"].items():
        if name not in PACKAGES or PACKAGES[name][0] != entry["version"]:
            problems.append(f"{name}: the manifest's version differs from the pin in scripts/vendor.py")
        for served, digest in entry["files"].items():
            path = VENDOR / name / served
            listed.add(path)
            if not path.is_file():
                problems.append(f"{name}/{served}: missing")
            elif _sha256(path) != digest:
                problems.append(f"{name}/{served}: content differs from the manifest")
        if "LICENSE" not in entry["files"]:
            problems.append(f"{name}: no licence")
    for path in VENDOR.rglob("*"):
        if path.is_file() and path != MANIFEST and path not in listed:
            problems.append(f"{path.relative_to(VENDOR)}: not in the manifest")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the files against the manifest")
    args = parser.parse_args()
    if args.check:
        problems = check()
        print("\n".join(problems) or "vendor files agree with the manifest")
        return 1 if problems else 0
    manifest = refresh()
    for name, entry in manifest["packages"].items():
        print(f"{name} {entry['version']} ({entry['license']}): {', '.join(entry['files'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
