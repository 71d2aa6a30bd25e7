"""Change-log entries as people read them, and the log filtered for them.

For each entry: what it is about (an entity by its name, a relationship as "source -> its label -> target", an
organisation event by its type's label, a draft), the fields it changed with the value before and after (fields and
enumerated values by their metamodel labels, organisations and other entities by name, long text diffed word by
word), who made it, who proposed it (the submitter of an approved draft, ``ChangeEntry.proposer``), its request id
and what caused it: the import run whose id is the request id, the organisation event named by the ownership period
it opened, the draft it applied.

:func:`select` reads the log newest first through a filter (actor, organisation, kind, operation, period, item) in
windows from the head, so one request reads a bounded number of entries however long the log is; :func:`rows` makes
the same entries a table for the CSV and XLSX exports (:mod:`catalog.sheets`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from catalog.i18n import format_date, msg
from catalog.metamodel import EVENT_LABELS, AttributeSpec, Metamodel
from catalog.model import REF_RE, ChangeEntry

IMPORT_RUNS = "import-run"  # the records collection of import runs (importers.base.RUNS), keyed by run id
REVERTS = "revert"  # the records of reverts (catalog.revert.COLLECTION), keyed by the revert's request id
LONG = 80  # text longer than this, or holding a line break, is shown as a word diff
WINDOW = 2000  # entries read from the store at a time while filtering
SCAN = 50_000  # entries one request reads at most while filtering (the page says where it stopped)
OPERATIONS = ("create", "update", "delete")
BOOKKEEPING = frozenset({"version", "created_at", "updated_at", "ref"})

# the labels of the fields every entity has (its attributes' are the metamodel's)
FIELD_LABELS = {
    "name": msg("ui-field-name"),
    "description": msg("ui-field-description"),
    "tags": msg("ui-field-tags"),
    "owner_history": msg("ui-field-owner"),
    "valid_from": msg("hist-field-valid-from"),
    "valid_to": msg("hist-field-valid-to"),
    "provenance": msg("ui-field-source"),
    "code": msg("ui-field-code"),
    "kind": msg("hist-field-kind"),
}
DATE_FIELDS = ("valid_from", "valid_to")
# an organisation event's fields, and a draft's (the other fields of a draft, and other records, are bookkeeping)
EVENT_FIELDS = {
    "type": msg("hist-field-event-type"),
    "date": msg("hist-field-date"),
    "legal_basis": msg("hist-field-legal-basis"),
    "from": msg("hist-field-from"),
    "to": msg("hist-field-to"),
    "transfers": msg("hist-field-transfers"),
    "new_name": msg("hist-field-new-name"),
}  # an event's note (free text, in whichever language it was typed) stays on the event itself
DRAFT_FIELDS = {"status": msg("ui-status"), "note": msg("ui-note"), "reason": msg("ui-reason-for-rejecting")}
DRAFT_STATUSES = {
    "pending": msg("ui-draft-pending"),
    "approved": msg("ui-draft-approved"),
    "rejected": msg("ui-draft-rejected"),
}
PARTS = {"vi": msg("ui-field-part-vi"), "en": msg("ui-field-part-en")}
OP_LABELS = {"create": msg("ui-op-create"), "update": msg("ui-op-update"), "delete": msg("ui-op-delete")}
# what an entry is about, beside the metamodel's kinds
OTHER_KINDS = {"rel": msg("hist-kind-relationship"), "event": msg("hist-kind-event"), "record": msg("hist-kind-record")}


@dataclass(frozen=True)
class FieldChange:
    """One changed field: ``key`` as stored (``name.vi``, ``attributes.vendor``, ``properties.protocol``), its label
    and both values as text in the page's language ("" for none). ``diff``: for long text, the words of both as
    (``same`` | ``del`` | ``ins``, text) pieces."""

    key: str
    label: str
    before: str
    after: str
    diff: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Cause:
    """What made the change: ``kind`` is ``import``, ``event``, ``draft`` or ``revert``; ``text`` in the page's language."""

    kind: str
    text: str
    href: str = ""


@dataclass
class ChangeRow:
    entry: ChangeEntry
    item: str
    href: str
    op_label: str
    fields: list[FieldChange] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeFilter:
    """Which entries to show; empty fields filter nothing. ``kind``: an entity kind of the metamodel, or ``rel``,
    ``event``, ``record``; ``org``: entries about that organisation, about an entity it owned in any period, an
    organisation event naming it, or a relationship with it at one end; ``since``/``until``: UTC days, inclusive."""

    actor: str = ""
    org: str = ""
    kind: str = ""
    op: str = ""
    ref: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def active(self) -> bool:
        return bool(self.actor or self.org or self.kind or self.op or self.ref or self.since or self.until)

    def matches(self, c: ChangeEntry) -> bool:
        if self.ref and c.ref != self.ref:
            return False
        if self.actor and self.actor not in (c.actor, c.proposer):
            return False
        if self.op and c.op != self.op:
            return False
        if self.kind and c.ref.split(":", 1)[0] != self.kind:
            return False
        day = c.time[:10]
        if self.since and day < self.since.isoformat():
            return False
        if self.until and day > self.until.isoformat():
            return False
        return not self.org or self.org in orgs_of(c)


def orgs_of(c: ChangeEntry) -> set[str]:
    """The organisations an entry is about (see :class:`ChangeFilter`)."""
    out = {c.ref} if c.ref.startswith("organization:") else set()
    for body in (c.before, c.after):
        if not isinstance(body, dict):
            continue
        for p in body.get("owner_history") or []:
            if isinstance(p, dict) and isinstance(p.get("org"), str):
                out.add(p["org"])
        if c.ref.startswith("rel:"):
            out |= {x for x in (body.get("source"), body.get("target")) if isinstance(x, str)}
        if c.ref.startswith("event:"):
            out |= {x for x in (body.get("from") or []) + (body.get("to") or []) if isinstance(x, str)}
            out |= {
                t["to"] for t in body.get("transfers") or [] if isinstance(t, dict) and isinstance(t.get("to"), str)
            }
    return out


@dataclass
class Selection:
    entries: list[ChangeEntry]  # newest first
    next_before: int | None  # pass as ``before`` for the next (older) page; None: nothing older
    scanned_to: int  # the oldest seq read


def select(store: Any, flt: ChangeFilter, limit: int = 100, before: int | None = None, scan: int = SCAN) -> Selection:
    """Up to ``limit`` entries matching ``flt``, newest first, with seq below ``before`` (None: from the head).
    Reads the log in windows of :data:`WINDOW` entries towards the start, at most ``scan`` entries; when it stops
    before the start, ``next_before`` says where to go on."""
    head, _ = store.revision()
    top = head if before is None else max(0, min(int(before) - 1, head))
    if flt.ref and not (flt.org or flt.kind):  # one item: the store filters by ref itself
        found = [c for c in store.changelog(ref=flt.ref) if c.seq <= top and flt.matches(c)]
        found.reverse()
        page = found[:limit]
        more = len(found) > limit
        return Selection(page, page[-1].seq if more and page else None, 0)
    out: list[ChangeEntry] = []
    hi, read = top, 0
    step = WINDOW if flt.active() else max(1, limit)  # unfiltered: read exactly the page
    pushed = _pushed(flt)
    while hi > 0 and read < scan:
        lo = max(0, hi - step)
        window = store.changelog(after_seq=lo, before_seq=hi + 1, **pushed)
        read += hi - lo
        for c in reversed(window):
            if c.seq <= hi and flt.matches(c):
                out.append(c)
                if len(out) == limit:
                    return Selection(out, c.seq if c.seq > 1 else None, c.seq)
        hi = lo
    return Selection(out, hi + 1 if hi > 0 else None, hi + 1)


def _pushed(flt: ChangeFilter) -> dict[str, str]:
    """The parts of a filter the store applies in its query (operation, kind): only matching entries are read."""
    return {k: v for k, v in (("op", flt.op), ("kind", flt.kind)) if v}


def select_after(
    store: Any, flt: ChangeFilter, after_seq: int = 0, limit: int = 100, scan: int = SCAN
) -> tuple[list[ChangeEntry], int | None]:
    """Up to ``limit`` entries matching ``flt`` with seq above ``after_seq``, oldest first (the REST API's order),
    reading at most ``scan`` entries; and the ``after_seq`` of the next page (None: the log has no more)."""
    head, _ = store.revision()
    out: list[ChangeEntry] = []
    lo, read = max(0, int(after_seq)), 0
    step = WINDOW if flt.active() else max(1, limit)
    pushed = _pushed(flt)
    while lo < head and read < scan:
        hi = min(head, lo + step)
        for c in store.changelog(after_seq=lo, before_seq=hi + 1, **pushed):
            if flt.matches(c):
                out.append(c)
                if len(out) == limit:
                    return out, (c.seq if c.seq < head else None)
        read += hi - lo
        lo = hi
    return out, (lo if lo < head else None)


# --- values as text ----------------------------------------------------------------------------------------------


def _flat(body: dict[str, Any] | None) -> dict[str, Any]:
    """An entry's body as field -> value: texts by language (``name.vi``), attributes and properties one each."""
    out: dict[str, Any] = {}
    for k, v in (body or {}).items():
        if k in BOOKKEEPING:
            continue
        if k in ("name", "description", "new_name") and isinstance(v, dict):
            for lang, t in v.items():
                out[f"{k}.{lang}"] = t
        elif k in ("attributes", "properties") and isinstance(v, dict):
            for a, x in v.items():
                out[f"{k}.{a}"] = x
        else:
            out[k] = v
    return out


class _Labeller:
    """Labels and value texts of one page: the metamodel's, and names of the entities the entries mention."""

    def __init__(self, store: Any, lang: str, entries: Iterable[ChangeEntry]):
        self.mm: Metamodel = store.metamodel
        self.lang = lang
        refs: set[str] = set()
        for c in entries:
            for body in (c.before, c.after):
                refs |= _refs(body)
            refs.add(c.ref)
        self.names = store.get_entities(sorted(r for r in refs if ":" in r and not r.startswith(("rel:", "event:"))))
        self.events: dict[str, Any] | None = None
        self.store = store

    def name(self, ref: Any) -> str:
        return self.names[ref].name.get(self.lang) if ref in self.names else str(ref)

    def event(self, event_id: str) -> Any:
        if self.events is None:
            self.events = {e.id: e for e in self.store.list_events()}
        return self.events.get(event_id)

    def spec_of(self, c: ChangeEntry) -> tuple[str, Any]:
        """("entity" | "rel" | "event" | "draft" | "other", the kind's or relationship type's spec or None)."""
        body = c.after or c.before or {}
        if c.ref.startswith("rel:"):
            return "rel", self.mm.relations.get(body.get("type", ""))
        if c.ref.startswith("event:"):
            return "event", None
        if c.ref.startswith("record:draft/"):
            return "draft", None
        kind = c.ref.split(":", 1)[0]
        return ("entity", self.mm.kinds[kind]) if kind in self.mm.kinds else ("other", None)

    def label(self, key: str, what: str, spec: Any) -> str:
        top, _, rest = key.partition(".")
        lang = self.lang
        if what in ("event", "draft"):
            base = (EVENT_FIELDS if what == "event" else DRAFT_FIELDS)[top]
            return f"{base.text(lang)} ({PARTS[rest].text(lang)})" if rest in PARTS else base.text(lang)
        if top in ("attributes", "properties"):
            a = (spec.attribute(rest) if top == "attributes" else spec.property(rest)) if spec else None
            return a.label.get(lang) if a else rest
        label = FIELD_LABELS.get(top)
        if label is None:
            return key
        base = label
        if rest in PARTS:
            return f"{base.text(lang)} ({PARTS[rest].text(lang)})"
        return base.text(lang)

    def value(self, key: str, v: Any, what: str, spec: Any) -> str:
        if v is None or v == "" or v == [] or v == {}:
            return ""
        top, _, rest = key.partition(".")
        a: AttributeSpec | None = None
        if top == "attributes" and spec is not None:
            a = spec.attribute(rest)
        elif top == "properties" and spec is not None:
            a = spec.property(rest)
        if what == "event" and top == "type" and isinstance(v, str) and v in EVENT_LABELS:
            return EVENT_LABELS[v].get(self.lang)
        if what == "event" and top == "transfers" and isinstance(v, list):
            return "; ".join(
                f"{self.name(t.get('entity'))} → {self.name(t.get('to'))}" for t in v if isinstance(t, dict)
            )
        if what == "draft" and top == "status" and v in DRAFT_STATUSES:
            return DRAFT_STATUSES[v].text(self.lang)
        if top == "owner_history" and isinstance(v, list):
            return "; ".join(self._period(p) for p in v if isinstance(p, dict))
        if top == "provenance" and isinstance(v, dict):
            return str(v.get("source") or "")
        if top == "kind" and what == "entity" and isinstance(v, str) and v in self.mm.kinds:
            return self.mm.kinds[v].label.get(self.lang)
        if isinstance(v, str) and (top in DATE_FIELDS or (what == "event" and top == "date")):
            return format_date(v, self.lang)
        if isinstance(v, list):
            return "; ".join(self._one(x, a) for x in v)
        return self._one(v, a)

    def _one(self, v: Any, a: AttributeSpec | None) -> str:
        if a is not None and a.values and isinstance(v, str):
            return a.value_label(v, self.lang)
        if a is not None and a.type == "date" and isinstance(v, str):
            return format_date(v, self.lang)  # the page's language writes dates its own way
        if isinstance(v, bool):
            return (msg("ui-yes") if v else msg("ui-no")).text(self.lang)
        if isinstance(v, str) and v in self.names:
            return self.name(v)
        if isinstance(v, dict):
            return ", ".join(f"{k}: {self._one(x, None)}" for k, x in sorted(v.items()))
        return str(v)

    def _period(self, p: dict[str, Any]) -> str:
        span = f"{format_date(p.get('start'), self.lang) or '…'} → {format_date(p.get('end'), self.lang) or '…'}"
        return f"{self.name(p.get('org'))} ({span})"


def _refs(body: Any) -> set[str]:
    """Entity references a body holds (values that look like ``kind:code``), for names."""
    out: set[str] = set()
    if isinstance(body, dict):
        for v in body.values():
            out |= _refs(v)
    elif isinstance(body, list):
        for v in body:
            out |= _refs(v)
    elif isinstance(body, str) and REF_RE.match(body):
        out.add(body)
    return out


_WORDS = re.compile(r"\s+|\w+|[^\w\s]+")


def word_diff(before: str, after: str) -> tuple[tuple[str, str], ...]:
    """The two texts as pieces (``same`` | ``del`` | ``ins``, text), word by word (white space kept)."""
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            out.append(("del", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            out.append(("ins", "".join(b[j1:j2])))
    return tuple(out)


def field_changes(c: ChangeEntry, lab: _Labeller) -> list[FieldChange]:
    """The fields ``c`` changed, each with its value before and after (all of them for a create or delete)."""
    what, spec = lab.spec_of(c)
    if what == "other":  # accounts, import runs and other records: bookkeeping, not the catalog's content
        return []
    shown = {"event": EVENT_FIELDS, "draft": DRAFT_FIELDS}.get(what)
    before, after = _flat(c.before), _flat(c.after)
    out = []
    for key in sorted(set(before) | set(after), key=_order):
        top = key.split(".")[0]
        if (shown is not None and top not in shown) or (what == "rel" and top in ("id", "type", "source", "target")):
            continue
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        bt, at = lab.value(key, b, what, spec), lab.value(key, a, what, spec)
        if bt == at:
            continue
        long = (
            bool(bt and at)
            and isinstance(b, str)
            and isinstance(a, str)
            and (len(bt) > LONG or len(at) > LONG or "\n" in bt or "\n" in at)
        )
        out.append(FieldChange(key, lab.label(key, what, spec), bt, at, word_diff(bt, at) if long else ()))
    return out


_FIRST = ("name", "description", "owner_history", "attributes", "properties", "tags")


def _order(key: str) -> tuple[int, str]:
    top = key.split(".")[0]
    return (_FIRST.index(top) if top in _FIRST else len(_FIRST), key)


def _item(c: ChangeEntry, lab: _Labeller) -> tuple[str, str]:
    lang, mm = lab.lang, lab.mm
    body = c.after or c.before or {}
    if c.ref.startswith("rel:"):
        rel = mm.relations.get(body.get("type", ""))
        label = rel.label.get(lang) if rel else str(body.get("type", ""))
        return f"{lab.name(body.get('source'))} → {label} → {lab.name(body.get('target'))}", ""
    if c.ref.startswith("event:"):
        event = EVENT_LABELS.get(body.get("type", ""))
        orgs = ", ".join(lab.name(x) for x in (body.get("from") or []) + (body.get("to") or []))
        return (event.get(lang) if event else c.ref) + (f": {orgs}" if orgs else ""), ""
    if c.ref.startswith("record:"):
        collection = c.ref.removeprefix("record:").split("/")[0]
        of = body.get("ref") if collection == "draft" else None
        if collection == REVERTS:
            return msg("ui-change-revert").text(lang), c.ref.replace("record:", "/", 1)
        if collection != "draft":
            return c.ref, ""
        if isinstance(of, str) and of in lab.names:
            return msg("ui-change-draft-of", name=lab.name(of)).text(lang), f"/entities/{of}"
        return msg("ui-change-draft").text(lang), ""
    name = body.get("name")
    names_of: dict[str, Any] = name if isinstance(name, dict) else {}
    return names_of.get(lang) or names_of.get("vi") or names_of.get("en") or c.ref, f"/entities/{c.ref}"


def items(store: Any, entries: list[ChangeEntry], lang: str) -> dict[int, dict[str, str]]:
    """seq -> {"text", "href"}: what each entry is about, as people call it."""
    lab = _Labeller(store, lang, entries)
    return {c.seq: dict(zip(("text", "href"), _item(c, lab), strict=True)) for c in entries}


def revert_cause(record: dict[str, Any]) -> Any:
    """What a revert's record says it undid, and why, as a message."""
    found = record.get("target")
    t: dict[str, Any] = found if isinstance(found, dict) else {}
    reason = str(record.get("reason") or "")
    why = msg("hist-cause-revert-reason", reason=reason) if reason else ""
    if "run" in t:
        return msg("hist-cause-revert-run", run=str(t["run"]), reason=why)
    if "draft" in t:
        return msg("hist-cause-revert-draft", id=str(t["draft"]), reason=why)
    return msg("hist-cause-revert-seq", seq=str(t.get("seq", "")), reason=why)


def _causes(c: ChangeEntry, lab: _Labeller, runs: dict[str, Any], reverts: dict[str, Any] | None = None) -> list[Cause]:
    reverts = reverts or {}
    lang = lab.lang
    out = []
    run = runs.get(c.request_id)
    if run is not None:
        out.append(
            Cause(
                "import",
                msg(
                    "hist-cause-import",
                    run=c.request_id,
                    file=PurePath(str(run.get("file") or run.get("source") or "")).name,
                ).text(lang),
            )
        )
    if c.proposer:
        out.append(Cause("draft", msg("hist-cause-draft", proposer=c.proposer, approver=c.actor).text(lang)))
    revert = reverts.get(c.request_id)
    if revert is not None:  # a revert (catalog.revert): what it undid and why
        out.append(Cause("revert", revert_cause(revert).text(lang), f"/revert/{c.request_id}"))
    opened = [  # an update that opened an ownership period of an organisation event (a creation merely records them)
        p
        for p in ((c.after or {}).get("owner_history") or [] if c.op == "update" else [])
        if isinstance(p, dict) and p.get("event")
    ]
    known = {p.get("event") for p in (c.before or {}).get("owner_history") or [] if isinstance(p, dict)}
    for p in opened:
        if p["event"] in known:
            continue
        ev = lab.event(p["event"])
        label = EVENT_LABELS[ev.type].get(lang) if ev is not None and ev.type in EVENT_LABELS else ""
        out.append(
            Cause(
                "event",
                msg(
                    "hist-cause-event",
                    event=label or p["event"],
                    day=str(ev.date if ev is not None else p.get("start") or ""),
                    basis=(ev.legal_basis if ev is not None else "") or p.get("basis") or "—",
                ).text(lang),
            )
        )
    return out


def describe(store: Any, entries: list[ChangeEntry], lang: str) -> list[ChangeRow]:
    """Each entry as a :class:`ChangeRow` (in the order given)."""
    lab = _Labeller(store, lang, entries)
    runs = {}
    for rid in {c.request_id for c in entries}:
        rec = store.get_record(IMPORT_RUNS, rid) if rid and len(rid) <= 200 else None
        if rec is not None:
            runs[rid] = rec.data
    reverts = {}
    for rid in {c.request_id for c in entries}:
        rec = store.get_record(REVERTS, rid) if rid and len(rid) <= 200 else None
        if rec is not None:
            reverts[rid] = rec.data
    out = []
    for c in entries:
        text, href = _item(c, lab)
        out.append(
            ChangeRow(
                entry=c,
                item=text,
                href=href,
                op_label=OP_LABELS[c.op].text(lang) if c.op in OP_LABELS else c.op,
                fields=field_changes(c, lab),
                causes=_causes(c, lab, runs, reverts),
            )
        )
    return out


def kind_options(mm: Metamodel, lang: str) -> list[tuple[str, str]]:
    """(value, label) of the kind filter: the metamodel's kinds, then relationships, events and records."""
    kinds = [(k, spec.label.get(lang)) for k, spec in mm.kinds.items()]
    return kinds + [(k, m.text(lang)) for k, m in OTHER_KINDS.items()]


HEADER = (
    msg("hist-col-seq"),
    msg("ui-when-utc"),
    msg("ui-who"),
    msg("hist-col-proposer"),
    msg("ui-operation"),
    msg("ui-item"),
    msg("hist-col-ref"),
    msg("hist-col-field"),
    msg("hist-col-before"),
    msg("hist-col-after"),
    msg("hist-col-cause"),
    msg("hist-col-request"),
)


def header(lang: str) -> list[str]:
    """The export's column names, in ``lang`` (the columns of :func:`rows`)."""
    return [m.text(lang) for m in HEADER]


def rows(described: list[ChangeRow]) -> list[list[Any]]:
    """One row per changed field (one per entry that changed none), for :func:`catalog.sheets.write_csv` and
    :func:`catalog.sheets.write_xlsx`."""
    out: list[list[Any]] = []
    for r in described:
        c = r.entry
        cause = "; ".join(x.text for x in r.causes)
        lead = [c.seq, c.time, c.actor, c.proposer or "", r.op_label, r.item, c.ref]
        for f in r.fields or [FieldChange("", "", "", "")]:
            out.append([*lead, f.label, f.before, f.after, cause, c.request_id])
    return out


__all__ = [
    "Cause",
    "ChangeFilter",
    "ChangeRow",
    "FieldChange",
    "Selection",
    "describe",
    "field_changes",
    "header",
    "items",
    "kind_options",
    "orgs_of",
    "rows",
    "select",
    "select_after",
    "word_diff",
]
