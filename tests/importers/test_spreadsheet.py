"""Spreadsheets (XLSX and CSV): the template, lossless round trips by content hash, every bad cell reported where it
is, CSV dialects and Unicode forms, formula injection, and hostile files refused before parsing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, entity, make_store
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from catalog.digest import content_hash
from catalog.metamodel import DEFAULT, LIFECYCLE
from catalog.sheets import escape_formula, unescape_formula
from catalog.store import open_store
from catalog.store.base import CatalogStore, WriteContext
from importers.base import ImportFailed, pick, run_import
from importers.spreadsheet import (
    LISTS_SHEET,
    README_SHEET,
    ExportFailed,
    join_list,
    layout,
    split_list,
    write_csv_zip,
    write_template,
    write_workbook,
    write_xlsx,
)

LIFECYCLE_ERROR = (
    "must be one of: Planned, Building, In production, Retiring, Retired"  # the labels (codes or labels accepted)
)


def sqlite_store(path: Path) -> CatalogStore:
    path.mkdir(exist_ok=True)
    return make_store("sqlite", path)


@pytest.fixture
def db(tmp_path: Path) -> CatalogStore:
    s = sqlite_store(tmp_path / "a")
    yield s
    s.close()


@pytest.fixture
def other(tmp_path: Path) -> CatalogStore:
    s = sqlite_store(tmp_path / "b")
    yield s
    s.close()


@pytest.fixture
def sample(db: CatalogStore) -> CatalogStore:
    report = run_import(db, SAMPLE)
    assert report.loaded and report.rejected == []
    return db


def xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


ORG = ["code", "name_vi", "org_type"]


def orgs_sheet() -> list[list[object]]:
    return [ORG, ["hcm-skhcn", "Sở Khoa học và Công nghệ", "department"]]


def counts(store: CatalogStore) -> tuple[int, int, int]:
    return store.count_entities(), store.count_relationships(), len(store.list_events())


# --- the template ----------------------------------------------------------------------------------------------


def test_template_has_a_sheet_per_kind_bilingual_headers_drop_downs_and_a_readme(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(DEFAULT, path)
    wb = load_workbook(path)
    assert wb.sheetnames == [
        README_SHEET,
        *DEFAULT.kinds,  # a sheet per kind of the metamodel, in its order (organization, system, ... procedure ...)
        "relationships",
        "owner_history",
        "org_events",
        LISTS_SHEET,
    ]
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    ws = wb["system"]
    head = [c.value for c in ws[1]]
    assert head[:4] == [
        "Mã / Code *",
        "Tên (tiếng Việt) / Name (Vietnamese)",
        "Tên (tiếng Anh) / Name (English)",
        "Đơn vị chủ quản / Owner",
    ]
    assert "Giai đoạn vòng đời / Lifecycle *" in head and "Cấp độ an toàn HTTT / Security level" in head
    assert len(head) == 9 + len(DEFAULT.kinds["system"].attributes)
    assert ws.max_row == 1 and ws.freeze_panes == "A2" and ws["A1"].font.b
    assert ws.column_dimensions["B"].width == 40
    # the lifecycle column offers exactly the metamodel's values
    col = head.index("Giai đoạn vòng đời / Lifecycle *") + 1
    letter = ws.cell(row=1, column=col).column_letter
    dv = next(d for d in ws.data_validations.dataValidation if f"{letter}2:{letter}1048576" in str(d.sqref))
    assert dv.type == "list"
    sheet, rng = dv.formula1.split("!")
    assert sheet.strip("'") == LISTS_SHEET
    values = [c.value for row in wb[LISTS_SHEET][rng.replace("$", "")] for c in row]
    assert values == list(LIFECYCLE)
    # every drop-down of every sheet names the allowed values of its column
    for spec in layout(DEFAULT):
        assert len(wb[spec.name].data_validations.dataValidation) == sum(1 for c in spec.columns if c.values)
    assert [c.value for c in wb["relationships"][1]][:3] == [
        "Loại quan hệ / Relationship type *",
        "Nguồn / Source *",
        "Đích / Target *",
    ]
    readme = [[c.value for c in row] for row in wb[README_SHEET].iter_rows()]
    keys = {(r[0], r[2]) for r in readme if r[0] and r[2]}
    assert ("system", "lifecycle") in keys and ("org_events", "transfers") in keys
    assert any("Hướng dẫn" in str(r[0]) or "Mỗi trang" in str(r[0]) for r in readme)
    assert any(str(r[0]).startswith("Each sheet is one kind") for r in readme)


def test_template_is_deterministic_and_imports_as_nothing(tmp_path: Path, db: CatalogStore) -> None:
    assert write_workbook(None, DEFAULT) == write_workbook(None, DEFAULT)
    write_template(DEFAULT, tmp_path / "t.xlsx")
    report = run_import(db, tmp_path / "t.xlsx")
    assert report.rejected == [] and report.unmapped == [] and counts(db) == (0, 0, 0)


# --- round trips ------------------------------------------------------------------------------------------------


def test_xlsx_round_trip_keeps_the_content_hash(sample: CatalogStore, other: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    write_xlsx(sample, path)
    report = run_import(other, path)
    assert report.format == "xlsx" and report.rejected == [] and report.loaded
    assert content_hash(other) == content_hash(sample)
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))  # the sample's own counts
    assert counts(other) == counts(sample) == tuple(len(doc[k]) for k in ("entities", "relationships", "org_events"))
    # same catalog, same bytes: the copy exports exactly what the original did
    again = tmp_path / "again.xlsx"
    write_xlsx(other, again)
    assert again.read_bytes() == path.read_bytes()
    # ownership histories with dates, events and bases travel on their own sheet
    wb = load_workbook(path, read_only=True)
    history = [r for r in wb["owner_history"].iter_rows(values_only=True) if r[0] == "database:bd-kho-du-lieu"]
    assert [r[1:4] for r in history] == [
        ("organization:bd-sttt", "2020-03-01", "2025-03-01"),
        ("organization:bd-skhcn", "2025-03-01", "2025-07-01"),
        ("organization:hcm-skhcn", "2025-07-01", None),
    ]
    assert history[1][4] == "bd-2025-03-sttt-into-skhcn"


def test_csv_round_trip_keeps_the_content_hash(sample: CatalogStore, other: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    write_csv_zip(sample, path)
    with zipfile.ZipFile(path) as zf:
        assert [i.filename for i in zf.infolist()] == [f"{s.name}.csv" for s in layout(DEFAULT)]
        assert zf.read("system.csv").startswith("\ufeffcode,name_vi,name_en,owner,".encode())
    assert pick(path, None).name == "csv"  # a zip of the layout's CSVs needs no --format
    report = run_import(other, path)
    assert report.rejected == [] and report.loaded
    assert content_hash(other) == content_hash(sample)


def test_dry_run_changes_nothing_and_a_second_import_changes_nothing(
    sample: CatalogStore, other: CatalogStore, tmp_path: Path
) -> None:
    path = tmp_path / "export.xlsx"
    write_xlsx(sample, path)
    dry = run_import(other, path, dry_run=True)
    assert dry.dry_run and not dry.loaded
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    systems = sum(e["ref"].startswith("system:") for e in doc["entities"])
    assert dry.result.created["system"] == systems and dry.result.created["relationship"] == len(doc["relationships"])
    assert counts(other) == (0, 0, 0) and other.revision()[0] == 0
    first = run_import(other, path)
    rev = other.revision()
    second = run_import(other, path)
    assert first.result.created == dry.result.created
    assert second.result.created == {} and second.result.updated == {} and second.result.removed == {}
    assert second.result.unchanged == first.result.created
    assert other.revision() == rev


def test_one_bad_row_among_a_thousand_imports_nothing_and_names_sheet_row_and_field(
    db: CatalogStore, tmp_path: Path
) -> None:
    rows = [["Mã", "Tên (tiếng Việt)", "Đơn vị chủ quản", "Lifecycle"]]
    rows += [[f"he-thong-{i:04d}", f"Hệ thống {i}", "organization:hcm-skhcn", "production"] for i in range(1000)]
    rows[6][3] = "prod"  # sheet row 7
    path = xlsx(tmp_path / "systems.xlsx", {"organization": orgs_sheet(), "system": rows})
    report = run_import(db, path)
    assert not report.loaded and counts(db) == (0, 0, 0)
    assert [(r.location, r.field, r.reason) for r in report.rejected] == [
        ("systems.xlsx: sheet system, row 7, column lifecycle", "lifecycle", LIFECYCLE_ERROR)
    ]
    loose = run_import(db, path, strict=False)  # --no-strict loads the 1,000 valid rows
    assert loose.loaded and db.count_entities() == 1000


# --- cells, headers and CSV dialects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "lifecycle",
        "Lifecycle",
        "Giai đoạn vòng đời",
        "Giai đoạn vòng đời / Lifecycle *",
        unicodedata.normalize("NFD", "GIAI ĐOẠN VÒNG ĐỜI"),
        "giai doan vong doi",
    ],
)
def test_every_header_form_is_accepted(db: CatalogStore, tmp_path: Path, header: str) -> None:
    path = xlsx(tmp_path / "h.xlsx", {"system": [["code", "name_vi", header], ["a", "A", "building"]]})
    report = run_import(db, path)
    assert report.rejected == [], report.rejected
    assert db.get_entity("system:a").attributes == {"lifecycle": "building"}


def test_typed_cells_are_coerced_from_the_metamodel(db: CatalogStore, tmp_path: Path) -> None:
    import datetime as dt

    path = xlsx(
        tmp_path / "t.xlsx",
        {
            "organization": orgs_sheet(),
            "system": [
                [
                    "code",
                    "name_vi",
                    "owner",
                    "lifecycle",
                    "security_level",
                    "users",
                    "last_reviewed",
                    "valid_from",
                    "tags",
                    "security_decision",
                ],
                [
                    1022,
                    "Hệ thống một",
                    "organization:hcm-skhcn",
                    "production",
                    3.0,
                    1200,
                    dt.datetime(2025, 6, 30),
                    dt.date(2020, 1, 1),
                    "iot; camera ;;",
                    4567,
                ],
            ],
        },
    )
    report = run_import(db, path)
    assert report.rejected == []
    e = db.get_entity("system:1022")
    assert e.attributes == {
        "last_reviewed": "2025-06-30",
        "lifecycle": "production",
        "security_decision": "4567",
        "security_level": 3,
        "users": 1200,
    }
    assert e.tags == ["camera", "iot"] and e.valid_from == dt.date(2020, 1, 1) and e.owner == "organization:hcm-skhcn"


def write_csv(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


@pytest.mark.parametrize("delimiter,bom", [(",", False), (";", True), ("\t", False), ("\t", True)])
def test_csv_dialects_bom_and_nfd_text(db: CatalogStore, tmp_path: Path, delimiter: str, bom: bool) -> None:
    nfd = unicodedata.normalize("NFD", "Sở Tài nguyên và Môi trường")
    run_import(
        db,
        write_csv(
            tmp_path / "organization.csv",
            delimiter.join(["Mã", "Tên (tiếng Việt)", "Loại tổ chức"])
            + "\r\n"
            + delimiter.join(["stnmt", nfd, "department"])
            + "\r\n",
            bom=bom,
        ),
    )
    header = delimiter.join([unicodedata.normalize("NFD", "Mã"), "Name (Vietnamese)", "Owner", "Lifecycle", "Tags"])
    body = delimiter.join(
        [
            "gis",
            unicodedata.normalize("NFD", "Hệ thống GIS đất đai"),
            "organization:stnmt",
            "production",
            unicodedata.normalize("NFD", "đất đai"),
        ]
    )
    report = run_import(db, write_csv(tmp_path / "system.csv", f"{header}\n\n{body}\n", bom=bom))
    assert report.rejected == [], report.rejected
    org = db.get_entity("organization:stnmt")
    assert org.name.vi == "Sở Tài nguyên và Môi trường" == unicodedata.normalize("NFC", nfd)
    gis = db.get_entity("system:gis")
    assert gis.name.vi == "Hệ thống GIS đất đai" and gis.tags == ["đất đai"] and gis.owner == "organization:stnmt"


def test_a_csv_with_a_kind_column_holds_several_kinds(db: CatalogStore, tmp_path: Path) -> None:
    text = (
        "kind,code,name_vi,org_type,owner,lifecycle,scope\n"
        "organization,skhcn,Sở KH&CN,department,,,\n"
        "database,csdl,CSDL,,organization:skhcn,production,shared\n"
        "system,ht,Hệ thống,,organization:skhcn,building,shared\n"
    )
    report = run_import(db, write_csv(tmp_path / "inventory.csv", text))
    assert [(r.location, r.field) for r in report.rejected] == [("inventory.csv, row 4, column scope", "scope")]
    assert "not an attribute of system" in report.rejected[0].reason


def test_bad_cells_are_each_reported_where_they_are(db: CatalogStore, tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "bad.xlsx",
        {
            "organization": orgs_sheet(),
            "system": [
                ["code", "name_vi", "owner", "lifecycle", "security_level", "valid_from", "colour"],
                ["ok", "OK", "organization:hcm-skhcn", "production", 2, None, None],
                ["Bad Code", "X", None, "production", None, None, None],
                ["lvl", "X", None, "production", 9, "2025-13-01", None],
                ["ok", "Again", None, "production", None, None, None],
                ["own", "X", "organization:nowhere", "production", None, None, None],
            ],
            "relationships": [
                ["type", "source", "target", "protocol"],
                ["loves", "system:ok", "organization:hcm-skhcn", None],
                ["operated_by", "system:ok", "organization:hcm-skhcn", "carrier-pigeon"],
            ],
            "org_events": [["id", "type", "date"], ["e1", "explode", "2025-01-01"]],
            "Ghi chú": [["anything"], ["notes the layout does not cover"]],
        },
    )
    report = run_import(db, path)
    got = {(r.location, r.field) for r in report.rejected}
    assert got == {
        ("bad.xlsx: sheet system, row 1, column colour", "colour"),
        ("bad.xlsx: sheet system, row 3, column code", "code"),
        ("bad.xlsx: sheet system, row 4, column security_level", "security_level"),
        ("bad.xlsx: sheet system, row 4, column valid_from", "valid_from"),
        ("bad.xlsx: sheet system, row 5, column code", "code"),
        ("bad.xlsx: sheet system, row 6, column owner", "owner"),
        ("bad.xlsx: sheet relationships, row 2, column type", "type"),
        ("bad.xlsx: sheet relationships, row 3, column protocol", "protocol"),
        ("bad.xlsx: sheet org_events, row 2, column type", "type"),
    }
    reasons = {r.field: r.reason for r in report.rejected}
    assert reasons["security_level"] == "must be at most 5"
    twice = next(r for r in report.rejected if r.location.endswith("row 5, column code"))
    assert "system:ok appears twice" in twice.reason and "xuất hiện hai lần" in twice.text("vi")
    assert reasons["owner"] == "organization:nowhere is neither in the file nor in the catalog"
    assert [u.location for u in report.unmapped] == ["bad.xlsx: sheet Ghi chú"]
    colour = next(r for r in report.rejected if r.field == "colour")
    assert colour.text("vi").startswith("bad.xlsx: trang system, dòng 1, cột colour: colour: cột 'colour' không có")
    assert not report.loaded and counts(db) == (0, 0, 0)


def test_ownership_history_must_agree_with_its_entity(db: CatalogStore, tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "h.xlsx",
        {
            "organization": [ORG, ["a", "A", "department"], ["b", "B", "department"]],
            "system": [["code", "name_vi", "owner", "lifecycle"], ["s", "S", "organization:a", "production"]],
            "owner_history": [
                ["entity", "org", "start", "end"],
                ["system:s", "organization:a", "2020-01-01", "2025-03-01"],
                ["system:s", "organization:b", "2025-03-01", None],
                ["system:ghost", "organization:a", None, None],
            ],
        },
    )
    report = run_import(db, path)
    assert {(r.location, r.field) for r in report.rejected} == {
        ("h.xlsx: sheet system, row 2, column owner", "owner"),
        ("h.xlsx: sheet owner_history, row 4, column entity", "entity"),
    }


def test_missing_key_column_and_repeated_columns_are_refused(db: CatalogStore, tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "m.xlsx",
        {
            "system": [["name_vi", "lifecycle"], ["X", "production"]],
            "database": [
                ["code", "Name (Vietnamese)", "name_vi", "lifecycle", "scope"],
                ["d", "D", "D", "production", "shared"],
            ],
        },
    )
    report = run_import(db, path)
    assert {(r.location, r.field) for r in report.rejected} == {
        ("m.xlsx: sheet system, row 1, column code", "code"),
        ("m.xlsx: sheet database, row 1, column name_vi", "name_vi"),
    }


@given(st.text(max_size=30))
def test_formula_escape_is_exactly_undone(text: str) -> None:
    escaped = escape_formula(text)
    assert unescape_formula(escaped) == text
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


@given(st.lists(st.text(min_size=1, max_size=12).map(str.strip).filter(bool), max_size=6))
def test_lists_with_semicolons_and_backslashes_round_trip(values: list[str]) -> None:
    assert split_list(join_list(values)) == [v.strip() for v in values if v.strip()]


def test_formula_injection_is_neutralised_on_export_and_restored_on_import(
    db: CatalogStore, other: CatalogStore, tmp_path: Path
) -> None:
    ctx = WriteContext(actor="tester")
    db.create_entity(entity("organization:hcm-skhcn"), ctx)
    hostile = entity(
        "system:evil",
        name='=HYPERLINK("http://x","click")',
        owner="organization:hcm-skhcn",
        vendor="+cmd|' /C calc'!A0",
        evidence_note="'=already quoted",
        hosting="-2+3",
        security_decision="@SUM(A1)",
    )
    hostile = hostile.model_copy(update={"tags": ["=1+1", "ok"]})
    db.create_entity(hostile, ctx)
    path = tmp_path / "evil.xlsx"
    write_xlsx(db, path)
    with zipfile.ZipFile(path) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/")]
    assert all("<f>" not in s and "<f " not in s for s in sheets)  # no formula anywhere
    ws = load_workbook(path)["system"]
    values = {c.value for row in ws.iter_rows(min_row=2) for c in row if c.value}
    assert {
        "'=HYPERLINK(\"http://x\",\"click\")",
        "'+cmd|' /C calc'!A0",
        "''=already quoted",
        "'-2+3",
        "'@SUM(A1)",
        "'=1+1; ok",
    } <= values
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)
    assert run_import(other, path).rejected == []
    assert content_hash(other) == content_hash(db)
    zpath = tmp_path / "evil.zip"
    write_csv_zip(db, zpath)
    with zipfile.ZipFile(zpath) as zf:
        assert "'=HYPERLINK" in zf.read("system.csv").decode("utf-8-sig")
    third = sqlite_store(tmp_path / "c")
    assert run_import(third, zpath).rejected == [] and content_hash(third) == content_hash(db)
    third.close()


def test_a_value_an_xlsx_cannot_hold_is_exported_as_u_fffd_and_reported(db: CatalogStore, tmp_path: Path) -> None:
    """Stored before the text rules refused it (written to the store directly): the export registry writes U+FFFD
    and names the value; the workbook writer alone still refuses it with its place, never writing a broken file."""
    from catalog.model import parse_entity
    from importers.exports import export

    db.create_entity(
        parse_entity(
            {"ref": "organization:o", "name": {"vi": "bell\x07", "en": "o"}, "attributes": {"org_type": "department"}}
        ),
        WriteContext(actor="tester"),
    )
    out = export(db, "xlsx")
    assert out.notes == ["organization:o name.vi: a character XML cannot hold is written as U+FFFD"]
    ws = load_workbook(io.BytesIO(out.data))["organization"]
    assert [c.value for c in ws[2]][:3] == ["o", "bell\ufffd", "o"]
    with pytest.raises(ExportFailed, match="sheet organization, row 2, column name_vi"):
        write_xlsx(db, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


# --- hostile and malformed files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content,message",
    [
        (b"code,name\nnot,a workbook\n", "not an XLSX workbook or zip archive"),
        (b"", "the file is empty"),
        ("zip-without-workbook", "a zip, but not an XLSX workbook"),
        ("truncated", "not an XLSX workbook or zip archive"),
        ("broken-sheet", "not a readable XLSX workbook"),
    ],
)
def test_malformed_workbooks_fail_with_a_clear_message(
    db: CatalogStore, tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "bad.xlsx"
    if content == "zip-without-workbook":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("hello.txt", "hi")
    elif content == "truncated":
        path.write_bytes(write_workbook(None, DEFAULT)[:2000])
    elif content == "broken-sheet":
        good = write_workbook(None, DEFAULT)
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(path, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                dst.writestr(item, b"<workbook><oops" if item.filename == "xl/workbook.xml" else data)
    else:
        path.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(ImportFailed, match=message):
        run_import(db, path)
    assert counts(db) == (0, 0, 0)


def test_a_zip_bomb_is_refused_before_parsing(
    db: CatalogStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 30_000_000 + b">")
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("parsed a zip bomb"))
    with pytest.raises(
        ImportFailed,
        match=r"unpacks to 30,000,\d+ bytes .*xl/worksheets/sheet1.xml.*refused before "
        "reading",
    ):
        run_import(db, path, max_bytes=10_000_000)


def test_not_utf8_csv_is_refused(db: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "system.csv"
    path.write_bytes("code,name_vi\nx,Café\n".encode("cp1252"))
    with pytest.raises(ImportFailed, match="not UTF-8 text"):
        run_import(db, path)


# --- command line -----------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("IOC_CATALOG_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_template_export_and_import(tmp_path: Path) -> None:
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    r = cli("template", "-o", "t.xlsx", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "t.xlsx").read_bytes() == write_workbook(None, DEFAULT)
    assert cli("import", str(SAMPLE), "--store", a, cwd=tmp_path).returncode == 0
    for fmt, name in (("xlsx", "out.xlsx"), ("csv", "out.zip")):
        r = cli("export", "--format", fmt, "-o", name, "--store", a, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    r = cli("import", "out.xlsx", "--dry-run", "--store", b, cwd=tmp_path)
    assert r.returncode == 0 and "xlsx:out.xlsx" in r.stdout
    dry = open_store(b)
    assert dry.count_entities() == 0
    dry.close()
    r = cli("import", "out.zip", "--store", b, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli("export", "--format", "ods", "-o", "x.ods", "--store", a, cwd=tmp_path)
    assert r.returncode == 2 and "available: json, xlsx, csv" in r.stderr
    (tmp_path / "junk.xlsx").write_bytes(b"\x00" * 100)
    r = cli("import", "junk.xlsx", "--store", b, cwd=tmp_path)  # Vietnamese by default
    assert r.returncode == 1 and "không phải tệp XLSX" in r.stderr and "Traceback" not in r.stderr
    r = cli("import", "junk.xlsx", "--lang", "en", "--store", b, cwd=tmp_path)
    assert r.returncode == 1 and "not an XLSX workbook" in r.stderr and "Traceback" not in r.stderr


def test_docs_exist_and_are_linked() -> None:
    doc = (ROOT / "docs" / "spreadsheets.md").read_text(encoding="utf-8")
    assert "ioc-catalog template" in doc and "--format csv" in doc and "--dry-run" in doc
    assert "docs/spreadsheets.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_custom_attributes_are_columns_of_the_template_and_import(tmp_path: Path) -> None:
    from catalog.metamodel import load_metamodel
    from importers.spreadsheet import XlsxImporter

    ext = tmp_path / "ext.yaml"
    ext.write_text(
        "system:\n  funding_source:\n    type: enum\n    values: [state_budget, oda]\n"
        "    label: {vi: Nguồn vốn, en: Funding source}\n",
        encoding="utf-8",
    )
    mm = load_metamodel(ext)
    path = tmp_path / "t.xlsx"
    write_template(mm, path)
    ws = load_workbook(path)["system"]
    assert [c.value for c in ws[1]][-1] == "Nguồn vốn / Funding source"
    filled = xlsx(
        tmp_path / "f.xlsx",
        {
            "system": [
                ["code", "name_vi", "lifecycle", "Nguồn vốn"],
                ["a", "A", "planned", "oda"],
                ["b", "B", "planned", "loan"],
            ],
            "database": [["code", "kind", "name_vi", "lifecycle", "scope"], ["d", "system", "D", "planned", "shared"]],
        },
    )
    imp = XlsxImporter(mm)
    t = imp.transform(imp.read(filled, 10_000_000), filled.name)
    assert [(e.ref, e.attributes.get("funding_source")) for e in t.entities] == [("system:a", "oda")]
    assert {(r.location, r.reason) for r in t.rejected} == {
        ("f.xlsx: sheet system, row 3, column funding_source", "must be one of: state_budget, oda"),
        ("f.xlsx: sheet database, row 2, column kind", "'system' on a database sheet"),
    }


def test_the_audit_inventory_csv_imports_too(sample: CatalogStore, other: CatalogStore, tmp_path: Path) -> None:
    import datetime as dt

    from diagrams.inventory import inventory_csv

    path = tmp_path / "organization.csv"  # machine headers: ref, name_vi, ..., then the attributes
    path.write_bytes(inventory_csv(sample.iter_entities(), "organization", DEFAULT, dt.date(2026, 1, 1)))
    report = run_import(other, path)
    assert report.rejected == [] and report.result.created == {"organization": 53}
    assert {e.ref: (e.name, e.attributes) for e in other.iter_entities()} == {
        e.ref: (e.name, e.attributes) for e in sample.iter_entities() if e.kind == "organization"
    }


def test_a_formula_without_a_saved_result_is_reported_not_read_as_empty(db: CatalogStore, tmp_path: Path) -> None:
    # openpyxl writes formulas without results, as any program does; data_only would read them as empty cells
    path = xlsx(
        tmp_path / "f.xlsx",
        {
            "system": [
                ["code", "name_vi", "lifecycle", "vendor"],
                ["a", "A", "production", '=CONCAT("Viettel", "")'],
                [None, None, None, "=1+1"],
            ]
        },
    )
    report = run_import(db, path)
    assert [(r.location, r.field) for r in report.rejected] == [
        ("f.xlsx: sheet system, row 2, column vendor", "vendor"),
        ("f.xlsx: sheet system, row 3, column vendor", "vendor"),
    ]
    assert report.rejected[0].reason.startswith("a formula without a saved result")
    assert not report.loaded and counts(db) == (0, 0, 0)


def test_a_formula_with_a_saved_result_reads_as_that_result(db: CatalogStore, tmp_path: Path) -> None:
    made = xlsx(
        tmp_path / "made.xlsx",
        {"system": [["code", "name_vi", "lifecycle", "vendor"], ["a", "A", "production", '=CONCAT("Viettel", "")']]},
    )
    path = tmp_path / "saved.xlsx"  # as a spreadsheet program saves it: the formula and its last result
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="D2"><f>', b'<c r="D2" t="str"><f>').replace(b"<v></v>", b"<v>Viettel</v>")
            dst.writestr(item, data)
    report = run_import(db, path)
    assert report.rejected == [] and db.get_entity("system:a").attributes["vendor"] == "Viettel"


def test_the_bench_runs_and_its_synthetic_workbook_round_trips(tmp_path: Path) -> None:
    # the smallest synthetic catalog (~4,000 rows: every province's fixed organisations, platforms and histories)
    r = subprocess.run(
        [sys.executable, "-m", "bench.imports_xlsx", "--rows", "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "rejected 0" in r.stdout and "content hash equal to the source catalog: True" in r.stdout
    assert all(m in r.stdout for m in ("openpyxl iteration (baseline)", "run_import into empty SQLite"))
