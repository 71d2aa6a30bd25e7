"""Single points of failure, paths and impact through the REST API (/api/v1/analysis) and the command line
(``ioc-catalog spof``, ``ioc-catalog paths``) on the sample catalog. The expected answers are computed here with
networkx straight from the stored relationships and the metamodel, not by catalog.analysis."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from conftest import ROOT

from catalog.store.base import CatalogStore

from .conftest import Api

PORTAL, IOC = "system:hcm-cong-1022", "platform:hcm-ioc"


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("IOC_CATALOG_STORE", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, timeout=120)


def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"  # the api fixture's copy of the sample (tests/api/conftest.py)


def names(store: CatalogStore) -> dict[str, dict[str, Any]]:
    """ref -> what every answer says of an entity, read from the store."""
    ents = {e.ref: e for e in store.iter_entities()}
    out = {}
    for ref, e in ents.items():
        kind = store.metamodel.kinds[e.kind].label
        owner = ents.get(e.owner) if e.owner else None
        out[ref] = {
            "ref": ref,
            "kind": e.kind,
            "kind_label": {"vi": kind.vi, "en": kind.en},
            "name": {"vi": e.name.vi or e.name.en, "en": e.name.en or e.name.vi},
            "owner": e.owner,
            "owner_name": {"vi": owner.name.vi or owner.name.en, "en": owner.name.en or owner.name.vi}
            if owner
            else None,
        }
    return out


def expected_spof(store: CatalogStore) -> list[dict[str, Any]]:
    """Articulation points of the undirected dependency graph, and the ten platforms of highest betweenness there."""
    relations = store.metamodel.relations
    g = nx.Graph()
    g.add_nodes_from(e.ref for e in store.iter_entities())
    for r in store.all_relationships():
        if relations[r.type].dependency != "none" and r.properties.get("status") != "retired":
            g.add_edge(r.source, r.target)
    assert g.number_of_nodes() <= 2000  # exact betweenness, no sampling
    cut = set(nx.articulation_points(g))
    score = {ref: round(s, 6) for ref, s in nx.betweenness_centrality(g).items()}
    kinds = {e.ref: e.kind for e in store.iter_entities()}
    central = sorted(
        (ref for ref in score if kinds[ref] == "platform" and score[ref] > 0), key=lambda ref: (-score[ref], ref)
    )[:10]
    rank = {ref: i + 1 for i, ref in enumerate(central)}
    items = [
        {
            "ref": ref,
            "reasons": [r for r, on in (("articulation_point", ref in cut), ("high_betweenness", ref in rank)) if on],
            "rank": rank.get(ref),
            "betweenness": score[ref],
        }
        for ref in cut | set(rank)
    ]
    return sorted(items, key=lambda i: (-i["betweenness"], i["ref"]))


def expected_paths(
    store: CatalogStore, source: str, target: str, max_length: int, limit: int
) -> tuple[list[list[str]], list[list[list[tuple[str, str, str]]]], bool]:
    """The first ``limit`` simple paths (hops, then refs) over stored relationships either way, each step's
    relationships as (id, type, direction), and whether more exist."""
    rels = store.all_relationships()
    g = nx.Graph()
    g.add_edges_from((r.source, r.target) for r in rels)
    every = sorted(nx.all_simple_paths(g, source, target, cutoff=max_length), key=lambda p: (len(p), p))
    between: dict[frozenset[str], list[Any]] = {}
    for r in rels:
        between.setdefault(frozenset((r.source, r.target)), []).append(r)
    steps = [
        [
            sorted((r.id, r.type, "forward" if r.source == a else "backward") for r in between[frozenset((a, b))])
            for a, b in zip(p, p[1:], strict=False)
        ]
        for p in every[:limit]
    ]
    return every[:limit], steps, len(every) > limit


def test_spof_through_the_api_and_the_cli_agree_with_networkx(api: Api, tmp_path: Path) -> None:
    r = api.client.get("/api/v1/analysis/spof")
    assert r.status_code == 200
    body = r.json()
    expected = expected_spof(api.store)
    assert len(expected) > 10 and any(len(i["reasons"]) == 2 for i in expected)
    assert [(i["ref"], i["reasons"], i["rank"]) for i in body["items"]] == [
        (i["ref"], i["reasons"], i["rank"]) for i in expected
    ]
    assert [i["betweenness"] for i in body["items"]] == pytest.approx([i["betweenness"] for i in expected], abs=2e-6)
    described = names(api.store)
    for item in body["items"]:
        assert {k: item[k] for k in described[item["ref"]]} == described[item["ref"]]
        assert item["articulation_point"] == ("articulation_point" in item["reasons"])
    assert body["count"] == len(expected) and body["betweenness"]["sampled_sources"] is None

    out = cli("spof", "--format", "json", "--store", store_url(tmp_path))
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout) == body


def test_paths_through_the_api_and_the_cli_agree_with_networkx(api: Api, tmp_path: Path) -> None:
    r = api.client.get("/api/v1/analysis/paths", params={"from": PORTAL, "to": IOC})
    assert r.status_code == 200
    body = r.json()
    refs, steps, truncated = expected_paths(api.store, PORTAL, IOC, 4, 20)
    assert len(refs) == 20 and truncated  # the sample has more than 20 paths of at most 4 hops
    assert [p["refs"] for p in body["paths"]] == refs and body["truncated"] is truncated
    assert [
        [[(x["id"], x["type"], x["direction"]) for x in s["relationships"]] for s in p["steps"]] for p in body["paths"]
    ] == steps
    assert [[(s["from"], s["to"]) for s in p["steps"]] for p in body["paths"]] == [
        list(zip(p, p[1:], strict=False)) for p in refs
    ]
    described = names(api.store)
    assert body["from"] == described[PORTAL] and body["to"] == described[IOC]
    assert body["entities"] == [described[ref] for ref in sorted({x for p in refs for x in p})]
    labels = api.store.metamodel.relations
    assert all(
        x["label"] == {"vi": labels[x["type"]].label.vi, "en": labels[x["type"]].label.en}
        for p in body["paths"]
        for s in p["steps"]
        for x in s["relationships"]
    )

    out = cli("paths", PORTAL, IOC, "--format", "json", "--store", store_url(tmp_path))
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout) == body

    # every path of at most 3 hops: the whole list, nothing left out
    every = api.client.get(
        "/api/v1/analysis/paths", params={"from": IOC, "to": PORTAL, "max_length": 3, "limit": 100}
    ).json()
    refs, steps, truncated = expected_paths(api.store, IOC, PORTAL, 3, 100)
    assert [p["refs"] for p in every["paths"]] == refs and not truncated and every["truncated"] is False
    assert [
        [[(x["id"], x["type"], x["direction"]) for x in s["relationships"]] for s in p["steps"]] for p in every["paths"]
    ] == steps


def test_csv_downloads_in_the_reader_s_language_match_the_command_line(api: Api, tmp_path: Path) -> None:
    vi = api.client.get("/api/v1/analysis/spof", params={"format": "csv"})
    assert vi.status_code == 200 and vi.headers["content-type"].startswith("text/csv")
    assert 'filename="spof.csv"' in vi.headers["content-disposition"]
    assert vi.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows Vietnamese
    rows = list(csv.reader(io.StringIO(vi.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã", "Tên", "Loại"]
    assert [row[0] for row in rows[1:]] == [i["ref"] for i in expected_spof(api.store)]
    assert "Nền tảng" in {row[2] for row in rows[1:]}  # the kind's label, not its code
    out = cli("spof", "--format", "csv", "--store", store_url(tmp_path))
    assert out.returncode == 0 and out.stdout == vi.content

    en = api.client.get(
        "/api/v1/analysis/paths", params={"from": PORTAL, "to": IOC, "format": "csv"}, headers={"Accept-Language": "en"}
    )
    rows = list(csv.reader(io.StringIO(en.content.decode("utf-8-sig"))))
    assert rows[0] == ["Path", "Hops", "Step", "From (reference)", "From", "Relationship", "To (reference)", "To"]
    assert rows[1] == [
        "1",
        "1",
        "1",
        PORTAL,
        "1022 citizen-feedback portal",
        "→ feeds →",
        IOC,
        "Intelligent Operations Centre (IOC)",
    ]
    assert {row[0] for row in rows[1:]} == {str(i) for i in range(1, 21)}
    target = tmp_path / "paths.csv"
    out = cli(
        "paths", PORTAL, IOC, "--format", "csv", "--lang", "en", "-o", str(target), "--store", store_url(tmp_path)
    )
    assert out.returncode == 0 and target.read_bytes() == en.content


def test_the_tables_speak_the_user_s_language(api: Api, tmp_path: Path) -> None:
    out = cli("paths", PORTAL, IOC, "--limit", "2", "--store", store_url(tmp_path))
    text = out.stdout.decode()
    assert out.returncode == 0 and "Cổng thông tin 1022" in text and "→ cung cấp dữ liệu cho →" in text
    assert "feeds" not in text and "Còn những đường khác" in text
    out = cli("spof", "--lang", "en", "--store", store_url(tmp_path))
    text = out.stdout.decode()
    assert out.returncode == 0 and "HCMC data centre" in text and "Articulation point" in text
    assert "Platform" in text and "articulation_point" not in text


def test_impact_alias_describes_the_existing_impact(api: Api) -> None:
    ref = "database:vn-csdl-dan-cu"
    old = api.client.get(f"/api/v1/entities/{ref}/impact", params={"limit": 1000}).json()
    new = api.client.get("/api/v1/analysis/impact", params={"ref": ref, "limit": 1000})
    assert new.status_code == 200
    body = new.json()
    assert body["total"] == old["total"] > 10
    assert [{k: i[k] for k in ("ref", "depth", "path", "relationships")} for i in body["items"]] == old["items"]
    described = names(api.store)
    rels = {r.id: r for r in api.store.all_relationships()}
    for item in body["items"]:
        assert {k: item[k] for k in described[item["ref"]]} == described[item["ref"]]
        for step, rid in zip(item["steps"], item["relationships"], strict=False):
            (link,) = step["relationships"]
            assert link["id"] == rid and link["type"] == rels[rid].type
            assert link["direction"] == ("forward" if rels[rid].source == step["from"] else "backward")
    assert {e["ref"] for e in body["entities"]} == {ref} | {x for i in body["items"] for x in i["path"]}
    page = api.client.get("/api/v1/analysis/impact", params={"ref": ref, "limit": 2, "offset": 3}).json()
    assert [i["ref"] for i in page["items"]] == [i["ref"] for i in old["items"][3:5]]
    csv_ = api.client.get("/api/v1/analysis/impact", params={"ref": ref, "format": "csv"})
    rows = list(csv.reader(io.StringIO(csv_.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Số bước", "Mã", "Tên"] and [r[1] for r in rows[1:]] == [i["ref"] for i in old["items"]]


@pytest.mark.parametrize(
    "params, status, field",
    [
        ({"from": "system:khong-co", "to": IOC}, 404, "from"),
        ({"from": PORTAL, "to": "platform:khong-co"}, 404, "to"),
        ({"from": IOC, "to": IOC}, 422, "to"),
        ({"from": PORTAL, "to": IOC, "max_length": 0}, 422, "max_length"),
        ({"from": PORTAL, "to": IOC, "max_length": 7}, 422, "max_length"),
        ({"from": PORTAL, "to": IOC, "limit": 101}, 422, "limit"),
        ({"from": PORTAL, "to": IOC, "format": "pdf"}, 422, "format"),  # json, csv or xlsx
        ({"to": IOC}, 422, "from"),
    ],
)
def test_bad_paths_questions_are_problems_naming_the_parameter(
    api: Api, params: dict[str, Any], status: int, field: str
) -> None:
    for lang in ("vi", "en"):
        r = api.client.get("/api/v1/analysis/paths", params=params, headers={"Accept-Language": lang})
        assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
        body = r.json()
        if status == 404:
            assert body["detail"].startswith(f"{field}: ")
            assert body["detail"].endswith("không tồn tại" if lang == "vi" else "does not exist")
        else:
            assert [e["field"].split(".")[-1] for e in body["errors"]] == [field]
    same = api.client.get(
        "/api/v1/analysis/paths", params={"from": IOC, "to": IOC}, headers={"Accept-Language": "vi"}
    ).json()
    assert same["errors"][0]["reason"] == "trùng với điểm đầu: hãy chọn hai đối tượng khác nhau"
    assert (
        api.client.get("/api/v1/analysis/impact", params={"ref": "database:khong-co"}).json()["detail"]
        == "ref: database:khong-co không tồn tại"
    )


def test_bad_command_lines_are_messages_not_tracebacks(api: Api, tmp_path: Path) -> None:
    url = store_url(tmp_path)
    for args, says in [
        (("paths", "system:khong-co", IOC), "SOURCE: system:khong-co không tồn tại"),
        (("paths", IOC, IOC, "--lang", "en"), "TARGET: the same entity as the start"),
        (("paths", PORTAL, IOC, "--max-length", "9", "--lang", "en"), "must be 1 to 6"),
        (("spof", "--format", "xlsx", "--lang", "en"), "must be one of: table, json, csv"),
    ]:
        out = cli(*args, "--store", url)
        err = " ".join(out.stderr.decode().split())
        assert out.returncode == 2 and says in err and "Traceback" not in err, err


def test_reading_the_analyses_needs_only_the_read_permission(api: Api) -> None:
    for user in (None, "viewer", "editor-stc"):
        for url in (
            "/api/v1/analysis/spof",
            f"/api/v1/analysis/paths?from={PORTAL}&to={IOC}",
            "/api/v1/analysis/impact?ref=platform:hcm-lgsp",
        ):
            assert api.client.get(url, headers=api.as_(user)).status_code == 200, (user, url)
    bad = api.client.get("/api/v1/analysis/spof", headers={"Authorization": "Bearer ioc_x_y"})
    assert bad.status_code == 401
