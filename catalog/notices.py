"""In-app notices: a consumer of the change events (:mod:`catalog.outbox`) writing per-user notices.

Who is told what:

- ``draft.submitted``: every approver (active architects and admins) except the submitter;
- ``draft.approved`` / ``draft.rejected`` (with the reason): the draft's submitter;
- ``entity.*`` and ``relationship.*``: the watchers of the entity (of either end of a relationship), except the
  user who made the change. A user watches or stops watching an entity with :meth:`Notices.watch` /
  :meth:`Notices.unwatch` (the button on the entity page).

Storage (records, ``log=False``: notices are not catalog facts and never enter the change log):

- ``notice-box/<user>``: the user's newest notices (at most ``keep``, setting ``notices_keep``), each with the event
  id, type, entity, the entity's name at the time (so a deleted entity keeps its label), the actor, the draft and its
  reason, and whether it was read;
- ``watch/<ref>``: the users watching that entity;
- the consumer's cursor ``outbox-cursor/notices`` (:func:`catalog.outbox.claim`).

**E-mail** (optional): with an SMTP server configured (settings ``smtp_*``), :func:`mail_pass` sends the same notices
to the users who have an e-mail address (``ioc-catalog user add --email``), in the ``lang`` setting's language, as a
consumer of its own (cursor ``outbox-cursor/mail``): a failing server holds the cursor, and the same events are sent
on a later pass.

:func:`catch_up` handles the events recorded since the cursor (at most ``batch`` change-log entries per call). The
server's background worker calls it, and so does every read of a user's notices and of the unread count, so a page
is never behind the log by more than one bounded catch-up. The cursor starts at the log's head the first time
(:func:`start`): notices begin with what happens after notices were first switched on.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalog.errors import Conflict, FieldError, NotFound, ValidationFailed
from catalog.i18n import Message, msg
from catalog.model import REF_RE
from catalog.outbox import ChangeEvent, claim, events_after, start_cursor
from catalog.permissions import Principal
from catalog.store.base import CatalogStore, WriteContext

BOXES = "notice-box"
WATCHES = "watch"
CURSOR = "notices"
KEEP = 200
MAX_WATCHERS = 1000
_CTX = WriteContext(actor="notify")
APPROVER_ROLES = ("architect", "admin")

# the sentence of each notice type (parameters: actor, name, reason)
SENTENCES: dict[str, Callable[..., Message]] = {
    "draft.submitted": lambda **p: msg("notice-draft-submitted", **p),
    "draft.approved": lambda **p: msg("notice-draft-approved", **p),
    "draft.rejected": lambda **p: msg("notice-draft-rejected", **p),
    "entity.created": lambda **p: msg("notice-entity-created", **p),
    "entity.updated": lambda **p: msg("notice-entity-updated", **p),
    "entity.deleted": lambda **p: msg("notice-entity-deleted", **p),
    "relationship.created": lambda **p: msg("notice-relationship-created", **p),
    "relationship.updated": lambda **p: msg("notice-relationship-updated", **p),
    "relationship.deleted": lambda **p: msg("notice-relationship-deleted", **p),
    "campaign.reminder": lambda **p: msg("notice-campaign-reminder", **p),  # reason: the deadline (catalog.campaigns)
}


@dataclass(frozen=True)
class Notice:
    id: int  # the change event's id (change-log seq)
    type: str
    ref: str
    name: dict[str, str]  # the entity's name (vi, en) when the notice was written
    actor: str
    time: str
    draft: str | None = None
    reason: str = ""
    read: bool = False
    fields: tuple[dict[str, str], ...] = ()  # labels (vi, en) of the fields an update changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "ref": self.ref,
            "name": self.name,
            "actor": self.actor,
            "time": self.time,
            "draft": self.draft,
            "reason": self.reason,
            "read": self.read,
            "fields": list(self.fields),
        }

    def sentence(self, lang: str) -> str:
        """The notice in ``lang``: who did what to which entity (by its name), and a rejection's reason."""
        name = self.name.get(lang) or self.name.get("vi") or next(iter(self.name.values()), "") or self.ref
        if self.type == "entity.updated" and self.fields:
            labels = ", ".join(f.get(lang) or f.get("vi") or "" for f in self.fields)
            return msg("notice-entity-updated-fields", actor=self.actor, name=name, fields=labels).text(lang)
        if self.type == "campaign.reminder":
            from catalog.i18n import format_date

            deadline = format_date(self.reason, lang) if self.reason else ""
            return SENTENCES[self.type](actor=self.actor, name=name, reason=deadline).text(lang)
        return SENTENCES[self.type](actor=self.actor, name=name, reason=self.reason).text(lang)


def _notice(d: dict[str, Any]) -> Notice:
    return Notice(
        id=int(d.get("id") or 0),
        type=str(d.get("type", "")),
        ref=str(d.get("ref", "")),
        name=dict(d.get("name") or {}),
        actor=str(d.get("actor", "")),
        time=str(d.get("time", "")),
        draft=d.get("draft"),
        reason=str(d.get("reason") or ""),
        read=bool(d.get("read")),
        fields=tuple(f for f in d.get("fields") or () if isinstance(f, dict)),
    )


def start(store: CatalogStore) -> None:
    """Create the notices' cursor at the log's head unless it exists (the server does this when it starts)."""
    start_cursor(store, CURSOR)


def _update(store: CatalogStore, collection: str, key: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Read-modify-write of one record with expected_version, retried on a conflict."""
    for _ in range(20):
        rec = store.get_record(collection, key)
        data = change(dict(rec.data) if rec else {})
        try:
            return store.put_record(collection, key, data, _CTX, expected_version=rec.version if rec else 0, log=False)
        except Conflict:
            continue
        except Exception as exc:  # AlreadyExists: created meanwhile
            if type(exc).__name__ != "AlreadyExists":
                raise
    raise Conflict(f"record:{collection}/{key}", None, None)


def _approvers(store: CatalogStore) -> list[str]:
    return sorted(
        str(r.data.get("name"))
        for r in store.list_records("user", limit=100_000)
        if r.data.get("role") in APPROVER_ROLES and not r.data.get("disabled")
    )


def _recipients(store: CatalogStore, ev: ChangeEvent, watchers: Callable[[str], list[str]]) -> list[str]:
    if ev.type == "draft.submitted":
        who = _approvers(store)
        submitter = (ev.draft or {}).get("submitted_by")
        return [u for u in who if u != submitter]
    if ev.type in ("draft.approved", "draft.rejected"):
        submitter = (ev.draft or {}).get("submitted_by")
        return [submitter] if isinstance(submitter, str) and submitter != ev.actor else []
    if ev.type in SENTENCES:
        users: list[str] = []
        for ref in ev.refs:
            users += watchers(ref)
        return [u for u in dict.fromkeys(users) if u != ev.actor]
    return []


def _proposed_name(ev: ChangeEvent, ref: str) -> dict[str, str]:
    """The name a draft proposes for an entity it creates (not in the catalog yet), from the draft's change set."""
    names = (ev.draft or {}).get("names") or {}
    return {k: v for k, v in (names.get(ref) or {}).items() if isinstance(v, str)}


MAX_FIELDS = 6  # changed fields a notice names (the entity's history has them all)


def _field_labels(store: CatalogStore, ev: ChangeEvent) -> tuple[dict[str, str], ...]:
    """The labels (vi, en) of the fields an update changed, as the metamodel and the change log's pages name them."""
    from catalog.history.changes import FIELD_LABELS

    spec = store.metamodel.kinds.get(ev.kind or "")
    out = []
    for f in ev.changed[:MAX_FIELDS]:
        if f.startswith("attributes."):
            a = spec.attribute(f.split(".", 1)[1]) if spec else None
            if a is not None:
                out.append({"vi": a.label.get("vi"), "en": a.label.get("en")})
        elif f in FIELD_LABELS:
            out.append({"vi": FIELD_LABELS[f].text("vi"), "en": FIELD_LABELS[f].text("en")})
    return tuple(out)


def _addressed(store: CatalogStore, events: list[ChangeEvent]) -> dict[str, list[dict[str, Any]]]:
    """user -> the notices (as stored) these events give them, in event order."""
    watch_cache: dict[str, list[str]] = {}

    def watchers(ref: str) -> list[str]:
        if ref not in watch_cache:
            rec = store.get_record(WATCHES, ref)
            watch_cache[ref] = list(rec.data.get("users") or []) if rec else []
        return watch_cache[ref]

    boxes: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, dict[str, str]] = {}
    for ev in events:
        users = _recipients(store, ev, watchers)
        if not users:
            continue
        ref = ev.ref if REF_RE.match(ev.ref) else (ev.refs[0] if ev.refs else ev.ref)
        if ref not in names:
            found = store.find_entity(ref) if REF_RE.match(ref) else None
            names[ref] = {"vi": found.name.get("vi"), "en": found.name.get("en")} if found else _proposed_name(ev, ref)
        item = Notice(
            id=ev.id,
            type=ev.type,
            ref=ref,
            name=names[ref],
            actor=ev.actor,
            time=ev.time,
            draft=(ev.draft or {}).get("id"),
            reason=(ev.draft or {}).get("reason", ""),
            fields=_field_labels(store, ev) if ev.type == "entity.updated" else (),
        ).as_dict()
        for u in users:
            boxes.setdefault(u, []).append(item)
    return boxes


def catch_up(store: CatalogStore, batch: int = 1000, keep: int = KEEP, clock: Callable[[], float] = time.time) -> int:
    """Turn the events recorded since the cursor into notices (at most ``batch`` change-log entries); returns how
    many notices were written. Does nothing when another worker holds the cursor's lease."""
    cursor = claim(store, CURSOR, 60.0, clock, only_if_behind=True)
    if cursor is None:
        return 0
    written = 0
    try:
        events, last = events_after(store, cursor.seq, batch)
        if last == cursor.seq:
            return 0
        for user, items in _addressed(store, events).items():

            def add(data: dict[str, Any], items: list[dict[str, Any]] = items) -> dict[str, Any]:
                have = data.get("items") or []
                seen = {(i.get("id"), i.get("type")) for i in have}
                new = [i for i in items if (i["id"], i["type"]) not in seen]
                return {"items": (have + new)[-keep:]}

            _update(store, BOXES, user, add)
            written += len(items)
        cursor.save(seq=last)
        return written
    finally:
        cursor.release()


def deliver(store: CatalogStore, users: list[str], notice: dict[str, Any], settings: Any = None) -> int:
    """Put one notice that is not a change event of its own (a campaign's reminder: :func:`catalog.campaigns.remind`)
    into each user's box, and e-mail it to those with an address when an SMTP server is configured (a failing
    server is logged; the in-app notice stays). Returns how many boxes received it."""
    item = _notice(notice).as_dict()
    for user in users:

        def add(data: dict[str, Any]) -> dict[str, Any]:
            have = [i for i in data.get("items") or [] if (i.get("id"), i.get("type")) != (item["id"], item["type"])]
            return {"items": (have + [item])[-KEEP:]}

        _update(store, BOXES, user, add)
    mailer = Mailer.from_settings(settings) if settings is not None else None
    if mailer is not None:
        import smtplib

        emails = {}
        for name in users:
            rec = store.get_record("user", name)
            if rec and rec.data.get("email") and not rec.data.get("disabled"):
                emails[name] = str(rec.data["email"])
        try:
            if emails:
                mailer.send([_message(mailer, to, _notice(item)) for to in emails.values()])
        except (OSError, smtplib.SMTPException) as exc:
            import logging

            logging.getLogger("ioc_catalog.notify").warning("campaign e-mail failed: %s", type(exc).__name__)
    return len(users)


# --- e-mail -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mailer:
    """The SMTP server notices are e-mailed through (settings ``smtp_*``)."""

    host: str
    port: int = 587
    sender: str = "ioc-catalog@localhost"
    starttls: bool = True
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0
    lang: str = "vi"

    @classmethod
    def from_settings(cls, settings: Any) -> Mailer | None:
        """None when no SMTP server is configured (``smtp_host`` unset): notices stay in-app."""
        if not settings.smtp_host:
            return None
        password = settings.smtp_password.get_secret_value() if settings.smtp_password is not None else None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_starttls,
            settings.smtp_user,
            password,
            settings.smtp_timeout_seconds,
            settings.lang,
        )

    def send(self, messages: list[Any]) -> None:
        """Send every message over one connection; raises (OSError, smtplib.SMTPException) when the server fails."""
        import smtplib

        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            for m in messages:
                smtp.send_message(m)


def _message(mailer: Mailer, to: str, notice: Notice) -> Any:
    """One notice as an e-mail. Built with the classic MIMEText and Header: the modern EmailMessage folds a long
    Vietnamese subject into encoded words with the space between two of them outside both, and readers drop it."""
    from email.header import Header
    from email.mime.text import MIMEText

    sentence = notice.sentence(mailer.lang)
    m = MIMEText(f"{sentence}\n\n{notice.ref}\n\n{msg('mail-footer').text(mailer.lang)}\n", "plain", "utf-8")
    m["Subject"] = Header("ioc-catalog: " + sentence[:180], "utf-8")  # type: ignore[assignment]  # compat32 takes it
    m["From"] = mailer.sender
    m["To"] = to
    m["X-IOC-Event"] = notice.type
    m["X-IOC-Delivery"] = str(notice.id)
    return m


MAIL_CURSOR = "mail"


def mail_pass(store: CatalogStore, mailer: Mailer, batch: int = 1000, clock: Callable[[], float] = time.time) -> int:
    """E-mail the notices of the events since the mail cursor to the users who have an address (the same recipients
    as the in-app notices); returns how many were sent. When the SMTP server fails, the cursor stays where it was
    and the same events are tried on the next pass (nothing is lost; a message may come twice if the server failed
    after accepting some)."""
    cursor = claim(store, MAIL_CURSOR, 60.0 + 3 * mailer.timeout, clock, only_if_behind=True)
    if cursor is None:
        return 0
    try:
        events, last = events_after(store, cursor.seq, batch)
        if last == cursor.seq:
            return 0
        addressed = _addressed(store, events)
        emails = {}
        for name in addressed:
            rec = store.get_record("user", name)
            if rec and rec.data.get("email") and not rec.data.get("disabled"):
                emails[name] = str(rec.data["email"])
        messages = [
            _message(mailer, emails[u], _notice(i)) for u, items in addressed.items() if u in emails for i in items
        ]
        if messages:
            mailer.send(messages)
        cursor.save(seq=last)
        return len(messages)
    finally:
        cursor.release()


class Notices:
    """One user's notices and watches."""

    def __init__(
        self, store: CatalogStore, principal: Principal, batch: int = 1000, keep: int = KEEP, catch: bool = True
    ):
        if principal.name == "anonymous":
            from catalog.errors import PermissionDenied

            raise PermissionDenied(msg("notices-sign-in"))
        self.store = store
        self.principal = principal
        self.batch = batch
        self.keep = keep
        if catch:
            catch_up(store, batch, keep)

    def list(self, limit: int = 100, unread_only: bool = False) -> builtins.list[Notice]:
        """Newest first."""
        rec = self.store.get_record(BOXES, self.principal.name)
        items = [_notice(d) for d in (rec.data.get("items") or [])] if rec else []
        items.reverse()
        if unread_only:
            items = [n for n in items if not n.read]
        return items[: max(0, limit)]

    def unread(self) -> int:
        rec = self.store.get_record(BOXES, self.principal.name)
        return sum(1 for d in (rec.data.get("items") or []) if not d.get("read")) if rec else 0

    def mark_read(self, ids: builtins.list[int] | None = None) -> int:
        """Mark the notices with these event ids read (None: all); returns how many were unread."""
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
            raise ValidationFailed([FieldError("ids", msg("ui-whole-number"))])
        wanted = None if ids is None else set(ids)
        count = 0

        def mark(data: dict[str, Any]) -> dict[str, Any]:
            nonlocal count
            count = 0
            items = []
            for d in data.get("items") or []:
                if not d.get("read") and (wanted is None or d.get("id") in wanted):
                    d = {**d, "read": True}
                    count += 1
                items.append(d)
            return {"items": items}

        if self.store.get_record(BOXES, self.principal.name) is not None:
            _update(self.store, BOXES, self.principal.name, mark)
        return count

    # --- watching ---------------------------------------------------------------------------------------------------
    def _entity(self, ref: str) -> str:
        if not isinstance(ref, str) or not REF_RE.match(ref) or self.store.find_entity(ref) is None:
            raise NotFound(msg("entity-not-found", ref=str(ref)[:200]))
        return ref

    def watching(self, ref: str) -> bool:
        rec = self.store.get_record(WATCHES, ref) if isinstance(ref, str) and ref else None
        return bool(rec and self.principal.name in (rec.data.get("users") or []))

    def watch(self, ref: str) -> None:
        ref = self._entity(ref)
        me = self.principal.name

        def add(data: dict[str, Any]) -> dict[str, Any]:
            users = list(data.get("users") or [])
            if me not in users:
                if len(users) >= MAX_WATCHERS:
                    raise ValidationFailed([FieldError("ref", msg("watch-too-many", limit=MAX_WATCHERS))])
                users.append(me)
            return {"users": sorted(users)}

        _update(self.store, WATCHES, ref, add)

    def unwatch(self, ref: str) -> None:
        me = self.principal.name
        if not self.watching(ref):
            return
        _update(self.store, WATCHES, ref, lambda d: {"users": [u for u in d.get("users") or [] if u != me]})


# --- running deliveries -----------------------------------------------------------------------------------------


def notify_pass(store: CatalogStore, settings: Any, send: Any = None) -> dict[str, int]:
    """One pass of everything the notices and webhooks consume: notices caught up, every webhook's pending events
    tried (``ioc-catalog notify run --once``; the server's background worker every ``notify_interval_seconds``)."""
    from catalog.webhooks import Dispatcher, Policy

    written = catch_up(store, settings.notify_batch, settings.notices_keep)
    report = Dispatcher(store, Policy.from_settings(settings), send).run_once()
    mailer, mailed, mail_failed = Mailer.from_settings(settings), 0, 0
    if mailer is not None:
        import smtplib

        try:
            mailed = mail_pass(store, mailer, settings.notify_batch)
        except (OSError, smtplib.SMTPException) as exc:  # the SMTP server is down: the same events next pass
            import logging

            logging.getLogger("ioc_catalog.notify").warning("e-mail pass failed: %s", type(exc).__name__)
            mail_failed = 1
    return {"notices": written, "mailed": mailed, "mail_failed": mail_failed, **report.as_dict()}


def behind(store: CatalogStore) -> bool:
    """Whether the notices' cursor is behind the change log's head (more to catch up than one pass read)."""
    rec = store.get_record("outbox-cursor", CURSOR)
    return rec is not None and int(rec.data.get("seq") or 0) < store.revision()[0]


class Worker:
    """A background thread running :func:`notify_pass` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, store: CatalogStore, settings: Any):
        import threading

        self.store = store
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ioc-catalog-notify", daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def _loop(self) -> None:
        import logging

        log = logging.getLogger("ioc_catalog.notify")
        while not self._stop.is_set():
            pause = self.settings.notify_interval_seconds
            try:
                notify_pass(self.store, self.settings)
                if behind(self.store):  # a big import: go on at once, a batch at a time
                    pause = min(pause, 0.05)
            except Exception as exc:  # a store or network failure: try again next time, never stop serving
                log.warning("notify pass failed: %s", type(exc).__name__)
            self._stop.wait(pause)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
