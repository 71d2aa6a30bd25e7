"""The province's current-state report (diagrams/report.py) on the sample HCMC catalog, read back as a person and a
program would: the Word file through python-docx (every section heading, inventory tables whose row counts equal the
catalog's counts for that day, counted here from the sample's JSON, the two diagrams embedded as PNG, the stamp with
the change-log head, no raw codes), the annex through openpyxl, the command line as a user runs it, and the pages
rendered by LibreOffice (docx -> PDF -> PNG) into test-artifacts/report/."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from conftest import ROOT, SAMPLE, FakeClock, make_store

from catalog.errors import ValidationFailed
from catalog.i18n import msg, text
from catalog.metamodel import FRAMEWORK_LAYERS, framework_layer
from catalog.store.base import CatalogStore
from diagrams.report import CurrentState, current_state
from importers.base import run_import

PROVINCE = "organization:hcm-ubnd"
TODAY = dt.date(2026, 12, 7)
BEFORE = dt.date(2025, 2, 1)  # before the 2025 mergers: Bình Dương and Bà Rịa – Vũng Tàu are not yet HCMC's
ARTIFACTS = ROOT / "test-artifacts" / "report"
SECTION_CODES = (
    "report-h-summary",
    "report-h-layers",
    "report-h-integration",
    "report-h-diagrams",
    "report-h-compliance",
    "report-h-annex",
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    store = make_store("sqlite", tmp_path_factory.mktemp("report"))
    store.clock = FakeClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))  # recorded before the mergers, as the demo
    assert run_import(store, SAMPLE).loaded
    store.clock = FakeClock(dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC))
    yield store
    store.close()


@pytest.fixture(scope="module")
def reports(sample: CatalogStore) -> dict[tuple[dt.date, str], tuple[CurrentState, bytes]]:
    out = {}
    for day, lang in ((TODAY, "vi"), (BEFORE, "vi"), (TODAY, "en")):
        r = current_state(sample, PROVINCE, day, lang)
        out[(day, lang)] = (r, r.to_docx())
    return out


# --- what the catalog holds on a day, counted from the sample's JSON (not through diagrams/ or the store) ---------


def _valid(item: dict, day: dt.date) -> bool:
    start, end = item.get("valid_from"), item.get("valid_to")
    return (start is None or dt.date.fromisoformat(start) <= day) and (end is None or day < dt.date.fromisoformat(end))


def _owner_on(item: dict, day: dt.date) -> str | None:
    for p in item.get("owner_history", []):
        if (p.get("start") is None or dt.date.fromisoformat(p["start"]) <= day) and (
            p.get("end") is None or day < dt.date.fromisoformat(p["end"])
        ):
            return p["org"]
    return None


def expected(day: dt.date) -> dict[str, Counter]:
    """Entities in the province's scope on ``day`` per framework layer and kind."""
    doc = json.loads(SAMPLE.read_text())
    items = {e["ref"]: e for e in doc["entities"] if _valid(e, day)}
    kind = {ref: ref.split(":")[0] for ref in items}
    orgs = {PROVINCE}
    grew = True
    while grew:
        grew = False
        for ref, e in items.items():
            if kind[ref] == "organization" and e.get("attributes", {}).get("parent") in orgs and ref not in orgs:
                orgs.add(ref)
                grew = True
    inside = {ref for ref in items if kind[ref] != "organization" and _owner_on(items[ref], day) in orgs}
    for r in doc["relationships"]:  # unowned kinds (capabilities) related to what is in scope
        for a, b in ((r["source"], r["target"]), (r["target"], r["source"])):
            if a in items and b in inside and kind[a] == "capability":
                inside.add(a)
    out: dict[str, Counter] = defaultdict(Counter)
    for ref in inside:
        out[framework_layer(kind[ref], items[ref].get("attributes", {}))][kind[ref]] += 1
    return out


# --- reading the Word file back ---------------------------------------------------------------------------------


def read_back(data: bytes) -> tuple[list[tuple[str, str]], dict[str, dict[str, int]], list, str]:
    """(headings as (style, text), {layer heading: {table caption: data rows}}, inline images, all text)."""
    d = docx.Document(io.BytesIO(data))
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    headings: list[tuple[str, str]] = []
    tables: dict[str, dict[str, int]] = defaultdict(dict)
    texts: list[str] = []
    heading, caption = "", ""
    for child in d.element.body.iterchildren():
        if child.tag.endswith("}p"):
            p = Paragraph(child, d)
            texts.append(p.text)
            if p.style.name.startswith("Heading") or p.style.name == "Title":
                headings.append((p.style.name, p.text))
                heading = p.text
            elif p.style.name == "Caption":
                caption = p.text
        elif child.tag.endswith("}tbl"):
            t = Table(child, d)
            texts += [c.text for row in t.rows for c in row.cells]
            tables[heading][caption] = len(t.rows) - 1  # the header row
    return headings, tables, list(d.inline_shapes), "\n".join(texts)


def _plural(sample: CatalogStore, lang: str) -> dict[str, str]:
    return {spec.plural.get(lang): k for k, spec in sample.metamodel.kinds.items()}


@pytest.mark.parametrize("day", [TODAY, BEFORE], ids=["today", "before-mergers"])
def test_every_section_and_inventory_tables_counted_as_the_catalog(
    sample: CatalogStore, reports: dict, day: dt.date
) -> None:
    report, data = reports[(day, "vi")]
    headings, tables, images, body = read_back(data)
    said = [t for _, t in headings]
    for code in SECTION_CODES:
        assert text(msg(code), "vi") in said, code
    assert any(t.startswith("6. Thay đổi tổ chức trong kỳ") for t in said)
    assert (
        said[0]
        == f"Báo cáo hiện trạng kiến trúc số: {report.province_name}"
        == "Báo cáo hiện trạng kiến trúc số: UBND Thành phố Hồ Chí Minh"
    )
    # the four layers of Decision 3090, in order, each with one table per kind it holds, rows = the catalog's count
    want = expected(day)
    plural = _plural(sample, "vi")
    layer_headings = [t for s, t in headings if s == "Heading 2"]
    assert [h.split(". ", 1)[1] for h in layer_headings] == [label.vi for label in FRAMEWORK_LAYERS.values()]
    assert (
        "Hạ tầng số dùng chung và an toàn, an ninh mạng" in layer_headings[0] and "Kênh tương tác" in layer_headings[3]
    )
    for layer, heading in zip(FRAMEWORK_LAYERS, layer_headings, strict=True):
        found = {}
        for caption, rows in tables[heading].items():
            m = re.fullmatch(r"Bảng \d+\. (.+) \((\d+)\)", caption)
            assert m, caption
            found[plural[m.group(1)]] = rows
            assert int(m.group(2)) == rows
        assert found == dict(want[layer]), layer
    assert sum(sum(c.values()) for c in want.values()) == sum(report.layer_counts.values())
    # the two diagrams, as PNG, with their captions
    assert len(images) == 2
    d = docx.Document(io.BytesIO(data))
    blobs = [d.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed] for s in images]
    assert all(b.content_type == "image/png" and b.blob.startswith(b"\x89PNG") for b in blobs)
    assert "Hình 1. Tích hợp dữ liệu vào Trung tâm điều hành đô thị thông minh (IOC)" in body
    assert re.search(r"Hình 2\. Khai thác cơ sở dữ liệu dùng chung “.+”", body)
    # stamped with the change-log head, as the diagrams are
    seq, digest = sample.log_head().seq, sample.log_head().hash
    assert f"#{seq} {digest[:12]}" in body and report.revision == (seq, digest)
    # labels, never codes: no message code, no enum value, no entity ref
    assert not re.search(r"\b(report|ui|cli|diagram)-[a-z]+(-[a-z]+)*\b", body)
    assert not re.search(r"\b(production|approved|proposed|retiring|sensitive|organization:|system:|database:)", body)
    assert "Đang vận hành" in body and "Đã phê duyệt" in body


def test_before_the_mergers_the_counts_differ_and_follow_the_owners_of_that_day(reports: dict) -> None:
    today, _ = reports[(TODAY, "vi")]
    before, data = reports[(BEFORE, "vi")]
    assert today.counts != before.counts
    assert expected(TODAY) != expected(BEFORE)
    _, tables, _, body = read_back(data)
    # on 1 February 2025 the old Department of Information and Communications still owned the data centre
    assert "Sở Thông tin và Truyền thông TP.HCM" in body
    assert "Sở Thông tin và Truyền thông TP.HCM" not in read_back(reports[(TODAY, "vi")][1])[3].split("6. Thay đổi")[0]
    # and Bình Dương's systems were not yet the city's
    assert "tỉnh Bình Dương" not in body.split("6. Thay đổi")[0]
    assert "tỉnh Bình Dương" in read_back(reports[(TODAY, "vi")][1])[3]


def test_organisation_changes_of_the_period_with_their_legal_basis(sample: CatalogStore, reports: dict) -> None:
    report, data = reports[(TODAY, "vi")]
    _, tables, _, body = read_back(data)
    section = next(s for s in report.sections if s.key == "org-changes")
    rows = section.tables[0].rows
    events = [
        ev
        for ev in sample.list_events()
        if dt.date(2025, 1, 1) <= ev.date <= TODAY and "organization:hcm-ubnd" in ev.to
    ]
    assert events, "the sample absorbs Bình Dương and Bà Rịa – Vũng Tàu into HCMC"
    for ev in events:  # every absorption into the city is there, with its date and legal basis
        assert any(row[1] == ev.date and row[5] == ev.legal_basis for row in rows), ev.id
    assert "Sáp nhập" in body or "Hợp nhất" in body
    assert not any(ev.id.startswith(("hn-", "hue-")) for ev in sample.list_events() if ev.legal_basis in body)
    # before the mergers, nothing of the kind had happened to the city yet
    before, _ = reports[(BEFORE, "vi")]
    assert not next(s for s in before.sections if s.key == "org-changes").tables


def test_national_connections_and_compliance_are_computed(sample: CatalogStore, reports: dict) -> None:
    report, data = reports[(TODAY, "vi")]
    integration = next(s for s in report.sections if s.key == "integration")
    national = next(t for t in integration.tables if t.key == "national-connections")
    ndxp = [r for r in national.rows if "NDXP" in r[1]]
    assert ndxp and ndxp[0][4] == "Có" and ndxp[0][5] > 0 and "LGSP" in ndxp[0][6]  # via the city's LGSP
    sentence = next(b for b in integration.blocks if isinstance(b, str) and "đích kết nối quốc gia" in b)
    connected = sum(1 for r in national.rows if r[4] == "Có")
    assert sentence.startswith(f"{connected}/{len(national.rows)} ")
    compliance = next(s for s in report.sections if s.key == "compliance")
    by_rule, per_org, findings = compliance.tables
    assert sum(r[2] for r in by_rule.rows) == len(findings.rows)
    assert sum(sum(r[4:7]) for r in per_org.rows) <= len(findings.rows)
    summary = compliance.blocks[0]
    assert f"ghi nhận {len(findings.rows)} phát hiện" in summary


def test_english_on_request(reports: dict) -> None:
    report, data = reports[(TODAY, "en")]
    headings, tables, images, body = read_back(data)
    said = [t for _, t in headings]
    assert said[0] == f"Current state of the digital architecture: {report.province_name}"
    assert "2.1. Shared digital infrastructure and cybersecurity" in said and "2.4. Interaction channels" in said
    assert "1. Summary" in said and len(images) == 2 and "Figure 2. Use of the shared database" in body
    assert "In production" in body and "Approved" in body  # labels in English
    assert "Hiện trạng" not in body and "Bảng " not in body and "Đang vận hành" not in body  # one language
    assert not re.search(r"\b(report|ui|cli|diagram)-[a-z]+(-[a-z]+)*\b", body)


def test_every_section_of_the_samples_report_is_filled(reports: dict) -> None:
    report, _ = reports[(TODAY, "vi")]
    for section in report.sections:
        if section.key not in ("layers", "annex"):
            assert section.tables or section.figures, section.key
    assert [f.key for f in report.figures()] == ["ioc", "shared-db"]


def test_an_organisation_without_an_ioc_draws_no_other_citys(sample: CatalogStore) -> None:
    r = current_state(sample, "organization:vn-bnv", TODAY)  # a ministry: one database, no operations centre
    assert "ioc" not in [f.key for f in r.figures()]
    section = next(s for s in r.sections if s.key == "diagrams")
    assert any(isinstance(b, str) and "Danh mục chưa ghi nhận trung tâm điều hành" in b for b in section.blocks)
    assert len(docx.Document(io.BytesIO(r.to_docx())).inline_shapes) == len(r.figures())


def test_both_clocks_the_record_of_a_past_day(sample: CatalogStore, reports: dict) -> None:
    from catalog.history.snapshot import NothingRecorded, revision_at

    r = current_state(sample, PROVINCE, BEFORE, recorded_at="2025-01-01")  # the record at the end of that day
    head = revision_at(sample, dt.date(2025, 1, 1))
    assert r.revision == (head.seq, head.hash)
    assert "theo danh mục ghi nhận đến hết ngày 01/01/2025" in r.stamp and f"#{head.seq} {head.hash[:12]}" in r.stamp
    assert r.counts == reports[(BEFORE, "vi")][0].counts  # nothing was written after the sample's load
    with pytest.raises(NothingRecorded):
        current_state(sample, PROVINCE, BEFORE, recorded_at="2024-06-01")


def test_refuses_what_is_not_a_province_or_a_day(sample: CatalogStore) -> None:
    with pytest.raises(ValidationFailed) as e:
        current_state(sample, "organization:nowhere", TODAY)
    assert e.value.errors[0].location == "province"
    with pytest.raises(ValidationFailed) as e:
        current_state(sample, "organization:bd-ubnd", TODAY)  # absorbed into HCMC on 1 July 2025
    assert e.value.errors[0].location == "province"
    with pytest.raises(ValidationFailed) as e:
        current_state(sample, PROVINCE, "07/12/2026")
    assert e.value.errors[0].location == "valid_on"
    with pytest.raises(ValidationFailed) as e:
        current_state(sample, PROVINCE, TODAY, since="2027-01-01")
    assert e.value.errors[0].location == "since"
    with pytest.raises(ValidationFailed) as e:
        current_state(sample, PROVINCE, TODAY, lang="fr")
    assert e.value.errors[0].location == "lang"


def test_annex_holds_every_table_of_the_report(reports: dict) -> None:
    import openpyxl

    report, _ = reports[(TODAY, "vi")]
    wb = openpyxl.load_workbook(io.BytesIO(report.to_xlsx()))
    tables = report.tables()
    assert wb.sheetnames == [t.key[:31] for t in tables]
    for t in tables:
        ws = wb[t.key[:31]]
        assert ws.max_row == len(t.rows) + 1 and [c.value for c in ws[1]] == t.header


def test_same_catalog_and_day_same_bytes(sample: CatalogStore, reports: dict) -> None:
    _, data = reports[(BEFORE, "vi")]
    assert current_state(sample, PROVINCE, BEFORE, "vi").to_docx() == data


# --- the command line ---------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_writes_the_report_and_its_annex(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert cli("init", "--sample", "--store", url, cwd=tmp_path).returncode == 0
    for day in ("2025-02-01", "2025-08-01"):
        out = tmp_path / f"hcm-{day}.docx"
        r = cli(
            "report",
            "current-state",
            "--province",
            PROVINCE,
            "--valid-on",
            day,
            "-o",
            str(out),
            "--store",
            url,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
        assert "Đã ghi báo cáo" in r.stdout and out.with_suffix(".xlsx").exists()
        headings, tables, images, body = read_back(out.read_bytes())
        assert len(images) == 2 and text(msg("report-h-compliance"), "vi") in [t for _, t in headings]
        # the same counts as the sample's JSON for that day
        layer_headings = [t for s, t in headings if s == "Heading 2"]
        rows = sum(sum(tables[h].values()) for h in layer_headings)
        assert rows == sum(sum(c.values()) for c in expected(dt.date.fromisoformat(day)).values())
    r = cli(
        "report",
        "current-state",
        "--province",
        "organization:nowhere",
        "-o",
        str(tmp_path / "x.docx"),
        "--store",
        url,
        "--lang",
        "en",
        cwd=tmp_path,
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr and "province" in r.stderr
    assert not (tmp_path / "x.docx").exists()


# --- the pages, as LibreOffice lays them out ------------------------------------------------------------------------


def test_pages_render_to_png(reports: dict, tmp_path: Path) -> None:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not soffice or not pdftoppm:
        reason = (
            "LibreOffice (libreoffice-writer-nogui) and poppler-utils render the pages: ./dev.sh test installs them"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: the pages must be rendered)", pytrace=False)
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for (day, lang), (_, data) in reports.items():
        name = f"current-state-{day.isoformat()}-{lang}"
        src = tmp_path / f"{name}.docx"
        src.write_bytes(data)
        r = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{tmp_path}/lo",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(src),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        pdf = tmp_path / f"{name}.pdf"
        assert pdf.exists(), r.stderr
        for old in ARTIFACTS.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(ARTIFACTS / name)], check=True, timeout=300)
        pages = sorted(ARTIFACTS.glob(f"{name}-*.png"))
        assert len(pages) >= 8, f"{name}: {len(pages)} pages"
        # the text LibreOffice laid out is the report's, Vietnamese diacritics included
        words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        if lang == "vi":
            assert "Hạ tầng số dùng chung và an toàn, an ninh mạng" in words and "Kênh tương tác" in words
        else:
            assert "Interaction channels" in words
