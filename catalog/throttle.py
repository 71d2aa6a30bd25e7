"""Throttling of failed sign-ins: per account and per client address, over a moving window (the ``limits`` library).

:class:`catalog.accounts.Accounts` checks every password and API token inside an :class:`Attempt` admitted by
:meth:`SignInThrottle.begin` and reports how it ended. Once an account has had ``per_account`` failures within
``window`` seconds, or an address ``per_address`` failures, every further attempt on it is refused with
:class:`Throttled` (HTTP 429, with the seconds until the oldest counted failure leaves the window) *before* the
secret is looked at, so the right password does not help while it is locked. Attempts refused this way are not
counted themselves. Password attempts admitted and still being checked count as failures meanwhile (in this
process): a burst of parallel guesses gets no more tries than a sequence. Token checks are immediate and are not
counted while in flight, so a program's parallel requests with a good token are never refused.

- Password sign-ins count against the account (any name, known or not: a lock must not tell whether a user exists)
  and the address. A successful sign-in clears its account's failures, never its address's.
- Bad API tokens (malformed, unknown, revoked, expired, or of a disabled user) count against the address only: a
  token names no account an attacker chose, and a stranger's bad tokens must not lock out a user's automation. They
  count twice there: against the address's limit shared with passwords, and against a smaller one for tokens alone
  (``tokens_per_address``): programs send tokens, and a bad one is no typo.
- Addresses are keyed as given, except IPv6 addresses, which are keyed by their /64 network (one host usually holds
  a whole /64).

The counters live in a ``limits`` storage named by URI (setting ``signin_throttle_storage``): ``memory://`` keeps
them in the process. Every moving-window storage of ``limits`` (``redis://``, ``valkey://``, ``mongodb://``, each with
its client library installed) shares them between worker processes and servers without changing anything here (the
attempts in flight are counted per process: a burst spread over P processes may get up to P times the limit).
``sqlite:////path/file.db`` (:mod:`catalog.store.throttle`) shares them between the workers of one server: what
``ioc-catalog serve --workers N`` (N > 1) uses when the setting is left at memory://.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from limits import RateLimitItemPerSecond
from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from catalog.errors import CatalogError
from catalog.i18n import msg
from catalog.store import throttle as _file_storage  # noqa: F401  (registers sqlite://: one file, every worker)

ACCOUNT, ADDRESS, TOKEN = "account", "address", "token"


class Throttled(CatalogError):
    """Too many failed sign-ins for this account or from this address; ``retry_after`` seconds until one more try."""

    status = 429
    code = "too-many-attempts"

    def __init__(self, retry_after: int, limit: str):
        self.retry_after, self.limit = retry_after, limit
        super().__init__(msg("throttled", limit=limit, seconds=retry_after))


def address_key(client: str | None) -> str:
    """The key a client address is counted under: IPv6 by /64 network, anything else as given (at most 64
    characters); '-' when unknown."""
    if not client:
        return "-"
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account_key(name: str | None) -> str:
    return (name or "").strip().lower()[:64]


class SignInThrottle:
    """Failure counters per account and per address, each limited to a number of failures per moving window."""

    def __init__(
        self,
        per_account: int = 5,
        per_address: int = 50,
        window: int = 900,
        storage: str = "memory://",
        clock: Callable[[], float] = time.time,
        tokens_per_address: int = 10,
    ):
        if per_account < 1 or per_address < 1 or tokens_per_address < 1 or window < 1:
            raise ValueError("sign-in throttle: the limits and the window must be at least 1")
        try:
            backend = storage_from_string(storage)
        except ConfigurationError as exc:
            raise ValueError(f"sign-in throttle storage {storage!r}: {exc}") from None
        if not isinstance(backend, MovingWindowSupport):
            raise ValueError(
                f"sign-in throttle storage {storage!r} has no moving window; use memory://, redis:// "
                "(or valkey://) or mongodb://"
            )
        self.storage = backend
        self.limiter = MovingWindowRateLimiter(backend)
        self.items = {
            ACCOUNT: RateLimitItemPerSecond(per_account, window, namespace="ioc-signin-account"),
            ADDRESS: RateLimitItemPerSecond(per_address, window, namespace="ioc-signin-address"),
            TOKEN: RateLimitItemPerSecond(tokens_per_address, window, namespace="ioc-signin-token"),
        }
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()  # attempts being checked now, per (limit, key)

    @classmethod
    def from_settings(cls, settings: Any) -> SignInThrottle:
        return cls(
            settings.signin_failures_per_account,
            settings.signin_failures_per_address,
            settings.signin_window_seconds,
            settings.signin_throttle_storage,
            tokens_per_address=settings.signin_token_failures_per_address,
        )

    def _keys(self, account: str | None, client: str | None) -> list[tuple[str, str]]:
        keys = [(ADDRESS, address_key(client))]
        if account is not None:
            keys.insert(0, (ACCOUNT, account_key(account)))
        else:  # an API token: programs, not people, send them; a bad one is no typo, so fewer are allowed
            keys.append((TOKEN, address_key(client)))
        return keys

    def begin(self, account: str | None, client: str | None) -> Attempt:
        """Admit one sign-in attempt for the account (None: no account, an API token) from the address, or raise
        :class:`Throttled` (the longer wait of the two) when either has used up its failures. Attempts admitted and
        not yet ended count as failures meanwhile, so a burst of parallel guesses gets no more than the limit."""
        keys = self._keys(account, client)
        with self._lock:
            waits = []
            for limit, key in keys:
                item = self.items[limit]
                reset, remaining = self.limiter.get_window_stats(item, key)
                if remaining - self._pending[(limit, key)] <= 0:
                    # failures in the window: wait until the oldest leaves it; attempts in flight: a moment
                    waits.append((max(1, math.ceil(reset - self.clock())) if remaining <= 0 else 1, limit))
            if waits:
                raise Throttled(*max(waits))
            # a password check takes a while (Argon2): a burst of guesses in parallel must not all pass the check
            # above before the first fails. A token is checked at once (SHA-256): a program's many parallel
            # requests with its good token are not held back
            in_flight = keys if account is not None else []
            self._pending.update(in_flight)
        return Attempt(self, keys, in_flight)

    def _end(self, attempt: Attempt, outcome: str) -> None:
        """End an admitted attempt: "failed" counts it, "succeeded" clears its account's failures, "" neither."""
        with self._lock:
            if not attempt.open:
                return
            attempt.open = False
            self._pending.subtract(attempt.in_flight)
            for limit, key in attempt.in_flight:
                if self._pending[(limit, key)] <= 0:
                    del self._pending[(limit, key)]
            for limit, key in attempt.keys:
                if outcome == "failed":
                    self.limiter.hit(self.items[limit], key)
                elif outcome == "succeeded" and limit == ACCOUNT:
                    self.limiter.clear(self.items[limit], key)


class Attempt:
    """One admitted attempt (:meth:`SignInThrottle.begin`): report :meth:`failed` or :meth:`succeeded`; leaving its
    ``with`` block without either ends it uncounted. ``Attempt(None)`` throttles nothing."""

    def __init__(
        self,
        throttle: SignInThrottle | None,
        keys: list[tuple[str, str]] | None = None,
        in_flight: list[tuple[str, str]] | None = None,
    ):
        self.throttle, self.keys, self.in_flight = throttle, keys or [], in_flight or []
        self.open = throttle is not None

    def failed(self) -> None:
        """Count a failure against the account (if any) and the address."""
        if self.throttle is not None:
            self.throttle._end(self, "failed")

    def succeeded(self) -> None:
        """A successful sign-in clears its account's failures (its address's stay counted)."""
        if self.throttle is not None:
            self.throttle._end(self, "succeeded")

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.throttle is not None:
            self.throttle._end(self, "")


__all__ = ["Attempt", "SignInThrottle", "Throttled", "account_key", "address_key"]
