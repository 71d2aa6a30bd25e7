"""Mapping profiles listed: ``ioc-catalog mappings`` (a table in Vietnamese or English, ``--json``, one profile by
name) and ``GET /api/v1/mappings`` / ``/api/v1/mappings/{name}`` (read-only; an editor sees the global profiles and
their organisation's; an unknown name is a 404 problem in the reader's language)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog.permissions import Principal
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.mapping import Profile, Profiles

API_ROOT = "/api/v1"
ARCHITECT = Principal("architect", "architect")
ORG_EDITOR = Principal("editor-stc", "editor", "organization:hcm-stc")

GLOBAL = {
    "name": "Mẫu kiểm kê chung",
    "kind": "system",
    "columns": {"ten he thong": ["name_vi"], "dang van hanh": ["lifecycle", "production"]},
    "values": {"lifecycle": {"dang chay": "production", "tam dung": "retiring"}},
}
STC = {"name": "Sở Tài chính - CSDL", "kind": "database", "columns": {"ten csdl": ["name_vi"]}}


def save(store: CatalogStore) -> None:
    Profiles(store, ARCHITECT).save(Profile.from_json(GLOBAL, store.metamodel))
    Profiles(store, ORG_EDITOR).save(Profile.from_json(STC, store.metamodel))


@pytest.fixture
def saved(api):
    save(api.store)
    return api


def test_the_api_lists_every_profile_with_what_it_maps_in_both_languages(saved) -> None:
    r = saved.client.get(f"{API_ROOT}/mappings", headers=saved.as_("architect"))
    assert r.status_code == 200, r.text
    items = {p["name"]: p for p in r.json()["items"]}
    assert set(items) == {"Mẫu kiểm kê chung", "Sở Tài chính - CSDL"}
    g = items["Mẫu kiểm kê chung"]
    assert g["kind"] == "system" and g["kind_label"] == {"vi": "Hệ thống thông tin", "en": "Information systems"}
    assert g["org"] is None and g["org_name"] is None and g["choices"] == 2
    assert "columns" not in g and "values" not in g  # the list is a summary; one profile is whole
    assert {m["header"]: m for m in g["maps"]}["dang van hanh"] == {
        "header": "dang van hanh",
        "field": "lifecycle",
        "field_label": {"vi": "Giai đoạn vòng đời", "en": "Lifecycle"},
        "value": "production",
        "value_label": {"vi": "Đang vận hành", "en": "In production"},
    }
    stc = items["Sở Tài chính - CSDL"]
    assert stc["org"] == "organization:hcm-stc" and stc["org_name"]["vi"] == "Sở Tài chính TP.HCM"
    assert stc["saved_by"] == "editor-stc"


def test_one_profile_whole_by_name_case_and_diacritics_folded(saved) -> None:
    r = saved.client.get(f"{API_ROOT}/mappings/MAU KIEM KE CHUNG", headers=saved.as_("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Mẫu kiểm kê chung"
    assert body["columns"] == GLOBAL["columns"] and body["values"] == GLOBAL["values"]
    assert sorted(m["field"] for m in body["maps"]) == ["lifecycle", "name_vi"]


def test_an_editor_sees_the_global_profiles_and_their_organisations_only(saved) -> None:
    own = saved.client.get(f"{API_ROOT}/mappings", headers=saved.as_("editor-stc")).json()["items"]
    assert {p["name"] for p in own} == {"Mẫu kiểm kê chung", "Sở Tài chính - CSDL"}
    other = saved.client.get(f"{API_ROOT}/mappings", headers=saved.as_("editor-skhcn")).json()["items"]
    assert {p["name"] for p in other} == {"Mẫu kiểm kê chung"}
    hidden = saved.client.get(f"{API_ROOT}/mappings/Sở Tài chính - CSDL", headers=saved.as_("editor-skhcn"))
    assert hidden.status_code == 404


@pytest.mark.parametrize(
    ("lang", "detail"),
    [("vi", "không có hồ sơ ánh xạ"), ("en", "there is no mapping profile")],
)
def test_an_unknown_name_is_a_404_problem_in_the_readers_language(saved, lang: str, detail: str) -> None:
    r = saved.client.get(f"{API_ROOT}/mappings/nobody", headers={**saved.as_("architect"), "Accept-Language": lang})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert detail.casefold() in r.json()["detail"].casefold() and "nobody" in r.json()["detail"]


def test_a_hostile_or_huge_name_is_refused_cleanly(saved) -> None:
    got = {}
    for name in ("x" * 201, "%00", "..%2F..%2Fetc", "<script>", "%ED%A0%80"):
        r = saved.client.get(f"{API_ROOT}/mappings/{name}", headers=saved.as_("architect"))
        assert r.headers["content-type"].startswith("application/problem+json"), (name, r.text)
        got[name] = r.status_code
    # too long, a control character: 422 naming the parameter; the rest is a name no profile has
    assert got == {"x" * 201: 422, "%00": 422, "..%2F..%2Fetc": 404, "<script>": 404, "%ED%A0%80": 404}


def test_anonymous_reads_them_only_where_anonymous_may_read(saved) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.settings import Settings

    assert saved.client.get(f"{API_ROOT}/mappings").status_code == 200  # the demo's anonymous role: viewer
    closed = create_app(Settings(demo=True, anonymous_role="none"), store=saved.store)
    with TestClient(closed, raise_server_exceptions=False) as c:
        for path in ("/mappings", "/mappings/mau kiem ke chung"):
            r = c.get(API_ROOT + path)
            assert r.status_code == 401 and r.json()["code"] == "unauthenticated", (path, r.text)
            assert "Mẫu kiểm kê chung" not in r.text


def test_nothing_saved_lists_nothing(api) -> None:
    r = api.client.get(f"{API_ROOT}/mappings", headers=api.as_("architect"))
    assert r.status_code == 200 and r.json() == {"items": []}


# --- the command line -------------------------------------------------------------------------------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url, create=True)
    try:
        from conftest import SAMPLE

        from importers.base import run_import

        assert run_import(store, SAMPLE).loaded
        save(store)
    finally:
        store.close()
    return url


def cli(*args: str) -> str:
    from api.cli import _register_command_groups, app

    _register_command_groups()
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_lists_the_profiles_in_vietnamese_by_default(url: str) -> None:
    out = cli("mappings", "--store", url)
    assert "2 hồ sơ ánh xạ" in out
    assert "Mẫu kiểm kê chung" in out and "Hệ thống thông tin" in out and "(mọi cơ quan)" in out
    assert "dang van hanh → Giai đoạn vòng đời = Đang vận hành" in out
    assert "Sở Tài chính" in out and "Cơ sở dữ liệu" in out
    assert "organization:" not in out and "production" not in out  # labels, never codes


def test_cli_in_english_and_as_json(url: str) -> None:
    out = cli("mappings", "--store", url, "--lang", "en")
    assert "2 mapping profiles" in out and "Information systems" in out and "(every organisation)" in out
    assert "dang van hanh → Lifecycle = In production" in out
    data = json.loads(cli("mappings", "--store", url, "--json"))
    assert [p["name"] for p in data["items"]] == ["Mẫu kiểm kê chung", "Sở Tài chính - CSDL"]
    one = json.loads(cli("mappings", "mau kiem ke chung", "--store", url, "--json"))
    assert one["values"] == GLOBAL["values"] and one["kind_label"]["en"] == "Information systems"


def test_cli_an_unknown_name_fails_naming_it(url: str, capsys) -> None:
    from api.cli import main

    argv = sys.argv
    sys.argv = ["ioc-catalog", "mappings", "nobody", "--store", url, "--lang", "en"]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 1
    assert "nobody" in capsys.readouterr().err
