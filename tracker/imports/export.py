"""CSV export of issues: the import's columns plus id, version and timestamps, streamed a batch at a time."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..issues.queries import IssueFilter, filtered
from ..models import Issue, IssueLabel, Label, User
from .parse import format_when, neutralise

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
