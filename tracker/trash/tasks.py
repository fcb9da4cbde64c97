"""The trash's upkeep: the retention purge, as a periodic task of the background worker and as a command
(`flask --app wsgi trash purge`)."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from ..models import utcnow
from . import service

trash_cli = AppGroup("trash", help="The trash of deleted issues.")


def purge_trash(session, now: datetime) -> int:
    """Purge the issues deleted more than TRASH_RETENTION_DAYS ago. For the background worker: runs in the app's
    context, as its tasks do; once an hour is plenty. Returns how many were purged."""
    return service.purge_expired(session, now, current_app.config["TRASH_RETENTION_DAYS"])


@trash_cli.command("purge")
def purge_command() -> None:
    """Purge the issues deleted more than TRASH_RETENTION_DAYS (30) days ago."""
    purged = purge_trash(db.session, utcnow())
    days = current_app.config["TRASH_RETENTION_DAYS"]
    click.echo(f"Purged {purged:,} issue{'' if purged == 1 else 's'} deleted more than {days} days ago.")
