"""Hostile-input guards in front of the routers: a body-size limit and checks on every string a client sends.

- :class:`BodySizeLimit` (ASGI middleware, on /api/): a request body larger than ``max_body_bytes`` is refused with 413
  problem+json, whether it announces its length (Content-Length) or streams it (chunked): the bytes are counted as
  they arrive, and the application sees the body only once it is known to fit.
- :func:`check_request_text` (a dependency on every API route): every string in a JSON body, keys included, must be
  valid Unicode (no lone surrogates), carry no control characters other than tab and newline (no NUL) and no
  bidirectional overrides or isolates (U+202A-U+202E, U+2066-U+2069: a spoofing vector in names shown to others).
  NFD text is accepted; the catalog stores it NFC (``catalog.text.nfc``). Refusals name the field.
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable

from fastapi import Request

from catalog.errors import FieldError, ValidationFailed

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
MAX_DEPTH = 32


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (counted while streaming, not only from headers)."""

    def __init__(self, app: Callable, limit_of: Callable[[], int], prefix: str = "/api/"):
        self.app = app
        self.limit_of = limit_of
        self.prefix = prefix  # the web UI's uploads (up to max_import_bytes) are checked by their own handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or \
                not scope.get("path", "").startswith(self.prefix):
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
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        from api.messages import choose_lang, detail, title

        headers = dict(scope.get("headers") or [])
        app = scope.get("app")
        default = getattr(getattr(getattr(app, "state", None), "settings", None), "lang", "vi")
        lang = choose_lang(headers.get(b"accept-language", b"").decode("latin-1"), default)
        body = json.dumps({"type": "https://ioc-catalog.example/problems/body-too-large",
                           "title": title("body-too-large", lang), "status": 413, "code": "body-too-large",
                           "detail": detail("body-too-large", lang, limit=limit),
                           "errors": [{"field": "body", "reason": detail("body-too-large", lang, limit=limit)}]},
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def text_problems(value: Any, where: str = "", depth: int = 0) -> list[FieldError]:
    """Problems with the strings in a decoded JSON value (reason codes from api.messages.REASONS)."""
    if depth > MAX_DEPTH:
        return [FieldError(where or "body", "text-too-deep")]
    out: list[FieldError] = []
    if isinstance(value, str):
        if _SURROGATE.search(value):
            out.append(FieldError(where or "body", "text-surrogate"))
        elif _CONTROL.search(value.replace("\t", "").replace("\n", "").replace("\r", "")):
            out.append(FieldError(where or "body", "text-control"))
        elif _BIDI.search(value):
            out.append(FieldError(where or "body", "text-bidi"))
    elif isinstance(value, dict):
        for k, v in value.items():
            path = f"{where}.{k}" if where else str(k)
            key_problems = text_problems(str(k), path, depth + 1)
            out += key_problems or text_problems(v, path, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += text_problems(v, f"{where}.{i}" if where else str(i), depth + 1)
    return out


async def check_request_text(request: Request) -> None:
    """Dependency: refuse path or query parameters and JSON bodies whose strings are not safe text (422 naming
    each field)."""
    problems = text_problems(dict(request.path_params), "path") + \
        text_problems({k: v for k, v in request.query_params.multi_items()}, "query")
    if problems:
        raise ValidationFailed(problems[:50], message="text-checks")
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
    except RecursionError:  # pragma: no cover - bounded by MAX_DEPTH
        problems = [FieldError("body", "text-too-deep")]
    if problems:
        raise ValidationFailed([FieldError(f"body.{p.location}" if p.location != "body" else "body", p.reason)
                                for p in problems[:50]], message="text-checks")


__all__ = ["BodySizeLimit", "check_request_text", "text_problems"]
