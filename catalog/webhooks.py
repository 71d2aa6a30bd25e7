"""Webhooks: change events (:mod:`catalog.outbox`) POSTed as signed JSON to subscribed URLs, retried until delivered.

The pattern of GitHub's webhooks and NetBox's event rules:

- A **subscription** (admins only: a URL the server will call is a way into the network it runs in) is a record
  (collection ``webhook``, in the change log) with the URL (http or https, no user name or password in it), the event
  types it wants (exact, or a prefix such as ``entity.*``; none = every type), optional kinds and organisations, and
  an active flag. Its **secret** is generated at creation, shown once, and kept in its own record
  (``webhook-secret``) written with ``log=False``: it never enters the change log, a log line or a page.
- A **delivery** is ``POST <url>`` with the event's payload (:meth:`catalog.outbox.ChangeEvent.payload`, compact
  JSON, UTF-8) and the headers ``X-IOC-Event`` (the type), ``X-IOC-Delivery`` (the event id, the same on every
  retry: receivers de-duplicate on it), ``X-IOC-Hook-ID`` (the subscription) and ``X-IOC-Signature-256:
  sha256=<hex HMAC-SHA256 of the raw body with the secret>``. A 2xx answer is delivered; anything else (another
  status, a refused connection, a timeout) is a failed attempt. Redirects are not followed.
- **Retries and order**: each subscription has its own cursor (:class:`catalog.outbox.Cursor`); the dispatcher
  sends its events one at a time in log order, and does not pass an event until it is delivered or given up. After
  a failed attempt the next waits ``min(max_delay, base_delay * 2**(attempt-1))``; after ``attempts`` failures the
  event is given up (recorded as such) and the next one goes. A given-up event can be sent again by hand
  (:meth:`Webhooks.redeliver`). An inactive subscription keeps its place and resumes from it when made active.
- The **delivery log** (``webhook-delivery`` records, ``log=False``): subscription, event id and type, attempt,
  time, status code or error, duration, and the outcome (``delivered``, ``retry``, ``given-up``, ``manual``); the
  newest ``log_keep`` entries are kept (setting ``webhook_log_keep``).

``Dispatcher(store, policy).run_once()`` does one pass over every subscription; the server runs it in a background
thread (setting ``notify_worker``) and ``ioc-catalog notify run`` from cron or systemd.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from catalog.errors import Conflict, FieldError, NotFound, ValidationFailed
from catalog.i18n import msg
from catalog.outbox import (
    EVENT_TYPES,
    ChangeEvent,
    claim,
    drop_cursor,
    events_after,
    iso,
    read_cursor,
    start_cursor,
    to_event,
)
from catalog.permissions import SYSTEM, Principal, require
from catalog.store.base import CatalogStore, WriteContext

COLLECTION = "webhook"
SECRETS = "webhook-secret"
DELIVERIES = "webhook-delivery"
MAX_URL = 2000
MAX_SUBSCRIPTIONS = 1000
OUTCOMES = ("delivered", "retry", "given-up", "manual")


@dataclass(frozen=True)
class Policy:
    """How deliveries are retried (settings ``webhook_*``)."""

    attempts: int = 8
    base_delay: float = 10.0
    max_delay: float = 3600.0
    timeout: float = 10.0
    batch: int = 1000  # change-log entries one pass reads per subscription
    log_keep: int = 10_000  # delivery-log entries kept (the oldest go first)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...)."""
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))

    @property
    def lease(self) -> float:
        return max(60.0, 3 * self.timeout)

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(
            attempts=settings.webhook_attempts,
            base_delay=settings.webhook_base_delay_seconds,
            max_delay=settings.webhook_max_delay_seconds,
            timeout=settings.webhook_timeout_seconds,
            batch=settings.notify_batch,
            log_keep=settings.webhook_log_keep,
        )


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    events: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    active: bool = True
    description: str = ""
    created_by: str = ""
    created_at: str = ""
    version: int = 0

    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "kinds": list(self.kinds),
            "orgs": list(self.orgs),
            "active": self.active,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.data(), "version": self.version}

    def wants(self, ev: ChangeEvent) -> bool:
        """Whether this subscription's filters take ``ev``."""
        if self.events and not any(
            ev.type == e or (e.endswith(".*") and ev.type.startswith(e[:-1])) for e in self.events
        ):
            return False
        if self.kinds and ev.kind not in self.kinds:
            return False
        return not self.orgs or ev.org in self.orgs


def _subscription(data: dict[str, Any], version: int) -> Subscription:
    return Subscription(
        id=data["id"],
        url=data["url"],
        events=tuple(data.get("events") or ()),
        kinds=tuple(data.get("kinds") or ()),
        orgs=tuple(data.get("orgs") or ()),
        active=bool(data.get("active", True)),
        description=str(data.get("description") or ""),
        created_by=str(data.get("created_by") or ""),
        created_at=str(data.get("created_at") or ""),
        version=version,
    )


@dataclass(frozen=True)
class Delivery:
    """One attempt, as the delivery log keeps it."""

    key: str
    subscription: str
    event: int
    type: str
    attempt: int
    time: str
    outcome: str
    status: int | None = None
    error: str = ""
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscription": self.subscription,
            "event": self.event,
            "type": self.type,
            "attempt": self.attempt,
            "time": self.time,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def sign(secret: str, body: bytes) -> str:
    """The ``X-IOC-Signature-256`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256 with ``secret``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver checks (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def body_of(ev: ChangeEvent) -> bytes:
    return json.dumps(ev.payload(), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def check_url(url: Any) -> list[FieldError]:
    """Problems with a webhook URL: http(s) only, a host, no credentials, no spaces or control characters."""
    if not isinstance(url, str) or not url.strip():
        return [FieldError("url", msg("webhook-url-required"))]
    if len(url) > MAX_URL:
        return [FieldError("url", msg("value-too-long", limit=MAX_URL))]
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return [FieldError("url", msg("webhook-url-malformed"))]
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return [FieldError("url", msg("webhook-url-malformed"))]
    if parts.scheme not in ("http", "https"):
        return [FieldError("url", msg("webhook-url-scheme"))]
    if parts.username is not None or parts.password is not None:
        return [FieldError("url", msg("webhook-url-credentials"))]
    if not host:
        return [FieldError("url", msg("webhook-url-malformed"))]
    return []


def _strings(name: str, value: Any, allowed: Sequence[str] | None = None, limit: int = 50) -> list[FieldError]:
    if not isinstance(value, (list, tuple)) or len(value) > limit or not all(isinstance(v, str) for v in value):
        return [FieldError(name, msg("webhook-list-malformed", limit=limit))]
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            return [FieldError(name, msg("value-one-of", allowed=", ".join(allowed)))]
    return [FieldError(name, msg("value-too-long", limit=200)) for v in value if len(v) > 200][:1]


def event_filters() -> list[str]:
    """Every value an event-type filter may hold: the types and their prefixes (``entity.*``)."""
    prefixes = sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})
    return [*EVENT_TYPES, *prefixes]


Sender = Callable[[str, bytes, dict[str, str], float], tuple[int | None, str]]


def http_send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST with httpx: (status code, "") or (None, the error's class and text)."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
        return response.status_code, ""
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:300]}"


class HttpSender:
    """:func:`http_send` over one connection pool, for a dispatcher pass (a new client per request costs more than
    the request itself: its TLS context)."""

    def __init__(self) -> None:
        self.client: Any = None

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
        import httpx

        if self.client is None:
            self.client = httpx.Client(follow_redirects=False, trust_env=False)
        try:
            return self.client.post(url, content=body, headers=headers, timeout=timeout).status_code, ""
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:300]}"

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class Webhooks:
    """Subscriptions and the delivery log, on behalf of ``principal`` (admins only)."""

    def __init__(self, store: CatalogStore, principal: Principal = SYSTEM):
        self.store = store
        self.principal = principal
        self.ctx = WriteContext(actor=principal.name)

    def _admin(self) -> None:
        require(self.principal, "admin")

    def _now(self) -> str:
        return iso(self.store.clock().timestamp())

    def _check(self, url: Any, events: Any, kinds: Any, orgs: Any, description: Any) -> None:
        from catalog.text import text_problems

        rules = text_problems({"url": url, "orgs": orgs, "description": description})  # the catalog's text rules
        if rules:
            raise ValidationFailed(rules)
        errors = check_url(url)
        errors += _strings("events", events, event_filters())
        errors += _strings("kinds", kinds, sorted(self.store.metamodel.kinds))
        errors += _strings("orgs", orgs)
        if not isinstance(description, str) or len(description) > 500:
            errors.append(FieldError("description", msg("value-too-long", limit=500)))
        if errors:
            raise ValidationFailed(errors)

    def create(
        self,
        url: str,
        events: Sequence[str] = (),
        kinds: Sequence[str] = (),
        orgs: Sequence[str] = (),
        description: str = "",
        active: bool = True,
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown once). It receives the events recorded from now on."""
        self._admin()
        self._check(url, list(events), list(kinds), list(orgs), description)
        if self.store.count_records(COLLECTION) >= MAX_SUBSCRIPTIONS:
            raise ValidationFailed([FieldError("url", msg("webhook-too-many", limit=MAX_SUBSCRIPTIONS))])
        sub = Subscription(
            id=secrets.token_hex(6),
            url=url,
            events=tuple(dict.fromkeys(events)),
            kinds=tuple(dict.fromkeys(kinds)),
            orgs=tuple(dict.fromkeys(orgs)),
            active=bool(active),
            description=description,
            created_by=self.principal.name,
            created_at=self._now(),
        )
        secret = secrets.token_urlsafe(32)
        with self.store.transaction(self.ctx):
            rec = self.store.put_record(COLLECTION, sub.id, sub.data(), self.ctx, expected_version=0)
            self.store.put_record(SECRETS, sub.id, {"secret": secret}, self.ctx, log=False)
        start_cursor(self.store, cursor_name(sub.id))
        return _subscription(rec.data, rec.version), secret

    def get(self, sub_id: str) -> Subscription:
        self._admin()
        rec = self.store.get_record(COLLECTION, sub_id) if isinstance(sub_id, str) and sub_id else None
        if rec is None:
            raise NotFound(msg("webhook-not-found", id=str(sub_id)[:40]))
        return _subscription(rec.data, rec.version)

    def list(self) -> list[Subscription]:
        self._admin()
        return [_subscription(r.data, r.version) for r in self.store.list_records(COLLECTION, limit=MAX_SUBSCRIPTIONS)]

    def update(self, sub_id: str, version: int, **changes: Any) -> Subscription:
        """Change ``active``, ``url``, ``events``, ``kinds``, ``orgs`` or ``description`` at ``version``."""
        self._admin()
        sub = self.get(sub_id)
        if version != sub.version:
            raise Conflict(f"record:{COLLECTION}/{sub_id}", version, sub.version)
        unknown = sorted(set(changes) - {"active", "url", "events", "kinds", "orgs", "description"})
        if unknown:
            raise ValidationFailed([FieldError(k, msg("pydantic-extra-forbidden")) for k in unknown])
        data = {**sub.data(), **{k: v for k, v in changes.items() if v is not None}}
        self._check(data["url"], data["events"], data["kinds"], data["orgs"], data["description"])
        data["active"] = bool(data["active"])
        rec = self.store.put_record(COLLECTION, sub_id, data, self.ctx, expected_version=version)
        return _subscription(rec.data, rec.version)

    def delete(self, sub_id: str, version: int | None = None) -> None:
        self._admin()
        sub = self.get(sub_id)
        with self.store.transaction(self.ctx):
            self.store.delete_record(COLLECTION, sub_id, self.ctx, expected_version=version)
            if self.store.get_record(SECRETS, sub_id) is not None:
                self.store.delete_record(SECRETS, sub_id, self.ctx, log=False)
        drop_cursor(self.store, cursor_name(sub.id))

    def deliveries(
        self, sub_id: str | None = None, limit: int = 200, outcome: str | None = None
    ) -> builtins.list[Delivery]:
        """The newest attempts (of one subscription), newest first (at most ``limit``; reads at most 20 times that)."""
        self._admin()
        out: builtins.list[Delivery] = []
        for rec in self.store.list_records(DELIVERIES, limit=max(1, limit) * 20, newest_first=True):
            d = _delivery(rec.key, rec.data)
            if (sub_id is None or d.subscription == sub_id) and (outcome is None or d.outcome == outcome):
                out.append(d)
                if len(out) >= limit:
                    break
        return out

    def redeliver(self, sub_id: str, event_id: int, timeout: float = 10.0, send: Sender | None = None) -> Delivery:
        """Send event ``event_id`` to subscription ``sub_id`` once more, now (after it was given up); logged as
        ``manual``."""
        self._admin()
        sub = self.get(sub_id)
        entries = self.store.changelog(after_seq=max(0, int(event_id) - 1), limit=1)
        ev = to_event(entries[0]) if entries and entries[0].seq == event_id else None
        if ev is None:
            raise NotFound(msg("webhook-event-not-found", id=str(event_id)))
        return deliver(self.store, sub, ev, attempt=0, outcome_if_failed="manual", timeout=timeout, send=send)


def prune_log(store: CatalogStore, keep: int, most: int = 1000) -> int:
    """Remove the oldest delivery-log entries beyond the newest ``keep`` (at most ``most`` per call)."""
    extra = store.count_records(DELIVERIES) - keep
    if extra <= 0:
        return 0
    ctx = WriteContext(actor="notify")
    old = store.list_records(DELIVERIES, limit=min(extra, most), offset=keep, newest_first=True)
    for rec in old:
        store.delete_record(DELIVERIES, rec.key, ctx, log=False)
    return len(old)


def cursor_name(sub_id: str) -> str:
    return f"webhook/{sub_id}"


def _delivery(key: str, data: dict[str, Any]) -> Delivery:
    return Delivery(
        key=key,
        subscription=str(data.get("subscription", "")),
        event=int(data.get("event") or 0),
        type=str(data.get("type", "")),
        attempt=int(data.get("attempt") or 0),
        time=str(data.get("time", "")),
        outcome=str(data.get("outcome", "")),
        status=data.get("status"),
        error=str(data.get("error") or ""),
        duration_ms=int(data.get("duration_ms") or 0),
    )


def deliver(
    store: CatalogStore,
    sub: Subscription,
    ev: ChangeEvent,
    attempt: int,
    outcome_if_failed: str,
    timeout: float,
    send: Sender | None = None,
    clock: Callable[[], float] = time.time,
) -> Delivery:
    """One attempt: POST, then record it in the delivery log."""
    rec = store.get_record(SECRETS, sub.id)
    secret = str(rec.data.get("secret", "")) if rec else ""
    body = body_of(ev)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "ioc-catalog-webhook/1",
        "X-IOC-Event": ev.type,
        "X-IOC-Delivery": str(ev.id),
        "X-IOC-Hook-ID": sub.id,
        "X-IOC-Signature-256": sign(secret, body),
    }
    started = time.monotonic()
    status, error = (send or http_send)(sub.url, body, headers, timeout)
    duration = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    if not ok and status is not None:
        error = f"HTTP {status}"
    outcome = ("manual" if outcome_if_failed == "manual" else "delivered") if ok else outcome_if_failed
    data = {
        "subscription": sub.id,
        "event": ev.id,
        "type": ev.type,
        "attempt": attempt,
        "time": iso(clock()),
        "outcome": outcome,
        "ok": ok,
        "status": status,
        "error": error[:500],
        "duration_ms": duration,
    }
    key = f"{sub.id}/{ev.id:012d}/{time.time_ns():020d}"
    store.put_record(DELIVERIES, key, data, WriteContext(actor="notify"), log=False)
    return _delivery(key, data)


@dataclass
class PassReport:
    """What one dispatcher pass did."""

    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    skipped: list[str] = field(default_factory=list)  # subscriptions another worker holds
    pruned: int = 0  # old delivery-log entries removed

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed, "given_up": self.given_up}


class Dispatcher:
    """Sends pending events to every active subscription (see the module docstring)."""

    def __init__(
        self,
        store: CatalogStore,
        policy: Policy = Policy(),
        send: Sender | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.policy = policy
        self.send = send
        self.clock = clock

    def run_once(self) -> PassReport:
        report = PassReport()
        pooled = HttpSender() if self.send is None else None
        try:
            for rec in self.store.list_records(COLLECTION, limit=MAX_SUBSCRIPTIONS):
                sub = _subscription(rec.data, rec.version)
                if sub.active:
                    self._run(sub, report, self.send or pooled)
        finally:
            if pooled is not None:
                pooled.close()
        report.pruned = prune_log(self.store, self.policy.log_keep)
        return report

    def _run(self, sub: Subscription, report: PassReport, send: Sender | None) -> None:
        rec = read_cursor(self.store, cursor_name(sub.id))
        if rec is not None and int(rec.data.get("seq") or 0) >= self.store.revision()[0]:
            return  # caught up: no write
        if rec is not None and float((rec.data.get("state") or {}).get("next_at") or 0) > self.clock():
            return  # waiting for the next attempt
        cursor = claim(self.store, cursor_name(sub.id), self.policy.lease, self.clock)
        if cursor is None:
            report.skipped.append(sub.id)
            return
        try:
            read = 0
            while read < self.policy.batch:
                events, last = events_after(self.store, cursor.seq, min(500, self.policy.batch - read))
                if last == cursor.seq:
                    return
                read += last - cursor.seq
                for ev in events:
                    if not sub.wants(ev):
                        continue
                    if float(cursor.state.get("next_at") or 0) > self.clock():
                        cursor.save(seq=ev.id - 1)
                        return
                    attempt = int(cursor.state.get("attempt") or 0) + 1
                    last_try = attempt >= self.policy.attempts
                    d = deliver(
                        self.store,
                        sub,
                        ev,
                        attempt,
                        "given-up" if last_try else "retry",
                        self.policy.timeout,
                        send,
                        self.clock,
                    )
                    if d.outcome == "delivered" or last_try:
                        if d.outcome == "delivered":
                            report.delivered += 1
                        else:
                            report.given_up += 1
                        if not cursor.save(seq=ev.id, attempt=0, next_at=0):
                            return
                        continue
                    report.failed += 1
                    cursor.save(seq=ev.id - 1, attempt=attempt, next_at=self.clock() + self.policy.delay(attempt))
                    return
                if not cursor.save(seq=last):
                    return
        finally:
            if cursor.owner:
                cursor.release()
