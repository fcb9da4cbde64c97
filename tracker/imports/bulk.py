"""Set-based writes that differ per database: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Issue

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value).translate(_COPY_ESCAPES)
    return str(value).translate(_COPY_ESCAPES)


def insert_rows(session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert the rows (tuples in `columns` order) in one statement: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        buffer = io.StringIO()
        buffer.writelines("\t".join([_copy_value(v) for v in row]) + "\n" for row in rows)
        buffer.seek(0)
        cursor = session.connection().connection.cursor()
        try:
            cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", buffer)
        finally:
            cursor.close()
    else:
        session.execute(sa.insert(table), [dict(zip(columns, row)) for row in rows])


class IssueIds:
    """Hands out ids for new issues inside the import's transaction, a batch at a time."""

    def __init__(self, session: Session):
        """On SQLite the caller already holds the write lock, so the ids after the current maximum are free."""
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._next = None
        if not self.postgres:
            self._next = (session.execute(sa.select(sa.func.max(Issue.id))).scalar() or 0) + 1

    def take(self, count: int) -> list[int]:
        """`count` unused issue ids in ascending order (one statement on PostgreSQL, none on SQLite)."""
        if count == 0:
            return []
        if self.postgres:
            return sorted(
                self.session.execute(
                    sa.text("SELECT nextval(pg_get_serial_sequence('issues', 'id')) FROM generate_series(1, :n)"),
                    {"n": count},
                ).scalars()
            )
        first, self._next = self._next, self._next + count
        return list(range(first, first + count))
