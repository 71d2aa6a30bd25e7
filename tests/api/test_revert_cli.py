"""``ioc-catalog revert`` as a user runs it: an import run undone (the content hash back), a refusal naming the
later entry (exit 1, nothing written), a dry run."""

from __future__ import annotations

import json
from pathlib import Path

from catalog.digest import content_hash
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store

from .test_cli import catalog, cli  # noqa: F401  (the sample catalog fixture and the process runner)


def test_revert_an_import_run_and_a_refusal(catalog: str, tmp_path: Path) -> None:  # noqa: F811
    store = open_store(catalog)
    before = content_hash(store)
    store.close()
    data = tmp_path / "them.json"
    doc = {
        "format": "ioc-catalog",
        "format_version": 1,
        "entities": [
            {
                "ref": "system:hcm-thu-nghiem",
                "name": {"vi": "Hệ thống thử nghiệm"},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "building"},
            }
        ],
    }
    data.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = cli("import", str(data), "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    store = open_store(catalog)
    run = store.changelog(ref="system:hcm-thu-nghiem")[-1].request_id
    head = store.revision()
    store.close()

    r = cli("revert", "--run", run, "--dry-run", "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0 and "Sẽ khôi phục 1 mục" in r.stdout and "- system:hcm-thu-nghiem" in r.stdout
    store = open_store(catalog)
    assert store.revision() == head
    store.close()

    r = cli("revert", "--run", run, "--reason", "nhập nhầm tệp", "--lang", "en", "--store", catalog, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Reverted: 1 item restored" in r.stdout
    store = open_store(catalog)
    assert content_hash(store) == before and store.find_entity("system:hcm-thu-nghiem") is None
    assert store.verify_log().ok

    # a later change blocks a revert: the command names it and writes nothing
    CatalogService(store, Principal("lan", "architect")).patch(
        "system:hcm-cong-1022",
        {"attributes": {"vendor": "Nhà cung cấp A"}},
        store.get_entity("system:hcm-cong-1022").version,
    )
    first = store.changelog(ref="system:hcm-cong-1022")[-1].seq
    CatalogService(store, Principal("minh", "admin")).patch(
        "system:hcm-cong-1022",
        {"attributes": {"vendor": "Nhà cung cấp B"}},
        store.get_entity("system:hcm-cong-1022").version,
    )
    later = store.changelog(ref="system:hcm-cong-1022")[-1].seq
    head = store.revision()
    store.close()
    r = cli("revert", "--seq", str(first), "--store", catalog, cwd=tmp_path)
    assert r.returncode == 1
    assert "Không thể hoàn tác" in r.stderr and f"#{later}" in r.stderr and "minh" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("revert", "--seq", str(first), "--run", run, "--store", catalog, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    store = open_store(catalog)
    assert store.revision() == head
    store.close()
