"""The per-revision caches (``catalog.cache.per_store``): after a write every reader asks for the new
revision at once; one of them makes the value and the others wait for it, instead of each making its own (issue 22:
under a mixed load, concurrent rebuilds made the reads queue behind each other)."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from catalog.cache import _FLIGHTS, per_store


class _Store:
    """Anything weakly referenceable stands for a store here."""


def test_concurrent_misses_of_one_key_make_the_value_once() -> None:
    table: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, Any]] = weakref.WeakKeyDictionary()
    store = _Store()
    made: list[int] = []
    start = threading.Barrier(8)
    results: list[object] = []

    def make() -> object:
        made.append(1)
        time.sleep(0.05)  # long enough for the other threads to arrive while it is being made
        return object()

    def reader() -> None:
        start.wait()
        results.append(per_store(table, store, (7, "head"), 2, make))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(results) == 8 and len({id(r) for r in results}) == 1
    assert not _FLIGHTS  # nothing left behind once everyone has its value


def test_a_failed_make_is_not_kept_and_the_next_reader_tries_again() -> None:
    table: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, Any]] = weakref.WeakKeyDictionary()
    store = _Store()

    def broken() -> object:
        raise RuntimeError("store gone")

    try:
        per_store(table, store, (1, "h"), 2, broken)
    except RuntimeError:
        pass
    else:  # pragma: no cover - the make must have raised
        raise AssertionError("the failure was swallowed")
    assert per_store(table, store, (1, "h"), 2, lambda: "made") == "made"
    assert not _FLIGHTS


def test_least_recently_used_keys_go_first() -> None:
    table: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, Any]] = weakref.WeakKeyDictionary()
    store = _Store()
    for key in ("a", "b"):
        per_store(table, store, (key,), 2, lambda key=key: key)
    per_store(table, store, ("a",), 2, lambda: "again")  # a hit: "a" becomes the most recent
    per_store(table, store, ("c",), 2, lambda: "c")
    assert list(table[store]) == [("a",), ("c",)]
