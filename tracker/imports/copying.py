"""Set-based writes that differ per database: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import io
import itertools
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

EXECUTEMANY_ROWS = 5000  # rows per executemany on SQLite
COPY_READ = 1 << 16  # characters psycopg2 asks a COPY's source for at a time
# Rows the current (top-level) transaction wrote: their xmin is its transaction id.
THIS_TRANSACTION = "xmin = pg_current_xact_id()::xid"
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


def _copy_lines(rows: Iterable[tuple]) -> Iterator[str]:
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


class LineReader(io.TextIOBase):
    """A read-only text file over an iterator of lines, the source of a COPY FROM STDIN.

    Lines are made only as psycopg2 asks for more, so Python formats (and checks) the next rows while the
    server writes the previous ones, and the rows are never all in memory. An exception raised by the
    iterator ends the COPY (psycopg2 then reports it as a cancelled query); it is kept in `error`.
    """

    def __init__(self, lines: Iterable[str]):
        """Read from these lines."""
        super().__init__()
        self._lines = iter(lines)
        self._pending = ""
        self.error: BaseException | None = None

    def readable(self) -> bool:
        """A COPY source is read, never written."""
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to `size` characters (all that is left when size is negative or None)."""
        parts, length = [self._pending], len(self._pending)
        while size is None or size < 0 or length < size:
            try:
                line = next(self._lines, None)
            except BaseException as exc:
                self.error = exc
                raise
            if line is None:
                break
            parts.append(line)
            length += len(line)
        text = "".join(parts)
        if size is None or size < 0:
            self._pending = ""
            return text
        self._pending = text[size:]
        return text[:size]


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY the rows (tuples in `columns` order) into the table as they are produced (PostgreSQL).

    If producing the rows raised, that exception is raised again (not the cancelled COPY psycopg2 reports);
    a database error is raised as SQLAlchemy's, like any other statement's. Either leaves the transaction
    to be rolled back.
    """
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    source = LineReader(_copy_lines(rows))
    dbapi_error = session.get_bind().dialect.dbapi.Error
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.copy_expert(statement, source, size=COPY_READ)
    except dbapi_error as exc:
        if source.error is not None:
            raise source.error from None
        lost = bool(connection.connection.dbapi_connection.closed)
        if lost:
            # The server went away mid-COPY: as SQLAlchemy does for its own statements, the connection is
            # invalidated, so the rollback that follows does not fail on it and the pool replaces it.
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error, connection_invalidated=lost) from exc
    finally:
        cursor.close()


def insert_rows(session: Session, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert the rows (tuples in `columns` order): one streamed COPY on PostgreSQL, executemany elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table.name, columns, rows)
        return
    rows = iter(rows)
    while batch := list(itertools.islice(rows, EXECUTEMANY_ROWS)):
        session.execute(sa.insert(table), [dict(zip(columns, row)) for row in batch])


def issue_id_mark(session: Session) -> int:
    """The last id the issues' sequence handed out (0 before the first): issues inserted after this read have
    larger ids (PostgreSQL)."""
    return session.execute(
        sa.text("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('issues', 'id')::regclass), 0)")
    ).scalar_one()


def new_issue_ids(session: Session, mark: int) -> array:
    """The ids, ascending, of the issues this transaction inserted after `mark` was read (PostgreSQL), read a
    batch at a time into a compact array; other sessions' issues in the range are not this transaction's."""
    ids = array("i")
    result = session.execute(
        sa.text(f"SELECT id FROM issues WHERE id > :mark AND {THIS_TRANSACTION} ORDER BY id").execution_options(
            stream_results=True, yield_per=EXECUTEMANY_ROWS
        ),
        {"mark": mark},
    )
    ids.extend(result.scalars())
    return ids


def id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending ids as runs of consecutive ids: [1, 2, 3, 7, 8] -> [(1, 3), (7, 8)]."""
    ranges: list[tuple[int, int]] = []
    first = last = None
    for value in ids:
        if last is not None and value == last + 1:
            last = value
            continue
        if first is not None:
            ranges.append((first, last))
        first = last = value
    if first is not None:
        ranges.append((first, last))
    return ranges
