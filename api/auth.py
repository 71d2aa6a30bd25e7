"""Who is calling: the principal of a request, for the API and the web UI alike.

A request is authenticated by ``Authorization: Bearer ioc_<id>_<secret>`` (API tokens, ``ioc-catalog token create``)
or by the web UI's session cookie (:data:`SESSION_COOKIE`, set at sign-in). Without either it is anonymous: it gets
the role in the ``anonymous_role`` setting (default ``viewer``: read-only browsing; ``none``: sign-in required for
everything). A request carrying credentials that do not check out is refused (401), never downgraded silently.

Failed sign-ins and bad tokens are counted per account and per client address (:class:`catalog.throttle
.SignInThrottle`, one per app: ``app.state.throttle``); once an address has sent too many bad tokens, its requests
with a token answer 429 with Retry-After (:class:`TooManyAttempts`) until the oldest failure leaves the window. The
client address is the connection's peer as the server reports it (uvicorn replaces it with X-Forwarded-For only for
connections from the addresses in its ``--forwarded-allow-ips``, by default 127.0.0.1).

What the principal may then do is decided by the catalog services (:mod:`catalog.permissions`): one rule set.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalog.accounts import Accounts
from catalog.errors import CatalogError
from catalog.i18n import msg
from catalog.permissions import Principal
from catalog.store import CatalogStore
from catalog.throttle import Throttled

SESSION_COOKIE = "ioc_session"


class Unauthenticated(CatalogError):
    status = 401
    code = "unauthenticated"


class TooManyAttempts(Unauthenticated):
    """A token from an address that has sent too many bad ones (429; ``retry_after`` seconds)."""

    status = 429
    code = "too-many-attempts"

    def __init__(self, throttled: Throttled):
        self.retry_after = throttled.retry_after
        super().__init__(throttled.message)


def client_address(request: Request) -> str | None:
    """The address credentials came from, for the throttle and the sign-in log."""
    return request.client.host if request.client else None


def accounts_for(request: Request, store: CatalogStore) -> Accounts:
    """Accounts that throttle and log failures under this request's client address."""
    return Accounts(store, throttle=getattr(request.app.state, "throttle", None), client=client_address(request))


def get_store(request: Request) -> CatalogStore:
    return request.app.state.store


StoreDep = Annotated[CatalogStore, Depends(get_store)]


def current_principal(request: Request, store: StoreDep) -> Principal:
    """The principal of this request (cached on ``request.state``); raises Unauthenticated (401) or TooManyAttempts
    (429)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    accounts = accounts_for(request, store)
    header = request.headers.get("authorization", "")
    principal: Principal | None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(msg("auth-header-malformed"))
        try:
            principal = accounts.authenticate_token(value.strip())
        except Throttled as exc:
            raise TooManyAttempts(exc) from None
        if principal is None:
            raise Unauthenticated(msg("auth-token-invalid"))
    elif request.cookies.get(SESSION_COOKIE):
        principal = accounts.session_principal(request.cookies[SESSION_COOKIE])
        if principal is None:
            raise Unauthenticated(msg("auth-session-ended"))
    else:
        role = request.app.state.settings.anonymous_role
        if role == "none":
            raise Unauthenticated(msg("auth-required"))
        principal = Principal("anonymous", role)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]

__all__ = [
    "SESSION_COOKIE",
    "PrincipalDep",
    "StoreDep",
    "TooManyAttempts",
    "Unauthenticated",
    "accounts_for",
    "client_address",
    "current_principal",
    "get_store",
]
