"""catalog.search.Places kept current per revision (issue 21): a write that touches no organisation re-reads no
organisation, one that changes an organisation re-reads that one, and concurrent requests after a write bring the
copy up to date once. On every backend."""

from __future__ import annotations

import threading
import time

import pytest

from catalog.search import Places
from catalog.store.base import CatalogStore, WriteContext
from tests.conftest import entity


@pytest.fixture
def places_store(store: CatalogStore, ctx: WriteContext) -> CatalogStore:
    Places._cache.clear()
    with store.transaction(ctx):
        store.create_entity(entity("organization:hcm", "TP Hồ Chí Minh", org_type="city"), ctx)
        store.create_entity(entity("organization:dn", "TP Đà Nẵng", org_type="city"), ctx)
        store.create_entity(entity("organization:hcm-stc", "Sở Tài chính", parent="organization:hcm"), ctx)
    return store


def _count_full_reads(store: CatalogStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    read = Places._read

    def counted(cls: type[Places], s: CatalogStore) -> Places:
        calls[0] += 1
        return read.__func__(cls, s)  # type: ignore[attr-defined]

    monkeypatch.setattr(Places, "_read", classmethod(counted))
    return calls


def test_a_write_elsewhere_reuses_the_organisations(
    places_store: CatalogStore, ctx: WriteContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Places.of(places_store)
    assert first.place_of_org("organization:hcm-stc") == "organization:hcm"
    reads = _count_full_reads(places_store, monkeypatch)
    places_store.create_entity(entity("system:portal", "Cổng", owner="organization:hcm-stc"), ctx)
    again = Places.of(places_store)
    assert again is not first and again.orgs is first.orgs  # a new revision, the same organisations
    assert reads[0] == 0
    assert Places.of(places_store) is again  # same revision: the same copy


def test_a_changed_organisation_is_read_again_alone(
    places_store: CatalogStore, ctx: WriteContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    Places.of(places_store)
    reads = _count_full_reads(places_store, monkeypatch)
    stc = places_store.get_entity("organization:hcm-stc")
    moved = stc.model_copy(update={"attributes": {**stc.attributes, "parent": "organization:dn"}})
    places_store.update_entity(moved, stc.version, ctx)
    places_store.create_entity(entity("organization:dn-so", "Sở Y tế", parent="organization:dn"), ctx)
    now = Places.of(places_store)
    assert now.place_of_org("organization:hcm-stc") == "organization:dn"
    assert now.place_of_org("organization:dn-so") == "organization:dn"
    places_store.delete_entity("organization:dn-so", 1, ctx)
    assert "organization:dn-so" not in Places.of(places_store).orgs
    assert reads[0] == 0


def test_an_erased_catalog_is_read_again(
    places_store: CatalogStore, ctx: WriteContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    Places.of(places_store)
    reads = _count_full_reads(places_store, monkeypatch)
    places_store.erase()
    for _ in range(4):  # as many entries as before, under other hashes
        places_store.create_entity(entity(f"system:s{_}", "Hệ thống"), ctx)
    assert Places.of(places_store).orgs == {}
    assert reads[0] == 1


def test_concurrent_requests_after_a_write_bring_it_up_to_date_once(
    places_store: CatalogStore, ctx: WriteContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    Places.of(places_store)
    places_store.create_entity(entity("organization:hue", "Huế", org_type="city"), ctx)
    follow, calls = Places._follow, [0]

    def slow(cls: type[Places], *args: object) -> Places | None:
        calls[0] += 1
        time.sleep(0.2)  # long enough for every other thread to arrive meanwhile
        return follow.__func__(cls, *args)  # type: ignore[attr-defined]

    monkeypatch.setattr(Places, "_follow", classmethod(slow))
    reads = _count_full_reads(places_store, monkeypatch)
    start, got = threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        got.append(Places.of(places_store))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len({id(p) for p in got}) == 1
    assert "organization:hue" in got[0].orgs
    assert calls[0] == 1 and reads[0] == 0
