"""Command-line front door for diagrams and the audit bundle: ``diagram``, ``audit-bundle``, ``audit-bundle-verify``.

``register(app)`` adds the commands to the ``ioc-catalog`` Typer app (api/cli.py calls it). Errors are CatalogError
subclasses, printed by ``api.cli.main`` as a message, never a traceback.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from pathlib import Path
from typing import Annotated

import typer

VIEW_HELP = "{views}"  # the registered views, named when the help is shown (api.registry_help)


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, cli_lang, console, err, open_cli_store, say
    from api.registry_help import RegistryHelpCommand

    @app.command(cls=RegistryHelpCommand)
    def diagram(
        view: Annotated[str, typer.Argument(help=f"View: {VIEW_HELP}")],
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="File to write (default: standard output; needs -f)")
        ] = None,
        fmt: Annotated[
            str | None, typer.Option("-f", "--format", help="svg, png, pdf or dot (default: from the file name)")
        ] = None,
        ref: Annotated[
            str | None,
            typer.Option(
                "--ref",
                help="Entity the view is about (department: "
                "organization:x; context: any; shared-db: database:x; "
                "ioc: a platform, default every city IOC)",
            ),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of", help="Draw the catalog as recorded on this date, and the world on that date (YYYY-MM-DD)"
            ),
        ] = None,
        valid_on: Annotated[
            str | None,
            typer.Option(
                "--valid-on", help="World date on its own (owners, validity), read from the current record or --as-of"
            ),
        ] = None,
        recorded_at: Annotated[
            str | None,
            typer.Option(
                "--recorded-at",
                help="Read the record at this instant (YYYY-MM-DD: its end, UTC; or an ISO date-time) instead of "
                "the current one; the world date is then --valid-on (default: today)",
            ),
        ] = None,
        lineage: Annotated[
            str,
            typer.Option(
                help="ioc: city (the IOC's own city or province; entities owned elsewhere drawn as external sources, "
                "their upstream not followed) or full (every source)"
            ),
        ] = "city",
        depth: Annotated[int, typer.Option(help="context: hops")] = 1,
        direction: Annotated[str, typer.Option(help="context: out, in or both")] = "both",
        limit: Annotated[int, typer.Option(help="landscape: collapse to organisations past this many nodes")] = 300,
        from_: Annotated[str | None, typer.Option("--from", help="diff: first date")] = None,
        to: Annotated[str | None, typer.Option("--to", help="diff: second date")] = None,
        url_prefix: Annotated[
            str, typer.Option(help="Prefix of the entity links in SVG, e.g. https://catalog.example.gov.vn")
        ] = "",
        store: StoreOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """Draw a view of the catalog with Graphviz (same catalog and options, same bytes)."""
        from catalog.errors import FieldError, ValidationFailed
        from catalog.i18n import msg
        from diagrams import FORMATS, ViewParams, draw

        f = (fmt or (output.suffix.lstrip(".") if output else "")).lower()
        if f not in FORMATS:
            raise ValidationFailed([FieldError("--format", msg("value-one-of", allowed=", ".join(FORMATS)))])
        import datetime as dt

        from catalog.history.snapshot import parse_instant

        params = ViewParams(
            ref=ref,
            as_of=parse_instant(recorded_at, "--recorded-at") or as_of,
            valid_on=valid_on or (None if as_of or not recorded_at else dt.date.today()),
            depth=depth,
            direction=direction,
            lang=lang,
            limit=limit,
            from_date=from_,
            to_date=to,
            lineage=lineage,
        )
        data = draw(open_cli_store(store), view, params, f, url_prefix=url_prefix)
        if output is None:
            import sys

            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        output.write_bytes(data)
        console.print(say("cli-wrote-diagram", path=str(output), view=view, format=f, size=len(data)), highlight=False)

    @app.command("audit-bundle")
    def audit_bundle(
        as_of: Annotated[str, typer.Option("--as-of", help="Date of the bundle (YYYY-MM-DD)")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Zip file to write")],
        from_: Annotated[
            str | None,
            typer.Option("--from", help="A period from this day to --as-of: the changes between them are included"),
        ] = None,
        store: StoreOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """Write the auditor's bundle: main diagrams, inventory CSVs, compliance report, change log, manifest."""
        from diagrams.bundle import build_bundle

        manifest = build_bundle(open_cli_store(store), as_of, output, lang=lang, from_day=from_)
        head = manifest["changelog_head"]
        said = say(
            "cli-bundle-wrote",
            path=str(output),
            n=len(manifest["files"]),
            day=manifest["as_of"],
            seq=head["seq"],
            hash=head["hash"][:12],
        )
        console.print(said, highlight=False)

    @app.command("audit-bundle-verify")
    def audit_bundle_verify(
        bundle: Annotated[Path, typer.Argument(help="Bundle zip to check")],
        store: StoreOpt = None,
        against_store: Annotated[
            bool, typer.Option("--against-store", help="Also check the head hash against the catalog's change log")
        ] = False,
    ) -> None:
        """Check an audit bundle: every file against the manifest, the change-log chain, and the manifest itself."""
        from rich.markup import escape

        from diagrams.bundle import verify_bundle

        result = verify_bundle(bundle, open_cli_store(store) if against_store else None)
        said = escape(result.message().text(cli_lang()))
        if result.ok:
            console.print(f"[green]{said}[/green]")
        else:
            err.print(f"[red]{said}[/red]")
            raise typer.Exit(1)


__all__ = ["register"]
