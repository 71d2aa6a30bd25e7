"""Findings about some entities only (``catalog.compliance.check_entities``), read from their neighbourhood: what
an entity's page and a page of search results show. The witness: for every entity of the sample catalog, on both
backends, the focused run finds exactly what a whole run finds for it, rule by rule and message by message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import entity

from catalog import compliance
from catalog.compliance import FocusContext, check, check_entities
from catalog.store.base import CatalogStore, WriteContext

A, B = "organization:a", "organization:b"
SAMPLE_TODAY = dt.date(2026, 11, 25)  # the day tests/catalog/test_compliance.py checks the sample on


def load(store: CatalogStore, ctx: WriteContext, entities: list) -> None:
    with store.transaction(ctx):
        for e in entities:
            store.create_entity(e, ctx)


def _key(f: compliance.Finding) -> tuple[Any, ...]:
    return (f.rule, f.ref, f.severity, f.message_vi, f.message_en, sorted(f.detail.items(), key=str))


def test_every_entity_of_the_sample_has_the_findings_of_a_whole_run(sample: CatalogStore) -> None:
    whole = check(sample, today=SAMPLE_TODAY)
    by_ref: dict[str, list[tuple[Any, ...]]] = {}
    for f in whole.findings:
        by_ref.setdefault(f.ref, []).append(_key(f))
    refs = [e.ref for e in sample.iter_entities()]
    assert len(refs) > 100 and len(by_ref) > 20  # the sample flags many entities of many rules
    for ref in refs:
        assert [_key(f) for f in check_entities(sample, [ref], today=SAMPLE_TODAY)] == by_ref.get(ref, []), ref


def test_a_page_of_refs_at_once_and_one_rule(sample: CatalogStore) -> None:
    whole = check(sample, today=SAMPLE_TODAY, rules=["CR006"])
    refs = sorted(e.ref for e in sample.iter_entities())[::7]
    focused = check_entities(sample, refs, today=SAMPLE_TODAY, rules=["CR006"])
    assert focused and {f.rule for f in focused} == {"CR006"}
    assert [_key(f) for f in focused] == [_key(f) for f in whole.findings if f.ref in set(refs)]


def test_duplicates_are_found_from_one_side(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        [
            entity(A, "Sở A"),
            entity(B, "Sở B"),
            entity("system:a-portal", "Cổng dịch vụ công", A),
            entity("system:b-portal", "Cong dich vu cong", B),  # the same name folded
            entity("system:b-other", "Cổng dịch vụ công mới", B),  # not the same name
        ],
    )
    found = check_entities(store, ["system:a-portal"], rules=["CR009"])
    assert [(f.ref, f.detail["duplicates"]) for f in found] == [("system:a-portal", ["system:b-portal"])]
    # a focused run reads the focus, its peers and what they name, not the catalog
    ctx_focus = FocusContext(store, dt.date(2026, 1, 1), ["system:a-portal"])
    assert set(ctx_focus.entities) == {"system:a-portal", "system:b-portal", A, B}


def test_a_day_before_any_review_period_is_no_error(sample: CatalogStore) -> None:
    report = check(sample, today=dt.date(1, 1, 1), rules=["CR006"])
    assert report.today == dt.date(1, 1, 1)
