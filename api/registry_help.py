"""Help texts that name what the registries hold: ``{importers}``, ``{exporters}``, ``{views}`` and ``{rules}`` in a
command's or an option's help become the registered names (built-ins and installed extensions) when the help is
shown, not when the CLI starts: ``ioc-catalog import --help`` lists the importers an extension added, and a command
that does not show its help loads no registry.

    @app.command("import", cls=RegistryHelpCommand)
    def import_(fmt: Annotated[str, typer.Option(help="Importer: {importers}")]): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer.core import TyperCommand


def _importers() -> list[str]:
    from importers.base import IMPORTERS

    return IMPORTERS.names()


def _exporters() -> list[str]:
    from importers.exports import EXPORTERS

    return [e.label for e in EXPORTERS.items().values()]


def _views() -> list[str]:
    from diagrams.registry import registry

    return list(registry())


def _rules() -> list[str]:
    from catalog.compliance import load_rules

    return [r.code for r in load_rules()]


PLACEHOLDERS: dict[str, Callable[[], list[str]]] = {
    "{importers}": _importers,
    "{exporters}": _exporters,
    "{views}": _views,
    "{rules}": _rules,
}


def fill(text: str | None) -> str | None:
    """``text`` with each placeholder replaced by the registered names, comma-separated."""
    if not text:
        return text
    for mark, names in PLACEHOLDERS.items():
        if mark in text:
            text = text.replace(mark, ", ".join(names()))
    return text


def fill_command(cmd: Any) -> None:
    """Fill the placeholders of ``cmd``'s help and of its parameters' help (kept, so the next call has none left)."""
    raw = getattr(cmd, "_raw_help", None)
    if raw is None:
        raw = cmd._raw_help = (cmd.help, [getattr(p, "help", None) for p in cmd.params])
    cmd.help = fill(raw[0])
    for p, text in zip(cmd.params, raw[1], strict=False):
        if text is not None:
            p.help = fill(text)


class RegistryHelpCommand(TyperCommand):
    """A command whose help names what the registries hold (see the module docstring)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:  # typer's own click types (it vendors click)
        fill_command(self)
        return super().format_help(ctx, formatter)


__all__ = ["PLACEHOLDERS", "RegistryHelpCommand", "fill", "fill_command"]
