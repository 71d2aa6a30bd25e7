"""Authorisation on every write path that changes more than the entity it names (issue 13, items 1, 6, 7 and 9).

A department editor of Sở A tries, every way there is, to change what belongs to Sở B: a cascade delete, a
retire, an organisation event, an import, a draft's approval, fields smuggled into a draft. Each refusal leaves the
catalog exactly as it was: content hash, change-log head and the number of records (drafts, import runs). Then
organisation events that make no sense, and retiring a kind without a lifecycle (datasets). Both backends.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.accounts import Accounts
from catalog.digest import content_hash
from catalog.drafts import Drafts
from catalog.errors import CatalogError, IntegrityError, PermissionDenied, ValidationFailed
from catalog.i18n import code_of, has
from catalog.permissions import SYSTEM, Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

D = dt.date
TODAY = D(2026, 1, 15)
A, A_UNIT, B, CITY = "organization:so-a", "organization:so-a-ttcds", "organization:so-b", "organization:city"
EDITOR_A = Principal("editor-a", "editor", A)
ARCHITECT = Principal("arch", "architect")
OTHERS_READ = "system:sys-b>reads>database:db-a"


def _svc(store: CatalogStore, who: Principal = SYSTEM) -> CatalogService:
    return CatalogService(store, who, today=TODAY)


@pytest.fixture
def city(store: CatalogStore) -> CatalogStore:
    """Sở A (with a unit) and Sở B under the city. Sở A owns a database that Sở B's system reads."""
    s = _svc(store)
    s.register({"ref": CITY, "name": {"vi": "UBND"}, "attributes": {"org_type": "city"}})
    for ref, parent, kind in ((A, CITY, "department"), (B, CITY, "department"), (A_UNIT, A, "unit")):
        s.register({"ref": ref, "name": {"vi": ref}, "attributes": {"org_type": kind, "parent": parent}})
    for ref, owner in (("system:sys-a", A), ("system:sys-b", B)):
        s.register({"ref": ref, "name": {"vi": ref}, "owner": owner, "attributes": {"lifecycle": "production"}})
    s.register(
        {
            "ref": "database:db-a",
            "name": {"vi": "CSDL A"},
            "owner": A,
            "attributes": {"lifecycle": "production", "scope": "shared"},
        }
    )
    s.register({"ref": "dataset:ds-a", "name": {"vi": "Dữ liệu A"}, "owner": A, "valid_from": "2020-01-01"})
    s.register({"ref": "dataset:ds-b", "name": {"vi": "Dữ liệu B"}, "owner": B})
    s.link({"type": "reads", "source": "system:sys-a", "target": "database:db-a"})
    s.link({"type": "reads", "source": "system:sys-b", "target": "database:db-a"})
    return store


def state(store: CatalogStore) -> tuple[str, tuple[int, str], int]:
    """What a refusal must leave unchanged: the catalog's content, the change-log head, the records."""
    return content_hash(store), store.revision(), store.count_records()


def refused(store: CatalogStore, attempt: Callable[[], Any], error: type[CatalogError]) -> CatalogError:
    before = state(store)
    with pytest.raises(error) as exc:
        attempt()
    assert state(store) == before, "a refused write changed the catalog"
    return exc.value


# --- item 1: cascade, retire, events, imports, approval -------------------------------------------------------------


def test_cascade_delete_refuses_to_remove_another_organisations_relationship(city: CatalogStore) -> None:
    editor = _svc(city, EDITOR_A)
    db = city.get_entity("database:db-a")
    err = refused(city, lambda: editor.delete("database:db-a", db.version, cascade=True), PermissionDenied)
    assert OTHERS_READ in err.message and "system:sys-a>reads" not in err.message
    # the same rule as removing that relationship directly
    other = city.find_relationship(OTHERS_READ)
    refused(city, lambda: editor.unlink(OTHERS_READ, other.version), PermissionDenied)
    # once Sở B's link is gone, the editor's cascade removes their own relationship and the database
    _svc(city).unlink(OTHERS_READ, other.version)
    editor.delete("database:db-a", db.version, cascade=True)
    assert city.find_entity("database:db-a") is None and city.list_relationships("system:sys-a") == []
    assert [c.actor for c in city.changelog()[-2:]] == ["editor-a", "editor-a"]


def test_cascade_names_the_refused_relationships_and_an_architect_may_cascade(city: CatalogStore) -> None:
    s = _svc(city)
    for i in range(25):
        ref = f"system:b-{i:02d}"
        s.register({"ref": ref, "name": {"vi": ref}, "owner": B, "attributes": {"lifecycle": "production"}})
        s.link({"type": "reads", "source": ref, "target": "database:db-a"})
    db = city.get_entity("database:db-a")
    err = refused(
        city, lambda: _svc(city, EDITOR_A).delete("database:db-a", db.version, cascade=True), PermissionDenied
    )
    assert "26 relationships" in err.message and "and 6 more" in err.message
    assert "26 quan hệ" in err.text("vi") and "và 6 mục nữa" in err.text("vi")
    assert "system:b-00>reads>database:db-a" in err.message
    _svc(city, ARCHITECT).delete("database:db-a", db.version, cascade=True)
    assert city.find_entity("database:db-a") is None
    assert city.list_relationships(type="reads") == []


def test_an_editors_retire_changes_only_their_entity(city: CatalogStore) -> None:
    editor = _svc(city, EDITOR_A)
    rel_before = city.find_relationship(OTHERS_READ)
    head = city.revision()[0]
    retired = editor.retire("database:db-a", city.get_entity("database:db-a").version, on=D(2026, 2, 1))
    assert (retired.attributes["lifecycle"], retired.valid_to) == ("retired", D(2026, 2, 1))
    assert [c.ref for c in city.changelog(after_seq=head)] == ["database:db-a"]  # one write: the database
    assert city.find_relationship(OTHERS_READ) == rel_before  # Sở B's relationship untouched
    sys_b = city.get_entity("system:sys-b")
    refused(city, lambda: editor.retire("system:sys-b", sys_b.version), PermissionDenied)
    ds_b = city.get_entity("dataset:ds-b")
    refused(city, lambda: editor.retire("dataset:ds-b", ds_b.version), PermissionDenied)


def test_editors_may_neither_apply_events_nor_import(city: CatalogStore, tmp_path: Path) -> None:
    from importers.base import run_import

    editor = _svc(city, EDITOR_A)
    # even an event that moves only the editor's own system to the editor's own unit
    refused(
        city,
        lambda: editor.apply_event(
            {
                "id": "own",
                "type": "transfer",
                "date": "2026-01-10",
                "transfers": [{"entity": "system:sys-a", "to": A_UNIT}],
            }
        ),
        PermissionDenied,
    )
    refused(
        city,
        lambda: editor.apply_event({"id": "steal", "type": "absorb", "date": "2026-01-10", "from": [B], "to": [A]}),
        PermissionDenied,
    )
    native = tmp_path / "catalog.json"
    native.write_text(
        json.dumps(
            {
                "entities": [
                    {
                        "ref": "system:sys-b",
                        "name": {"vi": "Chiếm"},
                        "owner": A,
                        "attributes": {"lifecycle": "production"},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    refused(city, lambda: run_import(city, native, principal=EDITOR_A), PermissionDenied)
    refused(city, lambda: run_import(city, native, principal=EDITOR_A, dry_run=True), PermissionDenied)


def test_an_approval_applies_only_what_the_submitter_may_still_change(city: CatalogStore) -> None:
    s = _svc(city)
    s.register(
        {
            "ref": "system:unit-app",
            "name": {"vi": "Ứng dụng"},
            "owner": A_UNIT,
            "attributes": {"lifecycle": "production"},
        }
    )
    d = Drafts(city, EDITOR_A, today=TODAY).submit("system:unit-app", {"attributes": {"vendor": "VNPT"}}, 1)
    # meanwhile the unit moves under Sở B: the editor of Sở A may no longer change what it owns (the system itself
    # is unchanged, so the draft is not stale)
    unit = city.get_entity(A_UNIT)
    _svc(city, ARCHITECT).patch(A_UNIT, {"attributes": {"parent": B}}, unit.version)
    err = refused(city, lambda: Drafts(city, ARCHITECT, today=TODAY).approve(d.id, d.version), PermissionDenied)
    assert "submitter" in err.message and A_UNIT in err.message
    assert Drafts(city, ARCHITECT).get(d.id).status == "pending"
    # the architect rejects it (or makes the change under their own name)
    assert Drafts(city, ARCHITECT, today=TODAY).reject(d.id, d.version, "đơn vị đã chuyển về Sở B").status == "rejected"


def test_a_disabled_submitter_s_draft_cannot_be_approved(city: CatalogStore) -> None:
    user = Accounts(city).add_user("lan", "editor", A)
    d = Drafts(city, user.principal(), today=TODAY).submit("system:sys-a", {"tags": ["ioc"]}, 1)
    assert (d.submitter_role, d.submitter_org) == ("editor", A)
    Accounts(city).set_disabled("lan")
    err = refused(city, lambda: Drafts(city, ARCHITECT, today=TODAY).approve(d.id, d.version), PermissionDenied)
    assert "disabled" in err.message
    Accounts(city).set_disabled("lan", False)
    approved = Drafts(city, ARCHITECT, today=TODAY).approve(d.id, d.version)
    assert approved.status == "approved" and city.get_entity("system:sys-a").tags == ["ioc"]


# --- item 6: a draft carries what the submitter's PATCH may change, nothing else -------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("version", 99),
        ("created_at", "2000-01-01T00:00:00Z"),
        ("updated_at", "2000-01-01T00:00:00Z"),
        ("kind", "database"),
        ("code", "other"),
        ("ref", "system:other"),
        ("provenance", {"source": "x", "run": "y"}),
        ("owner_history", [{"org": A, "start": "2000-01-01"}]),
        ("bogus", 1),
    ],
)
def test_drafts_refuse_smuggled_fields_at_submission(city: CatalogStore, field: str, value: Any) -> None:
    drafts = Drafts(city, EDITOR_A, today=TODAY)
    err = refused(city, lambda: drafts.submit("system:sys-a", {"tags": ["ok"], field: value}, 1), ValidationFailed)
    assert [e.location for e in err.errors] == [f"changes.{field}"]
    assert code_of(err.errors[0].reason).startswith("change-")  # a message with its Vietnamese and English texts
    # the direct change refuses the same field, through the same merge
    err = refused(city, lambda: _svc(city, EDITOR_A).patch("system:sys-a", {field: value}, 1), ValidationFailed)
    assert [e.location for e in err.errors] == [field]


def test_a_draft_cannot_rewrite_ownership_history(city: CatalogStore) -> None:
    """Sở B owned the system until 2024; Sở A since. Neither a draft nor a direct change by Sở A's editor may
    rewrite that past; an owner change (to Sở A's unit) is a transfer from the day it is applied."""
    s = _svc(city)
    s.update(
        "system:sys-a",
        {
            **city.get_entity("system:sys-a").model_dump(mode="json", exclude={"ref"}),
            "owner_history": [
                {"org": B, "start": "2019-01-01", "end": "2024-01-01"},
                {"org": A, "start": "2024-01-01"},
            ],
        },
        1,
    )
    e = city.get_entity("system:sys-a")
    mine_forever = [{"org": A, "start": "2019-01-01"}]
    refused(
        city,
        lambda: Drafts(city, EDITOR_A, today=TODAY).submit("system:sys-a", {"owner_history": mine_forever}, e.version),
        ValidationFailed,
    )
    data = {**e.model_dump(mode="json", exclude={"ref"}), "owner_history": mine_forever}
    err = refused(city, lambda: _svc(city, EDITOR_A).update("system:sys-a", data, e.version), PermissionDenied)
    assert "past ownership" in err.message
    refused(
        city,
        lambda: Drafts(city, EDITOR_A, today=TODAY).submit("system:sys-a", {"owner": B}, e.version),
        PermissionDenied,
    )  # giving it away
    d = Drafts(city, EDITOR_A, today=TODAY).submit("system:sys-a", {"owner": A_UNIT}, e.version)
    Drafts(city, ARCHITECT, today=TODAY).approve(d.id, d.version)
    assert [(p.org, p.start, p.end) for p in city.get_entity("system:sys-a").owner_history] == [
        (B, D(2019, 1, 1), D(2024, 1, 1)),
        (A, D(2024, 1, 1), TODAY),
        (A_UNIT, TODAY, None),
    ]


def test_a_direct_owner_change_keeps_the_history(city: CatalogStore) -> None:
    """``owner`` in a patch (library, CLI) moves ownership from today; it used to replace the whole history."""
    changed = _svc(city, EDITOR_A).patch("system:sys-a", {"owner": A_UNIT}, 1)
    assert [(p.org, p.start, p.end) for p in changed.owner_history] == [(A, None, TODAY), (A_UNIT, TODAY, None)]
    err = refused(
        city, lambda: _svc(city).patch("system:sys-a", {"owner": "system:sys-b"}, changed.version), ValidationFailed
    )
    assert [e.location for e in err.errors] == ["owner"]
    err = refused(city, lambda: _svc(city).patch(A, {"owner": B}, 1), ValidationFailed)
    assert [e.location for e in err.errors] == ["owner"]  # organisations have no owner


def test_an_editor_registers_no_history_of_another_organisation(city: CatalogStore) -> None:
    data = {
        "ref": "system:new",
        "name": {"vi": "Mới"},
        "attributes": {"lifecycle": "planned"},
        "owner_history": [{"org": B, "start": "2019-01-01", "end": "2025-01-01"}, {"org": A, "start": "2025-01-01"}],
    }
    refused(city, lambda: _svc(city, EDITOR_A).register(data), PermissionDenied)
    _svc(city, EDITOR_A).register({**data, "owner_history": [{"org": A, "start": "2025-01-01"}]})


# --- item 7: organisation events are checked whole before anything is written ----------------------------------------


@pytest.fixture
def dated(city: CatalogStore) -> CatalogStore:
    """Sở C starts in 2026; Sở D ended in 2024; Sở E exists since 2010."""
    s = _svc(city)
    s.register(
        {
            "ref": "organization:so-c",
            "name": {"vi": "Sở C"},
            "valid_from": "2026-06-01",
            "attributes": {"org_type": "department", "parent": CITY},
        }
    )
    s.register(
        {
            "ref": "organization:so-d",
            "name": {"vi": "Sở D"},
            "valid_from": "2010-01-01",
            "valid_to": "2024-01-01",
            "attributes": {"org_type": "department", "parent": CITY, "status": "dissolved"},
        }
    )
    s.register(
        {
            "ref": "organization:so-e",
            "name": {"vi": "Sở E"},
            "valid_from": "2010-01-01",
            "attributes": {"org_type": "department", "parent": CITY},
        }
    )
    return city


NONSENSE: dict[str, tuple[dict[str, Any], str, str]] = {  # event -> (field, reason code)
    "merge with itself": ({"type": "merge", "from": [A, B], "to": [A]}, "to.0", "event-same-party"),
    "absorb itself": ({"type": "absorb", "from": [A], "to": [A]}, "to.0", "event-same-party"),
    "the same organisation twice": (
        {"type": "merge", "from": [A, A], "to": ["organization:so-c"]},
        "from.1",
        "event-named-twice",
    ),
    "transfer an organisation": (
        {"type": "transfer", "transfers": [{"entity": B, "to": A}]},
        "transfers.0.entity",
        "event-transfer-unowned",
    ),
    "transfer to a system": (
        {"type": "transfer", "transfers": [{"entity": "system:sys-a", "to": "system:sys-b"}]},
        "transfers.0.to",
        "not-an-existing-organization",
    ),
    "transfer twice": (
        {
            "type": "transfer",
            "transfers": [{"entity": "system:sys-a", "to": A_UNIT}, {"entity": "system:sys-a", "to": B}],
        },
        "transfers.1.entity",
        "event-transfer-twice",
    ),
    "end before it starts": ({"type": "dissolve", "from": ["organization:so-c"]}, "from.0", "event-ends-before-start"),
    "end what has ended": ({"type": "dissolve", "from": ["organization:so-d"]}, "from.0", "event-already-ended"),
    "create what has ended": ({"type": "create", "to": ["organization:so-d"]}, "to.0", "event-start-ended"),
    "merge into an existing organisation": (
        {"type": "merge", "from": [A, B], "to": ["organization:so-e"]},
        "to.0",
        "event-start-existing",
    ),
    "absorb into one that does not exist yet": (
        {"type": "absorb", "from": [B], "to": ["organization:so-c"]},
        "to.0",
        "event-not-on-date",
    ),
    "re-establish an active organisation": ({"type": "reestablish", "to": [B]}, "to.0", "event-reestablish-active"),
    "absorbed by its own unit": ({"type": "absorb", "from": [A], "to": [A_UNIT]}, "to.0", "event-successor-is-unit"),
    "transfer to the organisation that ends": (
        {"type": "dissolve", "from": [B], "transfers": [{"entity": "system:sys-b", "to": B}]},
        "transfers.0.to",
        "event-transfer-to-ending",
    ),
    "transfer to an ended organisation": (
        {"type": "transfer", "transfers": [{"entity": "system:sys-a", "to": "organization:so-d"}]},
        "transfers.0.to",
        "event-not-on-date",
    ),
    "rename into another": (
        {"type": "rename", "from": [A], "to": [B], "new_name": {"vi": "X"}},
        "to",
        "event-rename-to",
    ),
    "split two at once": (
        {"type": "split", "from": [A, B], "to": ["organization:so-c", A_UNIT]},
        "from",
        "event-one-from",
    ),
}


@pytest.mark.parametrize("case", list(NONSENSE))
def test_nonsense_events_are_refused_naming_the_field(dated: CatalogStore, case: str) -> None:
    body, field, reason = NONSENSE[case]
    event = {"id": "nonsense", "date": "2025-03-01", **body}
    err = refused(dated, lambda: _svc(dated, ARCHITECT).apply_event(event), ValidationFailed)
    assert (field, reason) in [(e.location, code_of(e.reason)) for e in err.errors], (case, err.errors)
    assert all(has(code_of(e.reason), lang) for e in err.errors for lang in ("vi", "en"))  # a message, two texts


def test_sound_events_still_apply(dated: CatalogStore) -> None:
    s = _svc(dated, ARCHITECT)
    # a unit absorbed by its own department is sound (the reverse is not)
    _, changed = s.apply_event({"id": "unit-back", "type": "absorb", "date": "2025-03-01", "from": [A_UNIT], "to": [A]})
    assert changed == [A_UNIT]
    s.apply_event({"id": "d-back", "type": "reestablish", "date": "2025-06-01", "to": ["organization:so-d"]})
    d = dated.get_entity("organization:so-d")
    assert (d.valid_from, d.valid_to, d.attributes["status"]) == (D(2010, 1, 1), None, "active")
    s.apply_event(
        {
            "id": "rename-a",
            "type": "rename",
            "date": "2025-07-01",
            "from": [A],
            "to": [A],
            "new_name": {"vi": "Sở A mới"},
        }
    )
    assert dated.get_entity(A).name.vi == "Sở A mới"


def test_parents_cannot_loop(city: CatalogStore) -> None:
    a = city.get_entity(A)
    data = {**a.model_dump(mode="json", exclude={"ref"}), "attributes": {**a.attributes, "parent": A_UNIT}}
    err = refused(city, lambda: _svc(city, ARCHITECT).update(A, data, a.version), ValidationFailed)
    assert [e.location for e in err.errors] == ["attributes.parent"]
    err = refused(
        city, lambda: _svc(city, ARCHITECT).patch(A, {"attributes": {"parent": A}}, a.version), ValidationFailed
    )
    assert [e.location for e in err.errors] == ["attributes.parent"]


# --- item 9: retire by what the kind declares ------------------------------------------------------------------------


def test_a_dataset_is_retired_by_its_validity_end(city: CatalogStore) -> None:
    ds = city.get_entity("dataset:ds-a")
    retired = _svc(city, EDITOR_A).retire("dataset:ds-a", ds.version, on=D(2026, 1, 1))
    assert (retired.valid_to, "lifecycle" in retired.attributes) == (D(2026, 1, 1), False)
    with pytest.raises(IntegrityError, match="dataset:ds-a is retired"):
        _svc(city).link({"type": "reads", "source": "system:sys-a", "target": "dataset:ds-a"})
    # a dataset whose validity ends later is not retired yet
    ds_b = city.get_entity("dataset:ds-b")
    _svc(city).retire("dataset:ds-b", ds_b.version, on=D(2026, 12, 31))
    _svc(city).link({"type": "reads", "source": "system:sys-b", "target": "dataset:ds-b"})
    # retire through a draft: the same rule
    d = Drafts(city, EDITOR_A, today=TODAY).submit("system:sys-a", {"on": "2026-02-01"}, 1, op="retire")
    Drafts(city, ARCHITECT, today=TODAY).approve(d.id, d.version)
    assert city.get_entity("system:sys-a").attributes["lifecycle"] == "retired"
    # organisations are ended by events
    refused(city, lambda: _svc(city).retire(B, city.get_entity(B).version), ValidationFailed)


def test_a_retire_before_the_entity_started_is_refused(city: CatalogStore) -> None:
    ds = city.get_entity("dataset:ds-a")
    err = refused(city, lambda: _svc(city).retire("dataset:ds-a", ds.version, on=D(2019, 1, 1)), ValidationFailed)
    assert [e.location for e in err.errors] == ["valid_to"]


# --- who first ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_read_only_roles_are_refused_before_their_input_is_read(city: CatalogStore, role: str) -> None:
    s = _svc(city, Principal(f"{role}-1", role))
    for attempt in (
        lambda: s.register({"kind": "nope"}),
        lambda: s.patch("system:nope", {"bogus": 1}, 1),
        lambda: s.update("system:nope", {}, 1),
        lambda: s.retire("system:nope", 1),
        lambda: s.delete("system:nope", 1),
        lambda: s.link({"type": 1}),
        lambda: s.update_link({}, 1),
        lambda: s.unlink("nope", 1),
        lambda: s.apply_event({}),
        lambda: Drafts(city, s.principal).submit("system:nope", None, 0, op="?"),
    ):
        refused(city, attempt, PermissionDenied)
