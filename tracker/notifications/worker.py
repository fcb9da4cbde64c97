"""The email worker: `flask --app wsgi worker` sends due notification emails in a loop (`--once`: what is due now,
then exits, for cron and tests); `make run` runs the same loop in a thread of the web process."""

from __future__ import annotations

import logging
import threading

import click
from flask import Flask, current_app

from ..extensions import db
from ..models import utcnow
from ..outage import discard
from .mail import MailSettings, parse_mail_url, purge_sent, send_due

logger = logging.getLogger(__name__)


def mail_settings(app: Flask) -> MailSettings | None:
    """The app's mail settings, or None when MAIL_URL is unset (no email)."""
    config = app.config
    if not config.get("MAIL_URL"):
        return None
    return MailSettings(
        server=parse_mail_url(config["MAIL_URL"]),
        sender=config["MAIL_FROM"],
        base_url=config["TRACKER_BASE_URL"],
        secret=config["SECRET_KEY"],
        window_seconds=config["MAIL_WINDOW_SECONDS"],
        retry_seconds=config["MAIL_RETRY_SECONDS"],
    )


def run_once(app: Flask) -> dict[str, int]:
    """Send what is due now (in the app's context); counts by outcome."""
    settings = mail_settings(app)
    if settings is None:
        return {}
    try:
        counts = send_due(db.session, settings)
        purged = purge_sent(db.session, utcnow())
        if purged:
            counts["purged"] = purged
        return counts
    except Exception:
        discard(db.session)
        raise


def loop(app: Flask, stop: threading.Event | None = None) -> None:
    """Send due email every MAIL_POLL_SECONDS until stopped; a failing round is logged and tried again."""
    stop = stop or threading.Event()
    while not stop.is_set():
        with app.app_context():
            try:
                counts = run_once(app)
                if counts:
                    logger.info("Notification email: %s", counts)
            except Exception:
                logger.exception("The email worker's round failed; trying again")
            finally:
                db.session.remove()
        stop.wait(app.config["MAIL_POLL_SECONDS"])


def start_in_process(app: Flask) -> threading.Thread | None:
    """`make run`: the worker loop in a daemon thread of this process (when mail is configured)."""
    if not app.config.get("MAIL_URL"):
        return None
    thread = threading.Thread(target=loop, args=(app,), name="tracker-email-worker", daemon=True)
    thread.start()
    return thread


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now and exit (for cron and tests).")
def worker_command(once: bool) -> None:
    """Send notification emails: every few seconds, or with --once what is due now."""
    app = current_app._get_current_object()
    if not app.config.get("MAIL_URL"):
        click.echo("MAIL_URL is not set: no email to send (the inbox works without it).", err=True)
        raise SystemExit(1)
    if once:
        counts = run_once(app)
        click.echo(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "Nothing due.")
        return
    click.echo(f"Sending notification email every {app.config['MAIL_POLL_SECONDS']} s; Ctrl+C stops.")
    try:
        loop(app)
    except KeyboardInterrupt:
        click.echo("Stopped.")
