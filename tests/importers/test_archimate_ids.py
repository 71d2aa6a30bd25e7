"""A relationship the mapping turns into a catalog relationship keeps its identifier in the ArchiMate file (as a
preserved one keeps ``source_id`` and an element its code): a re-import of the same file reports it unchanged, an
export writes it back as the relationship's identifier, and a catalog exported and imported again is unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import CORPORA
from lxml import etree

from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.archimate import NS3, NS21, XSI, export_archimate, relationship_identifier
from importers.base import run_import

AM = CORPORA / "archimate"
ARCHISURANCE_31 = (
    AM / "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
)
ARCHISURANCE_21 = (
    AM / "archimatetool-OpenGroupXMLExchange-v2.1/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
)
ARCHISURANCE_ARCHI = AM / "archimatetool-ArchiModels/Archisurance/Archisurance.archimate"
ARCHI_CSV = AM / "archimatetool-archi/tests/com.archimatetool.csv.tests/testdata/test1-elements.csv"

SMALL = f"""<?xml version="1.0" encoding="UTF-8"?>
<model xmlns="{NS3}" xmlns:xsi="{XSI}" identifier="id-city">
  <name xml:lang="en">City</name>
  <elements>
    <element identifier="app-traffic" xsi:type="ApplicationComponent"><name xml:lang="en">Traffic</name></element>
    <element identifier="app-portal" xsi:type="ApplicationComponent"><name xml:lang="en">Portal</name></element>
    <element identifier="db-cameras" xsi:type="DataObject"><name xml:lang="en">Cameras</name></element>
  </elements>
  <relationships>
    <relationship identifier="rel-writes-frames" source="app-traffic" target="db-cameras" xsi:type="Access"
        accessType="Write"><name xml:lang="en">stores frames</name></relationship>
    <relationship identifier="rel-portal-reads" source="app-portal" target="db-cameras" xsi:type="Access"
        accessType="Read"/>
  </relationships>
</model>
"""


def db(tmp_path: Path, name: str) -> CatalogStore:
    return open_store(f"sqlite:///{tmp_path / name}.db")


def file_relationship_ids(xml: bytes) -> set[str]:
    root = etree.fromstring(xml)
    ns = root.tag[1:].split("}", 1)[0]
    assert ns in (NS3, NS21)
    return {r.get("identifier") for r in root.iter(f"{{{ns}}}relationship")}


def archi_relationship_ids(path: Path) -> set[str]:
    root = etree.parse(str(path)).getroot()
    return {e.get("id") for e in root.iter("element") if e.get(f"{{{XSI}}}type", "").endswith("Relationship")}


def rel_changes(report) -> tuple[int, int, int]:
    r = report.result
    return (r.created.get("relationship", 0), r.updated.get("relationship", 0), r.unchanged.get("relationship", 0))


def test_a_mapped_relationship_keeps_its_identifier_and_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "city.xml"
    src.write_text(SMALL, encoding="utf-8")
    store = db(tmp_path, "city")
    first = run_import(store, src)
    assert first.loaded and first.rejected == [] and rel_changes(first) == (2, 0, 0)
    rels = {r.id: r for r in store.all_relationships()}
    assert set(rels) == {"system:app-traffic>writes>database:db-cameras", "system:app-portal>reads>database:db-cameras"}
    writes = rels["system:app-traffic>writes>database:db-cameras"]
    assert writes.properties["source_properties"] == ["archimate:@identifier=rel-writes-frames"]
    assert relationship_identifier(writes) == "rel-writes-frames"
    # the same file again: recognised, nothing created or changed
    again = run_import(store, src)
    assert rel_changes(again) == (0, 0, 2) and again.result.created == {} and again.result.updated == {}
    # exported: the identifiers come back as the relationships' own, not as a property
    exported = export_archimate(store).xml
    root = etree.fromstring(exported)
    ids = {r.get("identifier"): r for r in root.iter(f"{{{NS3}}}relationship")}
    assert set(ids) == {"rel-writes-frames", "rel-portal-reads"}
    names = {p.findtext(f"{{{NS3}}}name") for p in root.iter(f"{{{NS3}}}propertyDefinition")}
    assert "@identifier" not in names
    # the export imported into the same catalog: unchanged; into a fresh one: the same identifiers again
    out = tmp_path / "export.xml"
    out.write_bytes(exported)
    back = run_import(store, out)
    assert back.rejected == [] and rel_changes(back) == (0, 0, 2)
    fresh = db(tmp_path, "fresh")
    assert run_import(fresh, out).loaded
    assert {relationship_identifier(r) for r in fresh.all_relationships()} == {"rel-writes-frames", "rel-portal-reads"}
    assert file_relationship_ids(export_archimate(fresh).xml) == {"rel-writes-frames", "rel-portal-reads"}


def test_a_relationship_made_in_the_catalog_stays_unchanged_through_export_and_import(tmp_path: Path) -> None:
    """A relationship no ArchiMate file named gets an identifier derived from what it joins; importing that export
    keeps nothing new on it (it would be an update of every relationship a person entered)."""
    src = tmp_path / "city.xml"
    src.write_text(SMALL.replace(' identifier="rel-portal-reads"', ' identifier="rel-x"'), encoding="utf-8")
    store = db(tmp_path, "city")
    assert run_import(store, src).loaded
    from catalog.model import Relationship
    from catalog.store.base import WriteContext

    store.create_relationship(
        Relationship(type="reads", source="system:app-traffic", target="database:db-cameras"),
        WriteContext(actor="test"),
    )
    out = tmp_path / "export.xml"
    out.write_bytes(export_archimate(store).xml)
    back = run_import(store, out)
    assert back.rejected == [] and rel_changes(back) == (0, 0, 3)
    made = {r.id: r for r in store.all_relationships()}["system:app-traffic>reads>database:db-cameras"]
    assert relationship_identifier(made) == ""


@pytest.mark.parametrize(
    "path",
    [ARCHISURANCE_31, ARCHISURANCE_21],
    ids=["archisurance-3.1", "archisurance-2.1"],
)
def test_every_relationship_identifier_of_archisurance_survives(path: Path, tmp_path: Path) -> None:
    """COUNTS.md: 178 relationships in either file; each one's identifier is on the catalog relationship it became
    (or on the model's record), a re-import changes nothing, and the export carries all 178 identifiers."""
    in_file = file_relationship_ids(path.read_bytes())
    assert len(in_file) == 178
    store = db(tmp_path, "a")
    first = run_import(store, path)
    assert first.loaded and first.rejected == []
    stored = {relationship_identifier(r) for r in store.all_relationships()}
    assert "" not in stored and stored <= in_file
    mapped = [r for r in store.all_relationships() if r.type != "preserved"]
    assert len(mapped) >= 50  # 51 of them map to catalog relationships (the rest are preserved), each with its id
    again = run_import(store, path)
    assert again.result.created == {} and again.result.updated == {}
    assert rel_changes(again)[2] == store.count_relationships()
    exported = export_archimate(store)
    assert exported.skipped == []
    assert file_relationship_ids(exported.xml) == in_file


def test_archi_native_and_csv_relationships_keep_their_ids(tmp_path: Path) -> None:
    """Archi's own file (176 relationships, COUNTS.md): the export writes each relationship's Archi id as it is, so
    Archi importing the export gets its own ids back; an id that is no NCName ("1274", which the XSD refuses) is
    written as Archi's own exchange-format export of the same model writes it (Archisurance.xml beside it:
    "id-1274").
    Archi's CSV: its relation IDs."""
    in_file = archi_relationship_ids(ARCHISURANCE_ARCHI)
    assert len(in_file) == 176
    by_archi = file_relationship_ids(ARCHISURANCE_ARCHI.with_name("Archisurance.xml").read_bytes())
    assert by_archi == {f"id-{x}" for x in in_file}
    numeric = {x for x in in_file if x[0].isdigit()}  # no NCName: "1274", "09da63b3"
    assert 0 < len(numeric) < len(in_file)
    store = db(tmp_path, "archi")
    assert run_import(store, ARCHISURANCE_ARCHI).loaded
    exported = file_relationship_ids(export_archimate(store).xml)
    assert exported == {f"id-{x}" if x in numeric else x for x in in_file}
    assert {x for x in exported if x.startswith("id-")} <= by_archi
    again = run_import(store, ARCHISURANCE_ARCHI)
    assert again.result.created == {} and again.result.updated == {}
    csv_store = db(tmp_path, "csv")
    report = run_import(csv_store, ARCHI_CSV)
    assert report.loaded
    with ARCHI_CSV.with_name("test1-relations.csv").open(encoding="utf-8-sig", newline="") as fh:
        csv_ids = {row["ID"] for row in csv.DictReader(fh)}
    assert len(csv_ids) == 2  # COUNTS.md: 2 relation rows
    assert file_relationship_ids(export_archimate(csv_store).xml) == {
        f"id-{x}" if x[0].isdigit() else x for x in csv_ids
    }


def counts_md_models() -> list[str]:
    """The models of COUNTS.md's two ArchiMate tables that are models to read: exchange files the XSD accepts, Archi
    files (4.x and later) that are XML or a zip with model.xml."""
    out = []
    for line in (CORPORA / "COUNTS.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cells or not cells[0].startswith("`archimate/"):
            continue
        rel = cells[0].strip("`").removeprefix("archimate/")
        if rel.endswith(".xml") and cells[-1] == "yes":
            out.append(rel)
        elif rel.endswith(".archimate") and (cells[1] == "xml" or cells[1].startswith("zip (model.xml")):
            if cells[2].startswith("1."):  # an Archi 1.x model: another namespace, refused (test_archimate_roundtrip)
                continue
            out.append(rel)
    return out


MODELS = counts_md_models()


def test_the_corpus_models_are_found() -> None:
    assert len(MODELS) == 11 + 19  # COUNTS.md: 11 exchange files the XSD accepts, 19 Archi files with a model


@pytest.mark.parametrize("rel", MODELS)
def test_every_corpus_model_reimports_unchanged_with_every_relationship_identified(rel: str, tmp_path: Path) -> None:
    store = db(tmp_path, "m")
    first = run_import(store, AM / rel)
    assert first.loaded and first.rejected == [], [str(r) for r in first.rejected[:3]]
    assert all(relationship_identifier(r) for r in store.all_relationships())
    again = run_import(store, AM / rel)
    assert again.result.created == {} and again.result.updated == {} and again.result.removed == {}
