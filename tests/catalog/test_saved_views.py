"""Saved views of the graph explorer (catalog.saved_views), kept as records, against every backend."""

from __future__ import annotations

import pytest

from catalog.errors import NotFound, PermissionDenied, ValidationFailed
from catalog.permissions import Principal
from catalog.saved_views import MAX_PER_USER, SavedViews, clean_query
from catalog.store.base import CatalogStore


def test_views_are_saved_listed_replaced_and_deleted_per_user(store: CatalogStore) -> None:
    revision = store.revision()
    lan, an = SavedViews(store, Principal("lan", "architect")), SavedViews(store, Principal("an", "viewer"))
    v = lan.save("  IOC   theo cơ quan ", "lang=en&start=platform:hcm-ioc&group=org&fold=organization:hcm-skhcn&x=1")
    assert v.name == "IOC theo cơ quan"
    assert v.query == "start=platform%3Ahcm-ioc&group=org&fold=organization%3Ahcm-skhcn"  # language, unknowns dropped
    lan.save("kho dữ liệu", "start=platform:hcm-kho-du-lieu&kind=database&kind=platform")
    an.save("IOC theo cơ quan", "start=platform:hcm-ioc")
    assert [x.name for x in lan.list()] == ["IOC theo cơ quan", "kho dữ liệu"]
    assert [(x.name, x.query) for x in an.list()] == [("IOC theo cơ quan", "start=platform%3Ahcm-ioc")]
    lan.save("IOC theo cơ quan", "start=platform:hcm-ioc&layout=fcose")  # replaced, not doubled
    assert [x.query for x in lan.list()] == [
        "start=platform%3Ahcm-ioc&layout=fcose",
        "start=platform%3Ahcm-kho-du-lieu&kind=database&kind=platform",
    ]
    lan.delete("kho dữ liệu")
    assert [x.name for x in lan.list()] == ["IOC theo cơ quan"] and len(an.list()) == 1
    with pytest.raises(NotFound):
        lan.delete("kho dữ liệu")
    assert store.revision() == revision  # views are not catalog facts: the revision does not move


def test_bad_views_are_refused_naming_the_field(store: CatalogStore) -> None:
    lan = SavedViews(store, Principal("lan", "architect"))
    for name, query, field in (
        ("", "start=platform:hcm-ioc", "name"),
        ("x" * 81, "start=platform:hcm-ioc", "name"),
        ("bell\x07", "start=platform:hcm-ioc", "name"),
        ("empty", "lang=vi&colour=red", "query"),
        ("long", "start=" + "a" * 5000, "query"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            lan.save(name, query)
        assert {e.location for e in exc.value.errors} == {field}, (name, query)
    assert lan.list() == []
    with pytest.raises(PermissionDenied):
        SavedViews(store, Principal("anonymous", "viewer")).save("x", "start=platform:hcm-ioc")


def test_a_user_keeps_at_most_the_limit(store: CatalogStore) -> None:
    lan = SavedViews(store, Principal("lan", "architect"))
    for i in range(MAX_PER_USER):
        lan.save(f"v{i:03}", f"start=system:s{i}")
    with pytest.raises(ValidationFailed):
        lan.save("one more", "start=system:x")
    lan.save("v000", "start=system:y")  # replacing one is fine
    assert len(lan.list()) == MAX_PER_USER


def test_clean_query_keeps_only_the_explorer_parameters() -> None:
    assert clean_query("?start=a:b&lang=vi&evil=<x>&spof=1") == "start=a%3Ab&spof=1"
