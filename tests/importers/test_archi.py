"""Archi's own formats: .archimate models (plain, zipped, damaged, future, with profiles) and Archi CSV sets with the
quirks Archi's own importer handles. Counts come from COUNTS.md."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import CORPORA

from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.archi import ArchiCsvImporter, ArchiImporter
from importers.archimate import XSI
from importers.base import ImportFailed, pick, run_import

AM = CORPORA / "archimate"
CSV_DIR = AM / "archimatetool-archi/tests/com.archimatetool.csv.tests/testdata"
MODELS = "archimatetool-archi/tests/com.archimatetool.editor.tests/testdata/models"

# COUNTS.md, "Archi native (.archimate)": file, Archi version, elements, relationships, diagrams
NATIVE = [
    ("archimatetool-ArchiModels/Archisurance/Archisurance.archimate", "3.1.1", 120, 176, 17),
    ("archimatetool-ArchiModels/OpenDay/OpenDay.archimate", "3.1.1", 27, 37, 4),
    (
        "archimatetool-OpenGroupXMLExchange-v2.1/org.opengroup.archimate.xmlexchange.tests/testdata/properties.archimate",
        "3.1.1",
        2,
        1,
        1,
    ),
    (
        "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.archimate",
        "4.4.0",
        120,
        178,
        17,
    ),
    (f"{MODELS}/compatibility_test1.archimate", "10.0.0", 0, 0, 0),
    (f"{MODELS}/compatibility_test3.archimate", "5.0.0", 3, 0, 0),
    (f"{MODELS}/model_zipped.archimate", "5.8.0", 0, 0, 2),
    (f"{MODELS}/testCopySnapshot.archimate", "5.0.0", 4, 5, 1),
    (f"{MODELS}/testDeleteHandler.archimate", "5.0.0", 9, 4, 2),
    (f"{MODELS}/testFindReplace.archimate", "5.0.0", 10, 1, 2),
    (f"{MODELS}/testmodel1.archimate", "5.0.0", 2, 1, 4),
    ("archimatetool-archi/tests/com.archimatetool.modelimporter.tests/testdata/test.archimate", "5.0.0", 3, 1, 2),
    ("archimatetool-archi/tests/com.archimatetool.reports.tests/testdata/test.archimate", "5.0.0", 3, 1, 3),
    (
        "archimatetool-archi/tests/com.archimatetool.testsupport/testdata/models/Archisurance.archimate",
        "5.0.0",
        120,
        176,
        17,
    ),
    (
        "archimatetool-archi/tests/org.opengroup.archimate.xmlexchange.tests/testdata/Archisurance.archimate",
        "5.0.0",
        122,
        177,
        20,
    ),
    ("pyArchimate/examples/profile.archimate", "5.0.0", 4, 4, 1),
    ("pyArchimate/tests/fixtures/Elements.archimate", "5.0.0", 91, 17, 2),
    ("pyArchimate/tests/fixtures/prop-list.archimate", "5.0.0", 1, 0, 1),
    ("pyArchimate/tests/fixtures/synthetic_large.archimate", "4.9.0", 1250, 6318, 195),
]


def test_the_table_above_is_counts_md() -> None:
    """Every readable .archimate model in COUNTS.md is tested here with its counts (the damaged ones separately)."""
    text = (CORPORA / "COUNTS.md").read_text(encoding="utf-8")
    block = text.split("## Archi native (.archimate)", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("`archimate/"):
            rows[cells[0].strip("`").removeprefix("archimate/")] = cells[1:]
    ours = {rel: (version, n_e, n_r, n_v) for rel, version, n_e, n_r, n_v in NATIVE}
    theirs = {rel: (c[1], int(c[2]), int(c[3]), int(c[4])) for rel, c in rows.items() if c[2] != "-"}
    bogus = f"{MODELS}/compatibility_test2.archimate"  # a foreign namespace: refused (see below)
    assert ours == {k: v for k, v in theirs.items() if k != bogus}
    assert {rel for rel, c in rows.items() if c[2] == "-"} == {
        "pyArchimate/tests/fixtures/corrupted.archimate",
        "pyArchimate/tests/fixtures/no_model_xml.archimate",
    }


@pytest.fixture
def db(tmp_path: Path) -> CatalogStore:
    return open_store(f"sqlite:///{tmp_path / 'catalog.db'}")


def transform(imp, path: Path, max_bytes: int = 50_000_000):
    return imp.transform(imp.read(path, max_bytes), path.name)


@pytest.mark.parametrize("rel,version,n_elements,n_relationships,n_views", NATIVE, ids=[n[0] for n in NATIVE])
def test_archi_model_fully_accounted_for(
    rel: str, version: str, n_elements: int, n_relationships: int, n_views: int
) -> None:
    path = AM / rel
    assert pick(path, None).name == "archi"
    t = transform(ArchiImporter(), path)
    assert t.format == f"archi {version}"
    ec, rc = t.counts["elements"], t.counts["relationships"]
    # nothing lost: every element mapped or preserved, every relationship mapped, preserved or kept on the record
    assert ec["mapped"] + ec["preserved"] == n_elements and set(ec) <= {"mapped", "preserved"}
    assert rc["mapped"] + rc["preserved"] + rc["kept"] == n_relationships and set(rc) <= {"mapped", "preserved", "kept"}
    assert (ec["mapped"] + ec["preserved"] + 1, rc["mapped"] + rc["preserved"]) == (
        len(t.entities),
        len(t.relationships),
    )
    assert t.rejected == []
    # ArchiMate diagrams are converted to 3.1 views and kept; sketches and canvases are reported (counted with lxml)
    diagrams, others = diagram_types(path)
    assert diagrams + others == n_views
    assert t.counts["views"]["kept"] == diagrams
    assert (f"{others} view{'' if others == 1 else 's'} not imported" in " ".join(t.notes)) == bool(others)


def diagram_types(path: Path) -> tuple[int, int]:
    """(ArchiMate diagrams, other diagrams: sketches, canvases) of an .archimate file, counted with lxml."""
    from lxml import etree

    data = path.read_bytes()
    if data[:2] == b"PK":
        with zipfile.ZipFile(path) as z:
            data = z.read("model.xml")
    types = [e.get(f"{{{XSI}}}type") for e in etree.fromstring(data).iter("element")]
    diagrams = types.count("archimate:ArchimateDiagramModel")
    return diagrams, sum(1 for x in types if x in ("archimate:SketchModel", "canvas:CanvasModel"))


def test_archisurance_native_matches_its_exchange_export() -> None:
    from importers.archimate import ExchangeImporter

    native = transform(ArchiImporter(), AM / NATIVE[3][0])
    exch = ExchangeImporter()
    xml = AM / "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
    exchange = exch.transform(exch.read(xml, 10_000_000), xml.name)

    def things(t):  # the model's record is named by the file when the model has no name of its own
        return {(e.kind, e.name.en) for e in t.entities if e.attributes.get("source_type") != "Model"}

    assert things(native) == things(exchange)

    # Archi's own accessType codes (absent = write, 1 = read): the same reads/writes as the exchange file says
    def rels(t):
        names = {e.ref: e.name.en for e in t.entities}
        return sorted((r.type, names[r.source], names[r.target]) for r in t.relationships)

    assert rels(native) == rels(exchange) and len(rels(native)) == 51 + 126


@pytest.mark.parametrize(
    "name,message",
    [
        (
            "pyArchimate/tests/fixtures/no_model_xml.archimate",
            "a zip archive without model.xml \\(it holds: diagrams.xml, metadata.xml\\)",
        ),
        ("pyArchimate/tests/fixtures/corrupted.archimate", "neither an XML file nor a zip archive"),
        (f"{MODELS}/compatibility_test2.archimate", "not an Archi model .*archimatetool.com/Bogus"),
    ],
)
def test_damaged_archi_files_fail_with_a_clear_error(db: CatalogStore, name: str, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        run_import(db, AM / name)
    assert db.count_entities() == 0


def test_future_version_is_read_best_effort_and_said_so() -> None:
    t = transform(ArchiImporter(), AM / MODELS / "compatibility_test1.archimate")
    assert any(u.field == "version" and "10.0.0, newer than the 5.x" in u.reason for u in t.unmapped)
    assert {u.field for u in t.unmapped} >= {"something", "somethingelse"}  # unknown content reported, not lost


def test_zipped_model_and_zip_bomb(tmp_path: Path) -> None:
    t = transform(ArchiImporter(), AM / MODELS / "model_zipped.archimate")
    assert t.format == "archi 5.8.0" and t.rejected == []
    bomb = tmp_path / "bomb.archimate"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.xml", b"<" + b" " * 20_000_000)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImportFailed, match="model.xml unpacks to 20,000,001 bytes, more than the limit"):
        ArchiImporter().read(bomb, 1_000_000)


def test_profiles_become_specialization_tags_and_properties_are_kept_or_reported() -> None:
    t = transform(ArchiImporter(), AM / "pyArchimate/examples/profile.archimate")
    eric = next(e for e in t.entities if e.name.en == "Eric")
    assert "specialization:Specialization on business actor" in eric.tags
    assert "folder:Business" in eric.tags
    t = transform(
        ArchiImporter(), AM / "archimatetool-archi/tests/com.archimatetool.modelimporter.tests/testdata/test.archimate"
    )
    ba1 = next(e for e in t.entities if e.name.en == "BA1")
    assert ba1.description.en == "BA1 Documentation" and "folder:Business/Folder1" in ba1.tags
    assert any(x.startswith("archimate:p1=") for x in ba1.attributes["source_properties"])


def test_archi_import_is_idempotent(db: CatalogStore) -> None:
    path = AM / NATIVE[0][0]
    first = run_import(db, path)
    assert first.loaded and sum(first.result.created.values()) == 121 + 176  # elements, the record, relationships
    second = run_import(db, path)
    assert second.result.created == {} and second.result.updated == {}


# --- Archi CSV ----------------------------------------------------------------------------------------------

# COUNTS.md, "CSV": data rows per file (the first elements row of a set describes the model itself)
CSV_SETS = [("test1", 4, 2, 7), ("test2", 4, 2, 7), ("test3", 6, 1, 0), ("test4", 5, 2, 0), ("test5", 2, 0, 0)]


def test_csv_table_above_is_counts_md() -> None:
    text = (CORPORA / "COUNTS.md").read_text(encoding="utf-8").split("## CSV", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("`archimate/"):
            rows[cells[0].strip("`").rsplit("/", 1)[1]] = int(cells[1])
    ours = {}
    for name, e, r, p in CSV_SETS:
        ours[f"{name}-elements.csv"] = e
        if r:
            ours[f"{name}-relations.csv"] = r
        if p:
            ours[f"{name}-properties.csv"] = p
    assert ours == {k: v for k, v in rows.items() if k not in ("test4a-relations.csv", "test6-relations.csv")}
    assert (rows["test4a-relations.csv"], rows["test6-relations.csv"]) == (2, 3)  # relation-only sets, below


@pytest.mark.parametrize("name,elements,relations,properties", CSV_SETS, ids=[s[0] for s in CSV_SETS])
def test_csv_sets_fully_accounted_for(name: str, elements: int, relations: int, properties: int) -> None:
    path = CSV_DIR / f"{name}-elements.csv"
    assert pick(path, None).name == "archi-csv"
    model = ArchiCsvImporter().read(path, 1_000_000)
    t = ArchiCsvImporter().transform(model, path.name)
    assert len(model.props) + sum(len(c.props) for c in model.elements + model.relationships) == properties
    model_rows = 0 if name == "test5" else 1
    ec, rc = t.counts["elements"], t.counts["relationships"]
    assert sum(ec.values()) + model_rows == elements
    assert sum(rc.values()) == relations
    assert t.rejected == []


def test_csv_quirks_multiline_quotes_comments_blank_ids_whitespace() -> None:
    t = transform(ArchiCsvImporter(), CSV_DIR / "test1-elements.csv")
    actor = t.entities[0]
    assert actor.code == "f00aa5b4" and actor.name.en == "Business Actor"
    assert actor.description.en == 'This is the Business Actor\nDocumentation\nHere ""'
    assert "specialization:Specialization1" in actor.tags
    # properties of the model and of an element, kept with their source (a key may come twice)
    record = next(e for e in t.entities if e.attributes.get("source_type") == "Model")
    assert 'archimate:Property 1=Hello World "Here"!' in record.attributes["source_properties"]
    assert actor.attributes["source_properties"][-2:] == ["archimate:Property 3=", "archimate:Property 3=Again"]
    t5 = transform(ArchiCsvImporter(), CSV_DIR / "test5-elements.csv")  # '#' comment lines everywhere
    assert [e.name.en for e in t5.entities][:2] == ["A Business Actor", "A Business Role"]
    assert dict(t5.counts["elements"]) == {"mapped": 2}
    t3 = transform(ArchiCsvImporter(), CSV_DIR / "test3-elements.csv")  # blank ids, stray spaces, no final newline
    assert sorted(e.code for e in t3.entities if e.kind == "organization") == ["csv-1d3b1b64a815", "id1"]
    blank = next(e for e in t3.entities if e.kind == "organization" and e.code != "id1")
    assert blank.code.startswith("csv-") and blank.name.en == "Name"
    assert next(e for e in t3.entities if e.code == "id1").description.en == "This has an Identifier"
    assert sum("blank; the stable identifier" in u.reason for u in t3.unmapped) == 3
    assert transform(ArchiCsvImporter(), CSV_DIR / "test3-elements.csv").entities == t3.entities  # stable


def test_csv_duplicate_ids_and_missing_elements_are_rejected() -> None:
    t = transform(ArchiCsvImporter(), CSV_DIR / "test6-relations.csv")
    assert [(r.field, r.reason) for r in t.rejected] == [
        ("source", "e1 is not an element of the file"),
        ("identifier", "r1 appears twice in the file"),
        ("identifier", "r1 appears twice in the file"),
    ]
    assert t.rejected[1].location == "test6-relations.csv: line 3: relationship r1 (Assignment)"
    assert any("no test6-elements.csv next to it" in u.reason for u in t.unmapped)
    t = transform(ArchiCsvImporter(), CSV_DIR / "test4a-relations.csv")
    assert t.counts["relationships"]["rejected"] == 2


def write_set(folder: Path, name: str, delimiter: str, bom: bool, final_newline: bool) -> Path:
    """test1's three files rewritten with another delimiter, a BOM, or no final newline."""
    import csv
    import io

    folder.mkdir(exist_ok=True)
    for part in ("elements", "relations", "properties"):
        rows = list(csv.reader(io.StringIO((CSV_DIR / f"test1-{part}.csv").read_text(encoding="utf-8"))))
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
        text = buf.getvalue() if final_newline else buf.getvalue().rstrip("\r\n")
        (folder / f"{name}-{part}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return folder / f"{name}-elements.csv"


@pytest.mark.parametrize("delimiter,bom,final_newline", [(";", False, True), ("\t", True, False), (",", True, False)])
def test_csv_delimiters_bom_and_final_newline(tmp_path: Path, delimiter: str, bom: bool, final_newline: bool) -> None:
    original = transform(ArchiCsvImporter(), CSV_DIR / "test1-elements.csv")
    variant = transform(ArchiCsvImporter(), write_set(tmp_path / "v", "test1", delimiter, bom, final_newline))
    assert variant.entities == original.entities and variant.relationships == original.relationships
    assert [(u.field, u.reason) for u in variant.unmapped] == [(u.field, u.reason) for u in original.unmapped]


def test_csv_property_rows_that_point_at_relationships(db: CatalogStore, tmp_path: Path) -> None:
    (tmp_path / "city-elements.csv").write_text(
        '"ID","Type","Name","Documentation","Specialization"\n"m","ArchimateModel","City","",""\n'
        '"app","ApplicationComponent","Traffic","",""\n"db","DataObject","Cameras","",""\n',
        encoding="utf-8",
    )
    (tmp_path / "city-relations.csv").write_text(
        '"ID","Type","Name","Documentation","Source","Target","Specialization"\n'
        '"r1","AccessRelationship","stores","","app","db",""\n',
        encoding="utf-8",
    )
    (tmp_path / "city-properties.csv").write_text(
        '"ID","Key","Value"\n"r1","protocol","rest"\n"app","lifecycle","planned"\n"zz","x","y"\n', encoding="utf-8"
    )
    t = transform(ArchiCsvImporter(), tmp_path / "city-elements.csv")
    (rel,) = t.relationships
    assert rel.id == "system:app>writes>database:db" and rel.properties == {
        "note": "stores",
        "protocol": "rest",
        "source_properties": ["archimate:@identifier=r1"],  # Archi's ID of the relation, for a re-import or export
    }
    assert next(e for e in t.entities if e.code == "app").attributes["lifecycle"] == "planned"
    assert [str(r) for r in t.rejected] == [
        "city-properties.csv: line 4: ID: zz is neither an element nor a relation of the set"
    ]
    (tmp_path / "city-properties.csv").write_text('"ID","Key","Value"\n"r1","protocol","rest"\n', encoding="utf-8")
    report = run_import(db, tmp_path / "city-elements.csv")
    assert report.loaded and report.format == "archi-csv"
    (stored,) = db.all_relationships()
    assert stored.id == "system:app>writes>database:db" and stored.properties["protocol"] == "rest"
    again = run_import(db, tmp_path / "city-elements.csv")
    assert again.result.created == {} and again.result.updated == {}


def test_csv_short_rows_are_rejected_and_truncated_files_refused(tmp_path: Path) -> None:
    (tmp_path / "s-elements.csv").write_text(
        '"ID","Type","Name","Documentation","Specialization"\n"a","BusinessActor","A","",""\n"b","BusinessActor"\n',
        encoding="utf-8",
    )
    t = transform(ArchiCsvImporter(), tmp_path / "s-elements.csv")
    assert [str(r) for r in t.rejected] == ["s-elements.csv: line 3: 2 field(s) where the header has 5; row left out"]
    text = (CSV_DIR / "test1-elements.csv").read_text(encoding="utf-8")
    (tmp_path / "t-elements.csv").write_text(text[: text.index("Documentation\nHere")], encoding="utf-8")
    with pytest.raises(ImportFailed, match="t-elements.csv: ends inside the quoted field that starts on line 5"):
        ArchiCsvImporter().read(tmp_path / "t-elements.csv", 10_000)


def test_csv_bad_header_and_encoding_fail_cleanly(tmp_path: Path) -> None:
    (tmp_path / "x-elements.csv").write_text('"Identifier","Kind"\n"a","BusinessActor"\n', encoding="utf-8")
    with pytest.raises(ImportFailed, match="x-elements.csv: line 1: the header lacks column\\(s\\) Id, Type, Name"):
        ArchiCsvImporter().read(tmp_path / "x-elements.csv", 10_000)
    (tmp_path / "y-elements.csv").write_bytes(b'"ID","Type","Name"\n"a","BusinessActor","\xff"\n')
    with pytest.raises(ImportFailed, match="not UTF-8"):
        ArchiCsvImporter().read(tmp_path / "y-elements.csv", 10_000)
