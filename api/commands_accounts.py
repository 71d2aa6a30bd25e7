"""Command-line front door for users and API tokens: ``user add|list|disable|enable|password`` and
``token create|list|revoke``.

The work is :class:`catalog.accounts.Accounts`; the command line acts as the local administrator (whoever can open
the store file or holds the Neo4j credentials already controls the catalog). Secrets are printed once and never
stored: a password is read from a prompt (or stdin with ``--password-stdin``), a token is shown when created.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name objects local to register()
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from api.cli_common import StoreOpt, cli_lang, cli_principal, console, open_cli_store, say
    from catalog.metamodel import ROLE_LABELS

    users = typer.Typer(help="Users and their roles (admin, architect, editor, auditor, viewer).", no_args_is_help=True)
    tokens = typer.Typer(help="API tokens (Authorization: Bearer <token>), stored hashed.", no_args_is_help=True)
    app.add_typer(users, name="user")
    app.add_typer(tokens, name="token")

    def accounts(store: str | None):
        from catalog.accounts import Accounts

        return Accounts(open_cli_store(store), cli_principal())

    def read_password(stdin: bool) -> str:
        if stdin:
            return sys.stdin.readline().rstrip("\n")
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    @users.command("add")
    def user_add(
        name: Annotated[str, typer.Argument(help="Sign-in name, e.g. lan.nguyen")],
        role: Annotated[str, typer.Option("--role", "-r", help="admin, architect, editor, auditor or viewer")],
        org: Annotated[
            str | None, typer.Option("--org", help="Organisation of a department editor, e.g. organization:hcm-skhcn")
        ] = None,
        display: Annotated[str, typer.Option("--display", help="Full name shown in the UI")] = "",
        email: Annotated[
            str, typer.Option("--email", help="Address notices are e-mailed to (IOC_CATALOG_SMTP_HOST)")
        ] = "",
        password: Annotated[
            bool, typer.Option("--password/--no-password", help="Ask for a web sign-in password")
        ] = False,
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
        store: StoreOpt = None,
    ) -> None:
        """Add a user (a department editor needs --org)."""
        secret = read_password(password_stdin) if (password or password_stdin) else None
        user = accounts(store).add_user(name, role, org, display, password=secret, email=email)
        role = ROLE_LABELS[user.role].get(cli_lang()) if user.role in ROLE_LABELS else user.role
        console.print(say("cli-user-added", name=user.name, role=role + (f", {user.org}" if user.org else "")))

    @users.command("list")
    def user_list(store: StoreOpt = None) -> None:
        """List users, their roles and organisations."""
        from rich.table import Table

        lang = cli_lang()
        t = Table(say("col-user"), say("col-role"), say("col-organisation"), say("col-display"), say("col-disabled"))
        for u in accounts(store).list_users():
            role = ROLE_LABELS[u.role].get(lang) if u.role in ROLE_LABELS else u.role
            t.add_row(u.name, role, u.org or "", u.display, say("cli-yes") if u.disabled else "")
        console.print(t)

    @users.command("disable")
    def user_disable(name: str, store: StoreOpt = None) -> None:
        """Disable a user: their tokens and sessions stop working at once."""
        accounts(store).set_disabled(name, True)
        console.print(say("cli-user-disabled", name=name), highlight=False)

    @users.command("enable")
    def user_enable(name: str, store: StoreOpt = None) -> None:
        """Enable a disabled user again."""
        accounts(store).set_disabled(name, False)
        console.print(say("cli-user-enabled", name=name), highlight=False)

    @users.command("password")
    def user_password(
        name: str,
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
        store: StoreOpt = None,
    ) -> None:
        """Set a user's web sign-in password."""
        accounts(store).set_password(name, read_password(password_stdin))
        console.print(say("cli-password-set", name=name), highlight=False)

    @tokens.command("create")
    def token_create(
        user: Annotated[str, typer.Argument(help="The user the token acts as")],
        label: Annotated[str, typer.Option("--label", help="What the token is for")] = "",
        days: Annotated[int, typer.Option("--days", min=0, help="Days until it expires (0: never)")] = 365,
        store: StoreOpt = None,
    ) -> None:
        """Create an API token; it is printed once, only its hash is kept."""
        issued = accounts(store).create_token(user, label, expires_days=days or None)
        expires = issued.expires or say("cli-never")
        console.print(say("cli-token-issued", id=issued.id, user=issued.user, expires=expires), highlight=False)
        print(issued.secret)

    @tokens.command("list")
    def token_list(
        user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens")] = None,
        store: StoreOpt = None,
    ) -> None:
        """List tokens (ids, users, labels, dates; never the secret)."""
        from rich.table import Table

        t = Table(say("col-id"), say("col-user"), say("col-label"), say("col-created"), say("col-expires"))
        for tok in accounts(store).list_tokens(user):
            expires = tok.get("expires") or say("cli-never")
            t.add_row(tok["id"], tok["user"], tok.get("label", ""), tok["created"], expires)
        console.print(t)

    @tokens.command("revoke")
    def token_revoke(
        token_id: Annotated[str, typer.Argument(help="The token id (see token list)")], store: StoreOpt = None
    ) -> None:
        """Revoke a token."""
        accounts(store).revoke_token(token_id)
        console.print(say("cli-token-revoked", id=token_id), highlight=False)
