"""ArchiMate Model Exchange File Format: every corpus model accounted for, hostile XML refused, the mapping applied
and configurable, and a 3.1 export that validates offline, respects Archi's relationships.xml and re-imports to the
same content."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import CORPORA, ROOT, SAMPLE
from lxml import etree

from catalog.digest import content_hash
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.archimate import (
    NS3,
    XSI,
    ExchangeImporter,
    RelationshipTable,
    code_for,
    export_archimate,
    load_mapping,
    load_relationship_table,
    validate_exchange,
)
from importers.base import ImportFailed, pick, run_import

AM = CORPORA / "archimate"
ARCHISURANCE_31 = (
    AM / "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
)
ARCHISURANCE_21 = (
    AM / "archimatetool-OpenGroupXMLExchange-v2.1/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml"
)
MY_MODEL = AM / "pyArchimate/examples/My Model.xml"

# COUNTS.md, "ArchiMate Model Exchange Format": file, version, elements, relationships, views
EXCHANGE = [
    ("archimatetool-ArchiModels/Archisurance/Archisurance.xml", "2.1", 120, 176, 17),
    ("archimatetool-ArchiModels/Archisurance/XSLT/Archisurance.xml", "2.1", 120, 176, 17),
    ("archimatetool-ArchiModels/OpenDay/Open Day.xml", "2.1", 27, 37, 4),
    (
        "archimatetool-OpenGroupXMLExchange-v2.1/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml",
        "2.1",
        120,
        178,
        17,
    ),
    (
        "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/archisurance.xml",
        "3.x",
        120,
        178,
        17,
    ),
    (
        "archimatetool-OpenGroupXMLExchange/org.opengroup.archimate.xmlexchange.tests/testdata/sample1.xml",
        "3.x",
        2,
        1,
        0,
    ),
    ("archimatetool-archi/tests/org.opengroup.archimate.xmlexchange.tests/testdata/Sample1.xml", "3.x", 2, 1, 0),
    ("archimatetool-archi/tests/org.opengroup.archimate.xmlexchange.tests/testdata/bendpoint.test.xml", "3.x", 2, 2, 1),
    ("jbaragry-ardoq-archimate/resources/archiArchisurance.xml", "2.1", 120, 176, 17),
    ("pyArchimate/examples/My Model.xml", "3.x", 4, 4, 1),
    ("pyArchimate/tests/fixtures/synthetic_large.xml", "3.x", 1250, 6318, 195),
]


def counts_md_rows(section: str) -> dict[str, list[str]]:
    """Rows of one COUNTS.md table: file (relative to corpora/archimate) -> the other cells."""
    text = (CORPORA / "COUNTS.md").read_text(encoding="utf-8")
    block = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("`archimate/"):
            rows[cells[0].strip("`").removeprefix("archimate/")] = cells[1:]
    return rows


def test_the_table_above_is_counts_md() -> None:
    """Every exchange model COUNTS.md lists is tested here with its counts (the two XSD failures separately)."""
    rows = counts_md_rows("ArchiMate Model Exchange Format")
    ours = {rel: (version.split(".")[0], n_e, n_r, n_v) for rel, version, n_e, n_r, n_v in EXCHANGE}
    theirs = {
        rel: (c[0].split(".")[0], int(c[1].split()[0]), int(c[2].split()[0]), int(c[3]))
        for rel, c in rows.items()
        if c[-1] == "yes"
    }
    assert ours == theirs
    assert {rel for rel, c in rows.items() if c[-1].startswith("NO")} == {
        "pyArchimate/tests/fixtures/valid_model.xml",
        "pyArchimate/tests/fixtures/viewpoint_v3/viewpoint_sample_opengroup.xml",
    }


@pytest.fixture
def db(tmp_path: Path) -> CatalogStore:
    return open_store(f"sqlite:///{tmp_path / 'catalog.db'}")


def transform(path: Path):
    imp = ExchangeImporter()
    return imp.transform(imp.read(path, 50_000_000), path.name)


def model_xml(tmp_path: Path, body: str, name: str = "m.xml", extra: str = "") -> Path:
    p = tmp_path / name
    p.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<model xmlns="{NS3}" xmlns:xsi="{XSI}" '
        f'identifier="id-m" {extra}><name xml:lang="en">M</name>{body}</model>',
        encoding="utf-8",
    )
    return p


# --- every corpus model, every element and relationship accounted for -----------------------------------------


@pytest.mark.parametrize("rel,version,n_elements,n_relationships,n_views", EXCHANGE, ids=[e[0] for e in EXCHANGE])
def test_corpus_model_fully_accounted_for(
    rel: str, version: str, n_elements: int, n_relationships: int, n_views: int
) -> None:
    t = transform(AM / rel)
    assert t.format == f"exchange {version}"
    ec, rc = t.counts["elements"], t.counts["relationships"]
    # nothing lost: every element mapped or preserved, every relationship mapped, preserved or kept on the record
    assert ec["mapped"] + ec["preserved"] == n_elements and set(ec) <= {"mapped", "preserved"}
    assert rc["mapped"] + rc["preserved"] + rc["kept"] == n_relationships and set(rc) <= {"mapped", "preserved", "kept"}
    assert ec["mapped"] + ec["preserved"] + 1 == len(t.entities)  # and the model's own record
    assert rc["mapped"] + rc["preserved"] == len(t.relationships)
    assert t.rejected == []  # these files are valid (COUNTS.md: XSD valid)
    assert sum(t.source_types.values()) == n_elements + n_relationships
    # every view is kept for export on the model's record (2.1 views converted to 3.1 views), none reported lost
    assert t.counts["views"]["kept"] == n_views
    assert "not imported" not in " ".join(t.notes)
    # a preserved element carries its type and identifier in the file
    preserved = [e for e in t.entities if e.kind == "preserved" and e.attributes["source_type"] != "Model"]
    assert len(preserved) == ec["preserved"]
    assert all(e.attributes["source_format"] == "archimate" and e.attributes["source_id"] for e in preserved)


def test_archisurance_31_mapping_in_detail() -> None:
    t = transform(ARCHISURANCE_31)
    assert dict(t.counts["elements"]) == {"mapped": 88, "preserved": 32}
    kinds = {e.kind for e in t.entities}
    assert kinds == {
        "organization", "system", "database", "dataset", "platform", "service", "process", "function", "actor",
        "preserved",
    }  # fmt: skip
    by_code = {e.code: e for e in t.entities}
    # property definitions: Property1..3 are not attributes of an organisation: kept with their source
    assert by_code["id-275"].attributes["source_properties"] == [
        "archimate:Property1=Another Value of Property 1",
        "archimate:Property2=Another Value of Property 2",
        "archimate:Property3=Value of Property 3",
    ]
    assert by_code["id-275"].kind == "organization" and by_code["id-275"].name.en == "Archisurance"
    assert "archimate:BusinessActor" in by_code["id-275"].tags
    assert any(tag.startswith("folder:Business/") for tag in by_code["id-275"].tags)
    # access types decide reads / writes
    assert "system:id-855>writes>database:id-837" in {r.id for r in t.relationships}
    # business processes are processes now; what no kind expresses is preserved with its type
    assert by_code["id-1302"].kind == "process"
    assert (by_code["id-650"].kind, by_code["id-650"].attributes["source_type"]) == ("preserved", "BusinessEvent")


def test_version_21_quirks_label_organization_propertydefs_british_spelling() -> None:
    t21, t31 = transform(ARCHISURANCE_21), transform(ARCHISURANCE_31)
    assert t21.format == "exchange 2.1"

    # <label> names, <organization> folders, UsedBy/Realisation relationships: the same catalog as from 3.1
    def essence(t):
        return {(e.ref, e.name.en, e.tags[0], any(x.startswith("folder:") for x in e.tags)) for e in t.entities}

    assert essence(t21) == essence(t31)  # (folder names differ a little between the two files)
    assert "UsedBy" not in t21.source_types and t21.source_types["Serving"] == t31.source_types["Serving"]
    assert t21.source_types["Realization"] == t31.source_types["Realization"]
    assert t21.source_types["TechnologyService"] == 5  # InfrastructureService in 2.1
    assert any(r.type == "consumes" for r in t21.relationships)  # from UsedByRelationship
    assert any(r.type == "provides" for r in t21.relationships)  # from RealisationRelationship
    # 2.1 <propertydefs>: a property with a definition is resolved by name
    assert any(
        x.startswith("archimate:Property1=") for e in t21.entities for x in e.attributes.get("source_properties", [])
    )
    # 2.1 has no accessType: unspecified access reads
    assert {r.type for r in t21.relationships} >= {"reads"}


def test_french_names_go_to_both_languages() -> None:
    t = transform(MY_MODEL)
    eric = next(e for e in t.entities if e.code == "id-0718eb79d0334ce6a027fe941abc1f93")
    assert (eric.name.vi, eric.name.en) == ("Eric", "Eric")
    assert dict(t.counts["elements"]) == {"mapped": 4}  # the BusinessFunction is a function now
    record = next(e for e in t.entities if e.attributes.get("source_type") == "Model")
    assert "archimate:author=X. Mayeur" in record.attributes["source_properties"]  # the model's own properties


def test_languages_properties_and_relationship_to_relationship(tmp_path: Path) -> None:
    body = """
  <elements>
    <element identifier="id-A" xsi:type="ApplicationComponent">
      <name xml:lang="fr">Système</name><name xml:lang="en">Traffic system</name>
      <name xml:lang="vi">Hệ thống giao thông</name>
      <documentation xml:lang="en">Line one&#13;
line two</documentation>
      <properties>
        <property propertyDefinitionRef="p1"><value xml:lang="en">planned</value></property>
        <property propertyDefinitionRef="p2"><value>high</value></property>
        <property propertyDefinitionRef="p3"><value>Ban A</value></property>
      </properties>
    </element>
    <element identifier="id-D" xsi:type="DataObject"><name>Camera feed</name></element>
    <element identifier="id-P" xsi:type="BusinessProcess"><name>Process</name></element>
    <element identifier="id-D2" xsi:type="Artifact"><name>Archive</name></element>
  </elements>
  <relationships>
    <relationship identifier="id-r1" source="id-A" target="id-D" xsi:type="Access" accessType="ReadWrite">
      <name xml:lang="en">stores frames</name>
      <properties><property propertyDefinitionRef="p4"><value>rest</value></property></properties>
    </relationship>
    <relationship identifier="id-r2" source="id-P" target="id-r1" xsi:type="Association"/>
    <relationship identifier="id-r3" source="id-A" target="id-P" xsi:type="Serving"/>
    <relationship identifier="id-r4" source="id-A" target="id-A" xsi:type="Flow"/>
    <relationship identifier="id-r5" source="id-A" target="id-D2" xsi:type="Access" accessType="Read"/>
  </relationships>
  <propertyDefinitions>
    <propertyDefinition identifier="p1" type="string"><name>lifecycle</name></propertyDefinition>
    <propertyDefinition identifier="p2" type="string"><name>Mức độ quan trọng</name></propertyDefinition>
    <propertyDefinition identifier="p3" type="string"><name>Owner team</name></propertyDefinition>
    <propertyDefinition identifier="p4" type="string"><name>Protocol</name></propertyDefinition>
  </propertyDefinitions>"""
    t = transform(model_xml(tmp_path, body))
    assert t.rejected == []
    a = next(e for e in t.entities if e.code == code_for("id-A"))
    assert (a.name.vi, a.name.en) == ("Hệ thống giao thông", "Traffic system")
    assert a.description.en == "Line one\nline two"
    assert a.attributes == {  # by name and by Vietnamese label; the rest kept with its source
        "criticality": "high",
        "lifecycle": "planned",
        "source_properties": ["archimate:Owner team=Ban A"],
    }
    rel, serves, read = t.relationships
    assert rel.type == "writes" and rel.properties == {  # its identifier in the file kept for a re-import, an export
        "note": "stores frames",
        "protocol": "rest",
        "source_properties": ["archimate:@identifier=id-r1"],
    }
    assert (serves.type, serves.target) == ("serves", "process:" + code_for("id-P"))
    assert (read.type, read.target) == ("reads", "database:" + code_for("id-D2"))
    # a relationship on a relationship and one from an element to itself: kept on the model's record for export
    record = next(e for e in t.entities if e.attributes.get("source_type") == "Model")
    kept = {x["id"]: x for x in map(json.loads, record.attributes["kept_for_export"])}
    assert kept["id-r2"]["target"] == f"edge:{rel.id}" and kept["id-r4"]["relationship"] == "Flow"
    assert dict(t.counts["relationships"]) == {"mapped": 3, "kept": 2}


def test_codes_are_stable_readable_and_distinct() -> None:
    assert code_for("id-1544") == "id-1544"
    assert code_for("5dde26f7-9d5e-4685-aada-5d66ad27bdb0") == "5dde26f7-9d5e-4685-aada-5d66ad27bdb0"
    assert code_for("id-A") != code_for("id-a") and code_for("id-A").startswith("id-a-")
    assert code_for("id-A") == code_for("id-A")


# --- deliberately invalid and hostile files -------------------------------------------------------------------


def test_files_that_fail_the_xsd_are_rejected_with_a_clear_error(db: CatalogStore) -> None:
    r = run_import(db, AM / "pyArchimate/tests/fixtures/valid_model.xml")
    assert not r.loaded and r.status == "failed"
    assert any(
        x.field == "xsd" and "'identifier' is required" in x.reason and x.location == "valid_model.xml: line 2"
        for x in r.rejected
    )
    r = run_import(db, AM / "pyArchimate/tests/fixtures/viewpoint_v3/viewpoint_sample_opengroup.xml")
    assert not r.loaded
    assert any(
        "propid-1" in x.reason and x.location.startswith("viewpoint_sample_opengroup.xml: line 10") for x in r.rejected
    )
    assert db.count_entities() == 0


XXE = """<?xml version="1.0"?>
<!DOCTYPE model [<!ENTITY secret SYSTEM "file://{path}">]>
<model xmlns="http://www.opengroup.org/xsd/archimate/3.0/" identifier="id-1"><name>&secret;</name></model>
"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<model xmlns="http://www.opengroup.org/xsd/archimate/3.0/" identifier="id-1"><name>&lol9;</name></model>
"""


def test_external_entities_and_entity_bombs_are_refused(db: CatalogStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    for name, text in (("xxe.xml", XXE.format(path=secret)), ("laughs.xml", LAUGHS)):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ImportFailed, match="DOCTYPE/ENTITY declaration; DTDs and entities are refused") as exc:
            run_import(db, p, "archimate")
        assert "TOP-SECRET" not in str(exc.value)
    assert db.count_entities() == 0


@pytest.mark.parametrize(
    "text,message",
    [
        ("<model", "not well-formed XML"),
        ("not xml at all", "not an XML file"),
        ('<model xmlns="urn:other"/>', "not an ArchiMate exchange file"),
        ("", "empty"),
    ],
)
def test_malformed_files_fail_cleanly(db: CatalogStore, tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.xml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed, match=message):
        run_import(db, p, "archimate")


def test_duplicate_identifiers_and_dangling_ends_are_rejected(db: CatalogStore, tmp_path: Path) -> None:
    body = """<elements>
      <element identifier="id-1" xsi:type="Node"><name>N</name></element>
      <element identifier="id-1" xsi:type="Node"><name>N again</name></element></elements>
      <relationships><relationship identifier="id-2" source="id-1" target="id-9" xsi:type="Serving"/></relationships>"""
    t = ExchangeImporter(validate=False).transform(
        ExchangeImporter(validate=False).read(model_xml(tmp_path, body), 10_000), "m.xml"
    )
    assert [(r.field, r.reason) for r in t.rejected] == [
        ("identifier", "id-1 appears twice in the file"),
        ("target", "id-9 is not an element of the file"),
    ]
    assert dict(t.counts["elements"]) == {"mapped": 1, "rejected": 1}
    assert dict(t.counts["relationships"]) == {"rejected": 1}


# --- loading, idempotence, configuration ------------------------------------------------------------------------


def test_import_is_picked_by_namespace_and_idempotent(db: CatalogStore) -> None:
    assert pick(ARCHISURANCE_31, None).name == "archimate"
    dry = run_import(db, ARCHISURANCE_31, dry_run=True)
    # 120 elements and the model's record; 177 relationships (the 178th is on the record)
    assert sum(dry.result.created.values()) == 121 + 177 and not dry.loaded and db.count_entities() == 0
    first = run_import(db, ARCHISURANCE_31)
    assert first.loaded and first.rejected == [] and first.unmapped == []  # nothing unmapped: the views kept too
    assert sum(first.result.created.values()) == 121 + 177
    second = run_import(db, ARCHISURANCE_31)
    assert second.result.created == {} and second.result.updated == {}
    assert sum(second.result.unchanged.values()) == 121 + 177


def test_mapping_is_configurable_and_checked(db: CatalogStore, tmp_path: Path, monkeypatch) -> None:
    from catalog.settings import get_settings

    text = (ROOT / "importers" / "archimate_mapping.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "mapping.yaml"
    custom.write_text(
        text.replace(
            "elements:\n", "elements:\n  BusinessEvent: {kind: organization, attributes: {org_type: unit}}\n", 1
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("IOC_CATALOG_ARCHIMATE_MAPPING", str(custom))
    get_settings.cache_clear()
    try:
        t = transform(ARCHISURANCE_31)
        assert t.counts["elements"]["mapped"] == 88 + 2  # the two business events
        bad = tmp_path / "bad.yaml"
        bad.write_text(text.replace("relation: consumes", "relation: reads"), encoding="utf-8")
        with pytest.raises(ImportFailed, match="the metamodel allows reads only from"):
            load_mapping(bad)
    finally:
        get_settings.cache_clear()


# --- export ---------------------------------------------------------------------------------------------------


def emitted_relationships(xml: bytes) -> list[tuple[str, str, str]]:
    root = etree.fromstring(xml)
    types = {e.get("identifier"): e.get(f"{{{XSI}}}type") for e in root.iter(f"{{{NS3}}}element")}
    return [
        (types[r.get("source")], types[r.get("target")], r.get(f"{{{XSI}}}type"))
        for r in root.iter(f"{{{NS3}}}relationship")
    ]


def test_archisurance_round_trip_same_content(db: CatalogStore, tmp_path: Path) -> None:
    """Must show: import Archisurance (3.1), export 3.1, validate offline, re-import into an empty store."""
    assert run_import(db, ARCHISURANCE_31).loaded
    result = export_archimate(db)
    out = tmp_path / "archisurance-export.xml"
    out.write_bytes(result.xml)
    assert validate_exchange(out) == []
    assert result.skipped == [] and result.relationships == db.count_relationships() + 1 == 178
    assert result.elements == db.count_entities() - 1 == 120  # the model's record is the document itself
    again = open_store(f"sqlite:///{tmp_path / 'again.db'}")
    report = run_import(again, out)
    assert report.loaded and report.rejected == [] and report.unmapped == []

    def content(store: CatalogStore):
        names = {e.ref: (e.name.vi, e.name.en) for e in store.iter_entities()}
        entities = sorted(
            (e.kind, e.name.vi, e.name.en, e.description.en, tuple(e.tags), tuple(sorted(e.attributes.items())))
            for e in store.iter_entities()
        )
        rels = sorted(
            (r.type, names[r.source], names[r.target], tuple(sorted(r.properties.items())))
            for r in store.all_relationships()
        )
        return entities, rels

    assert content(again) == content(db)
    assert content_hash(again) == content_hash(db)  # identifiers survive too


def test_sample_catalog_exports_valid_deterministic_and_allowed(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'hcmc.db'}")
    assert run_import(store, SAMPLE).loaded
    first, second = export_archimate(store), export_archimate(store)
    assert first.xml == second.xml
    out = tmp_path / "hcmc.xml"
    out.write_bytes(first.xml)
    assert validate_exchange(out) == []
    assert first.elements == store.count_entities()
    assert first.relationships + len(first.skipped) == store.count_relationships()
    table = load_relationship_table()
    emitted = emitted_relationships(first.xml)
    assert len(emitted) == first.relationships
    assert all(table.allows(s, t, rel) for s, t, rel in emitted)
    root = etree.fromstring(first.xml)
    langs = {n.get("{http://www.w3.org/XML/1998/namespace}lang") for n in root.iter(f"{{{NS3}}}name")}
    assert {"vi", "en"} <= langs
    # relationships no ArchiMate type expresses are marked so that a re-import restores them
    again = open_store(f"sqlite:///{tmp_path / 'again.db'}")
    report = run_import(again, out, strict=False)
    assert report.rejected == []
    assert sorted(r.id for r in again.all_relationships()) == sorted(r.id for r in store.all_relationships())


def test_export_skips_and_reports_what_relationships_xml_forbids(db: CatalogStore) -> None:
    assert run_import(db, ARCHISURANCE_31).loaded
    nothing_allowed = RelationshipTable({})
    result = export_archimate(db, table=nothing_allowed)
    mapped = [r for r in db.all_relationships() if r.type != "preserved"]
    refused = [x for x in result.skipped if "allows no relationship from" in x]
    assert len(refused) == len(mapped) == 51
    # a view that shows a relationship not written is not written either (the others are)
    assert all(x.startswith("view ") for x in result.skipped if x not in refused)
    # preserved relationships go back as the file had them; what the record keeps goes back with them
    assert result.relationships == 177 - 51 + 1 == len(emitted_relationships(result.xml))


def test_schema_validation_never_uses_the_network(tmp_path: Path, monkeypatch) -> None:
    """Python sockets are blocked here; libxml2's own I/O is kept offline by no_network and the local resolver for the
    xml.xsd URL the schemas import (without it the schema would not compile at all)."""

    def no_network(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from importers import archimate

    archimate._schema.cache_clear()
    assert validate_exchange(ARCHISURANCE_31) == []
    assert validate_exchange(ARCHISURANCE_21) == []
    assert validate_exchange(AM / "pyArchimate/tests/fixtures/valid_model.xml")


def test_cli_export_archimate(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "IOC_CATALOG_STORE": f"sqlite:///{tmp_path / 'c.db'}"}

    def run(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *a], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    r = run("import", str(ARCHISURANCE_31))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "model.xml"
    r = run("export", "--format", "archimate", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert validate_exchange(out) == [] and "121 thực thể, 177 quan hệ" in r.stdout  # the catalog's
