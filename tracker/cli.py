"""Command-line tools: `flask user create`, `flask user password`, `flask token create`, and the clean-ups a
schedule runs: `flask imports purge` (staged files over a day old), `flask sessions purge` (sessions long over)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from .errors import InvalidInput
from .extensions import db
from .models import ROLES

user_cli = AppGroup("user", help="Manage users.")


@user_cli.command("create")
@click.option("--name", prompt=True, help="Full name.")
@click.option("--email", prompt=True, help="Email address used to sign in.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True, prompt=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(name: str, email: str, role: str, password_stdin: bool) -> None:
    """Create a user; the password is prompted for, or read from stdin when piped."""
    from .auth.service import create_user

    password = _read_password(password_stdin)
    try:
        user = create_user(db.session, name, email, password, role)
    except InvalidInput as exc:
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Created {user.role} {user.name} <{user.email}> (id {user.id}).")


@user_cli.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def set_password_command(email: str, password_stdin: bool) -> None:
    """Give the user with EMAIL a new password (for a locked-out admin); their browsers are signed out."""
    from .auth.service import set_password, user_by_email
    from .errors import DomainError

    try:
        user = user_by_email(db.session, email)
    except DomainError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from None
    password = _read_password(password_stdin)
    try:
        set_password(db.session, user.id, password)
    except InvalidInput as exc:
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"New password set for {user.name} <{user.email}>.")


def _read_password(from_stdin: bool) -> str:
    """The password from standard input (when asked or piped), else prompted for twice."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


token_cli = AppGroup("token", help="Manage personal API tokens.")


@token_cli.command("create")
@click.argument("email")
@click.argument("name")
def create_token_command(email: str, name: str) -> None:
    """Create an API token named NAME for the user with EMAIL; print only the token (for scripts)."""
    from .account.service import create_token, token_user
    from .errors import DomainError

    try:
        _token, secret = create_token(db.session, token_user(db.session, email), name)
    except InvalidInput as exc:
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise SystemExit(1) from None
    except DomainError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from None
    click.echo(secret)


imports_cli = AppGroup("imports", help="Manage staged import files.")


@imports_cli.command("purge")
def purge_imports_command() -> None:
    """Delete staged import files (dry runs and failed imports) uploaded more than a day ago."""
    from .imports.staging import purge_expired

    click.echo(f"Purged {purge_expired(db.session)} staged import file(s) older than a day.")


sessions_cli = AppGroup("sessions", help="Manage signed-in browsers.")


@sessions_cli.command("purge")
def purge_sessions_command() -> None:
    """Delete the records of sessions that ended (or expired) more than 30 days ago."""
    from flask import current_app

    from .auth.sessions import Lifetimes, purge_sessions

    purged = purge_sessions(db.session, Lifetimes.from_config(current_app.config))
    click.echo(f"Purged {purged} session record(s) over for more than 30 days.")


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(imports_cli)
    app.cli.add_command(sessions_cli)
    from .trash.tasks import trash_cli
    from .worker import worker_command

    app.cli.add_command(trash_cli)
    app.cli.add_command(worker_command)
