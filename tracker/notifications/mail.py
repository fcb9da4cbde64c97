"""Email about notifications: claiming due outbox rows, building the messages, sending them over SMTP.

Delivery is at least once: a row is claimed, sent and marked sent in one transaction of its own (on PostgreSQL
claimed with FOR UPDATE SKIP LOCKED, so several workers on several machines share the queue without sending a row
twice while it is being sent); a worker that dies after sending and before its commit leaves the row pending, and
the next run sends it again with the same Message-ID, by which mail systems and clients deduplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from html import escape
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session, joinedload

from ..markdown import markdown_html
from ..models import Comment, EmailOutbox, Issue, Notification, User, Watcher, utcnow
from .fanout import insert_ignoring, next_digest

BATCH = 100
MAX_BACKOFF = 3600
REASON_FOOTERS = {
    "assigned": "you are assigned to this issue",
    "mentioned": "you were mentioned",
    "resolved": "you reported this issue",
    "commented": "you watch this issue",
    "status": "you watch this issue",
    "watching": "you watch this issue",
    "view": "you watch a view it came into (the views page stops that)",
}


@dataclass
class MailServer:
    """Where mail goes, from MAIL_URL: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool


def parse_mail_url(url: str) -> MailServer:
    """MAIL_URL as a MailServer; ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"MAIL_URL must look like smtp://user:password@host:587 or smtps://host:465, not {url!r}.")
    port = parts.port or (465 if parts.scheme == "smtps" else 587)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return MailServer(parts.hostname, port, user, password, parts.scheme == "smtps")


@dataclass
class MailSettings:
    """What building and sending need: the server, the sender, absolute links, the aggregation window."""

    server: MailServer
    sender: str
    base_url: str
    secret: str
    window_seconds: int = 120
    retry_seconds: int = 60


class Permanent(Exception):
    """The server refused for good (5xx): the row is marked failed with this reason."""


def _code_error(code: int, text: str) -> Exception:
    """A 5xx answer is permanent; anything else (4xx) is tried again later."""
    return Permanent(f"{code} {text}") if code >= 500 else OSError(f"{code} {text}")


def smtp_send(server: MailServer, message: EmailMessage, timeout: float = 30) -> None:
    """Send one message; Permanent for a 5xx answer, OSError (or smtplib's) for what is worth trying again."""
    try:
        if server.implicit_tls:
            context = ssl.create_default_context()
            connection = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with connection:
            connection.ehlo()
            if not server.implicit_tls and connection.has_extn("starttls"):
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
            connection.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _code_error(code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise _code_error(exc.smtp_code, text) from exc


def unsubscribe_token(secret: str, user_id: int, issue_id: int | None) -> str:
    """A signed token naming the person and the issue (None: every email) a one-click unsubscribe stops."""
    return URLSafeSerializer(secret, salt="unsubscribe").dumps([user_id, issue_id])


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, int | None] | None:
    """(user id, issue id or None) from a token, or None when it was not signed here."""
    try:
        user_id, issue_id = URLSafeSerializer(secret, salt="unsubscribe").loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return int(user_id), (int(issue_id) if issue_id is not None else None)


def claim(session: Session, now: datetime, window_seconds: int, skip: set[int]) -> EmailOutbox | None:
    """The next due pending row, locked for this transaction (PostgreSQL: rows other workers hold are skipped).
    An immediate email waits out the aggregation window after its first change; a digest waits for its hour."""
    settled = now - timedelta(seconds=window_seconds)
    select = (
        sa.select(EmailOutbox)
        .where(
            EmailOutbox.status == "pending",
            EmailOutbox.due_at <= now,
            sa.or_(EmailOutbox.kind != "immediate", EmailOutbox.created_at <= settled),
        )
        .order_by(EmailOutbox.due_at, EmailOutbox.id)
        .limit(1)
    )
    if skip:
        select = select.where(EmailOutbox.id.not_in(sorted(skip)))
    if session.get_bind().dialect.name == "postgresql":
        select = select.with_for_update(skip_locked=True)
    return session.execute(select).scalar_one_or_none()


def _notifications(session: Session, rows: list[EmailOutbox]) -> list[Notification]:
    """The notifications the rows tell of (theirs: same person and issue, from since_id on), oldest first."""
    conditions = [
        sa.and_(Notification.issue_id == row.issue_id, Notification.id >= row.since_id) for row in rows
    ]
    return list(
        session.execute(
            sa.select(Notification)
            .where(Notification.user_id == rows[0].user_id, sa.or_(*conditions))
            .options(joinedload(Notification.actor), joinedload(Notification.issue))
            .order_by(Notification.id)
        ).scalars()
    )


def _absolute(html: str, base: str) -> str:
    """Links of rendered Markdown made absolute, as a mail client needs them."""
    return html.replace('href="/', f'href="{base}/').replace('src="/', f'src="{base}/')


def _line(n: Notification) -> str:
    """One notification as a line of text: "Grace commented", "Ada: status → Resolved"."""
    who = n.actor.name if n.actor is not None else "Someone"
    if n.reason == "view":
        return n.summary[0].upper() + n.summary[1:]
    return f"{who}: {n.summary}" if n.reason == "status" else f"{who} {n.summary}"


def build_message(
    session: Session, rows: list[EmailOutbox], settings: MailSettings
) -> tuple[EmailMessage, int] | None:
    """The email for these rows (one row: an issue's changes of the window; several: a digest) and the newest
    notification it tells of, or None when there is nothing left to tell (the notifications or issue are gone) or
    no one to tell it (the person was deactivated after it was queued: never email a deactivated person)."""
    user = session.get(User, rows[0].user_id)
    if user is None or not user.active:
        return None
    notes = _notifications(session, rows)
    notes = [n for n in notes if n.issue is not None and n.issue.deleted_at is None]
    if not notes:
        return None
    base = settings.base_url.rstrip("/")
    domain = urlsplit(base).hostname or "tracker.invalid"
    comment_ids = [n.comment_id for n in notes if n.comment_id]
    bodies = {
        c.id: c.body
        for c in session.execute(sa.select(Comment).where(Comment.id.in_(comment_ids), Comment.deleted_at.is_(None)))
        .scalars()
    } if comment_ids else {}
    by_issue: dict[int, list[Notification]] = {}
    for n in notes:
        by_issue.setdefault(n.issue_id, []).append(n)
    digest = len(rows) > 1 or rows[0].kind != "immediate"
    message = EmailMessage()
    issues = [group[0].issue for group in by_issue.values()]
    if digest:
        message["Subject"] = f"[Tracker] {rows[0].kind.capitalize()} digest: {len(issues)} issue" + (
            "" if len(issues) == 1 else "s"
        )
        unsubscribe_issue = None
    else:
        issue = issues[0]
        message["Subject"] = f"[Tracker] #{issue.id} {issue.title}"
        thread = f"<tracker.issue.{issue.id}@{domain}>"
        message["In-Reply-To"] = thread
        message["References"] = thread
        unsubscribe_issue = issue.id
    message["From"] = settings.sender
    message["To"] = formataddr((user.name, user.email))
    message["Message-ID"] = f"<tracker.mail.{rows[0].id}@{domain}>"
    link = f"{base}/unsubscribe/{unsubscribe_token(settings.secret, user.id, unsubscribe_issue)}"
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    reasons = sorted({REASON_FOOTERS.get(n.reason, "you watch this issue") for n in notes})
    stop = "stop watching this issue" if unsubscribe_issue else "stop these emails"
    footer = f"You receive this because {' and '.join(reasons)}. To {stop}: {link}"
    text, html = [], []
    for issue_notes in by_issue.values():
        issue = issue_notes[0].issue
        url = f"{base}/issues/{issue.id}"
        text.append(f"#{issue.id} {issue.title}\n{url}\n")
        html.append(f'<h2><a href="{escape(url)}">#{issue.id} {escape(issue.title)}</a></h2><ul>')
        for n in issue_notes:
            text.append(f"- {_line(n)}")
            body = bodies.get(n.comment_id) if n.comment_id else None
            html.append(f"<li>{escape(_line(n))}")
            if body:
                text.append("  " + body.replace("\n", "\n  "))
                html.append(f"<blockquote>{_absolute(str(markdown_html(body)), base)}</blockquote>")
            html.append("</li>")
        text.append("")
        html.append("</ul>")
    text.append(f"-- \n{footer}")
    html.append(f'<hr><p style="color:#666;font-size:12px">{escape(footer.split(": http")[0])}: '
                f'<a href="{escape(link)}">{stop}</a>.</p>')
    message.set_content("\n".join(text))
    message.add_alternative("<!doctype html><html><body>" + "".join(html) + "</body></html>", subtype="html")
    return message, max(n.id for n in notes)


# The class of the PostgreSQL advisory locks (two-key form, the person's id second) that let one worker at a time
# build a person's digest of each kind.
DIGEST_LOCKS = {"hourly": 7_401_101, "daily": 7_401_102}


def _digest_lock(session: Session, row: EmailOutbox) -> bool:
    """Whether this worker may send the person's digest of the row's kind (PostgreSQL: a transaction-level advisory
    lock another worker may hold; SQLite: the write lock serialises workers already)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = sa.func.pg_try_advisory_xact_lock(DIGEST_LOCKS[row.kind], row.user_id)
    return bool(session.execute(sa.select(key)).scalar())


def _digest_rows(session: Session, first: EmailOutbox, now: datetime) -> list[EmailOutbox]:
    """The person's other due rows of the same digest kind, locked too (one digest lists each issue once). The
    caller holds the person's digest lock, so a row another worker holds is one it claimed and is letting go (it
    found the lock taken): wait for it rather than skip it, or the digest would be split in two."""
    select = sa.select(EmailOutbox).where(
        EmailOutbox.user_id == first.user_id,
        EmailOutbox.kind == first.kind,
        EmailOutbox.status == "pending",
        EmailOutbox.due_at <= now,
        EmailOutbox.id != first.id,
    )
    if session.get_bind().dialect.name == "postgresql":
        select = select.with_for_update()
    return [first, *session.execute(select.order_by(EmailOutbox.id)).scalars()]


def _follow_up(session: Session, row: EmailOutbox, until_id: int, now: datetime) -> None:
    """Notifications that came after the email was built get an email of their own (they found this row pending,
    so queuing them added nothing): at once for an immediate email, in the next digest for a digest's."""
    newer = session.execute(
        sa.select(sa.func.min(Notification.id)).where(
            Notification.user_id == row.user_id, Notification.issue_id == row.issue_id, Notification.id > until_id
        )
    ).scalar_one()
    if newer is not None:  # a pending row made meanwhile already covers them: nothing to add
        due = now if row.kind == "immediate" else next_digest(now, row.kind)
        values = {"user_id": row.user_id, "issue_id": row.issue_id, "kind": row.kind, "since_id": newer,
                  "status": "pending", "attempts": 0, "created_at": now, "due_at": due}
        session.execute(insert_ignoring(EmailOutbox.__table__).values(**values))


Sender = Callable[[MailServer, EmailMessage], None]


def send_one(session: Session, settings: MailSettings, now: datetime, send: Sender, skip: set[int]) -> str | None:
    """Claim, send and settle one due email in a transaction of its own; 'sent', 'retry', 'failed', 'empty' or
    None when nothing is due. `skip` collects rows retried in this run, so one run tries each row once."""
    row = claim(session, now, settings.window_seconds, skip)
    if row is None:
        session.rollback()
        return None
    if row.kind != "immediate" and not _digest_lock(session, row):
        session.rollback()  # another worker sends this person's digest: this row goes in it (its lock is let go)
        skip.add(row.id)
        return "busy"
    rows = _digest_rows(session, row, now) if row.kind != "immediate" else [row]
    built = build_message(session, rows, settings)
    if built is None:
        for r in rows:
            r.status, r.sent_at, r.last_error = "sent", now, "Not sent: deleted meanwhile, or the person deactivated."
        session.commit()
        return "empty"
    message, until_id = built
    outcome = "sent"
    try:
        send(settings.server, message)
    except Permanent as exc:
        for r in rows:
            r.status, r.attempts, r.last_error = "failed", r.attempts + 1, str(exc)[:1000]
        outcome = "failed"
    except (OSError, smtplib.SMTPException) as exc:
        for r in rows:
            r.attempts += 1
            r.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            r.due_at = now + timedelta(seconds=min(settings.retry_seconds * 2 ** (r.attempts - 1), MAX_BACKOFF))
            skip.add(r.id)
        outcome = "retry"
    if outcome == "sent":
        for r in rows:
            r.status, r.sent_at, r.until_id = "sent", now, until_id
            r.recipient, r.subject = str(message["To"])[:254], str(message["Subject"])[:300]
        row.message_id = str(message["Message-ID"])  # a digest's other rows went in the same email
        for r in rows:
            _follow_up(session, r, until_id, now)
    session.commit()
    return outcome


def send_due(session: Session, settings: MailSettings, now: datetime | None = None, send: Sender = smtp_send,
             limit: int = BATCH) -> dict[str, int]:
    """Send what is due (at most `limit` emails), each in its own transaction; counts by outcome."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    skip: set[int] = set()
    for _ in range(limit):
        outcome = send_one(session, settings, now, send, skip)
        if outcome is None:
            break
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def failed_emails(session: Session, limit: int = 200) -> list[tuple[EmailOutbox, User]]:
    """Emails the server refused for good, newest first, with their recipient (the admins' page)."""
    return list(
        session.execute(
            sa.select(EmailOutbox, User)
            .join(User, User.id == EmailOutbox.user_id)
            .where(EmailOutbox.status == "failed")
            .order_by(EmailOutbox.id.desc())
            .limit(limit)
        ).tuples()
    )


def unsubscribe(session: Session, secret: str, token: str) -> tuple[User, Issue | None] | None:
    """One-click unsubscribe: stop watching the token's issue (or, for a digest's token, stop email); None for a
    token not signed here."""
    found = read_unsubscribe_token(secret, token)
    if found is None:
        return None
    user_id, issue_id = found
    user = session.get(User, user_id)
    if user is None:
        return None
    issue = session.get(Issue, issue_id) if issue_id is not None else None
    if issue_id is not None:
        session.execute(sa.delete(Watcher).where(Watcher.issue_id == issue_id, Watcher.user_id == user_id))
    else:
        user.email_scope = "none"
    session.commit()
    return user, issue


SENT_KEPT_DAYS = 30


def purge_sent(session: Session, now: datetime, days: int = SENT_KEPT_DAYS) -> int:
    """Delete emails sent more than `days` ago (failed ones stay for the admins' page); how many went."""
    deleted = session.execute(
        sa.delete(EmailOutbox).where(EmailOutbox.status == "sent", EmailOutbox.sent_at < now - timedelta(days=days))
    ).rowcount
    session.commit()
    return deleted
