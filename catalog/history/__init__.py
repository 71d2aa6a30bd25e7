"""The catalog as it was: both clocks (docs/architecture.md, "Two clocks") read back from the change log.

- :mod:`catalog.history.snapshot`: one instant of both clocks (what the catalog had recorded by the end of day D,
  and what was valid in the world on a day), with the lookups views, pages and reports need;
- :mod:`catalog.history.facts`: stored JSON parsed partly or lazily into the values of entities and relationships;
- :mod:`catalog.history.frozen`: a read-only :class:`~catalog.store.base.CatalogStore` over one recorded graph, so any
  reader (compliance, exports) runs unchanged on a past record.

The web UI, the diagrams and the reports all read the past through this package.
"""

from catalog.history.frozen import FrozenStore
from catalog.history.snapshot import (
    NothingRecorded,
    Revision,
    Snapshot,
    load_snapshot,
    parse_day,
    recorded_graph,
    revision_at,
)

__all__ = [
    "FrozenStore",
    "NothingRecorded",
    "Revision",
    "Snapshot",
    "load_snapshot",
    "parse_day",
    "recorded_graph",
    "revision_at",
]
