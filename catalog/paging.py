"""Pages of a long list: one window (limit + offset) over a list or a store query, bounded by a maximum page size.

Every list the web UI and the API show a page of goes through :func:`window` (which reads ``limit`` and ``offset``
as a person or a client sent them and never fails: junk gives the defaults, a negative offset 0, a limit above the
maximum the maximum) and :func:`paginate` (the page of a list) or :meth:`Page.of` (a page a store query already
sliced, with its total). The web UI draws a page with the ``pager`` macro of ``api/templates/_pager.html``::

    {% from "_pager.html" import pager %}
    {{ pager(items_page) }}

Defaults: the ``page_size`` and ``max_page_size`` settings (:mod:`catalog.settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PAGE_SIZE = 50  # the defaults of the page_size and max_page_size settings
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10**9  # an offset past any catalog; larger ones are read as this


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        v = value.strip()
        digits = v[1:] if v[:1] in "+-" else v
        if digits.isascii() and digits.isdigit():
            n = int(digits[:19]) if len(digits) <= 19 else 10**19  # past every bound: read as "as far as allowed"
            return -n if v[:1] == "-" else n
    return None


def window(limit: Any = None, offset: Any = None, *, size: int = PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> Window:
    """The window asked for, made safe: ``limit`` in 1..``maximum`` (``size`` when missing or not a number),
    ``offset`` in 0..MAX_OFFSET (0 when missing or not a number)."""
    maximum = max(1, maximum)
    n = _int(limit)
    lim = min(max(1, size), maximum) if n is None or n < 1 else min(n, maximum)
    o = _int(offset)
    off = 0 if o is None or o < 0 else min(o, MAX_OFFSET)
    return Window(lim, off)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items, the total they are part of, and where it sits (``offset``, ``limit``)."""

    items: list[T]
    total: int
    offset: int
    limit: int
    param: str = "offset"  # the query parameter that moves this page (pages with two lists use two)

    @classmethod
    def of(cls, items: Sequence[T], total: int, w: Window, param: str = "offset") -> Page[T]:
        """A page a query already cut to ``w``."""
        return cls(list(items), total, w.offset, w.limit, param)

    @property
    def first(self) -> int:
        """1-based number of the first item shown (0 when the page is empty)."""
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        """1-based number of the last item shown (0 when the page is empty)."""
        return self.offset + len(self.items) if self.items else 0

    @property
    def has_prev(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def prev_offset(self) -> int:
        return max(0, min(self.offset, self.last_offset + self.limit) - self.limit)

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit

    @property
    def last_offset(self) -> int:
        return max(0, (self.total - 1) // self.limit * self.limit) if self.total else 0

    @property
    def needed(self) -> bool:
        """Whether a pager is worth drawing (more than one page, or a page past the end)."""
        return self.total > self.limit or self.offset > 0

    def json(self, items: list[Any] | None = None) -> dict[str, Any]:
        """The page as the API gives every list: ``total``, ``limit``, ``offset``, ``items``."""
        return {
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": self.items if items is None else items,
        }


def paginate(items: Sequence[T], w: Window, param: str = "offset") -> Page[T]:
    """The page ``w`` of a list held whole."""
    return Page(list(items[w.offset : w.offset + w.limit]), len(items), w.offset, w.limit, param)


def settings_window(settings: Any, limit: Any = None, offset: Any = None) -> Window:
    """:func:`window` with the ``page_size`` and ``max_page_size`` of a :class:`catalog.settings.Settings`."""
    return window(
        limit,
        offset,
        size=getattr(settings, "page_size", PAGE_SIZE),
        maximum=getattr(settings, "max_page_size", MAX_PAGE_SIZE),
    )


__all__ = ["MAX_OFFSET", "MAX_PAGE_SIZE", "PAGE_SIZE", "Page", "Window", "paginate", "settings_window", "window"]
