"""Nothing lost in an ArchiMate round trip (issue 17): for every ArchiMate model of the shared corpora (exchange files
and Archi's .archimate), every element and relationship is stored, mapped or preserved, as many as lxml counts in the
file on its own; export -> import into a fresh catalog -> export gives the same canonical XML; every export validates
against the ArchiMate 3.1 XSD; the corrupt and invalid fixtures fail with a clear error and store nothing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import CORPORA
from lxml import etree

from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.archimate import NS3, NS21, XSI, export_archimate, validate_exchange
from importers.base import ImportFailed, run_import

AM = CORPORA / "archimate"
ARCHI_NS = "http://www.archimatetool.com/archimate"
XSI_TYPE = f"{{{XSI}}}type"
# not models: Archi's own rule tables, and fixtures that are broken on purpose (each tested below)
NOT_MODELS = {
    "archimatetool-archi/com.archimatetool.model/model/relationships.xml",
    "archimatetool-archi/com.archimatetool.model/model/relationships-keys.xml",
    "archimatetool-archi/com.archimatetool.model/model/viewpoints.xml",
}
BROKEN = {
    "pyArchimate/tests/fixtures/valid_model.xml": "'identifier' is required",
    "pyArchimate/tests/fixtures/viewpoint_v3/viewpoint_sample_opengroup.xml": "propid-1",
    "pyArchimate/tests/fixtures/corrupted.archimate": "neither an XML file nor a zip archive",
    "pyArchimate/tests/fixtures/no_model_xml.archimate": "without model.xml",
    # an Archi 1.x model (another namespace, and empty): not a model this importer reads
    "archimatetool-archi/tests/com.archimatetool.editor.tests/testdata/models/compatibility_test2.archimate": (
        "not an Archi model"
    ),
}


def corpus_models() -> list[str]:
    found = sorted(str(p.relative_to(AM)) for p in AM.rglob("*") if p.suffix in (".xml", ".archimate") and p.is_file())
    return [f for f in found if f not in NOT_MODELS and f not in BROKEN]


MODELS = corpus_models()


def model_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"PK":
        with zipfile.ZipFile(path) as z:
            return z.read("model.xml")
    return data


def count_in_file(path: Path) -> tuple[int, int]:
    """Elements and relationships of a model, counted with lxml alone (views and diagram objects excluded)."""
    root = etree.fromstring(model_bytes(path))
    ns = root.tag[1:].split("}", 1)[0]
    if ns in (NS3, NS21):
        elements = root.find(f"{{{ns}}}elements")
        relationships = root.find(f"{{{ns}}}relationships")
        n_e = 0 if elements is None else len(elements.findall(f"{{{ns}}}element"))
        n_r = 0 if relationships is None else len(relationships.findall(f"{{{ns}}}relationship"))
        return n_e, n_r
    assert ns == ARCHI_NS
    types = [e.get(XSI_TYPE, "") for e in root.iter("element")]
    n_r = sum(1 for t in types if t.endswith("Relationship"))
    n_e = sum(
        1
        for t in types
        if not t.endswith("Relationship") and "Diagram" not in t and "Sketch" not in t and "Canvas" not in t
    )
    return n_e, n_r


def canonical(xml: bytes) -> bytes:
    """The export in canonical XML after sorting what has no order: elements, relationships, folder items and
    property definitions by identifier."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))

    def key(node) -> str:
        return node.get("identifier") or node.get("identifierRef") or "".join(node.itertext())

    for tag in ("elements", "relationships", "propertyDefinitions", "organizations", "item"):
        for parent in root.iter(f"{{{NS3}}}{tag}"):
            children = sorted(
                (
                    c
                    for c in parent
                    if c.tag
                    in (f"{{{NS3}}}element", f"{{{NS3}}}relationship", f"{{{NS3}}}propertyDefinition", f"{{{NS3}}}item")
                ),
                key=key,
            )
            for c in children:
                parent.remove(c)
                parent.append(c)
    return etree.tostring(root, method="c14n2")


def fresh(tmp_path: Path, name: str) -> CatalogStore:
    return open_store(f"sqlite:///{tmp_path / name}.db")


def stored_counts(store: CatalogStore) -> tuple[int, int]:
    """Elements and relationships of the one imported model: its entities but the model's record, its
    relationships plus those the record keeps (relationships on relationships, a second one between two ends)."""
    entities = list(store.iter_entities())
    records = [e for e in entities if e.kind == "preserved" and e.attributes.get("source_type") == "Model"]
    assert len(records) == 1
    kept = [x for x in map(json.loads, records[0].attributes.get("kept_for_export") or ()) if "relationship" in x]
    return len(entities) - 1, store.count_relationships() + len(kept)


@pytest.mark.parametrize("rel", MODELS)
def test_every_element_and_relationship_is_stored_and_round_trips(rel: str, tmp_path: Path) -> None:
    path = AM / rel
    n_elements, n_relationships = count_in_file(path)
    first = fresh(tmp_path, "first")
    report = run_import(first, path)
    assert report.loaded and report.rejected == [], [str(r) for r in report.rejected[:3]]
    assert stored_counts(first) == (n_elements, n_relationships)
    export1 = export_archimate(first)
    assert export1.skipped == []
    out1 = tmp_path / "export1.xml"
    out1.write_bytes(export1.xml)
    assert validate_exchange(out1) == []
    second = fresh(tmp_path, "second")
    again = run_import(second, out1)
    assert again.loaded and again.rejected == []
    assert stored_counts(second) == (n_elements, n_relationships)
    export2 = export_archimate(second)
    assert canonical(export2.xml) == canonical(export1.xml)
    # the views go back too: those of 3.x files as they were, 2.1 views and Archi diagrams converted to 3.1
    views = etree.fromstring(export1.xml).findall(f"{{{NS3}}}views/{{{NS3}}}diagrams/{{{NS3}}}view")
    assert len(views) == views_in_file(path)


def views_in_file(path: Path) -> int:
    """The views of a model that ArchiMate 3.1 can hold, counted with lxml: 3.x and 2.1 views, Archi's ArchiMate
    diagrams (not its sketches and canvases)."""
    root = etree.fromstring(model_bytes(path))
    if root.tag == f"{{{NS3}}}model":
        return len(root.findall(f"{{{NS3}}}views/{{{NS3}}}diagrams/{{{NS3}}}view"))
    if root.tag == f"{{{NS21}}}model":
        return len(root.findall(f"{{{NS21}}}views/{{{NS21}}}view"))
    return sum(1 for e in root.iter("element") if e.get(XSI_TYPE) == "archimate:ArchimateDiagramModel")


def test_the_models_are_the_ones_counts_md_lists() -> None:
    """Every model of COUNTS.md is either tested above or broken on purpose (and tested below)."""
    text = (CORPORA / "COUNTS.md").read_text(encoding="utf-8")
    listed = {
        line.split("`")[1].removeprefix("archimate/")
        for line in text.splitlines()
        if line.startswith("| `archimate/") and line.split("`")[1].endswith((".xml", ".archimate"))
    }
    assert listed <= set(MODELS) | set(BROKEN)
    assert len(MODELS) >= 28


@pytest.mark.parametrize("rel,reason", sorted(BROKEN.items()))
def test_corrupt_and_invalid_fixtures_fail_clearly(rel: str, reason: str, tmp_path: Path) -> None:
    store = fresh(tmp_path, "c")
    try:
        report = run_import(store, AM / rel)
    except ImportFailed as exc:
        assert reason in str(exc) and Path(rel).name in str(exc)
    else:
        assert not report.loaded and any(reason in r.reason for r in report.rejected)
    assert store.count_entities() == 0 and store.count_relationships() == 0


def test_what_archisurance_keeps_is_visible_with_its_type_identifier_and_folder(tmp_path: Path) -> None:
    path = AM / "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
    store = fresh(tmp_path, "a")
    assert run_import(store, path).loaded
    # a business event, not a kind of the catalog: preserved with everything the file says of it
    kept = store.get_entity("preserved:id-650")
    assert kept.name.en == "Request for Insurance"
    assert kept.attributes["source_format"] == "archimate" and kept.attributes["source_type"] == "BusinessEvent"
    assert kept.attributes["source_id"] == "id-650" and kept.attributes["folder"] == "Business/Processes"
    assert any(e.ref == "preserved:id-650" for e in store.search("Request for Insurance"))
    # business processes land on the business kinds; properties no attribute declares are kept with their source
    assert store.get_entity("process:id-1302").name.en == "Inform Customer"
    actor = store.get_entity("organization:id-275")
    assert [x for x in actor.attributes["source_properties"] if x.startswith("archimate:Property")]
    # the model's own record: its name, and the second relationship between two ends kept for export
    record = store.get_entity("preserved:model-id-11f5304f")
    assert record.name.en == "Archisurance" and record.attributes["source_type"] == "Model"
    kept = [json.loads(x) for x in record.attributes["kept_for_export"]]
    assert len([x for x in kept if "relationship" in x]) == 1 and len([x for x in kept if "view" in x]) == 17
    rels = [r for r in store.all_relationships() if r.type == "preserved"]
    assert {r.properties["source_type"] for r in rels} >= {"Triggering", "Serving", "Assignment"}
