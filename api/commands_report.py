"""Command-line front door for the province's current-state report: ``report current-state`` (diagrams/report.py).

``register(app)`` adds the ``report`` group to the ``ioc-catalog`` Typer app (api/cli.py calls it). It writes the Word
document and, beside it, its annex workbook (same name, ``.xlsx``). Errors are CatalogError subclasses, printed by
``api.cli.main`` as a message, never a traceback.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, console, open_cli_store, say

    report = typer.Typer(help="Reports for a province's architecture document (docs/report.md).", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("current-state")
    def current_state_cmd(
        province: Annotated[
            str, typer.Option("--province", help="The province's or city's organisation, e.g. organization:hcm-ubnd")
        ],
        output: Annotated[Path, typer.Option("-o", "--output", help="Word file to write (.docx); the annex beside it")],
        valid_on: Annotated[
            str | None, typer.Option("--valid-on", help="The day the report describes (YYYY-MM-DD, default today)")
        ] = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since", help="First day of the period of organisation changes (default 1 January of the year before)"
            ),
        ] = None,
        recorded_at: Annotated[
            str | None,
            typer.Option("--recorded-at", help="Read the record as it stood at the end of this day (default: current)"),
        ] = None,
        store: StoreOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """Write the current-state report: the four framework layers, connections, diagrams, findings, changes."""
        from diagrams.report import current_state

        r = current_state(open_cli_store(store), province, valid_on, lang, since, recorded_at)
        annex = output.with_suffix(".xlsx")
        doc = r.to_docx()
        output.write_bytes(doc)
        annex.write_bytes(r.to_xlsx())
        said = say(
            "cli-current-state-wrote",
            path=str(output),
            annex=str(annex),
            size=len(doc),
            day=r.day,
            seq=r.revision[0],
            hash=r.revision[1][:12],
        )
        console.print(said, highlight=False)


__all__ = ["register"]
