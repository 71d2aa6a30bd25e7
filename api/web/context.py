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

import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from api.auth import SESSION_COOKIE, Unauthenticated, current_principal
from api.web.forms import reason
from catalog.errors import CatalogError, PermissionDenied, ValidationFailed
from catalog.i18n import (
    DEFAULT_TIMEZONE,
    Message,
    format_date,
    format_datetime,
    format_number,
    lang_or_default,
    msg,
    msg_plural,
    text,
)
from catalog.metamodel import ROLE_LABELS
from catalog.permissions import Principal, require

CSRF_COOKIE = "ioc_csrf"
LANG_COOKIE = "ioc_lang"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)

_envs: dict[str, Environment] = {}


def templates(lang: str = "vi") -> Environment:
    """The Jinja2 environment of one language: its i18n extension's ``_``/``gettext``/``ngettext`` take message
    codes (``{{ _("ui-search") }}``, ``{{ ngettext("ui-n-findings", "ui-n-findings#plural", n) }}``, parameters
    as keywords) and give their text from the catalog (:mod:`catalog.i18n`); ``date``, ``datetime`` and ``number``
    filters format per locale."""
    lang = lang_or_default(lang)
    if lang not in _envs:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            auto_reload=False,  # templates change with the package, never under a running server: no stat per page
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )

        def gettext(code: str, **params: Any) -> str:
            return msg(code, **params).text(lang)

        def ngettext(code: str, plural: str, count: int, **params: Any) -> str:
            return msg_plural(code, plural, count, **params).text(lang)

        env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
        env.filters["date"] = lambda d, format="medium": format_date(d, lang, format)
        env.filters["datetime"] = pass_context(
            lambda ctx, d, format="medium", zone=None: format_datetime(d, lang, format, zone or _timezone(ctx))
        )
        env.filters["number"] = lambda n: format_number(n, lang) if isinstance(n, (int, float)) else n
        env.filters["text"] = lambda v: text(v, lang)
        env.globals["vendor"] = vendor_url
        _envs[lang] = env
    return _envs[lang]


def _timezone(ctx: Any) -> str:
    """The zone on whose clock a page shows times (``{{ t | datetime }}``; ``datetime(zone="UTC")`` for an instant
    the reader typed in UTC): the ``timezone`` setting, Asia/Ho_Chi_Minh by default."""
    request = getattr(ctx.get("page"), "request", None)
    state = getattr(getattr(request, "app", None), "state", None)
    return getattr(getattr(state, "settings", None), "timezone", None) or DEFAULT_TIMEZONE


@functools.cache
def vendor_manifest() -> dict[str, Any]:
    """The front-end libraries the package carries (api/static/vendor/manifest.json, written by scripts/vendor.py)."""
    return json.loads((STATIC / "vendor" / "manifest.json").read_text(encoding="utf-8"))["packages"]


def vendor_url(package: str, name: str) -> str:
    """The URL of one vendored file, versioned so a browser may keep it: ``{{ vendor("cytoscape", "cytoscape.min.js") }}``."""
    entry = vendor_manifest()[package]
    if name not in entry["files"]:
        raise KeyError(f"{package}/{name} is not in api/static/vendor/manifest.json")
    return f"/static/vendor/{package}/{name}?v={entry['version']}"


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
        raise CsrfFailed(msg("ui-csrf-expired-detail"))


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
    response.set_cookie(
        SESSION_COOKIE, value, httponly=True, samesite="lax", secure=secure(request), path="/", max_age=12 * 3600
    )


@dataclass
class Page:
    """What every template gets: the request, the reader's language and principal; ``_(code, **params)`` is a
    message of the catalog in that language."""

    request: Request
    lang: str
    user: Principal | None

    def _(self, code: str, **params: Any) -> str:
        return msg(code, **params).text(self.lang)

    def text(self, value: Any) -> str:
        """A :class:`catalog.i18n.Message` (or typed text) as this page's reader reads it."""
        return text(value, self.lang)

    def may(self, action: str) -> bool:
        return may(self.user, action)

    def url_lang(self, lang: str) -> str:
        return self.request.url.path + "?" + self.request.url.include_query_params(lang=lang).query

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.user.role].get(self.lang) if self.user else ""

    @property
    def org_name(self) -> str:
        """The name of the user's organisation (its reference only when the catalog no longer has it)."""
        ref = self.user.org if self.user else None
        if not ref:
            return ""
        found = self.request.app.state.store.find_entity(ref)
        return found.name.get(self.lang) if found else ref


# labels of the change log's operations, of compliance severities, of drafts' and imports' statuses
OPERATIONS = {"create": msg("ui-op-create"), "update": msg("ui-op-update"), "delete": msg("ui-op-delete")}
SEVERITIES = {"error": msg("ui-severity-error"), "warning": msg("ui-severity-warning"), "info": msg("ui-severity-info")}
STATUSES = {
    "pending": msg("ui-draft-pending"),
    "approved": msg("ui-draft-approved"),
    "rejected": msg("ui-draft-rejected"),
    "finished": msg("ui-import-finished"),
    "failed": msg("ui-import-failed"),
    "running": msg("ui-import-running"),
}


def label_of(table: dict[str, Message], value: Any, lang: str) -> str:
    found = table.get(value) if isinstance(value, str) else None
    return found.text(lang) if found is not None else text(value, lang)


def context(request: Request) -> Page:
    return Page(request, lang_of(request), principal_of(request))


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    page = values.pop("page", None) or context(request)
    store = request.app.state.store
    lang = page.lang
    html = (
        templates(lang)
        .get_template(template)
        .render(
            page=page,
            lang=lang,
            user=page.user,
            csrf=csrf_token(request),
            mm=store.metamodel,
            path=request.url.path,
            op_label=lambda v: label_of(OPERATIONS, v, lang),
            severity_label=lambda v: label_of(SEVERITIES, v, lang),
            status_label=lambda v: label_of(STATUSES, v, lang),
            **values,
        )
    )
    return finish(request, HTMLResponse(html, status_code=status))


def describe(exc: CatalogError, lang: str) -> str:
    """What went wrong, in the reader's language: the error's message from the catalog; a refused input field by
    field, each reason in that language."""
    if isinstance(exc, ValidationFailed) and exc.errors:
        return "; ".join(reason(e, lang) for e in exc.errors)  # a page names no field by its code
    return text(exc.message, lang)


def error_page(request: Request, exc: CatalogError) -> HTMLResponse:
    page = context(request)
    hint = ""
    if isinstance(exc, PermissionDenied):
        title = page._("ui-error-not-allowed")
        hint = page._("ui-error-not-allowed-hint")
    elif exc.status == 404:
        title = page._("ui-error-not-found")
    elif isinstance(exc, CsrfFailed):
        title = page._("ui-error-form-expired")
    else:
        title = page._("ui-error-not-done")
    return render(
        request,
        "error.html",
        status=exc.status if 400 <= exc.status < 600 else 400,
        page=page,
        title=title,
        hint=hint,
        detail=describe(exc, page.lang),
    )
