"""Who first, over HTTP: every write route checks the caller's permission before anything about the request, and the
write paths that touch more than one entity keep a department editor inside their organisation (issue 13, items
1, 6, 7 and 9). A refused request leaves the catalog as it was (content hash, change-log head, records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.common import PERMISSION
from catalog.digest import content_hash
from catalog.services import CatalogService
from catalog.settings import Settings
from catalog.store.base import CatalogStore

from .conftest import Api

WRITE_METHODS = ("post", "put", "patch", "delete")
PATH_VALUES = {
    "code": "hcm-cong-1022",
    "rel_id": "a:b>reads>c:d",
    "draft_id": "0123456789ab",
    "token_id": "0123456789ab",
}
BAD_BODIES: dict[str, tuple[bytes | None, str | None]] = {
    "schema": (b'{"bogus": 1, "name": 7}', "application/json"),
    "lone surrogate key": (b'{"\\ud800": 1}', "application/json"),
    "control character": (b'{"name": {"vi": "a\\u0000b"}}', "application/json"),
    "malformed JSON": (b'{"name": ', "application/json"),
    "not JSON": (b"name=x", "application/x-www-form-urlencoded"),
    "no body": (None, None),
}


def _state(store: CatalogStore) -> tuple[str, tuple[int, str], int]:
    return content_hash(store), store.revision(), store.count_records()


def _write_routes(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    doc = client.get("/openapi.json").json()
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in WRITE_METHODS and path.startswith("/api/v1/")
    ]


def _url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


def test_every_write_route_declares_its_permission(api: Api) -> None:
    routes = _write_routes(api.client)
    assert len(routes) > 30  # per kind: create, replace, patch, retire, delete; relationships, drafts, events
    assert {(m, p) for m, p, op in routes if PERMISSION not in op} == set()
    declared = {op[PERMISSION] for _, _, op in routes}
    assert declared == {"write", "approve", "event", "admin", "signed-in"}
    by_path = {(m, p): op[PERMISSION] for m, p, op in routes}
    assert (
        by_path[("post", "/api/v1/events")],
        by_path[("post", "/api/v1/drafts/{draft_id}/approve")],
        by_path[("post", "/api/v1/datasets/{code}/retire")],
        by_path[("post", "/api/v1/users")],
        by_path[("delete", "/api/v1/tokens/{token_id}")],
    ) == ("event", "approve", "write", "admin", "signed-in")


@pytest.mark.parametrize("body", list(BAD_BODIES))
@pytest.mark.parametrize("who", ["anonymous", "viewer", "auditor", "editor-skhcn"])
def test_who_is_checked_before_the_body(api: Api, who: str, body: str) -> None:
    """Anonymous callers (role viewer), viewers and auditors get 403 on every write route they may not use whatever
    they send (no If-Match either); a department editor gets 403 on the routes that need more than write."""
    content, ctype = BAD_BODIES[body]
    headers = {**api.as_(None if who == "anonymous" else who), **({"Content-Type": ctype} if ctype else {})}
    before = _state(api.store)
    answers = {}
    for method, path, op in _write_routes(api.client):
        action = op[PERMISSION]
        if action == "signed-in" and who != "anonymous" or who == "editor-skhcn" and action == "write":
            continue
        r = api.client.request(method.upper(), _url(path), content=content, headers=headers)
        answers[f"{method} {path}"] = (r.status_code, r.json().get("code"), r.headers["content-type"])
    assert answers and set(answers.values()) == {(403, "permission-denied", "application/problem+json")}, answers
    assert _state(api.store) == before


@pytest.mark.parametrize("body", ["schema", "lone surrogate key", "malformed JSON"])
def test_sign_in_is_asked_for_first_when_anonymous_role_is_none(
    tmp_path: Path, template_catalog: Any, body: str
) -> None:
    import shutil

    from catalog.store import open_store

    shutil.copyfile(template_catalog[0], tmp_path / "c.db")
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with TestClient(
            create_app(Settings(demo=True, anonymous_role="none"), store=store), raise_server_exceptions=False
        ) as c:
            content, ctype = BAD_BODIES[body]
            codes = {
                c.request(m.upper(), _url(p), content=content, headers={"Content-Type": ctype}).status_code
                for m, p, op in _write_routes(c)
                if PERMISSION in op
            }
            assert codes == {401}
    finally:
        store.close()


def test_allowed_callers_still_get_their_422(api: Api) -> None:
    """The check comes first; it does not hide what is wrong with an allowed caller's request."""
    r = api.client.post("/api/v1/systems", headers=api.as_("editor-skhcn"), json={"bogus": 1})
    assert r.status_code == 422
    r = api.client.patch("/api/v1/systems/hcm-cong-1022", headers=api.as_("architect"), json={"bogus": 1})
    assert r.status_code == 428  # If-Match is checked before the body, as before


# --- item 1: a cascade delete over HTTP --------------------------------------------------------------------------


def test_an_editors_cascade_delete_cannot_remove_another_departments_relationship(api: Api) -> None:
    s = CatalogService(api.store)
    s.register(
        {
            "kind": "database",
            "code": "csdl-cua-skhcn",
            "name": {"vi": "CSDL của Sở KH&CN"},
            "owner": "organization:hcm-skhcn",
            "attributes": {"lifecycle": "production", "scope": "shared"},
        }
    )
    theirs = s.register(
        {
            "kind": "system",
            "code": "he-thong-cua-stc",
            "name": {"vi": "Hệ thống của Sở Tài chính"},
            "owner": "organization:hcm-stc",
            "attributes": {"lifecycle": "production"},
        }
    )
    rid = s.link({"type": "reads", "source": theirs.ref, "target": "database:csdl-cua-skhcn"}).id
    before = _state(api.store)
    url = "/api/v1/databases/csdl-cua-skhcn?cascade=true"
    r = api.client.delete(url, headers={**api.as_("editor-skhcn"), "If-Match": '"1"'})
    assert r.status_code == 403 and r.json()["code"] == "permission-denied"
    assert rid in json.dumps(r.json()["errors"], ensure_ascii=False)
    assert _state(api.store) == before
    # the relationship itself cannot be deleted by that editor either (the rule the cascade now follows)
    r = api.client.delete(f"/api/v1/relationships/{rid}", headers={**api.as_("editor-skhcn"), "If-Match": '"1"'})
    assert r.status_code == 403 and _state(api.store) == before
    # an architect may
    assert api.client.delete(url, headers={**api.as_("architect"), "If-Match": '"1"'}).status_code == 204
    assert api.store.find_relationship(rid) is None


# --- items 6, 7, 9 over HTTP --------------------------------------------------------------------------------------


def test_a_draft_with_smuggled_fields_is_refused_in_both_languages(api: Api) -> None:
    e = api.store.get_entity("system:hcm-cong-1022")
    before = _state(api.store)
    body = {
        "ref": e.ref,
        "base_version": e.version,
        "changes": {
            "version": 1,
            "owner_history": [{"org": "organization:hcm-skhcn", "start": "2000-01-01"}],
            "attributes": {"vendor": "x"},
        },
    }
    for lang, text in (("en", "ownership history is kept by the catalog"), ("vi", "lịch sử chủ quản")):
        r = api.client.post("/api/v1/drafts", headers={**api.as_("editor-skhcn"), "Accept-Language": lang}, json=body)
        assert r.status_code == 422, r.text
        errors = {x["field"]: x["reason"] for x in r.json()["errors"]}
        assert set(errors) == {"changes.version", "changes.owner_history"}
        assert text in errors["changes.owner_history"]
    assert _state(api.store) == before


def test_a_nonsense_event_is_refused_naming_the_field(api: Api) -> None:
    before = _state(api.store)
    r = api.client.post(
        "/api/v1/events",
        headers={**api.as_("architect"), "Accept-Language": "vi"},
        json={
            "id": "tu-sap-nhap",
            "type": "absorb",
            "date": "2026-06-01",
            "from": ["organization:hcm-skhcn"],
            "to": ["organization:hcm-skhcn"],
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "to.0",
            "reason": "tổ chức vừa ở 'from' vừa ở 'to': không thể hợp nhất, "
            "sáp nhập, chia tách vào hay kế thừa chính nó",
        }
    ]
    assert _state(api.store) == before


def test_datasets_can_be_retired(api: Api) -> None:
    CatalogService(api.store).register(
        {
            "kind": "dataset",
            "code": "du-lieu-dan-cu",
            "name": {"vi": "Dữ liệu dân cư"},
            "owner": "organization:hcm-skhcn",
        }
    )
    r = api.client.post(
        "/api/v1/datasets/du-lieu-dan-cu/retire",
        headers={**api.as_("editor-skhcn"), "If-Match": '"1"'},
        json={"on": "2026-01-01"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["valid_to"], "lifecycle" in r.json()["attributes"]) == ("2026-01-01", False)
    r = api.client.post("/api/v1/datasets/du-lieu-dan-cu/retire", headers={**api.as_("editor-stc"), "If-Match": '"2"'})
    assert r.status_code == 403
