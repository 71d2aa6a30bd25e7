"""Finding 3 of issue 13: hostile XLSX files exhausted memory. Reproduced against the real server as found:

- a 147 KB XLSX holding one 150 MB cell (the CLI import reached 3.9 GB and died, its run left "running" forever);
- an 11 KB XLSX with a 10 MB cell (the CLI printed the cell for minutes; a web dry run returned a 30 MB page, grew
  the server by 265 MB and stored a 40 MB import-run record);
- a sparse sheet: 2,000 rows, one cell each in column XFD, 12 KB (315 MB).

Now each web dry run answers a page under :data:`PAGE_LIMIT`, grows the server (psutil on its pid, sampled while it
works) by less than :data:`RSS_LIMIT`, and records its run as "failed" with a small record; the CLI answers in a
bounded output, within the same memory (measured in a child process); and a run killed half-way is "failed" once the
catalog is opened again. A watchdog stops a server that passes :data:`KILL_AT`, so a regression fails the test
instead of the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from security.harness import OWN_ORG, Server, fresh

MB = 1 << 20
PAGE_LIMIT = 200_000  # bytes of the dry run's answer page
RECORD_LIMIT = 200_000  # bytes of the stored import-run record
RSS_LIMIT = 300 * MB  # growth of the server while it reads one file
KILL_AT = 1500 * MB  # the watchdog's limit (a server this large has already failed the test)

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="system" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats'
    '.org/spreadsheetml/2006/main"><dimension ref="{dim}"/><sheetData>'
)
HEADER = ("code", "name_vi", "owner", "lifecycle", "valid_from", "tags", "description_vi", "vendor")


def _cell(ref: str, shared: int) -> str:
    return f'<c r="{ref}" t="s"><v>{shared}</v></c>'


def _workbook(path: Path, rows: list[str], strings: list[str], dim: str, big: int = 0) -> Path:
    """A workbook with one sheet ``system``; shared string 0 is ``big`` characters long when ``big`` > 0 (written
    in chunks, so the test never holds it), the others are ``strings``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ):
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", SHEET_HEAD.format(dim=dim) + "".join(rows) + "</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main">'
            )
            if big:
                out.write(b"<si><t>")
                chunk = b"a" * MB
                written = 0
                while written < big:
                    piece = chunk[: min(len(chunk), big - written)]
                    out.write(piece)
                    written += len(piece)
                out.write(b"</t></si>")
            for s in strings:
                out.write(f"<si><t>{s}</t></si>".encode())
            out.write(b"</sst>")
    return path


def one_big_cell(path: Path, size: int, column: str = "header") -> Path:
    """A header and one valid row, plus one cell of ``size`` bytes (shared string 0): by default an extra column's
    header (as found: its refusal, "unknown column ...", quoted the header whole into the page and the run record),
    else the value of ``column`` in the row."""
    cells = {
        "code": fresh("sec-xlsx"),
        "name_vi": "Hệ thống",
        "owner": OWN_ORG,
        "lifecycle": "production",
        "valid_from": "2025-01-01",
        "tags": "thu",
        "description_vi": "Mô tả",
        "vendor": "VNPT",
    }
    strings = list(HEADER) + list(cells.values())  # shared strings 1..16; 0 is the big one
    values = {key: 1 + len(HEADER) + i for i, key in enumerate(cells)}
    if column != "header":
        values[column] = 0
    columns = "ABCDEFGH"
    header = "".join(_cell(f"{c}1", 1 + i) for i, c in enumerate(columns))
    row = "".join(_cell(f"{c}2", values[key]) for c, key in zip(columns, HEADER, strict=False))
    if column == "header":
        header += _cell("I1", 0)
        row += _cell("I2", values["tags"])
    return _workbook(path, [f'<row r="1">{header}</row>', f'<row r="2">{row}</row>'], strings, "A1:I2", big=size)


def sparse(path: Path, rows: int = 2000) -> Path:
    """``rows`` rows under the header, each with one cell in the last column (XFD)."""
    header = "".join(_cell(f"{c}1", i) for i, c in enumerate("ABCD"))
    body = [f'<row r="1">{header}</row>'] + [
        f'<row r="{n}">{_cell(f"XFD{n}", len(HEADER))}</row>' for n in range(2, rows + 2)
    ]
    return _workbook(path, body, list(HEADER) + ["x"], f"A1:XFD{rows + 1}")


SHAPES = {
    "one 150 MB cell": lambda p: one_big_cell(p / "o-150mb.xlsx", 150 * MB),
    "one 10 MB cell": lambda p: one_big_cell(p / "o-10mb.xlsx", 10 * MB),
    "sparse XFD": lambda p: sparse(p / "thua-xfd.xlsx"),
    "one 10 MB value": lambda p: one_big_cell(p / "gia-tri-10mb.xlsx", 10 * MB, "lifecycle"),
}
FOUND_SIZES = {"one 150 MB cell": 147_000, "one 10 MB cell": 11_000, "sparse XFD": 12_000, "one 10 MB value": 11_000}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("hostile-xlsx")
    out = {name: make(where) for name, make in SHAPES.items()}
    for name, path in out.items():  # the shapes as the tester described them
        assert path.stat().st_size < 2 * FOUND_SIZES[name], (name, path.stat().st_size)
    return out


class Peak:
    """Samples a process's RSS in a thread: ``peak`` once stopped; kills the process group past ``kill_at``."""

    def __init__(self, pid: int, kill_at: int = KILL_AT):
        self.proc, self.kill_at = psutil.Process(pid), kill_at
        self.start = self.peak = self.proc.memory_info().rss
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            if rss > self.kill_at:
                self.killed = True
                os.killpg(self.proc.pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_web_dry_run_of_a_hostile_workbook_is_bounded(server: Server, files: dict[str, Path], shape: str) -> None:
    path = files[shape]
    before, runs_before = server.state(), {run["run"] for run in server.import_runs()}
    with server.web("architect") as web:
        web.csrf()
        with Peak(server.pid) as peak:
            r = web.post(
                "/import",
                {"format": ""},
                {
                    "file": (
                        path.name,
                        path.read_bytes(),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    )
                },
            )
    print(f"\n{shape}: server grew {peak.growth // MB} MB, page {len(r.content)} bytes")
    assert not peak.killed, f"{shape}: the server passed {KILL_AT // MB} MB and was stopped"
    assert peak.growth < RSS_LIMIT, f"{shape}: the server grew by {peak.growth // MB} MB"
    assert r.status_code in (200, 422), r.status_code
    assert len(r.content) < PAGE_LIMIT, f"{shape}: a {len(r.content)} byte page"
    runs = [run for run in server.import_runs() if run["run"] not in runs_before]
    assert len(runs) == 1 and path.name in str(runs[0].get("source", "")), runs
    assert runs[0]["status"] == "failed", runs[0]
    assert runs[0].get("error"), runs[0]
    assert len(json.dumps(runs[0], ensure_ascii=False).encode()) < RECORD_LIMIT
    assert server.state() == before


MEASURE = """import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.buffer.write(done.stdout[-4000:])
print("\\nreturncode", done.returncode, "maxrss_kb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
      "output_bytes", len(done.stdout) + len(done.stderr))
"""


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_cli_import_of_a_hostile_workbook_is_bounded(server: Server, files: dict[str, Path], shape: str) -> None:
    """``ioc-catalog import`` beside the running server (a second process on the same store): a clear failure in a
    few lines, within the memory bound (the child's peak RSS, from the kernel)."""
    before, runs_before = server.state(), {run["run"] for run in server.import_runs()}
    cmd = [
        sys.executable,
        "-c",
        MEASURE,
        sys.executable,
        "-m",
        "api.cli",
        "import",
        str(files[shape]),
        "--store",
        server.url,
    ]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=server.dir,
        env=server.process_env(),
        preexec_fn=_limit_memory,
    )
    tail = done.stdout.rsplit("returncode", 1)
    assert len(tail) == 2, done.stdout[-2000:] + done.stderr[-2000:]
    code, _, kb, _, output = tail[1].split()
    assert int(code) != 0, tail[0]
    print(f"\n{shape}: CLI peak RSS {int(kb) // 1024} MB, {output} bytes of output")
    assert int(kb) * 1024 < RSS_LIMIT, f"{shape}: the import process reached {int(kb) // 1024} MB"
    assert int(output) < PAGE_LIMIT, f"{shape}: {output} bytes of output"
    runs = [run for run in server.import_runs() if run["run"] not in runs_before]
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert server.state() == before


def _limit_memory() -> None:
    """The CLI's address space capped (a runaway import fails with MemoryError instead of taking the machine)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 * MB, 3 * 1024 * MB))


def _big_catalog(path: Path, n: int = 30_000) -> Path:
    entities = [
        {
            "ref": f"system:sec-kill-{i}",
            "name": {"vi": f"Hệ thống {i}"},
            "owner": OWN_ORG,
            "attributes": {"lifecycle": "production"},
        }
        for i in range(n)
    ]
    path.write_text(
        json.dumps(
            {"format": "ioc-catalog", "format_version": 1, "entities": entities, "relationships": []},
            ensure_ascii=False,
        )
    )
    return path


def test_a_run_killed_half_way_is_failed_on_the_next_start(server: Server, tmp_path: Path) -> None:
    """kill -9 of an import while it runs: once the catalog is served again, its run says "failed", never
    "running" forever (and the catalog holds nothing of it)."""
    big = _big_catalog(tmp_path / "lon.json")
    server.stop()
    before_runs = {r["run"] for r in server.import_runs()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "import", str(big), "--store", server.url],
        cwd=server.dir,
        env=server.process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        running = None
        while time.monotonic() < deadline and proc.poll() is None:
            fresh_runs = [r for r in server.import_runs() if r["run"] not in before_runs]
            if fresh_runs and fresh_runs[0]["status"] == "running":
                running = fresh_runs[0]
                break
            time.sleep(0.05)
        assert running is not None and proc.poll() is None, "the import finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    server.start()
    killed = [r for r in server.import_runs() if r["run"] == running["run"]]
    assert killed and killed[0]["status"] == "failed", killed
    assert server.get("/api/v1/systems/sec-kill-0").status_code == 404
    assert server.get("/api/v1/changelog/verify", "auditor").json()["ok"] is True
