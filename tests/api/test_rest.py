"""The REST API: ETag / If-Match, per-kind CRUD, relationships, graph, change log, drafts, and hostile input answered
with problem+json naming the field (never a 5xx)."""

from __future__ import annotations

import json
import unicodedata

import pytest
from conftest import SAMPLE

from catalog.digest import content_hash

from .conftest import Api

SYS = "/api/v1/systems/hcm-cong-1022"


def _hdr(api: Api, user: str, tag: str | None = None, **extra: str) -> dict[str, str]:
    h = api.as_(user)
    if tag is not None:
        h["If-Match"] = tag
    return {**h, **extra}


def test_etag_if_match_flow(api: Api) -> None:
    r = api.client.get(SYS)
    assert r.status_code == 200 and r.headers["etag"] == f'"{r.json()["version"]}"'
    tag = r.headers["etag"]
    missing = api.client.patch(SYS, headers=_hdr(api, "editor-skhcn"), json={"attributes": {"vendor": "A"}})
    assert missing.status_code == 428 and missing.json()["code"] == "precondition-required"
    ok = api.client.patch(SYS, headers=_hdr(api, "editor-skhcn", tag), json={"attributes": {"vendor": "A"}})
    assert ok.status_code == 200 and ok.headers["etag"] == f'"{int(tag.strip(chr(34))) + 1}"'
    assert ok.json()["attributes"]["vendor"] == "A"
    before = content_hash(api.store)
    stale = api.client.patch(SYS, headers=_hdr(api, "architect", tag), json={"attributes": {"vendor": "B"}})
    assert stale.status_code == 412 and stale.json()["code"] == "version-conflict"
    assert content_hash(api.store) == before
    for bad in ("*", 'W/"2"', "2, 3", "abc"):
        r = api.client.patch(SYS, headers=_hdr(api, "architect", bad), json={"attributes": {"vendor": "B"}})
        assert r.status_code == 400 and r.json()["code"] == "bad-if-match", bad
    for method in ("put", "delete"):
        kw = {"json": {"name": {"vi": "x"}, "attributes": {"lifecycle": "production"}}} if method == "put" else {}
        assert getattr(api.client, method)(SYS, headers=_hdr(api, "architect"), **kw).status_code == 428
        assert getattr(api.client, method)(SYS, headers=_hdr(api, "architect", tag), **kw).status_code == 412
    assert api.client.post(SYS + "/retire", headers=_hdr(api, "architect")).status_code == 428
    assert content_hash(api.store) == before


def test_conditional_get_answers_304_until_the_entity_changes(api: Api) -> None:
    tag = api.client.get(SYS).headers["etag"]
    same = api.client.get(SYS, headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.headers["etag"] == tag and same.content == b""
    assert api.client.get("/api/v1/entities/system:hcm-cong-1022", headers={"If-None-Match": tag}).status_code == 304
    api.client.patch(SYS, headers=_hdr(api, "architect", tag), json={"attributes": {"vendor": "mới"}})
    changed = api.client.get(SYS, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()["attributes"]["vendor"] == "mới"


def test_create_get_replace_retire_delete(api: Api) -> None:
    body = {
        "code": "hcm-moi",
        "name": {"vi": "Hệ thống mới", "en": "New system"},
        "owner": "organization:hcm-skhcn",
        "tags": ["thử"],
        "attributes": {"lifecycle": "planned", "security_level": 2},
    }
    r = api.client.post("/api/v1/systems", headers=api.as_("editor-skhcn"), json=body)
    assert r.status_code == 201 and r.headers["etag"] == '"1"' and r.headers["location"] == "/api/v1/systems/hcm-moi"
    assert r.json()["owner_history"][0]["org"] == "organization:hcm-skhcn"
    again = api.client.post("/api/v1/systems", headers=api.as_("editor-skhcn"), json=body)
    assert again.status_code == 409 and again.json()["code"] == "already-exists"
    put = api.client.put(
        "/api/v1/systems/hcm-moi",
        headers=_hdr(api, "editor-skhcn", '"1"'),
        json={
            "name": {"vi": "Hệ thống mới (sửa)"},
            "owner": "organization:hcm-skhcn",
            "attributes": {"lifecycle": "building"},
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["attributes"] == {"lifecycle": "building"} and put.json()["tags"] == []
    retired = api.client.post(
        "/api/v1/systems/hcm-moi/retire", headers=_hdr(api, "editor-skhcn", '"2"'), json={"on": "2026-01-31"}
    )
    assert retired.status_code == 200
    assert (retired.json()["attributes"]["lifecycle"], retired.json()["valid_to"]) == ("retired", "2026-01-31")
    gone = api.client.delete("/api/v1/systems/hcm-moi", headers=_hdr(api, "editor-skhcn", '"3"'))
    assert gone.status_code == 204 and api.store.find_entity("system:hcm-moi") is None
    assert api.client.get("/api/v1/systems/hcm-moi").status_code == 404
    ops = [(e.op, e.actor) for e in api.store.changelog(ref="system:hcm-moi")]
    assert ops == [
        ("create", "editor-skhcn"),
        ("update", "editor-skhcn"),
        ("update", "editor-skhcn"),
        ("delete", "editor-skhcn"),
    ]


def test_per_kind_list_filters_and_pages(api: Api) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    systems = sorted(e["ref"] for e in doc["entities"] if e["ref"].startswith("system:"))
    page = api.client.get("/api/v1/systems", params={"limit": 7, "offset": 7}).json()
    assert page["total"] == len(systems) and [e["ref"] for e in page["items"]] == systems[7:14]
    stc = api.client.get("/api/v1/systems", params={"owner": "organization:hcm-stc", "limit": 100}).json()
    assert {e["ref"] for e in stc["items"]} == {
        "system:hcm-dang-ky-kinh-doanh",
        "system:hcm-dau-tu-cong",
        "system:hcm-fdi",
        "system:hcm-mo-phong-du-bao",
    }


def test_changing_the_owner_keeps_the_ownership_history(api: Api) -> None:
    e = api.store.get_entity("system:hcm-fdi")
    r = api.client.patch(
        "/api/v1/systems/hcm-fdi",
        headers=_hdr(api, "architect", f'"{e.version}"'),
        json={"owner": "organization:hcm-skhcn"},
    )
    assert r.status_code == 200
    history = r.json()["owner_history"]
    assert [p["org"] for p in history] == [p.org for p in e.owner_history] + ["organization:hcm-skhcn"]
    assert history[-2]["end"] == history[-1]["start"]


def test_validation_names_fields_in_the_requested_language(api: Api) -> None:
    bad = {
        "code": "x-1",
        "name": {"vi": "X"},
        "owner": "organization:khong-co",
        "attributes": {"lifecycle": "production", "security_level": 9, "colour": "red"},
    }
    en = api.client.post(
        "/api/v1/systems", headers=_hdr(api, "admin", **{"Accept-Language": "en-GB,vi;q=0.5"}), json=bad
    )
    assert en.status_code == 422 and en.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in en.json()["errors"]}
    assert {"body.attributes.security_level", "body.attributes.colour"} <= fields
    assert en.json()["title"] == "Validation failed"
    assert "unknown field" in {e["field"]: e["reason"] for e in en.json()["errors"]}["body.attributes.colour"]
    vi = api.client.post("/api/v1/systems", headers=_hdr(api, "admin", **{"Accept-Language": "vi"}), json=bad)
    assert vi.json()["title"] == "Dữ liệu không hợp lệ"
    assert "trường không được phép" in {e["field"]: e["reason"] for e in vi.json()["errors"]}["body.attributes.colour"]
    # a well-formed body naming an organisation that does not exist: the catalog's reference check names it
    ref = api.client.post(
        "/api/v1/systems",
        headers={**api.as_("admin"), "Accept-Language": "en"},
        json={
            "code": "x-1",
            "name": {"vi": "X"},
            "owner": "organization:khong-co",
            "attributes": {"lifecycle": "planned"},
        },
    )
    assert ref.status_code == 422 and ref.json()["errors"] == [
        {"field": "owner", "reason": "organization:khong-co does not exist"}
    ]


HOSTILE = [
    ("malformed json", b'{"code": "x", ', 400, "malformed-json", None),
    ("not an object", b'[1, 2, 3]', 422, "validation-failed", None),
    (
        "wrong types",
        json.dumps({"code": 5, "name": "x", "attributes": []}).encode(),
        422,
        "validation-failed",
        "body.code",
    ),
    (
        "unknown top-level field",
        json.dumps(
            {"code": "x", "name": {"vi": "x"}, "attributes": {"lifecycle": "planned"}, "is_admin": True}
        ).encode(),
        422,
        "validation-failed",
        "body.is_admin",
    ),
    (
        "NUL",
        json.dumps({"code": "x", "name": {"vi": "a\u0000b"}, "attributes": {"lifecycle": "planned"}}).encode(),
        422,
        "validation-failed",
        "body.name.vi",
    ),
    (
        "lone surrogate",
        b'{"code": "x", "name": {"vi": "a\\ud800b"}, "attributes": {"lifecycle": "planned"}}',
        422,
        "validation-failed",
        "body.name.vi",
    ),
    (
        "RTL override",
        json.dumps({"code": "x", "name": {"vi": "exe.\u202etxt"}, "attributes": {"lifecycle": "planned"}}).encode(),
        422,
        "validation-failed",
        "body.name.vi",
    ),
    (
        "control char in a key",
        json.dumps({"code": "x", "name": {"vi": "x"}, "attributes": {"life\u0007": "planned"}}).encode(),
        422,
        "validation-failed",
        "body.attributes.life\u0007",
    ),
    (
        "deep nesting",
        b'{"code": "x", "name": {"vi": "x"}, "attributes": {"note": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        400,
        "malformed-json",
        None,
    ),
    (
        "huge number",
        b'{"code": "x", "name": {"vi": "x"}, "attributes": {"lifecycle": "planned", "users": ' + b"9" * 5000 + b"}}",
        400,
        "malformed-json",
        None,
    ),
    ("invalid utf-8", b'{"code": "x", "name": {"vi": "\xff\xfe"}}', 400, "malformed-json", None),
]


@pytest.mark.parametrize("name,body,status,code,field", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_get_problem_json(
    api: Api, name: str, body: bytes, status: int, code: str, field: str | None
) -> None:
    before = (content_hash(api.store), api.store.revision())
    r = api.client.post(
        "/api/v1/systems", headers={**api.as_("admin"), "Content-Type": "application/json"}, content=body
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == code and problem["status"] == status and problem["detail"]
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    assert (content_hash(api.store), api.store.revision()) == before


def test_nfd_text_is_stored_composed(api: Api) -> None:
    nfd = unicodedata.normalize("NFD", "Hệ thống Sở Tài chính")
    r = api.client.post(
        "/api/v1/systems",
        headers=api.as_("admin"),
        json={
            "code": "nfd",
            "name": {"vi": nfd},
            "owner": "organization:hcm-stc",
            "attributes": {"lifecycle": "planned"},
        },
    )
    assert r.status_code == 201
    assert api.store.get_entity("system:nfd").name.vi == unicodedata.normalize("NFC", nfd) != nfd


def test_body_size_limit_counts_announced_and_streamed_bytes(api: Api) -> None:
    limit = api.client.app.state.settings.max_body_bytes
    big = b'{"code": "' + b"a" * (limit + 10) + b'"}'
    r = api.client.post(
        "/api/v1/systems", headers={**api.as_("admin"), "Content-Type": "application/json"}, content=big
    )
    assert r.status_code == 413 and r.json()["code"] == "body-too-large"

    def stream():  # no Content-Length: the limit must count what arrives
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    r = api.client.post(
        "/api/v1/systems", headers={**api.as_("admin"), "Content-Type": "application/json"}, content=stream()
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/systems/a%2Fb",
        "/api/v1/systems/..%2F..%2Fetc",
        "/api/v1/systems/a%00b",
        "/api/v1/entities/system%3Ahcm-cong-1022%2F..",
        "/api/v1/entities/%F0%9F%92%A3",
        "/api/v1/systems/" + "a" * 5000,
        "/api/v1/relationships/a%3Eb%3Ec",
        "/api/v1/entities/%ED%A0%80",
        "/api/v1/search?q=%00",
        "/api/v1/search?q=%E2%80%AE",
        "/api/v1/changelog?since=yesterday",
        "/api/v1/entities/system:x?as_of=31/12/2025",
    ],
)
def test_odd_paths_and_params_never_5xx(api: Api, path: str) -> None:
    r = api.client.get(path, headers=api.as_("auditor"))
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"


def test_relationships_create_get_replace_delete(api: Api) -> None:
    body = {"type": "hosted_on", "source": "system:hcm-cong-1022", "target": "platform:hcm-ttdl"}
    existing = api.store.find_relationship("system:hcm-cong-1022>hosted_on>platform:hcm-ttdl")
    if existing:
        body["target"] = "platform:hcm-kho-du-lieu"
    r = api.client.post("/api/v1/relationships", headers=api.as_("editor-skhcn"), json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.headers["etag"] == '"1"'
    got = api.client.get(f"/api/v1/relationships/{rid}")
    assert got.status_code == 200 and got.json()["id"] == rid
    put = api.client.put(
        f"/api/v1/relationships/{rid}",
        headers=_hdr(api, "editor-skhcn", '"1"'),
        json={**body, "properties": {"protocol": "rest"}},
    )
    assert put.status_code == 200 and put.json()["properties"] == {"protocol": "rest"} and put.headers["etag"] == '"2"'
    dangling = api.client.post(
        "/api/v1/relationships", headers=api.as_("admin"), json={**body, "target": "platform:khong-co"}
    )
    assert dangling.status_code == 409 and dangling.json()["detail"] == "target: platform:khong-co không tồn tại"
    assert (
        api.client.delete(f"/api/v1/relationships/{rid}", headers=_hdr(api, "editor-skhcn", '"1"')).status_code == 412
    )
    assert (
        api.client.delete(f"/api/v1/relationships/{rid}", headers=_hdr(api, "editor-skhcn", '"2"')).status_code == 204
    )
    assert api.store.find_relationship(rid) is None
    listed = api.client.get("/api/v1/relationships", params={"ref": "system:hcm-cong-1022", "direction": "out"}).json()
    assert {x["id"] for x in listed["items"]} == {
        x.id for x in api.store.list_relationships("system:hcm-cong-1022", direction="out")
    }


def test_graph_endpoints_match_the_analysis(api: Api) -> None:
    from catalog.analysis import impact, paths

    r = api.client.get("/api/v1/entities/platform:hcm-lgsp/impact", params={"limit": 1000}).json()
    expected = impact(api.store, "platform:hcm-lgsp")
    assert r["total"] == len(expected) > 0
    assert [i["ref"] for i in r["items"]] == expected.refs
    n = api.client.get("/api/v1/entities/platform:hcm-lgsp/neighbourhood", params={"depth": 1}).json()
    direct = {x.source for x in api.store.list_relationships("platform:hcm-lgsp")} | {
        x.target for x in api.store.list_relationships("platform:hcm-lgsp")
    }
    assert {e["ref"] for e in n["entities"]} == direct | {"platform:hcm-lgsp"}
    p = api.client.get("/api/v1/paths", params={"source": "system:hcm-cong-1022", "target": "platform:hcm-ioc"}).json()
    assert p["paths"] == paths(api.store, "system:hcm-cong-1022", "platform:hcm-ioc", max_length=4)
    assert api.client.get("/api/v1/entities/platform:khong-co/impact").status_code == 404
    report = api.client.get("/api/v1/compliance").json()
    assert report["rules"] and all(f["rule"] in report["rules"] for f in report["findings"])


def test_neighbourhood_json_is_each_entity_and_relationship_as_its_model_dumps_it(api: Api) -> None:
    # the endpoint writes the stored JSON without building models: it must say exactly what the models say
    n = api.client.get("/api/v1/entities/platform:hcm-lgsp/neighbourhood", params={"depth": 2}).json()
    g = api.store.neighbourhood("platform:hcm-lgsp", depth=2, limit=200)
    assert [e["ref"] for e in n["entities"]] == sorted(g.entities) and len(n["entities"]) > 20
    for e in n["entities"]:
        assert e == api.store.get_entity(e["ref"]).model_dump(mode="json")
    stored = {r["id"]: api.store.find_relationship(r["id"]) for r in n["relationships"]}
    assert n["relationships"] == [stored[r["id"]].model_dump(mode="json") for r in n["relationships"]]  # type: ignore
    assert [r["id"] for r in n["relationships"]] == [r.id for r in g.relationships]
    assert n["depth"] == g.depth and n["truncated"] is g.truncated
    assert any(e["owner_history"] and e["description"]["vi"] for e in n["entities"])  # nested values covered


def test_change_log_filters_and_as_of(api: Api) -> None:
    e = api.store.get_entity("system:hcm-fdi")
    api.client.patch(
        "/api/v1/systems/hcm-fdi",
        headers=_hdr(api, "editor-stc", f'"{e.version}"'),
        json={"attributes": {"vendor": "Mới"}},
    )
    after = api.store.changelog(ref="system:hcm-fdi")[-1]
    log = api.client.get(
        "/api/v1/changelog", headers=api.as_("auditor"), params={"ref": "system:hcm-fdi", "actor": "editor-stc"}
    ).json()
    assert [x["seq"] for x in log["items"]] == [after.seq]
    window = api.client.get(
        "/api/v1/changelog", headers=api.as_("auditor"), params={"since": after.time, "until": after.time}
    ).json()
    assert [x["seq"] for x in window["items"]] == [after.seq]
    old = api.client.get(
        "/api/v1/entities/system:hcm-fdi",
        headers=api.as_("auditor"),
        params={"as_of": api.store.changelog(ref="system:hcm-fdi")[0].time},
    ).json()
    assert old["attributes"].get("vendor") == e.attributes.get("vendor") != "Mới"
    assert api.client.get("/api/v1/entities/system:hcm-fdi", params={"as_of": "2025-01-01"}).status_code == 403
    assert api.client.get("/api/v1/changelog/verify", headers=api.as_("auditor")).json()["ok"] is True


def test_drafts_over_http(api: Api) -> None:
    e = api.store.get_entity("system:hcm-cong-1022")
    r = api.client.post(
        "/api/v1/drafts",
        headers=api.as_("editor-skhcn"),
        json={"ref": e.ref, "base_version": e.version, "changes": {"attributes": {"vendor": "Viettel"}}, "note": "đổi"},
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert api.store.get_entity(e.ref).version == e.version  # nothing applied yet
    pending = api.client.get("/api/v1/drafts").json()["items"]
    assert [d["id"] for d in pending] == [draft["id"]]
    assert (
        api.client.post(
            f"/api/v1/drafts/{draft['id']}/approve", headers=_hdr(api, "editor-skhcn", f'"{draft["version"]}"')
        ).status_code
        == 403
    )
    ok = api.client.post(f"/api/v1/drafts/{draft['id']}/approve", headers=_hdr(api, "architect", r.headers["etag"]))
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    after = api.store.get_entity(e.ref)
    assert after.attributes["vendor"] == "Viettel" and ok.json()["applied_version"] == after.version
    assert api.store.changelog(ref=e.ref)[-1].actor == "architect"
    assert [(x.actor, x.after["status"]) for x in api.store.changelog(ref=f"record:draft/{draft['id']}")] == [
        ("editor-skhcn", "pending"),
        ("architect", "approved"),
    ]
    again = api.client.post(
        f"/api/v1/drafts/{draft['id']}/reject", headers=_hdr(api, "architect", ok.headers["etag"]), json={"reason": "x"}
    )
    assert again.status_code == 422


def test_org_event_applied_over_http(api: Api) -> None:
    r = api.client.post(
        "/api/v1/events",
        headers=api.as_("architect"),
        json={
            "id": "api-transfer",
            "type": "transfer",
            "date": "2026-06-01",
            "legal_basis": "Quyết định thử",
            "transfers": [{"entity": "system:hcm-fdi", "to": "organization:hcm-skhcn"}],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["changed"] == ["system:hcm-fdi"]
    assert api.store.get_entity("system:hcm-fdi").owner == "organization:hcm-skhcn"
    assert "api-transfer" in [x["id"] for x in api.client.get("/api/v1/events").json()["items"]]
    bad = api.client.post("/api/v1/events", headers=api.as_("architect"), json={"id": "x", "type": "teleport"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_is_a_logged_500_problem_without_internals(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """The last-resort handler (no request a client can send reaches it: the fuzz test and the cases above prove
    4xx; this route exists only in this test)."""

    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    api.client.app.add_api_route("/api/v1/_boom", boom)
    with caplog.at_level("ERROR", logger="ioc_catalog.api"):
        r = api.client.get("/api/v1/_boom", headers={"Accept-Language": "en"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal-error" and "secret" not in r.text and "Traceback" not in r.text
    assert any("secret internals" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records)


def test_method_not_allowed_and_unknown_route_are_problems(api: Api) -> None:
    r = api.client.post("/api/v1/health")
    assert r.status_code == 405 and r.json()["code"] == "method-not-allowed"
    r = api.client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.json()["title"] == "Not found"


def test_tokens_over_http_are_shown_once_and_revocable(api: Api) -> None:
    me = api.client.get("/api/v1/me", headers=api.as_("auditor")).json()
    assert me == {"name": "auditor", "role": "auditor", "org": None}
    made = api.client.post("/api/v1/tokens", headers=api.as_("auditor"), json={"label": "script", "expires_days": 30})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    token = made.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/exports/native", headers=bearer).status_code == 200
    listed = api.client.get("/api/v1/tokens", headers=bearer).json()["items"]
    assert made.json()["id"] in [t["id"] for t in listed] and all(t["user"] == "auditor" for t in listed)
    assert token not in json.dumps(listed) and "hash" not in json.dumps(listed)
    assert api.client.get("/api/v1/tokens", headers=bearer, params={"user": "admin"}).status_code == 403
    assert api.client.post("/api/v1/tokens", headers=bearer, json={"user": "admin"}).status_code == 403
    assert api.client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=bearer).status_code == 204
    assert api.client.get("/api/v1/systems", headers=bearer).status_code == 401


def test_refusals_say_why_in_both_languages(api: Api) -> None:
    h = {**api.as_("editor-stc"), "If-Match": '"1"'}
    vi = api.client.patch(SYS, headers={**h, "Accept-Language": "vi-VN"}, json={"attributes": {"vendor": "x"}}).json()
    en = api.client.patch(SYS, headers={**h, "Accept-Language": "en"}, json={"attributes": {"vendor": "x"}}).json()
    assert (vi["title"], en["title"]) == ("Không có quyền", "Permission denied")
    assert vi["detail"] == "editor-stc (editor) không được phép thực hiện thao tác này."
    assert "owned by HCMC Department of Science and Technology (organization:hcm-skhcn)" in en["errors"][0]["reason"]
    r = api.client.get("/api/v1/systems", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_request_schemas_are_derived_from_the_metamodel_with_custom_attributes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.metamodel import DEFAULT
    from catalog.settings import Settings

    ext = tmp_path / "ext.yaml"
    ext.write_text(
        "system:\n  funding_source:\n    type: enum\n    values: [state_budget, oda, ppp]\n"
        "    label: {vi: Nguồn vốn, en: Funding source}\n",
        encoding="utf-8",
    )
    settings = Settings(demo=True, store=f"sqlite:///{tmp_path / 'c.db'}", metamodel_extensions=str(ext))
    settings.open_store(create=True).close()
    with TestClient(create_app(settings)) as c:
        doc = c.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    attrs = schemas["SystemAttributes"]["properties"]
    lifecycle = DEFAULT.kinds["system"].attribute("lifecycle")
    assert set(attrs) == {a.name for a in DEFAULT.kinds["system"].attributes} | {"funding_source"}
    assert schemas["SystemAttributes"]["required"] == ["lifecycle"] and lifecycle.required
    assert set(attrs["funding_source"]["anyOf"][0]["enum"]) == {"state_budget", "oda", "ppp"}
    assert schemas["SystemAttributes"]["additionalProperties"] is False
    assert schemas["DatabaseAttributes"]["properties"]["security_level"]["anyOf"][0]["maximum"] == 5
    assert "owner" not in schemas["OrganizationCreate"]["properties"]  # organisations have no owner
    assert schemas["SystemCreate"]["examples"][0]["attributes"] == {"lifecycle": "planned"}
    for spec in DEFAULT.kinds.values():
        assert f"/api/v1/{spec.path}" in doc["paths"] and "post" in doc["paths"][f"/api/v1/{spec.path}"]
    assert "/api/v1/capabilities" in doc["paths"] and "/api/v1/processes" in doc["paths"]  # English plurals


def test_catalog_reasons_are_translated_for_vietnamese_clients(api: Api) -> None:
    body = {
        "code": "x-2",
        "name": {"vi": "X"},
        "owner": "organization:khong-co",
        "attributes": {"lifecycle": "planned"},
    }
    vi = api.client.post("/api/v1/systems", headers={**api.as_("admin"), "Accept-Language": "vi"}, json=body).json()
    assert vi["errors"] == [{"field": "owner", "reason": "organization:khong-co không tồn tại"}]
    en = api.client.post("/api/v1/systems", headers={**api.as_("admin"), "Accept-Language": "en"}, json=body).json()
    assert en["errors"] == [{"field": "owner", "reason": "organization:khong-co does not exist"}]
    missing = api.client.get("/api/v1/entities/system:khong-co/impact", headers={"Accept-Language": "vi"}).json()
    assert missing["detail"] == "system:khong-co không tồn tại"
    bad = api.client.patch(
        SYS,
        headers={**api.as_("admin"), "If-Match": api.client.get(SYS).headers["etag"], "Accept-Language": "vi"},
        json={"attributes": {"security_level": "cao"}},
    )
    assert bad.json()["errors"] == [{"field": "body.attributes.security_level", "reason": "phải là số nguyên"}]
