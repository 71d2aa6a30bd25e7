"""Command-line front door for notices and webhooks: ``notify run [--once]`` (for cron or a systemd service, beside or
instead of the server's background worker, setting ``notify_worker``).

``register(app)`` adds the ``notify`` group to the ``ioc-catalog`` Typer app. Each pass is
:func:`catalog.notices.notify_pass`: the in-app notices caught up with the change log, then every webhook's pending
events tried under the retry policy of the ``webhook_*`` settings. Several runners may share a store: each consumer's
cursor is leased (:mod:`catalog.outbox`), so no event is handled twice at once.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import StoreOpt, console, open_cli_store, say

    notify = typer.Typer(help="Notices and webhook deliveries (docs/api.md, Webhooks).", no_args_is_help=True)
    app.add_typer(notify, name="notify")

    @notify.command("run")
    def run(
        store: StoreOpt = None,
        once: Annotated[
            bool, typer.Option("--once", help="One pass, then exit (cron); default: run until stopped")
        ] = False,
    ) -> None:
        """Deliver notices and webhooks: one pass with --once, else a pass every notify_interval_seconds."""
        import time

        from catalog.notices import notify_pass, start
        from catalog.settings import get_settings

        settings = get_settings()
        s = open_cli_store(store)
        try:
            start(s)
            while True:
                done = notify_pass(s, settings)
                if once or any(done.values()):
                    console.print(say("cli-notify-pass", **done), highlight=False)
                if once:
                    return
                time.sleep(settings.notify_interval_seconds)
        finally:
            s.close()
