"""The web UI under a path prefix (setting ``root_path``, e.g. ``/ioc-catalog``) behind a reverse proxy.

The proxy strips the prefix (nginx: ``location /ioc-catalog/ { proxy_pass http://catalog/; }``) and uvicorn puts it
back in each request's scope (``root_path``). Routes match as before; :func:`starlette.Request.url_for` carries the
prefix. The web UI's pages, redirects and cookies name the catalog's paths absolutely (``/entities/...``), so this
middleware, active only while a request has a root path, adds the prefix where a browser reads a path:

- ``Location`` of a redirect and ``Path=`` of a cookie that start with ``/``;
- in HTML pages, ``href``, ``src``, ``action``, ``formaction`` and ``data-*`` attributes whose value starts with
  one ``/`` (not ``//``, not already under the prefix);
- in the catalog's own scripts (``/static/<name>.js``; never the vendored libraries), string literals that start
  with ``/`` and a letter: the paths the scripts fetch or link to (``"/api/v1/graph/explore?"``).

Anything else (JSON, diagrams, downloads) passes untouched and unbuffered.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COOKIE_PATH = re.compile(rb"(?i)(;\s*path=)(/[^;]*)")


@functools.lru_cache(maxsize=8)
def _patterns(root: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(HTML attributes, script literals) that name a path of the catalog not yet under ``root``."""
    not_yet = rb"(?!/|" + re.escape(root[1:]) + rb"(?:/|[\"'?#]))"
    return (
        re.compile(rb'((?:href|src|action|formaction|data-[a-z0-9-]+)=")/' + not_yet),
        re.compile(rb"""(["'])/(?=[a-z])""" + not_yet),
    )


def _prefixed(root: bytes, value: bytes, cookie: bool = False) -> bytes:
    if value == root or value.startswith(root + b"/") or value.startswith(b"//") or not value.startswith(b"/"):
        return value
    if cookie and value == b"/":
        return root  # the whole catalog, /ioc-catalog and everything under it
    return root + value


class PathPrefix:
    """ASGI middleware: the prefix in links, redirects and cookie paths (see the module's docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = str(scope.get("root_path", "")).rstrip("/")
        if scope["type"] != "http" or not root:
            await self.app(scope, receive, send)
            return
        rootb = root.encode()
        path = str(scope.get("path", ""))
        rel = path[len(root) :] if path.startswith(root + "/") else path  # uvicorn's path carries the root path
        script = rel.startswith("/static/") and rel.endswith(".js") and not rel.startswith("/static/vendor/")
        start: dict[str, Any] = {}
        body: list[bytes] = []
        rewrite = False

        async def send_prefixed(message: Message) -> None:
            nonlocal rewrite
            if message["type"] == "http.response.start":
                headers = []
                kind = b""
                for key, value in message.get("headers", []):
                    low = key.lower()
                    if low == b"location":
                        value = _prefixed(rootb, value)
                    elif low == b"set-cookie":
                        value = _COOKIE_PATH.sub(
                            lambda m: m.group(1) + _prefixed(rootb, m.group(2), cookie=True), value
                        )
                    elif low == b"content-type":
                        kind = value.lower()
                    headers.append((key, value))
                message["headers"] = headers
                rewrite = kind.startswith(b"text/html") or (script and b"javascript" in kind)
                if not rewrite:
                    await send(message)
                    return
                start.update(message)
                return
            if message["type"] == "http.response.body" and rewrite:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                content = b"".join(body)
                attributes, literals = _patterns(rootb)
                content = (literals if script else attributes).sub(lambda m: m.group(1) + rootb + b"/", content)
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(content)).encode()))
                start["headers"] = headers
                await send(start)
                await send({"type": "http.response.body", "body": content, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_prefixed)


__all__ = ["PathPrefix"]
