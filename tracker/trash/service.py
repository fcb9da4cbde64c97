"""Deleting issues to the trash, restoring them, purging them (by hand or after the retention period).

A deleted issue keeps everything (fields, labels, comments, history, attachments): deleting and restoring set or
clear two columns. Purging removes what the issue had and keeps its row as a tombstone (number, who deleted it,
when), so its number is never given again and a link to it still says what became of it. Every operation is a
constant number of set-based statements, whatever the number of issues, and notes itself in their timelines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from .. import access
from ..errors import DomainError, InvalidInput, NotFound, StaleVersion
from ..issues.service import check_version, get_issue, parse_version
from ..models import BULK_MAX, Attachment, Comment, Issue, IssueEvent, IssueLabel, User, among, utcnow
from ..numbers import whole_number

RETENTION_DAYS = 30  # TRASH_RETENTION_DAYS: how long the trash keeps an issue before purging it
PER_PAGE = 50
KEY_CLASHES_SHOWN = 5
NOT_IN_TRASH = "Some of these issues are not in the trash (restored or purged meanwhile); nothing changed."


class TrashConflict(DomainError):
    """Some issues were not where the operation expected them (already deleted, restored or purged); nothing
    changed."""

    status = 409
    code = "trash_conflict"


def in_trash() -> sa.ColumnElement[bool]:
    """Deleted and not yet purged: the issues the trash shows and can restore."""
    return sa.and_(Issue.deleted_at.is_not(None), Issue.purged_at.is_(None))


def _empty_changes(session: Session) -> sa.ColumnElement[Any]:
    """An empty JSON object as an SQL value (PostgreSQL needs the type; SQLite keeps the text)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.literal_column("CAST('{}' AS json)")
    return sa.literal_column("'{}'")


def record(session: Session, actor_id: int | None, kind: str, which: sa.ColumnElement[bool], now: datetime) -> None:
    """One timeline entry (`deleted`, `restored`) for every issue `which` names, in one INSERT ... SELECT."""
    session.execute(
        sa.insert(IssueEvent).from_select(
            ["issue_id", "actor_id", "kind", "changes", "version", "created_at"],
            sa.select(
                Issue.id,
                sa.literal(actor_id, sa.Integer),
                sa.literal(kind, sa.String),
                _empty_changes(session),
                Issue.version,
                sa.literal(now, sa.DateTime),
            ).where(which),
        )
    )


def move_to_trash(session: Session, actor: User, which: sa.ColumnElement[bool], now: datetime) -> int:
    """Delete the live issues `which` names (inside the caller's transaction): one UPDATE, one INSERT of their
    'deleted' entries. Returns how many were deleted."""
    deleted = session.execute(
        sa.update(Issue)
        .where(which, Issue.deleted_at.is_(None))
        .values(deleted_at=now, deleted_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if deleted:
        record(session, actor.id, "deleted", sa.and_(which, Issue.deleted_at == now, Issue.deleted_by_id == actor.id),
               now)
    return deleted


def bring_back(session: Session, actor: User, which: sa.ColumnElement[bool], now: datetime) -> int:
    """Restore the issues in the trash that `which` names (inside the caller's transaction): their 'restored'
    entries first (while they can still be told apart), then one UPDATE. Returns how many came back. An issue
    whose other tracker's key a live issue has taken meanwhile (its import undone, the file imported again) stays:
    TrashConflict, nothing changed, as two issues with one key would make every later import of it ambiguous."""
    _refuse_key_clashes(session, which)
    record(session, actor.id, "restored", sa.and_(which, in_trash()), now)
    return session.execute(
        sa.update(Issue)
        .where(which, in_trash())
        .values(deleted_at=None, deleted_by_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def _refuse_key_clashes(session: Session, which: sa.ColumnElement[bool]) -> None:
    """TrashConflict naming the first issues to restore whose key a live issue has, or another issue restored with
    them (two queries)."""
    live = aliased(Issue)
    keyed = sa.and_(which, in_trash(), Issue.external_key.is_not(None))
    clashes = session.execute(
        sa.select(Issue.id, Issue.external_key, live.id)
        .join(live, sa.and_(live.external_key == Issue.external_key, live.deleted_at.is_(None)))
        .where(keyed)
        .order_by(Issue.id, live.id)
        .limit(KEY_CLASHES_SHOWN)
    ).all()
    named = [f"#{issue_id}'s key {key} is #{holder}'s now" for issue_id, key, holder in clashes]
    if not named:
        shared = session.execute(
            sa.select(sa.func.min(Issue.id), sa.func.max(Issue.id), Issue.external_key)
            .where(keyed)
            .group_by(Issue.external_key)
            .having(sa.func.count() > 1)
            .order_by(sa.func.min(Issue.id))
            .limit(KEY_CLASHES_SHOWN)
        ).all()
        named = [f"#{first} and #{last} both have the key {key}" for first, last, key in shared]
    if not named:
        return
    session.rollback()
    raise TrashConflict(
        f"Restoring would give two issues one key from the other tracker ({'; '.join(named)}). Nothing was restored: "
        "bring back one issue per key (a live one holding it is deleted first)."
    )


def clean_ids(raw: Iterable[Any]) -> list[int]:
    """Issue numbers from form or JSON values, without duplicates; InvalidInput for anything else."""
    ids: list[int] = []
    for value in raw:
        text = str(value).strip()
        if not text:
            continue
        number = whole_number(text)
        if not number:
            raise InvalidInput({"issue_ids": f"'{text[:40]}' is not an issue number."})
        if number not in ids:
            ids.append(number)
    if not ids:
        raise InvalidInput({"issue_ids": "Select at least one issue."})
    if len(ids) > BULK_MAX:
        raise InvalidInput({"issue_ids": f"At most {BULK_MAX:,} issues at once; {len(ids):,} were selected."})
    return ids


def delete_issue(session: Session, actor: User, issue_id: int, version: Any = None) -> None:
    """Move one issue to the trash; with `version` (the page's), only if it has not changed since (StaleVersion; a
    version newer than the issue's is InvalidInput)."""
    access.require_manage_trash(actor)
    current = get_issue(session, issue_id).version  # NotFound, or IssueDeleted when it is in the trash already
    which = Issue.id == issue_id
    if version not in (None, ""):
        expected = parse_version(version)
        check_version(issue_id, expected, current)  # a newer version is a 422, as for a change (update_issue)
        which = sa.and_(which, Issue.version == expected)
    if move_to_trash(session, actor, which, utcnow()) != 1:
        session.rollback()
        raise StaleVersion(issue_id, current)
    session.commit()


def version_guard(dialect: str, versions: dict[int, int]) -> sa.ColumnElement[bool]:
    """Each issue still at the version given for it: one list of numbers per distinct version (few: most issues of
    a selection share a handful of versions; one array parameter each on PostgreSQL, models.among), so the guard is
    part of the UPDATE itself."""
    by_version: dict[int, list[int]] = {}
    for issue_id, version in versions.items():
        by_version.setdefault(version, []).append(issue_id)
    return sa.or_(*(sa.and_(Issue.version == v, among(Issue.id, ids, dialect)) for v, ids in by_version.items()))


def delete_issues(session: Session, actor: User, ids: list[int], versions: dict[int, int] | None = None) -> int:
    """Move these issues to the trash, all or none: an issue that is missing, already deleted or (with `versions`)
    changed since it was shown stops them all with TrashConflict. Three statements for any number of issues."""
    access.require_manage_trash(actor)
    dialect = session.get_bind().dialect.name
    live = sa.select(Issue.id, Issue.version).where(among(Issue.id, ids, dialect), Issue.deleted_at.is_(None))
    rows = dict(session.execute(live).all())
    problems = [f"#{i} no longer exists or is already deleted" for i in ids if i not in rows]
    if versions:
        problems += [
            f"#{i} changed since you loaded the list (you saw version {v}, it is now version {rows[i]})"
            for i, v in versions.items()
            if i in rows and rows[i] != v
        ]
    if problems:
        raise TrashConflict(f"Nothing was deleted: {'; '.join(problems[:10])}{'…' if len(problems) > 10 else ''}.")
    if versions:
        guard = version_guard(dialect, {i: versions.get(i, rows[i]) for i in ids})
    else:
        guard = among(Issue.id, ids, dialect)
    deleted = move_to_trash(session, actor, guard, utcnow())
    if deleted != len(ids):
        session.rollback()
        raise TrashConflict("Some of these issues changed while they were being deleted; nothing was deleted.")
    session.commit()
    return deleted


def restore_issues(session: Session, actor: User, ids: list[int]) -> int:
    """Bring these issues back from the trash with everything they had, all or none: NotFound when some never
    existed, else TrashConflict when some are not in the trash (restored or purged)."""
    access.require_manage_trash(actor)
    which = among(Issue.id, ids, session.get_bind().dialect.name)
    restored = bring_back(session, actor, which, utcnow())
    if restored != len(ids):
        session.rollback()
        existing = set(session.execute(sa.select(Issue.id).where(which)).scalars())
        missing = [i for i in ids if i not in existing]
        if missing:
            named = ", ".join(f"#{i}" for i in missing[:10]) + ("…" if len(missing) > 10 else "")
            message = f"Issue {named} does not exist." if len(missing) == 1 else f"Issues {named} do not exist."
            raise NotFound(message if len(ids) == 1 else f"{message} Nothing was restored.")
        raise TrashConflict(NOT_IN_TRASH)
    session.commit()
    return restored


def purge(session: Session, which: sa.ColumnElement[bool], now: datetime) -> int:
    """Remove what the trashed issues `which` names had (history, comments, labels, attachments: their stored files
    go with the attachments' orphan sweep) and keep their rows as tombstones. Five statements, any number of issues.

    The tombstones are made first: that UPDATE locks the issues it purges, so a restore of one of them at the same
    moment either commits first (the UPDATE then leaves it out) or waits and finds it purged. The history and the
    rest are then deleted for the issues this purge marked (purged at `now`), never for one restored meanwhile
    (deleting them first, picked by "in the trash" as each statement saw it, emptied an issue a restore had just
    brought back)."""
    purged = session.execute(
        sa.update(Issue)
        .where(which, in_trash())
        .values(purged_at=now, title="", description="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not purged:
        return 0
    ids = sa.select(Issue.id).where(which, Issue.purged_at == now).scalar_subquery()
    for model in (IssueEvent, Attachment, Comment, IssueLabel):
        session.execute(sa.delete(model).where(model.issue_id.in_(ids)).execution_options(synchronize_session=False))
    return purged


def purge_issues(session: Session, actor: User, ids: list[int]) -> int:
    """Purge these issues from the trash now, all or none (TrashConflict)."""
    access.require_manage_trash(actor)
    purged = purge(session, Issue.id.in_(ids), utcnow())
    if purged != len(ids):
        session.rollback()
        raise TrashConflict(NOT_IN_TRASH)
    session.commit()
    return purged


def purge_expired(session: Session, now: datetime, retention_days: int = RETENTION_DAYS) -> int:
    """Purge every issue deleted more than `retention_days` ago (the scheduled clean-up); returns how many."""
    purged = purge(session, Issue.deleted_at < now - timedelta(days=retention_days), now)
    session.commit()
    return purged


@dataclass
class TrashPage:
    """One page of the trash, newest deletions first."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.page * self.per_page < self.total


def trash_page(session: Session, page: int = 1, per_page: int = PER_PAGE) -> TrashPage:
    """The issues in the trash (number, title, status, who deleted them and when), newest deletions first."""
    deleter = aliased(User)
    total = session.execute(sa.select(sa.func.count()).select_from(Issue).where(in_trash())).scalar_one()
    items = session.execute(
        sa.select(Issue.id, Issue.title, Issue.status, Issue.deleted_at, deleter.name.label("deleted_by"))
        .outerjoin(deleter, deleter.id == Issue.deleted_by_id)
        .where(in_trash())
        .order_by(Issue.deleted_at.desc(), Issue.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return TrashPage(items=list(items), total=total, page=page, per_page=per_page)


def trashed_issue(session: Session, issue_id: int) -> Any:
    """One issue in the trash (for the purge question), or NotFound."""
    row = session.execute(
        sa.select(Issue.id, Issue.title, Issue.deleted_at).where(Issue.id == issue_id, in_trash())
    ).one_or_none()
    if row is None:
        raise NotFound(f"Issue #{issue_id} is not in the trash.")
    return row
