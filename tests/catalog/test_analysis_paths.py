"""The analyses described for people (catalog.analysis: find_paths, spof, impact_report) on small hand-made
catalogs, on every store backend: exact paths and their order, each step's relationships and direction, the
bounds, single points of failure with their reasons, impact pages with their explanation steps, CSV files."""

from __future__ import annotations

import csv
import io
import random

import networkx as nx
import pytest
from conftest import entity, load, r_id, rel

from catalog import analysis
from catalog.errors import NotFound
from catalog.store.base import CatalogStore, WriteContext

ORG_A, ORG_B = "organization:a", "organization:b"
DB = "database:db1"
S1, S2, S3 = "system:s1", "system:s2", "system:s3"
SVC, LGSP, IOC = "service:svc1", "platform:lgsp", "platform:ioc"


@pytest.fixture
def city(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """S1 reads and writes a database that S2 reads; the database is exposed by a service published on the LGSP and
    consumed by S3; S1 feeds the IOC and flows straight to S3 via the LGSP."""
    load(
        store,
        ctx,
        [
            entity(ORG_A, "Sở A"),
            entity(ORG_B, "Sở B"),
            entity(DB, "CSDL dùng chung", ORG_A),
            entity(S1, "Hệ thống 1", ORG_A),
            entity(S2, "Hệ thống 2", ORG_B),
            entity(S3, "Hệ thống 3", ORG_B),
            entity(SVC, "Dịch vụ dữ liệu", ORG_A),
            entity(LGSP, "LGSP", ORG_A, platform_subtype="lgsp"),
            entity(IOC, "IOC", ORG_A, platform_type="operations_centre", platform_subtype="city_ioc"),
        ],
        [
            rel("reads", S1, DB),
            rel("writes", S1, DB),
            rel("reads", S2, DB),
            rel("exposes", DB, SVC),
            rel("published_on", SVC, LGSP),
            rel("consumes", S3, SVC),
            rel("feeds", S1, IOC),
            rel("flows_to", S1, S3, via=LGSP, protocol="rest"),
        ],
    )
    return store


def steps(report: analysis.PathsReport) -> list[list[tuple[str, str, list[tuple[str, str]]]]]:
    """Each path as [(from, to, [(relationship id, direction)])]."""
    return [
        [(s["from"], s["to"], [(x["id"], x["direction"]) for x in s["relationships"]]) for s in p["steps"]]
        for p in report.to_json()["paths"]
    ]


def test_paths_name_each_step_with_its_relationships_and_their_direction(city: CatalogStore) -> None:
    report = analysis.find_paths(city, S2, S3)
    # same length: by the refs along them ("service:..." sorts before "system:...")
    assert [list(p.refs) for p in report.paths] == [[S2, DB, SVC, S3], [S2, DB, S1, S3]]
    assert steps(report) == [
        [
            (S2, DB, [(r_id(S2, "reads", DB), "forward")]),
            (DB, SVC, [(r_id(DB, "exposes", SVC), "forward")]),
            (SVC, S3, [(r_id(S3, "consumes", SVC), "backward")]),
        ],
        [
            (S2, DB, [(r_id(S2, "reads", DB), "forward")]),
            (DB, S1, [(r_id(S1, "reads", DB), "backward"), (r_id(S1, "writes", DB), "backward")]),
            (S1, S3, [(r_id(S1, "flows_to", S3), "forward")]),
        ],
    ]
    assert report.truncated is False
    body = report.to_json()
    flow = body["paths"][1]["steps"][2]["relationships"][0]
    assert flow["type"] == "flows_to" and flow["label"] == {"vi": "truyền dữ liệu tới", "en": "flows to"}
    assert flow["properties"] == {"via": LGSP, "protocol": "rest"}
    assert body["from"] == {
        "ref": S2,
        "kind": "system",
        "kind_label": {"vi": "Hệ thống thông tin", "en": "Information system"},
        "name": {"vi": "Hệ thống 2", "en": "Hệ thống 2"},
        "owner": ORG_B,
        "owner_name": {"vi": "Sở B", "en": "Sở B"},
    }
    assert [e["ref"] for e in body["entities"]] == sorted({S2, DB, S1, S3, SVC})
    assert body["count"] == 2 and body["max_length"] == 4 and body["limit"] == 20


def test_paths_are_bounded_by_length_and_count_and_say_when_more_exist(city: CatalogStore) -> None:
    assert [list(p.refs) for p in analysis.find_paths(city, S2, S3, max_length=2).paths] == []
    one = analysis.find_paths(city, S2, S3, limit=1)
    assert [list(p.refs) for p in one.paths] == [[S2, DB, SVC, S3]] and one.truncated is True
    two = analysis.find_paths(city, S2, S3, limit=2)
    assert len(two.paths) == 2 and two.truncated is False
    assert analysis.paths(city, S2, S3, max_length=6) == [[S2, DB, SVC, S3], [S2, DB, S1, S3]]  # refs only
    for bad in (
        {"max_length": 0},
        {"max_length": analysis.PATHS_MAX_LENGTH + 1},
        {"limit": 0},
        {"limit": analysis.PATHS_MAX_LIMIT + 1},
    ):
        with pytest.raises(ValueError):
            analysis.find_paths(city, S2, S3, **bad)
    with pytest.raises(NotFound):
        analysis.find_paths(city, S2, "system:nope")
    same = analysis.find_paths(city, S2, S2)
    assert [list(p.refs) for p in same.paths] == [[S2]] and same.paths[0].steps == ()


def test_paths_stop_at_the_work_bound_and_keep_what_they_found(
    city: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = [list(p.refs) for p in analysis.find_paths(city, S2, IOC, max_length=6, limit=100).paths]
    assert full == [[S2, DB, S1, IOC], [S2, DB, SVC, S3, S1, IOC]]
    found: dict[int, bool] = {}  # paths found -> truncated (at the largest such bound), bounds 1 to enough
    for bound in range(1, 200):
        monkeypatch.setattr(analysis, "PATHS_MAX_CHECKS", bound)
        cut = analysis.find_paths(city, S2, IOC, max_length=6, limit=100)
        got = [list(p.refs) for p in cut.paths]
        assert got == full[: len(got)]  # a bound cuts the list short, never reorders or invents
        found[len(got)] = cut.truncated
        if not cut.truncated:
            break
    assert found == {0: True, 1: True, 2: False}


def test_paths_are_the_first_in_hops_then_refs_order_as_networkx_lists_them(
    store: CatalogStore, ctx: WriteContext
) -> None:
    rnd = random.Random(7)
    refs = [f"system:n{i:02d}" for i in range(18)]
    pairs = set()
    while len(pairs) < 40:
        a, b = rnd.sample(refs, 2)
        if (b, a) not in pairs:
            pairs.add((a, b))
    load(store, ctx, [entity(r, r) for r in refs], [rel("flows_to", a, b) for a, b in sorted(pairs)])
    g = nx.Graph(sorted(pairs))
    for source, target in [(refs[0], refs[1]), (refs[2], refs[17]), (refs[5], refs[9])]:
        for max_length, limit in [(2, 100), (3, 5), (4, 20), (5, 1)]:
            every = sorted(nx.all_simple_paths(g, source, target, cutoff=max_length), key=lambda p: (len(p), p))
            got = analysis.find_paths(store, source, target, max_length=max_length, limit=limit)
            assert [list(p.refs) for p in got.paths] == every[:limit], (source, target, max_length, limit)
            assert got.truncated is (len(every) > limit)


def test_spof_lists_each_point_with_its_reasons_owner_and_rank(store: CatalogStore, ctx: WriteContext) -> None:
    hub, edge = "platform:hub", "platform:edge"
    load(
        store,
        ctx,
        [
            entity(ORG_A, "Sở A"),
            entity(hub, "Trung tâm dữ liệu", ORG_A),
            entity(edge, "Cổng"),
            entity(S1, "1"),
            entity(S2, "2"),
            entity(S3, "=3+3", ORG_A),
        ],
        [rel("hosted_on", S1, hub), rel("hosted_on", S2, hub), rel("hosted_on", S3, hub), rel("hosted_on", S3, edge)],
    )
    report = analysis.spof(store)
    body = report.to_json()
    assert [(i["ref"], i["reasons"], i["rank"]) for i in body["items"]] == [
        (hub, ["articulation_point", "high_betweenness"], 1),
        (S3, ["articulation_point"], None),
    ]
    assert body["items"][0]["betweenness"] > body["items"][1]["betweenness"] > 0
    assert body["items"][0]["owner_name"] == {"vi": "Sở A", "en": "Sở A"}
    assert body["items"][0]["kind_label"] == {"vi": "Nền tảng", "en": "Platform"}
    assert body["count"] == 2 and body["betweenness"] == {"top_platforms": 10, "sampled_sources": None}
    data = report.to_csv("vi")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Mã", "Tên", "Loại", "Mã chủ quản", "Chủ quản", "Lý do", "Độ trung gian", "Hạng"]
    assert rows[1][:3] == [hub, "Trung tâm dữ liệu", "Nền tảng"] and rows[1][5] == "Đỉnh khớp; Độ trung gian cao"
    assert rows[2][1] == "'=3+3"  # never a formula in a spreadsheet
    en = list(csv.reader(io.StringIO(report.to_csv("en").decode("utf-8-sig"))))
    assert en[0][0] == "Reference" and en[2][5] == "Articulation point"


def test_impact_report_explains_each_item_with_one_relationship_per_step(city: CatalogStore) -> None:
    full = analysis.impact(city, DB)
    report = analysis.impact_report(city, DB, limit=2, offset=1)
    body = report.to_json()
    assert body["total"] == len(full) and [i["ref"] for i in body["items"]] == full.refs[1:3]
    for item, expected in zip(body["items"], full[1:3], strict=False):
        assert item["path"] == list(expected.path) and item["relationships"] == list(expected.relationships)
        assert [s["from"] for s in item["steps"]] == list(expected.path[:-1])
        assert [[x["id"] for x in s["relationships"]] for s in item["steps"]] == [[x] for x in expected.relationships]
    svc = next(i for i in analysis.impact_report(city, DB).to_json()["items"] if i["ref"] == SVC)
    assert svc["steps"] == [
        {
            "from": DB,
            "to": SVC,
            "relationships": [
                {
                    "id": r_id(DB, "exposes", SVC),
                    "type": "exposes",
                    "label": {"vi": "được khai thác qua", "en": "exposed through"},
                    "direction": "forward",
                    "properties": {},
                }
            ],
        }
    ]
    assert svc["owner"] == ORG_A and svc["name"] == {"vi": "Dịch vụ dữ liệu", "en": "Dịch vụ dữ liệu"}
    rows = list(csv.reader(io.StringIO(analysis.impact_report(city, DB).to_csv("en").decode("utf-8-sig"))))
    assert rows[0] == ["Hops", "Reference", "Name", "Kind", "Owner reference", "Owner", "Because"]
    assert [r[1] for r in rows[1:]] == full.refs
    with pytest.raises(NotFound):
        analysis.impact_report(city, "database:nope")
