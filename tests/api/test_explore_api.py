"""The explorer's graph (GET /api/v1/graph/explore, /graph/database-users) and the analyses' downloads and direction
on the sample catalog; the expected answers are read straight from the store and the metamodel here."""

from __future__ import annotations

import io
from typing import Any

import networkx as nx
from openpyxl import load_workbook

from catalog.store.base import CatalogStore

from .conftest import Api

IOC, WAREHOUSE, POPULATION = "platform:hcm-ioc", "platform:hcm-kho-du-lieu", "database:hcm-csdl-nguoi-dan"


def explore(api: Api, user: str = "viewer", **params: Any) -> dict[str, Any]:
    r = api.client.get("/api/v1/graph/explore", params=params, headers=api.as_(user))
    assert r.status_code == 200, r.text
    return r.json()


def neighbours(store: CatalogStore, ref: str) -> set[str]:
    return {r.target if r.source == ref else r.source for r in store.list_relationships(ref)}


def test_start_shows_the_neighbours_with_edges_drawn_the_way_data_flows(api: Api) -> None:
    g = explore(api, start=IOC)
    shown = {n["ref"] for n in g["nodes"]}
    assert shown == {IOC} | neighbours(api.store, IOC)
    ioc = next(n for n in g["nodes"] if n["ref"] == IOC)
    assert ioc["expanded"] and ioc["pinned"] and ioc["shape"] == "cut-rectangle" and ioc["kind_label"] == "Nền tảng"
    assert ioc["owner_name"] == "Sở Khoa học và Công nghệ TP.HCM" and ioc["province"] == "organization:hcm-ubnd"
    mm = api.store.metamodel
    stored = {r.id: r for r in api.store.list_relationships(IOC)}
    assert {e["id"] for e in g["edges"]} >= set(stored)
    for e in g["edges"]:
        r = api.store.find_relationship(e["id"])
        spec = mm.relations[r.type]
        if spec.flows_from == "target":  # reads, consumes: the data comes from the target
            assert (e["source"], e["target"]) == (r.target, r.source) and e["flow"] and e["arrow"] != "none"
        elif spec.flows_from == "source":
            assert (e["source"], e["target"]) == (r.source, r.target) and e["flow"] and e["arrow"] != "none"
        else:
            assert not e["flow"]
        assert e["label"].startswith(spec.label.vi)
    # a flow through a platform says so, with the platform's name and the protocol's label
    via = [e for e in g["edges"] if e["via"]]
    assert via and all("qua " in e["label"] for e in via)
    assert any(" · REST · " in e["label"] for e in via)
    en = explore(api, start=IOC, lang="en")
    assert any("via " in e["label"] for e in en["edges"] if e["via"])


def test_filters_keep_the_start_and_narrow_its_neighbours(api: Api) -> None:
    g = explore(api, start=IOC, kind="database")
    kinds = {n["ref"]: n["kind"] for n in g["nodes"]}
    assert kinds.pop(IOC) == "platform" and kinds and set(kinds.values()) == {"database"}
    g = explore(api, start=IOC, kind="database", expand=WAREHOUSE)
    shown = {n["ref"] for n in g["nodes"]}
    assert WAREHOUSE in shown and POPULATION in shown  # the expanded warehouse is pinned, its databases join
    g = explore(api, start=IOC, type="feeds")
    assert {e["type"] for e in g["edges"]} == {"feeds"}
    g = explore(api, start=IOC, owner="organization:hcm-ubnd")  # the city and its units, at any depth
    owners = {n["owner"] for n in g["nodes"] if n["ref"] != IOC}
    assert "organization:vn-bca" not in owners and "organization:hcm-skhcn" in owners
    g = explore(api, start=IOC, lifecycle="retired")
    assert all(n["lifecycle"] == "retired" for n in g["nodes"] if n["ref"] != IOC)
    g = explore(api, start="system:hcm-bao-cao", province="-")  # national neighbours only
    assert {n["ref"] for n in g["nodes"]} == {"system:hcm-bao-cao", "system:vn-bao-cao-chinh-phu"}


def test_groups_fold_and_the_whole_landscape(api: Api) -> None:
    g = explore(api, start=IOC, group="org")
    assert all(n["parent"] == f"group:{n['owner']}" for n in g["nodes"] if n["owner"])
    g = explore(api, start=IOC, group="org", fold="organization:hcm-skhcn")
    folded = [x for x in g["groups"] if x["folded"]]
    assert [x["key"] for x in folded] == ["organization:hcm-skhcn"]
    assert folded[0]["label"].startswith("Sở Khoa học và Công nghệ TP.HCM (")
    inside = {n["ref"] for n in g["nodes"] if n["owner"] == "organization:hcm-skhcn"}
    assert inside == {IOC}  # pinned: never folded away
    assert any(
        e["target"] == "group:organization:hcm-skhcn" or e["source"] == "group:organization:hcm-skhcn"
        for e in g["edges"]
    )
    g = explore(api, group="province", fold="*")  # the whole landscape, one node per province
    assert g["nodes"] == [] and {x["key"] for x in g["groups"]} >= {"organization:hcm-ubnd", "-"}
    g = explore(api, group="org", fold="*", open="organization:hcm-ubnd")  # drill down one level
    keys = {x["key"] for x in g["groups"]}
    assert "organization:hcm-skhcn" in keys and "organization:hcm-ubnd" not in keys and "organization:vn-bca" in keys


def test_database_users_by_organisation(api: Api) -> None:
    r = api.client.get("/api/v1/graph/database-users", params={"ref": POPULATION}, headers=api.as_("viewer"))
    assert r.status_code == 200
    body = r.json()
    users = {u["ref"] for u in body["users"]}
    # expected from the store: who reads or writes it, and who consumes a service that exposes it
    services = {r.target for r in api.store.list_relationships(POPULATION) if r.type == "exposes"}
    expected = {r.source for r in api.store.list_relationships(POPULATION) if r.type in ("reads", "writes")}
    for s in services:
        expected |= {r.source for r in api.store.list_relationships(s) if r.type == "consumes" and r.target == s}
    assert users == expected and body["organisations"] >= 2
    for fmt in ("csv", "xlsx"):
        got = api.client.get(
            "/api/v1/graph/database-users",
            params={"ref": POPULATION, "format": fmt, "lang": "en"},
            headers=api.as_("viewer"),
        )
        assert got.status_code == 200 and f"database-users.{fmt}" in got.headers["content-disposition"]
        if fmt == "xlsx":
            rows = list(load_workbook(io.BytesIO(got.content)).active.iter_rows(values_only=True))
        else:
            rows = [line.split(",") for line in got.content.decode("utf-8-sig").splitlines()]
        assert rows[0][:2] == ("Reference", "Name") or rows[0][:2] == ["Reference", "Name"]
        assert {r[0] for r in rows[1:]} == expected
    assert (
        api.client.get("/api/v1/graph/database-users", params={"ref": IOC}, headers=api.as_("viewer")).status_code
        == 422
    )


def test_bad_explorer_questions_name_the_parameter(api: Api) -> None:
    h = api.as_("viewer")
    r = api.client.get("/api/v1/graph/explore", params={"start": "system:nope"}, headers=h)
    assert r.status_code == 404 and "start" in r.text
    for params, field in (
        ({"start": IOC, "kind": "spaceship"}, "kind"),
        ({"start": IOC, "type": "loves"}, "type"),
        ({"start": IOC, "lifecycle": "zombie"}, "lifecycle"),
        ({"start": IOC, "on": "2025-13-40"}, "on"),
        ({"start": IOC, "group": "planet"}, "group"),
    ):
        r = api.client.get("/api/v1/graph/explore", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
        assert field in r.text
    assert api.client.get("/api/v1/graph/explore", params={"start": IOC}).status_code in (200, 401)


def test_valid_on_reads_the_catalog_of_that_day(api: Api) -> None:
    today = {n["ref"] for n in explore(api, start=IOC)["nodes"]}
    past = {n["ref"] for n in explore(api, start=IOC, on="2019-06-01")["nodes"]}
    assert past < today  # fewer things existed then


def test_depends_on_agrees_with_networkx_and_downloads_are_xlsx(api: Api) -> None:
    mm = api.store.metamodel
    dg = nx.DiGraph()
    for r in api.store.all_relationships():
        spec = mm.relations[r.type]
        if spec.dependency == "none" or r.properties.get("status") == "retired":
            continue
        pairs = {
            "source_on_target": [(r.source, r.target)],
            "target_on_source": [(r.target, r.source)],
            "both": [(r.source, r.target), (r.target, r.source)],
        }[spec.dependency]
        dg.add_edges_from(pairs)
    expected = nx.single_source_shortest_path_length(dg, IOC)
    r = api.client.get(
        "/api/v1/analysis/impact",
        params={"ref": IOC, "direction": "dependencies", "limit": 5000},
        headers=api.as_("viewer"),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["direction"] == "dependencies"
    assert {i["ref"]: i["depth"] for i in body["items"]} == {k: v for k, v in expected.items() if k != IOC}
    for item in body["items"]:
        assert item["path"][0] == IOC and item["path"][-1] == item["ref"]
        assert all(dg.has_edge(a, b) for a, b in zip(item["path"], item["path"][1:], strict=False))
    for path, params in (
        ("/api/v1/analysis/impact", {"ref": POPULATION}),
        ("/api/v1/analysis/impact", {"ref": IOC, "direction": "dependencies"}),
        ("/api/v1/analysis/spof", {}),
        ("/api/v1/analysis/paths", {"from": "system:hcm-cong-1022", "to": IOC}),
    ):
        got = api.client.get(path, params={**params, "format": "xlsx", "lang": "en"}, headers=api.as_("viewer"))
        assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.openxml")
        sheet = load_workbook(io.BytesIO(got.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) > 1 and all(isinstance(c, str) for c in rows[0])
        assert "Name" in rows[0] or "From" in rows[0] or "Reference" in rows[0]
