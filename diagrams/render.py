"""Lay out and render DOT with the real Graphviz ``dot`` binary: SVG, PNG, PDF, or the DOT text itself.

Reproducibility: the same DOT gives the same SVG and PNG bytes from the same Graphviz version (checked by the
tests). Graphviz's cairo PDF writer stamps the current time as ``/CreationDate`` and cairo 1.16 ignores
``SOURCE_DATE_EPOCH``, so :func:`render` rewrites that one field to a fixed date of the same length (the byte
offsets in the PDF's cross-reference table stay valid); the PDF is then reproducible too. The SVG names the
Graphviz version in a comment, so a different Graphviz gives different bytes: the audit bundle's manifest records it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

from catalog.errors import CatalogError, FieldError, ValidationFailed

FORMATS = ("svg", "png", "pdf", "dot")
DEFAULT_TIMEOUT = 120.0
_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}(Z|[+-]\d{2}'\d{2}'?)?\)")


class RenderFailed(CatalogError):
    """Graphviz is missing, failed or took too long."""

    status = 500
    code = "render-failed"


def dot_binary() -> str:
    path = shutil.which("dot")
    if not path:
        raise RenderFailed("Graphviz 'dot' is not installed (apt-get install graphviz; see docs/diagrams.md)")
    return path


def graphviz_version() -> str:
    out = subprocess.run([dot_binary(), "-V"], capture_output=True, text=True, timeout=30)
    return (out.stderr or out.stdout).strip()


def fix_pdf_date(pdf: bytes, day: dt.date | None = None) -> bytes:
    stamp = (day or dt.date(1970, 1, 1)).strftime("%Y%m%d").encode() + b"000000Z"

    def repl(m: re.Match[bytes]) -> bytes:
        new = b"/CreationDate (D:" + stamp + b")"
        return new.ljust(len(m.group(0)))  # same length: xref offsets stay right

    return _PDF_DATE.sub(repl, pdf)


def run_dot(dot: str, fmt: str, timeout: float = DEFAULT_TIMEOUT, dpi: int | None = None) -> bytes:
    """Run ``dot -T<fmt>`` on the text; bytes out. No PDF fixing here (see :func:`render`)."""
    args = [dot_binary(), f"-T{fmt}"]
    if dpi:
        args.append(f"-Gdpi={int(dpi)}")
    try:
        proc = subprocess.run(args, input=dot.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderFailed(
            f"Graphviz took longer than {timeout:g} s; draw a smaller view (e.g. --limit, --depth)"
        ) from None
    if proc.returncode != 0:
        raise RenderFailed(f"Graphviz failed ({proc.returncode}): {proc.stderr.decode('utf-8', 'replace')[:2000]}")
    return proc.stdout


def render(
    dot: str, fmt: str, *, timeout: float = DEFAULT_TIMEOUT, pdf_date: dt.date | None = None, dpi: int | None = None
) -> bytes:
    """DOT text to ``fmt`` (svg, png, pdf, dot). PDF creation dates are fixed to ``pdf_date`` (default 1970-01-01)."""
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", f"unknown format '{fmt}'; available: {', '.join(FORMATS)}")])
    if fmt == "dot":
        return dot.encode("utf-8")
    out = run_dot(dot, fmt, timeout, dpi)
    return fix_pdf_date(out, pdf_date) if fmt == "pdf" else out


__all__ = [
    "DEFAULT_TIMEOUT",
    "FORMATS",
    "RenderFailed",
    "dot_binary",
    "fix_pdf_date",
    "graphviz_version",
    "render",
    "run_dot",
]
