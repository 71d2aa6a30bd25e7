"""Native JSON/YAML import and export: all or nothing, every bad row reported, lossless round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE

from catalog.digest import content_hash
from catalog.i18n import text as in_lang
from catalog.store.base import CatalogStore
from importers.base import ImportFailed, run_import
from importers.native import export_native, write_native


def sample_doc() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def write(tmp_path: Path, doc: dict, name: str = "catalog.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def test_sample_imports_completely(store: CatalogStore, tmp_path: Path) -> None:
    doc = sample_doc()
    report = run_import(store, SAMPLE)
    assert report.rejected == [] and report.loaded
    assert store.count_entities() == len(doc["entities"])
    assert store.count_relationships() == len(doc["relationships"])
    assert {e.id for e in store.list_events()} == {e["id"] for e in doc["org_events"]}
    assert all(e.provenance and e.provenance.source == "native:hcmc.json" for e in store.iter_entities())


def test_bad_rows_are_all_reported_and_nothing_changes(store: CatalogStore, tmp_path: Path) -> None:
    run_import(store, SAMPLE)
    before = (store.revision(), content_hash(store))
    doc = sample_doc()
    third = doc["entities"][3]
    bad_attr = "attributes.lifecycle" if "lifecycle" in third["attributes"] else "attributes.org_type"
    third["attributes"][bad_attr.split(".")[1]] = "immortal"
    doc["entities"][5]["ref"] = "System:Bad Code"
    doc["entities"].append({"ref": "system:no-name", "name": {"vi": ""}, "attributes": {"lifecycle": "production"}})
    doc["relationships"][0]["type"] = "loves"
    doc["relationships"].append({"type": "reads", "source": "system:ghost", "target": "database:hcm-csdl-y-te"})
    doc["org_events"][0]["date"] = "2025-02-30"
    report = run_import(store, write(tmp_path, doc))
    got = {(r.location.split(" (")[0], r.field) for r in report.rejected}
    n = len(doc["entities"]) - 1
    assert got == {
        ("catalog.json: entities[3]", bad_attr),
        ("catalog.json: entities[5]", "ref"),
        (f"catalog.json: entities[{n}]", "name"),
        ("catalog.json: relationships[0]", "type"),
        (f"catalog.json: relationships[{len(doc['relationships']) - 1}]", "source"),
        ("catalog.json: org_events[0]", "date"),
    }
    assert not report.loaded
    assert (store.revision(), content_hash(store)) == before


def test_bad_reference_names_the_ref_field(store: CatalogStore, tmp_path: Path) -> None:
    doc = {
        "format": "ioc-catalog",
        "format_version": 1,
        "entities": [{"ref": "System:Bad Code", "name": {"vi": "x"}}],
        "relationships": [],
        "org_events": [],
    }
    report = run_import(store, write(tmp_path, doc))
    assert [(r.location, r.field) for r in report.rejected] == [("catalog.json: entities[0] (System:Bad Code)", "ref")]
    assert "kind:code" in report.rejected[0].reason


def test_non_strict_loads_the_valid_rows(store: CatalogStore, tmp_path: Path) -> None:
    doc = sample_doc()
    doc["entities"].append({"ref": "system:broken", "name": {"vi": "x"}, "attributes": {"lifecycle": "?"}})
    report = run_import(store, write(tmp_path, doc), strict=False)
    assert report.loaded and len(report.rejected) == 1
    assert store.count_entities() == len(doc["entities"]) - 1


def test_dry_run_writes_nothing_and_second_import_changes_nothing(store: CatalogStore) -> None:
    dry = run_import(store, SAMPLE, dry_run=True)
    assert store.revision()[0] == 0 and store.count_entities() == 0
    first = run_import(store, SAMPLE)
    assert dry.result.created == first.result.created
    rev = store.revision()
    second = run_import(store, SAMPLE)
    assert second.result.total_changes == 0 and store.revision() == rev
    assert sum(second.result.unchanged.values()) == sum(first.result.created.values())


def test_round_trip_is_identical(store: CatalogStore, tmp_path: Path) -> None:
    from catalog.store import open_store

    run_import(store, SAMPLE)
    out = tmp_path / "export.json"
    write_native(store, out)
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    report = run_import(other, out)
    assert report.rejected == []
    assert content_hash(other) == content_hash(store)
    # same catalog, same export bytes (apart from the revision stamp, which belongs to each store)
    a, b = export_native(store), export_native(other)
    a["metadata"].pop("revision"), b["metadata"].pop("revision")
    assert a == b
    other.close()


def test_yaml_is_accepted(store: CatalogStore, tmp_path: Path) -> None:
    p = tmp_path / "catalog.yaml"
    p.write_text(yaml.safe_dump(sample_doc(), allow_unicode=True), encoding="utf-8")
    assert run_import(store, p).rejected == []
    assert store.search("so thong tin")


@pytest.mark.parametrize(
    "content,message",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"format": "something-else"}', "not an ioc-catalog file"),
        (b'{"format": "ioc-catalog", "format_version": 99}', "format_version 99"),
        (b"[1, 2, 3]", "not an ioc-catalog file"),
    ],
)
def test_unreadable_files_fail_clearly(store: CatalogStore, tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.json"
    p.write_bytes(content)
    with pytest.raises(ImportFailed, match=message):
        run_import(store, p)
    assert store.revision()[0] == 0


def test_oversized_and_missing_files_are_refused(store: CatalogStore, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="larger than the limit"):
        run_import(store, SAMPLE, max_bytes=1000)
    with pytest.raises(ImportFailed, match="no such file"):
        run_import(store, tmp_path / "missing.json")
    with pytest.raises(ImportFailed, match="cannot tell the format"):
        run_import(store, tmp_path / "catalog.xyz")


def test_section_of_wrong_type_is_reported(store: CatalogStore, tmp_path: Path) -> None:
    doc = {"format": "ioc-catalog", "format_version": 1, "entities": {"a": 1}}
    report = run_import(store, write(tmp_path, doc))
    assert [(r.location, r.reason) for r in report.rejected] == [("catalog.json: entities", "must be a list")]


def test_unicode_normal_forms_compare_equal(store: CatalogStore, tmp_path: Path) -> None:
    import unicodedata

    run_import(store, SAMPLE)
    doc = sample_doc()
    nfd = copy.deepcopy(doc)
    for e in nfd["entities"]:
        e["name"]["vi"] = unicodedata.normalize("NFD", e["name"]["vi"])
    report = run_import(store, write(tmp_path, nfd, "hcmc.json"))
    assert report.result.total_changes == 0


def test_recorded_events_that_are_nonsense_whatever_the_date_are_rejected(store: CatalogStore, tmp_path: Path) -> None:
    """An import records events as the service would refuse them: merging an organisation with itself, absorbing
    itself, transferring an organisation. Strict: nothing is loaded; not strict: the rest loads, those events do not."""
    doc = sample_doc()
    events = doc["org_events"]
    absorb = next(i for i, e in enumerate(events) if e["type"] == "absorb")
    events[absorb]["to"] = list(events[absorb]["from"])
    events.append(
        {
            "id": "x-merge-self",
            "type": "merge",
            "date": "2025-05-01",
            "legal_basis": "test",
            "from": ["organization:hcm-skhcn", "organization:hcm-skhcn"],
            "to": ["organization:hcm-skhcn"],
        }
    )
    events.append(
        {
            "id": "x-transfer-org",
            "type": "transfer",
            "date": "2025-05-01",
            "legal_basis": "test",
            "transfers": [{"entity": "organization:hcm-stc", "to": "organization:hcm-skhcn"}],
        }
    )
    path = write(tmp_path, doc)
    strict = run_import(store, path)
    assert strict.status == "failed" and not strict.loaded
    assert store.count_entities() == 0 and store.list_events() == []
    report = run_import(store, path, strict=False)
    reasons = {(r.location.split(" (")[0], r.field): r for r in report.rejected}
    assert {f for _, f in reasons} >= {"to.0", "from.1", "transfers.0.entity"}, reasons
    assert all(r.reason and in_lang(r.reason, "vi") and r.reason != in_lang(r.reason, "vi") for r in reasons.values())
    ids = {e.id for e in store.list_events()}
    assert ids == {e["id"] for e in events} - {events[absorb]["id"], "x-merge-self", "x-transfer-org"}
