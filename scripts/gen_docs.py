"""Generate the reference pages that must follow the code: docs/cli.md (from the CLI's own help) and
docs/compliance-rules.md (from catalog/rules.yaml). tests/test_docs.py fails when they are out of date.

    python scripts/gen_docs.py          # rewrite both pages
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperOption

ROOT = Path(__file__).resolve().parent.parent


def cli_reference() -> str:
    from api import cli

    cli._register_command_groups()
    group = typer.main.get_command(cli.app)  # typer's own copy of click: read its objects, not click's
    lines = ["# Command-line reference", "", "Generated from the commands' own help by `scripts/gen_docs.py`; "
             "`ioc-catalog COMMAND --help` prints the same.", "",
             "Every command takes `--store URL` (or `IOC_CATALOG_STORE`) to choose the catalog.", ""]
    for name in sorted(group.commands):
        cmd = group.commands[name]  # type: ignore[attr-defined]
        lines += [f"## ioc-catalog {name}", "", (cmd.help or "").strip(), ""]
        args = [p for p in cmd.params if isinstance(p, TyperArgument)]
        usage = " ".join([f"ioc-catalog {name}"] + [p.name.upper() for p in args] + ["[OPTIONS]"])
        lines += ["```", usage, "```", ""]
        rows = []
        for p in cmd.params:
            if isinstance(p, TyperArgument):
                rows.append((p.name.upper(), getattr(p, "help", "") or ""))
            elif isinstance(p, TyperOption) and p.name != "help":
                flags = ", ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
                default = "" if p.default in (None, False, "", ()) or p.required else f" (default: {p.default})"
                rows.append((flags, f"{p.help or ''}{default}".strip()))
        if rows:
            lines += ["| argument / option | meaning |", "|---|---|"]
            lines += [f"| {a} | {h.replace('|', '/')} |" for a, h in rows]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def rules_reference() -> str:
    from catalog.compliance import load_rules

    lines = ["# Compliance rules", "", "Generated from `catalog/rules.yaml` by `scripts/gen_docs.py`. Rules are data: "
             "add or change one in that file (a new check is a Python function registered with `@rule_check`).", "",
             "| code | severity | rule (English) | quy tắc (tiếng Việt) |", "|---|---|---|---|"]
    for r in load_rules():
        lines.append(f"| {r.code} | {r.severity} | {r.description} | {r.message.vi} |")
    return "\n".join(lines) + "\n"


PAGES = {"docs/cli.md": cli_reference, "docs/compliance-rules.md": rules_reference}


def main() -> int:
    for rel, make in PAGES.items():
        (ROOT / rel).write_text(make(), encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
