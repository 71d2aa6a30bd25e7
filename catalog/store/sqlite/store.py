"""SQLite backend: one file, WAL journal, standard library only. The embedded default.

Tables: ``entities`` and ``relationships`` hold the current state: ``data`` is the canonical JSON of the content
(exactly the text the change log records as ``after``, so a write serialises each fact once) beside the version,
timestamps and indexed columns for filters;
``entity_fts`` (FTS5) holds folded text for diacritics-insensitive search; ``changelog`` is the hash-chained history
from which as-of reads are rebuilt. Each state of a fact is stored once: an entity's or relationship's entry stores
no ``after``, which is the next entry's ``before`` or the current ``data`` (:func:`_derived_after`). One connection per thread; writes take the database lock with BEGIN IMMEDIATE so
the change log stays a single chain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from catalog.changelog import GENESIS, Head, HeadWitness, VerifyResult, as_json, canonical_json, entry_hasher
from catalog.errors import (
    AlreadyExists,
    Conflict,
    FieldError,
    IntegrityError,
    NotFound,
    StoreError,
    StoreFull,
    ValidationFailed,
)
from catalog.i18n import msg, msg_plural
from catalog.metamodel import DEFAULT, Metamodel
from catalog.model import ChangeEntry, Entity, OrgEvent, Relationship, current_owner
from catalog.store.base import (
    RECORD_PREFIX,
    BulkLoad,
    BulkResult,
    CatalogStore,
    Correction,
    Direction,
    EntityFilter,
    ProgressFn,
    Record,
    StoredEntities,
    StoredRelationships,
    Subgraph,
    WriteContext,
    as_instant,
    check_record_key,
    check_record_version,
    chunks,
    consecutive_times,
    derives_after,
    entity_from_row,
    format_time,
    parse_log_time,
    record_ref,
    relationship_from_row,
    restored_log_rows,
)
from catalog.text import fold, search_text

# 3: entity_orgs; 4: each fact written once (change-log entries of entities and relationships derive ``after``).
# Older files are upgraded when opened.
SCHEMA_VERSION = "4"
_ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_CHUNK = 500
WRITE_WAIT = 30  # seconds a write waits for the database lock (SQLite's busy timeout, and this process's queue)
_BULK_CHUNK = 5000
# Pages of a new catalog file. 16 KiB rather than SQLite's 4 KiB: an entity's row (~700 bytes of JSON) and its change-log
# entry fill 4 KiB pages five at a time, so a big import spent a fifth of its SQL time on page management
# (docs/architecture.md, "Measured choices"). Existing files keep theirs.
PAGE_SIZE = 16384

# the kind is a term (a search of one rare kind reads that kind's entries, not every match); a prefix of up to 4
# letters (most of a Vietnamese syllable) is one index entry
FTS_SHAPE = "ref UNINDEXED, kind, name, body, tokenize = 'unicode61', prefix = '1 2 3 4'"
FTS_TABLE = f"CREATE VIRTUAL TABLE IF NOT EXISTS entity_fts USING fts5({FTS_SHAPE})"
FTS_VERSION = "2"  # meta 'search_index': 2 = FTS_SHAPE, rows under _fts_id (files before: rebuilt on open)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    ref TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT, lifecycle TEXT, version INTEGER NOT NULL,
    prov_source TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_kind ON entities(kind, ref);
CREATE INDEX IF NOT EXISTS entities_owner ON entities(owner);
CREATE INDEX IF NOT EXISTS entities_lifecycle ON entities(lifecycle);
CREATE INDEX IF NOT EXISTS entities_source ON entities(prov_source);
CREATE TABLE IF NOT EXISTS entity_tags (ref TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (tag, ref)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_tags_ref ON entity_tags(ref);
CREATE TABLE IF NOT EXISTS entity_orgs (org TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (org, ref)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_orgs_ref ON entity_orgs(ref);
{FTS_TABLE};
CREATE TABLE IF NOT EXISTS relationships (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, version INTEGER NOT NULL,
    prov_source TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rel_source ON relationships(source, type);
CREATE INDEX IF NOT EXISTS rel_target ON relationships(target, type);
CREATE INDEX IF NOT EXISTS rel_prov ON relationships(prov_source);
CREATE TABLE IF NOT EXISTS org_events (id TEXT PRIMARY KEY, date TEXT NOT NULL, version INTEGER NOT NULL,
    prov_source TEXT, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_orgs (org TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (org, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (collection TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
    updated_at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (collection, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_updated ON records(collection, updated_at);
CREATE TABLE IF NOT EXISTS changelog (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, request_id TEXT NOT NULL, op TEXT NOT NULL,
    ref TEXT NOT NULL, before TEXT, after TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, proposer TEXT
);
CREATE INDEX IF NOT EXISTS changelog_ref ON changelog(ref, seq);
CREATE INDEX IF NOT EXISTS changelog_time ON changelog(time);
CREATE INDEX IF NOT EXISTS changelog_request ON changelog(request_id, seq);
"""


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    return chunks(items, size)


def _entity(row: tuple) -> Entity:
    """An Entity from (data, version, created_at, updated_at)."""
    return entity_from_row(*row)


def _relationship(row: tuple) -> Relationship:
    return relationship_from_row(*row)


_E = "data, version, created_at, updated_at"


def _derived_after(c: str) -> str:
    """SQL for the ``after`` of the change-log entry aliased ``c`` when it is not stored ("each fact written once",
    docs/architecture.md): none for a delete or an entry that is not about an entity or a relationship; otherwise
    the ``before`` of the next entry of the same reference (index changelog_ref), else the current row's ``data``.
    Both are, byte for byte, the text the entry's hash was computed over."""
    return (
        f"CASE WHEN {c}.op = 'delete' OR substr({c}.ref, 1, 6) = 'event:' OR substr({c}.ref, 1, 7) = 'record:' "
        f"THEN NULL ELSE coalesce((SELECT n.before FROM changelog n WHERE n.ref = {c}.ref AND n.seq > {c}.seq "
        f"ORDER BY n.seq LIMIT 1), CASE WHEN substr({c}.ref, 1, 4) = 'rel:' "
        f"THEN (SELECT r.data FROM relationships r WHERE r.id = substr({c}.ref, 5)) "
        f"ELSE (SELECT e.data FROM entities e WHERE e.ref = {c}.ref) END) END"
    )


# an entry's after as readers see it: the stored one (records, events, entries written before schema 4) or derived
_AFTER = f"coalesce(c.after, {_derived_after('c')})"
# the change-log columns in table order, ``after`` as readers see it
_LOG = f"c.seq, c.time, c.actor, c.request_id, c.op, c.ref, c.before, {_AFTER}, c.prev_hash, c.hash, c.proposer"
# the same without before and after (``changelog(bodies=False)``)
_LOG_HEADS = "c.seq, c.time, c.actor, c.request_id, c.op, c.ref, NULL, NULL, c.prev_hash, c.hash, c.proposer"
# an entity's or relationship's entry whose stored after repeats what it derives: the after is set to NULL
_COMPACT = (
    "UPDATE changelog AS c SET after = NULL WHERE c.seq BETWEEN ? AND ? AND c.after IS NOT NULL "
    f"AND c.after = {_derived_after('c')}"
)


class _Follow:
    """Rows (key, value) read in key order, looked up by keys asked in increasing order: a merge with another
    ordered read, so each row is read once and no key costs an index lookup."""

    def __init__(self, rows: Iterable[tuple[str, str]]):
        self._rows = iter(rows)
        self._row: tuple[str, str] | None = next(self._rows, None)

    def get(self, key: str) -> str | None:
        while self._row is not None and self._row[0] < key:
            self._row = next(self._rows, None)
        return self._row[1] if self._row is not None and self._row[0] == key else None


@dataclasses.dataclass
class _Prepared:
    """One chunk of a bulk load, ready to write: rows of ``what`` ("entities" or "relationships"), search-index rows,
    change-log rows, the change-log head after them and what to add to the result."""

    what: str
    size: int
    head: tuple[int, str, str]
    inserts: list[tuple] = dataclasses.field(default_factory=list)
    updates: list[tuple] = dataclasses.field(default_factory=list)
    reindex: list[tuple[str]] = dataclasses.field(default_factory=list)
    index: tuple[list, list, list] = dataclasses.field(default_factory=lambda: ([], [], []))
    log: list[tuple] = dataclasses.field(default_factory=list)
    adds: list[tuple] = dataclasses.field(default_factory=list)


_INSERT_LOG = (
    "INSERT INTO changelog (seq, time, actor, request_id, op, ref, before, after, prev_hash, hash, proposer) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def _fts_tiers(text: str) -> list[str]:
    """FTS5 queries for ``text``, best matches first: the words as a phrase in the name (the name, code or a run of
    words inside either name, as typed), every word in the name, every word anywhere (names, descriptions, tags,
    text attributes). Every word is a prefix; none when there is nothing to search for."""
    tokens = fold(text).split()[:20]
    if not tokens:
        return []
    words = " ".join(f'"{t}"*' for t in tokens)
    phrase = " ".join(tokens)
    return (
        [f'name : "{phrase}" *'] + ([f"name : ({words})"] if len(tokens) > 1 else []) + [f"{{name body}} : ({words})"]
    )


def _rel_ref(rel_id: str) -> str:
    return f"rel:{rel_id}"


def _store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """A failed SQLite write as the catalog's own error; the transaction has been rolled back by then."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
        return StoreFull(
            f"the disk holding the catalog {path} is full (or the file reached its size limit): the "
            "write was rolled back and the catalog is unchanged; free some space and retry"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"the catalog {path} stayed locked by another writer: the write was rolled back; retry")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"the catalog {path} is read-only here: nothing was written")
    return StoreError(f"the catalog {path} failed: {exc}; the write was rolled back")


class SQLiteStore(CatalogStore):
    """The embedded store. ``path`` is a file (created if missing) or ':memory:' is refused (WAL needs a file).

    ``read_only`` opens an existing catalog of the current schema without changing a byte of it (no schema script,
    no WAL switch): how a backup file is read. ``head_witness`` receives each committed head (see
    :class:`catalog.changelog.HeadWitness`)."""

    restores_in_one_transaction = True

    def __init__(
        self,
        path: str | Path,
        metamodel: Metamodel = DEFAULT,
        create: bool = True,
        head_witness: HeadWitness | None = None,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.metamodel = metamodel
        self.head_witness = head_witness
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # the outermost write transaction of this process (see transaction)
        if (read_only or not create) and not self.path.exists():
            raise StoreError(f"no catalog at {self.path} (run `ioc-catalog init` first)")
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path)) as probe:  # look before changing anything
                tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not self.path.stat().st_size:  # a new file: its page size can be set only before the first write
                    probe.execute(f"PRAGMA page_size={PAGE_SIZE}")
                    probe.execute("VACUUM")
            if tables and "meta" not in tables:  # someone else's SQLite database: never add our tables to it
                raise StoreError(
                    f"{self.path} is an SQLite database but not a catalog (it has tables "
                    f"{', '.join(sorted(tables)[:5])} and no catalog schema); refusing to change it"
                )
            conn = self._conn()
            conn.executescript(SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif row[0] not in ("2", "3", SCHEMA_VERSION):
                raise StoreError(f"{self.path} has catalog schema {row[0]}, this version reads {SCHEMA_VERSION}")
            self._add_proposer(conn)
            if row is not None and row[0] == "2":
                self._upgrade_from_2(conn)
            if row is not None and row[0] in ("2", "3"):
                self._upgrade_from_3(conn)
            self._widen_fts(conn)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path} is not a catalog file: {exc}") from exc
        except StoreError:
            self.close()
            raise

    def _open_read_only(self) -> None:
        try:
            conn = self._conn()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            row = (
                conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                if "meta" in tables
                else None
            )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path} is not a catalog file: {exc}") from exc
        if row is None:
            self.close()
            raise StoreError(f"{self.path} is not a catalog file (no catalog schema)")
        if row[0] != SCHEMA_VERSION:
            self.close()
            raise StoreError(
                f"{self.path} has catalog schema {row[0]}; read-only, this version reads only "
                f"{SCHEMA_VERSION} (open a copy of it to upgrade it)"
            )

    @staticmethod
    def file_schema(path: str | Path) -> str | None:
        """The catalog schema version a file holds (None: not a catalog), read without changing the file."""
        try:
            with contextlib.closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "meta" not in tables:
                    return None
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                return row[0] if row else None
        except sqlite3.DatabaseError:
            return None

    def _connect(self) -> sqlite3.Connection:
        """A new connection to the file (read-only ones through a ``mode=ro`` URI)."""
        if self.read_only:
            return sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                timeout=WRITE_WAIT,
                check_same_thread=True,
            )
        return sqlite3.connect(self.path, isolation_level=None, timeout=WRITE_WAIT, check_same_thread=True)

    @staticmethod
    def _add_proposer(conn: sqlite3.Connection) -> None:
        """The change log's ``proposer`` column (an approved draft's submitter), added to a file written before it
        existed; its old entries keep NULL there, which is also how their hashes were computed (none)."""
        if not any(r[1] == "proposer" for r in conn.execute("PRAGMA table_info(changelog)")):
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it meanwhile
                conn.execute("ALTER TABLE changelog ADD COLUMN proposer TEXT")

    @staticmethod
    def _widen_fts(conn: sqlite3.Connection) -> None:
        """The search index of a file written before it kept the kind as a term, prefixes of up to 4 letters and
        each entity's row under :func:`_fts_id`: rebuilt so from its own rows, in one transaction (re-checked under
        the lock: another process may be doing it), and marked in ``meta``. Derived data: the schema version stays;
        a read-only file keeps its index and searches it (more slowly)."""

        def current() -> bool:
            row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entity_fts'").fetchone()
            mark = conn.execute("SELECT value FROM meta WHERE key = 'search_index'").fetchone()
            return row is not None and FTS_SHAPE in row[0] and mark is not None and mark[0] == FTS_VERSION

        if current():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not current():
                conn.execute("ALTER TABLE entity_fts RENAME TO entity_fts_old")
                conn.execute(FTS_TABLE)
                conn.create_function("ioc_fts_id", 1, _fts_id, deterministic=True)
                conn.execute(
                    "INSERT INTO entity_fts (rowid, ref, kind, name, body) "
                    "SELECT ioc_fts_id(ref), ref, kind, name, body FROM entity_fts_old ORDER BY 1"
                )
                conn.execute("DROP TABLE entity_fts_old")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('search_index', ?)", (FTS_VERSION,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _upgrade_from_2(conn: sqlite3.Connection) -> None:  # then _upgrade_from_3
        """Schema 3 adds ``entity_orgs`` (every organisation an entity's owner history names, in any period):
        filled from the stored entities, in one transaction with the version, once (re-checked under the lock, as
        another process may be upgrading the same file)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2":
                conn.execute("DELETE FROM entity_orgs")
                conn.execute(
                    "INSERT OR IGNORE INTO entity_orgs SELECT json_extract(p.value, '$.org'), e.ref "
                    "FROM entities e, json_each(e.data, '$.owner_history') p"
                )
                conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _upgrade_from_3(conn: sqlite3.Connection) -> None:
        """Schema 3 to 4, each fact written once: in one transaction (re-checked under the lock: another process
        may be upgrading the same file), the ``after`` of every entity's and relationship's change-log entry that
        equals what it derives is set to NULL, then the version is recorded. An after that differs is kept (nothing
        is lost), and since NULL-ing an equal one changes no read, a file is valid at every step. The space freed is
        inside the log's pages: the file keeps its size until VACUUMed."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "3":
                conn.execute(_COMPACT, (0, 1 << 62))
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # --- connections and transactions --------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            if not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
            self._local.depth = 0
            with self._lock:
                self._all_conns = getattr(self, "_all_conns", []) + [conn]
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in getattr(self, "_all_conns", []):
                with contextlib.suppress(Exception):
                    conn.close()
            self._all_conns = []
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self, ctx: WriteContext) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or a savepoint inside an open one. SQLite's own failures (disk full, lock
        timeout, read-only file) come out as :class:`StoreError` / :class:`StoreFull` once everything is rolled
        back (SQLite may already have rolled the whole transaction back itself after a full disk). After the
        outermost commit, the head witness (if any) gets the new head."""
        conn = self._conn()
        if self._local.depth:
            # nested: a savepoint, so a write that fails half-way (a refused bulk load) leaves nothing behind even
            # when the caller catches the error and lets the outer transaction commit
            savepoint, head = f"sp{self._local.depth}", self._local.head
            conn.execute(f"SAVEPOINT {savepoint}")
            self._local.depth += 1
            try:
                yield
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                self._local.head = head
                if isinstance(exc, sqlite3.Error):
                    raise _store_error(exc, self.path) from exc
                raise
            else:
                conn.execute(f"RELEASE {savepoint}")
            finally:
                self._local.depth -= 1
            return
        # this process's writers queue here, each woken the moment the one before commits; SQLite's busy handler
        # (which sleeps and retries, up to 100 ms at a time) is left to writers in other processes (workers)
        if not self._writing.acquire(timeout=WRITE_WAIT):
            raise StoreError(f"the catalog {self.path} stayed locked by another writer: nothing was written; retry")
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _store_error(exc, self.path) from exc
            self._local.depth = 1
            self._local.head = None
            try:
                yield
                conn.execute("COMMIT")
                head = self._local.head
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _store_error(exc, self.path) from exc
                raise
            finally:
                self._local.depth = 0
                self._local.head = None
        finally:
            self._writing.release()
        if head is not None:  # something was logged: the head moved
            self._witness(head)

    # --- change log --------------------------------------------------------------------------------------------
    def _head(self, conn: sqlite3.Connection) -> tuple[int, str, str]:
        head = getattr(self._local, "head", None)
        if head is None:
            row = conn.execute("SELECT seq, hash, time FROM changelog ORDER BY seq DESC LIMIT 1").fetchone()
            head = row if row else (0, GENESIS, "")
        return head

    def _log_many(
        self,
        conn: sqlite3.Connection,
        ctx: WriteContext,
        items: list[tuple[str, str, Any, Any]],
        now: str | None = None,
    ) -> None:
        """Append (op, ref, before, after) entries (before/after: dicts, None, or their canonical JSON text);
        must run inside a transaction. Entries of one call get consecutive microseconds from one clock reading.
        The hash covers ``after``, but an entity's or relationship's entry does not store it: the caller has
        written the same text as the current row (see :func:`_derived_after`)."""
        if not items:
            return
        rows, head = self._log_rows(ctx, items, self._head(conn), now)
        conn.executemany(_INSERT_LOG, rows)
        self._local.head = head

    def _log_rows(
        self,
        ctx: WriteContext,
        items: list[tuple[str, str, Any, Any]],
        head: tuple[int, str, str],
        now: str | None = None,
    ) -> tuple[list[tuple], tuple[int, str, str]]:
        """The change-log rows of ``items`` after ``head`` (seq, hash, time), and the head after them; touches no
        connection (a bulk load prepares a chunk's rows, then writes them)."""
        if not items:
            return [], head
        seq, prev, last = head
        base = parse_log_time(now if now and now > last else self._now(last))
        rows = []
        proposer = ctx.proposer or None
        hash_entry = entry_hasher(ctx.actor, ctx.request_id, proposer)
        for (op, ref, before, after), time in zip(items, consecutive_times(base, len(items)), strict=False):
            seq += 1
            b = None if before is None else as_json(before)
            a = None if after is None else as_json(after)
            h = hash_entry(seq, time, op, ref, b, a, prev)
            rows.append(
                (
                    seq,
                    time,
                    ctx.actor,
                    ctx.request_id,
                    op,
                    ref,
                    b,
                    a if op != "delete" and not derives_after(ref) else None,
                    prev,
                    h,
                    proposer,
                )
            )
            prev, last = h, time
        return rows, (seq, prev, last)

    def changelog(
        self,
        ref: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        after_seq: int = 0,
        op: str | None = None,
        kind: str | None = None,
        before_seq: int | None = None,
        request_id: str | None = None,
        bodies: bool = True,
    ) -> list[ChangeEntry]:
        where: list[str] = ["c.seq > ?"]
        args: list[Any] = [after_seq]
        if ref:
            where.append("ref = ?")
            args.append(ref)
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if since:
            where.append("time >= ?")
            args.append(
                as_instant(since)
                if len(since) > 10
                else format_time(dt.datetime.combine(dt.date.fromisoformat(since), dt.time.min, tzinfo=dt.UTC))
            )
        if until:
            where.append("time <= ?")
            args.append(as_instant(until))
        if op:
            where.append("op = ?")
            args.append(op)
        if kind:
            where.append("substr(c.ref, 1, ?) = ?")
            args += [len(kind) + 1, f"{kind}:"]
        if before_seq is not None:
            where.append("c.seq < ?")
            args.append(int(before_seq))
        if request_id:
            where.append("request_id = ?")
            args.append(request_id)
        sql = f"SELECT {_LOG if bodies else _LOG_HEADS} FROM changelog c WHERE {' AND '.join(where)} ORDER BY c.seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [self._entry(r) for r in self._conn().execute(sql, args)]

    @staticmethod
    def _entry(r: tuple) -> ChangeEntry:
        return ChangeEntry(
            seq=r[0],
            time=r[1],
            actor=r[2],
            request_id=r[3],
            op=r[4],
            ref=r[5],
            before=None if r[6] is None else json.loads(r[6]),
            after=None if r[7] is None else json.loads(r[7]),
            prev_hash=r[8],
            hash=r[9],
            proposer=r[10] if len(r) > 10 else None,
        )

    def verify_log(self, witness: Iterable[Head] = (), configured_witness: bool = True) -> VerifyResult:
        # the stored text is hashed as it is: any edit, even of white space, breaks the chain; so does an edit of a
        # current row, which is the after of its reference's last entry
        sql = f"SELECT {_LOG}, c.after IS NULL AND c.op != 'delete' FROM changelog c ORDER BY c.seq"
        return self._verify_rows(lambda: self._conn().execute(sql), witness, configured_witness)

    def schema_versions(self) -> tuple[str | None, str | None]:
        row = self._conn().execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return (row[0] if row else None), SCHEMA_VERSION

    def revision(self) -> tuple[int, str]:
        row = self._conn().execute("SELECT seq, hash FROM changelog ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # --- entities ----------------------------------------------------------------------------------------------
    @staticmethod
    def _entity_row(c: dict[str, Any], data: str, version: int, created: str, updated: str) -> tuple:
        prov = c.get("provenance")
        return (
            c["ref"],
            c["kind"],
            current_owner(c["owner_history"]),
            c["attributes"].get("lifecycle"),
            version,
            prov["source"] if prov else None,
            created,
            updated,
            data,
        )

    def _write_entity(
        self, conn: sqlite3.Connection, c: dict[str, Any], version: int, created: str, now: str, new: bool
    ) -> str:
        data = canonical_json(c)
        row = self._entity_row(c, data, version, created, now)
        if new:
            conn.execute("INSERT INTO entities VALUES (?,?,?,?,?,?,?,?,?)", row)
        else:
            conn.execute(
                "UPDATE entities SET kind=?, owner=?, lifecycle=?, version=?, prov_source=?, created_at=?, "
                "updated_at=?, data=? WHERE ref=?",
                (*row[1:], row[0]),
            )
            _drop_index_rows(conn, [(c["ref"],)])
        _insert_index_rows(conn, *_index_rows(c))
        return data

    def create_entity(self, entity: Entity, ctx: WriteContext) -> Entity:
        with self.transaction(ctx):
            conn = self._conn()
            if conn.execute("SELECT 1 FROM entities WHERE ref = ?", (entity.ref,)).fetchone():
                raise AlreadyExists(msg("entity-exists", ref=entity.ref))
            now = self._now(self._head(conn)[2])
            c = entity.content()
            data = self._write_entity(conn, c, 1, now, now, new=True)
            self._log_many(conn, ctx, [("create", entity.ref, None, data)], now)
            return entity.model_copy(update={"version": 1, "created_at": now, "updated_at": now})

    def find_entity(self, ref: str) -> Entity | None:
        row = self._conn().execute(f"SELECT {_E} FROM entities WHERE ref = ?", (ref,)).fetchone()
        return _entity(row) if row else None

    def get_entities(self, refs: list[str]) -> dict[str, Entity]:
        out: dict[str, Entity] = {}
        conn = self._conn()
        for chunk in _chunks(list(dict.fromkeys(refs))):
            q = f"SELECT {_E} FROM entities WHERE ref IN ({','.join('?' * len(chunk))})"
            for row in conn.execute(q, chunk):
                e = _entity(row)
                out[e.ref] = e
        return out

    def update_entity(self, entity: Entity, expected_version: int, ctx: WriteContext) -> Entity:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute("SELECT version, created_at, data FROM entities WHERE ref = ?", (entity.ref,)).fetchone()
            if row is None:
                raise NotFound(msg("entity-not-found", ref=entity.ref))
            if row[0] != expected_version:
                raise Conflict(entity.ref, expected_version, row[0])
            now = self._now(self._head(conn)[2])
            data = self._write_entity(conn, entity.content(), row[0] + 1, row[1], now, new=False)
            self._log_many(conn, ctx, [("update", entity.ref, row[2], data)], now)
            return entity.model_copy(update={"version": row[0] + 1, "created_at": row[1], "updated_at": now})

    def delete_entity(self, ref: str, expected_version: int, ctx: WriteContext, cascade: bool = False) -> None:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute("SELECT version, data FROM entities WHERE ref = ?", (ref,)).fetchone()
            if row is None:
                raise NotFound(msg("entity-not-found", ref=ref))
            if row[0] != expected_version:
                raise Conflict(ref, expected_version, row[0])
            rels = conn.execute(
                "SELECT id, data FROM relationships WHERE source = ? OR target = ? ORDER BY id", (ref, ref)
            ).fetchall()
            if rels and not cascade:
                raise IntegrityError(
                    msg_plural("entity-in-use", "entity-in-use#plural", count=len(rels), ref=ref, example=rels[0][0])
                )
            conn.executemany("DELETE FROM relationships WHERE id = ?", [(rid,) for rid, _ in rels])
            conn.execute("DELETE FROM entities WHERE ref = ?", (ref,))
            _drop_index_rows(conn, [(ref,)])
            log = [("delete", _rel_ref(rid), data, None) for rid, data in rels]
            self._log_many(conn, ctx, log + [("delete", ref, row[1], None)])

    def _filter_sql(self, flt: EntityFilter) -> tuple[str, list[Any]]:
        where, args = [], []
        if flt.kind:
            where.append("kind = ?")
            args.append(flt.kind)
        if flt.owner:
            where.append("owner = ?")
            args.append(flt.owner)
        if flt.lifecycle:
            where.append("lifecycle = ?")
            args.append(flt.lifecycle)
        if flt.source:
            where.append("prov_source = ?")
            args.append(flt.source)
        if flt.tag:
            where.append("ref IN (SELECT ref FROM entity_tags WHERE tag = ?)")
            args.append(flt.tag)
        for name, value in sorted(flt.attributes.items()):
            if not _ATTR_NAME.match(name):
                raise ValidationFailed([FieldError(f"attributes.{name}", msg("attribute-name-malformed"))])
            where.append("json_extract(data, ?) = ?")
            args += [f"$.attributes.{name}", value]
        return (" WHERE " + " AND ".join(where)) if where else "", args

    def list_entities(self, flt: EntityFilter = EntityFilter()) -> list[Entity]:
        where, args = self._filter_sql(flt)
        sql = f"SELECT {_E} FROM entities{where} ORDER BY ref LIMIT ? OFFSET ?"
        return [_entity(r) for r in self._conn().execute(sql, args + [flt.limit, flt.offset])]

    def count_entities(self, flt: EntityFilter = EntityFilter()) -> int:
        where, args = self._filter_sql(flt)
        return self._conn().execute(f"SELECT count(*) FROM entities{where}", args).fetchone()[0]

    def search(self, text: str, kind: str | None = None, limit: int = 20, *, phrase: bool = False) -> list[Entity]:
        # tier by tier (_fts_tiers), each read in the index's own order and stopped at the limit: no query ranks
        # or sorts every match, so a common word among 100,000 entities costs what a rare one does
        limit = int(limit)
        found: dict[str, None] = {}
        sql = f"SELECT ref FROM entity_fts WHERE entity_fts MATCH ?{' AND kind = ?' if kind else ''} LIMIT ?"
        in_kind = 'kind : "{}" AND '.format(kind.replace('"', '""')) if kind else ""  # narrows; ``kind = ?`` decides
        conn = self._conn()
        try:
            for q in _fts_tiers(text)[: 1 if phrase else None]:
                if 0 <= limit <= len(found):
                    break
                args: list[Any] = [in_kind + q, *([kind] if kind else []), limit]
                for (ref,) in conn.execute(sql, args):
                    found.setdefault(ref)
        except sqlite3.OperationalError as exc:  # pragma: no cover - folded tokens are always valid FTS terms
            raise ValidationFailed([FieldError("q", msg("search-unusable", text=text))]) from exc
        refs = list(found)[:limit] if limit >= 0 else list(found)
        got = self.get_entities(refs)
        return [got[r] for r in refs if r in got]

    # --- relationships -----------------------------------------------------------------------------------------
    @staticmethod
    def _rel_row(c: dict[str, Any], data: str, version: int, created: str, updated: str) -> tuple:
        prov = c.get("provenance")
        return (
            c["id"],
            c["type"],
            c["source"],
            c["target"],
            version,
            prov["source"] if prov else None,
            created,
            updated,
            data,
        )

    def _require_endpoints(self, conn: sqlite3.Connection, rel: Relationship) -> None:
        for end in (rel.source, rel.target):
            if not conn.execute("SELECT 1 FROM entities WHERE ref = ?", (end,)).fetchone():
                raise IntegrityError(msg("relationship-end-missing", id=rel.id, end=end))

    def create_relationship(self, rel: Relationship, ctx: WriteContext) -> Relationship:
        with self.transaction(ctx):
            conn = self._conn()
            if conn.execute("SELECT 1 FROM relationships WHERE id = ?", (rel.id,)).fetchone():
                raise AlreadyExists(msg("relationship-exists", id=rel.id))
            self._require_endpoints(conn, rel)
            now = self._now(self._head(conn)[2])
            c = rel.content()
            data = canonical_json(c)
            conn.execute("INSERT INTO relationships VALUES (?,?,?,?,?,?,?,?,?)", self._rel_row(c, data, 1, now, now))
            self._log_many(conn, ctx, [("create", _rel_ref(rel.id), None, data)], now)
            return rel.model_copy(update={"version": 1, "created_at": now, "updated_at": now})

    def find_relationship(self, rel_id: str) -> Relationship | None:
        row = self._conn().execute(f"SELECT {_E} FROM relationships WHERE id = ?", (rel_id,)).fetchone()
        return _relationship(row) if row else None

    def update_relationship(self, rel: Relationship, expected_version: int, ctx: WriteContext) -> Relationship:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute("SELECT version, created_at, data FROM relationships WHERE id = ?", (rel.id,)).fetchone()
            if row is None:
                raise NotFound(msg("relationship-not-found", id=rel.id))
            if row[0] != expected_version:
                raise Conflict(rel.id, expected_version, row[0])
            now = self._now(self._head(conn)[2])
            c = rel.content()
            data = canonical_json(c)
            r = self._rel_row(c, data, row[0] + 1, row[1], now)
            conn.execute(
                "UPDATE relationships SET version=?, prov_source=?, created_at=?, updated_at=?, data=? WHERE id=?",
                (*r[4:], rel.id),
            )
            self._log_many(conn, ctx, [("update", _rel_ref(rel.id), row[2], data)], now)
            return rel.model_copy(update={"version": row[0] + 1, "created_at": row[1], "updated_at": now})

    def delete_relationship(self, rel_id: str, expected_version: int, ctx: WriteContext) -> None:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute("SELECT version, data FROM relationships WHERE id = ?", (rel_id,)).fetchone()
            if row is None:
                raise NotFound(msg("relationship-not-found", id=rel_id))
            if row[0] != expected_version:
                raise Conflict(rel_id, expected_version, row[0])
            conn.execute("DELETE FROM relationships WHERE id = ?", (rel_id,))
            self._log_many(conn, ctx, [("delete", _rel_ref(rel_id), row[1], None)])

    def list_relationships(
        self, ref: str | None = None, type: str | None = None, direction: Direction = "both", limit: int | None = None
    ) -> list[Relationship]:
        where: list[str] = []
        args: list[Any] = []
        if ref:
            ends = {"out": "source = ?", "in": "target = ?", "both": "(source = ? OR target = ?)"}[direction]
            where.append(ends)
            args += [ref] * (2 if direction == "both" else 1)
        if type:
            where.append("type = ?")
            args.append(type)
        sql = f"SELECT {_E} FROM relationships" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_relationship(r) for r in self._conn().execute(sql, args)]

    def count_relationships(self) -> int:
        return self._conn().execute("SELECT count(*) FROM relationships").fetchone()[0]

    # --- traversal ---------------------------------------------------------------------------------------------
    def neighbourhood(
        self,
        ref: str,
        depth: int = 1,
        direction: Direction = "both",
        types: tuple[str, ...] | None = None,
        limit: int = 500,
    ) -> Subgraph:
        conn = self._conn()
        if not conn.execute("SELECT 1 FROM entities WHERE ref = ?", (ref,)).fetchone():
            raise NotFound(msg("entity-not-found", ref=ref))
        seen: dict[str, int] = {ref: 0}
        rel_ids: set[str] = set()
        frontier = [ref]
        truncated = False
        type_sql = f" AND type IN ({','.join('?' * len(types))})" if types else ""
        queries = []
        if direction in ("out", "both"):
            queries.append(f"SELECT id, target FROM relationships WHERE source IN (%s){type_sql}")
        if direction in ("in", "both"):
            queries.append(f"SELECT id, source FROM relationships WHERE target IN (%s){type_sql}")
        for level in range(1, max(0, depth) + 1):
            nxt: list[str] = []
            for chunk in _chunks(sorted(frontier)):
                for q in queries:
                    for rid, other in conn.execute(q % ",".join("?" * len(chunk)), chunk + list(types or ())):
                        if other not in seen:
                            if len(seen) >= limit:
                                truncated = True
                                break
                            seen[other] = level
                            nxt.append(other)
                        rel_ids.add(rid)
                    if truncated:
                        break
                if truncated:
                    break
            frontier = nxt
            if not frontier or truncated:
                break
        rows: dict[str, tuple] = {}
        for chunk in _chunks(list(seen)):
            q = f"SELECT ref, {_E} FROM entities WHERE ref IN ({','.join('?' * len(chunk))})"
            rows.update((row[0], row[1:]) for row in conn.execute(q, chunk))
        rel_rows: list[tuple] = []
        for chunk in _chunks(sorted(rel_ids)):
            q = f"SELECT {_E} FROM relationships WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id"
            rel_rows += conn.execute(q, chunk).fetchall()
        # models are built when read (StoredEntities): most of a big answer's cost otherwise
        return Subgraph(
            entities=StoredEntities({ref: rows[ref] for ref in seen if ref in rows}),
            relationships=StoredRelationships(rel_rows),
            depth=seen,
            truncated=truncated,
        )

    # --- organisation events -----------------------------------------------------------------------------------
    def record_event(self, event: OrgEvent, ctx: WriteContext) -> OrgEvent:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute("SELECT version, data FROM org_events WHERE id = ?", (event.id,)).fetchone()
            before = OrgEvent.model_validate_json(row[1]) if row else None
            ev = event.model_copy(update={"version": (row[0] + 1) if row else 1})
            data = ev.model_dump_json(by_alias=True)
            conn.execute(
                "INSERT OR REPLACE INTO org_events VALUES (?,?,?,?,?)",
                (ev.id, ev.date.isoformat(), ev.version, ev.provenance.source if ev.provenance else None, data),
            )
            conn.execute("DELETE FROM event_orgs WHERE id = ?", (ev.id,))
            orgs = set(ev.from_ + ev.to) | {t.to for t in ev.transfers}
            conn.executemany("INSERT INTO event_orgs VALUES (?, ?)", [(o, ev.id) for o in sorted(orgs)])
            self._log_many(
                conn,
                ctx,
                [("update" if before else "create", ev.ref, before.content() if before else None, ev.content())],
            )
            return ev

    def list_events(self, org: str | None = None) -> list[OrgEvent]:
        if org:
            rows = self._conn().execute(
                "SELECT e.data FROM org_events e JOIN event_orgs o ON o.id = e.id "
                "WHERE o.org = ? ORDER BY e.date, e.id",
                (org,),
            )
        else:
            rows = self._conn().execute("SELECT data FROM org_events ORDER BY date, id")
        return [OrgEvent.model_validate_json(r[0]) for r in rows]

    # --- records -----------------------------------------------------------------------------------------------
    def put_record(
        self,
        collection: str,
        key: str,
        data: dict[str, Any],
        ctx: WriteContext,
        expected_version: int | None = None,
        log: bool = True,
    ) -> Record:
        check_record_key(collection, key)
        text = canonical_json(data)
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute(
                "SELECT version, data FROM records WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
            check_record_version(collection, key, expected_version, row[0] if row else None)
            seq, _, last = self._head(conn)
            now = self._now(last)
            version = (row[0] + 1) if row else 1
            conn.execute("INSERT OR REPLACE INTO records VALUES (?,?,?,?,?)", (collection, key, version, now, text))
            if log:
                self._log_many(
                    conn,
                    ctx,
                    [("update" if row else "create", record_ref(collection, key), row[1] if row else None, text)],
                    now,
                )
            return Record(collection, key, json.loads(text), version, now)

    def get_record(self, collection: str, key: str) -> Record | None:
        row = (
            self._conn()
            .execute(
                "SELECT collection, key, data, version, updated_at FROM records WHERE collection = ? AND key = ?",
                (collection, key),
            )
            .fetchone()
        )
        return _record(row) if row else None

    def list_records(
        self, collection: str, limit: int = 100, offset: int = 0, newest_first: bool = False
    ) -> list[Record]:
        order = "updated_at DESC, key" if newest_first else "key"
        rows = self._conn().execute(
            f"SELECT collection, key, data, version, updated_at FROM records "
            f"WHERE collection = ? ORDER BY {order} LIMIT ? OFFSET ?",
            (collection, int(limit), int(offset)),
        )
        return [_record(r) for r in rows]

    def count_records(self, collection: str | None = None) -> int:
        if collection is None:
            return self._conn().execute("SELECT count(*) FROM records").fetchone()[0]
        return self._conn().execute("SELECT count(*) FROM records WHERE collection = ?", (collection,)).fetchone()[0]

    def delete_record(
        self, collection: str, key: str, ctx: WriteContext, expected_version: int | None = None, log: bool = True
    ) -> None:
        with self.transaction(ctx):
            conn = self._conn()
            row = conn.execute(
                "SELECT version, data FROM records WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
            if row is None:
                raise NotFound(msg("record-not-found", record=f"{collection}/{key}"))
            check_record_version(collection, key, expected_version, row[0])
            conn.execute("DELETE FROM records WHERE collection = ? AND key = ?", (collection, key))
            if log:
                self._log_many(conn, ctx, [("delete", record_ref(collection, key), row[1], None)])

    # --- as-of -------------------------------------------------------------------------------------------------
    def entity_as_of(self, ref: str, when: dt.datetime | dt.date | str) -> Entity | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_AFTER} FROM changelog c WHERE c.ref = ? AND c.time <= ? ORDER BY c.seq DESC LIMIT 1",
                (ref, as_instant(when)),
            )
            .fetchone()
        )
        if row is None or row[0] is None:
            return None
        return Entity.model_validate_json(row[0])

    def graph_as_of(self, when: dt.datetime | dt.date | str) -> Subgraph:
        ents, rels = self.graph_json(when)  # in ref and id order
        entities = {e.ref: e for e in map(Entity.model_validate_json, ents)}
        return Subgraph(entities=entities, relationships=[Relationship.model_validate_json(r) for r in rels])

    def graph_json(self, when: dt.datetime | dt.date | str | None = None) -> tuple[list[str], list[str]]:
        ents: list[str] = []
        rels: list[str] = []
        if when is None:  # one statement: one consistent read
            sql = "SELECT 0, data FROM entities UNION ALL SELECT 1, data FROM relationships"
            for which, data in self._conn().execute(sql):
                (rels if which else ents).append(data)
            return ents, rels
        # as of: the last change-log entry of each reference up to then, in reference order, with its after: stored,
        # or the before of the reference's first entry after then, or else the current row. The current rows are
        # read in key order beside it (a merge, not a lookup per reference), all in one read transaction.
        t = as_instant(when)
        conn = self._conn()
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            later = dict(
                conn.execute(
                    "SELECT c.ref, c.before FROM changelog c JOIN (SELECT min(seq) AS m FROM changelog WHERE time > ? "
                    "GROUP BY ref) y ON c.seq = y.m",
                    (t,),
                )
            )
            current_e = _Follow(conn.execute("SELECT ref, data FROM entities ORDER BY ref"))
            current_r = _Follow(conn.execute("SELECT id, data FROM relationships ORDER BY id"))
            sql = (
                "SELECT c.ref, c.after FROM changelog c JOIN (SELECT ref, max(seq) AS m FROM changelog "
                "WHERE time <= ? GROUP BY ref) x ON c.seq = x.m WHERE c.op != 'delete' ORDER BY c.ref"
            )
            for ref, after in conn.execute(sql, (t,)):
                if ref.startswith(("event:", RECORD_PREFIX)):
                    continue
                rel = ref.startswith("rel:")
                if after is None:
                    after = later[ref] if ref in later else current_r.get(ref[4:]) if rel else current_e.get(ref)
                if after is not None:
                    (rels if rel else ents).append(after)
        finally:
            if own:
                conn.execute("COMMIT")
        return ents, rels

    def part_json(
        self,
        refs: Sequence[str] = (),
        owners: Sequence[str] = (),
        relationships: bool = True,
    ) -> tuple[list[str], list[str]]:
        conn = self._conn()
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(refs))):
            found.update(
                conn.execute(f"SELECT ref, data FROM entities WHERE ref IN ({','.join('?' * len(chunk))})", chunk)
            )
        for chunk in _chunks(sorted(set(owners))):  # every period: entity_orgs names each owner an entity ever had
            found.update(
                conn.execute(
                    f"SELECT e.ref, e.data FROM entity_orgs o JOIN entities e ON e.ref = o.ref "
                    f"WHERE o.org IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        rels: list[str] = []
        if relationships:
            for chunk in _chunks(sorted(found)):
                marks = ",".join("?" * len(chunk))
                rels += [
                    d
                    for (d,) in conn.execute(
                        f"SELECT data FROM relationships WHERE source IN ({marks}) UNION "
                        f"SELECT data FROM relationships WHERE target IN ({marks})",
                        chunk + chunk,
                    )
                ]
            rels = list(dict.fromkeys(rels))  # a relationship between two chunks comes twice
        return list(found.values()), rels

    # --- bulk --------------------------------------------------------------------------------------------------
    def bulk_load(
        self, load: BulkLoad, ctx: WriteContext, progress: ProgressFn | None = None, dry_run: bool = False
    ) -> BulkResult:
        """All checks run before the first write (a refused load leaves nothing, even inside a caller's
        transaction); facts are then written in chunks, so memory stays bounded by the chunk, not the load."""
        result = BulkResult()
        prov = load.provenance.model_dump()
        # in key order, appending to the tables' and indexes' B-trees (docs/architecture.md, "Measured choices")
        load = load.in_key_order()
        total = len(load.entities) + len(load.relationships) + len(load.events)
        done = 0
        conn = self._conn()
        tx = contextlib.nullcontext() if dry_run else self.transaction(ctx)
        with tx:
            loaded_refs = {e.ref for e in load.entities}
            self._check_bulk_endpoints(conn, load, loaded_refs)
            stale = self._stale_for_cleanup(conn, load, loaded_refs) if load.cleanup else ([], [])
            empty = conn.execute("SELECT 1 FROM entities LIMIT 1").fetchone() is None
            now = self._now(self._head(conn)[2])
            head = self._head(conn)
            for what, items in (("entities", load.entities), ("relationships", load.relationships)):
                for prepared in self._prepared_chunks(conn, what, items, empty, prov, now, ctx, head, dry_run):
                    for add in prepared.adds:
                        result.add(*add)
                    if not dry_run:
                        self._write_prepared(conn, prepared)
                        if prepared.log:
                            self._local.head = head = prepared.head  # the next chunk's entries follow these
                    done += prepared.size
                    if progress:
                        progress(done, total)
            for ev in load.events:
                row = conn.execute("SELECT data FROM org_events WHERE id = ?", (ev.id,)).fetchone()
                if row and _same(OrgEvent.model_validate_json(row[0]).content(), ev.content()):
                    result.add("unchanged", "event")
                else:
                    result.add("updated" if row else "created", "event", ev.ref)
                    if not dry_run:
                        self.record_event(ev.model_copy(update={"provenance": ev.provenance or load.provenance}), ctx)
                done += 1
            stale_r, stale_e = stale
            logs = []
            for rid, data in stale_r:
                result.add("removed", "relationship", _rel_ref(rid))
                logs.append(("delete", _rel_ref(rid), data, None))
            for ref, kind, data in stale_e:
                result.add("removed", kind, ref)
                logs.append(("delete", ref, data, None))
            if not dry_run and logs:
                conn.executemany("DELETE FROM relationships WHERE id = ?", [(rid,) for rid, _ in stale_r])
                conn.executemany("DELETE FROM entities WHERE ref = ?", [(ref,) for ref, _, _ in stale_e])
                _drop_index_rows(conn, [(ref,) for ref, _, _ in stale_e])
                self._log_many(conn, ctx, logs)
            if progress:
                progress(total, total)
        return result

    # --- whole-catalog copy -------------------------------------------------------------------------------------
    def backup_to(self, path: str | Path) -> None:
        """Copy the catalog into a new file at ``path`` with SQLite's online backup API, in one step: one read
        transaction, so the copy is the file as one commit left it, while other connections go on writing (in WAL
        mode a reader does not block writers). The copy is switched to a rollback journal: one self-contained file.
        A full disk raises :class:`StoreFull` (the caller removes the partial file)."""
        src = self._connect()
        try:
            dst = sqlite3.connect(path, isolation_level=None)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        except sqlite3.Error as exc:
            error = _store_error(exc, Path(path))
            raise type(error)(f"backup to {path}: {error.message}") from exc
        finally:
            src.close()

    def compact(self) -> tuple[int, int]:
        """``VACUUM`` on a connection of its own: SQLite rewrites the file without its free pages (needing up to the
        file's size again in free disk space meanwhile), then the write-ahead log is checkpointed and truncated, so
        the sizes returned are the file's and its WAL's. It waits for, then holds, the write lock like any write
        (``WRITE_WAIT``); readers in other processes keep reading. A full disk raises :class:`StoreFull` and leaves
        the file as it was."""
        if self.read_only:
            raise StoreError(f"the catalog {self.path} is read-only here: nothing was written")
        before = self._file_bytes()
        conn = self._connect()
        try:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from exc
        finally:
            conn.close()
        return before, self._file_bytes()

    def _file_bytes(self) -> int:
        return sum(
            Path(f"{self.path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{self.path}{suffix}").exists()
        )

    def dump(self, batch: int = 5000) -> Iterator[tuple[str, list]]:
        """Keyset pages read in one read transaction on a connection of their own: one snapshot of the file,
        whatever is written meanwhile."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            yield from self._dump_pages(conn, batch)
            seq = 0
            while True:
                rows = conn.execute(
                    f"SELECT {_LOG} FROM changelog c WHERE c.seq > ? ORDER BY c.seq LIMIT ?", (seq, int(batch))
                ).fetchall()
                if rows:
                    yield "changelog", [self._entry(r) for r in rows]
                    seq = rows[-1][0]
                if len(rows) < batch:
                    break
        finally:
            conn.close()

    def _dump_pages(self, conn: sqlite3.Connection, batch: int) -> Iterator[tuple[str, list]]:
        for section, key, sql, make in (
            ("entities", "", f"SELECT ref, {_E} FROM entities WHERE ref > ? ORDER BY ref LIMIT ?", _entity),
            (
                "relationships",
                "",
                f"SELECT id, {_E} FROM relationships WHERE id > ? ORDER BY id LIMIT ?",
                _relationship,
            ),
            (
                "events",
                "",
                "SELECT id, data FROM org_events WHERE id > ? ORDER BY id LIMIT ?",
                lambda r: OrgEvent.model_validate_json(r[0]),
            ),
            (
                "records",
                "",
                "SELECT collection || '/' || key, collection, key, data, version, updated_at "
                "FROM records WHERE collection || '/' || key > ? ORDER BY 1 LIMIT ?",
                _record,
            ),
        ):
            while True:  # keyset pages: each one an index range, however far into the table
                rows = conn.execute(sql, (key, int(batch))).fetchall()
                if rows:
                    yield section, [make(r[1:]) for r in rows]
                    key = rows[-1][0]
                if len(rows) < batch:
                    break

    def restore(self, section: str, items: list) -> None:
        if not items:
            return
        with self.transaction(WriteContext(actor="migrate")):
            conn = self._conn()
            if section == "entities":
                rows: list[tuple] = []
                index: tuple[list, list, list] = ([], [], [])
                for e in items:
                    c = e.content()
                    rows.append(self._entity_row(c, canonical_json(c), e.version, e.created_at, e.updated_at))
                    for part, more in zip(index, _index_rows(c), strict=False):
                        part += more
                conn.executemany("INSERT INTO entities VALUES (?,?,?,?,?,?,?,?,?)", rows)
                _insert_index_rows(conn, *index)
            elif section == "relationships":
                self._check_bulk_endpoints(conn, BulkLoad(source="", run="", relationships=items), set())
                conn.executemany(
                    "INSERT INTO relationships VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        self._rel_row(c, canonical_json(c), r.version, r.created_at, r.updated_at)
                        for r in items
                        for c in [r.content()]
                    ],
                )
            elif section == "events":
                conn.executemany(
                    "INSERT INTO org_events VALUES (?,?,?,?,?)",
                    [
                        (
                            ev.id,
                            ev.date.isoformat(),
                            ev.version,
                            ev.provenance.source if ev.provenance else None,
                            ev.model_dump_json(by_alias=True),
                        )
                        for ev in items
                    ],
                )
                conn.executemany(
                    "INSERT INTO event_orgs VALUES (?, ?)",
                    [(o, ev.id) for ev in items for o in sorted(set(ev.from_ + ev.to) | {t.to for t in ev.transfers})],
                )
            elif section == "records":
                conn.executemany(
                    "INSERT INTO records VALUES (?,?,?,?,?)",
                    [(r.collection, r.key, r.version, r.updated_at, canonical_json(r.data)) for r in items],
                )
            elif section == "corrections":
                for c in items:
                    self._correct(conn, c)
            elif section == "changelog":
                rows = restored_log_rows(items, self._head(conn)[:2])
                self._keep_derivations(conn, rows)
                conn.executemany(_INSERT_LOG, rows)
                conn.execute(_COMPACT, (rows[0][0], rows[-1][0]))  # each fact written once
                self._local.head = (rows[-1][0], rows[-1][9], rows[-1][1])  # the head moved: witnessed at commit
            else:
                raise StoreError(f"unknown dump section '{section}'")

    @staticmethod
    def _keep_derivations(conn: sqlite3.Connection, rows: list[tuple]) -> None:
        """Before restored entries are appended: the last stored entry of each entity or relationship they name will
        derive its after from the first new entry's before instead of the current row. One that stores an after
        equal to that before is compacted now; one that derived its after from the current row gets it back where
        the two differ (a log whose states do not follow each other). Appending then changes no read and no hash."""
        first: dict[str, str | None] = {}
        for r in rows:
            if derives_after(r[5]):
                first.setdefault(r[5], r[6])
        for ref, before in first.items():
            last = conn.execute(
                f"SELECT c.seq, c.after, {_derived_after('c')} FROM changelog c WHERE c.ref = ? "
                "ORDER BY c.seq DESC LIMIT 1",
                (ref,),
            ).fetchone()
            if last is None:
                continue
            seq, stored, derived = last
            if stored is not None and stored == before:
                conn.execute("UPDATE changelog SET after = NULL WHERE seq = ?", (seq,))
            elif stored is None and derived is not None and derived != before:
                conn.execute("UPDATE changelog SET after = ? WHERE seq = ?", (derived, seq))

    def _correct(self, conn: sqlite3.Connection, c: Correction) -> None:
        """Replace (or delete) what earlier restore batches wrote under one key: a dump's correction."""
        if c.section == "entities":
            conn.execute("DELETE FROM entities WHERE ref = ?", (c.key,))
            _drop_index_rows(conn, [(c.key,)])
            if c.item is not None:
                content = c.item.content()
                conn.execute(
                    "INSERT INTO entities VALUES (?,?,?,?,?,?,?,?,?)",
                    self._entity_row(
                        content, canonical_json(content), c.item.version, c.item.created_at, c.item.updated_at
                    ),
                )
                _insert_index_rows(conn, *_index_rows(content))
        elif c.section == "relationships":
            conn.execute("DELETE FROM relationships WHERE id = ?", (c.key,))
            if c.item is not None:
                content = c.item.content()
                self._require_endpoints(conn, c.item)
                conn.execute(
                    "INSERT INTO relationships VALUES (?,?,?,?,?,?,?,?,?)",
                    self._rel_row(
                        content, canonical_json(content), c.item.version, c.item.created_at, c.item.updated_at
                    ),
                )
        elif c.section == "events":
            conn.execute("DELETE FROM org_events WHERE id = ?", (c.key,))
            conn.execute("DELETE FROM event_orgs WHERE id = ?", (c.key,))
            if c.item is not None:
                ev = c.item
                conn.execute(
                    "INSERT INTO org_events VALUES (?,?,?,?,?)",
                    (
                        ev.id,
                        ev.date.isoformat(),
                        ev.version,
                        ev.provenance.source if ev.provenance else None,
                        ev.model_dump_json(by_alias=True),
                    ),
                )
                conn.executemany(
                    "INSERT INTO event_orgs VALUES (?, ?)",
                    [(o, ev.id) for o in sorted(set(ev.from_ + ev.to) | {t.to for t in ev.transfers})],
                )
        elif c.section == "records":
            collection, _, key = c.key.partition("/")
            conn.execute("DELETE FROM records WHERE collection = ? AND key = ?", (collection, key))
            if c.item is not None:
                r = c.item
                conn.execute(
                    "INSERT INTO records VALUES (?,?,?,?,?)",
                    (r.collection, r.key, r.version, r.updated_at, canonical_json(r.data)),
                )
        else:
            raise StoreError(f"unknown correction section '{c.section}'")

    def is_empty(self) -> bool:
        return (
            not self._conn()
            .execute(
                "SELECT EXISTS (SELECT 1 FROM entities) OR EXISTS (SELECT 1 FROM relationships) "
                "OR EXISTS (SELECT 1 FROM org_events) OR EXISTS (SELECT 1 FROM records) "
                "OR EXISTS (SELECT 1 FROM changelog)"
            )
            .fetchone()[0]
        )

    def erase(self) -> None:
        with self.transaction(WriteContext(actor="migrate")):
            conn = self._conn()
            for table in (
                "entities",
                "entity_tags",
                "entity_orgs",
                "entity_fts",
                "relationships",
                "org_events",
                "event_orgs",
                "records",
                "changelog",
            ):
                conn.execute(f"DELETE FROM {table}")
            self._local.head = None  # the log starts again from genesis

    def _prepared_chunks(
        self,
        conn: sqlite3.Connection,
        what: str,
        items: list,
        empty: bool,
        prov: dict[str, Any],
        now: str,
        ctx: WriteContext,
        head: tuple[int, str, str],
        dry_run: bool,
    ) -> Iterator[_Prepared]:
        """The chunks of a bulk load's entities or relationships, each prepared for writing (rows, search-index
        rows, change-log rows with their hashes) once the one before it is written. Preparing the next chunk in a
        second thread while one is written was measured and is slower (docs/architecture.md, "Each fact written
        once")."""
        table, key = ("entities", "ref") if what == "entities" else ("relationships", "id")
        for chunk in _chunks(items, _BULK_CHUNK):
            existing: dict[str, tuple[int, str, str]] = {}
            if not empty:
                marks = ",".join("?" * len(chunk))
                q = f"SELECT {key}, version, created_at, data FROM {table} WHERE {key} IN ({marks})"
                existing = {k: (v, c, d) for k, v, c, d in conn.execute(q, [getattr(x, key) for x in chunk])}
            prepared = self._prepare(what, chunk, existing, prov, now, ctx, head, dry_run)
            head = prepared.head
            yield prepared

    def _prepare(
        self,
        what: str,
        chunk: list,
        existing: dict[str, tuple[int, str, str]],
        prov: dict[str, Any],
        now: str,
        ctx: WriteContext,
        head: tuple[int, str, str],
        dry_run: bool,
    ) -> _Prepared:
        """One chunk of a bulk load as rows to write; touches no connection."""
        out = _Prepared(what=what, size=len(chunk), head=head)
        logs: list[tuple[str, str, str | None, str | None]] = []
        for x in chunk:
            c = x.content()
            c["provenance"] = c["provenance"] or prov
            if what == "entities":
                ref, kind, old = x.ref, x.kind, existing.get(x.ref)
            else:
                ref, kind, old = _rel_ref(c["id"]), "relationship", existing.get(c["id"])
            if old is not None and _same(json.loads(old[2]), c):
                out.adds.append(("unchanged", kind))
                continue
            data = canonical_json(c)
            make = self._entity_row if what == "entities" else self._rel_row
            if old is not None:
                out.updates.append(make(c, data, old[0] + 1, old[1], now))
                out.reindex.append((ref,))
                logs.append(("update", ref, old[2], data))
                out.adds.append(("updated", kind, ref))
            else:
                out.inserts.append(make(c, data, 1, now, now))
                logs.append(("create", ref, None, data))
                out.adds.append(("created", kind, ref))
            if what == "entities":
                for part, more in zip(out.index, _index_rows(c), strict=False):
                    part += more
        if not dry_run:
            out.log, out.head = self._log_rows(ctx, logs, head, now)
        return out

    @staticmethod
    def _write_prepared(conn: sqlite3.Connection, p: _Prepared) -> None:
        table = p.what
        conn.executemany(f"INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?,?)", p.inserts)
        conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?,?,?,?,?,?,?,?,?)", p.updates)
        if table == "entities":
            _drop_index_rows(conn, p.reindex)
            _insert_index_rows(conn, *p.index)
        conn.executemany(_INSERT_LOG, p.log)

    def _check_bulk_endpoints(self, conn: sqlite3.Connection, load: BulkLoad, loaded_refs: set[str]) -> None:
        missing = ({r.source for r in load.relationships} | {r.target for r in load.relationships}) - loaded_refs
        if missing:
            present = set()
            for chunk in _chunks(sorted(missing)):
                q = f"SELECT ref FROM entities WHERE ref IN ({','.join('?' * len(chunk))})"
                present |= {r[0] for r in conn.execute(q, chunk)}
            missing -= present
        if missing:
            bad = [r for r in load.relationships if r.source in missing or r.target in missing]
            raise IntegrityError(
                msg_plural(
                    "load-dangling",
                    "load-dangling#plural",
                    count=len(bad),
                    example=bad[0].id,
                    missing=", ".join(sorted(missing)[:5]),
                )
            )

    def _stale_for_cleanup(
        self, conn: sqlite3.Connection, load: BulkLoad, loaded_refs: set[str]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
        """What this source wrote earlier and the load no longer contains; refuses when a fact that another
        source or a person entered still uses an entity that would go."""
        rel_ids = {r.id for r in load.relationships}
        stale_r = [
            (rid, data)
            for rid, data in conn.execute(
                "SELECT id, data FROM relationships WHERE prov_source = ? ORDER BY id", (load.source,)
            )
            if rid not in rel_ids
        ]
        stale_e = [
            (ref, kind, data)
            for ref, kind, data in conn.execute(
                "SELECT ref, kind, data FROM entities WHERE prov_source = ? ORDER BY ref", (load.source,)
            )
            if ref not in loaded_refs
        ]
        going = {rid for rid, _ in stale_r}
        leaving = {ref for ref, _, _ in stale_e}
        for r in load.relationships:
            if r.source in leaving or r.target in leaving:
                raise IntegrityError(
                    msg("cleanup-used-by-load", ref=r.source if r.source in leaving else r.target, id=r.id)
                )
        for ref, _, _ in stale_e:
            used = conn.execute(
                "SELECT id FROM relationships WHERE (source = ? OR target = ?) ORDER BY id", (ref, ref)
            ).fetchall()
            kept = [rid for (rid,) in used if rid not in going]
            if kept:
                raise IntegrityError(msg("cleanup-used-by-other", ref=ref, id=kept[0]))
        return stale_r, stale_e


_INDEX_TABLES = ("entity_tags", "entity_orgs", "entity_fts")  # derived from each entity's content (the last by rowid)


def _index_rows(c: dict[str, Any]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows an entity's content gives the derived tables: its tags, every organisation its owner history names
    (once), and its folded search text."""
    ref = c["ref"]
    return (
        [(ref, t) for t in c["tags"]],
        [(org, ref) for org in dict.fromkeys(p["org"] for p in c["owner_history"])],
        [(_fts_id(ref), ref, c["kind"], *search_text(c))],
    )


def _fts_id(ref: str) -> int:
    """The search index row of an entity: a number derived from its ref (64 bits of BLAKE2b), so that a write finds
    the row it replaces by rowid; the ref column is not indexed, and looking it up read the whole index (25-40 ms a
    write at 100,000 entities). Two refs of one number (odds about 3e-8 at a million entities) make the second
    write fail and roll back, never overwrite."""
    digest = hashlib.blake2b(ref.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _insert_index_rows(conn: sqlite3.Connection, tags: list[tuple], orgs: list[tuple], fts: list[tuple]) -> None:
    """The search rows go in by rowid: FTS5 writes its pending terms out as a new segment whenever a rowid is not
    above the previous one, so rows in ref order (random rowids) made a segment every row or two, and merging them
    was two thirds of a bulk load's search-index time (docs/architecture.md, "Measured choices")."""
    conn.executemany("INSERT INTO entity_tags VALUES (?, ?)", tags)
    conn.executemany("INSERT INTO entity_orgs VALUES (?, ?)", orgs)
    conn.executemany("INSERT INTO entity_fts (rowid, ref, kind, name, body) VALUES (?, ?, ?, ?, ?)", sorted(fts))


def _drop_index_rows(conn: sqlite3.Connection, refs: list[tuple[str]]) -> None:
    for table in _INDEX_TABLES[:-1]:
        conn.executemany(f"DELETE FROM {table} WHERE ref = ?", refs)
    conn.executemany("DELETE FROM entity_fts WHERE rowid = ?", [(_fts_id(r),) for (r,) in refs])


def _record(row: tuple) -> Record:
    return Record(collection=row[0], key=row[1], data=json.loads(row[2]), version=row[3], updated_at=row[4])


def _same(a: dict, b: dict) -> bool:
    """Equal content, ignoring provenance (re-importing the same file is not a change)."""
    a = {k: v for k, v in a.items() if k != "provenance"}
    b = {k: v for k, v in b.items() if k != "provenance"}
    return a == b
