"""Writing an import: rows checked as they are read, then streamed into the tables in one transaction.

PostgreSQL: one COPY per table fed while the file is read; SQLite: a batch of rows at a time. Neither the file
nor all its rows are held in memory.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import Unavailable
from ..labels.service import create_missing, name_key
from ..models import ImportedRange, ImportReject, ImportRun, Issue, IssueLabel
from .copying import copy_rows, id_ranges, insert_rows, issue_id_mark, new_issue_ids
from .parse import Table
from .updates import Matcher, apply_updates
from .validate import Directory, Row, RowChecker

BATCH = 5000  # rows written per round of statements


class ImportFailed(Unavailable):
    """The database failed while writing; everything was rolled back (503 with Retry-After)."""

    code = "import_failed"


ISSUE_COLUMNS = ("title", "description", "status", "priority", "assignee_id", "reporter_id", "version", "created_at",
                 "updated_at", "resolved_at", "external_key")
REJECT_COLUMNS = ("run_id", "line", "cells", "error")
REJECTS_IN_MEMORY = 1 << 20  # bytes of skipped rows kept in memory before they go to a temporary file


class Spool:
    """Invalid rows (line, cells, error) kept in file order: in memory, then a temporary file past
    REJECTS_IN_MEMORY bytes, so a file with many of them is never all in memory."""

    def __init__(self) -> None:
        """Start empty."""
        self._file = tempfile.SpooledTemporaryFile(max_size=REJECTS_IN_MEMORY, mode="w+", encoding="utf-8")

    def add(self, row: Row) -> None:
        """Keep an invalid row."""
        self._file.write(json.dumps([row.line, row.cells, row.error]) + "\n")

    def __iter__(self) -> Iterator[tuple[int, list[str], str]]:
        """The rows kept, in file order."""
        self._file.seek(0)
        for text in self._file:
            line, cells, error = json.loads(text)
            yield line, cells, error

    def close(self) -> None:
        """Drop the rows."""
        self._file.close()


class CheckedRows:
    """The staged file's rows, checked one by one as they are read.

    Iterating yields the rows to write. Invalid rows are counted; with skip-invalid they are spooled (in
    memory, then a temporary file) for the rejected-rows table, and with all-or-nothing the first is kept
    and no row is yielded after it, while the rest are still read to count them.
    """

    def __init__(self, table: Table, checker: RowChecker, policy: str, matcher: Matcher):
        """Read the table's records with the checker under the policy (rows naming issues matched by `matcher`)."""
        self.records = table.records
        self.checker = checker
        self.matcher = matcher
        self.skip_invalid = policy == "skip_invalid"
        self.rows_read = self.invalid = self.yielded = 0
        self.first_error: Row | None = None
        self._rejects = Spool()

    def __iter__(self) -> Iterator[Row]:
        """The rows to write, in file order."""
        for row in self.matcher.rows(self.records):
            self.rows_read += 1
            if row.ok:
                if self.first_error is None:
                    self.yielded += 1
                    yield row
                continue
            self.invalid += 1
            if self.skip_invalid:
                self._rejects.add(row)
            elif self.first_error is None:
                self.first_error = row

    def rejects(self, run_id: int) -> Iterator[tuple]:
        """The skipped rows as import_rejects rows, in file order."""
        for line, cells, error in self._rejects:
            yield (run_id, line, cells, error)

    def close(self) -> None:
        """Drop the spooled rows."""
        self._rejects.close()


@dataclass
class Writer:
    """Writes checked rows: issues, the labels the file names that do not exist yet, issue labels, and the
    ranges of issue ids the import created (the timeline's 'imported' entry reads them). write() is one
    streamed COPY per table on PostgreSQL and a constant number of statements per BATCH rows on SQLite."""

    session: Session
    run: ImportRun
    actor_id: int
    directory: Directory
    now: Any
    first_id: int | None = None
    last_id: int | None = None
    created: int = 0
    unchanged: int = 0
    updates: list[Row] = field(default_factory=list)  # rows that update an issue, written after the new issues
    updated: int = 0  # issues the updates changed (fewer than len(updates): someone saved meanwhile)

    def _sorted(self, rows: Iterator[Row], missing: dict[str, str]) -> Iterator[Row]:
        """The rows that create issues; those that update one are kept for later (their new labels noted in
        `missing`), unchanged ones counted."""
        for row in rows:
            action = row.values.get("action", "create")
            if action == "create":
                yield row
            elif action == "update":
                self.updates.append(row)
                for name in row.values["labels"]:
                    if name_key(name) not in self.directory.label_keys:
                        missing.setdefault(name_key(name), name)
            else:
                self.unchanged += 1

    def write_updates(self, missing: dict[str, str]) -> None:
        """Apply the updates (after the labels they name exist)."""
        if not self.updates:
            return
        self.create_labels(missing)
        note = f"Updated by the import of {self.run.file_name}"
        self.updated = apply_updates(
            self.session, self.updates, self.actor_id, note, self.directory.label_keys, self.now
        )

    def fields(self, row: Row) -> tuple:
        """The issue's columns (ISSUE_COLUMNS) for a checked row."""
        v = row.values
        created_at = v["created_at"] or self.now
        return (v["title"], v["description"], v["status"], v["priority"], v["assignee_id"],
                v.get("reporter_id") or self.actor_id, 1, created_at, max(created_at, self.now), v["resolved_at"],
                v.get("external_key"))

    def create_labels(self, missing: dict[str, str]) -> None:
        """Labels (name_key -> name as first written) that did not exist when the import began: one INSERT and
        one SELECT (a label another import created meanwhile is used as it is); their ids join the directory."""
        self.directory.label_keys.update(create_missing(self.session, missing, self.now))

    def record_ranges(self, ranges: list[tuple[int, int]]) -> None:
        """The runs of consecutive ids the import created (one unless others created issues meanwhile)."""
        insert_rows(
            self.session,
            ImportedRange.__table__,
            ("first_id", "last_id", "run_id"),
            ((a, b, self.run.id) for a, b in ranges),
        )

    def record_rejects(self, rows: CheckedRows) -> None:
        """The rows a skip-invalid import left out, with why (the rejected-rows download reads them)."""
        insert_rows(self.session, ImportReject.__table__, REJECT_COLUMNS, rows.rejects(self.run.id))

    def write(self, rows: CheckedRows) -> None:
        """Write every row the checked rows yield (with all-or-nothing an invalid row stops them; the caller
        then rolls back)."""
        missing: dict[str, str] = {}  # labels the updating rows name that do not exist yet
        creating = self._sorted(iter(rows), missing)
        if self.session.get_bind().dialect.name == "postgresql":
            self._copy(creating, rows)
        else:
            self._batches(creating)
        if rows.first_error is None:
            self.write_updates(missing)

    def _copy(self, rows: Iterator[Row], checked: CheckedRows) -> None:
        """PostgreSQL: one COPY of the issues fed while the file is read and checked (Python and the server
        work at the same time), the sequence giving their ids; then the labels the file creates, the id ranges,
        and the issue labels in one COPY. Label pairs wait in a compact array: (row number, label id), where a
        label the file creates has a negative placeholder until it exists."""
        session, known = self.session, self.directory.label_keys
        mark = issue_id_mark(session)
        pairs = array("i")
        missing: dict[str, str] = {}
        placeholders: dict[str, int] = {}

        def issue_rows() -> Iterator[tuple]:
            for number, row in enumerate(rows):
                for name in row.values["labels"]:
                    key = name_key(name)
                    label_id = known.get(key)
                    if label_id is None:
                        missing.setdefault(key, name)
                        label_id = placeholders.setdefault(key, -1 - len(placeholders))
                    pairs.extend((number, label_id))
                yield self.fields(row)

        copy_rows(session, Issue.__tablename__, ISSUE_COLUMNS, issue_rows())
        if checked.first_error is not None:
            return
        ids = new_issue_ids(session, mark)
        if not ids:
            return
        self.create_labels(missing)
        self.record_ranges(id_ranges(ids))
        by_placeholder = {placeholder: known[key] for key, placeholder in placeholders.items()}
        copy_rows(
            session,
            IssueLabel.__tablename__,
            ("issue_id", "label_id"),
            ((ids[pairs[i]], by_placeholder.get(pairs[i + 1], pairs[i + 1])) for i in range(0, len(pairs), 2)),
        )
        self.first_id, self.last_id, self.created = ids[0], ids[-1], len(ids)

    def _batches(self, rows: Iterator[Row]) -> None:
        """SQLite: BATCH rows at a time, ids counted up from the largest (the import holds the write lock)."""
        next_id = (self.session.execute(sa.select(sa.func.max(Issue.id))).scalar() or 0) + 1
        rows = iter(rows)
        while batch := list(itertools.islice(rows, BATCH)):
            missing: dict[str, str] = {}
            for row in batch:
                for name in row.values["labels"]:
                    if name_key(name) not in self.directory.label_keys:
                        missing.setdefault(name_key(name), name)
            self.create_labels(missing)
            ids = range(next_id, next_id + len(batch))
            next_id += len(batch)
            insert_rows(
                self.session,
                Issue.__table__,
                ("id", *ISSUE_COLUMNS),
                [(i, *self.fields(row)) for i, row in zip(ids, batch)],
            )
            insert_rows(
                self.session,
                IssueLabel.__table__,
                ("issue_id", "label_id"),
                [
                    (i, self.directory.label_keys[name_key(name)])
                    for i, row in zip(ids, batch)
                    for name in row.values["labels"]
                ],
            )
            self.first_id = ids[0] if self.first_id is None else self.first_id
            self.last_id = ids[-1]
            self.created += len(ids)
        if self.created:
            self.record_ranges([(self.first_id, self.last_id)])
