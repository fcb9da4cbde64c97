"""Set-based writes that differ per database: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
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


def _copy_lines(rows: Sequence[tuple]) -> Iterator[str]:
    """The rows as COPY text lines; each column's converter is chosen once, from its first non-NULL value."""
    converters: list = []
    for row in rows:
        if len(converters) != len(row):
            converters = [None] * len(row)
        cells = []
        for index, value in enumerate(row):
            if value is None:
                cells.append("\\N")
                continue
            chosen = converters[index]
            if chosen is None or (chosen[1] is not None and type(value) is not chosen[1]):
                chosen = converters[index] = _converter_for(value)
            cells.append(chosen[0](value))
        yield "\t".join(cells) + "\n"


def _text(value: str) -> str:
    """Text with COPY's escapes, skipping translate() for the usual cell without any of them."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _converter_for(value) -> tuple:
    """(converter, the exact type it is for) for this value, formatting as _copy_value does; for other types
    _copy_value itself, for any type (None)."""
    kind = type(value)
    if kind is str:
        return _text, str
    if kind is int:
        return str, int
    if kind is datetime:
        return datetime.isoformat, datetime
    return _copy_value, None


def insert_rows(session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert the rows (tuples in `columns` order) in one statement: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        buffer = io.StringIO()
        buffer.writelines(_copy_lines(rows))
        buffer.seek(0)
        cursor = session.connection().connection.cursor()
        try:
            cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", buffer)
        finally:
            cursor.close()
    else:
        session.execute(sa.insert(table), [dict(zip(columns, row)) for row in rows])


def insert_same_event(session: Session, issue_ids: Sequence[int], actor_id: int, kind: str, changes: dict, now: datetime) -> None:
    """One event row per issue, all alike but for the issue (the 'imported' events): one INSERT … SELECT that
    expands the ids in SQL, so Python formats one id per row instead of a whole event row."""
    if not issue_ids:
        return
    columns = "issue_id, actor_id, kind, changes, version, created_at"
    if session.get_bind().dialect.name == "postgresql":
        ids, id_list = "SELECT unnest(CAST(:ids AS integer[])) AS id", list(issue_ids)
        values = "CAST(:changes AS json)"
    else:
        ids, id_list = "SELECT CAST(value AS INTEGER) AS id FROM json_each(:ids)", json.dumps(list(issue_ids))
        values = ":changes"
    session.execute(
        sa.text(f"INSERT INTO issue_events ({columns}) SELECT ids.id, :actor_id, :kind, {values}, 1, :now FROM ({ids}) AS ids"),
        {
            "ids": id_list,
            "actor_id": actor_id,
            "kind": kind,
            "changes": json.dumps(changes),
            "now": now,
        },
    )


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
