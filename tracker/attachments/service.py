"""Attachments: keep checked files in the store, record them, list, delete, and sweep orphans.

Consistency between the tables and the store: a file's object is stored before its row commits, under a random
key no one else uses; a transaction that fails afterwards removes what it stored, and whatever a crash leaves
behind (an object no row names) is removed by `remove_orphans` once it is older than any upload in flight. A row is
deleted (and committed) before its object, so a row never points at a missing object.

One issue keeps one copy of each content: (issue_id, sha256) is unique, and a file whose content the issue holds
already is not stored again; the answer names the attachment that is there.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from .. import access
from ..errors import DomainError, NotFound
from ..models import LIVE_ISSUE, Attachment, Issue, IssueEvent, User, utcnow
from . import content
from .checks import (  # noqa: F401  (FileTooLarge, Limits, clean_file_name, human_size: named here for callers)
    DOT_SEGMENTS,
    Checked,
    FileRefused,
    FileTooLarge,
    Limits,
    Upload,
    check_files,
    clean_file_name,
    close_copies,
    human_size,
)
from .storage import Store

log = logging.getLogger(__name__)
FILE_URL = "/files/{id}/{name}"  # the download's path (attachments.download); Markdown images pointing here show inline
PLACEHOLDER = "attachment:"  # `![name](attachment:name)` in a form sent with its files: becomes the file's URL
SWEEP_BATCH = 500


class AttachedMeanwhile(DomainError):
    """Another request attached the same content to the issue at the same moment; nothing was saved."""

    status = 409
    code = "attached_meanwhile"


@dataclass
class Incoming:
    """Files sent along with a new issue or comment: the uploads, where to keep them, what is accepted."""

    store: Store
    uploads: list[Upload]
    limits: Limits


@dataclass
class Attached:
    """The outcome for one file sent: its attachment, and whether the issue had that content already."""

    attachment: Attachment
    file_name: str
    duplicate: bool


@dataclass
class SweepResult:
    """What a sweep looked at and removed."""

    objects: int = 0
    removed: list[str] = field(default_factory=list)


def file_url(attachment: Attachment) -> str:
    """The attachment's download path, named after the file (a file stored as '.' or '..' before such names
    became 'file' is linked as 'file': browsers resolve those segments away)."""
    name = "file" if attachment.file_name in DOT_SEGMENTS else attachment.file_name
    return FILE_URL.format(id=attachment.id, name=quote(name, safe=""))


# ---- reading -------------------------------------------------------------------------------------


def get_issue(session: Session, issue_id: int) -> Issue:
    """The issue files are attached to (its own row only), or NotFound."""
    issue = session.get(Issue, issue_id)
    if issue is None or issue.deleted_at is not None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    return issue


def issue_version(session: Session, issue_id: int, lock: bool = False) -> int:
    """The issue's version; NotFound if there is no such issue. With `lock`, the issue's row stays locked until the
    transaction ends (PostgreSQL; SQLite has one writer at a time anyway)."""
    statement = sa.select(Issue.version).where(Issue.id == issue_id, LIVE_ISSUE)
    version = session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()
    if version is None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    return version


def issue_attachments(session: Session, issue_id: int) -> list[Attachment]:
    """The issue's attachments with who attached them, oldest first (one query)."""
    return list(
        session.execute(
            sa.select(Attachment)
            .where(Attachment.issue_id == issue_id)
            .options(joinedload(Attachment.uploader))
            .order_by(Attachment.id)
        ).scalars()
    )


def comment_attachments(session: Session, comment_id: int) -> list[Attachment]:
    """The files sent with a comment, oldest first."""
    return list(
        session.execute(
            sa.select(Attachment).where(Attachment.comment_id == comment_id).order_by(Attachment.id)
        ).scalars()
    )


def get_attachment(session: Session, attachment_id: int) -> Attachment:
    """One attachment of a live issue with who attached it, or NotFound: the files of an issue in the trash leave
    with it, as its page and its API answers do (restoring the issue brings them back)."""
    attachment = session.execute(
        sa.select(Attachment)
        .join(Issue, Issue.id == Attachment.issue_id)
        .where(Attachment.id == attachment_id, LIVE_ISSUE)
        .options(joinedload(Attachment.uploader))
    ).scalar_one_or_none()
    if attachment is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    return attachment


# ---- storing -------------------------------------------------------------------------------------


def new_key() -> str:
    """A fresh random object key, spread over subfolders by its first letters (never the file's name)."""
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token[2:4]}/{token}"


def store_files(store: Store, checked: list[Checked]) -> None:
    """Store each new content (and an image's thumbnail); on failure remove what this call stored and re-raise."""
    try:
        for item in checked:
            if item.existing is not None or item.same_as is not None:
                continue
            item.key = new_key()
            item.stream.seek(0)
            store.put(item.key, item.stream, item.kind.content_type)
            if item.image_size is not None:
                small = content.thumbnail(item.stream, item.kind, item.image_size)
                if small is not None:
                    item.thumbnail_key = item.key + ".thumb.webp"
                    store.put(item.thumbnail_key, io.BytesIO(small), "image/webp")
    except BaseException:
        discard(store, checked)
        raise


def discard(store: Store, checked: list[Checked]) -> None:
    """Remove what was stored for these files (best effort: the sweep removes whatever this misses)."""
    keys = [key for item in checked for key in (item.key, item.thumbnail_key) if key]
    for item in checked:
        item.key = item.thumbnail_key = None
    if not keys:
        return
    try:
        store.delete(keys)
    except Exception:
        log.exception("Could not remove %d stored objects; the orphan sweep will", len(keys))


def record(
    session: Session, actor: User, issue_id: int, checked: list[Checked], comment_id: int | None = None
) -> list[Attached]:
    """Add the rows for the stored files (not committed) and, for files attached to the issue itself, one
    'attached' timeline entry. Returns one outcome per file sent, in order."""
    now = utcnow()
    new = []
    for item in checked:
        if item.key is None:
            continue
        width, height = item.image_size or (None, None)
        item.attachment = Attachment(
            issue_id=issue_id,
            comment_id=comment_id,
            uploader_id=actor.id,
            file_name=item.file_name,
            content_type=item.kind.content_type,
            size=item.size,
            sha256=item.sha256,
            storage_key=item.key,
            thumbnail_key=item.thumbnail_key,
            width=width,
            height=height,
            created_at=now,
        )
        session.add(item.attachment)
        new.append(item.attachment)
    session.flush()
    outcomes = []
    for item in checked:
        attachment = item.existing or (item.same_as.attachment if item.same_as else item.attachment)
        outcomes.append(Attached(attachment, item.file_name, duplicate=item.key is None))
    if new and comment_id is None:
        session.add(
            IssueEvent(
                issue_id=issue_id,
                actor_id=actor.id,
                kind="attached",
                changes={"files": [_described(a) for a in new]},
                version=issue_version(session, issue_id),
                created_at=now,
            )
        )
    if new:
        _touch(session, issue_id, now)
    return outcomes


def _described(attachment: Attachment) -> dict:
    """What a timeline entry keeps of a file (it outlives the attachment)."""
    return {"id": attachment.id, "name": attachment.file_name, "size": attachment.size}


def _touch(session: Session, issue_id: int, now: datetime) -> None:
    """Files count as activity for "last updated", without touching the version (no edit conflicts)."""
    session.execute(
        sa.update(Issue).where(Issue.id == issue_id).values(updated_at=now).execution_options(synchronize_session=False)
    )


@contextmanager
def kept(session: Session, incoming: Incoming | None, issue_id: int | None) -> Iterator[list[Checked]]:
    """Check and store the files sent with a new issue or comment; if the block (which records them and commits)
    fails, remove what was stored. A unique-key clash (the same content attached meanwhile) is AttachedMeanwhile."""
    if incoming is None or not incoming.uploads:
        yield []
        return
    checked = check_files(session, issue_id, incoming.uploads, incoming.limits)
    try:
        store_files(incoming.store, checked)
        yield checked
    except IntegrityError:
        session.rollback()
        discard(incoming.store, checked)
        raise AttachedMeanwhile(
            "The same file was attached to this issue at this moment by someone else; nothing was saved. "
            "Reload the page and send it again."
        ) from None
    except BaseException:
        discard(incoming.store, checked)
        raise
    finally:
        close_copies(checked, incoming.uploads)


def attach_files(session: Session, actor: User, issue_id: int, incoming: Incoming) -> list[Attached]:
    """Attach files to an issue: all of them or, if one is refused, none."""
    access.require_attach(actor)
    # Locked before its files are counted, so two attaches at once cannot pass the issue's number of files together
    # (a comment's files are counted after its UPDATE of the issue, which locks the row the same way).
    issue_version(session, issue_id, lock=True)
    if not incoming.uploads:
        raise FileRefused("Choose a file to attach.")
    with kept(session, incoming, issue_id) as checked:
        outcomes = record(session, actor, issue_id, checked)
        session.commit()
    return outcomes


def link_placeholders(text: str, outcomes: list[Attached]) -> str:
    """Point `(attachment:<name>)` links, written while the files were chosen, at the attached files."""
    if PLACEHOLDER not in text:
        return text
    for outcome in outcomes:
        placeholder = f"]({PLACEHOLDER}{quote(outcome.file_name, safe='')})"
        text = text.replace(placeholder, f"]({file_url(outcome.attachment)})")
    return text


def delete_attachment(session: Session, store: Store, actor: User, attachment_id: int) -> Attachment:
    """The uploader or an admin deletes an attachment: the row and a timeline entry commit first, then the
    objects go (if that fails, the sweep removes them). The row is deleted by one guarded statement first: of two
    deletes at once (two tabs, a double click), the one that finds it gone is a 404 that notes nothing."""
    attachment = get_attachment(session, attachment_id)
    access.require_delete_attachment(actor, attachment)
    deleted = session.execute(
        sa.delete(Attachment).where(Attachment.id == attachment_id).execution_options(synchronize_session=False)
    ).rowcount
    if not deleted:
        session.rollback()
        raise NotFound(f"Attachment {attachment_id} does not exist (it was deleted meanwhile).")
    session.expunge(attachment)  # its row is gone: keep what was read of it for the caller's message
    now = utcnow()
    session.add(
        IssueEvent(
            issue_id=attachment.issue_id,
            actor_id=actor.id,
            kind="attachment_deleted",
            changes={"files": [_described(attachment)]},
            version=issue_version(session, attachment.issue_id),
            created_at=now,
        )
    )
    _touch(session, attachment.issue_id, now)
    keys = [key for key in (attachment.storage_key, attachment.thumbnail_key) if key]
    session.commit()
    try:
        store.delete(keys)
    except Exception:
        log.exception("Could not remove the objects of attachment %s; the orphan sweep will", attachment_id)
    return attachment


# ---- orphans -------------------------------------------------------------------------------------


def remove_orphans(session: Session, store: Store, now: datetime, older_than: timedelta) -> SweepResult:
    """Remove stored objects that no row names and that are older than `older_than` (younger ones may belong to an
    upload whose row is about to commit). Keys are checked against the table 500 at a time, one query each."""
    result = SweepResult()
    cutoff = now - older_than
    batch: list[str] = []
    for key, modified in store.objects():
        result.objects += 1
        if modified < cutoff:
            batch.append(key)
        if len(batch) >= SWEEP_BATCH:
            result.removed += _remove_unnamed(session, store, batch)
            batch = []
    if batch:
        result.removed += _remove_unnamed(session, store, batch)
    return result


def _remove_unnamed(session: Session, store: Store, keys: list[str]) -> list[str]:
    named = set(
        session.execute(
            sa.select(Attachment.storage_key)
            .where(Attachment.storage_key.in_(keys))
            .union(sa.select(Attachment.thumbnail_key).where(Attachment.thumbnail_key.in_(keys)))
        ).scalars()
    )
    unnamed = [key for key in keys if key not in named]
    if unnamed:
        store.delete(unnamed)
    return unnamed
