"""Views of ArchiMate 2.1 exchange files and Archi diagrams are converted to ArchiMate 3.1 views, kept on the model's
record and exported back (issue 17). The exported views are compared with the source counted by lxml alone: as
many views, and in each view (by name) as many nodes, connections and bendpoints, the same elements shown and the
same relationships drawn, each connection between the nodes of the same elements."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPORA
from lxml import etree

from catalog.store import open_store
from importers.archimate import NS3, NS21, XSI, export_archimate, validate_exchange
from importers.base import run_import

AM = CORPORA / "archimate"
ARCHISURANCE_ARCHI = AM / "archimatetool-ArchiModels/Archisurance/Archisurance.archimate"
ARCHISURANCE_21 = AM / "archimatetool-ArchiModels/Archisurance/Archisurance.xml"
X = f"{{{XSI}}}type"


def _names(root, tag_name: str, ident: str, label: str) -> dict[str, str]:
    """identifier -> name of every element and relationship of a source or exported file."""
    out = {}
    for e in root.iter(tag_name):
        names = [c.text or "" for c in e if c.tag == label]
        out[e.get(ident)] = (names[0] if names else e.get("name") or "").strip()
    return out


def summary_archi(path: Path) -> dict[str, tuple]:
    root = etree.parse(str(path)).getroot()
    concepts = {
        e.get("id"): ((e.get("name") or "").strip(), e.get(X).split(":")[1].removesuffix("Relationship"))
        for e in root.iter("element")
    }
    rels = {e.get("id"): (e.get("source"), e.get("target")) for e in root.iter("element") if e.get("source")}
    out = {}
    for d in root.iter("element"):
        if d.get(X) != "archimate:ArchimateDiagramModel":
            continue
        nodes = list(d.iter("child"))
        conns = list(d.iter("sourceConnection"))
        shown = Counter(concepts[n.get("archimateElement")][0] for n in nodes if n.get("archimateElement"))
        drawn = Counter(
            ends(concepts, rels[c.get("relationship") or c.get("archimateRelationship")])
            for c in conns
            if c.get("relationship") or c.get("archimateRelationship")
        )
        bends = sum(1 for c in conns for b in c if b.tag == "bendpoint")
        out[d.get("name")] = (len(nodes), len(conns), bends, shown, drawn)
    return out


def summary_21(path: Path) -> dict[str, tuple]:
    root = etree.parse(str(path)).getroot()
    q = lambda t: f"{{{NS21}}}{t}"  # noqa: E731
    concepts = {
        e.get("identifier"): (
            ([c.text for c in e if c.tag == q("label")] or [""])[0].strip(),
            e.get(X).removesuffix("Relationship"),
        )
        for e in list(root.iter(q("element"))) + list(root.iter(q("relationship")))
    }
    rels = {e.get("identifier"): (e.get("source"), e.get("target")) for e in root.iter(q("relationship"))}
    out = {}
    for v in root.iter(q("view")):
        nodes, conns = list(v.iter(q("node"))), list(v.iter(q("connection")))
        shown = Counter(concepts[n.get("elementref")][0] for n in nodes if n.get("elementref"))
        drawn = Counter(ends(concepts, rels[c.get("relationshipref")]) for c in conns if c.get("relationshipref"))
        bends = sum(1 for c in conns for b in c if b.tag == q("bendpoint"))
        out[[c.text for c in v if c.tag == q("label")][0]] = (len(nodes), len(conns), bends, shown, drawn)
    return out


def ends(concepts: dict, pair: tuple[str, str]) -> frozenset:
    """What a drawn relationship joins, by the names of its ends (a mapped relationship may come back as another
    ArchiMate type, or reversed: docs/archimate.md)."""
    return frozenset(concepts[x][0] for x in pair)


def summary_export(xml: bytes) -> dict[str, tuple]:
    root = etree.fromstring(xml)
    q = lambda t: f"{{{NS3}}}{t}"  # noqa: E731
    concepts = {
        e.get("identifier"): (([c.text for c in e if c.tag == q("name")] or [""])[0].strip(), e.get(X))
        for e in list(root.iter(q("element"))) + list(root.iter(q("relationship")))
    }
    rels = {e.get("identifier"): (e.get("source"), e.get("target")) for e in root.iter(q("relationship"))}
    out = {}
    views = root.findall(f"{q('views')}/{q('diagrams')}/{q('view')}")
    for v in views:
        nodes, conns = list(v.iter(q("node"))), list(v.iter(q("connection")))
        by_id = {n.get("identifier"): n for n in nodes}
        shown = Counter(concepts[n.get("elementRef")][0] for n in nodes if n.get("elementRef"))
        drawn = Counter(ends(concepts, rels[c.get("relationshipRef")]) for c in conns if c.get("relationshipRef"))
        for c in conns:  # a connection joins the nodes of its relationship's ends
            assert c.get("source") in by_id or c.get("source") in {x.get("identifier") for x in conns}
            assert c.get("target") in by_id or c.get("target") in {x.get("identifier") for x in conns}
        bends = sum(1 for c in conns for b in c if b.tag == q("bendpoint"))
        out[[c.text for c in v if c.tag == q("name")][0]] = (len(nodes), len(conns), bends, shown, drawn)
    return out


@pytest.mark.parametrize("path,count", [(ARCHISURANCE_ARCHI, summary_archi), (ARCHISURANCE_21, summary_21)])
def test_archisurance_views_come_back_whole(path: Path, count, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    report = run_import(store, path)
    assert report.loaded and report.rejected == []
    result = export_archimate(store)
    assert result.skipped == []
    out = tmp_path / "out.xml"
    out.write_bytes(result.xml)
    assert validate_exchange(out) == []
    source, exported = count(path), summary_export(result.xml)
    assert len(source) == 17 and len(exported) == 17
    assert sum(v[0] for v in source.values()) > 200 and sum(v[1] for v in source.values()) > 150
    for name, (n, c, b, shown, drawn) in source.items():
        assert exported[name][:3] == (n, c, b), name
        assert exported[name][3] == shown, name
        assert exported[name][4] == drawn, name


def test_archi_positions_are_made_absolute(tmp_path: Path) -> None:
    """Archi keeps a child's bounds relative to its group; the 3.1 view places it inside the group."""
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    assert run_import(store, ARCHISURANCE_ARCHI).loaded
    root = etree.fromstring(export_archimate(store).xml)
    nested = [
        (outer, inner) for outer in root.iter(f"{{{NS3}}}node") for inner in outer if inner.tag == f"{{{NS3}}}node"
    ]
    assert nested
    for outer, inner in nested:
        ox, oy, ow, oh = (int(outer.get(a)) for a in "xywh")
        ix, iy = int(inner.get("x")), int(inner.get("y"))
        assert ox <= ix <= ox + ow and oy <= iy <= oy + oh


def test_sketches_canvases_and_unmapped_styles_are_reported_by_name(tmp_path: Path) -> None:
    path = AM / "archimatetool-archi/tests/com.archimatetool.reports.tests/testdata/test.archimate"
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    report = run_import(store, path)
    assert report.loaded
    lines = [str(r) for r in report.unmapped]
    assert any("'New Sketch' (SketchModel) not imported" in x for x in lines)
    assert any("'New Canvas' (CanvasModel) not imported" in x for x in lines)
    assert any("'Default View' converted to an ArchiMate 3.1 view without: textAlignment" in x for x in lines)
    views = etree.fromstring(export_archimate(store).xml).iter(f"{{{NS3}}}view")
    assert [[c.text for c in v if c.tag == f"{{{NS3}}}name"] for v in views] == [["Default View"]]


def test_archi_fonts_and_colours_are_carried(tmp_path: Path) -> None:
    """Each Archi font (SWT's ``1|name|height|style``) becomes a 3.1 font, each fill colour a fillColor."""
    src = etree.parse(str(ARCHISURANCE_ARCHI)).getroot()
    drawn = list(src.iter("child", "sourceConnection"))
    fonts = Counter((x.get("font").split("|")[1], x.get("font").split("|")[2]) for x in drawn if x.get("font"))
    fills = sorted(x.get("fillColor").lower() for x in drawn if x.get("fillColor"))
    assert fonts and fills
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    assert run_import(store, ARCHISURANCE_ARCHI).loaded
    root = etree.fromstring(export_archimate(store).xml)
    out = Counter((f.get("name"), f"{float(f.get('size')):.1f}") for f in root.iter(f"{{{NS3}}}font"))
    assert out == fonts
    got = sorted("#" + "".join(f"{int(c.get(a)):02x}" for a in "rgb") for c in root.iter(f"{{{NS3}}}fillColor"))
    assert got == fills


HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
<archimate:model xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:archimate="http://www.archimatetool.com/archimate" name="h" id="m1" version="4.9.0">
  <folder name="Application" id="f1" type="application">
    <element xsi:type="archimate:ApplicationComponent" name="A" id="a1"/>
  </folder>
  <folder name="Views" id="f2" type="diagrams">
    <element xsi:type="archimate:ArchimateDiagramModel" name="V" id="v1" viewpoint="no_such_viewpoint">
      <child xsi:type="archimate:DiagramObject" id="n1" archimateElement="a1" font="1|Arial|inf|x" fontColor="red"
          fillColor="#zzzzzz" lineWidth="-3">
        <bounds x="-50" y="nan" width="inf" height="-1"/>
      </child>
      <child xsi:type="archimate:DiagramObject" id="n2" archimateElement="nowhere">
        <bounds x="1e400" y="5"/>
      </child>
      <child xsi:type="archimate:SketchModelActor" id="n3" name="Bob"/>
    </element>
  </folder>
</archimate:model>
"""


def test_hostile_diagram_values_are_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "h.archimate"
    path.write_text(HOSTILE, encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    report = run_import(store, path)
    assert report.loaded and report.rejected == []
    line = next(str(r) for r in report.unmapped if "'V' converted" in str(r))
    for name in ("font", "fontColor", "fillColor", "lineWidth", "viewpoint=no_such_viewpoint", "SketchModelActor Bob"):
        assert name in line
    result = export_archimate(store)  # the view shows an element that is in no file: left out, and said so
    assert [s for s in result.skipped if s.startswith("view ")]
    out = tmp_path / "out.xml"
    out.write_bytes(result.xml)
    assert validate_exchange(out) == []
