"""Command-line front door for migration between backends: ``migrate --from URL --to URL [--force]``.

``register(app)`` adds the command to the ``ioc-catalog`` Typer app. The work is :func:`catalog.migrate.migrate`; this
module opens the stores, draws the progress bars and prints the proof (both content hashes, both change-log heads,
verify-log on the target). Exit status 1 when the proof fails.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import console, err, open_cli_store, progress_bar, say

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
        counts = ", ".join(f"{result.counts[s]:,} {s}" for s in SECTIONS)
        console.print(
            f"Copied {counts} in {result.seconds['copy']:.1f} s (checked in {result.seconds['verify']:.1f} s).",
            highlight=False,
        )
        console.print(
            f"source content hash {result.source_hash}\ntarget content hash {result.target_hash}",
            highlight=False,
            soft_wrap=True,
        )  # never split a hash
        console.print(
            f"source change-log head #{result.source_revision[0]} {result.source_revision[1]}\n"
            f"target change-log head #{result.target_revision[0]} {result.target_revision[1]}",
            highlight=False,
            soft_wrap=True,
        )
        if result.ok:
            console.print(
                f"[green]Identical: same content hash, same change-log head; target "
                f"{escape(str(result.verify))}[/green]"
            )
        else:
            for problem in result.problems():
                err.print(f"[red]{escape(problem)}[/red]")
            raise typer.Exit(1)


__all__ = ["register"]
