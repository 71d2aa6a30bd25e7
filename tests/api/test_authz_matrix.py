"""Every role (and anonymous) against every write endpoint and every export endpoint; a department editor against
another department's system. A refused request leaves the catalog exactly as it was (content hash and revision)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.digest import content_hash
from catalog.services import CatalogService
from catalog.settings import Settings
from catalog.store.base import CatalogStore

from .conftest import Api, build_catalog

ANON = "anonymous"
USERS = (ANON, "admin", "architect", "editor-skhcn", "editor-stc", "auditor", "viewer")
WRITERS_OF_SKHCN = {"admin", "architect", "editor-skhcn"}
ARCHITECTS = {"admin", "architect"}
EXPORTERS = {"admin", "architect", "auditor"}
_counter = itertools.count()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    store, tokens = build_catalog(Path(tmp_path_factory.mktemp("matrix")) / "catalog.db")
    with TestClient(create_app(Settings(demo=True), store=store), raise_server_exceptions=False) as client:
        yield Api(store, client, tokens)
    store.close()


def _system(store: CatalogStore, owner: str = "organization:hcm-skhcn") -> str:
    """A fresh production system owned by ``owner``, made by the system principal; returns its code."""
    code = f"matrix-{next(_counter)}"
    CatalogService(store).register({"kind": "system", "code": code, "name": {"vi": f"Hệ thống {code}"},
                                    "owner": owner, "attributes": {"lifecycle": "production"}})
    return code


def _version(store: CatalogStore, ref: str) -> str:
    return f'"{store.get_entity(ref).version}"'


def _rel(store: CatalogStore, code: str) -> str:
    r = CatalogService(store).link({"type": "hosted_on", "source": f"system:{code}", "target": "platform:hcm-ttdl"})
    return r.id


def _draft(store: CatalogStore, code: str) -> tuple[str, int]:
    from catalog.drafts import Drafts

    d = Drafts(store).submit(f"system:{code}", {"attributes": {"vendor": "VNPT"}}, 1)
    return d.id, d.version


Call = Callable[[Api, dict[str, str]], httpx.Response]


def _create_system(a: Api, h: dict[str, str]) -> httpx.Response:
    return a.client.post("/api/v1/systems", headers=h, json={
        "code": f"matrix-new-{next(_counter)}", "name": {"vi": "Hệ thống mới"}, "owner": "organization:hcm-skhcn",
        "attributes": {"lifecycle": "planned"}})


def _put_system(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.put(f"/api/v1/systems/{code}", headers={**h, "If-Match": '"1"'}, json={
        "name": {"vi": "Tên mới"}, "owner": "organization:hcm-skhcn", "attributes": {"lifecycle": "production"}})


def _patch_system(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.patch(f"/api/v1/systems/{code}", headers={**h, "If-Match": '"1"'},
                          json={"attributes": {"vendor": "FPT IS"}})


def _retire_system(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.post(f"/api/v1/systems/{code}/retire", headers={**h, "If-Match": '"1"'}, json={"on": "2026-01-01"})


def _delete_system(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.delete(f"/api/v1/systems/{code}", headers={**h, "If-Match": '"1"'})


def _link(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.post("/api/v1/relationships", headers=h, json={
        "type": "hosted_on", "source": f"system:{code}", "target": "platform:hcm-ttdl"})


def _relink(a: Api, h: dict[str, str]) -> httpx.Response:
    rid = _rel(a.store, _system(a.store))
    return a.client.put(f"/api/v1/relationships/{rid}", headers={**h, "If-Match": '"1"'}, json={
        "type": "hosted_on", "source": rid.split(">")[0], "target": "platform:hcm-ttdl",
        "properties": {"note": "đổi"}})


def _unlink(a: Api, h: dict[str, str]) -> httpx.Response:
    rid = _rel(a.store, _system(a.store))
    return a.client.delete(f"/api/v1/relationships/{rid}", headers={**h, "If-Match": '"1"'})


def _create_org(a: Api, h: dict[str, str]) -> httpx.Response:
    return a.client.post("/api/v1/organizations", headers=h, json={
        "code": f"matrix-org-{next(_counter)}", "name": {"vi": "Phòng mới"},
        "attributes": {"org_type": "unit", "parent": "organization:hcm-skhcn"}})


def _patch_org(a: Api, h: dict[str, str]) -> httpx.Response:
    return a.client.patch("/api/v1/organizations/hcm-ttcds", headers={
        **h, "If-Match": _version(a.store, "organization:hcm-ttcds")}, json={"attributes": {"short_name": "TTCĐS"}})


def _event(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.post("/api/v1/events", headers=h, json={
        "id": f"matrix-ev-{next(_counter)}", "type": "transfer", "date": "2026-06-01",
        "legal_basis": "Quyết định thử", "transfers": [{"entity": f"system:{code}", "to": "organization:hcm-stc"}]})


def _submit_draft(a: Api, h: dict[str, str]) -> httpx.Response:
    code = _system(a.store)
    return a.client.post("/api/v1/drafts", headers=h, json={
        "ref": f"system:{code}", "base_version": 1, "changes": {"attributes": {"vendor": "Viettel"}}})


def _approve_draft(a: Api, h: dict[str, str]) -> httpx.Response:
    draft_id, version = _draft(a.store, _system(a.store))
    return a.client.post(f"/api/v1/drafts/{draft_id}/approve", headers={**h, "If-Match": f'"{version}"'})


def _reject_draft(a: Api, h: dict[str, str]) -> httpx.Response:
    draft_id, version = _draft(a.store, _system(a.store))
    return a.client.post(f"/api/v1/drafts/{draft_id}/reject", headers={**h, "If-Match": f'"{version}"'},
                         json={"reason": "chưa đủ căn cứ"})


def _add_user(a: Api, h: dict[str, str]) -> httpx.Response:
    return a.client.post("/api/v1/users", headers=h, json={"name": f"matrix-user-{next(_counter)}", "role": "viewer"})


def _create_token(a: Api, h: dict[str, str]) -> httpx.Response:
    return a.client.post("/api/v1/tokens", headers=h, json={"label": "matrix"})


def _revoke_own_token(a: Api, h: dict[str, str]) -> httpx.Response:
    from catalog.accounts import Accounts

    me = a.client.get("/api/v1/me", headers=h).json()["name"]
    token = Accounts(a.store).create_token(me if me != "anonymous" else "viewer", "to revoke")
    return a.client.delete(f"/api/v1/tokens/{token.id}", headers=h)


WRITES: dict[str, tuple[Call, set[str]]] = {
    "create system": (_create_system, WRITERS_OF_SKHCN),
    "replace system": (_put_system, WRITERS_OF_SKHCN),
    "patch system": (_patch_system, WRITERS_OF_SKHCN),
    "retire system": (_retire_system, WRITERS_OF_SKHCN),
    "delete system": (_delete_system, WRITERS_OF_SKHCN),
    "link": (_link, WRITERS_OF_SKHCN),
    "relink": (_relink, WRITERS_OF_SKHCN),
    "unlink": (_unlink, WRITERS_OF_SKHCN),
    "create organisation": (_create_org, ARCHITECTS),
    "patch organisation": (_patch_org, ARCHITECTS),
    "apply event": (_event, ARCHITECTS),
    "submit draft": (_submit_draft, WRITERS_OF_SKHCN),
    "approve draft": (_approve_draft, ARCHITECTS),
    "reject draft": (_reject_draft, ARCHITECTS),
    "add user": (_add_user, {"admin"}),
    "create own token": (_create_token, set(USERS) - {ANON}),
    "revoke own token": (_revoke_own_token, set(USERS) - {ANON}),
}
EXPORTS = ("/api/v1/exports/native", "/api/v1/exports/native?include_changelog=true", "/api/v1/exports/xlsx",
           "/api/v1/exports/csv", "/api/v1/exports/archimate", "/api/v1/changelog")


def _state(store: CatalogStore) -> tuple[str, tuple[int, str], int]:
    return content_hash(store), store.revision(), store.count_records()  # records: drafts, users, tokens


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("name", list(WRITES))
def test_write_matrix(shared: Api, name: str, user: str, caplog: pytest.LogCaptureFixture) -> None:
    call, allowed = WRITES[name]
    headers = shared.as_(None if user == ANON else user)
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        # the call sets up its own target first; the state to compare is taken right before its (last) request
        original_request = shared.client.request
        before: list = []

        def request(*args, **kw):  # type: ignore[no-untyped-def]
            before.append(_state(shared.store))
            return original_request(*args, **kw)

        shared.client.request = request  # type: ignore[method-assign]
        try:
            r = call(shared, headers)
        finally:
            shared.client.request = original_request  # type: ignore[method-assign]
    if user in allowed:
        assert r.status_code in (200, 201, 204), (name, user, r.status_code, r.text)
        assert _state(shared.store) != before[-1]
    else:
        assert r.status_code == 403, (name, user, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "permission-denied"
        assert _state(shared.store) == before[-1], f"{user} was refused {name} but the catalog changed"
        denied = [rec.getMessage() for rec in caplog.records if rec.name == "ioc_catalog.auth"]
        assert any(user in m and "denied" in m for m in denied)
        assert not any("ioc_" in m for m in denied)  # never a token in the log


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("path", EXPORTS)
def test_export_matrix(shared: Api, path: str, user: str) -> None:
    r = shared.client.get(path, headers=shared.as_(None if user == ANON else user))
    if user in EXPORTERS:
        assert r.status_code == 200, (path, user, r.text)
        assert len(r.content) > 1000
    else:
        assert r.status_code == 403 and r.json()["code"] == "permission-denied"


def test_exports_carry_the_catalog(shared: Api) -> None:
    doc = shared.client.get("/api/v1/exports/native", headers=shared.as_("auditor")).json()
    assert len(doc["entities"]) == shared.store.count_entities()
    assert len(doc["relationships"]) == shared.store.count_relationships()
    xlsx = shared.client.get("/api/v1/exports/xlsx", headers=shared.as_("auditor"))
    assert xlsx.content[:2] == b"PK" and "spreadsheetml" in xlsx.headers["content-type"]
    xml = shared.client.get("/api/v1/exports/archimate", headers=shared.as_("auditor"))
    assert b"<model" in xml.content[:2000]


def _attempts(a: Api, h: dict[str, str]) -> dict[str, httpx.Response]:
    """A department editor of Sở Tài chính trying to change Sở KH&CN's production system every way there is."""
    ref, code = "system:hcm-cong-1022", "hcm-cong-1022"
    tag = _version(a.store, ref)
    rid = a.store.list_relationships(ref, direction="out")[0].id
    rel_tag = f'"{a.store.find_relationship(rid).version}"'
    return {
        "edit": a.client.patch(f"/api/v1/systems/{code}", headers={**h, "If-Match": tag},
                               json={"attributes": {"vendor": "Tài chính"}}),
        "replace": a.client.put(f"/api/v1/systems/{code}", headers={**h, "If-Match": tag}, json={
            "name": {"vi": "Cổng 1022"}, "owner": "organization:hcm-skhcn", "attributes": {"lifecycle": "production"}}),
        "re-own": a.client.patch(f"/api/v1/systems/{code}", headers={**h, "If-Match": tag},
                                 json={"owner": "organization:hcm-stc"}),
        "retire": a.client.post(f"/api/v1/systems/{code}/retire", headers={**h, "If-Match": tag}),
        "delete": a.client.delete(f"/api/v1/systems/{code}?cascade=true", headers={**h, "If-Match": tag}),
        "relink (new)": a.client.post("/api/v1/relationships", headers=h, json={
            "type": "hosted_on", "source": ref, "target": "platform:hcm-ttdl"}),
        "relink (change)": a.client.put(f"/api/v1/relationships/{rid}", headers={**h, "If-Match": rel_tag}, json={
            **{k: v for k, v in a.store.find_relationship(rid).model_dump(mode="json").items()
               if k in ("type", "source", "target")}, "properties": {"note": "x"}}),
        "unlink": a.client.delete(f"/api/v1/relationships/{rid}", headers={**h, "If-Match": rel_tag}),
        "draft": a.client.post("/api/v1/drafts", headers=h, json={
            "ref": ref, "base_version": int(tag.strip('"')), "changes": {"attributes": {"vendor": "x"}}}),
        "steal via event": a.client.post("/api/v1/events", headers=h, json={
            "id": "steal", "type": "transfer", "date": "2026-06-01",
            "transfers": [{"entity": ref, "to": "organization:hcm-stc"}]}),
    }


def test_department_editor_cannot_touch_another_departments_system(api: Api) -> None:
    before = _state(api.store)
    results = _attempts(api, api.as_("editor-stc"))
    assert {k: r.status_code for k, r in results.items()} == {k: 403 for k in results}
    assert _state(api.store) == before
    # and cannot give its own system away to another department either (owner after the change is checked too)
    own = "system:hcm-fdi"
    r = api.client.patch("/api/v1/systems/hcm-fdi", headers={**api.as_("editor-stc"), "If-Match": _version(api.store, own)},
                         json={"owner": "organization:hcm-skhcn"})
    assert r.status_code == 403 and _state(api.store) == before
    # the same requests by the owning department's editor go through (the refusals were about scope)
    ok = api.client.patch("/api/v1/systems/hcm-cong-1022", headers={**api.as_("editor-skhcn"),
                          "If-Match": _version(api.store, "system:hcm-cong-1022")}, json={"attributes": {"vendor": "x"}})
    assert ok.status_code == 200


def test_bad_credentials_are_401_and_never_downgraded(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    forged = "ioc_0123456789ab_" + "A" * 43
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        for headers in ({"Authorization": f"Bearer {forged}"}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                        {"Authorization": "Bearer "}):
            r = api.client.get("/api/v1/systems", headers=headers)
            assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert all(forged not in rec.getMessage() and "A" * 43 not in rec.getMessage() for rec in caplog.records)


def test_sign_in_required_when_anonymous_role_is_none(tmp_path: Path) -> None:
    store, tokens = build_catalog(tmp_path / "c.db")
    with TestClient(create_app(Settings(demo=True, anonymous_role="none"), store=store),
                    raise_server_exceptions=False) as c:
        assert c.get("/api/v1/systems").status_code == 401
        assert c.get("/api/v1/health").status_code == 401
        assert c.get("/api/v1/systems", headers={"Authorization": f"Bearer {tokens['viewer']}"}).status_code == 200
    store.close()
