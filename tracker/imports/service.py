"""CSV imports: check every row of a staged file (staging.py), map its columns and words, then import it in one
transaction (writer.py), and hand out the rows an import rejected.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..errors import DomainError, InvalidInput
from ..issues.queries import MultiValues
from ..labels.service import name_key
from ..models import IMPORT_POLICIES, PRIORITIES, STATUSES, ImportChunk, ImportReject, ImportRun, Label, User, utcnow
from ..notifications import fanout
from ..numbers import whole_number
from ..outage import DRIVER_ERRORS, discard
from .parse import ENCODING_LABELS, FORMATS, TARGETS, FileProblem, Mapping, ignored_columns, neutralise, word_key
from .staging import AlreadyImported, mapping_of, open_table, staged_chunks, staged_chunks_apart
from .updates import Matcher
from .validate import UNASSIGNED, Directory, Person, Row, RowChecker
from .writer import BATCH, CheckedRows, ImportFailed, Spool, Writer

SAMPLE_ROWS = 10  # valid rows shown on the preview as they will be created
ERRORS_SHOWN = 1000  # invalid rows listed on a page (all of them are in the rejected-rows download)
UNMATCHED_MAX = 100  # distinct unmatched assignee values offered for mapping
POLICY_LABELS = {"all_or_nothing": "All or nothing", "skip_invalid": "Skip invalid rows"}

logger = logging.getLogger(__name__)


class ImportRejected(DomainError):
    """Rows (or the column mapping) keep an all-or-nothing import from running; nothing was written."""

    status = 422
    code = "import_rejected"


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
    # Valid rows by what they do (create, update, unchanged), and invalid ones naming an issue changed since.
    actions: dict[str, int] = field(default_factory=lambda: {"create": 0, "update": 0, "unchanged": 0})
    stale: int = 0

    @property
    def plan(self) -> str:
        """What the import will do: "create 10, update 19, unchanged 5, stale 2" (parts that are 0 left out, except
        create)."""
        parts = [f"create {self.actions['create']:,}"]
        parts += [f"{k} {self.actions[k]:,}" for k in ("update", "unchanged") if self.actions[k]]
        if self.stale:
            parts.append(f"stale {self.stale:,}")
        return ", ".join(parts)

    @property
    def more_errors(self) -> int:
        """Invalid rows not listed on the page."""
        return self.invalid - len(self.errors)

    @property
    def format_label(self) -> str:
        """The kind of file, as people name it."""
        return FORMATS.get(self.mapping.format, self.mapping.format)


def parse_policy(raw: Any) -> str:
    """all_or_nothing (the default) or skip_invalid."""
    value = str(raw or "").strip() or "all_or_nothing"
    if value not in IMPORT_POLICIES:
        raise InvalidInput({"policy": f"Policy '{value[:40]}' is not one of {', '.join(IMPORT_POLICIES)}."})
    return value


# ---- the mapping chosen on the preview ---------------------------------------------------------


def mapping_from_form(run: ImportRun, form: MultiValues) -> Mapping:
    """The stored mapping with the preview's choices applied: columns, words and assignees."""
    mapping = mapping_of(run)
    header = run.header or []
    errors: dict[str, str] = {}
    columns = form.getlist("column")
    if columns:
        if len(columns) != len(header):
            errors["column"] = (
                f"The form has {len(columns)} columns but the file has {len(header)}; check the file again."
            )
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
    people = [
        Person(*row) for row in session.execute(sa.select(User.id, User.name, User.email, User.active, User.role))
    ]
    labels = [tuple(row) for row in session.execute(sa.select(Label.id, Label.name))]
    return Directory.build(people, labels)


def check(session: Session, run: ImportRun, mapping: Mapping | None = None) -> CheckReport:
    """Read and check every row of the staged file without writing anything."""
    mapping = mapping or mapping_of(run)
    table = open_table(session, run)
    report = CheckReport(
        run=run, mapping=mapping, encoding_label=table.encoding_label, delimiter_label=table.delimiter_label
    )
    report.ignored = ignored_columns(table.header, mapping)
    report.problems = mapping.problems(table.header)
    people = directory(session)
    report.people = people.by_id
    if report.problems:
        return report
    checker = RowChecker(table.header, mapping, people, utcnow())
    new_labels: dict[str, str] = {}
    spellings: dict[str, str] = {}  # assignee value in lower case -> as first written (mappings ignore case)
    for row in Matcher(session, checker).rows(table.records):
        report.rows_read += 1
        if row.ok:
            report.valid += 1
            report.actions[row.values["action"]] += 1
            if len(report.sample) < SAMPLE_ROWS:
                report.sample.append(row)
            for name in row.values["labels"]:
                if name_key(name) not in people.label_keys and len(new_labels) < UNMATCHED_MAX:
                    new_labels.setdefault(name_key(name), name)
        else:
            report.invalid += 1
            report.stale += row.stale
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
        chunks = staged_chunks_apart(session, run.id)
    else:
        chunks = staged_chunks(session, run.id)
    try:
        return _import_chunks(session, actor, run, policy, mapping, chunks)
    finally:
        chunks.close()


def _import_chunks(
    session: Session, actor: User, run: ImportRun, policy: str, mapping: Mapping, chunks: Iterator[bytes]
) -> ImportRun:
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
    checker = RowChecker(table.header, mapping, people, now)
    # PostgreSQL: rows naming issues are matched over a connection of their own, while this one streams the COPY.
    reader = None
    if session.get_bind().dialect.name == "postgresql":
        reader = session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT")
    rows = CheckedRows(table, checker, policy, Matcher(reader or session, checker))
    writer = Writer(session, run, actor_id, people, now)
    try:
        writer.write(rows)
        if rows.first_error is not None:
            session.rollback()
            raise ImportRejected(_nothing_imported(rows.invalid, rows.first_error))
        if writer.updated != len(writer.updates):
            session.rollback()
            raise ImportRejected(
                f"{len(writer.updates) - writer.updated:,} of the issues this file updates changed while it was "
                "imported; nothing was imported. Export them again."
            )
        if writer.created + len(writer.updates) + writer.unchanged != rows.yielded:
            raise ImportFailed(
                f"{rows.yielded:,} rows were written but {writer.created:,} issues found; nothing was imported."
            )
        writer.record_rejects(rows)
        if writer.created:
            fanout.import_created(session, actor_id, run_id, file_name, now)
        session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id)
            .values(
                rows_read=rows.rows_read,
                created_count=writer.created,
                updated_count=writer.updated,
                unchanged_count=writer.unchanged,
                rejected_count=rows.invalid,
                first_issue_id=writer.first_id,
                last_issue_id=writer.last_id,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(sa.delete(ImportChunk).where(ImportChunk.run_id == run_id))
        session.commit()
    except FileProblem:
        discard(session)
        raise
    except ImportFailed as exc:
        discard(session)
        logger.error("Import %s of %s failed; rolled back: %s", run_id, file_name, exc.message)
        raise
    except (sa.exc.SQLAlchemyError, *DRIVER_ERRORS) as exc:
        # A lost connection (the server restarted, the backend was killed mid-COPY) included: its rollback
        # would raise again, so the session lets go of the connection instead.
        discard(session)
        logger.exception("Import %s of %s could not be saved; rolled back", run_id, file_name)
        raise ImportFailed("The import could not be saved and nothing was imported. Please try again.") from exc
    finally:
        rows.close()
        if reader is not None:
            reader.close()
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
    spool = Spool()
    try:
        if not mapping.problems(table.header):
            checker = RowChecker(table.header, mapping, directory(session), utcnow())
            for row in Matcher(session, checker).rows(table.records):
                if not row.ok:
                    spool.add(row)
    except BaseException:
        spool.close()
        raise
    return _drain_spool(spool)


def _drain_spool(spool: Spool) -> Iterator[tuple[int, list[str], str]]:
    """The spooled rows, then the spool dropped."""
    try:
        yield from spool
    finally:
        spool.close()


def _padded(cells: list[str], width: int) -> list[str]:
    """Cells filled up to the header's width, so the error column lines up."""
    return list(cells) + [""] * (width - len(cells))
