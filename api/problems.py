"""Errors as problem+json (RFC 9457): every domain error, request-validation error and HTTP error, naming field and
reason, in Vietnamese or English by Accept-Language (default: the ``lang`` setting). Titles and the API's own
messages live in :mod:`api.messages`.

Body members: ``type``, ``title``, ``status``, ``detail``, ``instance`` (the path), ``code`` (stable, e.g.
``version-conflict``) and, for validation errors, ``errors: [{field, reason}]`` (plus ``allowed``, the codes a
client may send, when the reason lists allowed values by their labels).

Status mapping beyond ``catalog.errors``: a stale version (:class:`Conflict`) answers 412 (writes carry If-Match);
a store failure answers 503 with Retry-After; too many failed sign-ins or bad tokens answer 429 with
Retry-After; anything unexpected is logged with its traceback (logger
``ioc_catalog.api``) and answers a 500 problem without internals. Denied writes are logged on ``ioc_catalog.auth``
(principal, role, method, path; never a credential).

Every problem also carries ``request_id``: the request's id (:mod:`api.observability`), the same as on its log line,
in its ``X-Request-Id`` header and on the change-log entries it wrote.

Problems repeat what the client sent (field names, values in reasons): :class:`EchoSafeJSON`, the response class of
problems and of every route, writes a lone surrogate a client sent (``{"\\ud800": 1}`` is valid JSON) as its escape
``\\ud800`` instead of failing to encode the answer.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import messages
from catalog.errors import CatalogError, Conflict, PermissionDenied, ValidationFailed
from catalog.i18n import allowed_codes, msg, term, text
from catalog.metamodel import VALUE_LABELS
from catalog.store.base import CURRENT_REQUEST_ID
from catalog.text import echoable

PROBLEM = "application/problem+json"
log = logging.getLogger("ioc_catalog.api")
auth_log = logging.getLogger("ioc_catalog.auth")


class PreconditionRequired(CatalogError):
    status = 428
    code = "precondition-required"


class BadIfMatch(CatalogError):
    status = 400
    code = "bad-if-match"


def request_lang(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    return messages.choose_lang(request.headers.get("accept-language"), getattr(settings, "lang", "vi"))


def _echoable(value: Any) -> Any:
    if isinstance(value, str):
        return echoable(value)
    if isinstance(value, dict):
        return {_echoable(k): _echoable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_echoable(v) for v in value]
    return value


class EchoSafeJSON(JSONResponse):
    """JSON that always encodes: text that UTF-8 cannot hold (lone surrogates, from JSON escapes a client sent) is
    written as visible escapes (:func:`catalog.text.echoable`); the usual path costs nothing more."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return super().render(_echoable(content))


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[dict] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    body = {
        "type": f"https://ioc-catalog.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if rid := request_id or CURRENT_REQUEST_ID.get():  # the id on the request's log line and change-log entries
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    return EchoSafeJSON(body, status_code=status, media_type=PROBLEM, headers=headers)


def _errors(items: Sequence[tuple[str, str]], lang: str) -> list[dict]:
    """(field, reason: a Message) -> [{field, reason}] in ``lang``; a reason that lists allowed values reads them
    by their labels and adds ``allowed``, their codes (what a client sends)."""
    out: list[dict] = []
    for field, reason in items:
        item: dict = {"field": field, "reason": text(reason, lang)}
        if (codes := allowed_codes(reason)) is not None:
            item["allowed"] = codes
        out.append(item)
    return out


def _literal_values(ctx: Any) -> list[str]:
    """The values a literal field allows, from pydantic's ``expected`` ("'planned', 'building' or 'retired'")."""
    expected = ctx.get("expected") if isinstance(ctx, dict) else None
    return re.findall(r"'([^']*)'", expected) if isinstance(expected, str) else []


def install(app: FastAPI) -> None:
    @app.exception_handler(CatalogError)
    async def _catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
        lang = request_lang(request)
        status, code, headers = exc.status, exc.code, None
        detail = exc.text(lang)
        errors = None
        if isinstance(exc, ValidationFailed):
            errors = _errors([(e.location, e.reason) for e in exc.errors], lang)
            detail = (
                (messages.detail("validation-failed", lang) or "")
                + " "
                + "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
            )
        elif isinstance(exc, Conflict):
            status = 412
            detail = (
                messages.detail("version-conflict", lang, ref=exc.ref, expected=exc.expected, actual=exc.actual)
                or detail
            )
        elif isinstance(exc, PermissionDenied):
            principal = getattr(request.state, "principal", None)
            name, role = getattr(principal, "name", "?"), getattr(principal, "role", "?")
            auth_log.warning("denied %s %s to %s (%s): %s", request.method, request.url.path, name, role, exc.message)
            detail = messages.detail("permission-denied", lang, principal=name, role=role) or detail
            errors = [{"field": "authorization", "reason": exc.text(lang)}]
        elif exc.status == 429:  # too many failed sign-ins or bad tokens (api.auth.TooManyAttempts)
            seconds = int(getattr(exc, "retry_after", 60))
            headers = {"Retry-After": str(seconds)}
            detail = messages.detail(code, lang, seconds=seconds) or detail
        elif exc.status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="ioc-catalog"'}
        elif exc.status >= 500:
            log.error("store failure on %s %s: %s", request.method, request.url.path, exc.message)
            status, headers = 503, {"Retry-After": "1"}
            detail = (
                messages.detail(code, lang) or messages.detail("store-error", lang) or detail
            )  # store-full: its own
        elif code in messages.DETAILS and code not in ("not-found",):
            detail = messages.detail(code, lang) or detail
        return problem(status, messages.title(code, lang), detail, code, errors, request.url.path, headers)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = request_lang(request)
        items = []
        malformed = False
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            if e.get("type") == "json_invalid":
                malformed = True
            if e.get("type") == "extra_forbidden" and loc:
                items.append((".".join(loc), msg("pydantic-extra-forbidden-named", name=loc[-1])))
                continue
            kind = str(e.get("type", ""))
            if kind in ("literal_error", "enum") and (allowed := _literal_values(e.get("ctx"))):
                items.append(
                    (".".join(loc), msg("value-one-of", allowed=[term(v, VALUE_LABELS.get(v)) for v in allowed]))
                )
                continue
            reason = messages.pydantic_reason(kind, e.get("ctx")) or msg("pydantic-other", type=kind)
            items.append((".".join(loc), reason))
        code = "malformed-json" if malformed else "validation-failed"
        errors = _errors(items[:50], lang)
        detail = (
            (messages.detail(code, lang) or "") + " " + "; ".join(f"{x['field']}: {x['reason']}" for x in errors[:5])
        )
        return problem(
            400 if malformed else 422, messages.title(code, lang), detail.strip(), code, errors, request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = request_lang(request)
        code = {404: "not-found", 405: "method-not-allowed", 406: "not-acceptable", 415: "unsupported-media-type"}.get(
            exc.status_code, "http-error"
        )
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            code = "malformed-json"  # undecodable bytes, nesting too deep, numbers too long to convert
        detail = messages.detail(code, lang) if code in messages.DETAILS else str(exc.detail)
        return problem(
            exc.status_code,
            messages.title(code, lang),
            detail or "",
            code,
            None,
            request.url.path,
            dict(exc.headers or {}) if getattr(exc, "headers", None) else None,
        )

    @app.exception_handler(Exception)
    async def _last_resort(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex
        log.error("unexpected error %s on %s %s", request_id, request.method, request.url.path, exc_info=exc)
        lang = request_lang(request)
        return problem(
            500,
            messages.title("internal-error", lang),
            messages.detail("internal-error", lang, request_id=request_id) or "",
            "internal-error",
            None,
            request.url.path,
            {"X-Request-Id": request_id},  # answered past api.observability's middleware: the header is set here
            request_id=request_id,
        )


__all__ = ["PROBLEM", "BadIfMatch", "EchoSafeJSON", "PreconditionRequired", "install", "problem", "request_lang"]
