"""The attachments' upkeep: the orphan sweep, as a periodic task of the background worker and as a command
(`flask --app wsgi attachments sweep`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask.cli import AppGroup

from ..extensions import db
from ..models import utcnow
from . import service, web

attachments_cli = AppGroup("attachments", help="Attachment storage.")


def sweep_orphans(session, now: datetime) -> service.SweepResult:
    """Remove stored objects that no attachment names and that are older than ATTACHMENT_ORPHAN_MINUTES (an
    upload whose transaction rolled back, a crash between storing and committing). For the background worker:
    runs in the app's context, as its tasks do; every 30 minutes is plenty (it lists the whole store)."""
    return service.remove_orphans(session, web.store(), now, web.orphan_age())


@attachments_cli.command("sweep")
@click.option(
    "--older-than-minutes",
    type=click.IntRange(min=0),
    default=None,
    help="Only objects older than this (default: ATTACHMENT_ORPHAN_MINUTES, 60).",
)
def sweep_command(older_than_minutes: int | None) -> None:
    """Remove stored files that no attachment names (left by uploads that failed after storing)."""
    age = web.orphan_age() if older_than_minutes is None else timedelta(minutes=older_than_minutes)
    result = service.remove_orphans(db.session, web.store(), utcnow(), age)
    click.echo(
        f"Looked at {result.objects:,} stored object{'' if result.objects == 1 else 's'} in {web.store().describe()};"
        f" removed {len(result.removed):,} that no attachment names."
    )
