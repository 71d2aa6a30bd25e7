"""Findings 1 and 9 of issue 13, reproduced against the real server as they were found, and every write path that
changes more than the entity it names (cascade delete, retire, organisation events, draft approval) tried by a
department editor whose change would touch another organisation.

1. ``DELETE /api/v1/databases/{own code}?cascade=true`` by Sở KH&CN's editor removed
   ``system:<Sở Tài chính's system> -writes-> database:<own database>`` (204), although deleting that relationship
   directly was refused (403). Now: 403 problem+json naming the relationship, nothing deleted.
9. Retiring a dataset answered 422 ("attributes.lifecycle: not an attribute of dataset"), for admins too, and
   anonymous or read-only clients sending an invalid body got 422 instead of 401/403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from security.harness import ANON, OTHER_ORG, OWN_ORG, Server, fresh, problem

OWN_DB = "hcm-csdl-doanh-nghiep"  # Sở KH&CN's; Sở Tài chính's systems write and read it (the sample)
OTHERS_LINK = "system:hcm-fdi>writes>database:hcm-csdl-doanh-nghiep"


def _rels(s: Server, ref: str) -> list[dict[str, Any]]:
    return s.get("/api/v1/relationships", params={"ref": ref, "limit": 10000}).json()["items"]


def _register(s: Server, kind: str, plural: str, owner: str = OWN_ORG, **attributes: Any) -> str:
    code = fresh(f"sec-{kind}")
    r = s.request(
        "POST",
        f"/api/v1/{plural}",
        json={"code": code, "name": {"vi": f"Thử {code}"}, "owner": owner, "attributes": attributes},
    )
    assert r.status_code == 201, r.text
    return code


def _link(s: Server, source: str, type_: str, target: str, user: str = "admin") -> dict[str, Any]:
    r = s.request("POST", "/api/v1/relationships", user, json={"type": type_, "source": source, "target": target})
    assert r.status_code == 201, r.text
    return r.json()


def test_cascade_delete_cannot_remove_another_organisations_relationship(server: Server) -> None:
    ref = f"database:{OWN_DB}"
    assert OTHERS_LINK in {r["id"] for r in _rels(server, ref)}  # the sample as the tester found it
    # deleting that relationship directly was already refused
    rel = server.get(f"/api/v1/relationships/{OTHERS_LINK}").json()
    direct = server.request(
        "DELETE", f"/api/v1/relationships/{OTHERS_LINK}", "editor-skhcn", headers={"If-Match": f'"{rel["version"]}"'}
    )
    assert direct.status_code == 403
    before = server.state()
    r = server.request(
        "DELETE",
        f"/api/v1/databases/{OWN_DB}",
        "editor-skhcn",
        params={"cascade": "true"},
        headers={"If-Match": server.etag(f"/api/v1/databases/{OWN_DB}")},
    )
    assert r.status_code == 403, r.text
    body = problem(r)
    assert body["code"] == "permission-denied"
    assert OTHERS_LINK in body["detail"] + " ".join(e["reason"] for e in body.get("errors", []))
    assert server.state() == before
    assert OTHERS_LINK in {x["id"] for x in _rels(server, ref)}
    assert server.get(f"/api/v1/databases/{OWN_DB}").status_code == 200


def test_cascade_delete_inside_the_editors_scope_goes_through(server: Server) -> None:
    """The refusal above is about the other organisation's relationship, not about cascades."""
    db = _register(server, "database", "databases", lifecycle="production", scope="internal")
    system = _register(server, "system", "systems", lifecycle="production")
    _link(server, f"system:{system}", "reads", f"database:{db}", "editor-skhcn")
    r = server.request(
        "DELETE",
        f"/api/v1/databases/{db}",
        "editor-skhcn",
        params={"cascade": "true"},
        headers={"If-Match": server.etag(f"/api/v1/databases/{db}")},
    )
    assert r.status_code == 204, r.text
    assert server.get(f"/api/v1/databases/{db}").status_code == 404
    assert _rels(server, f"system:{system}") == []


def test_cascade_refusal_is_the_same_for_one_relationship_added_by_an_architect(server: Server) -> None:
    """An editor's own fresh database, linked from another organisation's system by an architect: cascade refused,
    the plain delete (no cascade) refused too because relationships still use it."""
    db = _register(server, "database", "databases", lifecycle="production", scope="internal")
    other = _register(server, "system", "systems", owner=OTHER_ORG, lifecycle="production")
    rel = _link(server, f"system:{other}", "reads", f"database:{db}", "architect")
    before = server.state()
    for params in ({"cascade": "true"}, {}):
        r = server.request(
            "DELETE", f"/api/v1/databases/{db}", "editor-skhcn", params=params, headers={"If-Match": '"1"'}
        )
        assert r.status_code in ((403,) if params else (403, 409)), r.text
        if params:
            assert rel["id"] in problem(r)["detail"] + str(problem(r).get("errors"))
    assert server.state() == before


def test_retire_changes_only_the_named_entity(server: Server) -> None:
    """Retiring one's own database that other organisations' systems read: the database is retired, their
    relationships stay exactly as they were (the compliance rules flag them); another organisation's editor may not
    retire it at all."""
    ref = "database:hcm-csdl-ban-do-so"
    others = {r["id"]: r for r in _rels(server, ref)}
    assert any(r["source"] == "system:hcm-dia-chinh" for r in others.values())  # Sở NN&MT's system reads it
    tag = server.etag(f"/api/v1/databases/{ref.split(':')[1]}")
    before = server.state()
    refused = server.request(
        "POST", "/api/v1/databases/hcm-csdl-ban-do-so/retire", "editor-stc", headers={"If-Match": tag}, json={}
    )
    assert refused.status_code == 403 and problem(refused)["code"] == "permission-denied"
    assert server.state() == before
    r = server.request(
        "POST", "/api/v1/databases/hcm-csdl-ban-do-so/retire", "editor-skhcn", headers={"If-Match": tag}, json={}
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["lifecycle"] == "retired" and r.json()["valid_to"]
    assert {r["id"]: r for r in _rels(server, ref)} == others
    log = server.get("/api/v1/changelog", params={"after_seq": before.head[0]}).json()["items"]
    assert [e["ref"] for e in log] == [ref]  # one entry: the database, nothing else


def test_editor_cannot_move_ownership_by_an_organisation_event(server: Server) -> None:
    own = _register(server, "system", "systems", lifecycle="production")
    before = server.state()
    today = dt.date.today().isoformat()
    attempts = [
        {
            "id": fresh("sec-ev"),
            "type": "transfer",
            "date": today,
            "legal_basis": "thử",
            "transfers": [{"entity": f"system:{own}", "to": OTHER_ORG}],
        },
        {
            "id": fresh("sec-ev"),
            "type": "transfer",
            "date": today,
            "legal_basis": "thử",
            "transfers": [{"entity": "system:hcm-fdi", "to": OWN_ORG}],
        },
        {
            "id": fresh("sec-ev"),
            "type": "merge",
            "date": today,
            "legal_basis": "thử",
            "from": [OTHER_ORG],
            "to": [OWN_ORG],
        },
    ]
    for body in attempts:
        r = server.request("POST", "/api/v1/events", "editor-skhcn", json=body)
        assert r.status_code == 403 and problem(r)["code"] == "permission-denied", r.text
    assert server.state() == before


def test_draft_approval_applies_only_what_the_submitter_may_still_change(server: Server) -> None:
    """Sở KH&CN's editor drafts a change to a system of one of its units; the unit then moves under Sở Tài chính
    (the system itself is unchanged); an architect's approval is refused and nothing is applied."""
    unit = fresh("sec-unit")
    r = server.request(
        "POST",
        "/api/v1/organizations",
        "architect",
        json={"code": unit, "name": {"vi": "Phòng thử"}, "attributes": {"org_type": "unit", "parent": OWN_ORG}},
    )
    assert r.status_code == 201, r.text
    system = _register(server, "system", "systems", owner=f"organization:{unit}", lifecycle="production")
    d = server.request(
        "POST",
        "/api/v1/drafts",
        "editor-skhcn",
        json={"ref": f"system:{system}", "base_version": 1, "changes": {"attributes": {"vendor": "Đơn vị cũ"}}},
    )
    assert d.status_code == 201, d.text
    moved = server.request(
        "PATCH",
        f"/api/v1/organizations/{unit}",
        "architect",
        headers={"If-Match": server.etag(f"/api/v1/organizations/{unit}")},
        json={"attributes": {"parent": OTHER_ORG}},
    )
    assert moved.status_code == 200, moved.text
    before = server.state()
    r = server.request(
        "POST", f"/api/v1/drafts/{d.json()['id']}/approve", "architect", headers={"If-Match": d.headers["etag"]}
    )
    assert r.status_code == 403, r.text
    assert problem(r)["code"] == "permission-denied"
    assert server.state() == before
    assert server.get(f"/api/v1/drafts/{d.json()['id']}").json()["status"] == "pending"
    assert "vendor" not in server.get(f"/api/v1/systems/{system}").json()["attributes"]


def test_an_admin_retires_a_dataset(server: Server) -> None:
    code = fresh("sec-dataset")
    r = server.request(
        "POST",
        "/api/v1/datasets",
        json={"code": code, "name": {"vi": "Tập dữ liệu thử"}, "owner": OWN_ORG, "attributes": {}},
    )
    assert r.status_code == 201, r.text
    retired = server.request(
        "POST",
        f"/api/v1/datasets/{code}/retire",
        headers={"If-Match": r.headers["etag"]},
        json={"on": dt.date.today().isoformat()},
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["valid_to"] == dt.date.today().isoformat()
    # a retired dataset is out of service: nothing new may read it
    system = _register(server, "system", "systems", lifecycle="production")
    link = server.request(
        "POST",
        "/api/v1/relationships",
        json={"type": "reads", "source": f"system:{system}", "target": f"dataset:{code}"},
    )
    assert link.status_code == 409, link.text


@pytest.mark.parametrize("user", [ANON, "viewer", "auditor"])
@pytest.mark.parametrize("call", ["create", "retire", "link", "event", "draft"])
def test_who_is_checked_before_what(server: Server, user: str, call: str) -> None:
    """Anonymous and read-only clients sending an invalid body (as found: 422) are refused for who they are."""
    requests = {
        "create": ("POST", "/api/v1/datasets", {"code": "X", "attributes": {"lifecycle": "retired"}}, {}),
        "retire": ("POST", "/api/v1/datasets/anything/retire", {"on": "not a date"}, {}),
        "link": ("POST", "/api/v1/relationships", {"type": 1}, {}),
        "event": ("POST", "/api/v1/events", {"type": "merge"}, {}),
        "draft": ("POST", "/api/v1/drafts", {"ref": "?"}, {}),
    }
    method, path, body, headers = requests[call]
    before = server.state()
    r = server.request(method, path, user, json=body, headers=headers)
    assert r.status_code in ((401, 403) if user == ANON else (403,)), (r.status_code, r.text)
    assert problem(r)["code"] in ("permission-denied", "unauthenticated")
    # no If-Match, malformed JSON: still who first
    r = server.request(method, path, user, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code in ((401, 403) if user == ANON else (403,)), (r.status_code, r.text)
    assert server.state() == before
