"""What every command module of the command line shares: the consoles, the common options, opening the store, the
principal a command acts as, progress bars and date options. ``api.cli`` (the app and its core commands) and the
command groups (``api.commands_*``) both import it, so no command module imports ``api.cli`` back."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg, msg_plural
from catalog.permissions import Principal
from catalog.store import CatalogStore

console = Console()
err = Console(stderr=True)

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", "-s", envvar="IOC_CATALOG_STORE", help="Store URL, e.g. sqlite:///catalog.db", show_default=False
    ),
]
LangOpt = Annotated[str, typer.Option("--lang", envvar="IOC_CATALOG_LANG", help="Language of labels: vi or en")]


def cli_lang(argv: list[str] | None = None) -> str:
    """The language a command was asked for (--lang, else IOC_CATALOG_LANG, else vi): what it prints, errors too."""
    import os
    import sys

    argv = sys.argv if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in ("vi", "en") else "vi"
        if arg.startswith("--lang="):
            return arg.partition("=")[2] if arg.partition("=")[2] in ("vi", "en") else "vi"
    return os.environ.get("IOC_CATALOG_LANG", "vi") if os.environ.get("IOC_CATALOG_LANG") in ("vi", "en") else "vi"


def say(code: str, /, **params: Any) -> str:
    """The text of a message code in the command's language (:func:`cli_lang`)."""
    return msg(code, **params).text(cli_lang())


def say_plural(code: str, plural: str, /, count: int, **params: Any) -> str:
    """:func:`say` with plural forms (``plural`` is ``code + "#plural"``, as for :func:`catalog.i18n.msg_plural`)."""
    return msg_plural(code, plural, count=count, **params).text(cli_lang())


def open_cli_store(url: str | None, create: bool = False) -> CatalogStore:
    """The store of ``--store`` (else the settings' store)."""
    from catalog.settings import get_settings

    settings = get_settings()
    if url:
        settings = settings.model_copy(update={"store": url})
    return settings.open_store(create=create)


def cli_principal() -> Principal:
    """Who a command acts as: the operating-system user, as an administrator (whoever runs the command line holds
    the store's file or credentials)."""
    try:
        user = getpass.getuser()
    except Exception:  # pragma: no cover - no user database (containers)
        user = "unknown"
    return Principal(f"cli:{user}", "admin")


def cli_date(value: str | None, name: str) -> dt.date | None:
    """A date option (YYYY-MM-DD), or an error naming the option in the command's language."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([FieldError(name, msg("value-not-a-day", value=value[:40]))]) from None


def progress_bar() -> Progress:
    """A progress bar on standard error (standard output stays for results)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
