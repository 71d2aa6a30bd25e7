"""The IOC integration view covers the IOC's own city or province: `ioc-catalog diagram ioc -f dot` on the sample
draws HCMC's picture (no entity owned by Hà Nội's or Huế's organisations), every seed system that feeds HCMC's IOC,
entities owned elsewhere as external sources whose upstream is not followed; `--lineage full` draws every source.
Flows via a platform go through the platform's node; layers run left to right. Expectations are computed from
data/sample/hcmc.json here, independently of diagrams/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, make_store

from catalog.store.base import CatalogStore, WriteContext
from diagrams.dot import node_id
from importers.base import run_import

DATA = json.loads(SAMPLE.read_text(encoding="utf-8"))
ENTITIES = {e["ref"]: e for e in DATA["entities"]}
IOC = "platform:hcm-ioc"


def current_owner(ref: str) -> str | None:
    periods = ENTITIES[ref].get("owner_history") or []
    open_ = [p["org"] for p in periods if not p.get("end")]
    return open_[0] if open_ else None


def top(org: str) -> str:
    while ENTITIES[org]["attributes"].get("parent"):
        org = ENTITIES[org]["attributes"]["parent"]
    return org


def owned_under(ref: str, root: str) -> bool:
    org = ref if ref.startswith("organization:") else current_owner(ref)
    return org is not None and top(org) == root


def rels(type_: str | None = None, **ends: str) -> list[dict]:
    return [
        r
        for r in DATA["relationships"]
        if (type_ is None or r["type"] == type_) and all(r[k] == v for k, v in ends.items())
    ]


# the seed systems that feed HCMC's IOC (issue 18): 1022, 113/114/115, the public-service portal, Thủ Đức's legacy
# IOC, the shared warehouse and the databases it keeps
WAREHOUSE = "platform:hcm-kho-du-lieu"
SEEDS = {
    "system:hcm-cong-1022",
    "system:hcm-ttkc-113-114-115",
    "system:hcm-dich-vu-cong",
    "platform:hcm-ioc-thu-duc",
    WAREHOUSE,
} | {r["target"] for r in rels("writes", source=WAREHOUSE)}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    s = make_store("sqlite", tmp_path_factory.mktemp("scope"))
    assert run_import(s, SAMPLE).loaded
    yield s
    s.close()


def cli_dot(store: CatalogStore, *args: str) -> str:
    """`ioc-catalog diagram ioc -f dot ARGS` on the store, as a user runs it (DOT on standard output)."""
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "diagram", "ioc", "-f", "dot", "--store", f"sqlite:///{store.path}", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode("utf-8")


def drawn(dot: str) -> set[str]:
    return set(re.findall(r'URL="/entities/([^"]+)"', dot))


def test_the_default_ioc_view_is_the_city_s_own(store: CatalogStore) -> None:
    assert {"system:hcm-cong-1022", "platform:hcm-ioc-thu-duc"} <= set(ENTITIES) and len(SEEDS) >= 7  # sanity
    dot = cli_dot(store)
    refs = drawn(dot)
    for root in ("organization:hn-ubnd", "organization:hue-ubnd"):
        assert any(owned_under(ref, root) for ref in ENTITIES)  # the sample has them
        assert not [ref for ref in refs if owned_under(ref, root)], root
    assert SEEDS <= refs, sorted(SEEDS - refs)
    assert IOC in refs
    # the scope and the valid date in the title
    assert "phạm vi: UBND Thành phố Hồ Chí Minh, ngày hiệu lực " in dot
    # the same catalog and options give the same bytes
    assert cli_dot(store) == dot


def test_the_whole_lineage_brings_the_other_provinces_back(store: CatalogStore) -> None:
    city, full = drawn(cli_dot(store)), cli_dot(store, "--lineage", "full")
    refs = drawn(full)
    for root in ("organization:hn-ubnd", "organization:hue-ubnd"):
        assert [ref for ref in refs if owned_under(ref, root)], root
    assert city < refs
    assert "phạm vi: toàn bộ nguồn dữ liệu" in full
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "diagram",
            "ioc",
            "-f",
            "dot",
            "--lineage",
            "most",
            "--store",
            f"sqlite:///{store.path}",
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert bad.returncode != 0 and b"lineage" in bad.stderr + bad.stdout


def test_entities_owned_elsewhere_are_external_sources_whose_upstream_is_not_followed(store: CatalogStore) -> None:
    dot = cli_dot(store)
    refs = drawn(dot)
    national = "database:vn-csdl-dan-cu"  # owned by the Ministry of Public Security, flows into HCMC's citizen DB
    assert national in refs and not owned_under(national, "organization:hcm-ubnd")
    line = next(x for x in dot.splitlines() if f'URL="/entities/{national}"' in x)
    assert "dashed" in line  # the external style
    # labelled with its owner: it sits in a cluster named after its owner, inside the external sources' group
    owner = ENTITIES[current_owner(national)]["name"]["vi"]
    block = dot[: dot.index(line)]
    assert owner in block[block.rindex("subgraph cluster_") :]
    assert "Nguồn dữ liệu ngoài phạm vi" in dot
    # nothing is drawn only because an external source depends on it: every drawn entity outside the city is
    # reached from the city's IOCs (HCMC's and, since the 2025 merger, Bình Dương's) through the city's own entities
    roots = {
        ref
        for ref, e in ENTITIES.items()
        if e["attributes"].get("platform_subtype") == "city_ioc" and owned_under(ref, "organization:hcm-ubnd")
    }
    assert roots == {IOC, "platform:bd-ioc"}
    members, todo = set(roots), list(roots)
    depends = {"reads": True, "consumes": True, "published_on": True}
    flows_in = {"writes", "provides", "exposes", "flows_to", "feeds"}
    while todo:
        x = todo.pop()
        if not owned_under(x, "organization:hcm-ubnd"):
            continue  # external: not followed
        nxt = [r["target"] for r in DATA["relationships"] if r["source"] == x and r["type"] in depends]
        nxt += [r["source"] for r in DATA["relationships"] if r["target"] == x and r["type"] in flows_in]
        for n in nxt:
            if n not in members:
                members.add(n)
                todo.append(n)
    via = {r["properties"]["via"] for r in DATA["relationships"] if r.get("properties", {}).get("via")}
    assert refs - via <= members, sorted(refs - via - members)


def test_a_flow_via_a_platform_is_drawn_through_the_platform_node(store: CatalogStore) -> None:
    dot = cli_dot(store)
    flow = rels("flows_to", source="system:hcm-cong-1022", target=WAREHOUSE)[0]
    lgsp = flow["properties"]["via"]
    assert lgsp == "platform:hcm-lgsp"
    a, p, b = node_id(flow["source"]), node_id(lgsp), node_id(flow["target"])
    assert re.search(rf"^  {a} -> {p} \[", dot, re.M)
    assert re.search(rf"^  {p} -> {b} \[", dot, re.M)
    assert not re.search(rf"^  {a} -> {b} \[", dot, re.M)  # not straight past the platform
    # the many flows via the LGSP into the warehouse are one line onward, not one per flow
    assert len(re.findall(rf"^  {p} -> {b} \[", dot, re.M)) == 1


def test_layers_run_left_to_right_with_rank_constraints(store: CatalogStore) -> None:
    dot = cli_dot(store)
    assert "newrank=true" in dot
    ranks = [set(re.findall(r"n_[0-9a-f]{12}", line)) for line in dot.splitlines() if "{rank=same;" in line]
    assert len(ranks) == 5
    external, systems, databases, shared, ioc = ranks
    assert node_id(IOC) in ioc
    assert node_id("database:vn-csdl-dan-cu") in external
    assert node_id("system:hcm-cong-1022") in systems
    assert node_id("database:hcm-csdl-phan-anh") in databases  # the 1022 portal's own database
    assert {node_id(WAREHOUSE), node_id("platform:hcm-lgsp"), node_id("database:hcm-csdl-nguoi-dan")} <= shared


def test_the_api_takes_lineage(store: CatalogStore, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.settings import Settings

    app = create_app(Settings(demo=True), store=store)
    with TestClient(app) as c:
        city = c.get("/api/v1/diagrams/ioc.dot")
        full = c.get("/api/v1/diagrams/ioc.dot", params={"lineage": "full"})
        assert city.status_code == full.status_code == 200
        assert drawn(city.text) < drawn(full.text)
        assert c.get("/api/v1/diagrams/ioc.dot", params={"lineage": "x"}).status_code == 422
        # the web page of a view: its scope in the heading; hostile parameters are refused with a reason, never a 5xx
        page = c.get("/views/ioc")
        assert page.status_code == 200 and "phạm vi: UBND Thành phố Hồ Chí Minh" in page.text
        assert 'data-src="/download/diagram/ioc.svg?' in page.text
        for path, params in [
            ("/views/ioc", {"lineage": "most"}),
            ("/views/<script>", {}),
            ("/views/diff", {}),
            ("/views/context", {"ref": "system:nope"}),
            ("/views/context", {"ref": "system:hcm-cong-1022", "direction": "sideways"}),
            ("/views/context", {"ref": "system:hcm-cong-1022", "depth": "-1"}),
            ("/views/context", {"ref": "system:hcm-cong-1022", "depth": "9" * 30}),
            ("/views/ioc", {"valid_on": "2024-13-45"}),
            ("/views/ioc", {"ref": "system:hcm-cong-1022"}),
            ("/views/department", {"ref": "system:hcm-cong-1022"}),
            ("/views/landscape", {"ref": "x" * 5000}),
        ]:
            r = c.get(path, params=params)
            assert 400 <= r.status_code < 500, (path, params, r.status_code)


def test_views_name_no_relationship_type() -> None:
    """What a relationship means comes from the metamodel (ioc_path, dependency, flows_from, database_role): no
    relationship type is named in the views."""
    from catalog.metamodel import DEFAULT

    source = (ROOT / "diagrams" / "views.py").read_text(encoding="utf-8")
    named = [t for t in DEFAULT.relations if re.search(rf"[\"']{t}[\"']", source)]
    assert named == []


def test_a_small_catalog_two_provinces_and_no_ioc(tmp_path: Path, ctx: WriteContext) -> None:
    """Built from scratch: province A's IOC is fed by A's system and by B's system, which reads B's database; the
    default view is A's (its IOC is fed most by its own), B's system is an external source whose database is not
    drawn, and without any IOC the view is empty and says its scope is the whole catalog."""
    from conftest import entity, load, rel

    from diagrams import ViewParams, build, dot_for

    store = make_store("sqlite", tmp_path)
    ents = [
        entity("organization:a", "Tỉnh A", org_type="province"),
        entity("organization:a-dept", "Sở A", parent="organization:a"),
        entity("organization:b", "Tỉnh B", org_type="province"),
        entity(
            "platform:a-ioc",
            "IOC A",
            "organization:a-dept",
            platform_type="operations_centre",
            platform_subtype="city_ioc",
        ),
        entity("system:a-1", "Hệ thống A", "organization:a-dept"),
        entity("system:b-1", "Hệ thống B", "organization:b"),
        entity("database:b-db", "CSDL B", "organization:b"),
    ]
    rels = [
        rel("feeds", "system:a-1", "platform:a-ioc"),
        rel("feeds", "system:b-1", "platform:a-ioc"),
        rel("reads", "system:b-1", "database:b-db"),
    ]
    load(store, ctx, ents, rels)
    d = build(store, "ioc", ViewParams())
    assert set(d.nodes) == {"platform:a-ioc", "system:a-1", "system:b-1"}
    assert d.nodes["system:b-1"].highlight == "external" and d.nodes["system:a-1"].highlight == ""
    assert "phạm vi: Tỉnh A" in d.title
    full = build(store, "ioc", ViewParams(lineage="full"))
    assert "database:b-db" in full.nodes and not any(n.highlight == "external" for n in full.nodes.values())
    assert dot_for(store, "ioc") == dot_for(store, "ioc")  # deterministic
    empty = make_store("sqlite", tmp_path / "empty")
    load(empty, ctx, ents[:3], [])
    d = build(empty, "ioc", ViewParams())
    assert not d.nodes and "phạm vi: toàn bộ danh mục" in d.title


def test_namesakes_are_told_apart_by_their_owners(store: CatalogStore) -> None:
    """HCMC's IOC and Bình Dương's (since the 2025 merger owned by the same department) carry the same name: each
    says whose it was, so a reader can tell them apart (diagrams.dot); a name no other node shares says nothing."""
    dot = cli_dot(store, "--lang", "vi")
    ioc = re.compile(r"thông minh \(IOC\)</TD></TR><TR><TD><FONT[^>]*>(.*?)</FONT>", re.S)
    said = sorted(m.replace("<BR/>", " ") for m in ioc.findall(dot))
    assert said == [
        "Sở Khoa học và Công nghệ TP.HCM · trước đây: Sở Thông tin và Truyền thông TP.HCM",
        "Sở Khoa học và Công nghệ TP.HCM · trước đây: Sở Thông tin và Truyền thông tỉnh Bình Dương",
    ]
    assert "trước đây" not in dot.split("Cổng thông tin 1022")[1].split("];")[0]  # a name of its own: no owner line
