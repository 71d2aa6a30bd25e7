"""Command-line front door for the coverage of the business layer: ``coverage`` (catalog.coverage).

``register(app)`` adds the command to the ``ioc-catalog`` Typer app (api/cli.py calls it). It prints a summary and a
table in the language of ``--lang``, the JSON the API gives (``--format json``) or CSV (``--format csv``: UTF-8 with
BOM); ``-o FILE`` writes the JSON or CSV to a file instead.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import sys
from pathlib import Path
from typing import Annotated

import typer

from catalog.i18n import msg, text

FORMATS = ("table", "json", "csv")


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, console, err, open_cli_store

    @app.command()
    def coverage(
        store: StoreOpt = None,
        org: Annotated[
            str | None,
            typer.Option("--org", help="Only what this organisation and its units own or decide", show_default=False),
        ] = None,
        valid_on: Annotated[
            str | None,
            typer.Option("--valid-on", help="The day in the world (YYYY-MM-DD; default: today)", show_default=False),
        ] = None,
        recorded_at: Annotated[
            str | None,
            typer.Option("--recorded-at", help="Read the record as it was at this instant", show_default=False),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv (UTF-8 with BOM)")] = "table",
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="Write the JSON or CSV to this file", show_default=False)
        ] = None,
        lang: LangOpt = "vi",
    ) -> None:
        """Which administrative procedures a system serves online (and at what level), which business functions
        no system serves; for the whole catalog or one organisation (--org) and its units."""
        import json

        from rich.table import Table

        from catalog.coverage import COLUMNS
        from catalog.coverage import coverage as coverage_of
        from catalog.history.snapshot import load_snapshot, parse_day, parse_instant

        if fmt not in FORMATS:
            raise typer.BadParameter(text(msg("value-one-of", allowed=", ".join(FORMATS)), lang), param_hint="--format")
        s = open_cli_store(store)
        snap = load_snapshot(s, parse_instant(recorded_at, "recorded_at"), parse_day(valid_on, "valid_on"))
        report = coverage_of(snap, org)
        if fmt in ("json", "csv"):
            if fmt == "json":
                data = (json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
            else:
                data = report.to_csv(s.metamodel, lang)
            _write(data, output)
            if output is not None:
                err.print(text(msg("cli-wrote", path=str(output)), lang), markup=False, highlight=False)
            return
        n = report.summary()
        console.print(text(msg("coverage-summary", **n), lang), markup=False, highlight=False)
        t = Table(title=text(msg("coverage-title", day=snap.day), lang))
        for c in COLUMNS.values():
            t.add_column(text(c, lang), overflow="fold")
        for row in report.rows(s.metamodel, lang):
            t.add_row(*row)
        console.print(t)


__all__ = ["register"]
