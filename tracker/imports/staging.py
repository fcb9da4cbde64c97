"""The staged import file: stored in the database a chunk at a time, read back, found, listed and discarded.

The file lives in import_chunks, so the check and the import may run in different app processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from .. import access, outage
from ..errors import DomainError, InvalidInput, NotFound, TooLarge
from ..issues.queries import MAX_PAGE
from ..models import ImportChunk, ImportRun, User, utcnow
from ..numbers import whole_number
from .parse import CHUNK, EncodingDetector, FileProblem, Mapping, Table, default_mapping, read_table, stream_chunks

logger = logging.getLogger(__name__)
STAGED_FOR = timedelta(days=1)  # staged files nobody imported are removed after this (purge_expired)
MAX_COLUMNS = 500  # IMPORT_MAX_COLUMNS: a file with more is refused before any page lists its columns
# Class of the PostgreSQL advisory lock (two-key form) that serialises one person's staging, for the quota.
STAGING_LOCK = 7_401_004


class AlreadyImported(DomainError):
    """The staged file was imported already (a second click or another tab)."""

    status = 409
    code = "already_imported"


def clean_file_name(raw: str | None) -> str:
    """The uploaded file's name without any folders, at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable())
    return (name or "upload.csv")[:255]


@dataclass(frozen=True)
class StagingLimits:
    """What one staged file and one person's staged files may hold (IMPORT_MAX_COLUMNS,
    IMPORT_STAGED_MB_PER_PERSON); the quota in bytes, None for none."""

    max_columns: int = MAX_COLUMNS
    quota_bytes: int | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StagingLimits:
        """The limits configured for the app."""
        return cls(config["IMPORT_MAX_COLUMNS"], config["IMPORT_STAGED_MB_PER_PERSON"] * 1024 * 1024)


def staged_bytes(session: Session, user_id: int) -> int:
    """The bytes of the person's staged files (not imported yet)."""
    return session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ImportRun.file_size), 0)).where(
            ImportRun.user_id == user_id, ImportRun.state == "staged"
        )
    ).scalar_one()


def _over_quota(used: int, adding: int, quota: int) -> TooLarge:
    """The 413 for a file that would take the person's staged files past the quota."""
    megabytes = 1024 * 1024
    return TooLarge(
        f"Your staged files would take {(used + adding) / megabytes:,.1f} MB; each person may keep "
        f"{quota / megabytes:,.0f} MB of files waiting to be imported, and yours already take {used / megabytes:,.1f}"
        " MB. Import or discard them on the imports page, then upload again."
    )


def _lock_staging(session: Session, user_id: int) -> None:
    """Serialise one person's staging until the transaction ends, so two uploads at once count each other.
    PostgreSQL: an advisory lock. SQLite: the staging's own writes hold the write lock already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(STAGING_LOCK, user_id)))


def stage(
    session: Session,
    actor: User,
    file_name: str | None,
    stream,
    limits: StagingLimits = StagingLimits(),
    expected_size: int | None = None,
) -> ImportRun:
    """Store the uploaded file in the database a chunk at a time and read its header; FileProblem if unreadable
    or wider than limits.max_columns, TooLarge past the person's quota (then nothing is stored)."""
    access.require_import(actor)
    quota = limits.quota_bytes
    used = staged_bytes(session, actor.id) if quota is not None else 0
    if quota is not None and expected_size and used + expected_size > quota:
        raise _over_quota(used, expected_size, quota)
    now = utcnow()
    purge_expired(session, now, commit=False)
    run = ImportRun(
        user_id=actor.id, file_name=clean_file_name(file_name), state="staged", settings={}, header=[], created_at=now
    )
    session.add(run)
    session.flush()
    detector = EncodingDetector()
    try:
        for seq, chunk in enumerate(stream_chunks(stream, CHUNK)):
            detector.feed(chunk)
            if quota is not None and used + detector.size > quota:
                raise _over_quota(used, detector.size, quota)
            session.execute(sa.insert(ImportChunk).values(run_id=run.id, seq=seq, data=chunk))
        encoding = detector.finish()
        table = read_table(staged_chunks(session, run.id), encoding)
        if len(table.header) > limits.max_columns:
            raise FileProblem(
                f"The file has {len(table.header):,} columns; an import reads at most {limits.max_columns:,}. "
                "Remove the columns you do not need (only title is required) and upload it again."
            )
        mapping = default_mapping(table.header)
        if next(table.records, None) is None:
            raise FileProblem("The file has a header row but no rows of issues below it.")
        run.file_size = detector.size
        if quota is not None:
            _lock_staging(session, actor.id)
            used = staged_bytes(session, actor.id) - detector.size  # as committed by now, this file aside
            if used + detector.size > quota:
                raise _over_quota(used, detector.size, quota)
    except (FileProblem, TooLarge):
        session.rollback()
        raise
    run.encoding = encoding
    run.header = table.header
    run.settings = mapping.to_settings()
    session.commit()
    return run


def purge_expired(session: Session, now: datetime | None = None, commit: bool = True) -> int:
    """Delete the staged files (dry runs and failed imports included) older than STAGED_FOR, with their chunks;
    returns how many. Run on a schedule (`flask imports purge`, or the background worker) and on each upload."""
    cutoff = (now or utcnow()) - STAGED_FOR
    purged = session.execute(
        sa.delete(ImportRun)
        .where(ImportRun.state == "staged", ImportRun.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
    if commit:
        session.commit()
    return purged


def record_failure(session: Session, run_id: int, reason: str) -> None:
    """Record why importing the staged file in one request failed; it stays staged, shown in the history. With
    the database gone as well, the file stays staged without the reason (nothing raises)."""
    try:
        session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.state == "staged")
            .values(failure=reason[:2000])
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except outage.OUTAGES:
        outage.discard(session)
        logger.warning("Could not record why import %s failed", run_id)


def discard_run(session: Session, actor: User, run_id: int) -> ImportRun:
    """Delete a staged file (its uploader or an admin); an imported one stays in the history (409), also when its
    import (another tab, another person) claimed it after it was read here."""
    run = get_run(session, run_id)
    access.require_manage_import(actor, run)
    imported = f"{run.file_name} was imported; only files waiting to be imported can be discarded."
    if run.state != "staged":
        raise AlreadyImported(imported)
    deleted = session.execute(
        sa.delete(ImportRun).where(ImportRun.id == run_id, ImportRun.state == "staged")
    ).rowcount
    if not deleted:
        session.rollback()
        get_run(session, run_id)  # NotFound when it was discarded meanwhile
        raise AlreadyImported(imported)
    session.commit()
    return run


def waiting(session: Session, actor: User) -> list[ImportRun]:
    """The staged files (checked, failed or never imported) this person may import or discard, newest first."""
    runs = session.execute(
        sa.select(ImportRun)
        .where(ImportRun.state == "staged")
        .options(joinedload(ImportRun.user))
        .order_by(ImportRun.id.desc())
    ).scalars()
    return [run for run in runs if access.may_manage_import(actor, run)]


def staged_chunks(session: Session | sa.Connection, run_id: int) -> Iterator[bytes]:
    """The staged file's bytes, one chunk (one query) at a time."""
    seq = 0
    while True:
        data = session.execute(
            sa.select(ImportChunk.data).where(ImportChunk.run_id == run_id, ImportChunk.seq == seq)
        ).scalar_one_or_none()
        if data is None:
            return
        yield bytes(data)
        seq += 1


def staged_chunks_apart(session: Session, run_id: int) -> Iterator[bytes]:
    """The staged (committed) file read over a connection of its own, so the session's connection can stream
    a COPY while the file is read. Each read is its own transaction (autocommit), so the connection holds no
    lock between reads; close() the generator to give the connection back."""
    with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield from staged_chunks(connection, run_id)


def open_table(session: Session, run: ImportRun, chunks: Iterator[bytes] | None = None) -> Table:
    """The staged file opened for reading (from `chunks` when given, else over the session)."""
    if run.state != "staged":
        raise AlreadyImported(f"{run.file_name} was imported already; its file is no longer kept.")
    return read_table(staged_chunks(session, run.id) if chunks is None else chunks, run.encoding)


def get_run(session: Session, run_id: int) -> ImportRun:
    """An import run with its user, or NotFound."""
    run = session.execute(
        sa.select(ImportRun)
        .where(ImportRun.id == run_id)
        .options(joinedload(ImportRun.user), joinedload(ImportRun.undone_by), joinedload(ImportRun.redone_by))
    ).scalar_one_or_none()
    if run is None:
        raise NotFound(f"Import {run_id} does not exist.")
    return run


def mapping_of(run: ImportRun) -> Mapping:
    """The mapping stored on the run."""
    return Mapping.from_settings(run.settings or {}, run.header or [])


HISTORY_PAGE_SIZE = 50


@dataclass
class HistoryPage:
    """One page of the import history, newest first."""

    runs: list[ImportRun]
    page: int
    has_next: bool


def history(session: Session, page: Any = 1) -> HistoryPage:
    """Page `page` of the finished imports, newest first (staged files nobody imported are not listed).

    Raises InvalidInput when `page` is not a whole number from 1 to MAX_PAGE (the issue list's limit).
    """
    per_page = HISTORY_PAGE_SIZE
    number = whole_number(page if page not in (None, "") else 1) or 0
    if not 1 <= number <= MAX_PAGE:
        raise InvalidInput({"page": f"Page must be a whole number from 1 to {MAX_PAGE:,}."})
    runs = list(
        session.execute(
            sa.select(ImportRun)
            .where(ImportRun.state == "imported")
            .options(joinedload(ImportRun.user), joinedload(ImportRun.undone_by), joinedload(ImportRun.redone_by))
            .order_by(ImportRun.id.desc())
            .offset((number - 1) * per_page)
            .limit(per_page + 1)
        ).scalars()
    )
    return HistoryPage(runs=runs[:per_page], page=number, has_next=len(runs) > per_page)
