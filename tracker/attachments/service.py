"""Attachments: check uploaded files, keep them in the store, record them, list, delete, and sweep orphans.

Consistency between the tables and the store: a file's object is stored before its row commits, under a random
key no one else uses; a transaction that fails afterwards removes what it stored, and whatever a crash leaves
behind (an object no row names) is removed by `remove_orphans` once it is older than any upload in flight. A row is
deleted (and committed) before its object, so a row never points at a missing object.

One issue keeps one copy of each content: (issue_id, sha256) is unique, and a file whose content the issue holds
already is not stored again; the answer names the attachment that is there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from .. import access
from ..errors import DomainError, NotFound
from ..models import FILE_NAME_MAX, Attachment, Issue, IssueEvent, User, utcnow
from . import content
from .storage import Store

log = logging.getLogger(__name__)
FILE_URL = "/files/{id}/{name}"  # the download's path (attachments.download); Markdown images pointing here show inline
PLACEHOLDER = "attachment:"  # `![name](attachment:name)` in a form sent with its files: becomes the file's URL
SWEEP_BATCH = 500


class FileRefused(DomainError):
    """A file that cannot be attached (its kind, its content, or the issue's limit); nothing was stored."""

    status = 422
    code = "file_refused"


class FileTooLarge(FileRefused):
    """A file over the size limit; nothing was stored."""

    status = 413
    code = "too_large"


class AttachedMeanwhile(DomainError):
    """Another request attached the same content to the issue at the same moment; nothing was saved."""

    status = 409
    code = "attached_meanwhile"


@dataclass(frozen=True)
class Limits:
    """What this Tracker accepts (from its configuration)."""

    max_bytes: int
    groups: frozenset[str]
    per_issue: int

    def describe_groups(self) -> str:
        """The accepted kinds, for messages: "images (PNG, JPEG, GIF, WebP), PDF, text and logs"."""
        return ", ".join(content.GROUPS[g] for g in content.GROUPS if g in self.groups) or "no files"


@dataclass
class Upload:
    """One uploaded file as the view hands it over: its name as sent and a seekable stream (Werkzeug's spooled
    file, on disk once it is large)."""

    file_name: str | None
    stream: BinaryIO


@dataclass
class Incoming:
    """Files sent along with a new issue or comment: the uploads, where to keep them, what is accepted."""

    store: Store
    uploads: list[Upload]
    limits: Limits


@dataclass
class Checked:
    """A file that passed the checks: what it is, its hash, and the stream to store (without location data)."""

    file_name: str
    kind: content.Kind
    size: int
    sha256: str
    stream: BinaryIO
    image_size: tuple[int, int] | None = None
    existing: Attachment | None = None  # the issue holds this content already: nothing to store
    same_as: Checked | None = None  # an earlier file of the same request had this content
    key: str | None = None
    thumbnail_key: str | None = None
    attachment: Attachment | None = None


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


def clean_file_name(raw: str | None) -> str:
    """The uploaded file's name without folders or control characters, at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable())
    if len(name) > FILE_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        keep = extension[:20] if dot and stem else ""
        name = name[: FILE_NAME_MAX - len(keep) - 1] + "." + keep if keep else name[:FILE_NAME_MAX]
    return name or "file"


def file_url(attachment: Attachment) -> str:
    """The attachment's download path, named after the file."""
    return FILE_URL.format(id=attachment.id, name=quote(attachment.file_name, safe=""))


def human_size(size: int | None) -> str:
    """A file's size for people: '820 bytes', '14 KB', '3.2 MB', '25 MB'."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            tenths = round(value, 1)
            return f"{tenths:.1f} {unit}" if value < 10 and not tenths.is_integer() else f"{value:.0f} {unit}"
    return f"{size} byte{'' if size == 1 else 's'}"


# ---- reading -------------------------------------------------------------------------------------


def get_issue(session: Session, issue_id: int) -> Issue:
    """The issue files are attached to (its own row only), or NotFound."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    return issue


def issue_version(session: Session, issue_id: int) -> int:
    """The issue's version; NotFound if there is no such issue."""
    version = session.execute(sa.select(Issue.version).where(Issue.id == issue_id)).scalar_one_or_none()
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
    """One attachment with who attached it, or NotFound."""
    attachment = session.execute(
        sa.select(Attachment).where(Attachment.id == attachment_id).options(joinedload(Attachment.uploader))
    ).scalar_one_or_none()
    if attachment is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    return attachment


def by_ids(session: Session, ids: set[int]) -> dict[int, Attachment]:
    """The attachments among these ids that still exist (one query; none for no ids)."""
    if not ids:
        return {}
    rows = session.execute(sa.select(Attachment).where(Attachment.id.in_(sorted(ids)))).scalars()
    return {a.id: a for a in rows}


# ---- checking ------------------------------------------------------------------------------------


def _size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1 << 16):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def check_file(upload: Upload, limits: Limits) -> Checked:
    """Check one file (size, kind by content, a raster image read by Pillow), remove a photo's location data and
    hash what will be stored. FileTooLarge or FileRefused with the reason."""
    name = clean_file_name(upload.file_name)
    size = _size(upload.stream)
    if size > limits.max_bytes:
        raise FileTooLarge(
            f"{name} is {human_size(size)}; files of up to {human_size(limits.max_bytes)} can be attached."
        )
    if size == 0:
        raise FileRefused(f"{name} is empty.")
    kind = content.sniff(upload.stream.read(content.HEAD), name)
    upload.stream.seek(0)
    if kind.group not in limits.groups:
        raise FileRefused(f"{name} is {kind.label}; this Tracker accepts {limits.describe_groups()}.")
    stream, dimensions = upload.stream, None
    if kind.raster:
        try:
            dimensions = content.image_size(stream, kind)
        except content.UnreadableImage:
            raise FileRefused(f"{name} starts like {kind.label} but cannot be read as one.") from None
        stripped = content.without_location(stream, kind)
        if stripped is not None:
            stream, size = stripped, _size(stripped)
    return Checked(name, kind, size, _sha256(stream), stream, dimensions)


def check_files(session: Session, issue_id: int | None, uploads: Sequence[Upload], limits: Limits) -> list[Checked]:
    """Check every file, find the contents the issue (or this request) holds already, and keep the issue within
    its number of files; raises before anything is stored."""
    checked = [check_file(upload, limits) for upload in uploads]
    existing: dict[str, Attachment] = {}
    if issue_id is not None and checked:
        rows = session.execute(
            sa.select(Attachment).where(
                Attachment.issue_id == issue_id, Attachment.sha256.in_(sorted({c.sha256 for c in checked}))
            )
        ).scalars()
        existing = {a.sha256: a for a in rows}
    first: dict[str, Checked] = {}
    for item in checked:
        item.existing = existing.get(item.sha256)
        if item.existing is None and item.sha256 in first:
            item.same_as = first[item.sha256]
        first.setdefault(item.sha256, item)
    new = sum(1 for item in checked if item.existing is None and item.same_as is None)
    if new and issue_id is not None:
        count = session.execute(
            sa.select(sa.func.count()).select_from(Attachment).where(Attachment.issue_id == issue_id)
        ).scalar_one()
        if count + new > limits.per_issue:
            room = max(limits.per_issue - count, 0)
            raise FileRefused(
                f"An issue holds at most {limits.per_issue} files; this one has {count}, so "
                + (f"at most {room} more can be attached." if room else "delete some before attaching more.")
            )
    elif new > limits.per_issue:
        raise FileRefused(f"An issue holds at most {limits.per_issue} files; {new} were sent.")
    return checked


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
                    store.put(item.thumbnail_key, _BytesReader(small), "image/webp")
    except BaseException:
        discard(store, checked)
        raise


class _BytesReader:
    """A thumbnail's bytes as a readable stream (for Store.put)."""

    def __init__(self, data: bytes):
        self.data, self.position = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.position + size
        chunk, self.position = self.data[self.position : end], min(end, len(self.data))
        return chunk


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
    store_files(incoming.store, checked)
    try:
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
        _close_copies(checked, incoming.uploads)


def _close_copies(checked: list[Checked], uploads: list[Upload]) -> None:
    """Close the temporary copies made to remove location data (the uploads themselves are the view's)."""
    originals = {id(u.stream) for u in uploads}
    for item in checked:
        if id(item.stream) not in originals:
            item.stream.close()


def attach_files(session: Session, actor: User, issue_id: int, incoming: Incoming) -> list[Attached]:
    """Attach files to an issue: all of them or, if one is refused, none."""
    access.require_attach(actor)
    issue_version(session, issue_id)
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
    objects go (if that fails, the sweep removes them)."""
    attachment = get_attachment(session, attachment_id)
    access.require_delete_attachment(actor, attachment)
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
    session.delete(attachment)
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
    session.rollback()  # read only; end the transaction before the (slow) deletes
    unnamed = [key for key in keys if key not in named]
    if unnamed:
        store.delete(unnamed)
    return unnamed
