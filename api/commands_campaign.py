"""Command line of inventory campaigns (catalog.campaigns): ``campaign open|list|show|remind|close|export``.

The command line acts as an administrator (api.cli_common.cli_principal). ``export`` writes the closed campaign's
frozen result (XLSX, Vietnamese unless --lang en) and, with ``--bundle``, the audit bundle of the closing day; on
an open campaign with ``--org`` it writes that organisation's spreadsheet (its rows, re-importable).
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import StoreOpt, cli_date, cli_lang, cli_principal, console, open_cli_store, say

    group = typer.Typer(help="Inventory campaigns (đợt kiểm kê): open, follow, remind, close.", no_args_is_help=True)
    app.add_typer(group, name="campaign")

    @group.command("open")
    def open_(
        campaign_id: Annotated[str, typer.Argument(help="Code of the campaign (a-z, 0-9, -)")],
        name: Annotated[str, typer.Option("--name", help="Name of the campaign")],
        org: Annotated[list[str], typer.Option("--org", help="An organisation in scope (with its units); repeat")],
        deadline: Annotated[str, typer.Option("--deadline", help="Deadline, YYYY-MM-DD")],
        kind: Annotated[list[str] | None, typer.Option("--kind", help="A kind in scope; repeat")] = None,
        question: Annotated[
            list[str] | None, typer.Option("--question", help="A field owners answer; repeat (default: decision...)")
        ] = None,
        store: StoreOpt = None,
    ) -> None:
        """Open a campaign over organisations (and their units)."""
        from catalog.campaigns import open_campaign

        s = open_cli_store(store)
        try:
            camp = open_campaign(
                s,
                cli_principal(),
                id=campaign_id,
                name=name,
                orgs=org,
                deadline=deadline,
                kinds=kind,
                questions=question,
            )
            console.print(say("cli-campaign-opened", name=camp.name, deadline=camp.deadline), highlight=False)
        finally:
            s.close()

    @group.command("list")
    def list_(store: StoreOpt = None) -> None:
        """Every campaign: code, status, deadline, name."""
        from catalog.campaigns import list_campaigns

        s = open_cli_store(store)
        try:
            for c in list_campaigns(s):
                status = say("ui-campaign-open") if c.is_open else say("ui-campaign-closed-on", day=c.closed or "")
                console.print(f"{c.id}\t{status}\t{c.deadline}\t{c.name}", highlight=False, soft_wrap=True)
        finally:
            s.close()

    @group.command("show")
    def show(
        campaign_id: Annotated[str, typer.Argument(help="Code of the campaign")],
        store: StoreOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="The dashboard as JSON")] = False,
    ) -> None:
        """The dashboard per organisation (the frozen one of a closed campaign)."""
        import json

        from catalog.campaigns import dashboard, get

        s = open_cli_store(store)
        try:
            camp = get(s, campaign_id)
            rows = camp.result["dashboard"] if camp.result else [r.as_dict() for r in dashboard(s, camp)]
            if as_json:
                print(json.dumps({"campaign": camp.id, "status": camp.status, "dashboard": rows}, ensure_ascii=False))
                return
            lang = cli_lang()
            names = {o.ref: o.name.get(lang) for o in s.get_entities(list(camp.orgs)).values()}
            heads = {
                "total": say("ui-campaign-total"),
                "done": say("ui-campaign-done"),
                "gone": say("ui-campaign-gone"),
                "review": say("ui-campaign-review"),
                "missing": say("ui-campaign-missing"),
                "overdue": say("ui-campaign-overdue"),
                "keep": say("ui-campaign-keep"),
                "terminate": say("ui-campaign-terminate"),
            }
            console.print(camp.name, highlight=False)
            for r in rows:
                counts = ", ".join(f"{label}: {r[h]}" for h, label in heads.items())
                console.print(f"{names.get(r['org'], r['org'])}: {counts}", highlight=False, soft_wrap=True)
        finally:
            s.close()

    @group.command("remind")
    def remind(
        campaign_id: Annotated[str, typer.Argument(help="Code of the campaign")], store: StoreOpt = None
    ) -> None:
        """Remind the editors of every organisation not done (notices, e-mail when configured)."""
        from catalog.campaigns import remind as run
        from catalog.settings import get_settings

        s = open_cli_store(store)
        try:
            told = run(s, cli_principal(), campaign_id, get_settings())
            users = sorted({u for us in told.values() for u in us})
            console.print(say("cli-campaign-reminded", orgs=len(told), users=", ".join(users) or "—"), highlight=False)
        finally:
            s.close()

    @group.command("close")
    def close(
        campaign_id: Annotated[str, typer.Argument(help="Code of the campaign")],
        on: Annotated[str | None, typer.Option("--on", help="Closing day, YYYY-MM-DD (default today)")] = None,
        store: StoreOpt = None,
    ) -> None:
        """Close a campaign: its result is frozen in the change log."""
        from catalog.campaigns import close as run

        s = open_cli_store(store)
        try:
            camp = run(s, cli_principal(), campaign_id, today=cli_date(on, "--on"))
            seq = camp.result["log_seq"] if camp.result else ""
            console.print(say("cli-campaign-closed", name=camp.name, seq=seq), highlight=False)
        finally:
            s.close()

    @group.command("export")
    def export(
        campaign_id: Annotated[str, typer.Argument(help="Code of the campaign")],
        output: Annotated[Path, typer.Option("-o", "--output", help="XLSX file to write")],
        org: Annotated[
            str | None, typer.Option("--org", help="An organisation's spreadsheet of an open campaign (its rows)")
        ] = None,
        bundle: Annotated[
            Path | None, typer.Option("--bundle", help="Also write the audit bundle of the closing day (ZIP)")
        ] = None,
        store: StoreOpt = None,
    ) -> None:
        """Write the closed campaign's result (XLSX), or with --org one organisation's rows to fill in."""
        from api.campaign_files import department_workbook, result_bundle, result_workbook
        from catalog.campaigns import get
        from catalog.permissions import org_units

        s = open_cli_store(store)
        try:
            camp = get(s, campaign_id)
            if org:
                output.write_bytes(department_workbook(s, camp, org_units(s, org)))
            else:
                output.write_bytes(result_workbook(s, camp, cli_lang()))
                if bundle is not None:
                    bundle.write_bytes(result_bundle(s, camp, cli_lang()))
            console.print(say("cli-campaign-written", path=str(output)), highlight=False)
        finally:
            s.close()
