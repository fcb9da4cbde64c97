"""Comments: add, edit and delete. Only the Markdown is stored; pages and the API render it on view."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from .. import access
from ..attachments import service as attachments_service
from ..errors import InvalidInput, NotFound
from ..extensions import commit_and_read
from ..issues import service as issues_service
from ..models import COMMENT_MAX, LIVE_ISSUE, Comment, Issue, User, as_written, record_event, utcnow
from ..notifications import fanout


def clean_body(raw: str | None) -> str:
    """A comment body: not empty or blank, at most 10,000 characters."""
    body = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise InvalidInput({"body": "Write something before posting the comment."})
    if len(body) > COMMENT_MAX:
        raise InvalidInput(
            {"body": f"A comment can be at most {COMMENT_MAX:,} characters (this one has {len(body):,})."}
        )
    return body


@functools.cache
def _comment_with_people() -> sa.Select:
    """get_comment's statement, built once."""
    return (
        sa.select(Comment)
        .join(Issue, Issue.id == Comment.issue_id)
        .where(Comment.id == sa.bindparam("comment_id"), LIVE_ISSUE)  # a comment of an issue in the trash goes with it
        .options(joinedload(Comment.author), joinedload(Comment.deleted_by))
        .execution_options(populate_existing=True)
    )


def get_comment(session: Session, comment_id: int, include_deleted: bool = False) -> Comment:
    """A comment with its author (and who deleted it), or NotFound; deleted ones only when asked for."""
    comment = session.execute(_comment_with_people(), {"comment_id": comment_id}).scalar_one_or_none()
    if comment is None or (comment.deleted_at is not None and not include_deleted):
        raise NotFound(f"Comment {comment_id} does not exist.")
    return comment


def issue_comments(session: Session, issue_id: int) -> list[Comment]:
    """The issue's comments that are not deleted, oldest first, with their authors; NotFound for no such issue."""
    if session.execute(sa.select(Issue.id).where(Issue.id == issue_id, LIVE_ISSUE)).first() is None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    return list(
        session.execute(
            sa.select(Comment)
            .where(Comment.issue_id == issue_id, Comment.deleted_at.is_(None))
            .options(joinedload(Comment.author))
            .order_by(Comment.id)
        ).scalars()
    )


def add_comment(
    session: Session,
    actor: User,
    issue_id: int,
    raw_body: str | None,
    files: attachments_service.Incoming | None = None,
) -> Comment:
    """Post a comment; it joins the timeline but never changes the issue's version (no edit conflicts). `files` are
    attached to the issue as this comment's (stored only once the text is valid), and links to them written while
    choosing them point at them."""
    access.require_comment(actor)
    body = clean_body(raw_body)
    now = utcnow()
    # Discussion counts as activity for "last updated", without touching the version; the same statement finds
    # the issue and the version the comment is made at.
    version = issues_service.touch(session, issue_id, now)
    if version is None:
        session.rollback()
        raise NotFound(f"Issue #{issue_id} does not exist.")
    try:
        return _post(session, actor, issue_id, body, files, now, version)
    except BaseException:
        session.rollback()  # a refused file leaves the issue's "last updated" as it was
        raise


def _post(
    session: Session,
    actor: User,
    issue_id: int,
    body: str,
    files: attachments_service.Incoming | None,
    now: datetime,
    version: int,
) -> Comment:
    with attachments_service.kept(session, files, issue_id) as checked:
        values = {"issue_id": issue_id, "author_id": actor.id, "body": body, "created_at": now}
        comment_id = session.execute(_insert_comment(), values).scalar_one()
        if checked:
            attached = attachments_service.record(session, actor, issue_id, checked, comment_id=comment_id)
            linked = attachments_service.link_placeholders(body, attached)
            if linked != body:
                table = Comment.__table__
                session.execute(sa.update(table).where(table.c.id == comment_id).values(body=linked))
                body = linked
        record_event(session, issue_id, actor.id, "comment", version, now, comment_id=comment_id)
        fanout.comment_added(session, actor.id, issue_id, comment_id, body, now)
        written = Comment(
            id=comment_id, **{**values, "body": body}, edited_at=None, deleted_at=None, deleted_by_id=None
        )
        comment = commit_and_read(
            session,
            lambda: get_comment(session, comment_id),
            # The person itself, not a proxy of it (a page's current_user): the session holds them, no query.
            known=lambda: as_written(session, written, author=session.get(User, actor.id), deleted_by=None),
        )
    return comment


@functools.cache
def _insert_comment() -> sa.Insert:
    """_post's INSERT ... RETURNING id, built once (every comment runs it)."""
    return sa.insert(Comment.__table__).returning(Comment.__table__.c.id)


def comment_and_move(
    session: Session,
    actor: User,
    issue_id: int,
    raw_body: str | None,
    version: object,
    status: str,
    files: attachments_service.Incoming | None = None,
) -> Comment:
    """"Resolve with comment" and the like: move the issue to `status` (a guarded save from `version`), then post the
    comment. A refused comment, a stale version or a forbidden move changes nothing."""
    access.require_comment(actor)
    clean_body(raw_body)
    issues_service.update_issue(session, actor, issue_id, version, {"status": status})
    return add_comment(session, actor, issue_id, raw_body, files=files)


def edit_comment(session: Session, actor: User, comment_id: int, raw_body: str | None) -> Comment:
    """The author changes their comment; it keeps an "edited" mark. People it mentions now and did not before watch
    the issue and are told, as a new comment's are (those mentioned already are not told twice)."""
    comment = get_comment(session, comment_id)
    access.require_edit_comment(actor, comment)
    body = clean_body(raw_body)
    if body != comment.body:
        old, now = comment.body, utcnow()
        comment.body, comment.edited_at = body, now
        fanout.comment_edited(session, actor.id, comment.issue_id, comment.id, old, body, now)
        session.commit()
    return get_comment(session, comment_id)


def delete_comment(session: Session, actor: User, comment_id: int) -> Comment:
    """The author or an admin deletes a comment; the timeline keeps a "deleted" entry, not the text."""
    comment = get_comment(session, comment_id)
    access.require_delete_comment(actor, comment)
    comment.body = ""
    comment.deleted_at, comment.deleted_by_id = utcnow(), actor.id
    session.commit()
    return get_comment(session, comment_id, include_deleted=True)
