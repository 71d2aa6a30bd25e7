"""Any spreadsheet, mapped once (issue 20, item 3): a department's own layout (title rows, a header merged over two
rows, labels, organisation names; tests/mapping_sheet.py) read through a mapping profile: the header found and joined,
fields suggested from the metamodel's labels, values mapped, ambiguous names refused until chosen, the profile saved
through the store contract and used again, unattended, by ``ioc-catalog import --mapping``. Rules on both backends
(the ``store`` fixture); the browser journey: tests/web/test_mapping.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE
from mapping_sheet import AMBIGUOUS, CHOSEN, EXPECTED, department_workbook
from openpyxl import Workbook
from typer.testing import CliRunner

from catalog.changeset import submit
from catalog.errors import NotFound, PermissionDenied, ValidationFailed
from catalog.metamodel import DEFAULT
from catalog.permissions import Principal
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.base import ImportLimits, plan_import, run_import
from importers.mapping import (
    HEADER_DEPTH,
    MappedImporter,
    Orgs,
    Profile,
    Profiles,
    apply,
    detect_header,
    read_file,
    read_sheet,
    suggest,
)

ARCHITECT = Principal("architect", "architect")
EDITOR = Principal("editor-skhcn", "editor", "organization:hcm-skhcn")
OTHER_EDITOR = Principal("editor-stc", "editor", "organization:hcm-stc")


@pytest.fixture
def db(store: CatalogStore) -> CatalogStore:
    assert run_import(store, SAMPLE).loaded
    return store


def profile_of(path: Path, store: CatalogStore, **extra: object) -> Profile:
    """The profile a person makes on the mapping page: the suggestions kept, the ambiguous name chosen."""
    sheet = read_sheet(read_file(path, ImportLimits()))
    targets = suggest(sheet, store.metamodel, "system")
    columns = {h: t for h, t in zip(sheet.headers, targets, strict=True) if t}
    data = {"name": "Sở KH&CN - danh mục HTTT", "kind": "system", "columns": columns}
    data["values"] = {"owner": {AMBIGUOUS: CHOSEN}}
    return Profile.from_json(data | extra, store.metamodel)


def test_the_header_is_found_below_the_title_rows_and_its_merged_parts_joined(tmp_path: Path) -> None:
    sheet = read_sheet(read_file(department_workbook(tmp_path / "dept.xlsx"), ImportLimits()))
    assert (sheet.first, sheet.last) == (3, 4)
    assert sheet.headers == [
        "STT",
        "Thông tin hệ thống: Tên hệ thống",
        "Thông tin hệ thống: Cơ quan chủ quản",
        "Cấp độ",
        "Tình trạng: Đang vận hành",
        "Tình trạng: Đang xây dựng",
        "Mức độ quan trọng",
        "Ghi chú",
    ]
    assert [n for n, _ in sheet.rows] == [5, 6, 7]


def test_a_cover_sheet_before_the_table_is_passed_over(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = department_workbook(tmp_path / "dept.xlsx")
    wb = load_workbook(path)
    cover = wb.create_sheet("Hướng dẫn", 0)
    cover.append(["Báo cáo kiểm kê: điền mỗi hệ thống một dòng"])
    cover.append(["Hạn nộp: 31/12/2026"])
    wb.save(path)
    sheet = read_sheet(read_file(path, ImportLimits()))
    assert sheet.table.name == "Danh mục HTTT" and (sheet.first, sheet.last) == (3, 4)
    assert read_sheet(read_file(path, ImportLimits()), Profile(name="x", sheet="Hướng dẫn")).table.name == "Hướng dẫn"


def test_a_repeated_header_is_told_apart(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["Tên hệ thống", "Ghi chú", "Ghi chú"])
    wb.active.append(["A", "một", "hai"])
    wb.save(tmp_path / "twice.xlsx")
    assert read_sheet(read_file(tmp_path / "twice.xlsx", ImportLimits())).headers == [
        "Tên hệ thống",
        "Ghi chú",
        "Ghi chú (2)",
    ]


def test_fields_are_suggested_from_the_metamodels_labels_in_either_language_without_diacritics(tmp_path: Path) -> None:
    sheet = read_sheet(read_file(department_workbook(tmp_path / "dept.xlsx"), ImportLimits()))
    targets = suggest(sheet, DEFAULT, "system")
    assert targets[:7] == [
        [],  # STT: a row number, left out
        ["name_vi"],
        ["owner"],
        ["security_level"],
        ["lifecycle", "production"],  # a mark column: "x" under "Đang vận hành"
        ["lifecycle", "building"],
        ["criticality"],
    ]
    # the same headers written without diacritics, in English, or in capitals are read alike
    sheet.headers = [
        "stt",
        "TEN HE THONG",
        "Owner",
        "cap do",
        "Status: In production",
        "Status: Building",
        "criticality",
    ]
    sheet.headers.append("")
    assert suggest(sheet, DEFAULT, "system")[1:7] == targets[1:7]


def test_an_ambiguous_organisation_name_is_refused_naming_row_column_and_candidates_until_chosen(
    db: CatalogStore, tmp_path: Path
) -> None:
    path = department_workbook(tmp_path / "dept.xlsx")
    sheet = read_sheet(read_file(path, ImportLimits()))
    profile = profile_of(path, db)
    profile.values = {}
    mapped = apply(sheet, profile, db.metamodel, Orgs(db), path.name)
    [choice] = mapped.choices.values()
    assert choice.said == AMBIGUOUS and choice.rows == [5]
    assert {ref for ref, _ in choice.candidates} == {
        "organization:hcm-skhcn",
        "organization:hn-skhcn",
        "organization:hue-skhcn",
    }  # the current ones: Bình Dương's and Bà Rịa – Vũng Tàu's ended with the mergers
    [refused] = mapped.rejected
    assert refused.text("vi").startswith(
        "dept.xlsx: trang Danh mục HTTT, dòng 5, cột Thông tin hệ thống: Cơ quan chủ quản: “Sở Khoa học"
    )
    assert "3" in refused.text("en") and "choose" in refused.text("en")
    # the other two rows map on their own: "Sở Tài chính" and the short name "Sở KH&CN" name one organisation each
    assert [row[1][0] for row in mapped.table.rows] == ["cong-thong-tin-ngan-sach", "thu-vien-so-kh-cn"]


def test_a_label_that_is_no_value_is_refused_at_its_row_and_column(db: CatalogStore, tmp_path: Path) -> None:
    path = department_workbook(tmp_path / "dept.xlsx")
    profile = profile_of(path, db)  # made on the office's usual file; the next one has two bad cells
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active["G6"] = "Rất cao"
    wb.active["E7"] = "?"
    wb.save(path)
    report = run_import(db, path, MappedImporter(profile, Orgs(db), db.metamodel), dry_run=True)
    texts = [r.text("en") for r in report.rejected]
    assert any("row 6, column Mức độ quan trọng" in t and "Rất cao" in t and "Criticality" in t for t in texts), texts
    assert any("row 7, column Tình trạng: Đang vận hành" in t and "mark" in t for t in texts), texts
    assert not report.loaded


def test_the_saved_profile_imports_unattended_from_the_command_line(db: CatalogStore, tmp_path: Path) -> None:
    path = department_workbook(tmp_path / "dept.xlsx")
    saved = Profiles(db, ARCHITECT).save(profile_of(path, db))
    assert Profiles(db, EDITOR).get("SỞ KH&CN - DANH MỤC HTTT").name == saved.name  # by folded name
    if db.__class__.__name__ != "SqliteStore":  # the command line opens the store by its URL: SQLite's file here
        return
    from api.cli import app

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.close()
    result = CliRunner().invoke(
        app, ["import", str(path), "--store", url, "--mapping", "sở kh&cn - danh mục httt", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    again = open_store(url)
    try:
        got = again.get_entities(sorted(EXPECTED))
        for ref, (owner, level, lifecycle, crit) in EXPECTED.items():
            e = got[ref]
            assert (e.owner, e.attributes["security_level"], e.attributes["lifecycle"]) == (owner, level, lifecycle)
            assert e.attributes["criticality"] == crit
        assert got["system:cong-thong-tin-ngan-sach"].name.vi == "Cổng thông tin ngân sách"
    finally:
        again.close()


def test_an_unknown_profile_is_refused_by_the_command_line(tmp_path: Path) -> None:
    from api.cli import main

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    store = open_store(url, create=True)
    store.close()
    path = department_workbook(tmp_path / "dept.xlsx")
    import sys

    argv = sys.argv
    sys.argv = ["ioc-catalog", "import", str(path), "--store", url, "--mapping", "nobody's", "--lang", "en"]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 1


def test_an_editors_mapped_file_becomes_one_draft(db: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "dept.xlsx"
    department_workbook(path)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active.delete_rows(6)  # the Sở Tài chính row: not this editor's
    wb.save(path)
    profile = Profiles(db, EDITOR).save(profile_of(path, db))
    assert profile.org == EDITOR.org  # an editor's profile is their organisation's
    plan = plan_import(db, path, MappedImporter(profile, Orgs(db), db.metamodel), principal=EDITOR)
    assert plan.ready, [r.text("en") for r in plan.report.rejected]
    outcome = submit(db, EDITOR, plan.changes, note="kiểm kê", origin="import")
    assert outcome.draft is not None and not outcome.applied
    assert {c.ref for c in plan.changes} == {"system:he-thong-quan-ly-de-tai-khoa-hoc", "system:thu-vien-so-kh-cn"}


def test_profiles_belong_to_an_organisation_or_to_everyone(db: CatalogStore, tmp_path: Path) -> None:
    path = department_workbook(tmp_path / "dept.xlsx")
    Profiles(db, EDITOR).save(profile_of(path, db))
    Profiles(db, ARCHITECT).save(profile_of(path, db, name="Mẫu chung"))
    assert [p.name for p in Profiles(db, OTHER_EDITOR).list()] == ["Mẫu chung"]
    assert len(Profiles(db, ARCHITECT).list()) == 2
    with pytest.raises(NotFound):
        Profiles(db, OTHER_EDITOR).get("Sở KH&CN - danh mục HTTT")
    with pytest.raises(PermissionDenied):
        Profiles(db, OTHER_EDITOR).save(profile_of(path, db))
    with pytest.raises(PermissionDenied):
        Profiles(db, Principal("viewer", "viewer")).save(profile_of(path, db, name="x"))


def test_a_malformed_profile_names_each_bad_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        Profile.from_json(
            {
                "name": "",
                "kind": "spaceship",
                "header_first": 999,
                "columns": {"Tên": ["no_such_field"], "Tình trạng": ["lifecycle", "flying"]},
                "values": {"lifecycle": {"Bay": "flying"}},
                "code_prefix": "UPPER CASE",
                "org": "system:x",
            },
            DEFAULT,
        )
    where = {e.location for e in exc.value.errors}
    assert {"name", "kind", "header_first", "columns.Tên", "columns.Tình trạng", "values.lifecycle"} <= where
    assert {"code_prefix", "org"} <= where


def test_the_header_search_is_bounded(tmp_path: Path) -> None:
    rows = [(n, ("tiêu đề",)) for n in range(1, HEADER_DEPTH + 5)] + [(HEADER_DEPTH + 5, ("Tên", "Cấp độ"))]
    first, _ = detect_header(rows)
    assert first == 1  # beyond the depth nothing is searched: the person sets the header rows on the page
    wb = Workbook()
    wb.active.append([f"cột {i}" for i in range(300)])
    wb.active.append(list(range(300)))
    wb.save(tmp_path / "wide.xlsx")
    from importers.base import ImportFailed

    with pytest.raises(ImportFailed):
        read_sheet(read_file(tmp_path / "wide.xlsx", ImportLimits()))


# --- the mapping page through the app (SQLite): a department editor's file becomes one draft; hostile forms ----------


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, CatalogStore]]:
    """The app over the browser tests' catalog, signed in as the editor of Sở KH&CN; uploads in ``tmp_path``."""
    from fastapi.testclient import TestClient
    from web.uitest import PASSWORD, build_catalog

    from api.app import create_app
    from api.routers import web_import
    from catalog.settings import Settings

    monkeypatch.setattr(web_import, "UPLOADS", tmp_path / "uploads")
    store = open_store(build_catalog(tmp_path / "web.db"))
    with TestClient(create_app(Settings(demo=True), store=store)) as c:
        page = c.get("/signin").text
        r = c.post("/signin", data={"csrf": _csrf(page), "name": "editor-skhcn", "password": PASSWORD})
        assert r.status_code == 200
        yield c, store
    store.close()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]


def _fields(html: str) -> dict[str, str]:
    """The mapping form as the page filled it: hidden inputs, inputs and each select's selected option."""
    out = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    out |= dict(re.findall(r'<input type="number" id="[^"]+" name="([^"]+)"[^>]* value="([^"]*)"', html))
    for name, body in re.findall(r'<select id="col-\d+" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&") for k, v in out.items()}


def test_an_editors_file_mapped_on_the_page_becomes_one_draft(client: tuple[Any, CatalogStore], tmp_path: Path) -> None:
    c, store = client
    path = department_workbook(tmp_path / "dept.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active.delete_rows(6)  # Sở Tài chính's row: not this editor's
    wb.save(path)
    page = c.get("/import/mapping").text
    r = c.post("/import/mapping", data={"csrf": _csrf(page)}, files={"file": ("dept.xlsx", path.read_bytes())})
    assert r.status_code == 200 and "mapping-rejected" in r.text and "hãy chọn" in r.text
    form = _fields(r.text) | {"csrf": _csrf(r.text), "choice.0": CHOSEN, "name": "Mẫu của Sở KH&CN", "action": "save"}
    assert form["col.1"] == "name_vi" and form["col.4"] == "lifecycle=production"
    r = c.post("/import/mapping", data=form)
    assert r.status_code == 200 and 'id="mapping-saved"' in r.text, r.text[-3000:]
    assert Profiles(store, EDITOR).get("Mẫu của Sở KH&CN").org == EDITOR.org
    token = _fields(r.text)["token"]
    r = c.post("/import", data={"csrf": _csrf(r.text), "token": token, "mapping": "Mẫu của Sở KH&CN", "dry_run": "1"})
    assert r.status_code == 200 and 'id="plan-changes"' in r.text, r.text[-3000:]
    assert "Hồ sơ ánh xạ “Mẫu của Sở KH&amp;CN”" in r.text
    confirm = {k: _fields(r.text)[k] for k in ("token", "mapping", "plan")} | {"csrf": _csrf(r.text), "note": "kiểm kê"}
    r = c.post("/import", data=confirm)
    assert r.status_code == 200 and 'id="draft-link"' in r.text, r.text[-3000:]
    assert store.find_entity("system:thu-vien-so-kh-cn") is None  # a draft: nothing applied yet
    assert not list((tmp_path / "uploads").iterdir())  # the upload is gone with the confirmation
    # the office's next file: the saved profile maps it at once, nothing to choose
    page = c.get("/import/mapping?lang=en").text
    assert "Mẫu của Sở KH&amp;CN" in page and "Import a spreadsheet in its own layout" in page
    assert "Nhập dữ liệu" not in page  # one language per page
    r = c.post(
        "/import/mapping?lang=en",
        data={"csrf": _csrf(page), "profile": "Mẫu của Sở KH&CN"},
        files={"file": ("dept-2027.xlsx", path.read_bytes())},
    )
    assert r.status_code == 200 and 'id="mapping-ready"' in r.text and "mapping-rejected" not in r.text
    assert store.get_entity(CHOSEN).name.en in r.text and "In production" in r.text  # the page's language


@pytest.mark.parametrize(
    "extra",
    [
        {"token": "../../etc"},
        {"token": "A" * 30},
        {"values_json": "{not json"},
        {"values_json": '{"owner": {"x": 1}, "lifecycle": "nope", "": null}'},
        {"header_first": "abc", "header_last": "-4"},
        {"header_first": "9999"},
        {"kind": "organization\x00", "kind_was": "system"},
        {"col.0": "lifecycle=flying", "col.1": "no_such_field", "col.99": "owner"},
        {"choice-field.0": "nope", "choice-said.0": "\u202e\x00", "choice.0": "x"},
        {"code_prefix": "../UPPER", "action": "save", "name": ""},
        {"action": "save", "name": "x" * 500},
    ],
)
def test_hostile_mapping_forms_are_refused_naming_the_field_never_5xx(
    client: tuple[Any, CatalogStore], tmp_path: Path, extra: dict[str, str]
) -> None:
    c, store = client
    path = department_workbook(tmp_path / "dept.xlsx")
    page = c.get("/import/mapping").text
    r = c.post("/import/mapping", data={"csrf": _csrf(page)}, files={"file": ("dept.xlsx", path.read_bytes())})
    form = _fields(r.text) | {"csrf": _csrf(r.text)} | extra
    r = c.post("/import/mapping", data=form)
    assert r.status_code in (200, 422), (extra, r.status_code, r.text[-1500:])
    assert "Traceback" not in r.text
    if extra.get("action") == "save":
        assert r.status_code == 422 and 'id="mapping-errors"' in r.text
        assert store.count_records("import-mapping") == 0


def test_a_file_that_cannot_be_read_is_refused_and_not_kept(client: tuple[Any, CatalogStore], tmp_path: Path) -> None:
    c, _ = client
    page = c.get("/import/mapping").text
    r = c.post("/import/mapping", data={"csrf": _csrf(page)}, files={"file": ("hong.xlsx", b"PK\x03\x04 not a zip")})
    assert r.status_code == 422 and 'id="mapping-failure"' in r.text
    assert not list((tmp_path / "uploads").iterdir())
    r = c.get("/import/mapping/profile.json?name=%00nobody")
    assert r.status_code == 404
    path = department_workbook(tmp_path / "dept.xlsx")
    r = c.post("/import/mapping", data={"csrf": _csrf(page)}, files={"file": ("dept.xlsx", path.read_bytes())})
    token = _fields(r.text)["token"]
    r = c.post("/import", data={"csrf": _csrf(page), "token": token, "mapping": "nobody's", "dry_run": "1"})
    assert r.status_code == 404 and "nobody" in r.text  # no such profile: said, and the upload is not kept
    assert not list((tmp_path / "uploads").iterdir())


def test_the_preview_keeps_the_first_rows_and_counts_the_rest(db: CatalogStore, tmp_path: Path) -> None:
    from importers.mapping import PREVIEW_ROWS

    path = department_workbook(tmp_path / "dept.xlsx")
    profile = profile_of(path, db)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for n in range(250):
        wb.active.append([n + 4, f"Hệ thống số {n}", "Sở Tài chính", 1, "x", None, "Thấp", None])
    wb.save(path)
    sheet = read_sheet(read_file(path, ImportLimits()))
    mapped = apply(sheet, profile, db.metamodel, Orgs(db), path.name)
    assert len(mapped.preview) == PREVIEW_ROWS and mapped.rows == 253 and len(mapped.table.rows) == 253
    assert mapped.rejected == []
