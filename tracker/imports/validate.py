"""Checking one CSV row against the tracker's rules: plain values in, issue fields or reasons out.

No Flask and no database: the service builds a Directory (users and labels, one query each) and hands it in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .. import access
from ..labels.service import name_key, name_length_problem
from ..models import DESCRIPTION_MAX, DONE_STATUSES, EXTERNAL_KEY_MAX, PRIORITIES, STATUSES, TITLE_MAX
from ..numbers import whole_number
from .parse import ASSIGNEE_TARGETS, Mapping, parse_when, split_labels, unescape, word_key

SEEN_WORDS_MAX = 50  # distinct status or priority words listed on the preview
MEMO_MAX = 4096  # distinct cell values whose outcome a checker remembers, per kind of cell
UNASSIGNED = "none"  # what an assignee value can be mapped to on the preview besides a user id
# 14/03/2024, 03.04.24...: a local date format, which this import does not guess (day or month first?).
_NUMERIC_DATE = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b")


@dataclass
class Person:
    """The little an import needs to know about a user."""

    id: int
    name: str
    email: str
    active: bool
    role: str = "member"


@dataclass
class Directory:
    """Users by email, id and name, and label names already in use; built once per check or import."""

    by_email: dict[str, Person] = field(default_factory=dict)
    by_id: dict[int, Person] = field(default_factory=dict)
    active_by_name: dict[str, list[Person]] = field(default_factory=dict)
    label_keys: dict[str, int] = field(default_factory=dict)  # name_key(name) -> label id

    @classmethod
    def build(cls, people: list[Person], labels: list[tuple[int, str]]) -> Directory:
        """Index the users and the labels (id, name)."""
        directory = cls()
        for person in people:
            directory.by_email[person.email.lower()] = person
            directory.by_id[person.id] = person
            if person.active:
                directory.active_by_name.setdefault(word_key(person.name), []).append(person)
        directory.label_keys = {name_key(name): label_id for label_id, name in labels}
        return directory


@dataclass
class Row:
    """One record of the file after checking: its cells, and either the issue's fields or the problems."""

    line: int
    cells: list[str]
    values: dict | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column name, reason)
    # The assignee value that matched no user, or was mapped to one on the preview: the preview lists it to map.
    unmatched_assignee: str | None = None
    stale: bool = False  # names an issue changed since the file was exported (updates.py)
    # (column, why, value) for an assignee who cannot be assigned now (deactivated, a viewer): fine on a row that
    # leaves its issue's assignee as it is (an export's round trip), a problem on any other (updates.py settles it).
    kept_assignee: tuple[str, str, str] | None = None

    def refuse_kept_assignee(self) -> None:
        """The row would give an issue an assignee who cannot be assigned: a problem, listed to map on the check."""
        if self.kept_assignee is None:
            return
        column, reason, raw = self.kept_assignee
        self.kept_assignee = None
        self.problems.append((column, reason))
        self.unmatched_assignee = raw
        self.values = None

    @property
    def ok(self) -> bool:
        """True when the row can be imported."""
        return not self.problems

    @property
    def error(self) -> str:
        """All reasons in one sentence, as shown on the preview and written to the rejected rows."""
        return "; ".join(reason for _column, reason in self.problems)




SINGLE_TARGETS = (
    "title", "description", "status", "priority", "created_at", "resolved_at", "key", "id", "version", "reporter"
)


class RowChecker:
    """Turns records into issue fields by a Mapping; never raises for a bad cell, only reports it."""

    def __init__(self, header: list[str], mapping: Mapping, directory: Directory, now: datetime):
        """Prepare the column lookups and word mappings once."""
        self.header = header
        self.mapping = mapping
        self.directory = directory
        self.now = now
        self.width = len(header)
        self.status_words = mapping.words("status")
        self.priority_words = mapping.words("priority")
        self.assignee_overrides = {k.lower(): v for k, v in mapping.assignees.items()}
        self.single = {
            target: (mapping.columns_of(target) or [None])[0]
            for target in SINGLE_TARGETS
        }
        self.label_columns = mapping.columns_of("labels")
        # Words met in the status and priority columns (compared form -> first spelling), for the preview.
        self.seen_words: dict[str, dict[str, str]] = {"status": {}, "priority": {}}
        # Outcomes by cell text: a file repeats few statuses, priorities, assignees and label sets.
        self._words: dict[str, dict[str, str | None]] = {"status": {}, "priority": {}}
        self._assignees: dict[str, tuple[int | None, str, bool]] = {}
        self._label_sets: dict[tuple[str, ...], tuple[list[str], list[tuple[str, str]]]] = {}
        self.assignee_column: tuple[str, int] | None = None
        for target in ASSIGNEE_TARGETS:
            columns = mapping.columns_of(target)
            if columns:
                self.assignee_column = (target, columns[0])
                break

    def _cell(self, cells: list[str], index: int | None) -> str:
        """A cell's text with an export's formula guard removed ('' when the row is shorter)."""
        if index is None or index >= len(cells):
            return ""
        return unescape(cells[index])

    def _name(self, index: int) -> str:
        """The column's name as written in the header."""
        return self.header[index] if index < len(self.header) else f"column {index + 1}"

    def check(self, line: int, cells: list[str]) -> Row:
        """Check one record; the Row carries the fields to insert or every problem found."""
        row = Row(line, cells)
        problems = row.problems
        extra = [c for c in cells[self.width :] if c.strip()]
        if extra:
            problems.append(
                (
                    "",
                    f"the row has {len(cells)} values but the header has {self.width} columns; "
                    "is a delimiter inside an unquoted value?",
                )
            )
        values: dict = {}

        title_index = self.single["title"]
        title = " ".join(self._cell(cells, title_index).split())
        title_name = self._name(title_index) if title_index is not None else "title"
        updating_without_titles = title_index is None and bool(self._cell(cells, self.single["id"]).strip())
        if not title and not updating_without_titles:  # a file of ids and other fields keeps the issues' titles
            problems.append((title_name, f"{title_name} is empty; every issue needs a title"))
        elif len(title) > TITLE_MAX:
            problems.append(
                (title_name, f"{title_name} is {len(title)} characters long; at most {TITLE_MAX} are allowed")
            )
        values["title"] = title

        description = (
            self._cell(cells, self.single["description"]).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        )
        key = " ".join(self._cell(cells, self.single["key"]).split())
        if self.mapping.format == "redmine":
            key = key.removeprefix("#")
        if len(key) > EXTERNAL_KEY_MAX:
            name = self._name(self.single["key"])
            problems.append((name, f"{name} is {len(key)} characters long; at most {EXTERNAL_KEY_MAX} are allowed"))
        values["external_key"] = key or None  # the key in the tracker it comes from, in a field of its own
        values["reporter_id"] = self._reporter(cells, row)
        if len(description) > DESCRIPTION_MAX:
            name = self._name(self.single["description"])
            problems.append(
                (name, f"{name} is {len(description):,} characters long; at most {DESCRIPTION_MAX:,} are allowed")
            )
        values["description"] = description

        values["status"] = self._word(cells, "status", STATUSES, self.status_words, "open", problems)
        values["priority"] = self._word(cells, "priority", PRIORITIES, self.priority_words, "medium", problems)
        values["assignee_id"] = self._assignee(cells, row)
        values["labels"] = self._labels(cells, problems)

        values["issue_id"] = self._number(cells, "id", problems)
        values["version"] = self._number(cells, "version", problems)
        values["action"] = "create"
        created_at = self._when(cells, "created_at", problems)
        resolved_at = self._when(cells, "resolved_at", problems)
        if created_at and resolved_at and resolved_at < created_at:
            name = self._name(self.single["resolved_at"])
            problems.append(
                (
                    name,
                    f"{name} ({resolved_at:%Y-%m-%d %H:%M}) is before the issue was created "
                    f"({created_at:%Y-%m-%d %H:%M})",
                )
            )
        # Only done issues keep a resolution time; a reopened issue's old one is dropped. A done issue without
        # one keeps it unknown (NULL), so the reports never count it as resolved in no time.
        resolved_at = resolved_at if values["status"] in DONE_STATUSES else None
        # Created at import time unless the file says otherwise, but never after the issue was resolved.
        values["created_at"] = created_at or resolved_at
        values["resolved_at"] = resolved_at
        if not (values["issue_id"] or values["external_key"]):
            row.refuse_kept_assignee()  # a row naming no issue creates one: never assigned to them
        if not problems:
            row.values = values
        return row

    def _reporter(self, cells: list[str], row: Row) -> int | None:
        """The reporter named by the reporter column (any known person, by email, id or unique name; a value that
        names no one is mapped on the preview like an assignee, "nobody" meaning the importer), or None: the
        importer."""
        index = self.single["reporter"]
        raw = " ".join(self._cell(cells, index).split())
        if not raw:
            return None
        override = self.assignee_overrides.get(raw.lower())
        if override == UNASSIGNED:
            row.unmatched_assignee = raw
            return None
        directory = self.directory
        person = directory.by_id.get(whole_number(override)) if override else None
        if person is not None:
            row.unmatched_assignee = raw  # mapped on the preview: listed there to change
        if person is None:
            if "@" in raw:
                person = directory.by_email.get(raw.lower())
            elif raw.isdigit():
                person = directory.by_id.get(whole_number(raw) or 0)
            else:
                matches = directory.active_by_name.get(raw.lower(), [])
                person = matches[0] if len(matches) == 1 else None
        if person is None:
            name = self._name(index)
            row.problems.append((name, f"no user with email, id or name '{raw}' to be the reporter"))
            row.unmatched_assignee = raw
            return None
        return person.id

    def _number(self, cells, target, problems) -> int | None:
        """An issue number or version (a whole number from 1), or None when the cell is empty or wrong."""
        index = self.single[target]
        raw = self._cell(cells, index).strip().removeprefix("#" if target == "id" else "")
        if not raw:
            return None
        number = whole_number(raw)
        if not number:
            name = self._name(index)
            problems.append((name, f"{name} '{raw[:40]}' is not an issue {'number' if target == 'id' else 'version'}"))
            return None
        return number

    def _word(self, cells, target, allowed, words, default, problems) -> str:
        """A status or priority through the word mapping (empty: the default)."""
        index = self.single[target]
        raw = self._cell(cells, index).strip()
        if not raw:
            return default
        memo = self._words[target]
        if raw in memo:
            value = memo[raw]
        else:
            key = word_key(raw)
            seen = self.seen_words[target]
            if key not in seen and len(seen) < SEEN_WORDS_MAX:
                seen[key] = raw
            value = words.get(key)
            value = value if value in allowed else None
            if len(memo) < MEMO_MAX:
                memo[raw] = value
        if value is None:
            name = self._name(index)
            problems.append((name, f"{target} '{raw}' is not one of {', '.join(allowed)}"))
            return default
        return value

    def _assignee(self, cells: list[str], row: Row) -> int | None:
        """The assignee's user id from an email, id or unique name, or a mapping chosen on the preview."""
        if self.assignee_column is None:
            return None
        target, index = self.assignee_column
        raw = " ".join(self._cell(cells, index).split())
        if not raw:
            return None
        outcome = self._assignees.get(raw)
        if outcome is None:
            outcome = self._find_assignee(target, raw)
            if len(self._assignees) < MEMO_MAX:
                self._assignees[raw] = outcome
        person_id, reason, mapped = outcome
        if reason and person_id is not None:  # someone who cannot be assigned now: only kept where already assigned
            row.kept_assignee = (self._name(index), reason, raw)
            return person_id
        if reason:
            row.problems.append((self._name(index), reason))
        if reason or mapped:
            row.unmatched_assignee = raw
        return person_id

    def _find_assignee(self, target: str, raw: str) -> tuple[int | None, str, bool]:
        """(the user id or None, "", whether the preview's mapping chose it) for an assignee value, or
        (None, why it matches no one, False), or (their id, why they cannot be assigned now, False)."""
        override = self.assignee_overrides.get(raw.lower())
        if override == UNASSIGNED:
            return None, "", True
        directory = self.directory
        chosen = directory.by_id.get(whole_number(override)) if override else None
        if chosen is not None and access.may_be_assigned(chosen):
            return chosen.id, "", True
        person: Person | None = None
        reason = ""
        if target == "assignee_email" or (target == "assignee" and "@" in raw):
            person = directory.by_email.get(raw.lower())
            reason = f"no active user with email {raw}"
        elif target == "assignee_id" or (target == "assignee" and raw.isdigit()):
            number = whole_number(raw)
            person = directory.by_id.get(number) if number is not None else None
            reason = f"no user with id {raw}" if number is not None else f"assignee id '{raw}' is not a number"
        else:
            matches = directory.active_by_name.get(raw.lower(), [])
            if len(matches) == 1:
                person = matches[0]
            elif matches:
                reason = f"{len(matches)} active users are named '{raw}'; use an email instead"
            else:
                reason = f"no active user with email, id or name '{raw}'"
        if person is not None and not person.active:
            return person.id, f"{person.name} ({person.email}) is deactivated and cannot be assigned", False
        if person is not None and not access.may_be_assigned(person):
            return person.id, f"{person.name} ({person.email}) is a viewer and cannot be assigned issues", False
        if person is None:
            return None, reason, False
        return person.id, "", False

    def _labels(self, cells: list[str], problems) -> list[str]:
        """Label names from every labels column, without duplicates (case ignored)."""
        texts = tuple(self._cell(cells, index) for index in self.label_columns)
        outcome = self._label_sets.get(texts)
        if outcome is None:
            outcome = self._label_names(texts)
            if len(self._label_sets) < MEMO_MAX:
                self._label_sets[texts] = outcome
        names, found = outcome
        problems.extend(found)
        return list(names)

    def _label_names(self, texts: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
        """(label names, problems) for the labels columns' texts."""
        names: list[str] = []
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for index, text in zip(self.label_columns, texts):
            for name in split_labels(text):
                too_long = name_length_problem(name)
                if too_long:
                    problems.append((self._name(index), f"label '{name[:20]}…' {too_long}"))
                    continue
                key = name_key(name)
                if key not in seen:
                    seen.add(key)
                    names.append(name)
        return names, problems

    def _when(self, cells, target, problems) -> datetime | None:
        """A date and time between 1970 and now, or None when the cell is empty or wrong."""
        index = self.single[target]
        raw = self._cell(cells, index).strip()
        if not raw:
            return None
        name = self._name(index)
        try:
            when = parse_when(raw, self.mapping.format)
        except ValueError:
            if _NUMERIC_DATE.match(raw):
                problems.append(
                    (
                        name,
                        f"{name} '{raw[:40]}' could be day/month or month/day: "
                        "write dates as year-month-day, like 2026-01-31 14:05",
                    )
                )
            else:
                problems.append((name, f"{name} '{raw[:40]}' is not a date and time like 2026-01-31T14:05:00Z"))
            return None
        except OverflowError:
            problems.append((name, f"{name} '{raw[:40]}' is out of range"))
            return None
        if when > self.now:
            problems.append((name, f"{name} '{raw[:40]}' is in the future"))
            return None
        if when.year < 1970:
            problems.append((name, f"{name} '{raw[:40]}' is before 1970"))
            return None
        return when
