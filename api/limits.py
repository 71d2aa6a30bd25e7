"""Hostile-input guards in front of the routers: a body-size limit, UTF-8 bodies, and checks on every string a client
sends.

- :class:`BodySizeLimit` (ASGI middleware, on /api/): a request body larger than ``max_body_bytes`` is refused with 413
  problem+json, whether it announces its length (Content-Length) or streams it (chunked): the bytes are counted as
  they arrive, and the application sees the body only once it is known to fit. A body that is not UTF-8 (UTF-16 or
  UTF-32 JSON, which Python's JSON reader would otherwise guess and accept; any other encoding) is refused with 400
  ``malformed-json`` (reason ``body-not-utf8``): UTF-8 JSON never holds a NUL byte, and UTF-16/32 JSON always does.
- :func:`check_request_text` (a dependency on every API route): an early guard with the catalog's own text rules
  (:func:`catalog.text.text_problems`, the rules that the catalog's validation applies to whatever any door
  writes): every string in the path, the query and a JSON body, keys included, must be valid Unicode (no lone
  surrogates), carry no control characters other than tab, newline and carriage return (no NUL), no bidirectional
  overrides or isolates and no noncharacters. NFD text is accepted; the catalog stores it NFC. Refusals name the
  field (422).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import Message, msg, text
from catalog.text import TEXT_TOO_DEEP, echoable, text_problems, text_reason

# the reasons a refusal before the application names for the body
_REASONS: dict[str, Message] = {"body-not-utf8": msg("body-not-utf8")}


def _reason_text(code: str, lang: str) -> str:
    return text(_REASONS.get(code, code), lang)


Scope = dict[str, Any]
AsgiMessage = dict[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (counted while streaming, not only from headers)."""

    def __init__(self, app: Callable, limit_of: Callable[[], int], prefix: str = "/api/"):
        self.app = app
        self.limit_of = limit_of
        self.prefix = prefix  # the web UI's uploads (up to max_import_bytes) are checked by their own handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not scope.get("path", "").startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        limit = self.limit_of()
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                announced = -1
            if announced > limit:
                await self._too_large(scope, send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._too_large(scope, send, limit)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        whole = b"".join(chunks)
        if whole and not _utf8(whole):
            await self._refuse(scope, send, 400, "malformed-json", "body-not-utf8")
            return
        sent = False

        async def replay() -> AsgiMessage:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        await self._refuse(scope, send, 413, "body-too-large", limit=limit)

    async def _refuse(
        self, scope: Scope, send: Send, status: int, code: str, reason: str | None = None, **values: object
    ) -> None:
        """Answer problem+json before the application sees the request (``reason``: a reason code for the body
        field; else the detail is repeated there) and close the connection."""
        from api.messages import choose_lang, detail, title

        headers = dict(scope.get("headers") or [])
        app = scope.get("app")
        default = getattr(getattr(getattr(app, "state", None), "settings", None), "lang", "vi")
        lang = choose_lang(headers.get(b"accept-language", b"").decode("latin-1"), default)
        text = detail(code, lang, **values) or ""
        body = json.dumps(
            {
                "type": f"https://ioc-catalog.example/problems/{code}",
                "title": title(code, lang),
                "status": status,
                "code": code,
                "detail": text,
                "instance": echoable(str(scope.get("path", ""))),
                "errors": [{"field": "body", "reason": _reason_text(reason, lang) if reason else text}],
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _utf8(body: bytes) -> bool:
    """The body is UTF-8 text with no NUL byte (JSON in UTF-8 has none; UTF-16 and UTF-32 JSON always has some)."""
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def check_request_text(request: Request) -> None:
    """Dependency: refuse path or query parameters and JSON bodies whose strings are not safe text (422 naming
    each field)."""
    problems = text_problems(dict(request.path_params), "path") + text_problems(
        dict(request.query_params.multi_items()), "query"
    )
    if problems:
        raise ValidationFailed(problems[:50])
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    raw = await request.body()
    if not raw:
        return
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return  # FastAPI answers malformed JSON itself (json_invalid)
    try:
        problems = text_problems(value)
    except RecursionError:  # pragma: no cover - bounded by catalog.text.MAX_DEPTH
        problems = [FieldError("body", text_reason(TEXT_TOO_DEEP))]
    if problems:
        raise ValidationFailed(
            [FieldError(f"body.{p.location}" if p.location != "body" else "body", p.reason) for p in problems[:50]]
        )


__all__ = ["BodySizeLimit", "check_request_text"]
