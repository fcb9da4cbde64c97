"""CSV imports: stage the file in the database, check every row, then import it in one transaction.

The staged file lives in import_chunks, so the check and the import may run in different app processes.
Rows are read, checked and written as a stream (PostgreSQL: one COPY fed while the file is read; SQLite: a
batch at a time); neither the file nor all rows are held in memory.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from .. import access
from ..errors import DomainError, InvalidInput, NotFound
from ..issues.queries import MAX_PAGE, MultiValues
from ..labels.service import create_missing, name_key
from ..numbers import whole_number
from ..models import (
    IMPORT_POLICIES,
    PRIORITIES,
    STATUSES,
    ImportChunk,
    ImportedRange,
    ImportReject,
    ImportRun,
    Issue,
    IssueLabel,
    Label,
    User,
    utcnow,
)
from .bulk import copy_rows, id_ranges, insert_rows, issue_id_mark, new_issue_ids
from .parse import (
    CHUNK,
    ENCODING_LABELS,
    FORMATS,
    TARGETS,
    EncodingDetector,
    FileProblem,
    Mapping,
    Table,
    default_mapping,
    ignored_columns,
    neutralise,
    read_table,
    stream_chunks,
    word_key,
)
from .validate import UNASSIGNED, Directory, Person, Row, RowChecker

BATCH = 5000  # rows written per round of statements
SAMPLE_ROWS = 10  # valid rows shown on the preview as they will be created
ERRORS_SHOWN = 1000  # invalid rows listed on a page (all of them are in the rejected-rows download)
UNMATCHED_MAX = 100  # distinct unmatched assignee values offered for mapping
STAGED_FOR = timedelta(days=1)  # staged files nobody imported are removed after this
POLICY_LABELS = {"all_or_nothing": "All or nothing", "skip_invalid": "Skip invalid rows"}

logger = logging.getLogger(__name__)


class ImportRejected(DomainError):
    """Rows (or the column mapping) keep an all-or-nothing import from running; nothing was written."""

    status = 422
    code = "import_rejected"


class AlreadyImported(DomainError):
    """The staged file was imported already (a second click or another tab)."""

    status = 409
    code = "already_imported"


class ImportFailed(DomainError):
    """The database failed while writing; everything was rolled back."""

    status = 503
    code = "import_failed"


@dataclass
class CheckReport:
    """What a check found: counts, the first rows as they will be created, every problem, the mapping used."""

    run: ImportRun
    mapping: Mapping
    encoding_label: str = ""
    delimiter_label: str = ""
    problems: list[str] = field(default_factory=list)  # file-level: no title column, a field fed twice
    file_problem: str = ""  # why the file cannot be read to its end (then nothing else was found)
    rows_read: int = 0
    valid: int = 0
    invalid: int = 0
    sample: list[Row] = field(default_factory=list)
    errors: list[Row] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # Assignee values that match no active user or were mapped on the preview (once whatever their case) -> rows
    unmatched: dict[str, int] = field(default_factory=dict)
    status_words: dict[str, str] = field(default_factory=dict)  # word as compared -> as written
    priority_words: dict[str, str] = field(default_factory=dict)
    new_labels: list[str] = field(default_factory=list)
    people: dict[int, Person] = field(default_factory=dict)

    @property
    def more_errors(self) -> int:
        """Invalid rows not listed on the page."""
        return self.invalid - len(self.errors)

    @property
    def format_label(self) -> str:
        """The kind of file, as people name it."""
        return FORMATS.get(self.mapping.format, self.mapping.format)


def clean_file_name(raw: str | None) -> str:
    """The uploaded file's name without any folders, at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable())
    return (name or "upload.csv")[:255]


def parse_policy(raw: Any) -> str:
    """all_or_nothing (the default) or skip_invalid."""
    value = str(raw or "").strip() or "all_or_nothing"
    if value not in IMPORT_POLICIES:
        raise InvalidInput({"policy": f"Policy '{value[:40]}' is not one of {', '.join(IMPORT_POLICIES)}."})
    return value


# ---- staging --------------------------------------------------------------------------------------


def stage(session: Session, actor: User, file_name: str | None, stream) -> ImportRun:
    """Store the uploaded file in the database a chunk at a time and read its header; FileProblem if unreadable."""
    access.require_import(actor)
    now = utcnow()
    session.execute(sa.delete(ImportRun).where(ImportRun.state == "staged", ImportRun.created_at < now - STAGED_FOR))
    run = ImportRun(user_id=actor.id, file_name=clean_file_name(file_name), state="staged", settings={}, header=[], created_at=now)
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


def _staged_chunks_apart(session: Session, run_id: int) -> Iterator[bytes]:
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


# ---- the mapping chosen on the preview ---------------------------------------------------------


def mapping_from_form(run: ImportRun, form: MultiValues) -> Mapping:
    """The stored mapping with the preview's choices applied: columns, words and assignees."""
    mapping = mapping_of(run)
    header = run.header or []
    errors: dict[str, str] = {}
    columns = form.getlist("column")
    if columns:
        if len(columns) != len(header):
            errors["column"] = f"The form has {len(columns)} columns but the file has {len(header)}; check the file again."
        else:
            bad = [c for c in columns if c and c not in TARGETS]
            if bad:
                errors["column"] = f"'{bad[0][:40]}' is not a field an import can fill."
            mapping.columns = [str(c) for c in columns]
    for kind, allowed in (("status", STATUSES), ("priority", PRIORITIES)):
        words, values = form.getlist(f"{kind}_word"), form.getlist(f"{kind}_value")
        chosen = mapping.status_words if kind == "status" else mapping.priority_words
        for word, value in zip(words, values):
            # "Not mapped" is kept as "" so it overrides a default word too (the row is then invalid).
            if value and value not in allowed:
                errors[f"{kind}_value"] = f"{kind.capitalize()} '{value[:40]}' is not one of {', '.join(allowed)}."
                continue
            chosen[word_key(word)] = value
    for value, choice in zip(form.getlist("assignee_value"), form.getlist("assignee_choice")):
        if not choice:
            mapping.assignees.pop(value.lower(), None)
            continue
        if choice != UNASSIGNED and whole_number(choice) is None:
            errors["assignee_choice"] = f"'{choice[:40]}' is not a user."
            continue
        mapping.assignees[value.lower()] = choice
    if errors:
        raise InvalidInput(errors)
    return mapping


def save_mapping(session: Session, run: ImportRun, mapping: Mapping) -> None:
    """Keep the preview's choices on the run, so a later check or import uses them."""
    if run.state != "staged":
        raise AlreadyImported(f"{run.file_name} was imported already.")
    run.settings = mapping.to_settings()
    session.commit()


# ---- checking -------------------------------------------------------------------------------------


def directory(session: Session) -> Directory:
    """Every user and label, one query each."""
    people = [Person(*row) for row in session.execute(sa.select(User.id, User.name, User.email, User.active, User.role))]
    labels = [tuple(row) for row in session.execute(sa.select(Label.id, Label.name))]
    return Directory.build(people, labels)


def check(session: Session, run: ImportRun, mapping: Mapping | None = None) -> CheckReport:
    """Read and check every row of the staged file without writing anything."""
    mapping = mapping or mapping_of(run)
    table = open_table(session, run)
    report = CheckReport(run=run, mapping=mapping, encoding_label=table.encoding_label, delimiter_label=table.delimiter_label)
    report.ignored = ignored_columns(table.header, mapping)
    report.problems = mapping.problems(table.header)
    people = directory(session)
    report.people = people.by_id
    if report.problems:
        return report
    checker = RowChecker(table.header, mapping, people, utcnow())
    new_labels: dict[str, str] = {}
    spellings: dict[str, str] = {}  # assignee value in lower case -> as first written (mappings ignore case)
    for line, cells in table.records:
        row = checker.check(line, cells)
        report.rows_read += 1
        if row.ok:
            report.valid += 1
            if len(report.sample) < SAMPLE_ROWS:
                report.sample.append(row)
            for name in row.values["labels"]:
                if name_key(name) not in people.label_keys and len(new_labels) < UNMATCHED_MAX:
                    new_labels.setdefault(name_key(name), name)
        else:
            report.invalid += 1
            if len(report.errors) < ERRORS_SHOWN:
                report.errors.append(row)
        if row.unmatched_assignee is not None:
            lowered = row.unmatched_assignee.lower()
            if lowered in spellings or len(spellings) < UNMATCHED_MAX:
                key = spellings.setdefault(lowered, row.unmatched_assignee)
                report.unmatched[key] = report.unmatched.get(key, 0) + 1
    report.status_words = checker.seen_words["status"]
    report.priority_words = checker.seen_words["priority"]
    report.new_labels = sorted(new_labels.values(), key=str.lower)
    return report


def unreadable_report(run: ImportRun, problem: str) -> CheckReport:
    """The report on a staged file that cannot be read to its end (FileProblem's message): nothing else."""
    encoding = ENCODING_LABELS.get(run.encoding or "", run.encoding or "")
    return CheckReport(run=run, mapping=mapping_of(run), encoding_label=encoding, file_problem=problem)


# ---- importing ------------------------------------------------------------------------------------

ISSUE_COLUMNS = ("title", "description", "status", "priority", "assignee_id", "reporter_id", "version", "created_at",
                 "updated_at", "resolved_at")
REJECT_COLUMNS = ("run_id", "line", "cells", "error")
REJECTS_IN_MEMORY = 1 << 20  # bytes of skipped rows kept in memory before they go to a temporary file


class _Spool:
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


class _CheckedRows:
    """The staged file's rows, checked one by one as they are read.

    Iterating yields the rows to write. Invalid rows are counted; with skip-invalid they are spooled (in
    memory, then a temporary file) for the rejected-rows table, and with all-or-nothing the first is kept
    and no row is yielded after it, while the rest are still read to count them.
    """

    def __init__(self, table: Table, checker: RowChecker, policy: str):
        """Read the table's records with the checker under the policy."""
        self.records = table.records
        self.checker = checker
        self.skip_invalid = policy == "skip_invalid"
        self.rows_read = self.invalid = self.yielded = 0
        self.first_error: Row | None = None
        self._rejects = _Spool()

    def __iter__(self) -> Iterator[Row]:
        """The rows to write, in file order."""
        for line, cells in self.records:
            row = self.checker.check(line, cells)
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
class _Writer:
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

    def fields(self, row: Row) -> tuple:
        """The issue's columns (ISSUE_COLUMNS) for a checked row."""
        v = row.values
        created_at = v["created_at"] or self.now
        return (v["title"], v["description"], v["status"], v["priority"], v["assignee_id"], self.actor_id, 1,
                created_at, max(created_at, self.now), v["resolved_at"])

    def create_labels(self, missing: dict[str, str]) -> None:
        """Labels (name_key -> name as first written) that did not exist when the import began: one INSERT and
        one SELECT (a label another import created meanwhile is used as it is); their ids join the directory."""
        self.directory.label_keys.update(create_missing(self.session, missing, self.now))

    def record_ranges(self, ranges: list[tuple[int, int]]) -> None:
        """The runs of consecutive ids the import created (one unless others created issues meanwhile)."""
        insert_rows(self.session, ImportedRange.__table__, ("first_id", "last_id", "run_id"), ((a, b, self.run.id) for a, b in ranges))

    def write(self, rows: _CheckedRows) -> None:
        """Write every row the checked rows yield (with all-or-nothing an invalid row stops them; the caller
        then rolls back)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self._copy(rows)
        else:
            self._batches(rows)

    def _copy(self, rows: _CheckedRows) -> None:
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
        if rows.first_error is not None:
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

    def _batches(self, rows: _CheckedRows) -> None:
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
            insert_rows(self.session, Issue.__table__, ("id", *ISSUE_COLUMNS), [(i, *self.fields(row)) for i, row in zip(ids, batch)])
            insert_rows(
                self.session,
                IssueLabel.__table__,
                ("issue_id", "label_id"),
                [(i, self.directory.label_keys[name_key(name)]) for i, row in zip(ids, batch) for name in row.values["labels"]],
            )
            self.first_id = ids[0] if self.first_id is None else self.first_id
            self.last_id = ids[-1]
            self.created += len(ids)
        if self.created:
            self.record_ranges([(self.first_id, self.last_id)])


def run_import(
    session: Session, actor: User, run: ImportRun, policy: str, mapping: Mapping, expect_invalid: bool = False
) -> ImportRun:
    """Import the staged file in one transaction with the policy; ImportRejected leaves nothing written.

    With all-or-nothing, `expect_invalid` (the check the person saw found invalid rows) checks the file first
    without writing: a refusal then takes no issue numbers from the sequence, which a refusal found while
    writing does (PostgreSQL hands them out for good).

    Statements: a constant number (one COPY per table on PostgreSQL; per BATCH rows on SQLite).
    """
    access.require_manage_import(actor, run)
    policy = parse_policy(policy)
    if expect_invalid and policy == "all_or_nothing":
        report = check(session, run, mapping)
        if report.problems:
            raise ImportRejected(" ".join(report.problems))
        if report.invalid:
            raise ImportRejected(_nothing_imported(report.invalid, report.errors[0]))
    # PostgreSQL reads the file over another connection: this one streams the rows into a COPY meanwhile.
    if session.get_bind().dialect.name == "postgresql":
        chunks = _staged_chunks_apart(session, run.id)
    else:
        chunks = staged_chunks(session, run.id)
    try:
        return _import_chunks(session, actor, run, policy, mapping, chunks)
    finally:
        chunks.close()


def _import_chunks(session: Session, actor: User, run: ImportRun, policy: str, mapping: Mapping, chunks: Iterator[bytes]) -> ImportRun:
    """run_import's work, reading the staged file from `chunks`."""
    actor_id, run_id, file_name = actor.id, run.id, run.file_name
    table = open_table(session, run, chunks)
    problems = mapping.problems(table.header)
    if problems:
        raise ImportRejected(" ".join(problems))
    now = utcnow()
    # Claim the run first: a second click finds it imported, and on SQLite this takes the write lock
    # before issue ids are chosen.
    claimed = session.execute(
        sa.update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.state == "staged")
        # The importer (an admin may import someone's staged file) is who the history, the timelines and the
        # issues' reporter name.
        .values(state="imported", user_id=actor_id, policy=policy, settings=mapping.to_settings(), finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.rollback()
        raise AlreadyImported("This file was imported already (perhaps from another tab); see the list of imports.")
    people = directory(session)
    rows = _CheckedRows(table, RowChecker(table.header, mapping, people, now), policy)
    writer = _Writer(session, run, actor_id, people, now)
    try:
        writer.write(rows)
        if rows.first_error is not None:
            session.rollback()
            raise ImportRejected(_nothing_imported(rows.invalid, rows.first_error))
        if writer.created != rows.yielded:
            raise ImportFailed(f"{rows.yielded:,} rows were written but {writer.created:,} issues found; nothing was imported.")
        insert_rows(session, ImportReject.__table__, REJECT_COLUMNS, rows.rejects(run_id))
        session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id)
            .values(
                rows_read=rows.rows_read,
                created_count=writer.created,
                rejected_count=rows.invalid,
                first_issue_id=writer.first_id,
                last_issue_id=writer.last_id,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(sa.delete(ImportChunk).where(ImportChunk.run_id == run_id))
        session.commit()
    except FileProblem:
        session.rollback()
        raise
    except ImportFailed as exc:
        session.rollback()
        logger.error("Import %s of %s failed; rolled back: %s", run_id, file_name, exc.message)
        raise
    except sa.exc.SQLAlchemyError as exc:
        session.rollback()
        logger.exception("Import %s of %s could not be saved; rolled back", run_id, file_name)
        raise ImportFailed("The import could not be saved and nothing was imported. Please try again.") from exc
    finally:
        rows.close()
    session.expire(run)
    return run


def _nothing_imported(invalid: int, first: Row) -> str:
    """Why an all-or-nothing import wrote nothing."""
    noun = "row is" if invalid == 1 else "rows are"
    return (
        f"Nothing was imported: {invalid:,} {noun} invalid (the first, line {first.line}: {first.error}). "
        "Fix the file, or import with 'skip invalid rows'."
    )


def rejected_rows(session: Session, run: ImportRun) -> Iterator[list[str]]:
    """The file's header plus 'error', then each rejected (or, before the import, invalid) row as read, every
    cell neutralised against spreadsheet formulas (an import takes the guard off again).

    A staged file is read to its end here, its invalid rows spooled, so a file that cannot be read raises
    FileProblem before the first row is handed out (a download's status is still free to choose).
    """
    header = list(run.header or [])
    rows = _stored_rejects(session, run) if run.state == "imported" else _invalid_rows(session, run)
    lines = (_padded(cells, len(header)) + [f"line {line}: {error}"] for line, cells, error in rows)
    return ([neutralise(cell) for cell in cells] for cells in itertools.chain([header + ["error"]], lines))


def _stored_rejects(session: Session, run: ImportRun) -> Iterator[tuple[int, list[str], str]]:
    """An imported file's rejected rows (line, cells, error) in file order, BATCH rows a query."""
    last = 0
    while True:
        batch = session.execute(
            sa.select(ImportReject.line, ImportReject.cells, ImportReject.error)
            .where(ImportReject.run_id == run.id, ImportReject.line > last)
            .order_by(ImportReject.line)
            .limit(BATCH)
        ).all()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].line


def _invalid_rows(session: Session, run: ImportRun) -> Iterator[tuple[int, list[str], str]]:
    """A staged file's invalid rows (line, cells, error), found by reading the whole file now (FileProblem when
    it cannot be read) and handed out from a spool afterwards."""
    mapping = mapping_of(run)
    table = open_table(session, run)
    spool = _Spool()
    try:
        if not mapping.problems(table.header):
            checker = RowChecker(table.header, mapping, directory(session), utcnow())
            for line, cells in table.records:
                row = checker.check(line, cells)
                if not row.ok:
                    spool.add(row)
    except BaseException:
        spool.close()
        raise
    return _drain_spool(spool)


def _drain_spool(spool: _Spool) -> Iterator[tuple[int, list[str], str]]:
    """The spooled rows, then the spool dropped."""
    try:
        yield from spool
    finally:
        spool.close()


def _padded(cells: list[str], width: int) -> list[str]:
    """Cells filled up to the header's width, so the error column lines up."""
    return list(cells) + [""] * (width - len(cells))
