"""The staged import file: stored in the database a chunk at a time, read back, found, listed and discarded.

The file lives in import_chunks, so the check and the import may run in different app processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from .. import access
from ..errors import DomainError, InvalidInput, NotFound
from ..issues.queries import MAX_PAGE
from ..models import ImportChunk, ImportRun, User, utcnow
from ..numbers import whole_number
from .parse import CHUNK, EncodingDetector, FileProblem, Mapping, Table, default_mapping, read_table, stream_chunks

STAGED_FOR = timedelta(days=1)  # staged files nobody imported are removed after this


class AlreadyImported(DomainError):
    """The staged file was imported already (a second click or another tab)."""

    status = 409
    code = "already_imported"


def clean_file_name(raw: str | None) -> str:
    """The uploaded file's name without any folders, at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable())
    return (name or "upload.csv")[:255]


def stage(session: Session, actor: User, file_name: str | None, stream) -> ImportRun:
    """Store the uploaded file in the database a chunk at a time and read its header; FileProblem if unreadable."""
    access.require_import(actor)
    now = utcnow()
    session.execute(sa.delete(ImportRun).where(ImportRun.state == "staged", ImportRun.created_at < now - STAGED_FOR))
    run = ImportRun(
        user_id=actor.id, file_name=clean_file_name(file_name), state="staged", settings={}, header=[], created_at=now
    )
    session.add(run)
    session.flush()
    detector = EncodingDetector()
    try:
        for seq, chunk in enumerate(stream_chunks(stream, CHUNK)):
            detector.feed(chunk)
            session.execute(sa.insert(ImportChunk).values(run_id=run.id, seq=seq, data=chunk))
        encoding = detector.finish()
        table = read_table(staged_chunks(session, run.id), encoding)
        mapping = default_mapping(table.header)
        if next(table.records, None) is None:
            raise FileProblem("The file has a header row but no rows of issues below it.")
    except FileProblem:
        session.rollback()
        raise
    run.file_size = detector.size
    run.encoding = encoding
    run.header = table.header
    run.settings = mapping.to_settings()
    session.commit()
    return run


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
        sa.select(ImportRun).where(ImportRun.id == run_id).options(joinedload(ImportRun.user))
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
            .options(joinedload(ImportRun.user))
            .order_by(ImportRun.id.desc())
            .offset((number - 1) * per_page)
            .limit(per_page + 1)
        ).scalars()
    )
    return HistoryPage(runs=runs[:per_page], page=number, has_next=len(runs) > per_page)
