"""The issue list: filters parsed from query parameters, search per database, sorting and paging."""

from __future__ import annotations

import functools
import time as time_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..labels import service as labels_service
from ..models import (
    EXTERNAL_KEY_MAX,
    LIVE_ISSUE,
    ImportedRange,
    IntegerList,
    Issue,
    IssueLabel,
    Label,
    User,
    among,
    utcnow,
)
from ..numbers import whole_number
from ..search.query import Query, Term, print_term
from ..search.query import parse as parse_query
from . import form, search

SORTS = {
    "updated": "Last updated",
    "created": "Created",
    "priority": "Priority",
    "id": "Number",
    "title": "Title",
}
DEFAULT_SORT = "-updated"
# Counting stops here: "10,000+ issues" is as useful as an exact count and costs a bounded scan. The API's total
# counts this far, and a search or label filter matching up to this many issues has its page sorted from them.
COUNT_CAP = 10_000
# The list page counts only this far ("1,000+ issues", as GitHub's search does): at a million issues counting the
# 10,000 open bugs costs 20 ms, counting 1,000 of them 2-3 ms, and the page itself takes 2 ms.
PAGE_COUNT_CAP = 1_000
MAX_PAGE = 10_000
# Priority order for sorting; literal SQL so PostgreSQL and SQLite can use it the same way.
PRIORITY_RANK = sa.literal_column(
    "(CASE issues.priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"
)
FIRST_DATE, LAST_DATE = form.FIRST_DATE, form.LAST_DATE


class MultiValues(Protocol):
    """Anything with getlist (werkzeug's MultiDict, or a dict-backed stand-in in tests)."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass
class IssueFilter:
    """A validated view of the list: the query (search language, tracker/search/query.py) that says which issues in
    which order, the page, and the import whose issues alone are shown (from an import's page).

    `lookups` resolves the query's names (labels, handles, @me); load_filter fills it. The fields below it are the
    filter form's state, read from the query (the form and the box are two views of the same query)."""

    q: str = ""
    page: int = 1
    import_run: int | None = None  # only the issues this import created (from the import's page)
    lookups: search.Lookups = field(default_factory=search.Lookups)
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    assignee: str = ""  # "" any, "none" unassigned, or a user id as text
    label_names: list[str] = field(default_factory=list)  # lower-cased label names: issues having all of them
    form_in_step: bool = True  # the fields sent show what the query says (else the page sends them anew)

    @property
    def query(self) -> Query:
        """The parsed query (its mistakes in `.errors`)."""
        return parsed(self.q)

    @property
    def sort(self) -> str:
        """The list order: the query's sort: qualifier, or the default."""
        return self.query.sort or DEFAULT_SORT

    @property
    def is_filtered(self) -> bool:
        """Whether any filter narrows the list."""
        return any(t.key != "sort" for t in self.query.terms) or bool(self.import_run)

    @property
    def label_ids(self) -> list[int]:
        """The ids of the labels of the query's positive label terms (those it names that exist)."""
        known = self.lookups.labels
        return [
            known[v.lower()] for t in self.query.terms if t.key == "label" and not t.negated
            for v in t.values if v.lower() in known
        ]

    def words(self) -> list[str]:
        """The search words of the query's plain words (searched together)."""
        return search.positive_words(self.query)

    def query_args(self, **overrides: Any) -> dict[str, Any]:
        """The query parameters that reproduce this view (for links and the pushed URL)."""
        args: dict[str, Any] = {"q": self.q, "page": self.page, "import": self.import_run or ""}
        args.update(overrides)
        if args["page"] == 1:
            args["page"] = ""
        return {k: v for k, v in args.items() if v not in ("", None, [])}

    def query_string(self, **overrides: Any) -> str:
        """The same as a URL query string."""
        return urlencode(self.query_args(**overrides), doseq=True)

    def marked(self) -> list[tuple[str, bool]]:
        """The query text in pieces, each with whether it is a mistake (for marking them where the query is shown)."""
        pieces: list[tuple[str, bool]] = []
        at = 0
        for error in sorted(self.query.errors, key=lambda e: e.start):
            if error.end <= at or error.start == error.end:
                continue
            pieces += [(self.q[at:error.start], False), (self.q[error.start:error.end], True)]
            at = error.end
        return [p for p in pieces + [(self.q[at:], False)] if p[0]]

    def with_label(self, name: str) -> str:
        """The query text with `label:name` added (a label chip's link narrows the list to it)."""
        term = Term("label", (name,))
        return self.q if term in self.query.terms else f"{self.q} {print_term(term)}".strip()


@functools.lru_cache(maxsize=1024)
def parsed(text: str) -> Query:
    """The query text parsed (the same text always parses the same way, and a Query is immutable): a list page reads
    its view's query dozens of times, once per label link of every row among them."""
    return parse_query(text)


def _first(args: MultiValues, key: str) -> str:
    values = args.getlist(key)
    return values[0].strip() if values else ""


def parse_filter(args: MultiValues, handles: dict[str, str] | None = None) -> tuple[IssueFilter, dict[str, str]]:
    """Read the list's query parameters: the query `q`, the page, the import. The filter form's fields and the
    older parameters (?status=open&assignee=3) become qualifiers of the query (tracker/issues/form.py); `handles`
    names the people of assignee=<id>."""
    result = IssueFilter()
    result.q, errors = form.merge(args, handles or {})
    for i, error in enumerate(result.query.errors):
        errors[f"q{i or ''}"] = error.message
    page = _first(args, "page") or "1"
    if not 1 <= (whole_number(page) or 0) <= MAX_PAGE:
        errors["page"] = f"Page must be a whole number from 1 to {MAX_PAGE:,}."
        page = "1"
    result.page = int(page)
    raw = _first(args, "import")
    if raw:
        result.import_run = whole_number(raw) or None
        if result.import_run is None:
            errors["import"] = f"import must be the number of an import, not '{raw[:40]}'."
    return result, errors


def parse_day(raw: str) -> date | None:
    """An ISO date (YYYY-MM-DD) within the range the filters accept, or None."""
    return form.day(raw)


def day_start(day: date) -> datetime:
    """Midnight (UTC, naive) at the start of `day`."""
    return datetime.combine(day, time.min)


def day_range_clause(column: sa.ColumnElement[Any], first: date | None, last: date | None) -> sa.ColumnElement[bool]:
    """`column` on or after the first day and before the midnight that ends the last day (either may be open)."""
    clauses = []
    if first:
        clauses.append(column >= day_start(first))
    if last:
        clauses.append(column < day_start(last + timedelta(days=1)))
    return sa.and_(*clauses)


def load_filter(
    session: Session, args: MultiValues, me_id: int | None = None
) -> tuple[IssueFilter, dict[str, str], list[Label]]:
    """The list filter from request arguments with its names resolved (labels, handles, @me = `me_id`); errors by
    parameter (the query's as q, q1...: the rest of the query still applies); all labels."""
    labels = labels_service.all_labels(session)
    # An assignee given by id (older URLs, the form sent without JavaScript) is written into the query by handle.
    by_id = any(v.strip().isdigit() for v in args.getlist("assignee"))
    handles = {str(u.id): search.handle_of(u) for u in people(session)} if by_id else {}
    view, errors = parse_filter(args, handles)
    view.lookups = search.load_lookups(session, view.query, me_id, labels, utcnow())
    first_free = len(view.query.errors)
    for i, (kind, message) in enumerate(search.unresolved(view.query, view.lookups), start=first_free):
        errors[kind if kind not in errors else f"q{i or ''}"] = message
    unique = {handle: ids[0] for handle, ids in view.lookups.people.items() if len(ids) == 1}
    shown = form.state(view.query, unique, me_id)
    view.status, view.priority, view.label_names = list(shown["status"]), list(shown["priority"]), list(shown["label"])
    view.assignee = shown["assignee"]
    sent, _errors = form.submitted(args, handles)
    view.form_in_step = all(value == shown[name] for name, value in sent.items())
    return view, errors, labels


def filtered(dialect: str, view: IssueFilter) -> sa.Select:
    """SELECT of the issues matching the filter (no order, no paging); never an issue in the trash."""
    return sa.select(Issue).where(LIVE_ISSUE, *filter_clauses(dialect, view))


def filter_clauses(dialect: str, view: IssueFilter) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions on issues (the reports add them to their own statements)."""
    clauses = search.where_clauses(dialect, view.query, view.lookups, key_candidates(view))
    if view.import_run:
        clauses.append(import_clause(view.import_run))
    return clauses


def key_candidates(view: IssueFilter) -> list[str]:
    """A search of one word alone may be an imported issue's key in the other tracker (PROJ-12): the spellings to
    look it up by, exactly, through its index."""
    texts = [t for t in view.query.terms if t.key == "text" and not t.negated and not t.phrase]
    if len(texts) != 1 or len(texts[0].values[0]) > EXTERNAL_KEY_MAX:
        return []
    q = texts[0].values[0]
    return sorted({q, q.upper(), q.removeprefix("#")} - {""})


def import_clause(run_id: int) -> sa.ColumnElement[bool]:
    """The issue was created by this import: its id lies in one of the import's id ranges."""
    created = aliased(Issue)
    ids = (
        sa.select(created.id)
        .join(ImportedRange, created.id.between(ImportedRange.first_id, ImportedRange.last_id))
        .where(ImportedRange.run_id == run_id)
    )
    return Issue.id.in_(ids)


def ordered(stmt: sa.Select, sort: str) -> sa.Select:
    """Apply the sort key, ties broken by issue number in the same direction."""
    return stmt.order_by(*sort_keys(sort))


def sort_keys(sort: str) -> list[Any]:
    """The ORDER BY terms of a sort: its column, then the issue number in the same direction."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = {
        "updated": Issue.updated_at,
        "created": Issue.created_at,
        "priority": PRIORITY_RANK,
        "id": None,
        "title": Issue.title,
    }[key]
    direction = sa.desc if descending else sa.asc
    keys = [direction(column)] if column is not None else []
    return [*keys, direction(Issue.id)]


@dataclass
class IssuePage:
    """One page of the list and how many issues match (capped at COUNT_CAP)."""

    items: list[Issue]
    total: int
    capped: bool
    page: int
    per_page: int
    more: bool = False  # past the counting cap: whether issues follow this page (one more was read to know)

    @property
    def first_index(self) -> int:
        """1-based number of the first issue on this page."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        """1-based number of the last issue on this page."""
        return self.first_index + len(self.items) - 1 if self.items else 0

    @property
    def has_previous(self) -> bool:
        """Whether a previous page exists."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether another page follows (also past the counting cap)."""
        return self.page * self.per_page < self.total or (self.capped and self.more)

    @property
    def last_page(self) -> int | None:
        """The number of the last page, when the count is exact."""
        return None if self.capped else max(1, -(-self.total // self.per_page))


def list_issues(session: Session, view: IssueFilter, per_page: int, count_cap: int = COUNT_CAP) -> IssuePage:
    """The page of issues the filter asks for, with assignees loaded, and the match count (capped at count_cap).

    A lone label or search filter collects its matching ids once, from the label links or the full-text
    documents alone (lone_filter_ids): their number is the count (exact up to COUNT_CAP, whatever count_cap says,
    since it costs nothing more), and under COUNT_CAP the page is sorted from them (page_of_ids). Otherwise the
    count runs first, up to count_cap; when a search or label filter among others matches at most COUNT_CAP issues
    (known from the count, or, past a smaller count_cap, bounded by the label links or documents alone), the page
    is sorted from those matches instead of walking the sort index and testing every issue on the way: a rare word
    would otherwise be checked against most of the table.
    """
    dialect = session.get_bind().dialect.name
    base = filtered(dialect, view)
    lone = lone_filter_ids(dialect, view, COUNT_CAP + 1)
    if lone is not None:
        found = id_list(session, dialect, lone)
        if isinstance(lone, sa.CompoundSelect):  # the documents' matches and the keys' may name an issue twice
            found = list(set(found))
        if len(found) <= COUNT_CAP:
            items = page_of_ids(session, found, view.sort, per_page, view.page)
            return IssuePage(items=items, total=len(found), capped=False, page=view.page, per_page=per_page)
        total, cap = len(found), COUNT_CAP
    else:
        cap = count_cap
        total = count_up_to(session, counted(dialect, view), cap)
    capped = total > cap
    page_source = base
    if (view.words() or view.label_ids) and (not capped or few_candidates(session, dialect, view)):
        matches = base.with_only_columns(Issue.id).cte("matches")
        if dialect == "postgresql":
            matches = matches.prefix_with("MATERIALIZED")
        page_source = sa.select(Issue).where(Issue.id.in_(sa.select(matches.c[0])))
    items = list(
        session.execute(
            ordered(page_source, view.sort).limit(per_page + 1).offset((view.page - 1) * per_page)
        ).scalars()
    )
    with_people_and_labels(session, items[:per_page])
    return IssuePage(
        items=items[:per_page], total=min(total, cap), capped=capped, page=view.page, per_page=per_page,
        more=len(items) > per_page,
    )


def id_list(session: Session, dialect: str, ids: sa.Select | sa.CompoundSelect) -> list[int]:
    """The numbers a SELECT of issue ids gives, in no particular order. On PostgreSQL as one array (array_agg): up
    to 10,001 numbers arrive as one row, where a row each cost the ORM's result handling 8 ms a list page."""
    if dialect != "postgresql":
        return list(session.execute(ids).scalars())
    found = ids.subquery()
    return session.execute(sa.select(sa.func.array_agg(found.c[0])).select_from(found)).scalar_one() or []


def counted(dialect: str, view: IssueFilter) -> sa.Select:
    """The ids of the issues matching the filter, for counting: the same issues as filtered(), without the ORM
    entity. The indexes of issues hold live issues only (migration 0026), so a count over an index that holds the
    filter's columns (a person's open issues, the unassigned ones by priority) never visits the table."""
    return sa.select(Issue.id).where(LIVE_ISSUE, *filter_clauses(dialect, view))


def count_up_to(session: Session, ids: sa.Select, cap: int) -> int:
    """How many rows the SELECT of ids gives, counting no further than cap + 1 (a bounded scan)."""
    return session.execute(sa.select(sa.func.count()).select_from(ids.limit(cap + 1).subquery())).scalar_one()


# How long a bound found by few_candidates is reused, and how many are kept (per process). The bound only chooses how
# the page is found, never which issues: a stale one costs time, not correctness. A label's links counted up to
# COUNT_CAP cost 1.5-1.8 ms at a million issues, on every page of a list such as "open bugs".
CANDIDATE_BOUND_SECONDS = 60.0
CANDIDATE_BOUNDS_KEPT = 512
_candidate_bounds: dict[tuple, tuple[float, bool]] = {}


def few_candidates(session: Session, dialect: str, view: IssueFilter) -> bool:
    """Whether a positive label term, or the search words on PostgreSQL, allow at most COUNT_CAP issues, read from
    the label links or the documents alone (a bound on the matches, to choose how the page is found; the issues
    found are the same either way). Each answer is kept for CANDIDATE_BOUND_SECONDS."""
    known = view.lookups.labels
    candidates = None
    for term in view.query.terms:
        if term.key == "label" and not term.negated:
            label_ids = sorted({known[v.lower()] for v in term.values if v.lower() in known})
            key: tuple = ("label", *label_ids)
            candidates = sa.select(IssueLabel.issue_id).where(IssueLabel.label_id.in_(label_ids))
            break
    else:
        words = view.words()
        if words and dialect == "postgresql":
            key = ("words", *words)
            documents = search.ISSUE_DOCUMENTS
            candidates = sa.select(documents.c.issue_id).where(search.document_matches(words))
    if candidates is None:
        return False
    key = (str(session.get_bind().url), *key)
    now = time_module.monotonic()
    kept = _candidate_bounds.get(key)
    if kept is not None and now - kept[0] < CANDIDATE_BOUND_SECONDS:
        return kept[1]
    few = count_up_to(session, candidates, COUNT_CAP) <= COUNT_CAP
    if len(_candidate_bounds) >= CANDIDATE_BOUNDS_KEPT:
        _candidate_bounds.clear()
    _candidate_bounds[key] = (now, few)
    return few


def page_of_ids(session: Session, ids: list[int], sort: str, per_page: int, page: int) -> list[Issue]:
    """One page of these issues in list order, with assignees and labels loaded.

    The order is found from the sort columns alone: on PostgreSQL either the sort's own index is walked, keeping
    these numbers, or each number is looked up in the primary key, which carries updated_at, created_at, priority,
    status and deleted_at (migration 0031); both without reading a single issue row, so a word found in 7,500
    issues reads small index entries, not 7,500 rows; then only the page's issues are loaded."""
    if not ids:
        return []
    order = ids_in_order(session.get_bind().dialect.name, ids, sort).limit(per_page).offset((page - 1) * per_page)
    page_ids = list(session.execute(order).scalars())
    if not page_ids:
        return []
    loaded = session.execute(sa.select(Issue).where(Issue.id.in_(page_ids))).scalars()
    by_id = {issue.id: issue for issue in loaded}
    return with_people_and_labels(session, [by_id[i] for i in page_ids if i in by_id])


def ids_in_order(dialect: str, ids: list[int], sort: str) -> sa.Select:
    """SELECT of these issue numbers in list order, reading only the sort columns (one array parameter on
    PostgreSQL, however many ids)."""
    # The ids are of live issues; saying so lets the planner use the sort indexes, which hold live issues only.
    return ordered(sa.select(Issue.id).where(among(Issue.id, ids, dialect), LIVE_ISSUE), sort)


def lone_filter_ids(dialect: str, view: IssueFilter, limit: int) -> sa.Select | sa.CompoundSelect | None:
    """For a filter of one label only, or of search words only on PostgreSQL, up to `limit` matching issue ids read
    from the label links or the full-text documents alone, without touching the issues table (None otherwise). A
    lone word may also be an imported issue's key (key_candidates): those few issues are added to the documents'
    matches by UNION ALL, which may name an issue twice (the caller drops the repeat); UNION's de-duplication of
    every match cost 0.4-1.3 ms at 2,500-7,600 matches.

    Both are deleted with their issue in the same transaction, so they name exactly the existing issues; those in
    the trash are left out through the small partial index of deleted issues.
    """
    terms = [t for t in view.query.terms if t.key != "sort"]
    if view.import_run or not terms:
        return None
    label_ids = view.label_ids
    if len(terms) == 1 and terms[0].key == "label" and not terms[0].negated and len(label_ids) == 1:
        return (
            sa.select(IssueLabel.issue_id)
            .where(IssueLabel.label_id == label_ids[0], IssueLabel.issue_id.not_in(trashed_ids()))
            .limit(limit)
        )
    words = view.words()
    plain = all(t.key == "text" and not t.negated and not t.phrase for t in terms)
    if words and plain and dialect == "postgresql":
        documents = search.ISSUE_DOCUMENTS
        found = (
            sa.select(documents.c.issue_id)
            .where(search.document_matches(words), documents.c.issue_id.not_in(trashed_ids()))
            .limit(limit)
        )
        keys = key_candidates(view)
        if keys:
            return sa.union_all(found, sa.select(Issue.id).where(Issue.external_key.in_(keys), LIVE_ISSUE))
        return found
    return None


def trashed_ids() -> sa.Select:
    """Ids of the issues in the trash (or purged from it), read from the partial index that holds only them."""
    return sa.select(Issue.id).where(Issue.deleted_at.is_not(None))


def matching_ids(session: Session, view: IssueFilter, limit: int) -> list[int]:
    """Ids of up to `limit` issues matching the filter, in list order (for "select all matching")."""
    dialect = session.get_bind().dialect.name
    stmt = ordered(filtered(dialect, view).with_only_columns(Issue.id), view.sort).limit(limit)
    return list(session.execute(stmt).scalars())


def issues_by_ids(session: Session, ids: list[int]) -> list[Issue]:
    """These issues with assignee and labels loaded (for re-rendering list rows)."""
    if not ids:
        return []
    stmt = sa.select(Issue).where(Issue.id.in_(ids), LIVE_ISSUE)
    return with_people_and_labels(session, list(session.execute(stmt).scalars()))


def with_people_and_labels(session: Session, issues: list[Issue]) -> list[Issue]:
    """Load the issues' assignees and labels, as a list row shows them."""
    return with_labels(session, with_assignees(session, issues))


def with_assignees(session: Session, issues: list[Issue]) -> list[Issue]:
    """Load the issues' assignees, taken from the session when the request has read them already (the list page
    reads everyone for its filter first) and read in one query otherwise. A joined load would build a person from
    every row, fifty times for a page, though the page names a few people."""
    wanted = {issue.assignee_id for issue in issues if issue.assignee_id is not None}
    known: dict[int, User] = {}
    for user_id in wanted:
        user = session.identity_map.get(identity_key(User, user_id))
        if user is not None and not sa.inspect(user).expired:
            known[user_id] = user
    missing = wanted - known.keys()
    if missing:
        known.update((user.id, user) for user in session.execute(sa.select(User).where(User.id.in_(missing))).scalars())
    for issue in issues:
        set_committed_value(issue, "assignee", known.get(issue.assignee_id) if issue.assignee_id is not None else None)
    return issues


@functools.cache
def _label_links(dialect: str) -> sa.Select:
    """with_labels' statement, built once per database kind: the (issue, label) pairs of the issues numbered
    `issue_ids`, one array parameter on PostgreSQL (as models.among), an expanding IN on SQLite."""
    if dialect == "postgresql":
        condition = IssueLabel.issue_id == sa.any_(sa.bindparam("issue_ids", type_=IntegerList()))
    else:
        condition = IssueLabel.issue_id.in_(sa.bindparam("issue_ids", expanding=True))
    return sa.select(IssueLabel.issue_id, IssueLabel.label_id).where(condition)


def with_labels(session: Session, issues: list[Issue]) -> list[Issue]:
    """Load the issues' labels (each issue's in name order) from the label links alone: plain (issue, label) number
    pairs, the labels themselves taken from the session when the request has read them already (the list page has)
    and read in one more query otherwise. selectinload of the many-to-many relationship would join the issues table
    again and build an ORM row per link: 1.1 ms of a list page at 1M issues, against 0.4 ms."""
    if not issues:
        return issues
    by_issue: dict[int, list[Label]] = {issue.id: [] for issue in issues}
    dialect = session.get_bind().dialect.name
    links = session.execute(_label_links(dialect), {"issue_ids": list(by_issue)}).all()
    known: dict[int, Label] = {}
    for label_id in {label_id for _, label_id in links}:
        label = session.identity_map.get(identity_key(Label, label_id))
        if label is not None and not sa.inspect(label).unloaded:  # expired by a commit: read again below
            known[label_id] = label
    missing = {label_id for _, label_id in links} - known.keys()
    if missing:
        read = session.execute(sa.select(Label).where(Label.id.in_(missing))).scalars()
        known.update((label.id, label) for label in read)
    for issue_id, label_id in links:
        if label_id in known:
            by_issue[issue_id].append(known[label_id])
    for issue in issues:
        labels = by_issue[issue.id]
        labels.sort(key=lambda label: (label.name_key, label.id))
        set_committed_value(issue, "labels", labels)
    return issues


def people(session: Session) -> list[User]:
    """All users by name, for assignee filters and pickers."""
    return list(session.execute(sa.select(User).order_by(User.name, User.id)).scalars())
