"""Command-line front door for migration between backends: ``migrate --from URL --to URL [--force]``.

``register(app)`` adds the command to the ``ioc-catalog`` Typer app. The work is :func:`catalog.migrate.migrate`; this
module opens the stores, draws the progress bars and prints the proof (both content hashes, both change-log heads,
verify-log on the target). Exit status 1 when the proof fails.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import cli_lang, console, err, open_cli_store, progress_bar, say

    @app.command()
    def migrate(
        from_: Annotated[
            str, typer.Option("--from", help="Source store URL, e.g. sqlite:///catalog.db", show_default=False)
        ],
        to: Annotated[str, typer.Option("--to", help="Target store URL, e.g. neo4j://host:7687", show_default=False)],
        force: Annotated[bool, typer.Option("--force", help="Erase a non-empty target first")] = False,
        batch: Annotated[int, typer.Option(help="Items per batch (one target transaction each)", min=1)] = 5000,
    ) -> None:
        """Copy a whole catalog (change log included) to another store, then prove the copy is identical."""
        from rich.markup import escape

        from catalog.errors import FieldError, ValidationFailed
        from catalog.i18n import msg
        from catalog.migrate import SECTIONS, totals
        from catalog.migrate import migrate as run

        if from_.strip() == to.strip():
            raise ValidationFailed([FieldError("--to", msg("migrate-target-is-source"))])
        source = open_cli_store(from_)
        try:
            target = open_cli_store(to, create=True)
        except BaseException:
            source.close()
            raise
        try:
            expected = totals(source)
            with progress_bar() as progress:
                tasks = {
                    s: progress.add_task(f"migrate {s}", total=expected[s] or 1, completed=0 if expected[s] else 1)
                    for s in SECTIONS
                }

                def tick(section: str, done: int, total: int) -> None:
                    progress.update(tasks[section], completed=done, total=total)

                result = run(source, target, force=force, batch=batch, progress=tick)
        finally:
            source.close()
            target.close()
        if result.erased:
            console.print(escape(say("cli-erased-target", target=to)), highlight=False)
        c = result.counts
        copy, check = f"{result.seconds['copy']:.1f}", f"{result.seconds['verify']:.1f}"
        said = say(
            "cli-copied",
            entities=c["entities"],
            relationships=c["relationships"],
            events=c["events"],
            records=c["records"],
            copy=copy,
            check=check,
        )
        console.print(escape(said), highlight=False)
        from_label, to_label = say("cli-label-source"), say("cli-label-target")
        for label, digest in ((from_label, result.source_hash), (to_label, result.target_hash)):
            console.print(say("cli-hash-of", label=label, hash=digest), highlight=False, soft_wrap=True)
        for label, (seq, head) in ((from_label, result.source_revision), (to_label, result.target_revision)):
            console.print(say("cli-head-of", label=label, seq=seq, hash=head), highlight=False, soft_wrap=True)
        if result.ok and result.verify is not None:
            verified = result.verify.message().text(cli_lang())
            console.print(f"[green]{escape(say('cli-identical', verify=verified))}[/green]")
        else:
            for problem in result.problems():
                err.print(f"[red]{escape(problem.text(cli_lang()))}[/red]")
            raise typer.Exit(1)


__all__ = ["register"]
