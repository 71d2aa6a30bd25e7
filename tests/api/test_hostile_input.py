"""No input produces a 5xx, and one validation for every door (issue 13, items 2, 4 and 10).

- Every POST/PUT/PATCH route of the OpenAPI document, anonymous and as admin, with lone surrogates (sent as JSON
  escapes) in keys and values at several depths, control and bidi characters, and UTF-16/UTF-32 bodies: a 4xx
  problem+json that parses, never a 5xx; the same against a real server (uvicorn on 127.0.0.1), whose log then holds
  no traceback.
- The web forms refuse what the API refuses (NUL, BEL, vertical tab, U+202E in names), next to the field, in both
  languages; so does the command line.
- A catalog that already holds such text (written straight to the store, as before the rules) exports to every
  format (native JSON, XLSX, CSV, ArchiMate XML, diagrams, the audit bundle) without a 5xx, and says what it replaced.
- Diagram files from /api/v1/diagrams carry the same nosniff and CSP headers as the web UI's downloads.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from openpyxl import load_workbook

from api.app import create_app
from catalog.i18n import text as in_lang
from catalog.metamodel import DEFAULT
from catalog.model import OrgEvent, parse_entity, parse_relationship
from catalog.settings import Settings
from catalog.store import CatalogStore, open_store
from catalog.store.base import EntityFilter, WriteContext
from catalog.text import TEXT_REASONS

from .conftest import Api, build_catalog
from .test_cli import cli
from .test_load import _serve

# --- every write route, every hostile body ------------------------------------------------------------------------

TEXT_BODIES = {  # raw JSON bytes (escapes as a client sends them) -> what the text rule says
    "surrogate key": b'{"\\ud800": 1}',
    "surrogate key in a name": b'{"name": {"\\udfff": "x"}}',
    "surrogate key in properties": b'{"type": "reads", "properties": {"\\ud800": 1}}',
    "surrogate key in draft changes": b'{"ref": "system:x", "changes": {"attributes": {"\\ud83d": "x"}}}',
    "surrogate value, depth 4": b'{"a": [{"b": {"c": "\\ud800"}}]}',
    "NUL value": b'{"code": "x", "name": {"vi": "a\\u0000b"}}',
    "BEL and vertical tab": b'{"note": "\\u0007", "reason": "\\u000b"}',
    "RLO in a name": b'{"name": {"vi": "exe.\\u202etxt"}}',
    "noncharacter": b'{"name": {"vi": "\\uffff"}}',
}
ENCODED = {  # JSON that is fine in itself, in an encoding the API refuses
    "UTF-16 with BOM": '{"name": {"vi": "Sở"}}'.encode("utf-16"),
    "UTF-16 LE without BOM": '{"name": {"vi": "Sở"}}'.encode("utf-16-le"),
    "UTF-32": '{"name": {"vi": "Sở"}}'.encode("utf-32"),
    "Latin-1": '{"name": {"vi": "café"}}'.encode("latin-1"),
}
TEXT_REASONS_VI_NOT_UTF8 = "nội dung phải là JSON mã hoá UTF-8 (không nhận UTF-16, UTF-32 hay mã khác)"
PLURAL = {spec.path: name for name, spec in DEFAULT.kinds.items()}  # REST collection -> kind


def write_routes(app: Any) -> list[tuple[str, str]]:
    doc = app.openapi()
    routes = [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in ("post", "put", "patch")]
    assert len(routes) >= 30, routes  # every entity kind's writes, relationships, events, drafts, accounts
    return routes


def concrete(store: CatalogStore, path: str) -> tuple[str, dict[str, str]]:
    """The route's path with real values (an existing entity of the kind, an existing relationship) and the
    If-Match of what it names, so that every check before the body's is passed."""
    headers: dict[str, str] = {}
    if "{code}" in path:
        kind = PLURAL[path.split("/")[3]]
        found = store.list_entities(EntityFilter(kind=kind, limit=1))  # the sample has no dataset
        code, version = (found[0].code, found[0].version) if found else ("nothing-here", 1)
        path, headers["If-Match"] = path.replace("{code}", code), f'"{version}"'
    if "{rel_id}" in path:
        r = store.all_relationships()[0]
        path, headers["If-Match"] = path.replace("{rel_id}", quote(r.id, safe="")), f'"{r.version}"'
    if "{draft_id}" in path:
        path, headers["If-Match"] = path.replace("{draft_id}", "0123456789ab"), '"1"'
    if "{hook_id}" in path:  # a webhook subscription: the body is judged before the subscription is looked up
        path, headers["If-Match"] = path.replace("{hook_id}", "0123456789ab"), '"1"'
    if "{campaign_id}" in path:  # a campaign: the body is judged before the campaign is looked up
        path = path.replace("{campaign_id}", "sec-nothing")
    if "{name}" in path:  # a mapping profile
        path = path.replace("{name}", "sec-nothing")
    assert "{" not in path, path
    return path, headers


def hostile_cases(store: CatalogStore, app: Any) -> Iterator[tuple[str, str, dict[str, str], str, bytes, int | None]]:
    """(method, path, headers, case, body, expected status for an admin: 422 text, 400 encoding)."""
    for method, template in write_routes(app):
        path, headers = concrete(store, template)
        for case, body in TEXT_BODIES.items():
            yield method, path, headers, case, body, 422
        for case, body in ENCODED.items():
            yield method, path, headers, case, body, 400


def check_answers(
    send: Callable[[str, str, dict[str, str], bytes], tuple[int, str, bytes]],
    store: CatalogStore,
    app: Any,
    tokens: dict[str, str],
) -> int:
    """Send every case anonymously and as admin; returns how many were sent. Fails listing every bad answer."""
    bad: list[str] = []
    sent = 0
    for method, path, headers, case, body, admin_status in hostile_cases(store, app):
        for who, auth in (("anonymous", {}), ("admin", {"Authorization": f"Bearer {tokens['admin']}"})):
            status, ctype, raw = send(method, path, {**headers, **auth, "Content-Type": "application/json"}, body)
            sent += 1
            where = f"{who} {method} {path} [{case}]: {status}"
            if status >= 500:
                bad.append(f"{where} {raw[:200]!r}")
                continue
            if not 400 <= status < 500 or ctype != "application/problem+json":
                bad.append(f"{where} {ctype}")
                continue
            problem = json.loads(raw.decode("utf-8"))  # parseable, and UTF-8
            if problem.get("status") != status or not problem.get("code") or not problem.get("title"):
                bad.append(f"{where} {problem}")
            elif who == "admin" and status != admin_status:
                bad.append(f"{where} (expected {admin_status}) {problem}")
            elif (
                who == "admin"
                and status == 422
                and not any(e["field"].startswith("body") for e in problem.get("errors", []))
            ):
                bad.append(f"{where}: no body field named {problem}")
            elif (
                who == "admin"
                and status == 400
                and (problem["code"], problem["errors"])
                != ("malformed-json", [{"field": "body", "reason": TEXT_REASONS_VI_NOT_UTF8}])
            ):
                bad.append(f"{where} {problem}")
    assert not bad, f"{len(bad)} bad answers of {sent}:\n" + "\n".join(bad[:40])
    return sent


def test_every_write_route_answers_hostile_text_with_a_4xx_problem_in_process(api: Api) -> None:
    before = (api.store.revision(), api.store.count_entities())

    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        r = api.client.request(method, path, headers=headers, content=body)
        return r.status_code, r.headers.get("content-type", ""), r.content

    assert check_answers(send, api.store, api.client.app, api.tokens) >= 30 * 13 * 2
    assert (api.store.revision(), api.store.count_entities()) == before  # nothing written


def test_every_write_route_answers_hostile_text_with_a_4xx_problem_on_a_real_server(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    store, tokens = build_catalog(db)
    app = create_app(Settings(demo=True), store=store)
    proc, base = _serve(db, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:

            def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
                r = http.request(method, path, headers=headers, content=body)
                return r.status_code, r.headers.get("content-type", ""), r.content

            sent = check_answers(send, store, app, tokens)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        store.close()
    assert sent >= 30 * 13 * 2
    log = (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and " 500 " not in log and "Logging error" not in log
    assert " 422 " in log and " 400 " in log


def test_the_reported_case_names_the_echoed_key(api: Api) -> None:
    """The finding as reported: an anonymous POST of {"\\ud800":1} answered 500 with a reset connection."""
    for who in (None, "admin"):
        r = api.client.post(
            "/api/v1/systems",
            headers={**api.as_(who), "Content-Type": "application/json", "Accept-Language": "en"},
            content=b'{"\\ud800":1}',
        )
        assert r.status_code in (401, 403, 422) and r.headers["content-type"] == "application/problem+json"
        r.content.decode("utf-8")
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "body.\\ud800", "reason": "contains a lone surrogate: not valid Unicode"}]
    r = api.client.post(
        "/api/v1/relationships",
        headers={**api.as_("admin"), "Content-Type": "application/json"},
        content=b'{"type": "reads", "source": "system:a", "target": "database:b", "properties": {"k\\ud800": 1}}',
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.properties.k\\ud800"
    r = api.client.post(
        "/api/v1/systems",
        headers={**api.as_("admin"), "Content-Type": "application/json", "Accept-Language": "en"},
        content='{"code": "x"}'.encode("utf-16"),
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed-json"
    assert r.json()["errors"] == [
        {"field": "body", "reason": "the body must be JSON encoded as UTF-8 (not UTF-16, UTF-32 or another encoding)"}
    ]


# --- the web forms and the command line refuse what the API refuses -----------------------------------------------


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    from web.uitest import build_catalog as build_web_catalog

    s = open_store(build_web_catalog(tmp_path_factory.mktemp("forms") / "catalog.db"))
    yield s
    s.close()


def signed_in(store: CatalogStore, name: str) -> TestClient:
    from web.uitest import PASSWORD

    c = TestClient(create_app(Settings(demo=True), store=store), base_url="http://testserver")
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/signin").text).group(1)  # type: ignore[union-attr]
    assert (
        c.post("/signin", data={"csrf": token, "name": name, "password": PASSWORD}, follow_redirects=False).status_code
        == 303
    )
    return c


def csrf(c: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get(path).text).group(1)  # type: ignore[union-attr]


def field_error(page: str, key: str) -> str:
    found = re.search(rf'<p class="error" id="err-{key}">([^<]*)</p>', page)
    return found.group(1) if found else ""


FORM_HOSTILE = {"NUL": "Hệ\x00thống", "BEL": "Hệ\x07thống", "vertical tab": "Hệ\x0bthống", "RLO": "exe.\u202etxt"}


@pytest.mark.parametrize("name", FORM_HOSTILE)
def test_the_register_form_refuses_what_the_api_refuses_next_to_the_field(web_store: CatalogStore, name: str) -> None:
    with signed_in(web_store, "editor-skhcn") as c:
        before = web_store.revision()
        for lang, expected in (
            ("vi", in_lang(TEXT_REASONS["text-bidi" if name == "RLO" else "text-control"], "vi")),
            ("en", str(TEXT_REASONS["text-bidi" if name == "RLO" else "text-control"])),
        ):
            r = c.post(
                f"/new?lang={lang}",
                data={
                    "csrf": csrf(c, "/new?kind=system"),
                    "kind": "system",
                    "code": "he-thong-xau",
                    "name_vi": FORM_HOSTILE[name],
                    "owner": "organization:hcm-skhcn",
                    "attr_lifecycle": "production",
                },
            )
            assert r.status_code == 422
            assert field_error(r.text, "name_vi") == expected
        assert web_store.find_entity("system:he-thong-xau") is None and web_store.revision() == before


def test_the_edit_form_and_a_draft_note_refuse_it_too(web_store: CatalogStore) -> None:
    mine = web_store.list_entities(EntityFilter(kind="system", owner="organization:hcm-skhcn", limit=1))[0]
    with signed_in(web_store, "editor-skhcn") as c:
        before = web_store.revision()
        form = {
            "csrf": csrf(c, f"/entities/{mine.ref}/edit"),
            "version": str(mine.version),
            "name_vi": "Tên\x0bmới",
            "name_en": mine.name.en,
            "owner": mine.owner or "",
            **{f"attr_{k}": str(v) for k, v in mine.attributes.items() if not isinstance(v, list)},
        }
        r = c.post(f"/entities/{mine.ref}/edit?lang=en", data=form)
        assert r.status_code == 422 and field_error(r.text, "name_vi") == str(TEXT_REASONS["text-control"])
        form["name_vi"] = mine.name.vi
        r = c.post(
            f"/entities/{mine.ref}/edit?lang=en",
            # a connection to an operations centre: the approval policy makes it a draft, whose note is checked
            data={
                **form,
                "link_0_type": "feeds",
                "link_0_target": "platform:hcm-ioc-quan-1",
                "note": "see \u202eattached",
            },
        )
        assert r.status_code == 422 and "note: " + str(TEXT_REASONS["text-bidi"]) in r.text
        assert web_store.revision() == before


def test_the_command_line_refuses_it_with_a_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert cli("init", "--sample", "--store", url, cwd=tmp_path).returncode == 0
    ev = tmp_path / "event.json"
    ev.write_text(
        json.dumps(
            {
                "id": "e-hostile",
                "type": "transfer",
                "date": "2026-01-01",
                "note": "x\u0007",
                "transfers": [{"entity": "system:hcm-cong-1022", "to": "organization:hcm-vpubnd"}],
            }
        ),
        encoding="utf-8",
    )
    r = cli("apply-event", str(ev), "--store", url, cwd=tmp_path, env={"IOC_CATALOG_LANG": "en"})
    assert r.returncode == 1 and "note: contains control characters" in r.stderr and "Traceback" not in r.stderr
    r = cli("apply-event", str(ev), "--store", url, cwd=tmp_path)
    assert r.returncode == 1 and "note: chứa ký tự điều khiển" in r.stderr


# --- a catalog that already holds such text still exports, everywhere ---------------------------------------------

BAD = "Bad\x0b\x00\x07\u202eX\ufffe\x1f"


@pytest.fixture
def legacy(api: Api) -> Api:
    """The sample plus text the rules now refuse, written straight to the store (as a catalog from before them)."""
    ctx = WriteContext(actor="before-the-rules")
    store = api.store
    owner = "organization:hcm-skhcn"
    store.create_entity(
        parse_entity(
            {
                "kind": "system",
                "code": "hostile",
                "name": {"vi": BAD, "en": BAD},
                "description": {"vi": BAD + "\n\tok"},
                "owner_history": [{"org": owner, "basis": BAD}],
                "tags": [BAD],
                "attributes": {"lifecycle": "production", "vendor": BAD},
            }
        ),
        ctx,
    )
    db = store.list_entities(EntityFilter(kind="database", limit=1))[0]
    store.create_relationship(
        parse_relationship(
            {"type": "reads", "source": "system:hostile", "target": db.ref, "properties": {"note": BAD, "data": BAD}}
        ),
        ctx,
    )
    store.create_relationship(
        parse_relationship({"type": "feeds", "source": "system:hostile", "target": "platform:hcm-ioc"}), ctx
    )
    store.record_event(
        OrgEvent.model_validate(
            {
                "id": "ev-hostile",
                "type": "rename",
                "date": "2026-01-01",
                "from": [owner],
                "new_name": {"vi": BAD},
                "legal_basis": BAD,
                "note": BAD,
            }
        ),
        ctx,
    )
    return api


def test_every_export_format_writes_a_catalog_holding_text_the_rules_now_refuse(legacy: Api) -> None:
    auditor = legacy.as_("auditor")
    got = {}
    for fmt in ("native", "xlsx", "csv", "archimate"):
        r = legacy.client.get(f"/api/v1/exports/{fmt}", headers=auditor)
        assert r.status_code == 200, (fmt, r.text[:500])
        assert r.headers["x-content-type-options"] == "nosniff"
        got[fmt] = r
    native = json.loads(got["native"].content.decode("utf-8"))  # lossless: the text as stored
    assert next(e for e in native["entities"] if e["ref"] == "system:hostile")["name"]["vi"] == BAD
    assert "x-export-notes" not in got["native"].headers
    ws = load_workbook(io.BytesIO(got["xlsx"].content))["system"]
    names = {row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert "Bad\ufffd\ufffd\ufffd\u202eX\ufffd\ufffd" in names  # what XML cannot hold is U+FFFD; the rest kept
    assert int(got["xlsx"].headers["x-export-notes"]) >= 8  # name, description, tags, vendor, history, rel, event
    with zipfile.ZipFile(io.BytesIO(got["csv"].content)) as zf:
        assert BAD in zf.read("system.csv").decode("utf-8-sig")
    root = etree.fromstring(got["archimate"].content)  # well-formed XML
    assert "Bad\ufffd\ufffd\ufffd\u202eX\ufffd\ufffd" in {el.text for el in root.iter() if el.text}
    assert int(got["archimate"].headers["x-export-notes"]) >= 4


@pytest.mark.parametrize(
    "view,params",
    [
        ("ioc", ""),
        ("landscape", ""),
        ("context", "?ref=system:hostile&depth=1"),
        ("department", "?ref=organization:hcm-skhcn"),
    ],
)
def test_every_diagram_draws_a_catalog_holding_text_the_rules_now_refuse(legacy: Api, view: str, params: str) -> None:
    for fmt in ("svg", "dot", "png"):
        r = legacy.client.get(f"/api/v1/diagrams/{view}.{fmt}{params}")
        assert r.status_code == 200, (view, fmt, r.text[:500])
        if fmt == "svg":
            svg = etree.fromstring(r.content)  # well-formed XML
            if view == "context":
                assert any("Bad" in (el.text or "") for el in svg.iter())


def test_the_audit_bundle_of_a_catalog_holding_text_the_rules_now_refuse(legacy: Api, tmp_path: Path) -> None:
    from diagrams.bundle import build_bundle, verify_bundle

    build_bundle(legacy.store, "2099-01-01", tmp_path / "bundle.zip")
    assert verify_bundle(tmp_path / "bundle.zip").ok
    with zipfile.ZipFile(tmp_path / "bundle.zip") as zf:
        for name in zf.namelist():
            if name.endswith(".svg"):
                etree.fromstring(zf.read(name))
            if name.endswith(".xlsx"):
                load_workbook(io.BytesIO(zf.read(name)))


# --- headers of diagram files ------------------------------------------------------------------------------------


def test_api_diagrams_carry_the_headers_of_the_web_downloads(api: Api) -> None:
    web = api.client.get("/download/diagram/ioc.svg")
    assert web.status_code == 200
    for fmt in ("svg", "dot"):
        r = api.client.get(f"/api/v1/diagrams/ioc.{fmt}")
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == web.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == web.headers["content-security-policy"]
        assert "default-src 'none'" in r.headers["content-security-policy"]
    assert api.client.get("/api/v1/diagrams/ioc.png").headers["x-content-type-options"] == "nosniff"


def test_drawing_never_switches_the_garbage_collector_off(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server is threaded: a diagram's parse must not turn the collector off for every other request."""
    import gc

    def refuse() -> None:
        raise AssertionError("gc.disable() called while drawing")

    import datetime as dt

    monkeypatch.setattr(gc, "disable", refuse)
    today = dt.date.today()  # the sample was recorded today
    tomorrow = today + dt.timedelta(days=1)
    for path in (
        "/api/v1/diagrams/landscape.dot",
        f"/api/v1/diagrams/diff.dot?from={today}&to={tomorrow}",
        f"/api/v1/diagrams/ioc.dot?as_of={today}",
    ):
        r = api.client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert gc.isenabled()
