"""Per-request context of the web UI: principal, language, CSRF token, rendering, security headers.

- Sign-in opens a session (:meth:`catalog.accounts.Accounts.create_session`); its value travels in the
  :data:`api.auth.SESSION_COOKIE` cookie: HttpOnly, SameSite=Lax, Secure when the request came over https.
- CSRF: every browser gets a random ``ioc_csrf`` cookie (HttpOnly, SameSite=Lax); every POST form carries
  HMAC(secret key, that value) in a hidden ``csrf`` field, checked with :func:`check_csrf` before anything else.
  A forged cross-site form has neither the cookie value nor the key.
- Language: ``?lang=vi|en`` (remembered in the ``ioc_lang`` cookie), else the cookie, else the ``lang`` setting
  (Vietnamese by default).
- Every page is rendered by Jinja2 with autoescaping on; no template marks catalog text ``|safe``. Pages carry a
  Content-Security-Policy that allows scripts only from /static (no inline script), so even a missed escape could
  not run script.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.auth import SESSION_COOKIE, Unauthenticated, current_principal
from catalog.errors import CatalogError, PermissionDenied
from catalog.metamodel import ROLE_LABELS
from catalog.permissions import Principal, require

CSRF_COOKIE = "ioc_csrf"
LANG_COOKIE = "ioc_lang"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'self'; "
       "frame-ancestors 'self'; base-uri 'none'; form-action 'self'")

_env: Environment | None = None


def templates() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                           trim_blocks=True, lstrip_blocks=True)
    return _env


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def lang_of(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in ("vi", "en"):
        return q
    c = request.cookies.get(LANG_COOKIE)
    if c in ("vi", "en"):
        return c
    return request.app.state.settings.lang


def principal_of(request: Request) -> Principal | None:
    """The signed-in principal, the anonymous one (role from the ``anonymous_role`` setting), or None when the
    setting requires sign-in. A stale session cookie counts as signed out."""
    try:
        return current_principal(request, request.app.state.store)
    except Unauthenticated:
        role = request.app.state.settings.anonymous_role
        return None if role == "none" else Principal("anonymous", role)


def may(principal: Principal | None, action: str) -> bool:
    """Whether the role allows ``action`` (catalog.permissions decides; the UI only hides what it would refuse)."""
    if principal is None:
        return False
    try:
        require(principal, action)  # type: ignore[arg-type]
    except PermissionDenied:
        return False
    return True


def _secret(request: Request) -> bytes:
    return request.app.state.settings.secret_key.get_secret_value().encode()


def csrf_seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_seed", None)
    if not seed or len(seed) > 100:
        seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request) -> str:
    return hmac.new(_secret(request), b"csrf:" + csrf_seed(request).encode(), hashlib.sha256).hexdigest()


class CsrfFailed(CatalogError):
    status = 403
    code = "csrf"


def check_csrf(request: Request, form: Any) -> None:
    seed = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get("csrf", ""))
    want = hmac.new(_secret(request), b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()
    if not seed or not hmac.compare_digest(sent, want):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def finish(request: Request, response: Any) -> Any:
    """Cookies and headers every web response gets."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=secure(request), path="/")
    q = request.query_params.get("lang")
    if q in ("vi", "en") and request.cookies.get(LANG_COOKIE) != q:
        response.set_cookie(LANG_COOKIE, q, max_age=365 * 86400, samesite="lax", secure=secure(request), path="/")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def set_session(request: Request, response: Any, value: str) -> None:
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="lax", secure=secure(request), path="/",
                        max_age=12 * 3600)


@dataclass
class Page:
    """What every template gets: ``_(vi, en)`` picks the user's language."""

    request: Request
    lang: str
    user: Principal | None

    def _(self, vi: str, en: str) -> str:
        return en if self.lang == "en" else vi

    def may(self, action: str) -> bool:
        return may(self.user, action)

    def url_lang(self, lang: str) -> str:
        return self.request.url.path + "?" + self.request.url.include_query_params(lang=lang).query

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.user.role].get(self.lang) if self.user else ""


def context(request: Request) -> Page:
    return Page(request, lang_of(request), principal_of(request))


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    page = values.pop("page", None) or context(request)
    store = request.app.state.store
    html = templates().get_template(template).render(
        page=page, _=page._, lang=page.lang, user=page.user, csrf=csrf_token(request), mm=store.metamodel,
        path=request.url.path, **values)
    return finish(request, HTMLResponse(html, status_code=status))


def error_page(request: Request, exc: CatalogError) -> HTMLResponse:
    page = context(request)
    hint = ""
    if isinstance(exc, PermissionDenied):
        title = page._("Bạn không có quyền thực hiện việc này", "You are not allowed to do this")
        hint = page._("Vai trò hoặc đơn vị của bạn không cho phép thao tác này; cán bộ đơn vị chỉ sửa được các mục "
                      "thuộc đơn vị mình.", "Your role or organisation does not allow this; department editors change "
                                            "only what their organisation owns.")
    elif exc.status == 404:
        title = page._("Không tìm thấy", "Not found")
    elif isinstance(exc, CsrfFailed):
        title = page._("Biểu mẫu đã hết hạn", "The form has expired")
    else:
        title = page._("Không thực hiện được", "This could not be done")
    return render(request, "error.html", status=exc.status if 400 <= exc.status < 600 else 400, page=page,
                  title=title, hint=hint, detail=exc.message)
