"""Imports that update: a row naming one of Tracker's issues (the `id` column, as the CSV export writes it) changes
that issue instead of creating one, guarded by the row's `version` exactly like an edit.

Rows are matched a BATCH at a time (two queries: the issues, their labels), so the check and the import stay set-
based; the writer then applies every update of a batch in one guarded UPDATE.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ..issues.service import resolved_at_for, transition_message
from ..labels.service import name_key
from ..models import TRANSITIONS, Issue, IssueEvent, IssueLabel, Label, User
from .copying import insert_rows
from .validate import Row, RowChecker

BATCH = 5000
# The fields an updating row may change, as the edit form names them (the timeline shows them the same way).
FIELDS = ("title", "description", "status", "priority", "assignee_id", "labels")


@dataclass
class Current:
    """An issue as it is now, for comparing a row with it."""

    id: int
    version: int
    values: dict[str, Any]
    resolved_at: datetime | None
    label_keys: dict[str, tuple[int, str]]  # name_key -> (label id, name)


class Matcher:
    """Checks records with a RowChecker and matches those that name an issue against the database."""

    def __init__(self, session: Session | sa.Connection, checker: RowChecker):
        """Match over this session (or a connection of its own, while the session streams a COPY); which fields
        the file fills decides what an update compares."""
        self.session = session
        self.checker = checker
        mapped = set(checker.mapping.columns)
        self.fields = [f for f in FIELDS if _target(f) & mapped]
        self.first_lines: dict[tuple[str, Any], int] = {}  # ("id", 12) or ("key", "PROJ-9") -> the line naming it

    def rows(self, records: Iterable[tuple[int, list[str]]]) -> Iterator[Row]:
        """Every record checked, in file order; a row naming an issue gets its action (update or unchanged), or a
        problem (no such issue, changed since the export, a status the workflow does not allow). An assignee who
        cannot be assigned now (deactivated, a viewer) is a problem unless the row leaves the issue's as it is."""
        records = iter(records)
        while batch := list(itertools.islice(records, BATCH)):
            rows = [self.checker.check(line, cells) for line, cells in batch]
            self._match_keys([r for r in rows if r.ok and not r.values["issue_id"] and r.values["external_key"]])
            self._once(rows)
            named = [r for r in rows if r.ok and r.values.get("issue_id")]
            if named:
                current = self._current([r.values["issue_id"] for r in named])
                stale_since = self._stale_since(named, current)
                for row in named:
                    self._classify(row, current.get(row.values["issue_id"]), stale_since)
            for row in rows:
                if row.kept_assignee and not _keeps_assignee(row):
                    row.refuse_kept_assignee()
            yield from rows

    def _match_keys(self, keyed: list[Row]) -> None:
        """Rows of another tracker's export whose key an issue already has (imported from an earlier export) name that
        issue: they update it instead of creating a duplicate (one query). A key several issues share is refused."""
        if not keyed:
            return
        holders: dict[str, list[int]] = {}
        for issue_id, key in self.session.execute(
            sa.select(Issue.id, Issue.external_key).where(
                Issue.external_key.in_({r.values["external_key"] for r in keyed}), Issue.deleted_at.is_(None)
            )
        ):
            holders.setdefault(key, []).append(issue_id)
        for row in keyed:
            found = holders.get(row.values["external_key"], [])
            if len(found) == 1:
                row.values["issue_id"] = found[0]
            elif found:
                key = row.values["external_key"]
                ids = ", ".join(f"#{i}" for i in sorted(found)[:5])
                self._refuse(row, f"{len(found)} issues have the key {key} ({ids}); give the row an id to choose one")

    def _once(self, rows: list[Row]) -> None:
        """One row per issue: a row naming an issue (by id, or by a key an issue has) that an earlier row of the file
        named already, or creating an issue with a key an earlier row gave, is refused with the line of the first.
        Two updates of one issue would be one UPDATE of two source rows (the import then took the second for a
        race), and two new issues with one key would make every later import of that key ambiguous."""
        for row in rows:
            if not row.ok:
                continue
            issue_id, key = row.values["issue_id"], row.values["external_key"]
            named = ("id", issue_id) if issue_id else ("key", key) if key else None
            if named is None:
                continue
            first = self.first_lines.setdefault(named, row.line)
            if first == row.line:
                continue
            if issue_id:
                self._refuse(row, f"issue #{issue_id} is also on line {first}: one row per issue")
            else:
                self._refuse(row, f"the key {key} is also on line {first}: one row per issue", column="key")

    def _current(self, ids: list[int]) -> dict[int, Current]:
        """The live issues with these ids and their label names (two queries)."""
        found = {
            row.id: Current(
                row.id, row.version, {f: getattr(row, f) for f in FIELDS if f != "labels"}, row.resolved_at, {}
            )
            for row in self.session.execute(
                sa.select(
                    Issue.id, Issue.version, Issue.title, Issue.description, Issue.status, Issue.priority,
                    Issue.assignee_id, Issue.resolved_at,
                ).where(Issue.id.in_(ids), Issue.deleted_at.is_(None))
            )
        }
        for issue_id, label_id, name in self.session.execute(
            sa.select(IssueLabel.issue_id, Label.id, Label.name)
            .join(Label, Label.id == IssueLabel.label_id)
            .where(IssueLabel.issue_id.in_(list(found)))
        ):
            found[issue_id].label_keys[name_key(name)] = (label_id, name)
        return found

    def _stale_since(self, named: list[Row], current: dict[int, Current]) -> dict[int, tuple[set, set]]:
        """For rows whose version is older than their issue's: the fields changed since and by whom (one query)."""
        stale = {
            r.values["issue_id"]: r.values["version"]
            for r in named
            if r.values.get("version") and r.values["issue_id"] in current
            and r.values["version"] < current[r.values["issue_id"]].version
        }
        if not stale:
            return {}
        actor = aliased(User)
        since: dict[int, tuple[set, set]] = {}
        for issue_id, version, changes, name in self.session.execute(
            sa.select(IssueEvent.issue_id, IssueEvent.version, IssueEvent.changes, actor.name)
            .outerjoin(actor, actor.id == IssueEvent.actor_id)
            .where(IssueEvent.issue_id.in_(list(stale)), IssueEvent.kind.in_(("updated", "bulk")))
        ):
            if version > stale[issue_id]:
                fields, people = since.setdefault(issue_id, (set(), set()))
                fields.update(f.removesuffix("_id") for f in (changes or {}) if f != "label_names")
                people.add(name or "someone")
        return since

    def _classify(self, row: Row, current: Current | None, stale_since: dict[int, tuple[set, set]]) -> None:
        """Mark the row as an update (with its changes), unchanged, or give it the problem that stops it."""
        values = row.values
        issue_id = values["issue_id"]
        if current is None:
            self._refuse(row, f"there is no issue #{issue_id} (deleted, or from another tracker: empty the id "
                              "column to create it)")
            return
        given = values.get("version")
        if given and given != current.version:
            if given > current.version:
                self._refuse(row, f"issue #{issue_id} has no version {given} yet (it is at version {current.version})")
                return
            fields, people = stale_since.get(issue_id, (set(), set()))
            what = f"{', '.join(sorted(fields)) or 'something'} changed by {', '.join(sorted(people)) or 'someone'}"
            self._refuse(row, f"issue #{issue_id} changed since the export (version {given}, now {current.version}: "
                              f"{what}); export it again")
            row.stale = True
            return
        changes: dict[str, list] = {}
        for name in self.fields:
            if name == "labels":
                new_keys = {name_key(n): n for n in values["labels"]}
                if set(new_keys) != set(current.label_keys):
                    changes["labels"] = [sorted(current.label_keys), sorted(new_keys)]  # by name_key until written
            elif values[name] != current.values[name]:
                changes[name] = [current.values[name], values[name]]
        if "status" in changes:
            old, new = changes["status"]
            if new not in TRANSITIONS[old]:
                self._refuse(row, transition_message(old, new))
                return
        values["action"] = "update" if changes else "unchanged"
        values["changes"] = changes
        values["current_version"] = current.version
        values["current"] = current

    def _refuse(self, row: Row, reason: str, column: str = "id") -> None:
        """The row cannot be imported: why (the problem of the file's column mapped to `column`)."""
        index = self.checker.single.get(column)
        row.problems.append((self.checker.header[index] if index is not None else column, reason))
        row.values = None


def _keeps_assignee(row: Row) -> bool:
    """True for a row that updates an issue (or leaves it as it is) without changing its assignee."""
    return row.ok and row.values["action"] in ("update", "unchanged") and "assignee_id" not in row.values["changes"]


def _target(name: str) -> set[str]:
    """The mapping targets that fill this field."""
    if name == "assignee_id":
        return {"assignee", "assignee_email", "assignee_id"}
    return {name}


def _when(value: datetime | None, dialect: str) -> str | None:
    """A timestamp as the JSON of the update statement carries it (SQLite: as SQLAlchemy stores it)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value.isoformat()


def _update_statement(dialect: str) -> sa.TextClause:
    """One guarded UPDATE of any number of issues, their new values expanded from one JSON parameter; only rows
    still at the version they were matched at change."""
    columns = ("title", "description", "status", "priority", "assignee_id", "resolved_at")
    if dialect == "postgresql":
        source = (
            "SELECT (e->>'id')::int AS id, (e->>'version')::int AS version, e->>'title' AS title, "
            "e->>'description' AS description, e->>'status' AS status, e->>'priority' AS priority, "
            "(e->>'assignee_id')::int AS assignee_id, (e->>'resolved_at')::timestamp AS resolved_at "
            "FROM json_array_elements(CAST(:rows AS json)) AS e"
        )
    else:
        source = (
            "SELECT " + ", ".join(f"json_extract(e.value, '$.{c}') AS {c}" for c in ("id", "version", *columns))
            + " FROM json_each(:rows) AS e"
        )
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    return sa.text(
        f"UPDATE issues SET {assignments}, updated_at = :now, version = issues.version + 1 "
        f"FROM ({source}) AS v WHERE issues.id = v.id AND issues.version = v.version AND issues.deleted_at IS NULL"
    )


def apply_updates(session: Session, rows: list[Row], actor_id: int, note: str, label_ids: dict[str, int], now) -> int:
    """Write the updates: per BATCH rows one guarded UPDATE, one DELETE and one INSERT of changed label sets, one
    INSERT of 'updated' timeline entries. Returns how many issues changed; fewer than asked means someone saved
    meanwhile (the caller rolls back)."""
    dialect = session.get_bind().dialect.name
    statement = _update_statement(dialect)
    changed = 0
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        payload = []
        for row in batch:
            v, current = row.values, row.values["current"]
            merged = {**current.values, **{k: new for k, (_old, new) in v["changes"].items() if k != "labels"}}
            resolved = resolved_at_for(current.values["status"], merged["status"], current.resolved_at, now)
            payload.append({"id": v["issue_id"], "version": v["current_version"], **merged,
                            "resolved_at": _when(resolved, dialect)})
        changed += session.execute(statement, {"rows": json.dumps(payload), "now": now}).rowcount
        relabelled = [r for r in batch if "labels" in r.values["changes"]]
        if relabelled:
            session.execute(
                sa.delete(IssueLabel).where(IssueLabel.issue_id.in_([r.values["issue_id"] for r in relabelled]))
            )
            insert_rows(
                session,
                IssueLabel.__table__,
                ("issue_id", "label_id"),
                [(r.values["issue_id"], label_ids[name_key(n)]) for r in relabelled for n in r.values["labels"]],
            )
        insert_rows(
            session,
            IssueEvent.__table__,
            ("issue_id", "actor_id", "kind", "changes", "version", "created_at", "note"),
            [
                (r.values["issue_id"], actor_id, "updated", _event_changes(r.values, label_ids),
                 r.values["current_version"] + 1, now, note)
                for r in batch
            ],
        )
    return changed


def _event_changes(values: dict[str, Any], label_ids: dict[str, int]) -> dict[str, Any]:
    """The timeline's record of an update, as an edit records it (labels as ids, with the names concerned)."""
    changes = values["changes"]
    recorded: dict[str, Any] = {k: v for k, v in changes.items() if k != "labels"}
    if "labels" in changes:
        current = values["current"].label_keys
        old = {current[key][0]: current[key][1] for key in changes["labels"][0]}
        new = {label_ids[name_key(n)]: n for n in values["labels"]}
        recorded["labels"] = [sorted(old), sorted(new)]
        recorded["label_names"] = {str(i): n for i, n in {**old, **new}.items() if (i in old) != (i in new)}
    return recorded
