"""The ``ioc-catalog`` command line: a thin front door over the catalog services, like the HTTP API.

The store is chosen by ``--store URL`` or ``IOC_CATALOG_STORE`` (default: sqlite:///ioc-catalog.db in the working
directory). The local command line acts as an administrator named ``cli:<os user>``; every change it makes is audited
in the change log like any other. Bad input exits with status 1 and a message naming what is wrong, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli_common import (
    LangOpt,
    StoreOpt,
    cli_date,
    cli_lang,
    cli_principal,
    console,
    err,
    open_cli_store,
    progress_bar,
    say,
    say_plural,
)
from api.registry_help import RegistryHelpCommand
from catalog.errors import CatalogError, ValidationFailed
from catalog.i18n import lang_or_default, msg, msg_plural, text
from catalog.metamodel import EVENT_LABELS, VALUE_LABELS
from catalog.store import CatalogStore

app = typer.Typer(
    help="ioc-catalog: the enterprise-architecture catalog of a city's IOC, shared databases, platforms and systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

SAMPLE = Path(__file__).with_name("sample") / "hcmc.json"  # data/sample/hcmc.json, shipped in the wheel (symlink)
DEMO_DIR = Path(".ioc-catalog-demo")


def load_file(
    store: CatalogStore,
    path: Path,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    strict: bool = True,
    cleanup: bool = False,
    quiet: bool = False,
):
    """Import with a progress bar; returns the ImportReport."""
    from importers.base import run_import

    with progress_bar() as progress:
        task = progress.add_task(f"import {path.name}", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = run_import(
            store,
            path,
            fmt,
            principal=cli_principal(),
            dry_run=dry_run,
            strict=strict,
            cleanup=cleanup,
            progress=None if quiet else tick,
            limits=_import_limits(),
        )
        progress.update(task, completed=progress.tasks[0].total or 1, total=progress.tasks[0].total or 1)
    return report


def _import_limits():
    """What an import may hold, from the settings (IOC_CATALOG_IMPORT_*, docs/spreadsheets.md "Limits")."""
    from catalog.settings import get_settings
    from importers.base import ImportLimits

    return ImportLimits.from_settings(get_settings())


def _print_report(report, lang: str = "vi") -> None:
    """The report of one import: counts per kind, then every rejected item and a summary of the unmapped ones, with
    reasons in Vietnamese (``lang`` vi) or English."""
    said = (
        msg("cli-report-dry-run", source=report.source)
        if report.dry_run
        else msg("cli-report-import", source=report.source)
    )
    t = Table(title=text(said, lang))
    t.add_column(text(msg("col-kind"), lang))
    for head in (msg("col-created"), msg("col-updated"), msg("col-unchanged"), msg("col-removed")):
        t.add_column(text(head, lang), justify="right")
    kinds = sorted(
        set(report.result.created)
        | set(report.result.updated)
        | set(report.result.unchanged)
        | set(report.result.removed)
    )
    from catalog.i18n import format_number
    from catalog.settings import get_settings
    from catalog.text import vi_sort_key

    mm = get_settings().metamodel()
    rows = []
    for k in kinds:
        # counted by kind, relationships and organisation events together: each by its label (as the import page)
        if k in mm.kinds:
            said_kind = mm.kinds[k].plural.get(lang)
        else:
            said_kind = text(msg("ui-relationships") if k.startswith("rel") else msg("ui-org-events"), lang)
        counts = [
            format_number(getattr(report.result, c).get(k, 0), lang)
            for c in ("created", "updated", "unchanged", "removed")
        ]
        rows.append((said_kind[:1].upper() + said_kind[1:], counts))
    for said_kind, counts in sorted(rows, key=lambda row: vi_sort_key(row[0])):
        t.add_row(said_kind, *counts)
    console.print(t)
    if getattr(report, "source_types", None):
        console.print(
            text(msg("cli-report-in-file", types=", ".join(f"{k} {n}" for k, n in report.source_types.items())), lang),
            highlight=False,
            markup=False,
        )
    unmapped = getattr(report, "unmapped", [])
    if unmapped:
        err.print(
            "[yellow]"
            + escape(text(msg_plural("cli-report-unmapped", "cli-report-unmapped#plural", count=len(unmapped)), lang))
            + "[/yellow]"
        )
        for r in unmapped[:20]:
            err.print(f"  {r.text(lang)}", markup=False, highlight=False)
        if len(unmapped) > 20:
            err.print(
                "  … " + text(msg_plural("cli-report-more", "cli-report-more#plural", count=len(unmapped) - 20), lang),
                markup=False,
                highlight=False,
            )
    if report.rejected:
        err.print(
            "[red]"
            + escape(
                text(msg_plural("cli-report-rejected", "cli-report-rejected#plural", count=len(report.rejected)), lang)
            )
            + "[/red]"
        )
        for r in report.listed(report.rejected):  # at most IOC_CATALOG_IMPORT_MAX_REPORT_ITEMS, then a count
            err.print(f"  {r.text(lang)}", markup=False, highlight=False)
        if not report.loaded and not report.dry_run:
            err.print("[red]" + escape(text(msg("cli-report-strict"), lang)) + "[/red]")


# --- commands ---------------------------------------------------------------------------------------------------


@app.command()
def init(
    store: StoreOpt = None,
    sample: Annotated[bool, typer.Option("--sample", help="Load the sample HCMC catalog")] = False,
) -> None:
    """Create a catalog store (and, with --sample, load the sample HCMC catalog)."""
    s = open_cli_store(store, create=True)
    if sample:
        report = load_file(s, SAMPLE)
        _print_report(report)
    console.print(say("cli-catalog-ready", entities=s.count_entities(), relationships=s.count_relationships()))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the web server")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server after loading")] = True,
) -> None:
    """Build a fresh demo catalog from the sample HCMC data and serve the API and web UI."""
    DEMO_DIR.mkdir(exist_ok=True)
    db = DEMO_DIR / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    s = open_cli_store(url, create=True)
    report = load_file(s, SAMPLE)
    _print_report(report)
    from catalog.accounts import seed_demo

    seeded = seed_demo(s)
    from catalog.demo import demo_edits

    demo_edits(s)  # a few real edits now, so record-time views have something to show (catalog.demo)
    from catalog.demo import demo_campaigns

    demo_campaigns(s)  # a finished and an open inventory campaign, with progress (catalog.demo)
    seq, head = s.revision()
    s.close()
    base = f"http://{host}:{port}"
    console.print(
        f"\n[bold green]Demo catalog ready[/bold green] ({db}, revision {seq} {head[:12]})\n"
        f"  Web UI:     {base}/\n  API:        {base}/api/v1/entities?kind=system\n"
        f"  Health:     {base}/api/v1/health\n  API docs:   {base}/docs\n"
        f"  IOC diagram: {base}/api/v1/diagrams/ioc.svg  (also .png, .pdf, .dot)\n"
        f"  Command line, e.g.:  IOC_CATALOG_STORE={url} {_me()} search \"so thong tin\"\n"
    )
    console.print(
        "[bold]Demo users[/bold] (web UI: sign in with name + password; API: 'Authorization: Bearer <token>'):"
    )
    for user, password, token in seeded:  # one line each, never wrapped: tokens must copy whole
        org = f" {user.org}" if user.org else ""
        console.print(
            f"  {user.name:<13} {user.role + org:<34} password {password}  token {token.secret}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    if serve_:
        import os

        # the sample is HCMC's catalog: its city ranks first in searches of people without an organisation
        os.environ.setdefault("IOC_CATALOG_SEARCH_HOME", "organization:hcm-ubnd")
        _serve(url, host, port, demo_mode=True)


def _me() -> str:
    """How to call this command again from here (.venv/bin/ioc-catalog when it is not on PATH)."""
    import os
    import shutil

    argv0 = sys.argv[0] if sys.argv and sys.argv[0].endswith("ioc-catalog") else "ioc-catalog"
    if shutil.which("ioc-catalog") == os.path.abspath(argv0) or argv0 == "ioc-catalog":
        return "ioc-catalog"
    return os.path.relpath(argv0)


def _serve(url: str, host: str, port: int, demo_mode: bool = False, **options: Any) -> None:
    """Serve the store with its workers, behind its proxy (api.commands_serve); ``options``: settings the command
    line gave (None: the setting's own value)."""
    from pydantic import ValidationError

    from api.commands_serve import run
    from catalog.model import pydantic_errors
    from catalog.settings import Settings

    given = {k: v for k, v in options.items() if v is not None}
    try:
        settings = Settings(store=url, host=host, port=port, demo=demo_mode or Settings().demo, **given)
    except ValidationError as exc:  # a bad --workers, --root-path, --log-format...: named, not a traceback
        raise ValidationFailed(pydantic_errors(exc)) from None
    run(settings)


@app.command()
def serve(
    store: StoreOpt = None,
    host: Annotated[str, typer.Option(envvar="IOC_CATALOG_HOST", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="IOC_CATALOG_PORT", help="Port")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: the workers setting, else one per CPU core)")
    ] = None,
    root_path: Annotated[
        str | None, typer.Option(help="Path prefix the reverse proxy serves the catalog under, e.g. /ioc-catalog")
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None, typer.Option(help="Proxy addresses whose X-Forwarded-* headers are believed (comma-separated)")
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="Log lines: text or json (one JSON object per line)")] = None,
) -> None:
    """Serve the REST API and web UI over a store (docs/deploy.md: workers, reverse proxy, metrics, logs)."""
    from catalog.settings import get_settings
    from importers.base import recover_runs

    url = store or get_settings().store
    s = open_cli_store(url)  # fail early and clearly if the store is missing or broken
    recover_runs(s, _import_limits().stale_hours)  # imports a dead process left "running" are recorded as failed
    s.close()
    _serve(
        url,
        host,
        port,
        workers=workers,
        root_path=root_path,
        forwarded_allow_ips=forwarded_allow_ips,
        log_format=log_format,
    )


@app.command()
def show(
    ref: str,
    store: StoreOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show it as it was recorded on this date (YYYY-MM-DD or ISO date-time)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    lang: LangOpt = "vi",
) -> None:
    """Show one entity with its relationships."""
    from catalog.errors import NotFound

    s = open_cli_store(store)
    e = s.entity_as_of(ref, as_of) if as_of else s.get_entity(ref)
    if e is None:
        raise NotFound(msg("entity-not-at", ref=ref, when=as_of))
    if as_json:
        print(json.dumps(e.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    spec = s.metamodel.kind(e.kind)
    t = Table(title=f"{e.ref}: {e.name.get(lang)}", show_header=False)
    t.add_row(spec.label.get(lang), e.name.get("vi") + (f" / {e.name.en}" if e.name.en else ""))
    if e.description.get(lang):
        t.add_row(say("col-description"), e.description.get(lang))
    now = say("cli-now")
    for p in e.owner_history:
        period = f"{p.org}  {p.start or '…'} → {p.end or now}" + (f"  ({p.event})" if p.event else "")
        t.add_row(say("col-owner"), period)
    if e.valid_from or e.valid_to:
        t.add_row(say("col-valid"), f"{e.valid_from or '…'} → {e.valid_to or now}")
    for k, v in e.attributes.items():
        a = spec.attribute(k)
        t.add_row(a.label.get(lang) if a else k, str(v))
    if e.tags:
        t.add_row(say("col-tags"), ", ".join(e.tags))
    t.add_row(say("col-version"), str(e.version))
    console.print(t)
    if not as_of:
        for r in s.list_relationships(ref):
            label = s.metamodel.relations[r.type].label.get(lang) if r.type in s.metamodel.relations else r.type
            console.print(f"  {r.source} --{label}--> {r.target}", highlight=False)


@app.command()
def search(
    text: str,
    store: StoreOpt = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 20,
    lang: LangOpt = "vi",
) -> None:
    """Search names, descriptions, codes and tags, with or without Vietnamese diacritics."""
    from catalog.search import parse_kinds, suggest
    from catalog.settings import get_settings

    s = open_cli_store(store)
    # ranked as the web UI and the API rank them (catalog.search), with what tells two of one name apart
    hits = [h.to_json(lang) for h in suggest(s, text, parse_kinds(s, kind), limit, home=get_settings().search_home)]
    if not hits:
        console.print(say("cli-no-match", text=text))
        raise typer.Exit(0)
    t = Table()
    t.add_column(say("col-ref"), no_wrap=True)  # a reference is copied whole
    for label in (say("col-name"), say("col-kind"), say("col-owner"), say("col-province"), say("col-lifecycle")):
        t.add_column(label)
    for h in hits:
        former = h["former_province_name"]
        place = (h["province_name"] or "") + (f" ({say('ui-formerly', place=former)})" if former else "")
        t.add_row(h["ref"], h["name"], h["kind_label"], h["owner_name"] or "", place, h["lifecycle_label"] or "")
    console.print(t)


@app.command()
def impact(
    ref: str,
    store: StoreOpt = None,
    depth: Annotated[int | None, typer.Option(help="At most this many hops")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many dependents")] = 200,
) -> None:
    """What depends, transitively, on REF (what breaks if it is down), with the path that explains each."""
    from catalog.analysis import impact as impact_of

    s = open_cli_store(store)
    items = impact_of(s, ref, max_depth=depth)
    if not items:
        console.print(say("cli-nothing-depends", ref=ref))
        return
    t = Table(title=say_plural("cli-impact-title", "cli-impact-title#plural", count=len(items), ref=ref))
    t.add_column(say("col-hops"), justify="right")
    t.add_column(say("col-ref"))
    t.add_column(say("col-because"))
    for it in items[:limit]:
        t.add_row(str(it.depth), it.ref, " → ".join(it.path))
    console.print(t)
    if len(items) > limit:
        console.print(say_plural("cli-and-more", "cli-and-more#plural", count=len(items) - limit))


@app.command(cls=RegistryHelpCommand)
def check(
    store: StoreOpt = None,
    today: Annotated[str | None, typer.Option(help="Check as of this date (default: today)")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="Only these rule codes: {rules}")] = None,
    lang: LangOpt = "vi",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run the compliance rules; print findings and the completeness score per organisation."""
    from catalog.compliance import check as run_check

    s = open_cli_store(store)
    report = run_check(s, today=cli_date(today, "--today"), rules=rule)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        return
    t = Table(title=say_plural("cli-findings-title", "cli-findings-title#plural", count=len(report.findings)))
    for head in (say("col-rule"), say("col-severity"), say("col-ref"), say("col-message")):
        t.add_column(head)
    for f in report.findings:
        severity = VALUE_LABELS[f.severity].get(lang) if f.severity in VALUE_LABELS else f.severity
        t.add_row(f.rule, severity, f.ref, {"vi": f.message_vi, "en": f.message_en}[lang_or_default(lang)])
    console.print(t)
    c = Table(title=say("cli-completeness-title"))
    c.add_column(say("col-organisation"))
    c.add_column(say("col-score"), justify="right")
    for org, score in sorted(report.completeness.items()):
        c.add_row(org, f"{score.score:.0f}")
    console.print(c)


@app.command()
def history(
    ref: str, store: StoreOpt = None, limit: Annotated[int, typer.Option(help="At most this many entries")] = 200
) -> None:
    """The change log of one entity (or relationship, rel:<id>): who changed what, when."""
    s = open_cli_store(store)
    entries = s.changelog(ref=ref, limit=limit)
    if not entries:
        console.print(say("cli-no-history", ref=ref))
        return
    t = Table(title=say("cli-history-title", ref=ref))
    for head in (say("col-seq"), say("col-time"), say("col-actor"), say("col-op"), say("col-changed")):
        t.add_column(head)
    for c in entries:
        before, after = c.before or {}, c.after or {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        actor = f"{c.actor} ({say('cli-proposed-by', name=c.proposer)})" if c.proposer else c.actor
        t.add_row(str(c.seq), c.time, actor, c.op, ", ".join(changed))
    console.print(t)


@app.command()
def owner(ref: str, on: Annotated[str, typer.Option("--on", help="Date YYYY-MM-DD")], store: StoreOpt = None) -> None:
    """Who owned REF on a date (across renames, mergers and transfers)."""
    from catalog.services import CatalogService

    s = open_cli_store(store)
    day = cli_date(on, "--on")
    assert day is not None
    who = CatalogService(s, cli_principal()).owner_on(ref, day)
    org = s.find_entity(who) if who else None
    shown = f"{org.name.get(cli_lang())} ({who})" if org is not None else who or say("cli-no-owner")
    console.print(say("cli-owner-on", ref=ref, day=day.isoformat(), owner=shown), highlight=False)


@app.command()
def events(
    store: StoreOpt = None, org: Annotated[str | None, typer.Option(help="Only events naming this organisation")] = None
) -> None:
    """List organisation events (mergers, renames, transfers...) with their dates and legal basis."""
    s = open_cli_store(store)
    t = Table(title=say("cli-events-title"))
    for head in (say("col-date"), say("col-id"), say("col-type"), say("col-from"), say("col-to")):
        t.add_column(head)
    t.add_column(say("col-legal-basis"))
    lang = cli_lang()
    for ev in s.list_events(org):
        kind = EVENT_LABELS[ev.type].get(lang) if ev.type in EVENT_LABELS else ev.type
        t.add_row(ev.date.isoformat(), ev.id, kind, "\n".join(ev.from_), "\n".join(ev.to), ev.legal_basis)
    console.print(t)


@app.command("apply-event")
def apply_event(
    file: Annotated[Path, typer.Argument(help="JSON or YAML file with one event (see docs/native-format.md)")],
    store: StoreOpt = None,
) -> None:
    """Apply an organisation event: end or start organisations and move ownership on its effective date."""
    import yaml

    from catalog.services import CatalogService
    from importers.base import ImportFailed

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ImportFailed(msg("event-file-unreadable", file=str(file), error=str(exc))) from None
    s = open_cli_store(store)
    if not isinstance(data, dict):
        raise ImportFailed(msg("event-file-not-mapping", file=str(file)))
    ev, changed = CatalogService(s, cli_principal()).apply_event(data)
    console.print(
        f"Applied {ev.type} {ev.id} on {ev.date}: {len(changed)} entit(ies) changed: {', '.join(changed)}",
        highlight=False,
    )


@app.command(cls=RegistryHelpCommand)
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write")],
    store: StoreOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="One of: {exporters} (json: native; csv: a zip of CSV files; archimate: ArchiMate 3.1 exchange XML)",
        ),
    ] = "json",
    changelog: Annotated[bool, typer.Option("--changelog", help="Include the change log (json)")] = False,
) -> None:
    """Export the whole catalog: native JSON (lossless), or XLSX/CSV in the template's layout (re-imports to the same
    content; see docs/spreadsheets.md), or ArchiMate 3.1 (see docs/archimate.md)."""
    from catalog.errors import ValidationFailed as Invalid
    from importers.exports import export as run_export

    s = open_cli_store(store)
    try:
        result = run_export(s, fmt, include_changelog=changelog)
    except Invalid as exc:
        raise typer.BadParameter(
            exc.errors[0].reason, param_hint="--format" if exc.errors[0].location == "format" else "--changelog"
        ) from None
    output.write_bytes(result.data)
    console.print(
        say("cli-wrote-catalog", path=str(output), entities=s.count_entities(), relationships=s.count_relationships())
    )
    for line in result.notes:
        err.print(f"  not exported: {line}", markup=False, highlight=False)


@app.command()
def template(output: Annotated[Path, typer.Option("-o", "--output", help="XLSX file to write")]) -> None:
    """Write an empty XLSX import template generated from the metamodel (custom attributes included)."""
    from catalog.settings import get_settings
    from importers.spreadsheet import write_template

    write_template(get_settings().metamodel(), output)
    console.print(say("cli-wrote-template", path=str(output)))


@app.command("import", cls=RegistryHelpCommand)
def import_(
    file: Annotated[Path, typer.Argument(help="File to import (Backstage: also a directory or a .zip)")],
    store: StoreOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="Importer, one of: {importers} (default: by file name)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict/--no-strict",
            help="Strict (default): any rejected item means nothing is imported (warnings never refuse)",
        ),
    ] = True,
    cleanup: Annotated[
        bool,
        typer.Option("--cleanup", help="Remove what this file's earlier imports created and it no longer contains"),
    ] = False,
    report_file: Annotated[Path | None, typer.Option("--report", help="Also write the report as JSON")] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            help="A saved mapping profile: read a spreadsheet in its own layout as the profile says "
            "(docs/spreadsheets.md)",
        ),
    ] = None,
    lang: LangOpt = "vi",
) -> None:
    """Import a file into the catalog, all or nothing, with a report of every rejected item (reasons in Vietnamese
    or English: --lang or IOC_CATALOG_LANG). Every run is recorded: see ``imports``. With ``--mapping PROFILE`` a
    spreadsheet in a department's own layout is read through a mapping profile saved in the web UI."""
    from importers.base import REPORT_SCHEMA, ImportFailed

    s = open_cli_store(store, create=True)
    try:
        if mapping:
            from importers.mapping import importer_for

            fmt = importer_for(s, cli_principal(), mapping, _import_limits())  # type: ignore[assignment]
        report = load_file(s, file, fmt=fmt, dry_run=dry_run, strict=strict, cleanup=cleanup)
    except ImportFailed as exc:
        if report_file:
            report_file.write_text(
                json.dumps(
                    {
                        "schema": REPORT_SCHEMA,
                        "file": str(file),
                        "status": "failed",
                        "error": exc.text("en"),
                        "error_vi": exc.text("vi"),
                        "reason": exc.reason,
                    },
                    ensure_ascii=False,
                    indent=1,
                ),
                encoding="utf-8",
            )
        err.print(f"[red]{escape(text(msg('cli-error'), lang))}:[/red] {escape(exc.text(lang))}", highlight=False)
        raise typer.Exit(1) from None
    _print_report(report, lang)
    if report_file:
        report_file.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def imports(
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many runs")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Recent import runs, newest first: who imported what, when, whether it finished or failed, and the counts."""
    from importers.base import list_runs, recover_runs

    s = open_cli_store(store)
    recover_runs(s, _import_limits().stale_hours)  # runs left "running" by a process that died are failed runs
    runs = list_runs(s, limit=limit)
    if as_json:
        print(json.dumps(runs, ensure_ascii=False, indent=1))
        return
    if not runs:
        console.print(say("cli-no-imports"))
        return
    t = Table(title=say_plural("cli-runs-title", "cli-runs-title#plural", count=len(runs)))
    heads = (say("col-run"), say("col-source"), say("col-actor"), say("col-status"), say("col-counts"))
    for head in (*heads, say("col-rejected")):
        t.add_column(head, overflow="fold")
    for r in runs:
        status = r.get("status", "?") + (say("cli-dry-run-suffix") if r.get("dry_run") else "")
        if r.get("error"):
            status += f": {str(r['error'])[:80]}"
        t.add_row(
            str(r.get("run", "")),
            str(r.get("source", "")),
            str(r.get("actor", "")),
            status,
            "/".join(str(sum((r.get(c) or {}).values())) for c in ("created", "updated", "removed")),
            str(r.get("rejected", 0)),
        )
    console.print(t)


def _register_command_groups() -> None:
    """Command groups that live in their own modules register on the app like an extension would."""
    from api import (
        commands_accounts,
        commands_analysis,
        commands_backup,
        commands_campaign,
        commands_coverage,
        commands_diagrams,
        commands_history,
        commands_mappings,
        commands_migrate,
        commands_notify,
        commands_policy,
        commands_report,
        commands_revert,
    )

    commands_accounts.register(app)
    commands_analysis.register(app)  # spof, paths
    commands_backup.register(app)  # verify-log, backup, restore
    commands_campaign.register(app)  # campaign open|list|show|remind|close|export
    commands_coverage.register(app)  # coverage of the business layer
    commands_diagrams.register(app)
    commands_history.register(app)  # list (on a date), diff
    commands_mappings.register(app)  # mappings: the spreadsheet mapping profiles
    commands_migrate.register(app)
    commands_notify.register(app)  # notify run
    commands_policy.register(app)  # policy show
    commands_report.register(app)  # report current-state
    commands_revert.register(app)  # revert an entry, an import run or an approved draft


def main() -> None:
    _register_command_groups()
    try:
        app()
    except ValidationFailed as exc:
        lang = cli_lang()
        head = text(msg("invalid-input"), lang) if exc.errors else exc.text(lang)
        err.print(f"[red]{escape(text(msg('cli-error'), lang))}:[/red] {escape(head)}", highlight=False)
        for e in exc.errors:
            err.print(f"  {e.text(lang)}", markup=False, highlight=False)
        sys.exit(1)
    except CatalogError as exc:
        lang = cli_lang()
        err.print(f"[red]{escape(text(msg('cli-error'), lang))}:[/red] {escape(exc.text(lang))}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
