"""Neo4j backend: the server store for many users and large catalogs, through the official driver (Bolt).

The semantics mirror the SQLite backend exactly: the same change-log entries (so the same hashes for the same writes
under the same clock), versions, timestamps, bulk-load counts and chunking, clean-up rules, neighbourhood walk and
truncation. The graph layout is described in :mod:`catalog.store.neo4j.schema`. What follows from Neo4j:

- ``transaction(ctx)``: the outermost call opens one explicit driver transaction, kept in thread-local state; nested
  calls join it. Neo4j has no savepoints, so every write method makes all its checks (existence, versions,
  endpoints, duplicates, clean-up refusal) before its first write: a refused write leaves nothing behind even when
  the caller catches the error and commits the rest.
- Every write transaction first takes the write lock on the ``LogHead`` node, so writers are serialised: the change
  log stays one chain and the version compare of optimistic concurrency happens inside the lock.
- Writes are sent without waiting for them (:meth:`Neo4jStore._send`): the server runs one statement while this
  process prepares the next, and the transaction's end checks what they returned.
- ``bulk_load`` writes with batched ``UNWIND``, each fact and its change-log entry in one statement; into a store
  without entities it reads nothing back. When it is the outermost transaction it re-runs the whole load on a
  transient error (deadlock, leader switch), up to three times. A load of more than ``stage_above`` facts is
  *staged*: its new facts are written in transactions of ``BATCH`` facts each, marked with the change-log seq of
  their entry (``pub``), beyond the published head, where no reader looks; the run is published when the head moves
  (one transaction, which also writes the updates, removals and events of the load). Readers see a fact only when
  ``pub`` is absent or at or below the head (``_seen``); a writer that finds change-log entries beyond the head
  (a run that died) removes them and their facts first (:meth:`Neo4jStore._sweep`). docs/architecture.md has the
  design and why it holds.
- ``neighbourhood`` walks in SQLite's order; a hub's relationships come out of the ``id`` / ``in_key`` indexes in
  that order, so a walk reads only as many as its limit can use (see :meth:`Neo4jStore.neighbourhood`).
- ``verify_log`` also checks the chain's end against ``LogHead``, so cutting entries off the end is detected too,
  unless whoever cut them also moved ``LogHead``: only a head witnessed outside the database (``head_witness``,
  audit bundles, ``verify-log --print-head``) catches that.
- ``dump`` cannot read one snapshot (Neo4j reads committed data statement by statement), so it reads pages and then
  settles at a change-log head under the ``LogHead`` lock, sending what changed meanwhile as "corrections" (see
  :meth:`Neo4jStore.dump`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable, TransientError

from catalog.changelog import GENESIS, Head, HeadWitness, VerifyResult, as_json, canonical_json, entry_hasher
from catalog.errors import AlreadyExists, Conflict, FieldError, IntegrityError, NotFound, StoreError, ValidationFailed
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
from catalog.store.neo4j.schema import (
    DROPPED_INDEXES,
    SCHEMA_VERSION,
    SEARCH_INDEX,
    UPGRADES_FROM,
    kind_label,
    known_rel_type,
    rel_type,
    schema_statements,
    stored_types,
)
from catalog.text import fold, search_text

# The driver logs the server's notifications (a query's warnings) on the "neo4j.notifications" logger. With no handler
# anywhere Python prints warnings on stderr, over a command's progress bar: a NullHandler keeps them off the terminal,
# and where logging is configured (the server) they still reach the log through the root logger. The queries are
# written not to cause any (see _ensure_tokens); the server sends only warnings, not its informational notes.
logging.getLogger("neo4j").addHandler(logging.NullHandler())
_NOTIFICATIONS: Final = "WARNING"

_ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_WORD = re.compile(r"[^\W_]+")
_CHUNK = 500  # frontier chunk of the neighbourhood walk (as the SQLite backend, so truncation picks the same)
_DENSE = 100  # relationships (one direction) above which the walk reads an entity's through the index
# the walk's step query takes the planner one to two seconds (dozens of UNION branches); its plan is all index
# seeks fixed by hints, so a plan in the cache stays good whatever the statistics say: never re-plan it mid-walk
# because a load changed the counts (Neo4j would after 10 s, in the middle of someone's request)
_REPLAN = "CYPHER replan=skip "
# Neo4j plans a query again for each size class of a list parameter (1, 2-10, 11-100, 101-1000, ...), at one to two
# seconds for the step query: the walk pads its lists into the 101-1000 class with "" (never a ref), so that one
# plan serves every call
_PLAN_LIST = 101
# the statements that create facts in batches: every plan is a CREATE or a seek on a unique constraint whatever the
# counts say, so re-planning them because a load changed the statistics (every 10 s or more during a large load) buys
# nothing and costs the server compile work (docs/neo4j.md, "Where a bulk load's server CPU goes")
_BULK = _REPLAN
_STEP_SLACK = 2  # rows per entity found or in the frontier that one step reads beyond the limit (see neighbourhood)
BATCH = 5000  # rows per UNWIND, facts per bulk-load chunk (as the SQLite backend) and per staged transaction
STAGE_ABOVE = 2 * BATCH  # facts in a load above which it is staged (written in transactions of BATCH facts)
_ALL = 2**62  # the visibility bound inside a write transaction: every fact (staged leftovers are swept first)
# the visibility filters: a fact written by a staged load carries ``pub`` (its change-log seq) and is seen only once
# the published head reaches it; every other fact has no ``pub``. ``h`` is bound by _HEAD, which begins every read
# that uses them: the bound ``$h`` when given (see Neo4jStore._bound), else the published head's seq read by the
# statement itself, so that a one-statement read pays no round trip of its own for it
_HEAD = "OPTIONAL MATCH (hd:LogHead {id: 'head'}) WITH coalesce($h, hd.seq, 0) AS h "
_VN = "(n.pub IS NULL OR n.pub <= h)"
_VR = "(r.pub IS NULL OR r.pub <= h)"
RETRIES = 3  # re-runs of a whole bulk load after a transient error

LogItem = tuple[str, str, Any, Any]  # (op, ref, before, after); before/after: dict, None or canonical JSON text


class _Stager:
    """Runs a staged load's chunk transactions (:meth:`Neo4jStore._stage`) on a thread of its own, one at a time:
    this process prepares the next chunk (Python work) while the server writes and commits the previous one, so the
    two share the machine's cores instead of taking turns. At most one chunk is in flight, so server memory stays
    bounded by one chunk, and the chunks commit in order (relationships after the entities they join). The thread
    only waits on the server (the driver packs rows natively), so it costs this process's interpreter little.
    Progress is reported on the caller's thread, for what is committed: the same calls as without the thread, each
    once its chunk has committed."""

    def __init__(self, stage: Callable[[Callable[[], None]], None], report: Callable[[int], None]) -> None:
        self._stage = stage
        self._report = report
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ioc-neo4j-stage")
        self._last: Future | None = None
        self._done = 0  # the load's facts to report once the chunk in flight has committed

    def submit(self, write: Callable[..., None]) -> None:
        """Wait for the chunk in flight (raising its error, if any), then send ``write`` off."""
        self.wait()
        self._last = self._pool.submit(self._stage, write)

    def progress(self, done: int) -> None:
        """``done`` facts of the load are handled: reported now, or once the chunk in flight has committed."""
        if self._last is None:
            self._report(done)
        else:
            self._done = done

    def wait(self) -> None:
        last, self._last = self._last, None
        if last is not None:
            last.result()
            self._report(self._done)

    def close(self) -> None:
        """Let the chunk in flight finish (committed or rolled back), whatever happened meanwhile: a sweep after a
        failure must not race it."""
        self._pool.shutdown(wait=True)


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    return chunks(items, size)


def _one_plan(refs: list[str]) -> list[str]:
    """``refs`` padded with "" (which no entity has) to at least ``_PLAN_LIST`` items (see ``_PLAN_LIST``)."""
    return refs + [""] * (_PLAN_LIST - len(refs)) if len(refs) < _PLAN_LIST else refs


# --- search text: the same folded text the SQLite FTS index holds, matched the way FTS5 matches it ------------------


def _spaced(text: str) -> str:
    return " " + " ".join(_WORD.findall(text)) + " "


def _search_phrases(text: str) -> list[str] | None:
    """One phrase per query word, as FTS5's unicode61 tokenizer splits a quoted word (``a_b`` is the phrase ``a b``,
    its last word a prefix). Stored text is words between single spaces, so a phrase matches exactly when the text
    contains `` a b``. None when there is nothing to search for; [] when a word can match nothing."""
    tokens = fold(text).split()
    if not tokens:
        return None
    phrases = []
    for token in tokens[:20]:
        words = _WORD.findall(token)
        if not words:
            return []
        phrases.append(" " + " ".join(words))
    return phrases


def _lucene_words(words: list[str], fields: tuple[str, ...]) -> str:
    """Every word as a required prefix term in one of ``fields`` (words are letters and digits only: nothing the
    query syntax would read as an operator)."""
    return " ".join("+(" + " ".join(f"{f}:{w}*" for f in fields) + ")" for w in words)


def _search_params(phrases: list[str], kind: str | None) -> dict[str, Any]:
    """The full-text queries of :data:`_SEARCH_TIERS` for the query's phrases (see :func:`_search_phrases`)."""
    words = [w for p in phrases for w in p.split()]
    in_kind = f"+kind:{kind} " if kind else ""
    head = f'+search_name:"{" ".join(words[:-1])}" ' if len(words) > 1 else ""
    return {
        "start": f"{in_kind}{head}+search_name:{words[-1]}*",  # the complete words as a phrase, then the last one
        "phrase": " " + " ".join(words),
        "in_name": in_kind + _lucene_words(words, ("search_name",)),
        "anywhere": in_kind + _lucene_words(words, ("search_name", "search_body")),
    }


# --- rows -------------------------------------------------------------------------------------------------------------


def _storable(value: Any) -> bool:
    if isinstance(value, (bool, str, float)):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _entity_props(c: dict[str, Any], data: str, version: int, created: str, updated: str) -> dict[str, Any]:
    """Node properties of an entity: its canonical content JSON (exactly the change log's ``after`` text), the
    bookkeeping, and the indexed or filtered values derived from the content."""
    owner = current_owner(c["owner_history"])
    prov = c.get("provenance")
    lifecycle = c["attributes"].get("lifecycle")
    name, body = search_text(c)
    props: dict[str, Any] = {
        "ref": c["ref"],
        "kind": c["kind"],
        "owner": owner,
        "lifecycle": lifecycle if _storable(lifecycle) and not isinstance(lifecycle, list) else None,
        "version": version,
        "prov_source": prov["source"] if prov else None,
        "created_at": created,
        "updated_at": updated,
        "data": data,
        "tags": list(c["tags"]),
        "search_name": _spaced(name),
        "search_body": _spaced(body),
    }
    for key, value in c["attributes"].items():  # filterable attributes; keys reach Cypher only as parameters
        if value is not None and _storable(value):
            props[f"attr_{key}"] = value
    return {k: v for k, v in props.items() if v is not None}


def _rel_props(c: dict[str, Any], data: str, version: int, created: str, updated: str) -> dict[str, Any]:
    prov = c.get("provenance")
    props = {
        "id": c["id"],
        "in_key": f"{c['target']}>{c['id']}",
        "version": version,
        "prov_source": prov["source"] if prov else None,
        "created_at": created,
        "updated_at": updated,
        "data": data,
    }
    return {k: v for k, v in props.items() if v is not None}


def _rel_row(c: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """An UNWIND row that creates or updates a relationship: its ends and its properties."""
    return {"source": c["source"], "target": c["target"], "props": props}


def _event_props(ev: OrgEvent) -> dict[str, Any]:
    orgs = set(ev.from_ + ev.to) | {t.to for t in ev.transfers}
    props = {
        "id": ev.id,
        "date": ev.date.isoformat(),
        "version": ev.version,
        "prov_source": ev.provenance.source if ev.provenance else None,
        "data": ev.model_dump_json(by_alias=True),
        "orgs": sorted(orgs),
    }
    return {k: v for k, v in props.items() if v is not None}


_E = "n.data AS data, n.version AS version, n.created_at AS created_at, n.updated_at AS updated_at"
_R = "r.data AS data, r.version AS version, r.created_at AS created_at, r.updated_at AS updated_at"


# Best first, as the SQLite backend: the words as typed in the name (a phrase, the last word a prefix), every word in
# the name (for more than one word), every word anywhere. The full-text index finds each tier's candidates (a prefix
# of any length is one term lookup there); the conditions after it are the exact ones (FTS5's), and each tier stops
# at the limit.
_TIER_START = (
    f"CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', $start, {{limit: $top}}) YIELD node AS n "
    f"WITH n, h WHERE n.search_name CONTAINS $phrase AND {_VN} RETURN n, 0 AS tier LIMIT $limit "
)
_TIER_NAME = (
    f"CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', $in_name, {{limit: $top}}) YIELD node AS n "
    f"WITH n, h WHERE all(p IN $phrases WHERE n.search_name CONTAINS p) AND {_VN} RETURN n, 1 AS tier LIMIT $limit "
)
_TIER_ANY = (
    f"CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', $anywhere, {{limit: $top}}) YIELD node AS n "
    "WITH n, h WHERE all(p IN $phrases WHERE n.search_name CONTAINS p OR n.search_body CONTAINS p) "
    f"AND {_VN} RETURN n, 2 AS tier LIMIT $limit "
)
_SEARCH_TIERS = {
    several: f"{_HEAD}CALL (h) {{ {' UNION ALL '.join(tiers)} }} WITH n, min(tier) AS tier "
    f"RETURN {_E} ORDER BY tier, n.ref LIMIT $limit"
    for several, tiers in ((False, (_TIER_START, _TIER_ANY)), (True, (_TIER_START, _TIER_NAME, _TIER_ANY)))
}
_SEARCH_PHRASE = f"{_HEAD}CALL (h) {{ {_TIER_START} }} RETURN {_E} ORDER BY n.ref LIMIT $limit"  # search(phrase=True)


def _entity(r: Any) -> Entity:
    return entity_from_row(r["data"], r["version"], r["created_at"], r["updated_at"])


def _relationship(r: Any) -> Relationship:
    return relationship_from_row(r["data"], r["version"], r["created_at"], r["updated_at"])


def _rel_ref(rel_id: str) -> str:
    return f"rel:{rel_id}"


def _split_rel_id(rel_id: str) -> tuple[str, str, str] | None:
    parts = (rel_id or "").split(">")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


_REC = "r.collection AS collection, r.key AS key, r.data AS data, r.version AS version, r.updated_at AS updated_at"


def _record(r: Any) -> Record:
    return Record(
        collection=r["collection"],
        key=r["key"],
        data=json.loads(r["data"]),
        version=r["version"],
        updated_at=r["updated_at"],
    )


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A change-log row as it is stored: without ``after`` when that is derived (an entity's or relationship's
    entry other than a delete, whose ``after`` is the fact's ``data`` written with it)."""
    if row["op"] != "delete" and derives_after(row["ref"]):
        return {k: v for k, v in row.items() if k != "after"}
    return row


def _without_after(log: dict[str, Any], data: str) -> dict[str, Any]:
    """A change-log row stored without ``after``: the fact's ``data``, written by the same statement, holds it."""
    if log["after"] != data:  # pragma: no cover - both are the one canonical text of the fact
        raise StoreError(f"change-log entry {log['seq']} does not record what is written")
    return {k: v for k, v in log.items() if k != "after"}


def _same(a: dict, b: dict) -> bool:
    """Equal content, ignoring provenance (re-importing the same file is not a change)."""
    a = {k: v for k, v in a.items() if k != "provenance"}
    b = {k: v for k, v in b.items() if k != "provenance"}
    return a == b


def _change(r: Any) -> ChangeEntry:
    """A change-log entry from a row of :data:`_CHANGE_FIELDS` (``after`` stored or derived)."""
    return ChangeEntry(
        seq=r["seq"],
        time=r["time"],
        actor=r["actor"],
        request_id=r["request_id"],
        op=r["op"],
        ref=r["ref"],
        before=None if r["before"] is None else json.loads(r["before"]),
        after=None if r["after"] is None else json.loads(r["after"]),
        prev_hash=r["prev_hash"],
        hash=r["hash"],
        proposer=r["proposer"],
    )


def _too_big(exc: Exception) -> bool:
    """The transaction ran out of the server's transaction memory: a load that big fails again when re-run."""
    return "MemoryPoolOutOfMemory" in (getattr(exc, "code", None) or "")


# every property key the queries name (see _ensure_tokens); attribute filters name theirs as parameters (n[$key])
_TOKENS = (
    *("ref", "kind", "owner", "lifecycle", "version", "prov_source", "created_at", "updated_at", "data", "tags"),
    *("search_name", "search_body", "pub", "id", "in_key", "date", "orgs", "seq", "time", "actor", "request_id"),
    *("op", "before", "after", "prev_hash", "hash", "proposer", "rid", "collection", "key", "locked"),
)

_CHANGE_FIELDS = (
    "c.seq AS seq, c.time AS time, c.actor AS actor, c.request_id AS request_id, c.op AS op, "
    "c.ref AS ref, c.before AS before, c.after AS after, c.prev_hash AS prev_hash, c.hash AS hash, "
    "c.proposer AS proposer"
)
# the same without before and after (``changelog(bodies=False)``)
_CHANGE_HEADS = _CHANGE_FIELDS.replace("c.before AS before, c.after AS after", "null AS before, null AS after")
# the same fields as one list per entry (a whole-log read collects a page into one record: a record per entry costs
# the driver more than the entry)
_LOG_KEYS: Final = (
    "seq",
    "time",
    "actor",
    "request_id",
    "op",
    "ref",
    "before",
    "after",
    "prev_hash",
    "hash",
    "proposer",
)
_LOG_LIST: Final = "[" + ", ".join(f"c.{k}" for k in _LOG_KEYS) + "]"
_SCAN = 20000  # facts per page of a whole-log read's scan of the current facts (one record each)


class Neo4jStore(CatalogStore):
    """The server store. ``url`` is a ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` address; without a
    ``user`` the driver connects without authentication. ``create=False`` refuses a database that holds no catalog;
    a database that holds anything else is always refused."""

    retry_pause = 0.2  # seconds before the first re-run of a bulk load after a transient error (then 2x, 3x)
    stage_above = STAGE_ABOVE  # facts in a load above which the load is staged (see bulk_load)

    def __init__(
        self,
        url: str,
        metamodel: Metamodel = DEFAULT,
        user: str | None = None,
        password: str | None = None,
        database: str = "neo4j",
        create: bool = True,
        head_witness: HeadWitness | None = None,
    ):
        self.url = url
        self.metamodel = metamodel
        self.head_witness = head_witness
        self.database = database
        self._local = threading.local()
        try:
            self._driver = GraphDatabase.driver(
                url, auth=(user, password or "") if user else None, notifications_min_severity=_NOTIFICATIONS
            )
        except (ConfigurationError, ValueError) as exc:
            raise StoreError(f"'{url}' is not a usable Neo4j URL: {exc}") from None
        try:
            self._driver.verify_connectivity()
            self._bookmarks = self._driver.execute_query_bookmark_manager
            self._open(create)
        except (AuthError, ServiceUnavailable) as exc:
            self._driver.close()
            raise StoreError(f"cannot use Neo4j at {url} (database '{database}'): {exc}") from None
        except (Neo4jError, DriverError) as exc:
            self._driver.close()
            raise StoreError(f"Neo4j at {url} (database '{database}') failed: {exc}") from None
        except StoreError:
            self._driver.close()
            raise

    # --- set-up ------------------------------------------------------------------------------------------------------
    def _open(self, create: bool) -> None:
        labels = {r["label"] for r in self._run("CALL db.labels() YIELD label RETURN label")}
        # a database that never held a catalog has no such label: asking for it would make the server warn
        meta = (
            self._run("MATCH (m:CatalogMeta {key: 'schema'}) RETURN m.version AS version")
            if "CatalogMeta" in labels
            else []
        )
        if not meta:
            if self._run("MATCH (n) RETURN 1 AS x LIMIT 1"):  # someone else's graph: never add our schema to it
                raise StoreError(
                    f"the Neo4j database '{self.database}' at {self.url} holds data but not a catalog; "
                    "refusing to change it"
                )
            if not create:
                raise StoreError(
                    f"no catalog in the Neo4j database '{self.database}' at {self.url} (run `ioc-catalog init` first)"
                )
        elif meta[0]["version"] in UPGRADES_FROM:
            self.ensure_schema()
            self._upgrade(meta[0]["version"])
        elif meta[0]["version"] != SCHEMA_VERSION:
            raise StoreError(
                f"the Neo4j database '{self.database}' at {self.url} has catalog schema "
                f"{meta[0]['version']}, this version reads {SCHEMA_VERSION}"
            )
        self.ensure_schema()
        if not meta:
            self.init_catalog()
        self._ensure_tokens()

    def _ensure_tokens(self) -> None:
        """Make sure every property key the queries name exists in the database: a query that names a key the
        database has never held makes the server send a "property key does not exist" notification (the driver
        prints it as a warning), though the query is right. A key once created stays, so this writes once."""
        keys = {r["key"] for r in self._run("CALL db.propertyKeys() YIELD propertyKey RETURN propertyKey AS key")}
        missing = sorted(set(_TOKENS) - keys)
        if missing:
            query = "MATCH (m:CatalogMeta {key: 'schema'}) SET m += $props"
            self._driver.execute_query(query, props=dict.fromkeys(missing, 0), database_=self.database)
            self._driver.execute_query(query, props=dict.fromkeys(missing), database_=self.database)

    def ensure_schema(self) -> None:
        """Create the constraints and indexes that are missing (idempotent; two reads when all exist)."""
        existing = {r["name"] for r in self._run("SHOW CONSTRAINTS YIELD name RETURN name")}
        existing |= {r["name"] for r in self._run("SHOW INDEXES YIELD name RETURN name")}
        for name, statement in schema_statements(self.metamodel).items():
            if name not in existing:
                self._driver.execute_query(statement, database_=self.database)

    def _upgrade(self, version: str) -> None:
        """Schema 1 -> 2: every relationship gets its ``in_key`` (in batches of their own), the relationship
        ``prov_source`` indexes go. Schema 2 -> 3 ("each fact written once"): :meth:`_compact` over the whole
        published log, in transactions of ``BATCH`` entries. Then, and only then, the version moves. Each step leaves
        a database that both layouts read the same, so an upgrade cut short is finished by the next open."""
        if version == "1":
            with self._driver.session(database=self.database, bookmark_manager=self._bookmarks) as session:
                for t in stored_types(self.metamodel):
                    for name in DROPPED_INDEXES:
                        session.run(f"DROP INDEX {name.format(low=t.lower())} IF EXISTS").consume()
                    session.run(
                        f"MATCH (a)-[r:{t}]->(b) WHERE r.in_key IS NULL "
                        "CALL (r, b) { SET r.in_key = b.ref + '>' + r.id } IN TRANSACTIONS OF 10000 ROWS"
                    ).consume()
        head = self.revision()[0]  # entries beyond it belong to a staged load that died: the next writer sweeps them
        for low in range(0, head, BATCH):
            self._compact(low, min(head, low + BATCH))
        self._driver.execute_query(
            "MATCH (m:CatalogMeta {key: 'schema'}) WHERE m.version = $old SET m.version = $new",
            old=version,
            new=SCHEMA_VERSION,
            database_=self.database,
        )

    def init_catalog(self) -> None:
        """Mark the database as a catalog and create the empty change-log head (idempotent)."""
        self._driver.execute_query(
            "MERGE (m:CatalogMeta {key: 'schema'}) ON CREATE SET m.version = $version "
            "MERGE (h:LogHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis, h.time = ''",
            version=SCHEMA_VERSION,
            genesis=GENESIS,
            database_=self.database,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._driver.close()
        self._local = threading.local()

    # --- queries and transactions ------------------------------------------------------------------------------------
    def _tx(self) -> Any:
        return getattr(self._local, "tx", None)

    def _run(self, query: str, **params: Any) -> list[Any]:
        """Run a query in this thread's open transaction, or in a transaction of its own."""
        tx = self._tx()
        try:
            if tx is not None:
                return list(tx.run(query, params))
            records, _, _ = self._driver.execute_query(query, params, database_=self.database)
            return records
        except ServiceUnavailable as exc:
            raise StoreError(f"Neo4j at {self.url} is not reachable: {exc}") from exc

    def _send(self, query: str, expect: int | None = None, **params: Any) -> None:
        """Send a write in this thread's open transaction without waiting for it: the server runs it while this
        process prepares the next one (Bolt keeps the order; an error surfaces at the next read or at commit, and
        rolls the whole transaction back). With ``expect``, the query returns ``n`` and the transaction's end
        checks it."""
        tx = self._tx()
        if tx is None:  # pragma: no cover - writes always run inside transaction()
            raise StoreError("a write outside a transaction")
        try:
            result = tx.run(query, params)
        except ServiceUnavailable as exc:
            raise StoreError(f"Neo4j at {self.url} is not reachable: {exc}") from exc
        self._local.pending.append((result, expect))

    def _drain(self) -> None:
        """Wait for every write sent with :meth:`_send` and check the counts they return."""
        pending, self._local.pending = self._local.pending, []
        for result, expect in pending:
            if expect is None:
                result.consume()
                continue
            n = result.single(strict=True)["n"]
            if n != expect:  # pragma: no cover - the rows were read in this locked transaction
                raise StoreError(f"wrote {n} of {expect} rows")

    def _stream(self, query: str, **params: Any) -> Iterator[Any]:
        """Records as the server sends them (in batches); closing the iterator early discards the rest unread."""
        tx = self._tx()
        with contextlib.ExitStack() as stack:
            if tx is None:
                tx = stack.enter_context(self._driver.session(database=self.database, bookmark_manager=self._bookmarks))
            result = tx.run(query, params)
            try:
                yield from result
            finally:
                result.consume()

    @contextlib.contextmanager
    def transaction(self, ctx: WriteContext) -> Iterator[None]:
        if self._tx() is not None:  # nested: join (write methods check everything before they write)
            yield
            return
        session = self._driver.session(database=self.database, bookmark_manager=self._bookmarks)
        try:
            try:
                tx = session.begin_transaction()
            except ServiceUnavailable as exc:
                raise StoreError(f"Neo4j at {self.url} is not reachable: {exc}") from exc
            try:
                # the write lock on the head serialises writers; read the head only once it is held
                tx.run(
                    "MERGE (h:LogHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis, h.time = '' "
                    "SET h.locked = true",
                    genesis=GENESIS,
                ).consume()
                head = tx.run(
                    "MATCH (h:LogHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash, h.time AS time"
                ).single(strict=True)
                if tx.run("MATCH (c:ChangeEntry) WHERE c.seq > $seq RETURN 1 AS x LIMIT 1", seq=head["seq"]).peek():
                    self._sweep(head["seq"])  # a staged load died: remove what it left before anything moves the head
                start = self._local.head = (head["seq"], head["hash"], head["time"])
                self._local.pending = []
                self._local.tx = tx
                yield
                self._drain()
            except BaseException:
                self._local.tx = None
                self._local.head = None
                with contextlib.suppress(Exception):
                    tx.rollback()
                raise
            else:
                end = self._local.head
                self._local.tx = None
                self._local.head = None
                tx.commit()
                if end is not None and end[:2] != start[:2]:  # the head moved: tell the witness
                    self._witness(end)
        finally:
            self._local.tx = None
            self._local.head = None
            self._local.pending = []
            session.close()

    def _seen(self) -> int:
        """The visibility bound of a read (``h`` in :data:`_VN` and :data:`_VR`): the published head's seq, so that
        what a staged load has written but not yet published stays out of sight. Inside a write transaction every
        fact is seen: the transaction holds the head, and whatever a dead staged load left was swept first. A round
        trip of its own outside one: for reads of several statements, which must all see the same catalog."""
        if self._tx() is not None:
            return _ALL
        rows = self._run("MATCH (h:LogHead {id: 'head'}) RETURN h.seq AS seq")
        return rows[0]["seq"] if rows else 0

    def _bound(self, statements: int = 1) -> int | None:
        """``$h`` of a read (:data:`_HEAD`) of ``statements`` statements: None for one statement outside a write
        transaction (the statement reads the published head itself, no round trip of its own), else :meth:`_seen`
        (the same bound for every statement)."""
        return None if statements <= 1 and self._tx() is None else self._seen()

    def _sweep(self, seq: int) -> int:
        """Remove the change-log entries beyond the published head ``seq`` and the facts they created (``pub`` is
        their seq): what a staged load left when it died before publishing. Runs while the caller holds the head (so
        no load is running), newest first, in transactions of ``BATCH`` entries, each removing entries and facts
        together; a sweep that dies half-way is finished by the next writer. Returns the entries removed."""
        removed = 0
        with self._driver.session(database=self.database, bookmark_manager=self._bookmarks) as session:
            while True:
                entries = session.run(
                    "MATCH (c:ChangeEntry) WHERE c.seq > $seq RETURN c.seq AS seq, c.ref AS ref "
                    "ORDER BY c.seq DESC LIMIT $batch",
                    seq=seq,
                    batch=BATCH,
                ).data()
                if not entries:
                    return removed
                by_type: dict[str, list[dict[str, Any]]] = {}
                refs = []
                for e in entries:
                    if e["ref"].startswith("rel:"):
                        t = self._rel_type_of(e["ref"][4:])
                        if t is not None:
                            by_type.setdefault(t, []).append({"id": e["ref"][4:], "seq": e["seq"]})
                    else:
                        refs.append(e)

                def remove(tx: Any, by_type: dict = by_type, refs: list = refs, entries: list = entries) -> None:
                    for t, rows in by_type.items():
                        tx.run(
                            f"UNWIND $rows AS e MATCH ()-[r:{t} {{id: e.id}}]->() WHERE r.pub = e.seq DELETE r",
                            rows=rows,
                        ).consume()
                    tx.run(
                        "UNWIND $rows AS e MATCH (n:Entity {ref: e.ref}) WHERE n.pub = e.seq DETACH DELETE n",
                        rows=refs,
                    ).consume()
                    tx.run(
                        "UNWIND $seqs AS s MATCH (c:ChangeEntry {seq: s}) DELETE c", seqs=[e["seq"] for e in entries]
                    ).consume()

                session.execute_write(remove)
                removed += len(entries)

    # --- change log --------------------------------------------------------------------------------------------------
    def _head(self) -> tuple[int, str, str]:
        head = getattr(self._local, "head", None)
        if head is None:  # outside a write transaction (a dry run)
            rows = self._run("MATCH (h:LogHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash, h.time AS time")
            head = (rows[0]["seq"], rows[0]["hash"], rows[0]["time"]) if rows else (0, GENESIS, "")
        return head

    def _log_rows(self, ctx: WriteContext, items: list[LogItem], now: str | None = None) -> list[dict[str, Any]]:
        """Change-log rows for (op, ref, before, after) entries, chained on from the head, which moves in this
        thread's state only (:meth:`_write_head` stores it). Entries of one call get consecutive microseconds from
        one clock reading (as the SQLite backend)."""
        if not items:
            return []
        seq, prev, last = self._local.head
        base = parse_log_time(now if now and now > last else self._now(last))
        rows = []
        actor, request_id, proposer = ctx.actor, ctx.request_id, ctx.proposer or None
        hash_entry = entry_hasher(actor, request_id, proposer)
        for (op, ref, before, after), time in zip(items, consecutive_times(base, len(items)), strict=False):
            seq += 1
            b = None if before is None else as_json(before)
            a = None if after is None else as_json(after)
            h = hash_entry(seq, time, op, ref, b, a, prev)
            rows.append(
                {
                    "seq": seq,
                    "time": time,
                    "actor": actor,
                    "request_id": request_id,
                    "op": op,
                    "ref": ref,
                    "before": b,
                    "after": a,
                    "prev_hash": prev,
                    "hash": h,
                    **({"proposer": proposer} if proposer else {}),
                }
            )
            prev, last = h, time
        self._local.head = (seq, prev, last)
        return rows

    def _write_head(self) -> None:
        seq, prev, last = self._local.head
        self._send(
            "MATCH (h:LogHead {id: 'head'}) SET h.seq = $seq, h.hash = $hash, h.time = $time",
            seq=seq,
            hash=prev,
            time=last,
        )

    def _log_many(self, ctx: WriteContext, items: list[LogItem], now: str | None = None) -> None:
        """Append (op, ref, before, after) entries and move the head; must run inside a transaction."""
        rows = self._log_rows(ctx, items, now)
        if not rows:
            return
        for batch in _chunks([_stored(r) for r in rows]):
            self._send("UNWIND $rows AS row CREATE (c:ChangeEntry) SET c = row", rows=batch)
        self._write_head()

    def _derive(self, rows: list[dict[str, Any]], contiguous: bool = False, last_upto: int | None = None) -> None:
        """Fill in, in place, the ``after`` of the entries among ``rows`` (dicts with ``seq``, ``ref``, ``op``,
        ``after``) stored without one (docs/architecture.md, "Each fact written once"): the ``before`` of the next
        entry about the same ref, or, when there is none, the fact's current ``data`` (a fact that is gone leaves it
        None, so the entry's hash no longer matches). The current data is read first and the next entries after it:
        a write that commits in between changes the fact together with a new entry whose ``before`` is the state
        read before, so the answer is the same either way. Two index lookups per entry, in batches.
        ``contiguous``: ``rows`` are every entry of a seq range, in seq order, so an entry followed by another about
        the same ref among them takes that one's ``before`` without a lookup. ``last_upto``: no entry of ``rows``
        has a next one up to that seq; when the head is still there after the current facts were read, no write
        came in between and the next entries need no lookup."""
        todo = [r for r in rows if r["after"] is None and r["op"] != "delete" and derives_after(r["ref"])]
        if contiguous and todo:
            later: dict[str, str | None] = {}
            for r in reversed(rows):
                if r["ref"] in later and r["after"] is None and r["op"] != "delete" and derives_after(r["ref"]):
                    r["after"] = later[r["ref"]]
                    r["derived"] = True
                later[r["ref"]] = r["before"]
            todo = [r for r in todo if not r.get("derived")]
        if not todo:
            return
        current = self._current_data([r["ref"] for r in todo])
        unmoved = last_upto is not None and (self._tx() is not None or self.revision()[0] == last_upto)
        following = {} if unmoved else self._following(todo)
        for r in todo:
            r["after"] = following[r["seq"]] if r["seq"] in following else current.get(r["ref"])
            r["derived"] = True

    def _current_data(self, refs: Iterable[str]) -> dict[str, str]:
        """The stored ``data`` of the entities and relationships ``refs`` name (those that exist), by ref."""
        refs = sorted(set(refs))
        current: dict[str, str] = {}
        for batch in _chunks([ref for ref in refs if not ref.startswith("rel:")]):
            for r in self._run(
                "UNWIND $refs AS ref MATCH (n:Entity {ref: ref}) RETURN ref, n.data AS data", refs=batch
            ):
                current[r["ref"]] = r["data"]
        by_type: dict[str, list[str]] = {}
        for ref in refs:
            if ref.startswith("rel:") and (t := self._rel_type_of(ref[4:])) is not None:
                by_type.setdefault(t, []).append(ref[4:])
        types = sorted(by_type)
        for i in range(0, max(len(r) for r in by_type.values()) if by_type else 0, BATCH):
            # one round trip for every type (a query per type costs more than its lookups)
            union = " UNION ALL ".join(
                f"UNWIND $ids{k} AS id MATCH ()-[r:{t} {{id: id}}]->() RETURN r.id AS id, r.data AS data"
                for k, t in enumerate(types)
            )
            params = {f"ids{k}": by_type[t][i : i + BATCH] for k, t in enumerate(types)}
            for r in self._run(f"CALL () {{ {union} }} RETURN id, data", **params):
                current[_rel_ref(r["id"])] = r["data"]
        return current

    def _following(self, rows: list[dict[str, Any]]) -> dict[int, str | None]:
        """The ``before`` of the next entry about the same ref, by the seq of each of ``rows`` that has one."""
        following: dict[int, str | None] = {}
        for batch in _chunks(rows):
            for r in self._run(
                "UNWIND $rows AS e CALL (e) { MATCH (x:ChangeEntry) WHERE x.ref = e.ref AND x.seq > e.seq "
                "RETURN x.before AS before ORDER BY x.seq LIMIT 1 } RETURN e.seq AS seq, before",
                rows=[{"seq": r["seq"], "ref": r["ref"]} for r in batch],
            ):
                following[r["seq"]] = r["before"]
        return following

    def _current_all(self, upto: int) -> dict[str, str | None]:
        """For a whole-log read up to seq ``upto``: the ``after`` that an entry about each entity and relationship
        derives when it has no next entry up to ``upto`` (:meth:`_derive`'s answer, read in one scan instead of a
        lookup per entry): the ``before`` of its first entry after ``upto`` (a write since the read began), else its
        current ``data``. Keyset pages along the unique indexes (entities by ref, relationships by type then id),
        each one record; the entries after ``upto`` are read after the facts, so a write in between is answered by
        its entry's ``before``, which is the state the scan may have caught. Holds the text of every fact."""
        current: dict[str, str | None] = {}
        pages = [("MATCH (n:Entity) WHERE n.ref > $key WITH n ORDER BY n.ref LIMIT $batch", "n.ref", "n.data", "")]
        pages += [
            (f"MATCH ()-[r:{t}]->() WHERE r.id > $key WITH r ORDER BY r.id LIMIT $batch", "r.id", "r.data", "rel:")
            for t in stored_types(self.metamodel)
        ]
        for match, key, data, prefix in pages:
            last = ""
            while True:
                rows = self._run(f"{match} RETURN collect([{key}, {data}]) AS rows", key=last, batch=_SCAN)[0]["rows"]
                current.update((prefix + k, d) for k, d in rows)
                if len(rows) < _SCAN:
                    break
                last = rows[-1][0]
        beyond = self._run(
            "MATCH (c:ChangeEntry) WHERE c.seq > $upto WITH c ORDER BY c.seq "
            "WITH c.ref AS ref, head(collect([c.before])) AS first RETURN collect([ref, first[0]]) AS rows",
            upto=int(upto),
        )
        current.update(beyond[0]["rows"] if beyond else [])
        return current

    def _next_seqs(self, upto: int) -> dict[int, int]:
        """For a whole-log read up to seq ``upto``: the seq of the next entry about the same reference, by the seq
        of each entity or relationship entry that has one up to ``upto`` (refs with one entry, most of a loaded
        catalog, are not sent)."""
        rows = self._run(
            "MATCH (c:ChangeEntry) WHERE c.seq <= $upto AND NOT c.ref STARTS WITH 'event:' "
            "AND NOT c.ref STARTS WITH $record WITH c.ref AS ref, collect(c.seq) AS seqs WHERE size(seqs) > 1 "
            "RETURN collect(seqs) AS rows",
            upto=int(upto),
            record=RECORD_PREFIX,
        )
        following: dict[int, int] = {}
        for seqs in rows[0]["rows"] if rows else []:
            seqs.sort()
            following.update(zip(seqs, seqs[1:], strict=False))
        return following

    def _uncompact(self, refs: Sequence[str], low: int) -> None:
        """Restore: give back its ``after`` to the last entry at or before ``low`` of each of ``refs`` that an
        earlier page's :meth:`_compact` left without one (it then had no next entry, so its ``after`` was the fact's
        current data) when its next entry, just restored, does not begin from that state (a source log whose stored
        ``after`` differed from its derivation). A consistent log never needs it; with it nothing is lost."""
        rows = []
        for batch in _chunks(sorted(set(refs))):
            rows += [
                dict(r)
                for r in self._run(
                    "UNWIND $refs AS ref CALL (ref) { MATCH (c:ChangeEntry) WHERE c.ref = ref AND c.seq <= $low "
                    "RETURN c ORDER BY c.seq DESC LIMIT 1 } WITH c WHERE c.after IS NULL AND c.op <> 'delete' "
                    "AND NOT c.ref STARTS WITH 'event:' AND NOT c.ref STARTS WITH $record "
                    "RETURN c.seq AS seq, c.ref AS ref",
                    refs=batch,
                    low=int(low),
                    record=RECORD_PREFIX,
                )
            ]
        if not rows:
            return
        current = self._current_data(r["ref"] for r in rows)
        following = self._following(rows)
        back = [
            {"seq": r["seq"], "after": current[r["ref"]]}
            for r in rows
            if r["seq"] in following and r["ref"] in current and following[r["seq"]] != current[r["ref"]]
        ]
        for batch in _chunks(back):
            self._run("UNWIND $rows AS row MATCH (c:ChangeEntry {seq: row.seq}) SET c.after = row.after", rows=batch)

    def _log_page(self, query: str, contiguous: bool = False, **params: Any) -> list[dict[str, Any]]:
        """Change-log rows (:data:`_CHANGE_FIELDS`) of ``query``, each with its ``after`` (stored or derived);
        ``contiguous``: see :meth:`_derive`."""
        rows = [dict(r) for r in self._run(query, **params)]
        self._derive(rows, contiguous)
        return rows

    def _compact(self, low: int, high: int, refs: Sequence[str] = ()) -> int:
        """Remove the stored ``after`` of every entity and relationship entry with ``low < seq <= high`` (and, for
        each of ``refs``, of its last entry at or before ``low``) whose ``after`` equals its derivation (never one
        that differs: nothing is lost). A read then derives what was stored, so the log reads the same before,
        during and after; running it again changes nothing. Returns the entries changed."""
        where = (
            "c.after IS NOT NULL AND c.op <> 'delete' AND NOT c.ref STARTS WITH 'event:' "
            "AND NOT c.ref STARTS WITH $record"
        )
        fields = "c.seq AS seq, c.ref AS ref, c.op AS op, c.after AS stored"
        found = self._run(
            f"MATCH (c:ChangeEntry) WHERE c.seq > $low AND c.seq <= $high AND {where} RETURN {fields}",
            low=int(low),
            high=int(high),
            record=RECORD_PREFIX,
        )
        for batch in _chunks(sorted(set(refs))):
            found += self._run(
                "UNWIND $refs AS ref CALL (ref) { MATCH (c:ChangeEntry) WHERE c.ref = ref AND c.seq <= $low "
                f"RETURN c ORDER BY c.seq DESC LIMIT 1 }} WITH c WHERE {where} RETURN {fields}",
                refs=batch,
                low=int(low),
                record=RECORD_PREFIX,
            )
        rows = [dict(r) for r in found]
        for r in rows:
            r["after"] = None
        self._derive(rows)
        same = [{"seq": r["seq"], "after": r["stored"]} for r in rows if r["after"] == r["stored"]]
        for batch in _chunks(same):
            self._run(
                "UNWIND $rows AS row MATCH (c:ChangeEntry {seq: row.seq}) WHERE c.after = row.after REMOVE c.after",
                rows=batch,
            )
        return len(same)

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
        where: list[str] = ["c.seq > $after_seq", "c.seq <= h"]
        params: dict[str, Any] = {"after_seq": int(after_seq), "h": self._bound()}
        if ref:
            where.append("c.ref = $ref")
            params["ref"] = ref
        if actor:
            where.append("c.actor = $actor")
            params["actor"] = actor
        if since:
            where.append("c.time >= $since")
            params["since"] = (
                as_instant(since)
                if len(since) > 10
                else format_time(dt.datetime.combine(dt.date.fromisoformat(since), dt.time.min, tzinfo=dt.UTC))
            )
        if until:
            where.append("c.time <= $until")
            params["until"] = as_instant(until)
        if op:
            where.append("c.op = $op")
            params["op"] = op
        if kind:
            where.append("c.ref STARTS WITH $prefix")
            params["prefix"] = f"{kind}:"
        if before_seq is not None:
            where.append("c.seq < $before_seq")
            params["before_seq"] = int(before_seq)
        if request_id:
            where.append("c.request_id = $request_id")
            params["request_id"] = request_id
        # the page inside a subquery, as after the head's row (_HEAD) the planner would sort every entry instead of
        # reading them in seq order off the index
        page = ""
        if limit is not None and int(limit) >= 0:
            page = "LIMIT $limit"
            params["limit"] = int(limit)
        query = (
            f"{_HEAD}CALL (h) {{ MATCH (c:ChangeEntry) WHERE {' AND '.join(where)} RETURN c ORDER BY c.seq {page} }} "
            f"RETURN {_CHANGE_FIELDS} ORDER BY c.seq"
        )
        return [
            _change(r)
            for r in (
                self._log_page(query, contiguous=not (ref or actor or op or kind or request_id), **params)
                if bodies
                else self._run(query.replace(_CHANGE_FIELDS, _CHANGE_HEADS), **params)
            )
        ]

    def verify_log(self, witness: Iterable[Head] = (), configured_witness: bool = True) -> VerifyResult:
        # the stored text is hashed as it is: any edit, even of white space, breaks the chain; a derived after is
        # the current fact's text or a later entry's before, so an edit of those breaks it too
        upto = self._seen()
        fields = ("seq", "time", "actor", "request_id", "op", "ref", "before", "after", "prev_hash", "hash", "proposer")

        derived: set[int] = set()

        def rows() -> Iterator[tuple]:
            for r in (r for page in self._log_pages(upto) for r in page):
                if r.get("derived"):
                    derived.add(r["seq"])
                yield tuple(r[k] for k in fields) + (r.get("derived", False),)

        result = self._verify_rows(rows, witness, configured_witness)
        if not result.ok:
            if result.bad_seq in derived and getattr(result.reason, "code", "") == "log-content-mismatch":
                # entries cut off the end change the derived afters before the cut: the head names the cause
                last = self._run(
                    "MATCH (c:ChangeEntry) WHERE c.seq <= $h RETURN c.seq AS seq, c.hash AS hash "
                    "ORDER BY c.seq DESC LIMIT 1",
                    h=upto,
                )
                end = (last[0]["seq"], last[0]["hash"]) if last else (0, GENESIS)
                if self.revision() != end:
                    return self._head_mismatch(VerifyResult(True, end[0], end[1]))
            return result
        return self._head_mismatch(result)

    def _head_mismatch(self, result: VerifyResult) -> VerifyResult:
        """``result`` (a chain that verified up to ``result.checked``) unless the stored head is not its end."""
        head_seq, head_hash = self.revision()
        if (head_seq, head_hash) != (result.checked, result.head):  # entries cut off the end, or the head edited
            bad = result.checked + 1 if head_seq > result.checked else max(1, min(head_seq, result.checked))
            return VerifyResult(
                False,
                result.checked,
                result.head,
                bad,
                msg("log-head-beyond-chain", seq=head_seq, end=result.checked)
                if head_seq != result.checked
                else msg("log-head-hash-mismatch"),
                result.witnessed,
            )
        return result

    def _log_pages(self, upto: int, batch: int = BATCH) -> Iterator[list[dict[str, Any]]]:
        """Every entry up to seq ``upto``, in seq order, with its ``after`` (stored or derived, as :meth:`_derive`),
        in pages of ``batch`` entries, each read as one record. What derivation needs is read first, whole: which
        entries have a next one (:meth:`_next_seqs`) and the current facts (:meth:`_current_all`); a page then reads
        only the ``before`` of next entries in later pages, by seq. A few scans instead of two lookups per entry."""
        following = self._next_seqs(upto)
        current = self._current_all(upto)
        seq = 0
        while seq < upto:
            rows = [
                dict(zip(_LOG_KEYS, r, strict=True))
                for r in self._run(
                    f"MATCH (c:ChangeEntry) WHERE c.seq > $seq AND c.seq <= $h WITH c ORDER BY c.seq LIMIT $batch "
                    f"RETURN collect({_LOG_LIST}) AS rows",
                    seq=seq,
                    h=upto,
                    batch=int(batch),
                )[0]["rows"]
            ]
            if not rows:
                return
            todo = [r for r in rows if r["after"] is None and r["op"] != "delete" and derives_after(r["ref"])]
            if todo:
                befores = {r["seq"]: r["before"] for r in rows}
                later = [following[r["seq"]] for r in todo if r["seq"] in following]
                later = [s for s in later if s not in befores]
                if later:
                    befores.update(
                        self._run(
                            "UNWIND $seqs AS s MATCH (c:ChangeEntry {seq: s}) RETURN collect([s, c.before]) AS rows",
                            seqs=later,
                        )[0]["rows"]
                    )
                for r in todo:
                    nxt = following.get(r["seq"])
                    r["after"] = befores.get(nxt) if nxt is not None else current.get(r["ref"])
                    r["derived"] = True
            yield rows
            if len(rows) < batch:
                return
            seq = rows[-1]["seq"]

    def schema_versions(self) -> tuple[str | None, str | None]:
        meta = self._run("MATCH (m:CatalogMeta {key: 'schema'}) RETURN m.version AS version")
        return (meta[0]["version"] if meta else None), SCHEMA_VERSION

    def revision(self) -> tuple[int, str]:
        rows = self._run("MATCH (h:LogHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash")
        return (rows[0]["seq"], rows[0]["hash"]) if rows else (0, GENESIS)

    # --- entities ----------------------------------------------------------------------------------------------------
    def _create_entities(self, rows: list[dict[str, Any]], logs: list[dict[str, Any]] | None = None) -> None:
        """Create entity nodes from ``_entity_props`` rows; with ``logs`` (one change-log row per entity, its
        ``after`` the entity's data) the same statement creates the change-log entries, so the text travels once."""
        by_label: dict[str, list[dict]] = {}
        for i, props in enumerate(rows):
            label = kind_label(self.metamodel, props["kind"])
            by_label.setdefault(f":{label}" if label else "", []).append(
                props if logs is None else {"p": props, "c": _without_after(logs[i], props["data"])}
            )
        for label, group in by_label.items():
            for batch in _chunks(group):
                if logs is None:
                    self._send(f"{_BULK}UNWIND $rows AS row CREATE (n:Entity{label}) SET n = row", rows=batch)
                else:
                    self._send(
                        f"{_BULK}UNWIND $rows AS row CREATE (n:Entity{label}) SET n = row.p "
                        "CREATE (c:ChangeEntry) SET c = row.c",
                        rows=batch,
                    )

    def _update_entities(self, rows: list[dict[str, Any]], logs: list[dict[str, Any]] | None = None) -> None:
        group = (
            rows
            if logs is None
            else [{"p": p, "c": _without_after(c, p["data"])} for p, c in zip(rows, logs, strict=False)]
        )
        for batch in _chunks(group):
            if logs is None:
                self._send(
                    "UNWIND $rows AS row MATCH (n:Entity {ref: row.ref}) SET n = row RETURN count(n) AS n",
                    expect=len(batch),
                    rows=batch,
                )
            else:
                self._send(
                    "UNWIND $rows AS row MATCH (n:Entity {ref: row.p.ref}) SET n = row.p "
                    "CREATE (c:ChangeEntry) SET c = row.c RETURN count(n) AS n",
                    expect=len(batch),
                    rows=batch,
                )

    def create_entity(self, entity: Entity, ctx: WriteContext) -> Entity:
        with self.transaction(ctx):
            if self._run("MATCH (n:Entity {ref: $ref}) RETURN 1 AS x", ref=entity.ref):
                raise AlreadyExists(msg("entity-exists", ref=entity.ref))
            now = self._now(self._head()[2])
            c = entity.content()
            data = canonical_json(c)
            self._create_entities([_entity_props(c, data, 1, now, now)])
            self._log_many(ctx, [("create", entity.ref, None, data)], now)
            return entity.model_copy(update={"version": 1, "created_at": now, "updated_at": now})

    def find_entity(self, ref: str) -> Entity | None:
        rows = self._run(f"{_HEAD}MATCH (n:Entity {{ref: $ref}}) WHERE {_VN} RETURN {_E}", ref=ref, h=self._bound())
        return _entity(rows[0]) if rows else None

    def get_entities(self, refs: list[str]) -> dict[str, Entity]:
        batches = list(_chunks(list(dict.fromkeys(refs))))
        h = self._bound(len(batches))
        out: dict[str, Entity] = {}
        for batch in batches:
            for r in self._run(
                f"{_HEAD}UNWIND $refs AS ref MATCH (n:Entity {{ref: ref}}) WHERE {_VN} RETURN {_E}", refs=batch, h=h
            ):
                e = _entity(r)
                out[e.ref] = e
        return out

    def update_entity(self, entity: Entity, expected_version: int, ctx: WriteContext) -> Entity:
        with self.transaction(ctx):
            rows = self._run(
                "MATCH (n:Entity {ref: $ref}) RETURN n.version AS version, n.created_at AS created_at, n.data AS data",
                ref=entity.ref,
            )
            if not rows:
                raise NotFound(msg("entity-not-found", ref=entity.ref))
            version, created, old = rows[0]["version"], rows[0]["created_at"], rows[0]["data"]
            if version != expected_version:
                raise Conflict(entity.ref, expected_version, version)
            now = self._now(self._head()[2])
            c = entity.content()
            data = canonical_json(c)
            self._update_entities([_entity_props(c, data, version + 1, created, now)])
            self._log_many(ctx, [("update", entity.ref, old, data)], now)
            return entity.model_copy(update={"version": version + 1, "created_at": created, "updated_at": now})

    def delete_entity(self, ref: str, expected_version: int, ctx: WriteContext, cascade: bool = False) -> None:
        with self.transaction(ctx):
            rows = self._run("MATCH (n:Entity {ref: $ref}) RETURN n.version AS version, n.data AS data", ref=ref)
            if not rows:
                raise NotFound(msg("entity-not-found", ref=ref))
            if rows[0]["version"] != expected_version:
                raise Conflict(ref, expected_version, rows[0]["version"])
            rels = self._run(
                "MATCH (:Entity {ref: $ref})-[r]-() WITH DISTINCT r RETURN r.id AS id, r.data AS data ORDER BY id",
                ref=ref,
            )
            if rels and not cascade:
                raise IntegrityError(
                    msg_plural("entity-in-use", "entity-in-use#plural", count=len(rels), ref=ref, example=rels[0]["id"])
                )
            self._run("MATCH (n:Entity {ref: $ref}) DETACH DELETE n", ref=ref)
            log: list[LogItem] = [("delete", _rel_ref(r["id"]), r["data"], None) for r in rels]
            self._log_many(ctx, log + [("delete", ref, rows[0]["data"], None)])

    def _filter(self, flt: EntityFilter) -> tuple[str, dict[str, Any]]:
        where = [_VN]
        params: dict[str, Any] = {"h": self._bound()}
        if flt.kind:
            where.append("n.kind = $kind")
            params["kind"] = flt.kind
        if flt.owner:
            where.append("n.owner = $owner")
            params["owner"] = flt.owner
        if flt.lifecycle:
            where.append("n.lifecycle = $lifecycle")
            params["lifecycle"] = flt.lifecycle
        if flt.source:
            where.append("n.prov_source = $source")
            params["source"] = flt.source
        if flt.tag:
            where.append("$tag IN n.tags")
            params["tag"] = flt.tag
        for i, (name, value) in enumerate(sorted(flt.attributes.items())):
            if not _ATTR_NAME.match(name):
                raise ValidationFailed([FieldError(f"attributes.{name}", msg("attribute-name-malformed"))])
            where.append(f"n[$attr_key_{i}] = $attr_value_{i}")
            params[f"attr_key_{i}"] = f"attr_{name}"
            params[f"attr_value_{i}"] = value
        return " WHERE " + " AND ".join(where), params

    def list_entities(self, flt: EntityFilter = EntityFilter()) -> list[Entity]:
        where, params = self._filter(flt)
        # written so that the planner reads pages straight off the ref or (kind, ref) index, in order: inside a
        # subquery, as after the head's row (_HEAD) it would sort every entity instead; the outer sort has a page
        where = f"{where} AND n.ref IS NOT NULL"
        order = "n.kind, n.ref" if flt.kind else "n.ref"  # the same order: the kind is fixed
        page = "SKIP $offset LIMIT $limit" if flt.limit >= 0 else "SKIP $offset"  # SQLite: a negative LIMIT is none
        query = f"{_HEAD}CALL (h) {{ MATCH (n:Entity){where} RETURN n ORDER BY {order} {page} }} "
        query += f"RETURN {_E} ORDER BY {order}"
        return [_entity(r) for r in self._run(query, **params, offset=max(0, int(flt.offset)), limit=int(flt.limit))]

    def count_entities(self, flt: EntityFilter = EntityFilter()) -> int:
        where, params = self._filter(flt)
        return self._run(f"{_HEAD}MATCH (n:Entity){where} RETURN count(n) AS n", **params)[0]["n"]

    def search(self, text: str, kind: str | None = None, limit: int = 20, *, phrase: bool = False) -> list[Entity]:
        phrases = _search_phrases(text)
        if not phrases or (kind is not None and kind_label(self.metamodel, kind) is None):
            return []
        limit = int(limit) if int(limit) >= 0 else 2**31 - 1
        if not self._search_index_online():  # the same answer, found by reading every entity
            query = (
                f"{_HEAD}MATCH (n:Entity) WHERE ($kind IS NULL OR n.kind = $kind) AND {_VN} "
                "AND all(p IN $phrases WHERE n.search_name CONTAINS p OR n.search_body CONTAINS p) "
                "AND (NOT $only OR n.search_name CONTAINS $together) "
                f"RETURN {_E} ORDER BY n.ref LIMIT $limit"
            )
            together = " " + " ".join(w for p in phrases for w in p.split())
            rows = self._run(
                query, phrases=phrases, kind=kind, limit=limit, only=phrase, together=together, h=self._bound()
            )
            return [_entity(r) for r in rows]
        several = sum(len(p.split()) for p in phrases) > 1
        params = _search_params(phrases, kind)
        # the index's first ``limit`` of a tier pass its exact condition, unless a query word is itself several
        # (``a_b``: the index finds both words, the condition wants them side by side)
        top = limit if all(" " not in p.strip() for p in phrases) else 2**31 - 1
        rows = self._run(
            _SEARCH_PHRASE if phrase else _SEARCH_TIERS[several],
            **params,
            phrases=phrases,
            limit=limit,
            top=top,
            h=self._bound(),
        )
        return [_entity(r) for r in rows]

    def _search_index_online(self) -> bool:
        """Whether search may read the full-text index: outside a write transaction, once the index is built (in
        the background after it is created, by ``init`` or by opening a database written before it existed;
        remembered once it is)."""
        if self._tx() is not None:  # a write transaction's own writes reach the index only when it commits
            return False
        if getattr(self, "_search_online", False):
            return True
        rows = self._run("SHOW INDEXES YIELD name, state WHERE name = $name RETURN state", name=SEARCH_INDEX)
        self._search_online = bool(rows) and rows[0]["state"] == "ONLINE"
        return self._search_online

    # --- relationships -----------------------------------------------------------------------------------------------
    def _rel_type_of(self, rel_id: str) -> str | None:
        parts = _split_rel_id(rel_id)
        return known_rel_type(self.metamodel, parts[1]) if parts else None

    def _rel_by_id(self, rel_id: str, fields: str) -> Any | None:
        t = self._rel_type_of(rel_id)
        if t is None:
            return None
        rows = self._run(
            f"{_HEAD}MATCH ()-[r:{t} {{id: $id}}]->() WHERE {_VR} RETURN {fields}", id=rel_id, h=self._bound()
        )
        return rows[0] if rows else None

    def _rels_by_id(self, rel_ids: list[str], fields: str, seen: bool = True) -> list[Any]:
        """Relationships by id (one index lookup per id, grouped by type), in no particular order; ``seen=False``:
        also those a staged load has not published."""
        by_type: dict[str, list[str]] = {}
        for rid in rel_ids:
            t = self._rel_type_of(rid)
            if t is not None:
                by_type.setdefault(t, []).append(rid)
        out: list[Any] = []
        batches = [(t, batch) for t, ids in by_type.items() for batch in _chunks(ids)]
        h = self._bound(len(batches)) if seen else _ALL
        for t, batch in batches:
            out += self._run(
                f"{_HEAD}UNWIND $ids AS id MATCH ()-[r:{t} {{id: id}}]->() WHERE {_VR} RETURN {fields}", ids=batch, h=h
            )
        return out

    def _write_relationships(
        self, rows: list[dict[str, Any]], create: bool, logs: list[dict[str, Any]] | None = None
    ) -> None:
        """Create (between existing ends) or update relationships from ``_rel_row`` rows, batched per type; with
        ``logs`` (one change-log row per relationship, its ``after`` the relationship's data) the same statement
        creates the change-log entries."""
        by_type: dict[str, list[dict]] = {}
        for i, row in enumerate(rows):
            if logs is not None:
                row = {**row, "c": _without_after(logs[i], row["props"]["data"])}
            parts = _split_rel_id(row["props"]["id"])
            if parts is None:  # ids are checked by the Relationship model before any write
                raise StoreError(f"malformed relationship id {row['props']['id']!r}")
            by_type.setdefault(rel_type(self.metamodel, parts[1]), []).append(row)
        log = " CREATE (c:ChangeEntry) SET c = row.c" if logs is not None else ""
        for t, group in by_type.items():
            for batch in _chunks(group):
                if create:
                    query = (
                        f"{_BULK}UNWIND $rows AS row MATCH (a:Entity {{ref: row.source}}) "
                        f"MATCH (b:Entity {{ref: row.target}}) CREATE (a)-[r:{t}]->(b) SET r = row.props{log} "
                        "RETURN count(r) AS n"
                    )
                else:
                    query = (
                        f"UNWIND $rows AS row MATCH ()-[r:{t} {{id: row.props.id}}]->() SET r = row.props{log} "
                        "RETURN count(r) AS n"
                    )
                self._send(query, expect=len(batch), rows=batch)

    def _delete_relationships(self, rel_ids: list[str]) -> None:
        by_type: dict[str, list[str]] = {}
        for rid in rel_ids:
            by_type.setdefault(rel_type(self.metamodel, (_split_rel_id(rid) or ("", "", ""))[1]), []).append(rid)
        for t, ids in by_type.items():
            for batch in _chunks(ids):
                self._run(f"UNWIND $ids AS id MATCH ()-[r:{t} {{id: id}}]->() DELETE r", ids=batch)

    def _missing_refs(self, refs: set[str]) -> set[str]:
        present: set[str] = set()
        for batch in _chunks(sorted(refs)):
            present |= {
                r["ref"]
                for r in self._run("UNWIND $refs AS ref MATCH (n:Entity {ref: ref}) RETURN n.ref AS ref", refs=batch)
            }
        return refs - present

    def create_relationship(self, rel: Relationship, ctx: WriteContext) -> Relationship:
        rel_type(self.metamodel, rel.type)  # a type the graph can hold, before anything else
        with self.transaction(ctx):
            if self._rel_by_id(rel.id, "1 AS x") is not None:
                raise AlreadyExists(msg("relationship-exists", id=rel.id))
            missing = self._missing_refs({rel.source, rel.target})
            for end in (rel.source, rel.target):
                if end in missing:
                    raise IntegrityError(msg("relationship-end-missing", id=rel.id, end=end))
            now = self._now(self._head()[2])
            c = rel.content()
            data = canonical_json(c)
            self._write_relationships([_rel_row(c, _rel_props(c, data, 1, now, now))], create=True)
            self._log_many(ctx, [("create", _rel_ref(rel.id), None, data)], now)
            return rel.model_copy(update={"version": 1, "created_at": now, "updated_at": now})

    def find_relationship(self, rel_id: str) -> Relationship | None:
        row = self._rel_by_id(rel_id, _R)
        return _relationship(row) if row else None

    def update_relationship(self, rel: Relationship, expected_version: int, ctx: WriteContext) -> Relationship:
        with self.transaction(ctx):
            row = self._rel_by_id(rel.id, "r.version AS version, r.created_at AS created_at, r.data AS data")
            if row is None:
                raise NotFound(msg("relationship-not-found", id=rel.id))
            if row["version"] != expected_version:
                raise Conflict(rel.id, expected_version, row["version"])
            now = self._now(self._head()[2])
            c = rel.content()
            data = canonical_json(c)
            props = _rel_props(c, data, row["version"] + 1, row["created_at"], now)
            self._write_relationships([_rel_row(c, props)], create=False)
            self._log_many(ctx, [("update", _rel_ref(rel.id), row["data"], data)], now)
            return rel.model_copy(
                update={"version": row["version"] + 1, "created_at": row["created_at"], "updated_at": now}
            )

    def delete_relationship(self, rel_id: str, expected_version: int, ctx: WriteContext) -> None:
        with self.transaction(ctx):
            row = self._rel_by_id(rel_id, "r.version AS version, r.data AS data")
            if row is None:
                raise NotFound(msg("relationship-not-found", id=rel_id))
            if row["version"] != expected_version:
                raise Conflict(rel_id, expected_version, row["version"])
            self._delete_relationships([rel_id])
            self._log_many(ctx, [("delete", _rel_ref(rel_id), row["data"], None)])

    def list_relationships(
        self, ref: str | None = None, type: str | None = None, direction: Direction = "both", limit: int | None = None
    ) -> list[Relationship]:
        t = ""
        if type:
            known = known_rel_type(self.metamodel, type)
            if known is None:
                return []
            t = f":{known}"
        if ref:
            pattern = {
                "out": f"(:Entity {{ref: $ref}})-[r{t}]->()",
                "in": f"(:Entity {{ref: $ref}})<-[r{t}]-()",
                "both": f"(:Entity {{ref: $ref}})-[r{t}]-()",
            }[direction]
        else:
            pattern = f"()-[r{t}]->()"
        query = f"{_HEAD}MATCH {pattern} WHERE {_VR} WITH DISTINCT r RETURN {_R} ORDER BY r.id"
        if limit is not None and int(limit) >= 0:
            query += " LIMIT $limit"
        rows = self._run(query, ref=ref, limit=None if limit is None else int(limit), h=self._bound())
        return [_relationship(r) for r in rows]

    def count_relationships(self) -> int:
        return self._run(f"{_HEAD}MATCH ()-[r]->() WHERE {_VR} RETURN count(r) AS n", h=self._bound())[0]["n"]

    # --- traversal ---------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reader(self) -> Iterator[Any]:
        """Something to ``run`` reads on: this thread's open transaction, or one session for several reads."""
        tx = self._tx()
        if tx is not None:
            yield tx
            return
        with self._driver.session(database=self.database, bookmark_manager=self._bookmarks) as session:
            yield session

    def _step_query(self, parts: list[int], known: list[str]) -> str:
        """One step of the walk from the frontier ``$frontier``: per direction (``parts``: 0 out, 1 in), per frontier
        entity in order, its relationships of the types ``known`` (upper-case, in lower-case order) by type then id;
        the first ``$total`` of that stream, as one list of ``[part, i, id, data, version, created_at, updated_at]``
        (a record per row costs the driver more than the row). An entity with more than ``$dense`` relationships in
        a direction is read through the ``id`` or ``in_key`` index, which hands them out in that order, one type
        after the other, so a hub's thousands are neither expanded nor sorted, and reading stops at ``$total``.
        It also returns ``h``, the visibility bound it read with (:data:`_HEAD`), for the walk's next statements."""
        branches = []
        for part in parts:
            arrow = ("-[r{t}]->()", "<-[r{t}]-()")[part].format(t=":" + "|".join(known))
            key, prefix = ("r.id", "f + '>{low}>'") if part == 0 else ("r.in_key", "f + '>'")
            seeks = " UNION ALL ".join(
                f"MATCH ()-[r:{k}]->() USING INDEX SEEK r:{k}({key[2:]}) "
                f"WHERE {key} STARTS WITH {prefix.format(low=k.lower())} AND {_VR} "
                f"WITH r ORDER BY {key} RETURN r"
                for k in known
            )
            branches.append(
                "UNWIND range(0, size($frontier) - 1) AS i WITH h, i, $frontier[i] AS f WHERE f <> '' "
                "MATCH (n:Entity {ref: f}) CALL (n, f, h) { "
                f"WITH n, h WHERE COUNT {{ (n){arrow} }} <= $dense "
                f"MATCH (n){arrow} WHERE {_VR} "
                "WITH r, toLower(type(r)) AS type, r.id AS id ORDER BY type, id LIMIT $total "
                "RETURN r UNION ALL "
                f"WITH n, f, h WHERE COUNT {{ (n){arrow} }} > $dense CALL (f, h) {{ {seeks} }} RETURN r "
                f"}} RETURN {part} AS part, i, r"
            )
        # OPTIONAL: one record (with h) even when the step finds nothing; collect() leaves out that row's null
        return (
            f"{_REPLAN}{_HEAD}OPTIONAL CALL (h) {{ {' UNION ALL '.join(branches)} }} WITH h, part, i, r LIMIT $total "
            "RETURN h, collect(CASE WHEN r IS NOT NULL THEN [part, i, r.id, r.data, r.version, r.created_at, "
            "r.updated_at] END) AS rows"
        )

    @staticmethod
    def _step_rows(reader: Any, query: str, chunk: list[str], total: int, h: list[int | None]) -> Iterator[list]:
        """The step's rows in walk order: the first ``total``, then, only if the walk uses them all, the rest, read
        again with a larger ``total``. A stream out of walk order (which the plan does not promise across its
        branches) is read again whole and sorted here. ``h[0]``: the walk's visibility bound, None until its first
        statement has read it (and set it here)."""
        done = 0
        frontier = _one_plan(chunk)
        while True:
            record = reader.run(query, frontier=frontier, total=total, dense=_DENSE, h=h[0]).single(strict=True)
            h[0], rows = record["h"], record["rows"]
            keys = [(x[0], x[1], x[2].split(">", 2)[1], x[2]) for x in rows]
            if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):  # pragma: no cover - not seen on Neo4j 5.26
                everything = reader.run(query, frontier=frontier, total=2**62, dense=2**62, h=h[0]).single(strict=True)
                yield from sorted(everything["rows"], key=lambda x: (x[0], x[1], x[2].split(">", 2)[1], x[2]))[done:]
                return
            yield from rows[done:]
            if len(rows) < total:
                return
            done, total = len(rows), total * 4

    def neighbourhood(
        self,
        ref: str,
        depth: int = 1,
        direction: Direction = "both",
        types: tuple[str, ...] | None = None,
        limit: int = 500,
    ) -> Subgraph:
        """The SQLite backend's walk, in the same order (frontier sorted and chunked; per chunk outgoing then incoming
        relationships, each by frontier entity, type and id, as SQLite's indexes give them), so the same ``limit``
        stops at the same entities and relationships. One round trip per frontier chunk reads the relationships in
        that order with their stored rows, as far as the limit can need (further only in the rare case that the walk
        uses them all), then one round trip reads the entities found. Models are built when read (StoredEntities).
        The first statement reads the published head (:data:`_HEAD`) and the others use the bound it read, so the
        whole walk sees one catalog without a round trip of its own for the head."""
        known = sorted(
            (k for k in {known_rel_type(self.metamodel, x) for x in types} if k)
            if types
            else stored_types(self.metamodel),
            key=str.lower,
        )
        if not known:  # only types the graph cannot hold: nothing to follow
            depth = 0
        parts = [p for p, d in ((0, "out"), (1, "in")) if direction in (d, "both")]
        step = self._step_query(parts, known)
        seen: dict[str, int] = {ref: 0}
        rels: dict[str, list] = {}  # id -> stored row, for every relationship the walk followed
        frontier = [ref]
        truncated = False
        h: list[int | None] = [self._bound()]
        with self._reader() as reader:
            for level in range(1, max(0, depth) + 1):
                nxt: list[str] = []
                for chunk in _chunks(sorted(frontier), _CHUNK):
                    # enough rows for the entities still allowed, and for some leading back to ones already found
                    total = limit + 1 + _STEP_SLACK * (len(seen) + len(chunk))
                    for row in self._step_rows(reader, step, chunk, total, h):
                        rid = row[2]
                        other = rid[rid.rindex(">") + 1 :] if row[0] == 0 else rid[: rid.index(">")]
                        if other not in seen:
                            if len(seen) >= limit:
                                truncated = True
                                break
                            seen[other] = level
                            nxt.append(other)
                        rels[rid] = row[3:]
                    if truncated:
                        break
                frontier = nxt
                if not frontier or truncated:
                    break
            # the entities the walk found, in one round trip and one record (a record per row costs the driver
            # more than the row); the relationships came with the walk
            ents: dict[str, tuple] = {
                row[0]: tuple(row[1:])
                for r in reader.run(
                    f"{_HEAD}UNWIND $refs AS ref MATCH (n:Entity {{ref: ref}}) WHERE {_VN} "
                    "RETURN collect([n.ref, n.data, n.version, n.created_at, n.updated_at]) AS rows",
                    refs=_one_plan(list(seen)),
                    h=h[0],
                )
                for row in r["rows"]
            }
        if ref not in ents:
            raise NotFound(msg("entity-not-found", ref=ref))
        # models are built when read (StoredEntities), in the walk's order as the SQLite backend
        return Subgraph(
            entities=StoredEntities({x: ents[x] for x in seen if x in ents}),
            relationships=StoredRelationships([tuple(rels[rid]) for rid in sorted(rels)]),
            depth=seen,
            truncated=truncated,
        )

    # --- organisation events -----------------------------------------------------------------------------------------
    def _event_row(self, event_id: str) -> tuple[int, str] | None:
        rows = self._run("MATCH (e:OrgEvent {id: $id}) RETURN e.version AS version, e.data AS data", id=event_id)
        return (rows[0]["version"], rows[0]["data"]) if rows else None

    def _record_event(self, event: OrgEvent, row: tuple[int, str] | None, ctx: WriteContext) -> OrgEvent:
        before = OrgEvent.model_validate_json(row[1]) if row else None
        ev = event.model_copy(update={"version": (row[0] + 1) if row else 1})
        self._run("MERGE (e:OrgEvent {id: $id}) SET e = $props", id=ev.id, props=_event_props(ev))
        self._log_many(
            ctx, [("update" if before else "create", ev.ref, before.content() if before else None, ev.content())]
        )
        return ev

    def record_event(self, event: OrgEvent, ctx: WriteContext) -> OrgEvent:
        with self.transaction(ctx):
            return self._record_event(event, self._event_row(event.id), ctx)

    def list_events(self, org: str | None = None) -> list[OrgEvent]:
        if org:
            rows = self._run(
                "MATCH (e:OrgEvent) WHERE $org IN e.orgs RETURN e.data AS data ORDER BY e.date, e.id", org=org
            )
        else:
            rows = self._run("MATCH (e:OrgEvent) RETURN e.data AS data ORDER BY e.date, e.id")
        return [OrgEvent.model_validate_json(r["data"]) for r in rows]

    # --- records -----------------------------------------------------------------------------------------------------
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
        rid = f"{collection}/{key}"
        with self.transaction(ctx):
            rows = self._run("MATCH (r:Record {rid: $rid}) RETURN r.version AS version, r.data AS data", rid=rid)
            row = rows[0] if rows else None
            check_record_version(collection, key, expected_version, row["version"] if row else None)
            now = self._now(self._local.head[2])
            version = (row["version"] + 1) if row else 1
            self._run(
                "MERGE (r:Record {rid: $rid}) SET r.collection = $collection, r.key = $key, "
                "r.version = $version, r.updated_at = $now, r.data = $data",
                rid=rid,
                collection=collection,
                key=key,
                version=version,
                now=now,
                data=text,
            )
            if log:
                self._log_many(
                    ctx,
                    [("update" if row else "create", record_ref(collection, key), row["data"] if row else None, text)],
                    now,
                )
            return Record(collection, key, json.loads(text), version, now)

    def get_record(self, collection: str, key: str) -> Record | None:
        rows = self._run(f"MATCH (r:Record {{rid: $rid}}) RETURN {_REC}", rid=f"{collection}/{key}")
        return _record(rows[0]) if rows else None

    def list_records(
        self, collection: str, limit: int = 100, offset: int = 0, newest_first: bool = False
    ) -> list[Record]:
        order = "r.updated_at DESC, r.key" if newest_first else "r.key"
        rows = self._run(
            f"MATCH (r:Record {{collection: $collection}}) RETURN {_REC} ORDER BY {order} SKIP $offset LIMIT $limit",
            collection=collection,
            offset=int(offset),
            limit=int(limit),
        )
        return [_record(r) for r in rows]

    def count_records(self, collection: str | None = None) -> int:
        if collection is None:
            return self._run("MATCH (r:Record) RETURN count(r) AS n")[0]["n"]
        return self._run("MATCH (r:Record {collection: $c}) RETURN count(r) AS n", c=collection)[0]["n"]

    def delete_record(
        self, collection: str, key: str, ctx: WriteContext, expected_version: int | None = None, log: bool = True
    ) -> None:
        rid = f"{collection}/{key}"
        with self.transaction(ctx):
            rows = self._run("MATCH (r:Record {rid: $rid}) RETURN r.version AS version, r.data AS data", rid=rid)
            if not rows:
                raise NotFound(msg("record-not-found", record=rid))
            check_record_version(collection, key, expected_version, rows[0]["version"])
            self._run("MATCH (r:Record {rid: $rid}) DELETE r", rid=rid)
            if log:
                self._log_many(ctx, [("delete", record_ref(collection, key), rows[0]["data"], None)])

    # --- as-of -------------------------------------------------------------------------------------------------------
    def entity_as_of(self, ref: str, when: dt.datetime | dt.date | str) -> Entity | None:
        rows = self._run(
            f"{_HEAD}MATCH (c:ChangeEntry {{ref: $ref}}) WHERE c.time <= $t AND c.seq <= h "
            "RETURN c.seq AS seq, c.ref AS ref, c.op AS op, c.after AS after ORDER BY c.seq DESC LIMIT 1",
            ref=ref,
            h=self._bound(),
            t=as_instant(when),
        )
        rows = [dict(r) for r in rows]
        self._derive(rows)
        if not rows or rows[0]["after"] is None:
            return None
        return Entity.model_validate_json(rows[0]["after"])

    def graph_as_of(self, when: dt.datetime | dt.date | str) -> Subgraph:
        ents, rels = self.graph_json(when)  # in ref and id order
        entities = {e.ref: e for e in map(Entity.model_validate_json, ents)}
        return Subgraph(entities=entities, relationships=[Relationship.model_validate_json(r) for r in rels])

    def graph_json(self, when: dt.datetime | dt.date | str | None = None) -> tuple[list[str], list[str]]:
        ents: list[str] = []
        rels: list[str] = []
        if when is None:  # one query: one consistent read
            rows = self._stream(
                f"{_HEAD}CALL (h) {{ MATCH (n:Entity) WHERE {_VN} RETURN 0 AS k, n.data AS data "
                f"UNION ALL MATCH ()-[r]->() WHERE {_VR} RETURN 1 AS k, r.data AS data }} RETURN k, data",
                h=self._bound(),
            )
            for r in rows:
                (rels if r["k"] else ents).append(r["data"])
            return ents, rels
        # as of: the last change-log entry of each reference, in reference order
        h = self._seen()
        # the last entry of each reference up to ``when`` (m) and its next entry (n: times grow with seq), whose
        # before is m's after when m does not store it; without a next entry, the current fact holds it (read in
        # one scan after this query, :meth:`_current_all`, when many need it). One record: mostly refs, as most
        # afters are derived here
        last = [
            dict(zip(("seq", "ref", "op", "after", "last"), r, strict=True))
            for r in self._run(
                "MATCH (c:ChangeEntry) WHERE c.seq <= $h AND NOT c.ref STARTS WITH 'event:' "
                "AND NOT c.ref STARTS WITH $record WITH c.ref AS ref, "
                "max(CASE WHEN c.time <= $t THEN c.seq END) AS m, min(CASE WHEN c.time > $t THEN c.seq END) AS n "
                "WHERE m IS NOT NULL MATCH (x:ChangeEntry {seq: m}) WHERE x.op <> 'delete' "
                "OPTIONAL MATCH (y:ChangeEntry {seq: n}) WITH ref, x, y, n ORDER BY ref "
                "RETURN collect([x.seq, ref, x.op, coalesce(x.after, y.before), n IS NULL]) AS rows",
                t=as_instant(when),
                h=h,
                record=RECORD_PREFIX,
            )[0]["rows"]
        ]
        todo = [r for r in last if r["last"] and r["after"] is None and derives_after(r["ref"])]
        if len(todo) > _SCAN:
            current = self._current_all(h)
            for r in todo:
                r["after"] = current.get(r["ref"])
        else:
            self._derive(todo, last_upto=h)
        for r in last:
            ref, after = r["ref"], r["after"]
            if ref.startswith("rel:"):
                rels.append(after)
            elif not ref.startswith(("event:", RECORD_PREFIX)):
                ents.append(after)
        return ents, rels

    def part_json(
        self,
        refs: Sequence[str] = (),
        owners: Sequence[str] = (),
        relationships: bool = True,
    ) -> tuple[list[str], list[str]]:
        found: dict[str, str] = {}
        h = self._seen()
        for batch in _chunks(sorted(set(refs))):
            for r in self._run(
                f"{_HEAD}UNWIND $refs AS ref MATCH (n:Entity {{ref: ref}}) WHERE {_VN} "
                "RETURN n.ref AS ref, n.data AS data",
                refs=batch,
                h=h,
            ):
                found[r["ref"]] = r["data"]
        wanted = set(owners)
        if wanted:
            # the stored text names each owner as "org":"<ref>" (canonical JSON): a cheap filter, then the exact test
            probes = [f'"org":{json.dumps(o, ensure_ascii=False)}' for o in sorted(wanted)]
            for r in self._run(
                f"{_HEAD}MATCH (n:Entity) WHERE any(p IN $probes WHERE n.data CONTAINS p) AND {_VN} "
                "RETURN n.ref AS ref, n.data AS data",
                probes=probes,
                h=h,
            ):
                if any(p["org"] in wanted for p in json.loads(r["data"])["owner_history"]):
                    found[r["ref"]] = r["data"]
        rels: dict[str, str] = {}
        if relationships:
            for batch in _chunks(sorted(found)):
                for r in self._run(
                    f"{_HEAD}MATCH (n:Entity)-[r]-() WHERE n.ref IN $refs AND {_VR} "
                    "RETURN DISTINCT r.id AS id, r.data AS data",
                    refs=batch,
                    h=h,
                ):
                    rels[r["id"]] = r["data"]
        return list(found.values()), list(rels.values())

    # --- bulk --------------------------------------------------------------------------------------------------------
    def bulk_load(
        self, load: BulkLoad, ctx: WriteContext, progress: ProgressFn | None = None, dry_run: bool = False
    ) -> BulkResult:
        """All checks run before the first write (a refused load leaves nothing, even inside a caller's
        transaction); facts are then written in chunks, as the SQLite backend writes them. As the outermost
        transaction, a load of more than ``stage_above`` facts is staged (see the module docstring): its server memory
        is bounded by ``BATCH`` facts and by what it changes in existing facts, not by its size."""
        load = load.in_key_order()  # as the SQLite backend writes them (so the change logs are the same)
        for r in load.relationships:  # only types the graph can hold (Cypher needs a declared type)
            rel_type(self.metamodel, r.type)
        if dry_run:
            return self._bulk(load, ctx, progress, write=False)
        if self._tx() is not None:  # part of a larger transaction: it cannot be re-run alone nor staged
            with self.transaction(ctx):
                return self._bulk(load, ctx, progress, write=True)
        staged = len(load.entities) + len(load.relationships) > self.stage_above
        for attempt in range(RETRIES + 1):
            try:
                with self.transaction(ctx):
                    return self._bulk(load, ctx, progress, write=True, staged=staged)
            except TransientError as exc:
                if _too_big(exc):
                    raise StoreError(
                        f"the load of {load.source} ({len(load.entities):,} entities, "
                        f"{len(load.relationships):,} relationships) needs more transaction memory "
                        "than the Neo4j server allows (db.memory.transaction.max and "
                        "dbms.memory.transaction.total.max; about 10 KB per fact); raise those "
                        "limits and the heap, or split the import"
                    ) from exc
                if attempt == RETRIES:
                    raise StoreError(
                        f"bulk load of {load.source} failed {RETRIES + 1} times on transient errors: {exc}"
                    ) from exc
                _time.sleep(self.retry_pause * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _bulk(
        self, load: BulkLoad, ctx: WriteContext, progress: ProgressFn | None, write: bool, staged: bool = False
    ) -> BulkResult:
        """Writes go out without waiting (:meth:`_send`): the server stores one chunk while this process prepares
        the next. Into a store without entities (a first import, a benchmark) nothing can exist yet, so no chunk
        reads what is there. ``staged``: the chunk's new facts, with their change-log entries, are committed in a
        transaction of their own (:meth:`_stage`), marked ``pub`` and so unseen; its updates wait for the publishing
        transaction (this thread's, which holds the head). If anything fails, what was staged is swept at once
        (and otherwise by the next writer)."""
        if not staged:
            return self._bulk_chunks(load, ctx, progress, write, None)
        start = self._local.head[0]
        total = len(load.entities) + len(load.relationships) + len(load.events)  # as _bulk_chunks reports it
        stager = _Stager(self._stage, lambda done: progress(done, total) if progress else None)
        try:
            try:
                return self._bulk_chunks(load, ctx, progress, write, [], stager)
            finally:
                stager.close()
        except BaseException:
            with contextlib.suppress(Exception):
                self._sweep(start)
            raise

    def _stage(self, write: Any) -> None:
        """Run ``write`` (which sends with :meth:`_send`) in a transaction of its own and commit it; re-run on a
        transient error (up to ``RETRIES`` times). This thread's own transaction, if any, is set aside meanwhile (a
        load's chunks run on the :class:`_Stager`'s thread, which has none)."""
        outer, pending = getattr(self._local, "tx", None), getattr(self._local, "pending", [])
        try:
            for attempt in range(RETRIES + 1):
                with self._driver.session(database=self.database, bookmark_manager=self._bookmarks) as session:
                    tx = session.begin_transaction()
                    self._local.tx, self._local.pending = tx, []
                    try:
                        write()
                        self._drain()
                        tx.commit()
                        return
                    except TransientError:
                        with contextlib.suppress(Exception):
                            tx.rollback()
                        if attempt == RETRIES:
                            raise
                    except BaseException:
                        with contextlib.suppress(Exception):
                            tx.rollback()
                        raise
                _time.sleep(self.retry_pause * (attempt + 1))
        finally:
            self._local.tx, self._local.pending = outer, pending

    def _bulk_chunks(
        self,
        load: BulkLoad,
        ctx: WriteContext,
        progress: ProgressFn | None,
        write: bool,
        deferred: list[Any] | None,
        stager: _Stager | None = None,
    ) -> BulkResult:
        """The load itself; ``deferred`` (staged loads): where the updates wait for the publishing transaction;
        ``stager`` (staged loads): where the chunks' own transactions run."""
        result = BulkResult()
        prov = load.provenance.model_dump()
        total = len(load.entities) + len(load.relationships) + len(load.events)
        done = 0
        loaded_refs = {e.ref for e in load.entities}
        fresh = not self._run("MATCH (n:Entity) RETURN 1 AS x LIMIT 1")  # no entity, so no relationship either
        self._check_bulk_endpoints(load, loaded_refs, fresh)
        stale_r, stale_e = self._stale_for_cleanup(load, loaded_refs) if load.cleanup and not fresh else ([], [])
        now = self._now(self._head()[2])
        logged = False
        for chunk in _chunks(load.entities):
            existing = (
                {}
                if fresh
                else {
                    r["ref"]: (r["version"], r["created_at"], r["data"])
                    for r in self._run(
                        "UNWIND $refs AS ref MATCH (n:Entity {ref: ref}) "
                        "RETURN n.ref AS ref, n.version AS version, n.created_at AS created_at, n.data AS data",
                        refs=[e.ref for e in chunk],
                    )
                }
            )
            rows: list[tuple[bool, dict[str, Any]]] = []
            logs: list[LogItem] = []
            for e in chunk:
                c = e.content()
                c["provenance"] = c["provenance"] or prov
                old = existing.get(e.ref)
                if old is not None and _same(json.loads(old[2]), c):
                    result.add("unchanged", e.kind)
                    continue
                data = canonical_json(c)
                if old is not None:
                    rows.append((False, _entity_props(c, data, old[0] + 1, old[1], now)))
                    logs.append(("update", e.ref, old[2], data))
                    result.add("updated", e.kind, e.ref)
                else:
                    rows.append((True, _entity_props(c, data, 1, now, now)))
                    logs.append(("create", e.ref, None, data))
                    result.add("created", e.kind, e.ref)
            if write and rows:
                log_rows = self._log_rows(ctx, logs, now)
                created = [(p, lg) for (new, p), lg in zip(rows, log_rows, strict=False) if new]
                updated = [(p, lg) for (new, p), lg in zip(rows, log_rows, strict=False) if not new]
                if deferred is None:
                    self._create_entities([p for p, _ in created], [lg for _, lg in created])
                    self._update_entities([p for p, _ in updated], [lg for _, lg in updated])
                else:
                    for p, lg in created:
                        p["pub"] = lg["seq"]
                    assert stager is not None
                    stager.submit(lambda c=created: self._create_entities([p for p, _ in c], [lg for _, lg in c]))
                    deferred.append(lambda u=updated: self._update_entities([p for p, _ in u], [lg for _, lg in u]))
                logged = True
            done += len(chunk)
            if stager is not None:
                stager.progress(done)
            elif progress:
                progress(done, total)
        for chunk in _chunks(load.relationships):
            existing = (
                {}
                if fresh
                else {
                    r["id"]: (r["version"], r["created_at"], r["data"])
                    for r in self._rels_by_id(
                        [r.id for r in chunk],
                        "r.id AS id, r.version AS version, r.created_at AS created_at, r.data AS data",
                    )
                }
            )
            rows = []
            logs = []
            for r in chunk:
                c = r.content()
                c["provenance"] = c["provenance"] or prov
                old = existing.get(r.id)
                if old is not None and _same(json.loads(old[2]), c):
                    result.add("unchanged", "relationship")
                    continue
                data = canonical_json(c)
                if old is not None:
                    rows.append((False, _rel_row(c, _rel_props(c, data, old[0] + 1, old[1], now))))
                    logs.append(("update", _rel_ref(r.id), old[2], data))
                    result.add("updated", "relationship", _rel_ref(r.id))
                else:
                    rows.append((True, _rel_row(c, _rel_props(c, data, 1, now, now))))
                    logs.append(("create", _rel_ref(r.id), None, data))
                    result.add("created", "relationship", _rel_ref(r.id))
            if write and rows:
                log_rows = self._log_rows(ctx, logs, now)
                created = [(p, lg) for (new, p), lg in zip(rows, log_rows, strict=False) if new]
                updated = [(p, lg) for (new, p), lg in zip(rows, log_rows, strict=False) if not new]
                if deferred is None:
                    self._write_relationships([p for p, _ in created], True, [lg for _, lg in created])
                    self._write_relationships([p for p, _ in updated], False, [lg for _, lg in updated])
                else:
                    for p, lg in created:
                        p["props"]["pub"] = lg["seq"]
                    assert stager is not None
                    stager.submit(
                        lambda c=created: self._write_relationships([p for p, _ in c], True, [lg for _, lg in c])
                    )
                    deferred.append(
                        lambda u=updated: self._write_relationships([p for p, _ in u], False, [lg for _, lg in u])
                    )
                logged = True
            done += len(chunk)
            if stager is not None:
                stager.progress(done)
            elif progress:
                progress(done, total)
        if stager is not None:
            stager.wait()  # every chunk committed (or its error raised) before the publishing transaction writes
        for write_later in deferred or ():
            write_later()
        if logged:
            self._write_head()
        for ev in load.events:
            row = self._event_row(ev.id)
            if row and _same(OrgEvent.model_validate_json(row[1]).content(), ev.content()):
                result.add("unchanged", "event")
            else:
                result.add("updated" if row else "created", "event", ev.ref)
                if write:
                    self._record_event(ev.model_copy(update={"provenance": ev.provenance or load.provenance}), row, ctx)
            done += 1
        logs = []
        for rid, data in stale_r:
            result.add("removed", "relationship", _rel_ref(rid))
            logs.append(("delete", _rel_ref(rid), data, None))
        for ref, kind, data in stale_e:
            result.add("removed", kind, ref)
            logs.append(("delete", ref, data, None))
        if write and logs:
            self._delete_relationships([rid for rid, _ in stale_r])
            for batch in _chunks([ref for ref, _, _ in stale_e]):  # DELETE, not DETACH: nothing may still use them
                self._run("UNWIND $refs AS ref MATCH (n:Entity {ref: ref}) DELETE n", refs=batch)
            self._log_many(ctx, logs)
        if write:
            self._drain()  # the writes are done: what remains is the commit
        if progress:
            progress(total, total)
        return result

    # --- whole-catalog copy -------------------------------------------------------------------------------------
    def dump(self, batch: int = 5000) -> Iterator[tuple[str, list]]:
        """Keyset pages along the unique indexes: entities by ref, relationships by type then id, events by id, the
        change log by seq.

        Consistent while others write, at a change-log head: the head is noted before the pages are read; after
        them, :meth:`_settle` takes the ``LogHead`` write lock (every writer takes it first, so nothing commits while
        it is held), reads the head again, and re-reads every fact and record that the entries in between name. Those
        go out as "corrections" (the page a fact came in may have caught it before or after such a write), then the
        change log up to that head. The lock is held for a few reads, however large the catalog."""
        start = self.revision()[0]
        pages: list[tuple[str, str, Any]] = [
            (
                "entities",
                f"{_HEAD}MATCH (n:Entity) WHERE n.ref > $key AND {_VN} RETURN n.ref AS key, {_E} "
                "ORDER BY n.ref LIMIT $batch",
                _entity,
            )
        ]
        pages += [
            (
                "relationships",
                f"{_HEAD}MATCH ()-[r:{t}]->() WHERE r.id > $key AND {_VR} RETURN r.id AS key, {_R} "
                "ORDER BY r.id LIMIT $batch",
                _relationship,
            )
            for t in stored_types(self.metamodel)
        ]
        pages.append(
            (
                "events",
                "MATCH (e:OrgEvent) WHERE e.id > $key RETURN e.id AS key, e.data AS data ORDER BY e.id LIMIT $batch",
                lambda r: OrgEvent.model_validate_json(r["data"]),
            )
        )
        pages.append(
            (
                "records",
                f"MATCH (r:Record) WHERE r.rid > $key RETURN r.rid AS next, {_REC} ORDER BY r.rid LIMIT $batch",
                _record,
            )
        )
        for section, query, make in pages:
            key = ""
            while True:
                rows = self._run(query, key=key, batch=int(batch), h=start)
                if rows:
                    yield section, [make(r) for r in rows]
                    key = rows[-1]["next" if section == "records" else "key"]
                if len(rows) < batch:
                    break
        head, corrections = self._settle(start)
        for part in _chunks(corrections, int(batch)):
            yield "corrections", part
        yield from self._dump_changelog(batch, upto=head)

    def _dump_changelog(self, batch: int, upto: int | None = None) -> Iterator[tuple[str, list]]:
        """The change log up to ``upto`` (the head now when None) in pages of ``batch`` entries, read as a whole
        (:meth:`_log_pages`) rather than page by page through :meth:`changelog`."""
        for page in self._log_pages(self._seen() if upto is None else upto, int(batch)):
            yield "changelog", [_change(r) for r in page]

    def _settle(self, start: int) -> tuple[int, list[Correction]]:
        """The head seq now and the current state of everything the change log names after entry ``start``, read
        under the ``LogHead`` write lock (a transaction that writes nothing else and logs nothing)."""
        with self.transaction(WriteContext(actor="dump")):
            seq = self._local.head[0]
            refs = [
                r["ref"]
                for r in self._run(
                    "MATCH (c:ChangeEntry) WHERE c.seq > $start AND c.seq <= $seq RETURN DISTINCT c.ref AS ref",
                    start=start,
                    seq=seq,
                )
            ]
            rel_ids = sorted(r[4:] for r in refs if r.startswith("rel:"))
            event_ids = sorted(r[6:] for r in refs if r.startswith("event:"))
            rids = sorted(r[len(RECORD_PREFIX) :] for r in refs if r.startswith(RECORD_PREFIX))
            refs = sorted(r for r in refs if not r.startswith(("rel:", "event:", RECORD_PREFIX)))
            entities = self.get_entities(refs)
            rels = {r["key"]: _relationship(r) for r in self._rels_by_id(rel_ids, f"r.id AS key, {_R}")}
            events = {
                r["id"]: OrgEvent.model_validate_json(r["data"])
                for r in self._run(
                    "UNWIND $ids AS id MATCH (e:OrgEvent {id: id}) RETURN e.id AS id, e.data AS data", ids=event_ids
                )
            }
            records = {
                r["rid"]: _record(r)
                for r in self._run(
                    f"UNWIND $rids AS rid MATCH (r:Record {{rid: rid}}) RETURN r.rid AS rid, {_REC}", rids=rids
                )
            }
        return seq, (
            [Correction("entities", k, entities.get(k)) for k in refs]
            + [Correction("relationships", k, rels.get(k)) for k in rel_ids]
            + [Correction("events", k, events.get(k)) for k in event_ids]
            + [Correction("records", k, records.get(k)) for k in rids]
        )

    def restore(self, section: str, items: list) -> None:
        if not items:
            return
        with self.transaction(WriteContext(actor="migrate")):
            if section == "entities":
                self._create_entities(
                    [
                        _entity_props(c, canonical_json(c), e.version, e.created_at, e.updated_at)
                        for e in items
                        for c in [e.content()]
                    ]
                )
            elif section == "relationships":
                self._write_relationships(
                    [
                        _rel_row(c, _rel_props(c, canonical_json(c), r.version, r.created_at, r.updated_at))
                        for r in items
                        for c in [r.content()]
                    ],
                    create=True,
                )
            elif section == "events":
                self._run(
                    "UNWIND $rows AS props CREATE (e:OrgEvent) SET e = props", rows=[_event_props(ev) for ev in items]
                )
            elif section == "records":
                self._run(
                    "UNWIND $rows AS props CREATE (r:Record) SET r = props",
                    rows=[
                        {
                            "rid": f"{r.collection}/{r.key}",
                            "collection": r.collection,
                            "key": r.key,
                            "version": r.version,
                            "updated_at": r.updated_at,
                            "data": canonical_json(r.data),
                        }
                        for r in items
                    ],
                )
            elif section == "corrections":
                for c in items:
                    self._correct(c)
            elif section == "changelog":
                seq, prev, _ = self._local.head
                keys = ("seq", "time", "actor", "request_id", "op", "ref", "before", "after", "prev_hash", "hash")
                rows = [
                    {**dict(zip(keys, row, strict=False)), **({"proposer": row[10]} if row[10] else {})}
                    for row in restored_log_rows(items, (seq, prev))
                ]
                self._run(
                    "UNWIND $rows AS row CREATE (c:ChangeEntry) SET c = row WITH count(*) AS n "
                    "MATCH (h:LogHead {id: 'head'}) SET h.seq = $seq, h.hash = $hash, h.time = $time",
                    rows=rows,
                    seq=rows[-1]["seq"],
                    hash=rows[-1]["hash"],
                    time=rows[-1]["time"],
                )
                self._local.head = (rows[-1]["seq"], rows[-1]["hash"], rows[-1]["time"])
                # the facts came first (a dump's order), so each entry's after can be checked against them now, and
                # the after of an earlier page's entry against the before of its next entry, in this page
                refs = [r["ref"] for r in rows if derives_after(r["ref"])]
                self._uncompact(refs, rows[0]["seq"] - 1)
                self._compact(rows[0]["seq"] - 1, rows[-1]["seq"], refs)
            else:
                raise StoreError(f"unknown dump section '{section}'")

    def _correct(self, c: Correction) -> None:
        """Replace (or delete) what earlier restore batches wrote under one key: a dump's correction."""
        if c.section == "entities":
            if c.item is None:
                self._run("MATCH (n:Entity {ref: $ref}) DETACH DELETE n", ref=c.key)
                return
            content = c.item.content()
            props = _entity_props(
                content, canonical_json(content), c.item.version, c.item.created_at, c.item.updated_at
            )
            if self._run("MATCH (n:Entity {ref: $ref}) RETURN 1 AS x", ref=c.key):
                self._update_entities([props])  # in place: its relationships stay
            else:
                self._create_entities([props])
        elif c.section == "relationships":
            self._delete_relationships([c.key])
            if c.item is not None:
                content = c.item.content()
                self._write_relationships(
                    [
                        _rel_row(
                            content,
                            _rel_props(
                                content, canonical_json(content), c.item.version, c.item.created_at, c.item.updated_at
                            ),
                        )
                    ],
                    create=True,
                )
        elif c.section == "events":
            self._run("MATCH (e:OrgEvent {id: $id}) DELETE e", id=c.key)
            if c.item is not None:
                self._run("CREATE (e:OrgEvent) SET e = $props", props=_event_props(c.item))
        elif c.section == "records":
            self._run("MATCH (r:Record {rid: $rid}) DELETE r", rid=c.key)
            if c.item is not None:
                r = c.item
                self._run(
                    "CREATE (r:Record) SET r = $props",
                    props={
                        "rid": c.key,
                        "collection": r.collection,
                        "key": r.key,
                        "version": r.version,
                        "updated_at": r.updated_at,
                        "data": canonical_json(r.data),
                    },
                )
        else:
            raise StoreError(f"unknown correction section '{c.section}'")

    def is_empty(self) -> bool:
        h = self._seen()
        for query in (
            f"{_HEAD}MATCH (n:Entity) WHERE {_VN} RETURN 1 AS x LIMIT 1",
            f"{_HEAD}MATCH ()-[r]->() WHERE {_VR} RETURN 1 AS x LIMIT 1",
            "MATCH (n:OrgEvent) RETURN 1 AS x LIMIT 1",
            "MATCH (c:ChangeEntry) WHERE c.seq <= $h RETURN 1 AS x LIMIT 1",
            "MATCH (n:Record) RETURN 1 AS x LIMIT 1",
            "MATCH (h:LogHead) WHERE h.seq > 0 RETURN 1 AS x LIMIT 1",
        ):
            if self._run(query, h=h):
                return False
        return True

    def erase(self) -> None:
        """In batches of their own (a large catalog does not fit one transaction), then the head back to genesis."""
        with self._driver.session(database=self.database, bookmark_manager=self._bookmarks) as session:
            session.run(
                "MATCH (n) WHERE n:Entity OR n:OrgEvent OR n:ChangeEntry OR n:Record "
                "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            ).consume()
        with self.transaction(WriteContext(actor="migrate")):
            self._run("MATCH (h:LogHead {id: 'head'}) SET h.seq = 0, h.hash = $genesis, h.time = ''", genesis=GENESIS)
            self._local.head = (0, GENESIS, "")

    def _check_bulk_endpoints(self, load: BulkLoad, loaded_refs: set[str], fresh: bool) -> None:
        missing = ({r.source for r in load.relationships} | {r.target for r in load.relationships}) - loaded_refs
        if missing and not fresh:
            missing = self._missing_refs(missing)
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
        self, load: BulkLoad, loaded_refs: set[str]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
        """What this source wrote earlier and the load no longer contains; refuses when a relationship that stays
        (entered by another source or a person, or one this load writes) would still use an entity that goes."""
        rel_ids = {r.id for r in load.relationships}
        union = " UNION ALL ".join(
            f"MATCH ()-[r:{t}]->() WHERE r.prov_source = $source RETURN r.id AS id, r.data AS data"
            for t in stored_types(self.metamodel)
        )
        stale_r = [
            (r["id"], r["data"])
            for r in self._run(f"CALL () {{ {union} }} RETURN id, data ORDER BY id", source=load.source)
            if r["id"] not in rel_ids
        ]
        stale_e = [
            (r["ref"], r["kind"], r["data"])
            for r in self._run(
                "MATCH (n:Entity) WHERE n.prov_source = $source RETURN n.ref AS ref, n.kind AS kind, n.data AS data "
                "ORDER BY ref",
                source=load.source,
            )
            if r["ref"] not in loaded_refs
        ]
        going = {rid for rid, _ in stale_r}
        if stale_e:
            used: dict[str, set[str]] = {}
            for batch in _chunks([ref for ref, _, _ in stale_e]):
                for r in self._run(
                    "UNWIND $refs AS ref MATCH (:Entity {ref: ref})-[r]-() RETURN ref, r.id AS id", refs=batch
                ):
                    used.setdefault(r["ref"], set()).add(r["id"])
            for r in load.relationships:
                for end in (r.source, r.target):
                    used.setdefault(end, set()).add(r.id)
            for ref, _, _ in stale_e:
                kept = sorted(used.get(ref, set()) - going)
                if kept:
                    raise IntegrityError(msg("cleanup-used-by-other", ref=ref, id=kept[0]))
        return stale_r, stale_e


__all__ = ["Neo4jStore"]
