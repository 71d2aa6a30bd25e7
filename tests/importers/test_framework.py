"""The importer framework: dry runs, idempotence, clean-up scoped to its source, the report (and its JSON), runs
recorded in the catalog whatever their outcome, reasons in two languages, and hostile files for every registered
importer."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import CORPORA, SAMPLE

from catalog.digest import content_hash
from catalog.errors import IntegrityError
from catalog.i18n import msg
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore
from importers.base import REPORT_SCHEMA, RUNS, ImportFailed, Rejection, list_runs, registry, run_import


def org(code: str) -> dict:
    return {"ref": f"organization:{code}", "name": {"vi": f"Sở {code}"}, "attributes": {"org_type": "department"}}


def system(code: str, name: str | None = None, owner: str = "organization:so-a") -> dict:
    return {
        "ref": f"system:{code}",
        "name": {"vi": name or f"Hệ thống {code}"},
        "owner": owner,
        "attributes": {"lifecycle": "production"},
    }


def native(tmp_path: Path, name: str, entities: list[dict], relationships: list[dict] | None = None) -> Path:
    p = tmp_path / name
    p.write_text(
        json.dumps(
            {
                "format": "ioc-catalog",
                "format_version": 1,
                "entities": entities,
                "relationships": relationships or [],
                "org_events": [],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return p


def flows(a: str, b: str) -> dict:
    return {"type": "flows_to", "source": f"system:{a}", "target": f"system:{b}"}


def state(store: CatalogStore) -> tuple:
    return store.revision(), content_hash(store)


# --- dry run, idempotence, clean-up ------------------------------------------------------------------------------


def test_dry_run_reports_every_bucket_and_changes_nothing(store: CatalogStore, tmp_path: Path) -> None:
    run_import(
        store,
        native(
            tmp_path,
            "a.json",
            [org("so-a"), system("s1"), system("s2"), system("s3")],
            [flows("s1", "s2"), flows("s2", "s3")],
        ),
    )
    before = state(store)
    v2 = native(
        tmp_path, "a.json", [org("so-a"), system("s1", "Tên mới"), system("s2"), system("s4")], [flows("s1", "s2")]
    )
    dry = run_import(store, v2, dry_run=True, cleanup=True)
    assert state(store) == before
    assert (dry.result.created, dry.result.updated, dry.result.unchanged, dry.result.removed) == (
        {"system": 1},
        {"system": 1},
        {"organization": 1, "system": 1, "relationship": 1},
        {"system": 1, "relationship": 1},
    )
    assert dry.dry_run and not dry.loaded and dry.status == "finished"
    real = run_import(store, v2, cleanup=True)
    assert (real.result.created, real.result.updated, real.result.removed) == (
        dry.result.created,
        dry.result.updated,
        dry.result.removed,
    )
    assert store.find_entity("system:s3") is None and store.get_entity("system:s1").name.vi == "Tên mới"
    again = state(store)
    second = run_import(store, v2, cleanup=True)
    assert second.result.total_changes == 0 and state(store) == again


def test_cleanup_never_touches_another_source_or_a_persons_facts(store: CatalogStore, tmp_path: Path) -> None:
    run_import(store, native(tmp_path, "a.json", [org("so-a"), system("s1"), system("s2"), system("s3")]))
    run_import(store, native(tmp_path, "b.json", [system("t1")]))
    person = CatalogService(store, Principal("nguyen.van.a", "admin"))
    person.register(system("p1"))
    person.link(flows("p1", "s1"))
    # a.json no longer has s2: only s2 goes; b.json's t1 and the person's p1 (and link) stay
    report = run_import(store, native(tmp_path, "a.json", [org("so-a"), system("s1"), system("s3")]), cleanup=True)
    assert report.result.removed == {"system": 1}
    assert {e.ref for e in store.iter_entities()} == {
        "organization:so-a",
        "system:s1",
        "system:s3",
        "system:t1",
        "system:p1",
    }
    assert [r.id for r in store.all_relationships()] == ["system:p1>flows_to>system:s1"]
    # a.json without s1: the person's link still uses s1, so the clean-up is refused and nothing changes
    before = state(store)
    with pytest.raises(IntegrityError, match="system:s1"):
        run_import(store, native(tmp_path, "a.json", [org("so-a"), system("s3")]), cleanup=True)
    assert state(store) == before
    last = list_runs(store, limit=1)[0]
    assert last["status"] == "failed" and "system:s1" in last["error"] and last["cleanup"] is True


# --- the report and the run records ------------------------------------------------------------------------------


def test_report_json_shape(store: CatalogStore, tmp_path: Path) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    doc["entities"].append({"ref": "system:x", "name": {"vi": "X"}, "attributes": {"lifecycle": "immortal"}})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = run_import(store, bad, strict=False)
    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert set(data) == {
        "schema",
        "source",
        "run",
        "format",
        "file",
        "actor",
        "dry_run",
        "loaded",
        "status",
        "error",
        "created",
        "updated",
        "unchanged",
        "removed",
        "counts",
        "source_types",
        "rejected",
        "unmapped",
        "started",
        "finished",
    }
    assert data["schema"] == REPORT_SCHEMA and data["format"] == "native" and data["source"] == "native:bad.json"
    assert data["status"] == "finished" and data["loaded"] is True and data["error"] is None
    assert sum(data["created"].values()) == len(doc["entities"]) - 1 + len(doc["relationships"]) + len(
        doc["org_events"]
    )
    assert data["counts"]["entities"]["system"] == sum(1 for e in doc["entities"] if e["ref"].startswith("system:")) - 1
    where = f"bad.json: entities[{len(doc['entities']) - 1}] (system:x)"
    assert data["rejected"] == [
        {
            "location": where,
            "location_vi": where,
            "field": "attributes.lifecycle",
            "code": "value-one-of",
            "reason": "must be one of: Planned, Building, In production, Retiring, Retired",
            "reason_vi": "phải là một trong: Kế hoạch, Đang xây dựng, Đang vận hành, Sắp ngừng, Ngừng hoạt động",
        }
    ]
    assert data["unmapped"] == []


def test_backstage_report_has_source_types_and_unmapped(store: CatalogStore) -> None:
    path = (
        CORPORA
        / "backstage"
        / "backstage-backstage@b5ef4cc"
        / "packages"
        / "catalog-model"
        / "examples"
        / "acme"
        / "org.yaml"
    )
    data = run_import(store, path).to_json()  # and the 7 group files its Location names beside it
    assert data["source_types"] == {"Group": 8, "Location": 1, "User": 16}
    assert data["counts"]["entities"] == {"organization": 8}
    assert len(data["unmapped"]) == 17  # 16 Users, the Location (read, not kept); links and profiles are kept
    assert all(set(u) == {"location", "location_vi", "field", "code", "reason", "reason_vi"} for u in data["unmapped"])


def test_every_run_is_recorded_success_dry_run_and_failures(store: CatalogStore, tmp_path: Path) -> None:
    good = native(tmp_path, "a.json", [org("so-a"), system("s1")])
    dry = run_import(store, good, dry_run=True)
    assert store.revision()[0] == 0 and store.count_entities() == 0  # a recorded dry run is still no change
    ok = run_import(store, good)
    after_ok = state(store)
    with pytest.raises(ImportFailed):
        run_import(store, tmp_path / "missing.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff{{{")
    with pytest.raises(ImportFailed):
        run_import(store, garbage)
    refused = run_import(store, native(tmp_path, "a.json", [org("so-a"), system("s1"), system("s2", owner="x")]))
    assert state(store) == after_ok  # failures wrote nothing but their records
    runs = {r["run"]: r for r in list_runs(store)}
    assert store.count_records(RUNS) == 5 and len(runs) == 5
    assert runs[dry.run]["status"] == "finished" and runs[dry.run]["dry_run"] is True
    assert runs[dry.run]["created"] == {"organization": 1, "system": 1}
    assert runs[ok.run] | {} == runs[ok.run] and runs[ok.run]["status"] == "finished"
    assert runs[ok.run]["dry_run"] is False and runs[ok.run]["loaded"] is True
    assert runs[ok.run]["created"] == {"organization": 1, "system": 1} and runs[ok.run]["finished"]
    assert runs[ok.run]["source"] == "native:a.json" and runs[ok.run]["actor"] == "system"
    assert runs[refused.run]["status"] == "failed" and runs[refused.run]["rejected"] == 1
    assert runs[refused.run]["first_rejections"][0]["field"] == "owner_history.0.org"
    failed = sorted((r for r in runs.values() if r["status"] == "failed"), key=lambda r: r["started"])
    errors = sorted(r["error"] for r in failed)
    assert any("no such file" in e for e in errors) and any("not UTF-8" in e for e in errors)
    # the change-log entries of a run carry its id
    assert {c.request_id for c in store.changelog()} == {ok.run}


def test_progress_is_reported(store: CatalogStore) -> None:
    seen: list[tuple[int, int]] = []
    run_import(store, SAMPLE, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 100


# --- two languages -----------------------------------------------------------------------------------------------


def test_reasons_in_vietnamese_or_english() -> None:
    r = Rejection(msg("at-row", where="f.csv", row=3), "lifecycle", msg("value-must-be-date"))
    assert r.text("vi") == "f.csv, dòng 3: lifecycle: phải là ngày dạng YYYY-MM-DD"
    assert r.text("en") == str(r) == "f.csv, row 3: lifecycle: must be a date YYYY-MM-DD"
    missing = Rejection("x", "", msg("ref-not-in-file-or-catalog", ref="organization:x"))
    assert missing.text("vi") == "x: organization:x không có trong tệp lẫn trong danh mục"
    assert missing.to_json()["code"] == "ref-not-in-file-or-catalog"
    assert Rejection("x", "", "odd").text("vi") == "x: odd"  # a reason that is no message: shown as it is


# --- hostile files, for every registered importer ----------------------------------------------------------------

VALID = {  # a real file each importer reads, to cut in half
    "native": SAMPLE,
    "backstage": CORPORA / "backstage" / "backstage-backstage@b5ef4cc" / "catalog-info.yaml",
    "archimate": CORPORA / "archimate" / "archimatetool-ArchiModels" / "Archisurance" / "Archisurance.xml",
    "archi": CORPORA / "archimate" / "archimatetool-ArchiModels" / "Archisurance" / "Archisurance.archimate",
    "archi-csv": CORPORA
    / "archimate"
    / "archimatetool-archi"
    / "tests"
    / "com.archimatetool.csv.tests"
    / "testdata"
    / "test1-elements.csv",
}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>" * 200)
        z.writestr("xl/workbook.xml", "<workbook/>" * 200)
    return buf.getvalue()


def _cases(name: str) -> list[tuple[str, bytes]]:
    valid = VALID.get(name)
    body = valid.read_bytes() if valid is not None and valid.is_file() else _zip()
    return [
        ("garbage", bytes(range(256)) * 8 + b"\x00\xff\xfe<<{[" * 50),
        ("empty", b""),
        ("truncated", body[: len(body) // 2]),
    ]


@pytest.mark.parametrize("case", ["garbage", "empty", "truncated"])
def test_every_importer_refuses_hostile_files_without_crashing(store: CatalogStore, tmp_path: Path, case: str) -> None:
    importers = registry()
    assert {"native", "backstage"} <= set(importers)
    problems = []
    for name, imp in importers.items():
        content = dict(_cases(name))[case]
        path = tmp_path / f"{case}{imp.suffixes[0]}"
        path.write_bytes(content)
        before = state(store)
        try:
            report = run_import(store, path, name)
        except ImportFailed as exc:
            if path.name not in exc.message:
                problems.append((name, f"the error does not name the file: {exc.message}"))
        except Exception as exc:
            problems.append((name, f"crashed: {type(exc).__name__}: {exc}"))
            continue
        else:
            if not report.rejected or report.loaded:
                problems.append(
                    (name, f"accepted a {case} file: loaded={report.loaded}, created {report.result.created}")
                )
        if state(store) != before:
            problems.append((name, "the catalog changed"))
        last = list_runs(store, limit=1)[0]
        if last["status"] != "failed" or last["format"] != name:
            problems.append((name, f"run recorded as {last['status']} ({last['format']})"))
    assert problems == []


def test_oversized_files_are_refused_before_reading(store: CatalogStore, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(ImportFailed, match="larger than the limit of 1,024 bytes"):
        run_import(store, big, max_bytes=1024)


# --- the command line --------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_CATALOG_")}
    full_env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_cli_import_in_both_languages_and_imports_lists_the_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    bad = native(tmp_path, "bad.json", [org("so-a"), system("s1", owner="organization:ghost")])
    r = cli("import", str(bad), "--store", url, cwd=tmp_path)
    assert r.returncode == 1
    assert "organization:ghost không có trong tệp lẫn trong danh mục" in r.stderr and "Không nhập gì" in r.stderr
    r = cli("import", str(bad), "--store", url, "--lang", "en", cwd=tmp_path)
    assert (
        "organization:ghost is neither in the file nor in the catalog" in r.stderr
        and "Nothing was imported" in r.stderr
    )
    r = cli(
        "import",
        str(tmp_path / "nothing.json"),
        "--store",
        url,
        "--report",
        str(tmp_path / "r.json"),
        cwd=tmp_path,
        env={"IOC_CATALOG_LANG": "en"},
    )
    assert r.returncode == 1 and "Error:" in r.stderr and "no such file" in r.stderr and "Traceback" not in r.stderr
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["status"] == "failed"
    good = native(tmp_path, "good.json", [org("so-a"), system("s1")])
    r = cli("import", str(good), "--store", url, "--report", str(tmp_path / "ok.json"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ok.json").read_text(encoding="utf-8"))["created"] == {"organization": 1, "system": 1}
    r = cli("imports", "--store", url, "--json", cwd=tmp_path)
    runs = json.loads(r.stdout)
    assert [(x["source"], x["status"]) for x in runs] == [
        ("native:good.json", "finished"),
        ("native:nothing.json", "failed"),
        ("native:bad.json", "failed"),
        ("native:bad.json", "failed"),
    ]
    r = cli("imports", "--store", url, cwd=tmp_path)
    assert r.returncode == 0 and "native:good.json" in r.stdout and "1 item rejected" in r.stdout


def test_importers_read_against_the_stores_metamodel_with_its_custom_attributes(tmp_path: Path) -> None:
    from catalog.metamodel import load_metamodel
    from catalog.store import open_store

    ext = tmp_path / "ext.yaml"
    ext.write_text(
        "system:\n  funding_source:\n    type: enum\n    values: [state_budget, oda]\n"
        "    label: {vi: Nguồn vốn, en: Funding source}\n",
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}", metamodel=load_metamodel(ext), create=True)
    try:
        good = system("s1") | {"attributes": {"lifecycle": "production", "funding_source": "oda"}}
        report = run_import(store, native(tmp_path, "a.json", [org("so-a"), good]))
        assert report.rejected == [] and store.get_entity("system:s1").attributes["funding_source"] == "oda"
        bad = system("s2") | {"attributes": {"lifecycle": "production", "funding_source": "loan"}}
        report = run_import(store, native(tmp_path, "b.json", [bad]))
        assert [(r.field, r.reason) for r in report.rejected] == [
            ("attributes.funding_source", "must be one of: state_budget, oda")
        ]
        assert store.find_entity("system:s2") is None
    finally:
        store.close()
