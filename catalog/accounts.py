"""Users, API tokens and sign-in sessions: who a request is, for every door (API, web UI).

Kept as store records (``catalog.store.base.Record``):

- ``user/<name>``: ``{name, role, org, display, disabled}``. In the change log (who granted which role, when): no
  secret is ever in it.
- ``credential/<name>``: ``{password}``, an scrypt hash (salted, memory-hard). Not in the change log.
- ``token/<id>``: ``{user, label, hash, created, expires}``; the token handed out once is ``ioc_<id>_<secret>`` and
  only SHA-256 of the whole token is kept (tokens carry 256 random bits, so a fast hash is enough). Not logged.
- ``session/<sha256 of the cookie value>``: ``{user, created, expires}``, for the web UI. Not logged.

What a principal may do is decided by :mod:`catalog.permissions`, never here. Failed sign-ins are logged (logger
``ioc_catalog.auth``) with the user name and reason, never the secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from catalog.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from catalog.metamodel import ROLES
from catalog.permissions import SYSTEM, Principal, require
from catalog.store.base import CatalogStore, WriteContext

log = logging.getLogger("ioc_catalog.auth")

USER, CREDENTIAL, TOKEN, SESSION = "user", "credential", "token", "session"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_TOKEN = re.compile(r"^ioc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
SESSION_HOURS = 12
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    name: str
    role: str
    org: str | None = None
    display: str = ""
    disabled: bool = False

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
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _user(data: dict) -> User:
    return User(name=data["name"], role=data["role"], org=data.get("org"), display=data.get("display", ""),
                disabled=bool(data.get("disabled", False)))


class Accounts:
    """Account operations on behalf of ``principal`` (managing users and others' tokens needs the admin role)."""

    def __init__(self, store: CatalogStore, principal: Principal = SYSTEM):
        self.store = store
        self.principal = principal
        self.ctx = WriteContext(actor=principal.name)

    # --- users ----------------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, org: str | None = None, display: str = "",
                 password: str | None = None) -> User:
        require(self.principal, "admin")
        errors = []
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(FieldError("name", "2 to 64 characters: lower-case letters, digits, '.', '_', '@', '-'"))
        if role not in ROLES:
            errors.append(FieldError("role", f"unknown role '{role}'; expected one of: {', '.join(ROLES)}"))
        if role == "editor" and not org:
            errors.append(FieldError("org", "a department editor must be bound to an organisation"))
        if org:
            found = self.store.find_entity(org)
            if found is None or found.kind != "organization":
                errors.append(FieldError("org", f"{org} is not an organisation in the catalog"))
        if password is not None and len(password) < MIN_PASSWORD:
            errors.append(FieldError("password", f"at least {MIN_PASSWORD} characters"))
        if errors:
            raise ValidationFailed(errors)
        if self.store.get_record(USER, name) is not None:
            raise AlreadyExists(f"user {name} already exists")
        user = User(name, role, org, display)
        with self.store.transaction(self.ctx):
            self.store.put_record(USER, name, {"name": name, "role": role, "org": org, "display": display,
                                               "disabled": False}, self.ctx, expected_version=0)
            if password is not None:
                self.store.put_record(CREDENTIAL, name, {"password": hash_password(password)}, self.ctx, log=False)
        return user

    def set_password(self, name: str, password: str) -> None:
        if self.principal.name != name:
            require(self.principal, "admin")
        self.get_user(name)
        if len(password) < MIN_PASSWORD:
            raise ValidationFailed([FieldError("password", f"at least {MIN_PASSWORD} characters")])
        self.store.put_record(CREDENTIAL, name, {"password": hash_password(password)}, self.ctx, log=False)

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        require(self.principal, "admin")
        rec = self.store.get_record(USER, name)
        if rec is None:
            raise NotFound(f"no user {name}")
        self.store.put_record(USER, name, {**rec.data, "disabled": disabled}, self.ctx, expected_version=rec.version)
        return _user({**rec.data, "disabled": disabled})

    def get_user(self, name: str) -> User:
        rec = self.store.get_record(USER, name)
        if rec is None:
            raise NotFound(f"no user {name}")
        return _user(rec.data)

    def list_users(self) -> list[User]:
        return [_user(r.data) for r in self.store.list_records(USER, limit=100_000)]

    # --- tokens ---------------------------------------------------------------------------------------------------
    def create_token(self, user: str, label: str = "", expires_days: int | None = 365) -> IssuedToken:
        if self.principal.name != user:
            require(self.principal, "admin")
        u = self.get_user(user)
        if u.disabled:
            raise ValidationFailed([FieldError("user", f"{user} is disabled")])
        token_id = secrets.token_hex(6)
        secret = f"ioc_{token_id}_{secrets.token_urlsafe(32)}"
        expires = _iso(_now() + dt.timedelta(days=expires_days)) if expires_days else None
        self.store.put_record(TOKEN, token_id, {"user": user, "label": label[:200], "hash": _sha256(secret),
                                                "created": _iso(_now()), "expires": expires}, self.ctx,
                              expected_version=0, log=False)
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
            raise NotFound(f"no token {token_id}")
        if rec.data["user"] != self.principal.name:
            require(self.principal, "admin")
        self.store.delete_record(TOKEN, token_id, self.ctx, log=False)

    # --- authentication -------------------------------------------------------------------------------------------
    def _active(self, name: str) -> Principal | None:
        rec = self.store.get_record(USER, name)
        if rec is None or rec.data.get("disabled"):
            log.warning("sign-in refused for %r: %s", name, "disabled user" if rec else "unknown user")
            return None
        return _user(rec.data).principal()

    def authenticate_token(self, token: str) -> Principal | None:
        m = _TOKEN.match(token or "")
        if not m:
            log.warning("sign-in refused: malformed token")
            return None
        rec = self.store.get_record(TOKEN, m.group(1))
        if rec is None or not hmac.compare_digest(rec.data["hash"], _sha256(token)):
            log.warning("sign-in refused: unknown token id %s", m.group(1))
            return None
        if rec.data.get("expires") and rec.data["expires"] <= _iso(_now()):
            log.warning("sign-in refused: token %s of %r expired", m.group(1), rec.data["user"])
            return None
        return self._active(rec.data["user"])

    def authenticate_password(self, name: str, password: str) -> Principal | None:
        cred = self.store.get_record(CREDENTIAL, name) if isinstance(name, str) and _NAME.match(name) else None
        if cred is None or not check_password(password, cred.data.get("password", "")):
            log.warning("sign-in refused for %r: wrong name or password", (name or "")[:64])
            return None
        return self._active(name)

    # --- sessions (web UI) ----------------------------------------------------------------------------------------
    def create_session(self, name: str, password: str) -> tuple[str, Principal] | None:
        """Check the password and open a session; returns (cookie value, principal) or None."""
        principal = self.authenticate_password(name, password)
        if principal is None:
            return None
        value = secrets.token_urlsafe(32)
        self.store.put_record(SESSION, _sha256(value), {"user": name, "created": _iso(_now()),
                                                        "expires": _iso(_now() + dt.timedelta(hours=SESSION_HOURS))},
                              self.ctx, expected_version=0, log=False)
        return value, principal

    def session_principal(self, value: str) -> Principal | None:
        if not value or len(value) > 100:
            return None
        rec = self.store.get_record(SESSION, _sha256(value))
        if rec is None or rec.data["expires"] <= _iso(_now()):
            return None
        return self._active(rec.data["user"])

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


__all__ = ["DEMO_USERS", "Accounts", "IssuedToken", "User", "check_password", "hash_password", "seed_demo"]
