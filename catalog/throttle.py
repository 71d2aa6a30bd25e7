"""Throttling of failed sign-ins: per account and per client address, over a moving window (the ``limits`` library).

:class:`SignInThrottle` counts failures; :class:`catalog.accounts.Accounts` asks it before checking a password or an
API token and tells it of every failure. Once an account has had ``per_account`` failures within ``window`` seconds,
or an address ``per_address`` failures, every further attempt on it is refused with :class:`Throttled` (HTTP 429,
with the seconds until the oldest counted failure leaves the window) *before* the secret is looked at, so the right
password does not help while it is locked. Attempts refused this way are not counted themselves.

- Password sign-ins count against the account (any name, known or not: a lock must not tell whether a user exists)
  and the address. A successful sign-in clears its account's failures, never its address's.
- Bad API tokens (malformed, unknown, revoked, expired, or of a disabled user) count against the address only: a
  token names no account an attacker chose, and a stranger's bad tokens must not lock out a user's automation.
- Addresses are keyed as given, except IPv6 addresses, which are keyed by their /64 network (one host usually holds
  a whole /64).

The counters live in a ``limits`` storage named by URI (setting ``signin_throttle_storage``): ``memory://`` keeps
them in the process. Every moving-window storage of ``limits`` (``redis://``, ``valkey://``, ``mongodb://``, each with
its client library installed) shares them between worker processes and servers without changing anything here.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import Any, Callable

from limits import RateLimitItemPerSecond
from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from catalog.errors import CatalogError

ACCOUNT, ADDRESS = "account", "address"


class Throttled(CatalogError):
    """Too many failed sign-ins for this account or from this address; ``retry_after`` seconds until one more try."""

    status = 429
    code = "too-many-attempts"

    def __init__(self, retry_after: int, limit: str):
        self.retry_after, self.limit = retry_after, limit
        super().__init__(f"too many failed sign-ins ({limit}); retry in {retry_after} s")


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

    def __init__(self, per_account: int = 5, per_address: int = 50, window: int = 900, storage: str = "memory://",
                 clock: Callable[[], float] = time.time):
        if per_account < 1 or per_address < 1 or window < 1:
            raise ValueError("sign-in throttle: the limits and the window must be at least 1")
        try:
            backend = storage_from_string(storage)
        except ConfigurationError as exc:
            raise ValueError(f"sign-in throttle storage {storage!r}: {exc}") from None
        if not isinstance(backend, MovingWindowSupport):
            raise ValueError(f"sign-in throttle storage {storage!r} has no moving window; use memory://, redis:// "
                             "(or valkey://) or mongodb://")
        self.storage = backend
        self.limiter = MovingWindowRateLimiter(backend)
        self.items = {ACCOUNT: RateLimitItemPerSecond(per_account, window, namespace="ioc-signin-account"),
                      ADDRESS: RateLimitItemPerSecond(per_address, window, namespace="ioc-signin-address")}
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Any) -> SignInThrottle:
        return cls(settings.signin_failures_per_account, settings.signin_failures_per_address,
                   settings.signin_window_seconds, settings.signin_throttle_storage)

    def _keys(self, account: str | None, client: str | None) -> list[tuple[str, str]]:
        keys = [(ADDRESS, address_key(client))]
        if account is not None:
            keys.insert(0, (ACCOUNT, account_key(account)))
        return keys

    def check(self, account: str | None, client: str | None) -> None:
        """Raise :class:`Throttled` when the account (None: no account, an API token) or the address has used up its
        failures; the longest wait of the two."""
        waits = []
        for limit, key in self._keys(account, client):
            item = self.items[limit]
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                waits.append((max(1, math.ceil(reset - self.clock())), limit))
        if waits:
            raise Throttled(*max(waits))

    def failed(self, account: str | None, client: str | None) -> None:
        """Count one failure against the account (unless None) and the address."""
        for limit, key in self._keys(account, client):
            self.limiter.hit(self.items[limit], key)

    def succeeded(self, account: str) -> None:
        """A successful sign-in clears its account's failures (its address's stay counted)."""
        self.limiter.clear(self.items[ACCOUNT], account_key(account))


__all__ = ["SignInThrottle", "Throttled", "account_key", "address_key"]
