"""Command-line front door for the analyses of the graph: ``spof`` and ``paths``.

``register(app)`` adds the commands to the ``ioc-catalog`` Typer app (api/cli.py calls it). Each prints a table in
the language of ``--lang`` (labels from the metamodel), the JSON the API gives (``--format json``) or CSV for
spreadsheets (``--format csv``: UTF-8 with BOM); ``-o FILE`` writes the JSON or CSV to a file instead.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from catalog.i18n import msg, msg_plural, text

FORMATS = ("table", "json", "csv")


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


def _format(value: str, lang: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(text(msg("value-one-of", allowed=", ".join(FORMATS)), lang), param_hint="--format")
    return value


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, console, err, open_cli_store

    FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json or csv (UTF-8 with BOM)")]
    OutputOpt = Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the JSON or CSV to this file (default: standard output)"),
    ]

    def emit(report: Any, fmt: str, output: Path | None, lang: str) -> bool:
        """Writes JSON or CSV; False when the caller prints a table."""
        import json

        if fmt == "json":
            _write((json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n").encode("utf-8"), output)
        elif fmt == "csv":
            _write(report.to_csv(lang), output)
        else:
            return False
        if output is not None:
            err.print(text(msg("cli-wrote", path=str(output)), lang), markup=False, highlight=False)
        return True

    @app.command()
    def spof(store: StoreOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None, lang: LangOpt = "vi") -> None:
        """Single points of failure: the articulation points of the dependency graph (an outage splits it) and
        the most central platforms (highest betweenness), each with its owner and reasons."""
        from rich.table import Table

        from catalog.analysis import LABELS, SPOFList
        from catalog.analysis import spof as find_spof

        fmt = _format(fmt, lang)
        report = find_spof(open_cli_store(store))
        if emit(report, fmt, output, lang):
            return
        title = text(msg_plural("spof-title", "spof-title#plural", count=len(report.items)), lang)
        if report.sampled_sources:
            title += " " + text(msg("spof-sampled", sources=report.sampled_sources), lang)
        shown = ("ref", "name", "kind", "owner_name", "reasons", "betweenness", "rank")
        t = Table(title=title)
        for c in shown:
            t.add_column(
                LABELS[c].get(lang), justify="right" if c in ("betweenness", "rank") else "left", overflow="fold"
            )
        pick = [SPOFList.COLUMNS.index(c) for c in shown]
        for row in report.rows(lang):
            t.add_row(*(str(row[i]) for i in pick))
        console.print(t)

    @app.command()
    def paths(
        source: Annotated[str, typer.Argument(help="Entity the paths start from (kind:code)")],
        target: Annotated[str, typer.Argument(help="Entity the paths end at (kind:code)")],
        store: StoreOpt = None,
        max_length: Annotated[int, typer.Option("--max-length", help="At most this many hops")] = 4,
        limit: Annotated[int, typer.Option(help="At most this many paths")] = 20,
        fmt: FormatOpt = "table",
        output: OutputOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """Paths between two entities over stored relationships in either direction, shortest first, each step
        with its relationships and their direction."""
        from rich.table import Table

        from catalog.analysis import LABELS, PATHS_MAX_LENGTH, PATHS_MAX_LIMIT, PathsReport, find_paths

        fmt = _format(fmt, lang)
        for value, top, hint in ((max_length, PATHS_MAX_LENGTH, "--max-length"), (limit, PATHS_MAX_LIMIT, "--limit")):
            if not 1 <= value <= top:
                raise typer.BadParameter(text(msg("cli-value-range", low=1, high=top), lang), param_hint=hint)
        s = open_cli_store(store)
        for ref, hint in ((source, "SOURCE"), (target, "TARGET")):
            if s.find_entity(ref) is None:
                raise typer.BadParameter(text(msg("entity-not-found", ref=ref), lang), param_hint=hint)
        if source == target:
            raise typer.BadParameter(text(msg("paths-same-endpoints"), lang), param_hint="TARGET")
        report = find_paths(s, source, target, max_length=max_length, limit=limit)
        if emit(report, fmt, output, lang):
            return
        if not report.paths:
            console.print(text(msg_plural("paths-none", "paths-none#plural", count=max_length), lang), highlight=False)
            return
        name = report.source.name.get(lang), report.target.name.get(lang)
        t = Table(
            title=text(
                msg_plural(
                    "paths-title", "paths-title#plural", count=len(report.paths), source=name[0], target=name[1]
                ),
                lang,
            )
        )
        shown = ("path", "step", "from_name", "relationship", "to_name")
        for c in shown:
            t.add_column(LABELS[c].get(lang), justify="right" if c in ("path", "step") else "left", overflow="fold")
        pick = [PathsReport.COLUMNS.index(c) for c in shown]
        last = None
        for row in report.rows(lang):
            if last is not None and row[0] != last:
                t.add_section()
            last = row[0]
            t.add_row(*(str(row[i]) for i in pick))
        console.print(t)
        if report.truncated:
            console.print(text(msg("paths-more", limit=PATHS_MAX_LIMIT), lang), highlight=False)


__all__ = ["register"]
