"""The issue list: filters parsed from query parameters, search per database, sorting and paging."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from ..labels import service as labels_service
from ..models import EXTERNAL_KEY_MAX, LIVE_ISSUE, PRIORITIES, STATUSES, ImportedRange, Issue, IssueLabel, Label, User
from ..numbers import whole_number

SORTS = {
    "updated": "Last updated",
    "created": "Created",
    "priority": "Priority",
    "id": "Number",
}
DEFAULT_SORT = "-updated"
# Counting stops here: "10,000+ issues" is as useful as an exact count and costs a bounded scan.
COUNT_CAP = 10_000
MAX_PAGE = 10_000
# Priority order for sorting; literal SQL so PostgreSQL and SQLite can use it the same way.
PRIORITY_RANK = sa.literal_column(
    "(CASE issues.priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"
)
_WORD = re.compile(r"\w+", re.UNICODE)
# Date-range filters: (from parameter, to parameter, column name). `from` is the first day included and
# `to` the last day included (the range ends before midnight after it); dates are UTC days.
DATE_RANGES = (("created_from", "created_to", "created_at"), ("resolved_from", "resolved_to", "resolved_at"))
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(9998, 12, 31)


class MultiValues(Protocol):
    """Anything with getlist (werkzeug's MultiDict, or a dict-backed stand-in in tests)."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass
class IssueFilter:
    """A validated view of the list: which issues, in which order, which page."""

    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    assignee: str = ""  # "" any, "none" unassigned, or a user id as text
    q: str = ""
    labels: list[str] = field(default_factory=list)  # label names from the URL: issues having all of them
    label_ids: list[int] = field(default_factory=list)  # the same, resolved
    sort: str = DEFAULT_SORT
    page: int = 1
    created_from: date | None = None
    created_to: date | None = None
    resolved_from: date | None = None
    resolved_to: date | None = None
    import_run: int | None = None  # only the issues this import created (from the import's page)
    no_duplicates: bool = False  # leave out the issues closed as duplicates

    @property
    def is_filtered(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(
            self.status
            or self.priority
            or self.assignee
            or self.q
            or self.labels
            or self.date_ranges
            or self.import_run
            or self.no_duplicates
        )

    @property
    def date_ranges(self) -> list[tuple[str, date | None, date | None]]:
        """The active date-range filters as (column name, first day, last day), for the list's summary."""
        ranges = []
        for start, end, column in DATE_RANGES:
            first, last = getattr(self, start), getattr(self, end)
            if first or last:
                ranges.append((column, first, last))
        return ranges

    def words(self) -> list[str]:
        """The search words of `q`."""
        return _WORD.findall(self.q)[:10]

    def query_args(self, **overrides: Any) -> dict[str, Any]:
        """The query parameters that reproduce this view (for links and the pushed URL)."""
        args: dict[str, Any] = {
            "status": self.status,
            "priority": self.priority,
            "assignee": self.assignee,
            "q": self.q,
            "label": self.labels,
            "sort": self.sort if self.sort != DEFAULT_SORT else "",
            "page": self.page if self.page != 1 else "",
            "import": self.import_run or "",
            "duplicates": "hide" if self.no_duplicates else "",
        }
        for start, end, _column in DATE_RANGES:
            for name in (start, end):
                value = getattr(self, name)
                args[name] = value.isoformat() if value else ""
        args.update(overrides)
        if args["page"] == 1:
            args["page"] = ""
        return {k: v for k, v in args.items() if v not in ("", None, [])}

    def query_string(self, **overrides: Any) -> str:
        """The same as a URL query string."""
        return urlencode(self.query_args(**overrides), doseq=True)


def _first(args: MultiValues, key: str) -> str:
    values = args.getlist(key)
    return values[0].strip() if values else ""


def parse_filter(args: MultiValues) -> tuple[IssueFilter, dict[str, str]]:
    """Read the list's query parameters; unknown values are reported per parameter, not guessed."""
    errors: dict[str, str] = {}
    result = IssueFilter()
    statuses = [s.strip() for s in args.getlist("status") if s.strip()]
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        errors["status"] = f"Unknown status '{bad[0]}'; use one of {', '.join(STATUSES)}."
    result.status = [s for s in STATUSES if s in statuses]
    priorities = [p.strip() for p in args.getlist("priority") if p.strip()]
    bad = [p for p in priorities if p not in PRIORITIES]
    if bad:
        errors["priority"] = f"Unknown priority '{bad[0]}'; use one of {', '.join(PRIORITIES)}."
    result.priority = [p for p in PRIORITIES if p in priorities]
    assignee = _first(args, "assignee").lower()
    if assignee and assignee != "none" and whole_number(assignee) is None:
        errors["assignee"] = f"Assignee must be a user id or 'none', not '{assignee}'."
        assignee = ""
    result.assignee = assignee
    result.q = _first(args, "q")[:200]
    if result.q.strip() and not result.words():
        errors["q"] = f"Nothing to search for in '{result.q[:40]}': search words need letters or digits."
    names: list[str] = []
    for raw in args.getlist("label"):
        name = " ".join(raw.split())
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    result.labels = names[:10]
    sort = _first(args, "sort") or DEFAULT_SORT
    if sort.removeprefix("-") not in SORTS:
        errors["sort"] = f"Unknown sort '{sort}'; use one of {', '.join(SORTS)} (with - for descending)."
        sort = DEFAULT_SORT
    result.sort = sort
    page = _first(args, "page") or "1"
    if not 1 <= (whole_number(page) or 0) <= MAX_PAGE:
        errors["page"] = f"Page must be a whole number from 1 to {MAX_PAGE:,}."
        page = "1"
    result.page = int(page)
    for start, end, _column in DATE_RANGES:
        for name in (start, end):
            raw = _first(args, name)
            if raw:
                value = parse_day(raw)
                if value is None:
                    errors[name] = (
                        f"{name} must be a date like 2026-01-31 (from {FIRST_DATE} to {LAST_DATE}), not '{raw[:40]}'."
                    )
                setattr(result, name, value)
        first, last = getattr(result, start), getattr(result, end)
        if first and last and first > last:
            errors[start] = f"{start} ({first}) is after {end} ({last}); nothing can match."
    raw = _first(args, "duplicates")
    if raw and raw != "hide":
        errors["duplicates"] = (
            f"duplicates can only be 'hide' (leave out the issues closed as duplicates), not '{raw[:40]}'."
        )
    result.no_duplicates = raw == "hide"
    raw = _first(args, "import")
    if raw:
        result.import_run = whole_number(raw) or None
        if result.import_run is None:
            errors["import"] = f"import must be the number of an import, not '{raw[:40]}'."
    return result, errors


def parse_day(raw: str) -> date | None:
    """An ISO date (YYYY-MM-DD) within the range the filters accept, or None."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    if len(raw.strip()) != 10 or not FIRST_DATE <= value <= LAST_DATE:
        return None
    return value


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


def load_filter(session: Session, args: MultiValues) -> tuple[IssueFilter, dict[str, str], list[Label]]:
    """The list filter from request arguments with label names resolved; errors by parameter; all labels."""
    view, errors = parse_filter(args)
    labels = labels_service.all_labels(session)
    errors.update(resolve_labels(view, labels))
    return view, errors, labels


def resolve_labels(view: IssueFilter, labels: list[Label]) -> dict[str, str]:
    """Turn the filter's label names into ids using the known labels; unknown names are an error."""
    by_key = {label.name_key: label for label in labels}
    unknown = [name for name in view.labels if name.lower() not in by_key]
    view.label_ids = [by_key[name.lower()].id for name in view.labels if name.lower() in by_key]
    if unknown:
        view.label_ids.append(-1)  # a label that does not exist matches no issue
        return {"label": f"There is no label named '{unknown[0]}'."}
    return {}


# PostgreSQL only (migration 0009): each issue's tsvector of title and description, GIN-indexed and kept by
# triggers on issues, so changes of other fields never touch the full-text index. Not a model: nothing in
# the app writes it.
ISSUE_DOCUMENTS = sa.table("issue_documents", sa.column("issue_id", sa.Integer), sa.column("document"))


def search_clause(dialect: str, words: list[str]) -> sa.ColumnElement[bool]:
    """Every word must appear in the title or description: full-text on PostgreSQL, LIKE on SQLite (on casefolded
    text, a function the app registers on each SQLite connection, so "ärger" finds "Ärger")."""
    if dialect == "postgresql":
        return Issue.id.in_(sa.select(ISSUE_DOCUMENTS.c.issue_id).where(document_matches(words)))
    clauses = []
    for word in words:
        escaped = word.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        clauses.append(
            sa.or_(
                sa.func.casefold(Issue.title).like(pattern, escape="\\"),
                sa.func.casefold(Issue.description).like(pattern, escape="\\"),
            )
        )
    return sa.and_(*clauses)


def document_matches(words: list[str]) -> sa.ColumnElement[bool]:
    """PostgreSQL: the document holds every word, each as a prefix."""
    query = " & ".join(f"{w.lower()}:*" for w in words)
    return ISSUE_DOCUMENTS.c.document.op("@@")(sa.func.to_tsquery("simple", query))


def filtered(dialect: str, view: IssueFilter) -> sa.Select:
    """SELECT of the issues matching the filter (no order, no paging); never an issue in the trash."""
    stmt = sa.select(Issue).where(LIVE_ISSUE)
    if view.status:
        stmt = stmt.where(Issue.status.in_(view.status))
    if view.priority:
        stmt = stmt.where(Issue.priority.in_(view.priority))
    if view.assignee == "none":
        stmt = stmt.where(Issue.assignee_id.is_(None))
    elif view.assignee:
        stmt = stmt.where(Issue.assignee_id == int(view.assignee))
    for label_id in view.label_ids:
        stmt = stmt.where(Issue.id.in_(sa.select(IssueLabel.issue_id).where(IssueLabel.label_id == label_id)))
    words = view.words()
    if words:
        clause = search_clause(dialect, words)
        keys = key_candidates(view)
        if keys:
            clause = sa.or_(clause, Issue.external_key.in_(keys))
        stmt = stmt.where(clause)
    for column, first, last in view.date_ranges:
        stmt = stmt.where(day_range_clause(getattr(Issue, column), first, last))
    if view.import_run:
        stmt = stmt.where(import_clause(view.import_run))
    if view.no_duplicates:
        stmt = stmt.where(Issue.duplicate_of_id.is_(None))
    return stmt


def key_candidates(view: IssueFilter) -> list[str]:
    """A search of one token (no spaces) may be an imported issue's key in the other tracker (PROJ-12, #101): the
    spellings to look it up by, exactly, through its index."""
    q = view.q.strip()
    if not q or len(q) > EXTERNAL_KEY_MAX or any(c.isspace() for c in q):
        return []
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
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = {
        "updated": Issue.updated_at,
        "created": Issue.created_at,
        "priority": PRIORITY_RANK,
        "id": None,
    }[key]
    direction = sa.desc if descending else sa.asc
    keys = [direction(column)] if column is not None else []
    return stmt.order_by(*keys, direction(Issue.id))


@dataclass
class IssuePage:
    """One page of the list and how many issues match (capped at COUNT_CAP)."""

    items: list[Issue]
    total: int
    capped: bool
    page: int
    per_page: int

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
        return self.page * self.per_page < self.total or (self.capped and len(self.items) == self.per_page)

    @property
    def last_page(self) -> int | None:
        """The number of the last page, when the count is exact."""
        return None if self.capped else max(1, -(-self.total // self.per_page))


def list_issues(session: Session, view: IssueFilter, per_page: int) -> IssuePage:
    """The page of issues the filter asks for, with assignees loaded, and the (capped) match count.

    A lone label or search filter collects its matching ids once, from the label links or the full-text
    documents alone (lone_filter_ids): their number is the count, and under COUNT_CAP the page is sorted from
    them (page_of_ids). Otherwise the count runs first; when a search or label filter among others matches
    fewer than COUNT_CAP issues, the page is sorted from those matches instead of walking the sort index and
    testing every issue on the way: a rare word would otherwise be checked against most of the table.
    """
    dialect = session.get_bind().dialect.name
    base = filtered(dialect, view)
    lone = lone_filter_ids(dialect, view)
    if lone is not None:
        found = list(session.execute(lone.limit(COUNT_CAP + 1)).scalars())
        if len(found) <= COUNT_CAP:
            items = page_of_ids(session, found, view.sort, per_page, view.page)
            return IssuePage(items=items, total=len(found), capped=False, page=view.page, per_page=per_page)
        total = len(found)
    else:
        ids = base.with_only_columns(Issue.id)
        total = session.execute(
            sa.select(sa.func.count()).select_from(ids.limit(COUNT_CAP + 1).subquery())
        ).scalar_one()
    capped = total > COUNT_CAP
    page_source = base
    if not capped and (view.words() or view.label_ids):
        matches = base.with_only_columns(Issue.id).cte("matches")
        if dialect == "postgresql":
            matches = matches.prefix_with("MATERIALIZED")
        page_source = sa.select(Issue).where(Issue.id.in_(sa.select(matches.c[0])))
    items = list(
        session.execute(
            ordered(page_source, view.sort)
            .options(joinedload(Issue.assignee), selectinload(Issue.labels))
            .limit(per_page)
            .offset((view.page - 1) * per_page)
        ).scalars()
    )
    return IssuePage(items=items, total=min(total, COUNT_CAP), capped=capped, page=view.page, per_page=per_page)


def page_of_ids(session: Session, ids: list[int], sort: str, per_page: int, page: int) -> list[Issue]:
    """One page of these issues in list order, with assignees and labels loaded.

    The order is found from the sort columns alone: on PostgreSQL the covering index ix_issues_id_sort (issue
    number with updated_at, created_at and priority, migration 0020) answers it without reading a single issue
    row, so a word found in 7,500 issues reads 7,500 small index entries, not 7,500 rows; then only the page's
    issues are loaded."""
    if not ids:
        return []
    order = ids_in_order(session.get_bind().dialect.name, ids, sort).limit(per_page).offset((page - 1) * per_page)
    page_ids = list(session.execute(order).scalars())
    if not page_ids:
        return []
    loaded = session.execute(
        sa.select(Issue).where(Issue.id.in_(page_ids)).options(joinedload(Issue.assignee), selectinload(Issue.labels))
    ).scalars()
    by_id = {issue.id: issue for issue in loaded}
    return [by_id[i] for i in page_ids if i in by_id]


def ids_in_order(dialect: str, ids: list[int], sort: str) -> sa.Select:
    """SELECT of these issue numbers in list order, reading only the sort columns (one array parameter on
    PostgreSQL, however many ids)."""
    if dialect == "postgresql":
        among = Issue.id == sa.any_(sa.literal(ids, sa.ARRAY(sa.Integer)))
    else:
        among = Issue.id.in_(ids)
    return ordered(sa.select(Issue.id).where(among), sort)


def lone_filter_ids(dialect: str, view: IssueFilter) -> sa.Select | sa.CompoundSelect | None:
    """For a filter of one label only, or of search words only on PostgreSQL, the matching issue ids read from
    the label links or the full-text documents alone, without touching the issues table (None otherwise).

    Both are deleted with their issue in the same transaction, so they name exactly the existing issues; those in
    the trash are left out through the small partial index of deleted issues.
    """
    words = view.words()
    others = view.status or view.priority or view.assignee or view.date_ranges or view.import_run or view.no_duplicates
    if others:
        return None
    if len(view.label_ids) == 1 and not words:
        return sa.select(IssueLabel.issue_id).where(
            IssueLabel.label_id == view.label_ids[0], IssueLabel.issue_id.not_in(trashed_ids())
        )
    if words and not view.label_ids and dialect == "postgresql":
        found = sa.select(ISSUE_DOCUMENTS.c.issue_id).where(
            document_matches(words), ISSUE_DOCUMENTS.c.issue_id.not_in(trashed_ids())
        )
        keys = key_candidates(view)
        if keys:
            return found.union(sa.select(Issue.id).where(Issue.external_key.in_(keys), LIVE_ISSUE))
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
    stmt = (
        sa.select(Issue)
        .where(Issue.id.in_(ids), LIVE_ISSUE)
        .options(joinedload(Issue.assignee), selectinload(Issue.labels))
    )
    return list(session.execute(stmt).scalars())


def people(session: Session) -> list[User]:
    """All users by name, for assignee filters and pickers."""
    return list(session.execute(sa.select(User).order_by(User.name, User.id)).scalars())
