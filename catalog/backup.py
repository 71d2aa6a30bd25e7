"""Backups of a catalog in use, and restores from them, each proving the copy.

:func:`backup` writes a consistent copy of a live catalog into a catalog file (SQLite, one self-contained file):

- from SQLite, with SQLite's online backup API (:meth:`SQLiteStore.backup_to`): one read transaction, so the copy is
  the file as one commit left it, while the server goes on writing;
- from any other backend (Neo4j), as a logical copy into a new SQLite catalog file, the way ``migrate`` copies
  (:func:`catalog.migrate.copy_catalog`), from the store's dump, which is one state at a change-log head even while
  others write (:meth:`CatalogStore.dump`).

The copy goes to a temporary file beside the destination, is proved, and only then takes the destination's name; a
failure (a full disk: :class:`StoreFull`) leaves no file behind. An existing destination is refused unless ``force``.

The proof (:class:`CopyProof`), which the command line prints: the copy's change log verifies, its head (seq, hash)
is in the source's log at that seq (so the copy's log is exactly the source's up to there), and the copy's content
hash equals the content its own log records at that head (:func:`catalog.digest.content_hash_at`): the copy holds
what the source held at the backup's head, whatever the source wrote after it.

:func:`restore` copies a backup file into a store: the file is opened read-only (never changed by a byte) and proved
the same way first; a non-empty store is refused unless ``force``, and :class:`RestorePlan` says what a restore would
lose. Into SQLite the whole restore is one transaction (all or nothing); into Neo4j it goes batch by batch, as
``migrate`` does. It ends with the proof that the store now holds the backup: the same content hash, the same head,
and a log that verifies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.changelog import Head, VerifyResult, read_heads
from catalog.digest import content_hash, content_hash_at
from catalog.errors import CatalogError, FieldError, StoreError, ValidationFailed
from catalog.i18n import Message, msg
from catalog.migrate import MigrateProgress, copy_catalog
from catalog.store.base import CatalogStore, WriteContext
from catalog.store.sqlite import SQLiteStore
from catalog.store.sqlite.store import SCHEMA_VERSION


class BackupFailed(StoreError):
    """A backup or a restore could not be proved (the copy differs from what it copies); nothing was kept."""

    code = "backup-failed"


class RestoreRefused(CatalogError):
    """A restore into a catalog that is not empty, without ``force``."""

    status = 409
    code = "restore-refused"


@dataclass
class CopyProof:
    """What a backup file (or a restored store) was checked to hold."""

    head: Head
    content_hash: str  # of the stored entities, relationships and events (catalog.digest.content_hash)
    logged_hash: str  # of the same, as the change log records them at the head (content_hash_at)
    verify: VerifyResult

    @property
    def ok(self) -> bool:
        return self.verify.ok and self.content_hash == self.logged_hash

    def problems(self) -> list[Message]:
        out = []
        if not self.verify.ok:
            out.append(self.verify.message())
        if self.content_hash != self.logged_hash:
            out.append(
                msg("backup-content-not-logged", hash=self.content_hash, seq=self.head.seq, logged=self.logged_hash)
            )
        return out


def prove(store: CatalogStore) -> CopyProof:
    """Check a copy on its own: its log verifies, and its content is what its log records at its head. (A store's
    configured head witness is not consulted: a restored catalog may rightly be behind it; see
    :attr:`RestoreResult.witness_ahead`.)"""
    head = store.log_head()
    return CopyProof(
        head=head,
        content_hash=content_hash(store),
        logged_hash=content_hash_at(store, head.seq),
        verify=store.verify_log(configured_witness=False),
    )


@dataclass
class BackupResult:
    path: Path
    bytes: int
    method: str  # "sqlite-online-backup" or "logical-copy"
    proof: CopyProof
    source_head: Head  # the source's head when the proof was made (at or after the backup's)
    seconds: dict[str, float] = field(default_factory=dict)  # "copy" and "verify"


def _temporary_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    os.unlink(name)  # SQLite makes the file itself (a page size and journal of its own)
    return Path(name)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def backup(
    source: CatalogStore,
    path: str | Path,
    force: bool = False,
    batch: int = 5000,
    progress: MigrateProgress | None = None,
) -> BackupResult:
    """Write a proved, consistent copy of ``source`` to ``path`` (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise ValidationFailed([FieldError("--output", msg("backup-output-is-folder", path=str(path)))])
    if path.exists() and not force:
        raise ValidationFailed([FieldError("--output", msg("backup-output-exists", path=str(path)))])
    if isinstance(source, SQLiteStore) and path.resolve() == source.path.resolve():
        raise ValidationFailed([FieldError("--output", msg("backup-output-is-catalog", path=str(path)))])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_beside(path)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        if isinstance(source, SQLiteStore):
            method = "sqlite-online-backup"
            source.backup_to(tmp)
        else:
            method = "logical-copy"
            target = SQLiteStore(tmp, metamodel=source.metamodel)
            try:
                copy_catalog(source, target, batch, progress)
            finally:
                target.close()
            _single_file(tmp)
        seconds["copy"] = time.perf_counter() - started
        started = time.perf_counter()
        with _read_only(tmp, source) as copy:
            proof = prove(copy)
        source_head = source.log_head()
        seconds["verify"] = time.perf_counter() - started
        problems = proof.problems()
        if proof.head.seq:
            at = source.changelog(after_seq=proof.head.seq - 1, limit=1)
            if not at or at[0].hash != proof.head.hash:
                problems.append(msg("backup-source-head-differs", seq=proof.head.seq, hash=proof.head.hash))
        if problems:
            raise BackupFailed(msg("backup-not-proved", problems=tuple(problems)))
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return BackupResult(
        path=path, bytes=path.stat().st_size, method=method, proof=proof, source_head=source_head, seconds=seconds
    )


def _single_file(path: Path) -> None:
    """A catalog file made by SQLiteStore, switched from WAL to a rollback journal: one self-contained file."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise StoreError(msg("backup-journal-failed", path=str(path), reason=str(exc))) from exc
    finally:
        conn.close()


@contextlib.contextmanager
def _read_only(path: Path, like: CatalogStore | None = None) -> Iterator[SQLiteStore]:
    store = SQLiteStore(path, metamodel=like.metamodel if like is not None else SQLiteStore.metamodel, read_only=True)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def open_backup(path: str | Path, like: CatalogStore | None = None) -> Iterator[SQLiteStore]:
    """A backup file as a read-only store; a file of an older catalog schema is read from an upgraded temporary
    copy (the file itself is never changed)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(msg("backup-file-missing", path=str(path)))
    schema = SQLiteStore.file_schema(path)
    if schema is None:
        raise StoreError(msg("backup-not-a-catalog", path=str(path)))
    if schema == SCHEMA_VERSION:
        with _read_only(path, like) as store:
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="ioc-catalog-restore-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        store = SQLiteStore(copy, metamodel=like.metamodel if like is not None else SQLiteStore.metamodel, create=False)
        try:
            yield store
        finally:
            store.close()


@dataclass
class RestorePlan:
    """What restoring ``backup`` into a store holding ``current`` would do; :meth:`losses` says what would go."""

    backup_head: Head
    current_head: Head
    counts: dict[str, int]  # what the store holds now: entities, relationships, events, records
    relation: str  # "empty", "same", "behind" (the backup continues the store's log), "ahead" (the store's log
    #                continues the backup's), "diverged" (neither)

    @property
    def empty(self) -> bool:
        return self.relation == "empty"

    def losses(self) -> list[Message]:
        """What the store holds now that the restore would remove, one sentence each."""
        if self.empty:
            return []
        b, c = self.backup_head.seq, self.current_head.seq
        out = [
            msg(
                "restore-loses-content",
                entities=self.counts["entities"],
                relationships=self.counts["relationships"],
                events=self.counts["events"],
                records=self.counts["records"],
            )
        ]
        if self.relation == "ahead":
            out.append(msg("restore-loses-entries", n=c - b, first=b + 1, last=c))
        elif self.relation == "behind":
            out.append(msg("restore-log-continues", first=c + 1, last=b))
        elif self.relation == "same":
            out.append(msg("restore-log-same", seq=b))
        else:
            out.append(msg("restore-log-other-history", last=c))
        return out


def _holds(store: CatalogStore, head: Head) -> bool:
    if head.seq == 0:
        return True
    at = store.changelog(after_seq=head.seq - 1, limit=1)
    return bool(at) and at[0].hash == head.hash


def plan_restore(backup_store: CatalogStore, target: CatalogStore) -> RestorePlan:
    backup_head, current_head = backup_store.log_head(), target.log_head()
    counts = {
        "entities": target.count_entities(),
        "relationships": target.count_relationships(),
        "events": len(target.list_events()),
        "records": target.count_records(),
    }
    if target.is_empty():
        relation = "empty"
    elif backup_head == current_head:
        relation = "same"
    elif current_head.seq > backup_head.seq and _holds(target, backup_head):
        relation = "ahead"
    elif backup_head.seq > current_head.seq and _holds(backup_store, current_head):
        relation = "behind"
    else:
        relation = "diverged"
    return RestorePlan(backup_head, current_head, counts, relation)


@dataclass
class RestoreResult:
    plan: RestorePlan
    backup: CopyProof  # the backup file, proved before anything was written
    restored: CopyProof  # the store afterwards
    counts: dict[str, int]
    one_transaction: bool
    witness_ahead: Head | None = None  # the configured head witness names entries beyond the restored head
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.restored.ok
            and self.restored.content_hash == self.backup.content_hash
            and self.restored.head == self.backup.head
        )


def restore(
    path: str | Path,
    target: CatalogStore,
    force: bool = False,
    batch: int = 5000,
    progress: MigrateProgress | None = None,
) -> RestoreResult:
    """Restore the backup file ``path`` into ``target`` (see the module docstring). Raises :class:`RestoreRefused`
    (the plan is in the message) for a non-empty target without ``force``, and :class:`BackupFailed` when the
    backup file does not prove itself or, into SQLite, when the restored catalog does not match it (then nothing is
    written)."""
    seconds: dict[str, float] = {}
    with open_backup(path, target) as source:
        started = time.perf_counter()
        backup_proof = prove(source)
        if not backup_proof.ok:
            raise BackupFailed(msg("restore-backup-unsound", path=str(path), problems=tuple(backup_proof.problems())))
        plan = plan_restore(source, target)
        seconds["check"] = time.perf_counter() - started
        if not plan.empty and not force:
            raise RestoreRefused(msg("restore-not-empty", losses=tuple(plan.losses())))
        started = time.perf_counter()
        one = target.restores_in_one_transaction
        with target.transaction(WriteContext(actor="restore")) if one else contextlib.nullcontext():
            if not plan.empty:
                target.erase()
            counts = copy_catalog(source, target, batch, progress)
            restored = prove(target)
            result = RestoreResult(
                plan=plan, backup=backup_proof, restored=restored, counts=counts, one_transaction=one, seconds=seconds
            )
            if one and not result.ok:  # rolled back: the catalog stays as it was
                raise BackupFailed(msg("restore-mismatch", problems=tuple(_differences(result))))
        seconds["restore"] = time.perf_counter() - started
    result.witness_ahead = _witness_beyond(target, restored.head)
    return result


def _differences(result: RestoreResult) -> list[Message]:
    out = result.restored.problems()
    if result.restored.content_hash != result.backup.content_hash:
        out.append(msg("restore-hash-differs", hash=result.restored.content_hash, backup=result.backup.content_hash))
    if result.restored.head != result.backup.head:
        r, b = result.restored.head, result.backup.head
        out.append(msg("restore-head-differs", seq=r.seq, hash=r.hash, backup_seq=b.seq, backup_hash=b.hash))
    return out


def restore_problems(result: RestoreResult) -> list[Message]:
    """Why a restore's proof failed (empty when it holds)."""
    return _differences(result)


@dataclass
class CompactResult:
    """What :func:`compact` did: the store's size before and after, and the proof that no fact changed."""

    before: int  # bytes
    after: int
    head: Head  # before; ``same`` says the head after is this one
    content_hash: str  # before
    same: bool  # the head and the content hash after are those before
    verify: VerifyResult  # of the log after

    @property
    def ok(self) -> bool:
        return self.same and self.verify.ok


def compact(store: CatalogStore) -> CompactResult:
    """Give the space freed inside the catalog back to the disk (:meth:`CatalogStore.compact`), between two looks
    at its head and content hash: a compaction that changed a fact, or a write that slipped in meanwhile (the server
    should be stopped), shows as ``same`` False; the log is verified afterwards."""
    head, digest = store.log_head(), content_hash(store)
    before, after = store.compact()
    same = store.log_head() == head and content_hash(store) == digest
    return CompactResult(before, after, head, digest, same, store.verify_log(configured_witness=False))


def _witness_beyond(store: CatalogStore, head: Head) -> Head | None:
    """The highest head the store's configured witness file names beyond ``head``, if any: after restoring an older
    backup, verify-log reports those entries missing until the file is moved aside."""
    if store.head_witness is None:
        return None
    try:
        heads = read_heads(store.head_witness.path)
    except (OSError, ValueError):
        return None
    beyond = [h for h in heads if h.seq > head.seq]
    return max(beyond, key=lambda h: h.seq) if beyond else None


__all__ = [
    "BackupFailed",
    "BackupResult",
    "CopyProof",
    "RestorePlan",
    "RestoreRefused",
    "RestoreResult",
    "backup",
    "open_backup",
    "plan_restore",
    "prove",
    "restore",
    "restore_problems",
]
