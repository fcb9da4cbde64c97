"""Watched views (issue 20): tell a person when an issue starts matching a saved view they watch.

The worker checks each watch every VIEW_ALERT_SECONDS, each in its own transaction (claimed with FOR UPDATE SKIP
LOCKED, so workers on several machines share the watches and never check one twice at once). A check looks only
at issues changed since the last one (issues.updated_at, with a margin for transactions that committed late):
those that match the view as its watcher runs it (@me is them) and were not among its issues are new to it, and
each becomes one "view" notification; those that no longer match leave it. A constant number of statements per
watch, whatever the number of issues. An issue the watcher brought into the view themselves is no news to them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..labels import service as labels_service
from ..models import LIVE_ISSUE, Issue, IssueEvent, Notification, SavedView, User, ViewWatch, ViewWatchMember, utcnow
from ..notifications import fanout
from ..outage import discard
from .saved import filtered_ids

logger = logging.getLogger(__name__)

# How far before the last check a check looks again: a change whose transaction began before that check but committed
# after it carries an older updated_at. The view's issues make looking twice harmless.
MARGIN = timedelta(minutes=5)


def check_due(session: Session, every_seconds: int, now: datetime | None = None) -> int:
    """Check every watch not checked for `every_seconds` (each in its own transaction); the notifications written.
    A watch whose check fails is logged, left for the next round, and does not hold up the others."""
    now = now or utcnow()
    due = now - timedelta(seconds=every_seconds)
    labels = None
    written, seen = 0, []  # a round checks each watch at most once (checked or failed)
    while True:
        claim = (
            sa.select(ViewWatch)
            .where(ViewWatch.checked_at <= due, ViewWatch.id.not_in(seen))
            .order_by(ViewWatch.checked_at, ViewWatch.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        watch = session.execute(claim).scalar_one_or_none()
        if watch is None:
            session.commit()
            return written
        seen.append(watch.id)
        try:
            labels = labels_service.all_labels(session) if labels is None else labels
            written += check_watch(session, watch, now, labels)
            session.commit()
        except Exception:
            discard(session)
            logger.exception("Checking watched view %s for person %s failed", watch.view_id, watch.user_id)


def check_watch(session: Session, watch: ViewWatch, now: datetime, labels: list | None = None) -> int:
    """Check one watch (in the caller's transaction): notify its watcher of the issues new to the view, record the
    view's issues, and move its check to `now`. Returns the notifications written. A view the person may no longer
    see (unshared, or the person deactivated) tells nothing; the watch waits in case it comes back."""
    view = session.get(SavedView, watch.view_id)
    user = session.get(User, watch.user_id)
    since = watch.checked_at - MARGIN
    watch.checked_at = now
    if view is None or user is None or not access.may_read_view(user, view):
        return 0
    matching = filtered_ids(session, user, view.query, labels).where(Issue.updated_at >= since)
    known = sa.exists().where(ViewWatchMember.watch_id == watch.id, ViewWatchMember.issue_id == Issue.id)
    entering = matching.where(~known)
    last_actor = (
        sa.select(IssueEvent.actor_id)
        .where(IssueEvent.issue_id == Issue.id)
        .order_by(IssueEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    actor = sa.func.coalesce(last_actor, Issue.reporter_id)
    summary = fanout.short(f"new in your view “{view.name}”")
    told = session.execute(
        sa.insert(Notification).from_select(
            ["user_id", "issue_id", "reason", "actor_id", "summary", "count", "created_at"],
            entering.with_only_columns(
                sa.literal(user.id, sa.Integer),
                Issue.id,
                sa.literal("view"),
                actor,
                sa.literal(summary),
                sa.literal(1, sa.Integer),
                sa.literal(now, sa.DateTime),
            ).where(actor != user.id),
        )
    ).rowcount
    session.execute(
        sa.insert(ViewWatchMember).from_select(
            ["watch_id", "issue_id"], entering.with_only_columns(sa.literal(watch.id, sa.Integer), Issue.id)
        )
    )
    changed = sa.select(Issue.id).where(Issue.updated_at >= since, LIVE_ISSUE)
    session.execute(
        sa.delete(ViewWatchMember)
        .where(
            ViewWatchMember.watch_id == watch.id,
            ViewWatchMember.issue_id.in_(changed),
            ViewWatchMember.issue_id.not_in(matching),
        )
        .execution_options(synchronize_session=False)
    )
    if told:
        fanout.queue_email_where(
            session, now, Notification.user_id == user.id, Notification.reason == "view", Notification.created_at == now
        )
    return told
