"""The API's own messages by error code: problem titles, the details of errors the API raises itself, pydantic's
request-validation reasons. Each is a :class:`catalog.i18n.Message`: its texts come from the message catalog
(catalog/locale), never from this module.

:func:`choose_lang` picks the language of a response from ``Accept-Language`` (q-values honoured), falling back to
the ``lang`` setting. Reasons the catalog gives are Messages already and are rendered as they are.
"""

from __future__ import annotations

from typing import Any

from catalog.i18n import Message, msg, text
from catalog.model import PYDANTIC
from catalog.model import pydantic_reason as _pydantic_reason

# code -> problem title
TITLES: dict[str, Message] = {
    "validation-failed": msg("title-validation-failed"),
    "not-found": msg("title-not-found"),
    "already-exists": msg("title-already-exists"),
    "version-conflict": msg("title-version-conflict"),
    "precondition-required": msg("title-precondition-required"),
    "bad-if-match": msg("title-bad-if-match"),
    "integrity": msg("title-integrity"),
    "permission-denied": msg("title-permission-denied"),
    "unauthenticated": msg("title-unauthenticated"),
    "store-error": msg("title-store-error"),
    "store-full": msg("title-store-full"),
    "backup-failed": msg("title-backup-failed"),
    "restore-refused": msg("title-restore-refused"),
    "body-too-large": msg("title-body-too-large"),
    "malformed-json": msg("title-malformed-json"),
    "method-not-allowed": msg("title-method-not-allowed"),
    "not-acceptable": msg("title-not-acceptable"),
    "unsupported-media-type": msg("title-unsupported-media-type"),
    "http-error": msg("title-http-error"),
    "catalog-error": msg("title-catalog-error"),
    "internal-error": msg("title-internal-error"),
    "too-many-attempts": msg("title-too-many-attempts"),
    "render-timeout": msg("title-render-timeout"),
}

# details of the errors the API raises itself (parameters filled by :func:`detail`)
DETAILS: dict[str, Message] = {
    "precondition-required": msg("detail-precondition-required"),
    "bad-if-match": msg("detail-bad-if-match"),
    "version-conflict": msg("detail-version-conflict"),
    "body-too-large": msg("detail-body-too-large"),
    "malformed-json": msg("detail-malformed-json"),
    "validation-failed": msg("detail-validation-failed"),
    "not-found": msg("detail-not-found"),
    "method-not-allowed": msg("detail-method-not-allowed"),
    "internal-error": msg("detail-internal-error"),
    "store-error": msg("detail-store-error"),
    "store-full": msg("detail-store-full"),
    "backup-failed": msg("detail-backup-failed"),
    "restore-refused": msg("detail-restore-refused"),
    "permission-denied": msg("detail-permission-denied"),
    "too-many-attempts": msg("detail-too-many-attempts"),
}


def choose_lang(accept_language: str | None, default: str = "vi") -> str:
    """'vi' or 'en' from an Accept-Language header (highest q first; ties in header order), else ``default``."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = "vi" if tag.startswith("vi") else "en" if tag.startswith("en") else None
        if lang and q > 0 and (best is None or q > best[0]):
            best = (q, i, lang)
    return best[2] if best else default


def title(code: str, lang: str) -> str:
    return text(TITLES.get(code, TITLES["http-error"]), lang)


def detail(code: str, lang: str, **values: object) -> str | None:
    """The detail of an error the API raises itself, with its parameters; None for other codes."""
    base = DETAILS.get(code)
    return text(Message(base.code, values), lang) if base is not None else None


def pydantic_reason(error_type: str, ctx: dict[str, Any] | None = None) -> Message | None:
    """The catalog's message for one of pydantic's error types (its context as parameters), or None."""
    if error_type not in PYDANTIC:
        return None
    return _pydantic_reason({"type": error_type, "ctx": ctx or {}})


def reason(value: str, lang: str, fallback: str = "") -> str:
    """A reason in ``lang``: a :class:`Message` rendered, a pydantic error type's message, else ``fallback``."""
    if isinstance(value, Message):
        return text(value, lang)
    coded = pydantic_reason(value)
    return text(coded, lang) if coded is not None else fallback


__all__ = ["DETAILS", "PYDANTIC", "TITLES", "choose_lang", "detail", "pydantic_reason", "reason", "title"]
