"""Hostile spreadsheets and files (issue 13, item 3 and part of item 10): every import either finishes or fails
clearly within bounded memory, with bounded output, and its run is recorded as failed even when its process dies.

The hostile workbooks are written here with zipfile and raw XML, streamed: building them with openpyxl would need the
very memory the tests are about. Peak memory is measured in a child process (its own peak, VmHWM, or its child's
ru_maxrss), through the command line (``ioc-catalog import``) and through ``run_import`` with the settings' limits,
which is what the web UI calls.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from catalog.metamodel import DEFAULT
from catalog.settings import Settings
from catalog.store import CatalogStore, open_store
from catalog.store.base import WriteContext
from importers.base import ACTIVE, RUNS, ImportFailed, ImportLimits, clip, list_runs, recover_runs, run_import
from importers.spreadsheet import write_workbook

RSS_LIMIT_MIB = 300
OUTPUT_LIMIT = 5_000  # characters a failed import may print, or store in its run record or report

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# --- hostile workbooks, written as raw XML ------------------------------------------------------------------------


def _workbook(path: Path, rows: Iterator[bytes], strings: Iterator[bytes] | None = None) -> Path:
    """An XLSX with one sheet "system" whose <sheetData> is ``rows`` and, when given, a shared-strings part whose
    <si> elements are ``strings``; every part is streamed into the zip (deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        overrides = (
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/>'
            if strings is not None
            else ""
        )
        zf.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
                'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                f'officedocument.spreadsheetml.worksheet+xml"/>{overrides}</Types>'
            ),
        )
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets><sheet name="system" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        shared = (
            f'<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            if strings is not None
            else ""
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'{shared}</Relationships>',
        )
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            for row in rows:
                fh.write(row)
            fh.write(b"</sheetData></worksheet>")
        if strings is not None:
            with zf.open("xl/sharedStrings.xml", "w") as fh:
                fh.write(f'<sst xmlns="{MAIN}">'.encode())
                for si in strings:
                    fh.write(si)
                fh.write(b"</sst>")
    return path


def _text(chars: int) -> Iterator[bytes]:
    chunk = b"A" * 1_000_000
    for _ in range(chars // len(chunk)):
        yield chunk
    yield b"A" * (chars % len(chunk))


def _inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER = b'<row r="1">' + _inline("A1", "code") + _inline("B1", "name_vi") + b"</row>"


def big_cell(path: Path, chars: int, inline: bool = False) -> Path:
    """A system whose name (cell B2) is ``chars`` characters long: a shared string (as Excel writes it) or inline."""
    if inline:

        def rows() -> Iterator[bytes]:
            yield HEADER + b'<row r="2">' + _inline("A2", "s1") + b'<c r="B2" t="inlineStr"><is><t>'
            yield from _text(chars)
            yield b"</t></is></c></row>"

        return _workbook(path, rows())

    def strings() -> Iterator[bytes]:
        yield b"<si><t>"
        yield from _text(chars)
        yield b"</t></si>"

    return _workbook(
        path, iter([HEADER + b'<row r="2">' + _inline("A2", "s1") + b'<c r="B2" t="s"><v>0</v></c></row>']), strings()
    )


def sparse_xfd(path: Path, rows: int = 2_000) -> Path:
    """``rows`` rows holding one cell each, in the last column (XFD, 16,384)."""
    return _workbook(
        path, (f'<row r="{n}">'.encode() + _inline(f"XFD{n}", "x") + b"</row>" for n in range(1, rows + 1))
    )


# --- the two doors, in a child process whose peak memory is measured ----------------------------------------------


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_CATALOG_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(extra or {})})
    return env


# runs argv and prints the child's peak RSS (MiB) and exit code: the only child of this small process is the import
WRAPPER = """
import json, resource, subprocess, sys
r = subprocess.run(sys.argv[3:], stdout=open(sys.argv[1], "wb"), stderr=open(sys.argv[2], "wb"))
print(json.dumps({"rc": r.returncode, "rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

# what the web UI does with an upload: run_import with the settings' limits; prints the outcome and its peak RSS
API_CHILD = """
import json, resource, sys
from catalog.store import open_store
from importers.base import ImportFailed, ImportLimits, run_import
store = open_store(sys.argv[1], create=True)
try:
    report = run_import(store, sys.argv[2], limits=ImportLimits.from_settings())
    out = {"status": report.status, "error": report.error, "report_chars": len(json.dumps(report.to_json()))}
except ImportFailed as exc:
    out = {"status": "failed", "error": exc.message, "error_vi": exc.text("vi"), "reason": exc.reason}
# VmHWM: the peak of this process's own memory since it started; ru_maxrss of RUSAGE_SELF would also count the
# parent's memory at fork time (Linux keeps the larger of the two across exec), i.e. the whole test session's
out["rss_mib"] = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))) / 1024
print(json.dumps(out))
"""


def cli_import(tmp_path: Path, url: str, file: Path, env: dict[str, str] | None = None) -> dict:
    out, err, report = tmp_path / "out.txt", tmp_path / "err.txt", tmp_path / "report.json"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            str(out),
            str(err),
            sys.executable,
            "-m",
            "api.cli",
            "import",
            str(file),
            "--store",
            url,
            "--report",
            str(report),
            "--lang",
            "en",
        ],
        cwd=tmp_path,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    got["raw_output"] = out.read_text(encoding="utf-8", errors="replace") + err.read_text(
        encoding="utf-8", errors="replace"
    )
    got["output"] = " ".join(got["raw_output"].split())  # the terminal folds long lines
    got["report"] = report.read_text(encoding="utf-8") if report.exists() else ""
    return got


def api_import(tmp_path: Path, url: str, file: Path, env: dict[str, str] | None = None) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", API_CHILD, url, str(file)],
        cwd=tmp_path,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def last_run(url: str) -> dict:
    store = open_store(url)
    try:
        return list_runs(store, limit=1)[0]
    finally:
        store.close()


RAISED = {"IOC_CATALOG_IMPORT_MAX_STRINGS_BYTES": "400000000", "IOC_CATALOG_IMPORT_MAX_SHEET_BYTES": "400000000"}
SHAPES = {
    # (build, settings, what the error must say)
    "150 MB shared string": (
        lambda p: big_cell(p, 150_000_000),
        {},
        r"the shared-strings part \(xl/sharedStrings.xml.*\) unpacks to 150,000,\d+ bytes, "
        r"more than the limit of 32,000,000 bytes \(IOC_CATALOG_IMPORT_MAX_STRINGS_BYTES\); "
        r"refused before unpacking",
    ),
    "150 MB inline cell": (
        lambda p: big_cell(p, 150_000_000, inline=True),
        {},
        r"sheet system \(xl/worksheets/sheet1.xml\) unpacks to 150,000,\d+ bytes, more than the "
        r"limit of 100,000,000 bytes \(IOC_CATALOG_IMPORT_MAX_SHEET_BYTES\)",
    ),
    # with the part limits raised, the streaming scan refuses the same cells, naming sheet, row and column
    "150 MB shared string, part limits raised": (
        lambda p: big_cell(p, 150_000_000),
        RAISED,
        r"sheet system, row 2, column B: a cell of 150,000,000 characters; at most 32,767 are read",
    ),
    "150 MB inline cell, part limits raised": (
        lambda p: big_cell(p, 150_000_000, inline=True),
        RAISED,
        r"sheet system, row 2, column B: a cell of more than 32,767 characters",
    ),
    "10 MB shared string": (
        lambda p: big_cell(p, 10_000_000),
        {},
        r"sheet system, row 2, column B: a cell of 10,000,000 characters; at most 32,767 are "
        r"read \(IOC_CATALOG_IMPORT_MAX_CELL_CHARS\)",
    ),
    "10 MB inline cell": (
        lambda p: big_cell(p, 10_000_000, inline=True),
        {},
        r"sheet system, row 2, column B: a cell of more than 32,767 characters",
    ),
    "sparse sheet in column XFD": (
        sparse_xfd,
        {},
        r"sheet system, row 1, column XFD: column 16,384 is past the last column read "
        r"\(1,024: IOC_CATALOG_IMPORT_MAX_COLUMNS\)",
    ),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, (build, _, _) in SHAPES.items():
        key = re.sub(r"\W+", "-", name.split(",")[0])
        files[name] = d / f"{key}.xlsx"
        if not files[name].exists():
            build(files[name])
    return files


def test_the_hostile_workbooks_are_small_files(hostile: dict[str, Path]) -> None:
    sizes = {name: p.stat().st_size for name, p in hostile.items()}
    assert sizes["150 MB shared string"] < 400_000 and sizes["10 MB shared string"] < 40_000
    assert sizes["sparse sheet in column XFD"] < 40_000
    with zipfile.ZipFile(hostile["150 MB shared string"]) as zf:
        assert zf.getinfo("xl/sharedStrings.xml").file_size > 150_000_000


@pytest.mark.parametrize("shape", list(SHAPES))
def test_hostile_workbook_through_the_command_line(shape: str, hostile: dict[str, Path], tmp_path: Path) -> None:
    _, env, expected = SHAPES[shape]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    got = cli_import(tmp_path, url, hostile[shape], env)
    assert got["rc"] == 1
    assert got["rss_mib"] < RSS_LIMIT_MIB, got["rss_mib"]
    assert re.search(expected, got["output"]), got["output"][:2000]
    assert "Traceback" not in got["output"] and len(got["raw_output"]) < OUTPUT_LIMIT
    report = json.loads(got["report"])
    assert report["status"] == "failed" and re.search(expected, report["error"]) and report["error_vi"]
    assert len(got["report"]) < OUTPUT_LIMIT
    run = last_run(url)
    assert run["status"] == "failed" and re.search(expected, run["error"]) and run["finished"]
    assert len(json.dumps(run, ensure_ascii=False)) < OUTPUT_LIMIT
    store = open_store(url)
    try:
        assert store.count_entities() == 0 and store.list_records(ACTIVE) == []
    finally:
        store.close()


@pytest.mark.parametrize(
    "shape",
    [
        "150 MB shared string",
        "10 MB shared string",
        "10 MB inline cell",
        "sparse sheet in column XFD",
        "150 MB inline cell, part limits raised",
    ],
)
def test_hostile_workbook_through_the_importer_the_web_ui_calls(
    shape: str, hostile: dict[str, Path], tmp_path: Path
) -> None:
    _, env, expected = SHAPES[shape]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    got = api_import(tmp_path, url, hostile[shape], env)
    assert got["rss_mib"] < RSS_LIMIT_MIB, got["rss_mib"]
    assert got["status"] == "failed" and re.search(expected, got["error"]), got
    assert "không nhập gì" in got["error_vi"] or "từ chối" in got["error_vi"]
    assert len(json.dumps(got, ensure_ascii=False)) < OUTPUT_LIMIT
    run = last_run(url)
    assert run["status"] == "failed" and re.search(expected, run["error"])
    assert len(json.dumps(run, ensure_ascii=False)) < OUTPUT_LIMIT


def test_a_sparse_sheet_within_the_column_limit_is_read_without_filling_its_rows(
    db: CatalogStore, tmp_path: Path
) -> None:
    """Cells far apart on the same sheet: each row is kept without the empty cells openpyxl fills in."""
    from importers.spreadsheet import read_xlsx

    path = _workbook(
        tmp_path / "wide.xlsx",
        iter(
            [HEADER]
            + [
                f'<row r="{n}">'.encode()
                + _inline(f"A{n}", f"s{n}")
                + _inline(f"B{n}", "Tên")
                + _inline(f"AMJ{n}", "")
                + b"</row>"
                for n in range(2, 50)
            ]
        ),
    )
    tables = read_xlsx(path, 10_000_000)
    assert [len(cells) for _, cells in tables[0].rows] == [2] * 48  # AMJ (1,024) holds only empty text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[CatalogStore]:
    s = open_store(f"sqlite:///{tmp_path / 'c.db'}", create=True)
    yield s
    s.close()


# --- limits on rows, sheets, CSV files and the report -------------------------------------------------------------


def test_the_limits_default_to_the_settings_defaults() -> None:
    assert ImportLimits() == ImportLimits.from_settings(Settings.model_construct())


def test_a_styles_part_bomb_is_refused_before_unpacking(db: CatalogStore, tmp_path: Path) -> None:
    """openpyxl parses styles.xml whole: 10 MB of <xf/> took it past 350 MB, 40 MB past 1.2 GB."""
    path = _workbook(tmp_path / "styles.xlsx", iter([HEADER]))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf, zf.open("xl/styles.xml", "w") as fh:
        fh.write(f'<styleSheet xmlns="{MAIN}"><cellXfs>'.encode())
        for _ in range(250):
            fh.write(b'<xf numFmtId="0" fontId="0" fillId="0"/>' * 1_000)
        fh.write(b"</cellXfs></styleSheet>")
    assert path.stat().st_size < 100_000
    with pytest.raises(
        ImportFailed,
        match=r"styles.xlsx: the part xl/styles.xml unpacks to 10,000,\d+ bytes, more "
        r"than the limit of 5,000,000 bytes \(IOC_CATALOG_IMPORT_MAX_PART_BYTES\); "
        "refused before unpacking",
    ):
        run_import(db, path)


def test_long_text_outside_any_cell_or_string_is_refused(db: CatalogStore, tmp_path: Path) -> None:
    loose = _workbook(tmp_path / "loose.xlsx", iter([HEADER]), iter([b"<si><t>x</t></si>", b"B" * 100_000]))
    with pytest.raises(
        ImportFailed,
        match=r"xl/sharedStrings.xml holds a text of more than 32,767 characters "
        "outside any string",
    ):
        run_import(db, loose)
    stray = _workbook(tmp_path / "stray.xlsx", iter([HEADER, b'<row r="2">' + b"C" * 100_000 + b"</row>"]))
    with pytest.raises(
        ImportFailed,
        match=r"sheet system, row 2: a text of more than 32,767 characters outside "
        "any cell",
    ):
        run_import(db, stray)
    huge_index = _workbook(
        tmp_path / "index.xlsx",
        iter([HEADER, b'<row r="2"><c r="A2" t="s"><v>' + b"9" * 9_000 + b"</v></c></row>"]),
        iter([b"<si><t>x</t></si>"]),
    )
    with pytest.raises(ImportFailed, match="index.xlsx"):
        run_import(db, huge_index)


def test_rows_past_the_row_limit_are_refused_by_number(db: CatalogStore, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "far.xlsx", iter([HEADER, b'<row r="2000000">' + _inline("A2000000", "s") + b"</row>"]))
    with pytest.raises(ImportFailed, match=r"sheet system, row 2,000,000: past the last row read \(1,048,576"):
        run_import(db, path)
    assert list_runs(db, limit=1)[0]["status"] == "failed"


def test_a_row_past_the_row_chars_limit_is_refused(db: CatalogStore, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "row.xlsx",
        iter([HEADER, b'<row r="2">' + b"".join(_inline(f"{c}2", "x" * 30_000) for c in "ABCDEFGHIJ") + b"</row>"]),
    )
    with pytest.raises(ImportFailed, match=r"sheet system, row 2: a row of more than 100,000 characters") as exc:
        run_import(db, path, limits=ImportLimits(row_chars=100_000))
    assert exc.value.reason == "import-row-too-long"
    assert "trang system, dòng 2: dòng dài hơn 100.000 ký tự" in exc.value.text("vi")


def test_csv_files_are_read_as_bounded_rows(db: CatalogStore, tmp_path: Path) -> None:
    wide = tmp_path / "system.csv"
    wide.write_text(
        "code,name_vi\n" + "".join(f"s{n},S{n}" + "," * 16_382 + "x\n" for n in range(2_000)), encoding="utf-8"
    )
    with pytest.raises(ImportFailed, match=r"system.csv, row 2, column XFD: column 16,384 is past the last column"):
        run_import(db, wide)
    long = tmp_path / "organization.csv"
    long.write_text("code,name_vi\no1," + "A" * 40_000 + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"organization.csv, row 2, column B: a cell of 40,000 characters"):
        run_import(db, long)
    huge = tmp_path / "database.csv"
    huge.write_text("code,name_vi\nd1," + "A" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"database.csv, row 2: a cell of more than 32,767 characters"):
        run_import(db, huge)
    unclosed = tmp_path / "platform.csv"
    unclosed.write_text('code,name_vi\np1,"never closed\n' + "more text\n" * 50_000, encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"platform.csv, row 2: a row of more than 100,000 characters.*quote"):
        run_import(db, unclosed, limits=ImportLimits(row_chars=100_000))
    many = tmp_path / "service.csv"
    many.write_text("code,name_vi\n" + "".join(f"v{n},V\n" for n in range(30)), encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"service.csv, row 21: past the last row read \(20"):
        run_import(db, many, limits=ImportLimits(rows=20))
    assert [r["status"] for r in list_runs(db, limit=10)] == ["failed"] * 5 and db.count_entities() == 0


def test_a_report_lists_a_bounded_number_of_items_and_cuts_long_values(db: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "system.csv"
    path.write_text(
        "code,name_vi,lifecycle,kind\n"
        + "".join(f"s{n},S,nonsense,\n" for n in range(15))
        + "x,X,production,"
        + "K" * 30_000
        + "\n",
        encoding="utf-8",
    )
    report = run_import(db, path, limits=ImportLimits(report_items=10))
    assert report.status == "failed" and len(report.rejected) == 16
    listed = report.to_json()["rejected"]
    assert len(listed) == 11 and listed[-1]["reason"].startswith("6 more items not listed (a report lists at most 10")
    assert listed[-1]["reason_vi"].startswith("còn 6 mục nữa không liệt kê")
    kind = next(r for r in report.rejected if r.field == "kind")
    assert "KKKK… (30,000 characters" in kind.reason and len(kind.reason) < 400
    assert len(json.dumps(report.to_json(), ensure_ascii=False)) < 20_000


def test_clip_keeps_short_values_and_cuts_long_ones() -> None:
    assert clip("abc") == "abc"
    cut = clip("x" * 10_000_000)
    assert cut.startswith("x" * 200 + "…") and "10,000,000 characters" in cut and len(cut) < 260


def test_messages_about_a_file_are_bounded_whoever_builds_them() -> None:
    from importers.base import Rejection

    r = Rejection("f.csv: row 2", "name", "'" + "z" * 50_000 + "' is not allowed")
    assert len(r.reason) < 1_100 and "(50,017 characters" in r.reason
    assert len(ImportFailed("y" * 100_000, "y" * 100_000).message) < 1_100


# --- a run that never finishes ------------------------------------------------------------------------------------

BLOCKING_CHILD = """
import sys, time
from pathlib import Path
from catalog.store import open_store
from importers.base import register, run_import

class Blocking:
    name, suffixes, description = "blocking", (".blk",), "reads forever (a test importer)"
    def read(self, path, max_bytes):
        Path(sys.argv[3]).write_text("reading")
        time.sleep(600)
    def transform(self, document, source):
        raise AssertionError("never reached")

register(Blocking())
run_import(open_store(sys.argv[1], create=True), sys.argv[2])
"""


def test_a_killed_import_is_recorded_as_failed_at_the_next_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    file, flag = tmp_path / "x.blk", tmp_path / "reading"
    file.write_text("anything", encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", BLOCKING_CHILD, url, str(file), str(flag)], cwd=tmp_path, env=_env()
    )
    try:
        for _ in range(600):  # wait (at most a minute) until the import is reading: not an assertion on time
            if flag.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), "the import never started"
        run = last_run(url)
        assert run["status"] == "running" and run["pid"] == child.pid
        store = open_store(url)
        try:  # the process is alive: another start leaves its run alone
            assert recover_runs(store) == [] and store.get_record(RUNS, run["run"]).data["status"] == "running"
        finally:
            store.close()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert last_run(url)["status"] == "running"  # nobody could record anything: the process was killed
    r = subprocess.run(
        [sys.executable, "-m", "api.cli", "imports", "--store", url, "--json"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)[0]
    assert got["run"] == run["run"] and got["status"] == "failed" and got["finished"]
    assert (
        f"the import process (pid {child.pid} on host" in got["error"]
        and "ended before the run finished" in got["error"]
    )
    assert "đã dừng trước khi lượt nhập xong" in got["error_vi"]
    store = open_store(url)
    try:
        assert store.list_records(ACTIVE) == [] and recover_runs(store) == []
    finally:
        store.close()


def _marker(store: CatalogStore, run: str, **marker: object) -> None:
    ctx = WriteContext("test")
    store.put_record(
        RUNS, run, {"run": run, "status": "running", "error": None, "started": marker["started"]}, ctx, log=False
    )
    store.put_record(ACTIVE, run, {"run": run, **marker}, ctx, log=False)


def test_runs_of_other_hosts_fail_only_after_hours_without_news(store: CatalogStore) -> None:
    import datetime as dt

    now = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    _marker(
        store,
        "recent",
        host="elsewhere",
        pid=7,
        started="2030-01-01T00:00:00+00:00",
        updated="2030-01-01T23:00:00+00:00",
    )
    _marker(
        store,
        "silent",
        host="elsewhere",
        pid=8,
        started="2029-12-31T00:00:00+00:00",
        updated="2030-01-01T00:30:00+00:00",
    )
    _marker(
        store,
        "gone",
        host=__import__("socket").gethostname(),
        pid=2**22 + 12_345,
        process_started=1.0,
        started="2030-01-01T23:59:00+00:00",
        updated="2030-01-01T23:59:00+00:00",
    )
    assert sorted(recover_runs(store, stale_hours=12, now=now)) == ["gone", "silent"]
    runs = {r.key: r.data for r in store.list_records(RUNS)}
    assert runs["recent"]["status"] == "running"
    assert (
        runs["silent"]["status"] == "failed"
        and "no news for more than 12 hours" in runs["silent"]["error"]
        and "host elsewhere" in runs["silent"]["error"]
    )
    assert runs["gone"]["status"] == "failed" and "ended before the run finished" in runs["gone"]["error"]
    assert [r.key for r in store.list_records(ACTIVE)] == ["recent"]


def test_a_finished_run_leaves_no_marker_and_records_its_process(store: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "organization.csv"
    path.write_text("code,name_vi,org_type\no1,Một,department\n", encoding="utf-8")
    report = run_import(store, path)
    assert report.status == "finished" and store.list_records(ACTIVE) == []
    run = store.get_record(RUNS, report.run).data
    assert run["status"] == "finished" and run["pid"] == os.getpid() and run["host"]


# --- content that does not match the name (item 10) ---------------------------------------------------------------

NATIVE = json.dumps({"format": "ioc-catalog", "format_version": 1, "entities": []}).encode()


@pytest.mark.parametrize(
    "name,content,fmt,en,vi",
    [
        (
            "catalog.csv",
            NATIVE,
            None,
            "the file holds JSON, not CSV text as its name (.csv) says",
            "tệp chứa dữ liệu JSON, không phải văn bản CSV",
        ),
        (
            "system.csv",
            "workbook",
            None,
            "the file holds an XLSX workbook, not CSV text",
            "tệp chứa một bảng tính XLSX, không phải văn bản CSV",
        ),
        (
            "system.csv",
            b"%PDF-1.7\n...",
            None,
            "the file holds a PDF document, not CSV text",
            "tệp chứa một tài liệu PDF",
        ),
        (
            "catalog.json",
            b'<?xml version="1.0"?><model/>',
            None,
            "the file holds XML, not JSON",
            "tệp chứa dữ liệu XML, không phải dữ liệu JSON",
        ),
        ("model.xml", NATIVE, None, "the file holds JSON, not XML", "tệp chứa dữ liệu JSON, không phải dữ liệu XML"),
        (
            "inventory.xlsx",
            NATIVE,
            None,
            "the file holds JSON, not an XLSX workbook",
            "tệp chứa dữ liệu JSON, không phải một bảng tính XLSX",
        ),
        (
            "catalog.json",
            NATIVE,
            "csv",
            "the file holds JSON; the format csv reads plain text, a zip archive",
            "tệp chứa dữ liệu JSON; định dạng csv đọc văn bản thường, một tệp nén zip",
        ),
        ("notes.txt", "workbook", "csv", "the file holds an XLSX workbook; the format csv reads", "định dạng csv đọc"),
        ("system.csv", "\ufeffcode,name\n".encode("utf-16"), None, "not UTF-8 text", "không phải văn bản UTF-8"),
    ],
)
def test_content_that_does_not_match_the_name_is_refused(
    db: CatalogStore, tmp_path: Path, name: str, content: bytes | str, fmt: str | None, en: str, vi: str
) -> None:
    path = tmp_path / name
    path.write_bytes(write_workbook(None, DEFAULT) if content == "workbook" else content)  # type: ignore[arg-type]
    with pytest.raises(ImportFailed) as exc:
        run_import(db, path, fmt)
    assert en in exc.value.message and vi in exc.value.text("vi")
    run = list_runs(db, limit=1)[0]
    assert run["status"] == "failed" and en in run["error"] and vi in run["error_vi"]
    assert db.revision()[0] == 0


def test_text_named_xlsx_is_refused_by_the_workbook_reader(db: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("code,name_vi\ns1,S\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="data.xlsx: not an XLSX workbook or zip archive") as exc:
        run_import(db, path)
    assert "không phải tệp XLSX" in exc.value.text("vi") and list_runs(db, limit=1)[0]["status"] == "failed"


def test_a_csv_file_the_layout_does_not_cover_fails_instead_of_finishing_empty(
    db: CatalogStore, tmp_path: Path
) -> None:
    path = tmp_path / "danh-sach.csv"
    path.write_text("ma,ten\n1,Một\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="nothing in danh-sach.csv is in the template layout") as exc:
        run_import(db, path)
    assert "không có gì trong danh-sach.csv theo mẫu" in exc.value.text("vi")
    assert list_runs(db, limit=1)[0]["status"] == "failed"


# --- web uploads ---------------------------------------------------------------------------------------------------


@pytest.fixture
def web_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    from fastapi.testclient import TestClient
    from web.uitest import PASSWORD, build_catalog

    from api.app import create_app
    from api.routers import web_import

    uploads = tmp_path / "uploads"
    monkeypatch.setattr(web_import, "UPLOADS", uploads)
    store = open_store(build_catalog(tmp_path / "web.db"))
    with TestClient(create_app(Settings(demo=True), store=store)) as c:
        page = c.get("/signin").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
        assert (
            c.post(
                "/signin", data={"csrf": token, "name": "architect", "password": PASSWORD}, follow_redirects=False
            ).status_code
            == 303
        )
        yield c, uploads
    store.close()


def _upload(c: object, name: str, content: bytes) -> object:
    page = c.get("/import").text  # type: ignore[attr-defined]
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
    return c.post(
        "/import",
        data={"csrf": token, "format": ""},  # type: ignore[attr-defined]
        files={"file": (name, content, "application/octet-stream")},
    )


def test_failed_web_uploads_are_removed_at_once(web_client: tuple[object, Path], tmp_path: Path) -> None:
    c, uploads = web_client
    ten_mb = big_cell(tmp_path / "big.xlsx", 10_000_000).read_bytes()
    r = _upload(c, "big.xlsx", ten_mb)
    assert r.status_code == 422 and "trang system, dòng 2, cột B: ô dài 10.000.000 ký tự" in r.text
    assert len(r.text) < 50_000
    assert list(uploads.iterdir()) == []
    r = _upload(c, "catalog.csv", NATIVE)  # content that does not match the name
    assert r.status_code == 422 and "JSON" in r.text and list(uploads.iterdir()) == []
    r = _upload(c, "system.csv", b"code,name_vi,lifecycle\nx,X,immortal\n")  # a dry run with a rejected row
    assert r.status_code == 200 and "confirm-import" not in r.text and list(uploads.iterdir()) == []
    r = _upload(c, "system.csv", b"code,name_vi,owner,lifecycle\nx,X,organization:hcm-skhcn,building\n")
    assert r.status_code == 200 and "confirm-import" in r.text  # a finished dry run waits for its confirmation
    assert len(list(uploads.iterdir())) == 1


def test_an_upload_over_the_size_limit_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient
    from web.uitest import PASSWORD, build_catalog

    from api.app import create_app
    from api.routers import web_import

    uploads = tmp_path / "uploads"
    monkeypatch.setattr(web_import, "UPLOADS", uploads)
    store = open_store(build_catalog(tmp_path / "web.db"))
    try:
        with TestClient(create_app(Settings(demo=True, max_import_bytes=1_000), store=store)) as c:
            page = c.get("/signin").text
            token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
            c.post("/signin", data={"csrf": token, "name": "architect", "password": PASSWORD})
            r = _upload(c, "system.csv", b"code,name_vi\n" + b"x,X\n" * 1_000)
            assert r.status_code == 422 and list(uploads.iterdir()) == []
    finally:
        store.close()


# --- workbooks other programs write, and parts named twice --------------------------------------------------------


def _prefixed(path: Path, target: str, sheets: int = 1) -> Path:
    """A workbook as the Open XML SDK writes it: prefixed elements (x:c), an absolute relationship target, shared
    strings; ``sheets`` sheet entries, all pointing at the same part."""
    x = f'xmlns:x="{MAIN}"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
                'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
            ),
        )
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="R1" Type="{DOC_RELS}/'
            'officeDocument" Target="/xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<x:sheet name="organization{"" if i == 0 else i}" sheetId="{i + 1}" r:id="R1"/>' for i in range(sheets)
        )
        zf.writestr(
            "xl/workbook.xml", f'<x:workbook {x} xmlns:r="{DOC_RELS}"><x:sheets>{entries}</x:sheets></x:workbook>'
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="R1" '
            f'Type="{DOC_RELS}/worksheet" Target="{target}"/><Relationship '
            f'Id="R2" Type="{DOC_RELS}/sharedStrings" '
            'Target="/xl/sharedStrings.xml"/></Relationships>',
        )
        cells = "".join(
            f'<x:c r="{c}{r}" t="s"><x:v>{i}</x:v></x:c>'
            for r, row in ((1, (0, 1, 2)), (2, (3, 4, 5)))
            for c, i in zip("ABC", row, strict=False)
        )
        rows = cells.replace('<x:c r="A2"', '</x:row><x:row r="2"><x:c r="A2"')
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            f'<x:worksheet {x}><x:sheetData><x:row r="1">{rows}</x:row></x:sheetData></x:worksheet>',
        )
        strings = "".join(
            f"<x:si><x:t>{t}</x:t></x:si>" for t in ("code", "name_vi", "org_type", "so-x", "Sở X", "department")
        )
        zf.writestr("xl/sharedStrings.xml", f'<x:sst {x}>{strings}</x:sst>')
    return path


@pytest.mark.parametrize("target", ["/xl/worksheets/sheet1.xml", "worksheets/sheet1.xml"])
def test_a_workbook_with_prefixed_elements_and_any_target_is_read(
    db: CatalogStore, tmp_path: Path, target: str
) -> None:
    report = run_import(db, _prefixed(tmp_path / "sdk.xlsx", target))
    assert report.status == "finished" and report.rejected == [], report.rejected
    assert db.get_entity("organization:so-x").name.vi == "Sở X"


def test_sheets_that_are_one_part_are_refused(db: CatalogStore, tmp_path: Path) -> None:
    """Ten thousand sheet entries naming one part would make openpyxl read it ten thousand times."""
    with pytest.raises(
        ImportFailed,
        match=r"sheets organization and organization1 are the same part "
        r"\(xl/worksheets/sheet1.xml\)",
    ):
        run_import(db, _prefixed(tmp_path / "twice.xlsx", "worksheets/sheet1.xml", sheets=3))
