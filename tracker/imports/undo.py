"""Undoing an import: its issues move to the trash in one transaction, all or none, and come back the same way.

An import creates no timeline event per issue (its id ranges say which issues it made), so any event on one of its
issues (an edit, a bulk change, a comment, a file, a deleted label) is a change made since by someone. The undo then
lists those issues and changes nothing, unless asked to undo only the untouched ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from .. import access
from ..errors import DomainError
from ..models import ImportedRange, ImportRun, Issue, IssueEvent, User, utcnow
from ..trash.service import bring_back, move_to_trash
from .staging import get_run

# Entries of the trash itself (an earlier undo and redo) are not changes made to the issues.
NOT_CHANGES = ("deleted", "restored")
CHANGES_SHOWN = 200  # changed issues listed on the undo's report
KIND_WORDS = {
    "updated": "edited",
    "bulk": "changed in bulk",
    "comment": "commented",
    "attached": "attached files",
    "attachment_deleted": "deleted files",
    "label_deleted": "a label was deleted",
}


@dataclass
class ChangedIssue:
    """An issue of the import changed since: its number, title, what changed and by whom."""

    issue_id: int
    title: str
    changes: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)

    @property
    def what(self) -> str:
        """What changed, as words."""
        return ", ".join(sorted(self.changes))

    @property
    def who(self) -> str:
        """Who changed it."""
        return ", ".join(sorted(self.people))


class ImportChanged(DomainError):
    """Some of the import's issues changed since it ran; nothing was undone (details: the changed issues)."""

    status = 409
    code = "import_changed"

    def __init__(self, changed: list[ChangedIssue], total: int):
        noun = "issue" if total == 1 else "issues"
        super().__init__(
            f"{total:,} {noun} of this import changed since it ran; nothing was undone. Undo the untouched ones only, "
            "or leave the import as it is.",
            [{"issue_id": c.issue_id, "what": c.what, "who": c.who} for c in changed],
        )
        self.changed = changed
        self.total = total


class NothingToUndo(DomainError):
    """The import created no issue, or its issues are in the trash already (or not, for a redo)."""

    status = 409
    code = "nothing_to_undo"


def is_undone(run: ImportRun) -> bool:
    """Whether the import's issues are in the trash because of an undo (and not brought back since)."""
    return run.undone_at is not None and (run.redone_at is None or run.redone_at < run.undone_at)


def run_ranges(session: Session, run_id: int) -> list[tuple[int, int]]:
    """The ranges of ids the import created (few: usually one)."""
    return [
        (first, last)
        for first, last in session.execute(
            sa.select(ImportedRange.first_id, ImportedRange.last_id).where(ImportedRange.run_id == run_id)
        )
    ]


def in_ranges(column: sa.ColumnElement[int], ranges: list[tuple[int, int]]) -> sa.ColumnElement[bool]:
    """The id lies in one of the ranges: each an index range scan."""
    return sa.or_(sa.false(), *(column.between(first, last) for first, last in ranges))


def _touched(ranges: list[tuple[int, int]]) -> sa.Select:
    """Ids of the import's live issues that have a change of someone's in their timeline (its own alias of issues,
    so that inside an UPDATE of issues it is not correlated to the row being updated)."""
    issue = aliased(Issue)
    return (
        sa.select(IssueEvent.issue_id)
        .join(issue, issue.id == IssueEvent.issue_id)
        .where(in_ranges(IssueEvent.issue_id, ranges), issue.deleted_at.is_(None), IssueEvent.kind.not_in(NOT_CHANGES))
        .distinct()
    )


def changed_issues(session: Session, run_id: int) -> tuple[list[ChangedIssue], int]:
    """The import's issues changed since it ran (the first CHANGES_SHOWN, by number) and how many there are."""
    touched = _touched(run_ranges(session, run_id)).subquery()
    total = session.execute(sa.select(sa.func.count()).select_from(touched)).scalar_one()
    if not total:
        return [], 0
    shown = sa.select(touched.c.issue_id).order_by(touched.c.issue_id).limit(CHANGES_SHOWN).scalar_subquery()
    actor = aliased(User)
    rows = session.execute(
        sa.select(IssueEvent.issue_id, Issue.title, IssueEvent.kind, IssueEvent.changes, actor.name)
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .outerjoin(actor, actor.id == IssueEvent.actor_id)
        .where(IssueEvent.issue_id.in_(shown), IssueEvent.kind.not_in(NOT_CHANGES))
        .order_by(IssueEvent.issue_id, IssueEvent.id)
    ).all()
    changed: dict[int, ChangedIssue] = {}
    for issue_id, title, kind, changes, name in rows:
        entry = changed.setdefault(issue_id, ChangedIssue(issue_id, title))
        if kind == "updated" or kind == "bulk":
            fields = [f for f in (changes or {}) if f != "label_names"]
            entry.changes.update(f.replace("_id", "") for f in fields)
        else:
            entry.changes.add(KIND_WORDS.get(kind, kind))
        entry.people.add(name or "someone")
    return list(changed.values()), total


def undo_import(session: Session, actor: User, run_id: int, untouched_only: bool = False) -> int:
    """Move the issues the import created to the trash, in one transaction. If any changed since (ImportChanged,
    nothing written) only `untouched_only` goes on, leaving those changed. Returns how many were moved."""
    run = get_run(session, run_id)
    access.require_undo_import(actor, run)
    if run.state != "imported" or not run.created_count:
        raise NothingToUndo("This import created no issues; there is nothing to undo.")
    if is_undone(run):
        raise NothingToUndo("This import is undone already: its issues are in the trash.")
    ranges = run_ranges(session, run_id)
    which = in_ranges(Issue.id, ranges)
    if untouched_only:
        which = sa.and_(which, Issue.id.not_in(_touched(ranges)))
    else:
        changed, total = changed_issues(session, run_id)
        if total:
            raise ImportChanged(changed, total)
    now = utcnow()
    moved = move_to_trash(session, actor, which, now)
    # The move locked the issues it took, waiting for any edit of them still being saved: changes that came in
    # since the check above are seen now. The untouched-only undo puts those issues back; the whole undo stops.
    changed_since = _moved_and_changed(ranges, actor.id, now)
    if session.execute(sa.select(changed_since.exists())).scalar():
        if untouched_only:
            moved -= _put_back(session, changed_since, now)
        else:
            session.rollback()
            changed, total = changed_issues(session, run_id)
            raise ImportChanged(changed, total)
    run.undone_at, run.undone_by_id = now, actor.id
    session.commit()
    return moved


def _moved_and_changed(ranges: list[tuple[int, int]], actor_id: int, now: datetime) -> sa.Select:
    """Ids of the issues this undo just moved to the trash (at `now`, by the actor) that have a change of someone's
    (aliases of their own: inside a DELETE of entries or an UPDATE of issues, nothing is correlated)."""
    issue, event = aliased(Issue), aliased(IssueEvent)
    return (
        sa.select(event.issue_id)
        .join(issue, issue.id == event.issue_id)
        .where(
            in_ranges(event.issue_id, ranges),
            issue.deleted_at == now,
            issue.deleted_by_id == actor_id,
            event.kind.not_in(NOT_CHANGES),
        )
        .distinct()
    )


def _put_back(session: Session, ids: sa.Select, now: datetime) -> int:
    """Take these issues out of the trash again, with their 'deleted' entries of this undo; how many."""
    session.execute(
        sa.delete(IssueEvent)
        .where(IssueEvent.issue_id.in_(ids), IssueEvent.kind == "deleted", IssueEvent.created_at == now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(
        sa.update(Issue)
        .where(Issue.id.in_(ids), Issue.deleted_at == now)
        .values(deleted_at=None, deleted_by_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def redo_import(session: Session, actor: User, run_id: int) -> int:
    """Bring back from the trash every issue the undo moved there (all of them, in one transaction)."""
    run = get_run(session, run_id)
    access.require_undo_import(actor, run)
    if not is_undone(run):
        raise NothingToUndo("This import is not undone: its issues are not in the trash.")
    now = utcnow()
    undone = sa.and_(
        in_ranges(Issue.id, run_ranges(session, run_id)),
        Issue.deleted_at == run.undone_at,
        Issue.deleted_by_id == run.undone_by_id,
    )
    restored = bring_back(session, actor, undone, now)
    run.redone_at, run.redone_by_id = now, actor.id
    session.commit()
    return restored
