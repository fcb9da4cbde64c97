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

_WORD = re.compile(r"[^\W_]+")  # letters and digits: an underscore parts words, as in PostgreSQL's parser
MAX_WORDS = 10
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
    """The query's plain (not negated, not quoted) search words as typed, `example.com` or `v1.2` whole: they are
    searched together (at most MAX_WORDS)."""
    return [
        term.values[0] for term in query.terms if term.key == "text" and not term.negated and not term.phrase
    ][:MAX_WORDS]


def split_words(typed: list[str]) -> list[tuple[str, list[str]]]:
    """Each typed search word (or phrase) with its letters-and-digits words (`v1.2`: `v1` and `2`), at most MAX_WORDS
    words in all; a typed word without any is left out."""
    split, left = [], MAX_WORDS
    for text in typed:
        words = _WORD.findall(text)[:left]
        if words:
            split.append((text, words))
            left -= len(words)
    return split


# PostgreSQL only (migration 0009): each issue's tsvector of title and description, GIN-indexed and kept by
# triggers on issues, so changes of other fields never touch the full-text index. Not a model: nothing in
# the app writes it.
ISSUE_DOCUMENTS = sa.table("issue_documents", sa.column("issue_id", sa.Integer), sa.column("document"))


def search_clause(dialect: str, typed: list[str]) -> sa.ColumnElement[bool]:
    """Every typed word must start a word of the title or description, its parts one right after the other
    (`v1.2`: "v1" then "2"): full-text on PostgreSQL, a regular expression on SQLite (on casefolded text, by a
    function the app registers on each SQLite connection, so "ärger" finds "Ärger")."""
    if dialect == "postgresql":
        return Issue.id.in_(sa.select(ISSUE_DOCUMENTS.c.issue_id).where(document_matches(typed)))
    return sa.and_(*(words_from_start(words) for _text, words in split_words(typed)))


def words_from_start(words: list[str]) -> sa.ColumnElement[bool]:
    """SQLite: the title or description, casefolded, holds these words one after the other, each as the start of a
    word (as PostgreSQL's prefix search finds them: `cras` finds "Crash", `rash` does not), through the function
    `words_match` (a regular expression; tracker/__init__.py registers it)."""
    pattern = words_pattern(words)
    return sa.or_(sa.func.words_match(Issue.title, pattern), sa.func.words_match(Issue.description, pattern))


def words_pattern(words: list[str]) -> str:
    """The regular expression of words_from_start: the first word where a word starts, each next one after the rest
    of the word before it and the characters between words."""
    return r"(?<![^\W_])" + r"[^\W_]*[\W_]+".join(re.escape(word.casefold()) for word in words)


def document_matches(typed: list[str]) -> sa.ColumnElement[bool]:
    """PostgreSQL: the document holds every typed word, its parts each a prefix, one right after the other. A typed
    word that is not one plain word (`example.com`, `v1.2`, `user@example.com`, `/usr/lib`) also matches as
    PostgreSQL's parser reads it: the document keeps such a host, version, address or path as one word, which its
    letters-and-digits parts alone (`v1:* <-> 2:*`) never match."""
    return ISSUE_DOCUMENTS.c.document.op("@@")(sa.func.to_tsquery("simple", ts_query(typed)))


def ts_query(typed: list[str]) -> str:
    """The to_tsquery text of document_matches: each typed word's parts as prefixes one after the other, or'ed with
    the typed word as the parser reads it (quoted: its quotes doubled, backslashes escaped) where that may differ;
    the typed words and'ed."""
    parts = []
    for text, words in split_words(typed):
        split = " <-> ".join(f"{word.lower()}:*" for word in words)
        if " ".join(words) == text:
            parts.append(split if len(words) == 1 else f"({split})")
        else:
            whole = text.lower().replace("\\", "\\\\").replace("'", "''")
            parts.append(f"({split} | '{whole}':*)")
    return " & ".join(parts)


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
    return search_clause(dialect, [values[0]])  # a quoted phrase's words, too, one after the other


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

