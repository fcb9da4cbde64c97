"""Bulk changes: many issues in one transaction, all or nothing, in a constant number of statements."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..errors import DomainError, InvalidInput, Unavailable
from ..issues import duplicates
from ..issues.queries import IssueFilter
from ..issues.queries import matching_ids as list_matching_ids
from ..issues.service import clean_fields, transition_message
from ..labels import service as labels_service
from ..models import (
    BULK_MAX,
    BULK_NOTE_MAX,
    DONE_STATUSES,
    LIVE_ISSUE,
    PRIORITY_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    Issue,
    IssueLabel,
    User,
    among,
    utcnow,
)
from ..notifications import fanout
from ..numbers import whole_number
from ..outage import discard

UNCHANGED: Any = object()


@dataclass
class BulkChange:
    """What to do to every selected issue; UNCHANGED leaves a field alone, assignee None clears it."""

    status: Any = UNCHANGED
    priority: Any = UNCHANGED
    assignee_id: Any = UNCHANGED
    add_label: Any = UNCHANGED  # a Label
    remove_label: Any = UNCHANGED  # a Label
    duplicate_of: Any = UNCHANGED  # an issue number: close them as duplicates of it
    note: str = ""

    def is_empty(self) -> bool:
        """True when the change would change nothing."""
        return all(
            v is UNCHANGED
            for v in (
                self.status,
                self.priority,
                self.assignee_id,
                self.add_label,
                self.remove_label,
                self.duplicate_of,
            )
        )


@dataclass
class Blocker:
    """An issue that stops the bulk change, and why."""

    issue_id: int
    reason: str
    kind: str  # missing | stale | invalid
    title: str = ""


class BulkRejected(DomainError):
    """Some selected issues block the change; nothing was written. 409 if any is stale, else 422."""

    def __init__(self, blockers: list[Blocker]):
        stale = any(b.kind == "stale" for b in blockers)
        self.status = 409 if stale else 422
        self.code = "version_conflict" if stale else "blocked"
        count = len(blockers)
        super().__init__(
            f"{count} issue{'' if count == 1 else 's'} block{'s' if count == 1 else ''} this change; "
            "nothing was changed."
        )
        self.blockers = blockers


class TooMany(DomainError):
    """More issues than one bulk change may touch."""

    status = 413
    code = "too_many"


class BulkFailed(Unavailable):
    """The database failed while writing; everything was rolled back (503 with Retry-After)."""

    code = "bulk_failed"


@dataclass
class BulkResult:
    """What a successful bulk change did."""

    changed_ids: list[int]
    unchanged_ids: list[int]
    change: BulkChange
    summary: str = ""
    versions: dict[int, int] = field(default_factory=dict)


def parse_ids(raw: Iterable[str]) -> list[int]:
    """Selected issue ids from form values, without duplicates, in order; at most BULK_MAX."""
    ids: list[int] = []
    seen: set[int] = set()
    for value in raw:
        text = str(value).strip()
        if not text:
            continue
        number = whole_number(text)
        if number is None:
            raise InvalidInput({"issue_ids": f"'{text[:40]}' is not an issue number."})
        if number not in seen:
            seen.add(number)
            ids.append(number)
    if len(ids) > BULK_MAX:
        raise TooMany(
            f"A bulk change can touch at most {BULK_MAX:,} issues; {len(ids):,} were selected. Narrow the selection."
        )
    return ids


def matching_ids(session: Session, view: IssueFilter) -> list[int]:
    """Every issue the list filter matches ("select all matching"), in list order; more than BULK_MAX is TooMany."""
    ids = list_matching_ids(session, view, limit=BULK_MAX + 1)
    if len(ids) > BULK_MAX:
        raise TooMany(f"More than {BULK_MAX:,} issues match this filter; narrow it to change them in bulk.")
    return ids


def parse_versions(ids: list[int], form: Mapping[str, Any], required: bool) -> dict[int, int]:
    """The version each selected row was shown with (version_<id>); required unless selecting by filter."""
    versions: dict[int, int] = {}
    for issue_id in ids:
        raw = str(form.get(f"version_{issue_id}", "") or "").strip()
        if not raw:
            if required:
                raise InvalidInput(
                    {"issue_ids": f"The version of #{issue_id} is missing; reload the list and try again."}
                )
            continue
        version = whole_number(raw)
        if not version:
            raise InvalidInput({"issue_ids": f"The version of #{issue_id} ('{raw[:40]}') is not a positive number."})
        versions[issue_id] = version
    return versions


def parse_change(session: Session, form: Mapping[str, Any]) -> BulkChange:
    """The change from form values: empty means "leave alone"; assignee_id 'none' clears the assignee."""
    errors: dict[str, str] = {}
    change = BulkChange()
    # Status, priority and assignee follow the single-issue rules; empty means "leave alone".
    fields = {name: str(form.get(name, "") or "").strip() for name in ("status", "priority", "assignee_id")}
    try:
        cleaned = clean_fields(session, {name: value for name, value in fields.items() if value})
    except InvalidInput as exc:
        errors.update(exc.errors)
    else:
        for name, value in cleaned.items():
            setattr(change, name, value)
    for key in ("add_label", "remove_label"):
        raw = str(form.get(key, "") or "").strip()
        if raw:
            label_id = whole_number(raw)
            label = labels_service.by_ids(session, [label_id]).get(label_id) if label_id is not None else None
            if label is None:
                errors[key] = f"Unknown label '{raw}'; it may have been deleted."
            else:
                setattr(change, key, label)
    if (
        change.add_label is not UNCHANGED
        and change.remove_label is not UNCHANGED
        and change.add_label.id == change.remove_label.id
    ):
        errors["remove_label"] = "A label cannot be added and removed in the same change."
    raw_duplicate = str(form.get("duplicate_of", "") or "").strip()
    if raw_duplicate:
        try:
            target_id = duplicates.parse_target(raw_duplicate)
            duplicates.original_of(session, 0, target_id)
        except InvalidInput as exc:
            errors.update(exc.errors)
        else:
            if change.status not in (UNCHANGED, "closed"):
                errors["duplicate_of"] = "Closing as a duplicate closes the issues: leave the status unchanged."
            change.duplicate_of = target_id
            change.status = "closed"
    note = " ".join(str(form.get("note", "") or "").split())
    if len(note) > BULK_NOTE_MAX:
        errors["note"] = f"The note can be at most {BULK_NOTE_MAX} characters (it has {len(note)})."
    change.note = note
    if errors:
        raise InvalidInput(errors)
    if change.is_empty():
        raise InvalidInput({"status": "Choose what to change: a status, priority, assignee or label."})
    return change


def _events_insert(dialect: str) -> sa.TextClause:
    """One INSERT that expands a JSON array of events in SQL, so any number of events is one statement."""
    columns = "issue_id, actor_id, kind, changes, version, created_at, note"
    if dialect == "postgresql":
        return sa.text(
            f"INSERT INTO issue_events ({columns}) "
            "SELECT (e->>'issue_id')::int, :actor_id, 'bulk', e->'changes', (e->>'version')::int, :created_at, :note "
            "FROM json_array_elements(CAST(:events AS json)) AS e"
        )
    return sa.text(
        f"INSERT INTO issue_events ({columns}) "
        "SELECT json_extract(e.value, '$.issue_id'), :actor_id, 'bulk', json_extract(e.value, '$.changes'), "
        "json_extract(e.value, '$.version'), :created_at, :note FROM json_each(:events) AS e"
    )


def version_guard(dialect: str, pairs: list[tuple[int, int]]) -> sa.ColumnElement[bool]:
    """`(id, version) IN` the given pairs, expanded from one JSON parameter: a long literal list of row values
    overflows PostgreSQL's parser stack (about 8,000 pairs), a JSON array of any length does not."""
    if dialect == "postgresql":
        rows = "SELECT (p->>0)::int, (p->>1)::int FROM json_array_elements(CAST(:guard AS json)) AS p"
    else:
        rows = "SELECT json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]') FROM json_each(:guard) AS p"
    pairs_select = (
        sa.text(rows)
        .bindparams(guard=json.dumps(pairs))
        .columns(sa.column("id", sa.Integer), sa.column("version", sa.Integer))
    )
    return sa.tuple_(Issue.id, Issue.version).in_(pairs_select)


def insert_events(session: Session, actor_id: int, events: list[dict], note: str, now) -> None:
    """Write all events of a bulk change in one statement."""
    dialect = session.get_bind().dialect.name
    session.execute(
        _events_insert(dialect),
        {"actor_id": actor_id, "created_at": now, "note": note or None, "events": json.dumps(events)},
    )


class Current(NamedTuple):
    """One selected issue's fields as read at the start of a bulk change (a plain tuple: a bulk change reads 10,000
    of them, and SQLAlchemy's Row resolves each attribute by name in Python, several times a row)."""

    id: int
    title: str
    status: str
    priority: str
    assignee_id: int | None
    version: int
    resolved_at: datetime | None
    duplicate_of_id: int | None


@dataclass
class _Read:
    """The selected issues as read at the start of a bulk change: their fields and, for a label change, labels."""

    rows: dict[int, Current]
    label_sets: dict[int, set[int]]


@dataclass
class _Plan:
    """What a bulk change will write: one event per changed issue, and which issues it leaves as they are."""

    events: list[dict] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged_ids: list[int] = field(default_factory=list)


def apply_bulk(
    session: Session,
    actor: User,
    ids: list[int],
    versions: dict[int, int] | None,
    change: BulkChange,
) -> BulkResult:
    """Apply `change` to every issue in `ids`, or to none: blockers (missing, stale, invalid) raise BulkRejected.

    `versions` are the versions the rows were shown with; None (selection by filter) uses the versions read
    here. Statements: read issues, read label sets (label changes only), one guarded UPDATE, one label
    statement, one events INSERT: the same number for 10 or 10,000 issues.
    """
    access.require_edit_issues(actor)
    if not ids:
        raise InvalidInput({"issue_ids": "Select at least one issue."})
    if len(ids) > BULK_MAX:
        raise TooMany(f"A bulk change can touch at most {BULK_MAX:,} issues; {len(ids):,} were selected.")
    read = _read(session, ids, _changes_labels(change))
    blockers = find_blockers(ids, read.rows, versions, change)
    if blockers:
        raise BulkRejected(blockers)
    plan = _plan(ids, read, change)
    result = BulkResult(changed_ids=plan.changed_ids, unchanged_ids=plan.unchanged_ids, change=change)
    result.summary = summarise(result)
    if plan.changed_ids:
        _write(session, actor, change, read, plan, result.summary)
        result.versions = {i: read.rows[i].version + 1 for i in plan.changed_ids}
    return result


def _changes_labels(change: BulkChange) -> bool:
    """Whether the change adds or removes a label."""
    return change.add_label is not UNCHANGED or change.remove_label is not UNCHANGED


def _read(session: Session, ids: list[int], with_labels: bool) -> _Read:
    """The selected issues' fields in one query and, when labels change, their label sets in another. Both run on
    the session's connection as plain Core statements (its transaction; the ORM's result handling cost more than the
    query at 10,000 issues), each issue's fields as a Current tuple."""
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    fields = sa.select(*(getattr(Issue, name) for name in Current._fields))
    rows = {
        row[0]: Current._make(row)
        for row in connection.execute(fields.where(among(Issue.id, ids, dialect), LIVE_ISSUE))
    }
    label_sets: dict[int, set[int]] = defaultdict(set)
    if with_labels:
        for issue_id, label_id in connection.execute(
            sa.select(IssueLabel.issue_id, IssueLabel.label_id).where(among(IssueLabel.issue_id, ids, dialect))
        ):
            label_sets[issue_id].add(label_id)
    return _Read(rows, label_sets)


def find_blockers(
    ids: list[int], rows: Mapping[int, Any], versions: dict[int, int] | None, change: BulkChange
) -> list[Blocker]:
    """Every selected issue that stops the change: gone, changed since it was shown, or not allowed the status."""
    blockers: list[Blocker] = []
    status = change.status
    duplicate_of = change.duplicate_of
    for issue_id in ids:
        row = rows.get(issue_id)
        if row is None:
            blockers.append(Blocker(issue_id, "This issue no longer exists.", "missing"))
            continue
        shown = versions.get(issue_id) if versions is not None else None
        if shown is not None and shown != row.version:
            reason = (
                f"Changed since you loaded the list (you saw version {shown}, it is now version {row.version})."
                if shown < row.version
                else f"Version {shown} is newer than the issue's current version {row.version}."
            )
            blockers.append(Blocker(issue_id, reason, "stale", row.title))
            continue
        if duplicate_of is not UNCHANGED and issue_id == duplicate_of:
            blockers.append(Blocker(issue_id, "An issue cannot be a duplicate of itself.", "invalid", row.title))
            continue
        if status is not UNCHANGED and row.status != status and status not in TRANSITIONS[row.status]:
            blockers.append(Blocker(issue_id, transition_message(row.status, status), "invalid", row.title))
    return blockers


def _plan(ids: list[int], read: _Read, change: BulkChange) -> _Plan:
    """Per issue, what actually changes (old -> new), as the event the timeline will show."""
    plan = _Plan()
    # The fields the change sets, with their new values: looked up once, not per issue.
    setting = [
        (name, getattr(change, name))
        for name in ("status", "priority", "assignee_id")
        if getattr(change, name) is not UNCHANGED
    ]
    duplicate_of = change.duplicate_of
    reopening = change.status is not UNCHANGED and change.status != "closed"
    labels_change = _changes_labels(change)
    for issue_id in ids:
        row = read.rows[issue_id]
        changes: dict[str, Any] = {}
        for name, new in setting:
            old = getattr(row, name)
            if old != new:
                changes[name] = [old, new]
        if duplicate_of is not UNCHANGED and row.duplicate_of_id != duplicate_of:
            changes["duplicate_of"] = [row.duplicate_of_id, duplicate_of]
        elif reopening and "status" in changes and row.duplicate_of_id is not None:
            changes["duplicate_of"] = [row.duplicate_of_id, None]  # reopened: no longer a duplicate
        if labels_change:
            changes.update(_label_change(read.label_sets[issue_id], change))
        if changes:
            plan.changed_ids.append(issue_id)
            plan.events.append({"issue_id": issue_id, "changes": changes, "version": row.version + 1})
        else:
            plan.unchanged_ids.append(issue_id)
    return plan


def _label_change(old: set[int], change: BulkChange) -> dict[str, Any]:
    """The labels entry of one issue's event (with the names of the labels concerned), or nothing."""
    new_set = set(old)
    if change.add_label is not UNCHANGED:
        new_set.add(change.add_label.id)
    if change.remove_label is not UNCHANGED:
        new_set.discard(change.remove_label.id)
    if new_set == old:
        return {}
    names = {str(label.id): label.name for label in (change.add_label, change.remove_label) if label is not UNCHANGED}
    return {"labels": [sorted(old), sorted(new_set)], "label_names": names}


def _write(session: Session, actor: User, change: BulkChange, read: _Read, plan: _Plan, summary: str) -> None:
    """One guarded UPDATE of every changed issue, one statement per label change, one INSERT of the events, the
    notifications (tracker/notifications/fanout.py); committed together, or BulkRejected (a race) / BulkFailed (the
    database) with nothing written."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    values: dict[str, Any] = {"version": Issue.version + 1, "updated_at": now}
    for name in ("status", "priority", "assignee_id"):
        if getattr(change, name) is not UNCHANGED:
            values[name] = getattr(change, name)
    if change.status is not UNCHANGED:
        if change.status in DONE_STATUSES:
            keep = sa.and_(Issue.status.in_(DONE_STATUSES), Issue.resolved_at.isnot(None))
            values["resolved_at"] = sa.case((keep, Issue.resolved_at), else_=sa.literal(now, sa.DateTime))
        else:
            values["resolved_at"] = None
            if change.status != "closed":
                values["duplicate_of_id"] = None
    if change.duplicate_of is not UNCHANGED:
        values["duplicate_of_id"] = change.duplicate_of
    changed_ids = plan.changed_ids
    guard = version_guard(session.get_bind().dialect.name, [(i, read.rows[i].version) for i in changed_ids])
    try:
        updated = session.execute(
            sa.update(Issue).where(guard, LIVE_ISSUE).values(**values).execution_options(synchronize_session=False)
        ).rowcount
        if updated != len(changed_ids):
            session.rollback()
            raise BulkRejected(_raced(session, changed_ids, {i: read.rows[i].version for i in changed_ids}))
        if change.remove_label is not UNCHANGED:
            session.execute(
                sa.delete(IssueLabel).where(
                    IssueLabel.label_id == change.remove_label.id,
                    among(IssueLabel.issue_id, changed_ids, dialect),
                )
            )
        if change.add_label is not UNCHANGED:
            missing = [i for i in changed_ids if change.add_label.id not in read.label_sets[i]]
            if missing:
                session.execute(
                    sa.insert(IssueLabel).from_select(
                        ["issue_id", "label_id"],
                        sa.select(Issue.id, sa.literal(change.add_label.id)).where(among(Issue.id, missing, dialect)),
                    )
                )
        insert_events(session, actor.id, plan.events, change.note, now)
        if change.duplicate_of is not UNCHANGED:
            marked = [e["issue_id"] for e in plan.events if "duplicate_of" in e["changes"]]
            if marked:
                duplicates.note_on_original(session, actor, change.duplicate_of, marked, now)
        fanout.bulk_changed(
            session,
            actor.id,
            [e["issue_id"] for e in plan.events if "assignee_id" in e["changes"]],
            None if change.assignee_id is UNCHANGED else change.assignee_id,
            [e["issue_id"] for e in plan.events if "status" in e["changes"]],
            None if change.status is UNCHANGED else change.status,
            summary,
            change.note,
            now,
        )
        session.commit()
    except sa.exc.IntegrityError:
        # The label to add was deleted while the change was applied (delete_label locks it): nothing is changed.
        discard(session)
        raise InvalidInput({"add_label": labels_service.LABEL_GONE}) from None
    except sa.exc.SQLAlchemyError as exc:
        discard(session)  # a lost connection's rollback would raise again
        raise BulkFailed("The bulk change could not be saved and nothing was changed. Please try again.") from exc


def _raced(session: Session, ids: list[int], read: dict[int, int]) -> list[Blocker]:
    """After a lost race: which issues changed between our read and our guarded update."""
    dialect = session.get_bind().dialect.name
    now_versions = dict(session.execute(sa.select(Issue.id, Issue.version).where(among(Issue.id, ids, dialect))).all())
    return [
        Blocker(
            i,
            f"Changed by someone else while this change was being applied (now version {now_versions.get(i)}).",
            "stale",
        )
        for i in ids
        if now_versions.get(i) != read[i]
    ] or [Blocker(ids[0], "Changed by someone else while this change was being applied.", "stale")]


def summarise(result: BulkResult) -> str:
    """A sentence such as "12 issues moved to Resolved." or "Updated 3 issues: priority High, label +bug."."""
    change = result.change
    count = len(result.changed_ids)
    noun = f"{count} issue{'' if count == 1 else 's'}"
    parts = []
    if change.duplicate_of is not UNCHANGED:
        parts.append(f"closed as duplicate{'' if count == 1 else 's'} of #{change.duplicate_of}")
    elif change.status is not UNCHANGED:
        parts.append(f"status {STATUS_LABELS[change.status]}")
    if change.priority is not UNCHANGED:
        parts.append(f"priority {PRIORITY_LABELS[change.priority]}")
    if change.assignee_id is not UNCHANGED:
        parts.append("assignee cleared" if change.assignee_id is None else "assignee set")
    if change.add_label is not UNCHANGED:
        parts.append(f"label +{change.add_label.name}")
    if change.remove_label is not UNCHANGED:
        parts.append(f"label −{change.remove_label.name}")
    if parts == [f"status {STATUS_LABELS.get(change.status, '')}"]:
        text = f"{noun} moved to {STATUS_LABELS[change.status]}."
    else:
        text = f"Updated {noun}: {', '.join(parts)}."
    if result.unchanged_ids:
        same = len(result.unchanged_ids)
        if len(parts) == 1 and change.remove_label is not UNCHANGED:
            reason = "did not carry the label"
        elif len(parts) == 1 and change.add_label is not UNCHANGED:
            reason = "already carried the label"
        else:
            reason = f"already had {'this value' if len(parts) == 1 else 'these values'}"
        text += f" {same} {reason} and stayed as {'it was' if same == 1 else 'they were'}."
    return text
