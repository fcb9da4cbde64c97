"""The background worker: `flask --app wsgi worker` sends due notification emails in a loop, checks the watched views
every VIEW_ALERT_SECONDS (issues new to a view notify its watchers) and, once an hour
(UPKEEP_MINUTES), does the upkeep: the trash's retention purge, ended sessions, stale staged imports and orphaned
attachment files (`--once`: what is due now, upkeep included, then exits, for cron and tests). `make run` runs the same
loop in a thread of the web process. Several workers (on several machines) are safe: emails are claimed with
FOR UPDATE SKIP LOCKED, and on PostgreSQL one worker at a time does the upkeep (an advisory lock; every upkeep task
is set-based and would be harmless twice anyway)."""

from __future__ import annotations

import logging
import threading
import time

import click
import sqlalchemy as sa
from flask import Flask, current_app

from .extensions import db
from .models import utcnow
from .notifications.worker import run_once
from .outage import discard

logger = logging.getLogger(__name__)


UPKEEP_LOCK = 0x7472_6B75  # the advisory lock that lets one worker at a time do the upkeep (PostgreSQL)


def _upkeep_tasks(app: Flask):
    """(name, task(session, now) -> a count) of the periodic clean-ups, each the same code as its command."""
    from .attachments.tasks import sweep_orphans
    from .auth.sessions import Lifetimes, purge_sessions
    from .imports.staging import purge_expired
    from .trash.tasks import purge_trash

    return (
        ("trash purged", purge_trash),
        ("sessions purged", lambda session, now: purge_sessions(session, Lifetimes.from_config(app.config), now)),
        ("staged imports purged", purge_expired),
        ("orphaned files removed", lambda session, now: len(sweep_orphans(session, now).removed)),
    )


def run_upkeep(app: Flask) -> dict[str, int]:
    """Do the periodic clean-ups now (in the app's context); counts of what each removed. A task that fails is
    logged and the others still run. On PostgreSQL a worker that finds another one doing the upkeep skips it."""
    counts: dict[str, int] = {}
    with db.engine.connect() as lock:
        postgres = lock.dialect.name == "postgresql"
        if postgres and not lock.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": UPKEEP_LOCK}).scalar():
            return counts
        try:
            for name, task in _upkeep_tasks(app):
                try:
                    done = task(db.session, utcnow())
                    db.session.commit()
                except Exception:
                    discard(db.session)
                    logger.exception("Upkeep: %s failed; the next round tries again", name)
                    continue
                if done:
                    counts[name] = done
        finally:
            if postgres:
                lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": UPKEEP_LOCK})
    return counts


def run_view_alerts(app: Flask) -> dict[str, int]:
    """Check the watched views that are due (in the app's context): {"view notifications": n} when any were written."""
    from .issues.view_alerts import check_due

    written = check_due(db.session, app.config["VIEW_ALERT_SECONDS"])
    return {"view notifications": written} if written else {}


def loop(app: Flask, stop: threading.Event | None = None) -> None:
    """Every MAIL_POLL_SECONDS check the watched views that are due and send due email, and do the upkeep every
    UPKEEP_MINUTES, until stopped; a failing round is logged and tried again."""
    stop = stop or threading.Event()
    next_upkeep = 0.0
    while not stop.is_set():
        with app.app_context():
            try:
                alerts = run_view_alerts(app)
                if alerts:
                    logger.info("Watched views: %s", alerts)
                counts = run_once(app)
                if counts:
                    logger.info("Notification email: %s", counts)
                if time.monotonic() >= next_upkeep:
                    next_upkeep = time.monotonic() + app.config["UPKEEP_MINUTES"] * 60
                    done = run_upkeep(app)
                    if done:
                        logger.info("Upkeep: %s", done)
            except Exception:
                logger.exception("The worker's round failed; trying again")
            finally:
                db.session.remove()
        stop.wait(app.config["MAIL_POLL_SECONDS"])


def start_in_process(app: Flask) -> threading.Thread | None:
    """`make run`: the worker loop (email when configured, and the upkeep) in a daemon thread of this process."""
    thread = threading.Thread(target=loop, args=(app,), name="tracker-email-worker", daemon=True)
    thread.start()
    return thread


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now and exit (for cron and tests).")
def worker_command(once: bool) -> None:
    """Check watched views, send notification emails every few seconds and do the hourly upkeep; with --once what is
    due now."""
    app = current_app._get_current_object()
    if not app.config.get("MAIL_URL"):
        click.echo(
            "MAIL_URL is not set: no email to send (the inbox works without it); the upkeep still runs.", err=True
        )
    if once:
        counts = {**run_view_alerts(app), **run_once(app), **run_upkeep(app)}
        click.echo(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "Nothing due.")
        return
    click.echo(
        f"Sending notification email every {app.config['MAIL_POLL_SECONDS']} s and doing the upkeep every "
        f"{app.config['UPKEEP_MINUTES']} minutes; Ctrl+C stops."
    )
    try:
        loop(app)
    except KeyboardInterrupt:
        click.echo("Stopped.")
