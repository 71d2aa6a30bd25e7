"""Command-line front door for revert (see :mod:`catalog.revert`): ``ioc-catalog revert --seq N | --run ID |
--draft ID [--reason TEXT] [--dry-run] [--json]``. The command line acts as an administrator (``cli_principal``).

A refusal (a later change depends on what the revert would undo) is printed in the command's language, naming the
blocking entry, and exits 1 with nothing written. ``register(app)`` adds the command (api/cli.py calls it).
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, cli_principal, console, open_cli_store, say_plural

    @app.command("revert")
    def revert(
        store: StoreOpt = None,
        seq: Annotated[
            int | None,
            typer.Option(
                "--seq", help="One change-log entry (an entity's delete: with its cascade)", show_default=False
            ),
        ] = None,
        run: Annotated[
            str | None, typer.Option("--run", help="One whole import run (its id)", show_default=False)
        ] = None,
        draft: Annotated[
            str | None, typer.Option("--draft", help="One approved draft (its id)", show_default=False)
        ] = None,
        reason: Annotated[
            str, typer.Option("--reason", help="Why (kept with the revert, shown in the change log)")
        ] = "",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be restored; write nothing")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON")] = False,
        lang: LangOpt = "vi",
    ) -> None:
        """Revert one change-log entry, one import run or one approved draft, as a new logged change; refused,
        naming the entry in the way, when a later change depends on what it would undo."""
        from catalog import revert as rv

        t = rv.target(seq, run, draft)
        s = open_cli_store(store)
        try:
            if dry_run:
                plan = rv.plan(s, cli_principal(), t)
                out = {**plan.summary(), "dry_run": True}
                line = say_plural("cli-revert-would", "cli-revert-would#plural", count=len(plan.undo))
            else:
                done = rv.revert(s, cli_principal(), t, reason)
                out = done.as_dict()
                line = say_plural(
                    "cli-reverted",
                    "cli-reverted#plural",
                    count=len(done.plan.undo),
                    request=done.request_id,
                    first=str(done.written[0]) if done.written else "",
                    last=str(done.written[-1]) if done.written else "",
                )
        finally:
            s.close()
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
            return
        console.print(line, markup=False, highlight=False)
        ops = {"create": "+", "update": "~", "delete": "-"}
        for c in out["changes"]:
            console.print(
                f"  {ops.get(c['op'], '?')} {c['ref']}  (#{', #'.join(map(str, c['reverts']))})", markup=False
            )


__all__ = ["register"]
