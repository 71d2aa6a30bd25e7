"""Revert: undo one change-log entry, one whole import run or one approved draft, as a new logged change.

The log is never rewritten. A revert writes, in one transaction and under a fresh request id, one entry per
reference it restores, putting back the content that reference had before the reverted change (its ``before``):
a create is undone by a delete, a delete by a create (with its earlier content exactly: ownership history and
provenance as they were; versions and timestamps are bookkeeping and move on), an update by an update back. Then it
writes a record (collection ``revert``, key = the revert's request id, logged) saying what it reverted, who did it
and why (an optional reason), so the change log shows the cause of its entries (:mod:`catalog.history.changes`).
The catalog's content hash (:func:`catalog.digest.content_hash`) returns to what it was before the reverted change.

What a target covers:

- ``seq``: one entry about an entity or a relationship. An entity's delete also brings back the relationships the
  same request deleted with it (a delete with cascade).
- ``run``: every entity and relationship entry of an import run (the entries carrying the run's id as request id;
  runs are the ``import-run`` records of :mod:`importers.base`).
- ``draft``: every entity and relationship entry the approval of a draft wrote (the entries sharing the request id
  of the approval's own entry on ``record:draft/<id>``).

Records (drafts, users, import runs, earlier reverts' records) are not reverted: they are bookkeeping beside the
graph, and the entries about them are left as they are. Organisation events are not reverted either: an event
moved ownership on a legal basis, and undoing it is a new event with its own basis (record a correcting event); a
target that holds one is refused, naming it.

A revert is refused (:class:`RevertRefused`, 409), with nothing written, when a later change depends on what it
would undo, naming the blocking entry (seq, time, actor, what it changed) and the items by their labels:

- an item is no longer as the reverted change left it (someone changed it since; revert that change first);
- an item the revert would delete is used by a relationship written later;
- a relationship it would bring back has an end that no longer exists;
- an entity it would bring back names an owner that no longer exists.

Only a principal with the ``approve`` permission (architects and admins) reverts. :func:`plan` says what a revert
would do without writing (the confirmation pages); :func:`revert` checks again inside its transaction and writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalog.changelog import canonical_json
from catalog.errors import FieldError, IntegrityError, NotFound, ValidationFailed
from catalog.i18n import Message, msg, msg_plural, named
from catalog.model import REF_RE, ChangeEntry, Entity, Relationship
from catalog.permissions import Principal, require
from catalog.store.base import CatalogStore, WriteContext, record_ref

COLLECTION = "revert"  # the records of reverts, keyed by the revert's request id
IMPORT_RUNS = "import-run"  # importers.base.RUNS: one record per import run, keyed by run id
DRAFTS = "draft"  # catalog.drafts.COLLECTION
MAX_ENTRIES = 100_000  # a revert restores at most this many items (one transaction)
TARGETS = ("seq", "run", "draft")
_NAMED = 10  # at most this many blocking problems are named in a refusal


class RevertRefused(IntegrityError):
    """A later change depends on what the revert would undo (or the target cannot be reverted); nothing was
    written. ``blocking``: the entries in the way, as dicts (seq, time, actor, ref)."""

    code = "revert-refused"

    def __init__(self, message: Message, blocking: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.blocking = blocking or []


@dataclass(frozen=True)
class Target:
    """What to revert: ``by`` is ``seq``, ``run`` or ``draft``; ``id`` the entry's seq, the run id or draft id."""

    by: str
    id: str

    def as_dict(self) -> dict[str, Any]:
        return {self.by: int(self.id) if self.by == "seq" else self.id}


def target(seq: Any = None, run: Any = None, draft: Any = None) -> Target:
    """The one target the arguments name (exactly one of them), checked; ValidationFailed naming the field."""
    given = [(k, v) for k, v in (("seq", seq), ("run", run), ("draft", draft)) if v not in (None, "")]
    if len(given) != 1:
        raise ValidationFailed([FieldError("seq", msg("revert-one-target"))])
    by, value = given[0]
    if by == "seq":
        try:
            n = int(str(value).strip())
        except ValueError:
            n = 0
        if n < 1 or isinstance(value, bool):
            raise ValidationFailed([FieldError("seq", msg("revert-seq-malformed"))])
        return Target("seq", str(n))
    value = str(value).strip()
    if not value or len(value) > 200 or any(ord(ch) < 33 or ch == "\x7f" for ch in value):
        raise ValidationFailed([FieldError(by, msg("revert-id-malformed"))])
    return Target(by, value)


@dataclass(frozen=True)
class Undo:
    """One item the revert restores: ``op`` is what the revert writes (``create`` | ``update`` | ``delete``);
    ``now`` the item's content as it stands (None: absent), ``restored`` the content it gets back (None: removed);
    ``seqs`` the reverted entries about it."""

    ref: str
    op: str
    now: dict[str, Any] | None
    restored: dict[str, Any] | None
    seqs: tuple[int, ...]

    @property
    def is_relationship(self) -> bool:
        return self.ref.startswith("rel:")

    def as_entry(self) -> ChangeEntry:
        """The change as a change-log entry would carry it (for the pages that show fields before and after)."""
        return ChangeEntry(
            seq=self.seqs[-1],
            time="",
            actor="",
            request_id="",
            op=self.op,
            ref=self.ref,
            before=self.now,
            after=self.restored,
            prev_hash="",
            hash="",
        )


@dataclass
class Plan:
    """What reverting ``target`` does: the ``entries`` it reverts (entities and relationships), the ``skipped``
    entries about records (left as they are), the items it restores in the order it writes them, and the request
    id of the reverted change (a single entry's, the run's, the approval's)."""

    target: Target
    request_id: str
    entries: list[ChangeEntry]
    skipped: list[ChangeEntry]
    undo: list[Undo]

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target.as_dict(),
            "request_id": self.request_id,
            "entries": [c.seq for c in self.entries],
            "skipped": [c.seq for c in self.skipped],
            "changes": [{"ref": u.ref, "op": u.op, "reverts": list(u.seqs)} for u in self.undo],
        }


@dataclass
class Reverted:
    """A revert that was written: its own ``request_id`` (the key of its record), the ``plan`` it carried out,
    the seqs of the entries it wrote (the record's last), who and why."""

    request_id: str
    plan: Plan
    written: list[int]
    actor: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "actor": self.actor,
            "reason": self.reason,
            "written": self.written,
            **self.plan.summary(),
        }


# --- reading the target ------------------------------------------------------------------------------------------


def _fact(ref: str) -> bool:
    return ref.startswith("rel:") or (not ref.startswith(("record:", "event:")) and REF_RE.match(ref) is not None)


def _entries(store: CatalogStore, t: Target) -> tuple[str, list[ChangeEntry]]:
    """(the reverted change's request id, its entries by seq) for a target; NotFound / RevertRefused when there is
    nothing to revert."""
    if t.by == "seq":
        seq = int(t.id)
        found = store.changelog(after_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise NotFound(msg("revert-entry-not-found", seq=str(seq)))
        c = found[0]
        if c.ref.startswith(record_ref(DRAFTS, "")):
            raise RevertRefused(msg("revert-draft-record", seq=str(seq), id=c.ref.rsplit("/", 1)[-1]))
        if c.ref.startswith("record:"):
            raise RevertRefused(msg("revert-record", seq=str(seq)))
        out = [c]
        if c.op == "delete" and not c.ref.startswith(("rel:", "event:")):
            # the relationships the same request deleted with the entity (a delete with cascade)
            out = [
                x
                for x in store.changelog(request_id=c.request_id, before_seq=seq)
                if x.op == "delete" and x.ref.startswith("rel:") and c.ref in _ends(x.before)
            ] + out
        return c.request_id, out
    if t.by == "run":
        if store.get_record(IMPORT_RUNS, t.id) is None:
            raise NotFound(msg("revert-run-not-found", run=t.id))
        return t.id, store.changelog(request_id=t.id, limit=MAX_ENTRIES + 1)
    rec = store.get_record(DRAFTS, t.id)
    if rec is None:
        raise NotFound(msg("draft-not-found", id=t.id))
    if rec.data.get("status") != "approved":
        raise RevertRefused(msg("revert-draft-not-approved", id=t.id))
    approval = [
        c
        for c in store.changelog(ref=record_ref(DRAFTS, t.id))
        if (c.after or {}).get("status") == "approved" and (c.before or {}).get("status") != "approved"
    ]
    if not approval:
        raise RevertRefused(msg("revert-draft-not-approved", id=t.id))
    rid = approval[-1].request_id
    return rid, store.changelog(request_id=rid, limit=MAX_ENTRIES + 1)


def _ends(body: dict[str, Any] | None) -> tuple[str, ...]:
    return tuple(x for x in ((body or {}).get("source"), (body or {}).get("target")) if isinstance(x, str))


def _current(store: CatalogStore, ref: str) -> Entity | Relationship | None:
    return store.find_relationship(ref[4:]) if ref.startswith("rel:") else store.find_entity(ref)


def _content(x: Entity | Relationship | None) -> dict[str, Any] | None:
    return None if x is None else x.content()


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return (a is None) == (b is None) and (a is None or canonical_json(a) == canonical_json(b))


class _Names:
    """Names of the items a refusal mentions, in any language (``get(lang)``), read once."""

    def __init__(self, store: CatalogStore, refs: set[str]):
        self.mm = store.metamodel
        self.found = store.get_entities(sorted(r for r in refs if not r.startswith(("rel:", "event:", "record:"))))

    def entity(self, ref: str) -> Any:
        e = self.found.get(ref)
        return named(ref, e.name if e is not None else None)

    def item(self, ref: str, body: dict[str, Any] | None) -> Any:
        """An entity by its name; a relationship as "source → its label → target"; an organisation event by its
        type's label and the organisations it names (in the reader's language)."""
        if ref.startswith("event:"):
            from catalog.metamodel import EVENT_LABELS

            b = body or {}
            label = EVENT_LABELS.get(str(b.get("type", "")))
            orgs = [self.found.get(str(x)) for x in (b.get("from") or []) + (b.get("to") or [])]

            def event(lang: str) -> str:
                named_orgs = ", ".join(dict.fromkeys(o.name.get(lang) for o in orgs if o is not None))
                return (label.get(lang) if label else ref) + (f": {named_orgs}" if named_orgs else "")

            return named(ref, _Lazy(event), with_ref=False)
        if not ref.startswith("rel:"):
            e = self.found.get(ref)
            name = e.name if e is not None else _Lazy(lambda lang: _body_name(body, lang))
            return named(ref, name)
        b = body or {}
        spec = self.mm.relations.get(str(b.get("type", "")))
        ends = [self.found.get(str(b.get(k))) for k in ("source", "target")]

        def said(lang: str) -> str:
            src, dst = (
                e.name.get(lang) if e is not None else str(b.get(k, ""))
                for e, k in zip(ends, ("source", "target"), strict=True)
            )
            return f"{src} → {spec.label.get(lang) if spec else b.get('type', '')} → {dst}"

        return named(ref, _Lazy(said), with_ref=False)


class _Lazy:
    """A text made per language when a message is rendered (``get(lang)``, as LocalText and Label have)."""

    def __init__(self, make: Callable[[str], str]):
        self.make = make

    def get(self, lang: str) -> str:
        return self.make(lang)


def _body_name(body: dict[str, Any] | None, lang: str) -> str:
    name = (body or {}).get("name")
    if isinstance(name, dict):
        return str(name.get(lang) or name.get("vi") or name.get("en") or "")
    return ""


def _what(c: ChangeEntry, store: CatalogStore) -> Any:
    """What a later entry changed, in the reader's language: the operation and the fields it changed, by label."""
    from catalog.history.changes import OP_LABELS, _Labeller, field_changes

    def said(lang: str) -> str:
        fields = [f.label for f in field_changes(c, _Labeller(store, lang, [c]))]
        op = OP_LABELS[c.op].text(lang) if c.op in OP_LABELS else c.op
        return f"{op}: {', '.join(fields[:6])}{'…' if len(fields) > 6 else ''}" if fields else op

    return named("-", _Lazy(said), with_ref=False)


def _later(store: CatalogStore, ref: str, after: int) -> ChangeEntry | None:
    """The newest entry about ``ref`` after seq ``after`` (the one that left it as it is)."""
    found = store.changelog(ref=ref, after_seq=after)
    return found[-1] if found else None


def _blocking(c: ChangeEntry | None) -> dict[str, Any]:
    return {} if c is None else {"seq": c.seq, "time": c.time, "actor": c.actor, "ref": c.ref}


def _when(c: ChangeEntry) -> str:
    return c.time[:19].replace("T", " ") + " UTC"


def _cause(c: ChangeEntry | None) -> dict[str, str]:
    """The later change that blocks a revert, as a refusal names it: its sequence number, time and actor."""
    return {"seq": str(c.seq), "time": _when(c), "actor": c.actor} if c else {"seq": "?", "time": "", "actor": ""}


# --- planning ----------------------------------------------------------------------------------------------------


def _phase(u: Undo) -> int:
    """Write order: relationships out first, then entities out, entities in or back, relationships in or back (so
    no relationship is ever left without its ends)."""
    if u.op == "delete":
        return 0 if u.is_relationship else 1
    return 3 if u.is_relationship else 2


def plan(store: CatalogStore, principal: Principal, t: Target) -> Plan:
    """What reverting ``t`` would write, checked against the catalog as it is now; RevertRefused naming what is in
    the way (nothing is written either way)."""
    require(principal, "approve")
    rid, entries = _entries(store, t)
    if len(entries) > MAX_ENTRIES:
        raise RevertRefused(msg("revert-too-large", limit=MAX_ENTRIES))
    events = [c for c in entries if c.ref.startswith("event:")]
    facts = [c for c in entries if _fact(c.ref)]
    skipped = [c for c in entries if not _fact(c.ref) and not c.ref.startswith("event:")]
    if events:
        body = events[0].after or events[0].before or {}
        names = _Names(store, {str(x) for x in (body.get("from") or []) + (body.get("to") or [])})
        raise RevertRefused(
            msg_plural(
                "revert-events",
                "revert-events#plural",
                count=len(events),
                seq=str(events[0].seq),
                item=names.item(events[0].ref, events[0].after or events[0].before),
            ),
            [_blocking(c) for c in events[:_NAMED]],
        )
    if not facts:
        raise RevertRefused(msg("revert-nothing"))
    first: dict[str, ChangeEntry] = {}
    last: dict[str, ChangeEntry] = {}
    seqs: dict[str, list[int]] = {}
    for c in facts:
        first.setdefault(c.ref, c)
        last[c.ref] = c
        seqs.setdefault(c.ref, []).append(c.seq)
    refs = sorted(last, key=lambda r: last[r].seq, reverse=True)  # the newest change undone first
    mentioned = set(refs) | {e for r in refs for e in _ends(last[r].after) + _ends(first[r].before)}
    for r in refs:
        history = (first[r].before or {}).get("owner_history") or []
        mentioned |= {p["org"] for p in history if isinstance(p, dict) and isinstance(p.get("org"), str)}
    names = _Names(store, mentioned)
    problems: list[tuple[Message, ChangeEntry | None]] = []
    undo: list[Undo] = []
    now_of: dict[str, dict[str, Any] | None] = {}
    for r in refs:
        now = _content(_current(store, r))
        now_of[r] = now
        expected, restored = last[r].after, first[r].before
        if not _same(now, expected):
            later = _later(store, r, last[r].seq)
            item = names.item(r, now or expected or restored)
            if later is None:
                problems.append((msg("revert-changed-unlogged", item=item, seq=str(last[r].seq)), None))
            elif expected is None:
                problems.append(
                    (
                        msg(
                            "revert-made-again",
                            item=item,
                            seq=str(later.seq),
                            time=_when(later),
                            actor=later.actor,
                        ),
                        later,
                    )
                )
            else:
                problems.append(
                    (
                        msg(
                            "revert-changed-later",
                            item=item,
                            seq=str(later.seq),
                            time=_when(later),
                            actor=later.actor,
                            what=_what(later, store),
                        ),
                        later,
                    )
                )
            continue
        if _same(now, restored):
            continue
        op = "create" if now is None else "delete" if restored is None else "update"
        undo.append(Undo(r, op, now, restored, tuple(seqs[r])))
    # what exists once the revert is written
    removed = {u.ref for u in undo if u.op == "delete"}
    added = {u.ref for u in undo if u.op == "create"}

    def exists(ref: str) -> bool:
        if ref in added:
            return True
        if ref in removed:
            return False
        return (now_of[ref] is not None) if ref in now_of else store.find_entity(ref) is not None

    for u in undo:
        if u.op == "delete" and not u.is_relationship:
            users = [x for x in store.list_relationships(u.ref) if f"rel:{x.id}" not in removed]
            for x in users[:3]:
                made = _later(store, f"rel:{x.id}", 0)
                problems.append(
                    (
                        msg(
                            "revert-still-used",
                            item=names.item(u.ref, u.now),
                            rel=names.item(f"rel:{x.id}", x.content()),
                            **_cause(made),
                        ),
                        made,
                    )
                )
        if u.restored is None:
            continue
        if u.is_relationship:
            for end in _ends(u.restored):
                if not exists(end):
                    gone = _later(store, end, 0)
                    problems.append(
                        (
                            msg(
                                "revert-end-gone",
                                item=names.item(u.ref, u.restored),
                                end=names.entity(end),
                                **_cause(gone),
                            ),
                            gone,
                        )
                    )
        else:
            owner = next(
                (p.get("org") for p in reversed(u.restored.get("owner_history") or []) if p.get("end") is None), None
            )
            if isinstance(owner, str) and not exists(owner):
                gone = _later(store, owner, 0)
                problems.append(
                    (
                        msg(
                            "revert-owner-gone",
                            item=names.item(u.ref, u.restored),
                            owner=names.entity(owner),
                            **_cause(gone),
                        ),
                        gone,
                    )
                )
    if problems:
        shown = tuple(m for m, _ in problems[:_NAMED])
        raise RevertRefused(
            msg_plural(
                "revert-blocked",
                "revert-blocked#plural",
                count=len(problems),
                reasons=shown,
                more=msg_plural("list-and-more", "list-and-more#plural", count=len(problems) - _NAMED)
                if len(problems) > _NAMED
                else "",
            ),
            [_blocking(c) for _, c in problems[:_NAMED] if c is not None],
        )
    if not undo:
        raise RevertRefused(msg("revert-nothing"))
    undo.sort(key=lambda u: (_phase(u), -u.seqs[-1]))
    return Plan(t, rid, facts, skipped, undo)


# --- writing -----------------------------------------------------------------------------------------------------


def check_reason(reason: Any) -> str:
    from catalog.text import text_problems

    if reason is None:
        return ""
    if not isinstance(reason, str) or len(reason) > 2000:
        raise ValidationFailed([FieldError("reason", msg("value-too-long", limit=2000))])
    problems = text_problems(reason, "reason")
    if problems:
        raise ValidationFailed(problems)
    return reason.strip()


def revert(store: CatalogStore, principal: Principal, t: Target, reason: Any = "") -> Reverted:
    """Revert ``t`` as ``principal``: plan it again and write it, in one transaction under a fresh request id,
    with its record; RevertRefused (nothing written) when a later change is in the way."""
    require(principal, "approve")
    why = check_reason(reason)
    ctx = WriteContext(actor=principal.name)
    with store.transaction(ctx):
        p = plan(store, principal, t)
        for u in p.undo:
            current = _current(store, u.ref)
            version = current.version if current is not None else 0
            if u.is_relationship:
                if u.op == "delete":
                    store.delete_relationship(u.ref[4:], version, ctx)
                elif u.op == "create":
                    store.create_relationship(Relationship.model_validate(u.restored), ctx)
                else:
                    store.update_relationship(Relationship.model_validate(u.restored), version, ctx)
            elif u.op == "delete":
                store.delete_entity(u.ref, version, ctx)
            elif u.op == "create":
                store.create_entity(Entity.model_validate(u.restored), ctx)
            else:
                store.update_entity(Entity.model_validate(u.restored), version, ctx)
        data = {
            **p.summary(),
            "actor": principal.name,
            "at": store.clock().astimezone(dt.UTC).isoformat(timespec="seconds"),
            "reason": why,
        }
        store.put_record(COLLECTION, ctx.request_id, data, ctx, expected_version=0)
    written = [c.seq for c in store.changelog(request_id=ctx.request_id)]
    return Reverted(ctx.request_id, p, written, principal.name, why)


def get(store: CatalogStore, request_id: str) -> dict[str, Any] | None:
    """The record of the revert written under ``request_id`` (None: that request was not a revert)."""
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 200:
        return None
    rec = store.get_record(COLLECTION, request_id)
    return dict(rec.data) if rec is not None else None


def reverts_of(store: CatalogStore, request_ids: set[str]) -> dict[str, dict[str, Any]]:
    """request id -> revert record, for those of ``request_ids`` that are reverts (the change log's causes)."""
    out = {}
    for rid in request_ids:
        data = get(store, rid)
        if data is not None:
            out[rid] = data
    return out


__all__ = [
    "COLLECTION",
    "MAX_ENTRIES",
    "TARGETS",
    "Plan",
    "RevertRefused",
    "Reverted",
    "Target",
    "Undo",
    "get",
    "plan",
    "revert",
    "reverts_of",
    "target",
]
