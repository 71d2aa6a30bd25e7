"""Command-line front door for mapping profiles: ``mappings`` (importers.mapping).

``register(app)`` adds the command to the ``ioc-catalog`` Typer app (api/cli.py calls it). It lists the saved
profiles (made on the web UI's mapping page, used by ``ioc-catalog import FILE --mapping NAME``): each one's name,
the kind it reads and the organisation it belongs to, in the language of ``--lang``, and what each column maps to;
``--json`` prints what ``GET /api/v1/mappings`` gives (both languages), ``--json NAME`` one profile whole, as
``GET /api/v1/mappings/{name}`` does.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from typing import Annotated

import typer

from catalog.i18n import msg, msg_plural, text


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, cli_principal, console, open_cli_store

    @app.command()
    def mappings(
        name: Annotated[
            str | None, typer.Argument(help="One profile, whole (its columns and value choices)", show_default=False)
        ] = None,
        store: StoreOpt = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON (both languages), as the API gives it")
        ] = False,
        lang: LangOpt = "vi",
    ) -> None:
        """The mapping profiles: spreadsheets in a department's own layout, mapped once on the web UI's mapping page
        (import with ``import FILE --mapping NAME``): name, the kind each reads, its organisation, what each column
        maps to."""
        import json

        from rich.table import Table

        from importers.mapping import Profiles, describe

        s = open_cli_store(store)
        profiles = Profiles(s, cli_principal())
        items = describe([profiles.get(name)], s, full=True) if name else describe(profiles.list(), s)
        if as_json:
            print(json.dumps(items[0] if name else {"items": items}, ensure_ascii=False, indent=1))
            return
        if not items:
            console.print(text(msg("cli-no-mappings"), lang), markup=False, highlight=False)
            return
        t = Table(title=text(msg_plural("cli-mappings-title", "cli-mappings-title#plural", count=len(items)), lang))
        for head in (msg("col-name"), msg("col-kind"), msg("col-organisation"), msg("col-mapping-columns")):
            t.add_column(text(head, lang), overflow="fold")
        for p in items:
            org = p["org_name"][lang] or p["org_name"]["vi"] if p["org_name"] else p["org"]
            maps = "\n".join(
                f"{m['header']} → {m['field_label'][lang]}" + (f" = {m['value_label'][lang]}" if "value" in m else "")
                for m in p["maps"]
            )
            t.add_row(p["name"], p["kind_label"][lang], org or text(msg("cli-mapping-global"), lang), maps)
        console.print(t)


__all__ = ["register"]
