"""The CatalogStore contract: the only way the catalog persists anything.

Every backend (sqlite = embedded default, neo4j = server) implements this class and passes the same contract suite
(tests/store/test_contract.py). Rules every backend keeps:

- Every write runs in one transaction that also appends to the hash-chained change log (actor, request id, time,
  operation, reference, before, after). ``with store.transaction(ctx):`` groups several writes into one.
- Entities and relationships carry a version; a write that names a stale version raises :class:`Conflict`.
- A relationship needs both endpoints to exist; deleting an entity that relationships still use raises
  :class:`IntegrityError` unless ``cascade=True``.
- As-of reads rebuild any entity or the whole graph at a past instant from the change log.
- ``bulk_load`` writes a whole import run in one transaction (all or nothing) and stamps provenance (source, run)
  on every fact that does not already carry its own (a lossless native re-import keeps the original).
- With a head witness (``head_witness``, the ``IOC_CATALOG_HEAD_WITNESS`` setting), every committed transaction
  that moved the change-log head appends the new head to it, and ``verify_log`` checks the log against it.
- A write that fails because the disk is full raises :class:`~catalog.errors.StoreFull` and leaves nothing behind.

Change-log references: entities use their ``kind:code``, relationships ``rel:<source>><type>><target>``, organisation
events ``event:<id>``.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.changelog import GENESIS, Head, HeadWitness, VerifyResult, read_heads, verify_chain
from catalog.i18n import msg
from catalog.metamodel import DEFAULT, Metamodel
from catalog.model import ChangeEntry, Entity, OrgEvent, Provenance, Relationship

Direction = Literal["out", "in", "both"]


# The request being served (set by the HTTP server for each request, api.observability): a WriteContext made without
# a request id takes it, so the request's log line, its problem+json and its change-log entries carry the same id.
CURRENT_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("ioc_request_id", default=None)


@dataclass(frozen=True)
class WriteContext:
    """Who is writing and under which request: recorded on every change-log entry. ``proposer``: who proposed the
    change the actor applies (an approved draft's submitter), recorded (and hashed) on the entries when set."""

    actor: str = "system"
    request_id: str = field(default_factory=lambda: CURRENT_REQUEST_ID.get() or uuid.uuid4().hex)
    proposer: str | None = None


@dataclass(frozen=True)
class EntityFilter:
    kind: str | None = None
    owner: str | None = None
    lifecycle: str | None = None
    tag: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # provenance source
    limit: int = 100
    offset: int = 0


@dataclass
class Subgraph:
    """A part of the graph. ``entities`` maps ref -> Entity and ``relationships`` lists Relationships; a backend may
    give them as :class:`StoredEntities` / :class:`StoredRelationships`, which build each model from its stored row
    on first access (and can hand out the stored JSON without building it)."""

    entities: Mapping[str, Entity] = field(default_factory=dict)
    relationships: Sequence[Relationship] = field(default_factory=list)
    depth: dict[str, int] = field(default_factory=dict)
    truncated: bool = False  # the walk stopped at its limit: there is more beyond


class StoredEntities(Mapping[str, Entity]):
    """ref -> Entity, each built from its stored row (canonical content JSON, version, created_at, updated_at) the
    first time it is read, then kept.

    A traversal returns hundreds of entities and building a pydantic model costs about 10 us each (measured:
    three quarters of a depth-2 neighbourhood at 100,000 entities). A caller that reads them all pays the same
    as before; a caller that needs a few, or only the JSON (``json``: the REST API), does not. Equality is a
    mapping's: the same refs with equal models."""

    __slots__ = ("_rows", "_models")

    def __init__(self, rows: dict[str, tuple[str, int, str, str]]):
        self._rows = rows
        self._models: dict[str, Entity] = {}

    def __getitem__(self, ref: str) -> Entity:
        model = self._models.get(ref)
        if model is None:
            model = self._models[ref] = entity_from_row(*self._rows[ref])
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, ref: object) -> bool:
        return ref in self._rows

    def json(self, ref: str) -> str:
        """The entity as JSON (the same fields and values as ``model_dump(mode="json")``) without building it."""
        return _with_bookkeeping(*self._rows[ref])

    def __repr__(self) -> str:
        return f"StoredEntities({len(self)} entities)"


class StoredRelationships(Sequence[Relationship]):
    """Relationships built from their stored rows on first access (see :class:`StoredEntities`); compares equal to
    any sequence of the same relationships in the same order."""

    __slots__ = ("_rows", "_models")

    def __init__(self, rows: list[tuple[str, int, str, str]]):
        self._rows = rows
        self._models: list[Relationship | None] = [None] * len(rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._rows)))]
        model = self._models[i]
        if model is None:
            model = self._models[i] = relationship_from_row(*self._rows[i])
        return model

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))

    __hash__ = None  # type: ignore[assignment]

    def json(self, i: int) -> str:
        return _with_bookkeeping(*self._rows[i])

    def __repr__(self) -> str:
        return f"StoredRelationships({len(self)} relationships)"


def _with_bookkeeping(data: str, version: int, created_at: str, updated_at: str) -> str:
    """Stored content JSON plus the bookkeeping, as one JSON object for model_validate_json."""
    return f'{data[:-1]},"version":{version},"created_at":"{created_at}","updated_at":"{updated_at}"}}'


def entity_from_row(data: str, version: int, created_at: str, updated_at: str) -> Entity:
    """An Entity from its stored row (canonical content JSON and bookkeeping), shared by every backend.

    Not cached, on measurement: an LRU of parsed models halved a hot-set neighbourhood at 20,000 entities but, at
    100,000 with uniform access, raised the depth-2 p99 from 42 to 125 ms (cached models live long, so the garbage
    collector's full passes grow) and barely moved the median."""
    return Entity.model_validate_json(_with_bookkeeping(data, version, created_at, updated_at))


def relationship_from_row(data: str, version: int, created_at: str, updated_at: str) -> Relationship:
    """A Relationship from its stored row (see :func:`entity_from_row`)."""
    return Relationship.model_validate_json(_with_bookkeeping(data, version, created_at, updated_at))


RECORD_PREFIX = "record:"
_COLLECTION = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Record:
    """A document kept beside the graph (users, API tokens, drafts, import runs), by collection and key.

    Records are not catalog facts: they never appear in the graph, as-of views or content hashes. When written with
    ``log=True`` the change log records them under the reference ``record:<collection>/<key>`` (see
    :func:`record_ref`), in the same chain and transaction as everything else."""

    collection: str
    key: str
    data: dict[str, Any]
    version: int
    updated_at: str


def derives_after(ref: str) -> bool:
    """Whether change-log entries about ``ref`` are written without their ``after`` (docs/architecture.md "Each fact
    written once"): an entity's or a relationship's after is derived when read (the next entry's ``before`` of the
    same reference, or the current fact); a record's or an organisation event's is stored. A delete has none."""
    return not ref.startswith(("event:", RECORD_PREFIX))


def record_ref(collection: str, key: str) -> str:
    return f"{RECORD_PREFIX}{collection}/{key}"


def check_record_key(collection: str, key: str) -> None:
    from catalog.errors import FieldError, ValidationFailed

    errors = []
    if not isinstance(collection, str) or not _COLLECTION.match(collection):
        errors.append(FieldError("collection", msg("record-collection-malformed")))
    if not isinstance(key, str) or not key or len(key) > 200 or any(ord(ch) < 32 or ch == "\x7f" for ch in key):
        errors.append(FieldError("key", msg("record-key-malformed")))
    if errors:
        raise ValidationFailed(errors)


def check_record_version(collection: str, key: str, expected: int | None, actual: int | None) -> None:
    """``expected``: None = any; 0 = must not exist; n = must be at version n."""
    from catalog.errors import AlreadyExists, Conflict

    if expected is None:
        return
    if expected == 0 and actual is not None:
        raise AlreadyExists(msg("record-exists", record=f"{collection}/{key}"))
    if expected != 0 and expected != actual:
        raise Conflict(record_ref(collection, key), expected, actual)


@dataclass(frozen=True)
class Correction:
    """One item of a dump's "corrections" section: the fact or record of ``section`` ("entities", "relationships",
    "events" or "records") under ``key`` (ref, relationship id, event id, ``collection/key``) as it stands at the
    dump's change-log head, or None when it no longer exists there. A backend that cannot read its pages as one
    snapshot while others write sends these after the pages (see :meth:`CatalogStore.dump`)."""

    section: str
    key: str
    item: Any | None


@dataclass
class BulkLoad:
    """One import run: what a source says, to be written all at once."""

    source: str
    run: str
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    events: list[OrgEvent] = field(default_factory=list)
    cleanup: bool = False  # delete facts from this source that the load no longer contains

    @property
    def provenance(self) -> Provenance:
        return Provenance(source=self.source, run=self.run)

    def in_key_order(self) -> BulkLoad:
        """The same load with entities by ref and relationships by id, the order every backend writes them in
        (appending to the B-trees rather than inserting all over them; and the same change log on every backend).
        Refuses a fact that appears more than once, naming each, rather than failing on a unique constraint half-way
        through."""
        from catalog.errors import FieldError, ValidationFailed
        from catalog.model import rel_id

        keyed_e = sorted(((e.ref, e) for e in self.entities), key=_first)
        keyed_r = sorted(((rel_id(r.source, r.type, r.target), r) for r in self.relationships), key=_first)
        for where, keyed in (("entities", keyed_e), ("relationships", keyed_r)):
            dupes = sorted({a[0] for a, b in zip(keyed, keyed[1:], strict=False) if a[0] == b[0]})
            if dupes:
                raise ValidationFailed([FieldError(where, msg("appears-twice-in-load", item=k)) for k in dupes])
        return dataclasses.replace(self, entities=[e for _, e in keyed_e], relationships=[r for _, r in keyed_r])


def _first(pair: tuple) -> Any:
    return pair[0]


@dataclass
class BulkResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    changed_refs: list[str] = field(default_factory=list)

    def add(self, bucket: str, kind: str, ref: str | None = None) -> None:
        counts = getattr(self, bucket)
        counts[kind] = counts.get(kind, 0) + 1
        if ref is not None and bucket != "unchanged":
            self.changed_refs.append(ref)

    @property
    def total_changes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.removed.values())


ProgressFn = Callable[[int, int], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(t: dt.datetime) -> str:
    """Change-log times: UTC, microseconds, fixed width, so that text order is time order."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_log_time(t: str) -> dt.datetime:
    """A change-log time as a naive UTC datetime."""
    return dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")


def format_log_time(t: dt.datetime) -> str:
    """A naive UTC datetime as a change-log time (the same text format_time writes, faster)."""
    return t.isoformat(timespec="microseconds") + "Z"


def consecutive_times(base: dt.datetime, n: int) -> Iterator[str]:
    """``format_log_time(base + i microseconds)`` for i in range(n), without datetime arithmetic per entry (a bulk
    load writes hundreds of thousands of entries, one microsecond apart)."""
    micro, i = base.microsecond, 0
    second = base.replace(microsecond=0)
    while i < n:
        prefix = format_log_time(second)[:-8]  # up to the seconds: "2025-06-30T12:00:00"
        for m in range(micro, min(1_000_000, micro + n - i)):
            yield f"{prefix}.{m:06d}Z"
            i += 1
        second += dt.timedelta(seconds=1)
        micro = 0


def as_instant(value: dt.datetime | dt.date | str) -> str:
    """An as-of argument as a change-log time: a date means the end of that day (UTC)."""
    if isinstance(value, str):
        value = value.strip()
        try:
            value = (
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                if "T" in value
                else dt.date.fromisoformat(value)
            )
        except ValueError:
            from catalog.errors import FieldError, ValidationFailed

            raise ValidationFailed([FieldError("as_of", msg("not-a-date-time", value=value))]) from None
    if isinstance(value, dt.datetime):
        return format_time(value)
    return format_time(dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC))


class CatalogStore(abc.ABC):
    """Abstract store. See the module docstring for the rules every backend keeps."""

    metamodel: Metamodel = DEFAULT
    clock: Callable[[], dt.datetime] = staticmethod(utc_now)
    head_witness: HeadWitness | None = None  # receives every committed head (IOC_CATALOG_HEAD_WITNESS)
    # whether restore() batches may all run inside one outer transaction(), so a whole restore commits or not at all
    # (SQLite); a server with bounded transaction memory (Neo4j) restores batch by batch
    restores_in_one_transaction: bool = False

    def _now(self, last: str = "") -> str:
        """The clock as a change-log time, strictly after ``last`` even if the clock stalls or steps back."""
        now = format_time(self.clock())
        if now <= last:
            now = format_log_time(parse_log_time(last) + dt.timedelta(microseconds=1))
        return now

    # --- lifecycle ---------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def transaction(self, ctx: WriteContext) -> contextlib.AbstractContextManager[None]:
        """Group writes: everything inside commits together or not at all."""

    # --- entities ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_entity(self, entity: Entity, ctx: WriteContext) -> Entity: ...

    @abc.abstractmethod
    def find_entity(self, ref: str) -> Entity | None: ...

    def get_entity(self, ref: str) -> Entity:
        from catalog.errors import NotFound

        e = self.find_entity(ref)
        if e is None:
            raise NotFound(msg("entity-not-found", ref=ref))
        return e

    @abc.abstractmethod
    def get_entities(self, refs: list[str]) -> dict[str, Entity]: ...

    @abc.abstractmethod
    def update_entity(self, entity: Entity, expected_version: int, ctx: WriteContext) -> Entity: ...

    @abc.abstractmethod
    def delete_entity(self, ref: str, expected_version: int, ctx: WriteContext, cascade: bool = False) -> None: ...

    @abc.abstractmethod
    def list_entities(self, flt: EntityFilter = EntityFilter()) -> list[Entity]: ...

    @abc.abstractmethod
    def count_entities(self, flt: EntityFilter = EntityFilter()) -> int: ...

    @abc.abstractmethod
    def search(self, text: str, kind: str | None = None, limit: int = 20, *, phrase: bool = False) -> list[Entity]:
        """Diacritics- and case-insensitive search of names, descriptions, codes and tags; every word must match
        (as a prefix); best matches first. ``phrase``: only the first tier, the words side by side as typed in a
        name or the code (the last one a prefix): every entity whose name folds to ``text`` is among them, which is
        how the duplicate-name check finds an entity's namesakes without the wider tiers' cost."""

    # --- relationships -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_relationship(self, rel: Relationship, ctx: WriteContext) -> Relationship: ...

    @abc.abstractmethod
    def find_relationship(self, rel_id: str) -> Relationship | None: ...

    @abc.abstractmethod
    def update_relationship(self, rel: Relationship, expected_version: int, ctx: WriteContext) -> Relationship: ...

    @abc.abstractmethod
    def delete_relationship(self, rel_id: str, expected_version: int, ctx: WriteContext) -> None: ...

    @abc.abstractmethod
    def list_relationships(
        self, ref: str | None = None, type: str | None = None, direction: Direction = "both", limit: int | None = None
    ) -> list[Relationship]:
        """Relationships touching ``ref`` (in ``direction``), of ``type``; ordered by id."""

    @abc.abstractmethod
    def count_relationships(self) -> int: ...

    # --- traversal ---------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def neighbourhood(
        self,
        ref: str,
        depth: int = 1,
        direction: Direction = "both",
        types: tuple[str, ...] | None = None,
        limit: int = 500,
    ) -> Subgraph:
        """Entities reachable from ``ref`` in at most ``depth`` hops along relationships of ``types`` in
        ``direction``, each with its hop distance, and the relationships the walk followed (ordered by id). At most
        ``limit`` entities: the walk stops there and sets ``truncated`` (neighbours of hubs such as a data centre
        hosting thousands of systems would otherwise make an unreadable and slow answer)."""

    # --- organisation events -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def record_event(self, event: OrgEvent, ctx: WriteContext) -> OrgEvent: ...

    @abc.abstractmethod
    def list_events(self, org: str | None = None) -> list[OrgEvent]:
        """Organisation events (naming ``org`` in from, to or transfers), ordered by date then id."""

    # --- change log and history --------------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Entries by seq, oldest first: those after ``after_seq`` (and before ``before_seq``), of ``ref``, by
        ``actor``, in the time range, of operation ``op``, about references of ``kind`` (``system`` for
        ``system:...``, ``rel``, ``event``, ``record``), written under ``request_id`` (an import run, an approved
        draft, a revert: indexed); at most ``limit``. ``bodies`` False leaves ``before`` and ``after`` out (None):
        who, when, what and the hashes only, for a caller that follows the log without reading the facts (an
        ``after`` is derived when read, docs/architecture.md "Each fact written once")."""

    @abc.abstractmethod
    def verify_log(self, witness: Iterable[Head] = (), configured_witness: bool = True) -> VerifyResult:
        """Check the hash chain (:func:`catalog.changelog.verify_chain`), and that the log still holds every head in
        ``witness`` and (unless ``configured_witness`` is False) in the configured head witness file."""

    @abc.abstractmethod
    def revision(self) -> tuple[int, str]:
        """(sequence number, hash) of the change-log head: changes whenever anything is written."""

    def schema_versions(self) -> tuple[str | None, str | None]:
        """(the catalog schema version the store holds now, the one this program reads), read afresh each call:
        a server's readiness check (another process may have upgraded or replaced the store). (None, None): this
        store keeps no schema version."""
        return None, None

    def log_head(self) -> Head:
        """The change-log head with its time (seq 0 and the genesis hash for an empty log)."""
        seq, h = self.revision()
        entries = self.changelog(after_seq=seq - 1, limit=1) if seq else []
        return Head(seq, h, entries[0].time if entries and entries[0].hash == h else "")

    def _witness(self, head: tuple[int, str, str]) -> None:
        """After a commit that moved the head to ``head`` (seq, hash, time): tell the head witness, if any."""
        if self.head_witness is not None and head[0] > 0:
            self.head_witness.append(Head(head[0], head[1], head[2]))

    def _verify_rows(
        self,
        rows: Iterable[tuple] | Callable[[], Iterable[tuple]],
        witness: Iterable[Head],
        configured: bool = True,
    ) -> VerifyResult:
        """verify_chain over stored rows, with ``witness`` and (``configured``) the heads of the configured witness
        file. ``rows`` may be a function returning them (each call reads them again): then a row may carry a 12th
        value, true when its ``after`` was derived rather than stored (each fact written once), and a derived after
        that does not match is reported as :func:`verify_derived` says."""
        heads = list(witness)
        if configured and self.head_witness is not None:
            path = self.head_witness.path
            try:
                heads += read_heads(path, f"the head witness {path}")
            except FileNotFoundError:
                seq = self.revision()[0]
                if seq:
                    return VerifyResult(
                        False,
                        0,
                        GENESIS,
                        None,
                        msg("log-witness-missing", path=str(path), n=seq),
                    )
            except (OSError, ValueError) as exc:
                return VerifyResult(False, 0, GENESIS, None, msg("log-witness-unreadable", reason=str(exc)))
        if not callable(rows):
            return verify_chain(rows, heads)
        derived: list[bool] = []

        def flagged() -> Iterator[tuple]:
            for row in rows():
                derived[:] = [len(row) > 11 and bool(row[11])]
                yield row

        result = verify_chain(flagged(), heads)  # the usual case in one pass, each entry hashed once
        if result.ok or not derived[0] or getattr(result.reason, "code", "") != "log-content-mismatch":
            return result
        return verify_derived(rows(), heads)  # a derived after does not match: is the chain broken later?

    @abc.abstractmethod
    def entity_as_of(self, ref: str, when: dt.datetime | dt.date | str) -> Entity | None: ...

    @abc.abstractmethod
    def graph_as_of(self, when: dt.datetime | dt.date | str) -> Subgraph:
        """The whole graph (entities and relationships) as it stood at ``when``."""

    def graph_json(self, when: dt.datetime | dt.date | str | None = None) -> tuple[list[str], list[str]]:
        """The whole graph at ``when`` (None: the current record) as it is stored, unparsed: the canonical content
        JSON of every entity and of every relationship, i.e. ``canonical_json(x.content())`` (no version, no
        timestamps), in no particular order. For readers that need a few fields of every fact (diagrams) and would
        spend most of their time building full models. This default builds the models and dumps them; backends
        return their stored text."""
        from catalog.changelog import canonical_json

        rels: Sequence[Relationship]
        if when is None:
            ents, rels = sorted(self.iter_entities(), key=lambda e: e.ref), self.all_relationships()
        else:
            g = self.graph_as_of(when)
            ents, rels = [g.entities[k] for k in sorted(g.entities)], g.relationships
        return (
            [canonical_json(e.content()) for e in ents],
            [canonical_json(r.content()) for r in sorted(rels, key=lambda r: r.id)],
        )

    def part_json(
        self,
        refs: Sequence[str] = (),
        owners: Sequence[str] = (),
        relationships: bool = True,
    ) -> tuple[list[str], list[str]]:
        """Part of the current record, as :meth:`graph_json` returns it (stored text, no particular order): the
        entities among ``refs`` and those whose owner history names one of ``owners`` (in any period), and, with
        ``relationships``, every relationship with an end among those entities. For readers that walk a few steps
        of the graph from some entities (diagrams of one entity, department or operations centre). This default
        uses the other reads; backends answer from their indexes."""
        from catalog.changelog import canonical_json

        found = self.get_entities(sorted(set(refs)))
        if owners:
            wanted = set(owners)
            found.update((e.ref, e) for e in self.iter_entities() if any(p.org in wanted for p in e.owner_history))
        rels: dict[str, Relationship] = {}
        if relationships:
            for ref in sorted(found):
                rels.update((r.id, r) for r in self.list_relationships(ref))
        return (
            [canonical_json(e.content()) for _, e in sorted(found.items())],
            [canonical_json(r.content()) for _, r in sorted(rels.items())],
        )

    # --- bulk --------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def bulk_load(
        self, load: BulkLoad, ctx: WriteContext, progress: ProgressFn | None = None, dry_run: bool = False
    ) -> BulkResult:
        """Write an import run in one transaction; with ``dry_run`` compute the result and write nothing."""

    # --- records: documents beside the graph (users, tokens, drafts, import runs) --------------------------------
    @abc.abstractmethod
    def put_record(
        self,
        collection: str,
        key: str,
        data: dict[str, Any],
        ctx: WriteContext,
        expected_version: int | None = None,
        log: bool = True,
    ) -> Record:
        """Create or replace a record. ``expected_version``: None writes whatever is there; 0 means it must not exist
        yet (else AlreadyExists); n means it must be at version n (else Conflict). With ``log`` the write is in the
        change log (op create/update, ref :func:`record_ref`, before/after = the data): leave secrets out of logged
        records."""

    @abc.abstractmethod
    def get_record(self, collection: str, key: str) -> Record | None: ...

    @abc.abstractmethod
    def list_records(
        self, collection: str, limit: int = 100, offset: int = 0, newest_first: bool = False
    ) -> list[Record]:
        """A page of one collection, by key (or by last write, newest first)."""

    @abc.abstractmethod
    def count_records(self, collection: str | None = None) -> int: ...

    @abc.abstractmethod
    def delete_record(
        self, collection: str, key: str, ctx: WriteContext, expected_version: int | None = None, log: bool = True
    ) -> None:
        """Delete a record (NotFound when there is none; Conflict on a stale ``expected_version``)."""

    # --- whole-catalog copy (migration between backends) --------------------------------------------------------
    @abc.abstractmethod
    def dump(self, batch: int = 5000) -> Iterator[tuple[str, list]]:
        """The whole catalog, verbatim, as ``(section, items)`` batches of at most ``batch`` items: "entities"
        (:class:`Entity` with version and timestamps), then "relationships", "events" (:class:`OrgEvent`) and
        "records" (:class:`Record`, by collection and key), then possibly "corrections" (:class:`Correction`), then
        "changelog" (:class:`ChangeEntry`, by seq, up to the dump's head); each section in a stable order.

        The dump is one consistent state even while others write: the state at its change-log head, with exactly
        the log up to that head. A backend reads it as one snapshot (SQLite: one read transaction), or, when its
        reads cannot be one snapshot (Neo4j reads committed data statement by statement), notes the head, reads the
        pages, then settles at a later head: holding the write lock every writer takes, it re-reads every fact and
        record the entries in between name and sends them as "corrections". Records written without a log entry
        (sessions, tokens, credentials, import runs) are each copied as one committed version of themselves."""

    @abc.abstractmethod
    def restore(self, section: str, items: list) -> None:
        """Write one :meth:`dump` batch as it is (versions, timestamps, provenance; change-log entries exactly as
        stored, moving the log head), in one transaction of its own (nested in the caller's, if any). Change-log
        batches must continue the chain (next seq, matching previous hash, each hash checked), so the restored log
        verifies; entities come before the relationships that use them; a "corrections" batch replaces or deletes
        what earlier batches wrote. Several batches are several transactions: a copy that fails half-way leaves a
        partial catalog (which :meth:`is_empty` reports as not empty), unless the caller wraps them in one
        (:attr:`restores_in_one_transaction`)."""

    def compact(self) -> tuple[int, int]:
        """Give the space freed inside the store back to the file system (an upgrade, a restore over a bigger
        catalog, many deletions leave free pages that new writes do not always reuse); returns the store's size in
        bytes before and after. Changes no fact and no log entry. Only a store kept in files of its own can do it:
        the others refuse, naming why."""
        from catalog.errors import FieldError, ValidationFailed

        raise ValidationFailed([FieldError("store", msg("compact-embedded-only"))])

    @abc.abstractmethod
    def is_empty(self) -> bool:
        """True when the store holds no entity, relationship, organisation event, record or change-log entry."""

    @abc.abstractmethod
    def erase(self) -> None:
        """Delete every entity, relationship, event, record and change-log entry (the log starts again from
        genesis)."""

    # --- whole-catalog helpers (shared by all backends) --------------------------------------------------------
    def iter_entities(self, batch: int = 5000, kind: str | None = None) -> Iterator[Entity]:
        offset = 0
        while True:
            page = self.list_entities(EntityFilter(kind=kind, limit=batch, offset=offset))
            yield from page
            if len(page) < batch:
                return
            offset += batch

    def _dump_changelog(self, batch: int, upto: int | None = None) -> Iterator[tuple[str, list]]:
        """The change log in pages of ``batch`` entries, for ``dump``; with ``upto``, only the entries up to that
        seq (those after it were written after the dump's head)."""
        seq = 0
        while upto is None or seq < upto:
            n = int(batch) if upto is None else min(int(batch), upto - seq)
            entries = self.changelog(after_seq=seq, limit=n)
            if entries:
                yield "changelog", entries
                seq = entries[-1].seq
            if len(entries) < n:
                break

    def all_relationships(self) -> list[Relationship]:
        return self.list_relationships()


def verify_derived(rows: Iterable[tuple], heads: list[Head]) -> VerifyResult:
    """verify_chain over rows whose 12th value, when present and true, says the entry's ``after`` was derived (the
    next entry's ``before`` of the same reference, or the current fact) rather than stored.

    A derived after that does not match its entry's hash means that the current fact, or a later entry, was changed
    or removed. When the chain itself is broken too (an entry missing, a link, a witnessed head), that break is
    reported: it is the cause, and it names the entries concerned (a log cut back also makes the derived afters
    before the cut wrong). Otherwise the first entry whose content does not match its hash is, as by verify_chain.

    How: the entries' contents and links are checked here, and verify_chain is given the same rows with hashes that
    match them from the first mismatch on (and the witnessed heads mapped to those hashes), so that it reports
    only the order, the links and the witnessed heads. Rows are read once, in order."""
    from catalog.changelog import entry_hash

    stored_bad: list[VerifyResult] = []  # the first entry, among those storing their after, that does not match
    derived_bad: list[VerifyResult] = []  # the same among entries whose after was derived
    given: dict[str, str] = {}  # stored hash -> the hash verify_chain was given instead

    class _Witnessed:  # a witnessed head compared with what verify_chain is given
        def __init__(self, head: Head):
            self.seq, self.source, self._hash = head.seq, head.source, head.hash

        @property
        def hash(self) -> str:
            return given.get(self._hash, self._hash)

    def checked_rows() -> Iterator[tuple]:
        stored_prev, given_prev = GENESIS, GENESIS
        count = 0
        for row in rows:
            seq, time, actor, request_id, op, ref, before, after, prev_hash, h = row[:10]
            proposer = row[10] if len(row) > 10 else None
            content = (seq, time, actor, request_id, op, ref, before, after)
            link = given_prev if prev_hash == stored_prev else prev_hash
            matches = entry_hash(*content, prev_hash, proposer) == h
            if not matches:
                found = derived_bad if len(row) > 11 and row[11] else stored_bad
                if not found:
                    found.append(VerifyResult(False, count, prev_hash, seq, msg("log-content-mismatch")))
            out = h if link == prev_hash and matches else entry_hash(*content, link, proposer)
            if out != h:
                given[h] = out
            stored_prev, given_prev = h, out
            count += 1
            yield (*content, link, out, proposer)

    result = verify_chain(checked_rows(), [_Witnessed(w) for w in heads])  # type: ignore[misc]
    stored = stored_bad[0] if stored_bad else None
    if stored is not None and (result.ok or (stored.bad_seq or 0) < (result.bad_seq or 0)):
        return stored
    return derived_bad[0] if result.ok and derived_bad else result


def restored_log_rows(entries: list[ChangeEntry], head: tuple[int, str]) -> list[tuple]:
    """Change-log entries as stored rows (seq, time, actor, request_id, op, ref, before, after, prev_hash, hash,
    proposer), with before/after as the canonical JSON text the stores wrote; refuses entries that do not continue
    the chain at ``head`` (seq, hash) or whose hash does not match, so a restored log always verifies."""
    from catalog.changelog import canonical_json, entry_hash
    from catalog.errors import StoreError

    seq, prev = head
    rows = []
    for e in entries:
        b = None if e.before is None else canonical_json(e.before)
        a = None if e.after is None else canonical_json(e.after)
        if e.seq != seq + 1 or e.prev_hash != prev:
            raise StoreError(
                f"change-log entry {e.seq} does not continue the log at entry {seq} (copy the log "
                "in order, into an empty store)"
            )
        if entry_hash(e.seq, e.time, e.actor, e.request_id, e.op, e.ref, b, a, e.prev_hash, e.proposer) != e.hash:
            raise StoreError(
                f"change-log entry {e.seq} does not match its hash; the source log is broken (run verify-log on it)"
            )
        rows.append((e.seq, e.time, e.actor, e.request_id, e.op, e.ref, b, a, e.prev_hash, e.hash, e.proposer or None))
        seq, prev = e.seq, e.hash
    return rows


def chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of at most ``size`` items (batched writes and IN-lists in every backend)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


__all__ = [
    "entity_from_row",
    "relationship_from_row",
    "BulkLoad",
    "BulkResult",
    "CatalogStore",
    "Correction",
    "Record",
    "record_ref",
    "check_record_key",
    "check_record_version",
    "Direction",
    "EntityFilter",
    "Subgraph",
    "WriteContext",
    "as_instant",
    "format_time",
    "new_run_id",
    "restored_log_rows",
    "utc_now",
]
