"""Command-line front door for the catalog on a date and what changed between two dates: ``list`` and ``diff``.

Both clocks (docs/architecture.md, "Two clocks"), named as in the web UI and the API: ``--valid-on`` is the day in
the world (default: today), ``--recorded-at`` the instant of the record (default: the current record).
``register(app)`` adds the commands to the ``ioc-catalog`` Typer app (api/cli.py calls it).
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import sys
from pathlib import Path
from typing import Annotated

import typer

from catalog.history.listing import STATUS
from catalog.i18n import msg, text

LIST_FORMATS = ("table", "json", "csv")
DIFF_FORMATS = ("table", "json", "csv", "xlsx")


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


def _format(value: str, allowed: tuple[str, ...], lang: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(text(msg("value-one-of", allowed=", ".join(allowed)), lang), param_hint="--format")
    return value


def register(app: typer.Typer) -> None:
    from api.cli_common import LangOpt, StoreOpt, console, err, open_cli_store

    ValidOnOpt = Annotated[
        str | None,
        typer.Option("--valid-on", help="The day in the world (YYYY-MM-DD; default: today)", show_default=False),
    ]
    RecordedAtOpt = Annotated[
        str | None,
        typer.Option(
            "--recorded-at",
            help="Read what the catalog had recorded by this instant (YYYY-MM-DD: the end of that day, UTC; or an "
            "ISO date-time); default: the current record",
            show_default=False,
        ),
    ]
    OutputOpt = Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the JSON, CSV or XLSX to this file", show_default=False)
    ]

    @app.command("list")
    def list_(
        store: StoreOpt = None,
        kind: Annotated[
            str | None,
            typer.Option(
                help="A kind of the metamodel (organization, system, database, procedure, function...); a kind "
                "that systems serve (procedure, function...) lists what serves each"
            ),
        ] = None,
        owner: Annotated[str | None, typer.Option(help="Owner organisation reference (its owner on the day)")] = None,
        lifecycle: Annotated[str | None, typer.Option(help="Lifecycle stage")] = None,
        tag: Annotated[str | None, typer.Option(help="Tag")] = None,
        valid_on: ValidOnOpt = None,
        recorded_at: RecordedAtOpt = None,
        include_ended: Annotated[
            bool, typer.Option("--include-ended", help="Also list what had ended by that day, and how (merged...)")
        ] = False,
        limit: Annotated[int, typer.Option(help="At most this many")] = 100,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv (UTF-8 with BOM)")] = "table",
        output: OutputOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """List entities valid on a day (default: today), filtered; with their owner on that day."""
        import json

        from rich.table import Table

        from catalog.coverage import servers, serving_columns
        from catalog.history.listing import entities_on
        from catalog.metamodel import Label
        from catalog.sheets import write_csv
        from catalog.text import vi_sort_key

        fmt = _format(fmt, LIST_FORMATS, lang)
        s = open_cli_store(store)
        listing = entities_on(s, kind, valid_on, recorded_at, include_ended, owner, lifecycle, tag)
        total = len(listing.items)
        listing.items = listing.items[: max(limit, 0)]
        served = serving_columns(s.metamodel, kind)
        serving = {x.ref: servers(listing.snapshot, x.ref) for x in listing.items} if served else {}
        if fmt == "json":
            data = {**listing.to_json(), "total": total}  # count: the items shown (--limit), total: all that match
            if served:
                for item in data["items"]:
                    item["served_by"] = [x.to_json() for x in serving[item["ref"]]]
            _write((json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), output)
            return
        cols = ("ref", "name", "owner", "lifecycle", "status")
        header = [text(COLUMNS[c], lang) for c in cols] + [
            c.get(lang) if isinstance(c, Label) else text(c, lang) for c in served.values()
        ]
        level = s.metamodel.kinds[kind].attribute("online_level") if kind and "online_level" in served else None

        def life(x: object) -> str:
            spec = s.metamodel.kinds[x.kind].attribute("lifecycle")  # type: ignore[attr-defined]
            return spec.value_label(x.lifecycle, lang) if spec and x.lifecycle else ""  # type: ignore[attr-defined]

        def extra(x: object) -> list[str]:
            out = []
            if "online_level" in served:
                value = listing.snapshot.entity(x.ref).attributes.get("online_level")  # type: ignore[attr-defined,union-attr]
                out.append(level.value_label(value, lang) if level and value else "")
            if "served_by" in served:
                names = [y.name.get(lang) or y.name.get("vi") or y.ref for y in serving[x.ref]]  # type: ignore[attr-defined]
                out.append("; ".join(names))
            return out

        rows = [
            [x.ref, x.name.get(lang) or x.name.get("vi") or "", x.owner or "", life(x), text(STATUS[x.status], lang)]
            + extra(x)
            for x in sorted(listing.items, key=lambda x: vi_sort_key(x.name.get(lang) or x.name.get("vi") or ""))
        ]
        if fmt == "csv":
            _write(write_csv(header, rows), output)
            return
        t = Table(title=text(msg("cli-list-title", day=listing.valid_on), lang))
        for c in header:
            t.add_column(c)
        for row in rows:
            t.add_row(*row)
        console.print(t)

    @app.command()
    def diff(
        from_day: Annotated[str, typer.Argument(metavar="FROM", help="The earlier day in the world (YYYY-MM-DD)")],
        to_day: Annotated[str, typer.Argument(metavar="TO", help="The later day in the world (YYYY-MM-DD)")],
        store: StoreOpt = None,
        org: Annotated[
            str | None, typer.Option("--org", help="Only what this organisation and its units owned, and themselves")
        ] = None,
        kind: Annotated[str | None, typer.Option("--kind", help="Only entities of this kind")] = None,
        recorded_from: Annotated[
            str | None, typer.Option("--recorded-from", help="Read FROM's side as recorded at this instant")
        ] = None,
        recorded_to: Annotated[
            str | None, typer.Option("--recorded-to", help="Read TO's side as recorded at this instant")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, csv or xlsx")] = "table",
        output: OutputOpt = None,
        lang: LangOpt = "vi",
    ) -> None:
        """What changed between two days: entities and relationships added, removed and changed (field by field),
        ownership moved (with the organisation event and its legal basis), organisations created, merged, renamed
        or dissolved."""
        import json

        from rich.table import Table

        from catalog.history.diff import diff as find_diff

        fmt = _format(fmt, DIFF_FORMATS, lang)
        s = open_cli_store(store)
        d = find_diff(s, from_day, to_day, recorded_from, recorded_to, org=org, kind=kind)
        if fmt == "json":
            _write((json.dumps(d.to_json(), ensure_ascii=False, indent=1) + "\n").encode("utf-8"), output)
            return
        if fmt == "csv":
            _write(d.to_csv(lang, s.metamodel), output)
            return
        if fmt == "xlsx":
            target = output or Path(f"diff-{d.from_day}-{d.to_day}.xlsx")
            target.write_bytes(d.to_xlsx(lang, s.metamodel))
            err.print(text(msg("cli-wrote", path=str(target)), lang), markup=False, highlight=False)
            return
        t = Table(title=text(msg("diff-title", start=d.from_day, end=d.to_day), lang))
        for c in d.header(lang):
            t.add_column(c, overflow="fold")
        for rows in d.rows(lang, s.metamodel).values():
            for row in rows:
                t.add_row(*[str(v) if v is not None else "" for v in row])
        console.print(t)
        if d.empty:
            console.print(text(msg("diff-nothing"), lang))


COLUMNS = {
    "ref": msg("list-col-ref"),
    "name": msg("list-col-name"),
    "owner": msg("list-col-owner"),
    "lifecycle": msg("list-col-lifecycle"),
    "status": msg("list-col-status"),
}
