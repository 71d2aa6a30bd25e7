"""An import report speaks one language: imported with --lang vi, files with every kind of problem yield no English
sentence in any reason; with --lang en, no Vietnamese. Reasons come from the message catalog by code, never from
matching the other language's text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from catalog.i18n import text
from catalog.store.base import CatalogStore
from importers.base import ImportFailed, ImportLimits, run_import

NS3 = "http://www.opengroup.org/xsd/archimate/3.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# English function words: none may appear in a Vietnamese reason (values from the files are chosen without them;
# not "an", a Vietnamese word too: "Cấp độ an toàn", security level, now named by its label)
ENGLISH = (
    " the ",
    " is ",
    " not ",
    " must ",
    " of ",
    " a ",
    " and ",
    " be ",
    " in ",
    " has ",
    " no ",
    " to ",
    " for ",
    " was ",
    " at ",
    " with ",
    " one ",
    " required",
    " unknown",
    " does ",
    " neither ",
)
VIETNAMESE = re.compile("[àáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵđ]", re.I)


def _files(tmp: Path) -> dict[str, Path]:
    """One file per importer, together holding every kind of problem a report names."""
    out = {}
    # a spreadsheet (CSV) row by row: bad enum, missing required field, unknown reference, bad date, unknown column,
    # a text-rule violation, an unknown kind, a value without a header, a repeated code
    (tmp / "system.csv").write_text(
        "code,name_vi,owner,lifecycle,valid_from,colour\n"
        "s1,S1,organization:ghost,production,2024-01-01,\n"
        "s2,S2,,nonsense,2024-01-01,\n"
        "s3,S3,,production,someday,\n"
        "s4,S\x07,,production,2024-01-01,\n"
        "s5,,,production,2024-01-01,\n"
        "s6,S6,,production,2024-01-01,,extra\n"
        "s6,S6,,production,2024-01-01,\n"
        "s7,S7,,,2024-01-01,\n",
        encoding="utf-8",
    )
    out["csv"] = tmp / "system.csv"
    (tmp / "catalog.json").write_text(
        json.dumps(
            {
                "format": "ioc-catalog",
                "format_version": 1,
                "entities": [
                    {
                        "ref": "system:x",
                        "name": {"vi": "X"},
                        "attributes": {"lifecycle": "production"},
                        "owner_history": [{"org": "organization:ghost"}],
                    },
                    {"ref": "spaceship:x", "name": {"vi": "X"}},
                    {
                        "ref": "system:y",
                        "name": {"vi": "Y"},
                        "attributes": {"lifecycle": "production", "colour": "blue"},
                    },
                ],
                "relationships": [
                    {"type": "reads", "source": "database:d", "target": "system:x"},
                    {"type": "teleports", "source": "system:x", "target": "system:y"},
                ],
                "org_events": [
                    {
                        "id": "e1",
                        "type": "merge",
                        "date": "2025-01-01",
                        "from": ["organization:ghost"],
                        "to": ["organization:ghost"],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    out["native"] = tmp / "catalog.json"
    (tmp / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Spaceship\nmetadata: {name: x}\nspec: {}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: y, annotations: {k: v}}\n"
        "spec: {type: service, lifecycle: beta, owner: user:someone}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: w, annotations: {k: v}}\n"
        "spec: {type: service, lifecycle: production, owner: user:someone}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: someone}\nspec: {memberOf: []}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: l}\n"
        "spec: {targets: [https://example.com/x.yaml, ../outside.yaml, ./missing.yaml]}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nmetadata: {name: z}\n",
        encoding="utf-8",
    )
    out["backstage"] = tmp / "catalog-info.yaml"
    (tmp / "model.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<model xmlns="{NS3}" xmlns:xsi="{XSI}" identifier="id-m">'
        '<name xml:lang="en">M</name><elements>'
        '<element identifier="id-a" xsi:type="Goal"><name xml:lang="en">G</name></element>'
        '<element identifier="id-b" xsi:type="ApplicationComponent"><name xml:lang="en">B</name></element>'
        '</elements><relationships>'
        '<relationship identifier="id-r" xsi:type="Influence" source="id-a" target="id-b"/>'
        '</relationships><views><diagrams><view identifier="id-v" xsi:type="Diagram"><name xml:lang="en">V</name>'
        '</view></diagrams></views></model>',
        encoding="utf-8",
    )
    out["archimate"] = tmp / "model.xml"
    return out


def _refusals(tmp: Path) -> dict[str, Path]:
    """Files refused whole: content mismatch (JSON named .csv), a too-long cell, not UTF-8, malformed YAML, an empty
    file, XML with a DTD."""
    (tmp / "mismatch.csv").write_text('{"format": "ioc-catalog"}', encoding="utf-8")
    (tmp / "long.csv").write_text("code,name_vi\ns1," + "K" * 2_000 + "\n", encoding="utf-8")
    (tmp / "latin.csv").write_bytes("code,name_vi\ns1,Tr\xe2n\n".encode("latin-1"))
    (tmp / "broken.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: [unclosed\n", encoding="utf-8")
    (tmp / "empty.json").write_text("", encoding="utf-8")
    (tmp / "dtd.xml").write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><model/>', encoding="utf-8")
    return {
        "mismatch.csv": "csv",
        "long.csv": "csv",
        "latin.csv": "csv",
        "broken.yaml": "backstage",
        "empty.json": "native",
        "dtd.xml": "archimate",
    }


@pytest.fixture
def reports(store: CatalogStore, tmp_path: Path) -> dict[str, list]:
    """Every rejected and unmapped item of the files, and every refusal, per importer."""
    got: dict[str, list] = {}
    for fmt, path in _files(tmp_path).items():
        report = run_import(store, path, fmt, strict=False, dry_run=True)
        got[fmt] = report.rejected + report.unmapped
    limits = ImportLimits(cell_chars=1_000)
    for name, fmt in _refusals(tmp_path).items():
        with pytest.raises(ImportFailed) as exc:
            run_import(store, tmp_path / name, fmt, limits=limits)
        got.setdefault("refused", []).append(exc.value)
    return got


def _reasons(reports: dict[str, list], lang: str) -> list[str]:
    """Each reason, without what it quotes from a file or a parser (“...”, '...')."""
    out = []
    for items in reports.values():
        for item in items:
            said = item.text(lang) if isinstance(item, ImportFailed) else text(item.reason, lang)
            out.append(re.sub(r"“[^”]*”|'[^']*'", "…", said))
    return out


def test_the_files_hold_every_kind_of_problem(reports: dict[str, list]) -> None:
    codes = {
        getattr(i.reason, "code", None) for items in reports.values() for i in items if not isinstance(i, ImportFailed)
    }
    assert {
        "value-one-of",
        "attribute-required-one-of",
        "ref-not-in-file-or-catalog",
        "pydantic-date-from-datetime-parsing",
        "column-unknown",
        "text-control",
        "kind-unknown",
        "value-without-header",
        "appears-twice",
        "name-required",
        "relation-type-unknown",
        "attribute-unknown",
        "relation-source-kind",
        "backstage-target-remote",
        "backstage-target-outside",
        "backstage-target-missing",
        "backstage-location-followed",
        "backstage-lifecycle-unknown",
        "backstage-owner-person",
        "backstage-user-unmapped",
        "backstage-kind-required",
    } <= codes, codes
    refused = {e.reason for e in reports["refused"]}
    assert {"import-content-mismatch", "import-cell-too-long", "import-not-utf8", "import-empty"} <= refused


def test_a_vietnamese_report_holds_no_english_sentence(reports: dict[str, list]) -> None:
    reasons = _reasons(reports, "vi")
    assert len(reasons) >= 30
    english = [r for r in reasons if any(w in f" {r.lower()} " for w in ENGLISH)]
    assert english == []
    assert all(VIETNAMESE.search(r) for r in reasons)  # each is a Vietnamese sentence, not a bare code


def test_an_english_report_holds_no_vietnamese(reports: dict[str, list]) -> None:
    reasons = _reasons(reports, "en")
    assert [r for r in reasons if VIETNAMESE.search(r)] == []
    assert all(re.search(r"[a-z]{3,} [a-z]{2,}", r) for r in reasons)  # sentences, not codes


def test_the_command_line_report_speaks_the_language_asked_for(store: CatalogStore, tmp_path: Path) -> None:
    from api.cli import _print_report

    path = _files(tmp_path)["csv"]
    report = run_import(store, path, "csv", strict=True)
    from io import StringIO

    from rich.console import Console

    import api.cli as cli

    for lang in ("vi", "en"):
        out = StringIO()
        saved = cli.console, cli.err
        cli.console = cli.err = Console(file=out, width=300, no_color=True)
        try:
            _print_report(report, lang)
        finally:
            cli.console, cli.err = saved
        lines = [x for x in out.getvalue().splitlines() if x.startswith("  ")]
        assert lines
        if lang == "vi":
            assert not [x for x in lines if any(w in f" {x.lower()} " for w in ENGLISH)]
            assert "Không nhập gì" in out.getvalue()
        else:
            assert not [x for x in lines if VIETNAMESE.search(x)] and "Nothing was imported" in out.getvalue()


def test_the_command_line_report_writes_counts_as_numbers_of_its_language() -> None:
    """Counts are numbers as the language writes them: 60.000 in Vietnamese, 60,000 in English (an import of the
    20,000-entity synthetic catalog printed 60000)."""
    from io import StringIO
    from types import SimpleNamespace

    from rich.console import Console

    import api.cli as cli
    from catalog.store.base import BulkResult

    result = BulkResult()
    for _ in range(60_000):
        result.add("created", "relationship")
    result.add("unchanged", "system")
    report = SimpleNamespace(source="native:x.json", dry_run=False, result=result, rejected=[], unmapped=[])
    for lang, said in (("vi", "60.000"), ("en", "60,000")):
        out = StringIO()
        saved = cli.console, cli.err
        cli.console = cli.err = Console(file=out, width=300, no_color=True)
        try:
            cli._print_report(report, lang)
        finally:
            cli.console, cli.err = saved
        assert said in out.getvalue() and "60000" not in out.getvalue(), out.getvalue()
