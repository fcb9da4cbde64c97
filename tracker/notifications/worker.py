"""Sending notification email, one round: the mail settings and what is due now. The loop around it, with the
upkeep, is the background worker (tracker/worker.py)."""

from __future__ import annotations

import logging

from flask import Flask

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
