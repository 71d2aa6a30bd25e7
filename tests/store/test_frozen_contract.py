"""The read-only half of the store contract, run on :class:`catalog.history.frozen.FrozenStore`: a past record read
back from the change log must answer every read exactly as the live store it was recorded from (filters, counts,
pages, search with and without diacritics, neighbourhoods), and refuse every write.

The reads are the contract's own tests (tests/store/test_contract.py), collected here with its data fixtures frozen:
each builds its data on the live store (both backends), then the test runs on the record of that data."""

from __future__ import annotations

import pytest
from store.test_contract import (
    build_graph,
    build_landscape,
    build_named,
    test_count_matches_filters,
    test_filters_return_exact_sets,
    test_iter_entities_walks_everything,
    test_neighbourhood_depth_one_both,
    test_neighbourhood_depth_two_both,
    test_neighbourhood_direction,
    test_neighbourhood_of_isolated_and_missing,
    test_neighbourhood_types_filter,
    test_pagination_is_stable_and_ordered_by_ref,
    test_search_is_diacritics_and_case_insensitive,
    test_search_no_match_kind_and_limit,
    test_search_with_decomposed_input_finds_composed_names,
)

from catalog.errors import StoreError
from catalog.history import FrozenStore, recorded_graph
from catalog.store.base import CatalogStore, WriteContext

READS = [
    test_count_matches_filters,
    test_filters_return_exact_sets,
    test_iter_entities_walks_everything,
    test_neighbourhood_depth_one_both,
    test_neighbourhood_depth_two_both,
    test_neighbourhood_direction,
    test_neighbourhood_of_isolated_and_missing,
    test_neighbourhood_types_filter,
    test_pagination_is_stable_and_ordered_by_ref,
    test_search_is_diacritics_and_case_insensitive,
    test_search_no_match_kind_and_limit,
    test_search_with_decomposed_input_finds_composed_names,
]


def frozen(store: CatalogStore) -> FrozenStore:
    """The store's current record, read back as a read-only store (as the audit bundle and the web UI do)."""
    day = store.clock().date()
    return FrozenStore(recorded_graph(store, None), day, store.revision(), store.metamodel)


@pytest.fixture
def landscape(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    return frozen(build_landscape(store, ctx, ent))


@pytest.fixture
def named(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    return frozen(build_named(store, ctx, ent))


@pytest.fixture
def graph(store: CatalogStore, ctx: WriteContext, ent, rl) -> CatalogStore:
    return frozen(build_graph(store, ctx, ent, rl))


@pytest.fixture
def ent(factory):
    return factory[0]


@pytest.fixture
def rl(factory):
    return factory[1]


def test_every_read_of_the_contract_is_collected_here() -> None:
    assert len(READS) == 12 and all(f.__name__.startswith("test_") for f in READS)


def test_a_frozen_store_refuses_every_write(graph: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    assert isinstance(graph, FrozenStore)
    writes = [
        lambda: graph.create_entity(ent("system:new"), ctx),
        lambda: graph.update_entity(ent("system:portal"), 1, ctx),
        lambda: graph.delete_entity("system:portal", 1, ctx),
        lambda: graph.create_relationship(rl("reads", "system:portal", "database:dan-cu"), ctx),
        lambda: graph.delete_relationship("system:portal>feeds>platform:ioc", 1, ctx),
        lambda: graph.put_record("views", "x", {}),
        lambda: graph.erase(),
    ]
    for write in writes:
        with pytest.raises(StoreError):
            write()
    assert graph.count_entities() == 8 and len(graph.all_relationships()) == 6
