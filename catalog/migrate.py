"""Copy a whole catalog from one store to another (any backend to any backend), change log included, and prove it.

Uses only the store contract: ``source.dump()`` batches go to ``target.restore()`` unchanged (entities with their
versions, timestamps and provenance; relationships; organisation events; the change log entry by entry, so the target
has the same chain and the same head hash). The copy ends with the proof: the same content hash
(:func:`catalog.digest.content_hash`) on both sides, the same change-log head (``revision()``), and ``verify_log()``
passing on the target.

A non-empty target (any entity, relationship, event or change-log entry) is refused unless ``force``, which erases it
first. Each batch is written in a transaction of its own (a large catalog does not fit one Neo4j transaction with the
default memory), so a copy that fails half-way leaves a partial target: the next run refuses it unless ``force``.
The dump is one consistent state of the source, but the proof compares the target with the source as it is when the
copy ends: a source written during the copy fails the proof (different hashes or heads). To copy a catalog that is in
use, take a backup (:mod:`catalog.backup`), whose proof does not need the source to stand still.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog.changelog import VerifyResult
from catalog.digest import content_hash
from catalog.errors import StoreError
from catalog.i18n import Message, msg
from catalog.store.base import CatalogStore

SECTIONS = ("entities", "relationships", "events", "records", "changelog")

# progress(section, done in that section, total of that section)
MigrateProgress = Callable[[str, int, int], None]


@dataclass
class MigrateResult:
    counts: dict[str, int] = field(default_factory=dict)
    source_hash: str = ""
    target_hash: str = ""
    source_revision: tuple[int, str] = (0, "")
    target_revision: tuple[int, str] = (0, "")
    verify: VerifyResult | None = None
    erased: bool = False
    seconds: dict[str, float] = field(default_factory=dict)  # "copy" and "verify"

    @property
    def ok(self) -> bool:
        return (
            self.source_hash == self.target_hash
            and self.source_revision == self.target_revision
            and self.verify is not None
            and self.verify.ok
        )

    def problems(self) -> list[Message]:
        out = []
        if self.source_hash != self.target_hash:
            out.append(msg("migrate-hashes-differ", source=self.source_hash, target=self.target_hash))
        if self.source_revision != self.target_revision:
            (sseq, shash), (tseq, thash) = self.source_revision, self.target_revision
            out.append(msg("migrate-heads-differ", source_seq=sseq, source=shash, target_seq=tseq, target=thash))
        if self.verify is None or not self.verify.ok:
            out.append(self.verify.message() if self.verify is not None else msg("migrate-target-unverified"))
        return out


def totals(source: CatalogStore) -> dict[str, int]:
    """How many items each section of the source holds (for progress bars)."""
    return {
        "entities": source.count_entities(),
        "relationships": source.count_relationships(),
        "events": len(source.list_events()),
        "records": source.count_records(),
        "changelog": source.revision()[0],
    }


def copy_catalog(
    source: CatalogStore, target: CatalogStore, batch: int = 5000, progress: MigrateProgress | None = None
) -> dict[str, int]:
    """Restore every :meth:`~catalog.store.base.CatalogStore.dump` batch of ``source`` into ``target`` as it comes
    (the dump is one consistent state of the source even while it is written); returns the items copied per
    section. ``target`` should be empty."""
    expected = totals(source) if progress else {}
    counts = dict.fromkeys(SECTIONS, 0)
    for section, items in source.dump(batch):
        target.restore(section, items)
        counts[section] = counts.get(section, 0) + len(items)
        if progress and section in expected:
            progress(section, counts[section], max(expected[section], counts[section]))
    return counts


def migrate(
    source: CatalogStore,
    target: CatalogStore,
    force: bool = False,
    batch: int = 5000,
    progress: MigrateProgress | None = None,
) -> MigrateResult:
    """Copy ``source`` into ``target`` and check the copy; see the module docstring. The result's ``ok`` says
    whether the proof holds (the caller decides how to fail)."""
    result = MigrateResult()
    if not target.is_empty():
        if not force:
            raise StoreError(msg("migrate-target-not-empty"))
        target.erase()
        result.erased = True
    started = time.perf_counter()
    result.counts = copy_catalog(source, target, batch, progress)
    result.seconds["copy"] = time.perf_counter() - started
    started = time.perf_counter()
    result.source_revision = source.revision()
    result.target_revision = target.revision()
    result.verify = target.verify_log()
    result.source_hash = content_hash(source)
    result.target_hash = content_hash(target)
    result.seconds["verify"] = time.perf_counter() - started
    return result


__all__ = ["MigrateProgress", "MigrateResult", "SECTIONS", "copy_catalog", "migrate", "totals"]
