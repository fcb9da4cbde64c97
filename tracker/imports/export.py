"""CSV export of issues: the import's columns plus id, version and timestamps, streamed a batch at a time."""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import outage
from ..errors import Throttled
from ..issues.queries import IssueFilter, filtered
from ..models import ExportSlot, Issue, IssueLabel, Label, User, utcnow
from .parse import format_when, neutralise

logger = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "assignee",
    "labels",
    "created_at",
    "updated_at",
    "resolved_at",
    "version",
    "key",  # the issue's key in the tracker it was imported from (issue 22)
)
BATCH = 1000
FLUSH_AT = 64 * 1024  # characters of CSV gathered before handing a piece to the response
BOM = "\ufeff"  # so spreadsheets read the file as UTF-8


def export_cells(values: dict) -> list[str]:
    """One issue (a dict of its fields, labels as names, assignee as an email) as export cells, neutralised."""
    cells = [
        str(values.get("id", "")),
        values.get("title", ""),
        values.get("description", ""),
        values.get("status", ""),
        values.get("priority", ""),
        values.get("assignee") or "",
        "; ".join(values.get("labels") or []),
        format_when(values.get("created_at")),
        format_when(values.get("updated_at")),
        format_when(values.get("resolved_at")),
        str(values.get("version", "")),
        values.get("external_key") or "",
    ]
    return [neutralise(cell) for cell in cells]


def csv_text(rows: Iterable[list[str]], bom: bool = True) -> Iterator[str]:
    """CSV text (comma, CRLF, quoted where needed) in pieces of about FLUSH_AT characters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write(BOM)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= FLUSH_AT:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def export_rows(session: Session, view: IssueFilter) -> Iterator[list[str]]:
    """The header, then every issue matching the filter in id order: two queries per BATCH issues."""
    yield list(EXPORT_COLUMNS)
    dialect = session.get_bind().dialect.name
    columns = (
        Issue.id,
        Issue.title,
        Issue.description,
        Issue.status,
        Issue.priority,
        User.email.label("assignee"),
        Issue.created_at,
        Issue.updated_at,
        Issue.resolved_at,
        Issue.version,
        Issue.external_key,
    )
    base = (
        filtered(dialect, view)
        .with_only_columns(*columns, maintain_column_froms=False)
        .select_from(sa.outerjoin(Issue, User, User.id == Issue.assignee_id))
        .order_by(Issue.id)
        .limit(BATCH)
    )
    last_id = 0
    while True:
        batch = session.execute(base.where(Issue.id > last_id)).mappings().all()
        if not batch:
            return
        ids = [row["id"] for row in batch]
        labels: dict[int, list[str]] = defaultdict(list)
        for issue_id, name in session.execute(
            sa.select(IssueLabel.issue_id, Label.name)
            .join(Label, Label.id == IssueLabel.label_id)
            .where(IssueLabel.issue_id.in_(ids))
            .order_by(IssueLabel.issue_id, Label.name_key)
        ):
            labels[issue_id].append(name)
        for row in batch:
            yield export_cells({**row, "labels": labels.get(row["id"], [])})
        last_id = ids[-1]
        if len(batch) < BATCH:
            return


# ---- how many exports one person streams at once (EXPORTS_PER_PERSON), counted across app processes -------

EXPORT_LOCK = 7_401_005  # class of the PostgreSQL advisory lock (two-key form) serialising one person's claims
SLOT_SEEN_EVERY = timedelta(seconds=30)  # a streaming export says it is alive this often
SLOT_STALE = timedelta(minutes=2)  # a slot not seen for this long belongs to a process that died
EXPORT_RETRY_AFTER = 30


def claim_slot(session: Session, user_id: int, limit: int, now: datetime | None = None) -> int:
    """Take one of the person's export slots and return its id, or raise Throttled (429) when `limit` exports of
    theirs are streaming. Check and claim are one step per person: PostgreSQL takes an advisory lock; on SQLite
    the first statement (deleting stale slots) takes the write lock."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(EXPORT_LOCK, user_id)))
    session.execute(
        sa.delete(ExportSlot)
        .where(ExportSlot.user_id == user_id, ExportSlot.seen_at < now - SLOT_STALE)
        .execution_options(synchronize_session=False)
    )
    running = session.execute(
        sa.select(sa.func.count()).select_from(ExportSlot).where(ExportSlot.user_id == user_id)
    ).scalar_one()
    if running >= limit:
        session.rollback()
        raise Throttled(
            f"You have {running} exports running; each person may run {limit} at a time. "
            "Try again when one has finished downloading.",
            EXPORT_RETRY_AFTER,
        )
    slot_id = session.execute(
        sa.insert(ExportSlot).values(user_id=user_id, started_at=now, seen_at=now).returning(ExportSlot.id)
    ).scalar_one()
    session.commit()
    return slot_id


def release_slot(engine: sa.Engine, slot_id: int) -> None:
    """The export ended (downloaded, abandoned or failed): free its slot. With the database gone the slot goes
    stale and stops counting by itself."""
    try:
        with engine.begin() as connection:
            connection.execute(sa.delete(ExportSlot).where(ExportSlot.id == slot_id))
    except outage.OUTAGES:
        logger.warning("Could not free export slot %s; it stops counting after %s", slot_id, SLOT_STALE)


def keeping_slot(rows: Iterable[list[str]], engine: sa.Engine, slot_id: int) -> Iterator[list[str]]:
    """The rows, saying every SLOT_SEEN_EVERY that the export holding the slot is still streaming (on a
    connection of its own, beside the export's reads)."""
    seen = utcnow()
    for number, row in enumerate(rows):
        if number % BATCH == 0 and utcnow() - seen >= SLOT_SEEN_EVERY:
            seen = utcnow()
            with engine.begin() as connection:
                connection.execute(sa.update(ExportSlot).where(ExportSlot.id == slot_id).values(seen_at=seen))
        yield row
