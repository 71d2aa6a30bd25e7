"""Command-line front door for the change log's proofs and for backups: ``verify-log``, ``backup``, ``restore``.

``register(app)`` adds the commands to the ``ioc-catalog`` Typer app. The work is in :mod:`catalog.changelog`
(witnessed heads), :mod:`catalog.backup` and, for audit bundles used as witnesses, :func:`diagrams.bundle.bundle_head`;
this module reads the options, draws progress bars and prints the proofs. Exit status 1 when a check fails.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from pathlib import Path
from typing import Annotated

import typer

from catalog.i18n import msg

VERIFY_HELP = """Check the hash chain of the change log; names the first entry that was edited or removed.

Always detected: an entry edited (any byte of its stored text), removed from the middle or moved; the current
content of an entity or a relationship changed without a log entry (each fact is written once: its current state
is the after of its last entry); on Neo4j also entries cut off the end while the stored head (LogHead) still names
the old end.

Cutting entries off the END leaves a shorter chain that still verifies, and nothing inside the store can prove its
own end to whoever can rewrite it. So the head (seq, hash) is witnessed outside the store, and the log must still
hold every witnessed head: the same hash at the same seq. Witnesses: `--witness FILE` (a head file, or an audit
bundle zip, whose manifest names the head at its date), and the IOC_CATALOG_HEAD_WITNESS file, which gets one line
per committed write and is checked whenever that setting is set. Then also detected: entries cut off the end
("entries 951-1000 are missing: the log ends at 950 but ... saw 1000"), and a log cut back and written again, or
replaced by another one (the entry at a witnessed seq has another hash). Each hash covers every entry before it, so
one witnessed head proves all entries up to it. A configured witness file that is missing while the log has
entries, or that holds a line that is not a head, fails the check too. Several servers writing one catalog (Neo4j)
each keep a witness file of their own on a local disk (appends to one shared network file may interleave); each
file witnesses the heads its server committed, and verify-log takes them all with --witness.

Not detected: the loss of entries written after the last witnessed head (with IOC_CATALOG_HEAD_WITNESS that is
only a write whose line could not be appended: such a failure is logged as an ERROR by the logger
ioc_catalog.witness and does not undo the write); a rewrite by someone who can also rewrite every witness (keep the
head file where the catalog's own account cannot rewrite it: another machine or mount, an append-only file
(chattr +a), a log shipper); an entity, relationship or organisation event stored with no log entry at all, and
an event's current state changed without one (backup and restore prove those for their copies); records written
without a log entry (sessions, tokens, password hashes, import runs). A witness is not a signature: it shows the log still holds
what was seen, not who wrote it.

`--print-head` prints the verified head as one line of JSON on stdout, the format of a head file: e.g. from cron,
`ioc-catalog verify-log --print-head >> /mnt/witness/heads.jsonl` on a disk the catalog cannot rewrite.
"""

BACKUP_HELP = """Write a consistent copy of the catalog to one file while it is in use, and prove it.

From SQLite the copy is made with SQLite's online backup API, in one read transaction: the file as one commit left
it, while the server goes on writing. From Neo4j it is a logical copy into a new SQLite catalog file (as migrate
copies), consistent at one change-log head although the server goes on writing (docs/neo4j.md). Either way the
result is one SQLite catalog file (users, tokens, drafts and import runs included), written beside FILE under a
temporary name and renamed only once proved: its change log verifies, its head (seq, hash) is the source's entry at
that seq, and its content hash equals the content its own log records at that head, i.e. the source's content at
the backup's head. Both hashes and the head are printed. A full disk fails with the error store-full and leaves no
file.

Keep backups on another disk or machine. A daily backup at 02:30 with cron (one file per day; delete old ones
with your retention rule), a crontab line (cron needs the % escaped): `30 2 * * * cd /srv/ioc-catalog &&
.venv/bin/ioc-catalog backup -o /srv/backup/ioc-catalog-$(date +\\%F).db`. Or a systemd timer:
ioc-catalog-backup.service with `[Service]`, `Type=oneshot`, `WorkingDirectory=/srv/ioc-catalog`,
`EnvironmentFile=/srv/ioc-catalog/.env`, `ExecStart=/bin/sh -c 'exec .venv/bin/ioc-catalog backup -o
/srv/backup/ioc-catalog-$$(date +%%F).db'` (systemd needs $$ and %%), and ioc-catalog-backup.timer with
`[Timer]`, `OnCalendar=*-*-* 02:30:00`, `Persistent=true`, `[Install]`, `WantedBy=timers.target`; then `systemctl
enable --now ioc-catalog-backup.timer`. A failed or unproved backup exits with status 1 (cron mails it; systemd
marks the unit failed). Check a backup at any time by restoring it elsewhere: `ioc-catalog restore FILE --store
sqlite:///scratch.db`.
"""

RESTORE_HELP = """Restore a backup file (from `ioc-catalog backup`) into the configured store, and prove it.

The backup file is opened read-only (never changed) and proved first: its log verifies and its content is what its
log records at its head. A catalog that is not empty is refused unless --force, and the refusal says what would be
lost: the current entities, relationships, events and records, and the change-log entries written after the
backup (or the whole log, when it is another history). Into SQLite the restore is one transaction: it commits only
when the restored catalog has the backup's content hash and head and its log verifies, otherwise nothing changes.
Into Neo4j it goes batch by batch (as migrate does): a restore that fails half-way leaves a partial catalog, which
the next run refuses unless --force. Stop the server while restoring. After restoring an older backup, the
IOC_CATALOG_HEAD_WITNESS file names entries the catalog no longer has, and verify-log reports them missing: move that
file aside (keep it: it records what was lost) and start a new one.
"""

COMPACT_HELP = """Give the space freed inside the catalog file back to the disk (SQLite's VACUUM).

An upgrade of the file format, a restore over a bigger catalog or many deletions leave free pages inside the file,
which keeps its size. compact rewrites the file without them. It needs up to the file's size again in free disk
space while it runs, and the write lock for as long (stop the server first: its writes would wait). No fact and no
log entry changes: the head and the content hash are read before and after and printed, and the log is verified;
exit status 1 if any of that fails. A full disk leaves the file as it was. Neo4j manages its own store files: there
this command refuses and says so.
"""


def _flow(text: str) -> str:
    """Help text with each paragraph on one line: the terminal and docs/cli.md wrap it, neither breaks it twice."""
    return "\n\n".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


def register(app: typer.Typer) -> None:
    from api.cli_common import cli_lang, console, err, open_cli_store, progress_bar, say
    from catalog.settings import get_settings
    from catalog.store import CatalogStore

    StoreOpt = Annotated[
        str | None,
        typer.Option(
            "--store", "-s", envvar="IOC_CATALOG_STORE", help="Store URL, e.g. sqlite:///catalog.db", show_default=False
        ),
    ]

    def witness_heads(files: list[Path]) -> list:
        import zipfile

        from catalog.changelog import read_heads
        from catalog.errors import FieldError, ValidationFailed
        from catalog.i18n import msg
        from diagrams.bundle import bundle_head

        heads = []
        for f in files:
            if not f.is_file():
                raise ValidationFailed([FieldError("--witness", msg("file-not-found", path=str(f)))])
            if zipfile.is_zipfile(f):
                heads.append(bundle_head(f))
                continue
            try:
                heads += read_heads(f)
            except (OSError, ValueError) as exc:
                raise ValidationFailed(
                    [FieldError("--witness", msg("witness-unreadable", path=str(f), reason=str(exc)))]
                ) from None
        return heads

    def progress_bars(sections: dict[str, int], verb: str):
        """A progress bar per section; returns the progress object and the tick function copy_catalog calls."""
        progress = progress_bar()
        tasks = {
            s: progress.add_task(f"{verb} {s}", total=n or 1, completed=0 if n else 1) for s, n in sections.items()
        }

        def tick(section: str, done: int, total: int) -> None:
            progress.update(tasks[section], completed=done, total=total)

        return progress, tick

    def print_proof(label: str, proof, out=None) -> None:
        out = out or console
        head = proof.head
        time = head.time or say("cli-empty-log")
        out.print(
            say("cli-proof-head", label=label, seq=head.seq, hash=head.hash, time=time), highlight=False, soft_wrap=True
        )
        out.print(say("cli-proof-hash", label=label, hash=proof.content_hash), highlight=False, soft_wrap=True)

    @app.command("verify-log", help=_flow(VERIFY_HELP))
    def verify_log(
        store: StoreOpt = None,
        witness: Annotated[
            list[Path] | None,
            typer.Option(
                "--witness",
                help="A head file (lines of --print-head or of IOC_CATALOG_HEAD_WITNESS) or an "
                "audit bundle zip: the log must still hold the head(s) it names; "
                "repeatable",
            ),
        ] = None,
        print_head: Annotated[
            bool,
            typer.Option(
                "--print-head",
                help="Print the verified head (seq, hash, time) as one line of JSON on "
                "stdout, for a head file kept outside the store",
            ),
        ] = False,
    ) -> None:
        from rich.markup import escape

        heads = witness_heads(witness or [])
        s = open_cli_store(store)
        try:
            result = s.verify_log(witness=heads)
            head = s.log_head() if result.ok and print_head else None
        finally:
            s.close()
        if not result.ok:
            err.print(f"[red]{escape(result.message().text(cli_lang()))}[/red]", soft_wrap=True)
            raise typer.Exit(1)
        said = escape(result.message().text(cli_lang()))
        (err if print_head else console).print(f"[green]{said}[/green]", soft_wrap=True)
        if head is not None:
            if head.hash != result.head:  # written between the check and the read: print only what was checked
                err.print(f"[red]{escape(say('cli-log-moved'))}[/red]")
                raise typer.Exit(1)
            typer.echo(head.line(), nl=False)

    @app.command(help=_flow(BACKUP_HELP))
    def backup(
        output: Annotated[Path, typer.Option("-o", "--output", help="Backup file to write (one SQLite catalog file)")],
        store: StoreOpt = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
        batch: Annotated[int, typer.Option(help="Items per batch of a logical copy (Neo4j)", min=1)] = 5000,
    ) -> None:
        from rich.markup import escape

        from catalog.backup import backup as run
        from catalog.migrate import SECTIONS, totals
        from catalog.store.sqlite import SQLiteStore

        s = open_cli_store(store)
        try:
            if isinstance(s, SQLiteStore):
                result = run(s, output, force=force)
            else:
                counts = totals(s)
                progress, tick = progress_bars({k: counts[k] for k in SECTIONS}, "backup")
                with progress:
                    result = run(s, output, force=force, batch=batch, progress=tick)
        finally:
            s.close()
        method = say("cli-method-online") if result.method == "sqlite-online-backup" else say("cli-method-logical")
        copy, check = f"{result.seconds['copy']:.1f}", f"{result.seconds['verify']:.1f}"
        wrote = say("cli-backup-wrote", path=str(result.path), size=result.bytes, method=method, copy=copy, check=check)
        console.print(escape(wrote), highlight=False)
        print_proof(say("cli-label-backup"), result.proof)
        head, now = result.proof.head, result.source_head
        verified = result.proof.verify.message().text(cli_lang())
        said = (
            say("cli-backup-verified-later", verify=verified, seq=head.seq, now=now.seq, first=head.seq + 1)
            if now.seq > head.seq
            else say("cli-backup-verified", verify=verified, seq=head.seq)
        )
        console.print(f"[green]{escape(said)}[/green]", soft_wrap=True)

    @app.command(help=_flow(RESTORE_HELP))
    def restore(
        file: Annotated[Path, typer.Argument(help="Backup file written by ioc-catalog backup")],
        store: StoreOpt = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a catalog that is not empty")] = False,
        batch: Annotated[int, typer.Option(help="Items per batch (one transaction each on Neo4j)", min=1)] = 5000,
    ) -> None:
        from rich.markup import escape

        from catalog.backup import RestoreRefused, open_backup, plan_restore, restore_problems
        from catalog.backup import restore as run
        from catalog.migrate import SECTIONS, totals

        s: CatalogStore = open_cli_store(store, create=True)
        try:
            with open_backup(file, s) as b:
                counts = totals(b)
                expected = {k: counts[k] for k in SECTIONS}
                plan = plan_restore(b, s)
            if not plan.empty and not force:  # restore() refuses too; say it before any progress bar
                raise RestoreRefused(msg("restore-not-empty", losses=tuple(plan.losses())))
            progress, tick = progress_bars(expected, "restore")
            with progress:
                result = run(file, s, force=force, batch=batch, progress=tick)
        finally:
            s.close()
        for loss in result.plan.losses():
            console.print(f"[yellow]{escape(say('cli-replaced', what=loss))}[/yellow]", soft_wrap=True)
        print_proof(say("cli-label-backup"), result.backup)
        print_proof(say("cli-label-restored"), result.restored)
        if result.witness_ahead is not None:
            w, end = result.witness_ahead, result.restored.head.seq
            path = str(get_settings().head_witness)
            ahead = say("cli-witness-ahead", path=path, seq=w.seq, end=end, first=end + 1)
            err.print(f"[yellow]{escape(ahead)}[/yellow]", soft_wrap=True)
        if result.ok:
            how = say("cli-one-transaction") if result.one_transaction else say("cli-batch-by-batch")
            verified = result.restored.verify.message().text(cli_lang())
            console.print(f"[green]{escape(say('cli-restored', how=how, verify=verified))}[/green]", soft_wrap=True)
        else:
            for problem in restore_problems(result):
                err.print(f"[red]{escape(problem.text(cli_lang()))}[/red]", soft_wrap=True)
            raise typer.Exit(1)

    @app.command(help=_flow(COMPACT_HELP))
    def compact(store: StoreOpt = None) -> None:
        from rich.markup import escape

        from catalog.backup import compact as run
        from catalog.i18n import format_number

        s = open_cli_store(store)
        try:
            result = run(s)
        finally:
            s.close()

        def mib(n: int) -> str:
            return format_number(round(n / 2**20, 1), cli_lang())

        console.print(escape(say("cli-compacted", before=mib(result.before), after=mib(result.after))), highlight=False)
        head = result.head
        console.print(
            say(
                "cli-proof-head",
                label=say("cli-label-catalog"),
                seq=head.seq,
                hash=head.hash,
                time=head.time or say("cli-empty-log"),
            ),
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            say("cli-proof-hash", label=say("cli-label-catalog"), hash=result.content_hash),
            highlight=False,
            soft_wrap=True,
        )
        verified = result.verify.message().text(cli_lang())
        if result.ok:
            console.print(f"[green]{escape(say('cli-compact-same', verify=verified))}[/green]", soft_wrap=True)
            return
        if not result.same:
            err.print(f"[red]{escape(say('cli-compact-changed'))}[/red]", soft_wrap=True)
        if not result.verify.ok:
            err.print(f"[red]{escape(verified)}[/red]", soft_wrap=True)
        raise typer.Exit(1)


__all__ = ["register"]
