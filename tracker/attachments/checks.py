"""Checking uploaded files before anything is stored: the name kept, the size and the kind allowed (read from the
content), a raster image read by Pillow, a photo's location data removed, the hash of what will be stored, and the
issue's number of files. Every refusal is FileRefused (422) or FileTooLarge (413) with the reason."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..models import FILE_NAME_MAX, Attachment
from . import content


class FileRefused(DomainError):
    """A file that cannot be attached (its kind, its content, or the issue's limit); nothing was stored."""

    status = 422
    code = "file_refused"


class FileTooLarge(FileRefused):
    """A file over the size limit; nothing was stored."""

    status = 413
    code = "too_large"


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


# Names that are path segments of their own in a URL: a browser resolves /files/5/.. to /files/ (a 404).
DOT_SEGMENTS = (".", "..")


def clean_file_name(raw: str | None) -> str:
    """The uploaded file's name without folders or control characters, at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable()).strip()
    if name in DOT_SEGMENTS:  # "folder/.." or "." names a folder, no file; and its link would lead elsewhere
        name = ""
    if len(name) > FILE_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        keep = extension[:20] if dot and stem else ""
        name = name[: FILE_NAME_MAX - len(keep) - 1] + "." + keep if keep else name[:FILE_NAME_MAX]
    return name or "file"


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
    checked: list[Checked] = []
    try:
        for upload in uploads:
            checked.append(check_file(upload, limits))
        _find_repeats(session, issue_id, checked, limits)
    except BaseException:
        close_copies(checked, list(uploads))
        raise
    return checked


def _find_repeats(session: Session, issue_id: int | None, checked: list[Checked], limits: Limits) -> None:
    """Mark the files whose content the issue (or an earlier file of the request) has, and keep the issue within
    its number of files."""
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


def close_copies(checked: list[Checked], uploads: Sequence[Upload]) -> None:
    """Close the temporary copies made to remove location data (the uploads themselves are the view's)."""
    originals = {id(u.stream) for u in uploads}
    for item in checked:
        if id(item.stream) not in originals:
            item.stream.close()
