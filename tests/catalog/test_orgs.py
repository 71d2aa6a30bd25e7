"""Organisations over time: events move ownership on their effective date; as-of ownership across 2025."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import SAMPLE, entity

from catalog.errors import ValidationFailed
from catalog.model import OrgEvent, parse_entity, parse_relationship, validate_entity, validate_relationship
from catalog.permissions import SYSTEM
from catalog.services import CatalogService
from catalog.store.base import BulkLoad, CatalogStore, WriteContext

D = dt.date


@pytest.fixture
def before_2025(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    """HCMC before the 1/3/2025 reorganisation: Sở TT&TT owns the 1022 portal; Sở KH&CN exists."""
    for e in [
        entity("organization:hcm", "UBND TP.HCM", org_type="city"),
        entity("organization:sttt", "Sở Thông tin và Truyền thông", parent="organization:hcm", status="active"),
        entity("organization:skhcn", "Sở Khoa học và Công nghệ", parent="organization:hcm", status="active"),
        entity("organization:sqhkt", "Sở Quy hoạch – Kiến trúc", parent="organization:hcm", status="active"),
        entity("organization:sxd", "Sở Xây dựng", parent="organization:hcm", status="active"),
        entity("organization:sld", "Sở Lao động – Thương binh và Xã hội", parent="organization:hcm"),
        entity("organization:sld-a", "Sở Nội vụ", parent="organization:hcm"),
        entity("organization:sld-b", "Sở Giáo dục", parent="organization:hcm"),
    ]:
        store.create_entity(e, ctx)
    for ref, owner in [
        ("system:cong-1022", "organization:sttt"),
        ("database:csdl-quy-hoach", "organization:sqhkt"),
        ("system:qhkt-portal", "organization:sqhkt"),
        ("system:lao-dong", "organization:sld"),
        ("system:tre-em", "organization:sld"),
    ]:
        e = entity(ref, ref, owner="organization:x")
        store.create_entity(
            e.model_copy(
                update={"owner_history": [e.owner_history[0].model_copy(update={"org": owner, "start": D(2019, 4, 1)})]}
            ),
            ctx,
        )
    return store


def test_absorb_moves_ownership_on_the_effective_date(before_2025: CatalogStore) -> None:
    s = CatalogService(before_2025, SYSTEM, today=D(2026, 1, 1))
    ev, changed = s.apply_event(
        {
            "id": "hcm-2025-03-sttt",
            "type": "absorb",
            "date": "2025-03-01",
            "legal_basis": "Nghị quyết HĐND TP.HCM (illustrative)",
            "from": ["organization:sttt"],
            "to": ["organization:skhcn"],
        }
    )
    assert (ev.id, changed) == ("hcm-2025-03-sttt", ["organization:sttt", "system:cong-1022"])
    portal = before_2025.get_entity("system:cong-1022")
    assert portal.owner == "organization:skhcn"
    assert [(p.org, p.start, p.end, p.event) for p in portal.owner_history] == [
        ("organization:sttt", D(2019, 4, 1), D(2025, 3, 1), None),
        ("organization:skhcn", D(2025, 3, 1), None, "hcm-2025-03-sttt"),
    ]
    assert s.owner_on("system:cong-1022", D(2025, 2, 28)) == "organization:sttt"
    assert s.owner_on("system:cong-1022", D(2025, 3, 1)) == "organization:skhcn"
    assert s.owner_on("system:cong-1022", D(2018, 1, 1)) is None
    sttt = before_2025.get_entity("organization:sttt")
    assert (sttt.valid_to, sttt.attributes["status"]) == (D(2025, 3, 1), "merged")
    assert [e.id for e in before_2025.list_events("organization:sttt")] == ["hcm-2025-03-sttt"]
    # the event and every ownership change share one request in the change log
    entries = [c for c in before_2025.changelog() if c.request_id == s.ctx.request_id]
    assert {c.ref for c in entries} == {"system:cong-1022", "organization:sttt", "event:hcm-2025-03-sttt"}


def test_absorb_then_reestablish_moves_assets_back(before_2025: CatalogStore) -> None:
    s = CatalogService(before_2025, SYSTEM, today=D(2026, 1, 1))
    s.apply_event(
        {"id": "m", "type": "absorb", "date": "2025-03-01", "from": ["organization:sqhkt"], "to": ["organization:sxd"]}
    )
    s.apply_event(
        {
            "id": "r",
            "type": "reestablish",
            "date": "2025-10-01",
            "to": ["organization:sqhkt"],
            "transfers": [{"entity": "database:csdl-quy-hoach", "to": "organization:sqhkt"}],
        }
    )
    assert [s.owner_on("database:csdl-quy-hoach", D(2025, m, 15)) for m in (2, 6, 11)] == [
        "organization:sqhkt",
        "organization:sxd",
        "organization:sqhkt",
    ]
    # the portal was not transferred back: it stays with Sở Xây dựng
    assert s.owner_on("system:qhkt-portal", D(2025, 11, 15)) == "organization:sxd"
    org = before_2025.get_entity("organization:sqhkt")
    assert (org.valid_to, org.attributes["status"]) == (None, "active")


def test_split_requires_a_destination_for_every_asset_and_writes_nothing_otherwise(before_2025: CatalogStore) -> None:
    s = CatalogService(before_2025, SYSTEM, today=D(2026, 1, 1))
    before = before_2025.revision()
    with pytest.raises(ValidationFailed, match="system:tre-em"):
        s.apply_event(
            {
                "id": "split",
                "type": "split",
                "date": "2025-03-01",
                "from": ["organization:sld"],
                "to": ["organization:sld-a", "organization:sld-b"],
                "transfers": [{"entity": "system:lao-dong", "to": "organization:sld-a"}],
            }
        )
    assert before_2025.revision() == before
    s.apply_event(
        {
            "id": "split",
            "type": "split",
            "date": "2025-03-01",
            "from": ["organization:sld"],
            "to": ["organization:sld-a", "organization:sld-b"],
            "transfers": [
                {"entity": "system:lao-dong", "to": "organization:sld-a"},
                {"entity": "system:tre-em", "to": "organization:sld-b"},
            ],
        }
    )
    assert (before_2025.get_entity("system:lao-dong").owner, before_2025.get_entity("system:tre-em").owner) == (
        "organization:sld-a",
        "organization:sld-b",
    )
    assert before_2025.get_entity("organization:sld").attributes["status"] == "dissolved"


def test_event_errors_name_the_field(before_2025: CatalogStore) -> None:
    s = CatalogService(before_2025, SYSTEM)
    with pytest.raises(ValidationFailed) as exc:
        s.apply_event(
            {
                "id": "bad",
                "type": "merge",
                "date": "2025-03-01",
                "from": ["organization:nope"],
                "to": ["system:cong-1022"],
            }
        )
    assert {e.location for e in exc.value.errors} == {"from.0", "to.0", "from"}
    with pytest.raises(ValidationFailed) as exc:
        s.apply_event({"id": "x", "type": "explode", "date": "2025-02-30"})
    assert {e.location for e in exc.value.errors} == {"type", "date"}


def test_transfer_cannot_predate_the_current_period(before_2025: CatalogStore) -> None:
    s = CatalogService(before_2025, SYSTEM)
    with pytest.raises(ValidationFailed, match="only from 2019-04-01"):
        s.apply_event(
            {
                "id": "t",
                "type": "transfer",
                "date": "2019-01-01",
                "transfers": [{"entity": "system:cong-1022", "to": "organization:skhcn"}],
            }
        )


def _load_sample(store: CatalogStore) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    store.bulk_load(
        BulkLoad(
            source="sample",
            run="test",
            entities=[validate_entity(parse_entity(e)) for e in doc["entities"]],
            relationships=[validate_relationship(parse_relationship(r)) for r in doc["relationships"]],
            events=[OrgEvent.model_validate(v) for v in doc["org_events"]],
        ),
        WriteContext("loader"),
    )


def test_sample_ownership_across_the_2025_mergers(store: CatalogStore) -> None:
    _load_sample(store)
    s = CatalogService(store, SYSTEM)
    cases = {
        # the 1022 portal: Sở TT&TT until 1/3/2025, then Sở KH&CN
        ("system:hcm-cong-1022", D(2025, 2, 28)): "organization:hcm-sttt",
        ("system:hcm-cong-1022", D(2025, 6, 30)): "organization:hcm-skhcn",
        # Bình Dương's LGSP: its Sở TT&TT, then its Sở KH&CN (1/3), then HCMC's Sở KH&CN (1/7, province merger)
        ("platform:bd-lgsp", D(2025, 2, 1)): "organization:bd-sttt",
        ("platform:bd-lgsp", D(2025, 6, 30)): "organization:bd-skhcn",
        ("platform:bd-lgsp", D(2025, 7, 1)): "organization:hcm-skhcn",
    }
    assert {k: s.owner_on(*k) for k in cases} == cases
    merged = store.get_entity("organization:hcm-sttt")
    assert merged.valid_to == D(2025, 3, 1) and merged.attributes["status"] == "merged"
    assert "hcm-2025-03-sttt-into-skhcn" in {e.id for e in store.list_events("organization:hcm-sttt")}
