"""Users, API tokens and sign-in sessions: who a request is, for every door (API, web UI).

Kept as store records (``catalog.store.base.Record``):

- ``user/<name>``: ``{name, role, org, display, disabled}``. In the change log (who granted which role, when): no
  secret is ever in it.
- ``credential/<name>``: ``{password}``, an Argon2id hash made by argon2-cffi's ``PasswordHasher`` with that
  library's current parameters (:func:`hash_password`). Hashes written before (``scrypt$...``) still verify and are
  replaced by an Argon2id hash at the user's next successful sign-in, as are Argon2 hashes whose parameters are no
  longer the current ones. Not in the change log.
- ``token/<id>``: ``{user, label, hash, created, expires}``; the token handed out once is ``ioc_<id>_<secret>`` and
  only SHA-256 of the whole token is kept (tokens carry 256 random bits, so a fast hash is enough). Not logged.
- ``session/<sha256 of the cookie value>``: ``{user, created, expires, via}``, for the web UI; ``via`` is
  ``password`` or ``oidc``, and a session opened through the identity provider also carries that sign-in's
  ``issuer`` and ``subject``: it is refused at its next use once the user no longer has that identity or has been
  refused by the provider's claim mapping. Not logged.

Users signed in through OpenID Connect (:meth:`Accounts.provision_external`) are created or updated just in time,
their role and organisation following the provider's claims at every sign-in (``catalog.claims``); their user record
carries ``provider: {issuer, subject}`` and has no password. A local account of the same name is never taken over.

A password check costs the same for a name that has no user or no password: it verifies against a dummy hash of the
current parameters. At most :data:`HASH_CONCURRENCY` password hashes are computed at once (each takes tens of MiB).
The checks are blocking: asynchronous callers run them in a worker thread.

Failed sign-ins are throttled per account and per client address when the caller passes a
:class:`catalog.throttle.SignInThrottle` (the HTTP doors do; the command line has no sign-in). Every failed and every
throttled attempt is logged on logger ``ioc_catalog.auth`` (door, user name, client address, reason; never the
secret), with the same values as record attributes ``auth_event``, ``auth_door``, ``auth_user``, ``auth_client``,
``auth_reason``.

What a principal may do is decided by :mod:`catalog.permissions`, never here.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from catalog.errors import AlreadyExists, CatalogError, Conflict, FieldError, NotFound, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import ROLES
from catalog.permissions import SYSTEM, Principal, require
from catalog.store.base import CatalogStore, Record, WriteContext
from catalog.throttle import Attempt, SignInThrottle, Throttled

log = logging.getLogger("ioc_catalog.auth")

USER, CREDENTIAL, TOKEN, SESSION = "user", "credential", "token", "session"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_TOKEN = re.compile(r"^ioc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")  # an address to send to
_CLIENT = re.compile(r"[0-9A-Za-z.:_%\[\]-]{1,64}")  # an IP address or host name, as a server reports it
SESSION_HOURS = 12
MIN_PASSWORD = 10
HASH_CONCURRENCY = 4  # password hashes computed at once; the others wait (memory: 64 MiB each by default)
_HASH_SLOTS = threading.BoundedSemaphore(HASH_CONCURRENCY)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    org: str | None = None
    display: str = ""
    disabled: bool = False
    issuer: str | None = None  # the identity provider that signs this user in (None: a local account)
    email: str = ""  # where notices are e-mailed (catalog.notices; empty: in-app only)

    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.org)


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed out once: ``secret`` is the full bearer value; only its hash is stored."""

    id: str
    user: str
    label: str
    expires: str | None
    secret: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi's current defaults (RFC 9106 low-memory profile in 25.x)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password with the current parameters: what unknown users are checked against."""
    return hash_password(secrets.token_urlsafe(24))


def _bytes(password: str) -> bytes:
    """UTF-8 of the password; a lone surrogate (not valid Unicode) is kept as its code unit, never an error."""
    return password.encode("utf-8", "surrogatepass") if isinstance(password, str) else b""


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) with the current parameters."""
    with _HASH_SLOTS:
        return _hasher().hash(_bytes(password))


def _check_scrypt(password: str, stored: str) -> bool:
    """A hash written by earlier versions: ``scrypt$N$r$p$salt$digest`` (base64); cost bounded before it is paid."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (2 <= n_ <= 2**16 and n_ & (n_ - 1) == 0 and 1 <= r_ <= 16 and 1 <= p_ <= 4):
            return False
        want = base64.b64decode(digest, validate=True)
        if not 16 <= len(want) <= 64:
            return False
        with _HASH_SLOTS:
            got = hashlib.scrypt(
                _bytes(password),
                salt=base64.b64decode(salt, validate=True),
                n=n_,
                r=r_,
                p=p_,
                dklen=len(want),
                maxmem=2**27,
            )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def verify_password(password: str, stored: str | None) -> tuple[bool, bool]:
    """(whether ``password`` matches ``stored``, whether ``stored`` should be replaced by a fresh hash).

    ``stored`` None (no user, no password) is checked against a dummy hash of the current parameters, so it costs
    what a real check costs; it never matches."""
    secret = _bytes(password)
    if stored is None or not isinstance(stored, str) or not stored:
        dummy = _dummy_hash()
        try:
            with _HASH_SLOTS:
                _hasher().verify(dummy, secret)
        except VerificationError:
            pass
        return False, False
    if stored.startswith("scrypt$"):
        ok = _check_scrypt(password, stored)
        return ok, ok
    try:
        with _HASH_SLOTS:
            _hasher().verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _hasher().check_needs_rehash(stored)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (Argon2 or the earlier scrypt format)."""
    return verify_password(password, stored)[0]


def _user(data: dict) -> User:
    provider = data.get("provider")
    return User(
        name=data["name"],
        role=data["role"],
        org=data.get("org"),
        display=data.get("display", ""),
        disabled=bool(data.get("disabled", False)),
        issuer=provider.get("issuer") if isinstance(provider, dict) else None,
        email=str(data.get("email") or ""),
    )


class Accounts:
    """Account operations on behalf of ``principal`` (managing users and others' tokens needs the admin role)."""

    def __init__(
        self,
        store: CatalogStore,
        principal: Principal = SYSTEM,
        throttle: SignInThrottle | None = None,
        client: str | None = None,
    ):
        """``throttle``: failure counters for sign-ins and tokens (None: no throttling); ``client``: the address
        the credentials came from, for the throttle and the log."""
        self.store = store
        self.principal = principal
        self.ctx = WriteContext(actor=principal.name)
        self.throttle = throttle
        self.client = client

    # --- users ----------------------------------------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        role: str,
        org: str | None = None,
        display: str = "",
        password: str | None = None,
        email: str = "",
    ) -> User:
        require(self.principal, "admin")
        errors = []
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(FieldError("name", msg("user-name-malformed")))
        if role not in ROLES:
            errors.append(FieldError("role", msg("role-unknown", role=str(role), allowed=", ".join(ROLES))))
        if role == "editor" and not org:
            errors.append(FieldError("org", msg("editor-needs-org")))
        if org:
            found = self.store.find_entity(org)
            if found is None or not self.store.metamodel.is_organisation(found.kind):
                errors.append(FieldError("org", msg("not-an-organization", ref=org)))
        if password is not None and len(password) < MIN_PASSWORD:
            errors.append(FieldError("password", msg("password-too-short", minimum=MIN_PASSWORD)))
        if email and (not isinstance(email, str) or not _EMAIL.match(email)):
            errors.append(FieldError("email", msg("email-malformed")))
        if errors:
            raise ValidationFailed(errors)
        if self.store.get_record(USER, name) is not None:
            raise AlreadyExists(msg("user-exists", name=name))
        user = User(name, role, org, display, email=email)
        with self.store.transaction(self.ctx):
            self.store.put_record(
                USER,
                name,
                {"name": name, "role": role, "org": org, "display": display, "disabled": False}
                | ({"email": email} if email else {}),
                self.ctx,
                expected_version=0,
            )
            if password is not None:
                self.store.put_record(CREDENTIAL, name, {"password": hash_password(password)}, self.ctx, log=False)
        return user

    def set_password(self, name: str, password: str) -> None:
        if self.principal.name != name:
            require(self.principal, "admin")
        self.get_user(name)
        if len(password) < MIN_PASSWORD:
            raise ValidationFailed([FieldError("password", msg("password-too-short", minimum=MIN_PASSWORD))])
        self.store.put_record(CREDENTIAL, name, {"password": hash_password(password)}, self.ctx, log=False)

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        require(self.principal, "admin")
        rec = self.store.get_record(USER, name)
        if rec is None:
            raise NotFound(msg("user-not-found", name=name))
        data = {**rec.data, "disabled": disabled}
        data.pop("disabled_by", None)  # an administrator's decision: a provider's sign-in does not undo it
        self.store.put_record(USER, name, data, self.ctx, expected_version=rec.version)
        return _user(data)

    # --- users of the identity provider (OpenID Connect) ---------------------------------------------------------
    def provision_external(
        self, name: str, role: str, org: str | None, display: str, issuer: str, subject: str, email: str = ""
    ) -> User | str:
        """Create or update the user the provider signed in (just in time), with the role and organisation its claims
        map to; returns the user, or the reason it is refused (``name-malformed``, ``unknown-organisation``,
        ``local-account`` for a name held by a local account or another provider's subject, ``disabled-user`` for
        an account an administrator disabled). The record is written (and logged) only when something changed."""
        require(self.principal, "admin")
        if not isinstance(name, str) or not _NAME.match(name):
            return "name-malformed"
        if role not in ROLES or (role == "editor" and not org):
            return "role-unknown"
        if org:
            found = self.store.find_entity(org)
            if found is None or not self.store.metamodel.is_organisation(found.kind):
                return "unknown-organisation"
        rec = self.store.get_record(USER, name)
        identity = {"issuer": issuer, "subject": subject}
        if rec is not None and rec.data.get("provider") != identity:
            return "local-account"
        if rec is not None and rec.data.get("disabled") and rec.data.get("disabled_by") != "provider":
            return "disabled-user"
        data = {"name": name, "role": role, "org": org, "display": display, "disabled": False, "provider": identity}
        if isinstance(email, str) and _EMAIL.match(email):  # the provider's address, where notices are e-mailed
            data["email"] = email
        if rec is None or {k: rec.data.get(k) for k in data} != data or "disabled_by" in rec.data:
            kept = {k: v for k, v in (rec.data if rec is not None else {}).items() if k != "disabled_by"}
            data = {**kept, **data}  # what else the record holds (set by others) stays
            self.store.put_record(USER, name, data, self.ctx, expected_version=rec.version if rec is not None else 0)
        elif rec is not None:
            data = rec.data
        return _user(data)

    def refuse_external(self, issuer: str, subject: str) -> str | None:
        """The provider's user (by issuer and subject) is no longer let in by the claim mapping: their account is
        disabled (``disabled_by: provider``, undone by their next admitted sign-in) and every session of theirs ends.
        Returns the user name, or None when the catalog has no such user."""
        require(self.principal, "admin")
        identity = {"issuer": issuer, "subject": subject}
        for rec in self.store.list_records(USER, limit=100_000):
            if rec.data.get("provider") == identity:
                if not rec.data.get("disabled"):
                    data = {**rec.data, "disabled": True, "disabled_by": "provider"}
                    self.store.put_record(USER, rec.key, data, self.ctx, expected_version=rec.version)
                self.end_sessions_of(rec.key)
                return rec.key
        return None

    def end_sessions_of(self, name: str) -> int:
        """End every session of one user; returns how many there were."""
        ended = 0
        for rec in self.store.list_records(SESSION, limit=1_000_000):
            if rec.data.get("user") == name:
                try:
                    self.store.delete_record(SESSION, rec.key, self.ctx, log=False)
                    ended += 1
                except NotFound:
                    pass  # ended meanwhile
        return ended

    def get_user(self, name: str) -> User:
        rec = self.store.get_record(USER, name)
        if rec is None:
            raise NotFound(msg("user-not-found", name=name))
        return _user(rec.data)

    def list_users(self) -> list[User]:
        return [_user(r.data) for r in self.store.list_records(USER, limit=100_000)]

    # --- tokens ---------------------------------------------------------------------------------------------------
    def create_token(self, user: str, label: str = "", expires_days: int | None = 365) -> IssuedToken:
        if self.principal.name != user:
            require(self.principal, "admin")
        u = self.get_user(user)
        if u.disabled:
            raise ValidationFailed([FieldError("user", msg("user-disabled", name=user))])
        token_id = secrets.token_hex(6)
        secret = f"ioc_{token_id}_{secrets.token_urlsafe(32)}"
        expires = _iso(_now() + dt.timedelta(days=expires_days)) if expires_days else None
        self.store.put_record(
            TOKEN,
            token_id,
            {"user": user, "label": label[:200], "hash": _sha256(secret), "created": _iso(_now()), "expires": expires},
            self.ctx,
            expected_version=0,
            log=False,
        )
        return IssuedToken(token_id, user, label, expires, secret)

    def list_tokens(self, user: str | None = None) -> list[dict]:
        """Token ids, owners, labels and dates (never the hash)."""
        out = []
        for r in self.store.list_records(TOKEN, limit=100_000):
            if user is None or r.data["user"] == user:
                out.append({"id": r.key, **{k: v for k, v in r.data.items() if k != "hash"}})
        return out

    def revoke_token(self, token_id: str) -> None:
        rec = self.store.get_record(TOKEN, token_id)
        if rec is None:
            raise NotFound(msg("token-not-found", id=token_id))
        if rec.data["user"] != self.principal.name:
            require(self.principal, "admin")
        self.store.delete_record(TOKEN, token_id, self.ctx, log=False)

    # --- authentication -------------------------------------------------------------------------------------------
    def _note(self, event: str, door: str, user: str | None, reason: str, **more: Any) -> None:
        """Log one failed or throttled attempt (never the secret; names shown quoted and escaped)."""
        shown = repr(user[:64]) if isinstance(user, str) else "-"
        client = self.client or "-"
        if not _CLIENT.fullmatch(client):  # an address from a proxy's header: shown escaped, never raw
            client = repr(client[:64])
        tail = "".join(f" {k}={v}" for k, v in more.items())
        log.warning(
            "sign-in %s: door=%s user=%s client=%s reason=%s%s",
            event,
            door,
            shown,
            client,
            reason,
            tail,
            extra={
                "auth_event": event,
                "auth_door": door,
                "auth_client": self.client,
                "auth_reason": reason,
                "auth_user": user[:64] if isinstance(user, str) else None,
            },
        )

    def attempt(self, door: str) -> Attempt:
        """An attempt through another door (the identity provider's callback) admitted by the client address's
        throttle; raises :class:`Throttled` (logged) when the address has had too many failures."""
        return self._begin(door, None)

    def refused(self, door: str, user: str | None, reason: str) -> None:
        """Log a sign-in refused by another door than a password or a token (the identity provider's callback)."""
        self._note("failed", door, user, reason)

    def _begin(self, door: str, account: str | None) -> Attempt:
        """An attempt admitted by the throttle (logged and re-raised when it is refused); a no-op without one."""
        if self.throttle is None:
            return Attempt(None)
        try:
            return self.throttle.begin(account, self.client)
        except Throttled as exc:
            self._note("throttled", door, account, f"too-many-failures-per-{exc.limit}", retry_after=exc.retry_after)
            raise

    def _failed(self, attempt: Attempt, door: str, user: str | None, reason: str, **more: Any) -> None:
        self._note("failed", door, user, reason, **more)
        attempt.failed()

    def _active(self, name: str) -> tuple[Principal | None, str]:
        rec = self.store.get_record(USER, name)
        if rec is None:
            return None, "unknown-user"
        if rec.data.get("disabled"):
            return None, "disabled-user"
        return _user(rec.data).principal(), ""

    def authenticate_token(self, token: str) -> Principal | None:
        """The principal of an API token, or None (logged; counted against the client address). Raises
        :class:`Throttled` when the address has had too many failures."""
        with self._begin("token", None) as attempt:
            m = _TOKEN.match(token) if isinstance(token, str) else None
            if not m:
                self._failed(attempt, "token", None, "malformed-token")
                return None
            rec = self.store.get_record(TOKEN, m.group(1))
            stored = rec.data.get("hash") if rec is not None else None
            if rec is None or not isinstance(stored, str) or not hmac.compare_digest(stored, _sha256(token)):
                self._failed(attempt, "token", None, "unknown-token", token=m.group(1))
                return None
            user = str(rec.data.get("user", ""))
            if rec.data.get("expires") and rec.data["expires"] <= _iso(_now()):
                self._failed(attempt, "token", user, "expired-token", token=m.group(1))
                return None
            principal, reason = self._active(user)
            if principal is None:
                self._failed(attempt, "token", user, reason, token=m.group(1))
            return principal

    def authenticate_password(self, name: str, password: str) -> Principal | None:
        """The principal whose name and password these are, or None (logged; counted against the name and the
        client address). The same work is done whether the user exists or not. Raises :class:`Throttled` while the
        name or the address has had too many failures, whatever the password. A hash of earlier parameters or of
        the earlier scheme is replaced by a current one."""
        name = name if isinstance(name, str) else ""
        with self._begin("password", name) as attempt:
            known = bool(_NAME.match(name))
            user = self.store.get_record(USER, name) if known else None
            cred = self.store.get_record(CREDENTIAL, name) if known else None
            stored = cred.data.get("password") if cred is not None else None
            ok, rehash = verify_password(password, stored if isinstance(stored, str) else None)
            reason = (
                "unknown-user"
                if user is None
                else "no-password"
                if not isinstance(stored, str) or not stored
                else "wrong-password"
                if not ok
                else "disabled-user"
                if user.data.get("disabled")
                else ""
            )
            if reason or user is None or cred is None:
                self._failed(attempt, "password", name, reason or "unknown-user")
                return None
            if rehash:
                self._rehash(name, password, cred)
            attempt.succeeded()
            return _user(user.data).principal()

    def _rehash(self, name: str, password: str, cred: Record) -> None:
        """Store a hash of the current parameters in place of ``cred``'s, unless the password changed meanwhile."""
        try:
            self.store.put_record(
                CREDENTIAL,
                name,
                {**cred.data, "password": hash_password(password)},
                self.ctx,
                expected_version=cred.version,
                log=False,
            )
        except Conflict:
            pass  # a new password was set meanwhile: it wins
        except CatalogError as exc:  # the sign-in stands; the upgrade is tried again next time
            log.warning("password hash of %r not upgraded: %s", name, exc.message)

    # --- sessions (web UI) ----------------------------------------------------------------------------------------
    def create_session(self, name: str, password: str) -> tuple[str, Principal] | None:
        """Check the password and open a session; returns (cookie value, principal) or None. Raises
        :class:`Throttled` like :meth:`authenticate_password`."""
        principal = self.authenticate_password(name, password)
        if principal is None:
            return None
        return self.open_session(name), principal

    def open_session(self, name: str, issuer: str | None = None, subject: str | None = None) -> str:
        """A new session of a user whose sign-in has been checked (by password, or by the identity provider:
        ``issuer`` and ``subject``); returns the cookie value."""
        value = secrets.token_urlsafe(32)
        data: dict[str, Any] = {
            "user": name,
            "created": _iso(_now()),
            "expires": _iso(_now() + dt.timedelta(hours=SESSION_HOURS)),
            "via": "oidc" if issuer else "password",
        }
        if issuer:
            data |= {"issuer": issuer, "subject": subject}
        self.store.put_record(SESSION, _sha256(value), data, self.ctx, expected_version=0, log=False)
        return value

    def session_info(self, value: str) -> dict[str, Any] | None:
        """The stored session of a cookie value (user, dates, how it was opened), or None."""
        if not isinstance(value, str) or not value or len(value) > 100:
            return None
        rec = self.store.get_record(SESSION, _sha256(value))
        return rec.data if rec is not None else None

    def session_principal(self, value: str) -> Principal | None:
        if not value or len(value) > 100:
            return None
        rec = self.store.get_record(SESSION, _sha256(value))
        if rec is None or rec.data["expires"] <= _iso(_now()):
            return None
        principal, reason = self._active(rec.data["user"])
        if principal is not None and rec.data.get("via") == "oidc":
            user = self.store.get_record(USER, rec.data["user"])
            identity = {"issuer": rec.data.get("issuer"), "subject": rec.data.get("subject")}
            if user is None or user.data.get("provider") != identity:
                principal, reason = None, "identity-changed"
        if principal is None:
            self._note("failed", "session", rec.data["user"], reason)
        return principal

    def end_session(self, value: str) -> None:
        if value and len(value) <= 100 and self.store.get_record(SESSION, _sha256(value)) is not None:
            self.store.delete_record(SESSION, _sha256(value), self.ctx, log=False)


DEMO_USERS = (  # (name, role, organisation, display name)
    ("admin", "admin", None, "Quản trị hệ thống"),
    ("architect", "architect", None, "Kiến trúc sư tổng thể"),
    ("editor-skhcn", "editor", "organization:hcm-skhcn", "Cán bộ CNTT Sở Khoa học và Công nghệ"),
    ("editor-stc", "editor", "organization:hcm-stc", "Cán bộ CNTT Sở Tài chính"),
    ("auditor", "auditor", None, "Kiểm toán viên"),
    ("viewer", "viewer", None, "Người xem"),
)


def seed_demo(store: CatalogStore) -> list[tuple[User, str, IssuedToken]]:
    """The demo's ready-made users, one per role, each with a fresh random password and API token."""
    accounts = Accounts(store)
    out = []
    for name, role, org, display in DEMO_USERS:
        if store.find_entity(org or "organization:none") is None and org:
            continue  # a catalog without that department: no editor for it
        password = secrets.token_urlsafe(9)
        user = accounts.add_user(name, role, org, display, password=password)
        out.append((user, password, accounts.create_token(name, "demo", expires_days=30)))
    return out


__all__ = [
    "DEMO_USERS",
    "HASH_CONCURRENCY",
    "Accounts",
    "IssuedToken",
    "User",
    "check_password",
    "hash_password",
    "seed_demo",
    "verify_password",
]
