"""Values kept per store and catalog revision: :func:`per_store` is the one cache of the read paths (snapshots,
compliance reports, explorer answers, the drafts badge). Keys hold the change-log head, so a write makes every older
entry unreachable and nothing read from a cache is stale; several processes (``serve --workers``) each keep their own."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached(Generic[T]):
    """``functools.cached_property`` without its lock: on Python 3.11 that one lock serialises the first computation
    of the property on *every* instance of the class, so concurrent requests (each with its own compliance context)
    waited for one another's store reads. As on Python 3.12: the value is computed on first access and kept in the
    instance's ``__dict__``; two threads reading one shared instance at the same moment may each compute it (the
    same value), which is what the lock was worth."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> cached[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> T | cached[T]:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


_FLIGHTS: dict[tuple[int, int, tuple], threading.Lock] = {}
_FLIGHTS_GUARD = threading.Lock()


def per_store(
    table: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, Any]],
    store: Any,
    key: tuple,
    size: int,
    make: Callable[[], T],
    keep: Callable[[T], bool] = lambda _: True,
) -> T:
    """``make()`` kept in ``table`` per store under ``key`` (the ``size`` most recently used keys; only values
    ``keep`` accepts). Keys hold the change-log head, so a write makes every older entry unreachable. Requests that
    miss the same key at once wait for one ``make()`` instead of each making it: after a write, every reader of the
    server asks for the new revision together."""
    try:
        cache = table.setdefault(store, OrderedDict())
    except TypeError:  # a store that cannot be weakly referenced: no cache
        return make()
    found = cache.get(key, _MISSING)
    if found is not _MISSING:
        with contextlib.suppress(KeyError):  # another thread may have let it go meanwhile
            cache.move_to_end(key)
        return found
    flight = (id(table), id(store), key)
    with _FLIGHTS_GUARD:
        lock = _FLIGHTS.setdefault(flight, threading.Lock())
    try:
        with lock:
            found = cache.get(key, _MISSING)
            if found is not _MISSING:
                return found
            value = make()
            if keep(value):
                cache[key] = value
                while len(cache) > size:
                    cache.popitem(last=False)
            return value
    finally:
        with _FLIGHTS_GUARD:
            if _FLIGHTS.get(flight) is lock and not lock.locked():
                del _FLIGHTS[flight]


_MISSING: Any = object()
