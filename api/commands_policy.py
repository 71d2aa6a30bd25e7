"""Command-line front door for the approval policy: ``policy show [--file PATH] [--json]``.

``register(app)`` adds the ``policy`` command group to the ``ioc-catalog`` Typer app. The policy is
:mod:`catalog.policy`; the one in force is the file the ``approval_policy`` setting names (``IOC_CATALOG_APPROVAL_POLICY``),
else the built-in default. A file that does not validate exits with status 1, each problem named by rule and field.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, cli_lang, console, say

    policy_app = typer.Typer(help="The approval policy: which changes by which roles become drafts for review.")
    app.add_typer(policy_app, name="policy")

    @policy_app.command("show")
    def show(
        file: Annotated[
            Path | None, typer.Option("--file", help="Check and show this policy file instead of the one in force")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
        lang: LangOpt = "vi",
    ) -> None:
        """Print the approval policy in force (or the one in --file, validated): its rules in order, its groups."""
        from rich.markup import escape
        from rich.table import Table

        from catalog.metamodel import ROLE_LABELS
        from catalog.policy import load_policy, policy_in_force
        from catalog.settings import get_settings

        mm = get_settings().metamodel()
        policy = load_policy(file, mm) if file else policy_in_force(mm)
        if as_json:
            print(json.dumps(policy.as_dict(), ensure_ascii=False, indent=2))
            return
        lang = cli_lang()  # --lang, else IOC_CATALOG_LANG: what say() reads too
        decisions = {"review": say("policy-decision-review"), "apply": say("policy-decision-apply")}
        console.print(say("policy-cli-source", source=policy.source), highlight=False)
        t = Table(show_lines=False)
        for heading in (  # each named in full, so the extraction keeps their texts
            say("policy-cli-rule"),
            say("policy-cli-roles"),
            say("policy-cli-when"),
            say("policy-cli-decision"),
        ):
            t.add_column(heading)
        for r in policy.rules:
            when = "; ".join(
                f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else str(v).lower()}"
                for k, v in r.as_dict()["when"].items()
            )
            roles = ", ".join(ROLE_LABELS[x].get(lang) for x in r.roles) or say("policy-cli-every-role")
            t.add_row(escape(r.id), escape(roles), escape(when or "—"), decisions[r.decision])
        console.print(t)
        console.print(say("policy-cli-default", decision=decisions[policy.default]), highlight=False)
        g = Table()
        g.add_column(say("policy-cli-group"))
        g.add_column(say("policy-cli-match"))
        for group in policy.groups.values():
            match = " | ".join(", ".join(f"{k}={'/'.join(v)}" for k, v in cond.items()) for cond in group.match)
            g.add_row(escape(f"{group.id} ({group.label.get(lang)})"), escape(match))
        console.print(g)


__all__ = ["register"]
