"""An issue's timeline: creation, field and label changes, comments; newest entries first in pages."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..labels import service as labels_service
from ..models import Comment, IssueEvent, Label, User
from .service import users_by_id

PAGE = 100


@dataclass
class Timeline:
    """A window of timeline entries (oldest first) and what is needed to show them."""

    entries: list[IssueEvent]
    has_earlier: bool
    users: dict[int, User] = field(default_factory=dict)
    labels: dict[int, Label] = field(default_factory=dict)

    @property
    def earliest_id(self) -> int | None:
        """Id of the oldest entry shown, the cursor for "show earlier"."""
        return self.entries[0].id if self.entries else None

    def label_name(self, event: IssueEvent, label_id: int) -> str:
        """A label's current name, or the name it had when the event was recorded."""
        if label_id in self.labels:
            return self.labels[label_id].name
        return (event.changes or {}).get("label_names", {}).get(str(label_id), f"label {label_id}")


def load_timeline(session: Session, issue_id: int, before: int | None = None, limit: int = PAGE) -> Timeline:
    """The newest `limit` entries older than event id `before` (constant number of queries)."""
    stmt = (
        sa.select(IssueEvent)
        .where(IssueEvent.issue_id == issue_id)
        .options(
            joinedload(IssueEvent.actor),
            joinedload(IssueEvent.comment).joinedload(Comment.author),
            joinedload(IssueEvent.comment).joinedload(Comment.deleted_by),
        )
        .order_by(IssueEvent.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.where(IssueEvent.id < before)
    rows = list(session.execute(stmt).scalars().unique())
    has_earlier = len(rows) > limit
    entries = list(reversed(rows[:limit]))
    user_ids: set[int] = set()
    label_ids: set[int] = set()
    for event in entries:
        changes = event.changes or {}
        if changes.get("assignee_id"):
            user_ids.update(v for v in changes["assignee_id"] if v is not None)
        if changes.get("labels"):
            old, new = changes["labels"]
            label_ids.update(set(old) ^ set(new))
    return Timeline(
        entries=entries,
        has_earlier=has_earlier,
        users=users_by_id(session, user_ids),
        labels=labels_service.by_ids(session, label_ids),
    )
