"""An issue's timeline: creation (or import), field and label changes, comments; newest entries first in pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..attachments import service as attachments_service
from ..labels import service as labels_service
from ..models import Attachment, Comment, ImportedRange, ImportRun, IssueEvent, Label, User
from .service import users_by_id

PAGE = 100


@dataclass(frozen=True)
class ImportedEntry:
    """The first entry of an imported issue, read from its import run rather than stored per issue: the file,
    who imported it (the import's person, who is not always the reporter: a file may name one) and when. Shown and
    serialised like an 'imported' event."""

    run_id: int
    file_name: str
    actor: User | None
    created_at: datetime

    id = None  # not an event row: never a "show earlier" cursor (it is always the oldest entry)
    kind = "imported"
    version = 1
    note = None
    comment = None
    comment_id = None

    @property
    def actor_id(self) -> int | None:
        """The importer's id."""
        return self.actor.id if self.actor else None

    @property
    def changes(self) -> dict[str, Any]:
        """What an 'imported' event records."""
        return {"import_run": self.run_id, "file": self.file_name}


@dataclass
class Timeline:
    """A window of timeline entries (oldest first) and what is needed to show them."""

    entries: list[IssueEvent | ImportedEntry]
    has_earlier: bool
    users: dict[int, User] = field(default_factory=dict)
    labels: dict[int, Label] = field(default_factory=dict)
    files: dict[int, Attachment] = field(default_factory=dict)  # attachments named by entries, while they exist
    comment_files: dict[int, list[Attachment]] = field(default_factory=dict)  # files sent with each comment

    @property
    def earliest_id(self) -> int | None:
        """Id of the oldest entry shown, the cursor for "show earlier"."""
        return self.entries[0].id if self.entries else None

    def label_name(self, event: IssueEvent, label_id: int) -> str:
        """A label's current name, or the name it had when the event was recorded."""
        if label_id in self.labels:
            return self.labels[label_id].name
        return (event.changes or {}).get("label_names", {}).get(str(label_id), f"label {label_id}")


def load_timeline(
    session: Session,
    issue_id: int,
    before: int | None = None,
    limit: int = PAGE,
    attachments: list[Attachment] | None = None,
) -> Timeline:
    """The newest `limit` entries older than event id `before` (constant number of queries); the window that
    reaches back to the start of an imported issue begins with its import. `attachments`: the issue's, when the
    caller has them (the issue page lists them anyway); else they are read when an entry needs them."""
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
    entries: list[IssueEvent | ImportedEntry] = list(reversed(rows[:limit]))
    # An issue made in the app starts with its 'created' event (and one imported before the import kept ranges,
    # with its 'imported' event); any other issue that reaches its start may have come from an import.
    if not has_earlier and not (entries and entries[0].kind in ("created", "imported")):
        imported = imported_entry(session, issue_id)
        if imported is not None:
            entries.insert(0, imported)
    user_ids: set[int] = set()
    label_ids: set[int] = set()
    for event in entries:
        changes = event.changes or {}
        if changes.get("assignee_id"):
            user_ids.update(v for v in changes["assignee_id"] if v is not None)
        if changes.get("labels"):
            old, new = changes["labels"]
            label_ids.update(set(old) ^ set(new))
    timeline = Timeline(
        entries=entries,
        has_earlier=has_earlier,
        users=users_by_id(session, user_ids),
        labels=labels_service.by_ids(session, label_ids),
    )
    if attachments is None:
        attachments = attachments_service.issue_attachments(session, issue_id)
    timeline.files = {a.id: a for a in attachments}
    for attachment in attachments:
        if attachment.comment_id is not None:
            timeline.comment_files.setdefault(attachment.comment_id, []).append(attachment)
    return timeline


def imported_entry(session: Session, issue_id: int) -> ImportedEntry | None:
    """The issue's import, if an import created it: the range with the largest first id not above the issue's
    id holds it if it reaches that far (ranges never overlap). One query."""
    holder = (
        sa.select(ImportedRange.run_id, ImportedRange.last_id)
        .where(ImportedRange.first_id <= issue_id)
        .order_by(ImportedRange.first_id.desc())
        .limit(1)
        .subquery()
    )
    row = session.execute(
        sa.select(ImportRun.id, ImportRun.file_name, ImportRun.finished_at, ImportRun.created_at, User)
        .select_from(holder)
        .join(ImportRun, ImportRun.id == holder.c.run_id)
        .outerjoin(User, User.id == ImportRun.user_id)
        .where(holder.c.last_id >= issue_id)
    ).first()
    if row is None:
        return None
    run_id, file_name, finished_at, created_at, actor = row
    return ImportedEntry(run_id=run_id, file_name=file_name, actor=actor, created_at=finished_at or created_at)
