"""The inbox and watching: reading one's notifications, marking them read or done, watching an issue."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from .. import access
from ..errors import InvalidInput, NotFound
from ..models import (
    EMAIL_DELIVERIES,
    EMAIL_SCOPES,
    HANDLE_MAX,
    HANDLE_PATTERN,
    LIVE_ISSUE,
    NOTIFICATION_REASONS,
    RESERVED_HANDLES,
    Issue,
    IssueEvent,
    Notification,
    User,
    Watcher,
    among,
    utcnow,
)
from ..numbers import whole_number
from .fanout import watch_issues

INBOX_PAGE = 50
# The header shows "99+" beyond this: the count stops reading the index there, so it stays one short read.
UNREAD_CAP = 99
UNREAD_WINDOW = 1_000  # unread notifications the count reads at most, skipping those of issues in the trash
STATES = ("unread", "read", "done", "all")


def unread_count(session: Session, user_id: int) -> int:
    """How many unread notifications the person has, up to UNREAD_CAP + 1 (one query on the partial index), those
    of issues in the trash left out as the inbox leaves them out (else the header would count what no inbox page
    shows, and only "Mark all read" could clear it)."""
    return session.execute(_unread_count(), {"user_id": user_id}).scalar_one()


@functools.cache
def _unread_count() -> sa.Select:
    """unread_count's statement, built once (every page's header runs it).

    The person's unread (at most UNREAD_WINDOW, read from the partial index of unread notifications alone), then
    each one's issue looked up by its primary key, which covers deleted_at, until UNREAD_CAP + 1 of live issues are
    counted. The lookup is a scalar subquery so that it stays one probe per counted row: as `NOT EXISTS`, PostgreSQL
    merged the person's notifications with the whole primary key (187 ms with 100,000 issues in the trash). Only a
    person with more than UNREAD_WINDOW - UNREAD_CAP unread notifications of issues in the trash sees a count below
    "99+" that should be "99+"."""
    unread = (
        sa.select(Notification.issue_id)
        .where(Notification.user_id == sa.bindparam("user_id"), Notification.read_at.is_(None))
        # The order of the partial index (user_id, issue_id), so that it is read alone: without it PostgreSQL read
        # the table itself when a third of it was the person's unread rows (6-16 ms against 0.3-0.5).
        .order_by(Notification.user_id, Notification.issue_id)
        .limit(UNREAD_WINDOW)
        .subquery("unread")
    )
    trashed_at = sa.select(Issue.deleted_at).where(Issue.id == unread.c.issue_id).scalar_subquery()
    capped = sa.select(unread.c.issue_id).where(trashed_at.is_(None)).limit(UNREAD_CAP + 1).subquery()
    return sa.select(sa.func.count()).select_from(capped)


def mentioned_issues(session: Session, user_id: int, limit: int = 10) -> list[Issue]:
    """The live issues the person was last mentioned in, most recent mention first (one statement, through the
    notifications' (user_id, id) index)."""
    latest = (
        sa.select(Notification.issue_id, sa.func.max(Notification.id).label("last"))
        .where(Notification.user_id == user_id, Notification.mentions())
        .group_by(Notification.issue_id)
        .subquery()
    )
    return list(
        session.execute(
            sa.select(Issue)
            .join(latest, latest.c.issue_id == Issue.id)
            .where(LIVE_ISSUE)
            .order_by(latest.c.last.desc())
            .limit(limit)
        ).scalars()
    )


@dataclass
class InboxGroup:
    """The notifications of one issue (or one import) on an inbox page, newest first."""

    key: tuple
    items: list[Notification] = field(default_factory=list)

    @property
    def first(self) -> Notification:
        """The newest notification of the group."""
        return self.items[0]

    @property
    def unread(self) -> bool:
        """Whether any of the group is unread."""
        return any(n.read_at is None for n in self.items)

    @property
    def headline(self) -> str:
        """What happened, in a line: "3 new comments by Ada and Grace, status → Resolved"."""
        parts = []
        comments = [n for n in self.items if n.reason == "commented"]
        if comments:
            names = sorted({n.actor.name for n in comments if n.actor is not None})
            people = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            count = len(comments)
            parts.append(f"{count} new comment{'' if count == 1 else 's'}" + (f" by {people}" if people else ""))
        seen: set[str] = set()
        for n in self.items:
            if n.reason == "commented" or n.summary in seen:
                continue
            seen.add(n.summary)
            who = n.actor.name if n.actor is not None else "Someone"
            parts.append(n.summary if n.reason in ("status", "view") else f"{who} {n.summary}")
        return ", ".join(parts)


@dataclass
class Inbox:
    """One page of the inbox: its groups, the filter, and where the next page starts."""

    groups: list[InboxGroup]
    state: str
    reason: str
    next_before: int | None
    unread: int


def parse_state(raw: str | None) -> str:
    """The inbox's state filter; anything else is InvalidInput."""
    state = (raw or "unread").strip()
    if state not in STATES:
        raise InvalidInput({"state": f"Show '{state[:20]}'? Choose one of {', '.join(STATES)}."})
    return state


def parse_reason(raw: str | None) -> str:
    """The inbox's reason filter ('' for every reason)."""
    reason = (raw or "").strip()
    if reason and reason not in NOTIFICATION_REASONS:
        raise InvalidInput({"reason": f"'{reason[:20]}' is not a reason (one of {', '.join(NOTIFICATION_REASONS)})."})
    return reason


def _filtered(owner: sa.ColumnElement[bool], state: str, reason: str) -> sa.Select:
    """The notifications `owner` (a condition on the person) selects, in this state and of this reason."""
    select = sa.select(Notification).where(owner)
    if state == "unread":
        select = select.where(Notification.read_at.is_(None))
    elif state == "read":
        select = select.where(Notification.read_at.isnot(None), Notification.done_at.is_(None))
    elif state == "done":
        select = select.where(Notification.done_at.isnot(None))
    if reason:
        select = select.where(Notification.reason == reason)
    return select


def notifications_page(
    session: Session, user: User, state: str = "unread", reason: str = "", before: int | None = None,
    limit: int = INBOX_PAGE,
) -> list[Notification]:
    """The person's notifications, newest first, `limit` of them older than `before` (an id), with their issue,
    import and actor (one query); those of issues in the trash are left out, as every list leaves those issues.

    Read newest first from the index on (user_id, id), whoever else has notifications: ordered by the number alone,
    PostgreSQL walked the primary key backwards testing each row's person, expecting the person's rows spread evenly
    over it. For a person whose newest notification is older than a million of other people's (one who is rarely
    notified, while others watch busy issues), that read the million rows: 670 ms for the inbox, against 1.7 ms. On
    PostgreSQL the person is therefore named as a one-element array (equal to a constant, the person would drop
    out of the order, and the primary key would provide it again) and the order is (user_id, id), which only that
    index provides (SQLite reads the same index for it)."""
    owner = among(Notification.user_id, [user.id], session.get_bind().dialect.name)
    select = (
        _filtered(owner, state, reason)
        .outerjoin(Issue, Issue.id == Notification.issue_id)
        .where(sa.or_(Notification.issue_id.is_(None), LIVE_ISSUE))
    )
    if before is not None:
        select = select.where(Notification.id < before)
    return list(
        session.execute(
            select.options(
                joinedload(Notification.actor),
                contains_eager(Notification.issue),
                joinedload(Notification.import_run),
            )
            .order_by(Notification.user_id.desc(), Notification.id.desc())
            .limit(limit + 1)
        ).scalars()
    )


def inbox(session: Session, user: User, state: str = "unread", reason: str = "", before: object = None) -> Inbox:
    """An inbox page: the newest notifications, grouped by issue in the order of each issue's newest."""
    start = whole_number(before) if before not in (None, "") else None
    rows = notifications_page(session, user, parse_state(state), parse_reason(reason), start)
    more = len(rows) > INBOX_PAGE
    rows = rows[:INBOX_PAGE]
    groups: dict[tuple, InboxGroup] = {}
    for n in rows:
        key = ("issue", n.issue_id) if n.issue_id is not None else ("import", n.id)
        groups.setdefault(key, InboxGroup(key)).items.append(n)
    return Inbox(
        groups=list(groups.values()),
        state=state or "unread",
        reason=reason or "",
        next_before=rows[-1].id if more and rows else None,
        unread=unread_count(session, user.id),
    )


def get_notification(session: Session, user: User, notification_id: int) -> Notification:
    """One of the person's own notifications (someone else's is not found)."""
    found = session.execute(
        sa.select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Notification {notification_id} does not exist.")
    return found


def mark(session: Session, user: User, ids: list[int] | None, state: str, issue_id: int | None = None) -> int:
    """Mark the person's notifications read, unread or done: these ids, those of one issue, or (ids None) all of
    them. One UPDATE; returns how many changed."""
    if state not in ("read", "unread", "done"):
        raise InvalidInput({"state": f"Mark as '{state[:20]}'? Choose read, unread or done."})
    now = utcnow()
    values: dict = {
        "read": {"read_at": sa.func.coalesce(Notification.read_at, now), "done_at": None},
        "unread": {"read_at": None, "done_at": None},
        "done": {"read_at": sa.func.coalesce(Notification.read_at, now), "done_at": sa.func.coalesce(
            Notification.done_at, now)},
    }[state]
    update = sa.update(Notification).where(Notification.user_id == user.id)
    if ids is not None:
        update = update.where(Notification.id.in_(ids))
    if issue_id is not None:
        update = update.where(Notification.issue_id == issue_id)
    if state == "read" and ids is None and issue_id is None:
        update = update.where(Notification.read_at.is_(None))
    changed = session.execute(update.values(**values).execution_options(synchronize_session=False)).rowcount
    session.commit()
    return changed


def open_notification(
    session: Session, user: User, notification_id: int, mark_read: bool = True
) -> tuple[Notification, str | None]:
    """Mark a notification read (with the others of its issue) unless `mark_read` is False; return it and the anchor
    of the issue page it points at: its comment, or its change (a bulk change's is found by its actor and moment)."""
    found = get_notification(session, user, notification_id)
    if mark_read:
        mark(session, user, [found.id], "read")
        if found.issue_id is not None:
            mark(session, user, None, "read", issue_id=found.issue_id)
        found = get_notification(session, user, notification_id)
    if found.comment_id:
        return found, f"comment-{found.comment_id}"
    event_id = found.event_id
    if event_id is None and found.issue_id is not None:
        event_id = session.execute(
            sa.select(IssueEvent.id)
            .where(
                IssueEvent.issue_id == found.issue_id,
                IssueEvent.actor_id == found.actor_id,
                IssueEvent.created_at == found.created_at,
            )
            .order_by(IssueEvent.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    return found, (f"event-{event_id}" if event_id else None)


def parse_ids(raw: list[str]) -> list[int]:
    """Notification ids from form values."""
    ids = []
    for value in raw:
        number = whole_number(str(value).strip())
        if number is None:
            raise InvalidInput({"ids": f"'{str(value)[:20]}' is not a notification number."})
        ids.append(number)
    return ids


@dataclass
class Watching:
    """An issue's watcher count and whether the person watches it."""

    issue_id: int
    count: int
    watching: bool


def watching(session: Session, user: User, issue_id: int) -> Watching:
    """How many watch the issue and whether this person does (one query)."""
    count, mine = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((Watcher.user_id == user.id, 1), else_=0)), 0),
        ).where(Watcher.issue_id == issue_id)
    ).one()
    return Watching(issue_id, count, bool(mine))


def set_watching(session: Session, user: User, issue_id: int, watch: object) -> Watching:
    """Start (watch=1) or stop (watch=0) watching an issue one may read; NotFound for no such issue."""
    access.require_read_issues(user)
    flag = str(watch if watch is not None else "").strip().lower()
    if flag not in ("1", "0", "true", "false"):
        raise InvalidInput({"watch": "Say watch=1 to watch the issue or watch=0 to stop."})
    exists = session.execute(sa.select(Issue.id).where(Issue.id == issue_id, LIVE_ISSUE)).first()
    if exists is None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    if flag in ("1", "true"):
        watch_issues(session, [issue_id], [user.id], utcnow())
    else:
        session.execute(sa.delete(Watcher).where(Watcher.issue_id == issue_id, Watcher.user_id == user.id))
    session.commit()
    return watching(session, user, issue_id)


def clean_handle(raw: str | None) -> str:
    """A handle as typed (a leading @ dropped, lowercased), or InvalidInput saying what is wrong."""
    handle = (raw or "").strip().lstrip("@").lower()
    if not handle:
        raise InvalidInput({"handle": "Choose a handle: lowercase letters, digits, '-' or '_'."})
    if len(handle) > HANDLE_MAX:
        raise InvalidInput({"handle": f"A handle can be at most {HANDLE_MAX} characters (this one has {len(handle)})."})
    if not HANDLE_PATTERN.match(handle):
        raise InvalidInput({"handle": "A handle has only lowercase letters, digits, '-' and '_' (no spaces)."})
    if handle in RESERVED_HANDLES:
        raise InvalidInput({"handle": f"@{handle} always means the person reading or searching; choose another."})
    return handle


def check_handle(session: Session, user_id: int, raw: str | None) -> str:
    """The handle as typed, cleaned, if it is valid and nobody else's; else InvalidInput."""
    handle = clean_handle(raw)
    taken = session.execute(sa.select(User.id).where(User.handle == handle, User.id != user_id)).first()
    if taken is not None:
        raise InvalidInput({"handle": f"@{handle} is someone else's handle; choose another."})
    return handle


def change_handle(session: Session, actor: User, user_id: int, raw: str | None) -> User:
    """The person changes their own handle, or an admin someone's; a handle someone else has is refused."""
    if actor.id != user_id:
        access.require_manage_users(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    handle = check_handle(session, user_id, raw)
    if handle == user.handle:
        return user
    user.handle = handle
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise InvalidInput({"handle": f"@{handle} was just taken by someone else; choose another."}) from None
    return user


def person_by_handle(session: Session, handle: str) -> User:
    """The person with this handle, or NotFound."""
    user = session.execute(sa.select(User).where(User.handle == handle.lower()[:HANDLE_MAX])).scalar_one_or_none()
    if user is None:
        raise NotFound(f"Nobody is called @{handle[:HANDLE_MAX]}.")
    return user


def suggest_people(session: Session, prefix: str, limit: int = 8) -> list[User]:
    """Active people whose handle or name starts with `prefix`, for @mention suggestions."""
    text = (prefix or "").strip().lstrip("@").lower()[:HANDLE_MAX]
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    select = sa.select(User).where(User.active.is_(True))
    if text:
        select = select.where(
            sa.or_(
                User.handle.like(f"{escaped}%", escape="\\"),
                sa.func.lower(User.name).like(f"{escaped}%", escape="\\"),
            )
        )
    return list(session.execute(select.order_by(User.handle).limit(limit)).scalars())


def update_email_settings(session: Session, user: User, scope: str | None, delivery: str | None) -> User:
    """Save which notifications also come by email (involved, watching, none) and when (immediate, hourly, daily)."""
    errors = {}
    if scope not in EMAIL_SCOPES:
        errors["email_scope"] = "Choose which issues to hear about by email."
    if delivery not in EMAIL_DELIVERIES:
        errors["email_delivery"] = "Choose right away, hourly or daily."
    if errors:
        raise InvalidInput(errors)
    user.email_scope, user.email_delivery = scope, delivery
    session.commit()
    return user
