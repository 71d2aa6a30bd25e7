"""Signing in and out of the web UI, and the signed-in person's own account page (docs/security.md).

- ``GET /signin``: the sign-in page, in the page's language: the city's identity provider (when ``oidc_issuer`` is
  set) and the catalog's own accounts (unless ``local_signin`` is ``none``; ``admins``: local administrators only).
- ``POST /signin``: a local account's name and password (throttled: catalog.throttle).
- ``GET /signin/oidc``: starts the OpenID Connect flow (api.oidc); ``GET /signin/oidc/callback``: the provider's
  answer, checked, then the claim mapping (catalog.claims) decides role and organisation; the user is created or
  updated just in time (catalog.accounts) and a session opened. A person the mapping no longer admits is refused, and
  every session of theirs ends.
- ``POST /signout``: ends the session; a session opened through the provider continues to the provider's
  end_session_endpoint when it has one.
- ``GET /account``: who I am, my API tokens (admins: everyone's); ``POST /account/tokens`` creates one, shown once on
  the page that answers (never in a URL); ``POST /account/tokens/revoke`` revokes one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api import messages
from api.auth import SESSION_COOKIE, accounts_for
from api.oidc import NotConfigured, OidcClient, ProviderDown, SignInFailed
from api.routers.web import SignInRequired, _form, _safe_next, _store, _who, web
from api.web.context import Page, context, finish, lang_of, render, secure, set_session
from catalog.accounts import Accounts
from catalog.claims import ClaimMapping, load_mapping, note
from catalog.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import msg
from catalog.throttle import Throttled

router = APIRouter(include_in_schema=False)
log = logging.getLogger("ioc_catalog.auth")
STATE_COOKIE = "ioc_oidc_state"
STATE_PATH = "/signin/oidc"
EXPIRY_CHOICES = (30, 90, 365)


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _oidc(request: Request) -> OidcClient | None:
    """The app's OpenID Connect client (None when no provider is configured)."""
    settings = _settings(request)
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    client = getattr(request.app.state, "oidc", None)
    if client is None:
        client = request.app.state.oidc = OidcClient(settings)
    return client


def _mapping(request: Request) -> ClaimMapping:
    found = getattr(request.app.state, "oidc_mapping", None)
    if found is None:
        path = _settings(request).oidc_claims_mapping
        if not path:
            raise ValidationFailed([])
        found = request.app.state.oidc_mapping = load_mapping(path)
    return found


def _signin_page(request: Request, status: int = 200, error: str = "", **values: Any) -> Response:
    settings = _settings(request)
    page = values.pop("page", None) or context(request)
    return render(
        request,
        "signin.html",
        status=status,
        page=page,
        error=error,
        sso=_oidc(request) is not None,
        local=settings.local_signin,
        next=values.pop("next", "/"),
        name=values.pop("name", ""),
        **values,
    )


@router.get("/signin")
@web
def signin_page(request: Request, next: str = "/", signed_out: str = "") -> Response:
    page = context(request)
    notice = page._("ui-signed-out-everywhere") if signed_out == "1" else ""
    return _signin_page(request, page=page, next=_safe_next(next), notice=notice)


@router.post("/signin")
@web
async def signin(request: Request) -> Response:
    form = await _form(request)
    name, password = str(form.get("name", "")).strip()[:64], str(form.get("password", ""))[:200]
    nxt = _safe_next(str(form.get("next", "/")))
    page = context(request)
    policy = _settings(request).local_signin
    if policy == "none":
        return _signin_page(request, 403, page._("ui-signin-local-off"), page=page, next=nxt, name=name)
    accounts = accounts_for(request, _store(request))
    try:  # the password hash takes tens of milliseconds: off the event loop
        opened = await run_in_threadpool(accounts.create_session, name, password)
    except Throttled as exc:
        refusal = _signin_page(
            request,
            429,
            messages.detail(exc.code, page.lang, seconds=exc.retry_after) or "",
            page=page,
            next=nxt,
            name=name,
        )
        refusal.headers["Retry-After"] = str(exc.retry_after)
        return refusal
    if opened is not None and policy == "admins" and opened[1].role != "admin":
        accounts.end_session(opened[0])  # local sign-in is kept for administrators only
        accounts.refused("password", name, "local-signin-admins-only")
        opened = None
    if opened is None:
        return _signin_page(request, 401, page._("ui-signin-wrong"), page=page, next=nxt, name=name)
    response = RedirectResponse(nxt, status_code=303)
    set_session(request, response, opened[0])
    return finish(request, response)


@router.get("/signin/oidc")
@web
def oidc_start(request: Request, next: str = "/") -> Response:
    client = _oidc(request)
    if client is None:
        raise NotConfigured()
    page = context(request)
    try:
        url, state = client.begin(_store(request), _redirect_uri(request), _safe_next(next))
    except ProviderDown as exc:
        log.warning("sign-in provider down: door=oidc reason=%s", exc.reason)
        return _signin_page(request, 424, page._("ui-signin-provider-down"), page=page, next=_safe_next(next))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE, state, max_age=600, httponly=True, samesite="lax", secure=secure(request), path=STATE_PATH
    )
    return finish(request, response)


def _redirect_uri(request: Request) -> str:
    return _settings(request).oidc_redirect_url or str(request.url_for("oidc_callback"))


@router.get("/signin/oidc/callback", name="oidc_callback")
@web
def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    client = _oidc(request)
    if client is None:
        raise NotConfigured()
    page = context(request)
    store = _store(request)
    accounts = accounts_for(request, store)  # the system's rights, this client's throttle and address
    try:  # a refused callback counts against the client's address like a wrong password
        attempt = accounts.attempt("oidc")
    except Throttled as exc:
        refusal = _refused(request, page, 429, messages.detail(exc.code, page.lang, seconds=exc.retry_after) or "")
        refusal.headers["Retry-After"] = str(exc.retry_after)
        return refusal
    with attempt:
        if error:  # the provider said no (access_denied, login_required...): its code, bounded, is all that is logged
            accounts.refused("oidc", None, "provider-" + "".join(c for c in error[:40] if c.isalnum() or c in "_-"))
            attempt.failed()
            return _refused(request, page, 401, page._("ui-signin-provider-refused"))
        try:
            verified = client.finish(store, state, code, request.cookies.get(STATE_COOKIE, ""))
        except SignInFailed as exc:
            accounts.refused("oidc", None, exc.reason)
            attempt.failed()
            return _refused(request, page, 401, page._("ui-signin-oidc-failed"))
        except ProviderDown as exc:
            accounts.refused("oidc", None, "provider-down-" + exc.reason)
            return _refused(request, page, 424, page._("ui-signin-provider-down"))
    claims, issuer = verified.claims, client.issuer
    subject = str(claims["sub"])
    try:
        decision = _mapping(request).decide(claims)
    except ValidationFailed as exc:
        log.error("sign-in mapping unusable: door=oidc %s", "; ".join(str(e) for e in exc.errors) or "no file set")
        return _refused(request, page, 403, page._("ui-signin-not-admitted"))
    if not decision.admitted or decision.role is None:
        ended = accounts.refuse_external(issuer, subject)
        if ended:
            note(decision, subject, reason="not-admitted-sessions-ended")
        return _refused(request, page, 403, page._("ui-signin-not-admitted"))
    user = accounts.provision_external(
        decision.name or "", decision.role, decision.org, decision.display, issuer, subject, decision.email
    )
    if isinstance(user, str):
        if user != "local-account":  # not let in any more (an organisation gone, a name that no longer fits)
            accounts.refuse_external(issuer, subject)
        note(decision, subject, reason=user)
        return _refused(request, page, 403, page._("ui-signin-not-admitted"))
    response = RedirectResponse(_safe_next(verified.next), status_code=303)
    set_session(request, response, accounts.open_session(user.name, issuer, subject))
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return finish(request, response)


def _refused(request: Request, page: Any, status: int, error: str) -> Response:
    response = _signin_page(request, status, error, page=page)
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


@router.post("/signout")
@web
async def signout(request: Request) -> Response:
    await _form(request)
    accounts = accounts_for(request, _store(request))
    cookie = request.cookies.get(SESSION_COOKIE, "")
    session = accounts.session_info(cookie)
    accounts.end_session(cookie)
    client = _oidc(request)
    provider_logout = None
    if client is not None and session is not None and session.get("via") == "oidc":
        back = str(request.url_for("signin_page")) + "?signed_out=1"
        provider_logout = await run_in_threadpool(client.logout_url, back)
    response: Response
    if provider_logout:  # a page that moves on to the provider (a form's redirect elsewhere is refused by the CSP)
        request.state.principal = None
        response = render(
            request, "signout.html", page=Page(request, lang_of(request), None), provider_logout=provider_logout
        )
    else:
        response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return finish(request, response)


# --- the account page: who I am, my API tokens ---------------------------------------------------------------------


def _signed_in(request: Request, posted: bool = False) -> Any:
    """The signed-in principal; an anonymous visitor is sent to sign in (a page) or refused (403, a form)."""
    p = _who(request, "read")
    if p.name == "anonymous":
        if posted:
            raise PermissionDenied(msg("ui-sign-in-first"))
        raise SignInRequired()
    return p


def _account_page(request: Request, status: int = 200, **values: Any) -> Response:
    p = _signed_in(request)
    store = _store(request)
    accounts = Accounts(store, p)
    is_admin = p.role == "admin"
    tokens = accounts.list_tokens(None if is_admin else p.name)
    tokens.sort(key=lambda t: (t.get("user", ""), t.get("created") or ""))
    try:
        me = accounts.get_user(p.name)
    except NotFound:
        me = None
    return render(
        request,
        "account.html",
        status=status,
        me=me,
        tokens=tokens,
        all_users=is_admin,
        choices=EXPIRY_CHOICES,
        **values,
    )


@router.get("/account")
@web
def account_page(request: Request, revoked: str = "") -> Response:
    return _account_page(request, revoked=revoked == "1")


@router.post("/account/tokens")
@web
async def create_token(request: Request) -> Response:
    form = await _form(request)
    p = _signed_in(request, posted=True)
    label = str(form.get("label", "")).strip()[:200]
    try:
        days = int(str(form.get("expires_days", "90")))
    except ValueError:
        days = 0
    if days not in EXPIRY_CHOICES:
        raise ValidationFailed([FieldError("expires_days", msg("ui-token-expiry-choice"))])
    issued = Accounts(_store(request), p).create_token(p.name, label, expires_days=days)
    response = _account_page(request, issued=issued)
    response.headers["Cache-Control"] = "no-store"  # the page holds the secret: kept by no cache, not even "back"
    return response


@router.post("/account/tokens/revoke")
@web
async def revoke_token(request: Request) -> Response:
    form = await _form(request)
    p = _signed_in(request, posted=True)
    token_id = str(form.get("id", ""))[:40]
    try:
        Accounts(_store(request), p).revoke_token(token_id)
    except PermissionDenied:
        raise NotFound(msg("token-not-found", id=token_id)) from None  # another's token: as if it did not exist
    return finish(request, RedirectResponse("/account?revoked=1", status_code=303))
