"""The registration form's connection rows (api/web/forms.py, api/templates/form.html, api/static/form.js): any
number of connections in one form, each with its via platform, data, frequency, protocol, status and legal basis;
existing ones edited (a relink) or removed (an unlink); errors next to the row and field they belong to; one change
set through catalog.changeset.submit. Over HTTP, and in the browser for the pickers and the rows' buttons."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from web.uitest import PASSWORD, Session, build_catalog

from api.app import create_app
from catalog.settings import Settings
from catalog.store import CatalogStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    from catalog.store import open_store

    url = build_catalog(tmp_path_factory.mktemp("form-links") / "catalog.db")
    s = open_store(url)
    yield s
    s.close()


def client_as(store: CatalogStore, name: str) -> TestClient:
    c = TestClient(create_app(Settings(demo=True), store=store))  # type: ignore[arg-type]
    r = c.post("/signin", data={"csrf": csrf(c, "/signin"), "name": name, "password": PASSWORD, "next": "/"})
    assert r.status_code == 200
    return c


def csrf(c: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get(path).text).group(1)  # type: ignore[union-attr]


IOC = "platform:hcm-ioc"
FIVE = [
    {"type": "writes", "target": "database:hcm-csdl-danh-muc", "data": "Danh mục", "frequency": "daily"},
    {"type": "reads", "target": "database:hcm-csdl-nguoi-dan", "protocol": "rest", "frequency": "realtime"},
    {
        "type": "feeds",
        "target": "platform:hcm-ioc",
        "via": "platform:hcm-lgsp",
        "data": "Chỉ số phòng thí nghiệm",
        "frequency": "daily",
        "protocol": "rest",
        "status": "active",
        "legal_basis": "Quyết định 1234/QĐ-UBND",
    },
    {"type": "flows_to", "target": "platform:hcm-kho-du-lieu", "via": "platform:hcm-lgsp", "frequency": "weekly"},
    {"type": "hosted_on", "target": "platform:hcm-ttdl", "status": "active"},
]


def new_system(c: TestClient, code: str, rows: list[dict[str, str]], **more: str) -> dict[str, str]:
    data = {
        "csrf": csrf(c, "/new"),
        "kind": "system",
        "code": code,
        "name_vi": f"Hệ thống {code}",
        "owner": "organization:hcm-skhcn",
        "attr_lifecycle": "production",
        "action": "save",
        **more,
    }
    for i, row in enumerate(rows):
        data.update({f"link_{i}_{k}": v for k, v in row.items()})
    return data


def row_html(page: str, i: int) -> str:
    """The markup of connection row ``i`` (from its first field to the next row)."""
    rows = re.split(r'<div class="conn(?=[ "])', page)
    return next(r for r in rows[1:] if f'name="link_{i}_type"' in r)


def test_five_connections_are_saved_in_one_form(store: CatalogStore) -> None:
    c = client_as(store, "architect")
    seq = store.revision()[0]
    r = c.post("/new", data=new_system(c, "ptn-nam-ket-noi", FIVE), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/entities/system:ptn-nam-ket-noi?saved=1"
    rels = {x.target: x for x in store.list_relationships("system:ptn-nam-ket-noi", direction="out")}
    assert set(rels) == {row["target"] for row in FIVE}
    ioc = rels["platform:hcm-ioc"]
    assert ioc.type == "feeds" and ioc.properties == {
        "data": "Chỉ số phòng thí nghiệm",
        "frequency": "daily",
        "legal_basis": "Quyết định 1234/QĐ-UBND",
        "protocol": "rest",
        "status": "active",
        "via": "platform:hcm-lgsp",
    }
    assert rels["database:hcm-csdl-nguoi-dan"].properties == {"protocol": "rest", "frequency": "realtime"}
    new = store.changelog(after_seq=seq)  # the entity and its five connections: one request in the change log
    assert len(new) == 6 and len({e.request_id for e in new}) == 1


def test_an_existing_connection_is_edited_and_another_removed(store: CatalogStore) -> None:
    c = client_as(store, "architect")
    c.post("/new", data=new_system(c, "ptn-sua-ket-noi", FIVE[:3]))
    ref = "system:ptn-sua-ket-noi"
    page = c.get(f"/entities/{ref}/edit").text
    # every stored connection is a row with its values; two blank rows follow
    ids = [(int(i), html.unescape(v)) for i, v in re.findall(r'name="link_(\d+)_id" value="([^"]+)"', page)]
    assert sorted(v for _, v in ids) == sorted(f"{ref}>{row['type']}>{row['target']}" for row in FIVE[:3])
    by_id = {rid: i for i, rid in ids}
    feeds = by_id[f"{ref}>feeds>platform:hcm-ioc"]
    writes = by_id[f"{ref}>writes>database:hcm-csdl-danh-muc"]
    assert re.search(r'<option value="daily" selected>', row_html(page, feeds))  # the stored values shown
    assert 'value="Chỉ số phòng thí nghiệm"' in row_html(page, feeds) and 'value="platform:hcm-lgsp"' in row_html(
        page, feeds
    )
    before = store.find_relationship(f"{ref}>feeds>platform:hcm-ioc")
    assert before is not None
    e = store.get_entity(ref)
    data = {
        "csrf": csrf(c, f"/entities/{ref}/edit"),
        "version": str(e.version),
        "name_vi": e.name.vi,
        "owner": e.owner or "",
        "attr_lifecycle": "production",
        "action": "save",
    }
    for rid, i in by_id.items():
        r = store.find_relationship(rid)
        assert r is not None
        data.update({f"link_{i}_id": rid, f"link_{i}_version": str(r.version), f"link_{i}_type": r.type})
        data[f"link_{i}_target"] = r.target
        data.update({f"link_{i}_{k}": str(v) for k, v in r.properties.items()})
    data[f"link_{feeds}_frequency"] = "hourly"
    data[f"link_{writes}_remove"] = "1"
    r = c.post(f"/entities/{ref}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = store.find_relationship(f"{ref}>feeds>platform:hcm-ioc")
    assert after is not None and after.properties["frequency"] == "hourly" and after.version == before.version + 1
    assert {k: v for k, v in after.properties.items() if k != "frequency"} == {
        k: v for k, v in before.properties.items() if k != "frequency"
    }  # the other properties kept
    assert store.find_relationship(f"{ref}>writes>database:hcm-csdl-danh-muc") is None
    assert store.find_relationship(f"{ref}>reads>database:hcm-csdl-nguoi-dan") is not None
    assert store.get_entity(ref).version == e.version  # the entity itself did not change


def test_an_error_on_the_fourth_row_is_shown_next_to_it_and_nothing_is_saved(store: CatalogStore) -> None:
    c = client_as(store, "architect")
    revision = store.revision()
    rows = [dict(x) for x in FIVE]
    rows[3]["frequency"] = "every-full-moon"
    r = c.post("/new?lang=en", data=new_system(c, "ptn-loi-dong-4", rows))
    assert r.status_code == 422
    fourth = row_html(r.text, 3)
    assert 'id="err-link_3_frequency"' in fourth and " invalid" in fourth.split(">")[0]
    assert re.search(r'id="err-link_3_frequency">[^<]*(one of|realtime|Daily|daily)', fourth)
    assert "every-full-moon" in fourth  # what was typed is kept
    for i in (0, 1, 2, 4):
        assert "err-link_" not in row_html(r.text, i)
    assert 'value="Chỉ số phòng thí nghiệm"' in row_html(r.text, 2)  # the other rows kept too
    assert store.revision() == revision and store.find_entity("system:ptn-loi-dong-4") is None


def test_a_service_refusal_is_placed_on_its_field_in_the_pages_language(store: CatalogStore) -> None:
    """The model accepts the form; the service refuses (an owner merged away): the change set's error
    (``changes.0.owner``) lands on the owner field, in English on the English page; nothing saved."""
    c = client_as(store, "architect")
    revision = store.revision()
    r = c.post("/new?lang=en", data=new_system(c, "ptn-chu-cu", FIVE[:1], owner="organization:hcm-sttt"))
    assert r.status_code == 422
    err = re.search(r'id="err-owner">([^<]*)<', r.text)
    assert err and "organization:hcm-sttt" in err.group(1) and "không" not in err.group(1)
    assert store.revision() == revision


def test_a_target_of_a_kind_the_type_does_not_allow_and_an_incomplete_row(store: CatalogStore) -> None:
    c = client_as(store, "architect")
    rows = [{"type": "writes", "target": "platform:hcm-ioc"}, {"target": "database:hcm-csdl-danh-muc"}]
    r = c.post("/new", data=new_system(c, "ptn-sai-loai", rows))
    assert r.status_code == 422
    assert 'id="err-link_0_target"' in row_html(r.text, 0)
    assert 'id="err-link_1_type"' in row_html(r.text, 1) and "chọn loại kết nối" in row_html(r.text, 1)


def test_without_javascript_add_a_row_and_a_suggestion_re_show_the_form(store: CatalogStore) -> None:
    c = client_as(store, "editor-skhcn")
    data = new_system(c, "ptn-khong-js", FIVE[:2])
    r = c.post("/new", data={**data, "action": "add-row", "link_2_type": ""})
    assert r.status_code == 200 and store.find_entity("system:ptn-khong-js") is None
    assert 'value="database:hcm-csdl-danh-muc"' in row_html(r.text, 0)  # kept
    assert 'name="link_3_type"' in r.text and 'name="link_4_type"' not in r.text  # one more blank row
    r = c.post("/new", data={**data, "csrf": csrf(c, "/new"), "action": "pattern-ioc-via-lgsp"})
    added = row_html(r.text, 2)
    # HCMC's IOC and LGSP, found by the department's city (not Bình Dương's), daily
    assert 'value="platform:hcm-ioc"' in added and 'value="platform:hcm-lgsp"' in added
    assert re.search(r'<option value="daily" selected', added)


def test_the_picker_tells_binh_duongs_ioc_apart(store: CatalogStore) -> None:
    c = client_as(store, "editor-skhcn")
    items = c.get("/search.json", params={"q": "trung tam dieu hanh do thi", "kind": "platform"}).json()["items"]
    ours = next(i for i in items if i["ref"] == "platform:hcm-ioc")
    bd = next(i for i in items if i["ref"] == "platform:bd-ioc")
    assert bd["former_province_name"] and "Bình Dương" in bd["former_province_name"]
    assert not ours.get("former_province_name")


# --- in the browser: the rows' buttons and pickers (api/static/form.js, api/static/picker.js) ---------------------


def test_rows_are_added_limited_by_type_suggested_and_dropped_in_the_browser(signed_in: Callable[..., Session]) -> None:
    ed = signed_in("editor-skhcn")
    ed.goto("/new?kind=database")
    rows = ed.page.locator("#conn-rows [data-conn-row]")
    assert rows.count() == 2  # two blank rows
    # the suggestion for a database: the city's warehouse reads it, via the city's LGSP (HCMC's, not Bình Dương's)
    ed.page.click("button[data-pattern-name='warehouse-reads']")
    assert rows.count() == 3
    added = rows.nth(2)
    assert added.locator("select[name$='_type']").input_value() == "feeds"
    assert added.locator("input[name$='_target']").input_value() == "platform:hcm-kho-du-lieu"
    assert added.locator("input[name$='_via']").input_value() == "platform:hcm-lgsp"
    assert "Kho dữ liệu dùng chung TP.HCM" in added.locator(".ts-control").first.inner_text()  # shown by name
    assert added.locator("select[name$='_frequency']").input_value() == "daily"
    # "add a connection" adds a row without sending the form; "remove this row" drops a new one
    ed.page.click("#add-row")
    assert rows.count() == 4 and "/new" in ed.page.url
    rows.nth(3).locator("[data-conn-drop]").click()
    assert rows.count() == 3
    # a type limits what its target picker offers: "exposed through" points at services only
    ed.page.select_option("#link_0_type", "exposes")
    box = ed.page.locator("#link_0_target-ts-control")
    box.click()
    box.press_sequentially("du lieu", delay=15)
    options = ed.page.locator("#link_0_target-ts-dropdown .option")
    options.first.wait_for()
    kinds = {ref.split(":")[0] for ref in options.evaluate_all("os => os.map(o => o.dataset.value)")}
    assert kinds == {"service"}, kinds
    ed.shot("rows")
    # an error (no code; the "exposed through" row has no target) keeps every row as typed, in the same order
    ed.page.keyboard.press("Escape")
    ed.page.fill("#name_vi", "CSDL thử nghiệm")
    ed.page.click("#save")
    ed.page.wait_for_selector("#err-code")
    kept = ed.page.locator("#conn-rows [data-conn-row]")
    assert kept.nth(0).locator("select[name$='_type']").input_value() == "exposes"
    assert "chọn loại kết nối" in kept.nth(0).locator(".error").inner_text()
    assert kept.nth(1).locator("input[name$='_target']").input_value() == "platform:hcm-kho-du-lieu"
    assert kept.nth(1).locator("input[name$='_via']").input_value() == "platform:hcm-lgsp"
    ed.shot("rows-error")


def test_rows_from_a_hand_made_post_are_refused_by_field_never_with_a_5xx(store: CatalogStore) -> None:
    c = client_as(store, "editor-skhcn")
    revision = store.revision()
    other = "system:hcm-cong-1022>feeds>platform:hcm-ioc"  # another entity's connection named as this one's row
    r = c.post("/new", data=new_system(c, "ptn-tay", [{"id": other, "type": "feeds", "target": "platform:hcm-ioc"}]))
    assert r.status_code == 422 and 'id="err-link_0"' in r.text and "không tồn tại" in row_html(r.text, 0)
    rows = [{"type": "reads", "target": f"database:khong-co-{i}"} for i in range(61)]  # more than a form takes
    r = c.post("/new", data=new_system(c, "ptn-nhieu", rows))
    assert r.status_code == 422 and "tối đa 60 kết nối" in r.text
    r = c.post("/new", data={**new_system(c, "ptn-so-lon", []), "link_9999_type": "reads", "link_x_type": "reads"})
    assert r.status_code == 422 and 'id="err-link_0_target"' in r.text  # renumbered: the one row, its target missing
    r = c.post("/new", data=new_system(c, "ptn-via", [{"type": "feeds", "target": IOC, "via": "platform:khong-co"}]))
    assert r.status_code == 422 and 'id="err-link_0_via"' in r.text
    assert store.revision() == revision
