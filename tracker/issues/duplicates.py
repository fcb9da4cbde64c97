"""Close as duplicate: an issue closed with a link to the one it duplicates, shown both ways and noted in both
timelines. Reopening it (any status but closed) clears the link (see service.update_issue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..errors import InvalidInput, IssueDeleted, NotFound, StaleVersion
from ..models import LIVE_ISSUE, Issue, IssueEvent, User, utcnow
from ..notifications import fanout
from ..numbers import whole_number
from .service import check_transition, check_version, get_issue, parse_version, resolved_at_for, touch

FIELD = "duplicate_of"


def parse_target(raw: Any) -> int:
    """The issue number a duplicate points at: `12` or `#12`."""
    text = str(raw if raw is not None else "").strip().removeprefix("#").strip()
    number = whole_number(text) if text else None
    if number is None or number < 1:
        raise InvalidInput({FIELD: "Give the number of the issue this one duplicates, for example 12 or #12."})
    return number


def original_of(session: Session, issue_id: int, target_id: int) -> Issue:
    """The issue `issue_id` would duplicate: a live issue other than itself that is not itself a duplicate."""
    if target_id == issue_id:
        raise InvalidInput({FIELD: "An issue cannot be a duplicate of itself."})
    try:
        target = get_issue(session, target_id)
    except IssueDeleted:
        raise InvalidInput({FIELD: f"Issue #{target_id} is in the trash; choose another one."}) from None
    except NotFound:
        raise InvalidInput({FIELD: f"Issue #{target_id} does not exist."}) from None
    if target.duplicate_of_id is not None:
        raise InvalidInput(
            {
                FIELD: f"#{target_id} is itself a duplicate of #{target.duplicate_of_id}: "
                f"mark this one a duplicate of #{target.duplicate_of_id}."
            }
        )
    return target


def close_as_duplicate(session: Session, actor: User, issue_id: int, version: Any, raw_target: Any) -> Issue:
    """Close the issue as a duplicate of another, a guarded save from `version` (StaleVersion when someone saved
    first). Both timelines say so; the other issue's version does not change (nothing of its own changed)."""
    access.require_edit_issues(actor)
    expected = parse_version(version)
    target_id = parse_target(raw_target)
    issue = get_issue(session, issue_id)
    try:
        original_of(session, issue_id, target_id)
        check_version(issue_id, expected, issue.version)
        check_transition(issue.status, "closed")
    except (InvalidInput, StaleVersion):
        session.rollback()
        raise
    if issue.duplicate_of_id == target_id and issue.status == "closed":
        return issue
    now = utcnow()
    changes: dict[str, Any] = {}
    if issue.status != "closed":
        changes["status"] = [issue.status, "closed"]
    changes[FIELD] = [issue.duplicate_of_id, target_id]
    result = session.execute(
        sa.update(Issue)
        .where(Issue.id == issue_id, Issue.version == expected, LIVE_ISSUE)
        .values(
            status="closed",
            resolved_at=resolved_at_for(issue.status, "closed", issue.resolved_at, now),
            duplicate_of_id=target_id,
            updated_at=now,
            version=Issue.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise StaleVersion(issue_id, expected)
    event = IssueEvent(
        issue_id=issue_id, actor_id=actor.id, kind="updated", changes=changes, version=expected + 1, created_at=now
    )
    session.add(event)
    session.flush()
    fanout.issue_updated(session, actor.id, issue_id, issue.reporter_id, changes, now, event.id)  # watchers hear
    note_on_original(session, actor, target_id, [issue_id], now)
    session.commit()
    return get_issue(session, issue_id)


def note_on_original(session: Session, actor: User, target_id: int, marked: list[int], now: datetime) -> None:
    """The original's timeline says which issues were closed as its duplicates (one entry); its "last updated"
    moves, its version does not (nothing of its own changed). Part of the caller's transaction."""
    target_version = touch(session, target_id, now)
    if target_version is None:  # moved to the trash a moment ago
        session.rollback()
        raise InvalidInput({FIELD: f"Issue #{target_id} is in the trash; choose another one."})
    session.add(
        IssueEvent(
            issue_id=target_id,
            actor_id=actor.id,
            kind="duplicate_marked",
            changes={"duplicates": marked},
            version=target_version,
            created_at=now,
        )
    )


def duplicates_of(session: Session, issue_id: int) -> list[int]:
    """The live issues closed as duplicates of this one, by number (one query, through its partial index)."""
    return list(
        session.execute(
            sa.select(Issue.id).where(Issue.duplicate_of_id == issue_id, LIVE_ISSUE).order_by(Issue.id)
        ).scalars()
    )
