"""The search language as SQL: a parsed query (tracker/search/query.py) becomes WHERE clauses of the list's
set-based SELECT, each on an indexed column or an indexed side table; nothing is filtered row by row in Python."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import PRIORITIES, Comment, Issue, IssueLabel, Label, Notification, User
from ..search.query import IS_VALUES, Query, Term, period

_WORD = re.compile(r"\w+", re.UNICODE)
RELATIVE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "m": timedelta(days=30)}
PRIORITY_OPS = {
    ">=": lambda i, j: j >= i, ">": lambda i, j: j > i, "<=": lambda i, j: j <= i, "<": lambda i, j: j < i,
}


def handle_of(user: Any) -> str:
    """A person's handle in queries (`assignee:grace`): their unique `users.handle`."""
    return user.handle


def people_by_handle(session: Session, handles: list[str]) -> dict[str, list[int]]:
    """handle -> the id of the person it names (users.handle is unique, matched without case); one statement on its
    unique index; a handle naming nobody is left out."""
    if not handles:
        return {}
    rows = session.execute(
        sa.select(User.handle, User.id).where(User.handle.in_({h.lower().lstrip("@") for h in handles}))
    )
    by_handle = {handle: user_id for handle, user_id in rows}
    return {h: [by_handle[h.lower().lstrip("@")]] for h in handles if h.lower().lstrip("@") in by_handle}


@dataclass
class Lookups:
    """What a query's names stand for: label ids by lower-cased name, people ids by handle, who '@me' is, and
    'now' for relative dates. Unresolved names match no issue."""

    labels: dict[str, int] = field(default_factory=dict)
    people: dict[str, list[int]] = field(default_factory=dict)
    me_id: int | None = None
    now: datetime | None = None


def load_lookups(session: Session, query: Query, me_id: int | None, labels: list[Label], now: datetime) -> Lookups:
    """Resolve the query's label names (from the labels already loaded) and handles (one statement)."""
    named = {v for t in query.terms if t.key in ("assignee", "reporter", "involves") for v in t.values}
    handles = sorted(named - {"@me"})
    return Lookups(
        labels={label.name_key: label.id for label in labels},
        people=people_by_handle(session, handles),
        me_id=me_id,
        now=now,
    )


def unresolved(query: Query, lookups: Lookups) -> list[tuple[str, str]]:
    """(what, message) for names the query uses that name nothing ("label" or "person"): such a term matches no
    issue (negated: every one)."""
    messages = []
    for term in query.terms:
        if term.key == "label":
            messages += [
                ("label", f"There is no label named '{v}'.") for v in term.values if v.lower() not in lookups.labels
            ]
        elif term.key in ("assignee", "reporter", "involves"):
            for value in term.values:
                if value == "@me" and lookups.me_id is None:
                    messages.append(("person", "@me needs someone signed in."))
                elif value != "@me" and value not in lookups.people:
                    messages.append(("person", f"No one has the handle '{value}' ({term.key}:{value})."))
    return messages


def positive_words(query: Query) -> list[str]:
    """The search words of the query's plain (not negated, not quoted) words: they are searched together."""
    words = []
    for term in query.terms:
        if term.key == "text" and not term.negated and not term.phrase:
            words += _WORD.findall(term.values[0])
    return words[:10]


# PostgreSQL only (migration 0009): each issue's tsvector of title and description, GIN-indexed and kept by
# triggers on issues, so changes of other fields never touch the full-text index. Not a model: nothing in
# the app writes it.
ISSUE_DOCUMENTS = sa.table("issue_documents", sa.column("issue_id", sa.Integer), sa.column("document"))


def search_clause(dialect: str, words: list[str]) -> sa.ColumnElement[bool]:
    """Every word must start a word of the title or description: full-text on PostgreSQL, a regular expression on
    SQLite (on casefolded text, by a function the app registers on each SQLite connection, so "ärger" finds
    "Ärger")."""
    if dialect == "postgresql":
        return Issue.id.in_(sa.select(ISSUE_DOCUMENTS.c.issue_id).where(document_matches(words)))
    return sa.and_(*(words_from_start([word]) for word in words))


def words_from_start(words: list[str]) -> sa.ColumnElement[bool]:
    """SQLite: the title or description, casefolded, holds these words one after the other, each as the start of a
    word (as PostgreSQL's prefix search finds them: `cras` finds "Crash", `rash` does not), through the function
    `words_match` (a regular expression; tracker/__init__.py registers it)."""
    pattern = words_pattern(words)
    return sa.or_(sa.func.words_match(Issue.title, pattern), sa.func.words_match(Issue.description, pattern))


def words_pattern(words: list[str]) -> str:
    """The regular expression of words_from_start: the first word where a word starts, each next one after the rest
    of the word before it and the characters between words."""
    return r"(?<!\w)" + r"\w*\W+".join(re.escape(word.casefold()) for word in words)


def document_matches(words: list[str], joint: str = " & ") -> sa.ColumnElement[bool]:
    """PostgreSQL: the document holds every word, each as a prefix (joint " <-> ": one right after the other)."""
    query = joint.join(f"{w.lower()}:*" for w in words)
    return ISSUE_DOCUMENTS.c.document.op("@@")(sa.func.to_tsquery("simple", query))


def where_clauses(dialect: str, query: Query, lookups: Lookups, keys: list[str]) -> list[Any]:
    """The WHERE clauses of the query's terms (AND-ed by the caller). The plain words are one search (with the
    external keys `keys` as alternatives); every other term is its own clause, negated when it says so."""
    clauses = []
    words = positive_words(query)
    if words:
        clause = search_clause(dialect, words)
        clauses.append(sa.or_(clause, Issue.external_key.in_(keys)) if keys else clause)
    for term in query.terms:
        if term.key == "sort" or (term.key == "text" and not term.negated and not term.phrase):
            continue
        clause = term_clause(dialect, term, lookups)
        clauses.append(~clause if term.negated else clause)
    return clauses


def term_clause(dialect: str, term: Term, lookups: Lookups) -> Any:
    """The clause of one term, never NULL (so that its negation keeps the rows it does not match)."""
    key, values = term.key, term.values
    if key == "is":
        parts = []
        statuses = [s for v in values if v in IS_VALUES for s in IS_VALUES[v]]
        if statuses:
            parts.append(Issue.status.in_(statuses))
        if "duplicate" in values:
            parts.append(Issue.duplicate_of_id.is_not(None))
        return sa.or_(*parts)
    if key == "status":
        return Issue.status.in_(values)
    if key == "priority":
        return Issue.priority.in_(priorities(term))
    if key == "assignee":
        return sa.and_(Issue.assignee_id.is_not(None), Issue.assignee_id.in_(person_ids(values, lookups)))
    if key == "reporter":
        return Issue.reporter_id.in_(person_ids(values, lookups))
    if key == "involves":
        return involves(person_ids(values, lookups))
    if key == "label":
        ids = [lookups.labels[v.lower()] for v in values if v.lower() in lookups.labels]
        return Issue.id.in_(sa.select(IssueLabel.issue_id).where(IssueLabel.label_id.in_(ids)))
    if key == "no":
        parts = [
            Issue.assignee_id.is_(None) if v == "assignee" else ~Issue.id.in_(sa.select(IssueLabel.issue_id))
            for v in values
        ]
        return sa.and_(*parts)
    if key in ("created", "updated", "resolved"):
        column = getattr(Issue, f"{key}_at")
        return sa.and_(column.is_not(None), date_clause(column, term, lookups.now or datetime.now()))
    if key == "id":
        number = int(values[0])
        keys = sa.and_(Issue.external_key.is_not(None), Issue.external_key.in_([f"#{number}", str(number)]))
        return sa.or_(Issue.id == number, keys)
    words = _WORD.findall(values[0])[:10]
    if term.phrase and len(words) > 1:
        return phrase_clause(dialect, values[0], words)
    return search_clause(dialect, words)


def priorities(term: Term) -> list[str]:
    """The priorities a priority term stands for (priority:>=high is high and critical)."""
    if not term.op:
        return list(term.values)
    limit = PRIORITIES.index(term.values[0])
    compare = PRIORITY_OPS[term.op]
    return [p for i, p in enumerate(PRIORITIES) if compare(limit, i)]


def person_ids(values: tuple[str, ...], lookups: Lookups) -> list[int]:
    """The ids of the people these values name (@me and handles)."""
    ids: list[int] = []
    for value in values:
        if value == "@me":
            ids += [lookups.me_id] if lookups.me_id is not None else []
        else:
            ids += lookups.people.get(value, [])
    return ids


def involves(ids: list[int]) -> Any:
    """Reported by, assigned to, commented on by or mentioning one of these people: comments through their author
    index, mentions through the person's mention notifications (a description's or comment's @handle notifies the
    person it names; the index of mentions alone, migration 0030)."""
    commented = sa.select(Comment.issue_id).where(Comment.author_id.in_(ids), Comment.deleted_at.is_(None))
    mentioned = sa.select(Notification.issue_id).where(Notification.user_id.in_(ids), Notification.mentions())
    return sa.or_(
        Issue.reporter_id.in_(ids),
        sa.and_(Issue.assignee_id.is_not(None), Issue.assignee_id.in_(ids)),
        Issue.id.in_(commented),
        Issue.id.in_(mentioned),
    )


def date_clause(column: Any, term: Term, now: datetime) -> Any:
    """A date term on its column: a day or month (with a comparison, or a range a..b), or a time ago: `<7d` is
    less than 7 days ago (since then), `>7d` more than 7 days ago (before then)."""
    value = term.values[0]
    if value[-1] in RELATIVE_UNITS:
        since = now - int(value[:-1]) * RELATIVE_UNITS[value[-1]]
        return column < since if term.op in (">", ">=") else column >= since
    first, after = (datetime.combine(d, datetime.min.time()) for d in period(value))
    if term.op == "..":
        after = datetime.combine(period(term.values[1])[1], datetime.min.time())
        return sa.and_(column >= first, column < after)
    return {
        "": sa.and_(column >= first, column < after),
        ">=": column >= first,
        ">": column >= after,
        "<": column < first,
        "<=": column < after,
    }[term.op]


def phrase_clause(dialect: str, phrase: str, words: list[str]) -> Any:
    """The words next to each other, in order, each a prefix followed by the next: on PostgreSQL through the
    full-text documents, on SQLite through words_from_start."""
    if dialect == "postgresql":
        return Issue.id.in_(sa.select(ISSUE_DOCUMENTS.c.issue_id).where(document_matches(words, " <-> ")))
    return words_from_start(words)
