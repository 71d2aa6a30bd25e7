"""The change log is the outbox: change-log entries read as change events, and the cursors their consumers keep.

Every write is already a hash-chained change-log entry (:mod:`catalog.changelog`), in the same transaction as the
change itself, so an event can never be lost or sent for a change that did not commit. A consumer (the in-app
notices, each webhook subscription) reads the log after the last sequence number it handled, turns entries into
:class:`ChangeEvent` values with :func:`events_after`, and moves its :class:`Cursor` only past what it has handled.

Event types (``ChangeEvent.type``), the ``X-IOC-Event`` header of a webhook delivery:

- ``entity.created``, ``entity.updated``, ``entity.deleted``: an organisation, system, database... (``ref`` kind:code);
- ``relationship.created``, ``relationship.updated``, ``relationship.deleted`` (``ref`` rel:<source>><type>><target>);
- ``organization_event.recorded`` (a merger, split, rename... ``ref`` event:<id>);
- ``draft.submitted``, ``draft.approved``, ``draft.rejected`` (``ref`` the draft's entity; ``draft`` its id, entity
  references, submitter, decider and reason);
- ``campaign.opened``, ``campaign.reminded``, ``campaign.closed``: an inventory campaign (:mod:`catalog.campaigns`;
  ``ref`` campaign:<code>; ``refs`` its organisations, for a reminder those not done).

Other records (accounts, tokens, saved views, import runs) are not events. The payload (:meth:`ChangeEvent.payload`)
carries ``schema`` = :data:`SCHEMA`; its JSON Schema is :data:`PAYLOAD_SCHEMA` (docs/api.md, "Webhooks").

Cursors are store records (collection ``outbox-cursor``, never in process memory, never in the change log): the
consumer's position (``seq``) and a lease (``lease_owner``, ``lease_until``) claimed with ``expected_version``, so
two server workers (or a worker and ``ioc-catalog notify run``) never handle the same consumer at once. A lease that
expires (its holder died) may be taken over.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import AlreadyExists, Conflict
from catalog.model import ChangeEntry
from catalog.store.base import RECORD_PREFIX, CatalogStore, Record, WriteContext

SCHEMA = "ioc-catalog.change-event/1"
CURSORS = "outbox-cursor"
ENTITY_TYPES = ("entity.created", "entity.updated", "entity.deleted")
RELATIONSHIP_TYPES = ("relationship.created", "relationship.updated", "relationship.deleted")
DRAFT_TYPES = ("draft.submitted", "draft.approved", "draft.rejected")
CAMPAIGN_TYPES = ("campaign.opened", "campaign.reminded", "campaign.closed")
EVENT_TYPES = (*ENTITY_TYPES, *RELATIONSHIP_TYPES, "organization_event.recorded", *DRAFT_TYPES, *CAMPAIGN_TYPES)
_OPS = {"create": "created", "update": "updated", "delete": "deleted"}
_BOOKKEEPING = {"version", "created_at", "updated_at", "provenance"}  # not what a consumer asks "what changed" of


@dataclass(frozen=True)
class ChangeEvent:
    """One change event: ``id`` is the change-log sequence number (unique, increasing; receivers de-duplicate on it)."""

    id: int
    type: str
    ref: str
    time: str
    actor: str
    request_id: str
    proposer: str | None = None
    kind: str | None = None  # the entity's kind (a relationship's: its type)
    org: str | None = None  # the owning organisation (a relationship's: its source's owner)
    refs: tuple[str, ...] = ()  # every entity the event touches (a relationship: both ends)
    changed: tuple[str, ...] = ()  # fields an update changed (attributes as attributes.<name>)
    draft: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body of a webhook delivery (:data:`PAYLOAD_SCHEMA`)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "type": self.type,
            "time": self.time,
            "ref": self.ref,
            "refs": list(self.refs),
            "kind": self.kind,
            "org": self.org,
            "actor": self.actor,
            "proposer": self.proposer,
            "request_id": self.request_id,
            "changed": list(self.changed),
            "draft": self.draft,
        }


PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://ioc-catalog.example/schemas/change-event-1.json",
    "title": "ioc-catalog change event",
    "type": "object",
    "required": ["schema", "id", "type", "time", "ref", "refs", "actor", "request_id", "changed"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA, "description": "Payload version; a new major version changes this value"},
        "id": {"type": "integer", "minimum": 1, "description": "Change-log sequence number; X-IOC-Delivery"},
        "type": {"enum": list(EVENT_TYPES), "description": "X-IOC-Event"},
        "time": {"type": "string", "description": "When the change was recorded (UTC, ISO 8601)"},
        "ref": {
            "type": "string",
            "description": "kind:code, rel:<source>><type>><target>, event:<id> or campaign:<code>",
        },
        "refs": {"type": "array", "items": {"type": "string"}, "description": "Entities the change touches"},
        "kind": {"type": ["string", "null"], "description": "The entity's kind, or the relationship's type"},
        "org": {"type": ["string", "null"], "description": "Owning organisation (kind:code), when there is one"},
        "actor": {"type": "string", "description": "Who made the change"},
        "proposer": {"type": ["string", "null"], "description": "Who proposed it (an approved draft's submitter)"},
        "request_id": {"type": "string", "description": "Shared by every change of one request or import run"},
        "changed": {"type": "array", "items": {"type": "string"}, "description": "Fields an update changed"},
        "draft": {
            "type": ["object", "null"],
            "description": "draft.* events: the draft",
            "properties": {
                "id": {"type": "string"},
                "status": {"enum": ["pending", "approved", "rejected"]},
                "refs": {"type": "array", "items": {"type": "string"}},
                "submitted_by": {"type": ["string", "null"]},
                "decided_by": {"type": ["string", "null"]},
                "reason": {"type": "string"},
                "note": {"type": "string"},
                "names": {
                    "type": "object",
                    "description": "Names (vi, en) of the entities the draft creates, by reference",
                },
            },
        },
    },
}


def _changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[str, ...]:
    if not before or not after:
        return ()
    out = []
    for key in sorted(set(before) | set(after)):
        if key in _BOOKKEEPING or before.get(key) == after.get(key):
            continue
        if key == "attributes" and isinstance(before.get(key), dict) and isinstance(after.get(key), dict):
            a, b = before[key], after[key]
            out += [f"attributes.{n}" for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)]
        else:
            out.append(key)
    return tuple(out)


def _owner(data: dict[str, Any]) -> str | None:
    """The current owner in an entity's stored content: its open-ended ownership period."""
    periods = data.get("owner_history")
    for p in reversed(periods if isinstance(periods, list) else []):
        if isinstance(p, dict) and p.get("end") is None and isinstance(p.get("org"), str):
            return p["org"]
    return None


def _draft_refs(data: dict[str, Any]) -> list[str]:
    """The entities a draft is about: its ``ref`` and those its changes name (a change-set draft's ``change_set``:
    each change's entity, a connection's ends)."""
    refs: list[str] = []
    if isinstance(data.get("ref"), str):
        refs.append(data["ref"])
    for key in ("refs",):
        if isinstance(data.get(key), list):
            refs += [r for r in data[key] if isinstance(r, str)]
    changes = data.get("change_set") if isinstance(data.get("change_set"), list) else data.get("changes")
    if isinstance(changes, list):
        for c in changes:
            if isinstance(c, dict):
                ref = c.get("ref")
                if isinstance(ref, str) and ":" in ref and not ref.startswith("rel:"):
                    refs.append(ref)
                inner = c.get("data")
                if isinstance(inner, dict):
                    refs += [inner[k] for k in ("source", "target") if isinstance(inner.get(k), str)]
    return list(dict.fromkeys(refs))


def _proposed_names(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """ref -> name of each entity a change-set draft creates (it is not in the catalog until approved)."""
    out: dict[str, dict[str, str]] = {}
    for c in data.get("change_set") or []:
        inner = c.get("data") if isinstance(c, dict) else None
        if c.get("op") == "create" and isinstance(c.get("ref"), str) and isinstance(inner, dict):
            name = inner.get("name")
            if isinstance(name, dict):
                out[c["ref"]] = {k: v for k, v in name.items() if k in ("vi", "en") and isinstance(v, str)}
    return out


def _draft_event(entry: ChangeEntry) -> ChangeEvent | None:
    after = entry.after if isinstance(entry.after, dict) else None
    if after is None:
        return None
    status = after.get("status")
    before_status = entry.before.get("status") if isinstance(entry.before, dict) else None
    if entry.op == "create" and status == "pending":
        kind = "draft.submitted"
    elif status in ("approved", "rejected") and before_status != status:
        kind = f"draft.{status}"
    else:
        return None
    refs = _draft_refs(after)
    draft = {
        "id": str(after.get("id") or entry.ref.rsplit("/", 1)[-1]),
        "status": status,
        "refs": refs,
        "submitted_by": after.get("submitted_by"),
        "decided_by": after.get("decided_by"),
        "reason": str(after.get("reason") or ""),
        "note": str(after.get("note") or ""),
        "names": _proposed_names(after),
    }
    return ChangeEvent(
        id=entry.seq,
        type=kind,
        ref=refs[0] if refs else entry.ref,
        time=entry.time,
        actor=entry.actor,
        request_id=entry.request_id,
        proposer=entry.proposer,
        refs=tuple(refs),
        draft=draft,
    )


def _campaign_event(entry: ChangeEntry) -> ChangeEvent | None:
    """An inventory campaign's record write as an event: opened (created), reminded (a reminder added: ``refs`` the
    organisations reminded), closed (its status became closed)."""
    after = entry.after if isinstance(entry.after, dict) else None
    if after is None:
        return None
    before = entry.before if isinstance(entry.before, dict) else {}
    listed = after.get("reminders")
    reminders: list[Any] = listed if isinstance(listed, list) else []
    refs: list[str] = [o for o in after.get("orgs") or [] if isinstance(o, str)]
    if entry.op == "create":
        kind = "campaign.opened"
    elif after.get("status") == "closed" and before.get("status") != "closed":
        kind = "campaign.closed"
    elif len(reminders) > len(before.get("reminders") or []):
        kind = "campaign.reminded"
        told = reminders[-1].get("orgs") if isinstance(reminders[-1], dict) else None
        refs = [o for o in (told or {}) if isinstance(o, str)]
    else:
        return None
    return ChangeEvent(
        id=entry.seq,
        type=kind,
        ref=f"campaign:{after.get('id') or entry.ref.rsplit('/', 1)[-1]}",
        time=entry.time,
        actor=entry.actor,
        request_id=entry.request_id,
        refs=tuple(refs),
    )


def to_event(entry: ChangeEntry, owners: dict[str, str | None] | None = None) -> ChangeEvent | None:
    """The change event of one change-log entry, or None when the entry is not an event (accounts, tokens...).
    ``owners``: the owning organisation of entities the entry names but does not carry (a relationship's source)."""
    ref = entry.ref
    data = entry.after if isinstance(entry.after, dict) else entry.before if isinstance(entry.before, dict) else {}
    if ref.startswith(RECORD_PREFIX):
        if ref.startswith(RECORD_PREFIX + "campaign/"):
            return _campaign_event(entry)
        return _draft_event(entry) if ref.startswith(RECORD_PREFIX + "draft/") else None
    if entry.op not in _OPS:
        return None

    def event(type: str, kind: Any, org: str | None, refs: tuple[str, ...]) -> ChangeEvent:
        return ChangeEvent(
            id=entry.seq,
            type=type,
            ref=ref,
            time=entry.time,
            actor=entry.actor,
            request_id=entry.request_id,
            proposer=entry.proposer,
            kind=kind if isinstance(kind, str) else None,
            org=org,
            refs=refs,
            changed=_changed(entry.before, entry.after),
        )

    if ref.startswith("rel:"):
        source, target = data.get("source"), data.get("target")
        ends = tuple(r for r in (source, target) if isinstance(r, str))
        org = (owners or {}).get(source) if isinstance(source, str) else None
        return event(f"relationship.{_OPS[entry.op]}", data.get("type"), org, ends)
    if ref.startswith("event:"):
        parties = [data.get("from"), data.get("to")]
        refs = tuple(r for group in parties if isinstance(group, list) for r in group if isinstance(r, str))
        return event("organization_event.recorded", data.get("type"), None, refs)
    return event(f"entity.{_OPS[entry.op]}", ref.split(":", 1)[0], _owner(data), (ref,))


def _source(e: ChangeEntry) -> str | None:
    data = e.after if isinstance(e.after, dict) else e.before if isinstance(e.before, dict) else {}
    source = data.get("source")
    return source if isinstance(source, str) else None


def events_after(store: CatalogStore, seq: int, limit: int = 500) -> tuple[list[ChangeEvent], int]:
    """The change events after ``seq`` among the next ``limit`` change-log entries, and the last seq read (the
    position a consumer reaches once it has handled them all)."""
    entries = store.changelog(after_seq=seq, limit=limit)
    sources = sorted({s for s in (_source(e) for e in entries if e.ref.startswith("rel:")) if s is not None})
    found = store.get_entities(sources) if sources else {}
    owners: dict[str, str | None] = {ref: found[ref].owner if ref in found else None for ref in sources}
    events = [ev for ev in (to_event(e, owners) for e in entries) if ev is not None]
    return events, entries[-1].seq if entries else seq


# --- cursors ----------------------------------------------------------------------------------------------------


@dataclass
class Cursor:
    """A consumer's position in the log, held under a lease (see the module docstring). ``state``: the consumer's
    own fields (a webhook's attempt count and next try)."""

    store: CatalogStore
    name: str
    seq: int
    version: int
    owner: str
    state: dict[str, Any] = field(default_factory=dict)
    lease_seconds: float = 60.0
    clock: Callable[[], float] = time.time

    def save(self, seq: int | None = None, release: bool = False, **state: Any) -> bool:
        """Move to ``seq`` (and update ``state``), renewing the lease (or releasing it). False when another worker
        took the lease meanwhile: stop."""
        new_seq = self.seq if seq is None else seq
        new_state = {**self.state, **state}
        data = {
            "seq": new_seq,
            "state": new_state,
            "lease_owner": None if release else self.owner,
            "lease_until": 0 if release else self.clock() + self.lease_seconds,
        }
        try:
            rec = self.store.put_record(CURSORS, self.name, data, _CTX, expected_version=self.version, log=False)
        except Conflict:
            return False
        self.seq, self.state, self.version = new_seq, new_state, rec.version
        return True

    def release(self) -> bool:
        return self.save(release=True)


_CTX = WriteContext(actor="notify")


def read_cursor(store: CatalogStore, name: str) -> Record | None:
    return store.get_record(CURSORS, name)


def start_cursor(store: CatalogStore, name: str, seq: int | None = None) -> None:
    """Create the cursor ``name`` at ``seq`` (default: the log's head: a new consumer starts with what happens next)
    unless it exists."""
    if store.get_record(CURSORS, name) is not None:
        return
    start = store.revision()[0] if seq is None else seq
    try:
        store.put_record(
            CURSORS,
            name,
            {"seq": start, "state": {}, "lease_owner": None, "lease_until": 0},
            _CTX,
            expected_version=0,
            log=False,
        )
    except AlreadyExists:
        pass


def claim(
    store: CatalogStore,
    name: str,
    lease_seconds: float = 60.0,
    clock: Callable[[], float] = time.time,
    only_if_behind: bool = False,
) -> Cursor | None:
    """Take the lease of cursor ``name`` (created at the head if missing); None when another worker holds it (or,
    with ``only_if_behind``, when the cursor is already at the log's head)."""
    start_cursor(store, name)
    rec = store.get_record(CURSORS, name)
    if rec is None:
        return None
    if only_if_behind and int(rec.data.get("seq") or 0) >= store.revision()[0]:
        return None  # nothing new: no write at all
    now = clock()
    holder, until = rec.data.get("lease_owner"), float(rec.data.get("lease_until") or 0)
    if holder and until > now:
        return None
    owner = secrets.token_hex(8)
    cursor = Cursor(
        store,
        name,
        int(rec.data.get("seq") or 0),
        rec.version,
        owner,
        dict(rec.data.get("state") or {}),
        lease_seconds,
        clock,
    )
    return cursor if cursor.save() else None


def drop_cursor(store: CatalogStore, name: str) -> None:
    if store.get_record(CURSORS, name) is not None:
        store.delete_record(CURSORS, name, _CTX, log=False)


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
