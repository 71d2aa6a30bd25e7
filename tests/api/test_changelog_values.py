"""GET /api/v1/changelog with values: the proposer of an approved draft on the entity's entry, the operation, kind and
organisation filters, and ``describe=true`` (changed fields by label with values before and after, and the cause)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import Api


def _draft_approved(api: Api) -> tuple[str, int]:
    e = api.store.get_entity("system:hcm-cong-1022")
    r = api.client.post(
        "/api/v1/drafts",
        headers=api.as_("editor-skhcn"),
        json={"ref": e.ref, "base_version": e.version, "changes": {"attributes": {"vendor": "Viettel"}}},
    )
    assert r.status_code == 201, r.text
    ok = api.client.post(
        f"/api/v1/drafts/{r.json()['id']}/approve", headers={**api.as_("architect"), "If-Match": r.headers["etag"]}
    )
    assert ok.status_code == 200, ok.text
    return e.ref, api.store.changelog(ref=e.ref)[-1].seq


def test_entries_carry_the_proposer_and_describe_their_values(api: Api) -> None:
    ref, seq = _draft_approved(api)
    page = api.client.get(
        "/api/v1/changelog",
        headers=api.as_("auditor"),
        params={"ref": ref, "after_seq": seq - 1, "describe": "true", "lang": "en"},
    ).json()
    entry = page["items"][0]
    assert (entry["seq"], entry["actor"], entry["proposer"]) == (seq, "architect", "editor-skhcn")
    assert (
        entry["before"]["attributes"].get("vendor") != "Viettel" and entry["after"]["attributes"]["vendor"] == "Viettel"
    )
    described = page["described"][str(seq)]
    vendor = [f for f in described["fields"] if f["field"] == "attributes.vendor"]
    assert vendor and vendor[0]["label"] == "Vendor" and vendor[0]["after"] == "Viettel"
    assert described["causes"] == ["Draft proposed by editor-skhcn, approved by architect"]
    assert described["item"] == "1022 citizen-feedback portal"  # the entity by its English name
    # entries without a proposer do not carry the field at all
    first = api.client.get("/api/v1/changelog", headers=api.as_("auditor"), params={"limit": 1}).json()["items"][0]
    assert "proposer" not in first
    # the actor filter finds the change under its proposer once the log is filtered by operation
    by_proposer = api.client.get(
        "/api/v1/changelog", headers=api.as_("auditor"), params={"actor": "editor-skhcn", "op": "update"}
    ).json()
    assert seq in [x["seq"] for x in by_proposer["items"]]


def test_operation_kind_and_organisation_filters(api: Api) -> None:
    ref, seq = _draft_approved(api)
    get = api.client.get
    h = api.as_("auditor")
    updates = get("/api/v1/changelog", headers=h, params={"op": "update", "kind": "system"}).json()["items"]
    assert updates and {(x["op"], x["ref"].split(":")[0]) for x in updates} == {("update", "system")}
    orgs = get("/api/v1/changelog", headers=h, params={"kind": "organization", "limit": 5}).json()
    assert len(orgs["items"]) == 5 and orgs["next_after_seq"] == orgs["items"][-1]["seq"]
    more = get(
        "/api/v1/changelog", headers=h, params={"kind": "organization", "after_seq": orgs["next_after_seq"]}
    ).json()
    assert more["items"] and more["items"][0]["seq"] > orgs["next_after_seq"]
    skhcn = get("/api/v1/changelog", headers=h, params={"org": "organization:hcm-skhcn", "limit": 1000}).json()
    assert seq in [x["seq"] for x in skhcn["items"]]
    stc = get("/api/v1/changelog", headers=h, params={"org": "organization:hcm-stc", "limit": 1000}).json()
    assert seq not in [x["seq"] for x in stc["items"]] and stc["items"]
    bad = get("/api/v1/changelog", headers=h, params={"op": "rename"})
    assert bad.status_code == 422 and "op" in bad.text
    assert get("/api/v1/changelog", headers=h, params={"kind": "Robert'); DROP"}).status_code == 422
    assert get("/api/v1/changelog", headers=api.as_("viewer"), params={"op": "update"}).status_code == 403


def test_cli_history_names_the_proposer(api: Api, tmp_path: Path) -> None:
    ref, _ = _draft_approved(api)
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "IOC_CATALOG_LANG": "en"}
    env.pop("IOC_CATALOG_STORE", None)
    r = subprocess.run(
        [sys.executable, "-m", "api.cli", "history", ref, "--store", f"sqlite:///{tmp_path / 'catalog.db'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "architect (proposed by editor-skhcn)" in r.stdout
