"""Who hears about a change: watchers, mentions and notifications, written in the change's own transaction.

Every function here runs inside the caller's transaction and never commits: a change rolled back notifies nobody.
Recipients are chosen in SQL (INSERT ... SELECT), so a bulk change of 10,000 issues is a constant number of
statements; who may receive anything is tracker/access.py's reader rule, never decided here. Never one's own
actions; never a deactivated person (the reader rule).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from .. import access
from ..markdown import markdown_html, mentioned_in
from ..models import (
    DONE_STATUSES,
    STATUS_LABELS,
    SUMMARY_MAX,
    EmailOutbox,
    ImportedRange,
    Issue,
    Notification,
    User,
    Watcher,
    among,
)

# Reasons that make a person "involved" in an issue, for the email setting "issues I'm involved in".
INVOLVED_REASONS = ("assigned", "mentioned", "resolved", "view")  # a watched view: asked for
# Email is queued only while a mail server is configured (create_app sets this from MAIL_URL); without one the
# inbox still works and no outbox rows pile up.
EMAIL = {"enabled": False}


class InsertIgnoring(sa.Insert):
    """INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) that SQLAlchemy compiles once and caches.

    The dialects' own `insert().on_conflict_do_nothing()` is marked uncacheable in SQLAlchemy 2.0, so it was compiled
    anew on every execution: about 0.4 ms of every issue created and every comment (each makes people watch).
    """

    inherit_cache = True


@compiles(InsertIgnoring)
def _compile_insert_ignoring(element: InsertIgnoring, compiler: SQLCompiler, **kw: Any) -> str:
    """The plain INSERT's SQL with the conflict clause after it, before a RETURNING that SQLAlchemy adds by itself
    to a single row's INSERT on PostgreSQL (to learn its primary key); asking for RETURNING is refused."""
    if element._returning:
        raise ValueError("InsertIgnoring does not support RETURNING")
    insert, returning, columns = compiler.visit_insert(element, **kw).partition(" RETURNING ")
    return insert + " ON CONFLICT DO NOTHING" + returning + columns


def insert_ignoring(table: sa.Table) -> sa.Insert:
    """INSERT ... ON CONFLICT DO NOTHING into `table`, as a statement SQLAlchemy caches."""
    return InsertIgnoring(table)


def short(text: str) -> str:
    """A summary cut to fit its column."""
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def watch_issues(session: Session, issue_ids: Sequence[int] | sa.Select, user_ids: Iterable[int | None], now) -> None:
    """Make these people watch these issues (those already watching stay as they are); one statement."""
    people = sorted({u for u in user_ids if u is not None})
    if not people:
        return
    if not isinstance(issue_ids, sa.Select):
        session.execute(_watch_listed(), {"issue_ids": list(issue_ids), "people": people, "now": now})
        return
    chosen = issue_ids.subquery()
    pairs = (
        sa.select(chosen.c[0], User.id, sa.literal(now, sa.DateTime))
        .select_from(chosen)
        .join(User, sa.true())  # every issue with every person
        .where(User.id.in_(people))
    )
    insert = insert_ignoring(Watcher.__table__)
    session.execute(insert.from_select(["issue_id", "user_id", "created_at"], pairs))


@functools.cache
def _watch_listed() -> sa.Insert:
    """watch_issues for issues given by number, built once (building it cost more than running it)."""
    pairs = (
        sa.select(Issue.id, User.id, sa.bindparam("now", type_=sa.DateTime))
        .join(User, sa.true())  # every issue with every person
        .where(Issue.id.in_(sa.bindparam("issue_ids", expanding=True)))
        .where(User.id.in_(sa.bindparam("people", expanding=True)))
    )
    return insert_ignoring(Watcher.__table__).from_select(["issue_id", "user_id", "created_at"], pairs)


def mentioned_users(session: Session, *texts: str | None) -> set[int]:
    """The people the texts (Markdown) mention by @handle, as the page links them (not in code; an unknown handle
    names nobody)."""
    handles = set().union(*(mentioned_in(markdown_html(t)) for t in texts if t and "@" in t))
    if not handles:
        return set()
    return set(session.execute(sa.select(User.id).where(User.handle.in_(sorted(handles)))).scalars())


def _notify(
    session: Session,
    recipients: sa.Select,
    reason: str,
    actor_id: int,
    summary: str,
    now: datetime,
    issue_id: Any,
    comment_id: int | None = None,
    event_id: Any = None,
) -> None:
    """INSERT one notification per row of `recipients` (a select of user ids, and issue ids when `issue_id` is a
    column of it), for readers only and never to the actor."""
    session.execute(
        _notify_statement(
            recipients,
            _value(issue_id),
            sa.literal(reason),
            sa.literal(actor_id, sa.Integer),
            sa.literal(short(summary)),
            sa.literal(comment_id, sa.Integer),
            _value(event_id),
            sa.literal(now, sa.DateTime),
        )
    )


def _notify_statement(recipients: sa.Select, *values: Any) -> sa.Insert:
    """The INSERT of _notify: one notification per recipient with these values (SQL expressions: issue_id, reason,
    actor_id, summary, comment_id, event_id, now), for readers only and never to the actor."""
    issue_id, reason, actor_id, summary, comment_id, event_id, now = values
    person = recipients.selected_columns[0]
    columns = [person, issue_id, reason, actor_id, summary, comment_id, event_id, sa.literal(1, sa.Integer), now]
    select = recipients.with_only_columns(*columns).where(person != actor_id, access.issue_reader_clause(User))
    names = ["user_id", "issue_id", "reason", "actor_id", "summary", "comment_id", "event_id", "count", "created_at"]
    return sa.insert(Notification.__table__).from_select(names, select)


def _value(value: Any) -> Any:
    """A number (or None) as an SQL literal; a column or subquery as it is."""
    return sa.literal(value, sa.Integer) if value is None or isinstance(value, int) else value


def _tell(
    session: Session,
    actor_id: int,
    issue_id: int,
    now: datetime,
    direct: dict[str, set[int]],
    watchers: tuple[str, str] | None,
    comment_id: int | None = None,
    event_id: int | None = None,
) -> None:
    """Notify people named directly (by reason, most specific first: one notification each), then the watchers
    not named (reason and summary from `watchers`), then queue their email."""
    told: set[int] = set()
    about = {"issue_id": issue_id, "actor_id": actor_id, "comment_id": comment_id, "event_id": event_id, "now": now}
    for reason in ("assigned", "mentioned", "resolved", "commented"):
        people = direct.get(reason, set()) - told - {actor_id}
        if people:
            summary = short(DIRECT_SUMMARIES[reason])
            session.execute(_notify_listed(), {**about, "people": sorted(people), "reason": reason, "summary": summary})
            told |= people
    if watchers is not None:
        reason, summary = watchers
        told_list = sorted(told)
        session.execute(_notify_watchers(), {**about, "told": told_list, "reason": reason, "summary": short(summary)})
    queue_email(session, actor_id, sa.select(sa.literal(issue_id)), now)


@functools.cache
def _notify_listed() -> sa.Insert:
    """_tell's notification of people named by number, built once: building _notify's statement for every change
    cost more Python than running it."""
    return _notify_one_issue(sa.select(User.id).where(User.id.in_(sa.bindparam("people", expanding=True))))


@functools.cache
def _notify_watchers() -> sa.Insert:
    """_tell's notification of an issue's watchers less those told already, built once."""
    recipients = (
        sa.select(Watcher.user_id)
        .join(User, User.id == Watcher.user_id)
        .where(Watcher.issue_id == sa.bindparam("issue_id"))
        .where(Watcher.user_id.not_in(sa.bindparam("told", expanding=True)))
    )
    return _notify_one_issue(recipients)


def _notify_one_issue(recipients: sa.Select) -> sa.Insert:
    """_notify for one issue with every value a parameter (issue_id, reason, actor_id, summary, comment_id, event_id,
    now), so the statement is built once."""
    return _notify_statement(
        recipients,
        sa.bindparam("issue_id", type_=sa.Integer),
        sa.bindparam("reason", type_=sa.String),
        sa.bindparam("actor_id", type_=sa.Integer),
        sa.bindparam("summary", type_=sa.String),
        sa.bindparam("comment_id", type_=sa.Integer),
        sa.bindparam("event_id", type_=sa.Integer),
        sa.bindparam("now", type_=sa.DateTime),
    )


# The summary of a notification to someone named directly (the inbox puts the actor's name before it).
DIRECT_SUMMARIES = {
    "assigned": "assigned to you",
    "mentioned": "mentioned you",
    "resolved": "resolved the issue you reported",
    "commented": "commented",
}


def issue_created(
    session: Session,
    actor_id: int,
    issue_id: int,
    assignee_id: int | None,
    description: str,
    now: datetime,
    event_id: int | None = None,
) -> None:
    """A new issue: the reporter, the assignee and the people its description mentions watch it; the assignee and
    the mentioned are told."""
    mentioned = mentioned_users(session, description)
    watch_issues(session, [issue_id], {actor_id, assignee_id, *mentioned}, now)
    direct = {"assigned": {assignee_id} - {None}, "mentioned": mentioned}
    _tell(session, actor_id, issue_id, now, direct, None, event_id=event_id)


def issue_updated(
    session: Session, actor_id: int, issue_id: int, reporter_id: int, changes: dict, now: datetime, event_id: int
) -> None:
    """A saved edit: a new assignee and the newly mentioned watch and are told; a status change tells the watchers,
    and a resolution the reporter too. Other field changes notify nobody."""
    assignee = changes["assignee_id"][1] if "assignee_id" in changes else None
    mentioned: set[int] = set()
    if "description" in changes:
        old, new = changes["description"]
        mentioned = mentioned_users(session, new) - mentioned_users(session, old)
    if assignee is None and not mentioned and "status" not in changes:
        return
    watch_issues(session, [issue_id], {assignee, *mentioned}, now)
    direct: dict[str, set[int]] = {"assigned": {assignee} - {None}, "mentioned": mentioned}
    watchers = None
    if "status" in changes:
        status = changes["status"][1]
        summary = f"status → {STATUS_LABELS.get(status, status)}"
        if status in DONE_STATUSES:
            direct["resolved"] = {reporter_id}
        watchers = ("status", summary)
    _tell(session, actor_id, issue_id, now, direct, watchers, event_id=event_id)


def comment_added(session: Session, actor_id: int, issue_id: int, comment_id: int, body: str, now: datetime) -> None:
    """A comment: its author and the people it mentions watch the issue; the mentioned are told they were, the
    other watchers that someone commented."""
    mentioned = mentioned_users(session, body)
    watch_issues(session, [issue_id], {actor_id, *mentioned}, now)
    _tell(session, actor_id, issue_id, now, {"mentioned": mentioned}, ("commented", "commented"), comment_id=comment_id)


def comment_edited(
    session: Session, actor_id: int, issue_id: int, comment_id: int, old: str, new: str, now: datetime
) -> None:
    """An edited comment: the people it newly mentions watch the issue and are told they were mentioned; nobody
    else hears of an edit."""
    mentioned = mentioned_users(session, new) - mentioned_users(session, old)
    if not mentioned:
        return
    watch_issues(session, [issue_id], mentioned, now)
    _tell(session, actor_id, issue_id, now, {"mentioned": mentioned}, None, comment_id=comment_id)


def bulk_changed(
    session: Session,
    actor_id: int,
    assigned_ids: Sequence[int],
    assignee_id: int | None,
    status_ids: Sequence[int],
    status: str | None,
    summary: str,
    note: str,
    now: datetime,
) -> None:
    """A bulk change, told as an edit of each issue would tell it, once per person and issue with the most specific
    reason, the bulk note included:
    - `assigned_ids`, the issues whose assignee became `assignee_id`: the assignee watches them and hears "assigned"
      (an issue that was already theirs is not news);
    - `status_ids`, the issues whose status became `status`: their watchers hear "status", except that a resolution
      (or closing) tells each issue's reporter "resolved", watching or not.
    A change of other fields alone notifies nobody. A constant number of statements. The rows name no event (looking
    each up cost a third of the time): opening one finds it (service.open_notification)."""
    if assignee_id is None:
        assigned_ids = []
    if status is None:
        status_ids = []
    if not assigned_ids and not status_ids:
        return
    text = summary + (f" Note: {note}" if note else "")
    dialect = session.get_bind().dialect.name
    if assigned_ids:
        watch_issues(session, sa.select(Issue.id).where(among(Issue.id, assigned_ids, dialect)), [assignee_id], now)
    if status_ids:
        watchers = (
            sa.select(Watcher.user_id)
            .join(User, User.id == Watcher.user_id)
            .where(among(Watcher.issue_id, status_ids, dialect))
        )
        reporters = sa.select(Issue.reporter_id).join(User, User.id == Issue.reporter_id)
        reporters = reporters.where(among(Issue.id, status_ids, dialect))
        if assigned_ids:  # the new assignee of these hears "assigned" instead
            watchers = watchers.where(
                ~sa.and_(Watcher.user_id == assignee_id, among(Watcher.issue_id, assigned_ids, dialect))
            )
            reporters = reporters.where(
                ~sa.and_(Issue.reporter_id == assignee_id, among(Issue.id, assigned_ids, dialect))
            )
        if status in DONE_STATUSES:
            watchers = watchers.join(Issue, Issue.id == Watcher.issue_id).where(Watcher.user_id != Issue.reporter_id)
            _notify(session, reporters, "resolved", actor_id, text, now, Issue.id)
        _notify(session, watchers, "status", actor_id, text, now, Watcher.issue_id)
    if assigned_ids:
        assigned = sa.select(Watcher.user_id).join(User, User.id == Watcher.user_id).where(
            among(Watcher.issue_id, assigned_ids, dialect), Watcher.user_id == assignee_id
        )
        _notify(session, assigned, "assigned", actor_id, text, now, Watcher.issue_id)
    told = sorted({*assigned_ids, *status_ids})
    queue_email(session, actor_id, sa.select(Issue.id).where(among(Issue.id, told, dialect)), now)


def import_created(session: Session, actor_id: int, run_id: int, file_name: str, now: datetime) -> None:
    """An import: reporters and assignees watch the issues it created, and each assignee gets one notification
    for all of theirs ("300 issues assigned to you by the import of issues.csv"). Set-based: two statements."""
    in_run = sa.and_(ImportedRange.run_id == run_id, Issue.id.between(ImportedRange.first_id, ImportedRange.last_id))
    created = sa.select(Issue.id, Issue.reporter_id, Issue.assignee_id).join(ImportedRange, in_run)
    when = sa.literal(now, sa.DateTime)
    pairs = sa.union_all(
        sa.select(Issue.id, Issue.reporter_id, when).join(ImportedRange, in_run),
        sa.select(Issue.id, Issue.assignee_id, when)
        .join(ImportedRange, in_run)
        .where(Issue.assignee_id.isnot(None), Issue.assignee_id != Issue.reporter_id),
    )
    # A plain INSERT, not insert_ignoring: the issues are this transaction's own, so nobody else can have written
    # their watchers, and the two halves give distinct pairs. ON CONFLICT cost 0.7 s more for 187,000 rows at 1M.
    session.execute(sa.insert(Watcher).from_select(["issue_id", "user_id", "created_at"], pairs))
    sub = created.subquery()
    counts = (
        sa.select(
            sub.c.assignee_id,
            sa.literal(run_id, sa.Integer),
            sa.literal("assigned"),
            sa.literal(actor_id, sa.Integer),
            sa.literal(short(f"assigned to you by the import of {file_name}")),
            sa.func.count(),
            sa.literal(now, sa.DateTime),
        )
        .join(User, User.id == sub.c.assignee_id)
        .where(sub.c.assignee_id != actor_id, access.issue_reader_clause(User))
        .group_by(sub.c.assignee_id)
    )
    session.execute(
        sa.insert(Notification).from_select(
            ["user_id", "import_run_id", "reason", "actor_id", "summary", "count", "created_at"], counts
        )
    )


def queue_email(session: Session, actor_id: int, issues: sa.Select, now: datetime) -> None:
    """Queue email for the notifications this change just wrote (theirs: these issues, this actor, this moment),
    for the people whose settings ask for it. A pending email for the same person and issue absorbs the change
    (one email per aggregation window or digest)."""
    if not EMAIL["enabled"]:
        return
    queue_email_where(
        session,
        now,
        Notification.issue_id.in_(issues),
        Notification.actor_id == actor_id,
        Notification.created_at == now,
    )


def queue_email_where(session: Session, now: datetime, *conditions: sa.ColumnElement[bool]) -> None:
    """Queue email for the notifications these conditions pick (see queue_email)."""
    if not EMAIL["enabled"]:
        return
    involved = sa.or_(
        Notification.reason.in_(INVOLVED_REASONS), Issue.reporter_id == User.id, Issue.assignee_id == User.id
    )
    wanted = sa.or_(User.email_scope == "watching", sa.and_(User.email_scope == "involved", involved))
    rows = (
        sa.select(
            Notification.user_id,
            Notification.issue_id,
            User.email_delivery,
            sa.func.min(Notification.id),
            sa.literal("pending"),
            sa.literal(0, sa.Integer),
            sa.literal(now, sa.DateTime),
            sa.case(
                (User.email_delivery == "hourly", sa.literal(next_digest(now, "hourly"), sa.DateTime)),
                (User.email_delivery == "daily", sa.literal(next_digest(now, "daily"), sa.DateTime)),
                else_=sa.literal(now, sa.DateTime),
            ),
        )
        .join(User, User.id == Notification.user_id)
        .join(Issue, Issue.id == Notification.issue_id)
        .where(*conditions, wanted)
        .group_by(Notification.user_id, Notification.issue_id, User.email_delivery)
    )
    session.execute(
        insert_ignoring(EmailOutbox.__table__).from_select(
            ["user_id", "issue_id", "kind", "since_id", "status", "attempts", "created_at", "due_at"], rows
        )
    )


def next_digest(now: datetime, kind: str) -> datetime:
    """When an hourly or daily digest started now is sent: the next full hour, or the next midnight (UTC)."""
    if kind == "hourly":
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
